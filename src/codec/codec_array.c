/* codec_array.c -- binary arrays of any element codec, 0 to 6 dimensions.
 *
 * Wire format: int32 ndim, int32 flags (1 = has NULLs), uint32 element
 * oid, ndim x (int32 length, int32 lower bound), then every element in
 * row-major order as int32 length (-1 = NULL) and bytes.
 *
 * Decode returns nested lists (NULL -> None); an empty array (ndim 0, or
 * any dimension of length 0) is [].  An array whose lower bounds are not
 * all 1 decodes, as in asyncpg, to the same nested lists, but the top
 * level is a pgwire.types.BoundedArray (a list subclass) whose
 * lower_bounds keeps them (int2vector and oidvector, 0-based by
 * definition, stay plain lists).  Every count is checked against the bytes
 * left before anything is allocated, so a huge declared size costs
 * nothing.
 * Encode takes, as asyncpg, any sized iterable at the top level (a list,
 * a tuple, a set, an object with __iter__ and __len__), never
 * str/bytes/bytearray/memoryview or a Mapping; nesting of lists and tuples
 * gives the dimensions, which must be rectangular; None is a NULL element.
 * When the element codec takes tuples as values (PgwCodec.tuple_value:
 * composites, ranges), nested tuples are elements, not sub-arrays, as in
 * asyncpg.  Lower bounds are sent as 1, or a BoundedArray's lower_bounds.
 *
 * The element codec is codec->elem when set, else the builtin codec of
 * codec->elem_oid; the element oid on the wire must equal elem_oid (or,
 * when that is 0, the element codec's oid).
 */
#include "codec_internal.h"

#define ARRAY_MAXDIM PGW_ARRAY_MAXDIM
#define ARRAY_HDR 12

const PgwCodec *
pgw_array_elem(const PgwCodec *codec)
{
    const PgwCodec *ec = codec->elem ? codec->elem
                                     : pgw_codec_builtin(codec->elem_oid);
    if (ec == NULL) {
        PyErr_Format(PyExc_TypeError, "%s: no codec for element type %u",
                     codec->name, (unsigned)codec->elem_oid);
    }
    return ec;
}

static uint32_t
array_elem_oid(const PgwCodec *codec, const PgwCodec *ec)
{
    return codec->elem_oid ? codec->elem_oid : ec->oid;
}

/* ------------------------------------------------------------------ */
/* Decode                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const PgwCodecCtx *ctx;
    const PgwCodec *codec; /* the array codec, for messages */
    const PgwCodec *ec;
    PgcCur cur;
    int ndim;
    int bounded; /* a lower bound is not 1 */
    int32_t dims[ARRAY_MAXDIM];
    int32_t lbounds[ARRAY_MAXDIM];
} ArrDec;

/* The element count fits in the bytes left (4 bytes per element at
 * least): 0, or -1 with ValueError set.  A zero dimension makes the whole
 * array empty (ndim becomes 0), as in PostgreSQL's array_recv; building
 * its other dimensions as empty lists could take memory unbounded by the
 * input. */
static int
arr_check_count(ArrDec *a)
{
    size_t cap = pgc_cur_left(&a->cur) / 4, total = 1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] == 0) {
            a->ndim = 0;
            return 0;
        }
    }
    for (int i = 0; i < a->ndim; i++) {
        if ((size_t)a->dims[i] > cap / total) {
            pgw_codec_value_error(a->codec,
                                  "dimensions exceed the %zu bytes left",
                                  pgc_cur_left(&a->cur));
            return -1;
        }
        total *= (size_t)a->dims[i];
    }
    return 0;
}

/* int2vector and oidvector are 0-based by definition. */
static int
arr_zero_based(const PgwCodec *codec)
{
    return codec->oid == 22 || codec->oid == 30;
}

static int
arr_read_dims(ArrDec *a)
{
    int32_t lbound = 0;
    if (pgc_cur_left(&a->cur) < (size_t)a->ndim * 8) {
        pgw_codec_value_error(a->codec, "truncated dimensions");
        return -1;
    }
    for (int i = 0; i < a->ndim; i++) {
        (void)pgc_cur_i32(&a->cur, &a->dims[i]);
        (void)pgc_cur_i32(&a->cur, &lbound);
        if (a->dims[i] < 0) {
            pgw_codec_value_error(a->codec, "negative dimension %d",
                                  (int)a->dims[i]);
            return -1;
        }
        a->lbounds[i] = lbound;
        if (lbound != 1 && !arr_zero_based(a->codec)) {
            a->bounded = 1; /* pgw_array_decode keeps them */
        }
    }
    return arr_check_count(a);
}

