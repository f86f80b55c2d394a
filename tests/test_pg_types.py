"""Every builtin type against a real server.

1. pg_type is enumerated on the live server: every builtin base type and
   every array of one has a codec (pgwire._pgwire._codec_format(oid) is not
   None), unless it is in TEXT_ALLOWLIST below; a binary codec needs the
   type's binary I/O; every codec oid is a type of the server.
2. Round trips of the types added for issue 3 (inet/cidr, macaddr[8],
   bit/varbit, the geometric types, tid, pg_lsn, xid8, snapshots, vectors,
   void, cstring, refcursor, the text-format types and their arrays):
   value -> server -> value, the server's text rendering compared with
   Python's, arrays and NULLs; hypothesis where there is a value space.
"""

import ipaddress
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pgwire
from pgwire import _pgwire as m
from pgwire import exceptions as exc
from pgwire import types as pt

# Bounded hypothesis runs against the server (a function-scoped fixture is
# not involved: `conn` is module-scoped and the examples share it).
SERVER_SETTINGS = settings(
    max_examples=50, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture,
                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
async def conn(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        await c.close()


# ---------------------------------------------------------------------------
# 1. Coverage of pg_type
# ---------------------------------------------------------------------------

# Builtin base types (typtype 'b') and arrays of them that deliberately
# have no codec: their values come back as str through the text fallback.
# typname -> why.  Empty: every base type of PostgreSQL 13-15 has a codec.
#
# Decided per type (and so NOT listed here):
# - int2vector, oidvector: handled, as list[int] (binary: a 1-D array with
#   lower bound 0); an empty vector cannot be sent in binary (the server's
#   int2vectorrecv/oidvectorrecv reject the zero-dimensional array its
#   array_recv makes of it), send '' as text instead.
# - gtsvector, pg_node_tree, pg_ndistinct, pg_dependencies, pg_mcv_list,
#   pg_brin_bloom_summary, pg_brin_minmax_multi_summary: decode only (the
#   server's input functions for them always raise), as asyncpg.
# - money, tsvector, tsquery, aclitem and the reg* types: text format (str
#   both ways) as asyncpg -- money's text depends on lc_monetary, the reg*
#   binary form is a bare oid; aclitem and gtsvector have no binary I/O.
# Excluded by the query, not by this list: pseudo-types ('p': any, record,
# void, cstring, ...; void and cstring have codecs anyway), composite row
# types of the catalogs ('c') and their arrays, ranges and multiranges
# ('r', 'm') and their arrays -- those are built at run time per
# connection (src/codec/codec_dyn*.c), domains ('d').
TEXT_ALLOWLIST = {}

# Codec oids that older servers do not have: oid -> first major version.
NEWER_TYPES = {
    271: 13, 5069: 13,             # xid8, _xid8
    5038: 13, 5039: 13,            # pg_snapshot, _pg_snapshot
    4191: 13, 4192: 13,            # regcollation, _regcollation
    4600: 14, 4601: 14,            # pg_brin_*_summary
}

PG_TYPE_QUERY = """
    SELECT oid::int, typname::text, typtype::text, typelem::int,
           typarray::int, typsend::text AS typsend
    FROM pg_type WHERE oid < 10000
"""


async def _pg_types(conn):
    return {r["oid"]: r for r in await conn.fetch(PG_TYPE_QUERY)}


def _base_types_and_arrays(types):
    """(base, arrays): builtin base types that are not arrays, and the
    arrays of base types (found through the element's typarray)."""
    array_of = {t["typarray"]: t for t in types.values() if t["typarray"]}
    base = {o: t for o, t in types.items()
            if t["typtype"] == "b" and o not in array_of}
    arrays = {o: t for o, t in types.items()
              if o in array_of and array_of[o]["typtype"] == "b"}
    return base, arrays


async def test_every_builtin_type_has_a_codec(conn):
    types = await _pg_types(conn)
    base, arrays = _base_types_and_arrays(types)
    assert len(base) > 60 and len(arrays) > 60
    missing = sorted(
        f"{t['typname']} ({o})" for o, t in {**base, **arrays}.items()
        if m._codec_format(o) is None and t["typname"] not in TEXT_ALLOWLIST)
    assert not missing, "builtin types without a codec: " + ", ".join(
        missing)


async def test_allowlist_is_not_stale(conn):
    types = await _pg_types(conn)
    by_name = {t["typname"]: o for o, t in types.items()}
    for name in TEXT_ALLOWLIST:
        if name in by_name:
            assert m._codec_format(by_name[name]) is None, (
                f"{name} has a codec now: drop it from TEXT_ALLOWLIST")


async def test_binary_codecs_have_binary_io(conn):
    types = await _pg_types(conn)
    for oid, t in types.items():
        if m._codec_format(oid) == 1:
            assert t["typsend"] != "-", t["typname"]


async def test_every_codec_oid_is_a_server_type(conn):
    types = await _pg_types(conn)
    major = conn.get_server_version().major
    for oid in range(1, 10000):
        if m._codec_format(oid) is not None and oid not in types:
            assert major < NEWER_TYPES.get(oid, 0), (
                f"codec for oid {oid}, which this server does not have")


async def test_arrays_of_pseudo_types_with_codecs(conn):
    # not base types, but registered: cstring[] and void
    assert await conn.fetchval("SELECT ARRAY['a'::cstring, NULL]") == \
        ["a", None]
    assert await conn.fetchval("SELECT pg_sleep(0)") is None


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_PG_SPACE = " \t\n\r\v\f"


def pg_array_text(v):
    """PostgreSQL's array_out rendering of (nested) lists of str/None."""
    if isinstance(v, list):
        return "{" + ",".join(pg_array_text(x) for x in v) + "}"
    if v is None:
        return "NULL"
    if (v == "" or v.upper() == "NULL" or any(c in v for c in '{}",\\')
            or any(c in v for c in _PG_SPACE)):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


def parse_floats(text):
    return [float(x) for x in re.findall(r"[-+]?(?:[0-9.]+(?:e[-+]?\d+)?|"
                                         r"Infinity|NaN)", text)]


async def roundtrip(conn, typ, value, want=None, text=None, item=None):
    """value -> server -> value; the server's text; arrays and NULL.
    `item` is value as an array element, where value is a list (a list
    inside an array is a sub-array, as in asyncpg)."""
    want = value if want is None else want
    assert await conn.fetchval(f"SELECT $1::{typ}", value) == want
    if text is not None:
        # format('%s') uses the type's output function (inet::text is a
        # cast that always shows the prefix length)
        assert await conn.fetchval(f"SELECT format('%s', $1::{typ})",
                                   value) == text
        # the server's own value (from text) decodes to the same thing
        assert await conn.fetchval(f"SELECT $1::text::{typ}", text) == want
    item = value if item is None else item
    assert await conn.fetchval(f"SELECT $1::{typ}[]", [item, None]) == \
        [want, None]
    assert await conn.fetchval(f"SELECT $1::{typ}[]", [[item], [item]]) \
        == [[want], [want]]
    assert await conn.fetchval(f"SELECT $1::{typ}[]", []) == []
    assert await conn.fetchval(f"SELECT $1::{typ}", None) is None
    assert await conn.fetchval(f"SELECT NULL::{typ}") is None


# ---------------------------------------------------------------------------
# 2. Round trips: network
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("typ,value,want,text", [
    ("inet", "10.1.2.3", ipaddress.IPv4Address("10.1.2.3"), "10.1.2.3"),
    ("inet", "10.1.2.3/8", ipaddress.IPv4Interface("10.1.2.3/8"),
     "10.1.2.3/8"),
    ("inet", ipaddress.IPv6Address("::1"), None, "::1"),
    ("inet", ipaddress.IPv6Interface("2001:db8::1/64"), None,
     "2001:db8::1/64"),
    ("inet", ipaddress.IPv4Network("10.0.0.0/8"),
     ipaddress.IPv4Interface("10.0.0.0/8"), "10.0.0.0/8"),
    ("cidr", "10.0.0.0/8", ipaddress.IPv4Network("10.0.0.0/8"),
     "10.0.0.0/8"),
    ("cidr", ipaddress.IPv6Network("2001:db8::/32"), None, "2001:db8::/32"),
    ("cidr", ipaddress.IPv4Address("10.1.2.3"),
     ipaddress.IPv4Network("10.1.2.3/32"), "10.1.2.3/32"),
    ("macaddr", "08-00-2B-01-02-03", "08:00:2b:01:02:03",
     "08:00:2b:01:02:03"),
    ("macaddr8", "08:00:2b:01:02:03:04:05", None,
     "08:00:2b:01:02:03:04:05"),
    ("macaddr8", "08:00:2b:01:02:03", "08:00:2b:ff:fe:01:02:03",
     "08:00:2b:ff:fe:01:02:03"),
])
async def test_network_roundtrip(conn, typ, value, want, text):
    await roundtrip(conn, typ, value, want, text)


async def test_inet_server_values(conn):
    r = await conn.fetchrow(
        "SELECT '192.168.1.5/24'::inet a, '::ffff:1.2.3.4'::inet b, "
        "'192.168.0.0/16'::cidr c, inet_client_addr() d, "
        "'{10.0.0.1/8,NULL}'::inet[] e")
    assert r["a"] == ipaddress.IPv4Interface("192.168.1.5/24")
    assert r["b"] == ipaddress.IPv6Address("::ffff:1.2.3.4")
    assert type(r["c"]) is ipaddress.IPv4Network
    assert r["e"] == [ipaddress.IPv4Interface("10.0.0.1/8"), None]


async def test_cidr_host_bits_refused(conn):
    with pytest.raises(exc.DataError, match="host bits set"):
        await conn.fetchval("SELECT $1::cidr", "10.0.0.1/8")


@SERVER_SETTINGS
@given(st.one_of(
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)),
    st.tuples(st.ip_addresses(v=6), st.integers(0, 128))))
