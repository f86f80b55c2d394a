"""pgwire.sync: the blocking face, on the same C engine as pgwire.

``pgwire.sync.connect()`` returns a :class:`Connection` with asyncpg's
method names and arguments, without ``await``::

    import pgwire.sync

    with pgwire.sync.connect("postgresql://app@db/app") as conn:
        rows = conn.fetch("SELECT * FROM t WHERE id = $1", 5)

Each call runs the same C Protocol, Ops, statement cache, codecs and
Records as the asyncio face, driven by a blocking loop written in C
(src/ext/blocking.c): a non-blocking socket and poll() with the GIL
released.  The exceptions are the asyncio face's.  Ctrl-C during a query
sends a CancelRequest, waits (at most ``cancel_timeout``) for the server
to end the query, then raises KeyboardInterrupt; the connection stays
usable.  One connection serves one thread at a time: a call while another
thread's call is running raises InterfaceError.  See docs/sync.md.
"""

from __future__ import annotations

import collections
import threading
import time
import typing

from .. import _dial_sync
from .. import _pgwire
from .. import connect_utils
from .. import exceptions
from .. import rows as _rows
from .._typing import OtherRecordT as _OtherRecordT
from .._typing import RecordT as _RecordT
from .._typing import RowT as _RowT
from ..connection import Connection as _AsyncConnection
from ._loop import Loop

if typing.TYPE_CHECKING:
    from .. import cursor as _cursor
    from .. import prepared_stmt as _prepared_stmt
    from .. import transaction as _transaction
    from ..connection import ConnectionSettings, LoggedQuery
    from ..types import Attribute, ServerVersion, Type

_T = typing.TypeVar("_T")
_Callback = typing.Callable[..., typing.Any]

__all__ = ("connect", "create_pool", "Connection", "Pool", "Notification",
           "PreparedStatement", "Transaction", "CursorFactory", "Cursor")


class Notification(typing.NamedTuple):
    """A NOTIFY received: what :meth:`Connection.notifies` yields."""
    pid: int
    channel: str
    payload: str


@typing.overload
def connect(dsn: str | None = None, *, record_class: None = None,
            row_factory: None = None,
            connection_class: type[Connection[typing.Any]] | None = None,
            **kwargs: typing.Any) -> Connection[_pgwire.Record]: ...
@typing.overload
def connect(dsn: str | None = None, *, record_class: type[_OtherRecordT],
            row_factory: None = None,
            connection_class: type[Connection[typing.Any]] | None = None,
            **kwargs: typing.Any) -> Connection[_OtherRecordT]: ...
@typing.overload
def connect(dsn: str | None = None, *, record_class: None = None,
            row_factory: _rows.RowFactory[_RowT],
            connection_class: type[Connection[typing.Any]] | None = None,
            **kwargs: typing.Any) -> Connection[_RowT]: ...
def connect(dsn: str | None = None,
            **kwargs: typing.Any) -> Connection[typing.Any]:
    """Connect to PostgreSQL and return a blocking :class:`Connection`.

    Takes pgwire.connect()'s (asyncpg's) arguments: the DSN, host, port,
    user, password, passfile, database, timeout, statement_cache_size,
    command_timeout, ssl, direct_tls, server_settings, target_session_attrs,
    record_class, ... with the same meaning (and the same ``PG*``
    environment, passfile and service file).  ``connection_class`` is a
    subclass of :class:`pgwire.sync.Connection`; there is no ``loop``.
    """
    if "loop" in kwargs:
        raise TypeError("pgwire.sync.connect() takes no loop argument "
                        "(got loop={!r})".format(kwargs["loop"]))
    cls = kwargs.pop("connection_class", None) or Connection
    if not (isinstance(cls, type) and issubclass(cls, Connection)):
        raise exceptions.InterfaceError(
            "connection_class is expected to be a subclass of "
            "pgwire.sync.Connection, got {!r}".format(cls))
    loop = Loop()
    core = loop.run_until_complete(connect_utils.connect(
        dsn, loop=loop, connection_class=_Core, **kwargs))
    loop.cancel_timeout = core._protocol.cancel_timeout
    return cls(core, loop)


