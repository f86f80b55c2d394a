"""Custom codecs: Connection.set_type_codec, reset_type_codec and
set_builtin_type_codec (asyncpg's API), against the real server, plus
unit tests of the C pieces through the codec constructors
(python_codec, alias_codec, ...) and the test hooks."""

import asyncio
import datetime
import gc
import json
import struct
import weakref

import pytest

import pgwire
from pgwire import _pgwire as m
from pgwire import exceptions as exc

I32_MAX, I32_MIN = 2**31 - 1, -2**31
I64_MAX, I64_MIN = 2**63 - 1, -2**63


def _ident(v):
    return v


@pytest.fixture
async def conn(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    await c.execute("""
        DROP SCHEMA IF EXISTS cc CASCADE;
        CREATE SCHEMA cc;
        CREATE TYPE cc.mycomplex AS (r float8, i float8);
        CREATE TYPE cc.tagged AS (tag text, doc json);
        CREATE TYPE cc.mood AS ENUM ('sad', 'ok');
        CREATE DOMAIN cc.jdom AS json;
        CREATE DOMAIN cc.posint AS int CHECK (VALUE > 0);
        SET TimeZone = 'UTC';
    """)
    try:
        yield c
    finally:
        if not c.is_closed():
            await c.execute("DROP SCHEMA cc CASCADE")
            await c.close()


async def _set_json(conn, typename="json", **kw):
    await conn.set_type_codec(typename, schema="pg_catalog",
                              encoder=json.dumps, decoder=json.loads, **kw)


# ---------------------------------------------------------------------------
# text and binary formats
# ---------------------------------------------------------------------------

async def test_json_text(conn):
    assert await conn.fetchval("SELECT '{\"a\": [1, 2]}'::json") == \
        '{"a": [1, 2]}'
    await _set_json(conn)
    assert await conn.fetchval("SELECT '{\"a\": [1, 2]}'::json") == \
        {"a": [1, 2]}
    assert await conn.fetchval("SELECT $1::json", {"b": None}) == \
        {"b": None}
    assert await conn.fetchval("SELECT ($1::json)->>'k'", {"k": "v"}) == "v"
    assert await conn.fetchval("SELECT NULL::json") is None
    # the array type follows the element codec (text-format array)
    assert await conn.fetchval(
        "SELECT ARRAY['{\"a\": 1}'::json, '2', NULL, '\"x,y\"']") == \
        [{"a": 1}, 2, None, "x,y"]
    assert await conn.fetchval("SELECT $1::json[]",
                               [{"a": "}{\""}, None, 3]) == \
        [{"a": "}{\""}, None, 3]
    assert await conn.fetchval("SELECT $1::json[]", [[1], [2]]) == [[1], [2]]


async def test_jsonb_text_and_binary(conn):
    await _set_json(conn, "jsonb")
    assert await conn.fetchval("SELECT $1::jsonb", {"x": [1, True]}) == \
        {"x": [1, True]}
    assert await conn.fetchval("SELECT '[1, {\"y\": 2}]'::jsonb") == \
        [1, {"y": 2}]

    # binary: the user handles jsonb's version byte (asyncpg's docs)
    def enc(v):
        return b"\x01" + json.dumps(v).encode()

    def dec(b):
        assert isinstance(b, bytes) and b[:1] == b"\x01"
        return json.loads(b[1:].decode())

    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=enc,
                              decoder=dec, format="binary")
    assert await conn.fetchval("SELECT $1::jsonb", {"z": 1.5}) == {"z": 1.5}
    assert await conn.fetchval("SELECT $1::jsonb[]", [{"a": 1}, None]) == \
        [{"a": 1}, None]
    assert await conn.fetchval("SELECT '{\"k\": \"v\"}'::jsonb ->> 'k'") == \
        "v"