async def test_inet_cidr_property(conn, addr_bits):
    addr, bits = addr_bits
    iface = ipaddress.ip_interface((addr, bits))
    want = addr if bits == addr.max_prefixlen else iface
    got, text = await conn.fetchrow("SELECT $1::inet, $1::inet::text",
                                    iface)
    assert got == want
    # PostgreSQL and Python spell some IPv6 addresses differently (an
    # IPv4-mapped tail); compare the parsed text
    assert ipaddress.ip_interface(text) == iface
    assert await conn.fetchval("SELECT $1::text::inet", text) == want
    net = iface.network
    got, text = await conn.fetchrow("SELECT $1::cidr, $1::cidr::text", net)
    assert got == net and ipaddress.ip_network(text) == net


_MAC_FORMATS = [
    lambda b: ":".join("%02x" % x for x in b),
    lambda b: "-".join("%02X" % x for x in b),
    lambda b: "%02x%02x%02x:%02x%02x%02x" % tuple(b),
    lambda b: "%02x%02x%02x-%02x%02x%02x" % tuple(b),
    lambda b: "%02x%02x.%02x%02x.%02x%02x" % tuple(b),
    lambda b: "%02x%02x-%02x%02x-%02x%02x" % tuple(b),
    lambda b: "%02x%02x%02x%02x%02x%02x" % tuple(b),
]


