/* codec_dyn_priv.h -- what codec_dyn.c lends to the files that add
 * constructors of their own (codec_dyn_py.c).  Private to src/codec.
 */
#ifndef PGW_CODEC_DYN_PRIV_H
#define PGW_CODEC_DYN_PRIV_H

#include "codec_dyn.h"
#include "codec_internal.h"

/* A new, not yet GC-tracked Codec of `kind` with its oid and name set and
 * the text I/O codec functions (new reference), or NULL with an exception
 * set.  Finish with pgw_codec_dyn_done (tracks it, returns it) or
 * pgw_codec_dyn_fail (drops it, returns NULL). */
PyObject *pgw_codec_dyn_alloc(PyTypeObject *type, PgwDynKind kind,
                              uint32_t oid, PyObject *name);
PyObject *pgw_codec_dyn_done(PyObject *self);
PyObject *pgw_codec_dyn_fail(PyObject *self);
/* The PgwDynCodec of a Codec (borrowed), or NULL (no exception set) when
 * obj is not a Codec. */
PgwDynCodec *pgw_codec_dyn(PyObject *obj);
/* sub becomes self's child (dyn.sub, a new reference, and dyn.sub_codec):
 * 0, or -1 with TypeError when sub is not a Codec. */
int pgw_codec_dyn_set_sub(PyObject *self, PyObject *sub);

/* codec_hstore.c: the extra codec pg_contrib.hstore (binary, dict) */
PGW_DECL_CODEC(hstore);

#endif /* PGW_CODEC_DYN_PRIV_H */
