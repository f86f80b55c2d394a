"""Hand-written base classes of pgwire.exceptions (asyncpg.exceptions._base
compatible).

The SQLSTATE-specific classes are generated into
``pgwire/exceptions/__init__.py`` by ``tools/gen_errcodes.py``; every class
that sets ``sqlstate`` in its body is registered by the metaclass, so the
server's ErrorResponse/NoticeResponse fields can be turned into the right
class with a dictionary lookup.

This module must stay importable without the C extension.
"""

from __future__ import annotations

import sys
import typing

from . import _dbapi

_Fields = typing.Mapping[str, str]

__all__ = (
    'PostgresError', 'FatalPostgresError', 'UnknownPostgresError',
    'InterfaceError', 'InterfaceWarning', 'PostgresLogMessage',
    'ClientConfigurationError',
    'InternalClientError', 'OutdatedSchemaCacheError', 'ProtocolError',
    'UnsupportedClientFeatureError', 'TargetServerAttributeNotMatched',
    'UnsupportedServerFeatureError',
)


# ErrorResponse / NoticeResponse field codes -> attribute names
# (https://www.postgresql.org/docs/current/protocol-error-fields.html).
FIELD_MAP = {
    'S': 'severity',
    'V': 'severity_en',
    'C': 'sqlstate',
    'M': 'message',
    'D': 'detail',
    'H': 'hint',
    'P': 'position',
    'p': 'internal_position',
    'q': 'internal_query',
    'W': 'context',
    's': 'schema_name',
    't': 'table_name',
    'c': 'column_name',
    'd': 'data_type_name',
    'n': 'constraint_name',
    'F': 'server_source_filename',
    'L': 'server_source_line',
    'R': 'server_source_function',
}

_PKG = __name__.rpartition('.')[0]          # 'pgwire.exceptions'

# SQLSTATEs with special handling in PostgresMessage._make_constructor().
_FEATURE_NOT_SUPPORTED = '0A000'
_PREPARED_STMT_SQLSTATES = frozenset((
    '42P05',    # duplicate_prepared_statement
    '26000',    # invalid_sql_statement_name
))

_ICSE_MESSAGE = ('cached statement plan is invalid due to a database '
                 'schema or configuration change')

_PGBOUNCER_NOTE = (
    'NOTE: pgbouncer with pool_mode set to "transaction" or "statement" '
    'does not support named prepared statements properly.\n'
    'Either use pgwire\'s own connection pool instead of pgbouncer, or '
    'pass statement_cache_size=0 to pgwire.connect() / '
    'pgwire.create_pool() so that pgwire does not keep prepared '
    'statements across transactions.'
)


def _is_pgwire_class(cls: type) -> bool:
    modname = cls.__module__
    return modname == 'pgwire' or modname.startswith('pgwire.')


class PostgresMessageMeta(type):

    _message_map: dict[str, type[typing.Any]] = {}
    _field_map = FIELD_MAP

    def __new__(mcls, name: str, bases: tuple[type, ...],
                dct: dict[str, typing.Any]) -> PostgresMessageMeta:
        cls = super().__new__(mcls, name, bases, dct)

        if _is_pgwire_class(cls):
            mod = sys.modules.get(cls.__module__)
            if mod is not None and name in mod.__dict__:
                raise RuntimeError(
                    'exception class redefinition: {}'.format(name))

        code = dct.get('sqlstate')
        if code is not None:
            existing = mcls._message_map.get(code)
            if existing is not None:
                raise TypeError(
                    '{} has duplicate SQLSTATE code, which is already '
                    'defined by {}'.format(name, existing.__name__))
            mcls._message_map[code] = cls

        return cls

    @classmethod
    def get_message_class_for_sqlstate(mcls, code: str | None
                                       ) -> type[typing.Any]:
        """Class registered for exactly *code*, else UnknownPostgresError
        (asyncpg does not fall back to the SQLSTATE class root)."""
        if code is None:
            return UnknownPostgresError
        return mcls._message_map.get(code, UnknownPostgresError)


