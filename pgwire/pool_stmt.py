"""Pool.prepare(): a prepared statement that belongs to the pool, not to
one connection.

Each call acquires a connection, runs the statement prepared on that
connection (prepared on first use there: once per connection, again on a
connection that replaced another, after expire_connections() or
max_queries/max_lifetime), and releases the connection.  The per-
connection statements are ordinary :class:`PreparedStatement` objects that
the connection keeps (``conn._pool_statements``, a weak dictionary keyed
by the PoolPreparedStatement): a closed connection takes its statements
with it, and a dropped PoolPreparedStatement leaves every connection's
statement to be closed on the server.
"""

from __future__ import annotations

import asyncio
import typing
import weakref

from . import _connresource
from . import exceptions
from . import rows as _rows
from ._typing import RecordT as _RecordT
from ._typing import RowT as _RowT

if typing.TYPE_CHECKING:
    from .connection import Connection
    from .cursor import CursorFactory
    from .pool import Pool
    from .prepared_stmt import PreparedStatement
    from .transaction import Transaction

__all__ = ("PoolPreparedStatement",)


def _left(loop: asyncio.AbstractEventLoop,
          deadline: float | None) -> float | None:
    """Seconds left before deadline (None: no bound); TimeoutError when
    none are."""
    if deadline is None:
        return None
    left = deadline - loop.time()
    if left <= 0:
        raise asyncio.TimeoutError()
    return left


class PoolPreparedStatement(typing.Generic[_RecordT]):
    """What :meth:`Pool.prepare` returns: usable from any task, at any
    time, as long as the pool is open.

    ``fetch``, ``fetchrow``, ``fetchval``, ``fetchmany`` and
    ``executemany`` take the arguments of :class:`PreparedStatement`'s;
    ``timeout`` bounds the acquisition, the preparation on a connection
    that has not seen the statement yet, and the execution together.
    ``cursor()`` is an async context manager holding one connection in a
    transaction for the cursor's life.
    """

    __slots__ = ("_pool", "_query", "_shape", "__weakref__")

    def __init__(self, pool: Pool[typing.Any], query: str,
                 shape: typing.Any) -> None:
        self._pool = pool
        self._query = query
        self._shape = shape  # a Record subclass, a row factory or None

    def get_query(self) -> str:
        """The statement's text."""
        return self._query

    def __repr__(self) -> str:
        return "<pgwire.PoolPreparedStatement query={!r}>".format(
            self._query[:60])

    async def _stmt_on(self, conn: Connection[typing.Any],
                       timeout: float | None, fresh: bool = False
                       ) -> PreparedStatement[typing.Any]:
        """The PreparedStatement of the query on conn (a pool connection,
        taken by the caller), prepared there first if need be."""
        table = getattr(conn, "_pool_statements", None)
        if table is None:
            table = conn._pool_statements = weakref.WeakKeyDictionary()
        stmt: PreparedStatement[typing.Any] | None = \
            None if fresh else table.get(self)
        if stmt is None or stmt._state.closed:
            if self._shape is None or isinstance(self._shape, type):
                stmt = await conn.prepare(self._query, timeout=timeout,
                                          record_class=self._shape)
            else:
                stmt = await conn.prepare(self._query, timeout=timeout,
                                          row_factory=self._shape)
            table[self] = stmt
        else:
            # this acquisition's: the statement belongs to the pool's
            # user of the connection, whoever had it before
            stmt._relmark = _connresource.marker(conn)
        return stmt

    async def _call(self, meth: str, args: tuple[typing.Any, ...],
                    kwargs: dict[str, typing.Any],
                    timeout: float | None) -> typing.Any:
        pool = self._pool
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        holder = await pool._acquire_holder(timeout)
        uncertain = False
        try:
            conn = holder.conn
            stmt = await self._stmt_on(conn, _left(loop, deadline))
            try:
                return await getattr(stmt, meth)(
                    *args, timeout=_left(loop, deadline), **kwargs)
            except exceptions.InvalidSQLStatementNameError:
                # gone from the server (a reset= that runs DEALLOCATE
                # ALL): nothing ran; prepare it again, once
                stmt = await self._stmt_on(conn, _left(loop, deadline),
                                           fresh=True)
                return await getattr(stmt, meth)(
                    *args, timeout=_left(loop, deadline), **kwargs)
        except asyncio.CancelledError:
            uncertain = True
            raise
        finally:
            await pool._release_holder(holder, None, uncertain)

    @typing.overload
    async def fetch(self, *args: typing.Any, timeout: float | None = None,
                    row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    async def fetch(self, *args: typing.Any, timeout: float | None = None,
                    row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    async def fetch(self, *args: typing.Any, timeout: float | None = None,
                    row_factory: _rows.RowFactory[typing.Any] | None = None
                   ) -> typing.Any:
        return await self._call("fetch", args, {"row_factory": row_factory},
                                timeout)

    @typing.overload
    async def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                       row_factory: None = None) -> _RecordT | None: ...
    @typing.overload
    async def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                       row_factory: _rows.RowFactory[_RowT]
                      ) -> _RowT | None: ...
    async def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                       row_factory: _rows.RowFactory[typing.Any] | None = None
                      ) -> typing.Any:
        return await self._call("fetchrow", args,
                                {"row_factory": row_factory}, timeout)

    async def fetchval(self, *args: typing.Any, column: int | str = 0,
                       timeout: float | None = None) -> typing.Any:
        return await self._call("fetchval", args, {"column": column},
                                timeout)

    @typing.overload
    async def fetchmany(self, args: typing.Iterable[typing.Any], *,
                        timeout: float | None = None, row_factory: None = None
                       ) -> list[_RecordT]: ...
    @typing.overload
    async def fetchmany(self, args: typing.Iterable[typing.Any], *,
                        timeout: float | None = None,
                        row_factory: _rows.RowFactory[_RowT]
                       ) -> list[_RowT]: ...
    async def fetchmany(self, args: typing.Iterable[typing.Any], *,
                        timeout: float | None = None,
                        row_factory: _rows.RowFactory[typing.Any] | None = None
                       ) -> typing.Any:
        return await self._call("fetchmany", (args,),
                                {"row_factory": row_factory}, timeout)

    async def executemany(self, args: typing.Iterable[typing.Any], *,
                          timeout: float | None = None) -> None:
        return await self._call(  # type: ignore[no-any-return]
            "executemany", (args,), {}, timeout)

    @typing.overload
    def cursor(self, *args: typing.Any, prefetch: int | None = None,
               timeout: float | None = None, row_factory: None = None,
               isolation: str | None = None, readonly: bool = False,
               deferrable: bool = False) -> _PoolCursor[_RecordT]: ...
    @typing.overload
    def cursor(self, *args: typing.Any, prefetch: int | None = None,
               timeout: float | None = None,
               row_factory: _rows.RowFactory[_RowT],
               isolation: str | None = None, readonly: bool = False,
               deferrable: bool = False) -> _PoolCursor[_RowT]: ...
    def cursor(self, *args: typing.Any, prefetch: int | None = None,
               timeout: float | None = None,
               row_factory: _rows.RowFactory[typing.Any] | None = None,
               isolation: str | None = None, readonly: bool = False,
               deferrable: bool = False) -> _PoolCursor[typing.Any]:
        """``async with stmt.cursor(*args) as cur:`` acquires a
        connection, starts a transaction (``isolation``, ``readonly``,
        ``deferrable`` as :meth:`Connection.transaction`), and gives the
        cursor factory of the statement on it: ``async for row in cur``,
        or ``c = await cur`` (without ``prefetch``) for a
        :class:`pgwire.cursor.Cursor`.  On exit the transaction commits
        (rolls back on an exception) and the connection is released.
        ``timeout`` bounds the acquisition and the preparation; each
        fetch is then bounded by it as well."""
        if row_factory is not None:
            _rows.check_shape(None, row_factory, "cursor()")
        return _PoolCursor(self, args, prefetch, timeout, row_factory,
                           (isolation, readonly, deferrable))


