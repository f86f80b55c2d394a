"""pgwire.tracing: OpenTelemetry spans for queries and pool acquires
(issue 18 item 6), recorded with the SDK's in-memory exporter against the
real server."""

import asyncio
import threading
import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter)
from opentelemetry.trace import SpanKind, StatusCode

import pgwire
import pgwire.sync
import pgwire.tracing
from pgwire import _pgwire
from pgwire import exceptions as exc
from pgwire.pool import Pool
from pgwire.sync.pool import Pool as SyncPool

from waiting import wait_until

CLIENT_NAMES = {"SELECT", "INSERT", "BATCH INSERT", "PREPARE", "COPY"}


class Recorder:
    """A TracerProvider with an in-memory exporter, and the spans it
    finished."""

    def __init__(self):
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    def spans(self, name=None):
        return [s for s in self.exporter.get_finished_spans()
                if name is None or s.name == name]

    def queries(self):
        """The spans of pgwire's queries (CLIENT spans), in end order."""
        return [s for s in self.exporter.get_finished_spans()
                if s.kind == SpanKind.CLIENT]

    def clear(self):
        self.exporter.clear()


@pytest.fixture
def rec():
    r = Recorder()
    pgwire.tracing.instrument(tracer_provider=r.provider)
    try:
        yield r
    finally:
        pgwire.tracing.uninstrument()


def one(spans):
    assert len(spans) == 1, [(s.name, dict(s.attributes)) for s in spans]
    return spans[0]


# -- what a query's span holds ------------------------------------------
async def test_query_span_attributes_tcp(rec, cluster):
    role, password = cluster.credentials("md5")
    conn = await pgwire.connect(**cluster.connect_kwargs(user="md5",
                                                         host="tcp"))
    try:
        rec.clear()
        t0 = time.time_ns()
        assert await conn.fetchval("SELECT $1::text", "s3cr3t-param") == \
            "s3cr3t-param"
        t1 = time.time_ns()
    finally:
        await conn.close()
    span = one([s for s in rec.queries()
                if s.attributes["pgwire.method"] == "fetchval"])
    assert span.name == "SELECT"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    assert span.instrumentation_scope.name == "pgwire"
    assert span.instrumentation_scope.schema_url == \
        pgwire.tracing.SCHEMA_URL
    host, port = cluster.tcp_host, cluster.port
    assert dict(span.attributes) == {
        "db.system.name": "postgresql",
        "db.system": "postgresql",
        "db.namespace": cluster.dbname,
        "server.address": host,
        "server.port": port,
        "db.operation.name": "SELECT",
        "db.query.text": "SELECT $1::text",
        "pgwire.method": "fetchval",
    }
    # its real start and end (the clock conversion may round by a few us)
    assert t0 - 1_000_000 <= span.start_time <= span.end_time <= t1
    # neither the parameter nor the password is anywhere in the spans
    for s in rec.spans():
        for v in s.attributes.values():
            assert "s3cr3t-param" not in str(v)
            assert password not in str(v)


async def test_query_span_unix_socket(rec, conn):
    await conn.execute("SELECT 1")
    span = one(rec.queries())
    attrs = span.attributes
    assert isinstance(conn._addr, str)   # the socket's path
    assert attrs["server.address"] == conn._addr
    assert attrs["network.transport"] == "unix"
    assert "server.port" not in attrs
    assert attrs["pgwire.method"] == "execute"
    assert attrs["db.query.text"] == "SELECT 1"


async def test_duration_is_the_query_time(rec, conn):
    await conn.execute("SELECT pg_sleep(0.2)")
    span = one(rec.queries())
    assert span.end_time - span.start_time >= 200_000_000


async def test_error_span_has_sqlstate(rec, conn):
    with pytest.raises(exc.DivisionByZeroError):
        await conn.fetchval("SELECT 1 / $1::int", 0)
    with pytest.raises(exc.UndefinedTableError):
        await conn.execute("SELECT * FROM no_such_table_here")
    div, undef = rec.queries()
    assert div.status.status_code == StatusCode.ERROR
    assert div.status.description == "DivisionByZeroError"
    assert div.attributes["db.response.status_code"] == "22012"
    assert div.attributes["error.type"] == "22012"
    assert div.attributes["db.query.text"] == "SELECT 1 / $1::int"
    assert undef.attributes["db.response.status_code"] == "42P01"
    assert undef.status.status_code == StatusCode.ERROR
    # no exception events: a server message may quote a value
    assert not div.events and not undef.events
    # the connection goes on, and so do its spans
    assert await conn.fetchval("SELECT 2") == 2
    assert rec.queries()[-1].status.status_code == StatusCode.UNSET


