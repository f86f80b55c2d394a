"""pgwire.Pool: asyncpg's connection pool API.

``create_pool()`` / ``Pool(...)`` return a pool to initialise with
``await pool`` or ``async with pool``; ``acquire()`` hands out
:class:`PoolConnectionProxy` objects (they pass ``isinstance(proxy,
pgwire.Connection)``) and ``release()`` takes them back.

Where asyncpg's pool goes wrong, this one does not:

- Waiters are served first come, first served.  A released connection,
  or room to open one, is handed straight to the oldest waiter; a new
  caller never overtakes a waiting one.  A waiter that times out or is
  cancelled gives back whatever it was handed, whenever the cancellation
  lands.
- A connection whose state is uncertain (closed, broken, a query still
  running or being cancelled) is terminated on release, never handed out
  again.  A failed or timed-out reset terminates it too; release()
  itself does not raise for that.
- The pool refills itself to ``min_size`` in the background when
  connections die or are closed (by the server, by expiry); failed
  connects are retried with exponential backoff (0.1 s doubling up to
  5 s) and jitter.
- ``max_inactive_connection_lifetime`` applies to every idle connection,
  including ones never used.  ``max_lifetime`` and ``health_check`` are
  pgwire additions.
- The reset on release costs no round trip: it is written at release as
  one transaction and the next user's first query follows it on the
  wire; a reset that fails closes the connection and the query behind
  it, which did not run, fails (the shortcuts retry it elsewhere).  It
  is skipped only when nothing ran (the C protocol counts requests).
- ``close()`` and ``release()`` are bounded.
- The connections share their type introspection results.

Internals.  Each open connection has a ``_Holder`` in ``_all``, in one of
the states IDLE (in ``_idle``, LIFO), TAKEN (handed to an acquirer) or
RELEASING (a custom reset being awaited); ``_opening`` counts connections being
opened.  ``len(_all) + _opening <= max_size`` always.  What a waiter is
handed (a "ticket") is either an IDLE holder, now TAKEN, or ``_SLOT``:
room to open a connection, already counted in ``_opening``.  Whoever
holds a ticket must use it or give it back.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import numbers
import random
import typing
import warnings

from . import _pgwire
from . import connect_utils
from . import exceptions
from . import introspection
from . import rows as _rows
from .connection import Connection
from .pool_stmt import PoolPreparedStatement
from ._typing import OtherRecordT as _OtherRecordT
from ._typing import RecordT as _RecordT
from ._typing import RowT as _RowT

__all__ = ("Pool", "PoolAcquireContext", "PoolConnectionProxy",
           "create_pool")

logger = logging.getLogger(__name__)

# Holder states.
_IDLE = "idle"
_TAKEN = "taken"
_RELEASING = "releasing"
_GONE = "gone"

# The ticket "open a new connection" (counted in Pool._opening).
_SLOT = object()

# connect=, setup=, init=, reset= of create_pool(): coroutine functions
_Hook = typing.Optional[typing.Callable[..., typing.Awaitable[typing.Any]]]

# What release does with a connection.
_KEEP, _RESET, _CLOSE, _TERMINATE = range(4)

_CLOSE_TIMEOUT = 10.0         # graceful close of one connection
_RELEASE_TIMEOUT = 10.0       # reset on release, when no timeout is given
_HEALTH_CHECK_TIMEOUT = 5.0   # the health check query
_POOL_CLOSE_TIMEOUT = 60.0    # Pool.close() waiting for releases
_REFILL_BACKOFF_MIN = 0.1     # between failed background connects:
_REFILL_BACKOFF_MAX = 5.0     # doubling from MIN up to MAX, with jitter


def _released_error(name: str) -> exceptions.InterfaceError:
    return exceptions.InterfaceError(
        "cannot call Connection.{}(): connection has been released back "
        "to the pool".format(name))


# ---------------------------------------------------------------------------
# The connection proxy


class PoolConnectionProxy:
    """A connection acquired from a :class:`Pool`.

    Forwards everything to the connection; once released, every call
    raises :class:`pgwire.InterfaceError`, and so do the prepared
    statements, cursors and transactions made through it.
    ``isinstance(proxy, pgwire.Connection)`` (or the pool's
    ``connection_class``) is true: ``__class__`` reports the
    connection's class.
    """

    __slots__ = ("_con", "_holder", "_cls", "__weakref__")

    def __init__(self, holder: _Holder, con: Connection[typing.Any]
                 ) -> None:
        self._con = con
        self._holder = holder
        self._cls = type(con)

    # isinstance() consults __class__ when type() does not match (this is
    # how unittest.mock specs pass isinstance checks).
    @property  # type: ignore[misc]
    def __class__(self) -> type[typing.Any]:
        return self._cls

    def __getattr__(self, name: str) -> typing.Any:
        if name in ("_con", "_holder", "_cls"):  # unset slot
            raise AttributeError(name)
        con = self._con
        if con is None:
            raise _released_error(name)
        return getattr(con, name)

    def __repr__(self) -> str:
        if self._con is None:
            return "<pgwire.PoolConnectionProxy [released] {:#x}>".format(
                id(self))
        return "<pgwire.PoolConnectionProxy {!r} {:#x}>".format(
            self._con, id(self))


def _proxy_method(name: str, wrapped: typing.Any
                  ) -> typing.Callable[..., typing.Any]:
    doc = getattr(wrapped, "__doc__", None)
    def method(self: PoolConnectionProxy, *args: typing.Any,
               **kwargs: typing.Any) -> typing.Any:
        con = self._con
        if con is None:
            raise _released_error(name)
        return getattr(con, name)(*args, **kwargs)

    method.__name__ = name
    method.__qualname__ = "PoolConnectionProxy." + name
    method.__doc__ = doc
    # inspect.signature() gives Connection's signature (as asyncpg's
    # functools.wraps does)
    method.__wrapped__ = wrapped  # type: ignore[attr-defined]
    return method


def _add_proxy_methods() -> None:
    """A checking wrapper for each public method of Connection, so a
    method fetched before release still refuses to run after it (other
    attributes, e.g. methods a connection_class adds, go through
    __getattr__)."""
    for name in dir(Connection):
        if name.startswith("_") or name in PoolConnectionProxy.__dict__:
            continue
        attr = getattr(Connection, name, None)
        if callable(attr):
            setattr(PoolConnectionProxy, name, _proxy_method(name, attr))


_add_proxy_methods()


# ---------------------------------------------------------------------------
# Holders


class _Holder:
    """One open connection of the pool and its bookkeeping."""

    __slots__ = ("pool", "conn", "state", "created", "idle_since",
                 "generation", "proxy", "timer", "timeout",
                 "custom_reset", "queries_at_handout", "reset_fut",
                 "reset_timer")

    def __init__(self, pool, conn, now):
        self.pool = pool
        self.conn = conn
        self.state = _TAKEN
        self.created = now
        self.idle_since = now
        self.generation = pool._generation
        self.proxy = None
        self.timer = None
        self.timeout = None
        self.queries_at_handout = None
        # the reset written at the last release, while it is in flight,
        # and the timer bounding it (Pool._send_reset)
        self.reset_fut = None
        self.reset_timer = None
        cls = type(conn)
        # a connection_class with its own reset gets it called on every
        # release, as in asyncpg
        self.custom_reset = (cls.reset is not Connection.reset or
                             cls.get_reset_query is not
                             Connection.get_reset_query)

    def on_lost(self, conn):
        """Termination listener: the server closed the connection."""
        self.pool._on_conn_lost(self)

    def __repr__(self):
        return "<_Holder {} {!r}>".format(self.state, self.conn)


def _class_name(cls):
    """``module.Name`` (just ``Name`` for a builtin), as asyncpg words
    the connect callback's type error."""
    if cls.__module__ == "builtins":
        return cls.__name__
    return "{}.{}".format(cls.__module__, cls.__name__)