@SERVER_SETTINGS
@given(st.binary(min_size=6, max_size=6),
       st.sampled_from(range(len(_MAC_FORMATS))),
       st.binary(min_size=8, max_size=8))
async def test_macaddr_property(conn, b6, fmt, b8):
    text = _MAC_FORMATS[fmt](b6)
    canonical = ":".join("%02x" % x for x in b6)
    # every input format PostgreSQL takes, parsed client-side the same way
    assert await conn.fetchval("SELECT $1::text::macaddr::text", text) == \
        canonical
    got, srv = await conn.fetchrow("SELECT $1::macaddr, $1::macaddr::text",
                                   text)
    assert got == srv == canonical
    canonical8 = ":".join("%02x" % x for x in b8)
    got, srv = await conn.fetchrow(
        "SELECT $1::macaddr8, $1::macaddr8::text", canonical8.upper())
    assert got == srv == canonical8


# ---------------------------------------------------------------------------
# bit, varbit
# ---------------------------------------------------------------------------

async def test_bits_roundtrip(conn):
    bs = pt.BitString("10110")
    await roundtrip(conn, "varbit", bs, text="10110")
    await roundtrip(conn, "bit(5)", bs, text="10110")
    await roundtrip(conn, "varbit", pt.BitString(), text="")
    assert await conn.fetchval("SELECT B'101'::bit(3)") == \
        pt.BitString("101")
    assert await conn.fetchval("SELECT $1::varbit", b"\x0f") == \
        pt.BitString("00001111")
    # an explicit cast pads or truncates; a bit(n) column checks
    assert await conn.fetchval("SELECT $1::bit(4)", pt.BitString("101")) \
        == pt.BitString("1010")
    await conn.execute("CREATE TEMP TABLE pgt_bits (b bit(4))")
    with pytest.raises(exc.PostgresError, match="length 3"):
        await conn.execute("INSERT INTO pgt_bits VALUES ($1)",
                           pt.BitString("101"))
    await conn.execute("INSERT INTO pgt_bits VALUES ($1)", "1100")
    assert await conn.fetchval("SELECT b FROM pgt_bits") == \
        pt.BitString("1100")