async def test_client_error_has_no_status_code(rec, conn):
    # an argument that does not encode: the request was never completed
    # by the server; error.type is the exception's class
    with pytest.raises(exc.DataError):
        await conn.fetchval("SELECT $1::int", "not an int")
    span = one(rec.queries())
    assert span.status.status_code == StatusCode.ERROR
    assert "db.response.status_code" not in span.attributes
    assert span.attributes["error.type"] == "pgwire.exceptions.DataError"
    assert "not an int" not in str(dict(span.attributes))


async def test_children_of_the_callers_span(rec, conn):
    with rec.tracer.start_as_current_span("handler") as parent:
        await conn.fetch("SELECT 1")
        with rec.tracer.start_as_current_span("inner") as inner:
            await conn.fetchrow("SELECT 2")
    await conn.fetchval("SELECT 3")
    first, second, third = rec.queries()
    ctx = parent.get_span_context()
    assert first.parent.span_id == ctx.span_id
    assert first.context.trace_id == ctx.trace_id
    assert second.parent.span_id == inner.get_span_context().span_id
    assert third.parent is None


async def test_concurrent_tasks_each_get_their_parent(rec, cluster):
    # pipeline=True: two tasks' queries in flight on one connection; each
    # span is the child of the span of the task that awaited it, whoever
    # read the results off the socket
    conn = await pgwire.connect(**cluster.connect_kwargs(), pipeline=True)
    try:
        rec.clear()

        async def work(name, sleep):
            with rec.tracer.start_as_current_span(name) as span:
                await conn.fetchval("SELECT pg_sleep($1::float8)", sleep)
                await conn.fetchval("SELECT $1::text", name)
                return span.get_span_context().span_id

        ids = await asyncio.gather(*(work("task%d" % i, 0.05 * (i % 2))
                                     for i in range(4)))
    finally:
        await conn.close()
    queries = rec.queries()
    assert len(queries) == 8
    for i, span_id in enumerate(ids):
        mine = [s for s in queries if s.parent.span_id == span_id]
        assert len(mine) == 2, i


async def test_executemany_is_a_batch(rec, conn):
    await conn.execute("CREATE TEMP TABLE tr_many (a int)")
    rec.clear()
    await conn.executemany("INSERT INTO tr_many VALUES ($1)",
                           [(i,) for i in range(5)])
    await conn.executemany("INSERT INTO tr_many VALUES ($1)", [(9,)])
    batch, single = rec.queries()
    assert batch.name == "BATCH INSERT"
    assert batch.attributes["db.operation.name"] == "BATCH INSERT"
    assert batch.attributes["db.operation.batch.size"] == 5
    assert batch.attributes["pgwire.method"] == "executemany"
    # one parameter set is not a batch
    assert single.name == "INSERT"
    assert "db.operation.batch.size" not in single.attributes
    # an iterator: counted as it is consumed
    rec.clear()
    await conn.executemany("INSERT INTO tr_many VALUES ($1)",
                           ((i,) for i in range(3)))
    assert one(rec.queries()).attributes["db.operation.batch.size"] == 3


