"""Stuart Bishop's DB-API 2.0 compliance suite (the ``dbapi-compliance``
package from PyPI, module ``dbapi20``; installed by scripts/setup.sh, not
vendored) run against pgwire.dbapi.

Every test of the suite runs unchanged except the two it leaves to the
driver (they raise NotImplementedError in the suite): they are overridden
below with tests of pgwire's behaviour, the reason in the docstring.
"""

import dbapi20
import pytest

import pgwire.dbapi


class TestPgwireDBAPI20(dbapi20.DatabaseAPI20Test):
    driver = pgwire.dbapi
    connect_args = ()
    connect_kw_args = {}
    table_prefix = 'dbapi20test_'

    @pytest.fixture(autouse=True)
    def _server(self, cluster):
        self.connect_kw_args = cluster.connect_kwargs()

    def test_nextset(self):
        """Overridden (the suite requires it): PostgreSQL functions return
        one result set, so a cursor has no nextset(); check it is absent,
        which the suite's own first test_nextset accepts."""
        con = self._connect()
        try:
            cur = con.cursor()
            assert not hasattr(cur, 'nextset')
        finally:
            con.close()

    def test_setoutputsize(self):
        """Overridden (the suite requires it): setoutputsize() does
        nothing in pgwire (rows are fetched whole); check that a large
        value still comes back complete after it."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.setoutputsize(10)
            cur.setoutputsize(10, 0)
            big = 'x' * 100000
            cur.execute('SELECT %s::text', (big,))
            assert cur.fetchone() == (big,)
        finally:
            con.close()
