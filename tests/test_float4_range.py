"""float4 parameters near FLT_MAX (issue 12, item 14).

The range check is made on the value after rounding to float: anything that
rounds to a finite float is accepted (as float4in and asyncpg do), a value
that rounds to infinity is refused.
"""

import math
import struct

import pytest

FLT_MAX = struct.unpack("!f", b"\x7f\x7f\xff\xff")[0]
FLT_TRUE_MIN = struct.unpack("!f", b"\x00\x00\x00\x01")[0]


@pytest.mark.parametrize("text", ["3.4028235e38", "-3.4028235e38"])
async def test_float4_server_max_text_roundtrips(conn, text):
    v = float(text)
    got = await conn.fetchval("SELECT $1::float4", v)
    assert got == math.copysign(FLT_MAX, v)
    # the server's own text for its largest float4, sent back as a param
    srv = await conn.fetchval("SELECT $1::float4::text", v)
    assert float(srv) == v
    assert await conn.fetchval("SELECT $1::float4 = $2::text::float4",
                               v, text)


async def test_float4_smallest_subnormal(conn):
    assert await conn.fetchval("SELECT $1::float4", FLT_TRUE_MIN) == \
        FLT_TRUE_MIN
    assert await conn.fetchval("SELECT $1::float4", -FLT_TRUE_MIN) == \
        -FLT_TRUE_MIN


async def test_float4_array_near_max(conn):
    vals = [3.4028235e38, -3.4028235e38, FLT_TRUE_MIN]
    got = await conn.fetchval("SELECT $1::float4[]", vals)
    assert got == [FLT_MAX, -FLT_MAX, FLT_TRUE_MIN]


@pytest.mark.parametrize("v", [3.4028236e38, -3.4028236e38, 1e39])
async def test_float4_rounding_to_inf_refused(conn, v):
    # float4in refuses them too
    from pgwire import exceptions as exc
    with pytest.raises(exc.DataError):
        await conn.fetchval("SELECT $1::text::float4", repr(v))
    with pytest.raises(exc.DataError, match="out of float32 range"):
        await conn.fetchval("SELECT $1::float4", v)
    with pytest.raises(exc.DataError, match="out of float32 range"):
        await conn.fetchval("SELECT $1::float4[]", [1.0, v])
    assert await conn.fetchval("SELECT 1") == 1


def test_float4_threshold_exact():
    """The largest double that rounds to FLT_MAX is accepted; the halfway
    point (which rounds to even: infinity) and beyond are refused."""
    from pgwire import _pgwire as m
    half = float.fromhex("0x1.ffffffp127")  # FLT_MAX + half an ulp
    below = math.nextafter(half, 0.0)
    for sign in (1.0, -1.0):
        assert m._codec_decode(700, m._codec_encode(700, sign * below)) == \
            sign * FLT_MAX
        with pytest.raises(OverflowError, match="out of float32 range"):
            m._codec_encode(700, sign * half)
    assert m._codec_encode(700, float("inf")) == b"\x7f\x80\x00\x00"