class _Core(_AsyncConnection):
    """The asyncio face's Connection, run on a BlockingLoop: the cold
    paths that need a running asyncio task are replaced here."""

    # the blocking Connection's deque
    _notifications: collections.deque[Notification] | None = None

    def _start_cancel(self) -> None:
        # The CancelRequest is dialled from the loop's next turn, on a
        # blocking socket bounded by cancel_timeout.
        self._loop.call_soon(self._cancel_now)

    def _cancel_now(self) -> None:
        proto = self._protocol
        ok = False
        try:
            _dial_sync.send_cancel_request(
                self._cancel_addr(), proto.backend_pid,
                proto.backend_secret, timeout=proto.cancel_timeout)
            ok = True
        except Exception:
            ok = False
        finally:
            proto._cancel_finished(ok)

    async def close(self, *, timeout: float | None = None) -> None:
        """Terminate, then wait (at most ``timeout``, default 10 s) for the
        server to close its end; past it the socket is aborted."""
        if self.is_closed():
            return
        self._closing = True
        loop: typing.Any = self._loop
        if timeout is None:
            timeout = 10.0
        try:
            async with loop._pgwire_timeout_at(loop.time() + timeout):
                closed = self._protocol.closed_future()
                self._protocol.send_terminate()
                await closed
        except BaseException:
            self.terminate()
            raise

    def _on_notification(self, pid: int, channel: str,
                         payload: str) -> None:
        queue = self._notifications
        if queue is not None:
            queue.append(Notification(pid, channel, payload))
        super()._on_notification(pid, channel, payload)


def _discard(aw: object) -> None:
    """An awaitable that will not be run: close it (no 'never awaited'
    warning, nothing started)."""
    close = getattr(aw, "close", None)
    if close is not None:
        close()


_BUSY = ("cannot perform operation: another operation is in progress "
         "(this blocking connection is in use by another thread)")


class _HasConn(typing.Protocol):
    @property
    def _conn_(self) -> Connection[typing.Any]: ...


class _Runner:
    """What the blocking objects share: run an awaitable of the core on
    the connection's loop, one thread at a time."""

    __slots__ = ()

    def _run(self: _HasConn, aw: typing.Awaitable[_T]) -> _T:
        conn = self._conn_
        if not conn._lock.acquire(blocking=False):
            _discard(aw)
            raise exceptions.InterfaceError(_BUSY)
        try:
            return conn._loop.run_until_complete(aw)
        finally:
            conn._lock.release()


