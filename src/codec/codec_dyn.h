/* codec_dyn.h -- codecs built at run time from catalog information:
 * arrays, composites, enums, domains, ranges and multiranges of any type.
 *
 * A Codec object (the heap type pgwire._pgwire.Codec) owns one PgwCodec,
 * embedded as the first member of a PgwDynCodec, and keeps its child Codec
 * objects alive; pgw_codec_get() gives the PgwCodec to use with the uniform
 * decode/encode signatures of codec.h.  The PgwCodec pointer stays valid as
 * long as the Codec object lives (hold a reference next to the pointer).
 *
 * Nothing here does I/O: the caller reads pg_type/pg_attribute/pg_range
 * (introspection) and builds the codecs bottom-up, children first.  Codec
 * objects are immutable once built and cannot form cycles among
 * themselves (a python codec's callables may refer back to one: the type
 * is GC-aware).
 *
 * Formats: an enum is binary (its binary form is the label text); an array,
 * domain, range or multirange has the format of its element/base/subtype
 * codec, a composite is binary when every field codec is.  A derived codec
 * over a text-format codec (e.g. an unknown extension type) falls back to
 * text I/O as a whole: str both ways, like the text fallback.
 *
 * Decoders check every count and length against the bytes left (ValueError
 * on malformed data) and bound their recursion with Py_EnterRecursiveCall.
 */
#ifndef PGW_CODEC_DYN_H
#define PGW_CODEC_DYN_H

#include "codec.h"

typedef enum {
    PGW_DYN_BUILTIN = 0, /* wraps a static codec of the builtin table */
    PGW_DYN_TEXT,        /* text I/O (str) under a given oid and name */
    PGW_DYN_ARRAY,
    PGW_DYN_COMPOSITE,
    PGW_DYN_ENUM,
    PGW_DYN_DOMAIN,
    PGW_DYN_RANGE,
    PGW_DYN_MULTIRANGE,
    PGW_DYN_PYTHON, /* set_type_codec: Python callables
                            (codec_dyn_py.c) */
    PGW_DYN_ALIAS,  /* set_builtin_type_codec: a builtin or extra codec
                            under another oid and name (codec_dyn_py.c) */
} PgwDynKind;

/* The codec owned by a Codec object.  `codec` must stay the first member:
 * the decode/encode functions cast their `const PgwCodec *` back. */
typedef struct {
    PgwCodec codec;
    PgwDynKind kind;
    PyObject *name;   /* str; codec.name points at its UTF-8 */
    PyObject *schema; /* str or None (composites: error messages) */
    /* array element / domain base / range subtype / multirange range
     * (a Codec object), and its PgwCodec; builtin: sub == NULL and
     * sub_codec is the static codec */
    PyObject *sub;
    const PgwCodec *sub_codec;
    /* composites */
    Py_ssize_t nfields;
    PyObject *field_names;   /* tuple of str */
    PyObject *field_codecs;  /* tuple of Codec */
    PyObject *field_index;   /* dict: name -> index (last duplicate wins) */
    PyObject *desc;          /* RecordDesc shared by the decoded records */
    uint32_t *field_oids;    /* PyMem, nfields: pg_attribute.atttypid */
    const PgwCodec **fields; /* PyMem, nfields */
    /* python: the user's callables (sub_codec is the exchange codec: text,
     * bytea, a tuple converter, or -- with sub set -- a composite) */
    PyObject *py_encoder;
    PyObject *py_decoder;
} PgwDynCodec;

/* Create the Codec heap type, add it to the module as `Codec`, and store
 * a strong reference in *out.  0, or -1 with an exception set. */
int pgw_codec_setup_types(PyObject *module, PyTypeObject **out);

/* The codec of a Codec object (borrowed, valid while the object lives):
 * the static codec for a wrapped builtin, else the owned one.  NULL with
 * TypeError when obj is not a Codec. */
const PgwCodec *pgw_codec_get(PyObject *obj);
/* 1 when obj is a Codec, else 0. */
int pgw_codec_check(PyObject *obj);

/* Constructors: each returns a new Codec object (new reference), or NULL
 * with an exception set.  `type` is the Codec type (ModState.CodecType);
 * names are str; child codecs are Codec objects (borrowed: the new codec
 * takes its own references). */

/* The builtin codec of oid (LookupError when the table has none). */
PyObject *pgw_codec_new_builtin(PyTypeObject *type, uint32_t oid);
/* Text I/O (str both ways) for a type without a binary codec. */
PyObject *pgw_codec_new_text(PyTypeObject *type, uint32_t oid, PyObject *name);
/* Array of elem (codec_array.c); the element oid on the wire must be
 * elem's oid. */
