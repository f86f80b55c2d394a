/* codec_dyn_record.c -- composites (built at run time, see codec_dyn.h)
 * and the anonymous record type (oid 2249, in the builtin table).
 *
 * Wire format (record_send): int32 field count, then per field: uint32
 * type oid, int32 length (-1 = NULL) and the value's binary form.
 * Dropped columns are not sent.
 *
 * A composite decodes to a Record (the binding's type, reached through
 * the context) whose names are the attribute names; its field count and
 * every field oid must match the catalog, else OutdatedSchemaCacheError
 * (the type changed since it was introspected), as asyncpg.  It encodes
 * from a tuple, list or Record (by position) or a Mapping (by field name;
 * a missing key is NULL, an unknown key is an error).
 *
 * The anonymous record decodes to a tuple, as asyncpg: each field with the
 * builtin codec of its wire oid (ValueError for a non-NULL value of an
 * oid without one, since the text fallback cannot read binary data).
 * PostgreSQL refuses input of anonymous records, so encoding one is a
 * TypeError.
 */
#include "codec_dyn.h"
#include "codec_internal.h"

#define RECORD_FIELD_HDR 8 /* oid + length */

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/* The field count; 0, or -1 with ValueError set.  At least 8 bytes per
 * field must remain. */
static int
rec_read_count(const PgwCodec *codec, PgcCur *cur, Py_ssize_t *count)
{
    int32_t n = 0;
    if (pgc_cur_i32(cur, &n) != PGC_OK) {
        pgw_codec_value_error(codec, "truncated field count");
        return -1;
    }
    if (n < 0 || (size_t)n > pgc_cur_left(cur) / RECORD_FIELD_HDR) {
        pgw_codec_value_error(codec, "%d fields in %zu bytes", (int)n,
                              pgc_cur_left(cur));
        return -1;
    }
    *count = n;
    return 0;
}

/* One field header and its bytes: v->p == NULL for SQL NULL.  0, or -1
 * with ValueError set. */
static int
rec_read_field(const PgwCodec *codec, PgcCur *cur, Py_ssize_t i, uint32_t *oid,
               PgcView *v)
{
    int32_t len = 0;
    if (pgc_cur_left(cur) < RECORD_FIELD_HDR) {
        pgw_codec_value_error(codec, "truncated field %zd", i);
        return -1;
    }
    (void)pgc_cur_u32(cur, oid);
    (void)pgc_cur_i32(cur, &len);
    if (len == -1) {
        v->p = NULL;
        v->n = 0;
        return 0;
    }
    if (len < 0 || pgc_cur_bytes(cur, (size_t)len, v) != PGC_OK) {
        pgw_codec_value_error(codec, "field %zd length %d, %zu bytes left", i,
                              (int)len, pgc_cur_left(cur));
        return -1;
    }
    return 0;
}

static PyObject *
rec_decode_value(const PgwCodecCtx *ctx, const PgwCodec *fc, PgcView v)
{
    if (v.p == NULL) {
        return Py_NewRef(Py_None);
    }
    return fc->decode(ctx, fc, v.p, v.n);
}

static int
rec_check_end(const PgwCodec *codec, const PgcCur *cur)
{
    if (pgc_cur_left(cur) != 0) {
        pgw_codec_value_error(codec, "%zu trailing bytes", pgc_cur_left(cur));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Anonymous record                                                    */
/* ------------------------------------------------------------------ */

static PyObject *
anon_field(const PgwCodecCtx *ctx, const PgwCodec *codec, PgcCur *cur,
           Py_ssize_t i)
{
    uint32_t oid = 0;
    PgcView v;
    if (rec_read_field(codec, cur, i, &oid, &v) < 0) {
        return NULL;
    }
    if (v.p == NULL) {
        return Py_NewRef(Py_None);
    }
    const PgwCodec *fc = pgw_codec_builtin(oid);
    if (fc == NULL) {
        return pgw_codec_value_error(
            codec, "field %zd has type oid %u, which has no binary codec", i,
            (unsigned)oid);
    }
    return rec_decode_value(ctx, fc, v);
}

static PyObject *
anon_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, PgcCur *cur)
{
    Py_ssize_t count;
    if (rec_read_count(codec, cur, &count) < 0) {
        return NULL;
    }
    PyObject *tup = PyTuple_New(count);
    if (tup == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = anon_field(ctx, codec, cur, i);
        if (item == NULL) {
            Py_DECREF(tup);
            return NULL;
        }
        PyTuple_SET_ITEM(tup, i, item);
    }
    if (rec_check_end(codec, cur) < 0) {
        Py_CLEAR(tup);
    }
    return tup;
}

PyObject *
pgw_record_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    PgcCur cur = pgc_cur_make(p, n);
    if (Py_EnterRecursiveCall(" while decoding a record value")) {
        return NULL;
    }
    PyObject *res = anon_decode(ctx, codec, &cur);
    Py_LeaveRecursiveCall();
    return res;
}

