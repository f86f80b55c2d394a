"""The ``postgresql+pgwire`` dialect classes: :class:`PGDialect_pgwire`
(``create_engine``, on ``pgwire.dbapi``) and :class:`PGDialectAsync_pgwire`
(``create_async_engine``, on the asyncio face).

SQL generation and the type adapters of both are SQLAlchemy's own for asyncpg
(:class:`~sqlalchemy.dialects.postgresql.asyncpg.PGDialect_asyncpg`):
pgwire's codecs are asyncpg's (numeric_dollar parameters, binary types,
``Range``, ``BitString``), so its bind/result processors apply unchanged.
That module only imports asyncpg inside ``import_dbapi`` and the error
table, which this dialect replaces; the DBAPI adaptation below (connection,
cursor, errors) is pgwire's.

Statements go through pgwire's statement cache (``Connection._prepare``
finds a cached statement without a round trip; ``_exec_stmt`` runs it):
no second cache is kept here, so ``statement_cache_size=0`` (a pooler in
transaction mode) is honoured as on a plain pgwire connection.

The sync dialect needs no adaptation layer: ``pgwire.dbapi`` is a PEP 249
module whose exceptions already derive from the PEP 249 classes, with
psycopg 3's extensions that SQLAlchemy's PostgreSQL dialects use (named
server-side cursors, ``isolation_level``/``read_only``/``deferrable``
applied to the implicit BEGIN).
"""

import asyncio
import collections
import json as _py_json
import re
import weakref

from sqlalchemy import pool as sa_pool
from sqlalchemy import util
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.postgresql.base import PGExecutionContext
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.util.concurrency import in_greenlet

try:  # SQLAlchemy 2.1
    from sqlalchemy.util.concurrency import await_
except ImportError:  # SQLAlchemy 2.0
    from sqlalchemy.util.concurrency import await_only as await_

try:  # SQLAlchemy 2.1: exc.orig.driver_exception is the pgwire error
    from sqlalchemy.exc import EmulatedDBAPIException as _ErrorBase
except ImportError:  # SQLAlchemy 2.0
    class _ErrorBase(Exception):
        def __init__(self, message, orig=None):
            super().__init__(message)
            self.orig = orig

try:  # SQLAlchemy 2.1 reads exceptions_module from it (2.0: a bare class)
    from sqlalchemy.connectors.asyncio import \
        AsyncAdapt_dbapi_module as _ModuleBase
except ImportError:  # SQLAlchemy 2.0 before the class existed
    class _ModuleBase:
        pass

import pgwire
import pgwire.dbapi
from pgwire import exceptions as pgexc
from pgwire.cursor import CursorFactory

__all__ = ("PGDialect_pgwire", "PGDialectAsync_pgwire")

# the portion of the status tag that counts rows (INSERT has an oid first)
_ROWCOUNT_RE = re.compile(r"(?:SELECT|UPDATE|DELETE|MERGE|INSERT \d+|COPY|"
                          r"FETCH|MOVE) (\d+)")
_FETCH = 0  # the statement kind "fetch" of Connection._exec_stmt


# -- DBAPI errors ------------------------------------------------------------

class Error(_ErrorBase):
    """Base of the PEP 249 classes; ``orig`` is the pgwire exception, and
    ``sqlstate``/``pgcode``/``detail`` are copied from it."""

    def __init__(self, message, orig=None):
        super().__init__(message, orig)
        self.sqlstate = self.pgcode = getattr(orig, "sqlstate", None)
        self.detail = getattr(orig, "detail", None)


class Warning(_ErrorBase):  # noqa: A001 (PEP 249 name)
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class InternalError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class DataError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class InternalServerError(InternalError):
    """SQLSTATE class XX; SQLAlchemy's asyncpg execution context drops its
    schema cache on it (a cached plan over a changed type)."""


class InvalidCachedStatementError(NotSupportedError):
    """A cached statement was invalidated by a schema change inside a
    transaction; the statement cache has been cleared, so the next
    transaction prepares afresh."""


