"""Row factories (pgwire.rows, the RowMaker of src/ext/rows.c) against the
real server: every type family and NULLs through each factory, duplicate
column names, composites, classes whose fields do not match, user
callables (resolved once per description), row_factory= on every entry
point, exclusive with record_class; and the C makers' reference counts."""

import collections
import dataclasses
import datetime
import decimal
import gc
import ipaddress
import sys
import uuid

import attrs
import msgspec
import pytest

import pgwire
from pgwire import rows
from pgwire.rows import (class_row, dict_row, namedtuple_row, scalar_row,
                         struct_row, tuple_row)

# One column of each type family, and a row of NULLs of the same types.
FAMILIES = """
SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.5::float4 AS f4,
       2.5::float8 AS f8, 1.25::numeric AS num, true AS b, 'tx'::text AS t,
       'vc'::varchar AS vc, 'ch'::char(2) AS ch, '\\x0102'::bytea AS ba,
       '2024-01-02'::date AS d, '2024-01-02 03:04:05'::timestamp AS ts,
       '2024-01-02 03:04:05+00'::timestamptz AS tstz,
       '03:04:05'::time AS tm, '1 day 2 hours'::interval AS iv,
       '00000000-0000-0000-0000-000000000001'::uuid AS u,
       '10.0.0.1'::inet AS ip, '{"a": 1}'::json AS js, '{"b": 2}'::jsonb AS jb,
       ARRAY[1, NULL, 3]::int4[] AS arr, ARRAY['x', 'y'] AS tarr,
       int4range(1, 5) AS rng, ROW(1, 'r')::rows_pair AS comp,
       'ok'::rows_mood AS en, '(1,2)'::point AS pt, B'101' AS bits
"""
NULLS = """
SELECT NULL::int2 AS i2, NULL::int4 AS i4, NULL::int8 AS i8,
       NULL::float4 AS f4, NULL::float8 AS f8, NULL::numeric AS num,
       NULL::bool AS b, NULL::text AS t, NULL::varchar AS vc,
       NULL::char(2) AS ch, NULL::bytea AS ba, NULL::date AS d,
       NULL::timestamp AS ts, NULL::timestamptz AS tstz, NULL::time AS tm,
       NULL::interval AS iv, NULL::uuid AS u, NULL::inet AS ip,
       NULL::json AS js, NULL::jsonb AS jb, NULL::int4[] AS arr,
       NULL::text[] AS tarr, NULL::int4range AS rng,
       NULL::rows_pair AS comp, NULL::rows_mood AS en, NULL::point AS pt,
       NULL::bit(3) AS bits
"""
NAMES = ("i2", "i4", "i8", "f4", "f8", "num", "b", "t", "vc", "ch", "ba",
         "d", "ts", "tstz", "tm", "iv", "u", "ip", "js", "jb", "arr", "tarr",
         "rng", "comp", "en", "pt", "bits")


@pytest.fixture
async def tconn(conn):
    await conn.execute("CREATE TYPE rows_pair AS (n int, s text); "
                       "CREATE TYPE rows_mood AS ENUM ('sad', 'ok')")
    try:
        yield conn
    finally:
        await conn.execute("DROP TYPE rows_pair; DROP TYPE rows_mood")


# The columns of FAMILIES/NULLS, once for the dataclass and the
# msgspec.Struct the factories build.
ALL_TYPES_FIELDS = [
    ("i2", int), ("i4", int), ("i8", int), ("f4", float), ("f8", float),
    ("num", decimal.Decimal), ("b", bool), ("t", str), ("vc", str),
    ("ch", str), ("ba", bytes), ("d", datetime.date),
    ("ts", datetime.datetime), ("tstz", datetime.datetime),
    ("tm", datetime.time), ("iv", datetime.timedelta), ("u", uuid.UUID),
    ("ip", object), ("js", str), ("jb", str), ("arr", list), ("tarr", list),
    ("rng", object), ("comp", object), ("en", str), ("pt", object),
    ("bits", object),
]
AllTypes = dataclasses.make_dataclass("AllTypes", ALL_TYPES_FIELDS)
AllTypesStruct = msgspec.defstruct("AllTypesStruct", ALL_TYPES_FIELDS)


