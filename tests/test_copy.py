"""COPY: copy_from_table, copy_from_query, copy_to_table,
copy_records_to_table against the real server -- every source and output
kind, option quoting and the whitelist, $n substitution that leaves
literals/comments/dollar quotes alone, flow control both ways with bounded
memory, and the failure paths (cancel, timeout, source or writer raising,
server errors, a killed backend): each leaves the connection usable (or
cleanly closed) and nothing half-copied."""

import asyncio
import datetime
import decimal
import io
import os
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire._copy import format_copy_options
from pgwire import _sqlscan

from waiting import wait_until


# Under the ASan build (make pytest-asan) freed memory sits in ASan's
# quarantine, so RSS says nothing about what pgwire keeps: the memory
# bounds are asserted on the normal build only.
_RSS_MEANINGFUL = "libasan" not in os.environ.get("LD_PRELOAD", "")


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
async def table(conn):
    name = "copy_" + uuid.uuid4().hex[:12]
    await conn.execute(
        f"CREATE TABLE {name} (a int PRIMARY KEY, b text, c float8)")
    yield name
    if not conn.is_closed():
        await conn.execute(f"DROP TABLE IF EXISTS {name}")


async def _fill(conn, table, n):
    await conn.execute(
        f"INSERT INTO {table} SELECT i, 'x' || i, i / 2.0 "
        f"FROM generate_series(1, {n}) i")


async def _count(conn, table):
    return await conn.fetchval(f"SELECT count(*) FROM {table}")


async def _assert_usable(conn):
    assert await conn.fetchval("SELECT 42") == 42
    assert not conn.is_in_transaction()


# ---------------------------------------------------------------------------
# COPY TO
# ---------------------------------------------------------------------------

async def test_copy_from_table_outputs(conn, table, tmp_path):
    await _fill(conn, table, 1000)
    expected = "".join(f"{i}\tx{i}\t{i / 2:g}\n" for i in range(1, 1001))
    # path
    path = tmp_path / "out.txt"
    assert await conn.copy_from_table(table, output=path) == "COPY 1000"
    assert path.read_text() == expected
    # str path
    assert await conn.copy_from_table(table, output=str(path)) == \
        "COPY 1000"
    assert path.read_text() == expected
    # file-like
    buf = io.BytesIO()
    assert await conn.copy_from_table(table, output=buf) == "COPY 1000"
    assert buf.getvalue().decode() == expected
    # coroutine function
    chunks = []

    async def writer(data):
        assert isinstance(data, bytes)
        chunks.append(data)
    assert await conn.copy_from_table(table, output=writer) == "COPY 1000"
    assert b"".join(chunks).decode() == expected


async def test_copy_from_table_options(conn, table):
    await _fill(conn, table, 3)
    await conn.execute(f"UPDATE {table} SET b = NULL WHERE a = 2")
    buf = io.BytesIO()
    await conn.copy_from_table(table, output=buf, columns=["b", "a"],
                               format="csv", header=True, null="N/A",
                               delimiter=";", force_quote=["b"])
    lines = buf.getvalue().decode().splitlines()
    assert lines[0] == "b;a"
    assert sorted(lines[1:]) == ['"x1";1', '"x3";3', "N/A;2"]
    buf = io.BytesIO()
    await conn.copy_from_table(table, output=buf, columns=["a", "b"],
                               format="csv", force_quote=True, quote="'",
                               encoding="UTF8")
    assert sorted(buf.getvalue().decode().splitlines()) == [
        "'1','x1'", "'2',", "'3','x3'"]


async def test_copy_from_table_schema_and_quoted_names(conn):
    await conn.execute('CREATE SCHEMA IF NOT EXISTS "we""ird"')
    await conn.execute('CREATE TABLE "we""ird"."Tab le" ("Col""1" int)')
    try:
        await conn.execute('INSERT INTO "we""ird"."Tab le" VALUES (7)')
        buf = io.BytesIO()
        assert await conn.copy_from_table(
            "Tab le", schema_name='we"ird', columns=['Col"1'],
            output=buf) == "COPY 1"
        assert buf.getvalue() == b"7\n"
    finally:
        await conn.execute('DROP SCHEMA "we""ird" CASCADE')