PyObject *pgw_codec_new_array(PyTypeObject *type, uint32_t oid, PyObject *name,
                              PyObject *elem);
/* Composite -> Record (ctx->record_*), from tuple/list/Record (by
 * position) or Mapping (by field name, missing keys -> NULL).
 * field_names: sequence of str; field_oids: sequence of int (the
 * attributes' type oids, checked against the wire); field_codecs: sequence
 * of Codec; all three of the same length.  schema: str or None (the
 * OutdatedSchemaCacheError raised on a count/oid mismatch carries it). */
PyObject *pgw_codec_new_composite(const PgwCodecCtx *ctx, PyTypeObject *type,
                                  uint32_t oid, PyObject *schema,
                                  PyObject *name, PyObject *field_names,
                                  PyObject *field_oids,
                                  PyObject *field_codecs);
/* Enum <-> str (the binary format is the label's text). */
PyObject *pgw_codec_new_enum(PyTypeObject *type, uint32_t oid, PyObject *name);
/* Domain: the values of base, under the domain's oid and name. */
PyObject *pgw_codec_new_domain(PyTypeObject *type, uint32_t oid,
                               PyObject *name, PyObject *base);
/* Range <-> pgwire.types.Range (encode also takes a tuple/list of 0, 1 or
 * 2 bounds, as asyncpg: () empty, (lo,) [lo,), (lo, hi) [lo, hi]; None =
 * infinite). */
PyObject *pgw_codec_new_range(PyTypeObject *type, uint32_t oid, PyObject *name,
                              PyObject *subtype);
/* Multirange <-> list of Range (encode: any sequence of what the range
 * codec accepts).  range: the Codec of the range type. */
PyObject *pgw_codec_new_multirange(PyTypeObject *type, uint32_t oid,
                                   PyObject *name, PyObject *range);

/* ------------------------------------------------------------------ */
/* Custom codecs (codec_dyn_py.c)                                      */
/* ------------------------------------------------------------------ */

/* The exchange formats of set_type_codec(format=...). */
typedef enum {
    PGW_PY_TEXT = 0, /* str <-> decoder/encoder, text on the wire */
    PGW_PY_BINARY,   /* bytes <-> decoder/encoder, binary on the wire */
    PGW_PY_TUPLE,    /* the type's tuple form, binary on the wire */
} PgwPyFormat;

/* A codec calling Python: decode passes the exchange value (str, bytes or
 * tuple) to decoder(), encode sends what encoder() returns.  encoder and
 * decoder: callables (borrowed).  For PGW_PY_TUPLE, base is the Codec
 * whose tuple form is used: a binary composite (its values as a tuple),
 * or a builtin date, time, timetz, timestamp, timestamptz or interval
 * (selected by base's oid); base is ignored (may be NULL) otherwise.
 * ValueError when base has no tuple form. */
PyObject *pgw_codec_new_python(PyTypeObject *type, uint32_t oid,
                               PyObject *name, PyObject *encoder,
                               PyObject *decoder, PgwPyFormat format,
                               PyObject *base);
/* json (oid 114) or jsonb (3802) decoded with loads(str) and encoded
 * from dumps(obj) (str, or UTF-8 bytes-like as orjson and msgspec
 * return), over the builtin codec of oid (jsonb's version byte included);
 * connect(json_decode=True).  ValueError for another oid. */
PyObject *pgw_codec_new_json(PyTypeObject *type, uint32_t oid, PyObject *name,
                             PyObject *dumps, PyObject *loads);
/* target under another oid and name: the codec functions and format of
 * target (a static codec: builtin or pgw_codec_extra), relabelled.
 * format: -1 keeps target's format; PGC_FORMAT_TEXT/BINARY requests one
 * (a binary text-family codec -- text, varchar, json, ... -- can also
 * serve text); ValueError when target cannot serve it. */
PyObject *pgw_codec_new_alias(PyTypeObject *type, uint32_t oid, PyObject *name,
                              const PgwCodec *target, int format);
/* An extra codec by name ("pg_contrib.hstore": binary hstore <->
 * dict[str, str | None]), or NULL (no exception set). */
const PgwCodec *pgw_codec_extra(const char *name);
/* An array of a text-format element codec, in text format (PostgreSQL's
 * array literal <-> nested lists of the element's values). */
PyObject *pgw_codec_new_textarray(PyTypeObject *type, uint32_t oid,
                                  PyObject *name, PyObject *elem);

#endif /* PGW_CODEC_DYN_H */