# SQLSTATE class -> DBAPI class, following psycopg (the table SQLAlchemy's
# own asyncpg error test holds the asyncpg dialect to); any other class is
# a DatabaseError.
_BY_CLASS = {
    "08": OperationalError, "0A": NotSupportedError,
    "10": ProgrammingError, "20": ProgrammingError, "21": ProgrammingError,
    "22": DataError, "23": IntegrityError,
    "24": InternalError, "25": InternalError, "26": ProgrammingError,
    "27": OperationalError, "28": OperationalError, "2B": InternalError,
    "2D": InternalError, "2F": OperationalError, "34": ProgrammingError,
    "38": OperationalError, "39": OperationalError, "3B": OperationalError,
    "3D": ProgrammingError, "3F": ProgrammingError, "40": OperationalError,
    "42": ProgrammingError, "44": ProgrammingError,
    "53": OperationalError, "54": OperationalError, "55": OperationalError,
    "57": OperationalError, "58": OperationalError, "F0": OperationalError,
    "HV": OperationalError, "P0": ProgrammingError,
    "XX": InternalServerError,
}

# sqlstates (and classes) of a session the server has ended
_DISCONNECT_SQLSTATES = ("57P01", "57P02", "57P03")


def _dbapi_class(error):
    """The DBAPI class for a pgwire (or OS) exception, or None to let it
    through unchanged (cancellation, timeouts, programming errors of the
    caller such as TypeError)."""
    if isinstance(error, pgexc.InvalidCachedStatementError):
        return InvalidCachedStatementError
    if isinstance(error, pgexc.DataError):  # an argument pgwire can't encode
        return DataError
    if isinstance(error, pgexc.InterfaceError):
        return InterfaceError
    if isinstance(error, pgexc.PostgresError):
        sqlstate = getattr(error, "sqlstate", None) or ""
        return _BY_CLASS.get(sqlstate[:2], DatabaseError)
    if isinstance(error, (OSError, EOFError)) and \
            not isinstance(error, asyncio.TimeoutError):
        return OperationalError
    if isinstance(error, pgexc.InternalClientError):
        return InternalError
    return None


def _translate(error):
    """Raise ``error`` as its DBAPI class (the pgwire error is ``orig`` and
    the ``__cause__``), or unchanged when it has none."""
    if isinstance(error, Error):
        raise error
    cls = _dbapi_class(error)
    if cls is None:
        raise error
    raise cls("%s: %s" % (type(error).__name__, error), error) from error


def _driver_error(e):
    """The pgwire exception behind a DBAPI error (or ``e`` itself)."""
    orig = getattr(e, "orig", None)
    return orig if orig is not None and not isinstance(orig, Error) else e


def is_disconnect_error(error):
    """True when ``error`` (a pgwire or DBAPI exception) means the session
    is gone: the server ended it (admin shutdown, crash, restart), the link
    was lost, or the connection was already closed.  (A server error of
    class 08 raised by a statement on a live connection is not one.)"""
    error = _driver_error(error)
    if isinstance(error, pgexc.ConnectionDoesNotExistError):
        return True
    if getattr(error, "sqlstate", None) in _DISCONNECT_SQLSTATES:
        return True
    if isinstance(error, pgexc.InterfaceError):
        msg = str(error)
        return ("connection is closed" in msg
                or "closed in the middle of operation" in msg
                or "connection was closed" in msg)
    return isinstance(error, (ConnectionError, EOFError))


