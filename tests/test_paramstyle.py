"""paramstyle='pyformat' on the async face: %s and %(name)s converted to $n
in C (src/core/pgc_sqlscan.c, src/ext/paramstyle.c), against the real
server; and the hint a $n (numeric) connection gives for a query written
with %s."""

import pytest

import pgwire
from pgwire import _pgwire
from pgwire import exceptions as exc


@pytest.fixture
async def pconn(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             paramstyle="pyformat")
    try:
        yield c
    finally:
        await c.close()


def conversions(c):
    return _pgwire._paramstyle_conversions(c._protocol)


# ---------------------------------------------------------------------------
# the converter itself (the C function the sync face and DB-API will use)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("query, want, names", [
    ("SELECT %s, %s", "SELECT $1, $2", None),
    ("SELECT %(a)s, %(b)s, %(a)s", "SELECT $1, $2, $1", ("a", "b")),
    ("SELECT '%s' || %s", "SELECT '%s' || $1", None),
    ("SELECT 'a%%b', 10 %% 3", "SELECT 'a%b', 10 % 3", None),
    ("SELECT E'\\'%s' || %s", "SELECT E'\\'%s' || $1", None),
    ("SELECT U&'%s' || %s", "SELECT U&'%s' || $1", None),
    ('SELECT 1 AS "%s", %s', 'SELECT 1 AS "%s", $1', None),
    ("SELECT $t$ %s $t$, %s::int", "SELECT $t$ %s $t$, $1::int", None),
    ("SELECT %s -- %s\n/* /* %s */ */", "SELECT $1 -- %s\n/* /* %s */ */",
     None),
    ("SELECT %(é)s", "SELECT $1", ("é",)),
    ("SELECT 1", "SELECT 1", None),
])
def test_convert(query, want, names):
    assert _pgwire._convert_pyformat(query) == (want, names)


def test_convert_standard_strings_off():
    q = "SELECT 'a\\', %s, 'b'"
    assert _pgwire._convert_pyformat(q, True) == ("SELECT 'a\\', $1, 'b'",
                                                 None)
    # standard_conforming_strings off: \' escapes the quote
    assert _pgwire._convert_pyformat(q, False) == (q, None)


@pytest.mark.parametrize("query, pos", [
    ("SELECT %d", 8),
    ("SELECT 10 % 3", 11),
    ("SELECT 'é', %", 13),
    ("SELECT %(a", 8),
    ("SELECT %(a)d", 8),
])
def test_convert_errors(query, pos):
    with pytest.raises(exc.InterfaceError,
                       match=f"invalid placeholder at position {pos} "):
        _pgwire._convert_pyformat(query)


def test_convert_mixed():
    with pytest.raises(exc.InterfaceError, match="cannot be mixed"):
        _pgwire._convert_pyformat("SELECT %s, %(a)s")


# ---------------------------------------------------------------------------
# against the server: every quoting form around placeholders
# ---------------------------------------------------------------------------

async def test_positional(pconn):
    assert await pconn.fetchval("SELECT %s::int + %s::int", 2, 3) == 5
    row = await pconn.fetchrow("SELECT %s::text AS a, %s::int AS b", "x", 1)
    assert tuple(row) == ("x", 1)
    rows = await pconn.fetch("SELECT g FROM generate_series(1, %s) g", 3)
    assert [r[0] for r in rows] == [1, 2, 3]


async def test_quoting_forms(pconn):
    q = """SELECT '%s' AS s1, 'it''s %s' AS s2, E'\\'%s' AS s3,
                  U&'%s' AS s4, $$%s$$ AS s5, $tag$ $$ %s $tag$ AS s6,
                  1 AS "%s", %s::text AS p1, -- %s comment 50%
                  /* /* nested %s */ %s */ %s::int AS p2,
                  '100%%' AS pct, 10 %% 3 AS modulo"""
    row = await pconn.fetchrow(q, "one", 2)
    assert row["s1"] == "%s"
    assert row["s2"] == "it's %s"
    assert row["s3"] == "'%s"
    assert row["s4"] == "%s"
    assert row["s5"] == "%s"
    assert row["s6"] == " $$ %s "
    assert row["%s"] == 1
    assert row["p1"] == "one"
    assert row["p2"] == 2
    assert row["pct"] == "100%"   # %% is % everywhere, as psycopg
    assert row["modulo"] == 1


async def test_casts_and_dollar_params(pconn):
    # :: casts, and "$1" in the text is not a dollar-quote tag
    assert await pconn.fetchval("SELECT %s::int8::text", 7) == "7"
    assert await pconn.fetchval("SELECT a$b FROM (SELECT %s::int AS a$b) t",
                                4) == 4


