"""LISTEN/NOTIFY and the log listeners against the real server."""

import asyncio

import pytest

import pgwire
from pgwire import exceptions as exc


async def test_notifications_sync_and_async_callbacks(cluster, conn):
    got = asyncio.Queue()

    def cb(c, pid, channel, payload):
        got.put_nowait(("sync", c is conn, channel, payload))

    async def acb(c, pid, channel, payload):
        got.put_nowait(("async", channel, payload, pid > 0))

    # a channel name that needs quoting
    chan = 'odd "chan"; DROP TABLE x'
    await conn.add_listener(chan, cb)
    await conn.add_listener(chan, acb)
    other = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await other.execute("SELECT pg_notify($1, $2)", chan, "hello")
        first = await asyncio.wait_for(got.get(), 5)
        second = await asyncio.wait_for(got.get(), 5)
        assert {first[0], second[0]} == {"sync", "async"}
        assert ("sync", True, chan, "hello") in (first, second)
        # delivered while a query runs on the listening connection, too
        await other.execute("SELECT pg_notify($1, 'during')", chan)
        await conn.fetchval("SELECT pg_sleep(0.05)")
        items = [await asyncio.wait_for(got.get(), 5) for _ in range(2)]
        assert all("during" in i for i in items)
        await conn.remove_listener(chan, cb)
        await conn.remove_listener(chan, acb)
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_listening_channels()") == 0
    finally:
        await other.close()


async def test_listener_callback_that_raises(cluster, conn):
    seen = asyncio.Event()

    def bad(c, pid, channel, payload):
        seen.set()
        raise RuntimeError("listener bug")

    loop = asyncio.get_running_loop()
    errors = []
    old = loop.get_exception_handler()
    loop.set_exception_handler(lambda l, ctx: errors.append(ctx))
    try:
        await conn.add_listener("c1", bad)
        await conn.execute("NOTIFY c1, 'x'")
        await asyncio.wait_for(seen.wait(), 5)
        await asyncio.sleep(0)  # let the loop report the callback error
        # the connection is unaffected
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        loop.set_exception_handler(old)
        await conn.remove_listener("c1", bad)
    assert errors and "listener bug" in repr(errors[0].get("exception"))


async def test_log_listener_gets_log_message_classes(conn):
    got = []
    conn.add_log_listener(lambda c, m: got.append(m))
    await conn.execute("DO $$BEGIN RAISE WARNING 'careful'; "
                       "RAISE NOTICE 'fyi'; END$$")
    await asyncio.sleep(0)
    assert len(got) == 2
    assert isinstance(got[0], exc.PostgresWarning)
    assert isinstance(got[0], exc.PostgresLogMessage)
    assert got[0].message == "careful" and got[1].message == "fyi"


async def test_termination_listener(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    fired = asyncio.Event()
    c.add_termination_listener(lambda conn: fired.set())
    await c.add_listener("c2", lambda *a: None)
    c.terminate()
    await asyncio.wait_for(fired.wait(), 5)


def test_quote_ident():
    from pgwire.utils import quote_ident
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("x\\y'z") == '"x\\y\'z"'
    with pytest.raises(ValueError):
        quote_ident("a\x00b")
    with pytest.raises(TypeError):
        quote_ident(1)


async def test_reset(conn):
    await conn.add_listener("rc", lambda *a: None)
    await conn.execute("SET work_mem = '7MB'")
    await conn.execute("BEGIN")
    await conn.execute("SELECT pg_advisory_lock(4242)")
    await conn.execute("DECLARE c1 CURSOR WITH HOLD FOR SELECT 1")
    await conn.reset()
    assert not conn.is_in_transaction()
    assert await conn.fetchval("SHOW work_mem") != "7MB"
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_listening_channels()") == 0
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
        "AND pid = pg_backend_pid()") == 0
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_cursors WHERE name = 'c1'") == 0
    # a transaction block works again after reset
    async with conn.transaction():
        assert await conn.fetchval("SELECT 1") == 1


async def test_termination_listener_on_backend_kill(cluster, conn):
    c = await pgwire.connect(**cluster.connect_kwargs())
    fired = []
    done = asyncio.Event()

    def on_term(connection):
        fired.append(connection)
        done.set()
    c.add_termination_listener(on_term)
    await c.add_listener("killed_chan", lambda *a: None)
    c.add_log_listener(lambda *a: None)
    assert await conn.fetchval("SELECT pg_terminate_backend($1)",
                               c.get_server_pid())
    async with asyncio.timeout(10):
        await done.wait()
    with pytest.raises((exc.AdminShutdownError,
                        exc.ConnectionDoesNotExistError,
                        exc.InterfaceError)):
        await c.fetchval("SELECT 1")
    assert c.is_closed()
    await c.close()        # closing a lost connection is quiet
    assert fired == [c]    # exactly once


