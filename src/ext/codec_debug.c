/* codec_debug.c -- module-level test hooks: run one codec on bytes or an
 * object, and build a Record from Python.  Not public API: in the module
 * only when built with PGWIRE_TEST_HOOKS=1 (ext.h, setup.py).
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
/* Run a Codec object (built by codec_make.c)                          */
/* ------------------------------------------------------------------ */

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
