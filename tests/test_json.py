"""connect(json_decode=True, json_loads=, json_dumps=): json and jsonb (and
their arrays) decoded to Python objects and encoded from them, in the
codec layer (src/codec/codec_dyn_py.c), with the standard library, orjson
and msgspec; off by default; set_type_codec still overrides it."""

import json

import msgspec
import orjson
import pytest

import pgwire
from pgwire import _pgwire

DOC = {"a": [1, 2.5, None, True], "s": "é ☃", "n": {"x": {}}}

LOADERS = {
    "stdlib": {},
    "orjson": {"json_loads": orjson.loads, "json_dumps": orjson.dumps},
    "msgspec": {"json_loads": msgspec.json.decode,
                "json_dumps": msgspec.json.encode},
}


@pytest.fixture(params=sorted(LOADERS))
async def jconn(request, cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(), json_decode=True,
                                **LOADERS[request.param])
    try:
        yield conn
    finally:
        await conn.close()


async def test_off_by_default(conn):
    assert await conn.fetchval("SELECT '{\"a\": 1}'::jsonb") == '{"a": 1}'
    assert await conn.fetchval("SELECT '[1]'::json") == "[1]"
    assert await conn.fetchval("SELECT $1::jsonb", '{"b": 2}') == '{"b": 2}'


async def test_round_trips(jconn):
    for typ in ("json", "jsonb"):
        assert await jconn.fetchval(f"SELECT $1::{typ}", DOC) == DOC
        assert await jconn.fetchval(f"SELECT $1::{typ}", [1, "x"]) == \
            [1, "x"]
        assert await jconn.fetchval(f"SELECT $1::{typ}", "str") == "str"
        assert await jconn.fetchval(f"SELECT $1::{typ}", 7) == 7
        assert await jconn.fetchval(f"SELECT $1::{typ}", None) is None
        assert await jconn.fetchval(f"SELECT 'null'::{typ}") is None
        # arrays: the list is the array, its items the JSON values
        got = await jconn.fetchval(f"SELECT $1::{typ}[]",
                                   [DOC, {"b": 2}, None])
        assert got == [DOC, {"b": 2}, None]
    row = await jconn.fetchrow(
        "SELECT '{\"k\": [1, 2]}'::jsonb AS jb, '[true]'::json AS js, "
        "ARRAY['{\"a\": 1}'::jsonb, NULL] AS arr, NULL::json AS nothing")
    assert dict(row.items()) == {"jb": {"k": [1, 2]}, "js": [True],
                                 "arr": [{"a": 1}, None], "nothing": None}
    # the server sees JSON, not a string of JSON
    assert await jconn.fetchval("SELECT jsonb_typeof($1::jsonb)",
                                {"a": 1}) == "object"
    assert await jconn.fetchval("SELECT ($1::jsonb)->>'s'", DOC) == "é ☃"


async def test_in_tables_composites_and_copy(jconn):
    await jconn.execute("CREATE TEMP TABLE jt (id int, doc jsonb, "
                        "docs json[])")
    await jconn.executemany("INSERT INTO jt VALUES ($1, $2, $3)",
                            [(1, DOC, [DOC]), (2, {"b": 1}, [])])
    rows = await jconn.fetch("SELECT doc, docs FROM jt ORDER BY id")
    assert [tuple(r) for r in rows] == [(DOC, [DOC]), ({"b": 1}, [])]
    await jconn.execute("CREATE TYPE pg_temp.jcomp AS (n int, j jsonb)")
    got = await jconn.fetchval("SELECT ROW(1, '{\"c\": 3}')::pg_temp.jcomp")
    assert got["j"] == {"c": 3}  # fields of composites decode too
    got = await jconn.fetchval("SELECT $1::pg_temp.jcomp", (2, {"d": [1]}))
    assert tuple(got) == (2, {"d": [1]})
    stmt = await jconn.prepare("SELECT doc FROM jt WHERE id = $1")
    assert await stmt.fetchval(1) == DOC
    await jconn.copy_records_to_table("jt", records=[(3, {"c": [3]}, [1])])
    assert await jconn.fetchval("SELECT docs FROM jt WHERE id = 3") == [1]
    assert await jconn.fetchval("SELECT doc->'c' FROM jt WHERE id = 3") == [3]


