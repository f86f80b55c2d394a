"""Server-side cursors (asyncpg's API).

A cursor is a named portal bound inside a transaction; rows are fetched
in chunks with Execute(portal, n), so iterating a result of any size keeps
memory bounded by the prefetch size.  The fetches take the C path
(``Connection._cursor_exec``).
"""

from __future__ import annotations

import os
import typing

from . import _connresource
from . import exceptions
from ._typing import RecordT as _RecordT

if typing.TYPE_CHECKING:
    from . import _pgwire
    from .connection import Connection

__all__ = ("CursorFactory", "Cursor", "CursorIterator")


def _portal_name() -> bytes:
    return "__pgwire_portal_{}__".format(os.urandom(6).hex()).encode()


async def _prepare(conn: Connection[typing.Any], query: str,
                   state: _pgwire._Statement | None,
                   timeout: float | None) -> _pgwire._Statement:
    if state is not None:
        return state
    return await conn._prepare(query, timeout=timeout)


def _check_tx(conn: Connection[typing.Any]) -> None:
    if conn._protocol._in_batch():
        # refused before anything is sent, as the C side refuses COPY and
        # execute() without arguments (a batch's group is a transaction the
        # server has not reported yet: the check below would misname why)
        raise exceptions.InterfaceError(
            "a cursor (Connection.cursor) is not allowed inside "
            "conn.pipeline(): run it before or after the block")
    if not conn.is_in_transaction():
        raise exceptions.NoActiveSQLTransactionError(
            "cursor cannot be created outside of a transaction")


class CursorFactory(_connresource.Resource,
                    typing.Generic[_RecordT]):
    """Returned by ``Connection.cursor()`` / ``PreparedStatement.cursor()``:
    ``async for`` iterates (prefetching), ``await`` gives a :class:`Cursor`.
    """

    __slots__ = ("_query", "_args", "_prefetch", "_timeout",
                 "_record_class", "_state")

    def __init__(self, conn: Connection[typing.Any], query: str,
                 state: _pgwire._Statement | None,
                 args: typing.Sequence[typing.Any], prefetch: int | None,
                 timeout: float | None, record_class: typing.Any) -> None:
        super().__init__(conn)
        self._query = query
        self._state = state
        self._args = args
        self._prefetch = prefetch
        self._timeout = timeout
        self._record_class = record_class

    def __aiter__(self) -> CursorIterator[_RecordT]:
        self._check_released("__aiter__")
        prefetch = 50 if self._prefetch is None else self._prefetch
        if prefetch <= 0:
            raise exceptions.InterfaceError(
                "prefetch argument must be greater than zero")
        return CursorIterator(self._conn, self._query, self._state,
                              self._args, prefetch, self._timeout,
                              self._record_class)

    def __await__(self) -> typing.Generator[typing.Any, None,
                                            Cursor[_RecordT]]:
        self._check_released("__await__")
        if self._prefetch is not None:
            raise exceptions.InterfaceError(
                "prefetch argument can only be specified for iterable "
                "cursor")
        cursor: Cursor[_RecordT] = Cursor(
            self._conn, self._query, self._state, self._args,
            self._record_class)
        return cursor._init(self._timeout).__await__()


