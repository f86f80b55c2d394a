"""prepare(), PreparedStatement, statement-cache invalidation, and the
pooler-safe mode (statement_cache_size=0) through a real pgbouncer."""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

import pgwire
from pgwire import exceptions as exc


async def test_prepare_and_execute(conn):
    stmt = await conn.prepare("SELECT $1::int + $2::int AS s, 'x'::text AS t")
    assert stmt.get_query().startswith("SELECT $1::int")
    assert stmt.get_name().startswith("__pgwire_stmt_")
    assert await stmt.fetchval(1, 2) == 3
    assert (await stmt.fetchrow(2, 3))["s"] == 5
    rows = await stmt.fetch(4, 5)
    assert rows[0]["t"] == "x"
    assert stmt.get_statusmsg() == "SELECT 1"
    assert await stmt.fetchval(1, 1, column=1) == "x"
    params = stmt.get_parameters()
    assert [(p.oid, p.name, p.kind, p.schema) for p in params] == \
        [(23, "int4", "scalar", "pg_catalog")] * 2
    attrs = stmt.get_attributes()
    assert [(a.name, a.type.name) for a in attrs] == [("s", "int4"),
                                                      ("t", "text")]


async def test_prepare_types_of_arrays_and_user_types(conn):
    await conn.execute("CREATE TYPE pgw_mood AS ENUM ('sad', 'ok')")
    try:
        stmt = await conn.prepare("SELECT $1::int8[], 'ok'::pgw_mood AS m")
        assert stmt.get_parameters()[0].kind == "array"
        # asyncpg's name for an array type
        assert stmt.get_parameters()[0].name == "int8[]"
        m = stmt.get_attributes()[1].type
        assert (m.name, m.kind, m.schema) == ("pgw_mood", "scalar", "public")
    finally:
        await conn.execute("DROP TYPE pgw_mood")


async def test_prepared_executemany_and_fetchmany(conn):
    await conn.execute("CREATE TEMP TABLE pm (a int, b text)")
    ins = await conn.prepare("INSERT INTO pm VALUES ($1, $2)")
    await ins.executemany([(i, str(i)) for i in range(10)])
    sel = await conn.prepare("SELECT b FROM pm WHERE a = $1")
    rows = await sel.fetchmany([(1,), (5,)])
    assert [r[0] for r in rows] == ["1", "5"]


async def test_prepare_explicit_name_and_explain(conn):
    stmt = await conn.prepare("SELECT $1::int AS v", name="my_stmt")
    assert stmt.get_name() == "my_stmt"
    assert await stmt.fetchval(9) == 9
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE name='my_stmt'"
    ) == 1
    plan = await stmt.explain(1)
    assert plan[0]["Plan"]["Node Type"] == "Result"
    await conn.execute("CREATE TEMP TABLE ex (a int)")
    ins = await conn.prepare("INSERT INTO ex VALUES ($1)")
    plan = await ins.explain(5, analyze=True)
    assert "Actual Rows" in plan[0]["Plan"]
    assert await conn.fetchval("SELECT count(*) FROM ex") == 0  # rolled back


async def test_dropped_prepared_statement_is_closed_lazily(conn):
    stmt = await conn.prepare("SELECT 42", name="gone_stmt")
    assert await stmt.fetchval() == 42
    del stmt
    import gc
    gc.collect()
    await conn.fetchval("SELECT 1")  # carries the Close
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE name='gone_stmt'"
    ) == 0


async def test_prepare_errors(conn):
    with pytest.raises(exc.PostgresSyntaxError):
        await conn.prepare("SELEC 1")
    stmt = await conn.prepare("SELECT $1::int")
    with pytest.raises(exc.InterfaceError, match="expects 1 argument"):
        await stmt.fetchval()
    with pytest.raises(exc.DataError, match=r"\$1"):
        await stmt.fetchval("x")
    assert await stmt.fetchval(3) == 3


