/* codec_dyn_range.c -- ranges and multiranges (built at run time, see
 * codec_dyn.h).
 *
 * Range wire format (range_send): one flags byte, then, unless the range
 * is empty, the lower bound unless it is infinite and the upper bound
 * unless it is infinite, each as int32 length and the subtype's binary
 * form.  Flags other than the five below are refused, as range_recv does.
 * Decode gives a pgwire.types.Range (None for an infinite bound).  Encode
 * takes a Range, or a tuple/list as asyncpg: () empty, (lower,) [lower,
 * infinity), (lower, upper) [lower, upper] (both inclusive); None is an
 * infinite bound, which is never inclusive.
 *
 * Multirange wire format (multirange_send): int32 count, then each range
 * as int32 length and the range's binary form.  Decode gives a list of
 * Range; encode takes a list, tuple or other sequence of what the range
 * codec accepts.
 */
#include "codec_dyn.h"
#include "codec_internal.h"

#define RANGE_EMPTY 0x01
#define RANGE_LB_INC 0x02
#define RANGE_UB_INC 0x04
#define RANGE_LB_INF 0x08
#define RANGE_UB_INF 0x10
#define RANGE_FLAGS_KNOWN \
    (RANGE_EMPTY | RANGE_LB_INC | RANGE_UB_INC | RANGE_LB_INF | RANGE_UB_INF)

/* ------------------------------------------------------------------ */
/* Range: decode                                                       */
/* ------------------------------------------------------------------ */

/* One bound (new reference), or NULL with an exception set. */
static PyObject *
range_bound(const PgwCodecCtx *ctx, const PgwDynCodec *d, PgcCur *cur,
            const char *which)
{
    int32_t len = 0;
    PgcView v;
    if (pgc_cur_i32(cur, &len) != PGC_OK) {
        return pgw_codec_value_error(&d->codec, "truncated %s bound", which);
    }
    if (len < 0 || pgc_cur_bytes(cur, (size_t)len, &v) != PGC_OK) {
        return pgw_codec_value_error(&d->codec,
                                     "%s bound length %d, %zu bytes left",
                                     which, (int)len, pgc_cur_left(cur));
    }
    return d->sub_codec->decode(ctx, d->sub_codec, v.p, v.n);
}

static PyObject *
range_make(const PgwCodecCtx *ctx, PyObject *lower, PyObject *upper, int flags)
{
    PyObject *args[] = {lower, upper,
                        (flags & RANGE_LB_INC) ? Py_True : Py_False,
                        (flags & RANGE_UB_INC) ? Py_True : Py_False};
    return PyObject_Vectorcall(ctx->range_type, args, 2, ctx->kw_range);
}

static PyObject *
range_make_empty(const PgwCodecCtx *ctx)
{
    PyObject *args[] = {Py_True};
    return PyObject_Vectorcall(ctx->range_type, args, 0, ctx->kw_empty);
}

static PyObject *
range_decode_bounds(const PgwCodecCtx *ctx, const PgwDynCodec *d, PgcCur *cur,
                    int flags)
{
    PyObject *lower = NULL, *upper = NULL, *res = NULL;
    lower = (flags & RANGE_LB_INF) ? Py_NewRef(Py_None)
                                   : range_bound(ctx, d, cur, "lower");
    if (lower == NULL) {
        return NULL;
    }
    upper = (flags & RANGE_UB_INF) ? Py_NewRef(Py_None)
                                   : range_bound(ctx, d, cur, "upper");
    if (upper == NULL) {
        goto done;
    }
    if (pgc_cur_left(cur) != 0) {
        pgw_codec_value_error(&d->codec, "%zu trailing bytes",
                              pgc_cur_left(cur));
        goto done;
    }
    res = range_make(ctx, lower, upper, flags);
done:
    Py_DECREF(lower);
    Py_XDECREF(upper);
    return res;
}