def _check_number(name: str, value: object, *, minimum: float,
                  allow_equal: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError("{} is expected to be a number, got {!r}".format(
            name, value))
    if value < minimum or (value == minimum and not allow_equal):
        raise ValueError("{} is expected to be greater {}than {}".format(
            name, "or equal " if allow_equal else "", minimum))


# ---------------------------------------------------------------------------
# The pool


class Pool(typing.Generic[_RecordT]):
    """A connection pool (see :func:`create_pool`).

    Connections are acquired with :meth:`acquire` and given back with
    :meth:`release` (or ``async with pool.acquire() as conn``).  A
    released connection that ran anything is reset: open transaction
    rolled back, listeners removed, session state (settings, role,
    advisory locks, cursors, LISTEN) reset -- prepared statements stay.
    """

    def __init__(self, *connect_args: typing.Any,
                 init_size: int | None = None,
                 min_size: int = 10,
                 max_size: int = 10,
                 max_queries: int = 50000,
                 max_inactive_connection_lifetime: float = 300.0,
                 connect: _Hook = None,
                 setup: _Hook = None,
                 init: _Hook = None,
                 reset: _Hook = None,
                 loop: asyncio.AbstractEventLoop | None = None,
                 connection_class: type[Connection[typing.Any]] = Connection,
                 record_class: type[_pgwire.Record] = _pgwire.Record,
                 max_lifetime: float | None = None,
                 health_check: float | None = None,
                 **connect_kwargs: typing.Any) -> None:
        if max_size <= 0:
            raise ValueError("max_size is expected to be greater than zero")
        if min_size < 0:
            raise ValueError(
                "min_size is expected to be greater or equal to zero")
        if min_size > max_size:
            raise ValueError("min_size is greater than max_size")
        if init_size is None:
            init_size = min_size
        if init_size < 0:
            raise ValueError(
                "init_size is expected to be greater or equal to zero")
        if init_size > max_size:
            raise ValueError("init_size is greater than max_size")
        if init_size < min_size:
            raise ValueError("init_size is smaller than min_size")
        if max_queries <= 0:
            raise ValueError(
                "max_queries is expected to be greater than zero")
        if max_inactive_connection_lifetime < 0:
            raise ValueError(
                "max_inactive_connection_lifetime is expected to be greater "
                "or equal to zero")
        if not issubclass(connection_class, Connection):
            raise TypeError(
                "connection_class is expected to be a subclass of "
                "pgwire.Connection, got {!r}".format(connection_class))
        if not issubclass(record_class, _pgwire.Record):
            raise TypeError(
                "record_class is expected to be a subclass of "
                "pgwire.Record, got {!r}".format(record_class))
        _rows.check_shape(record_class, connect_kwargs.get("row_factory"),
                          "create_pool()")
        if max_lifetime is not None:
            _check_number("max_lifetime", max_lifetime, minimum=0,
                          allow_equal=False)
        if health_check is not None:
            _check_number("health_check", health_check, minimum=0,
                          allow_equal=True)

        # set by initialisation when None
        self._loop = typing.cast(asyncio.AbstractEventLoop, loop)
        self._init_size = init_size
        self._min_size = min_size
        self._max_size = max_size
        self._max_queries = max_queries
        self._max_inactive = max_inactive_connection_lifetime
        self._max_lifetime = max_lifetime
        self._health_check = health_check
        self._connect = connect if connect is not None \
            else connect_utils.connect
        self._connect_args = connect_args
        self._connect_kwargs = connect_kwargs
        self._setup = setup
        self._init = init
        self._reset = reset
        self._connection_class = connection_class
        self._record_class = record_class

        self._all: set[_Holder] = set()     # holders of open connections
        self._idle: collections.deque[_Holder] = \
            collections.deque()             # IDLE holders, LIFO
        self._opening = 0                   # connections being opened
        self._waiters: collections.deque[asyncio.Future[typing.Any]] = \
            collections.deque()             # futures of acquirers, FIFO
        self._generation = 0
        self._types = introspection.SharedTypeCache()
        self._tasks: set[asyncio.Task[typing.Any]] = \
            set()                 # refill, resets, graceful closes
        self._closers: set[asyncio.Future[None]] = \
            set()                 # closed futures of terminated conns
        self._refill_task: asyncio.Task[typing.Any] | None = None
        self._state_waiters: list[asyncio.Future[typing.Any]] = \
            []                    # futures woken on any state change

        self._initialized = False
        self._initializing = False
        self._closing = False
        self._closed = False
        self._close_done: typing.Any = None

        # tests shorten these
        self._health_check_timeout = _HEALTH_CHECK_TIMEOUT
        self._release_timeout = _RELEASE_TIMEOUT
        self._refill_backoff = (_REFILL_BACKOFF_MIN, _REFILL_BACKOFF_MAX)

    # -- initialisation --------------------------------------------------
    def __await__(self) -> typing.Generator[typing.Any, None,
                                            Pool[_RecordT]]:
        return self._async__init__().__await__()

    async def __aenter__(self) -> Pool[_RecordT]:
        await self._async__init__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _async__init__(self) -> Pool[_RecordT]:
        if self._initialized:
            return self
        if self._initializing:
            raise exceptions.InterfaceError(
                "pool is being initialized in another task")
        if self._closed:
            raise exceptions.InterfaceError("pool is closed")
        self._initializing = True
        try:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            try:
                await self._open_init_size()
            except BaseException:
                for holder in list(self._all):
                    self._forget(holder, graceful=False)
                raise
            self._initialized = True
            self._maintain()
            return self
        finally:
            self._initializing = False

    async def _open_init_size(self):
        """The first connection alone (its error, if any, is the one to
        report), then the rest of init_size together."""
        if self._init_size == 0:
            return
        await self._open_idle()
        if self._init_size > 1:
            results = await asyncio.gather(
                *(self._open_idle() for _ in range(self._init_size - 1)),
                return_exceptions=True)
            for r in results:
                if isinstance(r, BaseException):
                    raise r

    async def _open_idle(self):
        self._opening += 1
        try:
            holder = await self._open_holder()
        except BaseException:
            self._opening -= 1
            self._dispatch()
            self._notify()
            raise
        self._put_idle(holder)

    # -- information -------------------------------------------------------
    def is_closing(self) -> bool:
        """True once close() or terminate() was called."""
        return self._closed or self._closing

    def get_size(self) -> int:
        """The number of open connections (idle or in use)."""
        return len(self._all)

    def get_init_size(self) -> int:
        """The number of connections opened when the pool is initialised
        (``init_size``; it defaults to ``min_size``)."""
        return self._init_size

    def get_min_size(self) -> int:
        """The connection floor: the pool refills to ``min_size`` in the
        background when connections close."""
        return self._min_size

    def get_max_size(self) -> int:
        return self._max_size

    def get_idle_size(self) -> int:
        """The number of open connections not in use."""
        return len(self._idle)

    def __repr__(self) -> str:
        state = ("closed" if self._closed else "closing" if self._closing
                 else "ready" if self._initialized else "new")
        return "<pgwire.Pool {} size={} idle={} waiting={}>".format(
            state, len(self._all), len(self._idle), len(self._waiters))

    def set_connect_args(self, dsn: str | None = None,
                         **connect_kwargs: typing.Any) -> None:
        """Use these connect() arguments for connections opened from now
        on; open ones stay until they expire (see
        :meth:`expire_connections`)."""
        self._connect_args = (dsn,)
        self._connect_kwargs = connect_kwargs
        # possibly another database: its types are not ours
        self._types = introspection.SharedTypeCache()

    async def expire_connections(self) -> None:
        """Replace every open connection: idle ones are closed now (and
        reopened up to min_size), those in use when released."""
        self._generation += 1
        for holder in list(self._idle):
            self._forget(holder, graceful=True)
        self._maintain()
        self._notify()

    # -- acquire -------------------------------------------------------------
    def acquire(self, *, timeout: float | None = None
                ) -> PoolAcquireContext[_RecordT]:
        """Acquire a connection: ``await pool.acquire()`` (then
        :meth:`release` it) or ``async with pool.acquire() as conn``.

        ``timeout`` bounds the whole acquisition: waiting for a free
        connection, opening one, the health check and ``setup``.
        """
        return PoolAcquireContext(self, timeout)

    async def _acquire(self, timeout):
        holder = await self._acquire_holder(timeout)
        return self._proxy_for(holder)

    def _proxy_for(self, holder):
        proxy = holder.proxy
        if proxy is None:
            proxy = holder.proxy = PoolConnectionProxy(holder, holder.conn)
            holder.conn._proxy = proxy
        return proxy

    def _check_usable(self):
        if self._closing:
            raise exceptions.InterfaceError("pool is closing")
        if not self._initialized:
            if self._initializing:
                raise exceptions.InterfaceError(
                    "pool is being initialized, but not yet ready: likely "
                    "there is a race between creating a pool and using it")
            if self._closed:
                raise exceptions.InterfaceError("pool is closed")
            raise exceptions.InterfaceError("pool is not initialized")
        if self._closed:
            raise exceptions.InterfaceError("pool is closed")

    async def _acquire_holder(self, timeout: float | None) -> _Holder:
        """A TAKEN holder, set up.  No waiting and no I/O when an idle
        connection can be handed out as it is."""
        self._check_usable()
        # an invalid timeout fails here, before anything is taken
        deadline = None if timeout is None else self._loop.time() + timeout
        ticket = None
        if not self._waiters and self._idle and self._setup is None:
            ticket = self._take_idle()
            if self._stale(ticket) is None and \
                    not self._health_check_due(ticket):
                self._hand_out(ticket, timeout)
                return ticket
        if deadline is None:
            return await self._acquire_slow(ticket, timeout)
        async with asyncio.timeout_at(deadline):
            return await self._acquire_slow(ticket, timeout)

    async def _acquire_slow(self, ticket, timeout):
        touched = False   # whether the ticket's connection was used
        try:
            while True:
                if self._closing or self._closed:
                    raise exceptions.InterfaceError("pool is closing")
                if ticket is None:
                    ticket = await self._wait_ticket()
                if ticket is _SLOT:
                    ticket = await self._open_holder()
                else:
                    reason = self._stale(ticket)
                    if reason is None and self._health_check_due(ticket):
                        touched = True
                        if not await self._check_health(ticket):
                            reason = "failed its health check"
                    if reason is not None:
                        ticket = self._replace(ticket)
                        touched = False
                        continue
                holder = ticket
                self._hand_out(holder, timeout)
                if self._setup is not None:
                    touched = True
                    proxy = self._proxy_for(holder)
                    try:
                        await self._setup(proxy)
                    except exceptions.PoolResetFailedError:
                        # its query did not run, nor anything after it:
                        # setup again on another connection
                        ticket = None
                        touched = False
                        await self._close_after_setup(holder)
                        continue
                    except BaseException:
                        ticket = None
                        await self._close_after_setup(holder)
                        raise
                return holder
        except BaseException:
            if ticket is not None:
                self._give_back(ticket, touched)
            raise

    async def _close_after_setup(self, holder):
        """``setup`` failed: as asyncpg, the connection is closed (the
        connection may not be safe to reuse; a new one is opened on the
        next acquire) before the error reaches the acquirer, and the proxy
        ``setup`` was given stays on the closed connection (its calls fail
        with "connection is closed", ``is_closed()`` is true)."""
        conn = holder.conn
        holder.proxy = None
        conn._proxy = None
        try:
            await conn.close(timeout=_CLOSE_TIMEOUT)
        except BaseException:
            pass  # close() terminated it
        finally:
            self._discard(holder, graceful=False)

    async def _wait_ticket(self):
        """Take a ticket now if nobody is waiting, else queue (FIFO)."""
        if not self._waiters:
            ticket = self._take_nowait()
            if ticket is not None:
                return ticket
        fut = self._loop.create_future()
        self._waiters.append(fut)
        self._dispatch()  # (only cancelled waiters may be ahead)
        self._notify()
        try:
            return await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and \
                    fut.exception() is None:
                # handed a ticket, but cancelled before running: give it
                # to the next waiter
                self._give_back(fut.result(), False)
            else:
                fut.cancel()
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
                self._notify()
            raise

    def _take_idle(self):
        holder = self._idle.pop()
        holder.state = _TAKEN
        if holder.timer is not None:
            holder.timer.cancel()
            holder.timer = None
        return holder

    def _take_nowait(self):
        if self._idle:
            return self._take_idle()
        if len(self._all) + self._opening < self._max_size:
            self._opening += 1
            return _SLOT
        return None

    def _dispatch(self):
        """Hand what is free to the waiters, oldest first."""
        waiters = self._waiters
        if self._closing or self._closed:
            return
        while waiters:
            fut = waiters[0]
            if fut.done():
                waiters.popleft()
                continue
            ticket = self._take_nowait()
            if ticket is None:
                return
            waiters.popleft()
            fut.set_result(ticket)

    def _give_back(self, ticket, touched):
        """An acquirer failed or was cancelled holding ``ticket``."""
        if ticket is _SLOT:
            self._opening -= 1
            self._dispatch()
            self._maintain()
            self._notify()
        elif touched:
            self._discard(ticket, graceful=True)
        else:
            self._put_idle(ticket, since=ticket.idle_since)

    def _stale(self, holder):
        """Why an idle connection must not be handed out, or None."""
        conn = holder.conn
        if conn.is_closed() or conn._protocol.is_busy():
            return "broken"
        if holder.generation != self._generation:
            return "expired"
        now = self._loop.time()
        if self._max_lifetime is not None and \
                now - holder.created >= self._max_lifetime:
            return "past max_lifetime"
        if self._max_inactive and \
                now - holder.idle_since >= self._max_inactive:
            return "inactive"
        return None

    def _health_check_due(self, holder):
        check = self._health_check
        return check is not None and \
            self._loop.time() - holder.idle_since >= check

    async def _check_health(self, holder):
        try:
            await holder.conn.execute(
                "SELECT 1", timeout=self._health_check_timeout)
        except Exception:
            return False
        return True

    def _replace(self, holder):
        """Drop an unusable connection the caller holds as its ticket and
        return a ticket in its place (its room is the caller's)."""
        self._forget(holder, graceful=True)
        self._notify()
        if self._closing or self._closed:
            raise exceptions.InterfaceError("pool is closing")
        if self._idle:
            return self._take_idle()
        self._opening += 1
        return _SLOT

    def _hand_out(self, holder, timeout):
        holder.timeout = timeout
        # what release compares: the connection ran nothing since (not
        # even setup) is the one case where skipping the reset is safe
        holder.queries_at_handout = holder.conn._protocol.queries_count
        holder.conn._sync_pool_types()

    async def _open_holder(self):
        """Open a connection for a _SLOT ticket; on success the slot
        becomes the returned (TAKEN) holder, on failure the caller still
        holds the slot."""
        conn = await self._connect(
            *self._connect_args, loop=self._loop,
            connection_class=self._connection_class,
            record_class=self._record_class, **self._connect_kwargs)
        try:
            if not isinstance(conn, self._connection_class):
                raise exceptions.InterfaceError(
                    "expected pool connect callback to return an instance "
                    "of '{}', got '{}'".format(
                        _class_name(self._connection_class),
                        _class_name(type(conn))))
            conn._join_pool_types(self._types)
            if self._init is not None:
                await self._init(conn)
            if self._closed or self._closing:
                raise exceptions.InterfaceError("pool is closing")
        except BaseException:
            self._close_conn(conn, graceful=False)
            raise
        self._opening -= 1
        holder = _Holder(self, conn, self._loop.time())
        self._all.add(holder)
        conn.add_termination_listener(holder.on_lost)
        self._notify()
        return holder

    # -- release -------------------------------------------------------------
    async def release(self, connection: typing.Any, *,
                      timeout: float | None = None) -> None:
        """Give back a connection from :meth:`acquire`.

        It is reset (none when it ran no query since it was acquired)
        unless it must be replaced; a connection in an uncertain state (a
        query still running or being cancelled, closed, broken) is
        terminated.  The default reset is written and the connection is
        idle again at once (the next user's first query follows it on the
        wire; docs/pooling.md); a custom one (``reset=``, a
        ``connection_class`` overriding ``reset()``/``get_reset_query()``)
        is awaited.  ``timeout`` (default: the acquire timeout, else 10 s)
        bounds the reset; a reset that fails or times out terminates the
        connection and is logged, not raised.  Cancelling the caller does
        not stop the release.
        """
        if type(connection) is not PoolConnectionProxy or \
                connection._holder.pool is not self:
            raise exceptions.InterfaceError(
                "Pool.release() received invalid connection: {!r} is not "
                "a member of this pool".format(connection))
        await self._release_proxy(connection, timeout, False)

    async def _release_proxy(self, proxy, timeout, uncertain):
        holder = proxy._holder
        if proxy._con is None or holder.proxy is not proxy:
            return  # released already
        if timeout is None:
            timeout = holder.timeout
        await self._release_holder(holder, timeout, uncertain)

    async def _release_holder(self, holder: _Holder,
                              timeout: float | None,
                              uncertain: bool = False) -> None:
        """``uncertain``: the user's task was cancelled while it had the
        connection, possibly in the middle of a query."""
        if holder.state is not _TAKEN:
            return  # the pool was terminated meanwhile
        self._detach(holder)
        self._warn_listeners(holder.conn)
        action = _CLOSE if uncertain else self._release_action(holder)
        if action is _KEEP:
            conn = holder.conn
            conn._log_listeners.clear()
            conn._top_xact = None
            self._put_idle(holder)
        elif action is _RESET and self._reset is None and \
                not holder.custom_reset and \
                holder.conn._pool_reset_pipelinable():
            self._send_reset(holder, timeout)
        elif action is _RESET:
            holder.state = _RELEASING
            self._notify()
            task = self._loop.create_task(self._reset_holder(holder, timeout))
            self._track(task)
            await asyncio.shield(task)
        else:
            self._discard(holder, graceful=action is _CLOSE)

    @staticmethod
    def _warn_listeners(conn):
        """As asyncpg: listeners left on a released connection are
        dropped, with an InterfaceWarning."""
        for kind, n in (("notification", sum(map(
                len, conn._notification_listeners.values()))),
                        ("log", len(conn._log_listeners))):
            if n:
                warnings.warn(exceptions.InterfaceWarning(
                    "{!r} is being released to the pool but has {} active "
                    "{} listener{}".format(conn, n, kind,
                                           "s" if n > 1 else "")),
                    stacklevel=5)

    def _release_action(self, holder):
        conn = holder.conn
        if conn.is_closed() or conn._protocol.is_busy():
            return _TERMINATE
        if self._closing or self._closed or \
                holder.generation != self._generation or \
                conn._protocol.queries_count >= self._max_queries or \
                (self._max_lifetime is not None and
                 self._loop.time() - holder.created >= self._max_lifetime):
            return _CLOSE
        # Whatever ran may have changed the session (SET or set_config in
        # a function, advisory locks, SET ROLE, ...): reset unless it is
        # proven that nothing ran since the connection was handed out.
        if holder.reset_fut is not None and \
                self._reset is None and not holder.custom_reset and \
                not conn._notification_listeners and \
                conn._protocol.queries_count == holder.queries_at_handout:
            # nothing ran behind the reset written at the last release
            # (still in flight, so the transaction status is the one from
            # before it): that reset covers this release too
            return _KEEP
        if self._reset is not None or holder.custom_reset or \
                conn.is_in_transaction() or conn._notification_listeners or \
                conn._protocol.queries_count != holder.queries_at_handout:
            return _RESET
        return _KEEP

    async def _reset_holder(self, holder, timeout):
        conn = holder.conn
        if timeout is None:
            timeout = self._release_timeout
        try:
            async with asyncio.timeout(timeout):
                if self._reset is None:
                    await conn.reset()
                else:
                    conn._notification_listeners.clear()
                    conn._log_listeners.clear()
                    conn._top_xact = None
                    if conn.is_in_transaction():
                        await conn.execute("ROLLBACK")
                    await self._reset(conn)
        except (Exception, asyncio.CancelledError) as e:
            if not (self._closed or conn.is_closed()):
                logger.warning("pgwire pool: resetting a released "
                               "connection failed (%r); the connection is "
                               "terminated", e)
            self._discard(holder, graceful=False)
            return
        if holder.state is not _RELEASING:
            return  # terminated meanwhile
        if conn.is_closed() or conn._protocol.is_busy():
            self._discard(holder, graceful=False)
        else:
            self._put_idle(holder)

    def _send_reset(self, holder, timeout):
        """The default reset, pipelined: written now as one transaction
        (Connection._send_pool_reset), the connection idle at once; the
        next user's first query is written behind it.  A failure closes
        the connection (the query behind it did not run); a reset still
        in flight after ``timeout`` terminates it."""
        conn = holder.conn
        try:
            fut = conn._send_pool_reset(exceptions.PoolResetFailedError)
        except Exception as e:
            if not (self._closed or conn.is_closed()):
                logger.warning("pgwire pool: resetting a released "
                               "connection failed (%r); the connection is "
                               "terminated", e)
            self._discard(holder, graceful=False)
            return
        if timeout is None:
            timeout = self._release_timeout
        holder.reset_fut = fut
        holder.reset_timer = self._loop.call_later(
            timeout, self._on_reset_timeout, holder, fut, timeout)
        fut.add_done_callback(
            lambda f, holder=holder: self._on_reset_done(holder, f))
        self._put_idle(holder)

    def _on_reset_done(self, holder, fut):
        if holder.reset_fut is fut:
            holder.reset_fut = None
            if holder.reset_timer is not None:
                holder.reset_timer.cancel()
                holder.reset_timer = None
        self._notify()
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is None:
            return
        if isinstance(exc, exceptions.PoolResetFailedError) and \
                not self._closed:
            logger.warning("pgwire pool: resetting a released connection "
                           "failed (%r); the connection is terminated", exc)
        holder.conn.terminate()  # closed already; the pool forgets it:
        if holder.state is _IDLE:
            self._discard(holder, graceful=False)
        # TAKEN: its user's query got the error; release discards it

    def _on_reset_timeout(self, holder, fut, timeout):
        if holder.reset_fut is fut:
            holder.reset_timer = None
        if fut.done():
            return
        if not (self._closed or holder.conn.is_closed()):
            logger.warning("pgwire pool: resetting a released connection "
                           "took longer than %.1f s; the connection is "
                           "terminated", timeout)
        holder.conn.terminate()
        if holder.state is _IDLE:
            self._discard(holder, graceful=False)

    def _detach(self, holder):
        """Invalidate the proxy and everything made through it."""
        proxy = holder.proxy
        conn = holder.conn
        if proxy is not None:
            holder.proxy = None
            proxy._con = None
            conn._proxy = None
        conn._pool_release_ctr = getattr(conn, "_pool_release_ctr", 0) + 1

    def _put_idle(self, holder, since=None):
        if holder.state is _GONE:
            return
        if self._closing or self._closed:
            self._discard(holder, graceful=True)
            return
        holder.state = _IDLE
        holder.idle_since = self._loop.time() if since is None else since
        self._idle.append(holder)
        self._dispatch()
        if holder.state is _IDLE and self._max_inactive:
            delay = holder.idle_since + self._max_inactive - \
                self._loop.time()
            holder.timer = self._loop.call_later(
                max(delay, 0), self._on_idle_timeout, holder)
        self._notify()

    # -- losing connections ----------------------------------------------
    def _discard(self, holder, *, graceful):
        """Close a connection and let its room serve a waiter or the
        refill."""
        self._forget(holder, graceful=graceful)
        self._dispatch()
        self._maintain()
        self._notify()

    def _forget(self, holder, *, graceful):
        """Remove a holder from the pool and close its connection
        (gracefully unless it is broken or busy)."""
        if holder.state is _GONE:
            return
        if holder.state is _IDLE:
            self._idle.remove(holder)
        holder.state = _GONE
        self._all.discard(holder)
        if holder.timer is not None:
            holder.timer.cancel()
            holder.timer = None
        if holder.reset_timer is not None:
            holder.reset_timer.cancel()
            holder.reset_timer = None
        self._detach(holder)
        conn = holder.conn
        conn.remove_termination_listener(holder.on_lost)
        self._close_conn(conn, graceful=graceful)

    def _close_conn(self, conn, *, graceful):
        if graceful and not conn.is_closed() and \
                not conn._protocol.is_busy():
            self._track(self._loop.create_task(self._close_quietly(conn)))
            return
        try:
            conn.terminate()
            fut = conn._protocol.closed_future()
        except Exception:
            return
        if not fut.done():
            self._closers.add(fut)
            fut.add_done_callback(self._closer_done)

    def _closer_done(self, fut):
        self._closers.discard(fut)
        if not fut.cancelled():
            fut.exception()  # retrieved

    @staticmethod
    async def _close_quietly(conn):
        try:
            await conn.close(timeout=_CLOSE_TIMEOUT)
        except Exception:
            pass  # close() terminated it

    def _track(self, task):
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_conn_lost(self, holder):
        if holder.state is _IDLE:
            self._discard(holder, graceful=False)
        # TAKEN/RELEASING: release (or the failing reset) discards it

    def _on_idle_timeout(self, holder):
        holder.timer = None
        if holder.state is _IDLE:
            self._discard(holder, graceful=True)

    def _maintain(self):
        """Refill to min_size in the background."""
        if self._closing or self._closed or not self._initialized:
            return
        if self._refill_task is None and \
                len(self._all) + self._opening < self._min_size:
            task = self._refill_task = self._loop.create_task(self._refill())
            self._track(task)
            # a task cancelled before its first step never runs _refill's
            # finally: forget it here too, or close() would wait for it
            task.add_done_callback(self._refill_done)

    def _refill_done(self, task):
        if self._refill_task is task:
            self._refill_task = None
            self._notify()

    async def _refill(self):
        backoff = 0.0
        try:
            while not (self._closing or self._closed) and \
                    len(self._all) + self._opening < self._min_size:
                try:
                    await self._open_idle()
                except Exception:
                    if self._closing or self._closed:
                        return
                    lo, hi = self._refill_backoff
                    backoff = min(max(backoff * 2, lo), hi)
                    # jitter ("equal jitter": half fixed, half random), so
                    # the pools of many processes that lost the same
                    # server do not all dial it again at the same instants
                    delay = random.uniform(backoff / 2, backoff)
                    # asyncpg's message, with the error as exc_info
                    logger.warning("Failed to restore the pool connection "
                                   "floor; retrying", exc_info=True)
                    logger.debug("pgwire pool: next connect attempt in "
                                 "%.2f s", delay)
                    await asyncio.sleep(delay)
                else:
                    backoff = 0.0
        finally:
            self._refill_task = None
            self._notify()

    # -- state change notifications ----------------------------------------
    def _notify(self):
        waiters = self._state_waiters
        if waiters:
            self._state_waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def _wait_until(self, predicate):
        """Wait (unbounded: the caller bounds it) until ``predicate()``,
        re-checked on each state change."""
        while not predicate():
            fut = self._loop.create_future()
            self._state_waiters.append(fut)
            await fut

    def _fail_waiters(self, message):
        waiters, self._waiters = self._waiters, collections.deque()
        for fut in waiters:
            if not fut.done():
                fut.set_exception(exceptions.InterfaceError(message))

    # -- close -------------------------------------------------------------
    async def close(self, *, timeout: float | None = None) -> None:
        """Close the pool gracefully.

        Waits for the acquired connections to be released, at most
        ``timeout`` seconds (default 60); then closes every connection
        (those still acquired are terminated, with a warning in the log).
        Waiting acquirers get ``InterfaceError('pool is closing')``.  An
        error or cancellation terminates the pool.
        """
        if self._closed:
            return
        if self._closing:  # another task is closing it: wait for that
            await asyncio.shield(self._close_done)
            return
        if self._loop is None:
            self._closed = True
            return
        if timeout is None:
            timeout = _POOL_CLOSE_TIMEOUT
        deadline = self._loop.time() + timeout
        self._closing = True
        self._close_done = self._loop.create_future()
        self._notify()
        try:
            self._fail_waiters("pool is closing")
            if self._refill_task is not None:
                self._refill_task.cancel()
            for holder in list(self._idle):
                self._forget(holder, graceful=True)
            try:
                async with asyncio.timeout_at(deadline):
                    await self._wait_until(
                        lambda: not self._all and not self._opening and
                        self._refill_task is None)
            except TimeoutError:
                logger.warning(
                    "pgwire pool: close() timed out after %.1f s with %d "
                    "connection(s) still acquired; terminating them",
                    timeout, len(self._all))
            for holder in list(self._all):
                self._forget(holder, graceful=False)
            await self._wait_closers(max(deadline - self._loop.time(), 1.0))
        except BaseException:
            self.terminate()
            raise
        finally:
            self._closed = True
            self._closing = False
            if not self._close_done.done():
                self._close_done.set_result(None)

    async def _wait_closers(self, timeout):
        """Wait for background work to end (bounded); past the bound,
        cancel it (a graceful close then terminates its connection)."""
        pending = self._tasks | self._closers
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    def terminate(self) -> None:
        """Terminate every connection (acquired ones too) at once."""
        if self._closed:
            return
        self._closed = True
        self._closing = False
        self._fail_waiters("pool is closed")
        for holder in list(self._all):
            self._forget(holder, graceful=False)
        for task in list(self._tasks):
            task.cancel()
        self._notify()
        if self._close_done is not None and not self._close_done.done():
            self._close_done.set_result(None)

    # -- shortcuts -----------------------------------------------------------
    async def _run(self, name, args, kwargs):
        """Acquire, call ``conn.<name>(*args, **kwargs)``, release.  A
        ``timeout`` keyword bounds the acquisition and the call together
        (the call gets what is left)."""
        timeout = kwargs.get("timeout")
        if isinstance(timeout, bool) or \
                not isinstance(timeout, numbers.Real) or timeout <= 0:
            timeout = None  # left to the connection to judge
        # a call behind a reset that failed did not run: it is retried on
        # another connection (each failure closed one; the bound is for a
        # server failing every reset)
        retries = self._max_size
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            if deadline is None:
                holder = await self._acquire_holder(None)
            else:
                holder = await self._acquire_holder(
                    max(deadline - self._loop.time(), 0))
                left = deadline - self._loop.time()
                if left <= 0:
                    await self._release_holder(holder, None)
                    raise asyncio.TimeoutError()
                kwargs["timeout"] = left
            uncertain = False
            try:
                return await getattr(holder.conn, name)(*args, **kwargs)
            except exceptions.PoolResetFailedError:
                if retries <= 0:
                    raise
                retries -= 1
            except asyncio.CancelledError:
                uncertain = True
                raise
            finally:
                await self._release_holder(holder, None, uncertain)

    # Same signatures as Connection's; the docstrings are Connection's
    # too (set below the class).
    async def execute(self, /, query: str, *args: typing.Any,
                      timeout: float | None = None) -> str:
        return await self._run("execute", (query,) + args,
                               {"timeout": timeout})

    async def executemany(self, /, command: str,
                          args: typing.Iterable[typing.Any], *,
                          timeout: float | None = None) -> None:
        return await self._run("executemany", (command, args),
                               {"timeout": timeout})

    @typing.overload
    async def fetch(self, /, query: str, *args: typing.Any,
                    timeout: float | None = None, record_class: None = None,
                    row_factory: None = None) -> list[_RecordT]: ...
    @typing.overload
    async def fetch(self, /, query: str, *args: typing.Any,
                    timeout: float | None = None,
                    record_class: type[_OtherRecordT], row_factory: None = None
                   ) -> list[_OtherRecordT]: ...
    @typing.overload
    async def fetch(self, /, query: str, *args: typing.Any,
                    timeout: float | None = None, record_class: None = None,
                    row_factory: _rows.RowFactory[_RowT]) -> list[_RowT]: ...
    async def fetch(self, /, query: str, *args: typing.Any,
                    timeout: float | None = None,
                    record_class: type[_pgwire.Record] | None = None,
                    row_factory: _rows.RowFactory[typing.Any] | None = None
                   ) -> list[typing.Any]:
        return await self._run("fetch", (query,) + args,
                               _shape_kwargs(timeout, record_class,
                                             row_factory))

    @typing.overload
    async def fetchrow(self, /, query: str, *args: typing.Any,
                       timeout: float | None = None, record_class: None = None,
                       row_factory: None = None) -> _RecordT | None: ...
    @typing.overload
    async def fetchrow(self, /, query: str, *args: typing.Any,
                       timeout: float | None = None,
                       record_class: type[_OtherRecordT],
                       row_factory: None = None) -> _OtherRecordT | None: ...
    @typing.overload
    async def fetchrow(self, /, query: str, *args: typing.Any,
                       timeout: float | None = None, record_class: None = None,
                       row_factory: _rows.RowFactory[_RowT]
                      ) -> _RowT | None: ...
    async def fetchrow(self, /, query: str, *args: typing.Any,
                       timeout: float | None = None,
                       record_class: type[_pgwire.Record] | None = None,
                       row_factory: _rows.RowFactory[typing.Any] | None = None
                      ) -> typing.Any:
        return await self._run("fetchrow", (query,) + args,
                               _shape_kwargs(timeout, record_class,
                                             row_factory))

    async def fetchval(self, /, query: str, *args: typing.Any,
                       column: int | str = 0,
                       timeout: float | None = None) -> typing.Any:
        return await self._run("fetchval", (query,) + args,
                               {"column": column, "timeout": timeout})

    @typing.overload
    async def fetchmany(self, /, query: str, args: typing.Iterable[typing.Any],
                        *, timeout: float | None = None,
                        record_class: None = None, row_factory: None = None
                       ) -> list[_RecordT]: ...
    @typing.overload
    async def fetchmany(self, /, query: str, args: typing.Iterable[typing.Any],
                        *, timeout: float | None = None,
                        record_class: type[_OtherRecordT],
                        row_factory: None = None) -> list[_OtherRecordT]: ...
    @typing.overload
    async def fetchmany(self, /, query: str, args: typing.Iterable[typing.Any],
                        *, timeout: float | None = None,
                        record_class: None = None,
                        row_factory: _rows.RowFactory[_RowT]
                       ) -> list[_RowT]: ...
    async def fetchmany(self, /, query: str, args: typing.Iterable[typing.Any],
                        *, timeout: float | None = None,
                        record_class: type[_pgwire.Record] | None = None,
                        row_factory: _rows.RowFactory[typing.Any] | None = None
                       ) -> list[typing.Any]:
        return await self._run("fetchmany", (query, args),
                               _shape_kwargs(timeout, record_class,
                                             row_factory))

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
        """A statement usable from any task at any time
        (:class:`pgwire.pool_stmt.PoolPreparedStatement`): each call
        acquires a connection, runs the statement prepared on it (once
        per connection, lazily; again on connections that replaced
        others), and releases it.  Nothing is sent until the first call.
        ``record_class``/``row_factory``: the shape of its rows."""
        self._check_usable()
        if not isinstance(query, str):
            raise TypeError(
                "query must be str, not {}".format(type(query).__name__))
        shape = _rows.check_shape(record_class, row_factory,
                                  "Pool.prepare()")
        return PoolPreparedStatement(self, query, shape)

    async def copy_from_table(self, table_name, *, output, columns=None,
                              schema_name=None, timeout=None, format=None,
                              oids=None, delimiter=None, null=None,
                              header=None, quote=None, escape=None,
                              force_quote=None, encoding=None):
        return await self._run("copy_from_table", (table_name,), dict(
            output=output, columns=columns, schema_name=schema_name,
            timeout=timeout, format=format, oids=oids,
            delimiter=delimiter, null=null, header=header, quote=quote,
            escape=escape, force_quote=force_quote, encoding=encoding))

    async def copy_from_query(self, query, *args, output, timeout=None,
                              format=None, oids=None, delimiter=None,
                              null=None, header=None, quote=None,
                              escape=None, force_quote=None,
                              encoding=None):
        return await self._run("copy_from_query", (query,) + args, dict(
            output=output, timeout=timeout, format=format, oids=oids,
            delimiter=delimiter, null=null, header=header, quote=quote,
            escape=escape, force_quote=force_quote, encoding=encoding))

    async def copy_to_table(self, table_name, *, source, columns=None,
                            schema_name=None, timeout=None, format=None,
                            oids=None, freeze=None, delimiter=None,
                            null=None, header=None, quote=None,
                            escape=None, force_quote=None,
                            force_not_null=None, force_null=None,
                            encoding=None, where=None):
        return await self._run("copy_to_table", (table_name,), dict(
            source=source, columns=columns, schema_name=schema_name,
            timeout=timeout, format=format, oids=oids, freeze=freeze,
            delimiter=delimiter, null=null, header=header, quote=quote,
            escape=escape, force_quote=force_quote,
            force_not_null=force_not_null, force_null=force_null,
            encoding=encoding, where=where))

    async def copy_records_to_table(self, table_name, *, records,
                                    columns=None, schema_name=None,
                                    timeout=None, where=None):
        return await self._run("copy_records_to_table", (table_name,), dict(
            records=records, columns=columns, schema_name=schema_name,
            timeout=timeout, where=where))


_SHORTCUTS = ("execute", "executemany", "fetch", "fetchrow", "fetchval",
              "fetchmany", "copy_from_table", "copy_from_query",
              "copy_to_table", "copy_records_to_table")


def _shape_kwargs(timeout, record_class, row_factory):
    kwargs = {"timeout": timeout, "record_class": record_class}
    if row_factory is not None:  # connection_class overrides may lack it
        kwargs["row_factory"] = row_factory
    return kwargs


def _shortcut_docs():
    """Each shortcut's docstring is Connection's, led by a line saying
    that the pool runs it on one of its connections."""
    for name in _SHORTCUTS:
        doc = getattr(Connection, name).__doc__ or ""
        getattr(Pool, name).__doc__ = (
            "{}\n\nThe pool runs it on one of its connections (acquired "
            "and released around the call); otherwise it behaves as "
            ":meth:`Connection.{}`.".format(doc.rstrip(), name))


_shortcut_docs()


class PoolAcquireContext(typing.Generic[_RecordT]):
    """What :meth:`Pool.acquire` returns: awaitable, or an async context
    manager that releases the connection on exit."""

    __slots__ = ("timeout", "connection", "done", "pool")

    def __init__(self, pool: Pool[_RecordT],
                 timeout: float | None) -> None:
        self.pool = pool
        self.timeout = timeout
        self.connection: typing.Any = None
        self.done = False

    async def __aenter__(self) -> Connection[_RecordT]:
        if self.connection is not None or self.done:
            raise exceptions.InterfaceError(
                "a connection is already acquired")
        self.connection = await self.pool._acquire(self.timeout)
        return self.connection

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: typing.Any) -> None:
        self.done = True
        con, self.connection = self.connection, None
        # a block left by cancellation may have been mid-query: the
        # connection is not reused
        await self.pool._release_proxy(
            con, None, exc_type is not None and
            issubclass(exc_type, asyncio.CancelledError))

    def __await__(self) -> typing.Generator[typing.Any, None,
                                            Connection[_RecordT]]:
        self.done = True
        return self.pool._acquire(self.timeout).__await__()


