/* codec_numeric.c -- numeric (binary) <-> decimal.Decimal.
 *
 * Wire format: int16 ndigits, int16 weight, uint16 sign, uint16 dscale,
 * then ndigits base-10000 digits (int16), most significant first; the
 * first digit is worth 10000^weight.  sign is 0x0000 (+), 0x4000 (-),
 * 0xC000 (NaN) or, from PostgreSQL 14, 0xD000 (+Infinity) and 0xF000
 * (-Infinity).  dscale is the number of decimal digits after the point.
 *
 * Decode builds the positional text "[-]int.frac" with exactly dscale
 * fraction digits (as PostgreSQL prints it) and calls Decimal(str); an
 * integer's trailing zero digit groups become an exponent, as asyncpg
 * renders them (Decimal('1E+20'), Decimal('1.0E+5')).
 * Encode takes Decimal (via as_tuple()), int (int64 directly, larger via
 * Decimal), float (via Decimal(repr(f)), so 0.1 is sent as 0.1) and str
 * (Decimal(str), as asyncpg accepts it).  Decimal('-0') is sent as 0 (the
 * server would normalise it anyway); sNaN is sent as NaN.
 */
#include "codec_internal.h"

#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define NUMERIC_DSCALE_MAX 0x3FFF
#define NUMERIC_NBASE 10000
#define NUMERIC_HDR 8

/* ------------------------------------------------------------------ */
/* Decode                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const uint8_t *digits; /* ndigits big-endian int16 */
    int64_t ndigits;
    int64_t weight;
    int64_t dscale;
    int neg;
} NumView;

static inline int
num_digit(const NumView *v, int64_t g)
{
    return (g >= 0 && g < v->ndigits) ? pgc_load_u16(v->digits + 2 * g) : 0;
}

/* The k-th decimal digit after the point, as a character. */
static inline char
num_frac_char(const NumView *v, int64_t k)
{
    static const int scale[4] = {1000, 100, 10, 1};
    int d = num_digit(v, v->weight + 1 + k / 4);
    return (char)('0' + d / scale[k % 4] % 10);
}

/* Fraction digits to print: dscale, or more if the data holds nonzero
 * digits beyond it (never produced by PostgreSQL; kept, not dropped). */
static int64_t
num_frac_len(const NumView *v)
{
    int64_t groups = v->ndigits - (v->weight + 1);
    int64_t flen = groups > 0 ? groups * 4 : 0;
    while (flen > v->dscale && num_frac_char(v, flen - 1) == '0') {
        flen--;
    }
    return flen > v->dscale ? flen : v->dscale;
}

static char *
num_put_group(char *o, int d)
{
    o[0] = (char)('0' + d / 1000);
    o[1] = (char)('0' + d / 100 % 10);
    o[2] = (char)('0' + d / 10 % 10);
    o[3] = (char)('0' + d % 10);
    return o + 4;
}

/* Render into o (large enough); returns the end.  Leading zeros of the
 * integer part are left in: Decimal ignores them.  An integer whose
 * trailing base-10000 digits are zero (PostgreSQL leaves them out: ezero
 * groups) is rendered with an exponent, as asyncpg does, so '1E+1000'
 * decodes to Decimal('1E+1000'), not to 1001 digits. */
static char *
num_render(const NumView *v, char *o, int64_t flen, int64_t ezero)
{
    if (v->neg) {
        *o++ = '-';
    }
    if (v->weight < 0) {
        *o++ = '0';
    }
    for (int64_t g = 0; g <= v->weight - ezero; g++) {
        o = num_put_group(o, num_digit(v, g));
    }
    if (ezero > 0) {
        o += sprintf(o, "E+%lld", (long long)(ezero * 4));
    }
    if (flen > 0) {
        *o++ = '.';
        for (int64_t k = 0; k < flen; k++) {
            *o++ = num_frac_char(v, k);
        }
    }
    return o;
}

