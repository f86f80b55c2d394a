"""Codec and Record tests through the C test hooks (no server needed).

_codec_encode(oid, obj) -> bytes and _codec_decode(oid, data) run one
builtin codec (oid 0 = the text fallback); _make_record(names, values,
record_class=None) builds a Record.  The expected wire bytes were checked
against PostgreSQL 15's *_send functions and binary COPY (*_recv).
"""
import array
import collections
import copy
import datetime as dt
import gc
import math
import operator
import pickle
import struct
import sys
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pgwire import _pgwire as m
from pgwire import types as pt

enc = m._codec_encode
dec = m._codec_decode
UTC = dt.timezone.utc


def rt(oid, value):
    return dec(oid, enc(oid, value))


def tz(hours=0, minutes=0, seconds=0):
    return dt.timezone(dt.timedelta(hours=hours, minutes=minutes,
                                    seconds=seconds))


# OIDs (PostgreSQL 15 pg_type)
BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID, XID, CID = (
    16, 17, 18, 19, 20, 21, 23, 25, 26, 28, 29)
JSON, XML, FLOAT4, FLOAT8, UNKNOWN, BPCHAR, VARCHAR = (
    114, 142, 700, 701, 705, 1042, 1043)
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, TIMETZ = (
    1082, 1083, 1114, 1184, 1186, 1266)
NUMERIC, UUID, JSONB, JSONPATH = 1700, 2950, 3802, 4072

SCALARS = {
    16: 1000, 17: 1001, 18: 1002, 19: 1003, 20: 1016, 21: 1005, 23: 1007,
    25: 1009, 26: 1028, 28: 1011, 29: 1012, 114: 199, 142: 143, 700: 1021,
    701: 1022, 705: None, 1042: 1014, 1043: 1015, 1082: 1182, 1083: 1183,
    1114: 1115, 1184: 1185, 1186: 1187, 1266: 1270, 1700: 1231, 2950: 2951,
    3802: 3807, 4072: 4073,
}
ARRAYS = {a: s for s, a in SCALARS.items() if a is not None}
ALL_OIDS = sorted(set(SCALARS) | set(ARRAYS))


def array_bytes(elem_oid, dims, elems, flags=None, lbound=1):
    """Build a binary array by hand; elems are bytes or None."""
    if flags is None:
        flags = int(any(e is None for e in elems))
    out = struct.pack("!iiI", len(dims), flags, elem_oid)
    for d in dims:
        out += struct.pack("!ii", d, lbound)
    for e in elems:
        out += struct.pack("!i", -1) if e is None else (
            struct.pack("!i", len(e)) + e)
    return out


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

class TestRegistry:
    @pytest.mark.parametrize("oid", ALL_OIDS)
    def test_builtin_is_binary(self, oid):
        assert m._codec_format(oid) == 1

    @pytest.mark.parametrize("oid", [1, 15, 22, 24, 27, 30, 600, 1790, 2249,
                                     3904, 5000, 16384, 2**32 - 1])
    def test_unknown_oid(self, oid):
        assert m._codec_format(oid) is None
        with pytest.raises(LookupError):
            dec(oid, b"")
        with pytest.raises(LookupError):
            enc(oid, "x")

    def test_every_small_oid_lookup_consistent(self):
        # Binary search over the table finds exactly the listed oids.
        found = {o for o in range(6000) if m._codec_format(o) == 1}
        assert found == set(ALL_OIDS)

    def test_text_fallback(self):
        assert m._codec_format(0) == 0
        assert rt(0, "héllo") == "héllo"
        with pytest.raises(TypeError, match="expected str, got int"):
            enc(0, 1)

    def test_bad_oid_argument(self):
        with pytest.raises(OverflowError):
            m._codec_format(2**32)
        with pytest.raises((OverflowError, ValueError)):
            m._codec_format(-1)
        with pytest.raises(TypeError):
            enc(INT4)


# ---------------------------------------------------------------------------
# bool, integers, floats
# ---------------------------------------------------------------------------

class TestBool:
    def test_values(self):
        assert enc(BOOL, True) == b"\x01"
        assert enc(BOOL, False) == b"\x00"
        assert dec(BOOL, b"\x01") is True
        assert dec(BOOL, b"\x00") is False
        assert dec(BOOL, b"\x02") is True

    @pytest.mark.parametrize("bad", [1, 0, "t", None, 1.0])
    def test_strict(self, bad):
        with pytest.raises(TypeError, match="expected bool, got"):
            enc(BOOL, bad)

    def test_size(self):
        with pytest.raises(ValueError, match="expected 1 bytes, got 2"):
            dec(BOOL, b"\x00\x01")


class IndexLike:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


class MyInt(int):
    pass


INT_RANGES = {
    INT2: (-2**15, 2**15 - 1, 2, "int2"),
    INT4: (-2**31, 2**31 - 1, 4, "int4"),
    INT8: (-2**63, 2**63 - 1, 8, "int8"),
    OID: (0, 2**32 - 1, 4, "oid"),
    XID: (0, 2**32 - 1, 4, "xid"),
    CID: (0, 2**32 - 1, 4, "cid"),
}


class TestInt:
    @pytest.mark.parametrize("oid", list(INT_RANGES))
    def test_bounds(self, oid):
        lo, hi, size, name = INT_RANGES[oid]
        for v in (lo, hi, 0, 1, lo + 1, hi - 1):
            b = enc(oid, v)
            assert len(b) == size
            assert dec(oid, b) == v
        with pytest.raises(OverflowError,
                           match=f"value {hi + 1} out of {name} range"):
            enc(oid, hi + 1)
        with pytest.raises(OverflowError,
                           match=f"value {lo - 1} out of {name} range"):
            enc(oid, lo - 1)

    def test_messages(self):
        with pytest.raises(OverflowError, match="value 70000 out of int2"):
            enc(INT2, 70000)
        with pytest.raises(TypeError, match="expected int, got str"):
            enc(INT4, "1")
        with pytest.raises(TypeError, match="expected int, got float"):
            enc(INT4, 1.0)
        with pytest.raises(TypeError, match="expected int, got decimal"):
            enc(INT8, Decimal(1))
        with pytest.raises(TypeError, match="expected int, got NoneType"):
            enc(INT2, None)

    def test_huge_int_beyond_str_limit(self):
        with pytest.raises(OverflowError, match="out of int8 range"):
            enc(INT8, 10**10000)

    def test_int_like(self):
        assert dec(INT4, enc(INT4, True)) == 1
        assert dec(INT4, enc(INT4, MyInt(7))) == 7
        assert dec(INT8, enc(INT8, IndexLike(-9))) == -9
        with pytest.raises(OverflowError):
            enc(INT2, IndexLike(2**20))

    def test_wire(self):
        assert enc(INT2, -2) == b"\xff\xfe"
        assert enc(INT4, 1) == b"\x00\x00\x00\x01"
        assert enc(INT8, -1) == b"\xff" * 8
        assert dec(OID, b"\xff\xff\xff\xff") == 2**32 - 1
        assert enc(OID, 2**32 - 1) == b"\xff\xff\xff\xff"

    @pytest.mark.parametrize("oid,size", [(INT2, 2), (INT4, 4), (INT8, 8),
                                          (OID, 4), (XID, 4), (CID, 4)])
    def test_bad_size(self, oid, size):
        name = INT_RANGES[oid][3]
        for n in (0, size - 1, size + 1):
            with pytest.raises(
                    ValueError,
                    match=f"invalid {name} value: expected {size} bytes, "
                          f"got {n}"):
                dec(oid, b"\x00" * n)

    @given(st.integers(-2**63, 2**63 - 1))
    def test_int8_roundtrip(self, v):
        assert rt(INT8, v) == v

    @given(st.integers(-2**31, 2**31 - 1))
    def test_int4_roundtrip(self, v):
        assert rt(INT4, v) == v

    @given(st.integers(-2**15, 2**15 - 1))
    def test_int2_roundtrip(self, v):
        assert rt(INT2, v) == v