async def test_text_codec_on_user_scalar_and_enum(conn):
    await conn.set_type_codec("mood", schema="cc", encoder=str.lower,
                              decoder=str.upper)
    assert await conn.fetchval("SELECT 'ok'::cc.mood") == "OK"
    assert await conn.fetchval("SELECT $1::cc.mood::text", "SAD") == "sad"
    assert await conn.fetchval("SELECT ARRAY['sad', 'ok']::cc.mood[]") == \
        ["SAD", "OK"]


async def test_override_replaces_cached_statements(conn):
    q = "SELECT '{\"a\": 1}'::json"
    assert await conn.fetchval(q) == '{"a": 1}'
    await _set_json(conn)
    assert await conn.fetchval(q) == {"a": 1}
    await conn.reset_type_codec("json", schema="pg_catalog")
    assert await conn.fetchval(q) == '{"a": 1}'


async def test_set_then_reset(conn):
    await _set_json(conn)
    assert await conn.fetchval("SELECT '[1]'::json") == [1]
    assert await conn.fetchval("SELECT ARRAY['1'::json]") == [1]
    # setting again replaces the codec
    await conn.set_type_codec("json", schema="pg_catalog",
                              encoder=json.dumps,
                              decoder=lambda s: ("again", json.loads(s)))
    assert await conn.fetchval("SELECT '[1]'::json") == ("again", [1])
    await conn.reset_type_codec("json", schema="pg_catalog")
    assert await conn.fetchval("SELECT '[1]'::json") == "[1]"
    assert await conn.fetchval("SELECT ARRAY['1'::json]") == ["1"]
    assert await conn.fetchval("SELECT $1::json", "[2]") == "[2]"
    # resetting a type without a custom codec is a no-op
    await conn.reset_type_codec("json", schema="pg_catalog")
    assert conn._protocol.type_codecs.get(114) is None


async def test_domain_over_custom_type_decodes_with_it(conn):
    # RowDescription names the base type: the json codec applies
    await _set_json(conn)
    assert await conn.fetchval("SELECT '{\"d\": 1}'::cc.jdom") == {"d": 1}
    assert await conn.fetchval("SELECT $1::cc.jdom", {"e": 2}) == {"e": 2}


async def test_composite_field_uses_custom_codec(conn):
    # a binary-format codec: the composite stays binary and uses it
    await conn.set_type_codec(
        "json", schema="pg_catalog", format="binary",
        encoder=lambda v: json.dumps(v).encode(),
        decoder=lambda b: json.loads(b.decode()))
    r = await conn.fetchval("SELECT ROW('t', '{\"a\": 1}')::cc.tagged")
    assert r["tag"] == "t" and r["doc"] == {"a": 1}
    r = await conn.fetchval("SELECT $1::cc.tagged", ("u", [1, 2]))
    assert r["doc"] == [1, 2]
    # a text-format one makes the composite text as a whole, which asyncpg
    # refuses, as for any field type without a binary codec
    await _set_json(conn)
    with pytest.raises(exc.UnsupportedClientFeatureError,
                       match='cannot decode type "cc"."tagged": text '
                             'encoding of composite types is not supported'):
        await conn.fetchval("SELECT ROW('t', '1')::cc.tagged")
    with pytest.raises(exc.UnsupportedClientFeatureError,
                       match=r"query argument \$1: .*text encoding of "
                             "composite types is not supported"):
        await conn.fetchval("SELECT $1::cc.tagged", ("t", "1"))
    assert await conn.fetchval("SELECT 1") == 1


async def test_overrides_of_catalog_types(conn):
    # text and int8 decode the catalog queries behind set_type_codec: an
    # override of them must not break the next set/reset
    await conn.set_type_codec("text", schema="pg_catalog",
                              encoder=lambda s: s.lower(),
                              decoder=lambda s: "<" + s + ">")
    await conn.set_type_codec("int8", schema="pg_catalog",
                              encoder=str, decoder=lambda s: ("i8", s),
                              format="text")
    await _set_json(conn)
    assert await conn.fetchval("SELECT 'Ab'::text") == "<Ab>"
    assert await conn.fetchval("SELECT $1::text", "Ab") == "<ab>"
    assert await conn.fetchval("SELECT 7::int8") == ("i8", "7")
    assert await conn.fetchval("SELECT '{}'::json") == {}
    await conn.reset_type_codec("text", schema="pg_catalog")
    await conn.reset_type_codec("int8", schema="pg_catalog")
    assert await conn.fetchval("SELECT 7::int8") == 7
    assert await conn.fetchval("SELECT '{}'::json") == {}