@SERVER_SETTINGS
@given(st.text(alphabet="01", max_size=300))
async def test_bits_property(conn, s):
    bs = pt.BitString(s)
    got, text = await conn.fetchrow("SELECT $1::varbit, $1::varbit::text",
                                    bs)
    assert got == bs and text == s
    assert await conn.fetchval("SELECT $1::text::varbit", s) == bs
    if s:
        assert await conn.fetchval(f"SELECT $1::bit({len(s)})", s) == bs
        got = await conn.fetchval("SELECT $1::varbit[]", [bs, None, s])
        assert got == [bs, None, bs]


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("typ,value,want,text", [
    ("point", (1, 2.5), pt.Point(1, 2.5), "(1,2.5)"),
    ("line", (1, -2, 3), pt.Line(1.0, -2.0, 3.0), "{1,-2,3}"),
    ("lseg", ((1, 2), (3, 4)), pt.LineSegment((1, 2), (3, 4)),
     "[(1,2),(3,4)]"),
    ("box", ((3, 4), (1, 2)), pt.Box((3, 4), (1, 2)), "(3,4),(1,2)"),
    # the server orders a box's corners
    ("box", ((1, 4), (3, 2)), pt.Box((3, 4), (1, 2)), "(3,4),(1,2)"),
    ("path", [(1, 2), (3, 4)], pt.Path((1, 2), (3, 4)), "[(1,2),(3,4)]"),
    ("path", ((1, 2), (3, 4)), pt.Path((1, 2), (3, 4), is_closed=True),
     "((1,2),(3,4))"),
    ("path", pt.Path((1, 2), is_closed=True), None, "((1,2))"),
    ("polygon", [(0, 0), (1, 0), (0, 1)], pt.Polygon((0, 0), (1, 0), (0, 1)),
     "((0,0),(1,0),(0,1))"),
    ("circle", ((1, 2), 3), pt.Circle(pt.Point(1, 2), 3.0), "<(1,2),3>"),
])
async def test_geometry_roundtrip(conn, typ, value, want, text):
    await roundtrip(conn, typ, value, want, text,
                    item=want if isinstance(value, list) else None)


async def test_geometry_types_and_server_checks(conn):
    r = await conn.fetchrow("SELECT point(1, 2) p, circle(point(0, 0), 1) c,"
                            " '((0,0),(1,1))'::box b, "
                            "'[(0,0),(1,1),(2,0)]'::path pa")
    assert type(r["p"]) is pt.Point and r["p"].x == 1.0
    assert type(r["c"]) is pt.Circle and type(r["c"].center) is pt.Point
    assert r["b"] == pt.Box((1, 1), (0, 0))
    assert not r["pa"].is_closed and len(r["pa"]) == 3
    with pytest.raises(exc.PostgresError):
        await conn.fetchval("SELECT $1::line", (0, 0, 1))  # A = B = 0
    with pytest.raises(exc.PostgresError):
        await conn.fetchval("SELECT $1::circle", ((0, 0), -1))


_finite = st.floats(allow_nan=False, allow_infinity=False,
                    min_value=-1e300, max_value=1e300)
_points = st.tuples(_finite, _finite)


@SERVER_SETTINGS
@given(st.lists(_points, min_size=1, max_size=8), st.booleans(),
       _finite.filter(lambda r: r >= 0))
async def test_geometry_property(conn, pts, closed, radius):
    p = pts[0]
    got, text = await conn.fetchrow("SELECT $1::point, $1::point::text", p)
    assert got == pt.Point(*p) and parse_floats(text) == list(p)
    path = pt.Path(*pts, is_closed=closed)
    got, text = await conn.fetchrow("SELECT $1::path, $1::path::text", path)
    assert got == path
    assert parse_floats(text) == [c for q in pts for c in q]
    assert text[0] == ("(" if closed else "[")
    got = await conn.fetchval("SELECT $1::polygon", pts)
    assert got == pt.Polygon(*pts)
    got = await conn.fetchval("SELECT $1::circle", (p, radius))
    assert got == pt.Circle(pt.Point(*p), radius)
    q = pts[-1]
    got = await conn.fetchval("SELECT $1::lseg", (p, q))
    assert got == pt.LineSegment(p, q)
    got = await conn.fetchval("SELECT $1::box", (p, q))
    assert got == pt.Box((max(p[0], q[0]), max(p[1], q[1])),
                         (min(p[0], q[0]), min(p[1], q[1])))
    got = await conn.fetchval("SELECT $1::point[]", pts + [None])
    assert got == [pt.Point(*x) for x in pts] + [None]