async def test_prepare_cursor_and_copy(rec, conn):
    await conn.execute("CREATE TEMP TABLE tr_copy (a int, b text)")
    rec.clear()
    stmt = await conn.prepare("SELECT $1::int + 1")
    assert await stmt.fetchval(1) == 2
    async with conn.transaction():
        cur = await conn.cursor("SELECT g FROM generate_series(1, 5) g")
        assert len(await cur.fetch(2)) == 2
        assert len(await cur.fetch(2)) == 2
    await conn.copy_records_to_table("tr_copy", records=[(1, "s3cr3t-param")])
    chunks = []

    async def out(data):
        chunks.append(data)
    await conn.copy_from_query("SELECT a, b FROM tr_copy WHERE b = $1",
                               "s3cr3t-param", output=out)
    assert b"".join(chunks) == b"1\ts3cr3t-param\n"
    spans = rec.queries()
    methods = [s.attributes["pgwire.method"] for s in spans]
    assert methods.count("prepare") >= 1
    prep = [s for s in spans if s.attributes["pgwire.method"] == "prepare"]
    assert prep[0].name == "PREPARE"
    assert prep[0].attributes["db.query.text"] == "SELECT $1::int + 1"
    assert methods.count("cursor") >= 2
    assert all(s.attributes["db.query.text"] ==
               "SELECT g FROM generate_series(1, 5) g"
               for s in spans if s.attributes["pgwire.method"] == "cursor")
    copy_in = one([s for s in spans
                   if s.attributes["pgwire.method"] == "copy_in"])
    assert copy_in.name == "COPY"
    assert copy_in.attributes["db.query.text"].startswith("COPY ")
    # copy_from_query() renders its arguments into the COPY statement:
    # that text is not recorded (its prepare and the query are)
    copy_out = one([s for s in spans
                    if s.attributes["pgwire.method"] == "copy_out"])
    assert copy_out.name == "COPY"
    assert "db.query.text" not in copy_out.attributes
    for s in spans:
        assert "s3cr3t-param" not in str(dict(s.attributes))


async def test_prepare_answered_by_the_cache_has_no_span(rec, conn):
    # the driver's own prepare step (COPY, cursors, the DB-API) finds the
    # statement in the cache: nothing is sent, no span
    await conn._prepare("SELECT 7")
    await conn._prepare("SELECT 7")
    prep = [s for s in rec.queries()
            if s.attributes["pgwire.method"] == "prepare"]
    assert len(prep) == 1


async def test_operation_name_only_when_cheaply_known(rec, conn):
    await conn.execute("  -- a comment\n/* another */ select 1")
    await conn.execute("SELECT 1; SELECT 2;")
    await conn.fetchval("WITH x AS (SELECT 1 AS a) SELECT a FROM x")
    await conn.execute("SELECT 1;  ")
    commented, several, with_, trailing = rec.queries()
    assert commented.attributes["db.operation.name"] == "SELECT"
    # several statements, or a WITH: no operation name; the span is
    # named after the database
    for s in (several, with_):
        assert "db.operation.name" not in s.attributes
        assert s.name == s.attributes["db.namespace"]
    assert trailing.attributes["db.operation.name"] == "SELECT"


async def test_capture_query_text_off(conn):
    rec = Recorder()
    pgwire.tracing.instrument(tracer_provider=rec.provider,
                              capture_query_text=False)
    try:
        await conn.fetchval("SELECT 'literal-value'")
    finally:
        pgwire.tracing.uninstrument()
    span = one(rec.queries())
    assert "db.query.text" not in span.attributes
    assert span.attributes["db.operation.name"] == "SELECT"
    with pytest.raises(TypeError, match="capture_query_text"):
        pgwire.tracing.instrument(capture_query_text="no")
    assert not pgwire.tracing.is_instrumented()


# -- cancelled and timed-out queries ------------------------------------
async def test_timed_out_query_ends_span_with_error(rec, conn):
    with pytest.raises(asyncio.TimeoutError):
        await conn.execute("SELECT pg_sleep(10)", timeout=0.2)
    span = one([s for s in rec.queries()
                if "pg_sleep" in s.attributes["db.query.text"]])
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "TimeoutError"
    assert "db.response.status_code" not in span.attributes
    assert span.end_time - span.start_time >= 150_000_000
    assert await conn.fetchval("SELECT 1") == 1


async def test_cancelled_query_ends_span_with_error(rec, conn, conn2):
    pid = conn.get_server_pid()
    with rec.tracer.start_as_current_span("request") as parent:
        task = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(10)"))
    await wait_until(lambda: conn2.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
        "query LIKE 'SELECT pg_sleep%'", pid), what="the query running")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = one([s for s in rec.queries()
                if s.attributes.get("db.query.text") ==
                "SELECT pg_sleep(10)"])
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "asyncio.CancelledError"
    # the task was created inside the span: its context is a copy
    assert span.parent.span_id == parent.get_span_context().span_id
    await wait_until(lambda: not conn.is_in_transaction() and
                     not conn._protocol.is_busy(), what="idle again")
    assert await conn.fetchval("SELECT 1") == 1


