"""pgwire.Connection: the query methods are C (ConnectionCore); what is
cold lives here: close/terminate, settings and version, listeners,
cancellation of a running query, and the handshake glue."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import typing

from . import _custom_codecs as cc
from . import _dial
from . import _pipeline
from . import _pgwire
from . import exceptions
from . import introspection
from . import rows as _rows
from . import types as _types
from ._copy import CopyMixin
from .cursor import CursorFactory
from .prepared_stmt import PreparedStatement
from .transaction import Transaction
from .utils import quote_ident as _quote_ident
from ._typing import OtherRecordT as _OtherRecordT
from ._typing import RecordT as _RecordT
from ._typing import RowT as _RowT

# a listener, logger or codec function
_Callback = typing.Callable[..., typing.Any]
# a codec override: (codec, array oid, codec of the array type or None)
_CodecEntry = tuple[_pgwire.Codec, int, typing.Optional[_pgwire.Codec]]

__all__ = ("Connection", "LoggedQuery")


# Session settings the client reads when it writes a request.
_CLIENT_SETTINGS = ("client_encoding", "standard_conforming_strings")


class LoggedQuery(typing.NamedTuple):
    """What a query logger receives (asyncpg's fields)."""
    query: str
    args: typing.Any
    timeout: typing.Optional[float]
    elapsed: float
    exception: typing.Optional[BaseException]
    conn_addr: typing.Any
    conn_params: typing.Any


class ConnectionSettings:
    """Read-only view of the server's ParameterStatus values."""

    __slots__ = ("_settings",)

    def __init__(self, settings: typing.Mapping[str, str]) -> None:
        self._settings = settings

    def __getattr__(self, name: str) -> str:
        try:
            return self._settings[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return "<ConnectionSettings {!r}>".format(self._settings)


class Connection(CopyMixin, _pgwire.ConnectionCore,
                 typing.Generic[_RecordT]):
    """A connection to PostgreSQL.

    Not created directly: use :func:`pgwire.connect`.
    """

    if typing.TYPE_CHECKING:
        # The query methods are C (ConnectionCore, typed loosely in
        # _pgwire.pyi); these are their types as the user sees them: the
        # rows are the connection's row type unless record_class= or
        # row_factory= says otherwise (asyncpg-stubs' shape).
        _pool_statements: typing.Any  # pool_stmt.py's, set on use

        @typing.overload  # type: ignore[override]
        def fetch(self, query: str, *args: typing.Any,
                  timeout: float | None = None, record_class: None = None,
                  row_factory: None = None
                  ) -> _pgwire.Query[list[_RecordT]]: ...
        @typing.overload
        def fetch(self, query: str, *args: typing.Any,
                  timeout: float | None = None,
                  record_class: type[_OtherRecordT],
                  row_factory: None = None,
                  _ignore_custom_codec: bool = False
                  ) -> _pgwire.Query[list[_OtherRecordT]]: ...
        @typing.overload
        def fetch(self, query: str, *args: typing.Any,
                  timeout: float | None = None, record_class: None = None,
                  row_factory: _rows.RowFactory[_RowT]
                  ) -> _pgwire.Query[list[_RowT]]: ...
        def fetch(self, *args: typing.Any, **kwargs: typing.Any
                  ) -> _pgwire.Query[typing.Any]: ...

        @typing.overload  # type: ignore[override]
        def fetchrow(self, query: str, *args: typing.Any,
                     timeout: float | None = None,
                     record_class: None = None, row_factory: None = None
                     ) -> _pgwire.Query[_RecordT | None]: ...
        @typing.overload
        def fetchrow(self, query: str, *args: typing.Any,
                     timeout: float | None = None,
                     record_class: type[_OtherRecordT],
                     row_factory: None = None
                     ) -> _pgwire.Query[_OtherRecordT | None]: ...
        @typing.overload
        def fetchrow(self, query: str, *args: typing.Any,
                     timeout: float | None = None,
                     record_class: None = None,
                     row_factory: _rows.RowFactory[_RowT]
                     ) -> _pgwire.Query[_RowT | None]: ...
        def fetchrow(self, *args: typing.Any, **kwargs: typing.Any
                     ) -> _pgwire.Query[typing.Any]: ...

        @typing.overload  # type: ignore[override]
        def fetchmany(self, query: str, args: typing.Iterable[typing.Any],
                      *, timeout: float | None = None,
                      record_class: None = None, row_factory: None = None
                      ) -> _pgwire.Query[list[_RecordT]]: ...
        @typing.overload
        def fetchmany(self, query: str, args: typing.Iterable[typing.Any],
                      *, timeout: float | None = None,
                      record_class: type[_OtherRecordT],
                      row_factory: None = None
                      ) -> _pgwire.Query[list[_OtherRecordT]]: ...
        @typing.overload
        def fetchmany(self, query: str, args: typing.Iterable[typing.Any],
                      *, timeout: float | None = None,
                      record_class: None = None,
                      row_factory: _rows.RowFactory[_RowT]
                      ) -> _pgwire.Query[list[_RowT]]: ...
        def fetchmany(self, *args: typing.Any, **kwargs: typing.Any
                      ) -> _pgwire.Query[typing.Any]: ...

    def __init__(self, protocol: _pgwire.Protocol, transport: typing.Any,
                 loop: asyncio.AbstractEventLoop, addr: typing.Any,
                 config: typing.Any, params: typing.Any) -> None:
        super().__init__(protocol)
        self._loop = loop
        self._transport = transport
        self._addr = addr
        self._config = config
        self._params = params
        self._log_listeners: list[_Callback] = []
        self._notification_listeners: dict[str, list[_Callback]] = {}
        self._termination_listeners: list[_Callback] = []
        self._log_messages: collections.deque[typing.Any] = \
            collections.deque(maxlen=1000)
        self._cancel_tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        # the top-level Transaction while one is open (transaction.py)
        self._top_xact: Transaction | None = None
        # oid (and ("sql", oid)) -> types.Type, for prepare()'s attributes
        self._type_info: dict[typing.Any, typing.Any] = {}
        # set_type_codec overrides: oid -> (codec, array oid, array codec)
        self._custom_codecs: dict[int, _CodecEntry] = {}
        self._query_loggers: list[_Callback] = []
        self._logged_params: typing.Any = None  # redacted, made once
        # a pool's introspection.SharedTypeCache and the generation of it
        # this connection's caches match (pool.py, _join_pool_types)
        self._shared_types: introspection.SharedTypeCache | None = None
        self._shared_types_gen: int | None = None
        # connect(json_decode=True): {oid: (codec, array oid, array codec)}
        # for json and jsonb, under the set_type_codec overrides
        self._json_codecs: dict[int, _CodecEntry] = {}
        # the session defaults of what the client reads to write a request
        # (the pool's pipelined reset restores them: _pool_reset_pipelinable)
        self._startup_settings: dict[str, str | None] = {
            k: protocol.settings.get(k) for k in _CLIENT_SETTINGS}
        protocol.set_connection(self)

    # -- prepared statements ------------------------------------------
    @typing.overload
    async def prepare(self, query: str, *, name: str | None = None,
                      timeout: float | None = None,
                      record_class: None = None, row_factory: None = None
                      ) -> PreparedStatement[_RecordT]: ...
    @typing.overload
    async def prepare(self, query: str, *, name: str | None = None,
                      timeout: float | None = None,
                      record_class: type[_OtherRecordT],
                      row_factory: None = None
                      ) -> PreparedStatement[_OtherRecordT]: ...
    @typing.overload
    async def prepare(self, query: str, *, name: str | None = None,
                      timeout: float | None = None,
                      record_class: None = None,
                      row_factory: _rows.RowFactory[_RowT]
                      ) -> PreparedStatement[_RowT]: ...
    async def prepare(self, query: str, *, name: str | None = None,
                      timeout: float | None = None,
                      record_class: type[_pgwire.Record] | None = None,
                      row_factory: _rows.RowFactory[typing.Any] | None = None
                      ) -> PreparedStatement[typing.Any]:
        """Create a :class:`PreparedStatement` for ``query``.

        ``row_factory``: the shape of its rows (pgwire.rows; exclusive
        with ``record_class``).  The statement belongs to this connection:
        in a pool, use :meth:`pgwire.Pool.prepare` for a statement that
        outlives the acquisition.

        The query is parsed afresh (as asyncpg does), whatever the
        statement cache holds, and the statement is kept out of the cache.
        With the statement cache on, it is a named statement, closed on the
        server once no PreparedStatement uses it; with
        ``statement_cache_size=0`` it is the unnamed statement, parsed again
        (in the same round trip) at each execution.
        """
        shape = _rows.check_shape(record_class, row_factory, "prepare()")
        # one deadline for Parse/Describe and the type lookup
        deadline = None
        if isinstance(timeout, (int, float)) and \
                not isinstance(timeout, bool) and timeout > 0:
            deadline = self._loop.time() + timeout
        state = await self._prepare(query, name=name, timeout=timeout,
                                    fresh=True)
        # claim it before anything else can evict it from the cache
        self._protocol.acquire_statement(state)
        try:
            if deadline is not None:
                timeout = deadline - self._loop.time()
                if timeout <= 0:
                    raise asyncio.TimeoutError
            types = await self._describe_oids(
                state.param_oids + state.column_oids, timeout)
        except BaseException:
            self._protocol.release_statement(state)
            raise
        params = tuple(types[o] for o in state.param_oids)
        attrs = tuple(_types.Attribute(n, types[o]) for n, o in
                      zip(state.column_names, state.column_oids))
        return PreparedStatement(self, state, shape, params, attrs)

    async def _describe_oids(self, oids: typing.Iterable[int],
                             timeout: float | None
                             ) -> dict[typing.Any, typing.Any]:
        """Type(oid, name, kind, schema) for each oid, from a per-connection
        cache filled by one catalog query per set of unknown oids."""
        cache = self._type_info
        missing = sorted({o for o in oids if o not in cache})
        if missing:
            rows = await self.fetch(_TYPE_INFO_QUERY, missing,
                                    timeout=timeout,
                                    record_class=_pgwire.Record,
                                    _ignore_custom_codec=True)
            for r in rows:
                kind = _type_kind(r)
                cache[r[0]] = _types.Type(r[0], _type_name(r, kind), kind,
                                          r[4])
                # the catalog name, for SQL (Type.name of an array is
                # asyncpg's 'int4[]', not the name of a type)
                cache["sql", r[0]] = r[1]
            for o in missing:
                cache.setdefault(o, _types.Type(o, "unknown", "scalar",
                                                "pg_catalog"))
        return cache

    async def _introspect_types(self, oids: typing.Sequence[int]) -> None:
        """Called by the C layer with the oids of non-builtin types a
        statement uses; builds their codecs into the protocol's registry.
        Overridable (as in asyncpg) by a connection_class subclass."""
        registry = self._protocol.type_codecs
        user = [o for o in oids if o >= introspection.FIRST_NORMAL_OID]
        for o in oids:
            if o < introspection.FIRST_NORMAL_OID:
                introspection.build_builtin(o, registry)
        if not user:
            return
        shared = self._shared_types  # set by a pool
        if shared is None:
            rows = await self._fetch_type_rows(user)
        else:
            rows, missing = shared.lookup(user)
            if missing:
                generation = shared.generation
                rows = await self._fetch_type_rows(missing)
                shared.add(rows, generation)
        introspection.build_codecs(rows, registry)

    async def _fetch_type_rows(self, oids: typing.Sequence[int]
                               ) -> list[typing.Any]:
        """The catalog rows of ``oids`` and of the types they are made of
        (introspection.fetch_type_rows): plain reads, no transaction and no
        setting changed, so a timeout or a cancel at any point leaves the
        session as it was."""
        return await introspection.fetch_type_rows(self._codec_catalog,
                                                   oids)

    async def reload_schema_state(self) -> None:
        """Forget cached statements and type information (after schema
        changes made elsewhere)."""
        self._protocol.clear_statement_cache()
        self._reset_type_codecs()
        self._type_info = {}

    def _reset_type_codecs(self) -> None:
        """Forget derived codecs; set_type_codec overrides stay (called
        by the C layer after OutdatedSchemaCacheError too).  In a pool,
        the shared introspection rows go too, and the pool's other
        connections drop their caches when next acquired."""
        shared = self._shared_types
        if shared is not None:
            shared.invalidate()
            self._shared_types_gen = shared.generation
        self._install_custom_codecs()

    # -- explicit pipelines (pgwire/_pipeline.py) -----------------------
    def pipeline(self, *, sync_each: bool = False) -> _pipeline.Pipeline:
        """An explicit batch (``async with conn.pipeline() as p``): the
        queries issued inside share Sync points until ``await p.sync()``
        or the end of the block (docs/pipelining.md)."""
        return _pipeline.Pipeline(self, sync_each)

    # -- transactions (pgwire/transaction.py) --------------------------
    def transaction(self, *, isolation: str | None = None,
                    readonly: bool = False,
                    deferrable: bool = False) -> Transaction:
        """Create a :class:`pgwire.transaction.Transaction` (sync; use it
        with ``async with`` or start()/commit()/rollback()).  Nested
        blocks become savepoints.  ``isolation`` is one of
        'serializable', 'repeatable_read', 'read_uncommitted',
        'read_committed' or None (the server default)."""
        self._check_open()
        return Transaction(self, isolation, readonly, deferrable)
    # -- end transactions ------------------------------------------------

    # -- cursors (pgwire/cursor.py) --------------------------------------
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
        """A server-side cursor (needs a transaction): ``async for`` it
        (``prefetch`` rows per round trip, default 50) or ``await`` it for
        a :class:`pgwire.cursor.Cursor`.  ``row_factory``: see
        pgwire.rows (exclusive with ``record_class``)."""
        self._check_open()
        shape = _rows.check_shape(record_class, row_factory, "cursor()")
        return CursorFactory(self, query, None, args, prefetch, timeout,
                             shape)

    def _check_open(self) -> None:
        if self.is_closed():
            raise exceptions.InterfaceError('connection is closed')

    # -- info ---------------------------------------------------------
    def get_server_version(self) -> _types.ServerVersion:
        """Return the server version as a :class:`pgwire.types.ServerVersion`."""
        return _types._parse_server_version(
            self._protocol.settings.get("server_version", "0"))

    def get_settings(self) -> ConnectionSettings:
        """Return the server's run-time parameters (ParameterStatus)."""
        return ConnectionSettings(self._protocol.settings)

    def get_reset_query(self) -> str:
        """The query reset() runs to return the session to a clean state
        (advisory locks, cursors, LISTEN registrations, settings, and the
        role and session authorization, which RESET ALL leaves alone)."""
        return ("SELECT pg_advisory_unlock_all();\nCLOSE ALL;\n"
                "UNLISTEN *;\nRESET ALL;\nRESET SESSION AUTHORIZATION;\n"
                "RESET ROLE;")

    async def reset(self, *, timeout: float | None = None) -> None:
        """Roll back an open transaction, drop notification listeners and
        run get_reset_query() -- all in one round trip."""
        self._notification_listeners.clear()
        self._log_listeners.clear()
        query = self.get_reset_query() or ""
        if self.is_in_transaction():
            query = "ROLLBACK;\n" + query
        self._top_xact = None
        if query:  # an empty reset query turns it off (asyncpg)
            await self.execute(query, timeout=timeout)

    def _send_pool_reset(
            self, error_class: type[BaseException]) -> typing.Any:
        """The pool's release (docs/pooling.md): what reset() does, written
        at once as one transaction -- ``[ROLLBACK;] BEGIN; <reset query>;
        COMMIT`` -- without waiting for the answer.  If a statement fails,
        the server skips the rest (the COMMIT) and the session stays in an
        aborted transaction block, so the query pipelined behind it fails
        (25P02) instead of running on a session half reset.  Returns the
        future of its outcome (see Protocol._send_reset)."""
        self._notification_listeners.clear()
        self._log_listeners.clear()
        query = self._pool_reset_query()
        if self.is_in_transaction():
            query = "ROLLBACK;\n" + query
        self._top_xact = None
        return self._protocol._send_reset(query, error_class)

    def _pool_reset_pipelinable(self) -> bool:
        """Whether a query may be written behind the pool's reset before
        its answer: the client encodes a request with the settings of the
        moment (client_encoding; standard_conforming_strings for the
        checks of COPY's where=), and the server reads it under those the
        reset restores -- they must be the same."""
        settings = self._protocol.settings
        return all(settings.get(k) == v
                   for k, v in self._startup_settings.items())

    def _pool_reset_query(self) -> str:
        # READ COMMITTED: the session's default_transaction_isolation
        # (serializable, deferrable) must not make it wait for a snapshot
        return ("BEGIN ISOLATION LEVEL READ COMMITTED;\n" +
                Connection.get_reset_query(self) + "\nCOMMIT;")

    def __repr__(self) -> str:
        state = "closed" if self.is_closed() else "open"
        return "<pgwire.Connection {} addr={!r} pid={}>".format(
            state, self._addr, self.get_server_pid())

    # -- lifecycle ----------------------------------------------------
    async def close(self, *, timeout: float | None = None) -> None:
        """Close the connection gracefully (Terminate, then wait for the
        server to close its end).  A running query is cancelled first (its
        caller gets ``QueryCanceledError``), as in asyncpg.

        Bounded: if this does not complete within ``timeout`` (default
        10 s), the socket is aborted and ``TimeoutError`` is raised.
        """
        proto = self._protocol
        if self.is_closed():
            return
        self._closing = True
        if timeout is None:
            timeout = 10.0
        try:
            async with asyncio.timeout(timeout):
                if proto.is_busy():
                    # as asyncpg: a running query is cancelled first (it
                    # fails with QueryCanceledError), then Terminate
                    await self._cancel_running_query()
                closed = proto.closed_future()
                proto.send_terminate()
                await asyncio.shield(closed)
        except (Exception, asyncio.CancelledError):
            self.terminate()
            raise
        finally:
            self._cleanup_cancel_tasks()

    async def _cancel_running_query(self) -> None:
        """close() with a query running: send a CancelRequest and wait for
        the connection to be idle (the query's caller gets the server's
        answer); close()'s timeout bounds it."""
        proto = self._protocol
        try:
            await _dial.send_cancel_request(
                self._cancel_addr(), proto.backend_pid, proto.backend_secret,
                loop=self._loop, timeout=proto.cancel_timeout)
        except Exception:
            return  # could not cancel: Terminate ends it anyway
        delay = 0.001
        while proto.is_busy() and not proto.is_closed():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    def terminate(self) -> None:
        """Close the connection at once (abort the socket)."""
        self._closing = True
        self._protocol.abort()

    def _cleanup_cancel_tasks(self) -> None:
        for t in list(self._cancel_tasks):
            if not t.done():
                t.cancel()

    # -- callbacks from the C protocol ----------------------------------
    # A connection acquired from a pool has its PoolConnectionProxy here
    # (set by the pool while it is handed out): listeners are called with
    # what the user holds, the proxy, as in asyncpg.
    _proxy: typing.Any = None

    def _unwrap(self) -> typing.Any:
        proxy = self._proxy
        return self if proxy is None else proxy

    def _on_notice(self, fields: dict[str, str]) -> None:
        msg = exceptions._log_message_from_fields(fields) \
            if hasattr(exceptions, "_log_message_from_fields") else fields
        self._log_messages.append(msg)
        if self._log_listeners:
            con = self._unwrap()
            for cb in list(self._log_listeners):
                self._call_listener(cb, con, msg)

    def _on_notification(self, pid: int, channel: str, payload: str) -> None:
        listeners = self._notification_listeners.get(channel)
        if listeners:
            con = self._unwrap()
            for cb in list(listeners):
                self._call_listener(cb, con, pid, channel, payload)

    def _on_connection_lost(self, exc: BaseException | None) -> None:
        listeners, self._termination_listeners = \
            self._termination_listeners, []
        con = self._unwrap()
        for cb in listeners:
            self._call_listener(cb, con)

    def _call_listener(self, cb: _Callback, *args: typing.Any) -> None:
        if asyncio.iscoroutinefunction(cb):
            self._loop.create_task(cb(*args))
        else:
            self._loop.call_soon(cb, *args)

    async def add_listener(self, channel: str, callback: _Callback) -> None:
        """Call ``callback(connection, pid, channel, payload)`` for each
        NOTIFY on ``channel`` (a plain function or a coroutine function).
        The first listener on a channel runs LISTEN (identifier quoted)."""
        listeners = self._notification_listeners.get(channel)
        if not listeners:
            await self.execute("LISTEN " + _quote_ident(channel))
            listeners = self._notification_listeners.setdefault(channel, [])
        listeners.append(callback)

    async def remove_listener(self, channel: str,
                              callback: _Callback) -> None:
        """Remove a callback; the last one gone runs UNLISTEN."""
        listeners = self._notification_listeners.get(channel)
        if not listeners:
            return
        try:
            listeners.remove(callback)
        except ValueError:
            return
        if not listeners:
            del self._notification_listeners[channel]
            if not self.is_closed():
                await self.execute("UNLISTEN " + _quote_ident(channel))

    def add_log_listener(self, callback: _Callback) -> None:
        """Call ``callback(connection, message)`` for each NOTICE/WARNING."""
        self._log_listeners.append(callback)

    def remove_log_listener(self, callback: _Callback) -> None:
        try:
            self._log_listeners.remove(callback)
        except ValueError:
            pass

    def add_termination_listener(self, callback: _Callback) -> None:
        self._termination_listeners.append(callback)

    def remove_termination_listener(self, callback: _Callback) -> None:
        try:
            self._termination_listeners.remove(callback)
        except ValueError:
            pass

    # -- query loggers ----------------------------------------------------
    def add_query_logger(self, callback: _Callback) -> None:
        """Call ``callback(record)`` (a plain function or a coroutine
        function) after each query run by execute, executemany, fetch,
        fetchrow, fetchval, fetchmany and prepared statements' execution
        methods; ``record`` is a :class:`LoggedQuery`."""
        loggers = self._query_loggers
        if callback not in loggers:
            loggers.append(callback)
        self._protocol._query_log = self._log_query

    def remove_query_logger(self, callback: _Callback) -> None:
        loggers = self._query_loggers
        try:
            loggers.remove(callback)
        except ValueError:
            pass
        if not loggers:
            self._protocol._query_log = None

    @contextlib.contextmanager
    def query_logger(self, callback: _Callback
                     ) -> typing.Iterator[_Callback]:
        """A context manager that adds ``callback`` as a query logger for
        the duration of its block."""
        self.add_query_logger(callback)
        try:
            yield callback
        finally:
            self.remove_query_logger(callback)

    def _log_query(self, query: str, args: typing.Any,
                   timeout: float | None, elapsed: float,
                   exception: BaseException | None) -> None:
        """Called by the C layer when a logged query finishes."""
        params = self._logged_params
        if params is None:
            # the parameters without the password (it must not reach logs)
            redact = getattr(self._params, "redacted", None)
            params = self._logged_params = \
                redact() if redact is not None else self._params
        record = LoggedQuery(query, args, timeout, elapsed, exception,
                             self._addr, params)
        for cb in list(self._query_loggers):
            self._call_listener(cb, record)

    # -- cancellation ---------------------------------------------------
    def _start_cancel(self) -> None:
        """Called by the protocol when a running query must be cancelled
        (timeout or task cancellation).  Dials a CancelRequest, bounded;
        reports back through protocol._cancel_finished(ok)."""
        task = self._loop.create_task(self._cancel_runner())
        self._cancel_tasks.add(task)
        task.add_done_callback(self._cancel_tasks.discard)

    def _cancel_addr(self) -> typing.Any:
        addr = self._addr
        peer = self._transport.get_extra_info("peername") \
            if self._transport is not None else None
        if isinstance(peer, tuple) and len(peer) >= 2 and \
                isinstance(addr, tuple):
            addr = (peer[0], peer[1])
        return addr

    async def _cancel_runner(self) -> None:
        proto = self._protocol
        ok = False
        # The address this connection is on, not its host name again: a
        # name with several addresses (round-robin DNS, load_balance_hosts)
        # could send the cancel to another server.
        addr = self._cancel_addr()
        try:
            await _dial.send_cancel_request(
                addr, proto.backend_pid, proto.backend_secret,
                loop=self._loop, timeout=proto.cancel_timeout)
            ok = True
        except (Exception, asyncio.CancelledError):
            ok = False
        finally:
            proto._cancel_finished(ok)

    # -- custom codecs (set_type_codec, reset_type_codec,
    #    set_builtin_type_codec) ------------------------------------------
    # Overrides live in self._custom_codecs (oid -> (codec, array oid,
    # array codec)) and are installed in the protocol's type_codecs, which
    # statements consult before the builtin table.  Setting or resetting
    # one clears type_codecs (derived codecs may embed the old codec) and
    # the statement cache, then installs the overrides again.
    async def set_type_codec(self, typename: str, *, schema: str = 'public',
                             encoder: _Callback, decoder: _Callback,
                             format: str = 'text') -> None:
        """Set an encoder/decoder pair for the type ``schema.typename``.

        ``format='text'``: ``decoder`` receives the text form (``str``) and
        ``encoder`` must return one; ``'binary'``: the binary form
        (``bytes``); ``'tuple'``: the type's tuple form -- interval
        ``(months, days, microseconds)``, date ``(days since 2000-01-01,)``,
        timestamp/timestamptz ``(microseconds since 2000-01-01 [UTC],)``,
        time ``(microseconds,)``, timetz ``(microseconds, zone offset in
        seconds)``, a composite type the tuple of its field values
        (composites take only this format).  Infinity is the int32/int64
        max/min sentinel.  Builtin types are in ``schema='pg_catalog'``.
        The array type of ``typename`` uses the codec for its elements.
        """
        cc.check_format(format, cc.CODEC_FORMATS)
        info = await self._codec_type_info(typename, schema)
        cc.check_custom_codec(info, typename, schema, format)
        self._custom_codec_map().pop(info.oid, None)
        try:
            base = None
            if format == 'tuple':
                base = await self._codec_tuple_base(info)
            codec = _pgwire.python_codec(
                info.oid, info.name, encoder=encoder,
                decoder=decoder, format=format, base=base)
            self._custom_codec_map()[info.oid] = \
                self._codec_with_array(info, codec)
        except ValueError as e:
            raise exceptions.InterfaceError(str(e)) from None
        finally:
            self._install_custom_codecs()

    async def reset_type_codec(self, typename: str, *,
                               schema: str = 'public') -> None:
        """Restore the default codec of ``schema.typename`` (and of its
        array type)."""
        info = await self._codec_type_info(typename, schema)
        self._custom_codec_map().pop(info.oid, None)
        self._install_custom_codecs()

    async def set_builtin_type_codec(self, typename: str, *,
                                     schema: str = 'public',
                                     codec_name: str,
                                     format: str | None = None) -> None:
        """Exchange the scalar type ``schema.typename`` (typically an
        extension type) with the builtin codec ``codec_name``: a builtin
        type name (``'text'``, ``'int'``, ``'double precision'``, ...) or
        ``'pg_contrib.hstore'`` (``dict[str, str | None]``).  ``format``:
        None for the target's format, or ``'text'``/``'binary'``."""
        cc.check_format(format, (None, 'text', 'binary'))
        info = await self._codec_type_info(typename, schema)
        if not cc.is_scalar(info):
            raise exceptions.InterfaceError(
                'cannot alias non-scalar type {}.{}'.format(schema, typename))
        target = cc.alias_target(codec_name)
        self._custom_codec_map().pop(info.oid, None)
        try:
            if target is None:
                raise LookupError(codec_name)
            codec = _pgwire.alias_codec(info.oid, info.name,
                                        target=target, format=format)
            self._custom_codec_map()[info.oid] = \
                self._codec_with_array(info, codec)
        except (LookupError, ValueError):
            raise exceptions.InterfaceError(
                'cannot alias {} to {}: there is no {} codec for {}'.format(
                    typename, codec_name, format or 'text or binary',
                    codec_name)) from None
        finally:
            self._install_custom_codecs()

    def _set_json_codecs(self, loads: _Callback, dumps: _Callback) -> None:
        """connect(json_decode=True): json and jsonb (and their arrays)
        decode with loads and encode with dumps, in C; set_type_codec on
        them still overrides."""
        codecs: dict[int, _CodecEntry] = {}
        for oid, name, array_oid in _JSON_TYPES:
            codec = _pgwire.json_codec(oid, name, encoder=dumps,
                                       decoder=loads)
            array = _pgwire.array_codec(array_oid, '_' + name, codec)
            codecs[oid] = (codec, array_oid, array)
        self._json_codecs = codecs
        self._install_custom_codecs()

    def _custom_codec_map(self) -> dict[int, _CodecEntry]:
        return self._custom_codecs

    def _install_custom_codecs(self) -> None:
        """type_codecs := the overrides (derived codecs are rebuilt on
        demand); drop the statements prepared with the old codecs."""
        registry = self._protocol.type_codecs
        registry.clear()
        codecs = dict(self._json_codecs)
        codecs.update(self._custom_codec_map())
        for oid, (codec, array_oid, array) in codecs.items():
            registry[oid] = codec
            if array is not None:
                registry[array_oid] = array
        self._protocol.clear_statement_cache()

    async def _codec_catalog(self, query: str, *args: typing.Any
                             ) -> list[_pgwire.Record]:
        """fetch() a catalog query with the default codecs: overrides
        (of text, int8, ...) must not decode it."""
        return await self.fetch(query, *args, record_class=_pgwire.Record,
                                _ignore_custom_codec=True)

    async def _codec_type_info(self, typename: str,
                               schema: str) -> typing.Any:
        if self.is_closed():
            raise exceptions.InterfaceError('connection is closed')
        query, args = cc.lookup_query(typename, schema)
        rows = await self._codec_catalog(query, *args)
        return cc.type_info(rows, typename, schema)

    async def _codec_tuple_base(self, info: typing.Any) -> _pgwire.Codec:
        """The Codec whose tuple form a tuple-format codec exchanges: the
        builtin one, or the composite built from the catalog (its fields
        use the overrides in force)."""
        if info.typtype != 'c':
            return _pgwire.builtin_codec(info.oid)
        rows = await self._fetch_type_rows([info.oid])
        self._install_custom_codecs()  # without this type's old override
        registry = dict(self._protocol.type_codecs)
        introspection.build_codecs(rows, registry)
        return registry[info.oid]

    @staticmethod
    def _codec_with_array(info: typing.Any, codec: _pgwire.Codec
                          ) -> _CodecEntry:
        """(codec, array oid, codec of the array type or None)."""
        if not info.array_oid:
            return codec, 0, None
        make = (_pgwire.array_codec if codec.format == 1
                else _pgwire.text_array_codec)
        array = make(info.array_oid, info.array_name or '_' + info.name,
                     codec)
        return codec, info.array_oid, array

    # -- pool support (pgwire/pool.py) ----------------------------------
    def _join_pool_types(self,
                         shared: introspection.SharedTypeCache) -> None:
        """Share introspection rows with the other connections of a pool
        (an introspection.SharedTypeCache)."""
        self._shared_types = shared
        self._shared_types_gen = shared.generation

    def _sync_pool_types(self) -> None:
        """Called by the pool on acquire: when another connection of the
        pool invalidated the shared type information, forget cached
        statements and derived codecs here too (no I/O)."""
        shared = self._shared_types
        if shared is not None and \
                self._shared_types_gen != shared.generation:
            self._shared_types_gen = shared.generation
            self._type_info = {}
            self._install_custom_codecs()


# (oid, name, array oid) of the types connect(json_decode=True) decodes
_JSON_TYPES = ((114, 'json', 199), (3802, 'jsonb', 3807))

_TYPE_INFO_QUERY = """\
SELECT t.oid::int8, t.typname::text, t.typtype::text, t.typelem::int8,
       n.nspname::text, t.typcategory::text
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.oid = ANY($1::int8[]::oid[])"""

_KINDS = {"c": "composite", "r": "range", "m": "multirange"}


def _type_kind(row: _pgwire.Record) -> str:
    typtype, typelem, category = row[2], row[3], row[5]
    if typtype in _KINDS:
        return _KINDS[typtype]
    if typelem and (category == "A" or (typtype == "p"
                                        and row[1].startswith("_"))):
        return "array"   # record[] (_record) is a pseudo-type array
    return "scalar"


def _type_name(row: _pgwire.Record, kind: str) -> str:
    # asyncpg names an array type after its catalog name without the
    # leading underscore, plus "[]": 'uuid[]', 'int2vector[]'
    name: str = row[1]
    if kind == "array":
        return (name[1:] if name.startswith("_") else name) + "[]"
    return name


# Forget the SCRAM SaltedPassword values this process remembers (C; see its
# docstring).  Nothing derived from a password is reachable from Python.
clear_auth_cache = _pgwire.clear_auth_cache


def __getattr__(name: str) -> typing.Any:
    # asyncpg.connection.connect: asyncpg's documented spelling of
    # connect(), an alias.  Looked up on first use: connect_utils imports
    # this module.
    if name == "connect":
        from .connect_utils import connect
        return connect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