# ---------------------------------------------------------------------------
# tuple format
# ---------------------------------------------------------------------------

async def _set_tuple(conn, typename, schema="pg_catalog"):
    await conn.set_type_codec(typename, schema=schema, encoder=_ident,
                              decoder=_ident, format="tuple")


async def test_tuple_interval(conn):
    await _set_tuple(conn, "interval")
    assert await conn.fetchval(
        "SELECT '2 years 3 mons 1 day 00:00:01.5'::interval") == \
        (27, 1, 1500000)
    assert await conn.fetchval("SELECT '-1 mon -2 days'::interval") == \
        (-1, -2, 0)
    assert await conn.fetchval("SELECT $1::interval::text", (1, 2, 3)) == \
        "1 mon 2 days 00:00:00.000003"
    assert await conn.fetchval("SELECT $1::interval[]", [(0, 1, 0), None]) \
        == [(0, 1, 0), None]
    # asyncpg's example: relativedelta-like objects through the tuple form
    await conn.set_type_codec(
        "interval", schema="pg_catalog",
        encoder=lambda d: (d["months"], d["days"], d["us"]),
        decoder=lambda t: dict(zip(("months", "days", "us"), t)),
        format="tuple")
    v = await conn.fetchval("SELECT $1::interval",
                            {"months": 14, "days": 0, "us": 0})
    assert v == {"months": 14, "days": 0, "us": 0}


async def test_tuple_timestamps(conn):
    await _set_tuple(conn, "timestamp")
    await _set_tuple(conn, "timestamptz")
    day = 86400 * 10**6
    assert await conn.fetchval("SELECT '2000-01-02'::timestamp") == (day,)
    assert await conn.fetchval("SELECT '1999-12-31 23:59:59'::timestamp") \
        == (-10**6,)
    assert await conn.fetchval("SELECT 'infinity'::timestamp") == (I64_MAX,)
    assert await conn.fetchval("SELECT '-infinity'::timestamp") == \
        (I64_MIN,)
    assert await conn.fetchval("SELECT $1::timestamp::text", (0,)) == \
        "2000-01-01 00:00:00"
    assert await conn.fetchval("SELECT $1::timestamp::text", (I64_MAX,)) \
        == "infinity"
    assert await conn.fetchval(
        "SELECT '2000-01-01 01:00:00+01'::timestamptz") == (0,)
    assert await conn.fetchval("SELECT $1::timestamptz::text", (day,)) == \
        "2000-01-02 00:00:00+00"


async def test_tuple_date_time_timetz(conn):
    for t in ("date", "time", "timetz"):
        await _set_tuple(conn, t)
    assert await conn.fetchval("SELECT '2000-01-03'::date") == (2,)
    assert await conn.fetchval("SELECT 'infinity'::date") == (I32_MAX,)
    assert await conn.fetchval("SELECT '-infinity'::date") == (I32_MIN,)
    assert await conn.fetchval("SELECT $1::date::text", (-1,)) == \
        "1999-12-31"
    assert await conn.fetchval("SELECT '00:00:01.25'::time") == (1250000,)
    assert await conn.fetchval("SELECT $1::time::text", (61 * 10**6,)) == \
        "00:01:01"
    # the zone offset as on the wire: seconds west of UTC
    assert await conn.fetchval("SELECT '00:00:01+02'::timetz") == \
        (10**6, -7200)
    assert await conn.fetchval("SELECT $1::timetz::text", (0, 3600)) == \
        "00:00:00-01"
    assert await conn.fetchval("SELECT $1::date[]", [(0,), (1,)]) == \
        [(0,), (1,)]