# ---------------------------------------------------------------------------
# tid, pg_lsn, xid8, snapshots, vectors, void, cstring, refcursor
# ---------------------------------------------------------------------------

async def test_misc_roundtrip(conn):
    await roundtrip(conn, "tid", (7, 8), text="(7,8)")
    await roundtrip(conn, "pg_lsn", 2**64 - 1, text="FFFFFFFF/FFFFFFFF")
    await roundtrip(conn, "xid8", 2**64 - 1, text=str(2**64 - 1))
    await roundtrip(conn, "pg_snapshot", (10, 20, (11, 15)),
                    text="10:20:11,15")
    await roundtrip(conn, "txid_snapshot", (10, 20, ()), text="10:20:")
    await roundtrip(conn, "refcursor", "my cursor", text="my cursor")
    await roundtrip(conn, "int2vector", [1, -2, 3], text="1 -2 3",
                    item=(1, -2, 3))
    await roundtrip(conn, "oidvector", [23, 2**32 - 1],
                    text=f"23 {2**32 - 1}", item=(23, 2**32 - 1))
    assert await conn.fetchval("SELECT $1::pg_snapshot", [10, 20, [11]]) \
        == (10, 20, (11,))


async def test_misc_server_values(conn):
    r = await conn.fetchrow(
        "SELECT pg_current_wal_lsn() lsn, pg_current_xact_id() x,"
        " pg_current_snapshot() s, txid_current_snapshot() ts,"
        " (SELECT indkey FROM pg_index WHERE indrelid = 'pg_class'::regclass"
        "  ORDER BY indexrelid LIMIT 1) ik,"
        " (SELECT proargtypes FROM pg_proc WHERE proname = 'int4pl') pa")
    assert isinstance(r["lsn"], int) and r["lsn"] > 0
    assert isinstance(r["x"], int) and r["x"] > 0
    xmin, xmax, xip = r["s"]
    assert xmin <= xmax and isinstance(xip, tuple)
    assert isinstance(r["ts"], tuple)
    assert isinstance(r["ik"], list) and all(isinstance(i, int)
                                             for i in r["ik"])
    assert r["pa"] == [23, 23]
    row = await conn.fetchrow("SELECT ctid FROM pg_class LIMIT 1")
    assert isinstance(row["ctid"], tuple) and len(row["ctid"]) == 2
    lsn, text = await conn.fetchrow(
        "SELECT pg_current_wal_lsn(), pg_current_wal_lsn()::text")
    hi, lo = text.split("/")
    assert lsn == int(hi, 16) << 32 | int(lo, 16)
    assert await conn.fetchval("SELECT $1::int2vector[]",
                               [(1, 2), (3,), None]) == [[1, 2], [3], None]
    assert await conn.fetchval("SELECT ''::int2vector") == []


async def test_void_and_cstring(conn):
    assert await conn.fetchval("SELECT pg_sleep(0)") is None
    assert await conn.fetchval("SELECT $1::void", "ignored") is None
    assert await conn.fetchval("SELECT $1::void", None) is None
    assert await conn.fetchval("SELECT 'abc'::cstring") == "abc"
    assert await conn.fetchval("SELECT $1::cstring::text", "abc") == "abc"


@SERVER_SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1),
       st.integers(0, 2**64 - 1))
async def test_tid_lsn_xid8_property(conn, block, offset, u64):
    got, text = await conn.fetchrow("SELECT $1::tid, $1::tid::text",
                                    (block, offset))
    assert got == (block, offset) and text == f"({block},{offset})"
    got, text = await conn.fetchrow("SELECT $1::pg_lsn, $1::pg_lsn::text",
                                    u64)
    assert got == u64 and text == "%X/%X" % (u64 >> 32, u64 & 0xffffffff)
    got, text = await conn.fetchrow("SELECT $1::xid8, $1::xid8::text", u64)
    assert got == u64 and text == str(u64)


