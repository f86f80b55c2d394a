"""Non-builtin types end to end: introspection on first use, composites,
enums, domains, ranges, multiranges, arrays of them, extension types."""

import datetime
import decimal

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire.types import Range


@pytest.fixture
async def conn(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    await c.execute("""
        DROP SCHEMA IF EXISTS ut CASCADE;
        CREATE SCHEMA ut;
        CREATE TYPE ut.mood AS ENUM ('sad', 'ok', 'happy');
        CREATE DOMAIN ut.posint AS int CHECK (VALUE > 0);
        CREATE TYPE ut.inner_t AS (x int, y text);
        CREATE TYPE ut.outer_t AS (i ut.inner_t, tags text[], m ut.mood,
                                   n numeric);
        CREATE TYPE ut.floatrange AS RANGE (subtype = float8);
    """)
    try:
        yield c
    finally:
        await c.execute("DROP SCHEMA ut CASCADE")
        await c.close()


async def test_enum(conn):
    assert await conn.fetchval("SELECT 'ok'::ut.mood") == "ok"
    assert await conn.fetchval("SELECT $1::ut.mood", "happy") == "happy"
    assert await conn.fetchval("SELECT ARRAY['sad','ok']::ut.mood[]") == \
        ["sad", "ok"]
    with pytest.raises(exc.InvalidTextRepresentationError):
        await conn.fetchval("SELECT $1::ut.mood", "angry")


async def test_domain(conn):
    assert await conn.fetchval("SELECT 5::ut.posint") == 5
    assert await conn.fetchval("SELECT $1::ut.posint + 1", 41) == 42
    with pytest.raises(exc.CheckViolationError):
        await conn.fetchval("SELECT $1::ut.posint", -1)


async def test_composite(conn):
    r = await conn.fetchval(
        "SELECT ROW(ROW(1, 'a')::ut.inner_t, ARRAY['t1', NULL], 'ok', "
        "1.50)::ut.outer_t")
    assert isinstance(r, pgwire.Record)
    assert r["i"]["x"] == 1 and r["i"]["y"] == "a"
    assert r["tags"] == ["t1", None] and r["m"] == "ok"
    assert r["n"] == decimal.Decimal("1.50")
    # encode from a tuple, a dict and a Record
    back = await conn.fetchval("SELECT $1::ut.outer_t", r)
    assert back == r
    v = await conn.fetchval("SELECT ($1::ut.inner_t).y", (2, "b"))
    assert v == "b"
    v = await conn.fetchval("SELECT ($1::ut.inner_t).x", {"x": 7})
    assert v == 7


async def test_composite_of_table_row(conn):
    await conn.execute("CREATE TABLE ut.person (id int, name text)")
    await conn.execute("INSERT INTO ut.person VALUES (1, 'ann')")
    r = await conn.fetchval("SELECT p FROM ut.person p")
    assert tuple(r) == (1, "ann")


async def test_anonymous_record(conn):
    r = await conn.fetchval("SELECT ROW(1, 'x', NULL::date)")
    assert tuple(r) == (1, "x", None)


async def test_ranges(conn):
    r = await conn.fetchval("SELECT int4range(1, 5)")
    assert r == Range(1, 5) and repr(r) == "<Range [1, 5)>"
    assert await conn.fetchval("SELECT 'empty'::int4range") == \
        Range(empty=True)
    r = await conn.fetchval("SELECT $1::tstzrange", Range(
        datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), None))
    assert r.upper_inf
    r = await conn.fetchval("SELECT ut.floatrange(1.5, 2.5, '[]')")
    assert (r.lower, r.upper, r.upper_inc) == (1.5, 2.5, True)
    assert await conn.fetchval("SELECT $1::int8range @> 3::int8", (1, 10))


async def test_multirange(conn):
    mr = await conn.fetchval("SELECT '{[1,3), [5,7)}'::int4multirange")
    assert mr == [Range(1, 3), Range(5, 7)]
    assert await conn.fetchval("SELECT $1::int4multirange", mr) == mr


async def test_array_of_composites(conn):
    v = await conn.fetchval(
        "SELECT ARRAY[ROW(1,'a')::ut.inner_t, NULL, ROW(2,'b')::ut.inner_t]")
    assert [tuple(x) if x else x for x in v] == [(1, "a"), None, (2, "b")]


async def test_extension_type_as_text(conn):
    await conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
    try:
        assert await conn.fetchval("SELECT 'AbC'::citext") == "AbC"
        assert await conn.fetchval("SELECT $1::citext = 'abc'", "ABC")
    finally:
        await conn.execute("DROP EXTENSION citext")


async def test_introspection_once_per_connection(conn):
    queries = []
    conn.add_query_logger = None  # not implemented yet; count via hook
    orig = conn._introspect_types
    calls = []

    async def counting(oids):
        calls.append(list(oids))
        return await orig(oids)

    conn._introspect_types = counting
    for _ in range(3):
        await conn.fetchval("SELECT 'sad'::ut.mood")
    await conn.fetchval("SELECT 'sad'::ut.mood, 1")  # new statement
    assert len(calls) == 1
    # builtin types and their arrays never introspect
    await conn.fetchval("SELECT ARRAY[1]::int8[], now(), '1.2.3.4'::inet")
    assert len(calls) == 1
    del queries


async def test_composite_layout_change(conn):
    await conn.execute("CREATE TYPE ut.c2 AS (a int)")
    assert tuple(await conn.fetchval("SELECT ROW(1)::ut.c2")) == (1,)
    await conn.execute("ALTER TYPE ut.c2 ADD ATTRIBUTE b text")
    try:
        v = await conn.fetchval("SELECT ROW(1, 'x')::ut.c2")
    except exc.OutdatedSchemaCacheError:
        # raised once, caches dropped: the next call works
        v = await conn.fetchval("SELECT ROW(1, 'x')::ut.c2")
    assert tuple(v) == (1, "x")


async def test_introspection_turns_jit_off_without_leaking(conn):
    await conn.execute("SET jit = on")
    assert await conn.fetchval("SELECT 'ok'::ut.mood") == "ok"
    assert await conn.fetchval("SHOW jit") == "on"
    assert not conn.is_in_transaction()
    # inside a transaction: a savepoint, and the transaction goes on
    await conn.execute("BEGIN")
    await conn.execute("CREATE TYPE ut.t2 AS ENUM ('x')")
    assert await conn.fetchval("SELECT 'x'::ut.t2") == "x"
    assert conn.is_in_transaction()
    assert await conn.fetchval("SHOW jit") == "on"
    await conn.execute("ROLLBACK")


async def test_dropped_and_recreated_type(conn):
    await conn.execute("CREATE TYPE ut.color AS ENUM ('red', 'blue'); "
                       "CREATE TABLE ut.tbl (c ut.color); "
                       "INSERT INTO ut.tbl VALUES ('red')")
    q = "SELECT c FROM ut.tbl"
    assert await conn.fetchval(q) == "red"
    await conn.execute("DROP TABLE ut.tbl; DROP TYPE ut.color; "
                       "CREATE TYPE ut.color AS (r int, g int); "
                       "CREATE TABLE ut.tbl (c ut.color); "
                       "INSERT INTO ut.tbl VALUES (ROW(1, 2))")
    # the same cached query, now over a new type of the same name: the
    # server refuses the old plan, pgwire re-prepares, re-introspects and
    # decodes with the new codec
    v = await conn.fetchval(q)
    assert tuple(v) == (1, 2)