class FloatLike:
    def __float__(self):
        return 2.5


def same_float(a, b):
    return struct.pack("!d", a) == struct.pack("!d", b) or (
        math.isnan(a) and math.isnan(b))


class TestFloat:
    @pytest.mark.parametrize("v", [0.0, -0.0, 1.5, -2.25, float("inf"),
                                   float("-inf"), 5e-324,
                                   1.7976931348623157e308])
    def test_float8_values(self, v):
        assert same_float(rt(FLOAT8, v), v)

    def test_nan(self):
        assert math.isnan(rt(FLOAT8, float("nan")))
        assert math.isnan(rt(FLOAT4, float("nan")))

    def test_float4(self):
        assert rt(FLOAT4, 1.5) == 1.5
        assert rt(FLOAT4, float("inf")) == float("inf")
        assert rt(FLOAT4, 3.4028234663852886e38) == 3.4028234663852886e38
        assert enc(FLOAT4, 1.5) == b"\x3f\xc0\x00\x00"
        f32 = struct.unpack("!f", struct.pack("!f", 0.1))[0]
        assert rt(FLOAT4, 0.1) == f32

    def test_float4_overflow(self):
        with pytest.raises(OverflowError, match="out of float4 range"):
            enc(FLOAT4, 1e39)
        with pytest.raises(OverflowError, match="out of float4 range"):
            enc(FLOAT4, -1e39)

    def test_accepts(self):
        assert rt(FLOAT8, 3) == 3.0
        assert rt(FLOAT8, True) == 1.0
        assert rt(FLOAT8, Decimal("0.5")) == 0.5
        assert rt(FLOAT8, FloatLike()) == 2.5
        assert rt(FLOAT4, IndexLike(4)) == 4.0
        with pytest.raises(OverflowError):
            enc(FLOAT8, 10**400)

    @pytest.mark.parametrize("bad", ["1.0", None, b"1", [1.0]])
    def test_type_error(self, bad):
        with pytest.raises(TypeError, match="expected float, got"):
            enc(FLOAT8, bad)
        with pytest.raises(TypeError, match="expected float, got"):
            enc(FLOAT4, bad)

    def test_bad_size(self):
        with pytest.raises(ValueError, match="invalid float8 value"):
            dec(FLOAT8, b"\x00" * 4)
        with pytest.raises(ValueError, match="invalid float4 value"):
            dec(FLOAT4, b"\x00" * 8)

    @given(st.floats())
    def test_float8_roundtrip(self, v):
        assert same_float(rt(FLOAT8, v), v)

    @given(st.floats(width=32))
    def test_float4_roundtrip(self, v):
        assert same_float(rt(FLOAT4, v), v)


# ---------------------------------------------------------------------------
# numeric
# ---------------------------------------------------------------------------

NUMERIC_CASES = [
    ("0", "0000000000000000"),
    ("0.00", "0000000000000002"),
    ("1", "0001000000000000" "0001"),
    ("-1", "0001000040000000" "0001"),
    ("123.4500", "0002000000000004007b1194"),
    ("-0.000012", "0001fffe4000000604b0"),
    ("100000000", "00010002000000000001"),
    ("NaN", "00000000c0000000"),
    ("Infinity", "00000000d0000000"),
    ("-Infinity", "00000000f0000000"),
]


def plain(d):
    """The positional text PostgreSQL prints for a finite numeric."""
    s = format(d, "f")
    return s[1:] if s.startswith("-") and d == 0 else s


class TestNumeric:
    @pytest.mark.parametrize("text,wire", NUMERIC_CASES)
    def test_wire(self, text, wire):
        assert enc(NUMERIC, Decimal(text)).hex() == wire
        got = dec(NUMERIC, bytes.fromhex(wire))
        assert str(got) == text

    def test_special_decode(self):
        assert dec(NUMERIC, bytes.fromhex("00000000c0000000")).is_nan()
        # PostgreSQL sends a display scale with infinities; it is ignored.
        inf = Decimal("inf")
        assert dec(NUMERIC, bytes.fromhex("00000000d0000020")) == inf
        assert dec(NUMERIC, bytes.fromhex("00000000f0000020")) == -inf

    @pytest.mark.parametrize("text", [
        "1.5", "1.50", "0.0001", "9999.9999", "10000", "10000.0001",
        "0.00000000001", "123456789012345678901234567890.123456789",
        "-5E-10", "12.3E40", "1.000000000000000000000000001",
        "1E-16383", "1E+131071", "-9999999999999999999.99999999999999999",
        "0E-16383", "0E+100", "1E+3", "0.1E-5",
    ])
    def test_roundtrip_text(self, text):
        d = Decimal(text)
        got = rt(NUMERIC, d)
        assert got == d
        assert format(got, "f") == plain(d)

    def test_display_scale_kept(self):
        assert str(rt(NUMERIC, Decimal("1.500"))) == "1.500"
        assert str(rt(NUMERIC, Decimal("-0.10"))) == "-0.10"
        assert str(rt(NUMERIC, Decimal("2E+2"))) == "200"

    def test_negative_zero_is_zero(self):
        assert enc(NUMERIC, Decimal("-0")) == enc(NUMERIC, Decimal("0"))
        assert enc(NUMERIC, Decimal("-0.00")) == enc(NUMERIC, Decimal("0.00"))

    def test_nan_variants(self):
        nan = enc(NUMERIC, Decimal("NaN"))
        assert enc(NUMERIC, Decimal("-NaN")) == nan
        assert enc(NUMERIC, Decimal("sNaN")) == nan
        assert enc(NUMERIC, float("nan")) == nan

    def test_limits(self):
        with pytest.raises(ValueError, match="numeric range"):
            enc(NUMERIC, Decimal("1E-16384"))
        with pytest.raises(ValueError, match="numeric range"):
            enc(NUMERIC, Decimal("1E+131072"))
        with pytest.raises(ValueError, match="numeric range"):
            enc(NUMERIC, Decimal("1E+999999999999999999"))
        with pytest.raises(ValueError, match="numeric range"):
            enc(NUMERIC, Decimal("1E-999999999999999999"))
        with pytest.raises(ValueError, match="numeric range"):
            enc(NUMERIC, Decimal("0E-20000"))

    def test_huge_digits(self):
        d = Decimal("7" * 20000 + "." + "3" * 16383)
        assert rt(NUMERIC, d) == d
        n = 10**5000 + 1
        assert rt(NUMERIC, n) == Decimal(n)

    def test_int(self):
        for v in (0, 1, -1, 9999, 10000, -10001, 2**63 - 1, -2**63,
                  2**64, -(2**100), True):
            got = rt(NUMERIC, v)
            assert got == v and str(got) == str(int(v))
        assert rt(NUMERIC, MyInt(12)) == 12

    def test_float(self):
        assert str(rt(NUMERIC, 0.1)) == "0.1"
        assert rt(NUMERIC, 1e300) == Decimal("1e300")
        assert rt(NUMERIC, -2.5) == Decimal("-2.5")
        assert rt(NUMERIC, float("inf")) == Decimal("Infinity")
        assert rt(NUMERIC, float("-inf")) == Decimal("-Infinity")

    def test_str_accepted(self):
        assert rt(NUMERIC, "3.14") == Decimal("3.14")
        with pytest.raises(ValueError, match="invalid numeric value 'abc'"):
            enc(NUMERIC, "abc")

    def test_decimal_subclass(self):
        class D2(Decimal):
            pass
        assert rt(NUMERIC, D2("1.25")) == Decimal("1.25")

    @pytest.mark.parametrize("bad", [None, b"1", [1], 1j])
    def test_type_error(self, bad):
        with pytest.raises(TypeError, match="expected Decimal, int or float"):
            enc(NUMERIC, bad)

    @pytest.mark.parametrize("wire,msg", [
        ("", "at least 8 bytes"),
        ("00010000000000", "at least 8 bytes"),
        ("0001000000000000", "1 digits in 8 bytes"),
        ("000100000000000000010002", "1 digits in 12 bytes"),
        ("ffff000000000000", "-1 digits"),
        ("0001000000000000" "2710", "digit 10000 out of range"),
        ("0000000012340000", "unknown sign 0x1234"),
        ("0000000000004000", "display scale 16384 out of range"),
    ])
    def test_malformed(self, wire, msg):
        with pytest.raises(ValueError, match=msg):
            dec(NUMERIC, bytes.fromhex(wire))

    def test_extreme_weights_decode(self):
        # weight -32768 and +32767 with one digit: rendered, not crashed.
        small = dec(NUMERIC, bytes.fromhex("0001800000000000" "0001"))
        assert small == Decimal("1E-131072")
        big = dec(NUMERIC, bytes.fromhex("00017fff00000000" "0001"))
        assert big == Decimal("1E+131068")

    def test_digits_beyond_dscale_kept(self):
        # 1.5 stored with dscale 0 (never sent by PostgreSQL): not truncated.
        assert dec(NUMERIC, bytes.fromhex("0002000000000000" "00011388")) \
            == Decimal("1.5")

    @given(st.builds(
        lambda s, ds, e: Decimal((s, tuple(ds), e)),
        st.integers(0, 1), st.lists(st.integers(0, 9), min_size=1,
                                    max_size=60),
        st.integers(-16383 + 0, 2000)))
    def test_roundtrip_tuple(self, d):
        assume(d.as_tuple().exponent >= -16383)
        got = rt(NUMERIC, d)
        assert got == d
        assert format(got, "f") == plain(d)

    @given(st.decimals(allow_nan=False, allow_infinity=False))
    def test_roundtrip_decimals(self, d):
        t = d.as_tuple()
        assume(t.exponent >= -16383 and len(t.digits) + t.exponent < 131000)
        assert rt(NUMERIC, d) == d

    @given(st.integers())
    def test_roundtrip_ints(self, v):
        assert rt(NUMERIC, v) == v


