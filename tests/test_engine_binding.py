"""The asyncio binding over the core request engine (src/core/pgc_conn.h,
docs/ENGINE.md): what the move made stricter, against a scripted hostile
server, and what it keeps, against the real server.

Every backend message is now checked against the answer its frontend
message expects: an answer out of order is a ProtocolError naming what was
expected, and the connection closes (it cannot know what the server is
doing any more).
"""

import asyncio

import pytest

import pgwire
from pgwire import exceptions as exc

from test_hostile import (KEY, NO_PARAMS, PARSE_OK, PREPARE_INT, READY,
                          FakeServer, data_row, msg, row_desc)

CC = msg(b"C", b"SELECT 1\x00")
BIND_OK = msg(b"2")
CLOSE_OK = msg(b"3")
SUSPENDED = msg(b"s")

# fetch("SELECT 1") sends Parse, Describe(S), Sync, then Bind, Execute,
# Sync (a named, cached statement); each script step answers one Sync.
OUT_OF_ORDER = [
    ("ParseComplete after ParameterDescription",
     [NO_PARAMS + PARSE_OK + row_desc(("a", 23)) + READY],
     r"unexpected ParameterDescription .*expected ParseComplete, for the "
     r"Parse of request"),
    ("a second ParseComplete",
     [PARSE_OK + PARSE_OK + NO_PARAMS + row_desc(("a", 23)) + READY],
     r"unexpected ParseComplete .*expected ParameterDescription"),
    ("BindComplete missing before the rows",
     [PREPARE_INT, data_row(b"1") + CC + READY],
     r"unexpected DataRow .*expected BindComplete, for the Bind of "
     r"request"),
    ("BindComplete after the result",
     [PREPARE_INT, CC + BIND_OK + READY],
     r"unexpected CommandComplete .*expected BindComplete"),
    ("CloseComplete nobody asked for",
     [PREPARE_INT, CLOSE_OK + BIND_OK + data_row(b"1") + CC + READY],
     r"unexpected CloseComplete .*expected BindComplete"),
    ("PortalSuspended in answer to Describe",
     [PARSE_OK + NO_PARAMS + SUSPENDED + READY],
     r"unexpected PortalSuspended .*expected RowDescription or NoData"),
    ("PortalSuspended before BindComplete",
     [PREPARE_INT, SUSPENDED + BIND_OK + READY],
     r"unexpected PortalSuspended .*expected BindComplete"),
    ("BackendKeyData after startup",
     [PARSE_OK + KEY + NO_PARAMS + row_desc(("a", 23)) + READY],
     r"unexpected BackendKeyData .*expected ParameterDescription"),
    ("ReadyForQuery before the statement is described",
     [PARSE_OK + READY],
     r"unexpected ReadyForQuery .*expected ParameterDescription"),
]


@pytest.mark.parametrize("name,script,match", OUT_OF_ORDER,
                         ids=[c[0] for c in OUT_OF_ORDER])
async def test_answer_out_of_order_is_a_protocol_error(name, script, match):
    async with FakeServer(script) as port:
        conn = await pgwire.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5)
        try:
            with pytest.raises(exc.ProtocolError, match=match):
                await asyncio.wait_for(conn.fetch("SELECT 1"), 5)
            assert conn.is_closed()
            # later calls say why the connection is closed
            with pytest.raises(exc.InterfaceError,
                               match="connection is closed") as ei:
                await conn.fetchval("SELECT 1")
            assert isinstance(ei.value.__cause__, exc.ProtocolError)
        finally:
            conn.terminate()


async def test_backend_key_data_between_queries():
    """BackendKeyData is a startup message: after the first query it is
    refused even where nothing else is expected."""
    async with FakeServer([PREPARE_INT,
                           BIND_OK + data_row(b"7") + CC + READY + KEY]
                          ) as port:
        conn = await pgwire.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5)
        try:
            assert await asyncio.wait_for(conn.fetchval("SELECT 1"), 5) == 7
            await asyncio.wait_for(conn._protocol.closed_future(), 5)
            assert conn.is_closed()
            with pytest.raises(exc.InterfaceError) as ei:
                await conn.fetchval("SELECT 1")
            assert "unexpected BackendKeyData" in str(ei.value.__cause__)
            assert "while no request is in flight" in str(ei.value.__cause__)
        finally:
            conn.terminate()


async def test_portal_suspended_ends_a_cursor_step(conn):
    """PortalSuspended is what an Execute with a row limit expects: the
    cursor goes on (real server)."""
    async with conn.transaction():
        cur = await conn.cursor("SELECT g FROM generate_series(1, 5) g")
        assert [r[0] for r in await cur.fetch(2)] == [1, 2]
        assert [r[0] for r in await cur.fetch(2)] == [3, 4]
        assert [r[0] for r in await cur.fetch(2)] == [5]


async def test_busy_error_and_result_order_unchanged(conn):
    """Without pipelining a second query while one runs is refused as
    asyncpg does, and the first one's result is not disturbed."""
    first = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(0.2), 1"))
    await asyncio.sleep(0)
    with pytest.raises(exc.InterfaceError,
                       match="another operation is in progress"):
        await conn.fetchval("SELECT 2")
    await first
    assert await conn.fetchval("SELECT 3") == 3
    assert not conn._protocol.is_busy()


async def test_timeout_then_next_query_waits_for_the_drain(conn):
    """A timed-out query is cancelled and its results drained in the
    background; the next query waits for that instead of raising, and its
    result is its own."""
    with pytest.raises(asyncio.TimeoutError):
        await conn.fetchval("SELECT pg_sleep(5)", timeout=0.2)
    assert await conn.fetchval("SELECT 42") == 42
    assert await conn.fetchval("SELECT 43") == 43


async def test_statement_cache_valid_after_server_error(conn):
    """An error fails its request only: the cached statement of the next
    query is still used."""
    assert await conn.fetchval("SELECT $1::int + 1", 1) == 2
    with pytest.raises(exc.DivisionByZeroError):
        await conn.fetchval("SELECT 1 / $1::int", 0)
    assert await conn.fetchval("SELECT $1::int + 1", 2) == 3
    assert await conn.fetchval("SELECT 1 / $1::int", 1) == 1


async def test_copy_in_refused_through_execute(conn):
    """A CopyInResponse to execute() is answered with CopyFail (the engine
    keeps the server from waiting for data) and the connection stays
    usable."""
    await conn.execute("CREATE TEMP TABLE eb_copy (a int)")
    with pytest.raises(exc.PostgresError, match="not supported"):
        await conn.execute("COPY eb_copy FROM STDIN")
    assert await conn.fetchval("SELECT count(*) FROM eb_copy") == 0
