"""pgwire.types: asyncpg.types-compatible value types and version parsing.

No server and no C extension needed.  Behaviour is compared with asyncpg's
own types wherever possible (those comparisons skip only when asyncpg is not
importable).
"""

import datetime
import itertools
import pickle

import pytest
from pure_import import import_pure

t = import_pure("pgwire.types")

try:
    import asyncpg.types as apg
    from asyncpg.serverversion import split_server_version_string
except ImportError:  # pragma: no cover
    apg = None
    split_server_version_string = None

needs_asyncpg = pytest.mark.skipif(apg is None,
                                   reason="asyncpg is not importable")


def test_all():
    for name in ("Type", "Attribute", "Range", "BitString", "Point", "Path",
                 "Polygon", "Box", "Line", "LineSegment", "Circle",
                 "ServerVersion"):
        assert name in t.__all__
        assert hasattr(t, name)
    for name in t.__all__:
        assert hasattr(t, name), name
    assert len(t.__all__) == len(set(t.__all__))


@needs_asyncpg
def test_all_covers_asyncpg():
    assert set(apg.__all__) <= set(t.__all__)


def test_infinity_section_untouched():
    assert t.date_infinity == datetime.date.max
    assert t.date_negative_infinity == datetime.date.min
    assert isinstance(t.timestamp_infinity, t.InfiniteDatetime)
    assert str(t.timestamptz_negative_infinity) == "-infinity"
    for name in ("date_infinity", "date_negative_infinity",
                 "timestamp_infinity", "timestamp_negative_infinity",
                 "timestamptz_infinity", "timestamptz_negative_infinity",
                 "InfiniteDate", "InfiniteDatetime"):
        assert name in t.__all__


# ---------------------------------------------------------------------------
# Type, Attribute, ServerVersion
# ---------------------------------------------------------------------------

def test_type_and_attribute():
    typ = t.Type(23, "int4", "scalar", "pg_catalog")
    assert typ.oid == 23 and typ.name == "int4"
    assert typ.kind == "scalar" and typ.schema == "pg_catalog"
    assert typ == (23, "int4", "scalar", "pg_catalog")
    assert t.Type._fields == ("oid", "name", "kind", "schema")
    attr = t.Attribute("id", typ)
    assert attr.name == "id" and attr.type.oid == 23
    assert t.Attribute._fields == ("name", "type")
    assert attr._replace(name="x") == ("x", typ)
    assert pickle.loads(pickle.dumps(attr)) == attr


@needs_asyncpg
def test_namedtuple_fields_match_asyncpg():
    assert t.Type._fields == apg.Type._fields
    assert t.Attribute._fields == apg.Attribute._fields
    assert t.ServerVersion._fields == apg.ServerVersion._fields


VERSION_CASES = {
    "15.18 (Debian 15.18-0+deb12u1)": (15, 0, 18, "final", 0),
    "16beta1": (16, 0, 0, "beta", 1),
    "9.6.3": (9, 6, 3, "final", 0),
    "17devel": (17, 0, 0, "devel", 0),
    "18rc1": (18, 0, 0, "rc", 1),
    "9.4beta2": (9, 4, 0, "beta", 2),
    "9.6": (9, 6, 0, "final", 0),
    "10.1": (10, 0, 1, "final", 0),
    "10devel": (10, 0, 0, "devel", 0),
    "12.0": (12, 0, 0, "final", 0),
    "14": (14, 0, 0, "final", 0),
    "16.4 (Ubuntu 16.4-1.pgdg22.04+1)": (16, 0, 4, "final", 0),
    "PostgreSQL 13.2 on x86_64-pc-linux-gnu": (13, 0, 2, "final", 0),
    "17.0": (17, 0, 0, "final", 0),
    "19beta2 (Debian 19~beta2-1)": (19, 0, 0, "beta", 2),
}


