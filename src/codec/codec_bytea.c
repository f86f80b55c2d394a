/* codec_bytea.c -- bytea and "char" (OID 18): bytes.  Encoding accepts any
 * object exporting a C-contiguous buffer (bytes, bytearray, memoryview,
 * array.array, ...).
 */
#include "codec_internal.h"

PyObject *
pgw_bytea_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)codec;
    return PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)n);
}

static PGW_NOINLINE int
bytea_encode_buffer(PyObject *obj, PgcWBuf *buf)
{
    Py_buffer view;
    int rc;
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "a bytes-like object is required, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    rc = pgw_put_bytes(buf, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return rc;
}

int
pgw_bytea_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    (void)ctx;
    (void)codec;
    if (PyBytes_CheckExact(obj)) {
        return pgw_put_bytes(buf, PyBytes_AS_STRING(obj),
                             (size_t)PyBytes_GET_SIZE(obj));
    }
    return bytea_encode_buffer(obj, buf);
}