async def test_copy_from_query_args_bound_outside_literals(conn):
    chunks = []

    async def writer(data):
        chunks.append(data)
    q = ("SELECT $1::int AS a, '$1' AS lit, $tag$ $2 $tag$ AS dq, "
         "E'\\'$1' AS esc, \"x$1\".y AS ident, $2 AS b /* $1 */ "
         "FROM (SELECT 5 AS y) \"x$1\" -- $2")
    await conn.copy_from_query(q, 10, "it's \\ odd", output=writer,
                               format="csv")
    assert b"".join(chunks).decode() == \
        "10,$1, $2 ,'$1,5,it's \\ odd\n"


async def test_copy_from_query_null_and_types(conn):
    buf = io.BytesIO()
    await conn.copy_from_query(
        "SELECT $1::int4 IS NULL, $2::date, $3::numeric, $4::int[]",
        None, datetime.date(2020, 1, 2), decimal.Decimal("1.50"), [1, 2],
        output=buf)
    assert buf.getvalue() == b"t\t2020-01-02\t1.50\t{1,2}\n"


async def test_copy_from_query_wrong_arg_count(conn):
    with pytest.raises(exc.InterfaceError, match="expects 1 argument"):
        await conn.copy_from_query("SELECT $1::int", 1, 2,
                                   output=io.BytesIO())
    await _assert_usable(conn)


async def test_copy_from_query_no_args_keeps_dollar_text(conn):
    buf = io.BytesIO()
    await conn.copy_from_query("SELECT '$1 stays' -- trailing comment",
                               output=buf)
    assert buf.getvalue() == b"$1 stays\n"


async def test_copy_binary_roundtrip(conn, table):
    await _fill(conn, table, 500)
    buf = io.BytesIO()
    await conn.copy_from_table(table, output=buf, format="binary")
    data = buf.getvalue()
    assert data.startswith(b"PGCOPY\n\xff\r\n\x00")
    await conn.execute(f"CREATE TEMP TABLE bin_copy (LIKE {table})")
    assert await conn.copy_to_table("bin_copy", source=data,
                                    format="binary") == "COPY 500"
    assert await conn.fetchval(
        f"SELECT count(*) FROM bin_copy JOIN {table} USING (a, b, c)") == 500


async def test_copy_out_error_leaves_connection_usable(conn):
    with pytest.raises(exc.UndefinedTableError):
        await conn.copy_from_table("no_such_table", output=io.BytesIO())
    await _assert_usable(conn)
    with pytest.raises(exc.DivisionByZeroError):
        await conn.copy_from_query(
            "SELECT 1 / (1000 - i) FROM generate_series(1, 2000) i",
            output=io.BytesIO())
    await _assert_usable(conn)


# ---------------------------------------------------------------------------
# COPY FROM
# ---------------------------------------------------------------------------

_CSV = b"".join(b"%d,x%d,%d.5\n" % (i, i, i) for i in range(1, 101))


async def _check_100(conn, table):
    assert await _count(conn, table) == 100
    assert await conn.fetchrow(f"SELECT * FROM {table} WHERE a = 7") == \
        (7, "x7", 7.5)


