/* ext.h -- cross-file declarations of the CPython binding. */
#ifndef PGW_EXT_H
#define PGW_EXT_H

#include "state.h"

/* protocol.c: Protocol, ConnectionCore, Op and Statement types. */
int pgw_protocol_setup_types(PyObject *module, ModState *st);

/* codec_make.c: the module functions that build Codec objects, one per
 * kind (builtin_codec, has_builtin_codec, text_codec, enum_codec,
 * array_codec, text_array_codec, domain_codec, range_codec,
 * multirange_codec, composite_codec, python_codec, alias_codec,
 * json_codec); module_exec adds them.  Signatures: pgwire/_pgwire.pyi. */
extern PyMethodDef pgw_codec_make_methods[];

/* codec_debug.c: test hooks, in the module only when the extension is
 * built with PGWIRE_TEST_HOOKS=1 (setup.py; `make so` and the test builds
 * set it, a wheel leaves them out):
 *   _codec_decode(oid: int, data: bytes) -> object
 *   _codec_encode(oid: int, obj) -> bytes
 *   _codec_format(oid: int) -> 0/1, or None for an unknown oid
 *   _make_record(names: tuple, values: tuple, record_class=None) -> Record
 *   _codec_decode_with(codec, data: bytes) -> object
 *   _codec_encode_with(codec, obj) -> bytes
 *   _codec_format_of(codec) -> 0/1 */
PyObject *pgw_codec_debug_decode(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
PyObject *pgw_codec_debug_encode(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
PyObject *pgw_codec_debug_format(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
PyObject *pgw_codec_debug_make_record(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);
PyObject *pgw_codec_debug_decode_with(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);
PyObject *pgw_codec_debug_encode_with(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);
PyObject *pgw_codec_debug_format_of(PyObject *module, PyObject *const *args,
                                    Py_ssize_t nargs);

#ifdef PGWIRE_TEST_HOOKS
#define PGW_CODEC_DEBUG_METHODS                                              \
    {"_codec_decode", (PyCFunction)(void (*)(void))pgw_codec_debug_decode,   \
     METH_FASTCALL, "Decode bytes with the codec of a type oid (tests)."},   \
        {"_codec_encode",                                                    \
         (PyCFunction)(void (*)(void))pgw_codec_debug_encode, METH_FASTCALL, \
         "Encode an object with the codec of a type oid."},                  \
        {"_codec_format",                                                    \
         (PyCFunction)(void (*)(void))pgw_codec_debug_format, METH_FASTCALL, \
         "Wire format of the codec of a type oid."},                         \
        {"_make_record",                                                     \
         (PyCFunction)(void (*)(void))pgw_codec_debug_make_record,           \
         METH_FASTCALL, "Build a Record from names and values (tests)."},    \
        {"_codec_decode_with",                                               \
         (PyCFunction)(void (*)(void))pgw_codec_debug_decode_with,           \
         METH_FASTCALL, "Decode bytes with a Codec (tests)."},               \
        {"_codec_encode_with",                                               \
         (PyCFunction)(void (*)(void))pgw_codec_debug_encode_with,           \
         METH_FASTCALL, "Encode an object with a Codec (tests)."},           \
        {"_codec_format_of",                                                 \
         (PyCFunction)(void (*)(void))pgw_codec_debug_format_of,             \
         METH_FASTCALL, "Wire format of a Codec (tests)."},
#else
#define PGW_CODEC_DEBUG_METHODS
#endif

/* A tuple of n new references to items (PyTuple_FromArray, public only
 * from CPython 3.14 on). */
static inline PyObject *
pgw_tuple_from_array(PyObject *const *items, Py_ssize_t n)
{
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(t, i, Py_NewRef(items[i]));
    }
    return t;
}

#endif /* PGW_EXT_H */