# ---------------------------------------------------------------------------
# text family, json
# ---------------------------------------------------------------------------

TEXT_OIDS = [TEXT, VARCHAR, BPCHAR, NAME, XML, JSON, UNKNOWN, 0]
text_values = st.text(st.characters(blacklist_categories=("Cs",),
                                    blacklist_characters="\x00"))


class TestText:
    @pytest.mark.parametrize("oid", TEXT_OIDS)
    def test_roundtrip(self, oid):
        for s in ("", "abc", "héllo wörld", "日本語", "\U0001F600",
                  "a" * 5000):
            assert enc(oid, s) == s.encode()
            assert rt(oid, s) == s

    @pytest.mark.parametrize("oid", TEXT_OIDS)
    def test_nul(self, oid):
        with pytest.raises(ValueError, match="string contains a NUL"):
            enc(oid, "a\x00b")

    @pytest.mark.parametrize("oid", TEXT_OIDS)
    def test_type_error(self, oid):
        with pytest.raises(TypeError, match="expected str, got bytes"):
            enc(oid, b"abc")
        with pytest.raises(TypeError, match="expected str, got int"):
            enc(oid, 1)

    def test_surrogate(self):
        with pytest.raises(UnicodeEncodeError):
            enc(TEXT, "\udc80")

    def test_invalid_utf8(self):
        for bad in (b"\xff", b"\xc3", b"a\xed\xa0\x80", b"\xc0\xaf"):
            with pytest.raises(ValueError):
                dec(TEXT, bad)
            with pytest.raises(UnicodeDecodeError):
                dec(VARCHAR, bad)

    def test_embedded_nul_decodes(self):
        assert dec(TEXT, b"a\x00b") == "a\x00b"

    def test_str_subclass(self):
        class S(str):
            pass
        assert rt(TEXT, S("x")) == "x"

    @given(text_values)
    def test_roundtrip_property(self, s):
        assert rt(TEXT, s) == s
        assert rt(JSONB, s) == s


class TestJson:
    @pytest.mark.parametrize("oid", [JSONB, JSONPATH])
    def test_version_prefix(self, oid):
        assert enc(oid, '{"a": 1}') == b'\x01{"a": 1}'
        assert dec(oid, b'\x01{"a": 1}') == '{"a": 1}'
        assert dec(oid, b"\x01") == ""

    @pytest.mark.parametrize("oid,name", [(JSONB, "jsonb"),
                                          (JSONPATH, "jsonpath")])
    def test_bad_version(self, oid, name):
        with pytest.raises(ValueError,
                           match=f"invalid {name} value: unsupported format "
                                 "version 2"):
            dec(oid, b"\x02{}")
        with pytest.raises(ValueError, match="missing format version"):
            dec(oid, b"")

    def test_json_plain(self):
        assert enc(JSON, "[1]") == b"[1]"
        assert dec(JSON, b"[1]") == "[1]"

    def test_jsonb_errors(self):
        with pytest.raises(TypeError, match="expected str, got dict"):
            enc(JSONB, {})
        with pytest.raises(ValueError, match="NUL"):
            enc(JSONB, "\x00")


# ---------------------------------------------------------------------------
# bytea, "char"
# ---------------------------------------------------------------------------

class TestBytea:
    @pytest.mark.parametrize("oid", [BYTEA, CHAR])
    def test_buffers(self, oid):
        assert rt(oid, b"") == b""
        assert rt(oid, b"\x00\xff") == b"\x00\xff"
        assert rt(oid, bytearray(b"ab")) == b"ab"
        assert rt(oid, memoryview(b"abc")[1:]) == b"bc"
        assert rt(oid, array.array("B", [1, 2])) == b"\x01\x02"
        assert type(dec(oid, b"x")) is bytes

    def test_type_error(self):
        with pytest.raises(TypeError, match="expected a bytes-like object, "
                                            "got str"):
            enc(BYTEA, "abc")
        with pytest.raises(TypeError, match="got NoneType"):
            enc(CHAR, None)

    def test_non_contiguous(self):
        with pytest.raises(BufferError):
            enc(BYTEA, memoryview(b"abcdef")[::2])

    @given(st.binary(max_size=3000))
    def test_roundtrip(self, b):
        assert rt(BYTEA, b) == b


# ---------------------------------------------------------------------------
# uuid
# ---------------------------------------------------------------------------

class TestUUID:
    def test_roundtrip(self):
        u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        assert enc(UUID, u) == u.bytes
        got = dec(UUID, u.bytes)
        assert type(got) is uuid.UUID
        assert got == u and hash(got) == hash(u)
        assert got.is_safe is uuid.SafeUUID.unknown
        assert str(got) == str(u) and got.version == 4
        assert pickle.loads(pickle.dumps(got)) == u

    def test_extremes(self):
        for i in (0, 1, 2**64 - 1, 2**64, 2**128 - 1):
            u = uuid.UUID(int=i)
            assert rt(UUID, u) == u

    @pytest.mark.parametrize("text", [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11",
    ])
    def test_str(self, text):
        want = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        assert rt(UUID, text) == want

    @pytest.mark.parametrize("text", [
        "", "a0eebc99", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
        "g0eebc999c0b4ef8bb6d6bb9bd380a11",
        "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc99--9c0b4ef8bb6d6bb9bd380a11",
        "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "é0eebc999c0b4ef8bb6d6bb9bd380a11",
    ])
    def test_bad_str(self, text):
        with pytest.raises(ValueError, match="invalid UUID"):
            enc(UUID, text)

    def test_subclass_and_types(self):
        class U(uuid.UUID):
            pass
        u = U(int=5)
        assert rt(UUID, u) == uuid.UUID(int=5)
        with pytest.raises(TypeError, match="expected UUID or str, got int"):
            enc(UUID, 5)
        with pytest.raises(TypeError, match="got bytes"):
            enc(UUID, u.bytes)

    def test_bad_size(self):
        with pytest.raises(ValueError,
                           match="invalid uuid value: expected 16"):
            dec(UUID, b"\x00" * 15)

    @given(st.uuids())
    def test_property(self, u):
        assert rt(UUID, u) == u
        assert rt(UUID, str(u)) == u


