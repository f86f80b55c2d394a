"""The pool's reset, pipelined (issue 14 item 5), against the real server.

On release the default reset is written at once as one transaction
(``BEGIN ISOLATION LEVEL READ COMMITTED; <reset>; COMMIT``) and the
connection is idle again; the next user's first query follows it on the
wire.  A relay between the pool and the server holds either direction on
demand, so "no round trip" is shown by the query reaching the server side
while every answer is held back -- no timing.
"""

import asyncio
import logging
import os

import pytest

import pgwire
from pgwire import exceptions as exc

from waiting import wait_until


def _app():
    return "pgwire_prst_" + os.urandom(4).hex()


class _Gate:
    """One direction of the relay: forwards while open, holds (buffers)
    while closed; records everything that reached it."""

    def __init__(self):
        self.open = asyncio.Event()
        self.open.set()
        self.seen = bytearray()   # received by the relay
        self.passed = 0           # bytes forwarded


class _HoldingRelay:
    """A TCP relay to the server whose two directions can each be held."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.c2s = _Gate()
        self.s2c = _Gate()
        self.writers = []
        self.tasks = set()

    async def start(self):
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _link(self, reader, writer):
        up_r, up_w = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_w]
        for src, dst, gate in ((reader, up_w, self.c2s),
                               (up_r, writer, self.s2c)):
            t = asyncio.create_task(self._pipe(src, dst, gate))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _pipe(src, dst, gate):
        """Reads all the time (a held direction still records what
        arrives); forwards while the gate is open."""
        pending = bytearray()
        eof = False
        changed = asyncio.Event()

        async def read():
            nonlocal eof
            try:
                while data := await src.read(65536):
                    gate.seen += data
                    pending.extend(data)
                    changed.set()
            except OSError:
                pass
            finally:
                eof = True
                changed.set()

        reader = asyncio.ensure_future(read())
        try:
            while True:
                await gate.open.wait()
                if pending:
                    data = bytes(pending)
                    pending.clear()
                    dst.write(data)
                    gate.passed += len(data)
                    await dst.drain()
                    continue
                if eof:
                    break
                changed.clear()
                if not pending and not eof:
                    await changed.wait()
        except OSError:
            pass
        finally:
            reader.cancel()
            dst.close()

    def hold(self, gate):
        """Hold one direction; what each direction sees is recorded from
        now on."""
        gate.open.clear()
        for g in (self.c2s, self.s2c):
            g.seen.clear()
            g.passed = 0

    async def close(self):
        self.c2s.open.set()
        self.s2c.open.set()
        self.server.close()
        for w in self.writers:
            w.close()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()


@pytest.fixture
def app():
    return _app()


@pytest.fixture
def kw(cluster, app):
    return cluster.connect_kwargs(server_settings={"application_name": app})


@pytest.fixture
async def relay_kw(cluster, app, conn):
    tcp = cluster.connect_kwargs(host="tcp")
    relay = _HoldingRelay(tcp["host"], tcp["port"])
    port = await relay.start()
    try:
        yield relay, dict(tcp, port=port, ssl="disable",
                          server_settings={"application_name": app})
    finally:
        await relay.close()
        await conn.execute("SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE application_name = $1",
                           app)


async def wait_pool(pool, predicate, timeout=10):
    await asyncio.wait_for(pool._wait_until(predicate), timeout)


async def wait_resets(pool):
    await wait_pool(pool, lambda: all(h.reset_fut is None
                                      for h in pool._all))


def _holder(pool):
    (holder,) = pool._all
    return holder


# ---------------------------------------------------------------------------
# No round trip


async def test_reset_and_first_query_need_no_round_trip(relay_kw):
    """Release returns and the next user's first query is written while
    every answer of the server is held back: neither waits for the
    reset's answer.  The server receives the reset, then the query."""
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
            await c.execute("SET work_mem = '7MB'")
        await wait_resets(pool)
        c = await pool.acquire()
        await c.execute("SET work_mem = '6MB'")  # needs a reset
        relay.hold(relay.s2c)                   # no answer comes back
        await asyncio.wait_for(pool.release(c), 5)
        c = await asyncio.wait_for(pool.acquire(), 5)
        assert c.get_server_pid() == pid
        assert not c.is_in_transaction()
        task = asyncio.ensure_future(
            c.fetchrow("SELECT 'first query', current_setting('work_mem')"))
        await wait_until(lambda: b"first query" in relay.c2s.seen,
                         what="the first query written behind the reset")
        sent = bytes(relay.c2s.seen)
        reset_at = sent.index(b"RESET ALL")
        assert sent.index(b"BEGIN ISOLATION LEVEL READ COMMITTED") < \
            reset_at < sent.index(b"\nCOMMIT;") < sent.index(b"first query")
        assert relay.s2c.passed == 0            # no answer reached us
        relay.s2c.open.set()
        row = await asyncio.wait_for(task, 10)
        assert row[1] != "6MB"                  # ran after the reset
        await pool.release(c)


