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
    method: str                      # 'fetchval' | 'fetch' (more later)
    query: str
    args: tuple
    rows: int | str                  # expected rows per call, or SQL giving it
    check: Callable[[Any], None]
    count: Callable[[Any], int] = _len
    setup: tuple[str, ...] = ()      # run once per benchmark run, before all
    concurrency: int | None = None   # None: the --concurrency option
    stresses: str = ''
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


_PG_TYPE_COLS = ('typname, typnamespace, typowner, typlen, typbyval, '
                 'typcategory, typispreferred, typisdefined, typdelim, '
                 'typrelid, typelem, typarray')

WORKLOADS: list[Workload] = [
    Workload(
        id='W1', title='SELECT 1+1 (fetchval)',
        method='fetchval', query='SELECT 1+1', args=(),
        rows=1, count=_one, check=_check_w1,
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
]

BY_ID: dict[str, Workload] = {w.id: w for w in WORKLOADS}


def get(wid: str) -> Workload:
    try:
        return BY_ID[wid.upper()]
    except KeyError:
        raise SystemExit(f'unknown workload {wid!r}; known: '
                         + ', '.join(BY_ID)) from None
