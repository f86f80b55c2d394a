"""A backend terminated by the server (pg_terminate_backend) while the
client is in a query or between queries: pgwire raises what asyncpg
0.32.0 raises (issue 18: SQLAlchemy's dialect must see a disconnect, and
saw AdminShutdownError).  Differential: each scenario runs on pgwire and
on asyncpg against the same server, and the outcomes must be equal: the
exception's class and message for the interrupted call, is_closed(), and
what the next call raises."""

import asyncio

import asyncpg
import pytest

import pgwire

from waiting import wait_until


async def _admin(cluster):
    return await pgwire.connect(**cluster.connect_kwargs())


async def _terminate(admin, pid, *, when_active):
    if when_active:
        await wait_until(lambda: admin.fetchval(
            "SELECT state = 'active' AND wait_event = 'PgSleep' "
            "FROM pg_stat_activity WHERE pid = $1", pid),
            what="the backend to be sleeping in its query")
    await admin.execute("SELECT pg_terminate_backend($1)", pid)
    await wait_until(lambda: admin.fetchval(
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)",
        pid), what="the terminated backend to exit")


def _outcome(e):
    return None if e is None else (type(e).__name__, str(e))


async def _later_call(conn):
    try:
        await conn.fetchval("SELECT 1")
    except Exception as e:
        return _outcome(e)
    return None


async def _scenario(drv, cluster, body, *, when_active=True):
    """Run body(conn) as a task, terminate its backend, and return the
    observable outcome."""
    admin = await _admin(cluster)
    conn = await drv.connect(**cluster.connect_kwargs())
    try:
        pid = conn.get_server_pid()
        if not when_active:  # body runs to its end, then the backend goes
            await body(conn)
            await _terminate(admin, pid, when_active=False)
            await wait_until(conn.is_closed, what="the close to be seen")
            return (None, conn.is_closed(), await _later_call(conn))
        task = asyncio.ensure_future(body(conn))
        await _terminate(admin, pid, when_active=True)
        try:
            await asyncio.wait_for(task, 20)
            err = None
        except Exception as e:
            err = e
        return (_outcome(err), conn.is_closed(), await _later_call(conn))
    finally:
        conn.terminate()
        await admin.close()


async def _sleep_fetch(conn):
    await conn.fetch("SELECT pg_sleep(30)")


async def _sleep_execute_simple(conn):
    await conn.execute("SELECT 1; SELECT pg_sleep(30)")


async def _sleep_executemany(conn):
    await conn.executemany("SELECT pg_sleep($1)", [(0,), (30,), (0,)])


async def _sleep_prepared(conn):
    st = await conn.prepare("SELECT pg_sleep($1)")
    await st.fetchval(30)


async def _sleep_in_transaction(conn):
    async with conn.transaction():
        await conn.execute("CREATE TEMP TABLE t_term (i int)")
        await conn.fetchval("SELECT pg_sleep(30)")


async def _sleep_in_cursor(conn):
    async with conn.transaction():
        cur = await conn.cursor("SELECT pg_sleep(CASE WHEN g = 2 THEN 30 "
                                "ELSE 0 END) FROM generate_series(1, 3) g")
        await cur.fetch(1)
        await cur.fetch(1)


async def _idle_in_transaction(conn):
    tr = conn.transaction()
    await tr.start()
    await conn.fetchval("SELECT 1")


SCENARIOS = {
    "fetch": _sleep_fetch,
    "simple_query": _sleep_execute_simple,
    "executemany": _sleep_executemany,
    "prepared_statement": _sleep_prepared,
    "in_transaction": _sleep_in_transaction,
    "cursor": _sleep_in_cursor,
}


# Leaving `async with conn.transaction()` on the closed connection: both
# raise InterfaceError (the query's error as its context); the wording is
# asyncpg's generic resource check ("cannot call Transaction.__aexit__():
# the underlying connection is closed") against pgwire's "connection is
# closed" (a README difference).
IN_BLOCK = ("in_transaction", "cursor")


def _comparable(name, outcome):
    (cls, msg), closed, later = outcome
    if name in IN_BLOCK:
        assert cls == "InterfaceError" and msg.endswith(
            "connection is closed"), (cls, msg)
        msg = "connection is closed"
    return (cls, msg), closed, later


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_terminated_during_query(cluster, name):
    body = SCENARIOS[name]
    got = {drv.__name__: _comparable(name, await _scenario(drv, cluster,
                                                           body))
           for drv in (pgwire, asyncpg)}
    assert got["pgwire"] == got["asyncpg"], got
    (cls, msg), closed, later = got["pgwire"]
    if name not in IN_BLOCK:
        assert cls == "ConnectionDoesNotExistError"
        assert msg.startswith("connection was closed in the middle of "
                              "operation")
    assert closed
    assert later == ("InterfaceError", "connection is closed")


async def test_terminated_idle_in_transaction(cluster):
    got = {}
    for drv in (pgwire, asyncpg):
        got[drv.__name__] = await _scenario(
            drv, cluster, _idle_in_transaction, when_active=False)
    assert got["pgwire"] == got["asyncpg"], got
    assert got["pgwire"] == (None, True,
                             ("InterfaceError", "connection is closed"))


async def test_server_reason_kept(cluster):
    """Beyond asyncpg: the server's AdminShutdownError stays reachable as
    the cause, for code that wants to tell a shutdown from a lost link."""
    admin = await _admin(cluster)
    conn = await pgwire.connect(**cluster.connect_kwargs())
    try:
        task = asyncio.ensure_future(_sleep_fetch(conn))
        await _terminate(admin, conn.get_server_pid(), when_active=True)
        with pytest.raises(pgwire.ConnectionDoesNotExistError) as info:
            await asyncio.wait_for(task, 20)
        assert isinstance(info.value.__cause__, pgwire.AdminShutdownError)
        assert info.value.__cause__.sqlstate == "57P01"
    finally:
        conn.terminate()
        await admin.close()
