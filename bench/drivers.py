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

Optional hooks (used by the floor): ``count(result)``/``check(result)``
replace the workload's own (the floor's result is a DataRow count), and
``await backend_pid(conn)`` replaces ``SELECT pg_backend_pid()``.
``ceiling = True`` marks the floor and pgbench: they are reported as "% of
ceiling", never as peers.  ``external = True`` (pgbench) means worker.py runs
the driver as a subprocess instead of on an event loop.  ``face = 'sync'``
(pgwire.sync, psycopg3, psycopg2, pg8000: ``run.py --face sync``) marks a
blocking driver: the same methods without ``await``, driven by threads.

``bind`` is called once per connection, outside the timed loop, so the
per-call path is just ``await fn()``.  New workload methods (executemany,
copy_records_to_table, pool acquire, connect+close, ...) are added by
extending each driver's ``bind``; a driver that does not support a method
raises ``Unsupported`` and the harness reports it as such.

Fairness (shared BENCH.md, Method 6): each driver keeps its own defaults,
and where a choice had to be made it is written in ``info()['settings']``.
"""
from __future__ import annotations

import asyncio
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

    def bind_connect(self, dsn: str) -> Callable[[], Awaitable[Any]]:
        connect = self.mod.connect

        async def connect_close():
            c = await connect(dsn)
            await c.close()
        return connect_close

    async def create_pool(self, dsn: str, size: int) -> Any:
        return await self.mod.create_pool(dsn, min_size=size, max_size=size)

    async def close_pool(self, pool: Any) -> None:
        await pool.close()

    async def pool_pids(self, pool: Any, size: int) -> list[int]:
        conns = [await pool.acquire() for _ in range(size)]
        try:
            return [c.get_server_pid() for c in conns]
        finally:
            for c in conns:
                await pool.release(c)

    def bind(self, conn: Any, wl, client: int = 0
             ) -> Callable[[], Awaitable[Any]]:
        if wl.method in ('pool_fetchrow', 'pool_shortcut_fetchrow'):
            q, next_id = wl.query, _id_cycle(wl, client)
            pool = conn
            if wl.method == 'pool_shortcut_fetchrow':
                async def shortcut():
                    return await pool.fetchrow(q, next_id())
                return shortcut

            async def acquire():
                async with pool.acquire() as c:
                    return await c.fetchrow(q, next_id())
            return acquire
        if wl.method == 'fetchval':
            return functools.partial(conn.fetchval, wl.query, *wl.args)
        if wl.method == 'fetch' and wl.rows_as:
            return self.bind_shaped_fetch(conn, wl)
        if wl.method == 'fetch':
            return functools.partial(conn.fetch, wl.query, *wl.args)
        if wl.method == 'fetchrow':
            return functools.partial(conn.fetchrow, wl.query, *wl.args)
        if wl.method == 'executemany':
            return functools.partial(conn.executemany, wl.query,
                                     wl.extra['rows'])
        if wl.method == 'copy_records_to_table':
            return functools.partial(
                conn.copy_records_to_table, wl.extra['table'],
                records=wl.extra['rows'], columns=list(wl.extra['columns']))
        if wl.method in ('gather_fetchval', 'batch_execute'):
            return self.bind_batch(conn, wl)
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    def bind_shaped_fetch(self, conn: Any, wl
                          ) -> Callable[[], Awaitable[Any]]:
        """asyncpg: Records converted in Python, as applications do."""
        q, a = wl.query, wl.args
        if wl.rows_as == 'dict':
            async def fetch_dicts():
                return [dict(r) for r in await conn.fetch(q, *a)]
            return fetch_dicts
        import workloads
        struct = workloads.row_struct(wl)

        async def fetch_structs():
            return [struct(*r) for r in await conn.fetch(q, *a)]
        return fetch_structs

    def bind_batch(self, conn: Any, wl) -> Callable[[], Awaitable[Any]]:
        """W12/W13 on asyncpg: one connection runs one query at a time,
        so the ten fetchval (the fifty INSERTs) are awaited in turn."""
        q = wl.query
        if wl.method == 'gather_fetchval':
            fetchval, args = conn.fetchval, wl.extra['args']

            async def sequential_fetchval():
                return [await fetchval(q, a) for a in args]
            return sequential_fetchval
        execute, rows = conn.execute, wl.extra['rows']

        async def sequential_execute():
            return [await execute(q, *r) for r in rows]
        return sequential_execute

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
        d['settings'] = ('defaults; W12: connect(pipeline=True) and '
                         'asyncio.gather of the ten fetchval; W13: '
                         'async with conn.pipeline() around a gather of the '
                         'fifty execute (one batch, one Sync)')
        return d

    def bind_shaped_fetch(self, conn: Any, wl
                          ) -> Callable[[], Awaitable[Any]]:
        """pgwire: the rows made in C by a row factory."""
        rows = importlib.import_module('pgwire.rows')
        if wl.rows_as == 'dict':
            factory = rows.dict_row
        else:
            import workloads
            factory = rows.struct_row(workloads.row_struct(wl))
        return functools.partial(conn.fetch, wl.query, *wl.args,
                                 row_factory=factory)

    async def connect_for(self, dsn: str, wl) -> Any:
        """W12 asks for a pipelined connection.  Until pipelining lands
        connect() refuses the option: the run is reported FAILED (connect),
        the other drivers run on."""
        if wl.extra.get('pipeline'):
            return await self.mod.connect(dsn, pipeline=True)
        return await self.mod.connect(dsn)

    def bind_batch(self, conn: Any, wl) -> Callable[[], Awaitable[Any]]:
        q, gather = wl.query, asyncio.gather
        if wl.method == 'gather_fetchval':
            fetchval, args = conn.fetchval, wl.extra['args']

            async def gathered_fetchval():
                return await gather(*[fetchval(q, a) for a in args])
            return gathered_fetchval
        execute, rows = conn.execute, wl.extra['rows']

        async def batch_execute():
            async with conn.pipeline():
                return await gather(*[execute(q, *r) for r in rows])
        return batch_execute


def _id_cycle(wl, client: int) -> Callable[[], int]:
    """Ids 1..wl.extra['ids'] round robin, each client starting apart."""
    n = wl.extra['ids']
    state = [client * 37 % n]

    def next_id() -> int:
        state[0] = state[0] % n + 1
        return state[0]
    return next_id


def _dollar_to_pyformat(query: str, args: tuple) -> tuple[str, tuple]:
    """'$2 .. $1' -> '%s .. %s' with args reordered to match."""
    order: list[int] = []

    def sub(m: re.Match) -> str:
        order.append(int(m.group(1)) - 1)
        return '%s'

    q = re.sub(r'\$(\d+)', sub, query.replace('%', '%%'))
    return q, tuple(args[i] for i in order if i < len(args))


# The reset asyncpg's pool runs on every release (Connection.reset():
# get_reset_query() after a ROLLBACK if a transaction is open); psycopg_pool
# runs none by default (it only rolls back an open transaction), so the
# pool workloads give it this one.
POOL_RESET_QUERY = ('SELECT pg_advisory_unlock_all();\nCLOSE ALL;\n'
                    'UNLISTEN *;\nRESET ALL;')


async def _psycopg_reset(conn: Any) -> None:
    await conn.execute(POOL_RESET_QUERY)


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
                             'tuple rows; pool: reset= runs asyncpg\'s reset '
                             'query on every return (psycopg_pool runs '
                             'none by default); W12/W13: conn.pipeline()')}

    async def connect(self, dsn: str) -> Any:
        return await self.mod.AsyncConnection.connect(dsn, autocommit=True)

    async def close(self, conn: Any) -> None:
        await conn.close()

    def _row_factory(self, wl) -> dict:
        """The cursor's row_factory for wl's row shape: psycopg's
        dict_row, or class_row(T) for a msgspec Struct T."""
        if not wl.rows_as:
            return {}
        rows = importlib.import_module('psycopg.rows')
        if wl.rows_as == 'dict':
            return {'row_factory': rows.dict_row}
        import workloads
        return {'row_factory': rows.class_row(workloads.row_struct(wl))}

    def bind_connect(self, dsn: str) -> Callable[[], Awaitable[Any]]:
        connect = self.mod.AsyncConnection.connect

        async def connect_close():
            c = await connect(dsn, autocommit=True)
            await c.close()
        return connect_close

    async def create_pool(self, dsn: str, size: int) -> Any:
        import psycopg_pool
        pool = psycopg_pool.AsyncConnectionPool(
            dsn, min_size=size, max_size=size, open=False,
            kwargs={'autocommit': True}, reset=_psycopg_reset)
        await pool.open(wait=True)
        return pool

    async def close_pool(self, pool: Any) -> None:
        await pool.close()

    async def pool_pids(self, pool: Any, size: int) -> list[int]:
        conns = [await pool.getconn() for _ in range(size)]
        try:
            return [c.info.backend_pid for c in conns]
        finally:
            for c in conns:
                await pool.putconn(c)

    def bind(self, conn: Any, wl, client: int = 0
             ) -> Callable[[], Awaitable[Any]]:
        if wl.method in ('pool_fetchrow', 'pool_shortcut_fetchrow'):
            # psycopg_pool has no shortcut methods: both acquire
            q, _ = _dollar_to_pyformat(wl.query, (0,))
            next_id, pool = _id_cycle(wl, client), conn

            async def acquire():
                async with pool.connection() as c:
                    cur = await c.execute(q, (next_id(),), prepare=True)
                    return await cur.fetchone()
            return acquire
        q, a = _dollar_to_pyformat(wl.query, wl.args)
        cur = conn.cursor(**self._row_factory(wl))
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
        if wl.method == 'executemany':
            # psycopg >= 3.1 pipelines executemany on its own
            q1, _ = _dollar_to_pyformat(wl.query, tuple(range(99)))
            rows = wl.extra['rows']

            async def executemany():
                await cur.executemany(q1, rows)
            return executemany
        if wl.method == 'copy_records_to_table':
            cols = ', '.join(wl.extra['columns'])
            stmt = (f"COPY {wl.extra['table']} ({cols}) FROM STDIN "
                    '(FORMAT BINARY)')
            types, rows = list(wl.extra['types']), wl.extra['rows']

            async def copy():
                async with cur.copy(stmt) as cp:
                    cp.set_types(types)
                    for r in rows:
                        await cp.write_row(r)
                return f'COPY {cur.rowcount}'
            return copy
        if wl.method == 'gather_fetchval':
            # pipeline mode: the executes are queued, the block's end syncs
            args = [(x,) for x in wl.extra['args']]
            execute = conn.execute

            async def pipelined_fetchval():
                async with conn.pipeline():
                    curs = [await execute(q, x, prepare=True) for x in args]
                return [(await c.fetchone())[0] for c in curs]
            return pipelined_fetchval
        if wl.method == 'batch_execute':
            q1, _ = _dollar_to_pyformat(wl.query, tuple(range(99)))
            rows, execute = wl.extra['rows'], conn.execute

            async def pipelined_execute():
                async with conn.pipeline():
                    curs = [await execute(q1, r, prepare=True) for r in rows]
                return [c.rowcount for c in curs]
            return pipelined_execute
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
                             'materialized with result(as_tuple=True); '
                             'pool: ConnRecyclingMethod.Clean (reset on '
                             'reuse; default Fast runs none); W12: '
                             'asyncio.gather on one connection; W13: '
                             'Transaction.pipeline')}

    async def connect(self, dsn: str) -> Any:
        return await self.mod.connect(dsn=dsn)

    async def close(self, conn: Any) -> None:
        r = conn.close()
        if hasattr(r, '__await__'):
            await r

    def bind_connect(self, dsn: str) -> Callable[[], Awaitable[Any]]:
        connect = self.mod.connect

        async def connect_close():
            c = await connect(dsn=dsn)
            r = c.close()
            if hasattr(r, '__await__'):
                await r
        return connect_close

    async def create_pool(self, dsn: str, size: int) -> Any:
        # Clean: the session reset on every reuse (its default, Fast, only
        # checks that the connection is open)
        return self.mod.ConnectionPool(
            dsn=dsn, max_db_pool_size=size,
            conn_recycling_method=self.mod.ConnRecyclingMethod.Clean)

    async def close_pool(self, pool: Any) -> None:
        r = pool.close()
        if hasattr(r, '__await__'):
            await r

    async def pool_pids(self, pool: Any, size: int) -> list[int]:
        return []     # its pool opens connections lazily; no server CPU

    def bind(self, conn: Any, wl, client: int = 0
             ) -> Callable[[], Awaitable[Any]]:
        if wl.method in ('pool_fetchrow', 'pool_shortcut_fetchrow'):
            # no shortcut methods on psqlpy's pool: both acquire
            q, next_id, pool = wl.query, _id_cycle(wl, client), conn

            async def acquire():
                async with pool.acquire() as c:
                    return (await c.fetch_row(q, [next_id()])).result(
                        as_tuple=True)
            return acquire
        q, a = wl.query, list(wl.args)
        if wl.method == 'fetchval':
            return functools.partial(conn.fetch_val, q, a)
        if wl.method == 'fetch' and wl.rows_as == 'dict':
            async def fetch_dicts():    # psqlpy's own rows are dicts
                return (await conn.fetch(q, a)).result()
            return fetch_dicts
        if wl.rows_as:
            raise Unsupported(f'{self.name}: rows as {wl.rows_as}')
        if wl.method == 'fetch':
            async def fetch():
                return (await conn.fetch(q, a)).result(as_tuple=True)
            return fetch
        if wl.method == 'fetchrow':
            async def fetchrow():
                return (await conn.fetch_row(q, a)).result(as_tuple=True)
            return fetchrow
        if wl.method == 'executemany':
            rows = [list(r) for r in wl.extra['rows']]
            return functools.partial(conn.execute_many, q, rows)
        if wl.method == 'copy_records_to_table':
            table, rows = wl.extra['table'], wl.extra['rows']
            cols = list(wl.extra['columns'])

            async def copy():   # returns the row count
                return await conn.copy_records_to_table(table, rows, cols)
            return copy
        if wl.method == 'gather_fetchval':
            # concurrent calls on one connection (tokio-postgres pipelines
            # them on its client)
            fetch_val, args = conn.fetch_val, [[x] for x in wl.extra['args']]

            async def gathered_fetchval():
                return await asyncio.gather(*[fetch_val(q, a) for a in args])
            return gathered_fetchval
        if wl.method == 'batch_execute':
            # no pipeline on a Connection in psqlpy 0.13: a transaction's
            # pipeline(), which is one transaction like pgwire's batch
            queries = [(q, list(r)) for r in wl.extra['rows']]

            async def pipelined_execute():
                async with conn.transaction() as tr:
                    res = await tr.pipeline(queries)
                return ['INSERT 0 1' for _ in res]
            return pipelined_execute
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    async def query(self, conn: Any, sql: str) -> list[tuple]:
        return (await conn.fetch(sql, prepared=False)).result(as_tuple=True)

    async def execute(self, conn: Any, sql: str) -> None:
        await conn.execute(sql, prepared=False)


# ---------------------------------------------------------- sync face --
#
# ``python bench/run.py --face sync``: the blocking drivers.  Same interface
# as above minus ``await`` (connect, close, bind -> a plain callable, query,
# execute, backend_pid); ``face = 'sync'`` makes worker.py drive them with
# one thread per connection instead of coroutines on an event loop.

class PgwireSync:
    """pgwire.sync: asyncpg's calls without await, on the same C engine."""

    name = 'pgwire.sync'
    face = 'sync'

    def __init__(self) -> None:
        self.pgwire = _import_pgwire()
        self.mod = importlib.import_module('pgwire.sync')

    def info(self) -> dict:
        return {'version': getattr(self.pgwire, '__version__', '?'),
                'file': getattr(self.mod, '__file__', '?'),
                'settings': 'defaults (binary codecs, statement cache on); '
                            'executemany: one pipelined batch'}

    def connect(self, dsn: str) -> Any:
        return self.mod.connect(dsn)

    def close(self, conn: Any) -> None:
        conn.close()

    def backend_pid(self, conn: Any) -> int:
        return conn.get_server_pid()

    def bind(self, conn: Any, wl, client: int = 0) -> Callable[[], Any]:
        if wl.rows_as:
            raise Unsupported(f'{self.name}: rows as {wl.rows_as}')
        if wl.method == 'fetchval':
            return functools.partial(conn.fetchval, wl.query, *wl.args)
        if wl.method == 'fetch':
            return functools.partial(conn.fetch, wl.query, *wl.args)
        if wl.method == 'fetchrow':
            return functools.partial(conn.fetchrow, wl.query, *wl.args)
        if wl.method == 'executemany':
            return functools.partial(conn.executemany, wl.query,
                                     wl.extra['rows'])
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    def query(self, conn: Any, sql: str) -> list[tuple]:
        return [tuple(r) for r in conn.fetch(sql)]

    def execute(self, conn: Any, sql: str) -> None:
        conn.execute(sql)


