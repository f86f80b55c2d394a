"""The PEP 249 exception hierarchy, shared by both faces.

pgwire.dbapi exports these classes; the SQLSTATE classes of
pgwire.exceptions derive from the matching one (tools/gen_errcodes.py,
DBAPI_CLASSES), and pgwire's InterfaceError from InterfaceError here, so
``except pgwire.dbapi.IntegrityError`` catches a duplicate key on the
asyncio face, the blocking face and the DB-API module alike.

This module must stay importable without the C extension.
"""

import builtins

__all__ = (
    'Warning', 'Error', 'InterfaceError', 'DatabaseError', 'DataError',
    'OperationalError', 'IntegrityError', 'InternalError',
    'ProgrammingError', 'NotSupportedError',
)


class Warning(builtins.Exception):  # noqa: A001  (PEP 249's name)
    """PEP 249 Warning: an important warning, e.g. a data truncation."""


class Error(builtins.Exception):
    """PEP 249 Error: the base of every other PEP 249 error."""


class InterfaceError(Error):
    """PEP 249 InterfaceError: an error of the driver, not the database."""


class DatabaseError(Error):
    """PEP 249 DatabaseError: an error reported by the database."""


class DataError(DatabaseError):
    """Bad data: division by zero, a value out of range (SQLSTATE 22)."""


class OperationalError(DatabaseError):
    """The database's operation failed: the connection was lost, the
    server ran out of resources (SQLSTATE 08, 53, 57, 58)."""


class IntegrityError(DatabaseError):
    """A constraint was violated (SQLSTATE 23)."""


class InternalError(DatabaseError):
    """The database hit an internal error (SQLSTATE XX)."""


class ProgrammingError(DatabaseError):
    """A wrong statement: syntax error, unknown table (SQLSTATE 42)."""


class NotSupportedError(DatabaseError):
    """A feature the database does not support (SQLSTATE 0A)."""
