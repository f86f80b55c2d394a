"""Pipelining against the real server (issue 14, items 2 and 3).

Written ahead of the implementation, against this API:

- ``pgwire.connect(..., pipeline=True)`` (and ``create_pool(...,
  pipeline=True)``): query methods running concurrently on one connection
  are each written at once with their own Sync.  Each has the result or
  error it would have alone, they resolve in submission order, and the lot
  costs one round trip.  COPY, ``execute()`` without arguments (simple
  Query), cursors and executemany wait their turn.  Without it, asyncpg's
  "another operation is in progress" stays.
- ``async with conn.pipeline(sync_each=False) as p``: query methods called
  on ``conn`` inside the block (by any task) join one batch, with no Sync
  between them (awaiting one sends a Flush); ``await p.sync()`` ends a
  group; the block's end syncs.  A group is one implicit transaction: the
  failing statement raises the server's error, every later one of the group
  raises ``PipelineAbortedError`` (an InterfaceError), and the group's
  earlier writes are rolled back.  ``sync_each=True`` puts a Sync after
  each statement.  COPY, cursors and ``execute()`` without arguments are
  refused inside a batch with an InterfaceError that mentions
  ``pipeline()``.

Assumptions where the API above leaves a choice (the report to the
implementer lists them): an error already raised to an op's awaiter is not
raised again by the block's exit; a refused method inside a batch sends
nothing, so the batch goes on.

"One round trip" is shown without timing the machine: ``LatencyProxy``
(below) delays each server->client message until ``LATENCY`` after the
proxy read it, and logs what it forwards, so the test checks that all the
Syncs went out before the first answer came back and that the lot took
well under one latency per query.

Pipelining gives query methods no new way to wait: every await here is
bounded (``asyncio.wait_for``), and conditions are polled with
``waiting.wait_until``.
"""

import asyncio
import contextlib
import struct
import time
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc

import faultproxy
from faultproxy import C2S, S2C, FaultProxy

BOUND = 10.0          # seconds: no single step of these tests takes longer
LATENCY = 0.2         # seconds of server->client latency in the proxy tests
_CANCEL_CODE = struct.pack("!i", 80877102)


async def bounded(aw, timeout=BOUND):
    return await asyncio.wait_for(aw, timeout)


def aborted_error():
    """pgwire.exceptions.PipelineAbortedError, looked up when used so the
    module collects before the class exists."""
    cls = getattr(exc, "PipelineAbortedError", None)
    assert cls is not None, "pgwire.exceptions.PipelineAbortedError missing"
    return cls


# --------------------------------------------------------------------------
# A proxy with latency, that logs what it forwards
# --------------------------------------------------------------------------

class _Stamped:
    """A stream reader that keeps reading in the background and remembers
    when each chunk arrived, so a delayed forward of one chunk does not
    delay the time stamps of the next (a latency, not a queue of delays)."""

    def __init__(self, reader, on_chunk):
        self.reader, self.on_chunk = reader, on_chunk
        self.chunks = asyncio.Queue()
        self.task = asyncio.ensure_future(self._fill())

    async def _fill(self):
        try:
            while True:
                data = await self.reader.read(65536)
                self.chunks.put_nowait((time.monotonic(), data, None))
                if not data:
                    return
        except Exception as e:          # the pump raises it in its read
            self.chunks.put_nowait((time.monotonic(), b"", e))

    async def read(self, n):
        at, data, error = await self.chunks.get()
        if error is not None:
            raise error
        self.on_chunk(at)
        return data

    def close(self):
        self.task.cancel()


