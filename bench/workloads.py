"""Benchmark workloads (see shared BENCH.md, "Workloads").

A workload is data plus two small checks; it knows nothing about drivers.
Drivers (drivers.py) turn ``method`` + ``query`` + ``args`` into a call on
their own API.  To add a workload: append a ``Workload`` to ``WORKLOADS``; if
it needs a new ``method`` (``executemany``, ``copy_records_to_table``, a pool
acquire, ...), teach each driver in drivers.py that method in ``bind``.

Conventions:
  * ``query`` uses PostgreSQL's ``$n`` placeholders (asyncpg style); drivers
    with another paramstyle translate it.
  * ``rows`` is the expected row count of one call, either an int or a SQL
    string whose single value gives it (evaluated once by the harness after
    all setup SQL ran, so catalog-dependent counts stay right).
  * ``count(result)`` returns the number of rows a call produced; it runs
    after every timed call, so it must be trivial (``len``).
  * ``check(result)`` raises ``AssertionError`` on a wrong sample value; it
    runs on every connection's first call and on each coroutine's last call.
  * Results are indexed positionally (``row[0]``) so asyncpg ``Record``s,
    pgwire records and psycopg tuples all pass the same checks.
"""
from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable


def _one(result: Any) -> int:
    return 1


def _len(result: Any) -> int:
    return len(result)


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    method: str                      # 'fetchval' | 'fetch' | 'fetchrow'
    query: str
    args: tuple
    rows: int | str                  # expected rows per call, or SQL giving it
    check: Callable[[Any], None]
    count: Callable[[Any], int] = _len
    setup: tuple[str, ...] = ()      # run once per benchmark run, before all
    concurrency: int | None = None   # None: the --concurrency option
    stresses: str = ''
    pgbench: str = ''                # script for the pgbench ceiling, if any
    extra: dict = field(default_factory=dict)


def _check_w1(v: Any) -> None:
    assert v == 2, f'SELECT 1+1 returned {v!r}'