@pytest.mark.parametrize("query", [FAMILIES, NULLS], ids=["values", "nulls"])
async def test_every_factory_over_every_type_family(tconn, query):
    rec = await tconn.fetchrow(query)
    values = tuple(rec.values())
    assert tuple(rec.keys()) == NAMES
    if query is FAMILIES:
        assert values[0] == 1 and values[16] == uuid.UUID(int=1)
        assert values[17] == ipaddress.ip_address("10.0.0.1")
        assert values[23] == (1, "r")
    else:
        assert values == (None,) * len(NAMES)

    assert await tconn.fetchrow(query, row_factory=tuple_row) == values
    assert await tconn.fetchrow(query, row_factory=dict_row) == \
        dict(zip(NAMES, values))
    nt = await tconn.fetchrow(query, row_factory=namedtuple_row)
    assert tuple(nt) == values and nt._fields == NAMES
    assert nt.comp == values[23]
    assert await tconn.fetchrow(query, row_factory=scalar_row) == values[0]
    assert await tconn.fetchrow(query, row_factory=class_row(AllTypes)) == \
        AllTypes(*values)
    st = await tconn.fetchrow(query, row_factory=struct_row(AllTypesStruct))
    assert st == AllTypesStruct(*values)


async def test_wide_rows(conn):
    # more columns than the makers' stack buffer (32)
    cols = ", ".join(f"{i} AS c{i}" for i in range(100))
    want = {f"c{i}": i for i in range(100)}
    assert await conn.fetchrow(f"SELECT {cols}", row_factory=dict_row) == \
        want
    nt = await conn.fetchrow(f"SELECT {cols}", row_factory=namedtuple_row)
    assert tuple(nt) == tuple(range(100))
    wide = msgspec.defstruct("Wide", [f"c{i}" for i in range(100)])
    assert await conn.fetchrow(f"SELECT {cols}",
                               row_factory=struct_row(wide)) == \
        wide(*range(100))


async def test_decode_error_in_a_factory_row(cluster):
    def loads(s):
        if s == "[2]":
            raise ValueError("bad doc")
        return s
    conn = await pgwire.connect(**cluster.connect_kwargs(), json_decode=True,
                                json_loads=loads, row_factory=dict_row)
    try:
        q = ("SELECT g AS n, 'x' || g AS s, ('[' || g || ']')::jsonb AS j "
             "FROM generate_series(1, 3) g")
        with pytest.raises(ValueError, match="bad doc"):
            await conn.fetch(q)
        with pytest.raises(ValueError, match="bad doc"):
            await conn.fetch(q, row_factory=tuple_row)
        assert await conn.fetch(q + " WHERE g <> 2") == [
            {"n": 1, "s": "x1", "j": "[1]"}, {"n": 3, "s": "x3", "j": "[3]"}]
    finally:
        await conn.close()


async def test_composite_values_stay_records(tconn):
    row = await tconn.fetchrow(
        "SELECT ROW(1, 'a')::rows_pair AS p, "
        "ARRAY[ROW(2, 'b')::rows_pair] AS ps", row_factory=dict_row)
    assert isinstance(row["p"], pgwire.Record)
    assert row["p"]["s"] == "a" and row["ps"][0]["n"] == 2


async def test_duplicate_column_names(conn):
    q = "SELECT 1 AS a, 2 AS b, 3 AS a"
    # dict_row: the last column of a name wins (as dict(zip()), psycopg)
    assert await conn.fetchrow(q, row_factory=dict_row) == {"a": 3, "b": 2}
    assert await conn.fetchrow(q, row_factory=tuple_row) == (1, 2, 3)
    nt = await conn.fetchrow(q, row_factory=namedtuple_row)
    assert nt._fields == ("a", "b", "_2") and tuple(nt) == (1, 2, 3)

    @dataclasses.dataclass
    class AB:
        a: int
        b: int
    with pytest.raises(TypeError, match="duplicate column names a"):
        await conn.fetchrow(q, row_factory=class_row(AB))