async def test_copy_to_table_from_path(conn, table, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(_CSV)
    assert await conn.copy_to_table(table, source=path, format="csv") == \
        "COPY 100"
    await _check_100(conn, table)


async def test_copy_to_table_from_file_like(conn, table):
    assert await conn.copy_to_table(table, source=io.BytesIO(_CSV),
                                    format="csv") == "COPY 100"
    await _check_100(conn, table)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
async def test_copy_to_table_from_buffer(conn, table, kind):
    assert await conn.copy_to_table(table, source=kind(_CSV),
                                    format="csv") == "COPY 100"
    await _check_100(conn, table)


async def test_copy_to_table_from_async_iterable(conn, table):
    async def gen():
        for i in range(0, len(_CSV), 37):   # chunks that split rows
            yield _CSV[i:i + 37]
    assert await conn.copy_to_table(table, source=gen(),
                                    format="csv") == "COPY 100"
    await _check_100(conn, table)


async def test_copy_to_table_empty_source(conn, table):
    assert await conn.copy_to_table(table, source=b"") == "COPY 0"
    await _assert_usable(conn)


async def test_copy_to_table_options_and_where(conn, table):
    data = b"a|b|c\n1|NULL|1\n2|it's|2\n3|\\N|3\n"
    assert await conn.copy_to_table(
        table, source=data, format="csv", header=True, delimiter="|",
        null="NULL", force_not_null=["b"], where="a <> 2 AND b <> ';'"
    ) == "COPY 2"
    rows = await conn.fetch(f"SELECT a, b FROM {table} ORDER BY a")
    # FORCE_NOT_NULL: the NULL marker in b stays a string
    assert [tuple(r) for r in rows] == [(1, "NULL"), (3, "\\N")]


async def test_copy_to_table_force_null_and_columns(conn, table):
    data = b'1,""\n2,"y"\n'
    assert await conn.copy_to_table(table, source=data, columns=["a", "b"],
                                    format="csv", force_null=["b"]) == \
        "COPY 2"
    rows = await conn.fetch(f"SELECT a, b FROM {table} ORDER BY a")
    assert [tuple(r) for r in rows] == [(1, None), (2, "y")]


async def test_copy_to_table_freeze(conn):
    async with conn.transaction():
        await conn.execute("CREATE TABLE copy_freeze (i int)")
        assert await conn.copy_to_table("copy_freeze", source=b"1\n2\n",
                                        freeze=True) == "COPY 2"
    assert await conn.fetchval("SELECT sum(i) FROM copy_freeze") == 3
    await conn.execute("DROP TABLE copy_freeze")


@pytest.mark.parametrize("opts,msg", [
    ({"format": "csv) ; DROP TABLE x; --"}, "format"),
    ({"format": 1}, "format"),
    ({"oids": "true"}, "oids"),
    ({"freeze": "true) ; DROP TABLE x; --"}, "freeze"),
    ({"header": "yes"}, "header"),
    ({"header": 1}, "header"),
    ({"delimiter": "ab"}, "delimiter"),
    ({"delimiter": ""}, "delimiter"),
    ({"quote": 5}, "quote"),
    ({"null": b"x"}, "null"),
    ({"encoding": None, "force_quote": "col"}, "force_quote"),
    ({"force_not_null": [1]}, "force_not_null"),
    ({"force_null": []}, "force_null"),
])
def test_copy_options_whitelist(opts, msg):
    with pytest.raises(exc.InterfaceError, match=msg):
        format_copy_options(**opts)


def test_copy_options_quoted():
    assert format_copy_options(
        format="CSV", null="it's", delimiter="\\", header="match",
        force_quote=['a"b'], encoding="UTF8") == (
        "(FORMAT csv, DELIMITER E'\\\\', NULL 'it''s', HEADER match, "
        "FORCE_QUOTE (\"a\"\"b\"), ENCODING 'UTF8')")
    assert format_copy_options() == ""
    assert format_copy_options(force_quote=False) == ""


async def test_copy_option_injection_is_data(conn, table):
    # a NULL marker full of SQL is just a (long) NULL marker
    evil = "x'); DROP TABLE " + table + "; --"
    await conn.copy_to_table(table, source=b"1,x\n",
                             columns=["a", "b"], format="csv", null=evil)
    assert await _count(conn, table) == 1


@pytest.mark.parametrize("where", [
    "true); DROP TABLE {t}; --",
    "true; DROP TABLE {t}",
    "a > 0) OR (true",
    "a > 0 /* ",
    "b = 'unterminated",
    "a = $1",
    "   ",
])
async def test_copy_where_rejected(conn, table, where):
    with pytest.raises(exc.InterfaceError, match="where"):
        await conn.copy_to_table(table, source=b"1\tx\t1\n",
                                 where=where.format(t=table))
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


async def test_copy_where_with_quotes_and_dollars(conn, table):
    data = b"1\t;\t1\n2\t)\t2\n3\tz\t3\n"
    await conn.copy_to_table(table, source=data,
                             where="b IN (';', $$)$$) -- keep ); ")
    assert [r[0] for r in await conn.fetch(
        f"SELECT a FROM {table} ORDER BY a")] == [1, 2]


def test_sqlscan_placeholders():
    q = "select $1, '$2', \"$3\", $x$ $4 $x$, a$5, -- $6\n/* /* $7 */ */ $8"
    assert [n for _, _, n in _sqlscan.placeholders(q)] == [1, 8]
    # with standard_conforming_strings off, backslash escapes a quote
    assert [n for _, _, n in _sqlscan.placeholders(
        r"select 'a\' $1', $2", standard_strings=False)] == [2]
    assert [n for _, _, n in _sqlscan.placeholders(
        r"select 'a\', $1")] == [1]
    with pytest.raises(_sqlscan.ScanError):
        _sqlscan.placeholders("select $a$ never closed")


async def test_copy_to_table_server_error_mid_stream(conn, table):
    rows = b"".join(b"%d\tx\t1\n" % (i % 5000) for i in range(20000))
    with pytest.raises(exc.UniqueViolationError):
        await conn.copy_to_table(table, source=rows)
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


async def test_copy_to_table_bad_source_type(conn, table):
    with pytest.raises(TypeError, match="source"):
        await conn.copy_to_table(table, source=12)
    with pytest.raises(TypeError, match="output"):
        await conn.copy_from_table(table, output=12)
    await _assert_usable(conn)


async def test_copy_to_table_async_source_yields_non_bytes(conn, table):
    async def gen():
        yield b"1\tx\t1\n"
        yield "2\tx\t2\n"
    with pytest.raises(TypeError, match="bytes-like"):
        await conn.copy_to_table(table, source=gen())
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


# ---------------------------------------------------------------------------
# copy_records_to_table
# ---------------------------------------------------------------------------

async def test_copy_records_kinds(conn, table):
    rec = await conn.fetchrow("SELECT 3 AS a, 'r' AS b, 0.5::float8 AS c")

    async def agen():
        for i in range(10, 2010):
            yield (i, None, float(i))
    assert await conn.copy_records_to_table(
        table, records=[(1, "t", 1.5), [2, "l", 2.5], rec]) == "COPY 3"
    assert await conn.copy_records_to_table(table, records=agen()) == \
        "COPY 2000"
    assert await conn.copy_records_to_table(
        table, records=((i, str(i), None) for i in range(3000, 3010))) == \
        "COPY 10"
    assert await conn.copy_records_to_table(table, records=[]) == "COPY 0"
    assert await _count(conn, table) == 2013
    assert await conn.fetchrow(f"SELECT * FROM {table} WHERE a = 3") == rec
    assert await conn.fetchrow(f"SELECT * FROM {table} WHERE a = 20") == \
        (20, None, 20.0)


async def test_copy_records_columns_schema_where(conn):
    await conn.execute("CREATE SCHEMA IF NOT EXISTS copy_s")
    await conn.execute(
        "CREATE TABLE copy_s.t (id serial, v int, w text DEFAULT 'd')")
    try:
        assert await conn.copy_records_to_table(
            "t", schema_name="copy_s", columns=["v"],
            records=[(i,) for i in range(10)], where="v % 2 = 0") == \
            "COPY 5"
        rows = await conn.fetch("SELECT v, w FROM copy_s.t ORDER BY v")
        assert [tuple(r) for r in rows] == [(v, "d") for v in range(0, 10, 2)]
    finally:
        await conn.execute("DROP SCHEMA copy_s CASCADE")


async def test_copy_records_types(conn):
    await conn.execute("""CREATE TEMP TABLE copy_types (
        i8 int8, n numeric, ts timestamptz, u uuid, j jsonb, arr int4[],
        d date, by bytea, iv interval, bo bool)""")
    ts = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456,
                           tzinfo=datetime.timezone.utc)
    row = (2 ** 62, decimal.Decimal("-12.3400"), ts, uuid.uuid4(),
           '{"k": [1, 2]}', [[1, None], [3, 4]], datetime.date(1999, 12, 31),
           b"\x00\xff", datetime.timedelta(days=3, seconds=5), True)
    await conn.copy_records_to_table("copy_types",
                                     records=[row, (None,) * 10])
    got = await conn.fetch("SELECT * FROM copy_types ORDER BY i8 NULLS LAST")
    assert tuple(got[0]) == row
    assert tuple(got[1]) == (None,) * 10