/* Header and dimensions; 0, or -1 with ValueError set. */
static int
arr_read_header(ArrDec *a)
{
    int32_t ndim = 0, flags = 0;
    uint32_t eoid = 0, want = array_elem_oid(a->codec, a->ec);

    if (pgc_cur_left(&a->cur) < ARRAY_HDR) {
        pgw_codec_value_error(a->codec, "truncated header (%zu bytes)",
                              pgc_cur_left(&a->cur));
        return -1;
    }
    (void)pgc_cur_i32(&a->cur, &ndim);
    (void)pgc_cur_i32(&a->cur, &flags);
    (void)pgc_cur_u32(&a->cur, &eoid);
    if (ndim < 0 || ndim > ARRAY_MAXDIM) {
        pgw_codec_value_error(a->codec, "%d dimensions (expected 0 to 6)",
                              (int)ndim);
        return -1;
    }
    if (flags != 0 && flags != 1) {
        pgw_codec_value_error(a->codec, "flags %d", (int)flags);
        return -1;
    }
    if (eoid != want) {
        pgw_codec_value_error(a->codec, "element type %u, expected %u",
                              (unsigned)eoid, (unsigned)want);
        return -1;
    }
    a->ndim = ndim;
    return arr_read_dims(a);
}

static PyObject *
arr_decode_elem(ArrDec *a)
{
    int32_t len;
    PgcView v;
    if (pgc_cur_i32(&a->cur, &len) != PGC_OK) {
        return pgw_codec_value_error(a->codec, "truncated element");
    }
    if (len == -1) {
        return Py_NewRef(Py_None);
    }
    if (len < 0 || pgc_cur_bytes(&a->cur, (size_t)len, &v) != PGC_OK) {
        return pgw_codec_value_error(a->codec,
                                     "element length %d, %zu bytes left",
                                     (int)len, pgc_cur_left(&a->cur));
    }
    return a->ec->decode(a->ctx, a->ec, v.p, v.n);
}

/* The innermost level of an int2/int4/int8 array with the builtin element
 * codec (the common case), without a call through the codec per element:
 * the same checks, the value read in place. */