async def test_query_logger(conn):
    records = []
    got_async = asyncio.Queue()

    async def alog(record):
        await got_async.put(record)

    with conn.query_logger(records.append):
        conn.add_query_logger(alog)
        await conn.execute("SELECT 1")
        assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
        await conn.executemany("SELECT $1::int", [(1,), (2,)])
        stmt = await conn.prepare("SELECT $1::text")
        await stmt.fetchrow("x")
        with pytest.raises(exc.DivisionByZeroError):
            await conn.fetch("SELECT 1 / 0", timeout=5)
        with pytest.raises(asyncio.TimeoutError):
            await conn.fetchval("SELECT pg_sleep(10)", timeout=0.2)
        conn.remove_query_logger(alog)
        await asyncio.sleep(0)   # loggers are called soon, not inline
    await conn.fetchval("SELECT 'not logged'")
    await asyncio.sleep(0)
    queries = [r.query for r in records]
    assert queries == ["SELECT 1", "SELECT $1::int + 1", "SELECT $1::int",
                       "SELECT $1::text", "SELECT 1 / 0",
                       "SELECT pg_sleep(10)"]
    r = records[1]
    assert r.args == (41,) and r.exception is None and r.timeout is None
    assert r.elapsed >= 0 and r.conn_addr == conn._addr
    assert records[2].args == [(1,), (2,)]
    assert isinstance(records[4].exception, exc.DivisionByZeroError)
    assert records[4].timeout == 5
    assert isinstance(records[5].exception, asyncio.TimeoutError)
    # the timeout is the loop's timer: uvloop's clock has 1 ms steps, so
    # it may fire up to 1 ms before 0.2 s of time.monotonic() have passed
    assert records[5].elapsed >= 0.2 - 0.001
    async with asyncio.timeout(5):
        first = await got_async.get()
    assert first.query == "SELECT 1"
    assert isinstance(records[0], pgwire.connection.LoggedQuery)
    assert conn._protocol._query_log is None


async def test_pool_connection_listeners_get_the_proxy(cluster):
    """Listeners added through a pool's connection are called with the
    proxy the user holds (asyncpg's test_listen_01/02), not the
    connection inside it."""
    from pgwire.pool import PoolConnectionProxy
    async with pgwire.create_pool(min_size=2, max_size=2,
                                  **cluster.connect_kwargs()) as pool:
        async with pool.acquire() as con1, pool.acquire() as con2:
            q = asyncio.Queue()

            def sync_cb(*args):
                q.put_nowait(("sync",) + args)

            async def async_cb(*args):
                q.put_nowait(("async",) + args)

            await con1.add_listener('12+"34', sync_cb)
            await con1.add_listener('12+"34', async_cb)
            await con2.execute("""NOTIFY "12+""34", 'hello'""")
            got = [await asyncio.wait_for(q.get(), 5) for _ in range(2)]
            for item in got:
                assert item[1] is con1
                assert type(item[1]) is PoolConnectionProxy
                assert item[2:] == (con2.get_server_pid(), '12+"34',
                                    'hello')
            await con1.remove_listener('12+"34', sync_cb)
            await con1.remove_listener('12+"34', async_cb)

            logs = asyncio.Queue()
            con1.add_log_listener(lambda c, m: logs.put_nowait(c))
            await con1.execute("DO $$BEGIN RAISE NOTICE 'hi'; END$$")
            assert await asyncio.wait_for(logs.get(), 5) is con1
            con1.remove_log_listener(con1._con._log_listeners[0])

            ended = asyncio.Queue()
            con2.add_termination_listener(ended.put_nowait)
            raw2 = con2._con
            pid = con2.get_server_pid()
            await con1.execute("SELECT pg_terminate_backend($1)", pid)
            assert await asyncio.wait_for(ended.get(), 5) is con2
        # released: the connection no longer knows the proxy
        assert raw2._proxy is None


async def test_termination_listeners_run_before_the_query_fails(cluster):
    """The server side ends the session under a running query (here a
    proxy resets the TCP link, as asyncpg's
    test_connection_termination_callback_called_on_remote): by the time
    the query's caller sees the error, the termination listeners, plain
    and async, have run."""
    from faultproxy import FaultProxy

    async with FaultProxy((cluster.tcp_host, cluster.port)) as px:
        c = await pgwire.connect(**cluster.connect_kwargs(
            host="127.0.0.1", port=px.port, ssl="disable"))
        called = []

        def close_cb(con):
            called.append(("sync", con))

        async def async_close_cb(con):
            called.append(("async", con))

        c.add_termination_listener(close_cb)
        c.add_termination_listener(async_close_cb)
        try:
            query = asyncio.ensure_future(c.fetchval("SELECT pg_sleep(10)"))
            await asyncio.sleep(0.2)
            px.reset_all()
            with pytest.raises(Exception):
                await asyncio.wait_for(query, 5)
            assert sorted(called) == [("async", c), ("sync", c)]
        finally:
            c.terminate()
