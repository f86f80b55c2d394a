"""Support for the custom codec API of Connection (set_type_codec,
reset_type_codec, set_builtin_type_codec): builtin type names, the
catalog queries that find a type by name, and the checks asyncpg makes.
Not public API."""

from __future__ import annotations

import typing

from . import exceptions

# Builtin type names -> oid, as asyncpg's BUILTIN_TYPE_NAME_MAP: the
# pg_catalog names of the types asyncpg knows, plus SQL spellings.  Used
# to find a pg_catalog type without its name (set_type_codec(...,
# schema='pg_catalog')) and to name the target of set_builtin_type_codec.
_BUILTIN_OIDS = {
    "abstime": 702, "aclitem": 1033, "any": 2276, "anyarray": 2277,
    "anycompatible": 5077, "anycompatiblearray": 5078,
    "anycompatiblenonarray": 5079, "anycompatiblerange": 5080,
    "anyelement": 2283, "anyenum": 3500, "anynonarray": 2776,
    "anyrange": 3831, "bit": 1560, "bool": 16, "box": 603, "bpchar": 1042,
    "bytea": 17, "cid": 29, "cidr": 650, "circle": 718, "cstring": 2275,
    "date": 1082, "event_trigger": 3838, "fdw_handler": 3115,
    "float4": 700, "float8": 701, "gtsvector": 3642,
    "index_am_handler": 325, "inet": 869, "int2": 21, "int4": 23,
    "int8": 20, "internal": 2281, "interval": 1186, "json": 114,
    "jsonb": 3802, "jsonpath": 4072, "language_handler": 2280,
    "line": 628, "lseg": 601, "macaddr": 829, "macaddr8": 774,
    "money": 790, "name": 19, "numeric": 1700, "oid": 26, "opaque": 2282,
    "path": 602, "pg_ddl_command": 32, "pg_dependencies": 3402,
    "pg_lsn": 3220, "pg_mcv_list": 5017, "pg_ndistinct": 3361,
    "pg_node_tree": 194, "pg_snapshot": 5038, "point": 600,
    "polygon": 604, "record": 2249, "refcursor": 1790, "regclass": 2205,
    "regcollation": 4191, "regconfig": 3734, "regdictionary": 3769,
    "regnamespace": 4089, "regoper": 2203, "regoperator": 2204,
    "regproc": 24, "regprocedure": 2202, "regrole": 4096, "regtype": 2206,
    "reltime": 703, "smgr": 210, "table_am_handler": 269, "text": 25,
    "tid": 27, "time": 1083, "timestamp": 1114, "timestamptz": 1184,
    "timetz": 1266, "tinterval": 704, "trigger": 2279,
    "tsm_handler": 3310, "tsquery": 3615, "tsvector": 3614,
    "txid_snapshot": 2970, "unknown": 705, "uuid": 2950, "varbit": 1562,
    "varchar": 1043, "void": 2278, "xid": 28, "xid8": 5069, "xml": 142,
    "oid[]": 1028, "text[]": 1009,
}
_ALIASES = {
    "smallint": "int2", "int": "int4", "integer": "int4", "bigint": "int8",
    "decimal": "numeric", "real": "float4", "double precision": "float8",
    "timestamp with timezone": "timestamptz",
    "timestamp without timezone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with timezone": "timetz", "time without timezone": "time",
    "time with time zone": "timetz", "time without time zone": "time",
    # asyncpg maps 'char' to bpchar (SQL's char(n)); "char" is oid 18
    "char": "bpchar", "character": "bpchar",
    "character varying": "varchar", "bit varying": "varbit",
    "boolean": "bool",
}
BUILTIN_TYPE_NAME_MAP = dict(_BUILTIN_OIDS)
BUILTIN_TYPE_NAME_MAP.update(
    (k, _BUILTIN_OIDS[v]) for k, v in _ALIASES.items())
BUILTIN_TYPE_NAME_MAP['"char"'] = 18

