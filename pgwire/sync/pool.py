"""pgwire.sync.create_pool(): a thread-safe pool of blocking connections.

The async pool's guarantees, for threads: waiters are served in arrival
order (FIFO), acquire() is bounded by its timeout, a released connection is
reset (Connection.reset(): rollback, UNLISTEN, advisory locks, settings)
before anyone else gets it, a connection that fails its reset, was closed
or has run ``max_queries`` queries is replaced, and the pool refills to
``min_size``.  The argument checks are the async pool's
(pgwire.pool._check_number).
"""

from __future__ import annotations

import collections
import threading
import time
import typing
import weakref

from .. import _pgwire
from .. import exceptions
from .. import rows as _rows
from .._typing import OtherRecordT as _OtherRecordT
from .._typing import RecordT as _RecordT
from .._typing import RowT as _RowT
from ..pool import _check_number
from .pool_stmt import PoolPreparedStatement

if typing.TYPE_CHECKING:
    from . import Connection

_Hook = typing.Optional[typing.Callable[[typing.Any], object]]

__all__ = ("create_pool", "Pool", "PoolPreparedStatement")


@typing.overload
def create_pool(dsn: str | None = None, *, min_size: int = 10,
                max_size: int = 10, max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None, record_class: None = None,
                row_factory: None = None, **connect_kwargs: typing.Any
                ) -> Pool[_pgwire.Record]: ...
@typing.overload
def create_pool(dsn: str | None = None, *, min_size: int = 10,
                max_size: int = 10, max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None, record_class: type[_OtherRecordT],
                row_factory: None = None, **connect_kwargs: typing.Any
                ) -> Pool[_OtherRecordT]: ...
@typing.overload
def create_pool(dsn: str | None = None, *, min_size: int = 10,
                max_size: int = 10, max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None, record_class: None = None,
                row_factory: _rows.RowFactory[_RowT],
                **connect_kwargs: typing.Any) -> Pool[_RowT]: ...
def create_pool(dsn: str | None = None, *, min_size: int = 10,
                max_size: int = 10, max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None,
                **connect_kwargs: typing.Any) -> Pool[typing.Any]:
    """Open a :class:`Pool` of ``min_size`` connections (at most
    ``max_size``), made with ``pgwire.sync.connect(dsn, **connect_kwargs)``.
    ``init(conn)`` runs once per new connection, ``setup(conn)`` at each
    acquire, ``reset(conn)`` at each release instead of
    ``conn.reset()``."""
    pool: Pool[typing.Any] = Pool(dsn, min_size=min_size, max_size=max_size,
                max_queries=max_queries,
                max_inactive_connection_lifetime=(
                    max_inactive_connection_lifetime),
                setup=setup, init=init, reset=reset, **connect_kwargs)
    pool._fill()
    return pool


class _Ticket:
    __slots__ = ("event", "conn")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.conn: Connection[typing.Any] | None = None