async def test_namedtuple_row_names_and_class_cache(conn):
    r1 = await conn.fetchrow("SELECT 1 AS x, 2 AS \"?column?\", 3 AS _y",
                             row_factory=namedtuple_row)
    assert r1._fields == ("x", "_1", "_2")
    r2 = await conn.fetchrow("SELECT 5 AS x, 6 AS \"?column?\", 7 AS _y",
                             row_factory=namedtuple_row)
    assert type(r1) is type(r2)  # one class per shape


async def test_class_row_missing_and_extra_fields(conn):
    @dataclasses.dataclass
    class Person:
        id: int
        name: str
        email: str = "none"

    rows_ = await conn.fetch("SELECT 1 AS id, 'ann' AS name",
                             row_factory=class_row(Person))
    assert rows_ == [Person(1, "ann")]  # email from its default
    with pytest.raises(TypeError) as ei:
        await conn.fetch("SELECT 1 AS id", row_factory=class_row(Person))
    assert "class_row(" in str(ei.value) and "missing" in str(ei.value)
    assert "name" in str(ei.value)
    with pytest.raises(TypeError) as ei:
        await conn.fetch("SELECT 1 AS id, 'a' AS name, 2 AS age",
                         row_factory=class_row(Person))
    assert "extra columns" in str(ei.value) and "age" in str(ei.value)
    # the connection is still usable
    assert await conn.fetchval("SELECT 7") == 7


async def test_class_row_kinds(conn):
    @dataclasses.dataclass(frozen=True, slots=True)
    class Frozen:
        a: int
        b: str

    @dataclasses.dataclass
    class Post:
        a: int
        b: str

        def __post_init__(self):
            self.b = self.b.upper()

    @attrs.define
    class AttrsRow:
        a: int
        b: str

    class Plain:
        def __init__(self, a, b, **extra):
            self.a, self.b, self.extra = a, b, extra

    q = "SELECT 1 AS a, 'x' AS b"
    # a plain dataclass is built in C without running __init__
    assert class_row(Frozen)(("a", "b")).kind == "attrs"
    assert class_row(Post)(("a", "b")).kind == "kwcall"
    assert class_row(Frozen) is class_row(Frozen)
    assert await conn.fetchrow(q, row_factory=class_row(Frozen)) == \
        Frozen(1, "x")
    assert (await conn.fetchrow(q, row_factory=class_row(Post))).b == "X"
    assert await conn.fetchrow(q, row_factory=class_row(AttrsRow)) == \
        AttrsRow(1, "x")
    p = await conn.fetchrow("SELECT 1 AS a, 'x' AS b, 3 AS c",
                            row_factory=class_row(Plain))
    assert (p.a, p.b, p.extra) == (1, "x", {"c": 3})
    with pytest.raises(TypeError, match="takes a class"):
        class_row(dict_row)


async def test_struct_row(conn):
    class Item(msgspec.Struct, frozen=True):
        id: int
        tags: list
        note: str = ""

    assert class_row(Item) is struct_row(Item)
    # columns in field order: positional (msgspec's fastest call)
    assert struct_row(Item)(("id", "tags")).kind == "args"
    assert struct_row(Item)(("tags", "id")).kind == "kwcall"

    class KwOnly(msgspec.Struct, kw_only=True):
        id: int
    assert struct_row(KwOnly)(("id",)).kind == "kwcall"
    assert await conn.fetchrow("SELECT 5 AS id",
                               row_factory=struct_row(KwOnly)) == KwOnly(id=5)
    got = await conn.fetch("SELECT i AS id, ARRAY['t' || i] AS tags "
                           "FROM generate_series(1, 3) i",
                           row_factory=struct_row(Item))
    assert got == [Item(i, ["t%d" % i]) for i in (1, 2, 3)]
    with pytest.raises(TypeError, match="missing.*id"):
        await conn.fetch("SELECT 1 AS note", row_factory=struct_row(Item))
    with pytest.raises(TypeError, match="msgspec.Struct subclass"):
        struct_row(int)


async def test_scalar_row(conn):
    assert await conn.fetch("SELECT g, g * 2 FROM generate_series(1, 3) g",
                            row_factory=scalar_row) == [1, 2, 3]
    with pytest.raises(TypeError, match="at least one column"):
        await conn.fetch("SELECT", row_factory=scalar_row)


