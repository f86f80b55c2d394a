"""pgwire.install_as_asyncpg(): ``import asyncpg`` (and its public
submodules) resolve to pgwire, for libraries that import asyncpg by name.
Each case runs in a child interpreter, with the real asyncpg blocked by a
meta-path finder, so nothing here can see it."""

import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent

BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "asyncpg" or name.startswith("asyncpg."):
            raise ModuleNotFoundError("the real asyncpg is blocked",
                                      name=name)
sys.meta_path.insert(0, Block())
"""


def _run(code, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + sys.path[1:]))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code),
                          *args], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_modules_resolve_to_pgwire(cluster):
    out = _run(BLOCK + """
import asyncio
import pgwire
pgwire.install_as_asyncpg()
pgwire.install_as_asyncpg()  # idempotent
import asyncpg
import asyncpg.exceptions, asyncpg.pool, asyncpg.connection
from asyncpg.transaction import Transaction
from asyncpg.protocol import Record
from asyncpg.exceptions import UniqueViolationError
import pgwire.pool, pgwire.connection, pgwire.transaction
assert asyncpg is pgwire
assert asyncpg.exceptions is pgwire.exceptions
assert asyncpg.pool is pgwire.pool
assert asyncpg.connection.Connection is pgwire.Connection
assert Transaction is pgwire.transaction.Transaction
assert Record is pgwire.Record
assert UniqueViolationError is pgwire.UniqueViolationError

async def main(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        assert isinstance(conn, pgwire.Connection)
        return await conn.fetchval("SELECT $1::int * 2", 21)
    finally:
        await conn.close()
print(asyncio.run(main(sys.argv[1])))
""", cluster.dsn())
    assert out == "42"


def test_refused_after_real_asyncpg():
    out = _run("""
import asyncpg, pgwire
try:
    pgwire.install_as_asyncpg()
except RuntimeError as e:
    assert "already imported" in str(e), e
    print("refused")
import sys
assert sys.modules["asyncpg"] is asyncpg
""")
    assert out == "refused"


def test_encode_databases(cluster):
    """encode/databases' asyncpg backend, unchanged, on pgwire."""
    out = _run(BLOCK + """
import asyncio
import pgwire
pgwire.install_as_asyncpg()
import sqlalchemy as sa
from databases import Database
notes = sa.table("dbs_notes", sa.column("id"), sa.column("text"))

async def main(url):
    async with Database(url, min_size=1, max_size=2) as db:
        await db.execute("DROP TABLE IF EXISTS dbs_notes")
        await db.execute(
            "CREATE TABLE dbs_notes (id serial PRIMARY KEY, text text)")
        await db.execute_many("INSERT INTO dbs_notes (text) VALUES (:t)",
                              [{"t": "a"}, {"t": "b"}])
        try:
            async with db.transaction():
                await db.execute(notes.insert().values(text="c"))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        rows = await db.fetch_all(sa.select(notes.c.text)
                                  .order_by(notes.c.id))
        one = await db.fetch_val("SELECT count(*) FROM dbs_notes")
        async with db.connection() as conn:
            assert isinstance(conn.raw_connection, pgwire.Connection)
        await db.execute("DROP TABLE dbs_notes")
        return [r.text for r in rows], one

print(asyncio.run(main(sys.argv[1])))
import asyncpg
assert asyncpg is pgwire
""", cluster.dsn(host="tcp"))
    assert out == "(['a', 'b'], 2)"
