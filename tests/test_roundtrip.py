"""Property tests against the real server: value -> server -> value, and
the server's text rendering of what we sent agrees with Python's."""

import datetime
import decimal
import math
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import pgwire

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

ints4 = st.integers(-2**31, 2**31 - 1)
ints8 = st.integers(-2**63, 2**63 - 1)
texts = st.text(st.characters(blacklist_categories=("Cs",),
                              blacklist_characters="\x00"), max_size=200)
utc = datetime.timezone.utc
dates = st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 30))
naive_ts = st.datetimes(datetime.datetime(1, 1, 2),
                        datetime.datetime(9999, 12, 30))
aware_ts = naive_ts.map(lambda d: d.replace(tzinfo=utc))
times = st.times()
decimals = st.decimals(allow_nan=False, allow_infinity=False,
                       min_value=decimal.Decimal("-1e30"),
                       max_value=decimal.Decimal("1e30"), places=None)
intervals = st.timedeltas(datetime.timedelta(days=-10**6),
                          datetime.timedelta(days=10**6))


@pytest.fixture(scope="module")
async def conn(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    await c.execute("SET TIME ZONE 'UTC'")
    yield c
    await c.close()


async def roundtrip(conn, typ, value):
    return await conn.fetchval(f"SELECT $1::{typ}", value)


@SETTINGS
@given(v=ints4)
async def test_int4(conn, v):
    assert await roundtrip(conn, "int4", v) == v
    assert await conn.fetchval("SELECT $1::int4::text", v) == str(v)


@SETTINGS
@given(v=ints8)
async def test_int8(conn, v):
    assert await roundtrip(conn, "int8", v) == v


@SETTINGS
@given(v=st.floats(allow_nan=True, allow_infinity=True))
async def test_float8(conn, v):
    back = await roundtrip(conn, "float8", v)
    assert (math.isnan(v) and math.isnan(back)) or back == v


@SETTINGS
@given(v=decimals)
async def test_numeric(conn, v):
    back = await roundtrip(conn, "numeric", v)
    assert back == v
    assert decimal.Decimal(
        await conn.fetchval("SELECT $1::numeric::text", v)) == v


@SETTINGS
@given(v=texts)
async def test_text(conn, v):
    assert await roundtrip(conn, "text", v) == v
    assert await conn.fetchval("SELECT length($1::text)", v) == len(v)


@SETTINGS
@given(v=st.binary(max_size=300))
async def test_bytea(conn, v):
    assert await roundtrip(conn, "bytea", v) == v


@SETTINGS
@given(v=st.uuids())
async def test_uuid(conn, v):
    assert await roundtrip(conn, "uuid", v) == v
    assert await conn.fetchval("SELECT $1::uuid::text", v) == str(v)


@SETTINGS
@given(v=dates)
async def test_date(conn, v):
    assert await roundtrip(conn, "date", v) == v
    # text/binary agreement: the server reads Python's rendering as the
    # same value it received in binary
    assert await conn.fetchval("SELECT $1::date = $2::text::date",
                               v, v.isoformat())


@SETTINGS
@given(v=naive_ts)
async def test_timestamp(conn, v):
    assert await roundtrip(conn, "timestamp", v) == v


@SETTINGS
@given(v=aware_ts)
async def test_timestamptz(conn, v):
    assert await roundtrip(conn, "timestamptz", v) == v
    assert await conn.fetchval(
        "SELECT $1::timestamptz = $2::text::timestamptz", v, v.isoformat())


@SETTINGS
@given(v=times)
async def test_time(conn, v):
    assert await roundtrip(conn, "time", v) == v
    assert await conn.fetchval("SELECT $1::time = $2::text::time",
                               v, v.isoformat())


@SETTINGS
@given(v=intervals)
async def test_interval(conn, v):
    assert await roundtrip(conn, "interval", v) == v


@SETTINGS
@given(v=st.lists(st.one_of(st.none(), ints4), max_size=20))
async def test_int4_array(conn, v):
    assert await roundtrip(conn, "int4[]", v) == v


@SETTINGS
@given(v=st.lists(st.lists(texts, min_size=2, max_size=2), max_size=5))
async def test_text_2d_array(conn, v):
    assert await roundtrip(conn, "text[]", v) == (v if v else [])


@SETTINGS
@given(v=st.lists(st.one_of(st.none(), decimals), max_size=10))
async def test_numeric_array(conn, v):
    assert await roundtrip(conn, "numeric[]", v) == v


async def test_edge_values(conn):
    for typ, v in [("int2", -32768), ("int2", 32767), ("int8", -2**63),
                   ("float4", 3.5), ("numeric", decimal.Decimal("1e-1000")),
                   ("numeric", decimal.Decimal("9" * 1000)),
                   ("text", "\U0001F600 unicode ✓"), ("bytea", b""),
                   ("date", datetime.date(1, 1, 1)),
                   ("date", datetime.date(9999, 12, 31)),
                   ("int4[]", []), ("text[]", [None]),
                   ("uuid", uuid.UUID(int=0))]:
        assert await roundtrip(conn, typ, v) == v, (typ, v)


async def test_array_lower_bounds(conn):
    # as asyncpg: the elements as (nested) lists; the bounds are kept on
    # the list subclass pgwire.types.BoundedArray and sent back on encode
    got = await conn.fetchval("SELECT '[0:2]={1,2,3}'::int4[]")
    assert got == [1, 2, 3] and isinstance(got, list)
    assert got.lower_bounds == (0,)
    got = await conn.fetchval(
        "SELECT '[1:3][-1:0]={{1,2},{4,5},{6,7}}'::int[]")
    assert got == [[1, 2], [4, 5], [6, 7]]
    assert got.lower_bounds == (1, -1)
    assert await conn.fetchval("SELECT array_lower($1::int[], 2)::int4",
                               got) == -1
    assert await conn.fetchval("SELECT $1::int[]::text", got) == \
        "[1:3][-1:0]={{1,2},{4,5},{6,7}}"
    assert await conn.fetchval("SELECT $1::int[]::text",
                               pgwire.types.BoundedArray([5], [7])) == \
        "[7:7]={5}"
    assert type(await conn.fetchval("SELECT '{1}'::int4[]")) is list


async def test_array_parameter_sized_iterables(conn):
    # asyncpg accepts any sized iterable, but not str/bytes/Mappings
    class Iterable:
        def __iter__(self):
            return iter([1, 2, 3])

        def __len__(self):
            return 3
    assert await conn.fetchval("SELECT $1::int[]", Iterable()) == [1, 2, 3]
    assert await conn.fetchval("SELECT $1::int[]", {4}) == [4]
    for bad in ("ab", b"ab", {1: 2}, iter([1]), 1):
        with pytest.raises(pgwire.DataError,
                           match="sized iterable container expected"):
            await conn.fetchval("SELECT $1::int[]", bad)
    with pytest.raises(pgwire.DataError, match="non-homogeneous"):
        await conn.fetchval("SELECT $1::int[]", [[1], 1, [2]])
    with pytest.raises(pgwire.DataError, match="invalid array element"):
        await conn.fetchval("SELECT $1::int[]", [1, "t", 2])


async def test_anonymous_record_parameter(conn):
    # asyncpg's class and text
    with pytest.raises(pgwire.UnsupportedClientFeatureError,
                       match=r"query argument \$1: input of anonymous "
                             "composite types is not supported"):
        await conn.fetchval("SELECT (1, 'foo') = $1", (1, "foo"))
    assert await conn.fetchval("SELECT 1") == 1


async def test_integral_float_and_decimal_parameters(conn):
    import decimal
    for t in ("int2", "int4", "int8"):
        assert await conn.fetchval(f"SELECT $1::{t}", 11.0) == 11
        assert await conn.fetchval(f"SELECT $1::{t}",
                                   decimal.Decimal("11")) == 11
        assert await conn.fetchval(f"SELECT $1::{t}[]", [1.0, 2]) == [1, 2]
        for bad in (11.5, decimal.Decimal("11.5"), float("nan")):
            # asyncpg silently sends 11 for 11.5; pgwire refuses
            with pytest.raises(pgwire.DataError,
                               match="an integer is required"):
                await conn.fetchval(f"SELECT $1::{t}", bad)


async def test_large_exponent_numeric(conn):
    import decimal
    D = decimal.Decimal
    for text, want in [("1E+1000", "1E+1000"), ("1.5E+20", "1.5000E+20"),
                       ("1e5", "1.0E+5"), ("100", "100"),
                       ("12300000000000000000000", "1.23E+22"),
                       ("123.4500", "123.4500"), ("0.001", "0.001")]:
        got = await conn.fetchval(f"SELECT '{text}'::numeric")
        assert str(got) == want and got.as_tuple() == D(want).as_tuple()
        assert await conn.fetchval("SELECT $1::numeric", got) == got
    # 0-based by definition: int2vector
    assert await conn.fetchval("SELECT '1 2'::int2vector") == [1, 2]
