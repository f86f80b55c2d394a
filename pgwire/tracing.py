"""pgwire.tracing: OpenTelemetry spans for queries and pool waits.

Off unless enabled::

    import pgwire.tracing
    pgwire.tracing.instrument()          # the global TracerProvider
    pgwire.tracing.instrument(tracer_provider=provider,
                              capture_query_text=False)
    pgwire.tracing.uninstrument()

Enabled, every request a connection sends (fetch, fetchrow, fetchval,
execute, executemany, fetchmany, prepare, a prepared statement's methods,
each fetch of a cursor, COPY) is one CLIENT span with its real start and
end time, following OpenTelemetry's database semantic conventions
(``db.system.name``, ``db.namespace``, ``db.query.text``,
``db.operation.name``, ``server.address``, ``server.port``,
``db.response.status_code``, ``error.type``); a pool's acquire is one
INTERNAL span ``pgwire.pool.acquire``.  Spans are children of the span
current where the query is awaited (asyncio and uvloop tasks, and the
calling thread on ``pgwire.sync``).  Query parameters are never recorded,
nor any password.  See docs/tracing.md.

How: the C engine times each request and, when it finishes, calls the hook
installed here (``_pgwire._set_trace_hook``) from the request's own step,
in the awaiting task's context; the span is recorded then with explicit
start and end times.  Off, the query path tests one NULL pointer and the
pools are the undecorated classes: nothing else runs.
"""

from __future__ import annotations

import re
import threading
import time
import typing

from . import _pgwire

if typing.TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ("instrument", "uninstrument", "is_instrumented")

# The database semantic conventions these spans follow (the first release
# with the stable database attributes).
SCHEMA_URL = "https://opentelemetry.io/schemas/1.33.0"

ACQUIRE_SPAN_NAME = "pgwire.pool.acquire"

# src/ext/proto.h's OpKind, by value: the pgwire.method attribute
_METHODS = ("fetch", "fetchrow", "fetchval", "execute", "executemany",
            "fetchmany", "prepare", "cursor", "copy_out", "copy_in", "sync")
_EXECUTEMANY, _FETCHMANY, _PREPARE, _COPY_OUT = 4, 5, 6, 8

# The first keyword, after blanks and comments.
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)",
                         re.S)
_OPERATIONS_MAX = 4096   # cached operation names (cleared when full)

_lock = threading.Lock()
_state: typing.Optional["_Tracing"] = None
# (class, method name, original function) of what instrument() wrapped
_patched: typing.List[typing.Tuple[type, str, typing.Any]] = []


def instrument(tracer_provider: typing.Optional["TracerProvider"] = None,
               *, capture_query_text: bool = True) -> None:
    """Record a span for every query and pool acquire from now on, in
    every connection and pool of the process (those already open too).

    ``tracer_provider``: where the spans go (default: OpenTelemetry's
    global provider).  ``capture_query_text``: record the SQL text as
    ``db.query.text`` (parameters are never recorded); turn it off when
    the application writes values into its SQL text.  Calling it again
    replaces the settings.  Needs the ``opentelemetry-api`` package.
    """
    if not isinstance(capture_query_text, bool):
        raise TypeError(
            "instrument(capture_query_text=...): expected True or False, "
            "got {!r}".format(capture_query_text))
    try:
        from opentelemetry import trace
    except ImportError as e:
        raise ImportError(
            "pgwire.tracing.instrument() needs the opentelemetry-api "
            "package (pip install opentelemetry-api opentelemetry-sdk)"
        ) from e
    from . import __version__
    tracer = trace.get_tracer("pgwire", __version__, tracer_provider,
                              schema_url=SCHEMA_URL)
    global _state
    with _lock:
        _unpatch()
        _state = _Tracing(tracer, capture_query_text)
        _patch(_state)
        _pgwire._set_trace_hook(_state.on_query)