class _DBAPIModule(_ModuleBase):
    """What SQLAlchemy uses as ``dialect.dbapi``: PEP 249's names (errors,
    type objects, paramstyle, ``connect``) over pgwire's asyncio face.

    ``asyncpg`` and ``driver`` are the pgwire module: the asyncpg type
    adapters this dialect shares read ``dbapi.asyncpg.Range`` and
    ``dbapi.asyncpg.BitString``.
    """

    paramstyle = "numeric_dollar"
    apilevel = "2.0"
    threadsafety = 1

    Error = Error
    Warning = Warning
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    InternalError = InternalError
    OperationalError = OperationalError
    ProgrammingError = ProgrammingError
    IntegrityError = IntegrityError
    DataError = DataError
    NotSupportedError = NotSupportedError
    InternalServerError = InternalServerError
    InvalidCachedStatementError = InvalidCachedStatementError

    # PEP 249 type objects (SQLAlchemy's types name them in get_dbapi_type)
    STRING = util.symbol("STRING")
    BINARY = util.symbol("BINARY")
    NUMBER = util.symbol("NUMBER")
    DATETIME = util.symbol("DATETIME")
    ROWID = util.symbol("ROWID")

    def __init__(self):
        # what AsyncAdapt_dbapi_module.__init__(pgwire) sets on 2.1; its
        # 2.0 form takes no arguments
        self.driver = self.asyncpg = pgwire
        self.dbapi_module = None

    def connect(self, *args, **kw):
        creator = kw.pop("async_creator_fn", pgwire.connect)
        # SQLAlchemy's asyncpg spelling of the statement cache size (and the
        # name function, which pgwire's cache does not need) -- accepted so
        # that URLs written for asyncpg keep working
        size = kw.pop("prepared_statement_cache_size", None)
        if size is not None and creator is pgwire.connect:
            kw.setdefault("statement_cache_size", size)
        kw.pop("prepared_statement_name_func", None)
        return await_(AsyncAdapt_pgwire_connection.create(
            self, creator(*args, **kw)))

    @staticmethod
    def Binary(value):
        return value


# -- connection and cursors ------------------------------------------------

class AsyncAdapt_pgwire_cursor:
    """A buffered DBAPI cursor: each execute runs the statement to the end
    and keeps its rows."""

    server_side = False
    __slots__ = ("_adapt_connection", "_connection", "_rows", "description",
                 "rowcount", "arraysize", "_invalidate_schema_cache_asof",
                 "_cursor")

    def __init__(self, adapt_connection):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._cursor = None
        self.description = None
        self.arraysize = 1
        self.rowcount = -1
        self._invalidate_schema_cache_asof = 0

    def close(self):
        self._rows.clear()

    async def _async_soft_close(self):
        return

    async def _run(self, operation, parameters):
        """Find the statement (pgwire's cache, or Parse/Describe on a miss)
        and run it; sets description, rows and rowcount."""
        conn = self._connection
        state = await conn._prepare(operation)
        names, oids = state.column_names, state.column_oids
        self.description = [(n, o, None, None, None, None, None)
                            for n, o in zip(names, oids)] or None
        params = tuple(parameters) if parameters is not None else ()
        if self.server_side:
            self._cursor = await CursorFactory(conn, operation, state,
                                               params, None, None, None)
            self.rowcount = -1
            return
        self._rows = collections.deque(
            await conn._exec_stmt(state, _FETCH, params, None, None, 0))
        match = _ROWCOUNT_RE.match(state.last_status or "")
        self.rowcount = int(match.group(1)) if match else -1

    async def _prepare_and_execute(self, operation, parameters):
        adapt = self._adapt_connection
        async with adapt._execute_mutex:
            try:
                await adapt._check_type_cache_invalidation(
                    self._invalidate_schema_cache_asof)
                await adapt._begin_if_needed()
                await self._run(operation, parameters)
            except Exception as error:
                adapt._handle_exception(error)

    async def _executemany(self, operation, seq_of_parameters):
        adapt = self._adapt_connection
        self.description = None
        async with adapt._execute_mutex:
            try:
                await adapt._check_type_cache_invalidation(
                    self._invalidate_schema_cache_asof)
                await adapt._begin_if_needed()
                await self._connection.executemany(operation,
                                                   seq_of_parameters)
            except Exception as error:
                adapt._handle_exception(error)
        self.rowcount = -1

    def execute(self, operation, parameters=None):
        await_(self._prepare_and_execute(operation, parameters))

    def executemany(self, operation, seq_of_parameters):
        await_(self._executemany(operation, seq_of_parameters))

    def setinputsizes(self, *inputsizes):
        raise NotImplementedError("setinputsizes() is not supported")

    def setoutputsize(self, size, column=None):
        pass

    def __iter__(self):
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self):
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size=None):
        if size is None:
            size = self.arraysize
        rows = self._rows
        return [rows.popleft() for _ in range(min(size, len(rows)))]

    def fetchall(self):
        rows = list(self._rows)
        self._rows.clear()
        return rows


