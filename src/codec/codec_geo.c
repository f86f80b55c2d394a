/* codec_geo.c -- point, line, lseg, box, path, polygon, circle <->
 * pgwire.types.Point, Line, LineSegment, Box, Path, Polygon, Circle
 * (asyncpg semantics).
 *
 * Wire format (float8 big-endian throughout):
 *   point   x, y
 *   line    A, B, C                      (Ax + By + C = 0)
 *   lseg    p1.x, p1.y, p2.x, p2.y
 *   box     high.x, high.y, low.x, low.y (the server orders the corners)
 *   path    uint8 closed, int32 npts, npts x (x, y)
 *   polygon int32 npts, npts x (x, y)
 *   circle  center.x, center.y, radius
 *
 * Encoders take the pgwire.types objects or plain sequences of the same
 * shape: a point is any 2-item sequence of float-likes, a box/lseg two
 * points, a circle (point, radius), a line three float-likes.  A path is
 * closed when given as a tuple or a closed Path, open as a list or any
 * other sequence of points (as asyncpg); a polygon is any sequence of
 * points.  str, bytes and mappings are never taken as sequences.
 * Decoding a circle gives its center as a Point (asyncpg: a plain tuple,
 * which compares equal).
 */
#include "codec_internal.h"

#define GEO_POINT_LEN 16
#define PATH_HDR 5
#define POLY_HDR 4

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static inline double
geo_load_f8(const uint8_t *p)
{
    uint64_t bits = pgc_load_u64(p);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* A float-like as float8 (pgw_float8_encode does the conversion and its
 * errors).  0, or -1 with an exception set. */
static inline int
geo_put_f8(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
           PgcWBuf *buf)
{
    return pgw_float8_encode(ctx, codec, obj, buf);
}

/* obj as a fast sequence (new reference) of exactly n items when n >= 0,
 * of at most max_points items otherwise; NULL with TypeError/ValueError
 * set.  `what` names the expected value in messages.  The length is
 * checked first, so a lazy sequence (an IPv6Network, a range) is never
 * listed. */
static PyObject *
geo_seq(PyObject *obj, Py_ssize_t n, Py_ssize_t max_points, const char *what)
{
    PyObject *seq;
    Py_ssize_t len;
    if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyByteArray_Check(obj) ||
        PyDict_Check(obj) || !PySequence_Check(obj)) {
        pgw_codec_type_error(what, obj);
        return NULL;
    }
    len = PySequence_Size(obj);
    if (len < 0) {
        return NULL;
    }
    if ((n >= 0 && len != n) || (n < 0 && len > max_points)) {
        PyErr_Format(PyExc_ValueError, "expected %s of %zd items, got %zd",
                     what, n >= 0 ? n : max_points, len);
        return NULL;
    }
    seq = PySequence_Fast(obj, "expected a sequence");
    if (seq != NULL && PySequence_Fast_GET_SIZE(seq) != len) {
        PyErr_Format(PyExc_ValueError, "%s changed size", what);
        Py_CLEAR(seq);
    }
    return seq;
}