@typing.overload
def create_pool(dsn: str | None = None, *, init_size: int | None = None,
                min_size: int = 10, max_size: int = 10,
                max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                connect: _Hook = None, setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None,
                loop: asyncio.AbstractEventLoop | None = None,
                connection_class: type[Connection[typing.Any]] = Connection,
                record_class: type[_pgwire.Record] = _pgwire.Record,
                row_factory: _rows.RowFactory[_RowT],
                max_lifetime: float | None = None,
                health_check: float | None = None, **connect_kwargs: typing.Any
               ) -> Pool[_RowT]: ...
@typing.overload
def create_pool(dsn: str | None = None, *, init_size: int | None = None,
                min_size: int = 10, max_size: int = 10,
                max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                connect: _Hook = None, setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None,
                loop: asyncio.AbstractEventLoop | None = None,
                connection_class: type[Connection[typing.Any]] = Connection,
                record_class: type[_OtherRecordT], row_factory: None = None,
                max_lifetime: float | None = None,
                health_check: float | None = None, **connect_kwargs: typing.Any
               ) -> Pool[_OtherRecordT]: ...
@typing.overload
def create_pool(dsn: str | None = None, *, init_size: int | None = None,
                min_size: int = 10, max_size: int = 10,
                max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                connect: _Hook = None, setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None,
                loop: asyncio.AbstractEventLoop | None = None,
                connection_class: type[Connection[typing.Any]] = Connection,
                row_factory: None = None, max_lifetime: float | None = None,
                health_check: float | None = None, **connect_kwargs: typing.Any
               ) -> Pool[_pgwire.Record]: ...