static PyObject *
num_to_decimal(const PgwCodecCtx *ctx, const NumView *v)
{
    char small[128], *buf = small;
    int64_t flen = num_frac_len(v);
    int64_t ilen = v->weight >= 0 ? (v->weight + 1) * 4 : 1;
    /* trailing zero groups of an integer: an exponent (num_render) */
    int64_t ezero = (flen == 0 && v->ndigits > 0 && v->weight >= v->ndigits)
                        ? v->weight + 1 - v->ndigits
                        : 0;
    size_t size = (size_t)(2 + ilen + flen + 24);
    PyObject *text, *res;

    if (size > sizeof(small)) {
        buf = PyMem_Malloc(size);
        if (buf == NULL) {
            return PyErr_NoMemory();
        }
    }
    char *end = num_render(v, buf, flen, ezero);
    text = PyUnicode_DecodeASCII(buf, end - buf, NULL);
    if (buf != small) {
        PyMem_Free(buf);
    }
    if (text == NULL) {
        return NULL;
    }
    res = PyObject_CallOneArg(ctx->decimal_type, text);
    Py_DECREF(text);
    return res;
}

static PGW_NOINLINE PyObject *
num_special(const PgwCodecCtx *ctx, uint16_t sign)
{
    const char *s = sign == NUMERIC_NAN    ? "NaN"
                    : sign == NUMERIC_PINF ? "Infinity"
                                           : "-Infinity";
    return PyObject_CallFunction(ctx->decimal_type, "s", s);
}

/* Header and digit checks; 0, or -1 with ValueError set. */
static int
num_check(const PgwCodec *codec, const NumView *v, uint16_t sign)
{
    if (sign != NUMERIC_POS && sign != NUMERIC_NEG && sign != NUMERIC_NAN &&
        sign != NUMERIC_PINF && sign != NUMERIC_NINF) {
        pgw_codec_value_error(codec, "unknown sign 0x%04x", (unsigned)sign);
        return -1;
    }
    if (v->dscale > NUMERIC_DSCALE_MAX) {
        pgw_codec_value_error(codec, "display scale %d out of range",
                              (int)v->dscale);
        return -1;
    }
    for (int64_t g = 0; g < v->ndigits; g++) {
        if (num_digit(v, g) >= NUMERIC_NBASE) {
            pgw_codec_value_error(codec, "digit %d out of range",
                                  num_digit(v, g));
            return -1;
        }
    }
    return 0;
}

PyObject *
pgw_numeric_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                   const uint8_t *p, size_t n)
{
    NumView v;
    uint16_t sign;

    if (n < NUMERIC_HDR) {
        return pgw_codec_value_error(codec,
                                     "expected at least 8 bytes, got %zu", n);
    }
    v.ndigits = (int16_t)pgc_load_u16(p);
    v.weight = (int16_t)pgc_load_u16(p + 2);
    sign = pgc_load_u16(p + 4);
    v.dscale = pgc_load_u16(p + 6);
    v.neg = sign == NUMERIC_NEG;
    v.digits = p + NUMERIC_HDR;
    if (v.ndigits < 0 || n != NUMERIC_HDR + 2 * (size_t)v.ndigits) {
        return pgw_codec_value_error(codec, "%d digits in %zu bytes",
                                     (int)v.ndigits, n);
    }
    if (num_check(codec, &v, sign) < 0) {
        return NULL;
    }
    if (sign != NUMERIC_POS && sign != NUMERIC_NEG) {
        return num_special(ctx, sign);
    }
    return num_to_decimal(ctx, &v);
}

/* ------------------------------------------------------------------ */
/* Encode                                                              */
/* ------------------------------------------------------------------ */

static PGW_COLD int
num_range_error(const char *what)
{
    PyErr_Format(PyExc_ValueError, "value out of numeric range: %s", what);
    return -1;
}

static int
num_put_header(PgcWBuf *buf, int64_t ndigits, int64_t weight, uint16_t sign,
               int64_t dscale)
{
    PgcStatus st = pgc_wbuf_reserve(buf, NUMERIC_HDR + 2 * (size_t)ndigits);
    if (st != PGC_OK) {
        return pgw_codec_buf_error(st);
    }
    uint8_t *o = buf->data + buf->len;
    pgc_store_u16(o, (uint16_t)ndigits);
    pgc_store_u16(o + 2, (uint16_t)(int16_t)weight);
    pgc_store_u16(o + 4, sign);
    pgc_store_u16(o + 6, (uint16_t)dscale);
    buf->len += NUMERIC_HDR;
    return 0;
}

/* A finite value: decimal digits d[0..m) (most significant first), times
 * 10^exp.  Regroups them into base-10000 digits aligned on the point. */
