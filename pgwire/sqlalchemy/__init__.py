"""SQLAlchemy dialect ``postgresql+pgwire://`` (SQLAlchemy 2.0 and 2.1).

Registered through the ``sqlalchemy.dialects`` entry point
``postgresql.pgwire``, so ``create_engine("postgresql+pgwire://...")`` and
``create_async_engine("postgresql+pgwire://...")`` work once pgwire is
installed; nothing here imports asyncpg.

The registered class is :class:`PGDialect_pgwire`, the one URL for both
faces as in psycopg's dialect: ``create_engine`` uses it (the blocking face,
through ``pgwire.dbapi``), and ``create_async_engine`` asks it for its
asyncio variant (:class:`PGDialectAsync_pgwire`), which is also registered
by itself as ``postgresql.pgwire_async`` (as ``psycopg_async``), for tools
that take a URL and call ``create_engine`` in SQLAlchemy's greenlet.

Importing this package imports SQLAlchemy; ``import pgwire`` does not.
"""

from .base import PGDialect_pgwire, PGDialectAsync_pgwire

dialect = PGDialect_pgwire
dialect_async = PGDialectAsync_pgwire

__all__ = ("PGDialect_pgwire", "PGDialectAsync_pgwire", "dialect",
           "dialect_async", "register")


def register():
    """Register ``postgresql+pgwire`` (and ``postgresql+pgwire_async``)
    with SQLAlchemy's dialect registry.

    Only needed when pgwire runs from a checkout that was not installed
    (an installed pgwire registers through its entry point)."""
    from sqlalchemy.dialects import registry
    registry.register("postgresql.pgwire", "pgwire.sqlalchemy",
                      "PGDialect_pgwire")
    registry.register("postgresql.pgwire_async", "pgwire.sqlalchemy",
                      "PGDialectAsync_pgwire")