async def test_jsonb_binary_version_byte():
    dec = []
    codec = _pgwire.json_codec(3802, "jsonb", encoder=json.dumps,
                               decoder=lambda s: dec.append(s) or
                               json.loads(s))
    data = _pgwire._codec_encode_with(codec, {"a": 1})
    assert data == b'\x01{"a": 1}'
    assert _pgwire._codec_decode_with(codec, b'\x01[1]') == [1]
    assert dec == ["[1]"]  # the loader sees the text, without the byte
    with pytest.raises(ValueError, match="version"):
        _pgwire._codec_decode_with(codec, b'\x02[1]')
    plain = _pgwire.json_codec(114, "json", encoder=orjson.dumps,
                               decoder=orjson.loads)
    assert _pgwire._codec_encode_with(plain, [1]) == b"[1]"
    with pytest.raises(ValueError, match="json .114. or jsonb"):
        _pgwire.json_codec(25, "text", encoder=json.dumps,
                           decoder=json.loads)


async def test_set_type_codec_overrides(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(), json_decode=True)
    try:
        await conn.set_type_codec("jsonb", schema="pg_catalog",
                                  encoder=lambda v: "[" + v + "]",
                                  decoder=lambda s: ("mine", s))
        assert await conn.fetchval("SELECT $1::jsonb", "1") == \
            ("mine", "[1]")
        assert await conn.fetchval("SELECT '{}'::json") == {}  # untouched
        await conn.reset_type_codec("jsonb", schema="pg_catalog")
        assert await conn.fetchval("SELECT '[2]'::jsonb") == [2]
    finally:
        await conn.close()


async def test_pool_option_and_client_encoding(cluster):
    async with pgwire.create_pool(
            **cluster.connect_kwargs(), min_size=1, max_size=2,
            json_decode=True, json_loads=orjson.loads,
            json_dumps=orjson.dumps,
            server_settings={"client_encoding": "latin1"}) as pool:
        doc = {"é": ["ü", 1]}  # text in LATIN1 on the wire
        assert await pool.fetchval("SELECT $1::jsonb", doc) == doc
        assert await pool.fetchval("SELECT ($1::jsonb)->>'é'", {"é": "ü"}) \
            == "ü"
        await pool.expire_connections()
        assert await pool.fetchval("SELECT $1::json", {"é": 1}) == {"é": 1}


async def test_encoder_and_option_errors(cluster):
    kw = cluster.connect_kwargs()
    with pytest.raises(TypeError, match="json_loads is given but "
                                        "json_decode is False"):
        await pgwire.connect(**kw, json_loads=json.loads)
    with pytest.raises(TypeError, match="json_dumps must be a callable"):
        await pgwire.connect(**kw, json_decode=True, json_dumps=5)
    with pytest.raises(TypeError, match="json_decode must be True or False"):
        await pgwire.connect(**kw, json_decode="yes")
    conn = await pgwire.connect(**kw, json_decode=True,
                                json_dumps=lambda v: 42)
    try:
        with pytest.raises(pgwire.DataError, match="json_dumps returned int"):
            await conn.fetchval("SELECT $1::jsonb", {})
        with pytest.raises(pgwire.DataError):
            await conn.fetchval("SELECT $1::json", {})
        assert await conn.fetchval("SELECT '{\"ok\": 1}'::jsonb") == \
            {"ok": 1}
    finally:
        await conn.close()
    bad = await pgwire.connect(**kw, json_decode=True,
                               json_loads=lambda s: 1 / 0)
    try:
        with pytest.raises(ZeroDivisionError) as ei:
            await bad.fetchval("SELECT '1'::jsonb AS j")
        assert any("column 'j'" in n for n in ei.value.__notes__)
        assert await bad.fetchval("SELECT 1") == 1
    finally:
        await bad.close()
