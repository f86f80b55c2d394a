"""Queries against a real server: the C hot path end to end."""

import asyncio
import datetime
import os
import signal
import decimal
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc


async def test_fetchval_simple(conn):
    assert await conn.fetchval("SELECT 1+1") == 2
    assert await conn.fetchval("SELECT $1::int + 1", 41) == 42


async def test_fetch_rows_and_record(conn):
    rows = await conn.fetch(
        "SELECT i, 'x' || i AS s FROM generate_series(1, $1) i", 3)
    assert len(rows) == 3
    r = rows[1]
    assert isinstance(r, pgwire.Record)
    assert r["i"] == 2 and r[1] == "x2" and r["s"] == "x2"
    assert tuple(r) == (2, "x2")
    assert list(r.keys()) == ["i", "s"]
    assert repr(r) == "<Record i=2 s='x2'>"


async def test_fetchrow_and_none(conn):
    r = await conn.fetchrow("SELECT 1 AS a, NULL::text AS b")
    assert r["a"] == 1 and r["b"] is None
    assert await conn.fetchrow("SELECT 1 WHERE false") is None
    assert await conn.fetchval("SELECT 1 WHERE false") is None


async def test_fetchval_column(conn):
    assert await conn.fetchval("SELECT 1, 2, 3", column=2) == 3
    with pytest.raises(IndexError):
        await conn.fetchval("SELECT 1", column=5)


async def test_execute_simple_and_status(conn):
    status = await conn.execute(
        "CREATE TEMP TABLE t_exec (a int); INSERT INTO t_exec VALUES (1), (2)")
    assert status == "INSERT 0 2"
    assert await conn.execute("UPDATE t_exec SET a = a + $1", 10) == \
        "UPDATE 2"
    assert await conn.fetchval("SELECT sum(a) FROM t_exec") == 23


async def test_executemany_atomic(conn):
    await conn.execute("CREATE TEMP TABLE t_many (a int PRIMARY KEY, b text)")
    await conn.executemany("INSERT INTO t_many VALUES ($1, $2)",
                           [(i, str(i)) for i in range(100)])
    assert await conn.fetchval("SELECT count(*) FROM t_many") == 100
    # a duplicate key in the middle rolls the whole batch back
    with pytest.raises(exc.UniqueViolationError):
        await conn.executemany("INSERT INTO t_many VALUES ($1, $2)",
                               [(1000, "a"), (1, "dup"), (1001, "b")])
    assert await conn.fetchval("SELECT count(*) FROM t_many") == 100
    # a bad argument in the middle sends nothing at all
    with pytest.raises(exc.DataError):
        await conn.executemany("INSERT INTO t_many VALUES ($1, $2)",
                               [(2000, "a"), ("bad", "b")])
    assert await conn.fetchval("SELECT count(*) FROM t_many") == 100


async def test_fetchmany(conn):
    rows = await conn.fetchmany("SELECT $1::int * 2 AS v", [(1,), (2,), (3,)])
    assert [r["v"] for r in rows] == [2, 4, 6]


async def test_types_roundtrip(conn):
    d = decimal.Decimal("12345.678900")
    u = uuid.uuid4()
    ts = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456,
                           tzinfo=datetime.timezone.utc)
    row = await conn.fetchrow(
        "SELECT $1::int2 a, $2::int8 b, $3::float8 c, $4::numeric d, "
        "$5::text e, $6::bytea f, $7::uuid g, $8::timestamptz h, "
        "$9::date i, $10::bool j, $11::int4[] k, $12::jsonb l, "
        "$13::interval m",
        7, 2**62, 1.5, d, "héllo", b"\x00\xff", u, ts,
        datetime.date(2020, 2, 29), True, [1, None, 3], '{"a": 1}',
        datetime.timedelta(days=3, seconds=5))
    assert row["a"] == 7 and row["b"] == 2**62 and row["c"] == 1.5
    assert row["d"] == d and row["e"] == "héllo" and row["f"] == b"\x00\xff"
    assert row["g"] == u and row["h"] == ts
    assert row["i"] == datetime.date(2020, 2, 29) and row["j"] is True
    assert row["k"] == [1, None, 3]
    assert row["l"] == '{"a": 1}'
    assert row["m"] == datetime.timedelta(days=3, seconds=5)