async def test_copy_records_bad_value_names_column(conn, table):
    records = [(1, "a", 1.0), (2, "b", "not a float")]
    with pytest.raises(exc.DataError) as ei:
        await conn.copy_records_to_table(table, records=records)
    msg = str(ei.value)
    assert "'c'" in msg and "float8" in msg and "record 2" in msg
    assert "not a float" in msg
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


async def test_copy_records_wrong_length(conn, table):
    with pytest.raises(exc.DataError, match=r"record 2 has 2 values, "
                                            r"expected 3"):
        await conn.copy_records_to_table(table,
                                         records=[(1, "a", 1.0), (2, "b")])
    with pytest.raises(exc.DataError, match="record 1: expected a tuple"):
        await conn.copy_records_to_table(table, records=["abc"])
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


async def test_copy_records_failure_after_chunks_sent(conn, table):
    # the error comes after several 512 KiB chunks went out: still nothing
    # is inserted (CopyFail aborts the whole COPY)
    def gen():
        for i in range(200000):
            yield (i, "x" * 20, 1.0)
        yield (-1, 5, 1.0)
    with pytest.raises(exc.DataError, match="record 200001"):
        await conn.copy_records_to_table(table, records=gen())
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


async def test_copy_records_no_binary_encoder(conn):
    await conn.execute("CREATE TEMP TABLE copy_txt (a int, p point)")
    await conn.set_type_codec("point", schema="pg_catalog",
                              encoder=str, decoder=str, format="text")
    with pytest.raises(exc.InternalClientError,
                       match=r"no binary format encoder for type point "
                             r"\(column 'p'\)"):
        await conn.copy_records_to_table("copy_txt",
                                         records=[(1, "(1,2)")])
    await _assert_usable(conn)
    assert await conn.fetchval("SELECT count(*) FROM copy_txt") == 0