async def test_user_factory_called_once_per_description(conn):
    calls = []

    def upper(names):
        calls.append(names)
        keys = [n.upper() for n in names]
        return lambda values: dict(zip(keys, values))

    for _ in range(3):
        got = await conn.fetch("SELECT 1 AS a, 2 AS b", row_factory=upper)
        assert got == [{"A": 1, "B": 2}]
    assert calls == [("a", "b")]
    stmt = await conn.prepare("SELECT $1::int AS v", row_factory=upper)
    for i in range(3):
        assert await stmt.fetchrow(i) == {"V": i}
    assert calls == [("a", "b"), ("v",)]


async def test_user_factory_again_after_the_description_changes(conn):
    calls = []

    def fac(names):
        calls.append(names)
        return tuple

    await conn.execute("CREATE TEMP TABLE rd (a int)")
    assert await conn.fetch("SELECT * FROM rd", row_factory=fac) == []
    await conn.execute("INSERT INTO rd VALUES (1)")
    assert await conn.fetch("SELECT * FROM rd", row_factory=fac) == [(1,)]
    await conn.execute("ALTER TABLE rd ADD COLUMN b text DEFAULT 'x'")
    assert await conn.fetch("SELECT * FROM rd", row_factory=fac) == \
        [(1, "x")]
    assert calls == [("a",), ("a", "b")]


