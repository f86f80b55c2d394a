/* ext.h -- cross-file declarations of the CPython binding. */
#ifndef PGW_EXT_H
#define PGW_EXT_H

#include "state.h"

/* protocol.c: Protocol, ConnectionCore, Op and Statement types. */
int pgw_protocol_setup_types(PyObject *module, ModState *st);

/* codec_debug.c: module-level functions that run one codec, for tests:
 *   _codec_decode(oid: int, data: bytes) -> object
 *   _codec_encode(oid: int, obj) -> bytes
 *   _codec_format(oid: int) -> 0/1, or None for an unknown oid */
PyObject *pgw_codec_debug_decode(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
PyObject *pgw_codec_debug_encode(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
PyObject *pgw_codec_debug_format(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
/*   _make_record(names: tuple, values: tuple, record_class=None) -> Record */
PyObject *pgw_codec_debug_make_record(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);

/* Codecs built at run time (src/codec/codec_dyn.h):
 *   _codec_make(kind: str, oid: int, name: str = None, **info) -> Codec
 *     kind builtin (no name), text, enum, array (elem=Codec), domain
 *     (base=Codec), range (subtype=Codec), multirange (range=Codec),
 *     composite (names=seq of str, oids=seq of int, codecs=seq of Codec,
 *     schema=str|None); custom codecs (Connection.set_type_codec & co.):
 *     python (encoder=, decoder=, format='text'|'binary'|'tuple',
 *     base=Codec for 'tuple'), alias (target=builtin oid or
 *     'pg_contrib.hstore', format=None|'text'|'binary'), json
 *     (oid 114 or 3802; encoder=dumps, decoder=loads), textarray
 *     (elem=Codec: an array in text format when elem is text format)
 *   _codec_decode_with(codec, data: bytes) -> object
 *   _codec_encode_with(codec, obj) -> bytes
 *   _codec_format_of(codec) -> 0/1 */
PyObject *pgw_codec_debug_make(PyObject *module, PyObject *args,
                               PyObject *kwargs);
PyObject *pgw_codec_debug_decode_with(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);
PyObject *pgw_codec_debug_encode_with(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);
PyObject *pgw_codec_debug_format_of(PyObject *module, PyObject *const *args,
                                    Py_ssize_t nargs);

#define PGW_CODEC_DEBUG_METHODS                                            \
    {"_codec_decode", (PyCFunction)(void (*)(void))pgw_codec_debug_decode, \
     METH_FASTCALL, "Decode bytes with the codec of a type oid (tests)."}, \
    {"_codec_encode", (PyCFunction)(void (*)(void))pgw_codec_debug_encode, \
     METH_FASTCALL, "Encode an object with the codec of a type oid."},     \
    {"_codec_format", (PyCFunction)(void (*)(void))pgw_codec_debug_format, \
     METH_FASTCALL, "Wire format of the codec of a type oid."},            \
    {"_make_record",                                                       \
     (PyCFunction)(void (*)(void))pgw_codec_debug_make_record, METH_FASTCALL, \
     "Build a Record from names and values (tests)."},                  \
    {"_codec_make", (PyCFunction)(void (*)(void))pgw_codec_debug_make,    \
     METH_VARARGS | METH_KEYWORDS, "Build a Codec (tests)."},              \
    {"_codec_decode_with",                                                 \
     (PyCFunction)(void (*)(void))pgw_codec_debug_decode_with,             \
     METH_FASTCALL, "Decode bytes with a Codec (tests)."},                 \
    {"_codec_encode_with",                                                 \
     (PyCFunction)(void (*)(void))pgw_codec_debug_encode_with,             \
     METH_FASTCALL, "Encode an object with a Codec (tests)."},             \
    {"_codec_format_of",                                                   \
     (PyCFunction)(void (*)(void))pgw_codec_debug_format_of, METH_FASTCALL, \
     "Wire format of a Codec (tests)."},

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
