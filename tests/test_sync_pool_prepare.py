"""pgwire.sync Pool.prepare(): the blocking twin of test_pool_prepare.py,
against the real server."""

import threading

import pytest

import pgwire
import pgwire.sync
from pgwire import exceptions as exc
from pgwire.rows import dict_row

Q = "SELECT $1::int * 2 AS v"


class MyRecord(pgwire.Record):
    pass


@pytest.fixture
def pool(cluster):
    with pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=2,
                                 max_size=2) as p:
        yield p


def _server_statements(conn, query):
    return conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
        query)


def test_methods_from_many_threads(pool):
    ps = pool.prepare(Q)
    assert ps.get_query() == Q
    errors, results = [], []

    def work(i):
        try:
            results.append(ps.fetchval(i))
            assert ps.fetchrow(i)["v"] == 2 * i
            assert [r["v"] for r in ps.fetch(i)] == [2 * i]
            assert [r["v"] for r in ps.fetchmany([(i,), (i + 1,)])] == \
                [2 * i, 2 * i + 2]
        except Exception as e:  # noqa: BLE001 - asserted below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sorted(results) == [2 * i for i in range(8)]
    # prepared once on each connection that ran it, never more
    with pool.acquire() as c:
        assert _server_statements(c, Q) <= 1
    assert len(ps._on) <= 2


def test_executemany_and_row_shapes(pool):
    pool.execute("CREATE TABLE IF NOT EXISTS sync_ps (a int)")
    try:
        ins = pool.prepare("INSERT INTO sync_ps VALUES ($1)")
        ins.executemany([(1,), (2,), (3,)])
        assert pool.fetchval("SELECT sum(a) FROM sync_ps") == 6
        rows = pool.prepare("SELECT a FROM sync_ps ORDER BY a",
                            row_factory=dict_row)
        assert rows.fetch() == [{"a": 1}, {"a": 2}, {"a": 3}]
        assert rows.fetchrow() == {"a": 1}
        plain = pool.prepare("SELECT a FROM sync_ps ORDER BY a")
        assert plain.fetch(row_factory=dict_row)[0] == {"a": 1}
        with pytest.raises(TypeError, match="record_class"):
            pool.prepare("SELECT 1", record_class=MyRecord,
                         row_factory=dict_row)
        with pytest.raises(TypeError, match="query must be str"):
            pool.prepare(b"SELECT 1")
    finally:
        pool.execute("DROP TABLE sync_ps")


def test_again_after_expire_connections(pool):
    ps = pool.prepare("SELECT pg_backend_pid()")
    before = {ps.fetchval() for _ in range(4)}
    old = set(ps._on.keys())
    pool.expire_connections()
    after = {ps.fetchval() for _ in range(4)}
    assert before.isdisjoint(after)      # every connection was replaced
    # the new connections prepared it; the old ones are gone with theirs
    assert all(c.is_closed() for c in old)
    assert all(not c.is_closed() for c in ps._on.keys())


def test_again_on_connections_replaced_after_max_queries(cluster):
    with pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=1,
                                 max_size=1, max_queries=3) as p:
        ps = p.prepare("SELECT pg_backend_pid()")
        pids = [ps.fetchval() for _ in range(8)]
        assert len(set(pids)) >= 3      # replaced, and each prepared it
        assert len(ps._on) <= 1


def test_again_after_the_server_forgot_it(cluster):
    with pgwire.sync.create_pool(
            **cluster.connect_kwargs(), min_size=1, max_size=1,
            reset=lambda c: c.execute("DEALLOCATE ALL")) as p:
        ps = p.prepare("SELECT $1::int + 1")
        for i in range(3):
            assert ps.fetchval(i) == i + 1


def test_again_after_the_backend_was_killed(cluster, pool):
    ps = pool.prepare("SELECT pg_backend_pid()")
    pid = ps.fetchval()
    with pgwire.sync.connect(**cluster.connect_kwargs()) as admin:
        assert admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    # the dead connection fails its call (it may have been the one
    # picked) or is replaced; the pool then serves the statement again
    seen = set()
    for _ in range(6):
        try:
            seen.add(ps.fetchval())
        except (exc.ConnectionDoesNotExistError, exc.InterfaceError,
                exc.AdminShutdownError):
            pass
    assert seen and pid not in seen


def test_cursor_holds_one_connection_in_a_transaction(pool):
    ps = pool.prepare("SELECT g FROM generate_series(1, $1::int) g")
    with ps.cursor(50, prefetch=7) as cur:
        assert [r["g"] for r in cur] == list(range(1, 51))
    with ps.cursor(3, row_factory=dict_row) as cur:
        assert list(cur) == [{"g": 1}, {"g": 2}, {"g": 3}]
    with pytest.raises(ZeroDivisionError):
        with ps.cursor(3) as cur:
            for _ in cur:
                1 / 0
    # both connections are back and usable
    assert pool.get_idle_size() == pool.get_size()
    assert pool.fetchval("SELECT 1") == 1


def test_timeout_bounds_the_call(pool):
    ps = pool.prepare("SELECT pg_sleep($1::float8)")
    with pytest.raises(TimeoutError):
        ps.fetchval(10, timeout=0.3)
    assert pool.fetchval("SELECT 2") == 2


def test_closed_pool(cluster):
    p = pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=1,
                                max_size=1)
    ps = p.prepare("SELECT 1")
    assert ps.fetchval() == 1
    p.close()
    with pytest.raises(exc.InterfaceError):
        ps.fetchval()
    with pytest.raises(exc.InterfaceError):
        p.prepare("SELECT 1")
