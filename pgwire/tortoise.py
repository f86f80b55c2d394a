"""Tortoise ORM engine on pgwire: ``"engine": "pgwire.tortoise"``.

Tortoise loads any module that exposes ``client_class``; this one is
Tortoise's own asyncpg client (``tortoise.backends.asyncpg``: its SQL,
executor and schema generator) with pgwire's pool, connections and
exceptions::

    await Tortoise.init(config={
        "connections": {"default": {
            "engine": "pgwire.tortoise",
            "credentials": {"host": "localhost", "port": 5432,
                            "user": "app", "password": "...",
                            "database": "app"}}},
        "apps": {"models": {"models": ["app.models"]}},
    })

asyncpg need not be installed: Tortoise's client module imports it by
name, so when it is missing that one import sees pgwire under asyncpg's
names (``pgwire.install_as_asyncpg``'s mapping), undone right after.
"""

import importlib
import sys

import pgwire
from pgwire import exceptions as _exc

from . import _asyncpg_alias

__all__ = ("PgwireDBClient", "PgwireTransactionWrapper", "client_class")


def _import_tortoise_asyncpg_client():
    name = "tortoise.backends.asyncpg.client"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is None or not (e.name == "asyncpg" or
                                  e.name.startswith("asyncpg.")):
            raise
    for mod in [m for m in sys.modules
                if m.startswith("tortoise.backends.asyncpg")]:
        del sys.modules[mod]  # half-imported by the failed attempt
    alias = _asyncpg_alias.modules()
    saved = {k: sys.modules.get(k) for k in alias}
    sys.modules.update(alias)
    try:
        return importlib.import_module(name)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


_client = _import_tortoise_asyncpg_client()
from tortoise.backends.base.client import (  # noqa: E402
    NestedTransactionContext, TransactionContextPooled)
from tortoise.exceptions import (  # noqa: E402
    DBConnectionError, IntegrityError, OperationalError,
    TransactionManagementError)


class PgwireDBClient(_client.AsyncpgDBClient):
    """Tortoise's asyncpg client on pgwire."""

    connection_class = pgwire.Connection

    async def create_pool(self, **kwargs):
        return await pgwire.create_pool(None, **kwargs)

    async def create_connection(self, with_db):
        try:
            await super().create_connection(with_db)
        except _exc.InvalidCatalogNameError as ex:
            where = ("database {}".format(self.database) if with_db else
                     "the default database (check PGDATABASE)")
            raise DBConnectionError(
                "Can't establish connection to {}: {}".format(where, ex)
            ) from ex

    async def db_delete(self):
        try:
            return await super().db_delete()
        except _exc.InvalidCatalogNameError:
            await self.close()

    async def _translate_exceptions(self, func, *args, **kwargs):
        try:
            return await func(self, *args, **kwargs)
        except (_exc.SyntaxOrAccessError, _exc.DataError) as exc:
            raise OperationalError(exc) from exc
        except _exc.IntegrityConstraintViolationError as exc:
            raise IntegrityError(exc) from exc
        except _exc.InvalidTransactionStateError as exc:
            raise TransactionManagementError(exc) from exc

    def _in_transaction(self):
        return TransactionContextPooled(PgwireTransactionWrapper(self),
                                        self._pool_init_lock)


class PgwireTransactionWrapper(PgwireDBClient, _client.TransactionWrapper):
    """Tortoise's asyncpg transaction wrapper on pgwire (savepoints for
    nested transactions, as pgwire's Transaction does them)."""

    def _in_transaction(self):
        return NestedTransactionContext(PgwireTransactionWrapper(self))


client_class = PgwireDBClient
