"""Pool.prepare() (pgwire/pool_stmt.py): a statement usable from any task,
prepared lazily once per connection, again on connections that replace
others (expire_connections(), max_queries) or after the server forgot
it; its cursor() holds one connection in a transaction.  And the error
of a Connection.prepare() statement used after its release."""

import asyncio

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire.rows import dict_row, scalar_row, tuple_row


class CountingConnection(pgwire.Connection):
    """Counts the statements prepared on it (real prepares)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared = []

    async def prepare(self, query, **kwargs):
        self.prepared.append(query)
        return await super().prepare(query, **kwargs)


def _prepares(pool, query):
    return sum(h.conn.prepared.count(query) for h in pool._all)


def _holding(pool, ps):
    """How many of the pool's connections hold ps's statement."""
    return sum(ps in getattr(h.conn, "_pool_statements", {})
               for h in pool._all)


@pytest.fixture
async def pool(cluster):
    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=3,
                                  connection_class=CountingConnection) as p:
        yield p


async def test_methods_from_many_tasks(pool):
    await pool.execute("CREATE TABLE IF NOT EXISTS pp_t (i int, s text)")
    try:
        ins = pool.prepare("INSERT INTO pp_t VALUES ($1, $2)")
        sel = pool.prepare("SELECT i, s FROM pp_t WHERE i = $1")
        q = "SELECT $1::int * 2 AS v"
        ps = pool.prepare(q)
        assert ps.get_query() == q and "SELECT $1" in repr(ps)

        async def task(i):
            assert await ps.fetchval(i) == 2 * i
            assert (await ps.fetchrow(i))["v"] == 2 * i
            assert [r["v"] for r in await ps.fetch(i)] == [2 * i]
            assert [r[0] for r in await ps.fetchmany([(i,), (i + 1,)])] == \
                [2 * i, 2 * i + 2]
            await ins.executemany([(i, str(i))])
            return await sel.fetchrow(i)

        got = await asyncio.gather(*(task(i) for i in range(30)))
        assert [tuple(r) for r in got] == [(i, str(i)) for i in range(30)]
        # prepared once per connection, never more
        assert 1 <= _prepares(pool, q) <= pool.get_size() <= 3
        assert _prepares(pool, q) == _holding(pool, ps)
    finally:
        await pool.execute("DROP TABLE pp_t")


async def test_row_shapes(pool):
    ps = pool.prepare("SELECT $1::int AS v", row_factory=dict_row)
    assert await ps.fetch(1) == [{"v": 1}]
    assert await ps.fetchrow(2, row_factory=tuple_row) == (2,)
    assert await ps.fetchmany([(3,)], row_factory=scalar_row) == [3]
    assert await ps.fetchval(4) == 4

    class MyRecord(pgwire.Record):
        pass
    rec = await pool.prepare("SELECT 1 AS v", record_class=MyRecord).fetchrow()
    assert type(rec) is MyRecord
    with pytest.raises(TypeError, match="mutually exclusive"):
        pool.prepare("SELECT 1", record_class=MyRecord, row_factory=dict_row)
    with pytest.raises(TypeError, match="query must be str"):
        pool.prepare(b"SELECT 1")


async def test_again_after_expire_connections(pool):
    q = "SELECT pg_backend_pid()"
    ps = pool.prepare(q)
    pid1 = await ps.fetchval()
    assert _prepares(pool, q) == 1
    assert await ps.fetchval() == pid1
    assert _prepares(pool, q) == 1  # the same connection, not again
    await pool.expire_connections()
    pid2 = await ps.fetchval()
    assert pid2 != pid1
    assert _prepares(pool, q) == 1  # on the new connection
    assert await ps.fetchval() == pid2


async def test_again_on_connections_replaced_after_max_queries(cluster):
    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=1, max_queries=3,
                                  connection_class=CountingConnection) as p:
        ps = p.prepare("SELECT pg_backend_pid()")
        pids = []
        for _ in range(8):
            pids.append(await ps.fetchval())
            # the open connection prepared it once, or was just replaced
            assert _prepares(p, "SELECT pg_backend_pid()") <= 1
            assert _holding(p, ps) <= 1
        assert len(set(pids)) >= 3  # replaced, and each one prepared it


async def test_again_after_the_server_forgot_it(cluster):
    async def deallocate(conn):
        await conn.execute("DEALLOCATE ALL")

    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=1, reset=deallocate,
                                  connection_class=CountingConnection) as p:
        ps = p.prepare("SELECT $1::int + 1")
        for i in range(3):
            assert await ps.fetchval(i) == i + 1
        assert _prepares(p, "SELECT $1::int + 1") == 3


async def test_statement_cache_off(cluster):
    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=2,
                                  statement_cache_size=0) as p:
        ps = p.prepare("SELECT $1::text || 'x'")
        assert await asyncio.gather(*(ps.fetchval(str(i))
                                      for i in range(5))) == \
            [f"{i}x" for i in range(5)]


async def test_cursor_holds_one_connection_in_a_transaction(pool):
    ps = pool.prepare("SELECT g FROM generate_series(1, $1::int) g")
    async with ps.cursor(5, prefetch=2, row_factory=scalar_row) as cur:
        assert [v async for v in cur] == [1, 2, 3, 4, 5]
    async with ps.cursor(4) as cur:
        c = await cur
        assert [r[0] for r in await c.fetch(3)] == [1, 2, 3]
        assert (await c.fetchrow())[0] == 4
    await pool.execute("CREATE TABLE IF NOT EXISTS pp_c (i int)")
    try:
        w = pool.prepare("INSERT INTO pp_c VALUES ($1) RETURNING i")
        async with w.cursor(1) as cur:
            assert [r[0] async for r in cur] == [1]
        with pytest.raises(KeyError):
            async with w.cursor(2) as cur:
                assert [r[0] async for r in cur] == [2]
                raise KeyError("rolled back")
        assert await pool.fetchval("SELECT array_agg(i) FROM pp_c") == [1]
    finally:
        await pool.execute("DROP TABLE pp_c")
    # every connection is back in the pool, idle
    assert pool.get_idle_size() == pool.get_size()


async def test_timeout_bounds_the_call(pool):
    ps = pool.prepare("SELECT pg_sleep($1)")
    with pytest.raises(asyncio.TimeoutError):
        await ps.fetchval(10, timeout=0.2)
    assert await ps.fetchval(0) is None  # void


async def test_closed_pool(cluster):
    p = await pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                 max_size=1)
    ps = p.prepare("SELECT 1")
    assert await ps.fetchval() == 1
    await p.close()
    with pytest.raises(exc.InterfaceError, match="pool is closed"):
        await ps.fetchval()
    with pytest.raises(exc.InterfaceError, match="pool is closed"):
        p.prepare("SELECT 1")


async def test_connection_statement_after_release_points_to_pool_prepare(
        pool):
    async with pool.acquire() as conn:
        stmt = await conn.prepare("SELECT 1")
        assert await stmt.fetchval() == 1
    with pytest.raises(exc.InterfaceError) as ei:
        await stmt.fetchval()
    assert "released back to the pool" in str(ei.value)
    assert "Pool.prepare()" in str(ei.value)
    with pytest.raises(exc.InterfaceError, match="Pool.prepare"):
        stmt.get_query()
