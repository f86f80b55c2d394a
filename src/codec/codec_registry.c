/* codec_registry.c -- the builtin codec table: one const entry per type oid
 * (PostgreSQL's pg_type.dat), sorted by oid, found by binary search.
 * Codecs are binary, except for the types asyncpg handles through their
 * text I/O (TEXTFMT: reg*, money, tsvector, aclitem, ...) and arrays of
 * those (TEXTARRAY).
 */
#include "codec_internal.h"

#define SCALAR(o, nm, fam)                                         \
    {                                                              \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,     \
        .decode = pgw_##fam##_decode, .encode = pgw_##fam##_encode \
    }
#define ARRAY(o, nm, elem_o)                                    \
    {                                                           \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,  \
        .decode = pgw_array_decode, .encode = pgw_array_encode, \
        .elem_oid = (elem_o)                                    \
    }

/* A binary codec that takes a tuple as one value (an array of it reads
 * tuples as elements, not sub-arrays). */
#define TSCALAR(o, nm, fam)                                         \
    {                                                               \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,      \
        .decode = pgw_##fam##_decode, .encode = pgw_##fam##_encode, \
        .tuple_value = 1                                            \
    }
/* Text format, str <-> str: types asyncpg reads and writes as text. */
#define TEXTFMT(o, nm)                                       \
    {                                                        \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_TEXT, \
        .decode = pgw_text_decode, .encode = pgw_text_encode \
    }
/* Decode only: the server accepts no input of these types (their input
 * functions raise), so there is no encoder (asyncpg: decoder only). */
#define DECODE_ONLY(o, nm, fmt, fam)               \
    {                                              \
        .oid = (o), .name = (nm), .format = (fmt), \
        .decode = pgw_##fam##_decode               \
    }
/* An array of a text-format element type, in text format. */
#define TEXTARRAY(o, nm, elem_o)                                        \
    {                                                                   \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_TEXT,            \
        .decode = pgw_textarray_decode, .encode = pgw_textarray_encode, \
        .elem_oid = (elem_o)                                            \
    }
/* int2vector, oidvector: one-dimensional arrays with lower bound 0 on the
 * wire (lists of int); tuple_value: in their arrays a tuple is a vector. */
#define VECTOR(o, nm, elem_o)                                       \
    {                                                               \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,      \
        .decode = pgw_array_decode, .encode = pgw_intvector_encode, \
        .elem_oid = (elem_o), .tuple_value = 1                      \
    }