class Connection(_Runner, typing.Generic[_RecordT]):
    """A blocking connection to PostgreSQL: asyncpg's Connection methods,
    without ``await``.  Made by :func:`pgwire.sync.connect`."""

    __slots__ = ("_core", "_loop", "_lock", "_notes", "__weakref__",
                 "__dict__")

    def __init__(self, core: _Core, loop: Loop) -> None:
        self._core = core
        self._loop = loop
        self._lock = threading.Lock()
        self._notes: collections.deque[Notification] = collections.deque()
        core._notifications = self._notes
        core._proxy = self  # listeners are called with this connection

    @property
    def _conn_(self) -> Connection[_RecordT]:
        return self

    @property
    def _anycore(self) -> typing.Any:
        """The core untyped: its overloads take record_class= or
        row_factory=, these methods pass both through (the core checks
        them)."""
        return self._core

    # -- queries --------------------------------------------------------
    def execute(self, query: str, *args: typing.Any,
                timeout: float | None = None) -> str:
        """Run ``query`` (several statements when there are no args);
        returns the status of the last one, e.g. ``'INSERT 0 1'``."""
        return self._run(self._core.execute(query, *args, timeout=timeout))

    def executemany(self, command: str, args: typing.Iterable[typing.Any],
                    *, timeout: float | None = None) -> None:
        """Run ``command`` for each sequence of arguments (one pipelined
        batch, atomic)."""
        return self._run(self._core.executemany(command, args,
                                                timeout=timeout))

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
              timeout: float | None = None,
              record_class: type[_pgwire.Record] | None = None,
              row_factory: _rows.RowFactory[typing.Any] | None = None
              ) -> list[typing.Any]:
        """All rows, as a list of Records (or of ``row_factory``'s rows,
        see pgwire.rows)."""
        return self._run(self._anycore.fetch(query, *args, timeout=timeout,
                                          record_class=record_class,
                                          row_factory=row_factory))

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
                 timeout: float | None = None,
                 record_class: type[_pgwire.Record] | None = None,
                 row_factory: _rows.RowFactory[typing.Any] | None = None
                 ) -> typing.Any:
        """The first row, or None."""
        return self._run(self._anycore.fetchrow(query, *args, timeout=timeout,
                                             record_class=record_class,
                                             row_factory=row_factory))

    def fetchval(self, query: str, *args: typing.Any, column: int | str = 0,
                 timeout: float | None = None) -> typing.Any:
        """A value of the first row (``column``: index or name), or
        None."""
        return self._run(self._core.fetchval(query, *args, column=column,
                                             timeout=timeout))

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
    def fetchmany(self, query: str, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  record_class: type[_pgwire.Record] | None = None,
                  row_factory: _rows.RowFactory[typing.Any] | None = None
                  ) -> list[typing.Any]:
        """The rows of ``query`` run for each sequence of arguments."""
        return self._run(self._anycore.fetchmany(query, args, timeout=timeout,
                                              record_class=record_class,
                                              row_factory=row_factory))

    @typing.overload
    def prepare(self, query: str, *, name: str | None = None,
                timeout: float | None = None, record_class: None = None,
                row_factory: None = None) -> PreparedStatement[_RecordT]: ...
    @typing.overload
    def prepare(self, query: str, *, name: str | None = None,
                timeout: float | None = None,
                record_class: type[_OtherRecordT],
                row_factory: None = None
                ) -> PreparedStatement[_OtherRecordT]: ...
    @typing.overload
    def prepare(self, query: str, *, name: str | None = None,
                timeout: float | None = None, record_class: None = None,
                row_factory: _rows.RowFactory[_RowT]
                ) -> PreparedStatement[_RowT]: ...
    def prepare(self, query: str, *, name: str | None = None,
                timeout: float | None = None,
                record_class: type[_pgwire.Record] | None = None,
                row_factory: _rows.RowFactory[typing.Any] | None = None
                ) -> PreparedStatement[typing.Any]:
        """A blocking :class:`PreparedStatement` (``row_factory``: the
        shape of its rows, exclusive with ``record_class``)."""
        stmt: _prepared_stmt.PreparedStatement[typing.Any] = \
            self._run(self._anycore.prepare(query, name=name,
                                         timeout=timeout,
                                         record_class=record_class,
                                         row_factory=row_factory))
        return PreparedStatement(self, stmt)

    def transaction(self, *, isolation: str | None = None,
                    readonly: bool = False,
                    deferrable: bool = False) -> Transaction:
        """A :class:`Transaction`: ``with conn.transaction(): ...`` (nested
        blocks are savepoints), or start()/commit()/rollback()."""
        return Transaction(self, self._core.transaction(
            isolation=isolation, readonly=readonly, deferrable=deferrable))

    @typing.overload
    def cursor(self, query: str, *args: typing.Any,
               prefetch: int | None = None, timeout: float | None = None,
               record_class: None = None, row_factory: None = None
               ) -> CursorFactory[_RecordT]: ...
    @typing.overload
    def cursor(self, query: str, *args: typing.Any,
               prefetch: int | None = None, timeout: float | None = None,
               record_class: type[_OtherRecordT], row_factory: None = None
               ) -> CursorFactory[_OtherRecordT]: ...
    @typing.overload
    def cursor(self, query: str, *args: typing.Any,
               prefetch: int | None = None, timeout: float | None = None,
               record_class: None = None,
               row_factory: _rows.RowFactory[_RowT]
               ) -> CursorFactory[_RowT]: ...
    def cursor(self, query: str, *args: typing.Any,
               prefetch: int | None = None, timeout: float | None = None,
               record_class: type[_pgwire.Record] | None = None,
               row_factory: _rows.RowFactory[typing.Any] | None = None
               ) -> CursorFactory[typing.Any]:
        """A server-side cursor (inside a transaction): iterate over it
        (``prefetch`` rows per round trip), or ``open()`` it for a
        :class:`Cursor`."""
        return CursorFactory(self, self._anycore.cursor(
            query, *args, prefetch=prefetch, timeout=timeout,
            record_class=record_class, row_factory=row_factory))

    # -- COPY -------------------------------------------------------------
    def copy_from_table(self, table_name: str, *, output: typing.Any,
                        **kwargs: typing.Any) -> str:
        """COPY a table TO ``output`` (a path, a file object with
        ``write``, or a function called with each chunk)."""
        return self._run(self._core.copy_from_table(
            table_name, output=_sync_writer(output), **kwargs))

    def copy_from_query(self, query: str, *args: typing.Any,
                        output: typing.Any, **kwargs: typing.Any) -> str:
        """COPY the result of ``query`` TO ``output``."""
        return self._run(self._core.copy_from_query(
            query, *args, output=_sync_writer(output), **kwargs))

    def copy_to_table(self, table_name: str, *, source: typing.Any,
                      **kwargs: typing.Any) -> str:
        """COPY ``source`` (a path, a file object with ``read``, bytes, or
        an iterable of bytes) FROM STDIN into a table."""
        return self._run(self._core.copy_to_table(
            table_name, source=_sync_source(source), **kwargs))

    def copy_records_to_table(self, table_name: str, *,
                              records: typing.Iterable[typing.Any],
                              **kwargs: typing.Any) -> str:
        """COPY ``records`` (an iterable of tuples) in binary format."""
        return self._run(self._core.copy_records_to_table(
            table_name, records=_sync_records(records), **kwargs))

    # -- codecs -------------------------------------------------------------
    def set_type_codec(self, typename: str, *, schema: str = 'public',
                       encoder: _Callback, decoder: _Callback,
                       format: str = 'text') -> None:
        """As asyncpg's (see pgwire.Connection.set_type_codec)."""
        return self._run(self._core.set_type_codec(
            typename, schema=schema, encoder=encoder, decoder=decoder,
            format=format))

    def reset_type_codec(self, typename: str, *,
                         schema: str = 'public') -> None:
        return self._run(self._core.reset_type_codec(typename,
                                                     schema=schema))

    def set_builtin_type_codec(self, typename: str, *,
                               schema: str = 'public', codec_name: str,
                               format: str | None = None) -> None:
        return self._run(self._core.set_builtin_type_codec(
            typename, schema=schema, codec_name=codec_name, format=format))

    def reload_schema_state(self) -> None:
        return self._run(self._core.reload_schema_state())

    # -- notifications and logs -------------------------------------------
    def add_listener(self, channel: str, callback: _Callback) -> None:
        """LISTEN on ``channel``; ``callback(connection, pid, channel,
        payload)`` is called (during this connection's calls, or while
        :meth:`notifies` waits) for each NOTIFY."""
        return self._run(self._core.add_listener(channel, callback))

    def remove_listener(self, channel: str, callback: _Callback) -> None:
        return self._run(self._core.remove_listener(channel, callback))

    def notifies(self, timeout: float | None = None
                 ) -> typing.Iterator[Notification]:
        """Iterate over the notifications of the channels this connection
        listens on, as :class:`Notification` tuples, waiting for each at
        most ``timeout`` seconds (None: no limit); the iteration ends when
        none arrives in time.  Listeners are called as well."""
        if timeout is not None and not (
                isinstance(timeout, (int, float))
                and not isinstance(timeout, bool) and timeout >= 0):
            raise ValueError("notifies(timeout): expected None or a "
                             "non-negative number, got {!r}".format(timeout))
        notes = self._notes
        while True:
            if notes:
                yield notes.popleft()
                continue
            if self.is_closed():
                return
            if not self._wait_notification(timeout):
                return

    def _wait_notification(self, timeout: float | None) -> bool:
        """Run the loop until a notification arrives; False past
        ``timeout``."""
        if timeout == 0:
            self._run(_one_turn(self._loop))
            return bool(self._notes)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self._run(_wait_for_note(self._loop, self._notes, deadline))
        except TimeoutError:
            return False
        return True

    def add_log_listener(self, callback: _Callback) -> None:
        self._core.add_log_listener(callback)

    def remove_log_listener(self, callback: _Callback) -> None:
        self._core.remove_log_listener(callback)

    def add_termination_listener(self, callback: _Callback) -> None:
        self._core.add_termination_listener(callback)

    def remove_termination_listener(self, callback: _Callback) -> None:
        self._core.remove_termination_listener(callback)

    def add_query_logger(self, callback: _Callback) -> None:
        self._core.add_query_logger(callback)

    def remove_query_logger(self, callback: _Callback) -> None:
        self._core.remove_query_logger(callback)

    def query_logger(self, callback: _Callback
                     ) -> typing.ContextManager[_Callback]:
        return self._core.query_logger(callback)

    # -- state --------------------------------------------------------------
    def reset(self, *, timeout: float | None = None) -> None:
        """Return the session to a clean state (the pool's reset)."""
        return self._run(self._core.reset(timeout=timeout))

    def close(self, *, timeout: float | None = None) -> None:
        """Close gracefully (Terminate, then wait for the server at most
        ``timeout``, default 10 s; past it the socket is aborted)."""
        if not self._lock.acquire(blocking=False):
            raise exceptions.InterfaceError(_BUSY)
        try:
            if not self._core.is_closed():
                self._loop.run_until_complete(
                    self._core.close(timeout=timeout))
        finally:
            self._lock.release()

    def terminate(self) -> None:
        """Close at once (abort the socket)."""
        self._core.terminate()
        # deliver connection_lost now, not at the next call
        if self._lock.acquire(blocking=False):
            try:
                self._loop.run_once(0)
            finally:
                self._lock.release()

    def is_closed(self) -> bool:
        return self._core.is_closed()

    def is_in_transaction(self) -> bool:
        return self._core.is_in_transaction()

    def get_server_pid(self) -> int:
        return self._core.get_server_pid()

    def get_server_version(self) -> ServerVersion:
        return self._core.get_server_version()

    def get_settings(self) -> ConnectionSettings:
        return self._core.get_settings()

    def get_reset_query(self) -> str:
        return self._core.get_reset_query()

    def __enter__(self) -> Connection[_RecordT]:
        return self

    def __exit__(self, et: type[BaseException] | None,
                 e: BaseException | None, tb: typing.Any) -> None:
        if et is None:
            self.close()
        else:
            self.terminate() if et is KeyboardInterrupt else self.close()

    def __repr__(self) -> str:
        state = "closed" if self.is_closed() else "open"
        return "<pgwire.sync.Connection {} addr={!r} pid={}>".format(
            state, self._core._addr, self.get_server_pid())