class _LatencyLink(faultproxy._Link):
    """A proxied connection whose messages in a direction are forwarded no
    earlier than ``proxy.latency[direction]`` seconds after they reached the
    proxy (a one-way link latency: messages that arrive together go out
    together), and which appends ``(direction, type, body)`` of every
    forwarded message to ``proxy.log`` (type b"" is the untyped startup
    packet: StartupMessage or CancelRequest)."""

    def __init__(self, proxy, creader, cwriter):
        super().__init__(proxy, creader, cwriter)
        self.read_at = {C2S: 0.0, S2C: 0.0}
        self.current = (b"", b"")

    async def _pump(self, d, reader, writer, first):
        stamped = _Stamped(reader,
                           lambda at: self.read_at.__setitem__(d, at))
        try:
            await super()._pump(d, stamped, writer, first)
        finally:
            stamped.close()

    async def _handle(self, d, msg_type, body, frame, writer):
        self.current = (msg_type, body)   # b"" = the untyped startup packet
        return await super()._handle(d, msg_type, body, frame, writer)

    async def _forward(self, d, frame, writer):
        latency = self.proxy.latency.get(d, 0.0)
        if latency:
            late = self.read_at[d] + latency - time.monotonic()
            if late > 0:
                await asyncio.sleep(late)   # the injected latency
        self.proxy.log.append((d,) + self.current)
        return await super()._forward(d, frame, writer)