@SERVER_SETTINGS
@given(st.integers(3, 2**62), st.integers(0, 1000),
       st.sets(st.integers(0, 999), max_size=10))
async def test_snapshot_property(conn, xmin, span, offsets):
    xmax = xmin + span
    xip = tuple(sorted(xmin + o for o in offsets if o < span))
    # the server wants valid xids: the low 32 bits (the xid within its
    # epoch) of every value 3 or more
    assume(all(x & 0xffffffff >= 3 for x in (xmin, xmax) + xip))
    snap = (xmin, xmax, xip)
    got, text = await conn.fetchrow(
        "SELECT $1::pg_snapshot, $1::pg_snapshot::text", snap)
    assert got == snap
    assert text == f"{xmin}:{xmax}:" + ",".join(map(str, xip))
    assert await conn.fetchval("SELECT $1::text::txid_snapshot", text) == \
        snap


@SERVER_SETTINGS
@given(st.lists(st.integers(-2**15, 2**15 - 1), min_size=1, max_size=20),
       st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20))
async def test_vector_property(conn, i2, oids):
    got, text = await conn.fetchrow(
        "SELECT $1::int2vector, $1::int2vector::text", i2)
    assert got == i2 and text == " ".join(map(str, i2))
    got, text = await conn.fetchrow(
        "SELECT $1::oidvector, $1::oidvector::text", oids)
    assert got == oids and text == " ".join(map(str, oids))
    assert await conn.fetchval("SELECT $1::text::int2vector",
                               " ".join(map(str, i2))) == i2


# ---------------------------------------------------------------------------
# Text-format types: money, tsvector, tsquery, aclitem, reg*, and arrays
# ---------------------------------------------------------------------------

async def test_text_format_scalars(conn):
    user = await conn.fetchval("SELECT current_user::text")
    await conn.execute("SET lc_monetary = 'C'")
    await roundtrip(conn, "money", "$12.34", text="$12.34")
    await roundtrip(conn, "tsvector", "'a' 'cat' 'fat'",
                    text="'a' 'cat' 'fat'")
    await roundtrip(conn, "tsquery", "'fat' & 'cat'", text="'fat' & 'cat'")
    acl = f"{user}=arw/{user}"
    await roundtrip(conn, "aclitem", acl, text=acl)
    assert await conn.fetchval("SELECT 'a fat cat'::tsvector") == \
        "'a' 'cat' 'fat'"
    assert await conn.fetchval("SELECT $1::tsvector", "b a") == "'a' 'b'"
    relacl = await conn.fetchval(
        "SELECT relacl FROM pg_class WHERE relacl IS NOT NULL LIMIT 1")
    assert isinstance(relacl, list) and all("=" in a for a in relacl)


# one catalog value of each reg* type, as the server renders it
REG_SAMPLES = {
    "regproc": "SELECT 'int4pl'::regproc::text",
    "regprocedure": "SELECT 'int4pl(int4,int4)'::regprocedure::text",
    "regoper": "SELECT '||/'::regoper::text",
    "regoperator": "SELECT '+(int4,int4)'::regoperator::text",
    "regclass": "SELECT 'pg_class'::regclass::text",
    "regtype": "SELECT 'int4'::regtype::text",
    "regconfig": "SELECT 'english'::regconfig::text",
    "regdictionary": "SELECT 'simple'::regdictionary::text",
    "regnamespace": "SELECT 'pg_catalog'::regnamespace::text",
    "regrole": "SELECT current_user::regrole::text",
    "regcollation": "SELECT '\"C\"'::regcollation::text",
}


@pytest.mark.parametrize("typ", sorted(REG_SAMPLES))
async def test_reg_types(conn, typ):
    text = await conn.fetchval(REG_SAMPLES[typ])
    await roundtrip(conn, typ, text, text=text)
    oid = await conn.fetchval(f"SELECT $1::{typ}::oid", text)
    assert await conn.fetchval(f"SELECT $1::oid::{typ}", oid) == text
    assert await conn.fetchval(f"SELECT ARRAY[$1::{typ}, NULL]", text) == \
        [text, None]
    assert await conn.fetchval(f"SELECT $1::{typ}[]::text", [text]) == \
        pg_array_text([text])


