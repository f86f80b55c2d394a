/* codec_text.c -- text, varchar, bpchar, name, xml, json, unknown (text
 * in the connection's client encoding on the wire), jsonb and jsonpath (a
 * version byte 1, then text), and the text-format fallback for types
 * without a codec.
 *
 * Decoding is strict (UnicodeDecodeError, a ValueError, on bad UTF-8; a
 * ValueError naming the encoding for other client encodings).  Encoding
 * takes str only; a NUL character is refused, since PostgreSQL text cannot
 * hold one, and so is a character the client encoding lacks.  UTF8 is the
 * inline path; anything else goes through codec_enc.c.
 */
#include "codec_internal.h"

#define JSONB_VERSION 1

PyObject *
pgw_text_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)codec;
    if (ctx->enc == NULL) {
        return PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)n, NULL);
    }
    return pgw_enc_decode_slow(ctx, (const char *)p, (Py_ssize_t)n, NULL);
}

static PGW_COLD int
text_nul_error(void)
{
    PyErr_SetString(PyExc_ValueError, "string contains a NUL character");
    return -1;
}

/* A client encoding other than UTF8. */
static PGW_NOINLINE int
text_encode_other(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    Py_ssize_t size;
    PyObject *owner;
    const char *s = pgw_enc_encode_slow(ctx, obj, &size, &owner);
    int rc = -1;
    if (s == NULL) {
        return -1;
    }
    if (memchr(s, 0, (size_t)size) != NULL) {
        text_nul_error();
    }
    else {
        rc = pgw_put_bytes(buf, s, (size_t)size);
    }
    Py_XDECREF(owner);
    return rc;
}

int
pgw_text_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    Py_ssize_t size;
    const char *s;
    (void)codec;
    if (!PyUnicode_Check(obj)) {
        return pgw_codec_type_error("str", obj);
    }
    if (ctx->enc != NULL) {
        return text_encode_other(ctx, obj, buf);
    }
    s = PyUnicode_AsUTF8AndSize(obj, &size);
    if (s == NULL) {
        return -1;
    }
    if (memchr(s, 0, (size_t)size) != NULL) {
        return text_nul_error();
    }
    return pgw_put_bytes(buf, s, (size_t)size);
}

/* jsonb and jsonpath: one version byte, then the text. */
PyObject *
pgw_jsonb_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    if (n < 1) {
        return pgw_codec_value_error(codec, "missing format version");
    }
    if (p[0] != JSONB_VERSION) {
        return pgw_codec_value_error(codec, "unsupported format version %d",
                                     (int)p[0]);
    }
    return pgw_text_decode(ctx, codec, p + 1, n - 1);
}

int
pgw_jsonb_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    size_t start = buf->len;
    if (pgw_put_u8(buf, JSONB_VERSION) < 0) {
        return -1;
    }
    if (pgw_text_encode(ctx, codec, obj, buf) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}

static const PgwCodec text_fallback = {
    .oid = 0,
    .name = "text",
    .format = PGC_FORMAT_TEXT,
    .decode = pgw_text_decode,
    .encode = pgw_text_encode,
};

const PgwCodec *
pgw_codec_text_fallback(void)
{
    return &text_fallback;
}