class _DBAPICursor:
    """The shared bind() of the DB-API drivers: one reused cursor per
    connection, ``%s`` placeholders, rows as the driver's tuples."""

    face = 'sync'

    def _execute(self, cur: Any, q: str, a: tuple) -> None:
        cur.execute(q, a)

    def bind(self, conn: Any, wl, client: int = 0) -> Callable[[], Any]:
        if wl.rows_as:
            raise Unsupported(f'{self.name}: rows as {wl.rows_as}')
        q, a = _dollar_to_pyformat(wl.query, wl.args)
        cur = conn.cursor()
        execute = self._execute
        if wl.method == 'fetchval':
            def fetchval():
                execute(cur, q, a)
                return cur.fetchone()[0]
            return fetchval
        if wl.method == 'fetch':
            def fetch():
                execute(cur, q, a)
                return cur.fetchall()
            return fetch
        if wl.method == 'fetchrow':
            def fetchrow():
                execute(cur, q, a)
                return cur.fetchone()
            return fetchrow
        if wl.method == 'executemany':
            q1, _ = _dollar_to_pyformat(wl.query, tuple(range(99)))
            rows = wl.extra['rows']

            def executemany():
                cur.executemany(q1, rows)
            return executemany
        raise Unsupported(f'{self.name}: method {wl.method!r}')

    def close(self, conn: Any) -> None:
        conn.close()

    def query(self, conn: Any, sql: str) -> list[tuple]:
        cur = conn.cursor()
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        cur.close()
        return rows

    def execute(self, conn: Any, sql: str) -> None:
        cur = conn.cursor()
        cur.execute(sql)
        cur.close()


