/* codec_debug.c -- module-level test hooks: run one codec on bytes or an
 * object, and build a Record from Python.  Not public API.
 *
 * Oid 0 selects the text fallback codec.  Decode copies the input into a
 * buffer of exactly its size first, so that a sanitizer build catches any
 * read past the end.
 */
#include "ext.h"
#include "record.h"
#include "../codec/codec_dyn.h"
#include "../core/pgc_msg.h"

/* The codec of args[0] (an oid), or NULL: with an exception set when
 * `required`, silently otherwise. */
static const PgwCodec *
debug_codec(PyObject *arg, int required)
{
    unsigned long oid = PyLong_AsUnsignedLong(arg);
    if (oid == (unsigned long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    if (oid > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "oid out of range");
        return NULL;
    }
    const PgwCodec *c = oid == 0 ? pgw_codec_text_fallback()
                                 : pgw_codec_builtin((uint32_t)oid);
    if (c == NULL && required) {
        PyErr_Format(PyExc_LookupError, "no codec for oid %lu", oid);
    }
    return c;
}

static int
debug_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t lo, Py_ssize_t hi)
{
    if (nargs < lo || nargs > hi) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes %zd to %zd arguments (%zd given)", name, lo,
                     hi, nargs);
        return -1;
    }
    return 0;
}

/* Decode a copy of the bytes-like data (exactly its size, so that a
 * sanitizer build catches any read past the end). */
static PyObject *
debug_decode_with(PyObject *module, const PgwCodec *c, PyObject *data)
{
    Py_buffer view;
    PyObject *res;

    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    uint8_t *copy = PyMem_Malloc(view.len ? (size_t)view.len : 1);
    if (copy == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    memcpy(copy, view.buf, (size_t)view.len);
    res = c->decode(&pgw_get_state(module)->codec, c, copy, (size_t)view.len);
    PyMem_Free(copy);
    PyBuffer_Release(&view);
    return res;
}

static PyObject *
debug_encode_with(PyObject *module, const PgwCodec *c, PyObject *obj)
{
    PgcWBuf buf;
    PyObject *res = NULL;

    if (c->encode == NULL) { /* a decode-only type */
        PyErr_Format(PyExc_TypeError, "no encoder for type %s", c->name);
        return NULL;
    }
    pgc_wbuf_init(&buf);
    if (c->encode(&pgw_get_state(module)->codec, c, obj, &buf) == 0) {
        res = PyBytes_FromStringAndSize((const char *)buf.data,
                                        (Py_ssize_t)buf.len);
    }
    pgc_wbuf_free(&buf);
    return res;
}

PyObject *
pgw_codec_debug_decode(PyObject *module, PyObject *const *args,
                       Py_ssize_t nargs)
{
    const PgwCodec *c;

    if (debug_nargs("_codec_decode", nargs, 2, 2) < 0 ||
        (c = debug_codec(args[0], 1)) == NULL) {
        return NULL;
    }
    return debug_decode_with(module, c, args[1]);
}

PyObject *
pgw_codec_debug_encode(PyObject *module, PyObject *const *args,
                       Py_ssize_t nargs)
{
    const PgwCodec *c;

    if (debug_nargs("_codec_encode", nargs, 2, 2) < 0 ||
        (c = debug_codec(args[0], 1)) == NULL) {
        return NULL;
    }
    return debug_encode_with(module, c, args[1]);
}

PyObject *
pgw_codec_debug_format(PyObject *module, PyObject *const *args,
                       Py_ssize_t nargs)
{
    (void)module;
    if (debug_nargs("_codec_format", nargs, 1, 1) < 0) {
        return NULL;
    }
    const PgwCodec *c = debug_codec(args[0], 0);
    if (c == NULL) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    return PyLong_FromLong(c->format);
}

/* _make_record(names: tuple, values: tuple, record_class=None) */
PyObject *
pgw_codec_debug_make_record(PyObject *module, PyObject *const *args,
                            Py_ssize_t nargs)
{
    ModState *st = pgw_get_state(module);
    PyTypeObject *type = st->RecordType;

    if (debug_nargs("_make_record", nargs, 2, 3) < 0) {
        return NULL;
    }
    if (nargs == 3 && args[2] != Py_None) {
        if (!PyType_Check(args[2]) ||
            !PyType_IsSubtype((PyTypeObject *)args[2], st->RecordType)) {
            PyErr_SetString(PyExc_TypeError,
                            "record_class must be a subclass of Record");
            return NULL;
        }
        type = (PyTypeObject *)args[2];
    }
    if (!PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "values must be a tuple");
        return NULL;
    }
    PyObject *desc = pgw_record_desc_new(st, args[0]);
    if (desc == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(args[1]);
    PyObject *rec = pgw_record_new(type, desc, n);
    Py_DECREF(desc);
    if (rec == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PGW_RECORD_SET(rec, i, Py_NewRef(PyTuple_GET_ITEM(args[1], i)));
    }
    pgw_record_done(rec);
    return rec;
}

/* ------------------------------------------------------------------ */
/* Codecs built at run time (src/codec/codec_dyn.c)                    */
/* ------------------------------------------------------------------ */

/* An oid argument: 0, or -1 with an exception set. */
static int
debug_oid(PyObject *arg, uint32_t *oid)
{
    unsigned long v = PyLong_AsUnsignedLong(arg);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    if (v > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "oid out of range");
        return -1;
    }
    *oid = (uint32_t)v;
    return 0;
}