async def test_nothing_ran_means_no_reset(kw):
    """Skipped only when no request ran since acquire (kept exactly)."""
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            await c.execute("SELECT 1")
        await wait_resets(pool)
        holder = _holder(pool)
        async with pool.acquire():
            pass
        assert holder.reset_fut is None
        async with pool.acquire() as c:
            await c.fetchval("SELECT 1")
        assert holder.reset_fut is not None
        # released again at once, nothing ran: the reset in flight covers
        # it, none is added (an old transaction status must not fool it)
        async with pool.acquire() as c:
            await c.execute("BEGIN")
        fut = holder.reset_fut
        async with pool.acquire():
            pass
        assert holder.reset_fut in (fut, None)
        await wait_resets(pool)


# ---------------------------------------------------------------------------
# Every leak scenario is still reset, for the very first query


@pytest.fixture
async def session_changers(conn, app):
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
    "SET SESSION AUTHORIZATION":
        "SET SESSION AUTHORIZATION {role}",
    "open transaction": "BEGIN; SELECT {schema}.set_tenant('B')",
    "failed transaction": "BEGIN; SELECT {schema}.take_lock(43); "
                          "SELECT 1/0",
    "read-only serializable deferrable default":
        "SET default_transaction_read_only = on; "
        "SET default_transaction_isolation = serializable; "
        "SET default_transaction_deferrable = on; "
        "SELECT {schema}.set_tenant('C')",
    "LISTEN and a held cursor":
        "LISTEN chan; BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT 1; "
        "COMMIT",
}

_LOOK = ("SELECT current_setting('app.tenant', true), "
         "current_setting('search_path'), current_user::text, "
         "session_user::text, current_setting('transaction_read_only'), "
         "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
         "AND pid = pg_backend_pid()), "
         "(SELECT count(*) FROM pg_cursors WHERE name = 'held'), "
         "(SELECT count(*) FROM pg_listening_channels())")


@pytest.mark.parametrize("change", list(_SESSION_CHANGES))
@pytest.mark.parametrize("pipeline", [False, True],
                         ids=["plain", "pipeline"])
async def test_first_query_sees_a_reset_session(kw, conn, session_changers,
                                                change, pipeline):
    schema, role = session_changers
    sql = _SESSION_CHANGES[change].format(schema=schema, role=role)
    async with pgwire.create_pool(min_size=1, max_size=1, pipeline=pipeline,
                                  **kw) as pool:
        async with pool.acquire() as c:
            pid = c.get_server_pid()
            clean = tuple(await c.fetchrow(_LOOK))
        async with pool.acquire() as c:
            with pytest.raises(exc.DivisionByZeroError) if "1/0" in sql \
                    else _nothing():
                await c.execute(sql)
        # the first query of the next user is written behind the reset
        async with pool.acquire() as c:
            assert c.get_server_pid() == pid
            now = tuple(await c.fetchrow(_LOOK))
            assert (now[0] or "", now[1:]) == (clean[0] or "", clean[1:])
            assert now[2] == now[3]
            assert not c.is_in_transaction()
        await wait_resets(pool)
        assert await conn.fetchval("SELECT pg_try_advisory_lock(42)")
        assert await conn.fetchval("SELECT pg_advisory_unlock(42)")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ---------------------------------------------------------------------------
