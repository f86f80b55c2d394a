/* codec.h -- binary/text <-> Python object codecs.
 *
 * One uniform signature for every type:
 *   decode(ctx, codec, p, n)      -> new reference, or NULL with an exception
 *                                    set (p/n: the column value, never NULL;
 *                                    SQL NULL is handled by the caller)
 *   encode(ctx, codec, obj, buf)  -> 0, or -1 with an exception set; appends
 *                                    the value bytes (no length prefix) to buf
 *
 * Encoders raise TypeError/ValueError/OverflowError with a short cause such
 * as "expected int, got str" or "value out of int32 range"; the binding
 * wraps it into DataError("invalid input for query argument $N: ...").
 * Decoders raise ValueError on malformed wire data (never read out of
 * bounds); the binding adds the column name and type.
 */
#ifndef PGW_CODEC_H
#define PGW_CODEC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
/* datetime.h defines a static PyDateTimeAPI that pgwire never uses (the
 * API is reached through PgwCodecCtx.dt); silence its unused warning. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#include <datetime.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "../core/pgc_buf.h"

struct ModState; /* src/ext/state.h, opaque here */

/* A client encoding other than UTF8 (codec_enc.c): PostgreSQL's name and
 * the Python codec that reads and writes it (NULL: none, pgwire cannot
 * follow it). */
typedef struct PgwEncoding {
    const char *pg_name;
    const char *py_name;
} PgwEncoding;

/* Python objects the codecs need, owned by the module state (strong refs),
 * set up once at module exec by pgw_codec_ctx_init. */
typedef struct {
    /* The connection's client_encoding, NULL for UTF8 (the fast path).
     * The module state's context is always UTF8; each connection works on
     * its own copy (ProtocolObject.codec) whose enc follows the server's
     * client_encoding ParameterStatus. */
    const PgwEncoding *enc;
    /* The server converts text between server_encoding and
     * client_encoding (they differ, and neither is SQL_ASCII). */
    int converts;
    PyDateTime_CAPI *dt;    /* datetime C API (capsule, borrowed forever) */
    PyObject *decimal_type; /* decimal.Decimal */
    PyObject *uuid_type;    /* uuid.UUID */
    PyObject *uuid_safe_unknown; /* uuid.SafeUUID.unknown */
    PyObject *tz_utc;            /* datetime.timezone.utc */
    PyObject *date_epoch;        /* date(2000, 1, 1) */
    PyObject *dt_epoch;          /* datetime(2000, 1, 1) */
    PyObject *dt_epoch_utc;      /* datetime(2000, 1, 1, tzinfo=utc) */
    /* Infinity: pgwire.types.date_infinity / date_neg_infinity, ...:
     * instances of date/datetime subclasses (see pgwire/types.py), so
     * infinity is never confused with date.max. */
    PyObject *date_inf, *date_ninf;
    PyObject *ts_inf, *ts_ninf;     /* naive */
    PyObject *tstz_inf, *tstz_ninf; /* aware (UTC) */
    PyObject *inf_date_type;        /* the subclass types, for encode checks */
    PyObject *inf_dt_type;
    PyObject *str_isoformat; /* interned method names, etc. */
    PyObject *str_as_tuple;
    PyObject *str_utcoffset;
    PyObject *str_astimezone;
    PyObject *str_int;
    PyObject *str_bytes;
    PyObject *str_is_safe; /* uuid.UUID slot names */
    PyObject *long_64;     /* the int 64 (uuid int <-> two halves) */
    /* codec_dyn*.c (set up by pgw_codec_dyn_ctx_init) */
    PyObject *range_type;            /* pgwire.types.Range */
    PyObject *mapping_abc;           /* collections.abc.Mapping */
    PyObject *outdated_schema_error; /* pgwire.exceptions.
                                        OutdatedSchemaCacheError */
    PyObject *str_lower, *str_upper, *str_lower_inc, *str_upper_inc;
    PyObject *str_isempty;
    PyObject *kw_range;    /* ("lower_inc", "upper_inc") */
    PyObject *kw_empty;    /* ("empty",) */
    PyObject *kw_outdated; /* ("schema", "data_type", "position") */
    /* The binding's Record (src/ext/record.c), set by module exec right
     * after the Record types exist: the codec layer does not link to the
     * ext layer.  Borrowed (the module state owns them).  A record from
     * record_new has NULL items, at byte offset record_items_offset; fill
     * them all, then call record_done. */
    PyTypeObject *record_type;
    PyObject *(*record_new)(PyTypeObject *type, PyObject *desc, Py_ssize_t n);
    void (*record_done)(PyObject *rec);
    PyObject *(*record_desc_new)(struct ModState *st, PyObject *names);
    struct ModState *record_state;
    Py_ssize_t record_items_offset;
    /* codec_bits.c, codec_geo.c, codec_net.c (set up by ctx_import_types
     * and ctx_import_ipaddress in codec_ctx.c) */
    PyObject *bitstring_type;     /* pgwire.types.BitString */
    PyObject *bounded_array_type; /* pgwire.types.BoundedArray */
    PyObject *str_lower_bounds;   /* its attribute name */
    PyObject *point_type, *line_type, *lseg_type, *box_type; /* pgwire. */
    PyObject *path_type, *polygon_type, *circle_type;        /* types.* */
    PyObject *ipv4_address, *ipv6_address; /* ipaddress classes */
    PyObject *ipv4_interface, *ipv6_interface;
    PyObject *ipv4_network, *ipv6_network;
    PyObject *ip_address, *ip_interface, *ip_network; /* its functions */
    PyObject *str_frombytes, *str_is_closed;          /* interned names */
    PyObject *str_packed, *str_prefixlen, *str_network;
    PyObject *str_network_address;
} PgwCodecCtx;

