"""PreparedStatement: a thin handle on a C Statement.

Execution methods return the C awaitable directly (no coroutine frame of
ours): ``await stmt.fetch(...)`` takes the same C path as
``await conn.fetch(...)`` with the statement already resolved.
"""

from __future__ import annotations

import json
import typing

from . import _connresource
from . import _pgwire
from . import exceptions
from . import rows as _rows
from ._typing import RecordT as _RecordT
from ._typing import RowT as _RowT
from .cursor import CursorFactory

if typing.TYPE_CHECKING:
    from .connection import Connection
    from .types import Attribute, Type

_Coro = typing.Coroutine[typing.Any, typing.Any, typing.Any]

__all__ = ("PreparedStatement",)

_FETCH, _FETCHROW, _FETCHVAL, _EXECUTE, _EXECUTEMANY, _FETCHMANY = range(6)


async def _raise(exc: BaseException) -> typing.NoReturn:
    raise exc


class PreparedStatement(_connresource.Resource,
                        typing.Generic[_RecordT]):
    """A prepared statement (see :meth:`Connection.prepare`)."""

    __slots__ = ("_state", "_record_class", "_params", "_attrs",
                 "__weakref__")
    _owner = "PreparedStatement"

    def __init__(self, conn: Connection[typing.Any],
                 state: _pgwire._Statement, record_class: typing.Any,
                 params: tuple[Type, ...],
                 attrs: tuple[Attribute, ...]) -> None:
        super().__init__(conn)
        self._state = state
        self._record_class = record_class
        self._params = params
        self._attrs = attrs
        # the caller has done conn._protocol.acquire_statement(state)

    # -- information ----------------------------------------------------
    def get_name(self) -> str:
        """The server-side name ('' for the unnamed statement)."""
        self._check_released("get_name")
        return self._state.name

    def get_query(self) -> str:
        self._check_released("get_query")
        return self._state.query

    def get_statusmsg(self) -> str | None:
        """Status of the last execution (e.g. ``'SELECT 3'``), or None."""
        self._check_released("get_statusmsg")
        return self._state.last_status

    def get_parameters(self) -> tuple[Type, ...]:
        """A tuple of :class:`pgwire.types.Type`, one per parameter."""
        self._check_released("get_parameters")
        return self._params

    def get_attributes(self) -> tuple[Attribute, ...]:
        """A tuple of :class:`pgwire.types.Attribute`, one per column."""
        self._check_released("get_attributes")
        return self._attrs

    def __repr__(self) -> str:
        return "<pgwire.PreparedStatement name={!r} query={!r}>".format(
            self._state.name, self._state.query[:60])

    # -- execution (C awaitables) -------------------------------------------
    def _run(self, meth: str, kind: int, args: typing.Any,
             timeout: float | None, column: int | str = 0,
             row_factory: _rows.RowFactory[typing.Any] | None = None
             ) -> _Coro:
        if self._relmark != getattr(self._conn, "_pool_release_ctr", 0):
            # at call time, as asyncpg
            raise exceptions.InterfaceError(
                _connresource.released_message("PreparedStatement", meth))
        if self._state.closed:
            return _raise(exceptions.InterfaceError(
                "cannot call PreparedStmt.{}(): the prepared statement is "
                "closed".format(meth)))
        shape = self._record_class
        if row_factory is not None:
            try:
                shape = _rows.check_shape(None, row_factory, meth + "()")
            except TypeError as e:
                return _raise(e)
        return self._conn._exec_stmt(self._state, kind, args, timeout,
                                     shape, column)

    @typing.overload
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: None = None
              ) -> typing.Coroutine[typing.Any, typing.Any,
                                    list[_RecordT]]: ...
    @typing.overload
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: _rows.RowFactory[_RowT]
              ) -> typing.Coroutine[typing.Any, typing.Any,
                                    list[_RowT]]: ...
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: _rows.RowFactory[typing.Any] | None = None
              ) -> _Coro:
        """The rows; ``row_factory`` (pgwire.rows) overrides the shape
        given to prepare() for this call."""
        return self._run("fetch", _FETCH, args, timeout,
                         row_factory=row_factory)

    @typing.overload
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: None = None
                 ) -> typing.Coroutine[typing.Any, typing.Any,
                                       _RecordT | None]: ...
    @typing.overload
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: _rows.RowFactory[_RowT]
                 ) -> typing.Coroutine[typing.Any, typing.Any,
                                       _RowT | None]: ...
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: _rows.RowFactory[typing.Any] | None = None
                 ) -> _Coro:
        return self._run("fetchrow", _FETCHROW, args, timeout,
                         row_factory=row_factory)

    def fetchval(self, *args: typing.Any, column: int | str = 0,
                 timeout: float | None = None) -> _Coro:
        return self._run("fetchval", _FETCHVAL, args, timeout, column)

    def executemany(self, args: typing.Iterable[typing.Any], *,
                    timeout: float | None = None
                    ) -> typing.Coroutine[typing.Any, typing.Any, None]:
        return self._run("executemany", _EXECUTEMANY, args, timeout)

    @typing.overload
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None, row_factory: None = None
                  ) -> typing.Coroutine[typing.Any, typing.Any,
                                        list[_RecordT]]: ...
    @typing.overload
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: _rows.RowFactory[_RowT]
                  ) -> typing.Coroutine[typing.Any, typing.Any,
                                        list[_RowT]]: ...
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: _rows.RowFactory[typing.Any] | None = None
                  ) -> _Coro:
        return self._run("fetchmany", _FETCHMANY, args, timeout,
                         row_factory=row_factory)

    @typing.overload
    def cursor(self, *args: typing.Any, prefetch: int | None = None,
               timeout: float | None = None, row_factory: None = None
               ) -> CursorFactory[_RecordT]: ...
    @typing.overload
    def cursor(self, *args: typing.Any, prefetch: int | None = None,
               timeout: float | None = None,
               row_factory: _rows.RowFactory[_RowT]
               ) -> CursorFactory[_RowT]: ...
    def cursor(self, *args: typing.Any, prefetch: int | None = None,
               timeout: float | None = None,
               row_factory: _rows.RowFactory[typing.Any] | None = None
               ) -> CursorFactory[typing.Any]:
        """A server-side cursor over this statement (see
        :meth:`Connection.cursor`)."""
        self._check_released("cursor")
        shape = self._record_class
        if row_factory is not None:
            shape = _rows.check_shape(None, row_factory, "cursor()")
        return CursorFactory(self._conn, self._state.query, self._state,
                             args, prefetch, timeout, shape)

    @_connresource.guarded
    async def explain(self, *args: typing.Any,
                      analyze: bool = False) -> typing.Any:
        """Return the plan (``EXPLAIN (FORMAT JSON, VERBOSE)``), parsed.

        With ``analyze=True`` the statement really runs, inside a
        transaction (or savepoint) that is rolled back.
        """
        self._check_released("explain")
        query = "EXPLAIN (FORMAT JSON, VERBOSE"
        if analyze:
            query += ", ANALYZE"
        query += ") " + self._state.query
        conn = self._conn
        if not analyze:
            return json.loads(await conn.fetchval(query, *args))
        nested = conn.is_in_transaction()
        await conn.execute("SAVEPOINT pgwire_explain" if nested else "BEGIN")
        try:
            return json.loads(await conn.fetchval(query, *args))
        finally:
            await conn.execute(
                "ROLLBACK TO SAVEPOINT pgwire_explain" if nested
                else "ROLLBACK")

    def __del__(self) -> None:
        # A statement that is not in the cache is closed on the server
        # lazily, with the next request on the connection.
        conn = getattr(self, "_conn", None)
        if conn is not None and hasattr(self, "_state"):
            try:
                conn._protocol.release_statement(self._state)
            except Exception:
                pass