async def test_bad_factories(conn):
    with pytest.raises(TypeError, match="class_row"):
        await conn.fetch("SELECT 1", row_factory=dict)
    with pytest.raises(TypeError, match="must be a callable"):
        await conn.fetch("SELECT 1", row_factory=42)
    with pytest.raises(TypeError, match="expected a row maker"):
        await conn.fetch("SELECT 1", row_factory=lambda names: 5)
    with pytest.raises(ZeroDivisionError):
        await conn.fetch("SELECT 1", row_factory=lambda names: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        await conn.fetch("SELECT 1",
                         row_factory=lambda names: lambda values: 1 / 0)
    assert await conn.fetchval("SELECT 2") == 2
    # fetchval takes no row_factory
    with pytest.raises(TypeError, match="row_factory"):
        await conn.fetchval("SELECT 1", row_factory=dict_row)


async def test_record_class_and_row_factory_are_exclusive(conn, cluster):
    class MyRecord(pgwire.Record):
        pass

    def check(excinfo):
        assert "record_class" in str(excinfo.value)
        assert "row_factory" in str(excinfo.value)

    for call in (
            lambda: conn.fetch("SELECT 1", record_class=MyRecord,
                               row_factory=dict_row),
            lambda: conn.fetchrow("SELECT 1", record_class=MyRecord,
                                  row_factory=dict_row),
            lambda: conn.fetchmany("SELECT $1::int", [(1,)],
                                   record_class=MyRecord,
                                   row_factory=dict_row),
            lambda: conn.prepare("SELECT 1", record_class=MyRecord,
                                 row_factory=dict_row),
            lambda: pgwire.connect(**cluster.connect_kwargs(),
                                   record_class=MyRecord,
                                   row_factory=dict_row)):
        with pytest.raises(TypeError) as ei:
            await call()
        check(ei)
    with pytest.raises(TypeError) as ei:
        conn.cursor("SELECT 1", record_class=MyRecord, row_factory=dict_row)
    check(ei)
    with pytest.raises(TypeError) as ei:
        pgwire.create_pool(**cluster.connect_kwargs(),
                           record_class=MyRecord, row_factory=dict_row)
    check(ei)


async def test_entry_points(conn):
    q = "SELECT g AS n FROM generate_series(1, 3) g"
    assert await conn.fetch(q, row_factory=dict_row) == \
        [{"n": 1}, {"n": 2}, {"n": 3}]
    assert await conn.fetchmany("SELECT $1::int AS n", [(1,), (2,)],
                                row_factory=tuple_row) == [(1,), (2,)]
    stmt = await conn.prepare(q, row_factory=tuple_row)
    assert await stmt.fetch() == [(1,), (2,), (3,)]
    assert await stmt.fetchrow() == (1,)
    assert await stmt.fetchval() == 1
    assert await stmt.fetch(row_factory=dict_row) == \
        [{"n": 1}, {"n": 2}, {"n": 3}]
    sel = await conn.prepare("SELECT $1::int AS n", row_factory=dict_row)
    assert await sel.fetchmany([(4,), (5,)]) == [{"n": 4}, {"n": 5}]
    assert await sel.fetchmany([(4,)], row_factory=scalar_row) == [4]
    async with conn.transaction():
        got = [r async for r in conn.cursor(q, row_factory=dict_row,
                                            prefetch=2)]
        assert got == [{"n": 1}, {"n": 2}, {"n": 3}]
        cur = await conn.cursor(q, row_factory=tuple_row)
        assert await cur.fetch(2) == [(1,), (2,)]
        assert await cur.fetchrow() == (3,)
        got = [r async for r in stmt.cursor(row_factory=scalar_row)]
        assert got == [1, 2, 3]
        got = [r async for r in stmt.cursor()]
        assert got == [(1,), (2,), (3,)]
    # the same statement, Record again
    assert isinstance((await conn.fetch(q))[0], pgwire.Record)


async def test_connection_default_row_factory(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(),
                                row_factory=dict_row)
    try:
        assert await conn.fetch("SELECT 1 AS a") == [{"a": 1}]
        assert await conn.fetchrow("SELECT 2 AS a") == {"a": 2}
        assert await conn.fetchval("SELECT 3 AS a") == 3
        assert await conn.fetchval("SELECT 3 AS a, 4 AS b", column="b") == 4
        rec = await conn.fetchrow("SELECT 4 AS a", record_class=pgwire.Record)
        assert isinstance(rec, pgwire.Record)
        assert await conn.fetchrow("SELECT 5 AS a", row_factory=tuple_row) \
            == (5,)
        stmt = await conn.prepare("SELECT $1::int AS a")
        assert await stmt.fetchrow(6) == {"a": 6}
        assert await stmt.fetchval(6) == 6
        assert isinstance(await stmt.explain(1), list)
        # executemany and the internal catalog queries are unaffected
        await conn.execute("CREATE TEMP TABLE cd (a int, j jsonb)")
        await conn.executemany("INSERT INTO cd VALUES ($1, $2)",
                               [(1, "{}"), (2, "[]")])
        await conn.execute("CREATE TYPE cd_mood AS ENUM ('a', 'b')")
        assert await conn.fetchval("SELECT 'a'::cd_mood") == "a"
        await conn.set_type_codec("cd_mood", encoder=str, decoder=str.upper)
        assert await conn.fetchrow("SELECT 'b'::cd_mood AS m") == {"m": "B"}
        async with conn.transaction():
            got = [r async for r in conn.cursor("SELECT a FROM cd ORDER BY a")]
        assert got == [{"a": 1}, {"a": 2}]
        import io
        buf = io.BytesIO()
        await conn.copy_from_query("SELECT a FROM cd WHERE a = $1", 1,
                                   output=buf)
        assert buf.getvalue() == b"1\n"
    finally:
        await conn.close()


async def test_statement_cache_off(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(),
                                statement_cache_size=0)
    try:
        for i in range(3):
            assert await conn.fetchrow("SELECT $1::int AS v", i,
                                       row_factory=dict_row) == {"v": i}
        stmt = await conn.prepare("SELECT $1::int AS v",
                                  row_factory=namedtuple_row)
        assert (await stmt.fetchrow(9)).v == 9
    finally:
        await conn.close()


async def test_pool_row_factory(cluster):
    async with pgwire.create_pool(**cluster.connect_kwargs(), min_size=1,
                                  max_size=1, row_factory=dict_row) as pool:
        assert await pool.fetch("SELECT 1 AS a") == [{"a": 1}]
        assert await pool.fetchrow("SELECT 1 AS a", row_factory=tuple_row) \
            == (1,)
        assert await pool.fetchmany("SELECT $1::int AS a", [(2,)],
                                    row_factory=scalar_row) == [2]
        assert await pool.fetchval("SELECT 3") == 3
        async with pool.acquire() as c:
            assert await c.fetchrow("SELECT 4 AS a") == {"a": 4}


# -- the C row makers --------------------------------------------------------

def test_row_maker_direct():
    Row = collections.namedtuple("Row", "a b")
    assert rows.RowMaker("dict", None, ("a", "b"))([1, 2]) == {"a": 1, "b": 2}
    assert rows.RowMaker("tuple")((1, 2)) == (1, 2)
    assert rows.RowMaker("namedtuple", Row, ("a", "b"))((1, 2)) == Row(1, 2)
    with pytest.raises(ValueError, match="for 2 columns given 3 values"):
        rows.RowMaker("dict", None, ("a", "b"))((1, 2, 3))
    assert rows.RowMaker("args", max)((3, 9, 4)) == 9
    with pytest.raises(ValueError, match="kind must be one of"):
        rows.RowMaker("list")
    with pytest.raises(TypeError, match="tuple subclass"):
        rows.RowMaker("namedtuple", dict, ("a",))
    with pytest.raises(TypeError, match="object.__new__"):
        rows.RowMaker("attrs", int, ("a",))
    with pytest.raises(TypeError, match="names must be a tuple"):
        rows.RowMaker("dict", None, ["a"])
    r = rows.RowMaker("dict", None, ("a",))
    assert repr(r) == "<pgwire.RowMaker dict ('a',)>"
    assert (r.kind, r.names, r.obj) == ("dict", ("a",), None)


@dataclasses.dataclass
class _Leak:
    a: object
    b: object


class _LeakStruct(msgspec.Struct):
    a: object
    b: object


def test_row_makers_keep_reference_counts():
    """Each maker, run many times on the same value objects (and through
    its error path), leaves their reference counts and the interpreter's
    allocated blocks as they were."""
    a, b = object(), ["x"]
    makers = [dict_row(("a", "b")), tuple_row(("a", "b")),
              namedtuple_row(("a", "b")), scalar_row(("a", "b")),
              class_row(_Leak)(("a", "b")),
              struct_row(_LeakStruct)(("b", "a")),
              struct_row(_LeakStruct)(("a", "b")),
              rows.RowMaker("call", lambda v: v[0], ("a", "b"))]
    assert makers[4].kind == "attrs"

    def run(n):
        for _ in range(n):
            for m in makers:
                m((a, b))
            with pytest.raises(ValueError):
                makers[0]((a,))
            with pytest.raises(ValueError):
                makers[4]((a, b, a))
            with pytest.raises(TypeError):   # msgspec: unexpected keyword
                rows.RowMaker("kwcall", _LeakStruct, ("a", "c"))((a, b))
    run(200)
    gc.collect()
    refs = (sys.getrefcount(a), sys.getrefcount(b),
            sys.getrefcount(_Leak), sys.getrefcount(_LeakStruct))
    blocks0 = sys.getallocatedblocks()
    run(5000)
    gc.collect()
    assert (sys.getrefcount(a), sys.getrefcount(b), sys.getrefcount(_Leak),
            sys.getrefcount(_LeakStruct)) == refs
    # one leaked block per call would be 55000
    assert sys.getallocatedblocks() - blocks0 < 1500


async def test_factory_fetches_do_not_leak(conn):
    fac = [dict_row, tuple_row, namedtuple_row, scalar_row,
           class_row(_Leak), struct_row(_LeakStruct)]
    q = "SELECT g AS a, ARRAY[g] AS b FROM generate_series(1, 20) g"

    async def rnd():
        for f in fac:
            await conn.fetch(q, row_factory=f)
        with pytest.raises(TypeError):
            await conn.fetch("SELECT 1 AS c", row_factory=class_row(_Leak))
    for _ in range(20):
        await rnd()
    gc.collect()
    blocks0 = sys.getallocatedblocks()
    objects0 = len(gc.get_objects())
    for _ in range(150):
        await rnd()
    gc.collect()
    blocks = sys.getallocatedblocks() - blocks0
    objects = len(gc.get_objects()) - objects0
    assert blocks < 1500, (blocks, objects)
    assert objects < 50, (blocks, objects)