typedef struct PgwCodec PgwCodec;

typedef PyObject *(*PgwDecodeFn)(const PgwCodecCtx *ctx, const PgwCodec *codec,
                                 const uint8_t *p, size_t n);
typedef int (*PgwEncodeFn)(const PgwCodecCtx *ctx, const PgwCodec *codec,
                           PyObject *obj, PgcWBuf *buf);

struct PgwCodec {
    uint32_t oid;
    const char *name; /* PostgreSQL type name, e.g. "int4" */
    int16_t format;   /* PGC_FORMAT_BINARY or PGC_FORMAT_TEXT */
    PgwDecodeFn decode;
    PgwEncodeFn encode;
    uint32_t elem_oid;    /* arrays: the element type; else 0 */
    const PgwCodec *elem; /* arrays built at run time: element codec
                                (takes precedence over elem_oid) */
    int tuple_value;      /* encode takes a tuple as one value
                                (composites, ranges): an array of this
                                codec does not read tuples as sub-arrays */
};

/* The codec for a builtin type oid (the static table), or NULL. */
const PgwCodec *pgw_codec_builtin(uint32_t oid);
/* The codec to decode a top-level result column of codec c with: c, or
 * for the builtin int2/int4/int8/oid codecs a decode-only variant in text
 * format (cheaper for the server to produce; codec_int.c). */
const PgwCodec *pgw_codec_result_variant(const PgwCodec *c);
/* The text fallback: format text, decode -> str (UTF-8), encode accepts
 * str only. */
const PgwCodec *pgw_codec_text_fallback(void);

/* client_encoding (a ParameterStatus value) -> *out: NULL for UTF8, else
 * its entry.  0, or -1 (no exception set) for an encoding pgwire cannot
 * follow (*out: its entry when PostgreSQL knows it, else NULL). */
int pgw_encoding_find(const char *name, size_t n, const PgwEncoding **out);
/* PostgreSQL's name of ctx's client encoding ("UTF8" for NULL). */
const char *pgw_enc_name(const PgwCodecCtx *ctx);
/* Text in ctx's client encoding -> str (new reference), or NULL with
 * ValueError naming the encoding.  errors: NULL (strict) or "replace".
 * Use pgw_enc_decode, which keeps UTF-8 inline. */
PyObject *pgw_enc_decode_slow(const PgwCodecCtx *ctx, const char *p,
                              Py_ssize_t n, const char *errors);
/* str -> its bytes in ctx's client encoding: a pointer valid while s and
 * *owner live, *size set; *owner is a new reference to release (NULL when
 * the pointer is s's own UTF-8).  NULL with ValueError naming the encoding
 * for a character it lacks.  Use pgw_enc_encode. */
const char *pgw_enc_encode_slow(const PgwCodecCtx *ctx, PyObject *s,
                                Py_ssize_t *size, PyObject **owner);

static inline PyObject *
pgw_enc_decode(const PgwCodecCtx *ctx, const char *p, Py_ssize_t n,
               const char *errors)
{
    if (ctx->enc == NULL) {
        return PyUnicode_DecodeUTF8(p, n, errors);
    }
    return pgw_enc_decode_slow(ctx, p, n, errors);
}

static inline const char *
pgw_enc_encode(const PgwCodecCtx *ctx, PyObject *s, Py_ssize_t *size,
               PyObject **owner)
{
    if (ctx->enc == NULL) {
        *owner = NULL;
        return PyUnicode_AsUTF8AndSize(s, size);
    }
    return pgw_enc_encode_slow(ctx, s, size, owner);
}

/* module.name, imported (new reference, or NULL with an exception). */
PyObject *pgw_import_attr(const char *module, const char *name);

/* 0, or -1 with an exception set. */
int pgw_codec_ctx_init(PgwCodecCtx *ctx);
int pgw_codec_ctx_traverse(PgwCodecCtx *ctx, visitproc visit, void *arg);
void pgw_codec_ctx_clear(PgwCodecCtx *ctx);

#endif /* PGW_CODEC_H */
