"""Benchmark drivers: one small class per client library.

A driver is constructed with no arguments (its constructor imports the
library, so an ImportError there means "driver not available") and offers:

    info()                  -> dict: version, module path, notes on settings
    await connect(dsn)      -> a connection object
    await close(conn)
    bind(conn, workload)    -> zero-argument callable returning an awaitable
                               that performs ONE call of the workload and
                               returns its fully materialized result
    await query(conn, sql)  -> list of tuples (harness use: info, setup)

``bind`` is called once per connection, outside the timed loop, so the
per-call path is just ``await fn()``.  New workload methods (executemany,
copy_records_to_table, pool acquire, connect+close, ...) are added by
extending each driver's ``bind``; a driver that does not support a method
raises ``Unsupported`` and the harness reports it as such.

Fairness (shared BENCH.md, Method 6): each driver keeps its own defaults,
and where a choice had to be made it is written in ``info()['settings']``.
"""
from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from typing import Any, Awaitable, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class Unsupported(Exception):
    """The driver has no way to run this workload method."""


def _import_pgwire():
    """Import pgwire from the working tree; fall back to an installed copy.

    The working tree wins so that ``python setup.py build_ext --inplace``
    followed by a bench run measures the code being worked on.
    """
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    try:
        mod = importlib.import_module('pgwire')
        if not hasattr(mod, 'connect'):
            raise ImportError(
                f'pgwire at {getattr(mod, "__file__", "?")} has no connect() '
                '(C extension not built, or API not written yet)')
        return mod
    except ImportError as first:
        for name in [n for n in sys.modules
                     if n == 'pgwire' or n.startswith('pgwire.')]:
            del sys.modules[name]
        sys.path.remove(REPO)
        try:
            mod = importlib.import_module('pgwire')
        except ImportError:
            raise first from None
        if not hasattr(mod, 'connect'):
            raise first
        return mod


class AsyncpgAPI:
    """asyncpg, and anything with asyncpg's API (pgwire)."""

    name = 'asyncpg'

    def __init__(self) -> None:
        self.mod = importlib.import_module('asyncpg')

    def info(self) -> dict:
        return {'version': getattr(self.mod, '__version__', '?'),
                'file': getattr(self.mod, '__file__', '?'),
                'settings': 'defaults (binary codecs, statement cache on)'}

    async def connect(self, dsn: str) -> Any:
        return await self.mod.connect(dsn)

    async def close(self, conn: Any) -> None:
        await conn.close()

    def bind(self, conn: Any, wl) -> Callable[[], Awaitable[Any]]:
        if wl.method == 'fetchval':
            return functools.partial(conn.fetchval, wl.query, *wl.args)
        if wl.method == 'fetch':
            return functools.partial(conn.fetch, wl.query, *wl.args)
        if wl.method == 'fetchrow':
            return functools.partial(conn.fetchrow, wl.query, *wl.args)
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    async def query(self, conn: Any, sql: str) -> list[tuple]:
        return [tuple(r) for r in await conn.fetch(sql)]

    async def execute(self, conn: Any, sql: str) -> None:
        await conn.execute(sql)


class Pgwire(AsyncpgAPI):
    """pgwire: same calls as asyncpg, by design."""

    name = 'pgwire'

    def __init__(self) -> None:
        self.mod = _import_pgwire()

    def info(self) -> dict:
        d = super().info()
        d['settings'] = 'defaults'
        return d


def _dollar_to_pyformat(query: str, args: tuple) -> tuple[str, tuple]:
    """'$2 .. $1' -> '%s .. %s' with args reordered to match."""
    order: list[int] = []

    def sub(m: re.Match) -> str:
        order.append(int(m.group(1)) - 1)
        return '%s'

    q = re.sub(r'\$(\d+)', sub, query.replace('%', '%%'))
    return q, tuple(args[i] for i in order)


class Psycopg:
    """psycopg 3, async connections, C implementation when installed."""

    name = 'psycopg'

    def __init__(self) -> None:
        self.mod = importlib.import_module('psycopg')

    def info(self) -> dict:
        return {'version': self.mod.__version__,
                'file': self.mod.__file__,
                'impl': self.mod.pq.__impl__,
                'settings': ('autocommit (no implicit BEGIN, like asyncpg); '
                             'prepare=True on every execute; one reused '
                             'cursor per connection; default text results; '
                             'tuple rows')}

    async def connect(self, dsn: str) -> Any:
        return await self.mod.AsyncConnection.connect(dsn, autocommit=True)

    async def close(self, conn: Any) -> None:
        await conn.close()

    def bind(self, conn: Any, wl) -> Callable[[], Awaitable[Any]]:
        q, a = _dollar_to_pyformat(wl.query, wl.args)
        cur = conn.cursor()
        if wl.method == 'fetchval':
            async def fetchval():
                await cur.execute(q, a, prepare=True)
                return (await cur.fetchone())[0]
            return fetchval
        if wl.method == 'fetch':
            async def fetch():
                await cur.execute(q, a, prepare=True)
                return await cur.fetchall()
            return fetch
        if wl.method == 'fetchrow':
            async def fetchrow():
                await cur.execute(q, a, prepare=True)
                return await cur.fetchone()
            return fetchrow
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    async def query(self, conn: Any, sql: str) -> list[tuple]:
        cur = await conn.execute(sql)
        return await cur.fetchall() if cur.description else []

    async def execute(self, conn: Any, sql: str) -> None:
        await conn.execute(sql)


class Psqlpy:
    """psqlpy (Rust, tokio).  Note: it runs its own runtime threads, whose
    CPU time is part of process_time() and so of CPU per query."""

    name = 'psqlpy'

    def __init__(self) -> None:
        self.mod = importlib.import_module('psqlpy')

    def info(self) -> dict:
        try:
            from importlib.metadata import version
            v = version('psqlpy')
        except Exception:  # pragma: no cover
            v = '?'
        return {'version': v, 'file': self.mod.__file__,
                'settings': ('single connections via psqlpy.connect(); '
                             'prepared=True (its default); results '
                             'materialized with result(as_tuple=True)')}

    async def connect(self, dsn: str) -> Any:
        return await self.mod.connect(dsn=dsn)

    async def close(self, conn: Any) -> None:
        r = conn.close()
        if hasattr(r, '__await__'):
            await r

    def bind(self, conn: Any, wl) -> Callable[[], Awaitable[Any]]:
        q, a = wl.query, list(wl.args)
        if wl.method == 'fetchval':
            return functools.partial(conn.fetch_val, q, a)
        if wl.method == 'fetch':
            async def fetch():
                return (await conn.fetch(q, a)).result(as_tuple=True)
            return fetch
        if wl.method == 'fetchrow':
            async def fetchrow():
                return (await conn.fetch_row(q, a)).result(as_tuple=True)
            return fetchrow
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    async def query(self, conn: Any, sql: str) -> list[tuple]:
        return (await conn.fetch(sql, prepared=False)).result(as_tuple=True)

    async def execute(self, conn: Any, sql: str) -> None:
        await conn.execute(sql, prepared=False)


DRIVERS: dict[str, type] = {
    'pgwire': Pgwire,
    'asyncpg': AsyncpgAPI,
    'psycopg': Psycopg,
    'psqlpy': Psqlpy,
}

REFERENCE = 'asyncpg'   # every ratio is <driver> / asyncpg


def load(name: str):
    try:
        cls = DRIVERS[name]
    except KeyError:
        raise SystemExit(f'unknown driver {name!r}; known: '
                         + ', '.join(DRIVERS)) from None
    return cls()
