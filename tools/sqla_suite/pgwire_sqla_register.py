"""pytest plugin for SQLAlchemy's own suite, loaded with
``-p pgwire_sqla_register`` by tools/sqla_suite/run.py.

1. Registers postgresql+pgwire (the sync dialect on pgwire.dbapi) and
   postgresql+pgwire_async (the asyncio one) with SQLAlchemy's dialect
   registry by name (no import of pgwire.sqlalchemy here), so a checkout
   that was not pip-installed needs no entry point.
2. With PGWIRE_SQLA_AS_ASYNCPG=1 (run.py sets it for pgwire_async, the
   async pair's run) and the pgwire driver,
   the suite's driver predicates that name asyncpg (``only_on("+asyncpg")``,
   ``testing.against("+asyncpg")``, ...) also match pgwire: the dialect
   shares asyncpg's SQL and type adapters and pgwire's codecs are asyncpg's,
   so the asyncpg cases and expectations are the ones that apply, and the
   side-by-side compares the same tests.  No predicate in the pinned
   versions compares asyncpg's version, so none needs translating.
3. The compliance suite's ServerSideCursorsTest._is_server_side, which
   knows its drivers by name ("a huge issue ... for third party dialects",
   its comment says), reads ``cursor.server_side`` for the asyncio pgwire
   dialect as it does for asyncpg, and the cursor's name for the sync one
   as it does for psycopg (``cursor(name)`` is a server-side cursor in
   both).
"""

import os
import sys

from sqlalchemy.dialects import registry

registry.register("postgresql.pgwire", "pgwire.sqlalchemy",
                  "PGDialect_pgwire")
registry.register("postgresql.pgwire_async", "pgwire.sqlalchemy",
                  "PGDialectAsync_pgwire")


def pytest_configure(config):
    # after SQLAlchemy's conftest (it must import sqlalchemy.testing first)
    if os.environ.get("PGWIRE_SQLA_AS_ASYNCPG") != "1":
        return
    from sqlalchemy.testing import exclusions
    spec = exclusions.SpecPredicate
    original = spec.__call__

    def call(self, cfg):
        db = getattr(cfg, "db", None)
        if db is not None and db.driver == "pgwire" and \
                "+asyncpg" in self.db:
            self = spec(self.db.replace("+asyncpg", "+pgwire"), self.op,
                        self.spec, self.description)
        return original(self, cfg)

    spec.__call__ = call


def pytest_collection_finish(session):
    # the compliance suite is imported by the test modules that use it;
    # importing it earlier would break SQLAlchemy 2.0's fixture setup
    test_results = sys.modules.get("sqlalchemy.testing.suite.test_results")
    if test_results is None:
        return
    suite = test_results.ServerSideCursorsTest
    is_server_side = suite._is_server_side

    def _is_server_side(self, cursor):
        dialect = self.engine.dialect
        if dialect.driver == "pgwire":
            if dialect.is_async:
                return cursor.server_side
            return bool(getattr(cursor, "name", None))
        return is_server_side(self, cursor)

    suite._is_server_side = _is_server_side