class Psycopg3Sync(_DBAPICursor):
    """psycopg 3, blocking connections, C implementation when installed:
    the reference of the sync face."""

    name = 'psycopg3'

    def __init__(self) -> None:
        self.mod = importlib.import_module('psycopg')

    def info(self) -> dict:
        return {'version': self.mod.__version__,
                'file': self.mod.__file__,
                'impl': self.mod.pq.__impl__,
                'settings': ('psycopg.Connection (blocking); autocommit; '
                             'prepare=True on every execute; one reused '
                             'cursor per connection; default text results; '
                             'tuple rows; executemany: its own (pipelined '
                             'since 3.1)')}

    def connect(self, dsn: str) -> Any:
        return self.mod.Connection.connect(dsn, autocommit=True)

    def backend_pid(self, conn: Any) -> int:
        return conn.info.backend_pid

    def _execute(self, cur: Any, q: str, a: tuple) -> None:
        cur.execute(q, a, prepare=True)


class Psycopg2(_DBAPICursor):
    """psycopg2 (psycopg2-binary): libpq, client-side parameter
    interpolation, text results."""

    name = 'psycopg2'

    def __init__(self) -> None:
        self.mod = importlib.import_module('psycopg2')

    def info(self) -> dict:
        return {'version': self.mod.__version__, 'file': self.mod.__file__,
                'settings': ('autocommit; defaults (parameters interpolated '
                             'client side, text results, no prepared '
                             'statements); one reused cursor per connection; '
                             'executemany: its own (one round trip per row)')}

    def connect(self, dsn: str) -> Any:
        conn = self.mod.connect(dsn)
        conn.autocommit = True
        return conn

    def backend_pid(self, conn: Any) -> int:
        return conn.get_backend_pid()