class LatencyProxy(FaultProxy):
    """``FaultProxy`` (all its modes and triggers) plus ``latency``
    ({direction: seconds}, read at each message, so it can be set on a
    live link) and ``log`` (every forwarded message)."""

    def __init__(self, upstream, latency=None):
        super().__init__(upstream)
        self.latency = dict(latency or {})
        self.log = []

    def _accept(self, reader, writer):
        self.accepted += 1
        link = _LatencyLink(self, reader, writer)
        self._links.add(link)
        task = asyncio.ensure_future(link.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_requests(self):
        """CancelRequests that reached the proxy (each on a link of its
        own)."""
        return sum(1 for d, t, body in self.log
                   if d == C2S and t == b"" and body[:4] == _CANCEL_CODE)

    def count(self, direction, msg_type, contains=None, since=0):
        return sum(1 for d, t, body in self.log[since:]
                   if d == direction and t == msg_type and
                   (contains is None or contains in body))


def proxied_kw(cluster, proxy, **extra):
    return cluster.connect_kwargs(host="127.0.0.1", port=proxy.port,
                                  ssl="disable", **extra)


@contextlib.asynccontextmanager
async def pipelined(cluster, **kw):
    """A pgwire connection with pipeline=True (``kw``: connect_kwargs
    overrides), closed at the end."""
    c = await pgwire.connect(**cluster.connect_kwargs(**kw), pipeline=True)
    try:
        yield c
    finally:
        await c.close(timeout=5)


@contextlib.asynccontextmanager
async def proxied_pipelined(cluster):
    """(LatencyProxy, a pipeline=True connection through it)."""
    async with LatencyProxy((cluster.tcp_host, cluster.port)) as px:
        async with pipelined(cluster, host="127.0.0.1", port=px.port,
                             ssl="disable") as c:
            yield px, c


@pytest.fixture
async def pconn(cluster):
    async with pipelined(cluster) as c:
        yield c


@pytest.fixture
async def proxied(cluster):
    async with proxied_pipelined(cluster) as pc:
        yield pc


async def _temp_table(conn, name="pipe_t"):
    await conn.execute(f"CREATE TEMP TABLE {name} "
                       "(id int PRIMARY KEY, v text)")
    return f"INSERT INTO {name} (id, v) VALUES ($1, $2)"


async def _ids(conn, name="pipe_t"):
    return [r[0] for r in await conn.fetch(
        f"SELECT id FROM {name} ORDER BY id")]


# --------------------------------------------------------------------------
# Default off
# --------------------------------------------------------------------------

async def test_default_off_concurrent_op_raises_another_operation(conn):
    """Without pipeline=True a second concurrent op on one connection gets
    asyncpg's InterfaceError; the first completes; the connection stays
    usable."""
    r = await bounded(asyncio.gather(
        conn.fetchval("SELECT 1 FROM pg_sleep(0.05)"),
        conn.fetchval("SELECT 2"), return_exceptions=True))
    assert r[0] == 1
    assert isinstance(r[1], exc.InterfaceError), r[1]
    assert "another operation is in progress" in str(r[1])
    assert await bounded(conn.fetchval("SELECT 3")) == 3


async def test_pipeline_false_keeps_another_operation(cluster):
    """pipeline=False, given explicitly, is the default behaviour."""
    c = await pgwire.connect(**cluster.connect_kwargs(), pipeline=False)
    try:
        r = await bounded(asyncio.gather(
            c.fetchval("SELECT 1 FROM pg_sleep(0.05)"),
            c.fetchval("SELECT 2"), return_exceptions=True))
        assert r[0] == 1
        assert isinstance(r[1], exc.InterfaceError), r[1]
        assert "another operation is in progress" in str(r[1])
    finally:
        await c.close(timeout=5)


async def test_pipeline_option_must_be_bool(cluster):
    """A non-bool pipeline= is refused, naming the argument and value."""
    with pytest.raises((TypeError, ValueError), match="pipeline") as ei:
        await bounded(pgwire.connect(**cluster.connect_kwargs(),
                                     pipeline="yes"))
    assert "'yes'" in str(ei.value) or "str" in str(ei.value), ei.value


# --------------------------------------------------------------------------
# Implicit pipelining: results, order, errors
# --------------------------------------------------------------------------

async def test_gather_results_each_as_alone(pconn):
    """Every query method, gathered on one connection, returns what it
    returns alone."""
    r = await bounded(asyncio.gather(
        pconn.fetchval("SELECT 1 FROM pg_sleep(0.05)"),
        pconn.fetch("SELECT i FROM generate_series(1, $1) i", 3),
        pconn.fetchrow("SELECT $1::text AS a, $2::int AS b", "x", 7),
        pconn.fetchval("SELECT $1::int8 * 2", 21),
        pconn.execute("SELECT $1::int", 5),
        pconn.fetchmany("SELECT $1::int + 1", [(1,), (2,)]),
        pconn.fetchval("SELECT 'ünï'::text")))
    assert r[0] == 1
    assert [row[0] for row in r[1]] == [1, 2, 3]
    assert (r[2]["a"], r[2]["b"]) == ("x", 7)
    assert r[3] == 42
    assert r[4] == "SELECT 1"
    assert [row[0] for row in r[5]] == [2, 3]
    assert r[6] == "ünï"
    assert not pconn.is_in_transaction()


async def test_submission_order_is_execution_and_resolution_order(pconn):
    """The server runs the ops in submission order (a sequence numbers
    them) and they resolve in that order."""
    await pconn.execute("CREATE TEMP SEQUENCE pipe_seq")
    done = []
    nextval = "SELECT nextval('pipe_seq')"
    tasks = [asyncio.ensure_future(pconn.fetchval(nextval))
             for _ in range(10)]
    for i, t in enumerate(tasks):
        t.add_done_callback(lambda _t, i=i: done.append(i))
    r = await bounded(asyncio.gather(*tasks))
    assert r == list(range(1, 11))
    assert done == list(range(10))


async def test_errors_are_isolated_per_op(pconn):
    """A server error, a client-side encode error and an unknown table fail
    only their own op; the others get their results."""
    r = await bounded(asyncio.gather(
        pconn.fetchval("SELECT 1"),
        pconn.fetchval("SELECT 1/0"),
        pconn.fetchval("SELECT 3"),
        pconn.fetch("SELECT * FROM pipe_no_such_table"),
        pconn.fetchval("SELECT $1::int", "not an int"),
        pconn.fetchval("SELECT 6"), return_exceptions=True))
    assert r[0] == 1
    assert isinstance(r[1], exc.DivisionByZeroError), r[1]
    assert r[2] == 3
    assert isinstance(r[3], exc.UndefinedTableError), r[3]
    assert isinstance(r[4], exc.DataError), r[4]
    assert r[5] == 6
    assert not pconn.is_in_transaction()
    assert await bounded(pconn.fetchval("SELECT 7")) == 7


async def test_failed_write_does_not_roll_back_the_others(pconn):
    """Each op has its own Sync, so its own implicit transaction: a unique
    violation in the middle leaves the writes before and after it
    committed."""
    ins = await _temp_table(pconn)
    r = await bounded(asyncio.gather(
        pconn.execute(ins, 1, "a"),
        pconn.execute(ins, 1, "dup"),
        pconn.execute(ins, 3, "c"), return_exceptions=True))
    assert r[0] == "INSERT 0 1" and r[2] == "INSERT 0 1", r
    assert isinstance(r[1], exc.UniqueViolationError), r[1]
    assert await bounded(_ids(pconn)) == [1, 3]


async def test_each_op_its_own_transaction(pconn):
    """Implicit pipelining: the gathered ops run in separate transactions
    (contrast with the explicit batch below)."""
    r = await bounded(asyncio.gather(*(
        pconn.fetchval("SELECT pg_current_xact_id()::text")
        for _ in range(3))))
    assert len(set(r)) == 3, r


async def test_one_round_trip_for_ten_fetches(proxied):
    """Ten gathered fetchval on one connection: every Sync reaches the
    server before the first answer comes back, and the lot takes well
    under ten latencies (sequential awaits take at least ten)."""
    px, c = proxied
    queries = [f"SELECT {i} + $1::int" for i in range(10)]
    for q in queries:                     # cached: one Bind/Execute/Sync each
        await bounded(c.fetchval(q, 0))
    px.latency[S2C] = LATENCY

    t0 = time.monotonic()
    for i, q in enumerate(queries):       # control: ten round trips
        assert await bounded(c.fetchval(q, 1)) == i + 1
    sequential = time.monotonic() - t0
    assert sequential >= 10 * LATENCY, sequential

    mark = len(px.log)
    t0 = time.monotonic()
    r = await bounded(asyncio.gather(*(c.fetchval(q, 2) for q in queries)))
    elapsed = time.monotonic() - t0
    assert r == [i + 2 for i in range(10)]
    assert elapsed < 4 * LATENCY, (elapsed, sequential)
    after = px.log[mark:]
    first_answer = next(k for k, (d, _, _) in enumerate(after) if d == S2C)
    syncs = [k for k, (d, t, _) in enumerate(after) if d == C2S and t == b"S"]
    assert len(syncs) == 10, after
    assert max(syncs) < first_answer, after


async def test_two_requests_for_one_uncached_query_prepare_once(proxied):
    """Two (and three) pipelined requests for a query not yet in the
    statement cache send one Parse; the server holds one prepared
    statement for it; a later call reuses it (no Parse)."""
    px, c = proxied
    marker = "pipe_" + uuid.uuid4().hex[:12]
    q = f"SELECT $1::int * 10 AS {marker}"
    r = await bounded(asyncio.gather(c.fetchval(q, 1), c.fetchval(q, 2),
                                     c.fetchval(q, 3)))
    assert r == [10, 20, 30]
    assert px.count(C2S, b"P", marker.encode()) == 1, px.log
    n = await bounded(c.fetchval(
        "SELECT count(*) FROM pg_prepared_statements "
        "WHERE strpos(statement, $1) > 0", marker))
    assert n == 1
    assert await bounded(c.fetchval(q, 4)) == 40
    assert px.count(C2S, b"P", marker.encode()) == 1, px.log


async def test_statement_cache_valid_after_errors_in_pipeline(proxied):
    """Errors around first-time prepares (a failing op between them, a
    failing op of the same statement) leave the cache right: every
    statement works afterwards, with nothing re-prepared that the server
    still holds."""
    px, c = proxied
    m = uuid.uuid4().hex[:10]
    qa = f"SELECT 100 / $1::int AS a_{m}"
    qb = f"SELECT $1::int + 1 AS b_{m}"
    r = await bounded(asyncio.gather(
        c.fetchval(qa, 0), c.fetchval(qb, 1), c.fetchval("SELECT 1/0"),
        c.fetchval(qa, 4), return_exceptions=True))
    assert isinstance(r[0], exc.DivisionByZeroError), r[0]
    assert r[1] == 2
    assert isinstance(r[2], exc.DivisionByZeroError), r[2]
    assert r[3] == 25
    parses = px.count(C2S, b"P", m.encode())
    assert await bounded(c.fetchval(qa, 5)) == 20
    assert await bounded(c.fetchval(qb, 2)) == 3
    assert px.count(C2S, b"P", m.encode()) == parses, px.log


# --------------------------------------------------------------------------
# Implicit pipelining: what waits its turn
# --------------------------------------------------------------------------

async def test_simple_execute_copy_executemany_wait_their_turn(pconn):
    """execute() without arguments, COPY and executemany gathered with
    pipelined ops: no "another operation" error, and every op sees the
    effects of all ops submitted before it."""
    ins = await _temp_table(pconn)
    count = "SELECT count(*) FROM pipe_t"
    r = await bounded(asyncio.gather(
        pconn.execute(ins, 1, "a"),
        pconn.execute("INSERT INTO pipe_t VALUES (2, 'b'); "
                      "INSERT INTO pipe_t VALUES (3, 'c')"),
        pconn.fetchval(count),
        pconn.copy_records_to_table("pipe_t", records=[(4, "d"), (5, "e")]),
        pconn.fetchval(count),
        pconn.executemany(ins, [(6, "f"), (7, "g")]),
        pconn.fetchval(count),
        pconn.copy_from_query("SELECT id FROM pipe_t ORDER BY id",
                              output=_Sink()),
        pconn.fetchval(count)))
    assert r[0] == "INSERT 0 1"
    assert r[2] == 3
    assert r[3] == "COPY 2"
    assert r[4] == 5
    assert r[6] == 7
    assert r[7] == "COPY 7"
    assert r[8] == 7
    assert await bounded(_ids(pconn)) == list(range(1, 8))


async def _chunks(chunks):
    for c in chunks:
        yield c


class _Sink:
    """An async COPY output target that keeps what it was given."""

    def __init__(self):
        self.data = bytearray()

    async def __call__(self, chunk):
        self.data += chunk


async def test_cursor_fetches_wait_their_turn(pconn):
    """A cursor's fetches, gathered with pipelined ops inside its
    transaction, return the cursor's rows in order."""
    async with pconn.transaction():
        cur = await bounded(pconn.cursor(
            "SELECT i FROM generate_series(1, 5) i"))
        r = await bounded(asyncio.gather(
            cur.fetch(2), pconn.fetchval("SELECT 7"), cur.fetch(3),
            pconn.fetchval("SELECT 8")))
    assert [x[0] for x in r[0]] == [1, 2]
    assert r[1] == 7
    assert [x[0] for x in r[2]] == [3, 4, 5]
    assert r[3] == 8


async def test_transaction_hazard_tasks_share_the_transaction(pconn):
    """The hazard pipeline=True brings (why it is off by default): a task
    whose query is pipelined while another task's transaction is open on
    the same connection runs inside that transaction, and is rolled back
    with it.  (Without pipeline=True the second query, sent while the
    first is in flight, would raise "another operation is in progress".)"""
    ins = await _temp_table(pconn)
    xact = "SELECT pg_current_xact_id()::text"
    opened, written = asyncio.Event(), asyncio.Event()

    class Rollback(Exception):
        pass

    async def owner():
        with pytest.raises(Rollback):
            async with pconn.transaction():
                await pconn.execute(ins, 1, "owner")
                opened.set()
                mine = await pconn.fetchval(xact + " FROM pg_sleep(0.1)")
                await bounded(written.wait())
                raise Rollback
        return mine

    async def bystander():
        await bounded(opened.wait())
        assert pconn.is_in_transaction()
        theirs = await pconn.fetchval(
            "WITH w AS (INSERT INTO pipe_t VALUES (2, 'bystander')) " + xact)
        written.set()
        return theirs

    mine, theirs = await bounded(asyncio.gather(owner(), bystander()))
    assert mine == theirs             # one transaction for both tasks...
    assert await bounded(_ids(pconn)) == []   # ...rolled back for both
    assert not pconn.is_in_transaction()


# --------------------------------------------------------------------------
# Pool
# --------------------------------------------------------------------------

async def test_pool_pipeline_option(cluster):
    """create_pool(pipeline=True): acquired connections pipeline, and the
    pool's shortcuts work under concurrency with one connection."""
    pool = await bounded(pgwire.create_pool(
        **cluster.connect_kwargs(), min_size=1, max_size=1, pipeline=True))
    try:
        async with pool.acquire(timeout=BOUND) as c:
            r = await bounded(asyncio.gather(*(
                c.fetchval("SELECT $1::int", i) for i in range(10))))
            assert r == list(range(10))
        r = await bounded(asyncio.gather(*(
            pool.fetchval("SELECT $1::int * 2", i) for i in range(20))))
        assert r == [2 * i for i in range(20)]
    finally:
        await bounded(pool.close())


async def test_pool_default_not_pipelined(cluster):
    """Without the option, a pool's connection refuses concurrent ops."""
    pool = await bounded(pgwire.create_pool(
        **cluster.connect_kwargs(), min_size=1, max_size=1))
    try:
        async with pool.acquire(timeout=BOUND) as c:
            r = await bounded(asyncio.gather(
                c.fetchval("SELECT 1 FROM pg_sleep(0.05)"),
                c.fetchval("SELECT 2"), return_exceptions=True))
            assert r[0] == 1
            assert isinstance(r[1], exc.InterfaceError), r[1]
    finally:
        await bounded(pool.close())


# --------------------------------------------------------------------------
# Explicit batches
# --------------------------------------------------------------------------

def test_pipeline_aborted_error_class():
    cls = aborted_error()
    assert issubclass(cls, exc.InterfaceError)
    assert pgwire.PipelineAbortedError is cls


async def test_batch_is_one_transaction_and_commits(pconn):
    """Statements of one batch group share a transaction, and the block's
    end commits it."""
    ins = await _temp_table(pconn)
    async with pconn.pipeline() as p:
        assert p is not None
        r = await bounded(asyncio.gather(
            pconn.execute(ins, 1, "a"),
            pconn.fetchval("SELECT pg_current_xact_id()::text"),
            pconn.execute(ins, 2, "b"),
            pconn.fetchval("SELECT pg_current_xact_id()::text")))
    assert r[0] == r[2] == "INSERT 0 1"
    assert r[1] == r[3]
    assert not pconn.is_in_transaction()
    assert await bounded(_ids(pconn)) == [1, 2]


async def test_batch_sequential_awaits_flush(pconn):
    """Awaiting one statement at a time inside the block gets each result
    (a Flush, no Sync): still one transaction."""
    ins = await _temp_table(pconn)
    async with pconn.pipeline():
        assert await bounded(pconn.execute(ins, 1, "a")) == "INSERT 0 1"
        x1 = await bounded(pconn.fetchval(
            "SELECT pg_current_xact_id()::text"))
        assert await bounded(pconn.fetchval(
            "SELECT count(*) FROM pipe_t")) == 1
        x2 = await bounded(pconn.fetchval(
            "SELECT pg_current_xact_id()::text"))
    assert x1 == x2
    assert await bounded(_ids(pconn)) == [1]


async def test_batch_error_aborts_rest_and_rolls_back_group(pconn):
    """The failing statement raises the server's error, every later one of
    its group PipelineAbortedError, and the group's earlier writes are
    rolled back; the connection is idle and usable after the block."""
    aborted = aborted_error()
    ins = await _temp_table(pconn)
    async with pconn.pipeline():
        r = await bounded(asyncio.gather(
            pconn.execute(ins, 1, "a"),
            pconn.execute(ins, 2, "b"),
            pconn.fetchval("SELECT 1/0"),
            pconn.execute(ins, 3, "c"),
            pconn.fetchval("SELECT 4"), return_exceptions=True))
    assert r[0] == r[1] == "INSERT 0 1"
    assert isinstance(r[2], exc.DivisionByZeroError), r[2]
    assert isinstance(r[3], aborted) and isinstance(r[4], aborted), r
    assert not isinstance(r[3], exc.PostgresError)
    assert await bounded(_ids(pconn)) == []
    assert not pconn.is_in_transaction()
    assert await bounded(pconn.fetchval("SELECT 5")) == 5


async def test_batch_error_propagating_out_of_block(pconn):
    """A server error raised out of the block (sequential awaits): the
    block's end still syncs, the group is rolled back, the connection is
    usable."""
    ins = await _temp_table(pconn)
    with pytest.raises(exc.UniqueViolationError):
        async with pconn.pipeline():
            await bounded(pconn.execute(ins, 1, "a"))
            await bounded(pconn.execute(ins, 1, "dup"))
    assert not pconn.is_in_transaction()
    assert await bounded(_ids(pconn)) == []
    assert await bounded(pconn.fetchval("SELECT 1")) == 1


async def test_batch_sequential_after_error_raises_aborted(pconn):
    """After the failing statement, a statement awaited later in the same
    group raises PipelineAbortedError; after p.sync() a new group runs."""
    aborted = aborted_error()
    ins = await _temp_table(pconn)
    async with pconn.pipeline() as p:
        with pytest.raises(exc.DivisionByZeroError):
            await bounded(pconn.fetchval("SELECT 1/0"))
        with pytest.raises(aborted):
            await bounded(pconn.execute(ins, 1, "a"))
        await bounded(p.sync())
        assert await bounded(pconn.execute(ins, 2, "b")) == "INSERT 0 1"
    assert await bounded(_ids(pconn)) == [2]


async def test_batch_sync_starts_new_group(pconn):
    """p.sync() commits the group so far; a failure after it rolls back
    only its own group."""
    aborted = aborted_error()
    ins = await _temp_table(pconn)
    async with pconn.pipeline() as p:
        g1 = await bounded(asyncio.gather(
            pconn.execute(ins, 1, "a"), pconn.execute(ins, 2, "b"),
            pconn.fetchval("SELECT pg_current_xact_id()::text")))
        await bounded(p.sync())
        assert not pconn.is_in_transaction()
        g2 = await bounded(asyncio.gather(
            pconn.execute(ins, 3, "c"), pconn.fetchval("SELECT 1/0"),
            pconn.execute(ins, 4, "d"), return_exceptions=True))
        await bounded(p.sync())
        g3 = await bounded(asyncio.gather(
            pconn.execute(ins, 5, "e"),
            pconn.fetchval("SELECT pg_current_xact_id()::text")))
    assert g1[:2] == ["INSERT 0 1"] * 2
    assert g2[0] == "INSERT 0 1"
    assert isinstance(g2[1], exc.DivisionByZeroError), g2[1]
    assert isinstance(g2[2], aborted), g2[2]
    assert g3[0] == "INSERT 0 1"
    assert g1[2] != g3[1]
    assert await bounded(_ids(pconn)) == [1, 2, 5]


async def test_batch_sync_each(pconn):
    """sync_each=True: a Sync after each statement, so an error fails only
    its statement and each statement is its own transaction."""
    ins = await _temp_table(pconn)
    async with pconn.pipeline(sync_each=True):
        r = await bounded(asyncio.gather(
            pconn.execute(ins, 1, "a"),
            pconn.fetchval("SELECT 1/0"),
            pconn.execute(ins, 3, "c"),
            pconn.fetchval("SELECT pg_current_xact_id()::text"),
            pconn.fetchval("SELECT pg_current_xact_id()::text"),
            return_exceptions=True))
    assert r[0] == r[2] == "INSERT 0 1"
    assert isinstance(r[1], exc.DivisionByZeroError), r[1]
    assert r[3] != r[4]
    assert await bounded(_ids(pconn)) == [1, 3]


async def test_batch_on_default_connection(conn):
    """An explicit batch works on a connection without pipeline=True
    (the batch is explicit), sequential awaits and gathered ops alike."""
    ins = await _temp_table(conn)
    async with conn.pipeline():
        await bounded(conn.execute(ins, 1, "a"))
        r = await bounded(asyncio.gather(
            conn.execute(ins, 2, "b"), conn.fetchval("SELECT 3")))
    assert r == ["INSERT 0 1", 3]
    assert await bounded(_ids(conn)) == [1, 2]


@pytest.mark.parametrize("method", [
    "execute_no_args", "copy_records_to_table", "copy_to_table",
    "copy_from_query", "copy_from_table", "cursor", "cursor_iter"])
async def test_batch_refuses_copy_cursor_simple_execute(pconn, method):
    """COPY, cursors and execute() without arguments inside a batch raise
    an InterfaceError naming pipeline(); nothing was sent, so the batch
    goes on and commits."""
    ins = await _temp_table(pconn)

    async def iterate():
        return [r async for r in pconn.cursor("SELECT 1")]

    calls = {
        "execute_no_args": lambda: pconn.execute("SELECT 1"),
        "copy_records_to_table": lambda: pconn.copy_records_to_table(
            "pipe_t", records=[(9, "z")]),
        "copy_to_table": lambda: pconn.copy_to_table(
            "pipe_t", source=_chunks([b"9\tz\n"])),
        "copy_from_query": lambda: pconn.copy_from_query(
            "SELECT 1", output=_Sink()),
        "copy_from_table": lambda: pconn.copy_from_table(
            "pipe_t", output=_Sink()),
        "cursor": lambda: pconn.cursor("SELECT 1"),
        "cursor_iter": iterate,
    }
    async with pconn.pipeline():
        assert await bounded(pconn.execute(ins, 1, "a")) == "INSERT 0 1"
        with pytest.raises(exc.InterfaceError, match=r"pipeline\(\)") as ei:
            await bounded(calls[method]())
        assert not isinstance(ei.value, aborted_error())
        assert await bounded(pconn.execute(ins, 2, "b")) == "INSERT 0 1"
    assert await bounded(_ids(pconn)) == [1, 2]


async def test_batch_statement_cache_valid_after_aborted_prepare(proxied):
    """psycopg's pipeline bug: a statement first prepared in a group that
    an error aborted was never prepared by the server (its Parse was
    skipped); it must not be cached as prepared.  A statement prepared
    before the error stays prepared (prepared statements are not
    transactional) and is not parsed again."""
    aborted = aborted_error()
    px, c = proxied
    m = uuid.uuid4().hex[:10]
    before = f"SELECT $1::int + 1 AS before_{m}"
    skipped = f"SELECT $1::int + 2 AS skipped_{m}"
    async with c.pipeline():
        r = await bounded(asyncio.gather(
            c.fetchval(before, 1), c.fetchval("SELECT 1/0"),
            c.fetchval(skipped, 1), return_exceptions=True))
    assert r[0] == 2
    assert isinstance(r[1], exc.DivisionByZeroError), r[1]
    assert isinstance(r[2], aborted), r[2]
    assert await bounded(c.fetchval(skipped, 5)) == 7
    n = px.count(C2S, b"P", f"before_{m}".encode())
    assert await bounded(c.fetchval(before, 5)) == 6
    assert px.count(C2S, b"P", f"before_{m}".encode()) == n
    # and the same through implicit pipelining after the batch
    assert await bounded(asyncio.gather(c.fetchval(skipped, 0),
                                        c.fetchval(before, 0))) == [2, 1]


async def test_batch_one_round_trip(proxied):
    """50 statements gathered in one batch: all sent before the first
    answer returns (no Sync until the block's end), well under 50
    latencies."""
    px, c = proxied
    await _temp_table(c)
    q = "INSERT INTO pipe_t (id, v) VALUES ($1, $2)"
    await bounded(c.execute(q, 0, "warm"))    # cached
    px.latency[S2C] = LATENCY
    mark = len(px.log)
    t0 = time.monotonic()
    async with c.pipeline():
        r = await bounded(asyncio.gather(*(
            c.execute(q, i, "x") for i in range(1, 51))))
    elapsed = time.monotonic() - t0
    assert r == ["INSERT 0 1"] * 50
    assert elapsed < 4 * LATENCY, elapsed
    after = px.log[mark:]
    executes = [k for k, (d, t, _) in enumerate(after)
                if d == C2S and t == b"E"]
    assert len(executes) == 50, after
    assert max(executes) < next(k for k, (d, _, _) in enumerate(after)
                                if d == S2C), after
    assert sum(1 for d, t, _ in after if d == C2S and t == b"S") == 1
    px.latency[S2C] = 0
    assert await bounded(c.fetchval("SELECT count(*) FROM pipe_t")) == 51