def _char(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def _check_w2(rows: Any) -> None:
    byname = {r[0]: r for r in rows}
    for name, typlen, byval, cat in (('int4', 4, True, 'N'),
                                     ('text', -1, False, 'S'),
                                     ('bool', 1, True, 'B')):
        assert name in byname, f'pg_type row {name!r} missing'
        r = byname[name]
        assert len(r) == 12, f'{name}: {len(r)} columns, want 12'
        assert r[3] == typlen, f'{name}.typlen = {r[3]!r}, want {typlen}'
        assert r[4] is byval, f'{name}.typbyval = {r[4]!r}, want {byval}'
        # "char" columns: bytes in asyncpg (and so pgwire), str in psycopg
        assert _char(r[5]) == cat, f'{name}.typcategory = {r[5]!r}, want {cat!r}'
        assert r[7] is True, f'{name}.typisdefined = {r[7]!r}'
        assert _char(r[8]) == ',', f'{name}.typdelim = {r[8]!r}'
    assert byname['int4'][10] == 0, 'int4.typelem should be 0'
    assert byname['int4'][11] == 1007, 'int4.typarray should be 1007'


def _check_w3(rows: Any) -> None:
    assert rows[0][0] == 1, f'first row {rows[0][0]!r}, want 1'
    assert rows[499][0] == 500, f'row 500 is {rows[499][0]!r}'
    assert rows[-1][0] == 1000, f'last row {rows[-1][0]!r}, want 1000'
    assert type(rows[-1][0]) is int, f'{type(rows[-1][0])} is not int'


def _check_w4(rows: Any) -> None:
    seen = set()
    for r in rows:
        b = bytes(r[0])     # bytes everywhere; bytes() also takes memoryview
        assert len(b) == W4_SIZE, f'bytea of {len(b)} bytes, want {W4_SIZE}'
        i = w4_row_of(b[0])
        assert b == w4_bytes(i), f'bytea row {i}: wrong content {b[:16]!r}...'
        seen.add(i)
    assert seen == set(range(1, W4_ROWS + 1)), 'bytea rows missing/duplicated'


def _check_w5(rows: Any) -> None:
    seen = set()
    for r in rows:
        a = list(r[0])
        assert len(a) == W5_LEN, f'int[] of {len(a)} elements, want {W5_LEN}'
        i = abs(a[0]) // W5_LEN
        assert a == w5_array(i), f'int[] row {i}: wrong content {a[:4]!r}...'
        assert all(type(x) is int for x in a), f'int[] row {i}: not all int'
        seen.add(i)
    assert seen == set(range(W5_ROWS)), 'int[] rows missing/duplicated'


def _check_w9(rows: Any) -> None:
    byid = {r[0]: r for r in rows}
    assert sorted(byid) == list(range(1, W9_ROWS + 1)), 'ids not 1..1000'
    for i in W9_SAMPLES:
        _check_w9_row(byid[i], i)


def _check_w9_row(r: Any, i: int) -> None:
    """Row id=i of bench_types as a driver returned it."""
    want = w9_row(i)
    assert len(r) == len(W9_COLUMNS), f'{len(r)} columns, want 10'
    got = tuple(r)
    for k, (col, typ) in enumerate(W9_COLUMNS):
        g, w = got[k], want[k]
        # representation differences between drivers, normalized:
        if typ == 'uuid':       # uuid.UUID / asyncpg's UUID / str (psqlpy)
            g, w = str(g), str(w)
        elif typ == 'jsonb':    # str (asyncpg, pgwire) / dict (psycopg, psqlpy)
            if isinstance(g, (str, bytes)):
                try:
                    g = json.loads(g)
                except ValueError as e:
                    raise AssertionError(
                        f'id {i} {col}: bad JSON {got[k]!r}: {e}') from None
        elif typ == 'int4[]':   # list (asyncpg, pgwire, psycopg, psqlpy)
            g = list(g)
        assert g == w, f'id {i} {col} ({typ}) = {got[k]!r}, want {w!r}'
        if typ in ('int8', 'bool', 'float8', 'text'):
            assert type(g) is type(w), \
                f'id {i} {col}: {type(g).__name__}, want {type(w).__name__}'
        if typ == 'timestamptz':
            assert g.utcoffset() is not None, f'id {i} {col}: naive {g!r}'


# --- W4/W5/W9 data: made once by the harness (setup SQL), deterministic, so
# --- the checks can recompute any row in Python.

W4_ROWS, W4_SIZE = 100, 1000


def w4_bytes(i: int) -> bytes:
    """Row i (1..100) of bench_bytea: byte j is (7*i + 13*j) mod 256."""
    return bytes((7 * i + 13 * j) % 256 for j in range(W4_SIZE))


def w4_row_of(first_byte: int) -> int:
    return first_byte * 183 % 256    # 183 = 7^-1 mod 256


W5_ROWS, W5_LEN = 100, 100


def w5_array(i: int) -> list[int]:
    """Row i (0..99) of bench_int_arrays: element k is ±(100*i + k)."""
    return [(W5_LEN * i + k) * (-1 if k % 2 else 1) for k in range(W5_LEN)]


W9_ROWS = 1000
W9_COLUMNS = (('id', 'int8'), ('t', 'text'), ('ts', 'timestamptz'),
              ('n', 'numeric'), ('u', 'uuid'), ('b', 'bool'), ('f', 'float8'),
              ('j', 'jsonb'), ('d', 'date'), ('a', 'int4[]'))
W9_SAMPLES = (1, 2, 3, 7, 8, 100, 499, 500, 501, 999, 1000)
_UTC = datetime.timezone.utc


def w9_row(i: int) -> tuple:
    """Row id=i (1..1000) of bench_types, as Python values (see the SQL)."""
    return (
        i,
        f'row {i} ünïcødé € ' + 'x' * (i % 37),
        datetime.datetime(2020, 1, 1, tzinfo=_UTC)
        + datetime.timedelta(seconds=3661 * i, microseconds=123 * i),
        (decimal.Decimal('1234567.8912') * (i - 500)).quantize(
            decimal.Decimal('0.0001')),
        uuid.UUID(hashlib.md5(str(i).encode()).hexdigest()),
        i % 3 == 0,
        i * 1.1 - 500.0,
        {'i': i, 'name': f'row {i}', 'tags': [i % 7, 'x'],
         'nested': {'even': i % 2 == 0}},
        datetime.date(2000, 1, 1) + datetime.timedelta(days=17 * i),
        [(1000 * i + k) * (-1 if k % 2 else 1) for k in range(i % 8)],
    )


_W4_SETUP = (
    'CREATE TABLE IF NOT EXISTS bench_bytea (b bytea NOT NULL)',
    # byte j of row i = (7i + 13j) mod 256: every byte value, incl. 0x00
    'INSERT INTO bench_bytea (b) '
    'SELECT (SELECT string_agg(set_byte(\'\\x00\'::bytea, 0, '
    '(7 * i + 13 * j) % 256), \'\'::bytea ORDER BY j) '
    f'FROM generate_series(0, {W4_SIZE - 1}) j) '
    f'FROM generate_series(1, {W4_ROWS}) i '
    'WHERE NOT EXISTS (SELECT 1 FROM bench_bytea)',
)

_W5_SETUP = (
    'CREATE TABLE IF NOT EXISTS bench_int_arrays (a int4[] NOT NULL)',
    'INSERT INTO bench_int_arrays (a) '
    f'SELECT (SELECT array_agg(({W5_LEN} * i + k) '
    '* CASE WHEN k % 2 = 1 THEN -1 ELSE 1 END ORDER BY k) '
    f'FROM generate_series(0, {W5_LEN - 1}) k) '
    f'FROM generate_series(0, {W5_ROWS - 1}) i '
    'WHERE NOT EXISTS (SELECT 1 FROM bench_int_arrays)',
)

# W8 (point queries, later) will use the same table.  No NULLs anywhere, and
# no NULL array elements: psqlpy 0.13 cannot decode those.
_W9_SETUP = (
    'CREATE TABLE IF NOT EXISTS bench_types ('
    'id int8 PRIMARY KEY, t text NOT NULL, ts timestamptz NOT NULL, '
    'n numeric NOT NULL, u uuid NOT NULL, b bool NOT NULL, '
    'f float8 NOT NULL, j jsonb NOT NULL, d date NOT NULL, '
    'a int4[] NOT NULL)',
    'INSERT INTO bench_types (id, t, ts, n, u, b, f, j, d, a) '
    'SELECT i, '
    "'row ' || i || ' ünïcødé € ' || repeat('x', i % 37), "
    "timestamptz '2020-01-01 00:00:00+00' + (3661 * i) * interval '1 second' "
    "+ (123 * i) * interval '1 microsecond', "
    '((i - 500) * 1234567.8912)::numeric(18, 4), '
    'md5(i::text)::uuid, '
    'i % 3 = 0, '
    'i::float8 * 1.1::float8 - 500.0::float8, '
    "jsonb_build_object('i', i, 'name', 'row ' || i, "
    "'tags', jsonb_build_array(i % 7, 'x'), "
    "'nested', jsonb_build_object('even', i % 2 = 0)), "
    "date '2000-01-01' + 17 * i, "
    "coalesce((SELECT array_agg((1000 * i + k) "
    "* CASE WHEN k % 2 = 1 THEN -1 ELSE 1 END ORDER BY k) "
    "FROM generate_series(0, i % 8 - 1) k), '{}')::int4[] "
    f'FROM generate_series(1, {W9_ROWS}) i '
    'WHERE NOT EXISTS (SELECT 1 FROM bench_types)',
)


# W6/W7: writes.  UNLOGGED tables without indexes, so the server's WAL and
# index work do not hide the client's encode cost; they grow during a run
# (setup truncates them at the start of each run).
W6_ROWS, W7_ROWS = 1000, 10000
W67_COLUMNS = ('id', 'name', 'score', 'flag', 'ts', 'qty', 'price')
W67_TYPES = ('int8', 'text', 'float8', 'bool', 'timestamptz', 'int4',
             'numeric')


def w67_row(i: int) -> tuple:
    return (i, f'item {i} ünï', i * 0.25, i % 2 == 0,
            datetime.datetime(2024, 1, 1, tzinfo=_UTC)
            + datetime.timedelta(seconds=i),
            i % 1000, decimal.Decimal(i % 100000) / 100)


def _w67_setup(table: str) -> tuple:
    return (f'CREATE UNLOGGED TABLE IF NOT EXISTS {table} ('
            'id int8, name text, score float8, flag bool, ts timestamptz, '
            'qty int4, price numeric(12, 2))',
            f'TRUNCATE {table}')


def _count_w6(result: Any) -> int:
    return W6_ROWS


def _check_w6(result: Any) -> None:
    assert result is None or isinstance(result, (str, int)), \
        f'executemany returned {result!r}'


def _count_w7(result: Any) -> int:
    return int(str(result).rsplit(' ', 1)[-1])


def _check_w7(result: Any) -> None:
    assert _count_w7(result) == W7_ROWS, f'COPY reported {result!r}'


# W8/W11: the point query on bench_types through a pool.  Each call asks
# for the next id (1..1000, round robin per client), so the check can
# recompute the whole row.
W8_QUERY = ('SELECT ' + ', '.join(c for c, _ in W9_COLUMNS)
            + ' FROM bench_types WHERE id = $1')


def _check_w8(row: Any) -> None:
    assert row is not None, 'no row'
    _check_w9_row(row, int(row[0]))


# W12: ten fetchval on one connection per call, each with its own argument,
# so the check sees every answer in its place (submission order).
W12_N = 10
W12_QUERY = 'SELECT $1::int4 + 1'


def _check_w12(vals: Any) -> None:
    assert list(vals) == [i + 1 for i in range(W12_N)], \
        f'gathered fetchvals returned {vals!r}'


# W13: a 50-statement batch of single-row INSERTs (W6's row shape) into an
# UNLOGGED table, truncated at setup.
W13_N = 50


def _check_w13(results: Any) -> None:
    # a status tag (asyncpg, pgwire), a rowcount (psycopg) or a QueryResult
    # list (psqlpy, normalized by its driver to the tag)
    assert len(results) == W13_N, f'{len(results)} results, want {W13_N}'
    for r in results:
        assert r in ('INSERT 0 1', 1), f'batch statement returned {r!r}'


_PG_TYPE_COLS = ('typname, typnamespace, typowner, typlen, typbyval, '
                 'typcategory, typispreferred, typisdefined, typdelim, '
                 'typrelid, typelem, typarray')

WORKLOADS: list[Workload] = [
    Workload(
        id='W1', title='SELECT 1+1 (fetchval)',
        method='fetchval', query='SELECT 1+1', args=(),
        rows=1, count=_one, check=_check_w1,
        pgbench='SELECT 1+1;\n',
        stresses='fixed per-query cost: event loop, syscalls, future'),
    Workload(
        id='W2', title='pg_type, 12 columns (fetch)',
        method='fetch',
        query=(f'SELECT {_PG_TYPE_COLS} FROM pg_type '
               'WHERE typtypmod = $1 AND typisdefined = $2'),
        args=(-1, True),
        rows='SELECT count(*) FROM pg_type '
             'WHERE typtypmod = -1 AND typisdefined = true',
        check=_check_w2,
        stresses='mixed small-type row decode'),
    Workload(
        id='W3', title='generate_series 1000 ints (fetch)',
        method='fetch', query='SELECT i FROM generate_series(1, $1) AS i',
        args=(1000,), rows=1000, check=_check_w3,
        stresses='per-Record cost'),
    Workload(
        id='W4', title='100 rows × 1000-byte bytea (fetch)',
        method='fetch', query='SELECT b FROM bench_bytea', args=(),
        rows=W4_ROWS, check=_check_w4, setup=_W4_SETUP,
        stresses='buffer path'),
    Workload(
        id='W5', title='100 rows × int4[100] (fetch)',
        method='fetch', query='SELECT a FROM bench_int_arrays', args=(),
        rows=W5_ROWS, check=_check_w5, setup=_W5_SETUP,
        stresses='array decode'),
    Workload(
        id='W6', title='executemany INSERT 1000 rows × 7 params',
        method='executemany',
        query=('INSERT INTO bench_w6 (' + ', '.join(W67_COLUMNS)
               + ') VALUES ($1, $2, $3, $4, $5, $6, $7)'),
        args=(), rows=W6_ROWS, count=_count_w6, check=_check_w6,
        setup=_w67_setup('bench_w6'),
        extra={'rows': [w67_row(i) for i in range(W6_ROWS)]},
        stresses='parameter encode + pipelined Bind/Execute'),
    Workload(
        id='W7', title='copy_records_to_table 10,000 rows × 7 cols',
        method='copy_records_to_table', query='', args=(),
        rows=W7_ROWS, count=_count_w7, check=_check_w7,
        setup=_w67_setup('bench_w7'),
        extra={'table': 'bench_w7', 'columns': W67_COLUMNS,
               'types': W67_TYPES,
               'rows': [w67_row(i) for i in range(W7_ROWS)]},
        stresses='binary COPY encode'),
    Workload(
        id='W8', title='point query, 10 types, via pool.acquire()',
        method='pool_fetchrow', query=W8_QUERY, args=(),
        rows=1, count=_one, check=_check_w8, setup=_W9_SETUP,
        extra={'pool': 'concurrency', 'ids': W9_ROWS},
        stresses='real OLTP codecs + pool acquire/release'),
    Workload(
        id='W10', title='connect + SCRAM-SHA-256 auth + close',
        method='connect_close', query='', args=(),
        rows=1, count=_one, check=lambda r: None,
        stresses='connection setup: socket, startup, SCRAM (PBKDF2 4096 '
                 'rounds), close'),
    Workload(
        id='W11', title='200 tasks sharing a pool of 10 (pool.fetchrow)',
        method='pool_shortcut_fetchrow', query=W8_QUERY, args=(),
        rows=1, count=_one, check=_check_w8, setup=_W9_SETUP,
        concurrency=200, extra={'pool': 10, 'ids': W9_ROWS},
        stresses='pool contention and hand-over'),
    Workload(
        id='W9', title='1000 rows × 10 types (fetch)',
        method='fetch',
        query=('SELECT ' + ', '.join(c for c, _ in W9_COLUMNS)
               + ' FROM bench_types WHERE id <= $1'),
        args=(W9_ROWS,), rows=W9_ROWS, check=_check_w9, setup=_W9_SETUP,
        stresses='codec cost under volume: int8, text, timestamptz, '
                 'numeric, uuid, bool, float8, jsonb, date, int4[]'),
    Workload(
        id='W12', title='gather of 10 fetchval on one connection',
        method='gather_fetchval', query=W12_QUERY, args=(),
        rows=W12_N, check=_check_w12,
        extra={'args': tuple(range(W12_N)), 'pipeline': True},
        stresses='pipelining: 10 queries in one round trip (pgwire '
                 'pipeline=True, psycopg pipeline mode, psqlpy concurrent '
                 'calls) against 10 sequential awaits (asyncpg)'),
    Workload(
        id='W13', title='50-statement batch of INSERTs (7 params)',
        method='batch_execute',
        query=('INSERT INTO bench_w13 (' + ', '.join(W67_COLUMNS)
               + ') VALUES ($1, $2, $3, $4, $5, $6, $7)'),
        args=(), rows=W13_N, check=_check_w13,
        setup=_w67_setup('bench_w13'),
        extra={'rows': [w67_row(i) for i in range(W13_N)]},
        stresses='batched round trips: one explicit batch (pgwire and '
                 'psycopg conn.pipeline(), psqlpy Transaction.pipeline) '
                 'against 50 sequential awaits (asyncpg)'),
]

BY_ID: dict[str, Workload] = {w.id: w for w in WORKLOADS}


def get(wid: str) -> Workload:
    try:
        return BY_ID[wid.upper()]
    except KeyError:
        raise SystemExit(f'unknown workload {wid!r}; known: '
                         + ', '.join(BY_ID)) from None