def _pg8000_params(dsn: str) -> dict:
    """pg8000 takes no DSN: a postgresql:// URI (host in the netloc or as
    ?host=, a directory meaning a unix socket) as its keywords."""
    from urllib.parse import parse_qs, unquote, urlsplit
    u = urlsplit(dsn)
    if u.scheme not in ('postgresql', 'postgres'):
        raise ValueError(f'pg8000 driver: dsn must be a postgresql:// URI, '
                         f'got {dsn!r}')
    userinfo, _, hostport = u.netloc.rpartition('@')
    user, _, password = userinfo.partition(':')
    host, port = hostport, ''
    if ':' in hostport and not hostport.endswith(']'):
        host, _, port = hostport.rpartition(':')
    qs = {k: v[-1] for k, v in parse_qs(u.query).items()}
    host = qs.get('host', unquote(host)) or '/var/run/postgresql'
    port = int(qs.get('port', port or 5432))
    kw: dict = {'user': unquote(qs.get('user', user)) or 'postgres',
                'database': unquote(u.path.lstrip('/')) or None}
    if password or 'password' in qs:
        kw['password'] = unquote(qs.get('password', password))
    if host.startswith('/'):
        kw['unix_sock'] = f'{host}/.s.PGSQL.{port}'
    else:
        kw['host'], kw['port'] = host, port
    return kw