class AsyncAdapt_pgwire_ss_cursor(AsyncAdapt_pgwire_cursor):
    """A server-side cursor (a pgwire Cursor in the open transaction),
    read in batches."""

    server_side = True
    __slots__ = ()
    _BATCH = 50

    def close(self):
        self._cursor = None
        self._rows.clear()

    def _fill(self, n):
        try:
            rows = await_(self._cursor.fetch(n))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows.extend(rows)

    def __iter__(self):
        while True:
            while self._rows:
                yield self._rows.popleft()
            self._fill(self._BATCH)
            if not self._rows:
                return

    def fetchone(self):
        if not self._rows:
            self._fill(self._BATCH)
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size=None):
        if size is None:
            return self.fetchall()
        if len(self._rows) < size:
            self._fill(size - len(self._rows))
        rows = self._rows
        return [rows.popleft() for _ in range(min(size, len(rows)))]

    def fetchall(self):
        out = list(self._rows)
        self._rows.clear()
        while True:
            self._fill(1000)
            if not self._rows:
                return out
            out.extend(self._rows)
            self._rows.clear()

    def executemany(self, operation, seq_of_parameters):
        raise NotImplementedError(
            "a server-side cursor does not support executemany()")


class AsyncAdapt_pgwire_connection(AdaptedConnection):
    """A DBAPI connection over a :class:`pgwire.Connection`.

    Outside autocommit the first statement opens a transaction with the
    isolation level, read-only and deferrable settings in force."""

    # SQLAlchemy 2.0's asyncpg on_connect calls conn.await_()
    await_ = staticmethod(await_)

    __slots__ = ("dbapi", "isolation_level", "_isolation_setting",
                 "readonly", "deferrable", "_transaction",
                 "_invalidate_schema_cache_asof", "_execute_mutex")

    @classmethod
    async def create(cls, dbapi, connection_awaitable):
        try:
            connection = await connection_awaitable
        except Exception as error:
            _translate(error)
        return cls(dbapi, connection)

    def __init__(self, dbapi, connection):
        self.dbapi = dbapi
        self._connection = connection
        self.isolation_level = self._isolation_setting = None
        self.readonly = False
        self.deferrable = False
        self._transaction = None
        self._invalidate_schema_cache_asof = 0
        self._execute_mutex = asyncio.Lock()

    def _handle_exception(self, error):
        if self._connection.is_closed():
            self._transaction = None
        _translate(error)

    async def _check_type_cache_invalidation(self, asof):
        """After DDL (the dialect's schema-change time is newer than this
        connection's), drop pgwire's type and statement caches."""
        if asof > self._invalidate_schema_cache_asof:
            await self._connection.reload_schema_state()
            self._invalidate_schema_cache_asof = asof

    async def _begin_if_needed(self):
        if self._transaction is not None or \
                self.isolation_level == "autocommit":
            return
        tr = self._connection.transaction(
            isolation=self.isolation_level, readonly=self.readonly,
            deferrable=self.deferrable)
        await tr.start()
        # only a transaction whose BEGIN succeeded has to be ended
        self._transaction = tr

    @property
    def autocommit(self):
        return self.isolation_level == "autocommit"

    @autocommit.setter
    def autocommit(self, value):
        # the level set before autocommit comes back when it is switched off
        if self._transaction is not None:
            self.rollback()
        self.isolation_level = "autocommit" if value else \
            self._isolation_setting

    def set_isolation_level(self, level):
        if self._transaction is not None:
            self.rollback()
        self.isolation_level = self._isolation_setting = level

    def cursor(self, server_side=False):
        if server_side:
            return AsyncAdapt_pgwire_ss_cursor(self)
        return AsyncAdapt_pgwire_cursor(self)

    def ping(self):
        try:
            await_(self._connection.execute(";"))
        except Exception as error:
            self._handle_exception(error)

    async def _end(self, name):
        tr, self._transaction = self._transaction, None
        await getattr(tr, name)()

    def _end_transaction(self, name):
        if self._transaction is None:
            return
        try:
            await_(self._end(name))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self):
        self._end_transaction("rollback")

    def commit(self):
        self._end_transaction("commit")

    def close(self):
        self.rollback()
        await_(self._connection.close())

    def terminate(self):
        """Inside SQLAlchemy's greenlet (a connection invalidated in use) a
        graceful close: Terminate is sent, bounded by 2 seconds, so the
        server ends the session at once; on a dead link, or outside the
        greenlet (garbage collection), the socket is just closed."""
        self._transaction = None
        conn = self._connection
        if not in_greenlet():
            conn.terminate()
            return
        try:
            await_(asyncio.shield(conn.close(timeout=2)))
        except (asyncio.TimeoutError, asyncio.CancelledError, OSError,
                pgexc.PostgresError, pgexc.InterfaceError) as e:
            conn.terminate()
            if isinstance(e, asyncio.CancelledError):
                raise