async def test_named(pconn):
    row = await pconn.fetchrow(
        "SELECT %(a)s::int AS a, %(b)s::text AS b, %(a)s::int + 1 AS a1",
        {"a": 1, "b": "x"})
    assert tuple(row) == (1, "x", 2)
    stmt = await pconn.prepare("SELECT %(x)s::int, %(y)s::int, %(x)s::int")
    assert len(stmt.get_parameters()) == 2    # a repeated name: one $n
    assert tuple(await stmt.fetchrow({"y": 2, "x": 1})) == (1, 2, 1)


async def test_named_mapping_types(pconn):
    import collections
    import types
    q = "SELECT %(a)s::int"
    assert await pconn.fetchval(q, types.MappingProxyType({"a": 1})) == 1
    assert await pconn.fetchval(q, collections.OrderedDict(a=2)) == 2

    class M(collections.abc.Mapping):
        def __getitem__(self, k):
            if k == "a":
                return 3
            raise KeyError(k)

        def __iter__(self):
            return iter(["a"])

        def __len__(self):
            return 1

    assert await pconn.fetchval(q, M()) == 3


async def test_named_extra_keys_ignored(pconn):
    # as psycopg: the mapping may hold more than the query uses
    assert await pconn.fetchval("SELECT %(a)s::int",
                                {"a": 1, "unused": 2}) == 1


async def test_named_errors(pconn):
    q = "SELECT %(a)s::int, %(b)s::int, %(c)s::int"
    with pytest.raises(exc.InterfaceError,
                       match="arguments missing from the mapping: b, c"):
        await pconn.fetch(q, {"a": 1})
    with pytest.raises(exc.InterfaceError, match="one mapping"):
        await pconn.fetch(q, 1, 2, 3)
    with pytest.raises(exc.InterfaceError, match="one mapping.*list"):
        await pconn.fetch(q, [1, 2, 3])
    with pytest.raises(exc.InterfaceError, match="one mapping"):
        await pconn.fetch(q)
    # the connection is still usable
    assert await pconn.fetchval(q, {"a": 1, "b": 2, "c": 3}) == 1


async def test_errors(pconn):
    with pytest.raises(exc.InterfaceError, match="cannot be mixed"):
        await pconn.fetch("SELECT %s, %(a)s", 1)
    with pytest.raises(exc.InterfaceError,
                       match=r"invalid placeholder at position 11 .*"
                             r"'% 3'"):
        await pconn.fetchval("SELECT 10 % 3", 1)
    with pytest.raises(exc.InterfaceError, match="expects 2 arguments"):
        await pconn.fetch("SELECT %s::int, %s::int", 1)
    with pytest.raises(exc.InterfaceError, match="expects 1 argument"):
        await pconn.fetch("SELECT %s::int", 1, 2)
    assert await pconn.fetchval("SELECT 1") == 1


async def test_execute(pconn):
    await pconn.execute("CREATE TEMP TABLE pf (a int, b text)")
    assert await pconn.execute("INSERT INTO pf VALUES (%s, %s)",
                               1, "x") == "INSERT 0 1"
    assert await pconn.execute(
        "INSERT INTO pf VALUES (%(a)s, %(b)s)",
        {"a": 2, "b": "y"}) == "INSERT 0 1"
    # without arguments: the simple query protocol, text sent as written
    # (psycopg sends a query without parameters unchanged too): %% stays
    await pconn.execute("INSERT INTO pf VALUES (3, '%%'); "
                        "INSERT INTO pf VALUES (4, '%s')")
    rows = await pconn.fetch("SELECT b FROM pf WHERE a > %s ORDER BY a", 2)
    assert [r[0] for r in rows] == ["%%", "%s"]


async def test_executemany_fetchmany(pconn):
    await pconn.execute("CREATE TEMP TABLE pfm (a int, b text)")
    await pconn.executemany("INSERT INTO pfm VALUES (%s, %s)",
                            [(1, "a"), (2, "b")])
    await pconn.executemany("INSERT INTO pfm VALUES (%(a)s, %(b)s)",
                            [{"a": 3, "b": "c"}, {"b": "d", "a": 4}])
    assert await pconn.fetchval("SELECT string_agg(b, '' ORDER BY a) "
                                "FROM pfm") == "abcd"
    rows = await pconn.fetchmany("SELECT %(x)s::int * 10",
                                 [{"x": 1}, {"x": 2}])
    assert [r[0] for r in rows] == [10, 20]
    rows = await pconn.fetchmany("SELECT %s::int * 10", [(3,), (4,)])
    assert [r[0] for r in rows] == [30, 40]
    with pytest.raises(exc.InterfaceError, match="missing from the mapping"):
        await pconn.executemany("INSERT INTO pfm VALUES (%(a)s, %(b)s)",
                                [{"a": 5}])
    assert await pconn.fetchval("SELECT count(*) FROM pfm") == 4