# ---------------------------------------------------------------------------
# date / time
# ---------------------------------------------------------------------------

def i32(v):
    return struct.pack("!i", v)


def i64(v):
    return struct.pack("!q", v)


class TestDate:
    def test_wire(self):
        assert enc(DATE, dt.date(2000, 1, 1)) == i32(0)
        assert enc(DATE, dt.date(1999, 12, 31)) == i32(-1)
        assert dec(DATE, i32(366)) == dt.date(2001, 1, 1)

    def test_infinity(self):
        assert dec(DATE, i32(2**31 - 1)) is pt.date_infinity
        assert dec(DATE, i32(-2**31)) is pt.date_negative_infinity
        assert enc(DATE, pt.date_infinity) == i32(2**31 - 1)
        assert enc(DATE, pt.date_negative_infinity) == i32(-2**31)
        assert enc(DATE, pt.timestamp_infinity) == i32(2**31 - 1)

    def test_max_is_not_infinity(self):
        assert enc(DATE, dt.date.max) == enc(DATE, dt.date(9999, 12, 31))
        assert enc(DATE, dt.date.max) != i32(2**31 - 1)
        assert dec(DATE, enc(DATE, dt.date.max)) is not pt.date_infinity
        assert rt(DATE, dt.date.min) == dt.date.min

    def test_datetime_and_types(self):
        assert rt(DATE, dt.datetime(2020, 5, 6, 7, 8)) == dt.date(2020, 5, 6)
        with pytest.raises(TypeError, match="expected date, got str"):
            enc(DATE, "2020-01-01")
        with pytest.raises(ValueError, match="invalid date value: expected 4"):
            dec(DATE, b"\x00\x00")

    def test_out_of_range(self):
        days = (dt.date(9999, 12, 31) - dt.date(2000, 1, 1)).days + 1
        with pytest.raises(ValueError,
                           match="10000-01-01 is out of the range"):
            dec(DATE, i32(days))
        with pytest.raises(ValueError, match=r"0001-12-31 BC is out"):
            dec(DATE, i32(-730119 - 1))
        with pytest.raises(ValueError, match="BC"):
            dec(DATE, i32(-2**31 + 1))
        with pytest.raises(ValueError, match="out of the range"):
            dec(DATE, i32(2**31 - 2))

    @given(st.dates())
    def test_property(self, d):
        assert rt(DATE, d) == d
        assert struct.unpack("!i", enc(DATE, d))[0] == (
            d - dt.date(2000, 1, 1)).days


class TestTime:
    def test_wire(self):
        assert enc(TIME, dt.time(0, 0, 1)) == i64(1000000)
        assert dec(TIME, i64(86399999999)) == dt.time(23, 59, 59, 999999)

    def test_tz_ignored(self):
        assert enc(TIME, dt.time(1, tzinfo=tz(5))) == enc(TIME, dt.time(1))
        assert dec(TIME, enc(TIME, dt.time(1))).tzinfo is None

    def test_24h(self):
        with pytest.raises(ValueError, match="24:00:00 is out of the range"):
            dec(TIME, i64(86400000000))
        with pytest.raises(ValueError, match="out of range"):
            dec(TIME, i64(86400000001))
        with pytest.raises(ValueError, match="out of range"):
            dec(TIME, i64(-1))

    def test_types(self):
        with pytest.raises(TypeError, match="expected time, got datetime"):
            enc(TIME, dt.datetime(2000, 1, 1))
        with pytest.raises(ValueError, match="invalid time value"):
            dec(TIME, b"\x00" * 7)

    @given(st.times())
    def test_property(self, t):
        assert rt(TIME, t) == t


class TestTimeTZ:
    def test_wire(self):
        t = dt.time(1, 2, 3, 4, tzinfo=tz(-3, -30))
        assert enc(TIMETZ, t) == i64(3723000004) + i32(12600)
        got = dec(TIMETZ, i64(3723000004) + i32(-3600))
        assert got == dt.time(1, 2, 3, 4, tzinfo=tz(1))
        assert got.utcoffset() == dt.timedelta(hours=1)
        assert dec(TIMETZ, i64(0) + i32(0)).tzinfo is UTC

    def test_naive_refused(self):
        with pytest.raises(TypeError, match="aware time"):
            enc(TIMETZ, dt.time(1))

    def test_microsecond_offset_refused(self):
        with pytest.raises(ValueError, match="microseconds"):
            enc(TIMETZ, dt.time(1, tzinfo=dt.timezone(
                dt.timedelta(microseconds=5))))

    def test_bad(self):
        with pytest.raises(ValueError, match="offset 86400 out of range"):
            dec(TIMETZ, i64(0) + i32(86400))
        with pytest.raises(ValueError, match="expected 12 bytes"):
            dec(TIMETZ, i64(0))
        with pytest.raises(ValueError, match="24:00:00"):
            dec(TIMETZ, i64(86400000000) + i32(0))

    @given(st.times(), st.integers(-15 * 3600 - 3599, 15 * 3600 + 3599))
    def test_property(self, t, off):
        v = t.replace(tzinfo=tz(seconds=off))
        got = rt(TIMETZ, v)
        assert got == v and got.utcoffset() == v.utcoffset()


# ---------------------------------------------------------------------------
# timestamp, timestamptz
# ---------------------------------------------------------------------------

class NoOffset(dt.tzinfo):
    def utcoffset(self, d):
        return None


class TestTimestamp:
    def test_wire(self):
        assert enc(TIMESTAMP, dt.datetime(2000, 1, 1)) == i64(0)
        assert enc(TIMESTAMP, dt.datetime(2000, 1, 1, 0, 0, 0, 1)) == i64(1)
        assert dec(TIMESTAMP, i64(-1)) == dt.datetime(1999, 12, 31, 23, 59,
                                                      59, 999999)

    def test_infinity(self):
        assert dec(TIMESTAMP, i64(2**63 - 1)) is pt.timestamp_infinity
        assert dec(TIMESTAMP, i64(-2**63)) is pt.timestamp_negative_infinity
        assert enc(TIMESTAMP, pt.timestamp_infinity) == i64(2**63 - 1)
        assert enc(TIMESTAMP, pt.timestamp_negative_infinity) == i64(-2**63)
        assert enc(TIMESTAMP, pt.date_infinity) == i64(2**63 - 1)
        assert enc(TIMESTAMP, pt.timestamptz_infinity) == i64(2**63 - 1)

    def test_max_is_not_infinity(self):
        v = dt.datetime.max
        assert enc(TIMESTAMP, v) != i64(2**63 - 1)
        assert rt(TIMESTAMP, v) == v
        assert rt(TIMESTAMP, dt.datetime.min) == dt.datetime.min

    def test_date_is_midnight(self):
        assert rt(TIMESTAMP, dt.date(2020, 2, 3)) == dt.datetime(2020, 2, 3)

    def test_aware_refused(self):
        with pytest.raises(TypeError, match="aware datetime"):
            enc(TIMESTAMP, dt.datetime(2020, 1, 1, tzinfo=UTC))

    def test_tzinfo_without_offset_is_naive(self):
        v = dt.datetime(2020, 1, 1, tzinfo=NoOffset())
        assert enc(TIMESTAMP, v) == enc(TIMESTAMP, v.replace(tzinfo=None))

    def test_subclass(self):
        class D(dt.datetime):
            pass
        assert rt(TIMESTAMP, D(2020, 1, 2, 3)) == dt.datetime(2020, 1, 2, 3)

    def test_out_of_range(self):
        us = int((dt.datetime(9999, 12, 31) - dt.datetime(2000, 1, 1))
                 .total_seconds() + 86400) * 10**6
        with pytest.raises(
                ValueError,
                match="timestamp value 10000-01-01 00:00:00 is out"):
            dec(TIMESTAMP, i64(us))
        with pytest.raises(ValueError, match=r"\.000001\+00 is out"):
            dec(TIMESTAMPTZ, i64(us + 1))
        with pytest.raises(ValueError, match="BC"):
            dec(TIMESTAMP, i64(-2**63 + 1))
        with pytest.raises(ValueError, match="out of the range"):
            dec(TIMESTAMP, i64(2**63 - 2))

    def test_types(self):
        with pytest.raises(TypeError, match="expected datetime or date"):
            enc(TIMESTAMP, "2020-01-01")
        with pytest.raises(TypeError, match="expected datetime or date"):
            enc(TIMESTAMPTZ, 0)
        with pytest.raises(ValueError, match="expected 8 bytes"):
            dec(TIMESTAMP, b"")

    @given(st.datetimes())
    def test_property(self, v):
        assert rt(TIMESTAMP, v) == v