class _PoolCursor(typing.Generic[_RecordT]):
    """The async context manager of PoolPreparedStatement.cursor()."""

    __slots__ = ("_ps", "_args", "_prefetch", "_timeout", "_row_factory",
                 "_tx_args", "_holder", "_tx")

    def __init__(self, ps: PoolPreparedStatement[typing.Any],
                 args: tuple[typing.Any, ...], prefetch: int | None,
                 timeout: float | None,
                 row_factory: _rows.RowFactory[typing.Any] | None,
                 tx_args: tuple[str | None, bool, bool]) -> None:
        self._ps = ps
        self._args = args
        self._prefetch = prefetch
        self._timeout = timeout
        self._row_factory = row_factory
        self._tx_args = tx_args
        self._holder: typing.Any = None
        self._tx: Transaction | None = None

    async def __aenter__(self) -> CursorFactory[_RecordT]:
        if self._holder is not None:
            raise exceptions.InterfaceError(
                "this pool cursor context is already entered")
        pool = self._ps._pool
        loop = asyncio.get_running_loop()
        timeout = self._timeout
        deadline = None if timeout is None else loop.time() + timeout
        self._holder = await pool._acquire_holder(timeout)
        try:
            conn = self._holder.conn
            isolation, readonly, deferrable = self._tx_args
            tx = conn.transaction(isolation=isolation, readonly=readonly,
                                  deferrable=deferrable)
            await tx.start()
            self._tx = tx
            stmt = await self._ps._stmt_on(conn, _left(loop, deadline))
            return stmt.cursor(*self._args, prefetch=self._prefetch,
                               timeout=timeout, row_factory=self._row_factory)
        except BaseException as exc:
            await self._finish(exc)
            raise

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: typing.Any) -> None:
        await self._finish(exc)

    async def _finish(self, exc: BaseException | None) -> None:
        holder, self._holder = self._holder, None
        tx, self._tx = self._tx, None
        uncertain = isinstance(exc, asyncio.CancelledError)
        try:
            if tx is not None and not uncertain and \
                    not holder.conn.is_closed():
                if exc is None:
                    await tx.commit()
                else:
                    await tx.rollback()
        except BaseException:
            uncertain = True
            raise
        finally:
            await self._ps._pool._release_holder(holder, None, uncertain)