# -- dialects -----------------------------------------------------------------

def _coerce_connect_args(opts):
    """URL query values arrive as strings; pgwire.connect wants numbers."""
    for name in ("statement_cache_size", "max_cached_statement_lifetime",
                 "max_cacheable_statement_size",
                 "prepared_statement_cache_size"):
        util.coerce_kw_type(opts, name, int)
    for name in ("timeout", "command_timeout"):
        util.coerce_kw_type(opts, name, float)


class _PGDialectBase_pgwire(PGDialect_asyncpg):
    """What both variants share: the asyncpg dialect's SQL, types and URL
    form; pgwire's version and numeric URL arguments."""

    driver = "pgwire"
    supports_statement_cache = True

    def retrieve_dbapi_version(self, dbapi):
        return tuple(int(p) for p in re.findall(r"\d+", pgwire.__version__))

    def create_connect_args(self, url):
        args, opts = super().create_connect_args(url)
        _coerce_connect_args(opts)
        return args, opts


class PGDialectAsync_pgwire(_PGDialectBase_pgwire):
    """``postgresql+pgwire`` on pgwire's asyncio face
    (``create_async_engine``; also registered as
    ``postgresql+pgwire_async``)."""

    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls):
        return _DBAPIModule()

    def is_disconnect(self, e, connection, cursor):
        # with a connection, its state decides (pgwire closes a connection
        # whose session ended or whose link broke before raising); without
        # one (while connecting), the error does
        driver = getattr(connection, "_connection", None)
        if driver is not None and hasattr(driver, "is_closed"):
            return driver.is_closed()
        return is_disconnect_error(e)


# -- the sync dialect, on pgwire.dbapi ----------------------------------------

class _SyncDBAPIModule:
    """What the sync dialect uses as ``dialect.dbapi``: pgwire.dbapi's names
    (its classes, globals and constructors, unchanged; ``connect`` also
    takes the asyncpg dialect's argument names), plus ``asyncpg`` and
    ``driver``
    (the pgwire module, whose ``Range``/``BitString`` the asyncpg type
    adapters this dialect shares read as ``dbapi.asyncpg.Range``) and
    ``__version__`` (SQLAlchemy 2.0 reads it)."""

    def __init__(self):
        for name in pgwire.dbapi.__all__:
            if name != "connect":
                self.__dict__[name] = getattr(pgwire.dbapi, name)
        self.driver = self.asyncpg = pgwire
        self.dbapi_module = pgwire.dbapi
        self.__version__ = pgwire.__version__
        # the two classes the asyncpg dialect's DBAPI module names (and
        # code written against it may catch)
        self.InvalidCachedStatementError = pgexc.InvalidCachedStatementError
        self.InternalServerError = pgexc.InternalServerError

    @staticmethod
    def connect(*args, **kw):
        # the asyncpg dialect's spelling of the statement cache size (and
        # the name function, which pgwire's cache does not need), as on the
        # asyncio variant
        size = kw.pop("prepared_statement_cache_size", None)
        if size is not None:
            kw.setdefault("statement_cache_size", size)
        kw.pop("prepared_statement_name_func", None)
        return pgwire.dbapi.connect(*args, **kw)


