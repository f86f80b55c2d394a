/* codec_int.c -- bool, int2/int4/int8, oid/xid/cid (uint4), float4/float8.
 *
 * Encoders take exact int/float on an inline fast path; subclasses,
 * objects with __index__ (and, for floats, __float__) go through the cold
 * path, which also raises the range errors.
 */
#include "codec_internal.h"

#include <float.h>
#include <math.h>

/* ------------------------------------------------------------------ */
/* bool                                                                */
/* ------------------------------------------------------------------ */

PyObject *
pgw_bool_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 1) {
        return pgw_codec_size_error(codec, 1, n);
    }
    return PyBool_FromLong(p[0] != 0);
}

int
pgw_bool_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)ctx;
    (void)codec;
    if (obj == Py_True) {
        return pgw_put_u8(buf, 1);
    }
    if (obj == Py_False) {
        return pgw_put_u8(buf, 0);
    }
    PyErr_Format(PyExc_TypeError, "a boolean is required (got type %.100s)",
                 Py_TYPE(obj)->tp_name);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Integers                                                            */
/* ------------------------------------------------------------------ */

/* asyncpg's name for an integer type's range in its messages. */
static const char *
int_range_name(const PgwCodec *codec)
{
    if (strcmp(codec->name, "int2") == 0) {
        return "int16";
    }
    if (strcmp(codec->name, "int4") == 0) {
        return "int32";
    }
    if (strcmp(codec->name, "int8") == 0) {
        return "int64";
    }
    return "uint32"; /* oid, xid, cid, regclass... (uint4) */
}

/* OverflowError("value out of int32 range"), asyncpg's text (the binding's
 * DataError shows the value itself). */
static PGW_COLD int
int_range_error(const PgwCodec *codec)
{
    PyErr_Format(PyExc_OverflowError, "value out of %s range",
                 int_range_name(codec));
    return -1;
}

/* The value of an int-like object within [lo, hi]: 0, or -1 with
 * TypeError/ValueError/OverflowError set.  An int, an __index__ object,
 * or an integral float or Decimal (asyncpg takes any __int__ object and
 * truncates 11.5 to 11; pgwire refuses a fractional value). */
static PGW_NOINLINE int
int_value_slow(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
               long long lo, long long hi, long long *out)
{
    PyObject *idx;
    int overflow = 0, rc = 0;

    idx = pgw_codec_as_int(ctx, obj);
    if (idx == NULL) {
        return -1;
    }
    *out = PyLong_AsLongLongAndOverflow(idx, &overflow);
    if (*out == -1 && PyErr_Occurred()) {
        rc = -1;
    }
    else if (overflow || *out < lo || *out > hi) {
        rc = int_range_error(codec);
    }
    Py_DECREF(idx);
    return rc;
}

/* Inline fast path for exact ints in range. */
static inline int
int_value(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
          long long lo, long long hi, long long *out)
{
    if (PyLong_CheckExact(obj)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (!overflow && v >= lo && v <= hi) {
            *out = v;
            return 0;
        }
    }
    return int_value_slow(ctx, codec, obj, lo, hi, out);
}

PyObject *
pgw_int2_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 2) {
        return pgw_codec_size_error(codec, 2, n);
    }
    return PyLong_FromLong((int16_t)pgc_load_u16(p));
}

int
pgw_int2_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    long long v;
    (void)ctx;
    if (int_value(ctx, codec, obj, INT16_MIN, INT16_MAX, &v) < 0) {
        return -1;
    }
    return pgw_put_i16(buf, (int16_t)v);
}

PyObject *
pgw_int4_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 4) {
        return pgw_codec_size_error(codec, 4, n);
    }
    return PyLong_FromLong((int32_t)pgc_load_u32(p));
}

int
pgw_int4_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    long long v;
    (void)ctx;
    if (int_value(ctx, codec, obj, INT32_MIN, INT32_MAX, &v) < 0) {
        return -1;
    }
    return pgw_put_i32(buf, (int32_t)v);
}

PyObject *
pgw_int8_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 8) {
        return pgw_codec_size_error(codec, 8, n);
    }
    return PyLong_FromLongLong((int64_t)pgc_load_u64(p));
}

int
pgw_int8_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    long long v;
    (void)ctx;
    if (int_value(ctx, codec, obj, LLONG_MIN, LLONG_MAX, &v) < 0) {
        return -1;
    }
    return pgw_put_i64(buf, (int64_t)v);
}

/* oid, xid, cid: unsigned 32-bit. */
PyObject *
pgw_uint4_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 4) {
        return pgw_codec_size_error(codec, 4, n);
    }
    return PyLong_FromUnsignedLong(pgc_load_u32(p));
}

int
pgw_uint4_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    long long v;
    (void)ctx;
    if (int_value(ctx, codec, obj, 0, UINT32_MAX, &v) < 0) {
        return -1;
    }
    return pgw_put_i32(buf, (int32_t)(uint32_t)v);
}

/* ------------------------------------------------------------------ */
/* Floats                                                              */
/* ------------------------------------------------------------------ */

/* A float-like object's value: int, objects with __float__ or __index__.
 * 0, or -1 with an exception set. */
