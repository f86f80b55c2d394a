"""pgwire.dbapi: PEP 249 (DB-API 2.0) on the blocking face.

One engine: a DB-API connection wraps a :class:`pgwire.sync.Connection`
and runs every statement through the same C engine, statement cache and
codecs.  ``paramstyle`` is ``'pyformat'`` (``%s``, ``%(name)s``, ``%%``),
converted to ``$n`` by the C converter (``_pgwire._convert_pyformat``).
A query run without parameters is sent as written, as psycopg does.

Not autocommit by default: the first statement after connect(), commit()
or rollback() opens a transaction (an implicit BEGIN, with the connection's
``isolation_level``, ``read_only`` and ``deferrable``), which commit() or
rollback() ends.  Set ``autocommit = True`` for one transaction per
statement.  ``cursor(name)`` is a server-side cursor, as in psycopg.  See
docs/dbapi.md.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import datetime
import re
import threading
import typing

from . import _pgwire
from . import _sqlscan
from . import rows as _rows
from . import sync as _sync
from .cursor import CursorFactory as _CursorFactory
from .exceptions._dbapi import (  # noqa: A004  (PEP 249's names)
    Warning, Error, InterfaceError, DatabaseError, DataError,
    OperationalError, IntegrityError, InternalError, ProgrammingError,
    NotSupportedError)
from .prepared_stmt import _FETCH

__all__ = (
    'apilevel', 'threadsafety', 'paramstyle', 'connect',
    'Connection', 'Cursor', 'ServerCursor', 'Column', 'QueryTimeoutError',
    'Warning', 'Error', 'InterfaceError', 'DatabaseError', 'DataError',
    'OperationalError', 'IntegrityError', 'InternalError',
    'ProgrammingError', 'NotSupportedError',
    'STRING', 'BINARY', 'NUMBER', 'DATETIME', 'ROWID',
    'Date', 'Time', 'Timestamp', 'DateFromTicks', 'TimeFromTicks',
    'TimestampFromTicks', 'Binary',
)

apilevel = '2.0'
# connections may be shared between threads (a lock serialises them)
threadsafety = 2
paramstyle = 'pyformat'

# converted queries kept per connection: (query, standard_strings) ->
# (text with $n, names or None)
_CONVERSIONS_MAX = 256

_ROWCOUNT_RE = re.compile(r'(?:INSERT \d+|[A-Z]+) (\d+)$')

_TUPLE_ROW = _rows.check_shape(None, _rows.tuple_row, 'execute()')

# a row of a DB-API cursor (the default: row_factory=tuple_row)
Row = tuple[typing.Any, ...]
if typing.TYPE_CHECKING:
    from typing_extensions import TypeVar
    # the rows of a Connection's / Cursor's row_factory (default: tuples)
    _RowT = TypeVar("_RowT", default=Row)
else:
    _RowT = typing.TypeVar("_RowT")
_OtherRowT = typing.TypeVar("_OtherRowT")
# execute()'s parameters: a sequence for %s, a mapping for %(name)s
Params = typing.Union[typing.Sequence[typing.Any],
                      typing.Mapping[str, typing.Any]]


class QueryTimeoutError(OperationalError, TimeoutError):
    """A statement ran past ``command_timeout``: it was cancelled on the
    server.  Both a PEP 249 OperationalError (as psycopg's QueryCanceled)
    and the TimeoutError the other faces raise."""


@contextlib.contextmanager
def _timeouts() -> typing.Iterator[None]:
    """A timeout raises QueryTimeoutError; a broken link (an OSError or
    EOFError from the socket) raises OperationalError, so every failure
    of a statement is a PEP 249 Error."""
    try:
        yield
    except TimeoutError as e:
        if isinstance(e, Error):
            raise
        raise QueryTimeoutError(
            'the statement timed out (command_timeout) and was cancelled '
            'on the server') from e
    except (OSError, EOFError) as e:
        raise OperationalError(
            'the connection to the server is lost: {}: {}'.format(
                type(e).__name__, e)) from e


# -- type objects and constructors -------------------------------------

class _TypeObject:
    """A PEP 249 type object: equal to the OID of each type of its
    family (compare ``cursor.description[i].type_code`` with it)."""

    __slots__ = ('name', 'oids')

    def __init__(self, name: str, oids: typing.Iterable[int]) -> None:
        self.name = name
        self.oids = frozenset(oids)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _TypeObject):
            return self.oids == other.oids
        if isinstance(other, int):
            return other in self.oids
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.oids)

    def __repr__(self) -> str:
        return 'pgwire.dbapi.{}'.format(self.name)


# char, name, text, bpchar, varchar
STRING = _TypeObject('STRING', (18, 19, 25, 1042, 1043))
# bytea
BINARY = _TypeObject('BINARY', (17,))
# int8, int2, int4, float4, float8, money, numeric
NUMBER = _TypeObject('NUMBER', (20, 21, 23, 700, 701, 790, 1700))
# date, time, timestamp, timestamptz, interval, timetz
DATETIME = _TypeObject('DATETIME', (1082, 1083, 1114, 1184, 1186, 1266))
# oid, tid
ROWID = _TypeObject('ROWID', (26, 27))

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> datetime.date:
    """The local date of ``ticks`` seconds since the epoch."""
    return datetime.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> datetime.time:
    """The local time of day of ``ticks`` seconds since the epoch."""
    return datetime.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    """The local date and time of ``ticks`` seconds since the epoch."""
    return datetime.datetime.fromtimestamp(ticks)


class Column(typing.NamedTuple):
    """An item of ``Cursor.description``: a 7-tuple; ``type_code`` is the
    type OID, the other five items are None."""

    name: str
    type_code: int
    display_size: int | None
    internal_size: int | None
    precision: int | None
    scale: int | None
    null_ok: bool | None


# -- connect ------------------------------------------------------------

@typing.overload
def connect(dsn: str | None = None, *, autocommit: bool = False,
            row_factory: None = None,
            **kwargs: typing.Any) -> Connection[Row]: ...
@typing.overload
def connect(dsn: str | None = None, *, autocommit: bool = False,
            row_factory: _rows.RowFactory[_OtherRowT],
            **kwargs: typing.Any) -> Connection[_OtherRowT]: ...
def connect(dsn: str | None = None, *, autocommit: bool = False,
            row_factory: _rows.RowFactory[typing.Any] | None = None,
            **kwargs: typing.Any) -> Connection[typing.Any]:
    """Open a DB-API connection: the parameters of
    :func:`pgwire.sync.connect` (DSN, ``host``, ``user``, ``password``,
    ``ssl``, ``command_timeout``, ...), plus ``autocommit`` and
    ``row_factory`` (the default of its cursors' ``row_factory``: a
    pgwire.rows factory; None: tuples)."""
    if row_factory is None:
        row_factory = _rows.tuple_row
    _check_row_factory(row_factory, 'pgwire.dbapi.connect()')
    if 'record_class' in kwargs:
        raise InterfaceError(
            'pgwire.dbapi.connect(): a DB-API cursor\'s rows are shaped by '
            'row_factory, not record_class (got record_class={!r})'.format(
                kwargs['record_class']))
    style = kwargs.pop('paramstyle', 'pyformat')
    if style != 'pyformat':
        raise InterfaceError(
            "pgwire.dbapi.connect(): paramstyle is always 'pyformat', "
            "got paramstyle={!r}".format(style))
    if not isinstance(autocommit, bool):
        raise InterfaceError(
            'pgwire.dbapi.connect(): autocommit must be a bool, got '
            '{!r}'.format(autocommit))
    try:
        sync_connection = _sync.connect(dsn, **kwargs)
    except (OSError, EOFError) as e:   # TimeoutError is an OSError
        if isinstance(e, Error):
            raise
        raise OperationalError(
            'pgwire.dbapi.connect(): could not connect: {}: {}'.format(
                type(e).__name__, e)) from e
    conn: Connection[typing.Any] = Connection(sync_connection, autocommit)
    conn.row_factory = row_factory
    return conn


def _check_row_factory(row_factory: typing.Any, what: str) -> None:
    """A row_factory is a pgwire.rows factory (not None here: tuples are
    tuple_row); TypeError naming ``what`` and the value otherwise."""
    if row_factory is None:
        raise TypeError('{}: row_factory must be a row factory '
                        '(pgwire.rows.tuple_row for tuples), got None'
                        .format(what))
    _rows.check_shape(None, row_factory, what)


def _rowcount(status: str | None) -> int:
    if status:
        m = _ROWCOUNT_RE.match(status)
        if m is not None:
            return int(m.group(1))
    return -1


def _is_multi_statement(query: str, standard_strings: bool) -> bool:
    """True when ``query`` holds code after a ``;`` (several statements:
    the simple query protocol runs them)."""
    if ';' not in query:
        return False
    seen_semicolon = False
    try:
        for kind, start, _end in _sqlscan.tokens(
                query, standard_strings=standard_strings):
            c = query[start]
            if c == ';':
                seen_semicolon = True
            elif seen_semicolon and not c.isspace():
                return True
    except _sqlscan.ScanError:
        return False    # the server reports it
    return False


# isolation_level values (the SQL spelling, any case; None: the server's
# default_transaction_isolation)
_ISOLATION_LEVELS = ('READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ',
                     'SERIALIZABLE')


def _begin_statement(isolation_level: str | None, read_only: bool | None,
                     deferrable: bool | None) -> str:
    parts = ['BEGIN']
    if isolation_level is not None:
        parts.append('ISOLATION LEVEL ' + isolation_level)
    if read_only is not None:
        parts.append('READ ONLY' if read_only else 'READ WRITE')
    if deferrable is not None:
        parts.append('DEFERRABLE' if deferrable else 'NOT DEFERRABLE')
    return ' '.join(parts)


async def _run_prepared(core: _pgwire.ConnectionCore, text: str,
                        args: tuple[typing.Any, ...],
                        shape: typing.Any = _TUPLE_ROW
                        ) -> tuple[tuple[str, ...], tuple[int, ...],
                                   str | None, list[typing.Any]]:
    state = await core._prepare(text)
    rows = await core._exec_stmt(state, _FETCH, args, None, shape, 0)
    return state.column_names, state.column_oids, state.last_status, rows


async def _open_portal(core: typing.Any, text: str,
                       args: tuple[typing.Any, ...],
                       shape: typing.Any = _TUPLE_ROW
                       ) -> tuple[tuple[str, ...], tuple[int, ...],
                                  typing.Any, str | None]:
    """(names, oids, pgwire Cursor, status): a statement returning rows is
    bound to a portal; any other is run to its end (status)."""
    state = await core._prepare(text)
    if not state.column_names:
        await core._exec_stmt(state, _FETCH, args, None, _TUPLE_ROW, 0)
        return (), (), None, state.last_status
    cur = await _CursorFactory(core, text, state, args, None, None, shape)
    return state.column_names, state.column_oids, cur, None


class Connection(typing.Generic[_RowT]):
    """A PEP 249 connection (made by :func:`pgwire.dbapi.connect`).  It
    may be shared between threads: each call holds its lock.
    ``row_factory`` (settable): the default ``row_factory`` of the
    cursors it makes from then on (pgwire.rows; tuple_row: tuples)."""

    # PEP 249's optional extension: the exceptions as attributes
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, sync_connection: _sync.Connection[typing.Any],
                 autocommit: bool = False) -> None:
        self._sync = sync_connection
        self._autocommit = autocommit
        self._lock = threading.RLock()
        self._closed = False
        self._conversions: collections.OrderedDict[
            tuple[str, bool], tuple[str, tuple[str, ...] | None]] = \
            collections.OrderedDict()
        self._isolation_level: str | None = None
        self._read_only: bool | None = None
        self._deferrable: bool | None = None
        self._begin = 'BEGIN'
        self._row_factory: _rows.RowFactory[typing.Any] = _rows.tuple_row

    @property
    def row_factory(self) -> _rows.RowFactory[_RowT]:
        return self._row_factory

    @row_factory.setter
    def row_factory(self, value: _rows.RowFactory[_RowT]) -> None:
        _check_row_factory(value, 'Connection.row_factory')
        self._row_factory = value

    @property
    def sync_connection(self) -> _sync.Connection[typing.Any]:
        """The :class:`pgwire.sync.Connection` underneath (do not use it
        while another thread uses this connection)."""
        return self._sync

    @property
    def closed(self) -> bool:
        return self._closed or self._sync.is_closed()

    @property
    def autocommit(self) -> bool:
        """False (the default): the first statement opens a transaction,
        ended by commit() or rollback().  True: each statement commits
        on its own."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise InterfaceError(
                'autocommit must be a bool, got {!r}'.format(value))
        with self._lock:
            self._check()
            if value != self._autocommit and \
                    self._sync.is_in_transaction():
                raise ProgrammingError(
                    'cannot set autocommit={!r} inside a transaction: '
                    'call commit() or rollback() first'.format(value))
            self._autocommit = value

    # -- the transaction characteristics of the implicit BEGIN (psycopg 3's
    # attributes): None is the server's default
    @property
    def isolation_level(self) -> str | None:
        """None (the server's default), or the isolation level of the
        transactions the implicit BEGIN opens: ``'READ COMMITTED'``,
        ``'REPEATABLE READ'``, ``'SERIALIZABLE'``, ``'READ UNCOMMITTED'``.
        Not applied with autocommit."""
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        level = None
        if value is not None:
            level = value.upper().replace('_', ' ') \
                if isinstance(value, str) else None
            if level not in _ISOLATION_LEVELS:
                raise ProgrammingError(
                    'isolation_level must be None or one of {}, got '
                    '{!r}'.format(', '.join(_ISOLATION_LEVELS), value))
        self._set_characteristic('isolation_level', level)

    @property
    def read_only(self) -> bool | None:
        """None (the server's default), True (READ ONLY) or False (READ
        WRITE) for the transactions the implicit BEGIN opens."""
        return self._read_only

    @read_only.setter
    def read_only(self, value: bool | None) -> None:
        self._set_characteristic('read_only', self._opt_bool(
            'read_only', value))

    @property
    def deferrable(self) -> bool | None:
        """None (the server's default), True (DEFERRABLE) or False (NOT
        DEFERRABLE) for the transactions the implicit BEGIN opens."""
        return self._deferrable

    @deferrable.setter
    def deferrable(self, value: bool | None) -> None:
        self._set_characteristic('deferrable', self._opt_bool(
            'deferrable', value))

    @staticmethod
    def _opt_bool(name: str, value: typing.Any) -> bool | None:
        if value is not None and not isinstance(value, bool):
            raise ProgrammingError(
                '{} must be None or a bool, got {!r}'.format(name, value))
        return value

    def _set_characteristic(self, name: str,
                            value: str | bool | None) -> None:
        with self._lock:
            self._check()
            if value != getattr(self, '_' + name) and \
                    self._sync.is_in_transaction():
                raise ProgrammingError(
                    'cannot set {}={!r} inside a transaction: call commit() '
                    'or rollback() first'.format(name, value))
            setattr(self, '_' + name, value)
            self._begin = _begin_statement(
                self._isolation_level, self._read_only, self._deferrable)

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError('the connection is closed')
        if self._sync.is_closed():
            raise OperationalError('the connection to the server is lost')

    def _begin_if_needed(self) -> None:
        if not self._autocommit and not self._sync.is_in_transaction():
            self._sync.execute(self._begin)

    def _convert(self, query: str, params: Params
                 ) -> tuple[str, tuple[typing.Any, ...]]:
        """(text, args): the query with $n and the argument tuple."""
        if not isinstance(query, str):
            raise ProgrammingError(
                'the query must be a str, got {!r}'.format(query))
        # 'on' unless the server said otherwise (as the core's COPY: a
        # server or pooler that does not report it is not an error)
        standard: bool = self._sync._core._standard_strings()
        key = (query, standard)
        conv = self._conversions.get(key)
        if conv is None:
            conv = _pgwire._convert_pyformat(query, standard)
            self._conversions[key] = conv
            if len(self._conversions) > _CONVERSIONS_MAX:
                self._conversions.popitem(last=False)
        else:
            self._conversions.move_to_end(key)
        text, names = conv
        if names is None:
            if isinstance(params, collections.abc.Mapping):
                if params:
                    raise ProgrammingError(
                        'the query has no named placeholders (%(name)s), '
                        'got a mapping of parameters: {!r}'.format(
                            sorted(params)))
                return text, ()
            if isinstance(params, (str, bytes, bytearray)) or \
                    not isinstance(params, collections.abc.Sequence):
                raise ProgrammingError(
                    'parameters must be a sequence for %s placeholders '
                    '(or a mapping for %(name)s), got {!r}'.format(params))
            return text, tuple(params)
        if not isinstance(params, collections.abc.Mapping):
            raise ProgrammingError(
                'the query uses named placeholders (%(name)s): parameters '
                'must be a mapping, got {!r}'.format(params))
        try:
            return text, tuple(params[n] for n in names)
        except KeyError as e:
            raise ProgrammingError(
                'the query uses %({})s but the parameters have no {!r} '
                'key (keys: {!r})'.format(e.args[0], e.args[0],
                                          sorted(params))) from None

    @typing.overload
    def cursor(self, name: str | None = None, *,
               row_factory: None = None) -> Cursor[_RowT]: ...
    @typing.overload
    def cursor(self, name: str | None = None, *,
               row_factory: _rows.RowFactory[_OtherRowT]
               ) -> Cursor[_OtherRowT]: ...
    def cursor(self, name: str | None = None, *,
               row_factory: _rows.RowFactory[typing.Any] | None = None
               ) -> Cursor[typing.Any]:
        """A new :class:`Cursor` on this connection; with a ``name``, a
        :class:`ServerCursor` (rows fetched from the server as they are
        read, as psycopg's named cursors).  ``row_factory``: the shape of
        its rows (pgwire.rows; None: the connection's ``row_factory``)."""
        if row_factory is None:
            row_factory = self._row_factory
        else:
            _check_row_factory(row_factory, 'cursor()')
        with self._lock:
            self._check()
            cur: Cursor[typing.Any]
            if name is None:
                cur = Cursor(self)
            elif not isinstance(name, str) or not name:
                raise ProgrammingError(
                    'cursor(name): the name must be a non-empty str, got '
                    '{!r}'.format(name))
            else:
                cur = ServerCursor(self, name)
            cur._row_factory = row_factory
            return cur

    def commit(self) -> None:
        """Commit the current transaction (nothing to do when none is
        open)."""
        with self._lock:
            self._check()
            if self._sync.is_in_transaction():
                with _timeouts():
                    self._sync.execute('COMMIT')

    def rollback(self) -> None:
        """Roll the current transaction back (nothing to do when none is
        open)."""
        with self._lock:
            self._check()
            if self._sync.is_in_transaction():
                with _timeouts():
                    self._sync.execute('ROLLBACK')

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back (by
        the server).  A second close() raises InterfaceError."""
        with self._lock:
            if self._closed:
                raise InterfaceError('the connection is already closed')
            self._closed = True
            self._sync.close()

    def __enter__(self) -> Connection[_RowT]:
        return self

    def __exit__(self, et: type[BaseException] | None,
                 e: BaseException | None, tb: typing.Any) -> None:
        """As psycopg 3: commit when the block succeeds, roll back when it
        raises, then close the connection."""
        if self._closed:
            return
        try:
            if not self._sync.is_closed():
                if et is None:
                    self.commit()
                else:
                    self.rollback()
        finally:
            self._closed = True
            self._sync.close()

    def __repr__(self) -> str:
        state = 'closed' if self.closed else 'open'
        return '<pgwire.dbapi.Connection {} autocommit={}>'.format(
            state, self._autocommit)


class Cursor(typing.Generic[_RowT]):
    """A PEP 249 cursor (client-side: execute() fetches every row).
    ``row_factory`` (settable; pgwire.rows, default tuple_row) shapes the
    rows of the next execute()."""

    def __init__(self, connection: Connection[typing.Any]) -> None:
        self.connection = connection
        self.arraysize = 1
        self.description: tuple[Column, ...] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[_RowT] | None = None
        self._pos = 0
        self._closed = False
        self._row_factory: _rows.RowFactory[typing.Any] = \
            connection._row_factory

    @property
    def row_factory(self) -> _rows.RowFactory[_RowT]:
        """The rows' shape (a pgwire.rows factory); a new value applies
        from the next execute()."""
        return self._row_factory

    @row_factory.setter
    def row_factory(self, value: _rows.RowFactory[_RowT]) -> None:
        _check_row_factory(value, 'Cursor.row_factory')
        self._row_factory = value

    @property
    def closed(self) -> bool:
        return self._closed

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError('the cursor is closed')
        self.connection._check()

    def _reset(self) -> None:
        self.description = None
        self.rowcount = -1
        self._rows = None
        self._pos = 0

    def execute(self, operation: str,
                parameters: Params | None = None) -> Cursor[_RowT]:
        """Run ``operation`` with ``parameters`` (a sequence for ``%s``, a
        mapping for ``%(name)s``; None: the query is sent as written).
        Returns the cursor."""
        conn = self.connection
        with conn._lock:
            self._check()
            self._reset()
            sconn = conn._sync
            if parameters is None:
                if not isinstance(operation, str):
                    raise ProgrammingError(
                        'the query must be a str, got {!r}'.format(
                            operation))
                text, args = operation, ()
                standard: bool = sconn._core._standard_strings()
                multi = _is_multi_statement(text, standard)
            else:
                text, args = conn._convert(operation, parameters)
                multi = False
            with _timeouts():
                conn._begin_if_needed()
                if multi:
                    self.rowcount = _rowcount(sconn.execute(text))
                    return self
                names, oids, status, rows = sconn._run(
                    _run_prepared(sconn._core, text, args,
                                  self._row_factory))
            if names:
                self.description = tuple(
                    Column(n, o, None, None, None, None, None)
                    for n, o in zip(names, oids))
                self._rows = rows
            self.rowcount = _rowcount(status)
        return self

    def executemany(self, operation: str,
                    seq_of_parameters: typing.Iterable[Params]
                    ) -> Cursor[_RowT]:
        """Run ``operation`` for each item of ``seq_of_parameters``, in one
        pipelined batch.  Rows are discarded; ``rowcount`` is -1."""
        conn = self.connection
        with conn._lock:
            self._check()
            self._reset()
            args = [conn._convert(operation, p) for p in seq_of_parameters]
            if not args:
                return self
            text = args[0][0]
            with _timeouts():
                conn._begin_if_needed()
                conn._sync.executemany(text, [a for _t, a in args])
        return self

    def callproc(self, procname: str,
                 parameters: typing.Iterable[typing.Any] = ()
                 ) -> tuple[typing.Any, ...]:
        """``SELECT * FROM procname(parameters...)``; returns the
        parameters unchanged (PostgreSQL has no output parameters here)."""
        if not isinstance(procname, str):
            raise ProgrammingError(
                'procname must be a str, got {!r}'.format(procname))
        params = tuple(parameters)
        self.execute('SELECT * FROM {}({})'.format(
            procname, ', '.join(['%s'] * len(params))), params)
        return params

    def _result(self) -> list[_RowT]:
        self._check()
        if self._rows is None:
            raise ProgrammingError(
                'no results to fetch: the last statement returned no rows '
                '(or nothing was executed)')
        return self._rows

    def fetchone(self) -> _RowT | None:
        """The next row (a tuple by default), or None at the end."""
        with self.connection._lock:
            rows = self._result()
            if self._pos >= len(rows):
                return None
            row = rows[self._pos]
            self._pos += 1
            return row

    def fetchmany(self, size: int | None = None) -> list[_RowT]:
        """The next ``size`` rows (default ``arraysize``), as a list."""
        if size is None:
            size = self.arraysize
        if not isinstance(size, int) or size < 0:
            raise ProgrammingError(
                'size must be a non-negative int, got {!r}'.format(size))
        with self.connection._lock:
            rows = self._result()
            out = rows[self._pos:self._pos + size]
            self._pos += len(out)
            return out

    def fetchall(self) -> list[_RowT]:
        """The remaining rows, as a list."""
        with self.connection._lock:
            rows = self._result()
            out = rows[self._pos:]
            self._pos = len(rows)
            return out

    def __iter__(self) -> Cursor[_RowT]:
        return self

    def __next__(self) -> _RowT:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def setinputsizes(self, sizes: object) -> None:
        """Does nothing (allowed by PEP 249)."""

    def setoutputsize(self, size: object, column: object = None) -> None:
        """Does nothing (allowed by PEP 249)."""

    def close(self) -> None:
        """Close the cursor (closing it again does nothing)."""
        self._closed = True
        self._rows = None

    def __enter__(self) -> Cursor[_RowT]:
        return self

    def __exit__(self, et: type[BaseException] | None,
                 e: BaseException | None, tb: typing.Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return '<pgwire.dbapi.Cursor {}>'.format(
            'closed' if self._closed else 'open')



class ServerCursor(Cursor[_RowT]):
    """A server-side cursor, made by ``connection.cursor(name)``: execute()
    binds a statement that returns rows to a portal in the open
    transaction, and the fetch methods read its rows from the server as
    they are asked for (iteration: ``itersize`` rows per round trip), so a
    result of any size takes bounded memory; a statement without rows is
    run at once (fetching from it gives no rows, as SQLAlchemy expects of
    a server-side cursor).  It needs a transaction: not with autocommit.  The
    portal's name is pgwire's own; ``name`` is kept for the caller."""

    itersize = 100

    def __init__(self, connection: Connection[typing.Any],
                 name: str) -> None:
        super().__init__(connection)
        self.name = name
        # the pgwire Cursor of the bound portal
        self._portal: typing.Any = None
        self._executed = False
        self._buffer: collections.deque[_RowT] = collections.deque()

    def _reset(self) -> None:
        super()._reset()
        self._close_portal()
        self._buffer.clear()

    def _close_portal(self) -> None:
        """Close an unfinished portal on the server (sent ahead of the next
        request), so it stops holding its locks."""
        cur, self._portal = self._portal, None
        sconn = self.connection._sync
        if cur is not None and not cur._exhausted and \
                cur._portal is not None and not sconn.is_closed():
            sconn._core._protocol._close_portal(cur._portal)

    def execute(self, operation: str,
                parameters: Params | None = None) -> ServerCursor[_RowT]:
        """Bind ``operation`` with ``parameters`` to a portal; rows are
        fetched by the fetch methods.  Returns the cursor."""
        conn = self.connection
        with conn._lock:
            self._check()
            self._reset()
            if parameters is None:
                if not isinstance(operation, str):
                    raise ProgrammingError(
                        'the query must be a str, got {!r}'.format(
                            operation))
                text, args = operation, ()
            else:
                text, args = conn._convert(operation, parameters)
            sconn = conn._sync
            with _timeouts():
                conn._begin_if_needed()
                names, oids, self._portal, status = sconn._run(
                    _open_portal(sconn._core, text, args,
                                 self._row_factory))
            self._executed = True
            if names:
                self.description = tuple(
                    Column(n, o, None, None, None, None, None)
                    for n, o in zip(names, oids))
            else:
                self.rowcount = _rowcount(status)
        return self

    def executemany(self, operation: str,
                    seq_of_parameters: typing.Iterable[Params]
                    ) -> typing.NoReturn:
        raise NotSupportedError(
            'executemany() is not supported on a server-side cursor '
            '(cursor({!r})): use a cursor without a name'.format(self.name))

    def _fill(self, n: int) -> bool:
        """Fetch up to ``n`` more rows into the buffer; False at the
        end."""
        if self._portal is None:
            if not self._executed:
                raise ProgrammingError(
                    'no results to fetch: nothing was executed on this '
                    'cursor')
            return False    # a statement without rows: no rows
        with _timeouts():
            rows = self.connection._sync._run(self._portal.fetch(n))
        self._buffer.extend(rows)
        return len(rows) == n

    def fetchone(self) -> _RowT | None:
        """The next row (a tuple by default), or None at the end."""
        with self.connection._lock:
            self._check()
            if not self._buffer:
                self._fill(self.itersize)
            return self._buffer.popleft() if self._buffer else None

    def fetchmany(self, size: int | None = None) -> list[_RowT]:
        """The next ``size`` rows (default ``arraysize``), as a list."""
        if size is None:
            size = self.arraysize
        if not isinstance(size, int) or size < 0:
            raise ProgrammingError(
                'size must be a non-negative int, got {!r}'.format(size))
        with self.connection._lock:
            self._check()
            if len(self._buffer) < size:
                self._fill(size - len(self._buffer))
            buf = self._buffer
            return [buf.popleft() for _ in range(min(size, len(buf)))]

    def fetchall(self) -> list[_RowT]:
        """The remaining rows, as a list."""
        with self.connection._lock:
            self._check()
            while self._fill(1000):
                pass
            out = list(self._buffer)
            self._buffer.clear()
            return out

    def close(self) -> None:
        """Close the cursor and its portal (closing it again does
        nothing)."""
        with self.connection._lock:
            if not self._closed:
                self._close_portal()
            super().close()
            self._buffer.clear()

    def __repr__(self) -> str:
        return '<pgwire.dbapi.ServerCursor {!r} {}>'.format(
            self.name, 'closed' if self._closed else 'open')