class PostgresMessage(metaclass=PostgresMessageMeta):
    """Base of everything built from an ErrorResponse or NoticeResponse."""

    # the server's fields (FIELD_MAP), None when not sent; set to None on
    # the class below the class body
    severity: str | None
    severity_en: str | None
    sqlstate: str | None
    message: str | None
    detail: str | None
    hint: str | None
    position: str | None
    internal_position: str | None
    internal_query: str | None
    context: str | None
    schema_name: str | None
    table_name: str | None
    column_name: str | None
    data_type_name: str | None
    constraint_name: str | None
    server_source_filename: str | None
    server_source_line: str | None
    server_source_function: str | None
    query: str | None

    @classmethod
    def _get_error_class(cls, fields: _Fields) -> type[typing.Any]:
        return type(cls).get_message_class_for_sqlstate(fields.get('C'))

    @classmethod
    def _get_error_dict(cls, fields: _Fields, query: str | None
                        ) -> dict[str, typing.Any]:
        dct: dict[str, typing.Any] = {'query': query}
        field_map = type(cls)._field_map
        for k, v in fields.items():
            attr = field_map.get(k)
            if attr:
                dct[attr] = v
        return dct

    @classmethod
    def _make_constructor(cls, fields: _Fields, query: str | None = None
                          ) -> tuple[type[typing.Any], str,
                                     dict[str, typing.Any]]:
        dct = cls._get_error_dict(fields, query)
        exccls = cls._get_error_class(fields)
        message = dct.get('message', '')

        registry = type(cls)._message_map

        # The server raises feature_not_supported ("cached plan must not
        # change result type") from RevalidateCachedQuery() when a prepared
        # statement's result type changed underneath it.  Report it as a
        # distinct subclass so the connection can drop its statement cache.
        # The message text is localizable, so only the source function is
        # checked.
        if (exccls is registry.get(_FEATURE_NOT_SUPPORTED)
                and _is_pgwire_class(exccls)
                and dct.get('server_source_function')
                == 'RevalidateCachedQuery'):
            mod = sys.modules.get(_PKG)
            icse = getattr(mod, 'InvalidCachedStatementError', None)
            if icse is not None:
                exccls = icse
                message = _ICSE_MESSAGE

        if (exccls.__dict__.get('sqlstate') in _PREPARED_STMT_SQLSTATES
                and _is_pgwire_class(exccls)):
            hint = dct.get('hint')
            dct['hint'] = (hint + '\n\n' + _PGBOUNCER_NOTE if hint
                           else _PGBOUNCER_NOTE)

        return exccls, message, dct

    def as_dict(self) -> dict[str, str]:
        """The server-supplied fields that are set, as a dict."""
        dct = {}
        for attr in type(self)._field_map.values():
            val = getattr(self, attr)
            if val is not None:
                dct[attr] = val
        return dct


# Every field attribute (and `query`) defaults to None on the class.
for _attr in FIELD_MAP.values():
    setattr(PostgresMessage, _attr, None)
setattr(PostgresMessage, "query", None)
del _attr


def _format_message(msg: str, detail: str | None, hint: str | None) -> str:
    if detail:
        msg += '\nDETAIL:  {}'.format(detail)
    if hint:
        msg += '\nHINT:  {}'.format(hint)
    return msg


class PostgresError(PostgresMessage, _dbapi.DatabaseError):
    """Base class for all Postgres errors."""

    def __str__(self) -> str:
        if self.args:
            msg = self.args[0]
            if not isinstance(msg, str):
                msg = str(msg)
        else:
            msg = self.message or ''
        return _format_message(msg, self.detail, self.hint)

    @classmethod
    def new(cls, fields: _Fields, query: str | None = None
            ) -> PostgresError:
        """Build the exception for ErrorResponse *fields* (field code ->
        value); the class is chosen by the SQLSTATE in field ``C``."""
        exccls, message, dct = cls._make_constructor(fields, query)
        ex: PostgresError = exccls(message)
        ex.__dict__.update(dct)
        return ex