async def test_tuple_composite(conn):
    await conn.set_type_codec(
        "mycomplex", schema="cc", encoder=lambda x: (x.real, x.imag),
        decoder=lambda t: complex(t[0], t[1]), format="tuple")
    num = complex("1+2j")
    assert await conn.fetchval("SELECT $1::cc.mycomplex", num) == num
    assert await conn.fetchval("SELECT ROW(3, -4)::cc.mycomplex") == 3 - 4j
    assert await conn.fetchval("SELECT ($1::cc.mycomplex).i", num) == 2.0
    assert await conn.fetchval("SELECT $1::cc.mycomplex[]",
                               [num, None, 5j]) == [num, None, 5j]
    # the decoder sees a plain tuple of the field values
    seen = []
    await conn.set_type_codec(
        "mycomplex", schema="cc", encoder=lambda x: x,
        decoder=lambda t: seen.append(t) or t, format="tuple")
    await conn.fetchval("SELECT ROW(1, NULL)::cc.mycomplex")
    assert seen == [(1.0, None)] and type(seen[0]) is tuple
    await conn.reset_type_codec("mycomplex", schema="cc")
    r = await conn.fetchval("SELECT ROW(1, 2)::cc.mycomplex")
    assert isinstance(r, pgwire.Record) and tuple(r) == (1.0, 2.0)


async def test_tuple_encode_errors(conn):
    await _set_tuple(conn, "interval")
    with pytest.raises(exc.DataError, match=r"\$1.*expecting 3 elements"):
        await conn.fetchval("SELECT $1::interval", (1, 2))
    with pytest.raises(exc.DataError, match="int32 range"):
        await conn.fetchval("SELECT $1::interval", (2**31, 0, 0))
    with pytest.raises(exc.DataError, match=r"\$2"):
        await conn.fetchval("SELECT $1::int, $2::interval", 1, (1.5, 0, 0))
    assert await conn.fetchval("SELECT 1") == 1


# ---------------------------------------------------------------------------
# set_builtin_type_codec
# ---------------------------------------------------------------------------

async def _extension(conn, name):
    await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
    return await conn.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = $1", name)


async def test_hstore(conn):
    schema = await _extension(conn, "hstore")
    try:
        # without a codec: hstore has no builtin codec -> text
        assert await conn.fetchval("SELECT 'a=>1'::hstore") == '"a"=>"1"'
        await conn.set_builtin_type_codec("hstore", schema=schema,
                                          codec_name="pg_contrib.hstore")
        assert await conn.fetchval(
            "SELECT 'a=>1, b=>NULL, \"c d\"=>\"é\"'::hstore") == \
            {"a": "1", "b": None, "c d": "é"}
        assert await conn.fetchval("SELECT ''::hstore") == {}
        v = {"k": "v", "n": None, "": "empty", "q\"": "=>"}
        assert await conn.fetchval("SELECT $1::hstore", v) == v
        assert await conn.fetchval("SELECT $1::hstore -> 'k'", v) == "v"
        # any mapping, or an iterable of pairs
        assert await conn.fetchval("SELECT $1::hstore",
                                   [("x", "1"), ("y", None)]) == \
            {"x": "1", "y": None}
        assert await conn.fetchval("SELECT $1::hstore[]",
                                   [{"a": "b"}, None, {}]) == \
            [{"a": "b"}, None, {}]
        with pytest.raises(exc.DataError, match="null value not allowed"):
            await conn.fetchval("SELECT $1::hstore", {None: "x"})
        with pytest.raises(exc.DataError, match="expected str"):
            await conn.fetchval("SELECT $1::hstore", {"a": 1})
        await conn.reset_type_codec("hstore", schema=schema)
        assert await conn.fetchval("SELECT 'a=>1'::hstore") == '"a"=>"1"'
    finally:
        await conn.execute("DROP EXTENSION hstore")