# A reset that fails: the query behind it did not run


class FailingReset(pgwire.Connection):
    """The default reset with a statement that fails on the server inside
    its transaction (after everything else ran): the COMMIT is skipped."""

    def _pool_reset_query(self):
        return super()._pool_reset_query().replace(
            "\nCOMMIT;", "\nSELECT 1/0;\nCOMMIT;")


@pytest.fixture
async def table(conn, app):
    name = "prst_" + app
    await conn.execute(f"CREATE TABLE {name} (v int)")
    try:
        yield name
    finally:
        await conn.execute(f"DROP TABLE {name}")


async def _release_with_failing_reset(pool, relay):
    """A connection that ran something, released with the answers held:
    its (failing) reset is in flight, unanswered, when the next query is
    written."""
    c = await pool.acquire()                    # never released before
    pid = c.get_server_pid()
    await c.fetchval("SELECT 2")
    relay.hold(relay.s2c)
    await pool.release(c)
    return pid


async def _written_then_answered(relay, task, marker):
    await wait_until(lambda: marker in relay.c2s.seen,
                     what="the query written behind the reset")
    relay.s2c.open.set()
    return await asyncio.wait_for(task, 10)


async def test_failed_reset_shortcut_is_retried(relay_kw, conn, table,
                                                caplog):
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=2,
                                  connection_class=FailingReset,
                                  **kw) as pool:
        pid = await _release_with_failing_reset(pool, relay)
        with caplog.at_level(logging.WARNING, logger="pgwire.pool"):
            task = asyncio.ensure_future(pool.fetchval(
                f"INSERT INTO {table} VALUES ($1) RETURNING pg_backend_pid()",
                1))
            got = await _written_then_answered(relay, task, b"INSERT INTO")
        assert got != pid                       # retried elsewhere
        # the first attempt did not run: one row
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 1
        assert "reset failed; the query did not run" in caplog.text
        assert "division by zero" in caplog.text


async def test_failed_reset_proxy_fails_clearly(relay_kw, conn, table):
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1,
                                  connection_class=FailingReset,
                                  **kw) as pool:
        await _release_with_failing_reset(pool, relay)
        async with pool.acquire() as c:
            task = asyncio.ensure_future(
                c.execute(f"INSERT INTO {table} VALUES ($1)", 1))
            with pytest.raises(exc.PoolResetFailedError,
                               match="the pooled connection's reset failed; "
                                     "the query did not run") as e:
                await _written_then_answered(relay, task, b"INSERT INTO")
            assert isinstance(e.value, exc.InterfaceError)
            assert isinstance(e.value.__cause__, exc.DivisionByZeroError)
            # and so does whatever is called on it afterwards
            with pytest.raises(exc.PoolResetFailedError):
                await c.fetchval("SELECT 1")
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
        # the pool replaced it
        assert await pool.fetchval("SELECT 7") == 7


