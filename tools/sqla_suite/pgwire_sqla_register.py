"""pytest plugin for SQLAlchemy's own suite, loaded with
``-p pgwire_sqla_register`` by tools/sqla_suite/run.py.

1. Registers postgresql+pgwire with SQLAlchemy's dialect registry by name
   (no import of pgwire.sqlalchemy here), so a checkout that was not
   pip-installed needs no entry point.
2. With PGWIRE_SQLA_AS_ASYNCPG=1 (run.py's default) and the pgwire driver,
   the suite's driver predicates that name asyncpg (``only_on("+asyncpg")``,
   ``testing.against("+asyncpg")``, ...) also match pgwire: the dialect
   shares asyncpg's SQL and type adapters and pgwire's codecs are asyncpg's,
   so the asyncpg cases and expectations are the ones that apply, and the
   side-by-side compares the same tests.  No predicate in the pinned
   versions compares asyncpg's version, so none needs translating.
   Likewise the compliance suite's ServerSideCursorsTest._is_server_side,
   which knows its drivers by name ("a huge issue ... for third party
   dialects", its comment says), reads ``cursor.server_side`` for pgwire
   as it does for asyncpg.
"""

import os
import sys

from sqlalchemy.dialects import registry

registry.register("postgresql.pgwire", "pgwire.sqlalchemy",
                  "PGDialect_pgwire")


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
    if os.environ.get("PGWIRE_SQLA_AS_ASYNCPG") != "1" or \
            test_results is None:
        return
    suite = test_results.ServerSideCursorsTest
    is_server_side = suite._is_server_side

    def _is_server_side(self, cursor):
        if self.engine.dialect.driver == "pgwire":
            return cursor.server_side
        return is_server_side(self, cursor)

    suite._is_server_side = _is_server_side