class TestTimestampTZ:
    def test_decode_utc(self):
        got = dec(TIMESTAMPTZ, i64(0))
        assert got == dt.datetime(2000, 1, 1, tzinfo=UTC)
        assert got.tzinfo is UTC

    def test_aware(self):
        v = dt.datetime(2021, 6, 1, 12, tzinfo=tz(3))
        assert enc(TIMESTAMPTZ, v) == enc(TIMESTAMPTZ, v.astimezone(UTC))
        got = rt(TIMESTAMPTZ, v)
        assert got == v and got.hour == 9 and got.tzinfo is UTC

    def test_naive_is_local(self):
        v = dt.datetime(2021, 6, 1, 12, 30)
        assert enc(TIMESTAMPTZ, v) == enc(TIMESTAMPTZ, v.astimezone(UTC))
        v = dt.datetime(2021, 6, 1, 12, 30, tzinfo=NoOffset())
        assert enc(TIMESTAMPTZ, v) == enc(
            TIMESTAMPTZ, v.replace(tzinfo=None).astimezone(UTC))

    def test_date_is_local_midnight(self):
        d = dt.date(2021, 1, 2)
        assert enc(TIMESTAMPTZ, d) == enc(
            TIMESTAMPTZ, dt.datetime(2021, 1, 2).astimezone(UTC))

    def test_zoneinfo(self):
        zoneinfo = pytest.importorskip("zoneinfo")
        try:
            z = zoneinfo.ZoneInfo("America/New_York")
        except zoneinfo.ZoneInfoNotFoundError:
            pytest.skip("no tz database")
        v = dt.datetime(2021, 7, 1, 8, tzinfo=z)
        assert rt(TIMESTAMPTZ, v) == dt.datetime(2021, 7, 1, 12, tzinfo=UTC)

    def test_infinity(self):
        assert dec(TIMESTAMPTZ, i64(2**63 - 1)) is pt.timestamptz_infinity
        ninf = pt.timestamptz_negative_infinity
        assert dec(TIMESTAMPTZ, i64(-2**63)) is ninf
        assert enc(TIMESTAMPTZ, pt.timestamptz_infinity) == i64(2**63 - 1)
        assert enc(TIMESTAMPTZ, pt.timestamp_negative_infinity) == i64(-2**63)
        assert enc(TIMESTAMPTZ, pt.date_negative_infinity) == i64(-2**63)

    def test_extremes(self):
        v = dt.datetime.max.replace(tzinfo=UTC)
        assert rt(TIMESTAMPTZ, v) == v
        assert enc(TIMESTAMPTZ, v) != i64(2**63 - 1)
        # Converts to UTC year 0: encodable (PostgreSQL's range is wider)
        # but not decodable into Python.
        b = enc(TIMESTAMPTZ, dt.datetime(1, 1, 1, tzinfo=tz(5)))
        with pytest.raises(ValueError, match="0001-12-31 19:00:00\\+00 BC"):
            dec(TIMESTAMPTZ, b)

    @given(st.datetimes(min_value=dt.datetime(2, 1, 1),
                        max_value=dt.datetime(9998, 12, 31)),
           st.integers(-15 * 60, 15 * 60))
    def test_property(self, v, minutes):
        a = v.replace(tzinfo=tz(minutes=minutes))
        got = rt(TIMESTAMPTZ, a)
        assert got == a and got.tzinfo is UTC


# ---------------------------------------------------------------------------
# interval
# ---------------------------------------------------------------------------

def interval_bytes(us, days, months):
    return struct.pack("!qii", us, days, months)


class TestInterval:
    def test_wire(self):
        v = dt.timedelta(days=-3, seconds=5, microseconds=7)
        assert enc(INTERVAL, v) == interval_bytes(5000007, -3, 0)
        assert rt(INTERVAL, v) == v

    def test_month_folding(self):
        d = lambda months, days=0, us=0: dec(  # noqa: E731
            INTERVAL, interval_bytes(us, days, months))
        assert d(1) == dt.timedelta(days=30)
        assert d(12) == dt.timedelta(days=365)
        assert d(13) == dt.timedelta(days=395)
        assert d(-13) == dt.timedelta(days=-395)
        assert d(-1, 2, -1) == dt.timedelta(days=-28, microseconds=-1)
        assert d(0, 0, 86400 * 10**6 * 3 + 1) == dt.timedelta(3, 0, 1)

    def test_out_of_range(self):
        with pytest.raises(ValueError, match="out of the range of Python's "
                                             "timedelta"):
            dec(INTERVAL, interval_bytes(0, 0, 2**31 - 1))
        with pytest.raises(ValueError, match="out of the range"):
            dec(INTERVAL, interval_bytes(2**63 - 1, 2**31 - 1, 0))
        with pytest.raises(ValueError, match="-infinity cannot"):
            dec(INTERVAL, interval_bytes(-2**63, -2**31, -2**31))
        with pytest.raises(ValueError, match="infinity cannot"):
            dec(INTERVAL, interval_bytes(2**63 - 1, 2**31 - 1, 2**31 - 1))

    def test_types(self):
        with pytest.raises(TypeError, match="expected timedelta, got int"):
            enc(INTERVAL, 5)
        with pytest.raises(ValueError, match="expected 16 bytes"):
            dec(INTERVAL, b"\x00" * 12)

    def test_extremes(self):
        for v in (dt.timedelta.max, dt.timedelta.min):
            assert rt(INTERVAL, v) == v

    @given(st.timedeltas())
    def test_property(self, v):
        assert rt(INTERVAL, v) == v


# ---------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------