static PyObject *
range_decode(const PgwCodecCtx *ctx, const PgwDynCodec *d, PgcCur *cur)
{
    uint8_t flags = 0;
    if (pgc_cur_u8(cur, &flags) != PGC_OK) {
        return pgw_codec_value_error(&d->codec, "missing flags");
    }
    if (flags & ~RANGE_FLAGS_KNOWN) {
        return pgw_codec_value_error(&d->codec, "invalid flags 0x%02x",
                                     (unsigned)flags);
    }
    if (!(flags & RANGE_EMPTY)) {
        return range_decode_bounds(ctx, d, cur, flags);
    }
    if (pgc_cur_left(cur) != 0) {
        return pgw_codec_value_error(&d->codec, "%zu trailing bytes",
                                     pgc_cur_left(cur));
    }
    return range_make_empty(ctx);
}

PyObject *
pgw_range_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    PgcCur cur = pgc_cur_make(p, n);
    if (Py_EnterRecursiveCall(" while decoding a range value")) {
        return NULL;
    }
    PyObject *res = range_decode(ctx, (const PgwDynCodec *)codec, &cur);
    Py_LeaveRecursiveCall();
    return res;
}

/* ------------------------------------------------------------------ */
/* Range: encode                                                       */
/* ------------------------------------------------------------------ */

typedef struct {
    PyObject *lower, *upper; /* new references; None = infinite */
    int flags;
} RangeArg;

/* A bool attribute of obj: 1, 0, or -1. */
static int
range_attr_true(PyObject *obj, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) {
        return -1;
    }
    int t = PyObject_IsTrue(v);
    Py_DECREF(v);
    return t;
}

static int
range_arg_from_range(const PgwCodecCtx *ctx, PyObject *obj, RangeArg *a)
{
    int empty = range_attr_true(obj, ctx->str_isempty);
    if (empty != 0) {
        a->flags = RANGE_EMPTY;
        return empty < 0 ? -1 : 0;
    }
    int li = range_attr_true(obj, ctx->str_lower_inc);
    int ui = li < 0 ? -1 : range_attr_true(obj, ctx->str_upper_inc);
    if (ui < 0) {
        return -1;
    }
    a->flags = (li ? RANGE_LB_INC : 0) | (ui ? RANGE_UB_INC : 0);
    a->lower = PyObject_GetAttr(obj, ctx->str_lower);
    a->upper = a->lower ? PyObject_GetAttr(obj, ctx->str_upper) : NULL;
    return a->upper ? 0 : -1;
}

static int
range_arg_from_seq(const PgwCodec *codec, PyObject *obj, RangeArg *a)
{
    PyObject *seq = PySequence_Tuple(obj); /* a list may change */
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    int rc = 0;
    if (n == 0) {
        a->flags = RANGE_EMPTY;
    }
    else if (n <= 2) {
        a->flags = RANGE_LB_INC | RANGE_UB_INC;
        a->lower = Py_NewRef(PyTuple_GET_ITEM(seq, 0));
        a->upper = Py_NewRef(n == 2 ? PyTuple_GET_ITEM(seq, 1) : Py_None);
    }
    else {
        PyErr_Format(PyExc_ValueError,
                     "expected 0, 1 or 2 elements in %s range tuple, got %zd",
                     codec->name, n);
        rc = -1;
    }
    Py_DECREF(seq);
    return rc;
}

