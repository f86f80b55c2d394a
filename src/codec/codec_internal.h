/* codec_internal.h -- helpers shared by the codec files, and the codec
 * functions the builtin table (codec_registry.c) points at.  Private to
 * src/codec.
 */
#ifndef PGW_CODEC_INTERNAL_H
#define PGW_CODEC_INTERNAL_H

#include "codec.h"
#include "../ext/compat.h" /* header-only API backports */
#include "../core/pgc_msg.h"

#if defined(__GNUC__) || defined(__clang__)
#define PGW_NOINLINE __attribute__((noinline))
#define PGW_COLD __attribute__((cold, noinline))
#define PGW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PGW_NOINLINE
#define PGW_COLD
#define PGW_PRINTF(f, a)
#endif

/* The value of a hexadecimal digit, or -1. */
static inline int
pgw_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Errors (cold paths; each returns -1 or NULL with an exception set)  */
/* ------------------------------------------------------------------ */

/* A write-buffer failure -> MemoryError / OverflowError.  -1. */
int pgw_codec_buf_error(PgcStatus st);
/* TypeError("expected <what>, got <type of obj>").  -1. */
int pgw_codec_type_error(const char *what, PyObject *obj);
/* obj as an int for an integer parameter (new reference): an int, an
 * __index__ object, or a float or Decimal with an integral value; NULL
 * with TypeError("an integer is required (got type T)") or ValueError (a
 * fractional, infinite or NaN value) set. */
PyObject *pgw_codec_as_int(const PgwCodecCtx *ctx, PyObject *obj);
/* ValueError("invalid <type> value: expected <want> bytes, got <got>"). */
PyObject *pgw_codec_size_error(const PgwCodec *codec, size_t want, size_t got);
/* ValueError("invalid <type> value: <msg>"), printf-style. */
PyObject *pgw_codec_value_error(const PgwCodec *codec, const char *fmt, ...)
    PGW_PRINTF(2, 3);

/* ------------------------------------------------------------------ */
/* Buffer writes raising Python exceptions                             */
/* ------------------------------------------------------------------ */

static inline int
pgw_put_bytes(PgcWBuf *b, const void *p, size_t n)
{
    PgcStatus st = pgc_wbuf_put_bytes(b, p, n);
    return st == PGC_OK ? 0 : pgw_codec_buf_error(st);
}

static inline int
pgw_put_u8(PgcWBuf *b, uint8_t v)
{
    PgcStatus st = pgc_wbuf_put_u8(b, v);
    return st == PGC_OK ? 0 : pgw_codec_buf_error(st);
}

static inline int
pgw_put_i16(PgcWBuf *b, int16_t v)
{
    PgcStatus st = pgc_wbuf_put_i16(b, v);
    return st == PGC_OK ? 0 : pgw_codec_buf_error(st);
}

static inline int
pgw_put_i32(PgcWBuf *b, int32_t v)
{
    PgcStatus st = pgc_wbuf_put_i32(b, v);
    return st == PGC_OK ? 0 : pgw_codec_buf_error(st);
}

static inline int
pgw_put_i64(PgcWBuf *b, int64_t v)
{
    PgcStatus st = pgc_wbuf_put_i64(b, v);
    return st == PGC_OK ? 0 : pgw_codec_buf_error(st);
}

/* Floor division and modulo for a positive divisor. */
static inline int64_t
pgw_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

/* ------------------------------------------------------------------ */
/* Codec functions (one pair per type family member)                   */
/* ------------------------------------------------------------------ */

#define PGW_DECL_CODEC(name)                                               \
    PyObject *pgw_##name##_decode(const PgwCodecCtx *ctx,                  \
                                  const PgwCodec *codec, const uint8_t *p, \
                                  size_t n);                               \
    int pgw_##name##_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, \
                            PyObject *obj, PgcWBuf *buf)

/* codec_int.c */
PGW_DECL_CODEC(bool);
PGW_DECL_CODEC(int2);
PGW_DECL_CODEC(int4);
PGW_DECL_CODEC(int8);
PGW_DECL_CODEC(uint4);
PGW_DECL_CODEC(float4);
PGW_DECL_CODEC(float8);
/* codec_numeric.c */
PGW_DECL_CODEC(numeric);
/* numeric in the text format (set_builtin_type_codec(..., codec_name=
 * 'numeric', format='text')): Decimal(text) / str(Decimal(value)). */
PGW_DECL_CODEC(numeric_text);
/* codec_text.c */
PGW_DECL_CODEC(text);
PGW_DECL_CODEC(jsonb); /* also jsonpath: a version byte 1, then text */
/* codec_bytea.c */
PGW_DECL_CODEC(bytea);
/* codec_uuid.c */
PGW_DECL_CODEC(uuid);
/* codec_datetime.c */
PGW_DECL_CODEC(date);
PGW_DECL_CODEC(time);
PGW_DECL_CODEC(timetz);
PGW_DECL_CODEC(timestamp);
PGW_DECL_CODEC(timestamptz);
PGW_DECL_CODEC(interval);
/* codec_array.c */
PGW_DECL_CODEC(array);