@pytest.mark.parametrize("version,expected", sorted(VERSION_CASES.items()))
def test_parse_server_version(version, expected):
    v = t._parse_server_version(version)
    assert type(v) is t.ServerVersion
    assert v == expected
    assert v.major == expected[0] and v.releaselevel == expected[3]


@needs_asyncpg
@pytest.mark.parametrize("version", sorted(VERSION_CASES) + [
    "9.2.24", "11.22", "8.4.0", "96", "10.1.2", "13.2beta", "16alpha3"])
def test_parse_server_version_matches_asyncpg(version):
    assert (tuple(t._parse_server_version(version))
            == tuple(split_server_version_string(version)))


@pytest.mark.parametrize("bad", ["", "devel", "PostgreSQL"])
def test_parse_server_version_invalid(bad):
    with pytest.raises(ValueError):
        t._parse_server_version(bad)


def test_server_version_compares_as_tuple():
    assert t._parse_server_version("15.18") >= (15, 0)
    assert t._parse_server_version("9.6.3") < (10,)
    assert t._parse_server_version("16beta1")[:2] == (16, 0)


# ---------------------------------------------------------------------------
# Range
# ---------------------------------------------------------------------------

def test_range_basics():
    r = t.Range(1, 5)
    assert r.lower == 1 and r.upper == 5
    assert r.lower_inc and not r.upper_inc
    assert not r.lower_inf and not r.upper_inf
    assert not r.isempty and bool(r)
    assert repr(r) == "<Range [1, 5)>" == str(r)

    r = t.Range(None, 5, upper_inc=True)
    assert r.lower_inf and not r.lower_inc     # infinite is never inclusive
    assert repr(r) == "<Range (, 5]>"

    r = t.Range()
    assert r.lower_inf and r.upper_inf and bool(r)
    assert repr(r) == "<Range (, )>"

    e = t.Range(1, 5, empty=True)
    assert e.isempty and not e
    assert e.lower is None and e.upper is None
    assert not e.lower_inf and not e.upper_inf
    assert not e.lower_inc and not e.upper_inc
    assert repr(e) == "<Range empty>"
    assert e == t.Range(empty=True)


def test_range_eq_hash():
    assert t.Range(1, 5) == t.Range(1, 5)
    assert t.Range(1, 5) != t.Range(1, 5, upper_inc=True)
    assert t.Range(1, 5) != (1, 5)
    assert len({t.Range(1, 5), t.Range(1, 5), t.Range(2, 5)}) == 2
    assert t.Range(1, 5).__eq__(object()) is NotImplemented


def test_range_is_immutable():
    r = t.Range(1, 5)
    with pytest.raises(AttributeError):
        r.lower = 2
    with pytest.raises(AttributeError):
        r.foo = 1


def test_range_subset():
    assert t.Range(2, 3).issubset(t.Range(1, 5))
    assert t.Range(1, 5).issuperset(t.Range(2, 3))
    assert not t.Range(0, 3).issubset(t.Range(1, 5))
    assert t.Range(1, 5).issubset(t.Range(None, None))
    assert t.Range(empty=True).issubset(t.Range(1, 2))
    assert not t.Range(1, 2).issubset(t.Range(empty=True))
    assert not t.Range(1, 5, upper_inc=True).issubset(t.Range(1, 5))
    assert t.Range(1, 5).issubset(t.Range(1, 5, upper_inc=True))


def test_range_generic_alias_and_pickle():
    assert t.Range[int] is not None
    r = t.Range(datetime.date(2020, 1, 1), None, lower_inc=False)
    r2 = pickle.loads(pickle.dumps(r))
    assert r2 == r and type(r2) is t.Range
    e = pickle.loads(pickle.dumps(t.Range(empty=True)))
    assert e.isempty


def _range_grid():
    bounds = [None, 1, 3, 5]
    out = [dict(empty=True)]
    for lo, hi in itertools.product(bounds, bounds):
        if lo is not None and hi is not None and lo > hi:
            continue
        for li, ui in itertools.product((True, False), repeat=2):
            out.append(dict(lower=lo, upper=hi, lower_inc=li, upper_inc=ui))
    return out