ELEMENT_SAMPLES = {
    BOOL: [True, False],
    BYTEA: [b"", b"\x00\xff"],
    CHAR: [b"a"],
    NAME: ["n"],
    INT8: [2**63 - 1, -2**63],
    INT2: [1, -2],
    INT4: [2**31 - 1],
    TEXT: ["", "é", "a,b{}\"\\"],
    OID: [2**32 - 1],
    XID: [7],
    CID: [8],
    JSON: ["{}"],
    XML: ["<a/>"],
    FLOAT4: [1.5, float("inf")],
    FLOAT8: [0.1, -0.0],
    BPCHAR: ["x  "],
    VARCHAR: ["v"],
    DATE: [dt.date(2020, 1, 1), pt.date_infinity],
    TIME: [dt.time(1, 2, 3, 4)],
    TIMESTAMP: [dt.datetime(2020, 1, 1, 1), pt.timestamp_negative_infinity],
    TIMESTAMPTZ: [dt.datetime(2020, 1, 1, tzinfo=UTC)],
    INTERVAL: [dt.timedelta(1, 2, 3)],
    TIMETZ: [dt.time(4, tzinfo=tz(2))],
    NUMERIC: [Decimal("1.50"), Decimal("-1E+20")],
    UUID: [uuid.UUID(int=12345)],
    JSONB: ['{"a": 1}'],
    JSONPATH: ["$.a"],
}


class TestArray:
    @pytest.mark.parametrize("arr_oid", sorted(ARRAYS))
    def test_every_array_type(self, arr_oid):
        elem = ARRAYS[arr_oid]
        vals = ELEMENT_SAMPLES[elem]
        got = rt(arr_oid, vals + [None])
        assert got == vals + [None]
        got = rt(arr_oid, [vals, vals])
        assert got == [vals, vals]
        assert rt(arr_oid, []) == []
        b = enc(arr_oid, vals)
        assert struct.unpack("!iiI", b[:12]) == (1, 0, elem)

    def test_wire(self):
        assert enc(1007, [[1, 2], [None, 4]]) == array_bytes(
            23, [2, 2], [i32(1), i32(2), None, i32(4)])
        assert enc(1007, []) == struct.pack("!iiI", 0, 0, 23)
        assert enc(1009, ["a"]) == array_bytes(25, [1], [b"a"])

    def test_nesting(self):
        assert rt(1007, (1, 2)) == [1, 2]
        assert rt(1007, [(1, 2), [3, 4]]) == [[1, 2], [3, 4]]
        v = [[[1], [2]], [[3], [4]]]
        assert rt(1007, v) == v
        six = [[[[[[1, 2]]]]]]
        assert rt(1007, six) == six
        assert rt(1007, [None]) == [None]
        assert rt(1007, [[None, None]]) == [[None, None]]

    def test_empty_shapes(self):
        assert enc(1007, [[]]) == enc(1007, [])
        assert enc(1007, [[], []]) == enc(1007, [])
        assert rt(1007, [[[]]]) == []
        with pytest.raises(ValueError, match="not rectangular"):
            enc(1007, [[], [1]])

    def test_other_iterables(self):
        assert rt(1007, {5}) == [5]
        assert rt(1007, range(3)) == [0, 1, 2]
        assert rt(1007, collections.deque([1, 2])) == [1, 2]
        assert rt(1007, frozenset()) == []

    @pytest.mark.parametrize("bad", ["abc", b"abc", bytearray(b"a"),
                                     memoryview(b"a"), {1: 2}, 5, None])
    def test_not_arrays(self, bad):
        with pytest.raises(TypeError, match="expected list or tuple"):
            enc(1007, bad)

    def test_not_rectangular(self):
        with pytest.raises(ValueError, match="not rectangular"):
            enc(1007, [[1, 2], [3]])
        with pytest.raises(ValueError, match="not rectangular"):
            enc(1007, [[1, 2], 3])
        with pytest.raises(ValueError, match="not rectangular"):
            enc(1007, [[[1]], [2]])
        with pytest.raises(TypeError, match="expected int, got list"):
            enc(1007, [1, [2]])

    def test_too_deep(self):
        with pytest.raises(ValueError, match="more than 6 dimensions"):
            enc(1007, [[[[[[[1]]]]]]])
        loop = []
        loop.append(loop)
        with pytest.raises(ValueError, match="more than 6 dimensions"):
            enc(1007, loop)

    def test_element_errors(self):
        with pytest.raises(TypeError, match="expected int, got str"):
            enc(1007, [1, "2"])
        with pytest.raises(OverflowError, match="int2"):
            enc(1005, [1, 70000])

    def test_mutation_during_encode(self):
        v = [1, 2, 3]

        class Evil:
            def __index__(self):
                v.clear()
                return 1
        v[0] = Evil()
        with pytest.raises(ValueError, match="not rectangular"):
            enc(1007, v)

    def test_lower_bounds_ignored(self):
        b = array_bytes(23, [2], [i32(1), i32(2)], lbound=0)
        assert dec(1007, b) == [1, 2]
        b = array_bytes(23, [1], [i32(1)], lbound=-2**31)
        assert dec(1007, b) == [1]

    def test_null_flag_not_required(self):
        b = array_bytes(23, [2], [None, i32(2)], flags=0)
        assert dec(1007, b) == [None, 2]

    def test_zero_dims_decode(self):
        # Any zero dimension means an empty array (PostgreSQL's array_recv);
        # regression: [2**31-1, 0] used to build 2**31 empty lists.
        assert dec(1007, array_bytes(23, [2, 0], [])) == []
        assert dec(1007, array_bytes(23, [0, 2**31 - 1], [])) == []
        assert dec(1007, array_bytes(23, [2**31 - 1, 0], [])) == []
        assert dec(1007, array_bytes(23, [2**31 - 1] * 5 + [0], [])) == []
        with pytest.raises(ValueError, match="trailing"):
            dec(1007, array_bytes(23, [5, 0], [i32(1)]))

    @pytest.mark.parametrize("data,msg", [
        (b"", "truncated header"),
        (b"\x00" * 11, "truncated header"),
        (struct.pack("!iiI", 7, 0, 23), "7 dimensions"),
        (struct.pack("!iiI", -1, 0, 23), "-1 dimensions"),
        (struct.pack("!iiI", 1, 2, 23), "flags 2"),
        (struct.pack("!iiI", 0, 0, 25), "element type 25, expected 23"),
        (struct.pack("!iiI", 1, 0, 23), "truncated dimensions"),
        (struct.pack("!iiI", 2, 0, 23) + struct.pack("!ii", 1, 1),
         "truncated dimensions"),
        (struct.pack("!iiIii", 1, 0, 23, -1, 1), "negative dimension"),
        (struct.pack("!iiIii", 1, 0, 23, 2**31 - 1, 1), "dimensions exceed"),
        (struct.pack("!iiIiiiiii", 3, 0, 23, 2**31 - 1, 1, 2**31 - 1, 1,
                     2**31 - 1, 1), "dimensions exceed"),
        (struct.pack("!iiIii", 1, 0, 23, 1, 1) + b"\x00\x00",
         "dimensions exceed"),
        (struct.pack("!iiIiii", 1, 0, 23, 1, 1, 5) + b"\x00" * 4,
         "element length 5, 4 bytes left"),
        (struct.pack("!iiIiii", 1, 0, 23, 1, 1, -2), "element length -2"),
        (struct.pack("!iiIiii", 1, 0, 23, 1, 1, 3) + b"\x00" * 3,
         "invalid int4 value: expected 4 bytes, got 3"),
        (array_bytes(23, [1], [i32(1)]) + b"\x00", "1 trailing bytes"),
        (struct.pack("!iiI", 0, 0, 23) + b"\x00", "1 trailing bytes"),
    ])
    def test_malformed(self, data, msg):
        with pytest.raises(ValueError, match=msg):
            dec(1007, data)

    def test_truncated_element_header(self):
        b = struct.pack("!iiIii", 1, 0, 25, 2, 1) + i32(1) + b"x" + b"\0" * 3
        with pytest.raises(ValueError, match="truncated element"):
            dec(1009, b)

    def test_huge_counts_are_cheap(self):
        # A tiny message claiming 2**31-1 x 2**31-1 elements is refused
        # before any allocation.
        b = struct.pack("!iiIiiii", 2, 0, 23, 2**31 - 1, 1, 2**31 - 1, 1)
        for _ in range(1000):
            with pytest.raises(ValueError):
                dec(1007, b + b"\x00" * 64)

    def test_nested_element_errors_propagate(self):
        b = array_bytes(25, [2], [b"ok", b"\xff"])
        with pytest.raises(UnicodeDecodeError):
            dec(1009, b)
        b = array_bytes(1700, [1], [bytes.fromhex("0000000012340000")])
        with pytest.raises(ValueError, match="unknown sign"):
            dec(1231, b)

    @given(st.recursive(
        st.lists(st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)),
                 min_size=1, max_size=4),
        lambda inner: st.integers(1, 3).flatmap(
            lambda k: st.lists(inner, min_size=k, max_size=k)),
        max_leaves=40))
    def test_property_rectangular(self, value):
        try:
            b = enc(1007, value)
        except ValueError as e:
            # only non-rectangular / too deep shapes may be refused
            assert "rectangular" in str(e) or "dimensions" in str(e)
            return
        except TypeError as e:
            # a list deeper than the first element's depth reaches the
            # element codec
            assert "expected int, got list" in str(e)
            return
        assert dec(1007, b) == value

    @given(st.lists(st.lists(text_values, min_size=2, max_size=2),
                    max_size=5))
    def test_property_text_2d(self, value):
        assert rt(1009, value) == (value if value else [])