/* Sorted by oid (checked by the tests through _codec_format). */
static const PgwCodec builtin_codecs[] = {
    SCALAR(16, "bool", bool),
    SCALAR(17, "bytea", bytea),
    SCALAR(18, "char", bytea),
    SCALAR(19, "name", text),
    SCALAR(20, "int8", int8),
    SCALAR(21, "int2", int2),
    VECTOR(22, "int2vector", 21),
    SCALAR(23, "int4", int4),
    TEXTFMT(24, "regproc"),
    SCALAR(25, "text", text),
    SCALAR(26, "oid", uint4),
    TSCALAR(27, "tid", tid),
    SCALAR(28, "xid", uint4),
    SCALAR(29, "cid", uint4),
    VECTOR(30, "oidvector", 26),
    SCALAR(114, "json", text),
    SCALAR(142, "xml", text),
    ARRAY(143, "_xml", 142),
    DECODE_ONLY(194, "pg_node_tree", PGC_FORMAT_TEXT, text),
    ARRAY(199, "_json", 114),
    ARRAY(271, "_xid8", 5069),
    TSCALAR(600, "point", point),
    TSCALAR(601, "lseg", lseg),
    TSCALAR(602, "path", path),
    TSCALAR(603, "box", box),
    TSCALAR(604, "polygon", polygon),
    TSCALAR(628, "line", line),
    ARRAY(629, "_line", 628),
    SCALAR(650, "cidr", cidr),
    ARRAY(651, "_cidr", 650),
    SCALAR(700, "float4", float4),
    SCALAR(701, "float8", float8),
    SCALAR(705, "unknown", text),
    TSCALAR(718, "circle", circle),
    ARRAY(719, "_circle", 718),
    SCALAR(774, "macaddr8", macaddr8),
    ARRAY(775, "_macaddr8", 774),
    TEXTFMT(790, "money"),
    TEXTARRAY(791, "_money", 790),
    SCALAR(829, "macaddr", macaddr),
    SCALAR(869, "inet", inet),
    ARRAY(1000, "_bool", 16),
    ARRAY(1001, "_bytea", 17),
    ARRAY(1002, "_char", 18),
    ARRAY(1003, "_name", 19),
    ARRAY(1005, "_int2", 21),
    ARRAY(1006, "_int2vector", 22),
    ARRAY(1007, "_int4", 23),
    TEXTARRAY(1008, "_regproc", 24),
    ARRAY(1009, "_text", 25),
    ARRAY(1010, "_tid", 27),
    ARRAY(1011, "_xid", 28),
    ARRAY(1012, "_cid", 29),
    ARRAY(1013, "_oidvector", 30),
    ARRAY(1014, "_bpchar", 1042),
    ARRAY(1015, "_varchar", 1043),
    ARRAY(1016, "_int8", 20),
    ARRAY(1017, "_point", 600),
    ARRAY(1018, "_lseg", 601),
    ARRAY(1019, "_path", 602),
    ARRAY(1020, "_box", 603),
    ARRAY(1021, "_float4", 700),
    ARRAY(1022, "_float8", 701),
    ARRAY(1027, "_polygon", 604),
    ARRAY(1028, "_oid", 26),
    TEXTFMT(1033, "aclitem"),
    TEXTARRAY(1034, "_aclitem", 1033),
    ARRAY(1040, "_macaddr", 829),
    ARRAY(1041, "_inet", 869),
    SCALAR(1042, "bpchar", text),
    SCALAR(1043, "varchar", text),
    SCALAR(1082, "date", date),
    SCALAR(1083, "time", time),
    SCALAR(1114, "timestamp", timestamp),
    ARRAY(1115, "_timestamp", 1114),
    ARRAY(1182, "_date", 1082),
    ARRAY(1183, "_time", 1083),
    SCALAR(1184, "timestamptz", timestamptz),
    ARRAY(1185, "_timestamptz", 1184),
    SCALAR(1186, "interval", interval),
    ARRAY(1187, "_interval", 1186),
    ARRAY(1231, "_numeric", 1700),
    ARRAY(1263, "_cstring", 2275),
    SCALAR(1266, "timetz", timetz),
    ARRAY(1270, "_timetz", 1266),
    SCALAR(1560, "bit", bits),
    ARRAY(1561, "_bit", 1560),
    SCALAR(1562, "varbit", bits),
    ARRAY(1563, "_varbit", 1562),
    SCALAR(1700, "numeric", numeric),
    SCALAR(1790, "refcursor", text),
    ARRAY(2201, "_refcursor", 1790),
    TEXTFMT(2202, "regprocedure"),
    TEXTFMT(2203, "regoper"),
    TEXTFMT(2204, "regoperator"),
    TEXTFMT(2205, "regclass"),
    TEXTFMT(2206, "regtype"),
    TEXTARRAY(2207, "_regprocedure", 2202),
    TEXTARRAY(2208, "_regoper", 2203),
    TEXTARRAY(2209, "_regoperator", 2204),
    TEXTARRAY(2210, "_regclass", 2205),
    TEXTARRAY(2211, "_regtype", 2206),
    SCALAR(2249, "record", record), /* anonymous: -> tuple */
    SCALAR(2275, "cstring", text),
    SCALAR(2278, "void", void),
    ARRAY(2287, "_record", 2249),
    ARRAY(2949, "_txid_snapshot", 2970),
    SCALAR(2950, "uuid", uuid),
    ARRAY(2951, "_uuid", 2950),
    TSCALAR(2970, "txid_snapshot", snapshot),
    SCALAR(3220, "pg_lsn", uint8),
    ARRAY(3221, "_pg_lsn", 3220),
    DECODE_ONLY(3361, "pg_ndistinct", PGC_FORMAT_TEXT, text),
    DECODE_ONLY(3402, "pg_dependencies", PGC_FORMAT_TEXT, text),
    TEXTFMT(3614, "tsvector"),
    TEXTFMT(3615, "tsquery"),
    DECODE_ONLY(3642, "gtsvector", PGC_FORMAT_TEXT, text),
    TEXTARRAY(3643, "_tsvector", 3614),
    TEXTARRAY(3644, "_gtsvector", 3642),
    TEXTARRAY(3645, "_tsquery", 3615),
    TEXTFMT(3734, "regconfig"),
    TEXTARRAY(3735, "_regconfig", 3734),
    TEXTFMT(3769, "regdictionary"),
    TEXTARRAY(3770, "_regdictionary", 3769),
    SCALAR(3802, "jsonb", jsonb),
    ARRAY(3807, "_jsonb", 3802),
    SCALAR(4072, "jsonpath", jsonb),
    ARRAY(4073, "_jsonpath", 4072),
    TEXTFMT(4089, "regnamespace"),
    TEXTARRAY(4090, "_regnamespace", 4089),
    TEXTFMT(4096, "regrole"),
    TEXTARRAY(4097, "_regrole", 4096),
    TEXTFMT(4191, "regcollation"),
    TEXTARRAY(4192, "_regcollation", 4191),
    DECODE_ONLY(4600, "pg_brin_bloom_summary", PGC_FORMAT_BINARY, bytea),
    DECODE_ONLY(4601, "pg_brin_minmax_multi_summary", PGC_FORMAT_BINARY,
                bytea),
    DECODE_ONLY(5017, "pg_mcv_list", PGC_FORMAT_BINARY, bytea),
    TSCALAR(5038, "pg_snapshot", snapshot),
    ARRAY(5039, "_pg_snapshot", 5038),
    SCALAR(5069, "xid8", uint8),
};

#define N_BUILTIN (sizeof(builtin_codecs) / sizeof(builtin_codecs[0]))

const PgwCodec *
pgw_codec_builtin(uint32_t oid)
{
    size_t lo = 0, hi = N_BUILTIN;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t m = builtin_codecs[mid].oid;
        if (m == oid) {
            return &builtin_codecs[mid];
        }
        if (m < oid) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return NULL;
}
