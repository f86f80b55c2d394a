"""The asyncio binding over the core request engine (src/core/pgc_conn.h,
docs/ENGINE.md): what the move made stricter, against a scripted hostile
server, and what it keeps, against the real server.

Every backend message is now checked against the answer its frontend
message expects: an answer out of order is a ProtocolError naming what was
expected, and the connection closes (it cannot know what the server is
doing any more).
"""

import asyncio
import re
import struct

import pytest

import pgwire
from pgwire import exceptions as exc

from waiting import wait_until
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
    await wait_until(conn._protocol.is_busy, what="the first query sent")
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


# -- pipeline=True (issue 14 item 2) ---------------------------------------

@pytest.fixture
async def pconn(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(), pipeline=True)
    try:
        yield c
    finally:
        await c.close()


async def test_pipeline_gather_in_submission_order(pconn):
    res = await asyncio.gather(*[pconn.fetchval("SELECT $1::int * 2", i)
                                 for i in range(30)])
    assert res == [i * 2 for i in range(30)]
    rows = await asyncio.gather(pconn.fetch("SELECT 1 AS a"),
                                pconn.fetchrow("SELECT 2 AS b"),
                                pconn.execute("SELECT $1::int", 3))
    assert rows[0][0]["a"] == 1 and rows[1]["b"] == 2
    assert rows[2] == "SELECT 1"


async def test_pipeline_error_fails_only_its_op(pconn):
    res = await asyncio.gather(pconn.fetchval("SELECT 1"),
                               pconn.fetchval("SELECT 1 / $1::int", 0),
                               pconn.fetchval("SELECT 3"),
                               return_exceptions=True)
    assert res[0] == 1 and res[2] == 3
    assert isinstance(res[1], exc.DivisionByZeroError)
    # the statement cache is still valid after the error
    assert await pconn.fetchval("SELECT 1 / $1::int", 1) == 1
    assert await pconn.fetchval("SELECT 3") == 3


async def test_pipeline_failed_prepare_with_ops_queued_behind(pconn):
    """Regression: the op whose Parse fails holds the queue (it is the one
    preparing), so failing it wakes the ops queued behind; the wake ran
    with the op's error pending and lost it, and the op failed with no
    exception set (a segfault in the task).  Each op gets its own error or
    result, also with an error at Describe and a client-side one."""
    for _ in range(2):  # the second time the good statements are cached
        res = await asyncio.wait_for(asyncio.gather(
            pconn.fetchval("SELECT 1"),
            pconn.fetch("SELECT * FROM engine_no_such_table"),
            pconn.fetchval("SELECT 3"),
            pconn.fetchval("SELECT $1::int", "x"),
            pconn.fetchval("SELEC 5"),
            pconn.fetchval("SELECT 6"), return_exceptions=True), 10)
        assert res[0] == 1 and res[2] == 3 and res[5] == 6, res
        assert isinstance(res[1], exc.UndefinedTableError), res[1]
        assert isinstance(res[3], exc.DataError), res[3]
        assert isinstance(res[4], exc.PostgresSyntaxError), res[4]
    assert await pconn.fetchval("SELECT 7") == 7


async def test_pipeline_prepares_an_uncached_query_once(pconn):
    q = "SELECT $1::int + 100 AS once"
    res = await asyncio.gather(*[pconn.fetchval(q, i) for i in range(5)])
    assert res == [100, 101, 102, 103, 104]
    n = await pconn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
        q)
    assert n == 1


async def test_pipeline_timeout_further_back_abandons_only_it(pconn):
    head = asyncio.ensure_future(
        pconn.fetchval("SELECT 1 FROM pg_sleep(1)"))
    await wait_until(pconn._protocol.is_busy, what="the head sent")
    with pytest.raises(asyncio.TimeoutError):
        await pconn.fetchval("SELECT 2", timeout=0.05)
    # raised at once (the head still runs), and the head was not
    # cancelled (a CancelRequest would have made it QueryCanceledError)
    assert not head.done()
    assert await head == 1
    assert await pconn.fetchval("SELECT 4") == 4


