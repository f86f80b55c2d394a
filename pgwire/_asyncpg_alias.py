"""``pgwire.install_as_asyncpg()``: ``import asyncpg`` resolves to pgwire.

For libraries that import asyncpg by name (encode/databases, Tortoise's
asyncpg backend, applications that cannot change an import), as PyMySQL's
``install_as_MySQLdb()`` is for MySQLdb.  It puts pgwire's modules into
``sys.modules`` under asyncpg's names; nothing is copied or wrapped, so
``asyncpg.Connection is pgwire.Connection``.

Limits (docs/sqlalchemy.md): it must run before anything imports asyncpg
(a real asyncpg already imported is refused, not replaced);
``asyncpg.__version__`` is pgwire's; asyncpg's private modules
(``asyncpg.protocol`` beyond ``Record``, ``asyncpg.pgproto``,
``asyncpg.cluster``, ``asyncpg._testbase``) do not exist; pgwire's
documented differences from asyncpg apply.
"""

from __future__ import annotations

import importlib
import sys
import types

# asyncpg's public submodules, each pgwire's module of the same name
SUBMODULES = ("connection", "pool", "exceptions", "exceptions._base",
              "types", "cursor", "prepared_stmt", "transaction",
              "connect_utils", "utils", "introspection")


def _protocol_module(name: str, record: type) -> types.ModuleType:
    """``asyncpg.protocol`` (and ``.protocol.protocol``): only ``Record``,
    the one public name code imports from there."""
    mod = types.ModuleType(name, "pgwire stand-in for asyncpg's private "
                                 "protocol package: Record only")
    mod.Record = record  # type: ignore[attr-defined]
    return mod


def modules() -> dict[str, types.ModuleType]:
    """{asyncpg module name: module} that install() puts in place."""
    import pgwire
    out = {"asyncpg": pgwire}
    for sub in SUBMODULES:
        out["asyncpg." + sub] = importlib.import_module("pgwire." + sub)
    record = pgwire.Record
    out["asyncpg.protocol"] = _protocol_module("asyncpg.protocol", record)
    out["asyncpg.protocol.protocol"] = _protocol_module(
        "asyncpg.protocol.protocol", record)
    out["asyncpg.protocol"].protocol = (  # type: ignore[attr-defined]
        out["asyncpg.protocol.protocol"])
    return out


def install() -> None:
    """Map asyncpg's module names to pgwire (idempotent)."""
    import pgwire
    current = sys.modules.get("asyncpg")
    if current is not None and current is not pgwire:
        raise RuntimeError(
            "pgwire.install_as_asyncpg(): asyncpg is already imported "
            "(from {!r}); call it before anything imports asyncpg".format(
                getattr(current, "__file__", current)))
    sys.modules.update(modules())