async def test_failed_reset_exclusive_op_never_written(relay_kw, conn,
                                                       table):
    """A simple-Query execute() (it may hold several statements) waits
    for the reset's outcome instead of following it: never written."""
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1,
                                  connection_class=FailingReset,
                                  **kw) as pool:
        await _release_with_failing_reset(pool, relay)
        async with pool.acquire() as c:
            task = asyncio.ensure_future(
                c.execute(f"ROLLBACK; INSERT INTO {table} VALUES (5)"))
            await wait_until(lambda: b"RESET ALL" in relay.c2s.seen,
                             what="the reset written")
            relay.s2c.open.set()
            with pytest.raises(exc.PoolResetFailedError):
                await asyncio.wait_for(task, 10)
        assert b"INSERT INTO" not in relay.c2s.seen
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_failed_reset_pipelined_ops_behind_it(relay_kw, conn, table):
    """pipeline=True: only one request follows the unanswered reset (it
    may be a ROLLBACK, which would end the aborted block); the rest wait
    for the outcome, so nothing of theirs runs."""
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1, pipeline=True,
                                  connection_class=FailingReset,
                                  **kw) as pool:
        await _release_with_failing_reset(pool, relay)
        async with pool.acquire() as c:
            t1 = asyncio.ensure_future(c.fetchval("ROLLBACK"))
            t2 = asyncio.ensure_future(
                c.execute(f"INSERT INTO {table} VALUES ($1)", 6))
            await wait_until(lambda: b"ROLLBACK" in relay.c2s.seen,
                             what="the first query written")
            assert b"INSERT INTO" not in relay.c2s.seen
            relay.s2c.open.set()
            for t in (t1, t2):
                with pytest.raises(exc.PoolResetFailedError):
                    await asyncio.wait_for(t, 10)
        assert b"INSERT INTO" not in relay.c2s.seen
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_failed_reset_while_idle_discards(relay_kw, caplog):
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1,
                                  connection_class=FailingReset,
                                  **kw) as pool:
        pid = await _release_with_failing_reset(pool, relay)
        holder = _holder(pool)
        with caplog.at_level(logging.WARNING, logger="pgwire.pool"):
            relay.s2c.open.set()
            await wait_pool(pool, lambda: holder.state == "gone")
        assert "the connection is terminated" in caplog.text
        await wait_pool(pool, lambda: pool.get_size() == 1)
        async with pool.acquire() as c:
            assert c.get_server_pid() != pid


# ---------------------------------------------------------------------------
# Lost connections, interruptions, pool shutdown


async def test_backend_killed_while_reset_in_flight(relay_kw, conn):
    """The backend dies with the reset and the first query written but
    not yet received: the query fails as with any lost connection."""
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        c = await pool.acquire()
        pid = c.get_server_pid()
        await c.execute("SET work_mem = '6MB'")
        relay.hold(relay.c2s)                   # the server gets nothing
        await pool.release(c)
        c = await pool.acquire()
        task = asyncio.ensure_future(c.fetchval("SELECT 'lost'"))
        await wait_until(lambda: b"'lost'" in relay.c2s.seen,
                         what="the query written")
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
        relay.c2s.open.set()
        with pytest.raises((exc.ConnectionDoesNotExistError,
                            exc.InterfaceError)):
            await asyncio.wait_for(task, 10)
        await pool.release(c)
        await wait_pool(pool, lambda: pool.get_size() == 1 and
                        _holder(pool).conn.get_server_pid() != pid)
        assert await pool.fetchval("SHOW work_mem") != "6MB"


@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_first_query_interrupted_while_reset_in_flight(relay_kw, how):
    """Cancelled or timed out behind the unanswered reset: it is
    abandoned (no CancelRequest can hit the reset); the connection is
    closed at release, the next user gets a reset one."""
    relay, kw = relay_kw
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        c = await pool.acquire()
        pid = c.get_server_pid()
        await c.execute("SET work_mem = '6MB'")
        relay.hold(relay.s2c)
        await pool.release(c)
        c = await pool.acquire()
        if how == "cancel":
            task = asyncio.ensure_future(c.fetchval("SELECT 'first'"))
            await wait_until(lambda: b"'first'" in relay.c2s.seen,
                             what="the query written")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            with pytest.raises(asyncio.TimeoutError):
                await c.fetchval("SELECT 'first'", timeout=0.2)
        await pool.release(c)
        relay.s2c.open.set()
        async with pool.acquire(timeout=10) as c:
            assert c.get_server_pid() != pid
            assert await c.fetchval("SHOW work_mem") != "6MB"


async def test_cancel_at_every_step(kw):
    """A task doing acquire -> first query -> release, cancelled after
    each of its steps in turn: the connection ends reset or closed, never
    leaked or handed out dirty."""
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        default = await pool.fetchval("SHOW work_mem")

        async def user():
            async with pool.acquire() as c:
                await c.execute("SET work_mem = '3MB'")
                await c.fetchval("SELECT 1")

        for steps in range(60):
            task = asyncio.ensure_future(user())
            for _ in range(steps):
                await asyncio.sleep(0)   # let it run `steps` steps
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            async with pool.acquire(timeout=10) as c:
                assert await c.fetchval("SHOW work_mem") == default
            assert pool.get_size() == 1
            if task.done() and not task.cancelled() and steps > 40:
                break


