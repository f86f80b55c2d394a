/* codec_uuid.c -- uuid <-> uuid.UUID.
 *
 * Decode skips UUID.__init__: the object is made with UUID.__new__ and its
 * two slots (int, is_safe) are set with the generic setattr, exactly what
 * __init__ itself does through object.__setattr__.
 * Encode accepts a UUID (or subclass) and a str in any form uuid.UUID
 * accepts for hex input: optional "urn:uuid:" prefix, optional braces,
 * hyphens between hex digits.
 */
#include "codec_internal.h"

#define UUID_LEN 16

/* The 128-bit value of 16 big-endian bytes (new reference). */
static PyObject *
uuid_int_from_bytes(const uint8_t *p)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(
        p, UUID_LEN,
        Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
#else
    static const char hexdig[] = "0123456789abcdef";
    char hex[2 * UUID_LEN + 1];
    for (int i = 0; i < UUID_LEN; i++) {
        hex[2 * i] = hexdig[p[i] >> 4];
        hex[2 * i + 1] = hexdig[p[i] & 0xF];
    }
    hex[2 * UUID_LEN] = '\0';
    return PyLong_FromString(hex, NULL, 16);
#endif
}

/* A UUID with the given int, bypassing __init__ (steals nothing). */
static PyObject *
uuid_make(const PgwCodecCtx *ctx, PyObject *iv)
{
    PyTypeObject *tp = (PyTypeObject *)ctx->uuid_type;
    PyObject *args = PyTuple_New(0), *u;
    if (args == NULL) {
        return NULL;
    }
    u = tp->tp_new(tp, args, NULL);
    Py_DECREF(args);
    if (u == NULL) {
        return NULL;
    }
    if (PyObject_GenericSetAttr(u, ctx->str_int, iv) < 0 ||
        PyObject_GenericSetAttr(u, ctx->str_is_safe, ctx->uuid_safe_unknown) <
            0) {
        Py_DECREF(u);
        return NULL;
    }
    return u;
}

PyObject *
pgw_uuid_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    if (n != UUID_LEN) {
        return pgw_codec_size_error(codec, UUID_LEN, n);
    }
    PyObject *iv = uuid_int_from_bytes(p);
    if (iv == NULL) {
        return NULL;
    }
    PyObject *u = uuid_make(ctx, iv);
    Py_DECREF(iv);
    return u;
}

/* ------------------------------------------------------------------ */
/* Encode                                                              */
/* ------------------------------------------------------------------ */

static int
uuid_put(PgcWBuf *buf, uint64_t hi, uint64_t lo)
{
    uint8_t out[UUID_LEN];
    pgc_store_u64(out, hi);
    pgc_store_u64(out + 8, lo);
    return pgw_put_bytes(buf, out, UUID_LEN);
}

/* From UUID.int: low 64 bits by mask, high 64 bits by a shift. */
static int
uuid_encode_uuid(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    PyObject *iv = PyObject_GetAttr(obj, ctx->str_int), *hv = NULL;
    unsigned long long lo, hi;
    int rc = -1;

    if (iv == NULL) {
        return -1;
    }
    if (!PyLong_Check(iv)) {
        pgw_codec_type_error("UUID.int to be an int", iv);
        goto done;
    }
    lo = PyLong_AsUnsignedLongLongMask(iv);
    if (lo == (unsigned long long)-1 && PyErr_Occurred()) {
        goto done;
    }
    hv = PyNumber_Rshift(iv, ctx->long_64);
    if (hv == NULL) {
        goto done;
    }
    hi = PyLong_AsUnsignedLongLong(hv);
    if (hi == (unsigned long long)-1 && PyErr_Occurred()) {
        goto done;
    }
    rc = uuid_put(buf, hi, lo);
done:
    Py_XDECREF(hv);
    Py_DECREF(iv);
    return rc;
}

/* Parse the text forms of a UUID into out; 0, or -1 (no exception). */
static int
uuid_parse(const char *s, size_t n, uint8_t *out)
{
    static const char urn[] = "urn:uuid:";
    size_t nd = 0;

    if (n >= sizeof(urn) - 1 && PyOS_strnicmp(s, urn, sizeof(urn) - 1) == 0) {
        s += sizeof(urn) - 1;
        n -= sizeof(urn) - 1;
    }
    if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
        s++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++) {
        int v = pgw_hexval(s[i]);
        if (v < 0) {
            if (s[i] != '-' || i == 0 || i == n - 1 || s[i - 1] == '-') {
                return -1;
            }
            continue;
        }
        if (nd == 2 * UUID_LEN) {
            return -1;
        }
        out[nd / 2] = (uint8_t)((nd % 2) ? (out[nd / 2] | v) : (v << 4));
        nd++;
    }
    return nd == 2 * UUID_LEN ? 0 : -1;
}

static int
uuid_encode_str(PyObject *obj, PgcWBuf *buf)
{
    Py_ssize_t size;
    uint8_t out[UUID_LEN];
    const char *s = PyUnicode_AsUTF8AndSize(obj, &size);
    if (s == NULL) {
        return -1;
    }
    if (uuid_parse(s, (size_t)size, out) < 0) {
        PyErr_Format(PyExc_ValueError, "invalid UUID %R", obj);
        return -1;
    }
    return pgw_put_bytes(buf, out, UUID_LEN);
}

int
pgw_uuid_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)codec;
    if (PyObject_TypeCheck(obj, (PyTypeObject *)ctx->uuid_type)) {
        return uuid_encode_uuid(ctx, obj, buf);
    }
    if (PyUnicode_Check(obj)) {
        return uuid_encode_str(obj, buf);
    }
    return pgw_codec_type_error("UUID or str", obj);
}
