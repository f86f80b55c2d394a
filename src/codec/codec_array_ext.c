/* codec_array_ext.c -- the array codecs codec_array.c does not cover:
 *
 *  - text-format arrays, for element types whose codec is text format
 *    (regclass[], money[], tsvector[], aclitem[], ...): PostgreSQL's
 *    array literal '{a,"b c",NULL}' <-> nested lists of the element
 *    codec's values;
 *  - int2vector and oidvector: binary one-dimensional arrays with lower
 *    bound 0 and no NULLs (decoded by pgw_array_decode).
 *
 * Text encoding follows codec_array.c: the top-level value is a list or
 * tuple (or any other sequence or set, never str/bytes/bytearray/
 * memoryview/dict), nesting of lists and tuples (lists only when the
 * element codec has tuple_value) gives the dimensions (at most 6), which
 * must be rectangular; None is a NULL element; every element is written
 * double-quoted.  An array with no elements is '{}'; lower bounds are
 * left at 1.
 *
 * Text decoding reads array_out's output: an optional dimension decoration
 * '[1:2][0:1]=' (the bounds are dropped, as by the binary decoder), then
 * nested braces; elements are separated by ',' (the delimiter of every
 * text-format builtin type), may be double-quoted, use backslash escapes,
 * and an unquoted NULL (any case) is None.  White space around elements
 * is skipped.  All elements must sit at the same depth and sub-arrays at
 * one depth must have one length; anything else is a ValueError.
 */
#include "codec_internal.h"

#define AX_MAXDIM PGW_ARRAY_MAXDIM

/* ------------------------------------------------------------------ */
/* Text encode                                                         */
/* ------------------------------------------------------------------ */

static PGW_COLD int
ax_leaf_error(int level, PyObject *got)
{
    PyErr_Format(PyExc_ValueError,
                 "array is not rectangular: expected an element at depth %d, "
                 "got a %.100s",
                 level, Py_TYPE(got)->tp_name);
    return -1;
}

/* Backslash-escape '"' and '\\' in buf->data[off:]. */
static int
ax_escape_tail(PgcWBuf *buf, size_t off)
{
    size_t k = 0;
    for (size_t i = off; i < buf->len; i++) {
        k += buf->data[i] == '"' || buf->data[i] == '\\';
    }
    if (k == 0) {
        return 0;
    }
    PgcStatus st = pgc_wbuf_reserve(buf, k);
    if (st != PGC_OK) {
        return pgw_codec_buf_error(st);
    }
    size_t src = buf->len, dst = buf->len + k;
    while (src > off) {
        uint8_t c = buf->data[--src];
        buf->data[--dst] = c;
        if (c == '"' || c == '\\') {
            buf->data[--dst] = '\\';
        }
    }
    buf->len += k;
    return 0;
}

/* The walk's element callback: NULL, or the element's text
 * double-quoted. */
static int
ax_put_elem(PgwArrWalk *w, PyObject *item)
{
    const PgwCodec *ec = w->ec;
    size_t off;
    if (pgw_array_is_nested(w, item)) {
        return ax_leaf_error(w->ndim, item);
    }
    if (item == Py_None) {
        return pgw_put_bytes(w->buf, "NULL", 4);
    }
    if (ec->encode == NULL) {
        PyErr_Format(PyExc_TypeError, "no encoder for type %s", ec->name);
        return -1;
    }
    if (pgw_put_u8(w->buf, '"') < 0) {
        return -1;
    }
    off = w->buf->len;
    if (ec->encode(w->ctx, ec, item, w->buf) < 0 ||
        ax_escape_tail(w->buf, off) < 0) {
        return -1;
    }
    return pgw_put_u8(w->buf, '"');
}

int
pgw_textarray_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     PyObject *obj, PgcWBuf *buf)
{
    PgwArrWalk w = {.ctx = ctx,
                    .buf = buf,
                    .elem = ax_put_elem,
                    .braces = 1,
                    .what = "array is not rectangular"};
    size_t start = buf->len;
    int empty, rc;

    PyObject *seq = pgw_array_walk_start(&w, codec, obj, &empty);
    if (seq == NULL) {
        return -1;
    }
    rc = empty ? pgw_put_bytes(buf, "{}", 2) : pgw_array_walk(&w, seq, 0);
    if (rc < 0) {
        pgc_wbuf_truncate(buf, start);
    }
    Py_DECREF(seq);
    return rc;
}

/* ------------------------------------------------------------------ */
/* int2vector, oidvector                                               */
/* ------------------------------------------------------------------ */