def uninstrument() -> None:
    """Stop recording spans (queries already running record none)."""
    global _state
    with _lock:
        _pgwire._set_trace_hook(None)
        _unpatch()
        _state = None


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in force."""
    return _state is not None


# -- the pools: their acquire wrapped while instrumented ----------------
def _patch(state: "_Tracing") -> None:
    from . import pool
    from .sync import pool as sync_pool

    async_orig: typing.Any = pool.Pool.__dict__["_acquire_holder"]
    sync_orig: typing.Any = sync_pool.Pool.__dict__["_acquire"]

    async def _acquire_holder(self: typing.Any,
                              timeout: typing.Any) -> typing.Any:
        with state.acquire_span() as span:
            try:
                holder = await async_orig(self, timeout)
            except BaseException as e:
                state.fail(span, e)
                raise
            span.set_attributes(_conn_attributes(holder.conn))
            return holder

    def _acquire(self: typing.Any, timeout: typing.Any) -> typing.Any:
        with state.acquire_span() as span:
            try:
                conn = sync_orig(self, timeout)
            except BaseException as e:
                state.fail(span, e)
                raise
            span.set_attributes(_conn_attributes(conn._core))
            return conn

    wrappers: typing.Tuple[typing.Tuple[type, str, typing.Any], ...] = (
        (pool.Pool, "_acquire_holder", _acquire_holder),
        (sync_pool.Pool, "_acquire", _acquire))
    for cls, name, fn in wrappers:
        orig = cls.__dict__[name]
        fn.__wrapped__ = orig
        fn.__doc__ = orig.__doc__
        _patched.append((cls, name, orig))
        setattr(cls, name, fn)


def _unpatch() -> None:
    while _patched:
        cls, name, orig = _patched.pop()
        setattr(cls, name, orig)


# -- spans ------------------------------------------------------------------
class _Tracing:
    """What instrument() set up: the tracer and the options."""

    def __init__(self, tracer: "Tracer", capture_query_text: bool):
        from opentelemetry.trace import SpanKind, Status, StatusCode
        self.tracer = tracer
        self.capture_text = capture_query_text
        self.client = SpanKind.CLIENT
        self.internal = SpanKind.INTERNAL
        self.status_error = StatusCode.ERROR
        self.status = Status
        self.operations: typing.Dict[str, typing.Optional[str]] = {}

    def on_query(self, conn: typing.Any, kind: int,
                 query: typing.Optional[str], elapsed: float,
                 exc: typing.Optional[BaseException], batch: int) -> None:
        """The C engine's report of a finished request (op.c,
        op_log_trace): record its span, ended now, started ``elapsed``
        seconds ago, in the caller's context."""
        end = time.time_ns()
        attrs = dict(_conn_attributes(conn))
        op = None
        if query is not None:
            if kind == _COPY_OUT and query.startswith("COPY (\n"):
                # copy_from_query(): its arguments are rendered into the
                # statement as literals; never record them
                query = None
                op = "COPY"
            else:
                op = self.operation(query)
        if kind == _PREPARE:
            op = "PREPARE"
        elif (kind == _EXECUTEMANY or kind == _FETCHMANY) and batch != 1:
            # several parameter sets: a batch (the conventions' names)
            attrs["db.operation.batch.size"] = batch
            op = "BATCH " + op if op else "BATCH"
        if op is not None:
            attrs["db.operation.name"] = op
        if query is not None and self.capture_text:
            attrs["db.query.text"] = query
        attrs["pgwire.method"] = _METHODS[kind]
        if exc is not None:
            _error_attributes(attrs, exc)
        span = self.tracer.start_span(
            _span_name(op, attrs), kind=self.client, attributes=attrs,
            start_time=end - int(elapsed * 1e9))
        if exc is not None:
            span.set_status(self.status(self.status_error,
                                        type(exc).__name__))
        span.end(end_time=end)

    def operation(self, query: str) -> typing.Optional[str]:
        """db.operation.name: the statement's first keyword, when the text
        is one statement that does not start with WITH (cached)."""
        cache = self.operations
        try:
            return cache[query]
        except KeyError:
            pass
        op = _first_keyword(query)
        if len(cache) >= _OPERATIONS_MAX:
            cache.clear()
        cache[query] = op
        return op

    def acquire_span(self) -> typing.ContextManager["Span"]:
        return self.tracer.start_as_current_span(
            ACQUIRE_SPAN_NAME, kind=self.internal,
            attributes={"db.system.name": "postgresql"},
            record_exception=False, set_status_on_exception=False)

    def fail(self, span: "Span", exc: BaseException) -> None:
        attrs: typing.Dict[str, typing.Any] = {}
        _error_attributes(attrs, exc)
        span.set_attributes(attrs)
        span.set_status(self.status(self.status_error, type(exc).__name__))