/* Items [first, first + count) of a fast sequence as float8 values. */
static int
geo_put_items(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *seq,
              Py_ssize_t first, Py_ssize_t count, PgcWBuf *buf)
{
    for (Py_ssize_t i = first; i < first + count; i++) {
        /* a __float__ may mutate a list given as seq: hold the item */
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        int rc = geo_put_f8(ctx, codec, item, buf);
        Py_DECREF(item);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* A point-like (2 float-likes).  0, or -1 with an exception set. */
static int
geo_put_point(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
              PgcWBuf *buf)
{
    PyObject *seq = geo_seq(obj, 2, 0, "a point (x, y)");
    int rc;
    if (seq == NULL) {
        return -1;
    }
    rc = geo_put_items(ctx, codec, seq, 0, 2, buf);
    Py_DECREF(seq);
    return rc;
}

/* n point-likes from a sequence of exactly n items (n = -1: any). */
static int
geo_put_points(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
               Py_ssize_t n, const char *what, PgcWBuf *buf)
{
    PyObject *seq = geo_seq(obj, n, 0, what);
    int rc = 0;
    if (seq == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        rc = geo_put_point(ctx, codec, item, buf);
        Py_DECREF(item);
    }
    Py_DECREF(seq);
    return rc;
}

/* type(*floats) for the n doubles at p (new reference). */
static PyObject *
geo_call_floats(PyObject *type, const uint8_t *p, int n)
{
    PyObject *args[4] = {NULL, NULL, NULL, NULL};
    PyObject *res = NULL;
    int i;
    for (i = 0; i < n; i++) {
        args[i] = PyFloat_FromDouble(geo_load_f8(p + 8 * i));
        if (args[i] == NULL) {
            goto done;
        }
    }
    res = PyObject_Vectorcall(type, args, (size_t)n, NULL);
done:
    for (i = 0; i < n; i++) {
        Py_XDECREF(args[i]);
    }
    return res;
}

/* A Point from 16 bytes at p (new reference). */
static inline PyObject *
geo_point(const PgwCodecCtx *ctx, const uint8_t *p)
{
    return geo_call_floats(ctx->point_type, p, 2);
}

/* type(Point(p), Point(p + 16)) (new reference). */
static PyObject *
geo_two_points(const PgwCodecCtx *ctx, PyObject *type, const uint8_t *p)
{
    PyObject *args[2];
    PyObject *res = NULL;
    args[0] = geo_point(ctx, p);
    if (args[0] == NULL) {
        return NULL;
    }
    args[1] = geo_point(ctx, p + GEO_POINT_LEN);
    if (args[1] != NULL) {
        res = PyObject_Vectorcall(type, args, 2, NULL);
        Py_DECREF(args[1]);
    }
    Py_DECREF(args[0]);
    return res;
}

/* The npts points at p as a tuple of Points (new reference); the caller
 * checked the size. */
static PyObject *
geo_points_tuple(const PgwCodecCtx *ctx, const uint8_t *p, size_t npts)
{
    PyObject *t = PyTuple_New((Py_ssize_t)npts);
    if (t == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < npts; i++) {
        PyObject *pt = geo_point(ctx, p + i * GEO_POINT_LEN);
        if (pt == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, pt);
    }
    return t;
}

/* The point count at p (int32) checked against the n bytes that follow
 * it: 0, or -1 with ValueError set. */
static int
geo_npts(const PgwCodec *codec, const uint8_t *p, size_t n, size_t *npts)
{
    int32_t v = (int32_t)pgc_load_u32(p);
    if (v < 0 || (size_t)v != n / GEO_POINT_LEN || n % GEO_POINT_LEN != 0) {
        pgw_codec_value_error(codec, "%d points in %zu bytes", (int)v, n);
        return -1;
    }
    *npts = (size_t)v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* point, line, lseg, box, circle                                      */
/* ------------------------------------------------------------------ */

PyObject *
pgw_point_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                 const uint8_t *p, size_t n)
{
    if (n != GEO_POINT_LEN) {
        return pgw_codec_size_error(codec, GEO_POINT_LEN, n);
    }
    return geo_point(ctx, p);
}

int
pgw_point_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                 PgcWBuf *buf)
{
    size_t start = buf->len;
    if (geo_put_point(ctx, codec, obj, buf) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}

PyObject *
pgw_line_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    if (n != 24) {
        return pgw_codec_size_error(codec, 24, n);
    }
    return geo_call_floats(ctx->line_type, p, 3);
}

int
pgw_line_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    size_t start = buf->len;
    PyObject *seq = geo_seq(obj, 3, 0, "a line (A, B, C)");
    int rc;
    if (seq == NULL) {
        return -1;
    }
    rc = geo_put_items(ctx, codec, seq, 0, 3, buf);
    Py_DECREF(seq);
    if (rc < 0) {
        pgc_wbuf_truncate(buf, start);
    }
    return rc;
}

PyObject *
pgw_lseg_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    if (n != 2 * GEO_POINT_LEN) {
        return pgw_codec_size_error(codec, 2 * GEO_POINT_LEN, n);
    }
    return geo_two_points(ctx, ctx->lseg_type, p);
}

int
pgw_lseg_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    size_t start = buf->len;
    if (geo_put_points(ctx, codec, obj, 2, "a line segment (p1, p2)", buf) <
        0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}

PyObject *
pgw_box_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, const uint8_t *p,
               size_t n)
{
    if (n != 2 * GEO_POINT_LEN) {
        return pgw_codec_size_error(codec, 2 * GEO_POINT_LEN, n);
    }
    return geo_two_points(ctx, ctx->box_type, p);
}

int
pgw_box_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
               PgcWBuf *buf)
{
    size_t start = buf->len;
    if (geo_put_points(ctx, codec, obj, 2, "a box (high, low)", buf) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}

PyObject *
pgw_circle_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    PyObject *args[2];
    PyObject *res = NULL;
    if (n != 24) {
        return pgw_codec_size_error(codec, 24, n);
    }
    args[0] = geo_point(ctx, p);
    if (args[0] == NULL) {
        return NULL;
    }
    args[1] = PyFloat_FromDouble(geo_load_f8(p + GEO_POINT_LEN));
    if (args[1] != NULL) {
        res = PyObject_Vectorcall(ctx->circle_type, args, 2, NULL);
        Py_DECREF(args[1]);
    }
    Py_DECREF(args[0]);
    return res;
}