async def test_numeric_special(conn):
    for text in ("NaN", "Infinity", "-Infinity", "0.000001", "-1e30"):
        v = await conn.fetchval(f"SELECT '{text}'::numeric")
        if text == "NaN":
            assert v.is_nan()
        else:
            assert v == decimal.Decimal(text)


async def test_infinity_dates(conn):
    v = await conn.fetchval("SELECT 'infinity'::date")
    assert v is pgwire.types.date_infinity
    v = await conn.fetchval("SELECT '-infinity'::timestamptz")
    assert v is pgwire.types.timestamptz_negative_infinity
    # round trip: infinity goes back as infinity, date.max as a real date
    assert await conn.fetchval(
        "SELECT $1::date = 'infinity'", pgwire.types.date_infinity) is True
    assert await conn.fetchval(
        "SELECT $1::date::text", datetime.date.max) == "9999-12-31"


async def test_unknown_type_as_text(conn):
    # types asyncpg (and pgwire) exchange as text
    assert await conn.fetchval("SELECT 'a b'::tsvector") == "'a' 'b'"
    assert await conn.fetchval("SELECT '$5.00'::money") == "$5.00"


async def test_encode_error_names_argument(conn):
    with pytest.raises(exc.DataError) as ei:
        await conn.fetchval("SELECT $1::int + $2::int", 1, "abc")
    msg = str(ei.value)
    assert "invalid input for query argument $2" in msg
    assert "'abc'" in msg and "int" in msg
    # the connection stays usable
    assert await conn.fetchval("SELECT 1") == 1


async def test_wrong_arg_count(conn):
    with pytest.raises(exc.InterfaceError, match="expects 1 argument"):
        await conn.fetchval("SELECT $1::int", 1, 2)
    assert await conn.fetchval("SELECT 2") == 2


async def test_server_error_fields(conn):
    with pytest.raises(exc.PostgresSyntaxError) as ei:
        await conn.fetch("SELEC 1")
    e = ei.value
    assert e.sqlstate == "42601"
    assert e.position == "1"
    with pytest.raises(exc.UndefinedTableError):
        await conn.execute("SELECT * FROM no_such_table_xyz")
    with pytest.raises(exc.DivisionByZeroError):
        await conn.fetchval("SELECT 1 / $1::int", 0)
    assert await conn.fetchval("SELECT 3") == 3


async def test_decode_error_names_column(conn):
    # a text value that is not UTF-8 is impossible from the server (encoding
    # is UTF8), so provoke a decode error via an out-of-range date instead:
    v = await conn.fetchval("SELECT '0001-01-01'::date")
    assert v == datetime.date(1, 1, 1)
    with pytest.raises(ValueError) as ei:
        await conn.fetchval("SELECT '4713-01-01 BC'::date AS old")
    assert any("old" in n for n in getattr(ei.value, "__notes__", []))
    assert await conn.fetchval("SELECT 4") == 4


async def test_concurrent_use_is_refused(conn):
    t1 = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(0.2)"))
    await asyncio.sleep(0)  # let t1 start
    with pytest.raises(exc.InterfaceError,
                       match="another operation is in progress"):
        await conn.fetchval("SELECT 1")
    await t1
    assert await conn.fetchval("SELECT 5") == 5


async def test_query_object_is_coroutine_like(conn):
    q = conn.fetchval("SELECT 6")
    # nothing is sent until awaited; create_task accepts it
    task = asyncio.get_running_loop().create_task(q)
    assert await task == 6
    res = await asyncio.gather(conn.fetchval("SELECT $1::int", 1),
                               return_exceptions=True)
    assert res == [1]
    # errors are delivered through the awaitable, not at call time
    bad = conn.fetchval(123)
    with pytest.raises(TypeError):
        await bad


async def test_timeout_cancels_and_connection_survives(conn):
    with pytest.raises(asyncio.TimeoutError):
        await conn.fetchval("SELECT pg_sleep(10)", timeout=0.2)
    # the server-side query was cancelled; the next query is not hit by it
    for _ in range(3):
        assert await conn.fetchval("SELECT 7") == 7


async def test_task_cancel_cancels_query(conn):
    task = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(10)"))
    await asyncio.sleep(0)  # one loop turn: the task has sent its query
    assert conn._protocol.is_busy()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await conn.fetchval("SELECT 8") == 8


async def test_wait_for_timeout(conn):
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(conn.fetchval("SELECT pg_sleep(10)"), 0.2)
    assert await conn.fetchval("SELECT 9") == 9