async def test_citext_as_text(conn):
    schema = await _extension(conn, "citext")
    try:
        # the text fallback: an array of it is a list of str, as asyncpg
        assert await conn.fetchval("SELECT ARRAY['A', 'b']::citext[]") == \
            ["A", "b"]
        assert await conn.fetchval("SELECT $1::citext[]",
                                   [["\"a", ","], [None, "b"]]) == \
            [["\"a", ","], [None, "b"]]
        await conn.set_builtin_type_codec("citext", schema=schema,
                                          codec_name="text")
        assert await conn.fetchval("SELECT 'AbC'::citext") == "AbC"
        assert await conn.fetchval("SELECT $1::citext = 'abc'", "ABC")
        assert await conn.fetchval("SELECT ARRAY['A', 'b']::citext[]") == \
            ["A", "b"]
        assert await conn.fetchval("SELECT $1::citext[]", ["x", None]) == \
            ["x", None]
        # format='text' works for a text-family target too
        await conn.set_builtin_type_codec("citext", schema=schema,
                                          codec_name="character varying",
                                          format="text")
        assert await conn.fetchval("SELECT ARRAY['A', 'b\"']::citext[]") \
            == ["A", 'b"']
    finally:
        await conn.execute("DROP EXTENSION citext")


async def test_builtin_alias_by_sql_name(conn):
    # a domain-free user scalar: alias an enum's wire form to text
    await conn.set_builtin_type_codec("mood", schema="cc", codec_name="text")
    assert await conn.fetchval("SELECT 'ok'::cc.mood") == "ok"
    # aliasing needs a codec of the requested format
    with pytest.raises(exc.InterfaceError,
                       match="cannot alias mood to bigint: there is no "
                             "text codec for bigint"):
        await conn.set_builtin_type_codec("mood", schema="cc",
                                          codec_name="bigint",
                                          format="text")
    with pytest.raises(exc.InterfaceError, match="no text or binary codec"):
        await conn.set_builtin_type_codec("mood", schema="cc",
                                          codec_name="no_such_codec")
    with pytest.raises(exc.InterfaceError, match="non-scalar"):
        await conn.set_builtin_type_codec("mycomplex", schema="cc",
                                          codec_name="text")
    with pytest.raises(exc.InterfaceError, match="invalid `format`"):
        await conn.set_builtin_type_codec("mood", schema="cc",
                                          codec_name="text", format="tuple")
    # the failed calls dropped the alias (as asyncpg): the default is back
    assert await conn.fetchval("SELECT 'ok'::cc.mood") == "ok"


# ---------------------------------------------------------------------------
# refused types and formats
# ---------------------------------------------------------------------------

async def test_errors(conn):
    kw = dict(encoder=str, decoder=str)
    with pytest.raises(exc.UnsupportedClientFeatureError,
                       match="domain") as ei:
        await conn.set_type_codec("posint", schema="cc", **kw)
    assert "base type" in ei.value.hint
    with pytest.raises(ValueError, match=r"^unknown type: public\.nope$"):
        await conn.set_type_codec("nope", **kw)
    # builtin types live in pg_catalog
    with pytest.raises(ValueError, match=r"unknown type: public\.json"):
        await conn.set_type_codec("json", **kw)
    with pytest.raises(ValueError, match="unknown type"):
        await conn.set_type_codec("int4[]", schema="pg_catalog", **kw)
    with pytest.raises(exc.InterfaceError, match="neither a scalar"):
        await conn.set_type_codec("_int4", schema="pg_catalog", **kw)
    with pytest.raises(exc.InterfaceError, match="neither a scalar"):
        await conn.set_type_codec("int4range", schema="pg_catalog", **kw)
    with pytest.raises(exc.InterfaceError,
                       match="int4 type does not support the 'tuple'"):
        await conn.set_type_codec("int4", schema="pg_catalog",
                                  format="tuple", **kw)
    with pytest.raises(exc.InterfaceError,
                       match="mood type does not support the 'tuple'"):
        await conn.set_type_codec("mood", schema="cc", format="tuple", **kw)
    with pytest.raises(exc.UnsupportedClientFeatureError,
                       match="only tuple-format"):
        await conn.set_type_codec("mycomplex", schema="cc", **kw)
    with pytest.raises(exc.InterfaceError, match="invalid `format`"):
        await conn.set_type_codec("json", schema="pg_catalog",
                                  format="xml", **kw)
    with pytest.raises(TypeError, match="callable"):
        await conn.set_type_codec("json", schema="pg_catalog",
                                  encoder=None, decoder=str)
    with pytest.raises(ValueError, match="unknown type"):
        await conn.reset_type_codec("nope")
    assert conn._protocol.type_codecs.get(114) is None
    assert await conn.fetchval("SELECT '1'::json") == "1"


