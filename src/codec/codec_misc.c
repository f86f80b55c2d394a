/* codec_misc.c -- tid <-> (block, offset); pg_lsn and xid8 <-> int
 * (unsigned 64-bit); txid_snapshot and pg_snapshot <-> (xmin, xmax,
 * (xip, ...)); void <-> None.
 *
 * Wire formats:
 *   tid       uint32 block, uint16 offset
 *   pg_lsn    uint64 (asyncpg uses its signed int8 codec; an LSN is
 *             unsigned, so pgwire returns 'FFFFFFFF/FFFFFFFF' as 2**64-1)
 *   xid8      uint64
 *   snapshot  int32 nxip, uint64 xmin, uint64 xmax, nxip x uint64 xip
 *   void      no bytes
 * Encoders take int (or __index__) values; tid and the snapshots a tuple
 * or list (asyncpg), the snapshot's xip any sequence of ints.  The server
 * checks a snapshot's ordering.
 */
#include "codec_internal.h"

#define TID_LEN 6
#define SNAPSHOT_HDR 20

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* OverflowError("<what> value out of <range> range"), asyncpg's text
 * (the binding's DataError shows the value itself); -1. */
static PGW_COLD int
misc_range_error(const char *what, PyObject *v)
{
    (void)v;
    PyErr_SetString(PyExc_OverflowError, what);
    return -1;
}

/* An int-like obj within [0, max]: 0, or -1 with TypeError/OverflowError
 * naming `what`. */
static int
misc_uint(const char *what, PyObject *obj, unsigned long long max,
          unsigned long long *out)
{
    PyObject *idx;
    int rc = 0;

    if (!PyLong_Check(obj) && !PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "an integer is required (got type %.100s)",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    idx = pgw_codec_as_int(NULL, obj);
    if (idx == NULL) {
        return -1;
    }
    *out = PyLong_AsUnsignedLongLong(idx);
    if (*out == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            rc = misc_range_error(what, idx);
        }
        else {
            rc = -1;
        }
    }
    else if (*out > max) {
        rc = misc_range_error(what, idx);
    }
    Py_DECREF(idx);
    return rc;
}

/* obj as a fast sequence of exactly n items when it is a tuple or list
 * (new reference), else NULL with TypeError/ValueError set. */
static PyObject *
misc_tuple(const PgwCodec *codec, PyObject *obj, Py_ssize_t n)
{
    if (!PyTuple_Check(obj) && !PyList_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "list or tuple expected (got type %.100s)",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (PySequence_Fast_GET_SIZE(obj) != n) {
        PyErr_Format(PyExc_ValueError,
                     "invalid number of elements in %s tuple, expecting %zd "
                     "(got %zd)",
                     codec->name, n, PySequence_Fast_GET_SIZE(obj));
        return NULL;
    }
    /* a list is copied: encoding an item may run code that changes it */
    return PySequence_Tuple(obj);
}

/* ------------------------------------------------------------------ */
/* tid                                                                 */
/* ------------------------------------------------------------------ */

PyObject *
pgw_tid_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, const uint8_t *p,
               size_t n)
{
    (void)ctx;
    if (n != TID_LEN) {
        return pgw_codec_size_error(codec, TID_LEN, n);
    }
    return Py_BuildValue("(kH)", (unsigned long)pgc_load_u32(p),
                         (unsigned short)pgc_load_u16(p + 4));
}

int
pgw_tid_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
               PgcWBuf *buf)
{
    unsigned long long block, offset;
    PyObject *t = misc_tuple(codec, obj, 2);
    int rc = -1;
    size_t start = buf->len;
    (void)ctx;

    if (t == NULL) {
        return -1;
    }
    if (misc_uint("tuple id block value out of uint32 range",
                  PyTuple_GET_ITEM(t, 0), UINT32_MAX, &block) < 0 ||
        misc_uint("tuple id offset value out of uint16 range",
                  PyTuple_GET_ITEM(t, 1), UINT16_MAX, &offset) < 0) {
        goto done;
    }
    if (pgw_put_i32(buf, (int32_t)(uint32_t)block) < 0 ||
        pgw_put_i16(buf, (int16_t)(uint16_t)offset) < 0) {
        pgc_wbuf_truncate(buf, start);
        goto done;
    }
    rc = 0;
done:
    Py_DECREF(t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* pg_lsn, xid8                                                        */
/* ------------------------------------------------------------------ */

PyObject *
pgw_uint8_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 8) {
        return pgw_codec_size_error(codec, 8, n);
    }
    return PyLong_FromUnsignedLongLong(pgc_load_u64(p));
}