# set_builtin_type_codec(codec_name=...) targets that are not a type.
EXTRA_CODECS = frozenset({"pg_contrib.hstore"})

# Types with a 'tuple' exchange format (besides composites): date, time,
# timestamp, timestamptz, interval, timetz.
TUPLE_FORMAT_OIDS = frozenset({1082, 1083, 1114, 1184, 1186, 1266})

CODEC_FORMATS = ("text", "binary", "tuple")

_TYPE_COLUMNS = """\
SELECT t.oid::int8, t.typname::text, n.nspname::text, t.typtype::text,
       t.typcategory::text, t.typarray::int8, a.typname::text
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type a ON a.oid = t.typarray
"""
TYPE_BY_NAME = _TYPE_COLUMNS + \
    "WHERE t.typname = $1::text AND n.nspname = $2::text"
TYPE_BY_OID = _TYPE_COLUMNS + "WHERE t.oid = $1::int8::oid"

# One pg_type row: typtype is b(ase), c(omposite), d(omain), e(num),
# p(seudo), r(ange) or m(ultirange); category 'A' marks arrays.
class TypeInfo(typing.NamedTuple):
    oid: int
    name: str
    schema: str
    typtype: str
    category: str
    array_oid: int | None
    array_name: str | None


def lookup_query(typename: str, schema: str
                 ) -> tuple[str, tuple[typing.Any, ...]]:
    """(query, args) finding typename in schema: builtin names (and their
    SQL spellings) in pg_catalog by oid, anything else by name."""
    if schema == "pg_catalog" and not typename.endswith("[]"):
        oid = BUILTIN_TYPE_NAME_MAP.get(typename.lower())
        if oid is not None:
            return TYPE_BY_OID, (oid,)
    return TYPE_BY_NAME, (typename, schema)


def type_info(rows: typing.Sequence[typing.Any], typename: str,
              schema: str) -> TypeInfo:
    if not rows:
        raise ValueError("unknown type: {}.{}".format(schema, typename))
    return TypeInfo(*rows[0])


def is_scalar(info: TypeInfo) -> bool:
    """Base types, enums and domains, but not arrays (asyncpg's
    is_scalar_type)."""
    return info.typtype in ("b", "e", "d") and info.category != "A"


def check_custom_codec(info: TypeInfo, typename: str, schema: str,
                       format: str) -> None:
    """Raise as asyncpg's set_type_codec does for a type that cannot take
    a custom codec in this format."""
    if info.typtype == "c":
        if format != "tuple":
            raise exceptions.UnsupportedClientFeatureError(
                "only tuple-format codecs can be used on composite types",
                hint="Use `set_type_codec(..., format='tuple')` and "
                     "pass/interpret data as a Python tuple.")
        return
    if not is_scalar(info):
        raise exceptions.InterfaceError(
            "cannot use custom codec on type {}.{}: it is neither a scalar "
            "type nor a composite type".format(schema, typename))
    if info.typtype == "d":
        raise exceptions.UnsupportedClientFeatureError(
            "custom codecs on domain types are not supported",
            hint="Set the codec on the base type.",
            detail="PostgreSQL does not distinguish domains from their "
                   "base types in query results at the protocol level.")
    if format == "tuple" and info.oid not in TUPLE_FORMAT_OIDS:
        raise exceptions.InterfaceError(
            "{} type does not support the 'tuple' exchange format".format(
                typename))


def check_format(format: str | None,
                 allowed: typing.Iterable[str | None]) -> None:
    if format not in allowed:
        raise exceptions.InterfaceError(
            "invalid `format` argument, expected {}, got {!r}".format(
                " or ".join(repr(f) for f in allowed if f is not None),
                format))


def alias_target(codec_name: str) -> int | str | None:
    """The alias_codec(target=...) of a codec name: an oid or an
    extra codec's name; None when unknown."""
    if codec_name in EXTRA_CODECS:
        return codec_name
    return BUILTIN_TYPE_NAME_MAP.get(codec_name)