async def _one_turn(loop: Loop) -> None:
    fut = loop.create_future()
    loop.call_soon(fut.set_result, None)
    await fut


async def _wait_for_note(loop: Loop, notes: collections.deque[Notification],
                         deadline: float | None) -> None:
    """Wake up when a notification is queued (checked after each turn:
    notifications arrive through the protocol's callbacks)."""
    while not notes:
        fut = loop.create_future()
        h = loop.call_later(0.05, fut.set_result, None) \
            if deadline is None else loop.call_at(
                min(deadline, loop.time() + 0.05), fut.set_result, None)
        try:
            await fut
        finally:
            h.cancel()
        if deadline is not None and loop.time() >= deadline and not notes:
            raise TimeoutError


def _sync_writer(output: typing.Any) -> typing.Any:
    """copy_from_*'s ``output``: a plain function is wrapped in a
    coroutine function (the async face awaits it)."""
    import inspect
    import os
    if isinstance(output, (str, bytes, os.PathLike)) or \
            hasattr(output, "write") or not callable(output) or \
            inspect.iscoroutinefunction(output):
        return output

    async def write(data: bytes) -> None:
        output(data)
    return write


class _Turn:
    """``await _Turn()``: give the blocking loop one turn without sleeping
    (asyncio.sleep(0)): timers fire -- a timeout= expires --, what the
    server sent is read."""

    __slots__ = ()

    def __await__(self) -> typing.Generator[None, None, None]:
        yield


