"""pgwire.Transaction: asyncpg's transaction API.

``conn.transaction()`` returns a :class:`Transaction`; use it as
``async with`` (commit on success, rollback on exception) or call
``start()`` / ``commit()`` / ``rollback()`` by hand.  A transaction started
while another one (from ``conn.transaction()``) is active becomes a
savepoint.

A connection lost while ``COMMIT`` may already have reached the server is
reported as :class:`TransactionOutcomeUnknownError`: the transaction may
or may not have been committed, and pgwire never retries nor reports
success in that case.  A ``COMMIT`` the server answers with ``ROLLBACK``
(a statement failed earlier in the transaction and the error was caught)
raises :class:`pgwire.exceptions.TransactionRolledBackError`.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import typing

from . import _connresource
from . import exceptions
from .utils import quote_ident as _quote_ident

if typing.TYPE_CHECKING:
    from .connection import Connection

__all__ = ("Transaction", "TransactionState",
           "TransactionOutcomeUnknownError")


class TransactionOutcomeUnknownError(exceptions.InterfaceError):
    """The connection was lost while COMMIT was in flight: the transaction
    may or may not have been committed on the server.  Check the data
    (idempotently) before retrying anything."""


class TransactionState(enum.Enum):
    NEW = 0
    STARTED = 1
    COMMITTED = 2
    ROLLEDBACK = 3
    FAILED = 4


ISOLATION_LEVELS = {
    'read_committed',
    'read_uncommitted',
    'serializable',
    'repeatable_read',
}

ISOLATION_LEVELS_BY_VALUE = {
    'read committed': 'read_committed',
    'read uncommitted': 'read_uncommitted',
    'serializable': 'serializable',
    'repeatable read': 'repeatable_read',
}

_ISOLATION_SQL = {
    'read_committed': 'READ COMMITTED',
    'read_uncommitted': 'READ UNCOMMITTED',
    'serializable': 'SERIALIZABLE',
    'repeatable_read': 'REPEATABLE READ',
}

# Savepoint names only need to be unique per connection; a process-wide
# counter is simpler and also unique.
_savepoint_ids = itertools.count(1)


def _connection_lost(con: Connection[typing.Any], exc: BaseException
                     ) -> bool:
    if con.is_closed():
        return True
    return isinstance(exc, (exceptions.PostgresConnectionError,
                            ConnectionError, OSError))


class Transaction:
    """A transaction or savepoint block; see ``Connection.transaction()``."""

    __slots__ = ('_connection', '_isolation', '_readonly', '_deferrable',
                 '_state', '_nested', '_id', '_managed', '_relmark')

    def __init__(self, connection: Connection[typing.Any],
                 isolation: str | None, readonly: bool,
                 deferrable: bool) -> None:
        if isolation and isolation not in ISOLATION_LEVELS:
            raise ValueError(
                'isolation is expected to be either of {}, '
                'got {!r}'.format(sorted(ISOLATION_LEVELS), isolation))
        self._connection = connection
        self._isolation = isolation
        self._readonly = bool(readonly)
        self._deferrable = bool(deferrable)
        self._state = TransactionState.NEW
        self._nested = False
        self._id: str | None = None
        self._managed = False
        self._relmark = _connresource.marker(connection)

    def _check_released(self, meth: str) -> None:
        _connresource.check(self._connection, self._relmark, 'Transaction',
                            meth)

    # -- async with ---------------------------------------------------
    async def __aenter__(self) -> None:
        self._check_released('__aenter__')
        if self._managed:
            raise exceptions.InterfaceError(
                'cannot enter context: {} is already in an `async with` '
                'block'.format(self))
        self._managed = True
        try:
            await self.start()
        except BaseException:
            self._managed = False
            raise

    async def __aexit__(self, extype: type[BaseException] | None,
                        ex: BaseException | None, tb: typing.Any) -> None:
        try:
            self._check_released('__aexit__')
        except exceptions.InterfaceError:
            if extype is GeneratorExit:
                # An async generator holding this transaction was
                # abandoned inside `async with pool.acquire()`: the
                # connection went back to the pool (whose reset rolled the
                # transaction back) before the generator was finalized.
                # Nothing is left to end; raising here would only surface
                # as "Task exception was never retrieved" (as asyncpg).
                return
            raise
        try:
            if extype is not None:
                await self.__rollback()
            else:
                await self.__commit()
        finally:
            self._managed = False

    # -- public API ---------------------------------------------------
    @_connresource.guarded
    async def start(self) -> None:
        """Enter the transaction or savepoint block."""
        self._check_released('start')
        self.__check_state_base('start')
        if self._state is TransactionState.STARTED:
            raise exceptions.InterfaceError(
                'cannot start; the transaction is already started')

        con = self._connection
        top = getattr(con, '_top_xact', None)

        if top is None:
            if con.is_in_transaction():
                raise exceptions.InterfaceError(
                    'cannot use Connection.transaction() in '
                    'a manually started transaction')
            con._top_xact = self
        else:
            # Nested transaction block: a savepoint.
            if self._isolation:
                top_isolation = top._isolation
                if top_isolation is None:
                    value = await con.fetchval('SHOW transaction_isolation;')
                    top_isolation = ISOLATION_LEVELS_BY_VALUE.get(
                        value, value)
                if self._isolation != top_isolation:
                    raise exceptions.InterfaceError(
                        'nested transaction has a different isolation '
                        'level: current {!r} != outer {!r}'.format(
                            self._isolation, top_isolation))
            self._nested = True

        if self._nested:
            self._id = _quote_ident(
                'pgwire_savepoint_{}'.format(next(_savepoint_ids)))
            query = 'SAVEPOINT {};'.format(self._id)
        else:
            query = 'BEGIN'
            if self._isolation:
                query += ' ISOLATION LEVEL ' + _ISOLATION_SQL[self._isolation]
            if self._readonly:
                query += ' READ ONLY'
            if self._deferrable:
                query += ' DEFERRABLE'
            query += ';'

        try:
            await con.execute(query)
        except BaseException:
            self._state = TransactionState.FAILED
            if not self._nested and getattr(con, '_top_xact', None) is self:
                con._top_xact = None
            raise
        else:
            self._state = TransactionState.STARTED

    @_connresource.guarded
    async def commit(self) -> None:
        """Exit the transaction or savepoint block and commit changes."""
        self._check_released('commit')
        if self._managed:
            raise exceptions.InterfaceError(
                'cannot manually commit from within an `async with` block')
        await self.__commit()

    @_connresource.guarded
    async def rollback(self) -> None:
        """Exit the transaction or savepoint block and roll back changes."""
        self._check_released('rollback')
        if self._managed:
            raise exceptions.InterfaceError(
                'cannot manually rollback from within an `async with` block')
        await self.__rollback()

    # -- internals ----------------------------------------------------
    def __check_state_base(self, opname: str) -> None:
        if self._state is TransactionState.COMMITTED:
            raise exceptions.InterfaceError(
                'cannot {}; the transaction is already committed'.format(
                    opname))
        if self._state is TransactionState.ROLLEDBACK:
            raise exceptions.InterfaceError(
                'cannot {}; the transaction is already rolled back'.format(
                    opname))
        if self._state is TransactionState.FAILED:
            raise exceptions.InterfaceError(
                'cannot {}; the transaction is in error state'.format(
                    opname))

    def __check_state(self, opname: str) -> None:
        if self._state is not TransactionState.STARTED:
            if self._state is TransactionState.NEW:
                raise exceptions.InterfaceError(
                    'cannot {}; the transaction is not yet started'.format(
                        opname))
            self.__check_state_base(opname)

    def __release_top(self) -> None:
        con = self._connection
        if getattr(con, '_top_xact', None) is self:
            con._top_xact = None

    async def __commit(self) -> None:
        self.__check_state('commit')
        self.__release_top()
        con = self._connection

        if self._nested:
            query = 'RELEASE SAVEPOINT {};'.format(self._id)
        else:
            query = 'COMMIT;'
            if con.is_closed():
                # COMMIT was never sent: the server rolls the transaction
                # back when it sees the connection go.
                self._state = TransactionState.FAILED
                raise exceptions.InterfaceError(
                    'cannot commit: the connection is closed; the '
                    'transaction was not committed')

        try:
            status = await con.execute(query)
        except Exception as e:
            self._state = TransactionState.FAILED
            if not self._nested and isinstance(e, asyncio.TimeoutError) \
                    and not con.is_closed():
                # the COMMIT was sent and then cancelled on the server:
                # the cancel may have arrived after the commit was done
                # (checked first: TimeoutError is an OSError)
                raise TransactionOutcomeUnknownError(
                    'COMMIT timed out and was cancelled: the transaction '
                    'outcome is unknown (it may or may not have been '
                    'committed)') from e
            if not self._nested and _connection_lost(con, e):
                raise TransactionOutcomeUnknownError(
                    'the connection was lost during COMMIT: the transaction '
                    'outcome is unknown (it may or may not have been '
                    'committed)') from e
            raise
        except BaseException as e:
            # the task was cancelled while COMMIT was in flight: stay
            # cancelled, but say what that means for the data
            self._state = TransactionState.FAILED
            if not self._nested:
                e.add_note('pgwire: the task was cancelled during COMMIT; '
                           'the transaction outcome is unknown (it may or '
                           'may not have been committed)')
            raise
        else:
            if not self._nested and status == 'ROLLBACK':
                # the transaction had failed (an error the application
                # caught): the server rolled it back instead of committing
                self._state = TransactionState.ROLLEDBACK
                raise exceptions.TransactionRolledBackError._from_commit(
                    query)
            self._state = TransactionState.COMMITTED

    async def __rollback(self) -> None:
        self.__check_state('rollback')
        self.__release_top()

        if self._nested:
            query = 'ROLLBACK TO {};'.format(self._id)
        else:
            query = 'ROLLBACK;'

        try:
            await self._connection.execute(query)
        except BaseException:
            self._state = TransactionState.FAILED
            raise
        else:
            self._state = TransactionState.ROLLEDBACK

    def __repr__(self) -> str:
        attrs = ['state:{}'.format(self._state.name.lower())]
        if self._isolation is not None:
            attrs.append(self._isolation)
        if self._readonly:
            attrs.append('readonly')
        if self._deferrable:
            attrs.append('deferrable')
        if self.__class__.__module__.startswith('pgwire.'):
            mod = 'pgwire'
        else:
            mod = self.__class__.__module__
        return '<{}.{} {} {:#x}>'.format(
            mod, self.__class__.__name__, ' '.join(attrs), id(self))