def create_pool(dsn: str | None = None, *, init_size: int | None = None,
                min_size: int = 10, max_size: int = 10,
                max_queries: int = 50000,
                max_inactive_connection_lifetime: float = 300.0,
                connect: _Hook = None, setup: _Hook = None, init: _Hook = None,
                reset: _Hook = None,
                loop: asyncio.AbstractEventLoop | None = None,
                connection_class: type[Connection[typing.Any]] = Connection,
                record_class: type[_pgwire.Record] = _pgwire.Record,
                max_lifetime: float | None = None,
                health_check: float | None = None, **connect_kwargs: typing.Any
               ) -> Pool[typing.Any]:
    """Create a connection pool (asyncpg's ``create_pool``).

    Initialise it with ``await`` or ``async with``::

        async with pgwire.create_pool(dsn, min_size=2, max_size=10) as pool:
            await pool.fetch('SELECT 1')
            async with pool.acquire() as conn:
                ...

    ``connect_kwargs`` go to :func:`pgwire.connect` (or to ``connect``,
    a coroutine function with connect()'s signature).  ``init_size``
    connections (default: ``min_size``; ``min_size <= init_size <=
    max_size``) are opened at initialisation; ``min_size`` is the floor
    the pool refills to in the background when connections close; at
    most ``max_size`` are open.  A
    connection is replaced after ``max_queries`` queries, after
    ``max_lifetime`` seconds (None: never), and an idle one is closed
    after ``max_inactive_connection_lifetime`` seconds (0: never).
    ``health_check``: None (off), or the idle time in seconds after
    which a connection is checked with ``SELECT 1`` before being handed
    out.  ``init(conn)`` runs once per new connection, ``setup(proxy)``
    on every acquire, ``reset(conn)`` on release instead of the default
    reset (after an open transaction is rolled back).
    """
    return Pool(
        dsn,
        init_size=init_size,
        min_size=min_size, max_size=max_size, max_queries=max_queries,
        max_inactive_connection_lifetime=max_inactive_connection_lifetime,
        connect=connect, setup=setup, init=init, reset=reset, loop=loop,
        connection_class=connection_class, record_class=record_class,
        max_lifetime=max_lifetime, health_check=health_check,
        **connect_kwargs)