/* info[key] (borrowed), or NULL: with TypeError when required. */
static PyObject *
debug_info(PyObject *info, const char *key, int required, int *used)
{
    PyObject *v = info ? PyDict_GetItemString(info, key) : NULL;
    if (v != NULL) {
        ++*used;
    }
    else if (required) {
        PyErr_Format(PyExc_TypeError, "_codec_make(): missing %s=", key);
    }
    return v;
}

static PyObject *
debug_make_composite(ModState *st, uint32_t oid, PyObject *name,
                     PyObject *info, int *used)
{
    PyObject *names = debug_info(info, "names", 1, used);
    PyObject *oids = names ? debug_info(info, "oids", 1, used) : NULL;
    PyObject *codecs = oids ? debug_info(info, "codecs", 1, used) : NULL;
    PyObject *schema = debug_info(info, "schema", 0, used);
    if (codecs == NULL) {
        return NULL;
    }
    return pgw_codec_new_composite(&st->codec, st->CodecType, oid, schema,
                                   name, names, oids, codecs);
}

/* A constructor taking one child codec, found under info[key]. */
typedef PyObject *(*DebugMakeChild)(PyTypeObject *type, uint32_t oid,
                                    PyObject *name, PyObject *child);

static PyObject *
debug_make_child(ModState *st, DebugMakeChild make, const char *key,
                 uint32_t oid, PyObject *name, PyObject *info, int *used)
{
    PyObject *child = debug_info(info, key, 1, used);
    return child ? make(st->CodecType, oid, name, child) : NULL;
}

/* ------------------------------------------------------------------ */
/* Custom codecs (src/codec/codec_dyn_py.c)                            */
/* ------------------------------------------------------------------ */

/* A format keyword: absent or None -> dflt; else one of `names` (its
 * index).  -2 with ValueError/TypeError set on anything else. */
static int
debug_format(PyObject *info, const char *const *names, int nnames, int dflt,
             int *used)
{
    PyObject *f = debug_info(info, "format", 0, used);
    if (f == NULL || f == Py_None) {
        return dflt;
    }
    const char *s = PyUnicode_Check(f) ? PyUnicode_AsUTF8(f) : NULL;
    for (int i = 0; s != NULL && i < nnames; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "_codec_make(): invalid format %R",
                     f);
    }
    return -2;
}

/* python: encoder=, decoder=, format='text'|'binary'|'tuple', base= */
static PyObject *
debug_make_python(ModState *st, uint32_t oid, PyObject *name,
                  PyObject *info, int *used)
{
    static const char *const names[] = {"text", "binary", "tuple"};
    PyObject *enc = debug_info(info, "encoder", 1, used);
    PyObject *dec = enc ? debug_info(info, "decoder", 1, used) : NULL;
    PyObject *base = debug_info(info, "base", 0, used);
    int fmt = debug_format(info, names, 3, PGW_PY_TEXT, used);
    if (dec == NULL || fmt < 0) {
        return NULL;
    }
    return pgw_codec_new_python(st->CodecType, oid, name, enc, dec,
                                (PgwPyFormat)fmt, base);
}

/* alias: target=<builtin oid> | <extra codec name>, format=None|'text'|
 * 'binary' */
static PyObject *
debug_make_alias(ModState *st, uint32_t oid, PyObject *name,
                 PyObject *info, int *used)
{
    static const char *const names[] = {"text", "binary"};
    PyObject *t = debug_info(info, "target", 1, used);
    int fmt = debug_format(info, names, 2, -1, used);
    const PgwCodec *target = NULL;
    uint32_t toid;
    if (t == NULL || fmt == -2) {
        return NULL;
    }
    if (PyUnicode_Check(t)) {
        const char *s = PyUnicode_AsUTF8(t);
        if (s == NULL) {
            return NULL;
        }
        target = pgw_codec_extra(s);
    }
    else if (debug_oid(t, &toid) == 0) {
        target = pgw_codec_builtin(toid);
    }
    else {
        return NULL;
    }
    if (target == NULL) {
        PyErr_Format(PyExc_LookupError, "no codec %R", t);
        return NULL;
    }
    fmt = fmt == 0 ? PGC_FORMAT_TEXT : fmt == 1 ? PGC_FORMAT_BINARY : -1;
    return pgw_codec_new_alias(st->CodecType, oid, name, target, fmt);
}