async def test_builtin_names_and_aliases(conn):
    # SQL spellings of builtin names in pg_catalog
    await conn.set_type_codec("double precision", schema="pg_catalog",
                              encoder=str, decoder=lambda s: ("f8", s))
    assert await conn.fetchval("SELECT 1.5::float8") == ("f8", "1.5")
    await conn.set_type_codec("INTEGER", schema="pg_catalog",
                              encoder=str, decoder=lambda s: ("i4", s))
    assert await conn.fetchval("SELECT 3") == ("i4", "3")
    assert await conn.fetchval("SELECT ARRAY[3, NULL]") == [("i4", "3"),
                                                           None]
    assert await conn.fetchval("SELECT $1::int + 1", 4) == ("i4", "5")


async def test_encoder_raises(conn):
    def bad(v):
        raise ValueError("cannot encode " + repr(v))

    await conn.set_type_codec("json", schema="pg_catalog", encoder=bad,
                              decoder=json.loads)
    with pytest.raises(exc.DataError,
                       match=r"invalid input for query argument \$2") as ei:
        await conn.fetchval("SELECT $1::int, $2::json", 1, {"a": 1})
    assert isinstance(ei.value.__cause__, ValueError)
    assert "cannot encode" in str(ei.value)
    # an encoder returning the wrong type for the format
    await conn.set_type_codec("json", schema="pg_catalog",
                              encoder=lambda v: 5, decoder=json.loads)
    with pytest.raises(exc.DataError, match="returned int, expected str"):
        await conn.fetchval("SELECT $1::json", {})
    await conn.set_type_codec("json", schema="pg_catalog",
                              encoder=lambda v: "x", decoder=json.loads,
                              format="binary")
    with pytest.raises(exc.DataError, match="expected a bytes-like"):
        await conn.fetchval("SELECT $1::json", {})
    # the connection is still usable
    assert await conn.fetchval("SELECT 2") == 2


async def test_decoder_raises(conn):
    def bad(s):
        raise ZeroDivisionError("no " + s)

    await conn.set_type_codec("json", schema="pg_catalog",
                              encoder=json.dumps, decoder=bad)
    with pytest.raises(ZeroDivisionError, match="no 1") as ei:
        await conn.fetch("SELECT '1'::json AS j FROM generate_series(1, 3)")
    notes = getattr(ei.value, "__notes__", [])
    assert any("'j'" in n and "json" in n for n in notes)
    assert await conn.fetchval("SELECT 3") == 3
    # a decoder may return anything, including None
    await conn.set_type_codec("json", schema="pg_catalog",
                              encoder=json.dumps, decoder=lambda s: None)
    assert await conn.fetchval("SELECT '1'::json") is None


async def test_codec_cycle_is_collected(cluster):
    class Holder:
        def __init__(self, conn):
            self.conn = conn

        def decode(self, s):
            return self.conn, json.loads(s)

    c = await pgwire.connect(**cluster.connect_kwargs())
    holder = Holder(c)
    # the decoder refers to the connection, which holds the codec
    await c.set_type_codec("json", schema="pg_catalog", encoder=json.dumps,
                           decoder=holder.decode)
    assert await c.fetchval("SELECT '[1]'::json") == (c, [1])
    await c.close()
    ref = weakref.ref(c)
    del c, holder
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------
# unit tests of the C pieces (no server)
# ---------------------------------------------------------------------------