async def test_command_timeout(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(), command_timeout=0.2)
    try:
        with pytest.raises(asyncio.TimeoutError):
            await c.fetchval("SELECT pg_sleep(5)")
        assert await c.fetchval("SELECT 10") == 10
    finally:
        await c.close()


async def test_cancel_timeout_bounds_a_stuck_backend(cluster):
    """cancel_timeout: after a timeout the CancelRequest goes out, but a
    backend that cannot act on it (SIGSTOP) leaves the query running; once
    cancel_timeout has passed the connection is aborted instead of
    waiting forever (tests/README.md, fault scenario 5)."""
    if not hasattr(cluster, "datadir"):
        pytest.skip("needs the temporary cluster (signals its backend)")
    c = await pgwire.connect(**cluster.connect_kwargs(), command_timeout=0.1,
                             cancel_timeout=0.4)
    assert c._protocol.cancel_timeout == 0.4
    pid = c.get_server_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await c.fetchval("SELECT 1")
        with pytest.raises(exc.InterfaceError):
            await c.fetchval("SELECT 2", timeout=10)
        dt = loop.time() - t0
        assert c.is_closed()
        # 0.1 s timeout + 0.4 s grace, well before the 5 s default
        assert 0.45 <= dt < 3.0, dt
    finally:
        os.kill(pid, signal.SIGCONT)
        c.terminate()


async def test_timeout_race_no_spurious_cancel(conn):
    # asyncpg test_timeout_05 pattern: a late cancel must not hit the next
    # query.
    for _ in range(30):
        try:
            await conn.fetchval("SELECT pg_sleep(0.01)", timeout=0.005)
        except asyncio.TimeoutError:
            pass
        assert await conn.fetchval("SELECT 11") == 11


async def test_statement_cache(conn):
    proto = conn._protocol
    before = proto.statement_cache_len
    for i in range(5):
        assert await conn.fetchval("SELECT $1::int * 3", i) == i * 3
    assert proto.statement_cache_len == before + 1