static PyObject *
debug_make_custom(ModState *st, const char *kind, uint32_t oid,
                  PyObject *name, PyObject *info, int *used)
{
    if (strcmp(kind, "python") == 0) {
        return debug_make_python(st, oid, name, info, used);
    }
    if (strcmp(kind, "alias") == 0) {
        return debug_make_alias(st, oid, name, info, used);
    }
    if (strcmp(kind, "json") == 0) {
        PyObject *enc = debug_info(info, "encoder", 1, used);
        PyObject *dec = enc ? debug_info(info, "decoder", 1, used) : NULL;
        return dec ? pgw_codec_new_json(st->CodecType, oid, name, enc, dec)
                   : NULL;
    }
    if (strcmp(kind, "textarray") == 0) {
        return debug_make_child(st, pgw_codec_new_textarray, "elem", oid,
                                name, info, used);
    }
    PyErr_Format(PyExc_ValueError, "_codec_make(): unknown kind %s", kind);
    return NULL;
}

static PyObject *
debug_make_kind(ModState *st, const char *kind, uint32_t oid,
                PyObject *name, PyObject *info, int *used)
{
    PyTypeObject *tp = st->CodecType;
    if (strcmp(kind, "builtin") == 0) {
        return pgw_codec_new_builtin(tp, oid);
    }
    if (name == Py_None) {
        PyErr_Format(PyExc_TypeError, "_codec_make(): %s needs a name",
                     kind);
        return NULL;
    }
    if (strcmp(kind, "text") == 0) {
        return pgw_codec_new_text(tp, oid, name);
    }
    if (strcmp(kind, "enum") == 0) {
        return pgw_codec_new_enum(tp, oid, name);
    }
    if (strcmp(kind, "composite") == 0) {
        return debug_make_composite(st, oid, name, info, used);
    }
    if (strcmp(kind, "array") == 0) {
        return debug_make_child(st, pgw_codec_new_array, "elem", oid, name,
                                info, used);
    }
    if (strcmp(kind, "domain") == 0) {
        return debug_make_child(st, pgw_codec_new_domain, "base", oid, name,
                                info, used);
    }
    if (strcmp(kind, "range") == 0) {
        return debug_make_child(st, pgw_codec_new_range, "subtype", oid,
                                name, info, used);
    }
    if (strcmp(kind, "multirange") == 0) {
        return debug_make_child(st, pgw_codec_new_multirange, "range", oid,
                                name, info, used);
    }
    return debug_make_custom(st, kind, oid, name, info, used);
}

/* _codec_make(kind, oid, name=None, **info) */
PyObject *
pgw_codec_debug_make(PyObject *module, PyObject *args, PyObject *kwargs)
{
    const char *kind;
    PyObject *oid_obj, *name = Py_None;
    uint32_t oid;
    int used = 0;

    if (!PyArg_ParseTuple(args, "sO|O:_codec_make", &kind, &oid_obj,
                          &name) ||
        debug_oid(oid_obj, &oid) < 0) {
        return NULL;
    }
    PyObject *res = debug_make_kind(pgw_get_state(module), kind, oid, name,
                                    kwargs, &used);
    if (res != NULL && kwargs != NULL && used != PyDict_GET_SIZE(kwargs)) {
        Py_DECREF(res);
        PyErr_Format(PyExc_TypeError,
                     "_codec_make(): unexpected keyword for kind %s", kind);
        return NULL;
    }
    return res;
}

PyObject *
pgw_codec_debug_decode_with(PyObject *module, PyObject *const *args,
                            Py_ssize_t nargs)
{
    const PgwCodec *c;

    if (debug_nargs("_codec_decode_with", nargs, 2, 2) < 0 ||
        (c = pgw_codec_get(args[0])) == NULL) {
        return NULL;
    }
    return debug_decode_with(module, c, args[1]);
}

PyObject *
pgw_codec_debug_encode_with(PyObject *module, PyObject *const *args,
                            Py_ssize_t nargs)
{
    const PgwCodec *c;

    if (debug_nargs("_codec_encode_with", nargs, 2, 2) < 0 ||
        (c = pgw_codec_get(args[0])) == NULL) {
        return NULL;
    }
    return debug_encode_with(module, c, args[1]);
}

PyObject *
pgw_codec_debug_format_of(PyObject *module, PyObject *const *args,
                          Py_ssize_t nargs)
{
    const PgwCodec *c;

    (void)module;
    if (debug_nargs("_codec_format_of", nargs, 1, 1) < 0 ||
        (c = pgw_codec_get(args[0])) == NULL) {
        return NULL;
    }
    return PyLong_FromLong(c->format);
}