_CHUNK = 512 * 1024


def _sync_source(source: typing.Any) -> typing.Any:
    """copy_to_table's ``source`` as an async iterable that gives the loop
    a turn between chunks.  The caller's source blocks the loop while it
    produces (a generator, a file's read()): without the turns a timeout=
    expiring meanwhile was only seen at the final wait, after CopyDone --
    TimeoutError raised for a COPY the server had committed.  A plain
    iterable of bytes (a list, a generator), a file object with ``read``
    and a path are wrapped (the async face takes async iterables);
    bytes-likes and async iterables pass as they are."""
    import collections.abc
    import os
    if isinstance(source, (bytes, bytearray, memoryview)) or \
            isinstance(source, collections.abc.AsyncIterable):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = source

        async def from_path() -> typing.AsyncIterator[bytes]:
            with open(path, "rb") as f:
                async for chunk in _sync_source(f):
                    yield chunk
        return from_path()
    if hasattr(source, "read"):
        read = source.read

        async def from_file() -> typing.AsyncIterator[bytes]:
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    return
                yield chunk
                await _Turn()
        return from_file()
    if not isinstance(source, collections.abc.Iterable):
        return source           # the async face names what it expects

    async def chunks() -> typing.AsyncIterator[bytes]:
        for chunk in source:
            yield chunk
            await _Turn()
    return chunks()


