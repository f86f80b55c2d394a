"""The connection pool (pgwire.create_pool / pgwire.Pool) against the real
server.

Pool state is waited on with the pool's own state-change notifications
(``pool._wait_until``); only server-side facts (a backend exiting after
pg_terminate_backend or a client close) are polled, always bounded.
"""

import asyncio
import logging
import os
import random
import time

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire.pool import PoolConnectionProxy

# what a connection killed under a running query can raise
CONN_ERRORS = (exc.PostgresError, exc.InterfaceError, OSError)


def _app():
    return "pgwire_pool_" + os.urandom(4).hex()


@pytest.fixture
def app():
    """A unique application_name: identifies the pool's backends."""
    return _app()


@pytest.fixture
def kw(cluster, app):
    return cluster.connect_kwargs(server_settings={"application_name": app})


async def server_pids(admin, app):
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
    return {r[0] for r in rows}


async def wait_server_count(admin, app, n, timeout=10):
    """Poll (bounded) until the server has n backends of ``app``:
    backends exit asynchronously after a kill or a client close."""
    async with asyncio.timeout(timeout):
        while True:
            pids = await server_pids(admin, app)
            if len(pids) == n:
                return pids
            await asyncio.sleep(0.01)


async def wait_pool(pool, predicate, timeout=10):
    await asyncio.wait_for(pool._wait_until(predicate), timeout)


def pool_pids(pool):
    return {h.conn.get_server_pid() for h in pool._all}


def settled(pool):
    return (not pool._waiters and pool._opening == 0 and
            pool.get_idle_size() == pool.get_size())


# ---------------------------------------------------------------------------
# API


async def test_create_pool_and_shortcuts(kw, conn, app):
    pool = pgwire.create_pool(min_size=2, max_size=4, **kw)
    assert isinstance(pool, pgwire.Pool)
    assert (await pool) is pool
    assert (await pool) is pool  # initialising twice is a no-op
    try:
        assert pool.get_size() == 2 and pool.get_idle_size() == 2
        assert pool.get_min_size() == 2 and pool.get_max_size() == 4
        assert not pool.is_closing()
        assert len(await server_pids(conn, app)) == 2
        assert await pool.fetchval("SELECT $1::int + 1", 1) == 2
        assert await pool.fetchval("SELECT 1, 2", column=1) == 2
        assert (await pool.fetchrow("SELECT 1 AS a"))["a"] == 1
        assert [r[0] for r in await pool.fetch(
            "SELECT generate_series(1, 3)")] == [1, 2, 3]
        tmp = "pool_tmp_" + app
        await pool.execute(f"CREATE TABLE {tmp} (a int)")
        try:
            await pool.executemany(f"INSERT INTO {tmp} VALUES ($1)",
                                   [(1,), (2,)])
            rows = await pool.fetchmany(
                f"INSERT INTO {tmp} VALUES ($1) RETURNING a", [(3,), (4,)])
            assert [r[0] for r in rows] == [3, 4]
            assert await pool.fetchval(
                f"SELECT sum(a) FROM {tmp}", timeout=5) == 10
        finally:
            await pool.execute(f"DROP TABLE {tmp}")
        assert pool.get_idle_size() == pool.get_size()
    finally:
        await pool.close()
    assert pool.is_closing()
    assert pool.get_size() == 0
    await pool.close()  # again: no-op
    with pytest.raises(exc.InterfaceError, match="pool is closed"):
        await pool.fetchval("SELECT 1")


async def test_pool_copy_shortcuts(kw, app):
    tmp = "pool_copy_" + app
    async with pgwire.create_pool(min_size=1, max_size=2, **kw) as pool:
        await pool.execute(f"CREATE TABLE {tmp} (a int, b text)")
        try:
            await pool.copy_records_to_table(
                tmp, records=[(1, "x"), (2, "y")])
            out = []

            async def sink(data):
                out.append(bytes(data))
            await pool.copy_from_query(
                f"SELECT * FROM {tmp} ORDER BY a", output=sink)
            assert b"".join(out) == b"1\tx\n2\ty\n"
            out.clear()
            await pool.copy_from_table(tmp, output=sink, columns=["b"])
            assert sorted(b"".join(out).split()) == [b"x", b"y"]

            async def source():
                yield b"3\tz\n"
            await pool.copy_to_table(tmp, source=source())
            assert await pool.fetchval(f"SELECT count(*) FROM {tmp}") == 3
        finally:
            await pool.execute(f"DROP TABLE {tmp}")


async def test_pool_constructor_as_asyncpg_testbase(cluster, app):
    dsn = cluster.dsn()
    pool = pgwire.Pool(dsn, min_size=1, max_size=2, max_queries=10,
                       loop=None, connect=None, setup=None, init=None,
                       max_inactive_connection_lifetime=0,
                       connection_class=pgwire.Connection,
                       record_class=pgwire.Record,
                       server_settings={"application_name": app})
    with pytest.raises(exc.InterfaceError, match="not initialized"):
        await pool.fetchval("SELECT 1")
    async with pool:
        assert await pool.fetchval("SELECT current_setting("
                                   "'application_name')") == app
    assert pool.is_closing()


async def test_argument_validation():
    def mk(**kw):
        args = dict(min_size=1, max_size=2)
        args.update(kw)
        return pgwire.create_pool("postgresql://x@localhost/x", **args)

    for kwargs, msg in [
            (dict(max_size=0), "max_size is expected to be greater than"),
            (dict(min_size=-1), "min_size is expected to be greater or"),
            (dict(min_size=3), "min_size is greater than max_size"),
            (dict(max_queries=0), "max_queries is expected"),
            (dict(max_inactive_connection_lifetime=-1),
             "max_inactive_connection_lifetime is expected"),
            (dict(max_lifetime=0), "max_lifetime is expected"),
            (dict(max_lifetime=True), "max_lifetime is expected"),
            (dict(health_check=-1), "health_check is expected"),
            (dict(health_check="1"), "health_check is expected")]:
        with pytest.raises(ValueError, match=msg):
            mk(**kwargs)
    with pytest.raises(TypeError, match="connection_class is expected"):
        mk(connection_class=int)
    with pytest.raises(TypeError, match="record_class is expected"):
        mk(record_class=tuple)
    pool = mk(max_lifetime=10, health_check=0)  # fine; nothing opened
    with pytest.raises(exc.InterfaceError, match="pool is not initialized"):
        await pool.acquire()
    await pool.close()


async def test_concurrent_initialisation_refused(kw):
    entered = asyncio.Event()
    gate = asyncio.Event()

    async def connect(*args, **kwargs):
        entered.set()
        await gate.wait()
        return await pgwire.connect(*args, **kwargs)

    pool = pgwire.create_pool(min_size=1, max_size=1, connect=connect, **kw)
    first = asyncio.ensure_future(pool)
    await asyncio.wait_for(entered.wait(), 5)
    with pytest.raises(exc.InterfaceError, match="being initialized in "):
        await pool
    with pytest.raises(exc.InterfaceError, match="being initialized, but"):
        await pool.acquire()
    gate.set()
    assert await first is pool
    await pool.close()