async def test_pipeline_timeout_of_the_last_op_cancels_it(pconn):
    with pytest.raises(asyncio.TimeoutError):
        await pconn.fetchval("SELECT pg_sleep(30)", timeout=0.1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await pconn.fetchval("SELECT 5") == 5
    assert loop.time() - t0 < 10  # cancelled, not waited for


async def test_pipeline_exclusive_ops_wait_their_turn(pconn):
    await pconn.execute("CREATE TEMP TABLE pl_ex (a int)")
    res = await asyncio.gather(
        pconn.fetchval("SELECT 1"),
        pconn.execute("INSERT INTO pl_ex VALUES (1); INSERT INTO pl_ex "
                      "VALUES (2)"),
        pconn.executemany("INSERT INTO pl_ex VALUES ($1)",
                          [(i,) for i in range(3, 8)]),
        pconn.copy_records_to_table("pl_ex", records=[(8,), (9,)]),
        pconn.fetchval("SELECT 10"))
    assert res[0] == 1 and res[1] == "INSERT 0 1"
    assert res[3] == "COPY 2" and res[4] == 10
    assert await pconn.fetchval("SELECT count(*) FROM pl_ex") == 9


async def test_pipeline_lost_connection_fails_every_op(pconn, conn2):
    ops = [asyncio.ensure_future(pconn.fetchval("SELECT pg_sleep(5)"))]
    ops += [asyncio.ensure_future(pconn.fetchval("SELECT $1::int", i))
            for i in range(5)]
    await wait_until(pconn._protocol.is_busy, what="queries sent")
    await conn2.fetchval("SELECT pg_terminate_backend($1)",
                         pconn.get_server_pid())
    res = await asyncio.gather(*ops, return_exceptions=True)
    assert all(isinstance(r, exc.ConnectionDoesNotExistError) for r in res), \
        res


async def test_pipeline_option_checked():
    with pytest.raises(TypeError, match="pipeline must be True or False, "
                                        "got 'yes'"):
        await pgwire.connect(host="127.0.0.1", port=1, pipeline="yes")


async def test_pipeline_pool_option(cluster):
    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=1, pipeline=True) as pool:
        async with pool.acquire() as c:
            res = await asyncio.gather(*[c.fetchval("SELECT $1::text", str(i))
                                         for i in range(4)])
            assert res == ["0", "1", "2", "3"]


# -- conn.pipeline() (issue 14 item 3) -------------------------------------

async def test_batch_is_one_implicit_transaction(conn):
    await conn.execute("CREATE TEMP TABLE bt (a int PRIMARY KEY)")
    async with conn.pipeline() as p:
        res = await asyncio.gather(
            conn.execute("INSERT INTO bt VALUES ($1)", 1),
            conn.execute("INSERT INTO bt VALUES ($1)", 1),
            conn.fetchval("SELECT $1::int", 5), return_exceptions=True)
        assert res[0] == "INSERT 0 1"
        assert isinstance(res[1], exc.UniqueViolationError)
        assert isinstance(res[2], exc.PipelineAbortedError)
        await p.sync()
        # a new group after the sync
        assert await conn.fetchval("SELECT count(*) FROM bt") == 0
    assert await conn.fetchval("SELECT count(*) FROM bt") == 0


async def test_batch_failed_prepare_with_ops_queued_behind(conn):
    """The same inside conn.pipeline() on a connection without
    pipeline=True: the failing Parse raises its own error, the statements
    queued behind it in the group are skipped (PipelineAbortedError): they
    are pushed after the error came back, and the server skips them with
    no answer, so the engine completes them at once (they waited for the
    block's Sync, which never came)."""
    async with conn.pipeline():
        res = await asyncio.wait_for(asyncio.gather(
            conn.fetchval("SELECT 1"),
            conn.fetch("SELECT * FROM engine_no_such_table"),
            conn.fetchval("SELECT 3"), return_exceptions=True), 10)
    assert res[0] == 1, res
    assert isinstance(res[1], exc.UndefinedTableError), res[1]
    assert isinstance(res[2], exc.PipelineAbortedError), res[2]
    assert await conn.fetchval("SELECT 7") == 7
    # awaited one after the other: a statement pushed into the group after
    # its error came back is skipped by the server with no answer at all
    async with conn.pipeline():
        with pytest.raises(exc.UndefinedTableError):
            await asyncio.wait_for(
                conn.fetch("SELECT * FROM engine_no_such_table"), 10)
        for q in ("SELECT 8", "SELECT 7"):  # uncached, then cached
            with pytest.raises(exc.PipelineAbortedError):
                await asyncio.wait_for(conn.fetchval(q), 10)
    assert await conn.fetchval("SELECT 8") == 8


