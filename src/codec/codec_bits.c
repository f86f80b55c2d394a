/* codec_bits.c -- bit and varbit <-> pgwire.types.BitString.
 *
 * Wire format: int32 bit length, then (length + 7) / 8 bytes, the first
 * bit the most significant bit of the first byte; the pad bits of the
 * last byte are zero.
 *
 * Decode builds BitString.frombytes(data, length) (pad bits cleared).
 * Encode takes a BitString, a bytes-like object (all its bits, as
 * asyncpg) or a str of '0'/'1' digits (spaces ignored, as the BitString
 * constructor).  The server checks the length against bit(n).
 */
#include "codec_internal.h"

#define BITS_HDR 4

/* The mask of the used bits of the last byte of an nbits-bit string. */
static inline uint8_t
bits_last_mask(size_t nbits)
{
    return (uint8_t)(0xff << ((8 - nbits % 8) % 8));
}

PyObject *
pgw_bits_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    int32_t bitlen;
    size_t nbytes;
    PyObject *data, *len, *res;

    if (n < BITS_HDR) {
        return pgw_codec_value_error(codec, "truncated header (%zu bytes)", n);
    }
    bitlen = (int32_t)pgc_load_u32(p);
    if (bitlen < 0) {
        return pgw_codec_value_error(codec, "negative bit length %d",
                                     (int)bitlen);
    }
    nbytes = ((size_t)bitlen + 7) / 8;
    if (n - BITS_HDR != nbytes) {
        return pgw_codec_value_error(codec, "%d bits need %zu bytes, got %zu",
                                     (int)bitlen, nbytes, n - BITS_HDR);
    }
    /* a new object (never the cached 1-byte bytes): its last byte is
     * masked in place */
    data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)nbytes);
    if (data == NULL) {
        return NULL;
    }
    if (nbytes > 0) {
        memcpy(PyBytes_AS_STRING(data), p + BITS_HDR, nbytes);
        PyBytes_AS_STRING(data)[nbytes - 1] &= (char)bits_last_mask(
            (size_t)bitlen);
    }
    len = PyLong_FromLong(bitlen);
    if (len == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    res = PyObject_CallMethodObjArgs(ctx->bitstring_type, ctx->str_frombytes,
                                     data, len, NULL);
    Py_DECREF(len);
    Py_DECREF(data);
    return res;
}

/* The header and the first (bitlen + 7) / 8 of the n bytes at p (pad bits
 * cleared). */
static int
bits_put(const PgwCodec *codec, const uint8_t *p, size_t n, size_t bitlen,
         PgcWBuf *buf)
{
    size_t nbytes = (bitlen + 7) / 8, start = buf->len;
    if (bitlen > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s value too long", codec->name);
        return -1;
    }
    if (nbytes > n) {
        PyErr_Format(PyExc_ValueError,
                     "%zu bits need %zu bytes, the value has %zu", bitlen,
                     nbytes, n);
        return -1;
    }
    if (pgw_put_i32(buf, (int32_t)bitlen) < 0 ||
        pgw_put_bytes(buf, p, nbytes) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    if (nbytes > 0) {
        buf->data[buf->len - 1] &= bits_last_mask(bitlen);
    }
    return 0;
}

/* A BitString: its .bytes and len(). */
static int
bits_encode_bitstring(const PgwCodecCtx *ctx, const PgwCodec *codec,
                      PyObject *obj, PgcWBuf *buf)
{
    PyObject *data;
    Py_ssize_t bitlen;
    int rc = -1;

    bitlen = PyObject_Length(obj);
    if (bitlen < 0) {
        return -1;
    }
    data = PyObject_GetAttr(obj, ctx->str_bytes);
    if (data == NULL) {
        return -1;
    }
    if (!PyBytes_Check(data)) {
        pgw_codec_type_error("bytes from BitString.bytes", data);
    }
    else {
        rc = bits_put(codec, (const uint8_t *)PyBytes_AS_STRING(data),
                      (size_t)PyBytes_GET_SIZE(data), (size_t)bitlen, buf);
    }
    Py_DECREF(data);
    return rc;
}

int
pgw_bits_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    Py_buffer view;
    int rc, r;

    if (PyBytes_CheckExact(obj)) {
        size_t n = (size_t)PyBytes_GET_SIZE(obj);
        if (n > INT32_MAX / 8) {
            PyErr_Format(PyExc_ValueError, "%s value too long", codec->name);
            return -1;
        }
        return bits_put(codec, (const uint8_t *)PyBytes_AS_STRING(obj), n,
                        n * 8, buf);
    }
    r = PyObject_IsInstance(obj, ctx->bitstring_type);
    if (r < 0) {
        return -1;
    }
    if (r) {
        return bits_encode_bitstring(ctx, codec, obj, buf);
    }
    if (PyUnicode_Check(obj)) {
        PyObject *bs = PyObject_CallOneArg(ctx->bitstring_type, obj);
        if (bs == NULL) {
            return -1;
        }
        rc = bits_encode_bitstring(ctx, codec, bs, buf);
        Py_DECREF(bs);
        return rc;
    }
    if (!PyObject_CheckBuffer(obj)) {
        return pgw_codec_type_error("BitString, a bytes-like object or str",
                                    obj);
    }
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if ((size_t)view.len > INT32_MAX / 8) {
        PyErr_Format(PyExc_ValueError, "%s value too long", codec->name);
        rc = -1;
    }
    else {
        rc = bits_put(codec, view.buf, (size_t)view.len, (size_t)view.len * 8,
                      buf);
    }
    PyBuffer_Release(&view);
    return rc;
}