static PyObject *
arr_decode_ints(ArrDec *a, Py_ssize_t len, int32_t width)
{
    PyObject *list = PyList_New(len);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        int32_t elen;
        PgcView v;
        PyObject *item;
        if (pgc_cur_i32(&a->cur, &elen) != PGC_OK) {
            item = pgw_codec_value_error(a->codec, "truncated element");
        }
        else if (elen == -1) {
            item = Py_NewRef(Py_None);
        }
        else if (elen < 0 ||
                 pgc_cur_bytes(&a->cur, (size_t)elen, &v) != PGC_OK) {
            item = pgw_codec_value_error(a->codec,
                                         "element length %d, %zu bytes left",
                                         (int)elen, pgc_cur_left(&a->cur));
        }
        else if (elen != width) {
            /* the element codec says what is wrong with it */
            item = a->ec->decode(a->ctx, a->ec, v.p, v.n);
        }
        else if (width == 4) {
            item = PyLong_FromLong((int32_t)pgc_load_u32(v.p));
        }
        else if (width == 8) {
            item = PyLong_FromLongLong((int64_t)pgc_load_u64(v.p));
        }
        else {
            item = PyLong_FromLong((int16_t)pgc_load_u16(v.p));
        }
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* 2, 4 or 8 for the builtin int2/int4/int8 codecs, else 0. */
static int32_t
arr_int_width(const PgwCodec *ec)
{
    if (ec->oid == 23 && ec == pgw_codec_builtin(23)) {
        return 4;
    }
    if (ec->oid == 20 && ec == pgw_codec_builtin(20)) {
        return 8;
    }
    if (ec->oid == 21 && ec == pgw_codec_builtin(21)) {
        return 2;
    }
    return 0;
}

static PyObject *
arr_decode_level(ArrDec *a, int level)
{
    Py_ssize_t len = a->dims[level];
    if (level + 1 == a->ndim) {
        int32_t width = arr_int_width(a->ec);
        if (width) {
            return arr_decode_ints(a, len, width);
        }
    }
    PyObject *list = PyList_New(len);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *item = level + 1 < a->ndim ? arr_decode_level(a, level + 1)
                                             : arr_decode_elem(a);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* BoundedArray(list, lower_bounds) for a decoded array whose lower bounds
 * are not all 1. */
static PGW_NOINLINE PyObject *
arr_bounded(const PgwCodecCtx *ctx, PyObject *list, const int32_t *lb,
            int ndim)
{
    PyObject *bounds = PyTuple_New(ndim), *res;
    if (bounds == NULL) {
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        PyObject *b = PyLong_FromLong(lb[i]);
        if (b == NULL) {
            Py_DECREF(bounds);
            return NULL;
        }
        PyTuple_SET_ITEM(bounds, i, b);
    }
    res = PyObject_CallFunctionObjArgs(ctx->bounded_array_type, list, bounds,
                                       NULL);
    Py_DECREF(bounds);
    return res;
}

PyObject *
pgw_array_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    ArrDec a = {.ctx = ctx, .codec = codec, .cur = pgc_cur_make(p, n)};
    PyObject *res;

    a.ec = pgw_array_elem(codec);
    if (a.ec == NULL || arr_read_header(&a) < 0) {
        return NULL;
    }
    res = a.ndim == 0 ? PyList_New(0) : arr_decode_level(&a, 0);
    if (res != NULL && pgc_cur_left(&a.cur) != 0) {
        Py_DECREF(res);
        return pgw_codec_value_error(codec, "%zu trailing bytes",
                                     pgc_cur_left(&a.cur));
    }
    if (res != NULL && a.bounded) {
        Py_SETREF(res, arr_bounded(ctx, res, a.lbounds, a.ndim));
    }
    return res;
}

/* ------------------------------------------------------------------ */
/* Encode                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    PgwArrWalk walk; /* first: the walk's callbacks get an ArrEnc */
    int has_null;
    int32_t lbounds[PGW_ARRAY_MAXDIM];
} ArrEnc;

static PGW_COLD PyObject *
arr_not_iterable(PyObject *obj)
{
    PyErr_Format(PyExc_TypeError,
                 "a sized iterable container expected (got type '%.100s')",
                 Py_TYPE(obj)->tp_name);
    return NULL;
}

/* The top-level value of an array parameter as a list or tuple (new
 * reference).  As asyncpg: any sized iterable (__iter__ or a sequence,
 * and __len__) but str, bytes, bytearray, memoryview and Mappings.  Only
 * sized collections: an iterable without __len__ (an iterator, an
 * ipaddress network) may be practically endless.  Shared with the
 * text-array encoder. */
PyObject *
pgw_array_as_seq(const PgwCodecCtx *ctx, PyObject *obj)
{
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
        return Py_NewRef(obj);
    }
    if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyByteArray_Check(obj) ||
        PyMemoryView_Check(obj) || PyDict_Check(obj) ||
        !(Py_TYPE(obj)->tp_iter != NULL || PySequence_Check(obj))) {
        return arr_not_iterable(obj);
    }
    if (ctx->mapping_abc != NULL) {
        int is_map = PyObject_IsInstance(obj, ctx->mapping_abc);
        if (is_map != 0) {
            return is_map < 0 ? NULL : arr_not_iterable(obj);
        }
    }
    Py_ssize_t n = PyObject_Size(obj);
    if (n < 0) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return NULL;
        }
        PyErr_Clear();
        return arr_not_iterable(obj);
    }
    if ((size_t)n > (size_t)INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "array of %zd elements is too large",
                     n);
        return NULL;
    }
    return PySequence_Tuple(obj);
}

/* ------------------------------------------------------------------ */
/* The walk over a Python array value (both array encoders)           */
/* ------------------------------------------------------------------ */

/* A sub-array of the wrong shape at depth `level`: `got` is not a
 * sub-array or has not `want` elements. */