async def test_batch_sync_each(conn):
    await conn.execute("CREATE TEMP TABLE bs (a int PRIMARY KEY)")
    async with conn.pipeline(sync_each=True):
        res = await asyncio.gather(
            conn.execute("INSERT INTO bs VALUES ($1)", 1),
            conn.execute("INSERT INTO bs VALUES ($1)", 1),
            conn.execute("INSERT INTO bs VALUES ($1)", 2),
            return_exceptions=True)
    assert res[0] == res[2] == "INSERT 0 1"
    assert isinstance(res[1], exc.UniqueViolationError)
    assert await conn.fetchval("SELECT count(*) FROM bs") == 2


async def test_batch_many_statements_commit_at_the_end(conn, conn2):
    await conn.execute("CREATE TABLE bm_t (a int)")
    try:
        async with conn.pipeline():
            for i in range(50):
                await conn.execute("INSERT INTO bm_t VALUES ($1)", i)
            # not committed before the block's Sync
            assert await conn2.fetchval("SELECT count(*) FROM bm_t") == 0
        assert await conn2.fetchval("SELECT count(*) FROM bm_t") == 50
    finally:
        await conn.execute("DROP TABLE bm_t")


@pytest.mark.parametrize("call,what", [
    (lambda c: c.execute("SELECT 1"), "execute() without arguments"),
    (lambda c: c.copy_from_query("SELECT 1", output=__import__("io")
                                 .BytesIO()), "COPY"),
    (lambda c: c.copy_records_to_table("br", records=[]), "COPY"),
])
async def test_batch_refuses(conn, call, what):
    await conn.execute("CREATE TEMP TABLE br (a int)")
    async with conn.pipeline():
        with pytest.raises(exc.InterfaceError,
                           match=re.escape(what) + ".*not allowed inside "
                                 r"conn\.pipeline\(\)"):
            await call(conn)
        assert await conn.fetchval("SELECT 1") == 1
    assert await conn.fetchval("SELECT 2") == 2


async def test_batch_refuses_cursor(conn):
    async with conn.transaction():
        async with conn.pipeline():
            with pytest.raises(exc.InterfaceError,
                               match=r"a cursor .*not allowed inside "
                                     r"conn\.pipeline\(\)"):
                await conn.cursor("SELECT 1")


async def test_batch_block_error_still_syncs(conn):
    with pytest.raises(ZeroDivisionError):
        async with conn.pipeline():
            assert await conn.fetchval("SELECT $1::int", 1) == 1
            1 / 0
    assert await conn.fetchval("SELECT 3") == 3
    assert not conn.is_in_transaction()


async def test_batch_on_pipelined_connection(pconn):
    async with pconn.pipeline() as p:
        res = await asyncio.gather(*[pconn.fetchval("SELECT $1::int", i)
                                     for i in range(10)])
        await p.sync()
    assert res == list(range(10))


def test_pipeline_aborted_error_exported():
    assert issubclass(pgwire.PipelineAbortedError, exc.InterfaceError)
    assert exc.PipelineAbortedError is pgwire.PipelineAbortedError


async def test_batch_executemany_joins_the_group(conn):
    await conn.execute("CREATE TEMP TABLE bem (a int PRIMARY KEY)")
    async with conn.pipeline():
        await conn.executemany("INSERT INTO bem VALUES ($1)",
                               [(i,) for i in range(10)])
        with pytest.raises(exc.UniqueViolationError):
            await conn.execute("INSERT INTO bem VALUES ($1)", 1)
    # one group: the executemany was rolled back with it
    assert await conn.fetchval("SELECT count(*) FROM bem") == 0