int
pgw_record_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    (void)ctx;
    (void)codec;
    (void)obj;
    (void)buf;
    /* NotImplementedError: the binding raises asyncpg's
     * UnsupportedClientFeatureError("query argument $N: input of anonymous
     * composite types is not supported") */
    PyErr_SetString(PyExc_NotImplementedError,
                    "input of anonymous composite types is not supported "
                    "(PostgreSQL does not implement it: cast the parameter "
                    "to a named composite type)");
    return -1;
}

/* ------------------------------------------------------------------ */
/* Composite: decode                                                   */
/* ------------------------------------------------------------------ */

/* The name of a type oid for messages: the builtin name, else the oid. */
static PyObject *
comp_oid_repr(uint32_t oid)
{
    const PgwCodec *c = pgw_codec_builtin(oid);
    if (c != NULL) {
        return PyUnicode_FromFormat("'%s'", c->name);
    }
    return PyUnicode_FromFormat("%u", (unsigned)oid);
}

/* Raise OutdatedSchemaCacheError(msg, schema=, data_type=, position=).
 * position < 0: None.  Returns NULL. */
static PyObject *
comp_outdated(const PgwCodecCtx *ctx, const PgwDynCodec *d, PyObject *msg,
              Py_ssize_t position)
{
    if (msg == NULL) {
        return NULL;
    }
    PyObject *pos = position < 0 ? Py_NewRef(Py_None)
                                 : PyLong_FromSsize_t(position);
    if (pos == NULL) {
        Py_DECREF(msg);
        return NULL;
    }
    PyObject *args[] = {msg, d->schema, d->name, pos};
    PyObject *exc = PyObject_Vectorcall(ctx->outdated_schema_error, args, 1,
                                        ctx->kw_outdated);
    Py_DECREF(pos);
    Py_DECREF(msg);
    if (exc != NULL) {
        PyErr_SetObject(ctx->outdated_schema_error, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *
comp_count_mismatch(const PgwCodecCtx *ctx, const PgwDynCodec *d,
                    Py_ssize_t got)
{
    return comp_outdated(
        ctx, d,
        PyUnicode_FromFormat("unexpected number of attributes of composite "
                             "type %U: %zd, expected %zd",
                             d->name, got, d->nfields),
        -1);
}

static PyObject *
comp_oid_mismatch(const PgwCodecCtx *ctx, const PgwDynCodec *d, Py_ssize_t i,
                  uint32_t got)
{
    PyObject *g = comp_oid_repr(got);
    if (g == NULL) {
        return NULL;
    }
    PyObject *msg = PyUnicode_FromFormat(
        "unexpected data type of attribute %zd (%U) of composite type %U: "
        "%U, expected '%s'",
        i, PyTuple_GET_ITEM(d->field_names, i), d->name, g,
        d->fields[i]->name);
    Py_DECREF(g);
    return comp_outdated(ctx, d, msg, i);
}

static PyObject *
comp_field(const PgwCodecCtx *ctx, const PgwDynCodec *d, PgcCur *cur,
           Py_ssize_t i)
{
    uint32_t oid = 0;
    PgcView v;
    if (rec_read_field(&d->codec, cur, i, &oid, &v) < 0) {
        return NULL;
    }
    if (oid != d->field_oids[i]) {
        return comp_oid_mismatch(ctx, d, i, oid);
    }
    return rec_decode_value(ctx, d->fields[i], v);
}

static PyObject *
comp_decode(const PgwCodecCtx *ctx, const PgwDynCodec *d, PgcCur *cur)
{
    Py_ssize_t count;
    if (rec_read_count(&d->codec, cur, &count) < 0) {
        return NULL;
    }
    if (count != d->nfields) {
        return comp_count_mismatch(ctx, d, count);
    }
    PyObject *rec = ctx->record_new(ctx->record_type, d->desc, count);
    if (rec == NULL) {
        return NULL;
    }
    PyObject **items = (PyObject **)((char *)rec + ctx->record_items_offset);
    for (Py_ssize_t i = 0; i < count; i++) {
        items[i] = comp_field(ctx, d, cur, i);
        if (items[i] == NULL) {
            Py_DECREF(rec);
            return NULL;
        }
    }
    if (rec_check_end(&d->codec, cur) < 0) {
        Py_DECREF(rec);
        return NULL;
    }
    ctx->record_done(rec);
    return rec;
}

PyObject *
pgw_composite_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     const uint8_t *p, size_t n)
{
    PgcCur cur = pgc_cur_make(p, n);
    if (Py_EnterRecursiveCall(" while decoding a composite value")) {
        return NULL;
    }
    PyObject *res = comp_decode(ctx, (const PgwDynCodec *)codec, &cur);
    Py_LeaveRecursiveCall();
    return res;
}

/* ------------------------------------------------------------------ */
/* Composite: encode                                                   */
/* ------------------------------------------------------------------ */

/* A key of the mapping that is not a field name: ValueError.  -1. */
static int
comp_unknown_key(const PgwDynCodec *d, PyObject *mapping)
{
    PyObject *it = PyObject_GetIter(mapping), *key;
    if (it == NULL) {
        return -1;
    }
    while ((key = PyIter_Next(it)) != NULL) {
        int has = PyDict_Contains(d->field_index, key);
        if (has <= 0) {
            if (has == 0) {
                PyErr_Format(PyExc_ValueError,
                             "%R is not a valid element of composite type %U",
                             key, d->name);
            }
            Py_DECREF(key);
            Py_DECREF(it);
            return -1;
        }
        Py_DECREF(key);
    }
    Py_DECREF(it);
    if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError,
                     "mapping does not match the fields of composite type "
                     "%U",
                     d->name);
    }
    return -1;
}