RANGE_GRID = _range_grid()


@needs_asyncpg
def test_range_matches_asyncpg():
    props = ("lower", "upper", "lower_inc", "upper_inc", "lower_inf",
             "upper_inf", "isempty")
    for kw in RANGE_GRID:
        ours, theirs = t.Range(**kw), apg.Range(**kw)
        for p in props:
            assert getattr(ours, p) == getattr(theirs, p), (kw, p)
        assert repr(ours) == repr(theirs), kw
        assert bool(ours) == bool(theirs), kw
        assert hash(ours) == hash(theirs), kw
    for kw1, kw2 in itertools.product(RANGE_GRID, repeat=2):
        a, b = t.Range(**kw1), t.Range(**kw2)
        x, y = apg.Range(**kw1), apg.Range(**kw2)
        assert a.issubset(b) == x.issubset(y), (kw1, kw2)
        assert a.issuperset(b) == x.issuperset(y), (kw1, kw2)
        assert (a == b) == (x == y), (kw1, kw2)


# ---------------------------------------------------------------------------
# BitString
# ---------------------------------------------------------------------------

BIT_STRINGS = ["", "0", "1", "10", "1011", "1011 0", "10110101",
               "101101011", "1111 0000 1111 0000 1", "0" * 16, "1" * 17,
               " 1 0 1 "]


def test_bitstring_basics():
    b = t.BitString("1011 01")
    assert len(b) == 6
    assert b.bytes == b"\xb4"
    assert b.as_string() == "1011 01"
    assert repr(b) == "<BitString 1011 01>" == str(b)
    assert [b[i] for i in range(6)] == [1, 0, 1, 1, 0, 1]
    assert b[-1] == 1 and b[-6] == 1 and b[-5] == 0
    with pytest.raises(IndexError):
        b[6]
    with pytest.raises(IndexError):
        b[-7]
    with pytest.raises(NotImplementedError):
        b[1:3]
    assert t.BitString() == t.BitString("") == t.BitString.frombytes()
    assert len(t.BitString()) == 0 and t.BitString().bytes == b""
    assert t.BitString("101") == t.BitString.frombytes(b"\xa0", 3)
    assert t.BitString("101") != t.BitString("1010")
    assert t.BitString("101") != "101"
    assert len({t.BitString("101"), t.BitString("1 01"),
                t.BitString("10")}) == 2


def test_bitstring_invalid():
    with pytest.raises(ValueError, match="position 2"):
        t.BitString("102")
    with pytest.raises(ValueError):
        t.BitString("10x")


@pytest.mark.parametrize("data,bitlength", [
    (b"", 1), (b"\x00", 0), (b"\x00", 9), (b"\x00\x00", 7),
])
def test_bitstring_frombytes_invalid(data, bitlength):
    with pytest.raises(ValueError, match="invalid bit length"):
        t.BitString.frombytes(data, bitlength)


def test_bitstring_frombytes():
    b = t.BitString.frombytes(b"\xff\x80")
    assert len(b) == 16
    b = t.BitString.frombytes(b"\xff\x80", 9)
    assert b.as_string() == "1111 1111 1"
    z = t.BitString.frombytes(None, 8)
    assert len(z) == 8 and z.bytes == b"\x00"
    assert z == t.BitString("00000000")
    z = t.BitString.frombytes(None, 3)
    assert z == t.BitString("000")
    assert isinstance(t.BitString.frombytes(bytearray(b"\x80"), 1).bytes,
                      bytes)