# ---------------------------------------------------------------------------
# Malformed input never crashes
# ---------------------------------------------------------------------------

class TestFuzz:
    @settings(max_examples=300,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(ALL_OIDS), st.binary(max_size=64))
    def test_random_bytes(self, oid, data):
        try:
            dec(oid, data)
        except ValueError:
            pass

    @pytest.mark.parametrize("oid,value", [
        (1007, [[1, None], [3, 4]]),
        (1231, [Decimal("1.5"), None, Decimal("NaN")]),
        (1009, ["a", "é"]),
        (1185, [dt.datetime(2020, 1, 1, tzinfo=UTC)]),
        (NUMERIC, Decimal("-123456.789")),
        (TIMETZ, dt.time(1, tzinfo=UTC)),
        (INTERVAL, dt.timedelta(3)),
        (UUID, uuid.UUID(int=7)),
        (JSONB, "{}"),
    ])
    def test_every_truncation_and_bitflip(self, oid, value):
        b = enc(oid, value)
        for i in range(len(b)):
            try:
                dec(oid, b[:i])
            except ValueError:
                pass
            for bit in (0x01, 0x80, 0xff):
                mutated = bytearray(b)
                mutated[i] ^= bit
                try:
                    dec(oid, bytes(mutated))
                except ValueError:
                    pass


# ---------------------------------------------------------------------------
# Record
# ---------------------------------------------------------------------------

Record = m.Record


def rec(**kw):
    return m._make_record(tuple(kw), tuple(kw.values()))


class MyRecord(Record):
    pass


class TestRecordBasics:
    def test_type(self):
        assert Record.__name__ == "Record"
        assert Record.__module__ == "pgwire"
        r = rec(a=1)
        assert type(r) is Record
        assert not isinstance(r, tuple)

    def test_sequence(self):
        r = rec(a=1, b="x", c=None)
        assert len(r) == 3
        assert r[0] == 1 and r[1] == "x" and r[2] is None
        assert r[-1] is None and r[-3] == 1
        assert r[True] == "x"
        assert r[IndexLike(1)] == "x"
        for i in (3, -4, 2**100, -2**100):
            with pytest.raises(IndexError):
                r[i]
        assert list(r) == [1, "x", None]
        assert tuple(reversed(r)) == (None, "x", 1)
        assert operator.getitem(r, 1) == "x"

    def test_slices(self):
        r = rec(a=1, b=2, c=3, d=4)
        assert r[1:3] == (2, 3) and type(r[1:3]) is tuple
        assert r[::-1] == (4, 3, 2, 1)
        assert r[::2] == (1, 3)
        assert r[5:] == ()
        assert r[-2:] == (3, 4)
        assert r[:] == (1, 2, 3, 4)

    def test_mapping(self):
        r = rec(a=1, b="x")
        assert r["a"] == 1 and r["b"] == "x"
        with pytest.raises(KeyError) as ei:
            r["zz"]
        assert ei.value.args == ("zz",)
        with pytest.raises(KeyError):
            r[1.5]
        with pytest.raises(KeyError):
            r[b"a"]
        with pytest.raises(TypeError):
            r[["a"]]
        assert "a" in r and "zz" not in r
        assert 1 not in r and "x" not in r
        assert dict(r) == {"a": 1, "b": "x"}

    def test_get(self):
        r = rec(a=1)
        assert r.get("a") == 1
        assert r.get("b") is None
        assert r.get("b", 5) == 5
        assert r.get(0) is None
        assert r.get(0, "d") == "d"
        with pytest.raises(TypeError):
            r.get()
        with pytest.raises(TypeError):
            r.get("a", 1, 2)
        with pytest.raises(TypeError):
            r.get([])

    def test_iterators(self):
        r = rec(a=1, b=2)
        for it in (r.keys(), r.values(), r.items(), iter(r)):
            assert iter(it) is it
        assert list(r.keys()) == ["a", "b"]
        assert list(r.values()) == [1, 2]
        assert list(r.items()) == [("a", 1), ("b", 2)]
        it = r.items()
        assert operator.length_hint(it) == 2
        next(it)
        assert operator.length_hint(it) == 1
        next(it)
        with pytest.raises(StopIteration):
            next(it)
        with pytest.raises(StopIteration):
            next(it)
        assert operator.length_hint(it) == 0

    def test_iterator_types_not_instantiable(self):
        r = rec(a=1)
        for it in (iter(r), r.items()):
            with pytest.raises(TypeError, match="cannot create"):
                type(it)()

    def test_duplicate_names(self):
        r = m._make_record(("a", "b", "a"), (1, 2, 3))
        assert r["a"] == 3
        assert list(r.keys()) == ["a", "b", "a"]
        assert list(r.items()) == [("a", 1), ("b", 2), ("a", 3)]
        assert repr(r) == "<Record a=1 b=2 a=3>"

    def test_empty(self):
        r = m._make_record((), ())
        assert len(r) == 0 and list(r) == [] and r == ()
        assert repr(r) == "<Record>"
        assert hash(r) == hash(())


class TestRecordCompare:
    def test_hash(self):
        r = rec(a=1, b="x")
        assert hash(r) == hash((1, "x"))
        assert hash(r) == hash(r)
        assert hash(rec(a=None)) == hash((None,))
        assert {r: 1}[(1, "x")] == 1
        assert hash(rec(a=-1)) == hash((-1,))

    def test_unhashable(self):
        r = rec(a=[1])
        with pytest.raises(TypeError):
            hash(r)
        with pytest.raises(TypeError):
            hash(r)

    @given(st.lists(st.one_of(st.integers(), st.text(), st.none(),
                              st.floats(allow_nan=False))))
    def test_hash_property(self, values):
        r = m._make_record(tuple(f"c{i}" for i in range(len(values))),
                           tuple(values))
        assert hash(r) == hash(tuple(values))
        assert r == tuple(values)

    def test_equality(self):
        r = rec(a=1, b=2)
        assert r == (1, 2) and (1, 2) == r
        assert not (r != (1, 2))
        assert r != [1, 2] and [1, 2] != r
        assert r != (1, 2, 3) and r != (1,)
        assert r == rec(x=1, y=2)  # names ignored
        assert r != rec(a=1, b=3)
        Point = collections.namedtuple("Point", "a b")
        assert r == Point(1, 2)
        assert r != 1 and r != "ab" and r != None  # noqa: E711

    def test_ordering(self):
        r = rec(a=1, b=2)
        assert r < (1, 3) and r <= (1, 2) and r > (1, 1) and r >= (0, 9)
        assert (1, 3) > r and (0,) < r
        assert r < (1, 2, 0) and r > (1,)
        assert rec(a=1) < rec(a=2)
        assert sorted([rec(a=3), rec(a=1), rec(a=2)]) == [(1,), (2,), (3,)]
        with pytest.raises(TypeError):
            r < [1, 2]
        with pytest.raises(TypeError):
            rec(a=1) < rec(a="x")

    def test_nan_identity(self):
        nan = float("nan")
        r = rec(a=nan)
        assert r == (nan,)