static PGW_NOINLINE int
float_value_slow(PyObject *obj, double *out)
{
    PyNumberMethods *nb = Py_TYPE(obj)->tp_as_number;

    if (PyLong_Check(obj)) {
        *out = PyLong_AsDouble(obj);
    }
    else if (nb != NULL && (nb->nb_float != NULL || nb->nb_index != NULL)) {
        *out = PyFloat_AsDouble(obj);
    }
    else {
        return pgw_codec_type_error("float", obj);
    }
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static inline int
float_value(PyObject *obj, double *out)
{
    if (PyFloat_CheckExact(obj)) {
        *out = PyFloat_AS_DOUBLE(obj);
        return 0;
    }
    return float_value_slow(obj, out);
}

PyObject *
pgw_float4_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    uint32_t bits;
    float f;
    (void)ctx;
    if (n != 4) {
        return pgw_codec_size_error(codec, 4, n);
    }
    bits = pgc_load_u32(p);
    memcpy(&f, &bits, sizeof(f));
    return PyFloat_FromDouble((double)f);
}

/* FLT_MAX + 2^103 (half its ulp): the smallest magnitude that rounds to
 * infinity as a float. */
#define FLOAT4_ROUNDS_TO_INF 0x1.ffffffp127

static PGW_COLD int
float4_range_error(double v)
{
    (void)v;
    PyErr_SetString(PyExc_OverflowError, "value out of float32 range");
    return -1;
}

int
pgw_float4_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    double v;
    uint32_t bits;
    float f;
    (void)ctx;
    (void)codec;
    if (float_value(obj, &v) < 0) {
        return -1;
    }
    /* The range is checked after rounding, as float4in does: a finite
     * value is refused only if it rounds to infinity, i.e. from FLT_MAX
     * plus half an ulp on (the tie rounds to even: infinity).  Checked
     * before the conversion, which is undefined out of range. */
    if (isfinite(v) && fabs(v) >= FLOAT4_ROUNDS_TO_INF) {
        return float4_range_error(v);
    }
    f = (float)v;
    memcpy(&bits, &f, sizeof(bits));
    return pgw_put_i32(buf, (int32_t)bits);
}

PyObject *
pgw_float8_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    uint64_t bits;
    double d;
    (void)ctx;
    if (n != 8) {
        return pgw_codec_size_error(codec, 8, n);
    }
    bits = pgc_load_u64(p);
    memcpy(&d, &bits, sizeof(d));
    return PyFloat_FromDouble(d);
}

int
pgw_float8_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    double v;
    uint64_t bits;
    (void)ctx;
    (void)codec;
    if (float_value(obj, &v) < 0) {
        return -1;
    }
    memcpy(&bits, &v, sizeof(bits));
    return pgw_put_i64(buf, (int64_t)bits);
}

/* ------------------------------------------------------------------ */
/* Integer result columns in text format                               */
/* ------------------------------------------------------------------ */
/* A server spends more CPU on int4send & co. than on int4out: each
 * binary datum goes through pq_begintypsend, which allocates a 1 kB
 * StringInfo.  Measured with W3 (1000 int4 rows): 213 against 181 us of
 * server CPU per query.  So the statement layer asks for top-level int2,
 * int4, int8 and oid result columns in text and decodes them here
 * (decimal text is as cheap to read as the binary form).  Parameters,
 * arrays, composites and COPY stay binary. */

/* PostgreSQL's int2out/int4out/int8out/oidout: an optional '-' then 1 to
 * 20 digits; the value must fit the column's type. */
static PyObject *
int_text_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    uint64_t v = 0;
    int neg = n > 0 && p[0] == '-';
    size_t i = (size_t)neg;
    if (i == n || n - i > 20) {
        goto bad;
    }
    for (; i < n; i++) {
        unsigned d = (unsigned)p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            goto bad;
        }
        v = v * 10 + d;
    }
    switch (codec->oid) {
    case 26: /* oid */
        if (neg || v > UINT32_MAX) {
            goto bad;
        }
        return PyLong_FromUnsignedLong((unsigned long)v);
    case 21:
        if (v > (neg ? 32768u : 32767u)) {
            goto bad;
        }
        break;
    case 23:
        if (v > (neg ? 2147483648u : 2147483647u)) {
            goto bad;
        }
        break;
    default: /* 20, int8 */
        if (v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
            goto bad;
        }
        break;
    }
    if (neg) {
        /* v <= 2^63: -(v - 1) - 1 stays in range */
        return PyLong_FromLongLong(v ? -(int64_t)(v - 1) - 1 : 0);
    }
    return PyLong_FromLongLong((int64_t)v);
bad:
    return pgw_codec_value_error(codec,
                                 "%zu bytes that are not a %s in "
                                 "text format",
                                 n, codec->name);
}

#define INT_TEXT(o, nm)                                      \
    {                                                        \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_TEXT, \
        .decode = int_text_decode, .encode = NULL            \
    }

static const PgwCodec int_text_codecs[] = {
    INT_TEXT(20, "int8"),
    INT_TEXT(21, "int2"),
    INT_TEXT(23, "int4"),
    INT_TEXT(26, "oid"),
};

const PgwCodec *
pgw_codec_result_variant(const PgwCodec *c)
{
    for (size_t i = 0;
         i < sizeof(int_text_codecs) / sizeof(int_text_codecs[0]); i++) {
        if (c->oid == int_text_codecs[i].oid &&
            c == pgw_codec_builtin(c->oid)) {
            return &int_text_codecs[i];
        }
    }
    return c;
}