async def test_copy_records_server_error(conn, table):
    with pytest.raises(exc.UniqueViolationError):
        await conn.copy_records_to_table(
            table, records=[(i % 100, "x", 1.0) for i in range(100000)])
    assert await _count(conn, table) == 0
    await _assert_usable(conn)
    with pytest.raises(exc.UndefinedTableError):
        await conn.copy_records_to_table("no_such_table", records=[(1,)])
    await _assert_usable(conn)


async def test_copy_records_in_transaction_error(conn, table):
    tr = conn.transaction()
    await tr.start()
    await conn.copy_records_to_table(table, records=[(1, "a", 1.0)])
    with pytest.raises(exc.DataError):
        await conn.copy_records_to_table(table, records=[(2, 2, 2.0)])
    # the client-side failure aborted the COPY, and with it the transaction
    with pytest.raises(exc.InFailedSQLTransactionError):
        await conn.fetchval("SELECT 1")
    await tr.rollback()
    assert await _count(conn, table) == 0
    await _assert_usable(conn)


# ---------------------------------------------------------------------------
# Flow control
# ---------------------------------------------------------------------------

async def test_copy_records_streams_with_bounded_memory(conn):
    await conn.execute("CREATE TEMP TABLE copy_big (i int, t text)")
    pad = "p" * 200
    n = 600_000          # ~130 MB of COPY data
    base = _rss()
    peak = [base]

    def gen():
        for i in range(n):
            if i % 20000 == 0:
                peak[0] = max(peak[0], _rss())
            yield (i, pad)
    assert await conn.copy_records_to_table("copy_big", records=gen()) == \
        f"COPY {n}"
    if _RSS_MEANINGFUL:
        assert peak[0] - base < 48 * 1024 * 1024, (base, peak[0])
    assert await conn.fetchval("SELECT count(*) FROM copy_big") == n