async def test_pipeline_queued_op_times_out_in_the_queue(pconn):
    """A COPY waits for an empty queue; its timeout bounds the wait and
    removes it from the queue, and the query in flight is untouched."""
    head = asyncio.ensure_future(
        pconn.fetchval("SELECT 1 FROM pg_sleep(1)"))
    await wait_until(pconn._protocol.is_busy, what="the head sent")
    with pytest.raises(asyncio.TimeoutError):
        await pconn.execute("SELECT 2; SELECT 3", timeout=0.05)
    assert not head.done()
    assert await head == 1
    assert await pconn.execute("SELECT 2; SELECT 3") == "SELECT 1"


async def test_pipeline_type_introspection_is_not_queued_behind(pconn):
    """An uncached query on an unknown type introspects it with catalog
    queries of its own while later queries wait behind its prepare: the
    catalog queries go ahead of them (no deadlock), the order holds."""
    await pconn.execute("CREATE TYPE pl_mood AS ENUM ('a', 'b'); "
                        "CREATE TYPE pl_pt AS (x int, y pl_mood)")
    try:
        res = await asyncio.wait_for(asyncio.gather(
            pconn.fetchval("SELECT 'a'::pl_mood"),
            pconn.fetchval("SELECT ROW(1, 'b')::pl_pt"),
            pconn.fetchval("SELECT ARRAY['a', 'b']::pl_mood[]"),
            pconn.fetchval("SELECT 1")), 20)
        assert res[0] == "a" and tuple(res[1]) == (1, "b")
        assert res[2] == ["a", "b"] and res[3] == 1
    finally:
        await pconn.execute("DROP TYPE pl_pt; DROP TYPE pl_mood")


async def test_pipeline_large_writes_follow_flow_control(pconn):
    """psycopg's large-insert hang is the regression case: many large
    requests pipelined at once go out under the transport's flow control
    while the answers are read; nothing blocks."""
    big = "x" * 200_000
    res = await asyncio.wait_for(asyncio.gather(
        *[pconn.fetchval("SELECT length($1::text)", big)
          for _ in range(100)]), 60)
    assert res == [200_000] * 100


async def test_batch_executemany_behind_other_statements(conn):
    """executemany waits for the statements in flight before it (its
    streamed chunks may not interleave with them), and is woken when they
    are answered."""
    await conn.execute("CREATE TEMP TABLE bem2 (a int)")
    async with conn.pipeline():
        res = await asyncio.wait_for(asyncio.gather(
            conn.fetchval("SELECT 1 FROM pg_sleep(0.1)"),
            conn.executemany("INSERT INTO bem2 VALUES ($1)",
                             [(i,) for i in range(5)]),
            conn.fetchval("SELECT 3")), 20)
    assert res == [1, None, 3]
    assert await conn.fetchval("SELECT count(*) FROM bem2") == 5


async def test_copy_in_response_with_later_requests_is_a_protocol_error():
    """A CopyInResponse while later requests are in flight would make the
    server read their messages as COPY data: a protocol error, and every
    request in flight fails with it."""
    copy_in = msg(b"G", struct.pack("!bh", 0, 0))
    # prepare; then nothing until both executions are in (the second
    # Sync), answered with a CopyInResponse for the first
    script = [PREPARE_INT, b"", BIND_OK + copy_in]
    async with FakeServer(script) as port:
        conn = await pgwire.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5,
                                    pipeline=True)
        try:
            res = await asyncio.wait_for(asyncio.gather(
                conn.fetchval("SELECT 1"), conn.fetchval("SELECT 1"),
                return_exceptions=True), 5)
            assert isinstance(res[0], exc.ProtocolError), res
            assert "CopyInResponse for request" in str(res[0])
            assert "1 later request(s) in flight" in str(res[0])
            assert isinstance(res[1], (exc.ProtocolError,
                                       exc.ConnectionDoesNotExistError)), res
            assert conn.is_closed()
        finally:
            conn.terminate()
