"""The safety rules of pipelining (issue 14, item 4), against the real
server and through the fault proxy.

- A lost connection (pg_terminate_backend, a cut link) fails every queued
  op with ConnectionDoesNotExistError; a COMMIT in flight raises
  TransactionOutcomeUnknownError.
- A timeout or task cancel of the op at the head of the queue sends a
  CancelRequest; of an op further back abandons only that op (its caller
  gets TimeoutError/CancelledError at once, its result is discarded when
  it arrives, nothing is cancelled on the server) and the others complete.
- Writes never block reads: many large pipelined INSERTs whose answers are
  as large as they are (psycopg's large-insert hang) complete.
- The queue is capped (the engine's max_requests, 4096).  The API leaves
  open whether an op beyond the cap waits for room or is refused; these
  tests accept either, and pin what must hold in both: no hang, no result
  delivered to the wrong op, a refused op gets an InterfaceError naming
  the limit and only ops beyond the first 4096 are refused, the
  connection stays usable.

Every wait is bounded (``bounded``, ``wait_until``); the proxy's latency is
the only sleep, and it is the injected fault.
"""

import asyncio
import time
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire.transaction import TransactionOutcomeUnknownError

from faultproxy import C2S
from waiting import wait_until
from test_pipeline import (BOUND, LatencyProxy, bounded, pipelined,
                           proxied_kw, proxied_pipelined)

pytestmark = pytest.mark.faults

MAX_REQUESTS = 4096    # src/core/pgc_conn.h PGC_CONN_DEFAULT_MAX_REQUESTS


@pytest.fixture
async def pconn(cluster):
    async with pipelined(cluster) as c:
        yield c


@pytest.fixture
async def proxied(cluster):
    """(LatencyProxy, a pipeline=True connection through it)."""
    async with proxied_pipelined(cluster) as pc:
        yield pc


async def _running(admin, pid, text="pg_sleep"):
    """True once backend ``pid`` is executing a query containing
    ``text``."""
    return await admin.fetchval(
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = $1 "
        "AND state = 'active' AND strpos(query, $2) > 0", pid, text)


async def _wait_running(admin, conn, text="pg_sleep"):
    pid = conn.get_server_pid()
    await wait_until(lambda: _running(admin, pid, text), BOUND,
                     f"backend {pid} running {text}")


def _started(*aws):
    return [asyncio.ensure_future(a) for a in aws]


# --------------------------------------------------------------------------
# Lost connection
# --------------------------------------------------------------------------