/* codec_dyn_record.c: the anonymous record (oid 2249, -> tuple) and
 * composites (PgwDynCodec) */
PGW_DECL_CODEC(record);
PGW_DECL_CODEC(composite);
/* codec_dyn_range.c (PgwDynCodec) */
PGW_DECL_CODEC(range);
PGW_DECL_CODEC(multirange);
/* codec_dyn.c: an int32 length, then obj encoded by codec (obj must not
 * be None); 0, or -1 with an exception set. */
int pgw_codec_put_value(const PgwCodecCtx *ctx, const PgwCodec *codec,
                        PyObject *obj, PgcWBuf *buf);
/* codec_dyn.c: the context fields of the codecs built at run time */
int pgw_codec_dyn_ctx_init(PgwCodecCtx *ctx);
int pgw_codec_dyn_ctx_traverse(PgwCodecCtx *ctx, visitproc visit, void *arg);
void pgw_codec_dyn_ctx_clear(PgwCodecCtx *ctx);

/* codec_net.c */
PGW_DECL_CODEC(inet);
PGW_DECL_CODEC(cidr);
PGW_DECL_CODEC(macaddr);
PGW_DECL_CODEC(macaddr8);
/* codec_geo.c */
PGW_DECL_CODEC(point);
PGW_DECL_CODEC(line);
PGW_DECL_CODEC(lseg);
PGW_DECL_CODEC(box);
PGW_DECL_CODEC(path);
PGW_DECL_CODEC(polygon);
PGW_DECL_CODEC(circle);
/* codec_bits.c: bit, varbit */
PGW_DECL_CODEC(bits);
/* codec_misc.c */
PGW_DECL_CODEC(tid);
PGW_DECL_CODEC(uint8);    /* pg_lsn, xid8 */
PGW_DECL_CODEC(snapshot); /* txid_snapshot, pg_snapshot */
PGW_DECL_CODEC(void);
/* codec_array_ext.c: text-format arrays (elements of a text-format
 * codec), and the encoder of int2vector/oidvector (decoded by
 * pgw_array_decode) */
PGW_DECL_CODEC(textarray);
int pgw_intvector_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                         PyObject *obj, PgcWBuf *buf);

/* codec_array.c: the walk over a Python array value that both array
 * encoders (binary: codec_array.c, text: codec_array_ext.c) share.  A
 * list is a sub-array, and so is a tuple unless tuple_elems (the element
 * codec takes tuples as values: composites, ranges); the dimensions are
 * those of the first element at each depth, and every sub-array must
 * have them (else a ValueError starting with `what`). */
#define PGW_ARRAY_MAXDIM 6
typedef struct PgwArrWalk PgwArrWalk;
struct PgwArrWalk {
    const PgwCodecCtx *ctx;
    const PgwCodec *ec; /* the element codec */
    PgcWBuf *buf;
    /* one element (a leaf at depth ndim); 0, or -1 with an exception */
    int (*elem)(PgwArrWalk *w, PyObject *item);
    const char *what; /* starts the message of a shape error */
    int tuple_elems;
    int braces; /* write '{', ',' and '}' around elements (text format) */
    int ndim;
    Py_ssize_t dims[PGW_ARRAY_MAXDIM];
};

static inline int
pgw_array_is_nested(const PgwArrWalk *w, PyObject *o)
{
    return PyList_Check(o) || (!w->tuple_elems && PyTuple_Check(o));
}

/* The element codec of an array codec, or NULL with TypeError set. */
const PgwCodec *pgw_array_elem(const PgwCodec *codec);
/* The start of an encode of obj with the array codec `codec`: w->ec,
 * w->tuple_elems, w->ndim and w->dims (from the first element at each
 * depth); returns obj as a list or tuple (new reference, see
 * pgw_array_as_seq) with *empty 1 when the array has no elements, or NULL
 * with an exception set. */
PyObject *pgw_array_walk_start(PgwArrWalk *w, const PgwCodec *codec,
                               PyObject *obj, int *empty);
/* Call w->elem on each element of seq (at depth `level`, 0 at the top)
 * in order, checking the shape. */
int pgw_array_walk(PgwArrWalk *w, PyObject *seq, int level);
/* codec_array.c: the top-level value of an array parameter as a list or
 * tuple (new reference); refuses str/bytes/dict and unsized sequences. */
PyObject *pgw_array_as_seq(const PgwCodecCtx *ctx, PyObject *obj);

#endif /* PGW_CODEC_INTERNAL_H */