def _sync_translation_map():
    """{pgwire exception class name: SQLAlchemy exception class name}: the
    DBAPI classes of the asyncio variant's SQLSTATE table, so that both
    variants raise the same SQLAlchemy class for a server error (pgwire's
    own PEP 249 bases cover classes 08, 22, 23, 42, 53, 57, 58, 0A and XX;
    this adds the others, e.g. 40 serialization failures as
    OperationalError and 25 transaction states as InternalError, as
    psycopg does).  SQLAlchemy looks each name of the error's MRO up in
    it."""
    out = {}
    for name in dir(pgexc):
        cls = getattr(pgexc, name)
        if isinstance(cls, type) and issubclass(cls, pgexc.PostgresError):
            sqlstate = getattr(cls, "sqlstate", None)
            if isinstance(sqlstate, str) and len(sqlstate) == 5:
                target = _BY_CLASS.get(sqlstate[:2], DatabaseError)
                if target is InternalServerError:
                    target = InternalError
                out[cls.__name__] = target.__name__
    return out


_server_side_id = util.counter()


class PGExecutionContext_pgwire(PGExecutionContext):
    """Named server-side cursors (``stream_results``), and the asyncpg
    dialect's schema-cache rule: after DDL on any connection of the
    engine, each connection drops its type and statement caches before
    its next statement."""

    def create_server_side_cursor(self):
        ident = "c_%s_%s" % (hex(id(self))[2:], hex(_server_side_id())[2:])
        return self._dbapi_connection.cursor(ident)

    def pre_exec(self):
        dialect = self.dialect
        if self.isddl:
            dialect._invalidate_schema_cache()
        asof = dialect._invalidate_schema_cache_asof
        if asof:
            conn = self._dbapi_connection.dbapi_connection
            seen = dialect._schema_cache_asof
            if asof > seen.get(conn, 0):
                seen[conn] = asof
                conn.sync_connection.reload_schema_state()

    def handle_dbapi_exception(self, e):
        if isinstance(e, (pgexc.InvalidCachedStatementError,
                          pgexc.InternalServerError)):
            self.dialect._invalidate_schema_cache()