def _tuple_codec(oid, name):
    return m.python_codec(oid, name, encoder=_ident,
                          decoder=_ident, format="tuple",
                          base=m.builtin_codec(oid))


@pytest.mark.parametrize("oid,name,value,wire", [
    (1082, "date", (-3,), struct.pack("!i", -3)),
    (1083, "time", (5,), struct.pack("!q", 5)),
    (1114, "timestamp", (I64_MIN,), struct.pack("!q", I64_MIN)),
    (1184, "timestamptz", (I64_MAX,), struct.pack("!q", I64_MAX)),
    (1266, "timetz", (7, -3600), struct.pack("!qi", 7, -3600)),
    (1186, "interval", (1, 2, 3), struct.pack("!qii", 3, 2, 1)),
])
def test_tuple_forms_unit(oid, name, value, wire):
    c = _tuple_codec(oid, name)
    assert m._codec_format_of(c) == 1
    assert m._codec_encode_with(c, value) == wire
    assert m._codec_encode_with(c, list(value)) == wire
    assert m._codec_decode_with(c, wire) == value
    with pytest.raises(ValueError, match="expected"):
        m._codec_decode_with(c, wire + b"\x00")
    with pytest.raises(ValueError, match="expecting"):
        m._codec_encode_with(c, value + (0,))
    with pytest.raises(TypeError):
        m._codec_encode_with(c, 5)


def test_python_codec_unit():
    c = m.python_codec(114, "json", encoder=json.dumps,
                       decoder=json.loads)
    assert c.kind == "python" and m._codec_format_of(c) == 0
    assert m._codec_encode_with(c, {"a": 1}) == b'{"a": 1}'
    assert m._codec_decode_with(c, b"[1]") == [1]
    b = m.python_codec(17, "bytea", encoder=bytes,
                       decoder=bytearray, format="binary")
    assert m._codec_format_of(b) == 1
    assert m._codec_encode_with(b, [1, 2]) == b"\x01\x02"
    assert m._codec_decode_with(b, b"\x03") == bytearray(b"\x03")
    with pytest.raises(TypeError, match="base"):
        m.python_codec(1186, "interval", encoder=str, decoder=str,
                       format="tuple")
    with pytest.raises(ValueError, match="format"):
        m.python_codec(1186, "interval", encoder=str, decoder=str,
                       format="nope")
    # a composite's tuple form needs binary fields
    text_field = m.text_codec(99001, "ext")
    comp = m.composite_codec(99002, "c", names=["x"],
                             oids=[99001], codecs=[text_field])
    with pytest.raises(ValueError, match="no tuple format"):
        m.python_codec(99002, "c", encoder=str, decoder=str,
                       format="tuple", base=comp)


def _hstore():
    return m.alias_codec(99100, "hstore",
                         target="pg_contrib.hstore")


def _hs(*pairs):
    out = struct.pack("!i", len(pairs))
    for k, v in pairs:
        out += struct.pack("!i", len(k)) + k
        out += struct.pack("!i", -1) if v is None else \
            struct.pack("!i", len(v)) + v
    return out


def test_hstore_unit():
    h = _hstore()
    assert h.kind == "alias" and h.oid == 99100
    wire = _hs((b"a", b"1"), (b"b", None))
    assert m._codec_decode_with(h, wire) == {"a": "1", "b": None}
    assert m._codec_encode_with(h, {"a": "1", "b": None}) == wire
    assert m._codec_decode_with(h, _hs()) == {}


@pytest.mark.parametrize("data", [
    b"",
    b"\x00\x00\x00",
    struct.pack("!i", -1),
    struct.pack("!i", 1),
    struct.pack("!i", 2**31 - 1) + b"\x00" * 8,
    struct.pack("!ii", 1, -1) + struct.pack("!i", 0),
    struct.pack("!ii", 1, 5) + b"ab" + struct.pack("!i", -1),
    struct.pack("!iib", 1, 1, 0x61) + struct.pack("!i", -2),
    struct.pack("!iib", 1, 1, 0x61) + struct.pack("!i", 9) + b"x",
    _hs((b"a", b"b")) + b"\x00",
    _hs((b"\xff", b"b")),
])
def test_hstore_malformed(data):
    with pytest.raises(ValueError):
        m._codec_decode_with(_hstore(), data)