class Pg8000(_DBAPICursor):
    """pg8000: pure Python, its DB-API module (pg8000.dbapi)."""

    name = 'pg8000'

    def __init__(self) -> None:
        self.top = importlib.import_module('pg8000')
        self.mod = importlib.import_module('pg8000.dbapi')

    def info(self) -> dict:
        return {'version': getattr(self.top, '__version__', '?'),
                'file': self.top.__file__,
                'settings': ('pg8000.dbapi; autocommit; defaults (its '
                             'own statement cache, text results); one reused '
                             'cursor per connection; executemany: its own '
                             '(one execute per row)')}

    def connect(self, dsn: str) -> Any:
        conn = self.mod.connect(**_pg8000_params(dsn))
        conn.autocommit = True
        return conn

    def backend_pid(self, conn: Any) -> int:
        return int(self.query(conn, 'SELECT pg_backend_pid()')[0][0])


# ------------------------------------------------------------ ceilings --

class Floor:
    """The no-decode floor (bench/floor.py): BufferedProtocol into a reused
    buffer, statement prepared once, one pre-encoded Bind/Execute/Sync per
    call, DataRows counted but never decoded.  Not a peer: a ceiling."""

    name = 'floor'
    ceiling = True

    def __init__(self) -> None:
        if HERE not in sys.path:
            sys.path.insert(0, HERE)
        self.mod = importlib.import_module('floor')

    def info(self) -> dict:
        return {'version': 'bench/floor.py', 'file': self.mod.__file__,
                'settings': ('trust auth only; BufferedProtocol reading into '
                             'one reused buffer; named statement prepared '
                             'once; one pre-encoded Bind/Execute/Sync per '
                             'call (text params, binary results); nothing '
                             'decoded: the first call per connection frames '
                             'and counts its DataRows (must equal '
                             'CommandComplete), later calls only look for '
                             'CommandComplete + ReadyForQuery at the end of '
                             'each read and take the row count from the tag')}

    @staticmethod
    def supports(wl) -> bool:
        return wl.method in ('fetchval', 'fetch', 'fetchrow')

    async def connect(self, dsn: str) -> Any:
        return await self.mod.FloorConnection.connect(dsn)

    async def close(self, conn: Any) -> None:
        await conn.close()

    def bind(self, conn: Any, wl) -> Callable[[], Awaitable[Any]]:
        if not self.supports(wl):
            raise Unsupported(f'{self.name}: method {wl.method!r}')
        # Parse/Describe/Sync goes out now; its ReadyForQuery comes before
        # the first call's, so nothing has to wait for it here.
        msg, _ = conn.prepare(wl.query, wl.args)
        # the whole per-call path: write + a future resolved by 'Z'
        return functools.partial(conn.proto.send, msg)

    # A call's result is its DataRow count: that is the row check, and there
    # are no values to check.
    @staticmethod
    def count(result: int) -> int:
        return result

    @staticmethod
    def check(result: int) -> None:
        pass

    async def backend_pid(self, conn: Any) -> int:
        return conn.proto.backend_pid

    async def query(self, conn: Any, sql: str) -> list[tuple]:
        raise Unsupported('floor decodes no values')

    async def execute(self, conn: Any, sql: str) -> None:
        await conn.simple(sql)