def _first_keyword(query: str) -> typing.Optional[str]:
    m = _FIRST_WORD.match(query)
    if m is None:
        return None
    word = m.group(1).upper()
    if word == "WITH":
        return None   # the statement's kind is further on
    if ";" in query[m.end():].rstrip("; \t\r\n"):
        return None   # perhaps several statements (a simple Query)
    return word


def _span_name(op: typing.Optional[str],
               attrs: typing.Dict[str, typing.Any]) -> str:
    # {db.operation.name}, else the target: db.namespace, else
    # server.address:server.port, else db.system.name
    if op is not None:
        return op
    ns = attrs.get("db.namespace")
    if ns:
        return str(ns)
    host = attrs.get("server.address")
    if host is not None:
        port = attrs.get("server.port")
        return str(host) if port is None else "{}:{}".format(host, port)
    return "postgresql"


def _conn_attributes(conn: typing.Any) -> typing.Dict[str, typing.Any]:
    """The connection's attributes (made once per connection): the
    database and the server, nothing from the credentials."""
    if conn is None:
        return _BASE
    try:
        return conn._pgwire_trace_attrs  # type: ignore[no-any-return]
    except AttributeError:
        pass
    attrs = dict(_BASE)
    params = getattr(conn, "_params", None)
    database = getattr(params, "database", None)
    if isinstance(database, str) and database:
        attrs["db.namespace"] = database
    addr = getattr(conn, "_addr", None)
    if isinstance(addr, str):
        # a Unix-domain socket: its path is the server's address
        attrs["server.address"] = addr
        attrs["network.transport"] = "unix"
    elif isinstance(addr, tuple) and len(addr) >= 2:
        attrs["server.address"] = str(addr[0])
        if isinstance(addr[1], int):
            attrs["server.port"] = addr[1]
    try:
        conn._pgwire_trace_attrs = attrs
    except AttributeError:
        pass
    return attrs


_BASE: typing.Dict[str, typing.Any] = {
    "db.system.name": "postgresql",
    "db.system": "postgresql",   # the name before the stable conventions
}


def _error_attributes(attrs: typing.Dict[str, typing.Any],
                      exc: BaseException) -> None:
    # The server's SQLSTATE when the server reported the error (set on
    # the instance by PostgresError.new); otherwise the exception's class.
    sqlstate = getattr(exc, "__dict__", {}).get("sqlstate")
    if isinstance(sqlstate, str) and sqlstate:
        attrs["db.response.status_code"] = sqlstate
        attrs["error.type"] = sqlstate
        return
    cls = type(exc)
    module = cls.__module__
    if module == "builtins":
        attrs["error.type"] = cls.__qualname__
    else:
        module = _PUBLIC_MODULES.get(module, module)
        attrs["error.type"] = module + "." + cls.__qualname__


# where the classes of these modules are public
_PUBLIC_MODULES = {
    "asyncio.exceptions": "asyncio",
    "pgwire.exceptions._base": "pgwire.exceptions",
    "pgwire.exceptions._dbapi": "pgwire.exceptions",
}