async def test_cache_invalidation_after_alter_table(conn):
    await conn.execute("CREATE TEMP TABLE inv (a int)")
    await conn.execute("INSERT INTO inv VALUES (1)")
    assert await conn.fetchval("SELECT * FROM inv") == 1
    await conn.execute("ALTER TABLE inv ALTER COLUMN a TYPE text")
    # "cached plan must not change result type": re-prepared transparently
    assert await conn.fetchval("SELECT * FROM inv") == "1"
    await conn.execute("ALTER TABLE inv ADD COLUMN b int DEFAULT 7")
    row = await conn.fetchrow("SELECT * FROM inv")
    assert tuple(row) == ("1", 7)


async def test_cache_invalidation_inside_transaction(conn):
    await conn.execute("CREATE TEMP TABLE inv2 (a int)")
    await conn.execute("INSERT INTO inv2 VALUES (1)")
    assert await conn.fetchval("SELECT * FROM inv2") == 1
    await conn.execute("BEGIN")
    await conn.execute("ALTER TABLE inv2 ALTER COLUMN a TYPE bigint")
    with pytest.raises(exc.InvalidCachedStatementError):
        await conn.fetchval("SELECT * FROM inv2")
    await conn.execute("ROLLBACK")
    assert await conn.fetchval("SELECT * FROM inv2") == 1


async def test_cache_invalidation_search_path(conn):
    await conn.execute("CREATE SCHEMA IF NOT EXISTS sp1")
    await conn.execute("CREATE SCHEMA IF NOT EXISTS sp2")
    try:
        await conn.execute("CREATE TABLE sp1.tt (a int); "
                           "INSERT INTO sp1.tt VALUES (1)")
        await conn.execute("CREATE TABLE sp2.tt (a text); "
                           "INSERT INTO sp2.tt VALUES ('two')")
        await conn.execute("SET search_path = sp1")
        assert await conn.fetchval("SELECT a FROM tt") == 1
        await conn.execute("SET search_path = sp2")
        assert await conn.fetchval("SELECT a FROM tt") == "two"
    finally:
        await conn.execute("RESET search_path")
        await conn.execute("DROP SCHEMA sp1 CASCADE; DROP SCHEMA sp2 CASCADE")


async def test_vanished_statement_is_reprepared(conn):
    assert await conn.fetchval("SELECT 55") == 55
    await conn.execute("DEALLOCATE ALL")
    assert await conn.fetchval("SELECT 55") == 55


async def test_reload_schema_state(conn):
    await conn.fetchval("SELECT 1")
    assert conn._protocol.statement_cache_len >= 1
    await conn.reload_schema_state()
    assert conn._protocol.statement_cache_len == 0
    assert await conn.fetchval("SELECT 1") == 1


async def test_unnamed_mode_detects_changed_result_type(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=0)
    try:
        await c.execute("CREATE TEMP TABLE um (a int4)")
        await c.execute("INSERT INTO um VALUES (3)")
        assert await c.fetchval("SELECT a FROM um WHERE a > $1", 0) == 3
        await c.execute("ALTER TABLE um ALTER COLUMN a TYPE float4")
        # same query text: the portal's RowDescription no longer matches the
        # described types; re-described and retried, never mis-decoded
        assert await c.fetchval("SELECT a FROM um WHERE a > $1", 0) == 3.0
        stmt = await c.prepare("SELECT $1::int * 2")
        assert stmt.get_name() == ""
        assert await stmt.fetchval(21) == 42
        assert await c.fetchval(
            "SELECT count(*) FROM pg_prepared_statements") == 0
    finally:
        await c.close()