async def test_text_arrays(conn):
    await conn.execute("SET lc_monetary = 'C'")
    assert await conn.fetchval("SELECT '{1.5,2}'::money[]") == \
        ["$1.50", "$2.00"]
    assert await conn.fetchval(
        "SELECT ARRAY['a b'::tsvector, 'c']") == ["'a' 'b'", "'c'"]
    assert await conn.fetchval(
        "SELECT '[0:1]={int4,text}'::regtype[]") == ["integer", "text"]
    assert await conn.fetchval(
        "SELECT '{{int4,text},{NULL,bool}}'::regtype[]") == \
        [["integer", "text"], [None, "boolean"]]
    assert await conn.fetchval("SELECT $1::regtype[]",
                               [["int4"], ["int8"]]) == \
        [["integer"], ["bigint"]]
    assert await conn.fetchval("SELECT '{}'::regclass[]") == []


WEIRD_NAMES = ["pgt plain", 'pgt quo"te', "pgt back\\slash", "pgt com,ma",
               "pgt {brace}", "NULL", "pgt ünï", "pgt\ttab", "pgt'apos"]


@pytest.fixture(scope="module")
async def weird_tables(conn):
    """{table name: regclass text} for tables whose names need quoting in
    identifiers and in array literals."""
    for n in WEIRD_NAMES:
        ident = '"' + n.replace('"', '""') + '"'
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {ident} ()")
    rows = await conn.fetch(
        "SELECT relname::text, oid::regclass::text AS reg FROM pg_class "
        "WHERE relname = ANY($1::text[]) AND relkind = 'r'", WEIRD_NAMES)
    names = {r["relname"]: r["reg"] for r in rows}
    assert len(names) == len(WEIRD_NAMES)
    try:
        yield names
    finally:
        for n in WEIRD_NAMES:
            ident = '"' + n.replace('"', '""') + '"'
            await conn.execute(f"DROP TABLE IF EXISTS {ident}")


@SERVER_SETTINGS
@given(st.lists(st.one_of(st.none(), st.sampled_from(WEIRD_NAMES)),
                max_size=6), st.booleans())
async def test_regclass_array_property(conn, weird_tables, names, nested):
    regs = [None if n is None else weird_tables[n] for n in names]
    value = [regs, regs] if nested and regs else regs
    got, text = await conn.fetchrow(
        "SELECT $1::regclass[], $1::regclass[]::text", value)
    assert got == value
    assert text == pg_array_text(value)
    # the server's literal decodes to the same
    assert await conn.fetchval("SELECT $1::text::regclass[]", text) == value


# ---------------------------------------------------------------------------
# Decode-only types
# ---------------------------------------------------------------------------

async def test_decode_only_types(conn):
    tree = await conn.fetchval("SELECT ev_action FROM pg_rewrite LIMIT 1")
    assert isinstance(tree, str) and tree.startswith("({QUERY")
    await conn.execute(
        "CREATE TABLE pgt_stats (a int, b int);"
        "INSERT INTO pgt_stats SELECT i % 10, i % 5 FROM "
        "generate_series(1, 1000) i;"
        "CREATE STATISTICS pgt_st (ndistinct, dependencies, mcv)"
        " ON a, b FROM pgt_stats;"
        "ANALYZE pgt_stats")
    try:
        r = await conn.fetchrow(
            "SELECT stxdndistinct, stxddependencies, stxdmcv,"
            " stxdndistinct::text AS nd_text"
            " FROM pg_statistic_ext_data d JOIN pg_statistic_ext s"
            " ON s.oid = d.stxoid WHERE s.stxname = 'pgt_st'")
        assert isinstance(r["stxdndistinct"], str)
        assert r["stxdndistinct"] == r["nd_text"]
        assert isinstance(r["stxddependencies"], str)
        assert isinstance(r["stxdmcv"], bytes) and r["stxdmcv"]
    finally:
        await conn.execute("DROP TABLE pgt_stats")
    for typ in ("pg_node_tree", "pg_ndistinct", "pg_dependencies",
                "pg_mcv_list", "gtsvector"):
        with pytest.raises(exc.DataError, match="no encoder"):
            await conn.fetchval(f"SELECT $1::{typ}", "x")
        assert await conn.fetchval(f"SELECT NULL::{typ}") is None


def test_helpers():
    assert pg_array_text(["a", "b c", None, "", "null", 'x"y']) == \
        '{a,"b c",NULL,"","null","x\\"y"}'
    assert parse_floats("((1,2.5),(-3e+20,4))") == [1, 2.5, -3e20, 4]