def test_bitstring_int_conversion():
    b = t.BitString("1011")
    assert b.to_int() == 11
    assert b.to_int("little") == 13
    assert b.to_int(signed=True) == -5
    assert t.BitString.from_int(11, 4) == b
    assert t.BitString.from_int(-5, 4, signed=True) == b
    assert t.BitString.from_int(13, 4, "little") == b
    assert t.BitString.from_int(0, 0) == t.BitString()
    assert t.BitString().to_int() == 0
    with pytest.raises(OverflowError):
        t.BitString.from_int(16, 4)
    with pytest.raises(OverflowError):
        t.BitString.from_int(-1, 4)
    with pytest.raises(ValueError):
        t.BitString.from_int(1, -1)
    with pytest.raises(ValueError):
        t.BitString.from_int(1, 4, "middle")
    with pytest.raises(ValueError):
        b.to_int("middle")


def test_bitstring_pickle_and_immutability():
    b = t.BitString("1011 0")
    assert pickle.loads(pickle.dumps(b)) == b
    with pytest.raises(AttributeError):
        b.foo = 1


@needs_asyncpg
@pytest.mark.parametrize("s", BIT_STRINGS)
def test_bitstring_matches_asyncpg(s):
    ours, theirs = t.BitString(s), apg.BitString(s)
    assert ours.bytes == theirs.bytes
    assert len(ours) == len(theirs)
    assert ours.as_string() == theirs.as_string()
    assert repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs)
    assert [ours[i] for i in range(len(ours))] == \
        [theirs[i] for i in range(len(theirs))]
    for order in ("big", "little"):
        for signed in (False, True):
            assert (ours.to_int(order, signed=signed)
                    == theirs.to_int(order, signed=signed))