/* One dimension with lower bound 0 and no NULLs: what int2vectorrecv and
 * oidvectorrecv accept (an empty vector has no binary form the server
 * takes back: its array_recv makes it zero-dimensional). */
int
pgw_intvector_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     PyObject *obj, PgcWBuf *buf)
{
    const PgwCodec *ec = pgw_array_elem(codec);
    size_t start = buf->len;
    PyObject *seq;
    Py_ssize_t n;
    int rc = -1;

    if (ec == NULL || (seq = pgw_array_as_seq(ctx, obj)) == NULL) {
        return -1;
    }
    /* a list is copied: encoding an item may run code that changes it */
    Py_SETREF(seq, PySequence_Tuple(seq));
    if (seq == NULL) {
        return -1;
    }
    n = PyTuple_GET_SIZE(seq);
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "array dimension too large");
        goto done;
    }
    if (pgw_put_i32(buf, 1) < 0 || pgw_put_i32(buf, 0) < 0 ||
        pgw_put_i32(buf, (int32_t)codec->elem_oid) < 0 ||
        pgw_put_i32(buf, (int32_t)n) < 0 || pgw_put_i32(buf, 0) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(seq, i);
        size_t off = buf->len;
        if (item == Py_None) {
            PyErr_Format(PyExc_ValueError, "%s cannot contain NULL",
                         codec->name);
            goto done;
        }
        if (pgw_put_i32(buf, 0) < 0 || ec->encode(ctx, ec, item, buf) < 0) {
            goto done;
        }
        pgc_store_u32(buf->data + off, (uint32_t)(buf->len - off - 4));
    }
    rc = 0;
done:
    if (rc < 0) {
        pgc_wbuf_truncate(buf, start);
    }
    Py_DECREF(seq);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Text decode                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
    const PgwCodecCtx *ctx;
    const PgwCodec *codec; /* the array codec, for messages */
    const PgwCodec *ec;
    const uint8_t *start, *p, *end;
    uint8_t *scratch;           /* unescaped element bytes (input size) */
    int leaf_depth;             /* depth of the elements; -1 until the first */
    Py_ssize_t dims[AX_MAXDIM]; /* -1 until a sub-array at the depth ends */
} AxDec;