def _sync_records(records: typing.Any) -> typing.Any:
    """copy_records_to_table's plain iterable ``records`` as an async
    iterable giving the loop a turn every 1024 records (as _sync_source:
    the generator blocks the loop, a timeout= must still be seen)."""
    import collections.abc
    if isinstance(records, collections.abc.AsyncIterable) or \
            isinstance(records, (list, tuple)) or \
            not isinstance(records, collections.abc.Iterable):
        return records

    async def batches() -> typing.AsyncIterator[typing.Any]:
        for n, rec in enumerate(records, 1):
            yield rec
            if n % 1024 == 0:
                await _Turn()
    return batches()


class PreparedStatement(_Runner, typing.Generic[_RecordT]):
    """A blocking prepared statement (asyncpg's PreparedStatement)."""

    __slots__ = ("_conn_", "_stmt")

    def __init__(self, conn: Connection[typing.Any],
                 stmt: _prepared_stmt.PreparedStatement[_RecordT]) -> None:
        self._conn_ = conn
        self._stmt = stmt

    def get_name(self) -> str:
        return self._stmt.get_name()

    def get_query(self) -> str:
        return self._stmt.get_query()

    def get_statusmsg(self) -> str | None:
        return self._stmt.get_statusmsg()

    def get_parameters(self) -> tuple[Type, ...]:
        return self._stmt.get_parameters()

    def get_attributes(self) -> tuple[Attribute, ...]:
        return self._stmt.get_attributes()

    @typing.overload
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    def fetch(self, *args: typing.Any, timeout: float | None = None,
              row_factory: _rows.RowFactory[typing.Any] | None = None
              ) -> list[typing.Any]:
        """The rows; ``row_factory`` (pgwire.rows) overrides the shape
        given to prepare() for this call."""
        return self._run(self._stmt.fetch(*args, timeout=timeout,
                                          row_factory=row_factory))

    @typing.overload
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: None = None) -> _RecordT | None: ...
    @typing.overload
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: _rows.RowFactory[_RowT]) -> _RowT | None: ...
    def fetchrow(self, *args: typing.Any, timeout: float | None = None,
                 row_factory: _rows.RowFactory[typing.Any] | None = None
                 ) -> typing.Any:
        return self._run(self._stmt.fetchrow(*args, timeout=timeout,
                                             row_factory=row_factory))

    def fetchval(self, *args: typing.Any, column: int | str = 0,
                 timeout: float | None = None) -> typing.Any:
        return self._run(self._stmt.fetchval(*args, column=column,
                                             timeout=timeout))

    def executemany(self, args: typing.Iterable[typing.Any], *,
                    timeout: float | None = None) -> None:
        return self._run(self._stmt.executemany(args, timeout=timeout))

    @typing.overload
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    def fetchmany(self, args: typing.Iterable[typing.Any], *,
                  timeout: float | None = None,
                  row_factory: _rows.RowFactory[typing.Any] | None = None
                  ) -> list[typing.Any]:
        return self._run(self._stmt.fetchmany(args, timeout=timeout,
                                              row_factory=row_factory))

    def explain(self, *args: typing.Any,
                analyze: bool = False) -> typing.Any:
        return self._run(self._stmt.explain(*args, analyze=analyze))

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
        return CursorFactory(self._conn_, self._stmt.cursor(
            *args, prefetch=prefetch, timeout=timeout,
            row_factory=row_factory))

    def __repr__(self) -> str:
        return "<pgwire.sync.PreparedStatement {!r}>".format(
            self.get_query())