static int
range_arg(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
          RangeArg *a)
{
    if (PyTuple_Check(obj) || PyList_Check(obj)) {
        return range_arg_from_seq(codec, obj, a);
    }
    int is_range = PyObject_IsInstance(obj, ctx->range_type);
    if (is_range <= 0) {
        if (is_range == 0) {
            PyErr_Format(PyExc_TypeError,
                         "list, tuple or Range object expected (got type "
                         "%.100s)",
                         Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    return range_arg_from_range(ctx, obj, a);
}

static int
range_encode(const PgwCodecCtx *ctx, const PgwDynCodec *d, PyObject *obj,
             PgcWBuf *buf)
{
    RangeArg a = {NULL, NULL, 0};
    int rc = -1;
    if (range_arg(ctx, &d->codec, obj, &a) < 0) {
        goto done;
    }
    if (!(a.flags & RANGE_EMPTY)) {
        /* an infinite bound is never inclusive */
        if (a.lower == Py_None) {
            a.flags = (a.flags & ~RANGE_LB_INC) | RANGE_LB_INF;
        }
        if (a.upper == Py_None) {
            a.flags = (a.flags & ~RANGE_UB_INC) | RANGE_UB_INF;
        }
    }
    if (pgw_put_u8(buf, (uint8_t)a.flags) < 0) {
        goto done;
    }
    if (!(a.flags & (RANGE_EMPTY | RANGE_LB_INF)) &&
        pgw_codec_put_value(ctx, d->sub_codec, a.lower, buf) < 0) {
        goto done;
    }
    if (!(a.flags & (RANGE_EMPTY | RANGE_UB_INF)) &&
        pgw_codec_put_value(ctx, d->sub_codec, a.upper, buf) < 0) {
        goto done;
    }
    rc = 0;
done:
    Py_XDECREF(a.lower);
    Py_XDECREF(a.upper);
    return rc;
}

int
pgw_range_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    if (Py_EnterRecursiveCall(" while encoding a range value")) {
        return -1;
    }
    int rc = range_encode(ctx, (const PgwDynCodec *)codec, obj, buf);
    Py_LeaveRecursiveCall();
    return rc;
}

/* ------------------------------------------------------------------ */
/* Multirange                                                          */
/* ------------------------------------------------------------------ */

static PyObject *
multi_item(const PgwCodecCtx *ctx, const PgwDynCodec *d, PgcCur *cur,
           Py_ssize_t i)
{
    int32_t len = 0;
    PgcView v;
    if (pgc_cur_i32(cur, &len) != PGC_OK) {
        return pgw_codec_value_error(&d->codec, "truncated range %zd", i);
    }
    if (len < 0 || pgc_cur_bytes(cur, (size_t)len, &v) != PGC_OK) {
        return pgw_codec_value_error(&d->codec,
                                     "range %zd length %d, %zu bytes left", i,
                                     (int)len, pgc_cur_left(cur));
    }
    return d->sub_codec->decode(ctx, d->sub_codec, v.p, v.n);
}

PyObject *
pgw_multirange_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                      const uint8_t *p, size_t n)
{
    const PgwDynCodec *d = (const PgwDynCodec *)codec;
    PgcCur cur = pgc_cur_make(p, n);
    int32_t count = 0;
    if (pgc_cur_i32(&cur, &count) != PGC_OK) {
        return pgw_codec_value_error(codec, "truncated range count");
    }
    /* each range takes 5 bytes at least: its length and flags */
    if (count < 0 || (size_t)count > pgc_cur_left(&cur) / 5) {
        return pgw_codec_value_error(codec, "%d ranges in %zu bytes",
                                     (int)count, pgc_cur_left(&cur));
    }
    PyObject *list = PyList_New(count);
    for (Py_ssize_t i = 0; list != NULL && i < count; i++) {
        PyObject *item = multi_item(ctx, d, &cur, i);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    if (list != NULL && pgc_cur_left(&cur) != 0) {
        Py_CLEAR(list);
        pgw_codec_value_error(codec, "%zu trailing bytes", pgc_cur_left(&cur));
    }
    return list;
}

int
pgw_multirange_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                      PyObject *obj, PgcWBuf *buf)
{
    const PgwDynCodec *d = (const PgwDynCodec *)codec;
    if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyByteArray_Check(obj) ||
        PyDict_Check(obj) || !PySequence_Check(obj)) {
        return pgw_codec_type_error("a sequence of ranges", obj);
    }
    PyObject *seq = PySequence_Tuple(obj);
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    int rc = n > INT32_MAX ? pgw_codec_buf_error(PGC_ERR_LIMIT)
                           : pgw_put_i32(buf, (int32_t)n);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        rc = pgw_codec_put_value(ctx, d->sub_codec, PyTuple_GET_ITEM(seq, i),
                                 buf);
    }
    Py_DECREF(seq);
    return rc;
}