static inline int
ax_isspace(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static inline void
ax_skip_ws(AxDec *d)
{
    while (d->p < d->end && ax_isspace(*d->p)) {
        d->p++;
    }
}

static inline int
ax_isdigit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static PGW_COLD PyObject *
ax_malformed(AxDec *d, const char *what)
{
    return pgw_codec_value_error(d->codec,
                                 "malformed array literal: %s at offset %zu",
                                 what, (size_t)(d->p - d->start));
}

/* An optionally signed integer; 0, or -1 (no exception). */
static int
ax_skip_int(AxDec *d)
{
    if (d->p < d->end && (*d->p == '-' || *d->p == '+')) {
        d->p++;
    }
    if (d->p == d->end || !ax_isdigit(*d->p)) {
        return -1;
    }
    while (d->p < d->end && ax_isdigit(*d->p)) {
        d->p++;
    }
    return 0;
}

/* The dimension decoration '[lo:hi]...=' (bounds dropped); 0, or -1 with
 * ValueError set. */
static int
ax_skip_decoration(AxDec *d)
{
    int n = 0;
    while (d->p < d->end && *d->p == '[') {
        if (++n > AX_MAXDIM) {
            ax_malformed(d, "more than 6 dimensions");
            return -1;
        }
        d->p++;
        if (ax_skip_int(d) < 0) {
            ax_malformed(d, "bad lower bound");
            return -1;
        }
        if (d->p < d->end && *d->p == ':') {
            d->p++;
            if (ax_skip_int(d) < 0) {
                ax_malformed(d, "bad upper bound");
                return -1;
            }
        }
        if (d->p == d->end || *d->p != ']') {
            ax_malformed(d, "expected ']'");
            return -1;
        }
        d->p++;
        ax_skip_ws(d);
    }
    if (n > 0) {
        if (d->p == d->end || *d->p != '=') {
            ax_malformed(d, "expected '='");
            return -1;
        }
        d->p++;
        ax_skip_ws(d);
    }
    return 0;
}

/* One element (d->p at its first non-space byte); new reference. */
static PyObject *
ax_elem_value(AxDec *d)
{
    uint8_t *out = d->scratch;
    size_t len = 0, keep = 0;
    int literal = 0; /* quoted or escaped parts: never NULL */

    while (d->p < d->end) {
        uint8_t c = *d->p;
        if (c == '"') {
            literal = 1;
            d->p++;
            while (d->p < d->end && *d->p != '"') {
                if (*d->p == '\\' && ++d->p == d->end) {
                    break;
                }
                out[len++] = *d->p++;
            }
            if (d->p == d->end) {
                return ax_malformed(d, "unterminated quoted element");
            }
            d->p++;
            keep = len;
            continue;
        }
        if (c == '\\') {
            literal = 1;
            if (++d->p == d->end) {
                return ax_malformed(d, "trailing backslash");
            }
            out[len++] = *d->p++;
            keep = len;
            continue;
        }
        if (c == ',' || c == '}') {
            break;
        }
        if (c == '{') {
            return ax_malformed(d, "unexpected '{'");
        }
        out[len++] = c;
        d->p++;
        if (!ax_isspace(c)) {
            keep = len;
        }
    }
    len = keep; /* unquoted trailing white space is dropped */
    if (!literal) {
        if (len == 0) {
            return ax_malformed(d, "empty element");
        }
        if (len == 4 && PyOS_strnicmp((const char *)out, "NULL", 4) == 0) {
            return Py_NewRef(Py_None);
        }
    }
    return d->ec->decode(d->ctx, d->ec, out, len);
}

/* A sub-array at depth (d->p at '{'); new reference. */
static PyObject *
ax_dec_level(AxDec *d, int depth)
{
    PyObject *list, *item;
    if (depth == AX_MAXDIM) {
        return ax_malformed(d, "more than 6 dimensions");
    }
    if (d->leaf_depth >= 0 && depth > d->leaf_depth) {
        return ax_malformed(d, "sub-array at element depth");
    }
    d->p++; /* '{' */
    list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    ax_skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        if (depth > 0) {
            Py_DECREF(list);
            return ax_malformed(d, "empty sub-array");
        }
        return list;
    }
    for (;;) {
        ax_skip_ws(d);
        if (d->p == d->end) {
            Py_DECREF(list);
            return ax_malformed(d, "truncated");
        }
        if (*d->p == '{') {
            item = ax_dec_level(d, depth + 1);
        }
        else if (d->leaf_depth >= 0 && d->leaf_depth != depth) {
            Py_DECREF(list);
            return ax_malformed(d, "element at sub-array depth");
        }
        else {
            d->leaf_depth = depth;
            item = ax_elem_value(d);
        }
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        int rc = PyList_Append(list, item);
        Py_DECREF(item);
        if (rc < 0) {
            Py_DECREF(list);
            return NULL;
        }
        ax_skip_ws(d);
        if (d->p == d->end) {
            Py_DECREF(list);
            return ax_malformed(d, "truncated");
        }
        if (*d->p == '}') {
            d->p++;
            break;
        }
        if (*d->p != ',') {
            Py_DECREF(list);
            return ax_malformed(d, "expected ',' or '}'");
        }
        d->p++;
    }
    if (d->dims[depth] < 0) {
        d->dims[depth] = PyList_GET_SIZE(list);
    }
    else if (d->dims[depth] != PyList_GET_SIZE(list)) {
        Py_DECREF(list);
        return ax_malformed(d, "sub-arrays of different lengths");
    }
    return list;
}

PyObject *
pgw_textarray_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     const uint8_t *p, size_t n)
{
    AxDec d = {.ctx = ctx,
               .codec = codec,
               .start = p,
               .p = p,
               .end = p + n,
               .leaf_depth = -1};
    PyObject *res = NULL;

    for (int i = 0; i < AX_MAXDIM; i++) {
        d.dims[i] = -1;
    }
    d.ec = pgw_array_elem(codec);
    if (d.ec == NULL) {
        return NULL;
    }
    d.scratch = PyMem_Malloc(n ? n : 1);
    if (d.scratch == NULL) {
        return PyErr_NoMemory();
    }
    ax_skip_ws(&d);
    if (ax_skip_decoration(&d) < 0) {
        goto done;
    }
    if (d.p == d.end || *d.p != '{') {
        ax_malformed(&d, "expected '{'");
        goto done;
    }
    res = ax_dec_level(&d, 0);
    if (res != NULL) {
        ax_skip_ws(&d);
        if (d.p != d.end) {
            Py_CLEAR(res);
            ax_malformed(&d, "trailing bytes");
        }
    }
done:
    PyMem_Free(d.scratch);
    return res;
}