int
pgw_uint8_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    unsigned long long v;
    (void)ctx;
    (void)codec;
    if (misc_uint("value out of uint64 range", obj, UINT64_MAX, &v) < 0) {
        return -1;
    }
    return pgw_put_i64(buf, (int64_t)(uint64_t)v);
}

/* ------------------------------------------------------------------ */
/* txid_snapshot, pg_snapshot                                          */
/* ------------------------------------------------------------------ */

PyObject *
pgw_snapshot_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    const uint8_t *p, size_t n)
{
    int32_t nxip;
    PyObject *xip, *res;
    (void)ctx;

    if (n < SNAPSHOT_HDR) {
        return pgw_codec_value_error(codec, "truncated header (%zu bytes)", n);
    }
    nxip = (int32_t)pgc_load_u32(p);
    if (nxip < 0 || (size_t)nxip != (n - SNAPSHOT_HDR) / 8 ||
        (n - SNAPSHOT_HDR) % 8 != 0) {
        return pgw_codec_value_error(codec, "%d xip values in %zu bytes",
                                     (int)nxip, n - SNAPSHOT_HDR);
    }
    xip = PyTuple_New(nxip);
    if (xip == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < nxip; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(
            pgc_load_u64(p + SNAPSHOT_HDR + 8 * (size_t)i));
        if (v == NULL) {
            Py_DECREF(xip);
            return NULL;
        }
        PyTuple_SET_ITEM(xip, i, v);
    }
    res = Py_BuildValue("(KKN)", (unsigned long long)pgc_load_u64(p + 4),
                        (unsigned long long)pgc_load_u64(p + 12), xip);
    return res;
}

/* The xip values as a tuple (new reference). */
static PyObject *
snapshot_xip(const PgwCodec *codec, PyObject *obj)
{
    PyObject *seq;
    if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyByteArray_Check(obj) ||
        PyDict_Check(obj) || !(PySequence_Check(obj) || PyAnySet_Check(obj))) {
        pgw_codec_type_error("a sequence of ints (xip)", obj);
        return NULL;
    }
    /* the length first: a lazy sequence is never listed */
    Py_ssize_t len = PyObject_Length(obj);
    if (len < 0) {
        return NULL;
    }
    if (len > (INT32_MAX - SNAPSHOT_HDR) / 8) {
        PyErr_Format(PyExc_ValueError, "%s value too long", codec->name);
        return NULL;
    }
    seq = PySequence_Tuple(obj);
    if (seq != NULL &&
        PyTuple_GET_SIZE(seq) > (INT32_MAX - SNAPSHOT_HDR) / 8) {
        PyErr_Format(PyExc_ValueError, "%s value too long", codec->name);
        Py_CLEAR(seq);
    }
    return seq;
}

int
pgw_snapshot_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    PyObject *obj, PgcWBuf *buf)
{
    unsigned long long xmin, xmax, v;
    PyObject *t = misc_tuple(codec, obj, 3), *xip = NULL;
    size_t start = buf->len;
    int rc = -1;
    (void)ctx;

    if (t == NULL) {
        return -1;
    }
    if (misc_uint("xmin value out of uint64 range", PyTuple_GET_ITEM(t, 0),
                  UINT64_MAX, &xmin) < 0 ||
        misc_uint("xmax value out of uint64 range", PyTuple_GET_ITEM(t, 1),
                  UINT64_MAX, &xmax) < 0 ||
        (xip = snapshot_xip(codec, PyTuple_GET_ITEM(t, 2))) == NULL) {
        goto done;
    }
    if (pgw_put_i32(buf, (int32_t)PyTuple_GET_SIZE(xip)) < 0 ||
        pgw_put_i64(buf, (int64_t)(uint64_t)xmin) < 0 ||
        pgw_put_i64(buf, (int64_t)(uint64_t)xmax) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(xip); i++) {
        if (misc_uint("xip value out of uint64 range",
                      PyTuple_GET_ITEM(xip, i), UINT64_MAX, &v) < 0 ||
            pgw_put_i64(buf, (int64_t)(uint64_t)v) < 0) {
            goto done;
        }
    }
    rc = 0;
done:
    if (rc < 0) {
        pgc_wbuf_truncate(buf, start);
    }
    Py_XDECREF(xip);
    Py_DECREF(t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* void                                                                */
/* ------------------------------------------------------------------ */

PyObject *
pgw_void_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    if (n != 0) {
        return pgw_codec_size_error(codec, 0, n);
    }
    Py_RETURN_NONE;
}

/* Any value is sent as the empty void value (asyncpg). */
int
pgw_void_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)ctx;
    (void)codec;
    (void)obj;
    (void)buf;
    return 0;
}
