"""Tortoise ORM on pgwire (pgwire/tortoise.py, ``"engine":
"pgwire.tortoise"``): schema generation, create/query/update/delete,
relations, transactions (commit, rollback, nested savepoints), Tortoise's
IntegrityError; and the engine without asyncpg installed."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from tortoise import Tortoise, fields
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model
from tortoise.transactions import in_transaction

ROOT = pathlib.Path(__file__).resolve().parent.parent


class Author(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50, unique=True)
    tags = fields.JSONField(default=list)

    class Meta:
        table = "tortoise_author"


class Book(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    price = fields.DecimalField(max_digits=8, decimal_places=2)
    author = fields.ForeignKeyField("models.Author", related_name="books")

    class Meta:
        table = "tortoise_book"


def _config(cluster):
    kw = cluster.connect_kwargs(host="tcp")
    return {
        "connections": {"default": {
            "engine": "pgwire.tortoise",
            "credentials": {"host": kw["host"], "port": kw["port"],
                            "user": kw["user"], "password": kw["password"],
                            "database": kw["database"],
                            "minsize": 1, "maxsize": 4}}},
        "apps": {"models": {"models": [__name__],
                            "default_connection": "default"}},
    }


@pytest.fixture
async def orm(cluster):
    await Tortoise.init(config=_config(cluster))
    conn = Tortoise.get_connection("default")
    await conn.execute_script(
        "DROP TABLE IF EXISTS tortoise_book, tortoise_author")
    await Tortoise.generate_schemas()
    try:
        yield conn
    finally:
        await conn.execute_script("DROP TABLE tortoise_book, tortoise_author")
        await Tortoise.close_connections()


async def test_client_is_pgwire(orm):
    import pgwire
    from pgwire.tortoise import PgwireDBClient
    assert isinstance(orm, PgwireDBClient)
    async with orm.acquire_connection() as raw:
        assert isinstance(raw, pgwire.Connection)


async def test_crud_and_relations(orm):
    ann = await Author.create(name="ann", tags=["x"])
    await Book.bulk_create([
        Book(title="one", price="9.50", author=ann),
        Book(title="two", price="12.00", author=ann)])
    assert await Book.filter(author__name="ann").count() == 2
    books = await Book.filter(price__gt=10).values_list("title", flat=True)
    assert books == ["two"]
    got = await Author.get(name="ann").prefetch_related("books")
    assert got.tags == ["x"]
    assert sorted(b.title for b in got.books) == ["one", "two"]
    n = await Book.filter(title="one").update(title="uno")
    assert n == 1
    assert await Book.filter(title="uno").exists()
    await Book.filter(title="two").delete()
    assert [b.title for b in await Book.all()] == ["uno"]
    rows = await orm.execute_query_dict(
        "SELECT name FROM tortoise_author WHERE id = $1", [ann.id])
    assert rows == [{"name": "ann"}]


async def test_transactions(orm):
    async with in_transaction():
        await Author.create(name="kept")
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await Author.create(name="rolled back")
            raise RuntimeError("roll back")
    async with in_transaction() as tx:
        await Author.create(name="outer", using_db=tx)
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await Author.create(name="inner")
                raise RuntimeError("savepoint rollback")
    names = sorted(await Author.all().values_list("name", flat=True))
    assert names == ["kept", "outer"]


async def test_errors_translated(orm):
    await Author.create(name="dup")
    with pytest.raises(IntegrityError):
        await Author.create(name="dup")
    with pytest.raises(OperationalError):
        await orm.execute_query("SELECT * FROM no_such_table")


def test_engine_without_asyncpg(cluster):
    """With asyncpg blocked, the engine loads (Tortoise's client module
    sees pgwire under asyncpg's names for its import only) and works."""
    code = textwrap.dedent("""
        import asyncio, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "asyncpg" or name.startswith("asyncpg."):
                    raise ModuleNotFoundError("blocked", name=name)
        sys.meta_path.insert(0, Block())
        from tortoise import Tortoise, fields
        from tortoise.models import Model
        class Note(Model):
            id = fields.IntField(primary_key=True)
            body = fields.TextField()
            class Meta:
                table = "tortoise_note"
        async def main(cfg):
            await Tortoise.init(config=cfg)
            conn = Tortoise.get_connection("default")
            await conn.execute_script("DROP TABLE IF EXISTS tortoise_note")
            await Tortoise.generate_schemas()
            await Note.create(body="hi")
            body = (await Note.first()).body
            await conn.execute_script("DROP TABLE tortoise_note")
            await Tortoise.close_connections()
            return body
        cfg = eval(sys.argv[1])
        cfg["apps"]["models"]["models"] = ["__main__"]
        print(asyncio.run(main(cfg)))
        assert "asyncpg" not in sys.modules, "asyncpg left in sys.modules"
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + sys.path[1:]))
    out = subprocess.run([sys.executable, "-c", code,
                          repr(_config(cluster))],
                         env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hi"