async def test_init_error_is_raised_and_nothing_leaks(cluster, app, conn):
    pool = pgwire.create_pool(min_size=3, max_size=3, **cluster.connect_kwargs(
        user="md5", host="tcp", password="wrong", ssl="disable",
        server_settings={"application_name": app}))
    with pytest.raises(exc.InvalidPasswordError):
        await pool
    assert pool.get_size() == 0 and pool._opening == 0
    await pool.close()
    calls = []

    async def bad_init(c):
        calls.append(c)
        if len(calls) == 2:
            raise RuntimeError("init failed")
    pool = pgwire.create_pool(min_size=3, max_size=3, init=bad_init,
                              **cluster.connect_kwargs(
                                  server_settings={"application_name": app}))
    with pytest.raises(RuntimeError, match="init failed"):
        await pool
    assert pool.get_size() == 0 and pool._opening == 0
    await wait_server_count(conn, app, 0)
    await pool.close()


# ---------------------------------------------------------------------------
# Proxies


async def test_acquire_forms_and_proxy(kw):
    class MyConn(pgwire.Connection):
        def hello(self):
            return "hi"

    async with pgwire.create_pool(min_size=1, max_size=2,
                                  connection_class=MyConn, **kw) as pool:
        async with pool.acquire() as c:
            assert type(c) is PoolConnectionProxy
            assert isinstance(c, pgwire.Connection)
            assert isinstance(c, MyConn)
            assert isinstance(c, PoolConnectionProxy)
            assert c.hello() == "hi"
            assert await c.fetchval("SELECT 7") == 7
            assert "[released]" not in repr(c)
            assert pool.get_idle_size() == 0
        assert pool.get_idle_size() == 1
        assert "[released]" in repr(c)
        c2 = await pool.acquire(timeout=5)
        fetch = c2.fetch
        assert await c2.fetchval("SELECT 8") == 8
        await pool.release(c2)
        await pool.release(c2)  # twice: a no-op
        with pytest.raises(exc.InterfaceError) as ei:
            await c2.fetchval("SELECT 1")
        assert str(ei.value) == ("cannot call Connection.fetchval(): "
                                 "connection has been released back to the "
                                 "pool")
        with pytest.raises(exc.InterfaceError, match=r"Connection\.fetch\("):
            fetch("SELECT 1")  # fetched before the release
        with pytest.raises(exc.InterfaceError, match=r"Connection\.hello\("):
            c2.hello()
        with pytest.raises(exc.InterfaceError, match="released"):
            c2.get_server_pid()
        # async with on an acquire context only once
        ctx = pool.acquire()
        async with ctx:
            with pytest.raises(exc.InterfaceError, match="already acquired"):
                await ctx.__aenter__()


async def test_release_of_foreign_objects(kw, conn):
    async with pgwire.create_pool(min_size=0, max_size=1, **kw) as p1, \
            pgwire.create_pool(min_size=0, max_size=1, **kw) as p2:
        with pytest.raises(exc.InterfaceError, match="not a member"):
            await p1.release(conn)
        c = await p2.acquire()
        with pytest.raises(exc.InterfaceError, match="not a member"):
            await p1.release(c)
        await p2.release(c)


async def test_resources_invalid_after_release(kw):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            stmt = await c.prepare("SELECT $1::int")
            assert await stmt.fetchval(1) == 1
            tr = c.transaction()
            await tr.start()
            factory = c.cursor("SELECT generate_series(1, 10)")
            cur = await c.cursor("SELECT generate_series(1, 10)")
            assert await cur.fetchrow() is not None
            pid = c.get_server_pid()
        msg = "underlying connection has been released back to the pool"
        with pytest.raises(exc.InterfaceError, match=msg):
            await stmt.fetchval(1)
        with pytest.raises(exc.InterfaceError, match=msg):
            stmt.get_query()
        with pytest.raises(exc.InterfaceError, match=msg):
            await tr.commit()
        with pytest.raises(exc.InterfaceError, match=msg):
            await cur.fetch(2)
        with pytest.raises(exc.InterfaceError, match=msg):
            async for _ in factory:
                pass
        # the same server connection, handed out again, works; the old
        # objects stay dead
        async with pool.acquire() as c:
            assert c.get_server_pid() == pid
            assert not c.is_in_transaction()  # rolled back on release
            assert await (await c.prepare("SELECT 2")).fetchval() == 2
            with pytest.raises(exc.InterfaceError, match=msg):
                await stmt.fetchval(1)
            async with c.transaction():
                assert [r[0] async for r in c.cursor(
                    "SELECT generate_series(1, 3)")] == [1, 2, 3]


async def test_reset_on_release(kw):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        with pytest.warns(exc.InterfaceWarning) as warned:
            async with pool.acquire() as c:
                default = await c.fetchval("SHOW work_mem")
                pid = c.get_server_pid()
                await c.execute("SET work_mem = '7MB'")
                await c.execute("SELECT pg_advisory_lock(4242)")
                await c.add_listener("pool_chan", lambda *a: None)
                await c.add_listener("pool_chan", lambda *a: None)
                c.add_log_listener(lambda *a: None)
                await c.execute("BEGIN")
                await c.execute("SELECT 1")
        assert sorted(str(w.message).split(" has ")[1] for w in warned) == [
            "1 active log listener", "2 active notification listeners"]
        async with pool.acquire() as c:
            assert c.get_server_pid() == pid
            assert await c.fetchval("SHOW work_mem") == default
            assert not c.is_in_transaction()
            assert await c.fetchval(
                "SELECT count(*) FROM pg_listening_channels()") == 0
            assert await c.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()") == 0
            assert not c._notification_listeners and not c._log_listeners


async def wait_resets(pool):
    """Until the resets written at release are answered (they are not
    awaited by release: docs/pooling.md)."""
    await wait_pool(pool, lambda: all(h.reset_fut is None
                                      for h in pool._all))