static int
num_put_digits(PgcWBuf *buf, int neg, const uint8_t *d, size_t m, int64_t exp)
{
    if (exp < -NUMERIC_DSCALE_MAX) {
        return num_range_error("more than 16383 digits after the point");
    }
    int64_t dscale = exp < 0 ? -exp : 0;
    while (m > 0 && d[0] == 0) {
        d++, m--;
    }
    while (m > 0 && d[m - 1] == 0) {
        m--, exp++;
    }
    if (m == 0) {
        return num_put_header(buf, 0, 0, NUMERIC_POS, dscale);
    }
    int64_t top = exp + (int64_t)m - 1; /* power of ten of d[0] */
    int64_t weight = pgw_floor_div(top, 4), low = pgw_floor_div(exp, 4);
    if (weight > INT16_MAX) {
        return num_range_error("exponent too large");
    }
    if (weight - low + 1 > INT16_MAX) {
        return num_range_error("too many digits");
    }
    if (num_put_header(buf, weight - low + 1, weight,
                       neg ? NUMERIC_NEG : NUMERIC_POS, dscale) < 0) {
        return -1;
    }
    for (int64_t g = weight; g >= low; g--) {
        int v = 0;
        for (int64_t q = 4 * g + 3; q >= 4 * g; q--) {
            int64_t i = top - q;
            v = v * 10 + ((i >= 0 && i < (int64_t)m) ? d[i] : 0);
        }
        pgc_store_u16(buf->data + buf->len, (uint16_t)v);
        buf->len += 2;
    }
    return 0;
}

static int
num_put_special(PgcWBuf *buf, uint16_t sign)
{
    return num_put_header(buf, 0, 0, sign, 0);
}

/* An int64 as digits. */
static int
num_encode_i64(PgcWBuf *buf, long long v)
{
    uint8_t d[20];
    size_t m = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    do {
        d[sizeof(d) - 1 - m++] = (uint8_t)(u % 10);
        u /= 10;
    } while (u);
    return num_put_digits(buf, v < 0, d + sizeof(d) - m, m, 0);
}

/* The digits tuple of Decimal.as_tuple() into d[0..m). */
static int
num_tuple_digits(PyObject *digits, uint8_t *d, Py_ssize_t m)
{
    for (Py_ssize_t i = 0; i < m; i++) {
        long v = PyLong_AsLong(PyTuple_GET_ITEM(digits, i));
        if (v < 0 || v > 9) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError,
                                "Decimal.as_tuple(): digit out of range");
            }
            return -1;
        }
        d[i] = (uint8_t)v;
    }
    return 0;
}

static int
num_encode_finite(PgcWBuf *buf, int neg, PyObject *digits, PyObject *expo)
{
    uint8_t small[64], *d = small;
    int overflow = 0, rc = -1;
    long long exp = PyLong_AsLongLongAndOverflow(expo, &overflow);
    Py_ssize_t m = PyTuple_GET_SIZE(digits);

    if (exp == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow) {
        return num_range_error("exponent too large");
    }
    if ((size_t)m > sizeof(small)) {
        d = PyMem_Malloc((size_t)m);
        if (d == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    if (num_tuple_digits(digits, d, m) == 0) {
        rc = num_put_digits(buf, neg, d, (size_t)m, exp);
    }
    if (d != small) {
        PyMem_Free(d);
    }
    return rc;
}

/* Non-integer exponent: 'n' (NaN), 'N' (sNaN), 'F' (Infinity). */
static int
num_encode_nonfinite(PgcWBuf *buf, int neg, PyObject *expo)
{
    if (PyUnicode_Check(expo)) {
        if (PyUnicode_CompareWithASCIIString(expo, "n") == 0 ||
            PyUnicode_CompareWithASCIIString(expo, "N") == 0) {
            return num_put_special(buf, NUMERIC_NAN);
        }
        if (PyUnicode_CompareWithASCIIString(expo, "F") == 0) {
            return num_put_special(buf, neg ? NUMERIC_NINF : NUMERIC_PINF);
        }
    }
    PyErr_SetString(PyExc_ValueError, "Decimal.as_tuple(): bad exponent");
    return -1;
}

static int
num_encode_decimal(const PgwCodecCtx *ctx, PyObject *dec, PgcWBuf *buf)
{
    PyObject *t = PyObject_CallMethodNoArgs(dec, ctx->str_as_tuple);
    int rc = -1;
    if (t == NULL) {
        return -1;
    }
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3 ||
        !PyTuple_Check(PyTuple_GET_ITEM(t, 1))) {
        PyErr_SetString(PyExc_TypeError,
                        "Decimal.as_tuple() returned an unexpected value");
        goto done;
    }
    int neg = PyObject_IsTrue(PyTuple_GET_ITEM(t, 0));
    PyObject *expo = PyTuple_GET_ITEM(t, 2);
    if (neg < 0) {
        goto done;
    }
    if (PyLong_Check(expo)) {
        rc = num_encode_finite(buf, neg, PyTuple_GET_ITEM(t, 1), expo);
    }
    else {
        rc = num_encode_nonfinite(buf, neg, expo);
    }
done:
    Py_DECREF(t);
    return rc;
}

/* Decimal(arg) then encode; for str, a failed conversion is a ValueError. */
static int
num_encode_via_decimal(const PgwCodecCtx *ctx, PyObject *arg, PgcWBuf *buf,
                       int is_str)
{
    PyObject *dec = PyObject_CallOneArg(ctx->decimal_type, arg);
    if (dec == NULL) {
        if (is_str && PyErr_ExceptionMatches(PyExc_ArithmeticError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "invalid numeric value %R", arg);
        }
        return -1;
    }
    int rc = num_encode_decimal(ctx, dec, buf);
    Py_DECREF(dec);
    return rc;
}

static int
num_encode_int(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow) {
        return num_encode_via_decimal(ctx, obj, buf, 0);
    }
    return num_encode_i64(buf, v);
}

