"""Type introspection: codecs for non-builtin types.

When a statement uses a type the builtin table does not know (oid >= 16384:
enums, composites, domains, ranges, multiranges, arrays of those, extension
types), the C layer calls ``Connection._introspect_types(oids)``.  A
catalog query per level of nesting fetches those types and everything they
are made of (fetch_type_rows); codecs are then built bottom-up (children first) and registered in the
connection's ``type_codecs`` (dict oid -> Codec), so each type is
introspected once per connection.  Builtin types and their arrays never
cause introspection.
"""

from __future__ import annotations

import typing

from . import _pgwire

# an introspection row (TYPE_ROWS_QUERY's columns): a Record, or a tuple
# of its values (SharedTypeCache)
Row = typing.Any
Registry = typing.MutableMapping[int, _pgwire.Codec]

# One level of the type graph: the rows of the given oids.  The types
# they are made of (array elements, domain base types, composite
# attributes, range subtypes, multirange ranges) are fetched by the next
# level's query (fetch_type_rows), so there is no recursive query and no
# transaction: an interrupted lookup leaves nothing behind on the server.
#
# The planner's estimate is what decides JIT (jit_above_cost, 100000 by
# default): a recursive CTE over pg_type was estimated at ~41,000 for one
# type and ~164,000 for four (JIT compiled it, which took longer than the
# query), whereas this query costs ~50-120 per oid (less with a small
# catalog), so a level of at most TYPE_ROWS_CHUNK oids stays far below the
# threshold without touching the jit setting (test_user_types checks the
# estimate).
TYPE_ROWS_QUERY = """\
SELECT t.oid::int8, t.typname::text, n.nspname::text, t.typtype::text,
       t.typcategory::text, t.typelem::int8, t.typbasetype::int8,
       (SELECT r.rngsubtype::int8 FROM pg_catalog.pg_range r
        WHERE r.rngtypid = t.oid),
       (SELECT r.rngtypid::int8 FROM pg_catalog.pg_range r
        WHERE r.rngmultitypid = t.oid),
       (SELECT array_agg(a.attname::text ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        WHERE t.typtype = 'c' AND a.attrelid = t.typrelid
          AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT array_agg(a.atttypid::int8 ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        WHERE t.typtype = 'c' AND a.attrelid = t.typrelid
          AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.oid = ANY($1::int8[]::oid[])"""

TYPE_ROWS_CHUNK = 100
MAX_TYPE_DEPTH = 64


async def fetch_type_rows(
        fetch: typing.Callable[..., typing.Awaitable[typing.Iterable[Row]]],
        oids: typing.Iterable[int]) -> list[Row]:
    """The introspection rows of ``oids`` and of every non-builtin type
    they are made of, transitively: one TYPE_ROWS_QUERY per level of
    nesting (per TYPE_ROWS_CHUNK oids), each a plain autocommit read.
    ``fetch(query, oids)`` runs a query (Connection.fetch with the
    default codecs)."""
    rows: dict[int, Row] = {}
    seen: set[int] = set()
    todo = sorted(set(oids))
    for _ in range(MAX_TYPE_DEPTH + 1):
        if not todo:
            break
        seen.update(todo)
        for i in range(0, len(todo), TYPE_ROWS_CHUNK):
            for r in await fetch(TYPE_ROWS_QUERY,
                                 todo[i:i + TYPE_ROWS_CHUNK]):
                rows[r[0]] = r
        todo = sorted({d for o in todo if o in rows
                       for d in _row_deps(rows[o])
                       if d >= FIRST_NORMAL_OID and d not in seen})
    return list(rows.values())


def _has_builtin(oid: int) -> bool:
    return _pgwire.has_builtin_codec(oid)


# Builtin types whose codecs are derived (not in the C static table):
# ranges (oid: name, subtype), multiranges (oid: name, range) and arrays
# of both (oid: name, element).  Built from this table without a query.
FIRST_NORMAL_OID = 16384
BUILTIN_RANGES = {
    3904: ("int4range", 23), 3906: ("numrange", 1700),
    3908: ("tsrange", 1114), 3910: ("tstzrange", 1184),
    3912: ("daterange", 1082), 3926: ("int8range", 20),
}
BUILTIN_MULTIRANGES = {
    4451: ("int4multirange", 3904), 4532: ("nummultirange", 3906),
    4533: ("tsmultirange", 3908), 4534: ("tstzmultirange", 3910),
    4535: ("datemultirange", 3912), 4536: ("int8multirange", 3926),
}
BUILTIN_DERIVED_ARRAYS = {
    3905: ("_int4range", 3904), 3907: ("_numrange", 3906),
    3909: ("_tsrange", 3908), 3911: ("_tstzrange", 3910),
    3913: ("_daterange", 3912), 3927: ("_int8range", 3926),
    6150: ("_int4multirange", 4451), 6151: ("_nummultirange", 4532),
    6152: ("_tsmultirange", 4533), 6153: ("_tstzmultirange", 4534),
    6155: ("_datemultirange", 4535), 6157: ("_int8multirange", 4536),
}