async def test_statement_cache_eviction(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=2)
    try:
        for i in range(6):
            assert await c.fetchval(f"SELECT {i}::int") == i
        assert c._protocol.statement_cache_len == 2
        # evicted statements are closed on the server (lazily)
        await c.fetchval("SELECT 100")
        n = await c.fetchval(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE name LIKE '__pgwire_stmt_%'")
        assert n <= 3
    finally:
        await c.close()


async def test_no_statement_cache_leaves_nothing(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=0)
    try:
        for i in range(3):
            assert await c.fetchval("SELECT $1::int", i) == i
        assert await c.fetchval(
            "SELECT count(*) FROM pg_prepared_statements") == 0
    finally:
        await c.close()


async def test_record_class(cluster):
    class MyRecord(pgwire.Record):
        pass

    c = await pgwire.connect(**cluster.connect_kwargs(),
                             record_class=MyRecord)
    try:
        r = await c.fetchrow("SELECT 1 AS a")
        assert type(r) is MyRecord and repr(r) == "<MyRecord a=1>"

        class Other(pgwire.Record):
            pass

        r = await c.fetchrow("SELECT 1 AS a", record_class=Other)
        assert type(r) is Other
    finally:
        await c.close()


async def test_notices_are_kept(conn):
    got = []
    conn.add_log_listener(lambda c, m: got.append(m))
    await conn.execute("DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$")
    await asyncio.sleep(0)
    assert got and "hello 42" in str(getattr(got[0], "message", got[0]))


async def test_server_info(conn):
    v = conn.get_server_version()
    assert v.major >= 11
    assert conn.get_settings().client_encoding in ("UTF8", "utf8")
    assert conn.get_server_pid() > 0
    assert not conn.is_in_transaction()
    await conn.execute("BEGIN")
    assert conn.is_in_transaction()
    await conn.execute("ROLLBACK")
    assert not conn.is_in_transaction()


async def test_close_and_use_after_close(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    await c.close()
    assert c.is_closed()
    with pytest.raises(exc.InterfaceError, match="closed"):
        await c.fetchval("SELECT 1")


async def test_terminated_backend(cluster, conn):
    other = await pgwire.connect(**cluster.connect_kwargs())
    try:
        pid = other.get_server_pid()
        await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises((exc.AdminShutdownError,
                            exc.ConnectionDoesNotExistError,
                            exc.InterfaceError)):
            await other.fetchval("SELECT 1")
        assert other.is_closed()
    finally:
        other.terminate()


async def test_unclosed_connection_warns(cluster):
    import gc
    c = await pgwire.connect(**cluster.connect_kwargs())
    with pytest.warns(ResourceWarning, match="unclosed connection"):
        del c
        gc.collect()


async def test_large_result(conn):
    rows = await conn.fetch(
        "SELECT i, repeat('x', 1000) FROM generate_series(1, 5000) i")
    assert len(rows) == 5000 and rows[-1][0] == 5000
    big = await conn.fetchval("SELECT repeat('y', 5000000)")
    assert len(big) == 5000000


async def test_records_of_atomic_values_are_not_gc_tracked(conn):
    import gc
    r = await conn.fetchrow("SELECT 1 AS a, 'x' AS b, 1.5::numeric AS c")
    assert not gc.is_tracked(r[0]) and not gc.is_tracked(r[1])
    # Decimal is GC-tracked from CPython 3.13 on (a heap type): so is a
    # record holding one; before, the record is untracked
    assert gc.is_tracked(r) == gc.is_tracked(r[2])
    r = await conn.fetchrow("SELECT 1 AS a, 'x' AS b, 1.5::float8 AS c")
    assert not gc.is_tracked(r)
    # a record holding a list (an array) may be part of a cycle: tracked
    r = await conn.fetchrow("SELECT ARRAY[1, 2] AS a")
    assert gc.is_tracked(r)
    r[0].append(r)  # a real cycle through the list is collectable
    del r
    assert gc.collect() >= 0


async def test_integer_columns_in_text_format(conn):
    """Top-level int2/int4/int8/oid result columns are asked for in text
    (cheaper for the server than int4send & co.); every boundary value
    comes back exact, NULLs too, and params/arrays/composites stay
    binary."""
    row = await conn.fetchrow(
        "SELECT (-32768)::int2 a, 32767::int2 b, (-2147483647 - 1)::int4 c,"
        " 2147483647::int4 d, (-9223372036854775807 - 1)::int8 e,"
        " 9223372036854775807::int8 f, 4294967295::oid g, 0::oid h,"
        " NULL::int4 i, 0::int8 j, (-1)::int4 k, $1::int8 l,"
        " ARRAY[-1, 2]::int4[] m, ROW((-5)::int4, 6::int8) n", -7)
    assert tuple(row[:12]) == (-32768, 32767, -2**31, 2**31 - 1, -2**63,
                               2**63 - 1, 2**32 - 1, 0, None, 0, -1, -7)
    assert row["m"] == [-1, 2]
    assert tuple(row["n"]) == (-5, 6)
    assert all(type(v) is int for v in row[:12] if v is not None)
    vals = await conn.fetch("SELECT i::int4 FROM generate_series(-3, 3) i")
    assert [r[0] for r in vals] == [-3, -2, -1, 0, 1, 2, 3]


# -- issue 12 item 12: the statement caches are bounded in bytes -------------

def _vm_kib(field):
    """A /proc/self/status field (VmRSS, VmHWM) in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _asan():
    # under the ASan build freed memory sits in ASan's quarantine
    return "libasan" in os.environ.get("LD_PRELOAD", "")


async def _run_big_queries(c, n=255, size=1_200_000):
    pad = "x" * size
    for i in range(n):
        q = f"SELECT {i} AS n, length('{pad}') AS l"
        assert await c.fetchval(q) == i
        del q


@pytest.mark.parametrize("cache_size,max_size",
                         [(0, None), (0, 0), (100, None)])
async def test_describe_cache_bounded_in_bytes(cluster, cache_size,
                                               max_size):
    """statement_cache_size=0 (and, for queries too long for the statement
    cache, any size) keeps what Describe said about each query; 255
    distinct 1.2 MB queries kept 578 MB.  Now queries longer than
    max_cacheable_statement_size (default 15 kB) are not kept, and with no
    size limit (0) a byte budget bounds the cache."""
    kw = {} if max_size is None else {"max_cacheable_statement_size": max_size}
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=cache_size, **kw)
    try:
        await _run_big_queries(c, n=3)   # warm up buffers
        before = _vm_kib("VmRSS")
        await _run_big_queries(c)
        grown_mib = (_vm_kib("VmRSS") - before) / 1024
        # the cached path still works for small queries: one round trip,
        # nothing left on the server
        for i in range(3):
            assert await c.fetchval("SELECT $1::int + 1", i) == i + 1
        if cache_size == 0:
            assert await c.fetchval(
                "SELECT count(*) FROM pg_prepared_statements") == 0
        if not _asan():
            assert grown_mib < 60, grown_mib
    finally:
        await c.close()


async def test_statement_cache_bounded_in_bytes(cluster):
    """The named statement cache with no query size limit is bounded in
    bytes too (query text and descriptions), and the statements it evicts
    are closed on the server."""
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             max_cacheable_statement_size=0)
    try:
        await _run_big_queries(c, n=3)
        before = _vm_kib("VmRSS")
        await _run_big_queries(c, n=100)
        grown_mib = (_vm_kib("VmRSS") - before) / 1024
        assert await c.fetchval("SELECT $1::int + 1", 1) == 2
        if not _asan():
            assert grown_mib < 60, grown_mib
        assert await c.fetchval(
            "SELECT count(*) FROM pg_prepared_statements") < 20
    finally:
        await c.close()


# -- asyncpg's connection-lifecycle and query-method contract (issue 13) --

async def _busy(conn, query="SELECT pg_sleep(10)"):
    t = asyncio.ensure_future(conn.execute(query))
    for _ in range(200):  # until the query is on the wire
        if conn._protocol.is_busy():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    return t


async def test_query_cut_by_server_is_a_connection_error(cluster, conn2):
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        pid = c.get_server_pid()
        t = await _busy(c)
        await conn2.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(exc.ConnectionDoesNotExistError,
                           match="closed in the middle of operation: "
                                 "terminating connection") as ei:
            await asyncio.wait_for(t, 5)
        # the server's reason stays reachable
        assert isinstance(ei.value.__cause__, exc.AdminShutdownError)
        assert ei.value.__cause__.sqlstate == "57P01"
        assert c.is_closed()
        for _ in range(2):  # every later call
            with pytest.raises(exc.InterfaceError,
                               match="^connection is closed$") as ei:
                await c.fetchval("SELECT 1")
            assert isinstance(ei.value.__cause__, exc.AdminShutdownError)
    finally:
        c.terminate()


async def test_idle_connection_ended_by_server(cluster, conn2):
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await conn2.execute("SELECT pg_terminate_backend($1)",
                            c.get_server_pid())
        for _ in range(500):
            if c.is_closed():
                break
            await asyncio.sleep(0.01)
        with pytest.raises(exc.InterfaceError,
                           match="^connection is closed$") as ei:
            await c.execute("SELECT 1")
        assert isinstance(ei.value.__cause__, exc.AdminShutdownError)
    finally:
        c.terminate()


async def test_terminate_during_query(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    t = await _busy(c)
    c.terminate()
    assert c.is_closed()
    with pytest.raises(exc.ConnectionDoesNotExistError,
                       match="closed in the middle of operation"):
        await asyncio.wait_for(t, 5)
    with pytest.raises(exc.InterfaceError, match="^connection is closed$"):
        await c.fetch("SELECT 1")
    c.terminate()  # again: harmless


async def test_close_during_query_cancels_it(cluster):
    """As asyncpg: close() cancels the running query (QueryCanceledError
    for its caller), then ends the session."""
    c = await pgwire.connect(**cluster.connect_kwargs())
    t = await _busy(c)
    t0 = asyncio.get_running_loop().time()
    await asyncio.wait_for(c.close(), 5)
    assert asyncio.get_running_loop().time() - t0 < 3
    assert c.is_closed()
    with pytest.raises(exc.QueryCanceledError):
        await t
    await c.close()  # again: harmless


async def test_close_timeout_on_silent_link(cluster):
    """close(timeout=) waits for the server to end the session; a link
    that stopped answering raises TimeoutError within the timeout (and the
    socket is aborted)."""
    from faultproxy import FaultProxy
    async with FaultProxy((cluster.tcp_host, cluster.port)) as px:
        c = await pgwire.connect(**cluster.connect_kwargs(
            host="127.0.0.1", port=px.port, ssl="disable"))
        assert await c.fetchval("SELECT 1") == 1
        px.freeze()
        t0 = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.TimeoutError):
            await c.close(timeout=0.3)
        assert asyncio.get_running_loop().time() - t0 < 1.0
        assert c.is_closed()


async def test_use_after_close(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    await c.close()
    closed = pytest.raises(exc.InterfaceError, match="connection is closed")
    with closed:
        await c.add_listener("aaa", lambda *a: None)
    with closed:
        c.transaction()
    with closed:
        c.cursor("SELECT 1")
    with closed:
        await c.executemany("SELECT 1", [])
    with closed:
        await c.set_type_codec("aaa", encoder=None, decoder=None)
    with closed:
        await c.set_builtin_type_codec("aaa", codec_name="aaa")
    for meth in ("execute", "fetch", "fetchval", "fetchrow", "prepare"):
        with closed:
            await getattr(c, meth)("SELECT 1")
    with closed:
        await c.reset()


async def test_fetchval_column_by_name(conn):
    assert await conn.fetchval("SELECT $1::smallint AS foo, 2 AS bar", 10,
                               column="foo") == 10
    assert await conn.fetchval("SELECT 1 AS foo, 2 AS bar",
                               column="bar") == 2
    stmt = await conn.prepare("SELECT 1 AS foo, 2 AS bar")
    assert await stmt.fetchval(column="bar") == 2
    with pytest.raises(KeyError):
        await conn.fetchval("SELECT 1 AS foo", column="nope")
    assert await conn.fetchval("SELECT 1 AS foo WHERE false",
                               column="foo") is None


async def test_record_class_must_not_redefine_new_or_init(cluster, conn):
    class WithInit(pgwire.Record):
        def __init__(self):
            raise AssertionError("not called")

    class WithNew(pgwire.Record):
        def __new__(cls):
            raise AssertionError("not called")

    class Plain(pgwire.Record):
        pass

    msg = "record_class must not redefine __new__ or __init__"
    for rc in (WithInit, WithNew):
        with pytest.raises(exc.InterfaceError, match=msg):
            await conn.fetchrow("SELECT 1 AS a", record_class=rc)
        with pytest.raises(exc.InterfaceError, match=msg):
            await pgwire.connect(**cluster.connect_kwargs(), record_class=rc)
    r = await conn.fetchrow("SELECT 1 AS a", record_class=Plain)
    assert type(r) is Plain and r["a"] == 1
    assert await conn.fetchval("SELECT 1") == 1  # connection still fine


async def test_executemany_argument_errors_wording(conn):
    await conn.execute("CREATE TEMP TABLE emw (b int PRIMARY KEY)")
    with pytest.raises(exc.DataError,
                       match=r"invalid input in executemany\(\) argument "
                             r"sequence element #1: expected a sequence, "
                             r"got dict"):
        await conn.executemany("INSERT INTO emw VALUES ($1)", [(0,), {1: 0}])
    with pytest.raises(exc.DataError,
                       match=r"invalid input for query argument \$1 in "
                             r"element #1 of executemany\(\) sequence: "
                             r"'bad'"):
        await conn.executemany("INSERT INTO emw VALUES ($1)",
                               [(0,), ("bad",)])
    # a single query keeps the short form
    with pytest.raises(exc.DataError,
                       match=r"invalid input for query argument \$1: 'bad'"):
        await conn.execute("INSERT INTO emw VALUES ($1)", "bad")
    assert await conn.fetchval("SELECT count(*) FROM emw") == 0


async def test_timeout_covers_parse(conn, conn2):
    """timeout= bounds the Parse/Describe of a statement not cached yet
    (here Parse waits for a lock another session holds)."""
    await conn2.execute("CREATE TABLE tparse (a int)")
    try:
        await conn2.execute("BEGIN; LOCK TABLE tparse IN ACCESS EXCLUSIVE "
                            "MODE")
        loop = asyncio.get_running_loop()
        for call in (lambda: conn.fetch("SELECT * FROM tparse WHERE a = $1",
                                        1, timeout=0.3),
                     lambda: conn.fetchval("SELECT a FROM tparse",
                                           timeout=0.3),
                     lambda: conn.prepare("SELECT a + 1 FROM tparse",
                                          timeout=0.3)):
            t0 = loop.time()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(call(), 5)
            assert loop.time() - t0 < 1.5
        await conn2.execute("ROLLBACK")
        assert await conn.fetchval("SELECT count(*) FROM tparse") == 0
    finally:
        await conn2.execute("ROLLBACK; DROP TABLE IF EXISTS tparse")
