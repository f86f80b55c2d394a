"""Arrays of extension types without binary I/O (hstore[], citext[]):
a list parameter is encoded and the result decoded to a list, on every
path a statement takes (issue 18: through SQLAlchemy's asyncpg dialect
they were refused as "expected str, got list" and returned as the raw
literal '{Ab}').  Differential: each case runs on pgwire and on asyncpg
0.32.0 against the same server, and the results must be equal."""

import asyncpg
import pytest

import pgwire

DRIVERS = (pgwire, asyncpg)

CASES = [
    ("SELECT $1::citext[]", (["Ab", None, 'q"', "x,y"],)),
    ("SELECT $1::citext[]", ([["a", "B"], ["c", None]],)),
    ("SELECT ARRAY['Ab', 'cD']::citext[]", ()),
    ("SELECT $1::citext[] @> ARRAY['ab']::citext[]", (["AB"],)),
    ("SELECT $1::hstore[]", (['"a"=>"1"', None],)),
    ("SELECT ARRAY['a=>1', 'b=>NULL']::hstore[]", ()),
    ("SELECT '{}'::citext[]", ()),
]


@pytest.fixture(scope="module")
async def extensions(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await c.execute("CREATE EXTENSION IF NOT EXISTS hstore; "
                        "CREATE EXTENSION IF NOT EXISTS citext")
        yield cluster
    finally:
        await c.close()


async def _each(cluster, fn):
    """{driver name: fn(connection) result} for pgwire and asyncpg."""
    out = {}
    for drv in DRIVERS:
        conn = await drv.connect(**cluster.connect_kwargs())
        try:
            out[drv.__name__] = await fn(conn)
        finally:
            await conn.close()
    return out


def _same(results):
    assert results["pgwire"] == results["asyncpg"], results
    return results["pgwire"]


@pytest.mark.parametrize("query, args", CASES)
async def test_fetch(extensions, query, args):
    _same(await _each(extensions, lambda c: c.fetchval(query, *args)))


@pytest.mark.parametrize("query, args", CASES)
async def test_prepared_statement(extensions, query, args):
    """The path SQLAlchemy's asyncpg dialect takes: prepare(), then the
    statement's attributes and fetch()."""
    async def run(conn):
        st = await conn.prepare(query)
        attrs = [(a.name, a.type.name, a.type.kind)
                 for a in st.get_attributes()]
        return attrs, await st.fetchval(*args)
    _same(await _each(extensions, run))


async def test_list_is_a_list(extensions):
    conn = await pgwire.connect(**extensions.connect_kwargs())
    try:
        assert await conn.fetchval("SELECT $1::citext[]", ["Ab"]) == ["Ab"]
        assert await conn.fetchval("SELECT $1::hstore[]",
                                   ['"k"=>"v"']) == ['"k"=>"v"']
    finally:
        await conn.close()


async def test_executemany_and_cursor(extensions):
    async def run(conn):
        await conn.execute("CREATE TEMP TABLE ea (ci citext[], hs hstore[])")
        await conn.executemany("INSERT INTO ea VALUES ($1, $2)", [
            (["A", "b"], ['"a"=>"1"']), (None, []), ([None], [None])])
        rows = [tuple(r) for r in await conn.fetch(
            "SELECT * FROM ea ORDER BY ci NULLS FIRST")]
        async with conn.transaction():
            cur = [tuple(r) async for r in conn.cursor(
                "SELECT ci FROM ea WHERE ci @> $1 OR ci IS NULL",
                ["a"], prefetch=1)]
        return rows, sorted(cur, key=repr)
    _same(await _each(extensions, run))


async def test_pool_shared_types(extensions):
    """The second connection of a pool takes the types from the pool's
    shared cache instead of introspecting them."""
    kw = extensions.connect_kwargs()
    async with pgwire.create_pool(min_size=2, max_size=2, **kw) as pool:
        async with pool.acquire() as a, pool.acquire() as b:
            assert await a.fetchval("SELECT $1::citext[]", ["x"]) == ["x"]
            assert await b.fetchval("SELECT $1::citext[]", ["y"]) == ["y"]
            assert await b.fetchval("SELECT ARRAY['Q']::citext[]") == ["Q"]


async def test_wrong_element_type_refused_alike(extensions):
    """A dict where the element is text (hstore has no codec here): both
    drivers refuse it with DataError before anything is sent."""
    async def run(conn):
        try:
            await conn.fetchval("SELECT $1::hstore[]", [{"a": "1"}])
        except Exception as e:
            return type(e).__name__, "expected str, got dict" in str(e)
        return None
    assert _same(await _each(extensions, run)) == ("DataError", True)
