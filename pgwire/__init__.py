"""pgwire: an asyncio PostgreSQL driver with a C engine and asyncpg's API.

``import pgwire as asyncpg`` is meant to work for applications written for
asyncpg.  The names that need the C extension (connect, Connection, Record)
are loaded on first use, so pure-Python helpers such as ``pgwire.cluster``
import without it.
"""

import typing

__version__ = "0.1.0"

from . import exceptions
from .exceptions import *  # noqa: F401,F403
from . import types
from .types import (  # noqa: F401  (re-exported, as asyncpg's)
    Attribute as Attribute, BitString as BitString, Box as Box,
    Circle as Circle, Line as Line, LineSegment as LineSegment,
    Path as Path, Point as Point, Polygon as Polygon, Range as Range,
    ServerVersion as ServerVersion, Type as Type)

if typing.TYPE_CHECKING:
    # the names `from .exceptions import *` brings that a type checker
    # does not see (pgwire.exceptions extends its __all__ at run time)
    from .exceptions import (
        ClientConfigurationError as ClientConfigurationError,
        FatalPostgresError as FatalPostgresError,
        InterfaceError as InterfaceError,
        InterfaceWarning as InterfaceWarning,
        InternalClientError as InternalClientError,
        OutdatedSchemaCacheError as OutdatedSchemaCacheError,
        PipelineAbortedError as PipelineAbortedError,
        PoolResetFailedError as PoolResetFailedError,
        PostgresError as PostgresError,
        PostgresLogMessage as PostgresLogMessage,
        ProtocolError as ProtocolError,
        TargetServerAttributeNotMatched as TargetServerAttributeNotMatched,
        TransactionRolledBackError as TransactionRolledBackError,
        UnknownPostgresError as UnknownPostgresError,
        UnsupportedClientFeatureError as UnsupportedClientFeatureError,
        UnsupportedServerFeatureError as UnsupportedServerFeatureError)
    # the lazy names below
    from ._pgwire import Record as Record
    from .connect_utils import connect as connect
    from .connection import Connection as Connection
    from .connection import clear_auth_cache as clear_auth_cache
    from .pool import Pool as Pool
    from .pool import create_pool as create_pool

_LAZY = {
    "connect": ("connect_utils", "connect"),
    "Connection": ("connection", "Connection"),
    "Record": ("_pgwire", "Record"),
    "create_pool": ("pool", "create_pool"),
    "Pool": ("pool", "Pool"),
    "clear_auth_cache": ("connection", "clear_auth_cache"),
}

__all__ = ("connect", "Connection", "Record", "create_pool", "Pool") + \
    tuple(exceptions.__all__)


def install_as_asyncpg() -> None:
    """Make ``import asyncpg`` (and ``asyncpg.exceptions``, ``asyncpg.pool``,
    ``asyncpg.connection``, ...) resolve to pgwire, for libraries that
    import asyncpg by name.  Call it before anything imports asyncpg; the
    limits are in docs/sqlalchemy.md."""
    from . import _asyncpg_alias
    _asyncpg_alias.install()


def __getattr__(name: str) -> typing.Any:
    try:
        modname, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(
            f"module 'pgwire' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module("." + modname, __name__), attr)
    globals()[name] = value
    return value