static PGW_COLD int
walk_shape_error(const PgwArrWalk *w, int level, Py_ssize_t want,
                 PyObject *got)
{
    if (!pgw_array_is_nested(w, got)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected a list at depth %d, got %.100s", w->what,
                     level, Py_TYPE(got)->tp_name);
    }
    else {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected %zd elements at depth %d, got %zd", w->what,
                     want, level, PySequence_Fast_GET_SIZE(got));
    }
    return -1;
}

/* w->ndim and w->dims from the first element at each depth of seq; 1
 * when the array has no elements, 0 otherwise, -1 with ValueError. */
static int
walk_dims(PgwArrWalk *w, PyObject *seq)
{
    PyObject *cur = seq;
    for (;;) {
        Py_ssize_t len = PySequence_Fast_GET_SIZE(cur);
        if (w->ndim == PGW_ARRAY_MAXDIM) {
            PyErr_SetString(PyExc_ValueError,
                            "array has more than 6 dimensions");
            return -1;
        }
        if (len > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "array dimension too large");
            return -1;
        }
        w->dims[w->ndim++] = len;
        if (len == 0) {
            return 1;
        }
        PyObject *first = PySequence_Fast_GET_ITEM(cur, 0);
        if (!pgw_array_is_nested(w, first)) {
            return 0;
        }
        cur = first;
    }
}