async def test_cancel_releaser(kw):
    """The release writes the reset without waiting: a releaser cancelled
    right after it started has released."""
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        c = await pool.acquire()
        pid = c.get_server_pid()
        await c.execute("SET work_mem = '3MB'")
        t = asyncio.ensure_future(pool.release(c))
        await asyncio.sleep(0)
        t.cancel()
        await asyncio.gather(t, return_exceptions=True)
        async with pool.acquire(timeout=5) as c:
            assert c.get_server_pid() == pid
            assert await c.fetchval("SHOW work_mem") != "3MB"


@pytest.mark.parametrize("how", ["close", "terminate", "expire"])
async def test_pool_shutdown_with_reset_in_flight(relay_kw, conn, app, how):
    relay, kw = relay_kw
    pool = await pgwire.create_pool(min_size=1, max_size=1, **kw)
    try:
        c = await pool.acquire()
        pid = c.get_server_pid()
        await c.execute("SET work_mem = '6MB'")
        relay.hold(relay.s2c)
        await pool.release(c)
        holder = _holder(pool)
        fut = holder.reset_fut
        assert fut is not None and not fut.done()
        if how == "close":
            closing = asyncio.ensure_future(pool.close(timeout=10))
            await wait_until(lambda: b"X\x00\x00\x00\x04" in relay.c2s.seen,
                             what="Terminate written behind the reset")
            relay.s2c.open.set()
            await asyncio.wait_for(closing, 15)
            assert fut.done() and fut.exception() is None  # answered first
        elif how == "terminate":
            pool.terminate()
            relay.s2c.open.set()
            await wait_until(fut.done, what="the reset future settled")
            assert isinstance(fut.exception(),
                              exc.ConnectionDoesNotExistError)
        else:
            await pool.expire_connections()
            relay.s2c.open.set()
            await wait_pool(pool, lambda: holder.state == "gone" and
                            pool.get_size() == 1)
            async with pool.acquire(timeout=10) as c:
                assert c.get_server_pid() != pid
                assert await c.fetchval("SHOW work_mem") != "6MB"
    finally:
        relay.s2c.open.set()
        pool.terminate()


async def test_failed_reset_setup_runs_again(relay_kw, conn, table):
    """setup= runs before the connection is handed out: a setup whose
    query followed a failed reset runs again on another connection."""
    relay, kw = relay_kw
    calls = []

    async def setup(proxy):
        calls.append(proxy.get_server_pid())
        await proxy.execute(f"INSERT INTO {table} VALUES ($1)", len(calls))

    async with pgwire.create_pool(min_size=1, max_size=1,
                                  connection_class=FailingReset,
                                  **kw) as pool:
        setup_ = pool._setup
        pid = await _release_with_failing_reset(pool, relay)
        pool._setup = setup
        try:
            task = asyncio.ensure_future(pool.acquire(timeout=10))
            c = await _written_then_answered(relay, task, b"INSERT INTO")
        finally:
            pool._setup = setup_
        assert calls[0] == pid and calls[1] != pid
        assert c.get_server_pid() == calls[1]
        await pool.release(c)
        # the first setup's INSERT did not run
        assert await conn.fetchval(f"SELECT array_agg(v) FROM {table}") \
            == [2]


@pytest.mark.parametrize("setting", [
    "client_encoding TO 'LATIN1'", "standard_conforming_strings = off"])
async def test_client_read_settings_wait_for_the_reset(kw, setting):
    """A request is encoded with the settings of the moment, and the
    server reads it under those the reset restores: when the client's own
    settings were changed, the reset is awaited at release instead."""
    async with pgwire.create_pool(min_size=1, max_size=1, **kw) as pool:
        async with pool.acquire() as c:
            await c.execute("SET " + setting)
        holder = _holder(pool)
        assert holder.reset_fut is None         # awaited, not in flight
        async with pool.acquire() as c:
            assert c.get_settings().client_encoding == "UTF8"
            assert c.get_settings().standard_conforming_strings == "on"
            assert await c.fetchval("SELECT $1::text", "日本") == "日本"
        assert holder.reset_fut is not None     # pipelined again