async def test_terminated_backend_fails_every_queued_op(pconn, conn2):
    """pg_terminate_backend of a connection with four ops in flight: each
    gets ConnectionDoesNotExistError (the same error for all) within the
    bound, and the connection is closed."""
    tasks = _started(pconn.fetchval("SELECT 1 FROM pg_sleep(30)"),
                     pconn.fetchval("SELECT 2"),
                     pconn.fetch("SELECT 3"),
                     pconn.execute("SELECT $1::int", 4))
    await _wait_running(conn2, pconn)
    t0 = time.monotonic()
    assert await conn2.fetchval("SELECT pg_terminate_backend($1)",
                                pconn.get_server_pid())
    r = await bounded(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert time.monotonic() - t0 < 5
    for e in r:
        assert isinstance(e, exc.ConnectionDoesNotExistError), r
    assert len({str(e) for e in r}) == 1, r
    assert pconn.is_closed()
    with pytest.raises(exc.InterfaceError):
        await bounded(pconn.fetchval("SELECT 5"))


async def test_cut_link_fails_every_queued_op(proxied):
    """The link is reset (RST both ways) with five ops written and
    waiting for their answers: each gets ConnectionDoesNotExistError."""
    px, c = proxied
    # prepared beforehand: the Bind of a statement not prepared yet waits
    # for its ParameterDescription, which the server sends only after the
    # running pg_sleep (it answers in order), and the ops started after an
    # unprepared one wait until its execution is queued
    # (docs/pipelining.md, "Order")
    assert await bounded(c.fetchval("SELECT $1::int", 1)) == 1
    mark = len(px.log)
    tasks = _started(c.fetchval("SELECT 1 FROM pg_sleep(30)"),
                     *(c.fetchval("SELECT $1::int", i) for i in range(2, 6)))
    await wait_until(lambda: px.count(C2S, b"S", since=mark) >= 5, BOUND,
                     "five Syncs through the proxy")
    px.reset_all()
    r = await bounded(asyncio.gather(*tasks, return_exceptions=True), 5)
    for e in r:
        assert isinstance(e, exc.ConnectionDoesNotExistError), r
    assert c.is_closed()


async def test_commit_in_flight_is_outcome_unknown(cluster):
    """The link is cut right after COMMIT reaches the server, with ops
    queued behind it: the COMMIT raises TransactionOutcomeUnknownError
    (never success), the queued ops ConnectionDoesNotExistError, and the
    row is committed at most once."""
    table = "pipe_commit_" + uuid.uuid4().hex[:8]
    admin = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await admin.execute(f"CREATE TABLE {table} (id int)")
        async with LatencyProxy((cluster.tcp_host, cluster.port)) as px:
            c = await pgwire.connect(**proxied_kw(cluster, px),
                                     pipeline=True)
            try:
                tr = c.transaction()
                await bounded(tr.start())
                await bounded(c.execute(f"INSERT INTO {table} VALUES ($1)",
                                        1))
                px.add_trigger(C2S, b"Q", match=b"COMMIT", mode="rst",
                               when="after")
                r = await bounded(asyncio.gather(
                    tr.commit(), c.fetchval("SELECT 2"),
                    c.fetchval("SELECT 3"), return_exceptions=True), 5)
            finally:
                await c.close(timeout=5)
        assert isinstance(r[0], TransactionOutcomeUnknownError), r
        for e in r[1:]:
            assert isinstance(e, exc.ConnectionDoesNotExistError), r
        assert await admin.fetchval(f"SELECT count(*) FROM {table}") <= 1
    finally:
        await admin.execute(f"DROP TABLE IF EXISTS {table}")
        await admin.close()


# --------------------------------------------------------------------------
# Timeout and cancel: head vs. further back
# --------------------------------------------------------------------------

async def test_timeout_of_head_op_cancels_on_server(proxied):
    """The head op, alone in flight, times out: one CancelRequest goes out,
    the head gets TimeoutError, the ops started meanwhile wait for the
    drain and get their own results well before the head's 30 s would
    have ended, and the next query gets no spurious QueryCanceledError.
    (With other requests in flight the op is abandoned instead, no
    CancelRequest: docs/pipelining.md, "Timeouts and cancellation", and
    test_timeout_of_later_op_abandons_only_it.)"""
    px, c = proxied
    t0 = time.monotonic()
    head = asyncio.ensure_future(
        c.fetchval("SELECT 1 FROM pg_sleep(30)", timeout=0.3))
    with pytest.raises(TimeoutError):
        await bounded(head)
    r = await bounded(asyncio.gather(c.fetchval("SELECT 2"),
                                     c.fetchval("SELECT 3")))
    assert r == [2, 3]
    assert time.monotonic() - t0 < 5
    await wait_until(lambda: px.cancel_requests() == 1, BOUND,
                     "one CancelRequest")
    assert await bounded(c.fetchval("SELECT 4")) == 4
    assert px.cancel_requests() == 1


async def test_timeout_of_later_op_abandons_only_it(proxied):
    """An op behind a running one times out: its caller gets TimeoutError
    at once (before the head finishes), no CancelRequest is sent, the head
    completes normally, and the op after it gets its own result, not the
    abandoned one's."""
    px, c = proxied
    head = asyncio.ensure_future(c.fetchval("SELECT 1 FROM pg_sleep(1)"))
    late = asyncio.ensure_future(c.fetchval("SELECT 2", timeout=0.2))
    tail = asyncio.ensure_future(c.fetchval("SELECT 3"))
    with pytest.raises(TimeoutError):
        await bounded(late)
    assert not head.done()
    assert await bounded(head) == 1
    assert await bounded(tail) == 3
    assert await bounded(c.fetchval("SELECT 4")) == 4
    assert px.cancel_requests() == 0
    assert not c.is_closed()


async def test_cancel_of_head_task_cancels_on_server(proxied, conn2):
    """task.cancel() of the head op, alone in flight: CancelledError, one
    CancelRequest, the ops started right after the cancel wait for the
    drain and complete, the connection stays usable.  (Started before it,
    they would be in flight behind the head, and the head abandoned
    instead: docs/pipelining.md, "Timeouts and cancellation".)"""
    px, c = proxied
    head = asyncio.ensure_future(c.fetchval("SELECT 1 FROM pg_sleep(30)"))
    await _wait_running(conn2, c)
    t0 = time.monotonic()
    head.cancel()
    second, third = _started(c.fetchval("SELECT 2"), c.fetchval("SELECT 3"))
    with pytest.raises(asyncio.CancelledError):
        await bounded(head)
    assert await bounded(second) == 2
    assert await bounded(third) == 3
    assert time.monotonic() - t0 < 5
    await wait_until(lambda: px.cancel_requests() == 1, BOUND,
                     "one CancelRequest")
    assert await bounded(c.fetchval("SELECT 4")) == 4


async def test_cancel_of_later_task_abandons_only_it(proxied, conn2):
    """task.cancel() of an op behind a running one: CancelledError at once,
    no CancelRequest, the head and the op after it complete with their own
    results."""
    px, c = proxied
    head, second, third = _started(c.fetchval("SELECT 1 FROM pg_sleep(1)"),
                                   c.fetchval("SELECT 2"),
                                   c.fetchval("SELECT 3"))
    await _wait_running(conn2, c)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(second)
    assert not head.done()
    assert await bounded(head) == 1
    assert await bounded(third) == 3
    assert await bounded(c.fetchval("SELECT 4")) == 4
    assert px.cancel_requests() == 0


async def test_abandoned_first_prepare_leaves_cache_valid(pconn):
    """The op that carries the first prepare of a query is abandoned
    (timeout, behind a running op) while a second request for the same
    query is pipelined behind it: the second gets its result, and the
    query works afterwards."""
    q = f"SELECT $1::int * 3 AS x_{uuid.uuid4().hex[:10]}"
    head = asyncio.ensure_future(pconn.fetchval(
        "SELECT 1 FROM pg_sleep(0.5)"))
    first = asyncio.ensure_future(pconn.fetchval(q, 1, timeout=0.1))
    second = asyncio.ensure_future(pconn.fetchval(q, 2))
    with pytest.raises(TimeoutError):
        await bounded(first)
    assert await bounded(head) == 1
    assert await bounded(second) == 6
    assert await bounded(pconn.fetchval(q, 3)) == 9


# --------------------------------------------------------------------------
# Writes never block reads; the queue cap
# --------------------------------------------------------------------------

LARGE = 1 << 20        # bytes per INSERT (and per answer: RETURNING v)
LARGE_OPS = 48


@pytest.mark.parametrize("mode", ["implicit", "batch"])
async def test_large_pipelined_inserts_do_not_deadlock(pconn, mode):
    """psycopg's large-insert hang: 48 INSERTs of 1 MiB each, pipelined,
    each answered with its 1 MiB (RETURNING), so both directions carry far
    more than the socket buffers hold.  A client that writes everything
    before reading deadlocks; this one completes within the bound, with
    every answer in its place."""
    await pconn.execute("CREATE TEMP TABLE pipe_big (id int, v text)")
    q = "INSERT INTO pipe_big VALUES ($1, $2) RETURNING v"
    payloads = [(chr(ord("a") + i % 26) * 7 + str(i)) * (LARGE // 8)
                for i in range(LARGE_OPS)]

    async def run():
        return await asyncio.gather(*(pconn.fetchval(q, i, v)
                                      for i, v in enumerate(payloads)))
    if mode == "batch":
        async with pconn.pipeline():
            r = await bounded(run(), 120)
    else:
        r = await bounded(run(), 120)
    assert len(r) == LARGE_OPS
    for i, v in enumerate(r):
        assert v == payloads[i], f"answer {i} is not its own payload"
    assert await bounded(pconn.fetchval(
        "SELECT count(*) FROM pipe_big")) == LARGE_OPS


async def test_queue_cap(pconn):
    """5000 ops gathered at once (their statement cached, so all are
    pushed in one go), beyond the engine's 4096 requests in flight:
    whether the ops beyond the cap wait for room or are refused, no op
    hangs, no op gets another's result, the first 4096 all succeed, a
    refused op gets an InterfaceError naming the limit, and the connection
    stays usable (twice in a row)."""
    q = "SELECT $1::int"
    assert await bounded(pconn.fetchval(q, -1)) == -1
    n = MAX_REQUESTS + 904
    for burst in range(2):
        r = await bounded(asyncio.gather(
            *(pconn.fetchval(q, i) for i in range(n)),
            return_exceptions=True), 120)
        assert r[:MAX_REQUESTS] == list(range(MAX_REQUESTS)), burst
        for i, v in enumerate(r):
            if v == i:
                continue
            assert isinstance(v, exc.InterfaceError), (burst, i, v)
            msg = str(v)
            assert str(MAX_REQUESTS) in msg or "limit" in msg or \
                "too many" in msg, msg
        assert not pconn.is_in_transaction()
        assert await bounded(pconn.fetchval("SELECT 1")) == 1