PyObject *
pgw_array_walk_start(PgwArrWalk *w, const PgwCodec *codec, PyObject *obj,
                     int *empty)
{
    w->ec = pgw_array_elem(codec);
    if (w->ec == NULL) {
        return NULL;
    }
    /* as asyncpg, tuples are then elements (composites, ranges) */
    w->tuple_elems = w->ec->tuple_value;
    PyObject *seq = pgw_array_as_seq(w->ctx, obj);
    if (seq == NULL) {
        return NULL;
    }
    *empty = walk_dims(w, seq);
    if (*empty < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    return seq;
}

static int
walk_put(const PgwArrWalk *w, char c)
{
    return w->braces ? pgw_put_u8(w->buf, (uint8_t)c) : 0;
}

int
pgw_array_walk(PgwArrWalk *w, PyObject *seq, int level)
{
    Py_ssize_t n = w->dims[level];
    if (walk_put(w, '{') < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int rc;
        if (PySequence_Fast_GET_SIZE(seq) != n) {
            return walk_shape_error(w, level, n, seq);
        }
        if (i > 0 && walk_put(w, ',') < 0) {
            return -1;
        }
        /* encoding an item may run code that changes seq: hold it */
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        if (level + 1 == w->ndim) {
            rc = w->elem(w, item);
        }
        else if (pgw_array_is_nested(w, item) &&
                 PySequence_Fast_GET_SIZE(item) == w->dims[level + 1]) {
            rc = pgw_array_walk(w, item, level + 1);
        }
        else {
            rc = walk_shape_error(w, level + 1, w->dims[level + 1], item);
        }
        Py_DECREF(item);
        if (rc < 0) {
            return -1;
        }
    }
    if (PySequence_Fast_GET_SIZE(seq) != n) {
        return walk_shape_error(w, level, n, seq);
    }
    return walk_put(w, '}');
}

/* ------------------------------------------------------------------ */
/* Binary encode                                                       */
/* ------------------------------------------------------------------ */

static int
arr_put_header(ArrEnc *e, uint32_t eoid, int empty)
{
    PgcWBuf *buf = e->walk.buf;
    int ndim = empty ? 0 : e->walk.ndim;
    if (pgw_put_i32(buf, ndim) < 0 || pgw_put_i32(buf, 0) < 0 ||
        pgw_put_i32(buf, (int32_t)eoid) < 0) {
        return -1;
    }
    for (int i = 0; i < ndim; i++) {
        if (pgw_put_i32(buf, (int32_t)e->walk.dims[i]) < 0 ||
            pgw_put_i32(buf, e->lbounds[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* "invalid array element: <cause>" (asyncpg's words), the same class, for
 * the TypeError/ValueError/OverflowError an element encoder raised; a
 * sub-array the element codec refused is "non-homogeneous". */
static PGW_COLD void
arr_elem_error(const ArrEnc *e, PyObject *item)
{
    if (pgw_array_is_nested(&e->walk, item) &&
        PyErr_ExceptionMatches(PyExc_TypeError)) {
        /* a sub-array where the first elements gave a scalar (checked
         * only on failure: an element codec may take lists) */
        PyErr_Format(PyExc_ValueError,
                     "non-homogeneous array (not rectangular): expected an "
                     "element at depth %d, got a %.100s",
                     e->walk.ndim, Py_TYPE(item)->tp_name);
        return;
    }
    if (!PyErr_ExceptionMatches(PyExc_TypeError) &&
        !PyErr_ExceptionMatches(PyExc_ValueError) &&
        !PyErr_ExceptionMatches(PyExc_OverflowError)) {
        return;
    }
    PyObject *v = PyErr_GetRaisedException();
    if (v != NULL) {
        PyErr_Format((PyObject *)Py_TYPE(v), "invalid array element: %S", v);
    }
    Py_XDECREF(v);
}

/* The lower bounds to send: a BoundedArray's lower_bounds, else 1. */
static int
arr_lbounds(ArrEnc *e, PyObject *obj, int empty)
{
    for (int i = 0; i < PGW_ARRAY_MAXDIM; i++) {
        e->lbounds[i] = 1;
    }
    if (empty || e->walk.ctx->bounded_array_type == NULL ||
        !PyObject_TypeCheck(obj,
                            (PyTypeObject *)e->walk.ctx->bounded_array_type)) {
        return 0;
    }
    PyObject *lb = PyObject_GetAttr(obj, e->walk.ctx->str_lower_bounds);
    if (lb == NULL) {
        return -1;
    }
    int rc = 0;
    if (lb != Py_None) {
        int ndim = e->walk.ndim;
        if (!PyTuple_Check(lb) || PyTuple_GET_SIZE(lb) != ndim) {
            PyErr_Format(PyExc_ValueError,
                         "BoundedArray.lower_bounds must be a tuple of %d "
                         "int(s), one per dimension, got %R",
                         ndim, lb);
            rc = -1;
        }
        for (int i = 0; rc == 0 && i < ndim; i++) {
            long b = PyLong_AsLong(PyTuple_GET_ITEM(lb, i));
            if (b == -1 && PyErr_Occurred()) {
                rc = -1;
            }
            else if (b < INT32_MIN || b > INT32_MAX ||
                     (int64_t)b + (int64_t)e->walk.dims[i] - 1 > INT32_MAX) {
                PyErr_Format(PyExc_OverflowError,
                             "array lower bound %ld out of range", b);
                rc = -1;
            }
            else {
                e->lbounds[i] = (int32_t)b;
            }
        }
    }
    Py_DECREF(lb);
    return rc;
}

/* The walk's element callback: one length-prefixed element or NULL. */
static int
arr_encode_elem(PgwArrWalk *w, PyObject *item)
{
    ArrEnc *e = (ArrEnc *)w;
    if (item == Py_None) {
        e->has_null = 1;
        return pgw_put_i32(w->buf, -1);
    }
    size_t off = w->buf->len;
    if (pgw_put_i32(w->buf, 0) < 0) {
        return -1;
    }
    if (w->ec->encode(w->ctx, w->ec, item, w->buf) < 0) {
        arr_elem_error(e, item);
        return -1;
    }
    size_t len = w->buf->len - off - 4;
    if (len > INT32_MAX) {
        return pgw_codec_buf_error(PGC_ERR_LIMIT);
    }
    pgc_store_u32(w->buf->data + off, (uint32_t)len);
    return 0;
}

int
pgw_array_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    /* "non-homogeneous array": asyncpg's words */
    ArrEnc e = {.walk = {.ctx = ctx,
                         .buf = buf,
                         .elem = arr_encode_elem,
                         .what = "non-homogeneous array (not rectangular)"}};
    size_t start = buf->len;
    int empty, rc = -1;

    PyObject *seq = pgw_array_walk_start(&e.walk, codec, obj, &empty);
    if (seq == NULL) {
        return -1;
    }
    if (arr_lbounds(&e, obj, empty) < 0 ||
        arr_put_header(&e, array_elem_oid(codec, e.walk.ec), empty) < 0 ||
        pgw_array_walk(&e.walk, seq, 0) < 0) {
        goto done;
    }
    if (e.has_null) {
        pgc_store_u32(buf->data + start + 4, 1);
    }
    rc = 0;
done:
    Py_DECREF(seq);
    return rc;
}