PGBENCH_CANDIDATES = ('/usr/lib/postgresql/15/bin/pgbench',)


def find_pgbench() -> str:
    """Debian's pgbench (postgresql package), else the newest one in
    /usr/lib/postgresql, else pgbench on PATH."""
    import glob
    import shutil
    for path in PGBENCH_CANDIDATES + tuple(sorted(
            glob.glob('/usr/lib/postgresql/*/bin/pgbench'), reverse=True)):
        if os.access(path, os.X_OK):
            return path
    path = shutil.which('pgbench')
    if path:
        return path
    raise ImportError('pgbench not found (Debian: apt-get install postgresql)')


class Pgbench:
    """pgbench (C, libpq): the ceiling a C client reaches on the same server.
    Not an asyncio driver: worker.py runs it as a subprocess
    (``pgbench -n -c <concurrency> -j 1 -T <seconds> -f <script>
    -M prepared <dsn>``) and parses its tps.  Only workloads with a
    ``pgbench`` script (W1) are run."""

    name = 'pgbench'
    ceiling = True
    external = True

    def __init__(self) -> None:
        self.path = find_pgbench()

    def info(self) -> dict:
        import subprocess
        v = subprocess.run([self.path, '--version'], capture_output=True,
                           text=True, timeout=30).stdout.strip()
        return {'version': v.removeprefix('pgbench ').strip() or '?',
                'file': self.path,
                'settings': ('-M prepared, -j 1 (one thread like the asyncio '
                             'clients), -c = concurrency, -n (no vacuum); '
                             'tps excludes connection time')}

    @staticmethod
    def supports(wl) -> bool:
        return bool(wl.pgbench)

    def command(self, dsn: str, script: str, seconds: float,
                concurrency: int) -> list[str]:
        # -T takes whole seconds: a 0.5 s warm-up becomes 1 s
        return [self.path, '-n', '-c', str(concurrency), '-j', '1',
                '-T', str(max(1, round(seconds))), '-f', script,
                '-M', 'prepared', dsn]

    @staticmethod
    def parse(out: str) -> dict:
        """tps, transactions, failed, latency average from pgbench's output."""
        def grab(pattern, conv=float):
            m = re.search(pattern, out, re.M)
            return conv(m.group(1)) if m else None
        return {
            'tps': grab(r'^tps = ([0-9.]+)'),
            'transactions': grab(
                r'^number of transactions actually processed: (\d+)', int),
            'failed': grab(r'^number of failed transactions: (\d+)', int) or 0,
            'latency_avg_ms': grab(r'^latency average = ([0-9.]+) ms'),
            'connection_ms': grab(r'^initial connection time = ([0-9.]+) ms'),
            'aborted': 'aborted' in out.lower(),
        }