async def test_copy_abandoned_by_its_writer(rec, conn):
    # COPY TO whose writer raises between two chunks: the request is
    # abandoned (close()), and its span ends with the writer's exception
    class WriterFailed(Exception):
        pass

    async def out(data):
        raise WriterFailed

    with pytest.raises(WriterFailed):
        await conn.copy_from_query(
            "SELECT g FROM generate_series(1, 100000) g", output=out)
    span = one([s for s in rec.queries()
                if s.attributes["pgwire.method"] == "copy_out"])
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"].endswith(
        "test_copy_abandoned_by_its_writer.<locals>.WriterFailed")
    assert await conn.fetchval("SELECT 1") == 1


async def test_lost_connection_and_refused_calls(rec, cluster, conn2):
    conn = await pgwire.connect(**cluster.connect_kwargs())
    pid = conn.get_server_pid()
    task = asyncio.ensure_future(conn.execute("SELECT pg_sleep(10)"))
    await wait_until(lambda: conn2.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
        "query LIKE 'SELECT pg_sleep%'", pid), what="the query running")
    await conn2.execute("SELECT pg_terminate_backend($1)", pid)
    with pytest.raises(exc.ConnectionDoesNotExistError):
        await task
    span = one([s for s in rec.queries()
                if s.attributes.get("db.query.text") ==
                "SELECT pg_sleep(10)"])
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == \
        "pgwire.exceptions.ConnectionDoesNotExistError"
    # refused before anything is sent: no span
    rec.clear()
    with pytest.raises(exc.InterfaceError):
        await conn.fetchval("SELECT 1")
    assert rec.queries() == []
    await conn.close()


# -- pools -----------------------------------------------------------------
async def test_pool_acquire_span(rec, cluster):
    async def setup(proxy):
        await proxy.execute("SELECT 'setup'")

    pool = await pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                    max_size=1, setup=setup)
    try:
        rec.clear()
        with rec.tracer.start_as_current_span("request") as req:
            async with pool.acquire() as c:
                await c.fetchval("SELECT 1")
            # the shortcuts acquire too
            await pool.fetchval("SELECT 2")
    finally:
        await pool.close()
    acquires = rec.spans(pgwire.tracing.ACQUIRE_SPAN_NAME)
    assert len(acquires) == 2
    req_id = req.get_span_context().span_id
    for a in acquires:
        assert a.kind == SpanKind.INTERNAL
        assert a.parent.span_id == req_id
        assert a.attributes["db.system.name"] == "postgresql"
        assert a.attributes["db.namespace"] == cluster.dbname
        assert a.status.status_code == StatusCode.UNSET
    # setup runs inside the acquire: its query is the acquire's child
    setups = [s for s in rec.queries()
              if s.attributes.get("db.query.text") == "SELECT 'setup'"]
    assert [s.parent.span_id for s in setups] == \
        [a.context.span_id for a in acquires]
    q1 = one([s for s in rec.queries()
              if s.attributes.get("db.query.text") == "SELECT 1"])
    assert q1.parent.span_id == req_id


async def test_pool_acquire_timeout_span(rec, cluster):
    pool = await pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                    max_size=1)
    try:
        async with pool.acquire():
            t0 = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await pool.acquire(timeout=0.2)
            waited = time.monotonic() - t0
    finally:
        await pool.close()
    failed = [s for s in rec.spans(pgwire.tracing.ACQUIRE_SPAN_NAME)
              if s.status.status_code == StatusCode.ERROR]
    span = one(failed)
    assert span.attributes["error.type"] == "TimeoutError"
    # the span is the wait
    assert 0.15e9 <= span.end_time - span.start_time <= waited * 1e9 + 1e6