static int
num_encode_float(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    PyObject *r = PyObject_Repr(obj);
    if (r == NULL) {
        return -1;
    }
    int rc = num_encode_via_decimal(ctx, r, buf, 0);
    Py_DECREF(r);
    return rc;
}

static PGW_NOINLINE int
num_encode_slow(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    if (PyObject_TypeCheck(obj, (PyTypeObject *)ctx->decimal_type)) {
        return num_encode_decimal(ctx, obj, buf);
    }
    if (PyLong_Check(obj)) {
        return num_encode_int(ctx, obj, buf);
    }
    if (PyFloat_Check(obj)) {
        return num_encode_float(ctx, obj, buf);
    }
    if (PyUnicode_Check(obj)) {
        return num_encode_via_decimal(ctx, obj, buf, 1);
    }
    return pgw_codec_type_error("Decimal, int or float", obj);
}

int
pgw_numeric_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                   PyObject *obj, PgcWBuf *buf)
{
    (void)codec;
    if (Py_IS_TYPE(obj, (PyTypeObject *)ctx->decimal_type)) {
        return num_encode_decimal(ctx, obj, buf);
    }
    if (PyLong_CheckExact(obj)) {
        return num_encode_int(ctx, obj, buf);
    }
    return num_encode_slow(ctx, obj, buf);
}

/* ------------------------------------------------------------------ */
/* Text format (an alias with format='text', as asyncpg's text numeric) */
/* ------------------------------------------------------------------ */

PyObject *
pgw_numeric_text_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                        const uint8_t *p, size_t n)
{
    (void)codec;
    PyObject *text = PyUnicode_DecodeASCII((const char *)p, (Py_ssize_t)n,
                                           NULL);
    if (text == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_CallOneArg(ctx->decimal_type, text);
    Py_DECREF(text);
    return res;
}

int
pgw_numeric_text_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                        PyObject *obj, PgcWBuf *buf)
{
    PyObject *dec, *text;
    Py_ssize_t size;
    const char *s;
    int rc;
    (void)codec;

    if (PyObject_TypeCheck(obj, (PyTypeObject *)ctx->decimal_type)) {
        dec = Py_NewRef(obj);
    }
    else if (PyLong_Check(obj) || PyFloat_Check(obj) || PyUnicode_Check(obj)) {
        dec = PyObject_CallOneArg(ctx->decimal_type, obj);
        if (dec == NULL) {
            return -1;
        }
    }
    else {
        return pgw_codec_type_error("Decimal, int or float", obj);
    }
    text = PyObject_Str(dec);
    Py_DECREF(dec);
    if (text == NULL) {
        return -1;
    }
    s = PyUnicode_AsUTF8AndSize(text, &size);
    rc = s == NULL ? -1 : pgw_put_bytes(buf, s, (size_t)size);
    Py_DECREF(text);
    return rc;
}
