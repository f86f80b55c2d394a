/* record.h -- the Record type (a tuple/mapping hybrid, as asyncpg's) and its
 * shared name->index descriptor.
 */
#ifndef PGW_RECORD_H
#define PGW_RECORD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The freelist of exact Records (record.c): one per module state, shared
 * by the descriptors made under it (each holds a reference). */
typedef struct PgwRecordPool PgwRecordPool;

/* One per result: shared by all its rows. */
typedef struct {
    PyObject_HEAD
    PyObject *mapping;   /* dict: name -> int index (last duplicate wins) */
    PyObject *keys;      /* tuple of str, in column order */
    PgwRecordPool *pool; /* where its dead exact Records go, or NULL */
} RecordDescObject;

typedef struct {
    PyObject_VAR_HEAD
    Py_hash_t hash; /* -1 until computed */
    RecordDescObject *desc;
    PyObject *items[1];
} RecordObject;

struct ModState;

/* Create the Record, RecordDesc and iterator heap types and store them in
 * the module state; adds `Record` to the module.  0 or -1. */
int pgw_record_setup_types(PyObject *module, struct ModState *st);

/* The module state's record pool: made by pgw_record_setup_types, let go
 * by pgw_record_pool_release (module clear: the records it keeps are
 * freed, and no more are kept; it lives on while descriptors use it). */
void pgw_record_pool_release(struct ModState *st);

/* New descriptor from a tuple of str (new reference). */
PyObject *pgw_record_desc_new(struct ModState *st, PyObject *names);

/* New record of `type` (Record or a subclass) with n NULL items (new
 * reference, not yet GC-tracked when type is exactly Record; fill every item
 * with PGW_RECORD_SET, then call pgw_record_done, which may be skipped when
 * no item is a GC object).  desc is borrowed (the record takes its own
 * reference). */
PyObject *pgw_record_new(PyTypeObject *type, PyObject *desc, Py_ssize_t n);
/* The same with the items of an exact Record left uninitialised: the
 * caller sets every one (NULL for those it could not make) before the
 * record can be released or seen.  The row decoder's; saves a memset. */
PyObject *pgw_record_new_unset(PyTypeObject *type, PyObject *desc,
                               Py_ssize_t n);
void pgw_record_done(PyObject *rec);
/* 1 with InterfaceError set if the Record subclass rc defines __new__ or
 * __init__ (records are built without calling them, so asyncpg refuses
 * such a class); 0 if not. */
int pgw_record_class_redefines_init(struct ModState *st, PyTypeObject *rc);

/* Steals v. */
#define PGW_RECORD_SET(rec, i, v) (((RecordObject *)(rec))->items[(i)] = (v))

#endif /* PGW_RECORD_H */