def test_alias_unit():
    a = m.alias_codec(99200, "citext", target=25)
    assert m._codec_format_of(a) == 1
    assert m._codec_decode_with(a, b"x") == "x"
    t = m.alias_codec(99200, "citext", target=25, format="text")
    assert m._codec_format_of(t) == 0
    with pytest.raises(ValueError, match="no text codec for int8"):
        m.alias_codec(99200, "x", target=20, format="text")
    with pytest.raises(ValueError, match="no binary codec for money"):
        m.alias_codec(99200, "x", target=790, format="binary")
    with pytest.raises(LookupError):
        m.alias_codec(99200, "x", target="nope")
    arr = m.array_codec(99201, "_citext", elem=a)
    enc = m._codec_encode_with(arr, ["q"])
    assert struct.unpack("!iiI", enc[:12])[2] == 99200  # element oid
    assert m._codec_decode_with(arr, enc) == ["q"]


def test_textarray_unit():
    e = m.python_codec(99300, "j", encoder=json.dumps,
                       decoder=json.loads)
    a = m.text_array_codec(99301, "_j", elem=e)
    assert m._codec_format_of(a) == 0
    assert m._codec_decode_with(a, b'{"{\\"a\\": 1}",NULL,2}') == \
        [{"a": 1}, None, 2]
    assert m._codec_decode_with(
        a, m._codec_encode_with(a, [[{"b": ","}], [None]])) == \
        [[{"b": ","}], [None]]


def test_interval_tuple_datetime_roundtrip():
    # the tuple form agrees with the object codec on the same bytes
    c = _tuple_codec(1186, "interval")
    wire = m._codec_encode(1186, datetime.timedelta(days=3, seconds=7))
    assert m._codec_decode_with(c, wire) == (0, 3, 7 * 10**6)


async def test_set_while_busy(conn):
    await _set_json(conn)
    task = asyncio.ensure_future(conn.fetchval("SELECT pg_sleep(0.2)"))
    await asyncio.sleep(0)  # one loop turn: the task has sent its query
    assert conn._protocol.is_busy()
    with pytest.raises(exc.InterfaceError, match="another operation"):
        await conn.set_type_codec("jsonb", schema="pg_catalog",
                                  encoder=json.dumps, decoder=json.loads)
    await task
    # nothing changed: json keeps its codec, jsonb has none
    assert await conn.fetchval("SELECT '[1]'::json") == [1]
    assert await conn.fetchval("SELECT '[1]'::jsonb") == "[1]"


async def test_reload_schema_state_keeps_custom_codecs(cluster):
    import json
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await c.set_type_codec("json", schema="pg_catalog",
                               encoder=json.dumps, decoder=json.loads)
        assert await c.fetchval("SELECT '{\"a\": 1}'::json") == {"a": 1}
        await c.reload_schema_state()
        assert await c.fetchval("SELECT '{\"a\": 2}'::json") == {"a": 2}
    finally:
        await c.close()


async def test_catalog_queries_ignore_text_override(cluster):
    # the driver's own introspection must not decode through user codecs
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await c.execute("DROP TYPE IF EXISTS ovr_mood; "
                        "CREATE TYPE ovr_mood AS ENUM ('a', 'b')")
        await c.set_type_codec("text", schema="pg_catalog",
                               encoder=str, decoder=lambda s: "T:" + s)
        assert await c.fetchval("SELECT 'x'::text") == "T:x"
        # a newly used enum is still introspected correctly (an enum, not
        # a text fallback) although text is overridden
        assert await c.fetchval("SELECT 'b'::ovr_mood") == "b"
        stmt = await c.prepare("SELECT 'a'::ovr_mood AS m")
        assert stmt.get_attributes()[0].type.name == "ovr_mood"
    finally:
        await c.execute("DROP TYPE ovr_mood")
        await c.close()