@needs_asyncpg
def test_bitstring_from_int_matches_asyncpg():
    for length in range(0, 19):
        for x in range(-(1 << length) - 1, (1 << length) + 1,
                       max(1, (1 << length) // 37)):
            for order in ("big", "little"):
                for signed in (False, True):
                    try:
                        theirs = apg.BitString.from_int(x, length, order,
                                                        signed=signed)
                    except (OverflowError, ValueError) as e:
                        with pytest.raises(type(e)):
                            t.BitString.from_int(x, length, order,
                                                 signed=signed)
                        continue
                    ours = t.BitString.from_int(x, length, order,
                                                signed=signed)
                    assert ours.bytes == theirs.bytes, (x, length, order)
                    assert len(ours) == len(theirs)


@needs_asyncpg
def test_bitstring_frombytes_matches_asyncpg():
    for data in (b"", b"\x00", b"\xab", b"\xab\xcd"):
        for bitlength in [None] + list(range(0, 18)):
            try:
                theirs = apg.BitString.frombytes(data, bitlength)
            except ValueError:
                with pytest.raises(ValueError):
                    t.BitString.frombytes(data, bitlength)
                continue
            ours = t.BitString.frombytes(data, bitlength)
            assert (ours.bytes, len(ours)) == (theirs.bytes, len(theirs))
            assert ours.as_string() == theirs.as_string()


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------

def test_point():
    p = t.Point(1, "2.5")
    assert p == (1.0, 2.5) and isinstance(p, tuple)
    assert type(p.x) is float and p.y == 2.5
    assert repr(p) == "pgwire.types.Point((1.0, 2.5))"
    with pytest.raises(ValueError):
        t.Point("a", 1)
    with pytest.raises(AttributeError):
        p.z = 1
    assert pickle.loads(pickle.dumps(p)) == p


def test_box_and_lseg():
    b = t.Box((2, 3), [0, 1])
    assert b.high == (2.0, 3.0) and type(b.high) is t.Point
    assert b.low == t.Point(0, 1)
    assert repr(b) == ("pgwire.types.Box((pgwire.types.Point((2.0, 3.0)), "
                       "pgwire.types.Point((0.0, 1.0))))")
    s = t.LineSegment((0, 0), (1, 1))
    assert s.p1 == (0, 0) and s.p2 == t.Point(1, 1)
    assert type(s.p2) is t.Point
    assert repr(s) == ("pgwire.types.LineSegment((pgwire.types.Point("
                       "(0.0, 0.0)), pgwire.types.Point((1.0, 1.0))))")
    for o in (b, s):
        o2 = pickle.loads(pickle.dumps(o))
        assert o2 == o and type(o2) is type(o) and type(o2[0]) is t.Point


def test_line_and_circle():
    line = t.Line(1, -1, 0.5)
    assert (line.A, line.B, line.C) == (1, -1, 0.5)
    assert line == (1, -1, 0.5)
    c = t.Circle(t.Point(1, 2), 3.0)
    assert c.center == (1.0, 2.0) and c.radius == 3.0
    for o in (line, c):
        o2 = pickle.loads(pickle.dumps(o))
        assert o2 == o and type(o2) is type(o)


def test_path_and_polygon():
    p = t.Path((0, 0), (1, 1), [2, 0])
    assert not p.is_closed
    assert len(p) == 3 and list(p) == [(0, 0), (1, 1), (2, 0)]
    assert all(type(pt) is t.Point for pt in p.points)
    assert p[1] == t.Point(1, 1) and p[:2] == ((0, 0), (1, 1))
    assert (1, 1) in p and (5, 5) not in p
    assert p != t.Path((0, 0), (1, 1), (2, 0), is_closed=True)
    assert p == t.Path((0, 0), (1, 1), (2, 0))
    assert hash(p) == hash(t.Path((0, 0), (1, 1), (2, 0)))
    assert p != [(0, 0), (1, 1), (2, 0)]
    with pytest.raises(AttributeError):
        p.foo = 1

    poly = t.Polygon((0, 0), (1, 1), (2, 0))
    assert poly.is_closed and isinstance(poly, t.Path)
    assert poly == t.Path((0, 0), (1, 1), (2, 0), is_closed=True)
    with pytest.raises(TypeError):
        t.Polygon((0, 0), is_closed=False)

    assert repr(t.Path((1, 2), is_closed=True)) == \
        "pgwire.types.Path((1.0, 2.0), is_closed=True)"
    assert repr(poly) == \
        "pgwire.types.Polygon((0.0, 0.0), (1.0, 1.0), (2.0, 0.0))"
    for o in (p, poly, t.Path()):
        o2 = pickle.loads(pickle.dumps(o))
        assert o2 == o and type(o2) is type(o)
        assert o2.is_closed == o.is_closed


@needs_asyncpg
def test_geometry_matches_asyncpg():
    pairs = [
        (t.Point(1, 2.5), apg.Point(1, 2.5)),
        (t.Box((2, 3), (0, 1)), apg.Box((2, 3), (0, 1))),
        (t.LineSegment((0, 0), (1, 1)), apg.LineSegment((0, 0), (1, 1))),
        (t.Line(1, -1, 0.5), apg.Line(1, -1, 0.5)),
        (t.Circle(t.Point(1, 2), 3.0), apg.Circle(apg.Point(1, 2), 3.0)),
    ]
    for ours, theirs in pairs:
        assert ours == theirs
        assert tuple(ours) == tuple(theirs)
        assert hash(ours) == hash(theirs)
        assert repr(ours).replace("pgwire.types.", "") == \
            repr(theirs).replace("asyncpg.pgproto.types.", "")
    assert t.Point(1, 2).x == apg.Point(1, 2).x
    assert t.Box((2, 3), (0, 1)).low == apg.Box((2, 3), (0, 1)).low

    for closed in (False, True):
        ours = t.Path((0, 0), (1, 1), is_closed=closed)
        theirs = apg.Path((0, 0), (1, 1), is_closed=closed)
        assert ours.points == theirs.points
        assert ours.is_closed == theirs.is_closed
        assert hash(ours) == hash(theirs)
        assert len(ours) == len(theirs)
    ours, theirs = t.Polygon((0, 0), (1, 1)), apg.Polygon((0, 0), (1, 1))
    assert ours.points == theirs.points and ours.is_closed == theirs.is_closed
