/* codec_hstore.c -- the extra codec "pg_contrib.hstore" (contrib hstore,
 * whose oid differs per database: set_builtin_type_codec binds it).
 *
 * Binary format (hstore_send): int32 pair count, then per pair int32 key
 * length and the key bytes, int32 value length (-1 = NULL) and the value
 * bytes.  Decode -> dict[str, str | None]; every count and length is
 * checked against the bytes left, a NULL key, a negative length other
 * than the NULL value's -1 and trailing bytes are ValueErrors.  Encode
 * takes a mapping (anything with items(), as asyncpg) or an iterable of
 * (key, value) pairs; keys are str, values str or None; NUL characters
 * are refused (PostgreSQL text cannot hold them).
 *
 * Encodings: hstore_send writes each length before converting the text to
 * the client encoding, so while the server converts (client_encoding is
 * not server_encoding, neither SQL_ASCII) a non-ASCII string's length is
 * wrong.  Such a string is refused with a ValueError rather than read
 * misaligned: the first string whose two lengths differ holds a byte >=
 * 0x80 within the bytes read for it, in every client encoding.  Encoding
 * is fine (hstore_recv converts first, then takes the lengths).
 */
#include "codec_dyn_priv.h"

/* ------------------------------------------------------------------ */
/* Decode                                                              */
/* ------------------------------------------------------------------ */

static PGW_COLD PyObject *
hs_malformed(const PgwCodec *codec, const char *what)
{
    return pgw_codec_value_error(codec, "%s", what);
}

static int
hs_has_non_ascii(PgcView v)
{
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] >= 0x80) {
            return 1;
        }
    }
    return 0;
}

static PGW_COLD int
hs_converted(const PgwCodecCtx *ctx, const PgwCodec *codec)
{
    pgw_codec_value_error(
        codec,
        "non-ASCII text cannot be read in binary format while the server "
        "converts from server_encoding to client_encoding \"%s\" "
        "(hstore_send sends the lengths before converting); use the "
        "database's encoding as client_encoding, or select it as text",
        pgw_enc_name(ctx));
    return -1;
}

/* One string of the pair: *out = str, or None when null_ok and the
 * length is -1.  0, or -1 with an exception set. */
static int
hs_read_str(const PgwCodecCtx *ctx, const PgwCodec *codec, PgcCur *cur,
            int null_ok, PyObject **out)
{
    int32_t len;
    PgcView v;
    if (pgc_cur_i32(cur, &len) != PGC_OK) {
        hs_malformed(codec, "truncated length");
        return -1;
    }
    if (len == -1 && null_ok) {
        *out = Py_NewRef(Py_None);
        return 0;
    }
    if (len < 0) {
        hs_malformed(codec, null_ok ? "negative value length"
                                    : "null value not allowed in hstore key");
        return -1;
    }
    if (ctx->converts) {
        /* the bytes this string's length covers, or what is left */
        size_t left = pgc_cur_left(cur);
        PgcView probe = {cur->p, (size_t)len < left ? (size_t)len : left};
        if (hs_has_non_ascii(probe)) {
            return hs_converted(ctx, codec);
        }
    }
    if (pgc_cur_bytes(cur, (size_t)len, &v) != PGC_OK) {
        hs_malformed(codec, "length exceeds the data");
        return -1;
    }
    *out = pgw_enc_decode(ctx, (const char *)v.p, (Py_ssize_t)v.n, NULL);
    return *out ? 0 : -1;
}

static int
hs_read_pair(const PgwCodecCtx *ctx, const PgwCodec *codec, PgcCur *cur,
             PyObject *dict)
{
    PyObject *k = NULL, *v = NULL;
    int rc = -1;
    if (hs_read_str(ctx, codec, cur, 0, &k) == 0 &&
        hs_read_str(ctx, codec, cur, 1, &v) == 0) {
        rc = PyDict_SetItem(dict, k, v);
    }
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

PyObject *
pgw_hstore_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    PgcCur cur = pgc_cur_make(p, n);
    int32_t count;
    if (pgc_cur_i32(&cur, &count) != PGC_OK || count < 0) {
        return hs_malformed(codec, "bad pair count");
    }
    /* a pair takes 8 bytes at least */
    if ((size_t)count > pgc_cur_left(&cur) / 8) {
        return hs_malformed(codec, "pair count exceeds the data");
    }
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < count; i++) {
        if (hs_read_pair(ctx, codec, &cur, dict) < 0) {
            Py_DECREF(dict);
            return NULL;
        }
    }
    if (pgc_cur_left(&cur) != 0) {
        Py_DECREF(dict);
        return hs_malformed(codec, "trailing bytes");
    }
    return dict;
}