# -- the sync face -------------------------------------------------------------
def test_sync_face(rec, cluster):
    conn = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        rec.clear()
        with rec.tracer.start_as_current_span("sync-handler") as parent:
            assert conn.fetchval("SELECT $1::int", 5) == 5
            with pytest.raises(exc.DivisionByZeroError):
                conn.execute("SELECT 1/0")
            conn.executemany("SELECT $1::int", [(1,), (2,)])
        ok, err, many = rec.queries()
        pid = parent.get_span_context().span_id
        assert [s.parent.span_id for s in (ok, err, many)] == [pid] * 3
        assert ok.attributes["pgwire.method"] == "fetchval"
        assert err.attributes["db.response.status_code"] == "22012"
        assert many.attributes["db.operation.batch.size"] == 2

        # each thread's own current span
        results = {}

        def worker():
            with rec.tracer.start_as_current_span("thread") as s:
                conn.fetchval("SELECT 'thread'")
                results["id"] = s.get_span_context().span_id
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        span = one([s for s in rec.queries()
                    if s.attributes["db.query.text"] == "SELECT 'thread'"])
        assert span.parent.span_id == results["id"]
    finally:
        conn.close()


def test_dbapi(rec, cluster):
    import pgwire.dbapi
    conn = pgwire.dbapi.connect(**cluster.connect_kwargs())
    try:
        rec.clear()
        with rec.tracer.start_as_current_span("dbapi") as parent:
            cur = conn.cursor()
            for _ in range(2):
                cur.execute("SELECT %s::text", ("s3cr3t-param",))
                assert cur.fetchall() == [("s3cr3t-param",)]
    finally:
        conn.close()
    pid = parent.get_span_context().span_id
    spans = rec.queries()
    sel = [s for s in spans if s.attributes["pgwire.method"] == "fetch"]
    assert len(sel) == 2
    assert sel[0].attributes["db.query.text"] == "SELECT $1::text"
    # the statement is parsed once; a prepare the statement cache answers
    # sends nothing and has no span
    assert len([s for s in spans
                if s.attributes["pgwire.method"] == "prepare"]) == 1
    assert all(s.parent.span_id == pid for s in spans)
    assert "s3cr3t-param" not in str([dict(s.attributes) for s in spans])


def test_sync_pool_acquire_span(rec, cluster):
    pool = pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=1,
                                   max_size=1)
    try:
        rec.clear()
        with rec.tracer.start_as_current_span("request") as req:
            with pool.acquire() as c:
                c.fetchval("SELECT 1")
    finally:
        pool.terminate()
    acq = one(rec.spans(pgwire.tracing.ACQUIRE_SPAN_NAME))
    assert acq.parent.span_id == req.get_span_context().span_id
    assert acq.attributes["db.namespace"] == cluster.dbname
    q = one([s for s in rec.queries()
             if s.attributes.get("db.query.text") == "SELECT 1"])
    assert q.parent.span_id == req.get_span_context().span_id


def test_uvloop(rec, cluster):
    import uvloop

    async def main():
        conn = await pgwire.connect(**cluster.connect_kwargs())
        try:
            with rec.tracer.start_as_current_span("uv") as s:
                await conn.fetchval("SELECT 'uv'")
            return s.get_span_context().span_id
        finally:
            await conn.close()

    loop = uvloop.new_event_loop()
    try:
        span_id = loop.run_until_complete(main())
    finally:
        loop.close()
    span = one([s for s in rec.queries()
                if s.attributes.get("db.query.text") == "SELECT 'uv'"])
    assert span.parent.span_id == span_id