async def test_copy_out_slow_consumer_pauses_reading(conn):
    n = 600_000          # ~130 MB of output
    base = _rss()
    peak = base
    total = 0
    release = asyncio.Event()
    paused_seen = False

    async def writer(data):
        nonlocal peak, total, paused_seen
        total += len(data)
        peak = max(peak, _rss())
        if not release.is_set():
            # the first chunk: wait until the driver stops reading
            async with asyncio.timeout(20):
                while conn._transport.is_reading():
                    await asyncio.sleep(0.005)   # polling a condition
            paused_seen = True
            release.set()
    st = await conn.copy_from_query(
        f"SELECT i, repeat('p', 200) FROM generate_series(1, {n}) i",
        output=writer)
    assert st == f"COPY {n}"
    assert paused_seen
    assert conn._transport.is_reading()
    assert total > 120 * n
    if _RSS_MEANINGFUL:
        assert peak - base < 48 * 1024 * 1024, (base, peak)
    await _assert_usable(conn)


# ---------------------------------------------------------------------------
# Cancellation, timeouts, callbacks that raise, lost connections
# ---------------------------------------------------------------------------

async def test_copy_out_cancelled(conn):
    started = asyncio.Event()

    async def writer(data):
        started.set()
        await asyncio.Event().wait()      # a consumer that never finishes

    task = asyncio.ensure_future(conn.copy_from_query(
        "SELECT i FROM generate_series(1, 5000000) i", output=writer))
    async with asyncio.timeout(10):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10):
        await _assert_usable(conn)


async def test_copy_out_cancel_while_waiting_for_server(conn, conn2):
    task = asyncio.ensure_future(conn.copy_from_query(
        "SELECT pg_sleep(30)", output=io.BytesIO()))
    q = ("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
         "state = 'active' AND query LIKE 'COPY%pg_sleep%'")
    async with asyncio.timeout(10):
        while not await conn2.fetchval(q, conn.get_server_pid()):
            pass
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10):
        await _assert_usable(conn)


async def test_copy_out_timeout(conn):
    async def writer(data):
        await asyncio.Event().wait()
    with pytest.raises(asyncio.TimeoutError):
        await conn.copy_from_query(
            "SELECT i FROM generate_series(1, 5000000) i", output=writer,
            timeout=0.5)
    async with asyncio.timeout(10):
        await _assert_usable(conn)


async def test_copy_out_command_timeout(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(), command_timeout=0.5)
    try:
        with pytest.raises(asyncio.TimeoutError):
            await c.copy_from_query("SELECT pg_sleep(30)",
                                    output=io.BytesIO())
        async with asyncio.timeout(10):
            await _assert_usable(c)
    finally:
        await c.close()


async def test_copy_out_writer_raises(conn):
    calls = 0

    async def writer(data):
        nonlocal calls
        calls += 1
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError, match="disk full"):
        await conn.copy_from_query(
            "SELECT i FROM generate_series(1, 1000000) i", output=writer)
    assert calls == 1
    async with asyncio.timeout(10):
        await _assert_usable(conn)


async def test_copy_in_cancelled(conn, table):
    started = asyncio.Event()

    async def source():
        yield b"1\tx\t1\n"
        started.set()
        await asyncio.Event().wait()
        yield b"2\tx\t2\n"

    task = asyncio.ensure_future(conn.copy_to_table(table, source=source()))
    async with asyncio.timeout(10):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10):
        await _assert_usable(conn)
    assert await _count(conn, table) == 0


async def test_copy_in_timeout(conn, table):
    async def source():
        yield b"1\tx\t1\n"
        await asyncio.Event().wait()
        yield b"2\tx\t2\n"
    with pytest.raises(asyncio.TimeoutError):
        await conn.copy_to_table(table, source=source(), timeout=0.3)
    async with asyncio.timeout(10):
        await _assert_usable(conn)
    assert await _count(conn, table) == 0