/* ------------------------------------------------------------------ */
/* Encode                                                              */
/* ------------------------------------------------------------------ */

static int
hs_put_str(const PgwCodecCtx *ctx, PgcWBuf *buf, PyObject *s, const char *what)
{
    Py_ssize_t size;
    PyObject *owner = NULL;
    int rc = -1;
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "hstore %s: expected str, got %.100s",
                     what, Py_TYPE(s)->tp_name);
        return -1;
    }
    const char *u = pgw_enc_encode(ctx, s, &size, &owner);
    if (u == NULL) {
        return -1;
    }
    if (memchr(u, 0, (size_t)size) != NULL) {
        PyErr_Format(PyExc_ValueError, "hstore %s contains a NUL character",
                     what);
    }
    else if (size > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "hstore %s is too long", what);
    }
    else if (pgw_put_i32(buf, (int32_t)size) == 0) {
        rc = pgw_put_bytes(buf, u, (size_t)size);
    }
    Py_XDECREF(owner);
    return rc;
}

static int
hs_put_pair(const PgwCodecCtx *ctx, PgcWBuf *buf, PyObject *k, PyObject *v)
{
    if (k == Py_None) {
        PyErr_SetString(PyExc_ValueError,
                        "null value not allowed in hstore key");
        return -1;
    }
    if (hs_put_str(ctx, buf, k, "key") < 0) {
        return -1;
    }
    return v == Py_None ? pgw_put_i32(buf, -1)
                        : hs_put_str(ctx, buf, v, "value");
}

/* One (key, value) item of an iteration. */
static int
hs_put_item(const PgwCodecCtx *ctx, PgcWBuf *buf, PyObject *item)
{
    PyObject *seq = PySequence_Fast(item, "");
    if (seq == NULL || PySequence_Fast_GET_SIZE(seq) != 2) {
        Py_XDECREF(seq);
        PyErr_Clear();
        return pgw_codec_type_error("a (key, value) pair", item);
    }
    int rc = hs_put_pair(ctx, buf, PySequence_Fast_GET_ITEM(seq, 0),
                         PySequence_Fast_GET_ITEM(seq, 1));
    Py_DECREF(seq);
    return rc;
}

/* The pairs of obj: a dict's items, items() of another mapping, else obj
 * itself as an iterable of pairs.  Returns the count, or -1. */
static Py_ssize_t
hs_put_pairs(const PgwCodecCtx *ctx, PgcWBuf *buf, PyObject *obj)
{
    Py_ssize_t count = 0, pos = 0;
    PyObject *k, *v, *it, *item;
    if (PyDict_Check(obj)) {
        while (PyDict_Next(obj, &pos, &k, &v)) {
            if (hs_put_pair(ctx, buf, k, v) < 0) {
                return -1;
            }
            count++;
        }
        return count;
    }
    PyObject *items = PyObject_CallMethod(obj, "items", NULL);
    if (items == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
        items = Py_NewRef(obj);
    }
    it = PyObject_GetIter(items);
    Py_DECREF(items);
    if (it == NULL) {
        return -1;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        int rc = hs_put_item(ctx, buf, item);
        Py_DECREF(item);
        if (rc < 0) {
            break;
        }
        count++;
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : count;
}

int
pgw_hstore_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    size_t start = buf->len;
    (void)codec;
    if (PyUnicode_Check(obj) || PyBytes_Check(obj)) {
        return pgw_codec_type_error("a mapping", obj);
    }
    if (pgw_put_i32(buf, 0) < 0) { /* the count, patched below */
        return -1;
    }
    Py_ssize_t count = hs_put_pairs(ctx, buf, obj);
    if (count < 0) {
        return -1;
    }
    if (count > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "hstore value is too large");
        return -1;
    }
    pgc_store_u32(buf->data + start, (uint32_t)count);
    return 0;
}