# -- off ---------------------------------------------------------------------
class CountingProvider(TracerProvider):
    """Counts every call pgwire could make on the provider or a tracer."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def get_tracer(self, *args, **kwargs):
        self.calls += 1
        tracer = super().get_tracer(*args, **kwargs)
        provider = self

        class Counting:
            def __getattr__(self, name):
                provider.calls += 1
                return getattr(tracer, name)
        return Counting()


async def test_off_records_nothing(cluster):
    assert not pgwire.tracing.is_instrumented()
    assert _pgwire._get_trace_hook() is None
    counting = CountingProvider()
    exporter = InMemorySpanExporter()
    counting.add_span_processor(SimpleSpanProcessor(exporter))
    # also the global provider: nothing may reach it either
    trace_calls = []
    orig_get_tracer = trace.get_tracer
    trace.get_tracer = lambda *a, **k: (trace_calls.append(a),
                                        orig_get_tracer(*a, **k))[1]
    try:
        pgwire.tracing.instrument(tracer_provider=counting)
        pgwire.tracing.uninstrument()
        before = counting.calls
        assert _pgwire._get_trace_hook() is None
        assert Pool._acquire_holder.__name__ == "_acquire_holder" and \
            not hasattr(Pool._acquire_holder, "__wrapped__")
        assert not hasattr(SyncPool._acquire, "__wrapped__")
        trace_calls.clear()
        conn = await pgwire.connect(**cluster.connect_kwargs())
        try:
            await conn.fetchval("SELECT 1")
            with pytest.raises(exc.DivisionByZeroError):
                await conn.execute("SELECT 1/0")
            await conn.executemany("SELECT $1::int", [(1,), (2,)])
        finally:
            await conn.close()
        pool = await pgwire.create_pool(**cluster.connect_kwargs(),
                                        min_size=1, max_size=1)
        try:
            await pool.fetchval("SELECT 1")
        finally:
            await pool.close()
        sconn = pgwire.sync.connect(**cluster.connect_kwargs())
        try:
            sconn.fetchval("SELECT 1")
        finally:
            sconn.close()
    finally:
        trace.get_tracer = orig_get_tracer
    assert counting.calls == before
    assert trace_calls == []
    assert exporter.get_finished_spans() == ()


async def test_instrument_twice_replaces(conn):
    a, b = Recorder(), Recorder()
    pgwire.tracing.instrument(tracer_provider=a.provider)
    pgwire.tracing.instrument(tracer_provider=b.provider)
    try:
        assert SyncPool._acquire.__wrapped__.__name__ == "_acquire"
        assert not hasattr(SyncPool._acquire.__wrapped__, "__wrapped__")
        await conn.fetchval("SELECT 1")
    finally:
        pgwire.tracing.uninstrument()
    assert a.queries() == [] and len(b.queries()) == 1
    assert not hasattr(Pool._acquire_holder, "__wrapped__")


def test_set_trace_hook_checks_its_argument():
    with pytest.raises(TypeError, match="hook must be callable or None, "
                       "got 5"):
        _pgwire._set_trace_hook(5)
    assert _pgwire._get_trace_hook() is None


async def test_trace_hook_does_not_leak(cluster):
    # the C side of the hook (op_log_trace, op_trace_closed) with a hook
    # that keeps nothing: test_refleak's round of operations must come
    # back to its baseline, and every request is reported
    import gc
    import sys
    from test_refleak import _round

    calls = []

    def hook(conn, kind, query, elapsed, exc, batch):
        calls.append(kind)

    class Stop(Exception):
        pass

    async def failing_writer(data):
        raise Stop

    async def round_(conn, stmt, pool):
        await _round(conn, stmt, pool)
        with pytest.raises(Stop):
            await conn.copy_from_query(
                "SELECT g FROM generate_series(1, 20000) g",
                output=failing_writer)

    conn = await pgwire.connect(**cluster.connect_kwargs())
    pool = await pgwire.create_pool(**cluster.connect_kwargs(),
                                    min_size=1, max_size=1)
    _pgwire._set_trace_hook(hook)
    try:
        await conn.execute("CREATE TEMP TABLE leak_t (i int, t text)")
        stmt = await conn.prepare("SELECT $1::int")
        for _ in range(20):
            await round_(conn, stmt, pool)
        gc.collect()
        calls.clear()
        blocks0 = sys.getallocatedblocks()
        objects0 = len(gc.get_objects())
        rounds = 100
        for _ in range(rounds):
            await round_(conn, stmt, pool)
        per_round = len(calls) / rounds
        calls.clear()
        gc.collect()
        blocks = sys.getallocatedblocks() - blocks0
        objects = len(gc.get_objects()) - objects0
        assert per_round >= 20
        assert blocks < 1500, (blocks, objects)
        assert objects < 50, (blocks, objects)
    finally:
        _pgwire._set_trace_hook(None)
        await pool.close()
        await conn.close()