DRIVERS: dict[str, type] = {
    'pgwire': Pgwire,
    'asyncpg': AsyncpgAPI,
    'psycopg': Psycopg,
    'psqlpy': Psqlpy,
    'floor': Floor,
    'pgbench': Pgbench,
    'pgwire.sync': PgwireSync,
    'psycopg3': Psycopg3Sync,
    'psycopg2': Psycopg2,
    'pg8000': Pg8000,
}

PEERS = ('pgwire', 'asyncpg', 'psycopg', 'psqlpy')   # the default --drivers
CEILINGS = ('pgbench', 'floor')                      # the default --ceilings

REFERENCE = 'asyncpg'   # every ratio is <driver> / asyncpg

# --face sync: the blocking drivers, psycopg 3 the reference
SYNC_PEERS = ('pgwire.sync', 'psycopg3', 'psycopg2', 'pg8000')
SYNC_CEILINGS = ('pgbench',)       # the floor is an asyncio client
SYNC_REFERENCE = 'psycopg3'        # every sync ratio is <driver> / psycopg3
SYNC_WORKLOADS = ('W1', 'W3', 'W6', 'W9')
# the sync drivers' import names, for "is it installed"
IMPORT_NAMES = {'pgwire.sync': 'pgwire', 'psycopg3': 'psycopg'}


def face(name: str) -> str:
    """'sync' or 'async'; ceilings run under both when external (pgbench)."""
    return getattr(DRIVERS.get(name), 'face', 'async')


def is_ceiling(name: str) -> bool:
    return getattr(DRIVERS.get(name), 'ceiling', False)


def supports(name: str, wl) -> bool:
    """False when a ceiling has nothing to say about this workload (pgbench
    beyond W1; the floor for executemany/COPY/...): the run is skipped, not
    failed.  Peers always run: an Unsupported there is a reported failure."""
    cls = DRIVERS[name]
    if hasattr(cls, 'supports'):
        return cls.supports(wl)
    return True


def load(name: str):
    try:
        cls = DRIVERS[name]
    except KeyError:
        raise SystemExit(f'unknown driver {name!r}; known: '
                         + ', '.join(DRIVERS)) from None
    return cls()