class TestRecordMisc:
    def test_repr(self):
        assert repr(rec(a=1, b="x")) == "<Record a=1 b='x'>"
        assert str(rec(a=None)) == "<Record a=None>"

    def test_repr_recursive(self):
        lst = []
        r = m._make_record(("a",), (lst,))
        lst.append(r)
        assert repr(r) == "<Record a=[<Record ...>]>"

    def test_not_instantiable(self):
        with pytest.raises(TypeError,
                           match="cannot create 'pgwire.Record' instances"):
            Record()
        with pytest.raises(TypeError, match="cannot create"):
            MyRecord()

    def test_not_picklable(self):
        r = rec(a=1)
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(TypeError, match="cannot pickle"):
                pickle.dumps(r, proto)
        with pytest.raises(TypeError):
            copy.copy(r)

    def test_immutable(self):
        r = rec(a=1)
        with pytest.raises(TypeError):
            r[0] = 2
        with pytest.raises(TypeError):
            r["a"] = 2
        with pytest.raises(AttributeError):
            r.a = 2
        with pytest.raises(TypeError):
            Record.foo = 1

    def test_subclass(self):
        r = m._make_record(("a", "b"), (1, 2), MyRecord)
        assert type(r) is MyRecord and isinstance(r, Record)
        assert repr(r) == "<MyRecord a=1 b=2>"
        assert r["b"] == 2 and r[0] == 1 and r == (1, 2)
        assert hash(r) == hash((1, 2))
        assert list(r.items()) == [("a", 1), ("b", 2)]
        r.extra = "attr"  # subclasses get a __dict__
        assert r.extra == "attr"
        assert m._make_record(("a",), (1,), None).__class__ is Record

    def test_subclass_methods(self):
        class R2(Record):
            def total(self):
                return sum(self.values())
        r = m._make_record(("a", "b"), (1, 2), R2)
        assert r.total() == 3

    def test_make_record_validation(self):
        with pytest.raises(TypeError, match="subclass of Record"):
            m._make_record(("a",), (1,), tuple)
        with pytest.raises(TypeError, match="subclass of Record"):
            m._make_record(("a",), (1,), 5)
        with pytest.raises(ValueError, match="record of 2 items"):
            m._make_record(("a",), (1, 2))
        with pytest.raises(TypeError, match="names must be str"):
            m._make_record((1,), (1,))
        with pytest.raises(TypeError, match="names must be a tuple"):
            m._make_record(["a"], (1,))
        with pytest.raises(TypeError):
            m._make_record(("a",))

    def test_gc_cycles(self):
        collected = []

        class Canary:
            def __del__(self):
                collected.append(1)

        for cls in (None, MyRecord):
            lst = [Canary()]
            r = m._make_record(("a",), (lst,), cls)
            lst.append(r)
            it = r.items()
            lst.append(it)
            del r, lst, it
            gc.collect()
        assert collected == [1, 1]

    def test_gc_tracked(self):
        # atomic items only: immutable, cannot be in a cycle -> untracked
        assert not gc.is_tracked(rec(a=1, b="x"))
        assert not gc.is_tracked(rec(a=rec(b=1)))
        # anything that can hold references -> tracked
        assert gc.is_tracked(rec(a=[1]))
        assert gc.is_tracked(rec(a={}))
        assert gc.is_tracked(rec(a=rec(b=[1])))
        # subclass instances have a __dict__: always tracked
        assert gc.is_tracked(m._make_record(("a",), (1,), MyRecord))

    def test_no_refcount_leak(self):
        if not hasattr(sys, "gettotalrefcount"):
            pytest.skip("needs a debug build of Python")
        names, values = ("a", "b"), (object(), "x")

        def work():
            for _ in range(200):
                r = m._make_record(names, values)
                list(r.items()), list(r), r["a"], r[0:1], repr(r)
                r.get("zz"), hash(rec(a=1))
        work()
        before = sys.gettotalrefcount()
        work()
        assert sys.gettotalrefcount() - before < 50

    def test_values_outlive_record(self):
        it = rec(a="v").values()
        gc.collect()
        assert list(it) == ["v"]


LEAK_ENCODE = [(oid, v) for oid, vals in ELEMENT_SAMPLES.items()
               for v in vals] + [
    (a, [ELEMENT_SAMPLES[e], ELEMENT_SAMPLES[e]]) for a, e in ARRAYS.items()
] + [(a, ELEMENT_SAMPLES[e] + [None]) for a, e in ARRAYS.items()] + [
    (NUMERIC, 10**30), (NUMERIC, 0.1), (NUMERIC, "1.5"),
    (NUMERIC, Decimal("NaN")), (NUMERIC, Decimal("-inf")),
    (TIMESTAMPTZ, dt.datetime(2020, 1, 1)), (TIMESTAMPTZ, dt.date(2020, 1, 1)),
    (TIMESTAMPTZ, dt.datetime(2020, 1, 1, tzinfo=tz(2))),
    (UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), (1007, {1}),
]
LEAK_ERRORS = [
    (INT4, "x"), (INT2, 10**6), (INT8, 10**10000), (FLOAT4, 1e39),
    (FLOAT8, "x"), (NUMERIC, "abc"), (NUMERIC, Decimal("1E-20000")),
    (NUMERIC, None), (TEXT, 1), (TEXT, "a\x00"), (TEXT, "\udc80"),
    (JSONB, 1), (BYTEA, "x"), (UUID, "zz"), (UUID, 1), (DATE, "x"),
    (TIMESTAMP, dt.datetime(2020, 1, 1, tzinfo=UTC)), (TIMETZ, dt.time()),
    (INTERVAL, 1), (1007, [[1], [2, 3]]), (1007, [1, "x"]), (1007, "x"),
    (1007, [[[[[[[1]]]]]]]),
]
LEAK_DECODE_ERRORS = [
    (INT4, b"\0"), (NUMERIC, bytes.fromhex("0000000012340000")),
    (TEXT, b"\xff"), (JSONB, b"\x02"), (DATE, i32(2**31 - 2)),
    (TIMESTAMP, i64(2**63 - 2)), (TIME, i64(86400000000)),
    (TIMETZ, i64(0) + i32(90000)), (INTERVAL, interval_bytes(0, 0, 2**31 - 1)),
    (1007, b"\0" * 11), (1009, array_bytes(25, [2], [b"ok", b"\xff"])),
    (1007, array_bytes(23, [1], [i32(1)]) + b"\0"),
]


@pytest.mark.skipif(not hasattr(sys, "gettotalrefcount"),
                    reason="needs a debug build of Python")
def test_codec_refcount_leaks():
    def work():
        for oid, v in LEAK_ENCODE:
            dec(oid, enc(oid, v))
        for oid, v in LEAK_ERRORS:
            try:
                enc(oid, v)
            except (TypeError, ValueError, OverflowError):
                pass
        for oid, b in LEAK_DECODE_ERRORS:
            try:
                dec(oid, b)
            except ValueError:
                pass
    for _ in range(3):
        work()
    gc.collect()
    before = sys.gettotalrefcount()
    for _ in range(20):
        work()
    gc.collect()
    assert sys.gettotalrefcount() - before < 100