class Transaction(_Runner):
    """``with conn.transaction():`` -- commit on success, rollback on an
    exception; nested blocks are savepoints."""

    __slots__ = ("_conn_", "_tx")

    def __init__(self, conn: Connection[typing.Any],
                 tx: _transaction.Transaction) -> None:
        self._conn_ = conn
        self._tx = tx

    def start(self) -> None:
        self._run(self._tx.start())

    def commit(self) -> None:
        self._run(self._tx.commit())

    def rollback(self) -> None:
        self._run(self._tx.rollback())

    def __enter__(self) -> Transaction:
        self._run(self._tx.__aenter__())
        return self

    def __exit__(self, et: type[BaseException] | None,
                 e: BaseException | None,
                 tb: typing.Any) -> typing.Literal[False]:
        self._run(self._tx.__aexit__(et, e, tb))
        return False

    def __repr__(self) -> str:
        return repr(self._tx).replace("<pgwire.", "<pgwire.sync.", 1)


class CursorFactory(_Runner, typing.Generic[_RecordT]):
    """What cursor() returns: iterate over it, or open() it."""

    __slots__ = ("_conn_", "_factory")

    def __init__(self, conn: Connection[typing.Any],
                 factory: _cursor.CursorFactory[_RecordT]) -> None:
        self._conn_ = conn
        self._factory = factory

    def __iter__(self) -> typing.Iterator[_RecordT]:
        it = self._factory.__aiter__()
        while True:
            try:
                yield self._run(it.__anext__())
            except StopAsyncIteration:
                return

    def open(self) -> Cursor[_RecordT]:
        """A :class:`Cursor` (asyncpg: ``await conn.cursor(...)``)."""
        return Cursor(self._conn_, self._run(_await(self._factory)))


async def _await(aw: typing.Awaitable[_T]) -> _T:
    return await aw


class Cursor(_Runner, typing.Generic[_RecordT]):
    """A server-side cursor: fetch(n), fetchrow(), forward(n)."""

    __slots__ = ("_conn_", "_cur")

    def __init__(self, conn: Connection[typing.Any],
                 cur: _cursor.Cursor[_RecordT]) -> None:
        self._conn_ = conn
        self._cur = cur

    def fetch(self, n: int, *,
              timeout: float | None = None) -> list[_RecordT]:
        return self._run(self._cur.fetch(n, timeout=timeout))

    def fetchrow(self, *,
                 timeout: float | None = None) -> _RecordT | None:
        return self._run(self._cur.fetchrow(timeout=timeout))

    def forward(self, n: int, *, timeout: float | None = None) -> int:
        return self._run(self._cur.forward(n, timeout=timeout))


from .pool import Pool, create_pool  # noqa: E402 (uses connect above)