async def test_reset_round_trips(kw, conn):
    """A connection that ran anything is reset, in one request written at
    release (the last statement the backend ran is the reset); one that
    ran nothing since it was acquired is handed on without one."""
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
            proto = c._protocol
            await c.fetchval("SELECT 'clean'")
        await wait_resets(pool)
        last = await conn.fetchval(
            "SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert "RESET ALL" in last and "ROLLBACK" not in last
        count = proto.queries_count
        async with pool.acquire() as c:
            assert c.get_server_pid() == pid
        assert proto.queries_count == count  # nothing ran: no reset
        async with pool.acquire() as c:
            await c.execute("SET work_mem = '5MB'")
        # the SET (the reset is the pool's, not counted)
        assert proto.queries_count == count + 1
        await wait_resets(pool)
        last = await conn.fetchval(
            "SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert "RESET ALL" in last and "ROLLBACK" not in last
        async with pool.acquire() as c:
            await c.execute("BEGIN")
        await wait_resets(pool)
        last = await conn.fetchval(
            "SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last.startswith("ROLLBACK;") and "RESET ALL" in last


@pytest.fixture
async def session_changers(conn, app):
    """Functions that change the session from inside, invisible in the
    query text and the command tag, and a role to switch to."""
    schema = "sc_" + app
    role = "evil_" + app
    await conn.execute(f"""
        CREATE SCHEMA {schema};
        CREATE ROLE {role};
        CREATE FUNCTION {schema}.set_tenant(t text) RETURNS text
            LANGUAGE sql AS $$ SELECT set_config('app.tenant', t, false) $$;
        CREATE FUNCTION {schema}.take_lock(k bigint) RETURNS void
            LANGUAGE sql AS $$ SELECT pg_advisory_lock(k) $$;
        CREATE FUNCTION {schema}.become(r text) RETURNS void
            LANGUAGE plpgsql AS $$
            BEGIN EXECUTE format('SET ROLE %I', r); END $$;
    """)
    try:
        yield schema, role
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE; "
                           f"DROP ROLE {role}")


_SESSION_CHANGES = {
    "set_config in a function": "SELECT {schema}.set_tenant('A')",
    "advisory lock in a function": "SELECT {schema}.take_lock(42)",
    "SET in a DO block":
        "DO $$ BEGIN SET search_path = evil, public; END $$",
    "SET ROLE in a function": "SELECT {schema}.become('{role}')",
}


@pytest.mark.parametrize("how", ["execute", "fetch"])
@pytest.mark.parametrize("change", list(_SESSION_CHANGES))
async def test_state_changed_inside_functions_does_not_leak(
        kw, conn, session_changers, change, how):
    """Issue 12 item 2: the reset was skipped when command tags and the
    query text did not look like a change; state changed inside a
    function or a DO block reached the next user of the connection."""
    schema, role = session_changers
    sql = _SESSION_CHANGES[change].format(schema=schema, role=role)
    look = ("SELECT current_setting('app.tenant', true), "
            "current_setting('search_path'), current_user::text, "
            "session_user::text")
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
            clean = tuple(await c.fetchrow(look))
        async with pool.acquire() as c:
            if how == "execute":
                await c.execute(sql)
            else:
                await c.fetch(sql)
            changed = tuple(await c.fetchrow(look))
            assert changed != clean or "lock" in change
        # the released connection holds no lock: another session takes it
        await wait_resets(pool)
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = $1", pid) == 0
        assert await conn.fetchval("SELECT pg_try_advisory_lock(42)")
        assert await conn.fetchval("SELECT pg_advisory_unlock(42)")
        async with pool.acquire() as c:
            assert c.get_server_pid() == pid
            now = tuple(await c.fetchrow(look))
            assert (now[0] or "", now[1:]) == (clean[0] or "", clean[1:])
            assert now[2] == now[3]


async def test_reset_off_by_connection_class(kw, conn):
    """A connection_class whose get_reset_query() is empty turns the
    reset query off (asyncpg): nothing is sent for it, an open
    transaction is still rolled back."""
    class NoReset(pgwire.Connection):
        def get_reset_query(self):
            return ""

    async with pgwire.create_pool(min_size=1, max_size=1,
                                  connection_class=NoReset, **kw) as pool:
        async with pool.acquire() as c:
            await c.execute("SET work_mem = '6MB'")
        async with pool.acquire() as c:
            assert await c.fetchval("SHOW work_mem") == "6MB"
            await c.execute("BEGIN")
        async with pool.acquire() as c:
            assert not c.is_in_transaction()


async def test_callbacks_connect_init_setup_reset(kw):
    log = []

    async def connect(*args, **kwargs):
        log.append(("connect", kwargs["connection_class"]))
        return await pgwire.connect(*args, **kwargs)

    async def init(c):
        assert type(c) is pgwire.Connection
        log.append(("init", c.get_server_pid()))
        await c.execute("SET work_mem = '9MB'")  # kept: init is once

    async def setup(proxy):
        assert type(proxy) is PoolConnectionProxy
        log.append(("setup", proxy.get_server_pid()))

    async def reset(c):
        assert type(c) is pgwire.Connection
        assert not c.is_in_transaction()  # rolled back before
        log.append(("reset", c.get_server_pid()))

    async with pgwire.create_pool(min_size=1, max_size=1, connect=connect,
                                  init=init, setup=setup, reset=reset,
                                  **kw) as pool:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
            await c.execute("BEGIN")
        assert await pool.fetchval("SHOW work_mem") == "9MB"
        assert log == [("connect", pgwire.Connection), ("init", pid),
                       ("setup", pid), ("reset", pid), ("setup", pid),
                       ("reset", pid)]


async def test_connect_callback_must_return_a_connection(kw):
    async def connect(*args, **kwargs):
        return object()
    pool = pgwire.create_pool(min_size=0, max_size=1, connect=connect, **kw)
    await pool
    with pytest.raises(exc.InterfaceError, match="expected pool connect"):
        await pool.acquire()
    assert pool._opening == 0
    await pool.close()


async def test_setup_failure_discards_connection(kw, conn, app):
    fail = True

    async def setup(proxy):
        if fail:
            raise RuntimeError("setup failed")
    async with pgwire.create_pool(min_size=1, max_size=1, setup=setup,
                                  **kw) as pool:
        (old,) = pool_pids(pool)
        with pytest.raises(RuntimeError, match="setup failed"):
            await pool.acquire()
        fail = False
        async with pool.acquire(timeout=5) as c:
            assert c.get_server_pid() != old
        await wait_pool(pool, lambda: settled(pool) and
                        pool.get_size() == 1)
        await wait_server_count(conn, app, 1)


# ---------------------------------------------------------------------------
# Fairness, timeouts, cancellation


async def test_waiters_are_served_fifo(kw):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        held = await pool.acquire()
        order = []

        async def waiter(i):
            async with pool.acquire(timeout=10) as c:
                order.append(i)
                await c.fetchval("SELECT 1")

        tasks = []
        for i in range(8):
            tasks.append(asyncio.create_task(waiter(i)))
            await wait_pool(pool, lambda: len(pool._waiters) == i + 1)
        tasks[2].cancel()
        tasks[5].cancel()
        # A broken connection released: its room goes at once (no await
        # in release) to waiter 0, which is cancelled before it runs: it
        # must pass it on to waiter 1, not to the back of the queue.
        held.terminate()
        await pool.release(held)
        assert pool._opening == 1 and not pool._waiters[0].done()
        tasks[0].cancel()
        late = asyncio.create_task(waiter(99))  # must not overtake
        tasks.append(late)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert order == [1, 3, 4, 6, 7, 99]
        assert [type(r) for r in results if r is not None] == \
            [asyncio.CancelledError] * 3
        assert settled(pool) and pool.get_size() == 1

        # The same with a connection handed over: a clean session is
        # released without a round trip, so synchronously.
        held = await pool.acquire()
        pid = held.get_server_pid()
        order.clear()
        tasks = []
        for i in range(3):
            tasks.append(asyncio.create_task(waiter(i)))
            await wait_pool(pool, lambda: len(pool._waiters) == i + 1)
        first = pool._waiters[0]
        await pool.release(held)
        assert first.done() and pool.get_idle_size() == 0
        tasks[0].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert order == [1, 2]
        assert isinstance(results[0], asyncio.CancelledError)
        assert pool_pids(pool) == {pid}  # passed on, not discarded


async def test_acquire_timeout(kw, conn, app):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        held = await pool.acquire()
        t0 = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await pool.acquire(timeout=0.1)
        assert time.monotonic() - t0 < 2
        with pytest.raises(asyncio.TimeoutError):
            async with pool.acquire(timeout=0.05):
                pass
        # the shortcut's timeout covers the wait for a connection too
        with pytest.raises(asyncio.TimeoutError):
            await pool.fetchval("SELECT 1", timeout=0.05)
        assert not pool._waiters
        await pool.release(held)
        assert await pool.fetchval("SELECT 1", timeout=5) == 1
        assert settled(pool) and pool.get_size() == 1
        await wait_server_count(conn, app, 1)


async def test_cancellation_storm_leaks_nothing(kw, conn, app):
    """Acquirers with tiny timeouts, and tasks cancelled at random points
    (waiting, connecting, in setup, mid-query, in release)."""
    rng = random.Random(20261121)
    loop = asyncio.get_running_loop()

    async def setup(proxy):
        await proxy.fetchval("SELECT 1")

    async with pgwire.create_pool(min_size=0, max_size=3, setup=setup,
                                  **kw) as pool:
        outcomes = []

        async def user(i):
            timeout = rng.choice([None, 0.001, 0.005, 0.02, 1])
            try:
                async with pool.acquire(timeout=timeout) as c:
                    await c.fetchval("SELECT pg_sleep($1)",
                                     rng.choice([0, 0.001, 0.003]))
                outcomes.append("ok")
            except asyncio.TimeoutError:
                outcomes.append("timeout")

        tasks = [asyncio.create_task(user(i)) for i in range(200)]
        for t in tasks:
            if rng.random() < 0.5:
                loop.call_later(rng.random() * 0.3, t.cancel)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for r in results:
            assert r is None or isinstance(r, asyncio.CancelledError), r
        assert outcomes.count("ok") > 0
        await wait_pool(pool, lambda: settled(pool))
        assert pool.get_size() <= 3
        assert await wait_server_count(conn, app, pool.get_size()) == \
            pool_pids(pool)
        # every slot is usable: max_size connections at once
        cs = [await pool.acquire(timeout=5) for _ in range(3)]
        assert len({c.get_server_pid() for c in cs}) == 3
        for c in cs:
            await pool.release(c)
    await wait_server_count(conn, app, 0)


async def test_cancelled_mid_query_is_discarded(kw, conn, app):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        started = asyncio.Event()
        pids = []

        async def user():
            async with pool.acquire() as c:
                pids.append(c.get_server_pid())
                started.set()
                await c.fetchval("SELECT pg_sleep(30)")

        t = asyncio.create_task(user())
        await asyncio.wait_for(started.wait(), 5)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        async with pool.acquire(timeout=5) as c:
            assert c.get_server_pid() != pids[0]
        # manual release while a timed-out query is still being cancelled
        c = await pool.acquire(timeout=5)
        pid = c.get_server_pid()
        with pytest.raises(asyncio.TimeoutError):
            await c.fetchval("SELECT pg_sleep(30)", timeout=0.05)
        assert c._protocol.is_busy()
        await pool.release(c)
        async with pool.acquire(timeout=5) as c:
            assert c.get_server_pid() not in (pid, pids[0])
            assert await c.fetchval("SELECT 1") == 1
        await wait_server_count(conn, app, 1)


async def test_release_survives_cancellation_of_releaser(kw, conn, app):
    # a custom reset is awaited by release (the default one is written
    # and not awaited: tests/test_pool_reset_pipelined.py)
    async def reset(c):
        await c.execute("RESET ALL")

    async with pgwire.create_pool(min_size=1, max_size=1, reset=reset,
                                  **kw) as pool:
        c = await pool.acquire()
        pid = c.get_server_pid()
        await c.execute("SET work_mem = '3MB'")  # needs a reset
        (holder,) = pool._all
        t = asyncio.create_task(pool.release(c))
        await wait_pool(pool, lambda: holder.state == "releasing")
        t.cancel()
        await asyncio.gather(t, return_exceptions=True)
        async with pool.acquire(timeout=5) as c:
            # the reset went on without the releaser
            assert c.get_server_pid() == pid
            assert await c.fetchval("SHOW work_mem") != "3MB"


# ---------------------------------------------------------------------------
# Dead, old and idle connections


async def test_refill_after_backends_are_killed(kw, conn, app):
    async with pgwire.create_pool(min_size=3, max_size=5, **kw) as pool:
        old = pool_pids(pool)
        assert len(old) == 3
        busy = await pool.acquire()
        busy_pid = busy.get_server_pid()
        await conn.fetch("SELECT pg_terminate_backend(pid) FROM "
                         "pg_stat_activity WHERE application_name = $1", app)
        # the idle ones are noticed and replaced in the background
        await wait_pool(pool, lambda: pool.get_idle_size() == 2 and
                        not (pool_pids(pool) - {busy_pid}) & old)
        with pytest.raises(CONN_ERRORS):
            await busy.fetchval("SELECT 1")
        await pool.release(busy)  # broken: discarded, not reused
        await wait_pool(pool, lambda: settled(pool) and
                        pool.get_size() == 3)
        assert not pool_pids(pool) & old
        assert await wait_server_count(conn, app, 3) == pool_pids(pool)
        assert await pool.fetchval("SELECT 1") == 1


async def test_refill_backoff_has_jitter(kw, conn, app):
    """Regression (tests/README.md, fault scenario 3): the background refill
    retried a failing connect after exactly 0.1, 0.2, 0.4 ... s, so the
    pools of every process that lost the same server dialled it again in
    lockstep.  The delay still doubles up to a cap, but each wait is
    drawn from [backoff/2, backoff]."""
    failing = False
    dials = []
    enough = asyncio.Event()

    async def connect(*args, **kwargs):
        if failing:
            dials.append(time.monotonic())
            if len(dials) >= 9:
                enough.set()
            raise ConnectionRefusedError("test: the server is down")
        return await pgwire.connect(*args, **kwargs)

    async with pgwire.create_pool(min_size=1, max_size=2, connect=connect,
                                  **kw) as pool:
        pool._refill_backoff = (0.02, 0.16)
        failing = True
        await conn.execute("SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = $1",
                           app)
        await asyncio.wait_for(enough.wait(), 10)
        failing = False
        await wait_pool(pool, lambda: settled(pool) and
                        pool.get_size() == 1)
        assert await pool.fetchval("SELECT 1") == 1
    gaps = [b - a for a, b in zip(dials, dials[1:])][:8]
    caps = [0.02, 0.04, 0.08, 0.16, 0.16, 0.16, 0.16, 0.16]
    for gap, cap in zip(gaps, caps):
        assert cap / 2 - 0.002 <= gap <= cap + 0.05, (gaps, caps)
    # not the un-jittered sequence (chance of a false alarm: 0.2**8)
    assert not all(abs(g - c) < 0.1 * c for g, c in zip(gaps, caps)), gaps


async def test_max_inactive_lifetime_never_used_connections(kw, conn, app):
    async with pgwire.create_pool(
            min_size=2, max_size=2, max_inactive_connection_lifetime=0.2,
            **kw) as pool:
        first = pool_pids(pool)
        # never acquired, still replaced (and min_size kept)
        await wait_pool(pool, lambda: pool.get_size() == 2 and
                        not pool_pids(pool) & first)
        await wait_server_count(conn, app, 2)


async def test_max_inactive_lifetime_shrinks_to_min_size(kw, conn, app):
    async with pgwire.create_pool(
            min_size=0, max_size=3, max_inactive_connection_lifetime=0.2,
            **kw) as pool:
        cs = [await pool.acquire() for _ in range(3)]
        for c in cs:
            await pool.release(c)
        assert pool.get_size() == 3
        await wait_pool(pool, lambda: pool.get_size() == 0)
        await wait_server_count(conn, app, 0)


async def test_max_lifetime(kw, conn, app):
    async with pgwire.create_pool(min_size=1, max_size=1,
                                  max_lifetime=3600, **kw) as pool:
        (holder,) = pool._all
        p1 = holder.conn.get_server_pid()
        holder.created -= 7200  # checked when acquired
        async with pool.acquire() as c:
            p2 = c.get_server_pid()
            assert p2 != p1
            (holder,) = pool._all
            holder.created -= 7200  # checked when released
        await wait_pool(pool, lambda: settled(pool) and pool.get_size() == 1)
        async with pool.acquire() as c:
            assert c.get_server_pid() not in (p1, p2)
        await wait_server_count(conn, app, 1)


async def test_max_queries(kw):
    async with pgwire.create_pool(min_size=1, max_size=1, max_queries=3,
                                  **kw) as pool:
        async with pool.acquire() as c:
            p1 = c.get_server_pid()
            await c.fetchval("SELECT 1")
            await c.fetchval("SELECT 2")
        assert await pool.fetchval("SELECT pg_backend_pid()") == p1
        await wait_pool(pool, lambda: settled(pool) and pool.get_size() == 1)
        assert await pool.fetchval("SELECT pg_backend_pid()") != p1


async def test_max_queries_counts_prepared_statements(kw):
    """The count comes from the C protocol: executions of a prepared
    statement count too (not only calls through the proxy)."""
    async with pgwire.create_pool(min_size=1, max_size=1, max_queries=5,
                                  **kw) as pool:
        async with pool.acquire() as c:
            p1 = c.get_server_pid()
            st = await c.prepare("SELECT $1::int")
            before = c._protocol.queries_count
            for i in range(5):
                assert await st.fetchval(i) == i
            assert c._protocol.queries_count == before + 5
        await wait_pool(pool, lambda: settled(pool) and pool.get_size() == 1)
        assert await pool.fetchval("SELECT pg_backend_pid()") != p1


async def test_every_request_moves_queries_count(conn):
    """The pool skips the reset only when queries_count did not move
    while the connection was out: every kind of request that reaches the
    server must move it."""
    p = conn._protocol
    await conn.execute("CREATE TEMP TABLE qc (i int)")
    st = await conn.prepare("SELECT $1::int")

    async def cursor_rows():
        async with conn.transaction():
            return [r async for r in conn.cursor("SELECT 1")]

    async def copy_in():
        await conn.copy_records_to_table("qc", records=[(1,)])

    async def copy_out():
        import io
        await conn.copy_from_table("qc", output=io.BytesIO())

    requests = [
        lambda: conn.execute("SELECT 1"),
        lambda: conn.execute("SELECT $1::int", 1),
        lambda: conn.fetch("SELECT 1"),
        lambda: conn.fetchrow("SELECT 1"),
        lambda: conn.fetchval("SELECT 1"),
        lambda: conn.fetchmany("SELECT $1::int", [(1,), (2,)]),
        lambda: conn.executemany("INSERT INTO qc VALUES ($1)", [(1,)]),
        lambda: conn.prepare("SELECT 2"),
        lambda: st.fetchval(1),
        cursor_rows, copy_in, copy_out,
    ]
    for make in requests:
        before = p.queries_count
        await make()
        assert p.queries_count > before, make


async def test_expire_connections(kw, conn, app):
    async with pgwire.create_pool(min_size=2, max_size=3, **kw) as pool:
        old = pool_pids(pool)
        held = await pool.acquire()
        held_pid = held.get_server_pid()
        await pool.expire_connections()
        await pool.release(held)  # replaced on release
        await wait_pool(pool, lambda: settled(pool) and
                        pool.get_size() == 2 and not pool_pids(pool) & old)
        assert held_pid in old
        assert await wait_server_count(conn, app, 2) == pool_pids(pool)


async def test_set_connect_args(kw, cluster):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        app2 = _app()
        pool.set_connect_args(cluster.dsn(), server_settings={
            "application_name": app2})
        assert await pool.fetchval("SHOW application_name") != app2
        await pool.expire_connections()
        assert await pool.fetchval("SHOW application_name") == app2


class _FreezableProxy:
    """A TCP relay to the server whose existing links can be frozen: data
    is then swallowed in both directions, as on a silent network."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.links = []
        self.tasks = set()

    async def start(self):
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _link(self, reader, writer):
        up_r, up_w = await asyncio.open_connection(*self.target)
        link = {"frozen": False, "writers": (writer, up_w)}
        self.links.append(link)
        for src, dst in ((reader, up_w), (up_r, writer)):
            t = asyncio.create_task(self._pipe(src, dst, link))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _pipe(src, dst, link):
        try:
            while data := await src.read(65536):
                if not link["frozen"]:
                    dst.write(data)
                    await dst.drain()
        except OSError:
            pass
        finally:
            dst.close()

    def freeze(self):
        for link in self.links:
            link["frozen"] = True

    async def close(self):
        self.server.close()
        for link in self.links:
            for w in link["writers"]:
                w.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


async def test_health_check(cluster, app, conn):
    tcp = cluster.connect_kwargs(host="tcp")
    relay = _FreezableProxy(tcp["host"], tcp["port"])
    port = await relay.start()
    checks = []

    class Counting(pgwire.Connection):
        async def execute(self, query, *args, **kwargs):
            if query == "SELECT 1":
                checks.append(self.get_server_pid())
            return await super().execute(query, *args, **kwargs)

    kw = dict(tcp, port=port, ssl="disable", connection_class=Counting,
              server_settings={"application_name": app})
    try:
        async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
            for _ in range(3):
                await pool.fetchval("SELECT 2")
            assert checks == []  # off by default
        async with pgwire.create_pool(min_size=1, max_size=1,
                                      health_check=0, **kw) as pool:
            pool._health_check_timeout = 0.3
            p1 = await pool.fetchval("SELECT pg_backend_pid()")
            assert checks == [p1]
            # the connection goes silent: the check fails (bounded) and a
            # new connection is handed out instead
            relay.freeze()
            t0 = time.monotonic()
            async with pool.acquire(timeout=10) as c:
                p2 = c.get_server_pid()
                assert p2 != p1
                assert await c.fetchval("SELECT 3") == 3
            assert time.monotonic() - t0 < 5
            assert checks[-2:] == [p1, p1]  # one failed check (and none
            # on the new connection: it was not idle)
        async with pgwire.create_pool(min_size=1, max_size=1,
                                      health_check=3600, **kw) as pool:
            n = len(checks)
            await pool.fetchval("SELECT 2")
            assert len(checks) == n  # idle for less than an hour
    finally:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = $1",
                           app)
        await relay.close()


@pytest.mark.parametrize("custom", [False, True],
                         ids=["pipelined reset", "custom reset"])
async def test_release_is_bounded(cluster, app, conn, custom):
    """The server stops answering during the reset: release() returns
    (at once for the default reset, written and not awaited; after its
    timeout for a custom one), the connection is terminated after the
    timeout and replaced."""
    async def reset(c):
        await c.execute("RESET ALL")

    tcp = cluster.connect_kwargs(host="tcp")
    relay = _FreezableProxy(tcp["host"], tcp["port"])
    port = await relay.start()
    try:
        async with pgwire.create_pool(
                min_size=1, max_size=1, reset=reset if custom else None,
                **dict(tcp, port=port, ssl="disable",
                       server_settings={"application_name": app})) as pool:
            c = await pool.acquire()
            p1 = c.get_server_pid()
            await c.execute("SET work_mem = '6MB'")  # needs a reset
            (holder,) = pool._all
            relay.freeze()
            t0 = time.monotonic()
            await pool.release(c, timeout=0.3)
            assert time.monotonic() - t0 < 3
            await wait_pool(pool, lambda: holder.state == "gone")
            async with pool.acquire(timeout=10) as c:
                assert c.get_server_pid() != p1
                assert await c.fetchval("SHOW work_mem") != "6MB"
    finally:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = $1",
                           app)
        await relay.close()


# ---------------------------------------------------------------------------
# Closing


async def test_close_waits_for_release(kw, conn, app):
    pool = await pgwire.create_pool(min_size=2, max_size=2, **kw)
    held = await pool.acquire()
    waiter_held = await pool.acquire()
    blocked = asyncio.ensure_future(pool.acquire(timeout=30))
    await wait_pool(pool, lambda: len(pool._waiters) == 1)
    closing = asyncio.create_task(pool.close())
    await wait_pool(pool, lambda: pool.is_closing())
    with pytest.raises(exc.InterfaceError, match="pool is closing"):
        await blocked
    with pytest.raises(exc.InterfaceError, match="pool is closing"):
        await pool.acquire()
    assert not closing.done()
    assert await held.fetchval("SELECT 1") == 1  # still usable
    await pool.release(held)
    await pool.release(waiter_held)
    await asyncio.wait_for(closing, 10)
    assert pool.get_size() == 0
    await wait_server_count(conn, app, 0)


async def test_close_is_bounded(kw, conn, app, caplog):
    pool = await pgwire.create_pool(min_size=1, max_size=2, **kw)
    held = await pool.acquire()
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="pgwire.pool"):
        await pool.close(timeout=0.3)
    assert 0.25 < time.monotonic() - t0 < 3
    assert "still acquired" in caplog.text
    with pytest.raises(exc.InterfaceError, match="released back"):
        await held.fetchval("SELECT 1")
    await pool.release(held)  # no-op
    await wait_server_count(conn, app, 0)


async def test_terminate(kw, conn, app):
    pool = await pgwire.create_pool(min_size=1, max_size=1, **kw)
    held = await pool.acquire()
    blocked = asyncio.ensure_future(pool.acquire())
    blocked2 = asyncio.ensure_future(pool.acquire())
    await wait_pool(pool, lambda: len(pool._waiters) == 2)
    pool.terminate()
    assert pool.is_closing()
    for t in (blocked, blocked2):
        with pytest.raises(exc.InterfaceError, match="pool is closed"):
            await t
    with pytest.raises(exc.InterfaceError, match="released back"):
        await held.fetchval("SELECT 1")
    await pool.release(held)
    await pool.close()
    await wait_server_count(conn, app, 0)


# ---------------------------------------------------------------------------
# Shared type introspection


async def test_introspection_shared_by_the_pool(kw, conn, app):
    schema = "pool_types_" + app
    await conn.execute(f"CREATE SCHEMA {schema}; "
                       f"CREATE TYPE {schema}.mood AS ENUM ('ok', 'sad'); "
                       f"CREATE TYPE {schema}.pair AS (m {schema}.mood, "
                       f"n int)")
    fetched = []

    class Counting(pgwire.Connection):
        async def _fetch_type_rows(self, oids):
            fetched.append(oids)
            return await super()._fetch_type_rows(oids)

    try:
        async with pgwire.create_pool(min_size=1, max_size=2,
                                      connection_class=Counting,
                                      **kw) as pool:
            async with pool.acquire() as c1:
                v = await c1.fetchval(f"SELECT ROW('ok', 1)::{schema}.pair")
                assert tuple(v) == ("ok", 1)
                assert len(fetched) == 1
                async with pool.acquire() as c2:  # a new connection
                    assert c2.get_server_pid() != c1.get_server_pid()
                    v = await c2.fetchval(
                        f"SELECT ROW('sad', 2)::{schema}.pair")
                    assert tuple(v) == ("sad", 2)
                    assert await c2.fetchval(
                        f"SELECT 'ok'::{schema}.mood") == "ok"
                    assert len(fetched) == 1  # no catalog query
                    # custom codecs stay per connection
                    await c2.set_type_codec(
                        "mood", schema=schema, format="binary",
                        encoder=str.encode,
                        decoder=lambda b: b.decode().upper())
                    assert await c2.fetchval(
                        f"SELECT 'ok'::{schema}.mood") == "OK"
                    assert await c1.fetchval(
                        f"SELECT 'ok'::{schema}.mood") == "ok"
                    assert tuple(await c2.fetchval(
                        f"SELECT ROW('ok', 1)::{schema}.pair")) == ("OK", 1)
                    c2_conn = c2._con
                # reload_schema_state on one connection: the shared rows go
                # and the others forget their caches when next acquired
                await c1.reload_schema_state()
            assert pool._types.rows == {}
            assert c2_conn._protocol.type_codecs  # not yet...
            cs = [await pool.acquire() for _ in range(2)]
            # ...but now (custom codec kept)
            assert set(c2_conn._protocol.type_codecs) <= set(
                c2_conn._custom_codecs) | {
                    oid for _, oid, _ in c2_conn._custom_codecs.values()}
            for c in cs:
                await c.fetchval(f"SELECT 'ok'::{schema}.mood")
                await pool.release(c)
            assert len(fetched) == 2
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")


# ---------------------------------------------------------------------------
# Churn


async def test_churn_with_backends_killed(kw, conn, app):
    """300 tasks on a pool of 5 while backends are being killed: at the
    end no connection, task or file descriptor is left behind."""
    fds_before = len(os.listdir("/proc/self/fd"))
    tasks_before = asyncio.all_tasks()
    pool = await pgwire.create_pool(min_size=5, max_size=5, **kw)
    done = 0
    tick = asyncio.Event()
    stop = False
    kills = 0
    outcomes = {"ok": 0, "error": 0}

    async def worker(i):
        nonlocal done
        try:
            async with pool.acquire(timeout=30) as c:
                assert await c.fetchval("SELECT $1::int", i) == i
                if i % 3 == 0:
                    async with c.transaction():
                        await c.execute("SET LOCAL work_mem = '2MB'")
                        await c.fetchval("SELECT pg_sleep(0.001)")
            outcomes["ok"] += 1
        except CONN_ERRORS:
            outcomes["error"] += 1
        done += 1
        if done % 10 == 0:
            tick.set()

    async def killer():
        nonlocal kills
        while True:
            await tick.wait()
            tick.clear()
            if stop:
                return
            await conn.fetchval(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = $1 ORDER BY random() LIMIT 1", app)
            kills += 1

    k = asyncio.create_task(killer())
    workers = [asyncio.create_task(worker(i)) for i in range(300)]
    await asyncio.wait_for(asyncio.gather(*workers), 60)
    stop = True
    tick.set()
    await asyncio.wait_for(k, 10)
    assert outcomes["ok"] + outcomes["error"] == 300
    assert outcomes["ok"] >= 150, outcomes
    assert kills >= 5
    await wait_pool(pool, lambda: settled(pool) and pool.get_size() == 5)
    assert await wait_server_count(conn, app, 5) == pool_pids(pool)
    assert await asyncio.gather(
        *(pool.fetchval("SELECT 1") for _ in range(20))) == [1] * 20
    await pool.close()
    await wait_server_count(conn, app, 0)
    assert asyncio.all_tasks() - tasks_before == set()
    assert len(os.listdir("/proc/self/fd")) == fds_before


# ---------------------------------------------------------------------------
# asyncpg 0.32 compatibility (asyncpg's own test_pool is the contract; these
# cover the same behaviour in pgwire's suite)


async def test_init_size(kw, conn, app):
    # default: init_size is min_size
    async with pgwire.create_pool(min_size=2, max_size=3, **kw) as pool:
        assert pool.get_init_size() == 2 and pool.get_size() == 2
    # more connections at start than the floor
    async with pgwire.create_pool(init_size=3, min_size=1, max_size=5,
                                  **kw) as pool:
        assert (pool.get_init_size(), pool.get_min_size(),
                pool.get_max_size()) == (3, 1, 5)
        assert pool.get_size() == 3 and pool.get_idle_size() == 3
        assert len(await server_pids(conn, app)) == 3
        async with pool.acquire(), pool.acquire(), pool.acquire(), \
                pool.acquire():
            assert pool.get_size() == 4 and pool.get_idle_size() == 0
    # a lazy pool
    async with pgwire.create_pool(init_size=0, min_size=0, max_size=1,
                                  **kw) as pool:
        assert pool.get_init_size() == 0 and pool.get_size() == 0
        assert await pool.fetchval("SELECT 1") == 1
        assert pool.get_size() == 1


async def test_init_size_floor_refill(kw, conn, app):
    """init_size above min_size: min_size stays the floor the pool refills
    to when connections die."""
    async with pgwire.create_pool(init_size=3, min_size=1, max_size=3,
                                  **kw) as pool:
        pids = await wait_server_count(conn, app, 3)
        for pid in pids:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
        # the three backends gone, one new one opened by the refill, and
        # the pool holding exactly that one
        async with asyncio.timeout(10):
            while True:
                now = await server_pids(conn, app)
                if len(now) == 1 and not now & pids and \
                        pool_pids(pool) == now and settled(pool):
                    break
                await asyncio.sleep(0.01)
        assert pool.get_size() == 1
        assert await pool.fetchval("SELECT 1") == 1


async def test_init_size_validation():
    for kwargs, msg in [
            (dict(init_size=1, min_size=2, max_size=5),
             "init_size is smaller than min_size"),
            (dict(init_size=5, min_size=1, max_size=3),
             "init_size is greater than max_size"),
            (dict(init_size=-1, min_size=0, max_size=3),
             "init_size is expected to be greater or equal to zero"),
            (dict(init_size=3, min_size=3, max_size=2),
             "min_size is greater than max_size")]:
        with pytest.raises(ValueError, match=msg):
            pgwire.create_pool("postgresql://x@localhost/x", **kwargs)
        with pytest.raises(ValueError, match=msg):
            pgwire.Pool("postgresql://x@localhost/x", **kwargs)


def _unannotated(sig):
    """The signature without its annotations (the C methods have none;
    their types are in the stub and in Connection's overloads)."""
    return sig.replace(
        parameters=[p.replace(annotation=p.empty)
                    for p in sig.parameters.values()],
        return_annotation=sig.empty)


def test_shortcut_signatures_and_docstrings():
    import inspect
    from pgwire.pool import _SHORTCUTS
    assert set(_SHORTCUTS) >= {
        "execute", "executemany", "fetch", "fetchrow", "fetchval",
        "fetchmany", "copy_from_table", "copy_from_query", "copy_to_table",
        "copy_records_to_table"}
    for name in _SHORTCUTS:
        conn_meth = getattr(pgwire.Connection, name)
        pool_meth = getattr(pgwire.Pool, name)
        assert _unannotated(inspect.signature(pool_meth)) == \
            _unannotated(inspect.signature(conn_meth))
        assert conn_meth.__doc__
        assert pool_meth.__doc__.startswith(conn_meth.__doc__.rstrip())
    assert "Execute an SQL command" in pgwire.Connection.execute.__doc__
    assert str(inspect.signature(pgwire.Connection.fetchval)) == \
        "(self, /, query, *args, column=0, timeout=None)"


async def test_proxy_methods_have_connection_signatures(kw):
    import inspect
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            assert c.execute.__name__ == "execute"
            assert "Execute an SQL command" in c.execute.__doc__
            for name in ("execute", "fetch", "copy_to_table", "prepare"):
                assert str(inspect.signature(getattr(c, name)))[1:] in \
                    str(inspect.signature(getattr(pgwire.Connection, name)))


async def test_use_while_initialising_wording(kw):
    pool = pgwire.create_pool(init_size=1, min_size=1, max_size=1, **kw)
    task = asyncio.ensure_future(pool)
    await asyncio.sleep(0)
    with pytest.raises(exc.InterfaceError) as ei:
        await pool.fetchval("SELECT 1")
    assert str(ei.value) == (
        "pool is being initialized, but not yet ready: likely there is a "
        "race between creating a pool and using it")
    await task
    await pool.close()


async def test_released_resources_raise_when_called(kw):
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            ps = await c.prepare("SELECT 1")
            txn = c.transaction()
            async with c.transaction():
                cur = await c.cursor("SELECT 1")
                ps_cur = await ps.cursor()
        released = "released back to the pool"
        # no await: the call itself raises, no coroutine is left behind
        with pytest.raises(exc.InterfaceError,
                           match=r"Connection\.execute.*" + released):
            c.execute("SELECT 1")
        for meth in ("fetchval", "fetchrow", "fetch", "explain",
                     "get_query", "get_statusmsg", "get_parameters",
                     "get_attributes"):
            with pytest.raises(exc.InterfaceError,
                               match=rf"PreparedStatement\.{meth}.*"
                               + released):
                getattr(ps, meth)()
        for cursor in (cur, ps_cur):
            for meth in ("fetch", "fetchrow"):
                args = (1,) if meth == "fetch" else ()
                with pytest.raises(exc.InterfaceError,
                                   match=rf"Cursor\.{meth}.*" + released):
                    getattr(cursor, meth)(*args)
            with pytest.raises(exc.InterfaceError,
                               match=r"Cursor\.forward.*" + released):
                cursor.forward(1)
        for meth in ("start", "commit", "rollback"):
            with pytest.raises(exc.InterfaceError,
                               match=rf"Transaction\.{meth}.*" + released):
                getattr(txn, meth)()


async def test_exception_in_setup_and_init(kw):
    class Error(Exception):
        pass

    seen = []

    async def failing_once(c):
        seen.append(c)
        if len(seen) == 1:
            raise Error

    # setup: the connection is closed before the error reaches acquire;
    # the proxy setup got stays on the closed connection
    async with pgwire.create_pool(min_size=1, max_size=1,
                                  setup=failing_once, **kw) as pool:
        with pytest.raises(Error):
            await pool.acquire()
        assert seen[0].is_closed()
        assert pool.get_size() == 0
        async with pool.acquire(timeout=5) as c:
            assert seen[1] is c
            assert await c.fetchval("SELECT 1") == 1
    # init: the same
    seen.clear()
    async with pgwire.create_pool(init_size=0, min_size=0, max_size=1,
                                  init=failing_once, **kw) as pool:
        with pytest.raises(Error):
            await pool.acquire()
        assert seen[0].is_closed()
        async with pool.acquire(timeout=5) as c:
            assert c._con is seen[1]
            assert await c.fetchval("SELECT 1") == 1


@pytest.mark.parametrize("keep_ref", [False, True])
async def test_transaction_in_abandoned_asyncgen(kw, keep_ref):
    """asyncpg's test_pool_handles_transaction_exit_in_asyncgen_1/2: the
    generator is finalized after the connection went back to the pool;
    nothing is reported and the connection comes back clean."""
    loop = asyncio.get_running_loop()
    errors = []
    old = loop.get_exception_handler()
    loop.set_exception_handler(lambda l, ctx: errors.append(ctx))

    async def iterate(con):
        async with con.transaction():
            for record in await con.fetch("SELECT 1"):
                yield record

    class MyError(Exception):
        pass

    try:
        async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
            with pytest.raises(MyError):
                async with pool.acquire() as con:
                    it = iterate(con)
                    async for _ in it:
                        raise MyError()
            if not keep_ref:
                del it
            import gc
            gc.collect()
            for _ in range(5):
                await asyncio.sleep(0.01)
            if keep_ref:
                await it.aclose()  # quiet too
            async with pool.acquire(timeout=5) as con:
                assert not con.is_in_transaction()
                assert await con.fetchval("SELECT 1") == 1
    finally:
        loop.set_exception_handler(old)
    assert errors == []


async def test_close_soon_after_a_replaced_connection(kw):
    """max_queries=1: releasing replaces the connection in the background;
    a close() right after must not wait for a refill task that was
    cancelled before it ran (it used to wait its full 60 s)."""
    async with asyncio.timeout(10):
        pool = await pgwire.create_pool(init_size=1, min_size=1, max_size=1,
                                        max_queries=1, **kw)
        async with pool.acquire() as c:
            await c.fetchval("SELECT 1")
        t0 = time.monotonic()
        await pool.close()
        assert time.monotonic() - t0 < 5
        assert pool.get_size() == 0 and pool._refill_task is None


async def test_connect_callback_type_error(kw):
    async def bad_connect(*args, **kwargs):
        return 1

    with pytest.raises(exc.InterfaceError) as ei:
        await pgwire.create_pool(connect=bad_connect, min_size=1, **kw)
    assert str(ei.value) == (
        "expected pool connect callback to return an instance of "
        "'pgwire.connection.Connection', got 'int'")


async def test_refill_failure_logged_as_asyncpg(kw, conn, caplog):
    calls = 0

    async def connect(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError("no route (test)")
        return await pgwire.connect(*args, **kwargs)

    pool = await pgwire.create_pool(min_size=1, max_size=1, connect=connect,
                                    **kw)
    pool._refill_backoff = (0.01, 0.02)
    try:
        with caplog.at_level(logging.WARNING, logger="pgwire.pool"):
            pid = next(iter(pool_pids(pool)))
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
            async with asyncio.timeout(10):
                while not any(r.name == "pgwire.pool" and
                              r.levelno == logging.WARNING
                              for r in caplog.records):
                    await asyncio.sleep(0.01)
    finally:
        await pool.close()
    rec = next(r for r in caplog.records if r.name == "pgwire.pool")
    assert rec.getMessage() == ("Failed to restore the pool connection "
                                "floor; retrying")
    assert isinstance(rec.exc_info[1], OSError)