/* mapping[name], or None when missing (new reference); *found counts
 * the names present. */
static PyObject *
comp_lookup(PyObject *mapping, PyObject *name, Py_ssize_t *found)
{
    PyObject *v = PyObject_GetItem(mapping, name);
    if (v != NULL) {
        ++*found;
        return v;
    }
    if (!PyErr_ExceptionMatches(PyExc_KeyError)) {
        return NULL;
    }
    PyErr_Clear();
    return Py_NewRef(Py_None);
}

/* The values of a mapping in field order (a new list). */
static PyObject *
comp_from_mapping(const PgwDynCodec *d, PyObject *mapping)
{
    Py_ssize_t found = 0;
    PyObject *list = PyList_New(d->nfields);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < d->nfields; i++) {
        PyObject *v = comp_lookup(mapping, PyTuple_GET_ITEM(d->field_names, i),
                                  &found);
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    Py_ssize_t size = PyObject_Size(mapping);
    if (size < 0 || (size > found && comp_unknown_key(d, mapping) < 0)) {
        Py_DECREF(list);
        return NULL;
    }
    return list;
}

/* The field values of obj as a tuple (or a list of our own) of nfields
 * items (new reference). */
static PyObject *
comp_values(const PgwCodecCtx *ctx, const PgwDynCodec *d, PyObject *obj)
{
    PyObject *seq;
    if (PyTuple_Check(obj)) {
        seq = Py_NewRef(obj);
    }
    else if (PyList_Check(obj) || PyObject_TypeCheck(obj, ctx->record_type)) {
        /* a copy: encoders may run code that mutates a list */
        seq = PySequence_Tuple(obj);
    }
    else {
        int is_map = PyDict_Check(obj)
                         ? 1
                         : PyObject_IsInstance(obj, ctx->mapping_abc);
        if (is_map < 0) {
            return NULL;
        }
        if (!is_map) {
            pgw_codec_type_error("tuple, Mapping or Record", obj);
            return NULL;
        }
        return comp_from_mapping(d, obj);
    }
    if (seq != NULL && PySequence_Fast_GET_SIZE(seq) != d->nfields) {
        PyErr_Format(PyExc_ValueError,
                     "composite type %U has %zd fields, got %zd values",
                     d->name, d->nfields, PySequence_Fast_GET_SIZE(seq));
        Py_CLEAR(seq);
    }
    return seq;
}

static int
comp_encode(const PgwCodecCtx *ctx, const PgwDynCodec *d, PyObject *obj,
            PgcWBuf *buf)
{
    PyObject *seq = comp_values(ctx, d, obj);
    int rc = -1;
    if (seq == NULL || pgw_put_i32(buf, (int32_t)d->nfields) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < d->nfields; i++) {
        PyObject *v = Py_NewRef(PySequence_Fast_GET_ITEM(seq, i));
        int r = pgw_put_i32(buf, (int32_t)d->field_oids[i]);
        if (r == 0) {
            r = v == Py_None ? pgw_put_i32(buf, -1)
                             : pgw_codec_put_value(ctx, d->fields[i], v, buf);
        }
        Py_DECREF(v);
        if (r < 0) {
            goto done;
        }
    }
    rc = 0;
done:
    Py_XDECREF(seq);
    return rc;
}

int
pgw_composite_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     PyObject *obj, PgcWBuf *buf)
{
    if (Py_EnterRecursiveCall(" while encoding a composite value")) {
        return -1;
    }
    int rc = comp_encode(ctx, (const PgwDynCodec *)codec, obj, buf);
    Py_LeaveRecursiveCall();
    return rc;
}