int
pgw_circle_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    size_t start = buf->len;
    PyObject *seq = geo_seq(obj, 2, 0, "a circle (center, radius)");
    int rc;
    if (seq == NULL) {
        return -1;
    }
    PyObject *center = Py_NewRef(PySequence_Fast_GET_ITEM(seq, 0));
    PyObject *radius = Py_NewRef(PySequence_Fast_GET_ITEM(seq, 1));
    Py_DECREF(seq);
    rc = geo_put_point(ctx, codec, center, buf);
    if (rc == 0) {
        rc = geo_put_f8(ctx, codec, radius, buf);
    }
    Py_DECREF(center);
    Py_DECREF(radius);
    if (rc < 0) {
        pgc_wbuf_truncate(buf, start);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* path, polygon                                                       */
/* ------------------------------------------------------------------ */

PyObject *
pgw_path_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    size_t npts;
    PyObject *pts, *kw, *res = NULL;
    if (n < PATH_HDR) {
        return pgw_codec_value_error(codec, "truncated header (%zu bytes)", n);
    }
    if (geo_npts(codec, p + 1, n - PATH_HDR, &npts) < 0) {
        return NULL;
    }
    pts = geo_points_tuple(ctx, p + PATH_HDR, npts);
    if (pts == NULL) {
        return NULL;
    }
    kw = PyDict_New();
    if (kw != NULL && PyDict_SetItem(kw, ctx->str_is_closed,
                                     p[0] ? Py_True : Py_False) == 0) {
        res = PyObject_Call(ctx->path_type, pts, kw);
    }
    Py_XDECREF(kw);
    Py_DECREF(pts);
    return res;
}

/* The header and points of a path or polygon; 0, or -1 with an exception
 * set (buf is left for the caller to truncate). */
static int
geo_put_poly(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
             int closed, const char *what, PgcWBuf *buf)
{
    PyObject *seq = geo_seq(obj, -1, (INT32_MAX - PATH_HDR) / GEO_POINT_LEN,
                            what);
    Py_ssize_t npts;
    int rc = -1;
    if (seq == NULL) {
        return -1;
    }
    npts = PySequence_Fast_GET_SIZE(seq);
    if ((closed >= 0 && pgw_put_u8(buf, (uint8_t)closed) < 0) ||
        pgw_put_i32(buf, (int32_t)npts) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < npts; i++) {
        if (i >= PySequence_Fast_GET_SIZE(seq)) {
            PyErr_SetString(PyExc_RuntimeError,
                            "sequence changed size during encoding");
            goto done;
        }
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        int r = geo_put_point(ctx, codec, item, buf);
        Py_DECREF(item);
        if (r < 0) {
            goto done;
        }
    }
    rc = 0;
done:
    Py_DECREF(seq);
    return rc;
}

int
pgw_path_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    size_t start = buf->len;
    int closed = 0;
    if (PyTuple_Check(obj)) {
        closed = 1;
    }
    else if (!PyList_Check(obj)) {
        int is_path = PyObject_IsInstance(obj, ctx->path_type);
        if (is_path < 0) {
            return -1;
        }
        if (is_path) {
            PyObject *c = PyObject_GetAttr(obj, ctx->str_is_closed);
            if (c == NULL) {
                return -1;
            }
            closed = PyObject_IsTrue(c);
            Py_DECREF(c);
            if (closed < 0) {
                return -1;
            }
        }
    }
    if (geo_put_poly(ctx, codec, obj, closed, "a path (sequence of points)",
                     buf) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}

PyObject *
pgw_polygon_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                   const uint8_t *p, size_t n)
{
    size_t npts;
    PyObject *pts, *res;
    if (n < POLY_HDR) {
        return pgw_codec_value_error(codec, "truncated header (%zu bytes)", n);
    }
    if (geo_npts(codec, p, n - POLY_HDR, &npts) < 0) {
        return NULL;
    }
    pts = geo_points_tuple(ctx, p + POLY_HDR, npts);
    if (pts == NULL) {
        return NULL;
    }
    res = PyObject_Call(ctx->polygon_type, pts, NULL);
    Py_DECREF(pts);
    return res;
}

int
pgw_polygon_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                   PyObject *obj, PgcWBuf *buf)
{
    size_t start = buf->len;
    if (geo_put_poly(ctx, codec, obj, -1, "a polygon (sequence of points)",
                     buf) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}