class _BaseCursor(_connresource.Resource,
                  typing.Generic[_RecordT]):
    __slots__ = ("_query", "_state", "_args", "_record_class", "_portal",
                 "_exhausted")

    def __init__(self, conn: Connection[typing.Any], query: str,
                 state: _pgwire._Statement | None,
                 args: typing.Sequence[typing.Any],
                 record_class: typing.Any) -> None:
        super().__init__(conn)
        self._query = query
        self._state = state
        self._args = args
        self._record_class = record_class
        self._portal: bytes | None = None
        self._exhausted = False

    async def _bind(self, n: int, timeout: float | None
                    ) -> list[_RecordT]:
        """Bind the portal; with n > 0 also fetch the first n rows."""
        conn = self._conn
        self._check_released("fetch")
        _check_tx(conn)
        self._state = await _prepare(conn, self._query, self._state,
                                     timeout)
        self._portal = _portal_name()
        rows: list[_RecordT] = await conn._cursor_exec(
                                       self._state, self._portal,
                                       tuple(self._args), n, timeout,
                                       self._record_class)
        if n > 0 and len(rows) < n:
            self._set_exhausted()
        return rows

    def _set_exhausted(self) -> None:
        """The portal has no more rows: close it on the server (ahead of
        the next request, in its write), so it no longer holds its locks
        and the tables it read can be altered or dropped in the same
        transaction."""
        self._exhausted = True
        if self._portal is not None:
            self._conn._protocol._close_portal(self._portal)

    async def _exec(self, n: int, timeout: float | None
                    ) -> list[_RecordT]:
        self._check_released("fetch")
        if self._exhausted:
            return []
        assert self._state is not None and self._portal is not None
        rows: list[_RecordT] = await self._conn._cursor_exec(
            self._state, self._portal, None, n, timeout, self._record_class)
        if len(rows) < n:
            self._set_exhausted()
        return rows

    def __repr__(self) -> str:
        # asyncpg's layout; the module is pgwire's
        return '<pgwire.{} "{!s:.30}" {}{:#x}>'.format(
            type(self).__name__, self._query,
            "exhausted " if self._exhausted else "", id(self))


class CursorIterator(_BaseCursor[_RecordT]):
    """``async for row in conn.cursor(...)``: fetches ``prefetch`` rows at
    a time."""

    __slots__ = ("_prefetch", "_timeout", "_buffer")

    def __init__(self, conn: Connection[typing.Any], query: str,
                 state: _pgwire._Statement | None,
                 args: typing.Sequence[typing.Any], prefetch: int,
                 timeout: float | None, record_class: typing.Any) -> None:
        super().__init__(conn, query, state, args, record_class)
        self._prefetch = prefetch
        self._timeout = timeout
        self._buffer: list[_RecordT] = []

    def __aiter__(self) -> CursorIterator[_RecordT]:
        return self

    async def __anext__(self) -> _RecordT:
        if not self._buffer:
            if self._portal is None:
                rows = await self._bind(self._prefetch, self._timeout)
            else:
                rows = await self._exec(self._prefetch, self._timeout)
            self._buffer = rows[::-1]
        if not self._buffer:
            raise StopAsyncIteration
        return self._buffer.pop()


class Cursor(_BaseCursor[_RecordT]):
    """An open cursor: ``fetch(n)``, ``fetchrow()``, ``forward(n)``."""

    __slots__ = ()

    async def _init(self, timeout: float | None) -> Cursor[_RecordT]:
        await self._bind(0, timeout)
        return self

    @staticmethod
    def _check_n(n: object) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise exceptions.InterfaceError("n must be greater than zero")

    @_connresource.guarded
    async def fetch(self, n: int, *,
                    timeout: float | None = None) -> list[_RecordT]:
        """Return up to ``n`` next rows."""
        self._check_n(n)
        return await self._exec(n, timeout)

    @_connresource.guarded
    async def fetchrow(self, *,
                       timeout: float | None = None) -> _RecordT | None:
        """Return the next row, or None."""
        rows = await self._exec(1, timeout)
        return rows[0] if rows else None

    @_connresource.guarded
    async def forward(self, n: int, *, timeout: float | None = None) -> int:
        """Skip over the next ``n`` rows; return how many were skipped."""
        self._check_n(n)
        self._check_released("forward")
        if self._exhausted:
            return 0
        assert self._portal is not None  # bound by _init
        portal = '"{}"'.format(self._portal.decode())
        status = await self._conn.execute(
            "MOVE FORWARD {:d} {}".format(n, portal), timeout=timeout)
        moved = int(status.split()[-1])
        if moved < n:
            self._set_exhausted()
        return moved