class Pool(typing.Generic[_RecordT]):
    """Blocking pool.  ``with pool.acquire() as conn:``, or acquire()
    then release(conn); pool.fetch(...) and the other query methods
    acquire for one call."""

    def __init__(self, dsn: str | None = None, *, min_size: int = 10,
                 max_size: int = 10, max_queries: int = 50000,
                 max_inactive_connection_lifetime: float = 300.0,
                 setup: _Hook = None, init: _Hook = None,
                 reset: _Hook = None, **connect_kwargs: typing.Any) -> None:
        _check_number("max_size", max_size, minimum=1, allow_equal=True)
        _check_number("min_size", min_size, minimum=0, allow_equal=True)
        if min_size > max_size:
            raise ValueError("min_size is greater than max_size")
        _check_number("max_queries", max_queries, minimum=0,
                      allow_equal=False)
        _check_number("max_inactive_connection_lifetime",
                      max_inactive_connection_lifetime, minimum=0,
                      allow_equal=True)
        self._dsn = dsn
        self._kwargs = connect_kwargs
        self._min, self._max = min_size, max_size
        self._max_queries = max_queries
        self._max_idle = max_inactive_connection_lifetime
        self._setup, self._init, self._reset = setup, init, reset
        self._lock = threading.Lock()
        self._idle: collections.deque[
            tuple[Connection[typing.Any], float]] = \
            collections.deque()             # (conn, since)
        self._waiters: collections.deque[_Ticket] = collections.deque()
        self._out: set[Connection[typing.Any]] = \
            set()                           # connections handed out
        self._size = 0                      # open + being opened
        self._closing = False
        # expire_connections(): a connection opened before the last call
        # is replaced at its next acquire or release
        self._generation = 0
        self._gen_of: weakref.WeakKeyDictionary[
            Connection[typing.Any], int] = weakref.WeakKeyDictionary()

    # -- opening --------------------------------------------------------
    def _connect(self) -> Connection[typing.Any]:
        from . import connect
        gen = self._generation
        conn = connect(self._dsn, **self._kwargs)
        self._gen_of[conn] = gen
        try:
            if self._init is not None:
                self._init(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def _open_reserved(self) -> Connection[typing.Any]:
        """Open a connection for a slot already counted in _size."""
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._size -= 1
            raise

    def _fill(self) -> None:
        """Refill to min_size (in the calling thread)."""
        while True:
            with self._lock:
                if self._closing or self._size >= self._min:
                    return
                self._size += 1
            conn = self._open_reserved()
            self._give(conn)

    # -- acquire ----------------------------------------------------------
    def acquire(self, *, timeout: float | None = None
                ) -> _Acquire[_RecordT]:
        """A connection, waiting at most ``timeout`` seconds
        (TimeoutError); as a context manager, released at the end."""
        return _Acquire(self, timeout)

    def _acquire(self, timeout: float | None) -> Connection[_RecordT]:
        if timeout is not None:
            _check_number("timeout", timeout, minimum=0, allow_equal=False)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            conn, since = self._take(deadline, timeout)
            stale = since is not None and self._max_idle and \
                time.monotonic() - since > self._max_idle
            if conn.is_closed() or self._expired(conn) or stale:
                self._discard(conn)
                continue
            break
        try:
            if self._setup is not None:
                self._setup(conn)
        except BaseException:
            self._release(conn)
            raise
        return conn

    def _take(self, deadline: float | None, timeout: float | None
              ) -> tuple[Connection[typing.Any], float | None]:
        """(connection, idle since or None)."""
        with self._lock:
            if self._closing:
                raise exceptions.InterfaceError("pool is closing")
            if self._idle and not self._waiters:
                conn, since = self._idle.popleft()
                self._out.add(conn)
                return conn, since
            if self._size < self._max and not self._waiters:
                self._size += 1
                opening = True
            else:
                opening = False
                ticket = _Ticket()
                self._waiters.append(ticket)
        if opening:
            conn = self._open_reserved()
            with self._lock:
                self._out.add(conn)
            return conn, None
        return self._wait(ticket, deadline, timeout), None

    def _wait(self, ticket: _Ticket, deadline: float | None,
              timeout: float | None) -> Connection[typing.Any]:
        left = None if deadline is None else deadline - time.monotonic()
        ticket.event.wait(None if left is None else max(left, 0))
        with self._lock:
            if ticket.conn is None:
                try:
                    self._waiters.remove(ticket)
                except ValueError:
                    pass
                if self._closing:
                    raise exceptions.InterfaceError("pool is closing")
                raise TimeoutError(
                    "pool.acquire(timeout={!r}): no connection became "
                    "free in time".format(timeout))
            self._out.add(ticket.conn)
            return ticket.conn

    def _expired(self, conn: Connection[typing.Any]) -> bool:
        return (conn._core._protocol.queries_count >= self._max_queries or
                self._gen_of.get(conn, -1) != self._generation)

    def expire_connections(self) -> None:
        """Replace every connection open now: idle ones at their next
        acquire, those in use when they are released (asyncpg's)."""
        with self._lock:
            self._generation += 1

    @typing.overload
    def prepare(self, query: str, *, record_class: None = None,
                row_factory: None = None
                ) -> PoolPreparedStatement[_RecordT]: ...
    @typing.overload
    def prepare(self, query: str, *, record_class: type[_OtherRecordT],
                row_factory: None = None
                ) -> PoolPreparedStatement[_OtherRecordT]: ...
    @typing.overload
    def prepare(self, query: str, *, record_class: None = None,
                row_factory: _rows.RowFactory[_RowT]
                ) -> PoolPreparedStatement[_RowT]: ...
    def prepare(self, query: str, *,
                record_class: type[_pgwire.Record] | None = None,
                row_factory: _rows.RowFactory[typing.Any] | None = None
                ) -> PoolPreparedStatement[typing.Any]:
        """A statement usable from any thread at any time
        (:class:`pgwire.sync.pool_stmt.PoolPreparedStatement`): each call
        acquires a connection, runs the statement prepared on it (once
        per connection, lazily; again on connections that replaced
        others), and releases it.  Nothing is sent until the first call.
        ``record_class``/``row_factory``: the shape of its rows."""
        if self._closing:
            raise exceptions.InterfaceError("pool is closing")
        if not isinstance(query, str):
            raise TypeError(
                "query must be str, not {}".format(type(query).__name__))
        shape = _rows.check_shape(record_class, row_factory,
                                  "Pool.prepare()")
        return PoolPreparedStatement(self, query, shape)

    # -- release ------------------------------------------------------------
    def release(self, connection: Connection[typing.Any], *,
                timeout: float | None = None) -> None:
        """Give ``connection`` back: it is reset first (a connection that
        fails its reset is closed and replaced)."""
        with self._lock:
            if connection not in self._out:
                raise exceptions.InterfaceError(
                    "Pool.release() received invalid connection: {!r} is "
                    "not a connection of this pool acquired and not yet "
                    "released".format(connection))
        self._release(connection, timeout)

    def _release(self, conn: Connection[typing.Any],
                 timeout: float | None = None) -> None:
        ok = not conn.is_closed() and not self._closing
        if ok:
            try:
                if self._reset is not None:
                    self._reset(conn)
                else:
                    conn.reset(timeout=timeout)
            except Exception:
                ok = False
        if not ok or self._expired(conn):
            self._discard(conn)
            self._fill()
            return
        with self._lock:
            self._out.discard(conn)
        self._give(conn)

    def _give(self, conn: Connection[typing.Any]) -> None:
        """Hand a free connection to the first waiter, or make it idle."""
        with self._lock:
            self._out.discard(conn)
            if self._closing:
                self._size -= 1
                closing = True
            else:
                closing = False
                if self._waiters:
                    ticket = self._waiters.popleft()
                    ticket.conn = conn
                    self._out.add(conn)
                    ticket.event.set()
                else:
                    self._idle.append((conn, time.monotonic()))
        if closing:
            conn.terminate()

    def _discard(self, conn: Connection[typing.Any]) -> None:
        with self._lock:
            self._out.discard(conn)
            self._size -= 1
            waiter = self._waiters[0] if self._waiters else None
        if not conn.is_closed():
            try:
                conn.close(timeout=2)
            except Exception:
                conn.terminate()
        if waiter is not None:
            # a slot is free: open it for the first waiter
            with self._lock:
                if self._size >= self._max or not self._waiters:
                    return
                self._size += 1
            try:
                new = self._open_reserved()
            except Exception:
                return
            self._give(new)

    # -- queries on a connection of the pool ------------------------------
    def _run(self, name: str, args: tuple[typing.Any, ...],
             kwargs: dict[str, typing.Any]) -> typing.Any:
        with self.acquire() as conn:
            return getattr(conn, name)(*args, **kwargs)

    def execute(self, query: str, *args: typing.Any,
                **kwargs: typing.Any) -> str:
        return self._run(  # type: ignore[no-any-return]
            "execute", (query,) + args, kwargs)

    def executemany(self, command: str, args: typing.Iterable[typing.Any],
                    **kwargs: typing.Any) -> None:
        return self._run(  # type: ignore[no-any-return]
            "executemany", (command, args), kwargs)

    @typing.overload
    def fetch(self, query: str, *args: typing.Any,
              timeout: float | None = None,
              record_class: None = None,
              row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    def fetch(self, query: str, *args: typing.Any,
              timeout: float | None = None,
              record_class: type[_OtherRecordT],
              row_factory: None = None) -> list[_OtherRecordT]: ...
    @typing.overload
    def fetch(self, query: str, *args: typing.Any,
              timeout: float | None = None,
              record_class: None = None,
              row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    def fetch(self, query: str, *args: typing.Any,
              **kwargs: typing.Any) -> list[typing.Any]:
        return self._run(  # type: ignore[no-any-return]
            "fetch", (query,) + args, kwargs)

    @typing.overload
    def fetchrow(self, query: str, *args: typing.Any,
                 timeout: float | None = None,
                 record_class: None = None,
                 row_factory: None = None) -> _RecordT | None: ...
    @typing.overload
    def fetchrow(self, query: str, *args: typing.Any,
                 timeout: float | None = None,
                 record_class: type[_OtherRecordT],
                 row_factory: None = None) -> _OtherRecordT | None: ...
    @typing.overload
    def fetchrow(self, query: str, *args: typing.Any,
                 timeout: float | None = None,
                 record_class: None = None,
                 row_factory: _rows.RowFactory[_RowT]) -> _RowT | None: ...
    def fetchrow(self, query: str, *args: typing.Any,
                 **kwargs: typing.Any) -> typing.Any:
        return self._run("fetchrow", (query,) + args, kwargs)

    def fetchval(self, query: str, *args: typing.Any,
                 **kwargs: typing.Any) -> typing.Any:
        return self._run("fetchval", (query,) + args, kwargs)

    @typing.overload
    def fetchmany(self, query: str, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  record_class: None = None,
                  row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    def fetchmany(self, query: str, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  record_class: type[_OtherRecordT],
                  row_factory: None = None) -> list[_OtherRecordT]: ...
    @typing.overload
    def fetchmany(self, query: str, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  record_class: None = None,
                  row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    def fetchmany(self, query: str, args: typing.Iterable[typing.Any],
                  **kwargs: typing.Any) -> list[typing.Any]:
        return self._run(  # type: ignore[no-any-return]
            "fetchmany", (query, args), kwargs)

    # -- state and closing ------------------------------------------------
    def get_size(self) -> int:
        with self._lock:
            return self._size

    def get_idle_size(self) -> int:
        with self._lock:
            return len(self._idle)

    def get_min_size(self) -> int:
        return self._min

    def get_max_size(self) -> int:
        return self._max

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Close the idle connections now and each acquired one when it
        is released; waiters get InterfaceError."""
        with self._lock:
            self._closing = True
            idle = [c for c, _ in self._idle]
            self._idle.clear()
            self._size -= len(idle)
            waiters = list(self._waiters)
            self._waiters.clear()
        for t in waiters:
            t.event.set()
        for c in idle:
            try:
                c.close(timeout=2)
            except Exception:
                c.terminate()

    def terminate(self) -> None:
        self.close()
        with self._lock:
            out = list(self._out)
        for c in out:
            c.terminate()

    def __enter__(self) -> Pool[_RecordT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Acquire(typing.Generic[_RecordT]):
    __slots__ = ("_pool", "_timeout", "_conn")

    def __init__(self, pool: Pool[_RecordT],
                 timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: Connection[_RecordT] | None = None

    def __enter__(self) -> Connection[_RecordT]:
        self._conn = self._pool._acquire(self._timeout)
        return self._conn

    def __exit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None  # set by __enter__
        self._pool._release(conn)

    def acquire(self) -> Connection[_RecordT]:
        """``pool.acquire().acquire()``: the connection without a with
        block (give it back with pool.release())."""
        return self._pool._acquire(self._timeout)