async def test_copy_records_timeout_async_source(conn, table):
    async def records():
        for i in range(5000):
            yield (i, "x", 1.0)
        await asyncio.Event().wait()
        yield (6000, "x", 1.0)
    with pytest.raises(asyncio.TimeoutError):
        await conn.copy_records_to_table(table, records=records(),
                                         timeout=0.5)
    async with asyncio.timeout(10):
        await _assert_usable(conn)
    assert await _count(conn, table) == 0


async def test_copy_in_source_raises(conn, table):
    async def source():
        yield b"1\tx\t1\n"
        raise ValueError("broken source")
    with pytest.raises(ValueError, match="broken source"):
        await conn.copy_to_table(table, source=source())
    async with asyncio.timeout(10):
        await _assert_usable(conn)
    assert await _count(conn, table) == 0

    def records():
        yield (1, "x", 1.0)
        raise KeyError("gen")
    with pytest.raises(KeyError):
        await conn.copy_records_to_table(table, records=records())
    await _assert_usable(conn)
    assert await _count(conn, table) == 0


async def test_copy_in_statement_timeout(conn, table):
    await conn.execute("SET statement_timeout = '200ms'")
    try:
        async def source():
            yield b"1\tx\t1\n"
            await asyncio.sleep(1)     # the server's timer fires meanwhile
            yield b"2\tx\t2\n"
        with pytest.raises(exc.QueryCanceledError):
            await conn.copy_to_table(table, source=source())
    finally:
        await conn.execute("RESET statement_timeout")
    await _assert_usable(conn)
    assert await _count(conn, table) == 0


async def test_copy_in_backend_killed(conn, conn2, table):
    started = asyncio.Event()
    release = asyncio.Event()

    async def source():
        yield b"1\tx\t1\n"
        started.set()
        await release.wait()
        yield b"2\tx\t2\n"

    task = asyncio.ensure_future(conn.copy_to_table(table, source=source()))
    async with asyncio.timeout(10):
        await started.wait()
        assert await conn2.fetchval("SELECT pg_terminate_backend($1)",
                                    conn.get_server_pid())
        closed = conn._protocol.closed_future()
        await asyncio.shield(closed)
    release.set()
    with pytest.raises((exc.AdminShutdownError,
                        exc.ConnectionDoesNotExistError)):
        async with asyncio.timeout(10):
            await task
    assert conn.is_closed()
    assert await _count(conn2, table) == 0


async def test_copy_out_backend_killed(conn, conn2):
    started = asyncio.Event()
    release = asyncio.Event()

    async def writer(data):
        started.set()
        await release.wait()

    task = asyncio.ensure_future(conn.copy_from_query(
        "SELECT i FROM generate_series(1, 3000000) i", output=writer))
    pid = conn.get_server_pid()
    async with asyncio.timeout(10):
        await started.wait()
        await conn2.fetchval("SELECT pg_terminate_backend($1)", pid)

    # While the consumer is blocked, reading may be paused (flow control),
    # and then the end of the link can only be seen once it resumes: wait
    # for the backend to be gone, then let the consumer go on.
    async def gone():
        return not await conn2.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
    await wait_until(gone, 10, f"backend {pid} exited")
    release.set()
    with pytest.raises((exc.AdminShutdownError,
                        exc.ConnectionDoesNotExistError)):
        async with asyncio.timeout(10):
            await task
    assert conn.is_closed()


async def test_copy_while_busy(conn, table):
    t = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(0.2)"))
    await asyncio.sleep(0)
    with pytest.raises(exc.InterfaceError, match="another operation"):
        await conn.copy_records_to_table(table, records=[(1, "a", 1.0)])
    await t


async def test_execute_copy_from_stdin_still_refused(conn, table):
    with pytest.raises(exc.QueryCanceledError, match="not supported"):
        await conn.execute(f"COPY {table} FROM STDIN")
    await _assert_usable(conn)
