/* codec_registry.c -- the builtin codec table: one const entry per type oid
 * (PostgreSQL's pg_type.dat), sorted by oid, found by binary search.
 * Every builtin codec is binary.
 */
#include "codec_internal.h"

#define SCALAR(o, nm, fam)                                                \
    {.oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,               \
     .decode = pgw_##fam##_decode, .encode = pgw_##fam##_encode}
#define ARRAY(o, nm, elem_o)                                              \
    {.oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,               \
     .decode = pgw_array_decode, .encode = pgw_array_encode,              \
     .elem_oid = (elem_o)}

/* Sorted by oid (checked by the tests through _codec_format). */
static const PgwCodec builtin_codecs[] = {
    SCALAR(16, "bool", bool),
    SCALAR(17, "bytea", bytea),
    SCALAR(18, "char", bytea),
    SCALAR(19, "name", text),
    SCALAR(20, "int8", int8),
    SCALAR(21, "int2", int2),
    SCALAR(23, "int4", int4),
    SCALAR(25, "text", text),
    SCALAR(26, "oid", uint4),
    SCALAR(28, "xid", uint4),
    SCALAR(29, "cid", uint4),
    SCALAR(114, "json", text),
    SCALAR(142, "xml", text),
    ARRAY(143, "_xml", 142),
    ARRAY(199, "_json", 114),
    SCALAR(700, "float4", float4),
    SCALAR(701, "float8", float8),
    SCALAR(705, "unknown", text),
    ARRAY(1000, "_bool", 16),
    ARRAY(1001, "_bytea", 17),
    ARRAY(1002, "_char", 18),
    ARRAY(1003, "_name", 19),
    ARRAY(1005, "_int2", 21),
    ARRAY(1007, "_int4", 23),
    ARRAY(1009, "_text", 25),
    ARRAY(1011, "_xid", 28),
    ARRAY(1012, "_cid", 29),
    ARRAY(1014, "_bpchar", 1042),
    ARRAY(1015, "_varchar", 1043),
    ARRAY(1016, "_int8", 20),
    ARRAY(1021, "_float4", 700),
    ARRAY(1022, "_float8", 701),
    ARRAY(1028, "_oid", 26),
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
    SCALAR(1266, "timetz", timetz),
    ARRAY(1270, "_timetz", 1266),
    SCALAR(1700, "numeric", numeric),
    SCALAR(2950, "uuid", uuid),
    ARRAY(2951, "_uuid", 2950),
    SCALAR(3802, "jsonb", jsonb),
    ARRAY(3807, "_jsonb", 3802),
    SCALAR(4072, "jsonpath", jsonb),
    ARRAY(4073, "_jsonpath", 4072),
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
