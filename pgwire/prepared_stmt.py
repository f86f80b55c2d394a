"""PreparedStatement: a thin handle on a C Statement.

Execution methods return the C awaitable directly (no coroutine frame of
ours): ``await stmt.fetch(...)`` takes the same C path as
``await conn.fetch(...)`` with the statement already resolved.
"""

import json

from . import _connresource
from . import exceptions
from . import rows as _rows
from .cursor import CursorFactory

__all__ = ("PreparedStatement",)

_FETCH, _FETCHROW, _FETCHVAL, _EXECUTE, _EXECUTEMANY, _FETCHMANY = range(6)


async def _raise(exc):
    raise exc


class PreparedStatement(_connresource.Resource):
    """A prepared statement (see :meth:`Connection.prepare`)."""

    __slots__ = ("_state", "_record_class", "_params", "_attrs",
                 "__weakref__")
    _owner = "PreparedStatement"

    def __init__(self, conn, state, record_class, params, attrs):
        super().__init__(conn)
        self._state = state
        self._record_class = record_class
        self._params = params
        self._attrs = attrs
        # the caller has done conn._protocol.acquire_statement(state)

    # -- information ----------------------------------------------------
    def get_name(self):
        """The server-side name ('' for the unnamed statement)."""
        self._check_released("get_name")
        return self._state.name

    def get_query(self):
        self._check_released("get_query")
        return self._state.query

    def get_statusmsg(self):
        """Status of the last execution (e.g. ``'SELECT 3'``), or None."""
        self._check_released("get_statusmsg")
        return self._state.last_status

    def get_parameters(self):
        """A tuple of :class:`pgwire.types.Type`, one per parameter."""
        self._check_released("get_parameters")
        return self._params

    def get_attributes(self):
        """A tuple of :class:`pgwire.types.Attribute`, one per column."""
        self._check_released("get_attributes")
        return self._attrs

    def __repr__(self):
        return "<pgwire.PreparedStatement name={!r} query={!r}>".format(
            self._state.name, self._state.query[:60])

    # -- execution (C awaitables) -------------------------------------------
    def _run(self, meth, kind, args, timeout, column=0, row_factory=None):
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

    def fetch(self, *args, timeout=None, row_factory=None):
        """The rows; ``row_factory`` (pgwire.rows) overrides the shape
        given to prepare() for this call."""
        return self._run("fetch", _FETCH, args, timeout,
                         row_factory=row_factory)

    def fetchrow(self, *args, timeout=None, row_factory=None):
        return self._run("fetchrow", _FETCHROW, args, timeout,
                         row_factory=row_factory)

    def fetchval(self, *args, column=0, timeout=None):
        return self._run("fetchval", _FETCHVAL, args, timeout, column)

    def executemany(self, args, *, timeout=None):
        return self._run("executemany", _EXECUTEMANY, args, timeout)

    def fetchmany(self, args, *, timeout=None, row_factory=None):
        return self._run("fetchmany", _FETCHMANY, args, timeout,
                         row_factory=row_factory)

    def cursor(self, *args, prefetch=None, timeout=None, row_factory=None):
        """A server-side cursor over this statement (see
        :meth:`Connection.cursor`)."""
        self._check_released("cursor")
        shape = self._record_class
        if row_factory is not None:
            shape = _rows.check_shape(None, row_factory, "cursor()")
        return CursorFactory(self._conn, self._state.query, self._state,
                             args, prefetch, timeout, shape)

    @_connresource.guarded
    async def explain(self, *args, analyze=False):
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

    def __del__(self):
        # A statement that is not in the cache is closed on the server
        # lazily, with the next request on the connection.
        conn = getattr(self, "_conn", None)
        if conn is not None and hasattr(self, "_state"):
            try:
                conn._protocol.release_statement(self._state)
            except Exception:
                pass
