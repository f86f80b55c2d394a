"""pgwire.sync Pool.prepare(): a prepared statement that belongs to the
blocking pool, not to one connection (the twin of pgwire.pool_stmt).

Each call acquires a connection, runs the statement prepared on that
connection (prepared on first use there: once per connection, again on a
connection that replaced another, after expire_connections() or
max_queries), and releases the connection.  The per-connection statements
are ordinary blocking :class:`PreparedStatement` objects held in a weak
dictionary keyed by the connection: a closed connection takes its
statement with it, and a dropped PoolPreparedStatement leaves every
connection's statement to be closed on the server.
"""

from __future__ import annotations

import time
import typing
import weakref

from .. import exceptions
from .. import rows as _rows
from .._typing import RecordT as _RecordT
from .._typing import RowT as _RowT

if typing.TYPE_CHECKING:
    from .. import prepared_stmt as _prepared_stmt
    from . import Connection, CursorFactory, PreparedStatement, Transaction
    from .pool import Pool

__all__ = ("PoolPreparedStatement",)


def _left(deadline: float | None) -> float | None:
    """Seconds left before deadline (None: no bound); TimeoutError when
    none are."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the pool statement's timeout expired")
    return left


class PoolPreparedStatement(typing.Generic[_RecordT]):
    """What :meth:`pgwire.sync.Pool.prepare` returns: usable from any
    thread, at any time, as long as the pool is open.

    ``fetch``, ``fetchrow``, ``fetchval``, ``fetchmany`` and
    ``executemany`` take the arguments of the blocking
    :class:`PreparedStatement`'s; ``timeout`` bounds the acquisition, the
    preparation on a connection that has not seen the statement yet, and
    the execution together.  ``cursor()`` is a context manager holding one
    connection in a transaction for the cursor's life.
    """

    __slots__ = ("_pool", "_query", "_shape", "_on", "__weakref__")

    def __init__(self, pool: Pool[typing.Any], query: str,
                 shape: typing.Any) -> None:
        self._pool = pool
        self._query = query
        self._shape = shape  # a Record subclass, a row factory or None
        # connection -> the (async) statement of the query on it
        self._on: weakref.WeakKeyDictionary[
            Connection[typing.Any],
            _prepared_stmt.PreparedStatement[typing.Any]] = \
            weakref.WeakKeyDictionary()

    def get_query(self) -> str:
        """The statement's text."""
        return self._query

    def __repr__(self) -> str:
        return "<pgwire.sync.PoolPreparedStatement query={!r}>".format(
            self._query[:60])

    def _stmt_on(self, conn: Connection[typing.Any], timeout: float | None,
                 fresh: bool = False) -> PreparedStatement[typing.Any]:
        """The statement on conn (taken by the caller), prepared there
        first if need be."""
        from . import PreparedStatement
        inner = None if fresh else self._on.get(conn)
        if inner is None or inner._state.closed:
            if self._shape is None or isinstance(self._shape, type):
                stmt = conn.prepare(self._query, timeout=timeout,
                                    record_class=self._shape)
            else:
                stmt = conn.prepare(self._query, timeout=timeout,
                                    row_factory=self._shape)
            # the async statement only: the blocking wrapper refers to
            # the connection, which would keep the weak key alive; and
            # the entries of closed connections go now (a closed
            # connection lives on until the cyclic GC collects it)
            for c in [c for c in self._on if c.is_closed()]:
                del self._on[c]
            self._on[conn] = stmt._stmt
            return stmt
        return PreparedStatement(conn, inner)

    def _call(self, meth: str, args: tuple[typing.Any, ...],
              kwargs: dict[str, typing.Any],
              timeout: float | None) -> typing.Any:
        pool = self._pool
        deadline = None if timeout is None else time.monotonic() + timeout
        conn = pool._acquire(timeout)
        try:
            stmt = self._stmt_on(conn, _left(deadline))
            try:
                return getattr(stmt, meth)(*args, timeout=_left(deadline),
                                           **kwargs)
            except exceptions.InvalidSQLStatementNameError:
                # gone from the server (a reset= that runs DEALLOCATE
                # ALL): nothing ran; prepare it again, once
                stmt = self._stmt_on(conn, _left(deadline), fresh=True)
                return getattr(stmt, meth)(*args, timeout=_left(deadline),
                                           **kwargs)
        finally:
            pool._release(conn)

    @typing.overload
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: _rows.RowFactory[typing.Any] | None = None
              ) -> typing.Any:
        return self._call("fetch", args, {"row_factory": row_factory},
                          timeout)

    @typing.overload
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: None = None) -> _RecordT | None: ...
    @typing.overload
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: _rows.RowFactory[_RowT]) -> _RowT | None: ...
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: _rows.RowFactory[typing.Any] | None = None
                 ) -> typing.Any:
        return self._call("fetchrow", args, {"row_factory": row_factory},
                          timeout)

    def fetchval(self, *args: typing.Any, column: int | str = 0,
                 timeout: float | None = None) -> typing.Any:
        return self._call("fetchval", args, {"column": column}, timeout)

    @typing.overload
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None, row_factory: None = None
                  ) -> list[_RecordT]: ...
    @typing.overload
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: _rows.RowFactory[typing.Any] | None = None
                  ) -> typing.Any:
        return self._call("fetchmany", (args,),
                          {"row_factory": row_factory}, timeout)

    def executemany(self, args: typing.Iterable[typing.Any], *,
                    timeout: float | None = None) -> None:
        self._call("executemany", (args,), {}, timeout)

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
        """``with stmt.cursor(*args) as cur:`` acquires a connection,
        starts a transaction (``isolation``, ``readonly``, ``deferrable``
        as :meth:`Connection.transaction`), and gives the cursor factory
        of the statement on it: ``for row in cur``.  On exit the
        transaction commits (rolls back on an exception) and the
        connection is released.  ``timeout`` bounds the acquisition and
        the preparation; each fetch is then bounded by it as well."""
        if row_factory is not None:
            _rows.check_shape(None, row_factory, "cursor()")
        return _PoolCursor(self, args, prefetch, timeout, row_factory,
                           (isolation, readonly, deferrable))


class _PoolCursor(typing.Generic[_RecordT]):
    """The context manager of PoolPreparedStatement.cursor()."""

    __slots__ = ("_ps", "_args", "_prefetch", "_timeout", "_row_factory",
                 "_tx_args", "_conn", "_tx")

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
        self._conn: Connection[typing.Any] | None = None
        self._tx: Transaction | None = None

    def __enter__(self) -> CursorFactory[_RecordT]:
        if self._conn is not None:
            raise exceptions.InterfaceError(
                "this pool cursor context is already entered")
        pool = self._ps._pool
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._conn = conn = pool._acquire(timeout)
        try:
            isolation, readonly, deferrable = self._tx_args
            tx = conn.transaction(isolation=isolation, readonly=readonly,
                                  deferrable=deferrable)
            tx.start()
            self._tx = tx
            stmt = self._ps._stmt_on(conn, _left(deadline))
            return stmt.cursor(
                *self._args, prefetch=self._prefetch, timeout=timeout,
                row_factory=self._row_factory)
        except BaseException as exc:
            self._finish(exc)
            raise

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: typing.Any) -> None:
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        conn, self._conn = self._conn, None
        tx, self._tx = self._tx, None
        if conn is None:
            return
        try:
            if tx is not None and not conn.is_closed():
                if exc is None:
                    tx.commit()
                else:
                    tx.rollback()
        finally:
            self._ps._pool._release(conn)