async def test_prepare_and_cursor(pconn):
    stmt = await pconn.prepare("SELECT %s::int + 1")
    assert await stmt.fetchval(1) == 2
    assert stmt.get_query() == "SELECT %s::int + 1"   # as written
    stmt = await pconn.prepare("SELECT g FROM generate_series(1, %(n)s) g")
    await stmt.executemany([{"n": 1}])
    async with pconn.transaction():
        got = [r[0] async for r in stmt.cursor({"n": 3})]
        assert got == [1, 2, 3]
        got = [r[0] async for r in pconn.cursor(
            "SELECT g FROM generate_series(1, %s) g", 4, prefetch=2)]
        assert got == [1, 2, 3, 4]
        cur = await pconn.cursor(
            "SELECT g FROM generate_series(%(a)s::int, %(b)s::int) g",
            {"a": 5, "b": 9})
        assert [r[0] for r in await cur.fetch(2)] == [5, 6]


async def test_cached_statement_not_reconverted(pconn):
    q = "SELECT %s::int * 2 /* cache probe */"
    before = conversions(pconn)
    for i in range(5):
        assert await pconn.fetchval(q, i) == 2 * i
    assert conversions(pconn) == before + 1
    # a named query: the same
    before = conversions(pconn)
    for i in range(3):
        assert await pconn.fetchval("SELECT %(v)s::int /* probe 2 */",
                                    {"v": i}) == i
    assert conversions(pconn) == before + 1


async def test_uncached_statements(cluster):
    # statement_cache_size=0: unnamed statements, converted on each
    # Parse (the unnamed-statement cache still keeps what Describe said)
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             paramstyle="pyformat", statement_cache_size=0)
    try:
        for i in range(3):
            assert await c.fetchval("SELECT %(v)s::int", {"v": i}) == i
        assert conversions(c) >= 1
    finally:
        await c.close()


async def test_standard_conforming_strings_off(pconn):
    await pconn.execute("SET standard_conforming_strings = off")
    try:
        # with scs off, \' inside '...' escapes the quote
        assert await pconn.fetchval("SELECT 'a\\' %s' || %s::text",
                                    "b") == "a' %sb"
    finally:
        await pconn.execute("SET standard_conforming_strings = on")
    assert await pconn.fetchval("SELECT 'a\\' || %s::text", "b") == "a\\b"


async def test_non_ascii(pconn):
    assert await pconn.fetchval("SELECT 'é%%' || %(ü)s::text",
                                {"ü": "ß"}) == "é%ß"


async def test_numeric_connection_unchanged(conn):
    # the default: $n, and % is an operator
    assert await conn.fetchval("SELECT $1::int % 3", 10) == 1
    assert await conn.fetchval("SELECT '%s %%'") == "%s %%"
    assert conversions(conn) == 0


async def test_numeric_connection_hint(conn):
    with pytest.raises(exc.PostgresSyntaxError) as ei:
        await conn.fetch("SELECT * FROM pg_class WHERE relname = %s", "x")
    assert "paramstyle='pyformat'" in ei.value.hint
    assert "paramstyle='pyformat'" in str(ei.value)
    with pytest.raises(exc.PostgresSyntaxError) as ei:
        await conn.fetchrow("SELECT %(a)s", {"a": 1})
    assert "paramstyle='pyformat'" in ei.value.hint
    # executemany
    with pytest.raises(exc.PostgresError) as ei:
        await conn.executemany("SELECT %s", [(1,)])
    assert "paramstyle='pyformat'" in str(ei.value) + \
        "".join(getattr(ei.value, "__notes__", []))
    # an error with no %s placeholder: no hint
    with pytest.raises(exc.PostgresSyntaxError) as ei:
        await conn.fetch("SELECT FROM WHERE")
    assert "paramstyle" not in str(ei.value)
    with pytest.raises(exc.PostgresSyntaxError) as ei:
        await conn.fetch("SELECT '%s' FROM WHERE")
    assert "paramstyle" not in str(ei.value)


async def test_invalid_option(cluster):
    with pytest.raises(ValueError, match="paramstyle"):
        await pgwire.connect(**cluster.connect_kwargs(), paramstyle="qmark")


async def test_pool_option(cluster):
    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=2,
                                  paramstyle="pyformat") as pool:
        assert await pool.fetchval("SELECT %s::int", 5) == 5
        assert await pool.fetchval("SELECT %(a)s::int", {"a": 6}) == 6
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT %s::text", "x") == "x"
        assert await pool.execute("SELECT %s::int", 1) == "SELECT 1"