class PGDialect_pgwire(_PGDialectBase_pgwire):
    """``postgresql+pgwire`` on ``pgwire.dbapi`` (``create_engine``).

    ``create_async_engine`` with the same URL uses
    :class:`PGDialectAsync_pgwire` (:meth:`get_async_dialect_cls`)."""

    supports_statement_cache = True
    is_async = False
    has_terminate = True
    default_paramstyle = "pyformat"
    execution_ctx_cls = PGExecutionContext_pgwire
    dbapi_exception_translation_map = util.immutabledict(
        _sync_translation_map())

    def __init__(self, **kw):
        super().__init__(**kw)
        # pgwire.dbapi connection -> the schema-cache time it has seen
        self._schema_cache_asof = weakref.WeakKeyDictionary()

    @classmethod
    def import_dbapi(cls):
        return _SyncDBAPIModule()

    @classmethod
    def get_async_dialect_cls(cls, url):
        return PGDialectAsync_pgwire

    @classmethod
    def get_pool_class(cls, url):
        # the asyncpg dialect's (SQLAlchemy 2.0) is the asyncio pool
        return getattr(cls, "poolclass", sa_pool.QueuePool)

    def get_driver_connection(self, connection):
        return connection

    # -- connections: pgwire's codecs set as the asyncpg dialect sets them
    def _setup_codecs(self, conn):
        sconn = conn.sync_connection
        deserializer = self._json_deserializer or _py_json.loads
        sconn.set_type_codec(
            "json", encoder=str.encode, schema="pg_catalog", format="binary",
            decoder=lambda b: deserializer(b.decode()))
        sconn.set_type_codec(
            "jsonb", schema="pg_catalog", format="binary",
            encoder=lambda s: b"\x01" + s.encode(),
            decoder=lambda b: deserializer(b[1:].decode()))
        if self._native_inet_types is False:
            for name in ("inet", "cidr"):
                sconn.set_type_codec(
                    name, encoder=_same, decoder=_same, schema="pg_catalog",
                    format="text")

    def on_connect(self):
        # PGDialect's (the isolation level of the engine), not the asyncpg
        # dialect's, which awaits its codecs
        super_connect = PGDialect.on_connect(self)

        def connect(conn):
            self._setup_codecs(conn)
            if super_connect is not None:
                super_connect(conn)

        return connect

    # -- transactions: pgwire.dbapi's attributes, applied by its BEGIN
    def get_isolation_level_values(self, dbapi_connection):
        return ["AUTOCOMMIT", "READ COMMITTED", "READ UNCOMMITTED",
                "REPEATABLE READ", "SERIALIZABLE"]

    def set_isolation_level(self, dbapi_connection, level):
        if level == "AUTOCOMMIT":
            dbapi_connection.autocommit = True
            dbapi_connection.isolation_level = None
        else:
            dbapi_connection.autocommit = False
            dbapi_connection.isolation_level = level

    def get_isolation_level(self, dbapi_connection):
        # SHOW opens a transaction (the implicit BEGIN): end it again so
        # that the level can be changed afterwards
        idle = not dbapi_connection.sync_connection.is_in_transaction()
        level = PGDialect.get_isolation_level(self, dbapi_connection)
        if idle:
            dbapi_connection.rollback()
        return level

    def set_readonly(self, connection, value):
        connection.read_only = bool(value)

    def get_readonly(self, connection):
        return bool(connection.read_only)

    def set_deferrable(self, connection, value):
        connection.deferrable = bool(value)

    def get_deferrable(self, connection):
        return bool(connection.deferrable)

    def detect_autocommit_setting(self, dbapi_conn):
        return bool(dbapi_conn.autocommit)

    # -- two-phase commit: COMMIT/ROLLBACK PREPARED must run outside a
    # transaction block, where pgwire.dbapi's implicit BEGIN would put them
    # (PGDialect's versions run them through the connection)
    def _end_prepared(self, connection, verb, xid):
        dbapi_conn = connection.connection.dbapi_connection
        dbapi_conn.rollback()
        before = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("{} PREPARED '{}'".format(
                verb, str(xid).replace("'", "''")))
        finally:
            cursor.close()
            if not dbapi_conn.closed:
                dbapi_conn.autocommit = before

    def do_commit_twophase(self, connection, xid, is_prepared=True,
                           recover=False):
        if is_prepared:
            self._end_prepared(connection, "COMMIT", xid)
        else:
            self.do_commit(connection.connection)

    def do_rollback_twophase(self, connection, xid, is_prepared=True,
                             recover=False):
        if is_prepared:
            self._end_prepared(connection, "ROLLBACK", xid)
        else:
            self.do_rollback(connection.connection)

    # -- liveness
    def do_ping(self, dbapi_connection):
        """One empty query outside any transaction (as psycopg's dialect:
        autocommit for the ping)."""
        before = dbapi_connection.autocommit
        if not before:
            dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(";")
        finally:
            cursor.close()
            if not before and not dbapi_connection.closed:
                dbapi_connection.autocommit = before
        return True

    def do_terminate(self, dbapi_connection):
        """Close at once (the socket is aborted, no wait for the server):
        the connection is being invalidated."""
        dbapi_connection.sync_connection.terminate()

    def is_disconnect(self, e, connection, cursor):
        # with a connection, its state decides (pgwire closes a connection
        # whose session ended or whose link broke before raising); without
        # one, the error does
        if connection is not None:
            closed = getattr(connection, "closed", None)
            if closed is not None:
                return bool(closed)
        return is_disconnect_error(e)


def _same(value):
    return value