# ------------------------------------------------------------ pgbouncer ----
def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def pgbouncer(cluster):
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        pytest.skip("pgbouncer is not installed")
    if getattr(cluster, "external", False):
        pytest.skip("needs the embedded test server")
    d = tempfile.mkdtemp(prefix="pgw-bouncer-")
    port = _free_port()
    ini = os.path.join(d, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
pgwire_test = host={cluster.host} port={cluster.port} dbname=pgwire_test user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {d}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
""")
    with open(os.path.join(d, "users.txt"), "w") as f:
        f.write('"postgres" ""\n')
    kw = {}
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
        for name in os.listdir(d):
            os.chown(os.path.join(d, name), pw.pw_uid, pw.pw_gid)
        kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    proc = subprocess.Popen([binary, ini], env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **kw)
    try:
        for _ in range(100):  # bounded wait for the listener (<= 10 s)
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("pgbouncer exited: " +
                                proc.stderr.read().decode())
                import time
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(d, ignore_errors=True)


async def test_pgbouncer_transaction_mode(cluster, pgbouncer):
    """20 clients share 2 server connections through pgbouncer in
    transaction mode; each query of each client lands on whichever server
    connection is free.  With statement_cache_size=0 every execution is one
    self-contained Parse/Bind/Describe/Execute/Sync batch, so nothing
    depends on server-side statements."""
    async def client(i):
        c = await pgwire.connect(host="127.0.0.1", port=pgbouncer,
                                 user="postgres", database="pgwire_test",
                                 ssl="disable", statement_cache_size=0)
        try:
            for j in range(25):
                assert await c.fetchval("SELECT $1::int + $2::int", i, j) \
                    == i + j
                row = await c.fetchrow(
                    "SELECT $1::text AS s, $2::int8 AS n", f"c{i}", j)
                assert tuple(row) == (f"c{i}", j)
                stmt = await c.prepare("SELECT $1::int * 10")
                assert await stmt.fetchval(j) == j * 10
            await c.executemany("SELECT $1::int", [(k,) for k in range(5)])
        finally:
            await c.close()

    await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(20))),
                           60)


async def test_pgbouncer_named_statements_fail_without_pooler_mode(
        cluster, pgbouncer):
    """The control case: with named statements (the default cache) a
    transaction pooler sends a Bind to a server connection that lacks the
    statement.  That must surface as a server error, never as another
    client's statement executing: names carry a random per-connection
    prefix, so they never collide (regression: with per-connection
    counters alone, client 0 ran client 3's 'SELECT 3 + $1')."""
    async def client(i):
        c = await pgwire.connect(host="127.0.0.1", port=pgbouncer,
                                 user="postgres", database="pgwire_test",
                                 ssl="disable")
        errors = 0
        try:
            for j in range(20):
                try:
                    assert await c.fetchval(f"SELECT {i} + $1::int", j) \
                        == i + j
                except exc.PostgresError:
                    errors += 1
        finally:
            await c.close()
        return errors

    results = await asyncio.wait_for(
        asyncio.gather(*(client(i) for i in range(8))), 60)
    assert all(isinstance(r, int) for r in results)


async def test_evicted_statement_stays_valid_while_prepared(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=1)
    try:
        stmt = await c.prepare("SELECT $1::int + 1")
        for i in range(3):  # evicts the prepared statement from the cache
            await c.fetchval(f"SELECT {i}")
        assert await stmt.fetchval(1) == 2  # still open on the server
        name = stmt.get_name()
        del stmt
        import gc
        gc.collect()
        await c.fetchval("SELECT 1")  # carries the Close
        assert await c.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = $1",
            name) == 0
    finally:
        await c.close()


async def _server_names(c, query):
    return {r[0] for r in await c.fetch(
        "SELECT name FROM pg_prepared_statements WHERE statement = $1",
        query)}


# prepare() always parses afresh (asyncpg's semantics), so the cache's
# lifetime is observed through fetch*(), which do use the cache.
async def test_cache_lifetime(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             max_cached_statement_lifetime=0.05)
    try:
        assert await c.fetchval("SELECT 1") == 1
        names1 = await _server_names(c, "SELECT 1")
        assert len(names1) == 1
        # the lifetime is the behaviour under test: let it pass
        await asyncio.sleep(0.1)
        assert await c.fetchval("SELECT 1") == 1  # expired: prepared again
        names2 = await _server_names(c, "SELECT 1")
        assert len(names2) == 1 and names2 != names1  # the old one closed
    finally:
        await c.close()


async def test_cache_lifetime_zero_means_forever(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             max_cached_statement_lifetime=0)
    try:
        assert await c.fetchval("SELECT 1") == 1
        names1 = await _server_names(c, "SELECT 1")
        await asyncio.sleep(0.05)
        assert await c.fetchval("SELECT 1") == 1
        assert await _server_names(c, "SELECT 1") == names1
    finally:
        await c.close()


async def test_prepare_parses_afresh(conn, conn2):
    """prepare() does not reuse the statement cache (asyncpg): after
    another session drops and creates a table again, prepare() of the same
    text sees the new table where the cached statement is stale."""
    await conn2.execute("CREATE TABLE pfresh (a int); "
                        "INSERT INTO pfresh VALUES (1)")
    try:
        q = "SELECT * FROM pfresh"
        s1 = await conn.prepare(q)
        assert [tuple(r) for r in await s1.fetch()] == [(1,)]
        assert [tuple(r) for r in await conn.fetch(q)] == [(1,)]
        await conn2.execute("DROP TABLE pfresh; "
                            "CREATE TABLE pfresh (a int, b text); "
                            "INSERT INTO pfresh VALUES (2, 'x')")
        s2 = await conn.prepare(q)
        assert s2.get_name() != s1.get_name()
        assert [tuple(r) for r in await s2.fetch()] == [(2, "x")]
        # prepare() left the cache alone; fetch() re-prepares its stale
        # statement transparently
        assert [tuple(r) for r in await conn.fetch(q)] == [(2, "x")]
        # the statement s1 wraps is stale but still its own
        with pytest.raises(pgwire.exceptions.PostgresError):
            await s1.fetch()
    finally:
        await conn2.execute("DROP TABLE pfresh")


async def test_max_cacheable_statement_size(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             max_cacheable_statement_size=20)
    try:
        short = "SELECT 1"
        long_ = "SELECT 1 /* " + "x" * 40 + " */"
        assert await c.fetchval(short) == 1
        assert await c.fetchval(long_) == 1
        assert c._protocol.statement_cache_len == 1
        assert (await c.prepare(long_)).get_name() == ""  # unnamed
    finally:
        await c.close()


@pytest.mark.parametrize("kw,err", [
    ({"statement_cache_size": -1}, ValueError),
    ({"statement_cache_size": True}, ValueError),
    ({"max_cached_statement_lifetime": "x"}, ValueError),
    ({"max_cacheable_statement_size": -5}, ValueError),
])
async def test_cache_option_validation(cluster, kw, err):
    with pytest.raises(err):
        await pgwire.connect(**cluster.connect_kwargs(), **kw)


async def test_prepare_keeps_out_of_the_cache(conn):
    """prepare()'s statement is not the cache's: it neither fills nor
    replaces a cache entry, and is closed on the server once dropped."""
    q = "SELECT $1::int + 100"
    assert await conn.fetchval(q, 1) == 101
    async with conn.transaction():
        cur = await conn.cursor(q, 2)  # uses the cached statement
        stmt = await conn.prepare(q)
        assert await stmt.fetchval(3) == 103
        assert (await cur.fetchrow())[0] == 102
    name = stmt.get_name()
    assert name
    del stmt
    import gc
    gc.collect()
    await conn.fetchval("SELECT 1")  # carries the Close
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE name = $1",
        name) == 0


async def test_prepared_statement_dropped_while_its_query_runs(conn):
    """prepare()'s statement is not cached: a query started from it keeps
    it open even when the PreparedStatement is dropped first, and it is
    closed on the server after that."""
    import gc
    for _ in range(3):
        assert await (await conn.prepare("SELECT 7 + 0")).fetchval() == 7
    stmt = await conn.prepare("SELECT pg_sleep(0.2), 8")
    name = stmt.get_name()
    t = asyncio.ensure_future(stmt.fetchrow())
    del stmt
    gc.collect()
    assert (await t)[1] == 8
    del t
    gc.collect()
    await conn.fetchval("SELECT 1")  # carries the Close
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE name = $1",
        name) == 0
