"""Awaiting one query object twice (issue 12, item 6).

A second awaiter used to replace the first one's future, so the first hung
for ever.  The C awaitables now refuse a second await as a coroutine does,
and the first awaiter gets its result.
"""

import asyncio
import io

import pytest

REUSE = "cannot reuse already awaited coroutine"
BUSY = "coroutine is being awaited already"


async def _await(aw):
    return await aw


def _ops(conn):
    return {
        "fetch": lambda: conn.fetch("SELECT pg_sleep(0.05), 1 AS x"),
        "fetchrow": lambda: conn.fetchrow("SELECT pg_sleep(0.05), 1 AS x"),
        "fetchval": lambda: conn.fetchval("SELECT 1 FROM pg_sleep(0.05)"),
        "execute": lambda: conn.execute("SELECT pg_sleep(0.05)"),
        "execute_args": lambda: conn.execute(
            "SELECT pg_sleep($1)", 0.05),
        "executemany": lambda: conn.executemany(
            "SELECT pg_sleep($1)", [(0.02,), (0.02,)]),
        "fetchmany": lambda: conn.fetchmany(
            "SELECT $1::int, pg_sleep(0.02)", [(1,), (2,)]),
    }


OPS = ["fetch", "fetchrow", "fetchval", "execute", "execute_args",
       "executemany", "fetchmany"]


def _check_first(name, res):
    if name == "fetchval":
        assert res == 1
    elif name in ("fetch", "fetchrow"):
        row = res[0] if name == "fetch" else res
        assert row["x"] == 1
    elif name == "fetchmany":
        assert [r[0] for r in res] == [1, 2]


@pytest.mark.parametrize("name", OPS)
async def test_two_awaiters_second_refused_first_completes(conn, name):
    op = _ops(conn)[name]()
    first = asyncio.ensure_future(_await(op))
    await asyncio.sleep(0.01)           # the first await is in progress
    with pytest.raises(RuntimeError, match=BUSY):
        await op
    res = await asyncio.wait_for(first, 5)
    _check_first(name, res)
    with pytest.raises(RuntimeError, match=REUSE):
        await op
    assert await conn.fetchval("SELECT 2") == 2


@pytest.mark.parametrize("name", OPS)
async def test_gather_two_awaiters(conn, name):
    op = _ops(conn)[name]()
    res = await asyncio.wait_for(
        asyncio.gather(_await(op), _await(op), return_exceptions=True), 5)
    assert isinstance(res[1], RuntimeError) and BUSY in str(res[1])
    _check_first(name, res[0])
    assert await conn.fetchval("SELECT 2") == 2


@pytest.mark.parametrize("name", OPS)
async def test_two_tasks_on_one_op(conn, name):
    op = _ops(conn)[name]()
    t1 = asyncio.get_running_loop().create_task(op)
    await asyncio.sleep(0.01)
    t2 = asyncio.get_running_loop().create_task(op)
    with pytest.raises(RuntimeError, match=BUSY):
        await asyncio.wait_for(t2, 5)
    _check_first(name, await asyncio.wait_for(t1, 5))
    assert await conn.fetchval("SELECT 2") == 2


async def test_gather_same_object(conn):
    # gather() wraps one task per distinct awaitable: both slots get it
    op = conn.fetchval("SELECT 7")
    assert await asyncio.wait_for(asyncio.gather(op, op), 5) == [7, 7]


async def test_await_after_completion(conn):
    op = conn.fetchval("SELECT 1")
    assert await op == 1
    with pytest.raises(RuntimeError, match=REUSE):
        await op
    with pytest.raises(RuntimeError, match=REUSE):
        op.send(None)
    # after an error too
    op = conn.fetchval("SELECT 1/0")
    with pytest.raises(Exception):
        await op
    with pytest.raises(RuntimeError, match=REUSE):
        await op
    assert await conn.fetchval("SELECT 3") == 3


async def test_prepare_awaited_twice(conn):
    op = conn._prepare("SELECT 1 FROM pg_sleep(0.05)")
    res = await asyncio.wait_for(
        asyncio.gather(_await(op), _await(op), return_exceptions=True), 5)
    assert isinstance(res[1], RuntimeError)
    assert not isinstance(res[0], BaseException)
    with pytest.raises(RuntimeError, match=REUSE):
        await op


async def test_copy_op_second_awaiter(conn):
    # a COPY TO op is awaited once per chunk, one awaiter at a time
    op = conn._copy(
        "COPY (SELECT i FROM generate_series(1, 10) i, pg_sleep(0.05)) "
        "TO STDOUT", False, None)
    first = asyncio.ensure_future(_await(op))
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match=BUSY):
        await op
    chunks = [await asyncio.wait_for(first, 5)]
    while True:
        c = await asyncio.wait_for(_await(op), 5)
        if isinstance(c, str):       # the status at the end
            break
        chunks.append(c)
    assert b"".join(chunks) == b"".join(b"%d\n" % i for i in range(1, 11))
    with pytest.raises(RuntimeError, match=REUSE):
        await op
    assert await conn.fetchval("SELECT 2") == 2


async def test_copy_to_table_still_works(conn):
    await conn.execute("CREATE TEMP TABLE aw2 (a int)")
    await conn.copy_to_table("aw2", source=io.BytesIO(b"1\n2\n"))
    buf = io.BytesIO()
    await conn.copy_from_table("aw2", output=buf)
    assert buf.getvalue() == b"1\n2\n"