def _array(oid: int, name: str, elem: _pgwire.Codec) -> _pgwire.Codec:
    """The array codec over ``elem``: binary, or, for an element pgwire
    has only in the text format (citext, ...), the text array format
    (lists both ways, as asyncpg's text fallback)."""
    if elem.format == 1:
        return _pgwire.array_codec(oid, name, elem)
    return _pgwire.text_array_codec(oid, name, elem)


def build_builtin(oid: int, registry: Registry) -> _pgwire.Codec:
    """The codec of a builtin oid without a catalog query: derived
    builtins from the tables above, the static table, else text."""
    codec = registry.get(oid)
    if codec is not None:
        return codec
    if _has_builtin(oid):
        codec = _pgwire.builtin_codec(oid)
    elif oid in BUILTIN_RANGES:
        name, sub = BUILTIN_RANGES[oid]
        codec = _pgwire.range_codec(oid, name, build_builtin(sub, registry))
    elif oid in BUILTIN_MULTIRANGES:
        name, rng = BUILTIN_MULTIRANGES[oid]
        codec = _pgwire.multirange_codec(oid, name,
                                         build_builtin(rng, registry))
    elif oid in BUILTIN_DERIVED_ARRAYS:
        name, elem = BUILTIN_DERIVED_ARRAYS[oid]
        codec = _array(oid, name, build_builtin(elem, registry))
    else:
        codec = _pgwire.text_codec(oid, f"oid_{oid}")
    registry[oid] = codec
    return codec


def build_codecs(rows: typing.Iterable[Row],
                 registry: Registry) -> list[int]:
    """Build Codec objects for the introspected rows into ``registry``
    (dict oid -> Codec); children first.  Returns the oids built."""
    info = {r[0]: r for r in rows}
    built: list[int] = []

    def build(oid: int, depth: int = 0) -> _pgwire.Codec:
        codec = registry.get(oid)
        if codec is not None:
            return codec
        if depth > 64:
            raise RecursionError(f"type {oid} nests too deeply")
        if oid < FIRST_NORMAL_OID:
            return build_builtin(oid, registry)
        else:
            codec = _make(oid, info.get(oid), depth)
        registry[oid] = codec
        built.append(oid)
        return codec

    def _make(oid: int, row: Row | None, depth: int) -> _pgwire.Codec:
        if row is None:  # vanished meanwhile: keep it readable as text
            return _pgwire.text_codec(oid, f"oid_{oid}")
        (_, name, schema, typtype, category, elem, base, subtype, rng,
         attnames, attoids) = row
        if typtype == "e":
            return _pgwire.enum_codec(oid, name)
        if typtype == "d":
            return _pgwire.domain_codec(oid, name, build(base, depth + 1))
        if typtype == "c":
            codecs = [build(o, depth + 1) for o in attoids or ()]
            return _pgwire.composite_codec(
                oid, name, names=list(attnames or ()),
                oids=list(attoids or ()), codecs=codecs, schema=schema)
        if typtype == "r":
            return _pgwire.range_codec(oid, name,
                                       build(subtype, depth + 1))
        if typtype == "m":
            return _pgwire.multirange_codec(oid, name,
                                            build(rng, depth + 1))
        if category == "A" and elem:
            return _array(oid, name, build(elem, depth + 1))
        # an extension's base type (citext, ltree, ...): text I/O
        return _pgwire.text_codec(oid, name)

    for oid in info:
        build(oid)
    return built


def _row_deps(row: Row) -> tuple[int, ...]:
    """The oids a type's codec is built from (elements, base type,
    fields, range subtype, multirange range)."""
    (_, _, _, typtype, category, elem, base, subtype, rng, _,
     attoids) = row
    if typtype == "d":
        return (base,)
    if typtype == "c":
        return tuple(attoids or ())
    if typtype == "r":
        return (subtype,)
    if typtype == "m":
        return (rng,)
    if category == "A" and elem:
        return (elem,)
    return ()


class SharedTypeCache:
    """Introspection rows shared by the connections of a pool, so a new
    connection builds the codecs of types another one already looked up
    without a catalog query.  Rows, not codecs, are shared: each
    connection builds its own codecs, with its own custom codecs
    (set_type_codec) in force.  ``generation`` moves on each
    invalidation (reload_schema_state, an outdated composite)."""

    __slots__ = ("rows", "generation")

    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.generation = 0

    def lookup(self, oids: typing.Sequence[int]
               ) -> tuple[list[Row], list[int]]:
        """(rows covering ``oids`` and everything they are made of,
        oids to query).  When anything is missing, the rows are [] and
        the missing oids are all of ``oids`` (one query fetches them with
        their dependencies)."""
        found: dict[int, Row] = {}
        stack = list(oids)
        while stack:
            oid = stack.pop()
            if oid < FIRST_NORMAL_OID or oid in found:
                continue
            row = self.rows.get(oid)
            if row is None:
                return [], list(oids)
            found[oid] = row
            stack.extend(_row_deps(row))
        return list(found.values()), []

    def add(self, rows: typing.Iterable[Row], generation: int) -> None:
        """Keep ``rows`` (fetched while ``generation`` was current)."""
        if generation == self.generation:
            for r in rows:
                self.rows[r[0]] = tuple(r)

    def invalidate(self) -> None:
        self.rows = {}
        self.generation += 1