class FatalPostgresError(PostgresError):
    """A fatal error that should result in server disconnection."""


class UnknownPostgresError(FatalPostgresError):
    """An error with an unknown SQLSTATE code."""


class InterfaceMessage:
    def __init__(self, *, detail: str | None = None,
                 hint: str | None = None) -> None:
        self.detail = detail
        self.hint = hint

    args: tuple[typing.Any, ...]  # the exception's (a mixin of one)

    def __str__(self) -> str:
        msg = self.args[0] if self.args else ''
        if not isinstance(msg, str):
            msg = str(msg)
        return _format_message(msg, self.detail, self.hint)


class InterfaceError(InterfaceMessage, _dbapi.InterfaceError):
    """An error caused by improper use of the pgwire API."""

    def __init__(self, msg: str, *, detail: str | None = None,
                 hint: str | None = None) -> None:
        InterfaceMessage.__init__(self, detail=detail, hint=hint)
        _dbapi.InterfaceError.__init__(self, msg)

    def with_msg(self, msg: str) -> InterfaceError:
        return type(self)(
            msg,
            detail=self.detail,
            hint=self.hint,
        ).with_traceback(
            self.__traceback__
        )


class ClientConfigurationError(InterfaceError, ValueError):
    """An error caused by improper client configuration."""


class UnsupportedClientFeatureError(InterfaceError):
    """Requested feature is unsupported by pgwire."""


class UnsupportedServerFeatureError(InterfaceError):
    """Requested feature is unsupported by the PostgreSQL server."""


class InterfaceWarning(InterfaceMessage, UserWarning):
    """A warning caused by an improper use of the pgwire API."""

    def __init__(self, msg: str, *, detail: str | None = None,
                 hint: str | None = None) -> None:
        InterfaceMessage.__init__(self, detail=detail, hint=hint)
        UserWarning.__init__(self, msg)


class InternalClientError(Exception):
    """All unexpected errors not classified otherwise."""


class ProtocolError(InternalClientError):
    """Unexpected condition in the handling of PostgreSQL protocol input."""


class TargetServerAttributeNotMatched(InternalClientError):
    """Could not find a host that satisfies the target attribute
    requirement."""


class OutdatedSchemaCacheError(InternalClientError):
    """A value decoding error caused by a schema change before row
    fetching."""

    def __init__(self, msg: str, *, schema: str | None = None,
                 data_type: str | None = None,
                 position: int | None = None) -> None:
        super().__init__(msg)
        self.schema_name = schema
        self.data_type_name = data_type
        self.position = position


class PostgresLogMessage(PostgresMessage):
    """A base class for non-error server messages (NoticeResponse)."""

    def __str__(self) -> str:
        return '{}: {}'.format(type(self).__name__, self.message)

    def __setattr__(self, name: str, val: object) -> typing.NoReturn:
        raise TypeError('instances of {} are immutable'.format(
            type(self).__name__))

    @classmethod
    def new(cls, fields: _Fields, query: str | None = None
            ) -> PostgresMessage:
        """Build the object for NoticeResponse *fields*: the class
        registered for the SQLSTATE (a PostgresWarning subclass, or even an
        error class such as DuplicateTableError for "... already exists,
        skipping"), else PostgresLogMessage -- or PostgresWarning when the
        severity is WARNING."""
        exccls, message_text, dct = cls._make_constructor(fields, query)

        if exccls is UnknownPostgresError:
            exccls = PostgresLogMessage

        if exccls is PostgresLogMessage:
            severity = dct.get('severity_en') or dct.get('severity')
            if severity and severity.upper() == 'WARNING':
                exccls = type(cls)._message_map.get('01000', exccls)

        msg: typing.Any
        if issubclass(exccls, (BaseException, Warning)):
            msg = exccls(message_text)
        else:
            msg = exccls()

        msg.__dict__.update(dct)
        return msg  # type: ignore[no-any-return]
