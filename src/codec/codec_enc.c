/* codec_enc.c -- the connection's client_encoding: PostgreSQL encoding
 * names, their Python codecs, and the slow (non-UTF-8) text paths.
 *
 * A connection follows the server's client_encoding ParameterStatus
 * (PgwCodecCtx.enc, NULL for UTF8).  UTF8 is the fast path and never comes
 * here.  Every encoding PostgreSQL accepts as a client encoding keeps ASCII
 * as ASCII, so a pure-ASCII str needs no conversion in any of them.
 *
 * SQL_ASCII: the server converts nothing and sends the stored bytes as
 * they are; like asyncpg, pgwire reads and writes it as strict ASCII, so a
 * non-ASCII byte or character is an error naming SQL_ASCII rather than a
 * guess.  MULE_INTERNAL and EUC_TW have no Python codec: pgwire cannot
 * follow them (the binding closes the connection, naming the encoding).
 */
#include "codec_internal.h"

static const PgwEncoding encodings[] = {
    {"SQL_ASCII", "ascii"},
    {"EUC_JP", "euc_jp"},
    {"EUC_CN", "gb2312"},
    {"EUC_KR", "euc_kr"},
    {"EUC_TW", NULL},
    {"EUC_JIS_2004", "euc_jis_2004"},
    {"MULE_INTERNAL", NULL},
    {"LATIN1", "latin_1"},
    {"LATIN2", "iso8859_2"},
    {"LATIN3", "iso8859_3"},
    {"LATIN4", "iso8859_4"},
    {"LATIN5", "iso8859_9"},
    {"LATIN6", "iso8859_10"},
    {"LATIN7", "iso8859_13"},
    {"LATIN8", "iso8859_14"},
    {"LATIN9", "iso8859_15"},
    {"LATIN10", "iso8859_16"},
    {"WIN1256", "cp1256"},
    {"WIN1258", "cp1258"},
    {"WIN866", "cp866"},
    {"WIN874", "cp874"},
    {"KOI8R", "koi8_r"},
    {"WIN1251", "cp1251"},
    {"WIN1252", "cp1252"},
    {"ISO_8859_5", "iso8859_5"},
    {"ISO_8859_6", "iso8859_6"},
    {"ISO_8859_7", "iso8859_7"},
    {"ISO_8859_8", "iso8859_8"},
    {"WIN1250", "cp1250"},
    {"WIN1253", "cp1253"},
    {"WIN1254", "cp1254"},
    {"WIN1255", "cp1255"},
    {"WIN1257", "cp1257"},
    {"KOI8U", "koi8_u"},
    {"SJIS", "cp932"}, /* PostgreSQL's SJIS is Microsoft's (WIN932) */
    {"BIG5", "cp950"}, /* aliases WIN950 */
    {"GBK", "gbk"},    /* aliases WIN936 */
    {"UHC", "cp949"},  /* aliases WIN949 */
    {"GB18030", "gb18030"},
    {"JOHAB", "johab"},
    {"SHIFT_JIS_2004", "shift_jis_2004"},
};

/* Case-insensitive, '_' and '-' ignored (the server sends the canonical
 * spelling; this only makes the table forgiving). */
static int
enc_name_eq(const char *canon, const char *name, size_t n)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (name[i] == '_' || name[i] == '-')) {
            i++;
        }
        while (*canon == '_' || *canon == '-') {
            canon++;
        }
        if (i == n || *canon == '\0') {
            return i == n && *canon == '\0';
        }
        char c = name[i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - ('a' - 'A'));
        }
        if (c != *canon) {
            return 0;
        }
        i++;
        canon++;
    }
}

int
pgw_encoding_find(const char *name, size_t n, const PgwEncoding **out)
{
    *out = NULL;
    if (enc_name_eq("UTF8", name, n) || enc_name_eq("UNICODE", name, n)) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
        if (enc_name_eq(encodings[i].pg_name, name, n)) {
            *out = &encodings[i];
            if (encodings[i].py_name == NULL ||
                !PyCodec_KnownEncoding(encodings[i].py_name)) {
                PyErr_Clear();
                return -1;
            }
            return 0;
        }
    }
    return -1;
}

/* Replace the pending exception by cls("<prefix> client_encoding
 * \"<name>\": <original>") with the original as __cause__. */
static PGW_COLD void
enc_error(PyObject *cls, const char *prefix, const PgwEncoding *enc)
{
    PyObject *v = PyErr_GetRaisedException();
    if (v == NULL) {
        PyErr_Format(cls, "%s client_encoding \"%s\"", prefix, enc->pg_name);
        return;
    }
    PyObject *msg = PyUnicode_FromFormat("%s client_encoding \"%s\": %S",
                                         prefix, enc->pg_name, v);
    if (msg == NULL) {
        Py_DECREF(v);
        return;
    }
    PyObject *exc = PyObject_CallOneArg(cls, msg);
    Py_DECREF(msg);
    if (exc == NULL) {
        Py_DECREF(v);
        return;
    }
    PyException_SetCause(exc, v); /* steals v */
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
}

PyObject *
pgw_enc_decode_slow(const PgwCodecCtx *ctx, const char *p, Py_ssize_t n,
                    const char *errors)
{
    const PgwEncoding *enc = ctx->enc;
    if (enc == NULL) {
        return PyUnicode_DecodeUTF8(p, n, errors);
    }
    PyObject *r = PyUnicode_Decode(p, n, enc->py_name, errors);
    if (r == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        enc_error(PyExc_ValueError, "invalid byte sequence for", enc);
    }
    return r;
}

const char *
pgw_enc_encode_slow(const PgwCodecCtx *ctx, PyObject *s, Py_ssize_t *size,
                    PyObject **owner)
{
    const PgwEncoding *enc = ctx->enc;
    *owner = NULL;
    if (enc == NULL || PyUnicode_IS_ASCII(s)) {
        return PyUnicode_AsUTF8AndSize(s, size);
    }
    PyObject *b = PyUnicode_AsEncodedString(s, enc->py_name, NULL);
    if (b == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            enc_error(PyExc_ValueError, "text cannot be represented in", enc);
        }
        return NULL;
    }
    if (!PyBytes_Check(b)) {
        Py_DECREF(b);
        PyErr_SetString(PyExc_TypeError, "codec did not return bytes");
        return NULL;
    }
    *owner = b;
    *size = PyBytes_GET_SIZE(b);
    return PyBytes_AS_STRING(b);
}

const char *
pgw_enc_name(const PgwCodecCtx *ctx)
{
    return ctx->enc == NULL ? "UTF8" : ctx->enc->pg_name;
}
