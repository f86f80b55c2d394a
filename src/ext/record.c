/* record.c -- the Record type, its shared descriptor and its iterators.
 *
 * A Record is an immutable tuple/mapping hybrid, as asyncpg's: integer and
 * slice indexing, lookup by column name, iteration over values, `in` over
 * names, and hashing and comparison like a tuple of its values.  All rows
 * of one result share a RecordDesc (name -> index dict plus the names).
 *
 * Ownership: a record owns its items and one reference to its descriptor.
 * The descriptor holds only exact str names and int indexes, so it can
 * never take part in a reference cycle: it has no tp_clear, the record's
 * tp_clear drops only the items, and the descriptor stays valid until the
 * record's dealloc.  Accessors treat an item cleared by the GC as None.
 * Dead exact Records are kept for reuse in a per-module-state pool (see
 * "The freelist of exact Records").
 */
#include "record.h"
#include "state.h"

/* Items of a record, for tuple-like code that works on either. */
#define REC(o) ((RecordObject *)(o))

static inline PyObject *
rec_item(RecordObject *r, Py_ssize_t i)
{
    PyObject *v = r->items[i];
    return v ? v : Py_None;
}

/* The module state, reached through the descriptor's exact type. */
static inline ModState *
rec_state(RecordObject *r)
{
    return (ModState *)PyType_GetModuleState(Py_TYPE(r->desc));
}

/* ------------------------------------------------------------------ */
/* The freelist of exact Records                                       */
/* ------------------------------------------------------------------ */

/* Rows die by the thousand (a fetch's list) and the next fetch makes as
 * many of the same width: a dead exact Record of 1..POOL_SIZES items is
 * kept (up to POOL_MAX per width, as CPython keeps tuples) and given to
 * the next record of its width without malloc, free, or a count towards
 * the cyclic GC's next collection.  A kept record holds nothing: no
 * items, no descriptor, no reference to its type (PyObject_InitVar takes
 * one again).  Only Record's own layout is kept or reused
 * (plain_record_type: a record_class made in Python has subtype_dealloc),
 * and PyObject_InitVar gives a reused record the class asked for.
 *
 * The pool belongs to one module state (so to one interpreter) and is
 * reached through the descriptor, which every record holds until its
 * dealloc: no module lookup on the hot paths, and no use of a module
 * state that is gone.  The module state and each descriptor hold a
 * reference; the module's clear drains the pool and closes it. */
#define POOL_SIZES 16
#define POOL_MAX 2000

struct PgwRecordPool {
    Py_ssize_t refs;
    int open;                       /* 0: keep nothing more */
    int nfree[POOL_SIZES];          /* by width - 1 */
    RecordObject *free[POOL_SIZES]; /* linked through items[0] */
};

static void
pool_drain(PgwRecordPool *pool)
{
    for (int k = 0; k < POOL_SIZES; k++) {
        while (pool->free[k] != NULL) {
            RecordObject *r = pool->free[k];
            pool->free[k] = (RecordObject *)r->items[0];
            PyObject_GC_Del(r);
        }
        pool->nfree[k] = 0;
    }
}

static void
pool_decref(PgwRecordPool *pool)
{
    if (pool != NULL && --pool->refs == 0) {
        pool_drain(pool);
        PyMem_Free(pool);
    }
}

void
pgw_record_pool_release(struct ModState *st)
{
    PgwRecordPool *pool = st->record_pool;
    if (pool != NULL) {
        st->record_pool = NULL;
        pool->open = 0;
        pool_drain(pool);
        pool_decref(pool);
    }
}

static void record_dealloc(RecordObject *self);

/* Records of this type are Record's own layout and life cycle: Record
 * itself (or a C subclass that changes neither), never a class made in
 * Python (subtype_dealloc) or one with extra storage. */
#if defined(Py_TPFLAGS_MANAGED_WEAKREF)
#define PREHEADER_FLAGS (Py_TPFLAGS_MANAGED_DICT | Py_TPFLAGS_MANAGED_WEAKREF)
#else
#define PREHEADER_FLAGS Py_TPFLAGS_MANAGED_DICT
#endif

static inline int
plain_record_type(PyTypeObject *tp)
{
    return tp->tp_dealloc == (destructor)record_dealloc &&
           tp->tp_basicsize == (Py_ssize_t)offsetof(RecordObject, items) &&
           tp->tp_itemsize == (Py_ssize_t)sizeof(PyObject *) &&
           !(tp->tp_flags & PREHEADER_FLAGS);
}

/* Keep r (dead, untracked, holding nothing) if there is room: 1 if kept. */
static inline int
pool_keep(PgwRecordPool *pool, RecordObject *r)
{
    Py_ssize_t n = Py_SIZE(r);
    if (pool == NULL || !pool->open || n < 1 || n > POOL_SIZES ||
        pool->nfree[n - 1] >= POOL_MAX) {
        return 0;
    }
    r->items[0] = (PyObject *)pool->free[n - 1];
    pool->free[n - 1] = r;
    pool->nfree[n - 1]++;
    return 1;
}

/* A kept record of n items made a new object of type, or NULL. */
static inline RecordObject *
pool_take(PgwRecordPool *pool, PyTypeObject *type, Py_ssize_t n)
{
    if (pool == NULL || n < 1 || n > POOL_SIZES || pool->free[n - 1] == NULL) {
        return NULL;
    }
    RecordObject *r = pool->free[n - 1];
    pool->free[n - 1] = (RecordObject *)r->items[0];
    pool->nfree[n - 1]--;
    (void)PyObject_InitVar((PyVarObject *)r, type, n);
    return r;
}

/* ------------------------------------------------------------------ */
/* RecordDesc                                                          */
/* ------------------------------------------------------------------ */

static int
desc_traverse(RecordDescObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->mapping);
    Py_VISIT(self->keys);
    return 0;
}

/* Not registered as tp_clear: a descriptor holds only exact str and int
 * objects, so it can never be part of a cycle, and the records that share
 * it read it until their own dealloc (tuple has no tp_clear for the same
 * reason).  Used by dealloc only. */
static void
desc_release(RecordDescObject *self)
{
    Py_CLEAR(self->mapping);
    Py_CLEAR(self->keys);
}

static void
desc_dealloc(RecordDescObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    desc_release(self);
    pool_decref(self->pool);
    self->pool = NULL;
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot desc_slots[] = {
    {Py_tp_traverse, desc_traverse},
    {Py_tp_dealloc, desc_dealloc},
    {0, NULL},
};

static PyType_Spec desc_spec = {
    .name = "pgwire.RecordDescriptor",
    .basicsize = sizeof(RecordDescObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = desc_slots,
};

/* name -> index dict (last duplicate wins).  New reference. */
static PyObject *
desc_build_mapping(PyObject *names)
{
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    PyObject *mapping = PyDict_New();
    if (mapping == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_CheckExact(name)) {
            PyErr_Format(PyExc_TypeError,
                         "record names must be str, got %.100s",
                         Py_TYPE(name)->tp_name);
            goto error;
        }
        PyObject *idx = PyLong_FromSsize_t(i);
        if (idx == NULL) {
            goto error;
        }
        int rc = PyDict_SetItem(mapping, name, idx);
        Py_DECREF(idx);
        if (rc < 0) {
            goto error;
        }
    }
    return mapping;
error:
    Py_DECREF(mapping);
    return NULL;
}

/* New reference.  names: a tuple of exact str. */
PyObject *
pgw_record_desc_new(struct ModState *st, PyObject *names)
{
    if (!PyTuple_Check(names)) {
        PyErr_Format(PyExc_TypeError,
                     "record names must be a tuple, got %.100s",
                     Py_TYPE(names)->tp_name);
        return NULL;
    }
    PyObject *mapping = desc_build_mapping(names);
    if (mapping == NULL) {
        return NULL;
    }
    RecordDescObject *d = PyObject_GC_New(RecordDescObject,
                                          st->RecordDescType);
    if (d == NULL) {
        Py_DECREF(mapping);
        return NULL;
    }
    PGW_ZERO_FIELDS(d, RecordDescObject);
    d->mapping = mapping;
    d->keys = Py_NewRef(names);
    d->pool = st->record_pool;
    if (d->pool != NULL) {
        d->pool->refs++;
    }
    PyObject_GC_Track(d);
    return (PyObject *)d;
}

/* ------------------------------------------------------------------ */
/* Record: allocation, GC                                              */
/* ------------------------------------------------------------------ */

/* New reference; see record.h.  Exact Record: allocated untracked, items
 * uninitialised.  Subclasses: allocated by tp_alloc (zeroed, already
 * tracked). */
PyObject *
pgw_record_new_unset(PyTypeObject *type, PyObject *desc, Py_ssize_t n)
{
    RecordDescObject *d = (RecordDescObject *)desc;
    RecordObject *r;

    if (n < 0 || n != PyTuple_GET_SIZE(d->keys)) {
        PyErr_Format(PyExc_ValueError,
                     "record of %zd items for a descriptor of %zd names", n,
                     PyTuple_GET_SIZE(d->keys));
        return NULL;
    }
    if (type->tp_dealloc == (destructor)record_dealloc) {
        r = plain_record_type(type) ? pool_take(d->pool, type, n) : NULL;
        if (r == NULL) {
            r = PyObject_GC_NewVar(RecordObject, type, n);
        }
    }
    else {
        r = (RecordObject *)type->tp_alloc(type, n);
    }
    if (r == NULL) {
        return NULL;
    }
    r->hash = -1;
    r->desc = (RecordDescObject *)Py_NewRef(desc);
    return (PyObject *)r;
}

PyObject *
pgw_record_new(PyTypeObject *type, PyObject *desc, Py_ssize_t n)
{
    PyObject *r = pgw_record_new_unset(type, desc, n);
    if (r != NULL) {
        memset(((RecordObject *)r)->items, 0, (size_t)n * sizeof(PyObject *));
    }
    return r;
}

/* Could v take part in a reference cycle?  Immutable containers that the
 * GC does not track (tuples and records holding only atomic values) cannot;
 * any other GC-capable object can. */
static inline int
item_may_be_tracked(PyObject *v, PyTypeObject *record_type)
{
    if (!PyObject_IS_GC(v)) {
        return 0;
    }
    if (PyTuple_CheckExact(v) || Py_IS_TYPE(v, record_type)) {
        return PyObject_GC_IsTracked(v);
    }
    return 1;
}

/* An exact Record is immutable, so if none of its items can be part of a
 * cycle it never can be either: leave it untracked, as CPython does for
 * such tuples.  Rows of ints, strs, Decimals, dates... then cost the cyclic
 * GC nothing (no traversal, no promotion to older generations). */
void
pgw_record_done(PyObject *rec)
{
    if (PyObject_GC_IsTracked(rec)) {
        return; /* a subclass instance: tp_alloc tracked it */
    }
    RecordObject *r = (RecordObject *)rec;
    PyTypeObject *tp = Py_TYPE(rec);
    for (Py_ssize_t i = 0; i < Py_SIZE(r); i++) {
        if (item_may_be_tracked(r->items[i], tp)) {
            PyObject_GC_Track(rec);
            return;
        }
    }
}

static int
record_traverse(RecordObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->desc);
    for (Py_ssize_t i = Py_SIZE(self); --i >= 0;) {
        Py_VISIT(self->items[i]);
    }
    return 0;
}

/* Drops the items only (the descriptor cannot be part of a cycle). */
static int
record_clear(RecordObject *self)
{
    for (Py_ssize_t i = Py_SIZE(self); --i >= 0;) {
        Py_CLEAR(self->items[i]);
    }
    return 0;
}

/* An exact Record goes to its descriptor's pool when there is room
 * (before the descriptor is released: the pool outlives it only through
 * the module state's reference, which an open pool has). */
static void
record_dealloc(RecordObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)record_clear(self);
    RecordDescObject *d = self->desc;
    self->desc = NULL;
    int kept = d != NULL && plain_record_type(tp) && pool_keep(d->pool, self);
    Py_XDECREF(d);
    if (!kept) {
        tp->tp_free(self);
    }
    Py_DECREF(tp);
}

/* ------------------------------------------------------------------ */
/* Record: sequence and mapping                                        */
/* ------------------------------------------------------------------ */

static Py_ssize_t
record_length(RecordObject *self)
{
    return Py_SIZE(self);
}

static PyObject *
record_item(RecordObject *self, Py_ssize_t i)
{
    if (i < 0 || i >= Py_SIZE(self)) {
        PyErr_SetString(PyExc_IndexError, "record index out of range");
        return NULL;
    }
    return Py_NewRef(rec_item(self, i));
}

/* Index of a column name: >= 0, -1 with KeyError set when absent, or -2
 * with another exception set (unhashable key). */
static Py_ssize_t
record_index_of(RecordObject *self, PyObject *key)
{
    PyObject *idx = PyDict_GetItemWithError(self->desc->mapping, key);
    if (idx == NULL) {
        if (PyErr_Occurred()) {
            return -2;
        }
        PyErr_SetObject(PyExc_KeyError, key);
        return -1;
    }
    return PyLong_AsSsize_t(idx);
}

static PyObject *
record_by_name(RecordObject *self, PyObject *key)
{
    Py_ssize_t i = record_index_of(self, key);
    if (i < 0) {
        return NULL;
    }
    return record_item(self, i);
}

static PyObject *
record_by_index(RecordObject *self, PyObject *key)
{
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (i < 0) {
        i += Py_SIZE(self);
    }
    return record_item(self, i);
}

static PyObject *
record_slice(RecordObject *self, PyObject *key)
{
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(key, &start, &stop, &step) < 0) {
        return NULL;
    }
    Py_ssize_t len = PySlice_AdjustIndices(Py_SIZE(self), &start, &stop, step);
    PyObject *t = PyTuple_New(len);
    if (t == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0, j = start; i < len; i++, j += step) {
        PyTuple_SET_ITEM(t, i, Py_NewRef(rec_item(self, j)));
    }
    return t;
}

static PyObject *
record_subscript(RecordObject *self, PyObject *key)
{
    if (PyUnicode_CheckExact(key)) {
        return record_by_name(self, key);
    }
    if (PyIndex_Check(key)) {
        return record_by_index(self, key);
    }
    if (PySlice_Check(key)) {
        return record_slice(self, key);
    }
    return record_by_name(self, key);
}

/* `name in record` looks at the column names. */
static int
record_contains(RecordObject *self, PyObject *key)
{
    return PyDict_Contains(self->desc->mapping, key);
}

/* ------------------------------------------------------------------ */
/* Record: hash, comparison, repr                                      */
/* ------------------------------------------------------------------ */

/* The tuple hash (xxHash-based, as CPython's tuplehash), so that a record
 * hashes like the tuple of its values it compares equal to. */
#if SIZEOF_PY_UHASH_T > 4
#define XXPRIME_1 ((Py_uhash_t)11400714785074694791ULL)
#define XXPRIME_2 ((Py_uhash_t)14029467366897019727ULL)
#define XXPRIME_5 ((Py_uhash_t)2870177450012600261ULL)
#define XXROTATE(x) ((x << 31) | (x >> 33))
#else
#define XXPRIME_1 ((Py_uhash_t)2654435761UL)
#define XXPRIME_2 ((Py_uhash_t)2246822519UL)
#define XXPRIME_5 ((Py_uhash_t)374761393UL)
#define XXROTATE(x) ((x << 13) | (x >> 19))
#endif

static Py_hash_t
record_hash(RecordObject *self)
{
    if (self->hash != -1) {
        return self->hash;
    }
    Py_ssize_t len = Py_SIZE(self);
    Py_uhash_t acc = XXPRIME_5;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_uhash_t lane = (Py_uhash_t)PyObject_Hash(rec_item(self, i));
        if (lane == (Py_uhash_t)-1) {
            return -1;
        }
        acc += lane * XXPRIME_2;
        acc = XXROTATE(acc);
        acc *= XXPRIME_1;
    }
    acc += (Py_uhash_t)len ^ (XXPRIME_5 ^ 3527539UL);
    if (acc == (Py_uhash_t)-1) {
        acc = 1546275796;
    }
    self->hash = (Py_hash_t)acc;
    return self->hash;
}

/* Items and length of a record or tuple; 0 when other is neither. */
static int
as_items(ModState *st, PyObject *o, PyObject ***items, Py_ssize_t *n)
{
    if (PyTuple_Check(o)) {
        *items = &PyTuple_GET_ITEM(o, 0);
        *n = PyTuple_GET_SIZE(o);
        return 1;
    }
    if (PyObject_TypeCheck(o, st->RecordType)) {
        *items = REC(o)->items;
        *n = Py_SIZE(o);
        return 1;
    }
    return 0;
}

static inline PyObject *
nz(PyObject *v)
{
    return v ? v : Py_None;
}

/* Tuple comparison semantics: first differing item decides. */
static PyObject *
record_richcompare(RecordObject *self, PyObject *other, int op)
{
    PyObject **a, **b;
    Py_ssize_t na, nb, i;

    if (!as_items(rec_state(self), other, &b, &nb)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    a = self->items;
    na = Py_SIZE(self);
    if (na != nb && (op == Py_EQ || op == Py_NE)) {
        return PyBool_FromLong(op == Py_NE);
    }
    for (i = 0; i < na && i < nb; i++) {
        int k = PyObject_RichCompareBool(nz(a[i]), nz(b[i]), Py_EQ);
        if (k < 0) {
            return NULL;
        }
        if (!k) {
            break;
        }
    }
    if (i >= na || i >= nb) {
        Py_RETURN_RICHCOMPARE(na, nb, op);
    }
    if (op == Py_EQ) {
        Py_RETURN_FALSE;
    }
    if (op == Py_NE) {
        Py_RETURN_TRUE;
    }
    return PyObject_RichCompare(nz(a[i]), nz(b[i]), op);
}

/* "name=repr name=repr ..." (new reference). */
static PyObject *
record_repr_fields(RecordObject *self)
{
    Py_ssize_t n = Py_SIZE(self);
    PyObject *parts = PyList_New(n), *sep = NULL, *res = NULL;
    if (parts == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyUnicode_FromFormat(
            "%U=%R", PyTuple_GET_ITEM(self->desc->keys, i), rec_item(self, i));
        if (s == NULL) {
            goto done;
        }
        PyList_SET_ITEM(parts, i, s);
    }
    sep = PyUnicode_FromString(" ");
    if (sep != NULL) {
        res = PyUnicode_Join(sep, parts);
    }
done:
    Py_XDECREF(sep);
    Py_DECREF(parts);
    return res;
}

static PyObject *
record_repr(RecordObject *self)
{
    PyObject *name = PyType_GetName(Py_TYPE(self)), *fields, *res = NULL;
    if (name == NULL) {
        return NULL;
    }
    if (Py_SIZE(self) == 0) {
        res = PyUnicode_FromFormat("<%U>", name);
        goto done;
    }
    int rc = Py_ReprEnter((PyObject *)self);
    if (rc != 0) {
        res = rc > 0 ? PyUnicode_FromFormat("<%U ...>", name) : NULL;
        goto done;
    }
    fields = record_repr_fields(self);
    if (fields != NULL) {
        res = PyUnicode_FromFormat("<%U %U>", name, fields);
        Py_DECREF(fields);
    }
    Py_ReprLeave((PyObject *)self);
done:
    Py_DECREF(name);
    return res;
}

/* ------------------------------------------------------------------ */
/* Record: methods                                                     */
/* ------------------------------------------------------------------ */

static PyObject *record_values(RecordObject *self, PyObject *unused);

static PyObject *
record_iter(RecordObject *self)
{
    return record_values(self, NULL);
}

static PyObject *
record_get(RecordObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "get() takes 1 or 2 arguments (%zd given)", nargs);
        return NULL;
    }
    Py_ssize_t i = record_index_of(self, args[0]);
    if (i >= 0) {
        return record_item(self, i);
    }
    if (i == -1 && PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        return Py_NewRef(nargs == 2 ? args[1] : Py_None);
    }
    return NULL;
}

static PyObject *
record_keys(RecordObject *self, PyObject *unused)
{
    (void)unused;
    return PyObject_GetIter(self->desc->keys);
}

typedef struct {
    PyObject_HEAD
    Py_ssize_t index;
    RecordObject *rec; /* NULL once exhausted */
} RecordIterObject;

static PyObject *
iter_new(PyTypeObject *type, RecordObject *rec)
{
    RecordIterObject *it = PyObject_GC_New(RecordIterObject, type);
    if (it == NULL) {
        return NULL;
    }
    PGW_ZERO_FIELDS(it, RecordIterObject);
    it->index = 0;
    it->rec = (RecordObject *)Py_NewRef(rec);
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyObject *
record_values(RecordObject *self, PyObject *unused)
{
    (void)unused;
    return iter_new(rec_state(self)->RecordIterType, self);
}

static PyObject *
record_items(RecordObject *self, PyObject *unused)
{
    (void)unused;
    return iter_new(rec_state(self)->RecordItemsIterType, self);
}

static PyObject *
record_reduce(RecordObject *self, PyObject *unused)
{
    (void)unused;
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyMethodDef record_methods[] = {
    {"get", (PyCFunction)(void (*)(void))record_get, METH_FASTCALL,
     "get(key, default=None): the value of a column, or default."},
    {"keys", (PyCFunction)record_keys, METH_NOARGS,
     "An iterator over the column names."},
    {"values", (PyCFunction)record_values, METH_NOARGS,
     "An iterator over the values."},
    {"items", (PyCFunction)record_items, METH_NOARGS,
     "An iterator over (name, value) pairs."},
    {"__reduce__", (PyCFunction)record_reduce, METH_NOARGS,
     "Records cannot be pickled."},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(
    record_doc,
    "A row of a query result: a tuple indexed by position or by column name.\n"
    "\n"
    "len(r), r[0], r['name'], r[1:3] (a tuple), iter(r) (values), 'name' in "
    "r,\n"
    "r.get(name, default), r.keys(), r.values(), r.items().  Hashes and\n"
    "compares like the tuple of its values.  Not constructible from Python.");

static PyType_Slot record_slots[] = {
    {Py_tp_doc, (void *)record_doc},
    {Py_tp_traverse, record_traverse},
    {Py_tp_clear, record_clear},
    {Py_tp_dealloc, record_dealloc},
    {Py_tp_repr, record_repr},
    {Py_tp_hash, record_hash},
    {Py_tp_richcompare, record_richcompare},
    {Py_tp_iter, record_iter},
    {Py_tp_methods, record_methods},
    {Py_sq_length, record_length},
    {Py_sq_item, record_item},
    {Py_sq_contains, record_contains},
    {Py_mp_length, record_length},
    {Py_mp_subscript, record_subscript},
    {0, NULL},
};

static PyType_Spec record_spec = {
    .name = "pgwire.Record",
    .basicsize = (int)offsetof(RecordObject, items),
    .itemsize = (int)sizeof(PyObject *),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = record_slots,
};

/* ------------------------------------------------------------------ */
/* Iterators: values, and (name, value) items                          */
/* ------------------------------------------------------------------ */

static int
iter_traverse(RecordIterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->rec);
    return 0;
}

static int
iter_clear(RecordIterObject *self)
{
    Py_CLEAR(self->rec);
    return 0;
}

static void
iter_dealloc(RecordIterObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)iter_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* Borrowed next item, or NULL (and the record released) at the end. */
static inline PyObject *
iter_step(RecordIterObject *self, Py_ssize_t *i)
{
    RecordObject *r = self->rec;
    if (r == NULL) {
        return NULL;
    }
    if (self->index < Py_SIZE(r)) {
        *i = self->index++;
        return rec_item(r, *i);
    }
    Py_CLEAR(self->rec);
    return NULL;
}

static PyObject *
values_next(RecordIterObject *self)
{
    Py_ssize_t i;
    PyObject *v = iter_step(self, &i);
    return v ? Py_NewRef(v) : NULL;
}

static PyObject *
items_next(RecordIterObject *self)
{
    Py_ssize_t i;
    PyObject *v = iter_step(self, &i);
    if (v == NULL) {
        return NULL;
    }
    return PyTuple_Pack(2, PyTuple_GET_ITEM(self->rec->desc->keys, i), v);
}

static PyObject *
iter_length_hint(RecordIterObject *self, PyObject *unused)
{
    (void)unused;
    Py_ssize_t left = self->rec ? Py_SIZE(self->rec) - self->index : 0;
    return PyLong_FromSsize_t(left);
}

static PyMethodDef iter_methods[] = {
    {"__length_hint__", (PyCFunction)iter_length_hint, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot values_iter_slots[] = {
    {Py_tp_traverse, iter_traverse},
    {Py_tp_clear, iter_clear},
    {Py_tp_dealloc, iter_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, values_next},
    {Py_tp_methods, iter_methods},
    {0, NULL},
};

static PyType_Slot items_iter_slots[] = {
    {Py_tp_traverse, iter_traverse},
    {Py_tp_clear, iter_clear},
    {Py_tp_dealloc, iter_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, items_next},
    {Py_tp_methods, iter_methods},
    {0, NULL},
};

#define ITER_FLAGS                                                        \
    (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | \
     Py_TPFLAGS_DISALLOW_INSTANTIATION)

static PyType_Spec values_iter_spec = {
    .name = "pgwire.RecordIterator",
    .basicsize = sizeof(RecordIterObject),
    .flags = ITER_FLAGS,
    .slots = values_iter_slots,
};

static PyType_Spec items_iter_spec = {
    .name = "pgwire.RecordItemsIterator",
    .basicsize = sizeof(RecordIterObject),
    .flags = ITER_FLAGS,
    .slots = items_iter_slots,
};

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static PyTypeObject *
make_type(PyObject *module, PyType_Spec *spec)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
}

int
pgw_record_setup_types(PyObject *module, struct ModState *st)
{
    st->record_pool = PyMem_Calloc(1, sizeof(PgwRecordPool));
    if (st->record_pool == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    st->record_pool->refs = 1;
    st->record_pool->open = 1;
    st->RecordDescType = make_type(module, &desc_spec);
    if (st->RecordDescType == NULL) {
        return -1;
    }
    st->RecordType = make_type(module, &record_spec);
    if (st->RecordType == NULL) {
        return -1;
    }
    st->RecordIterType = make_type(module, &values_iter_spec);
    if (st->RecordIterType == NULL) {
        return -1;
    }
    st->RecordItemsIterType = make_type(module, &items_iter_spec);
    if (st->RecordItemsIterType == NULL) {
        return -1;
    }
    return PyModule_AddType(module, st->RecordType);
}

int
pgw_record_class_redefines_init(ModState *st, PyTypeObject *rc)
{
    if (rc->tp_new == st->RecordType->tp_new &&
        rc->tp_init == st->RecordType->tp_init) {
        return 0;
    }
    PyErr_SetString(st->InterfaceError,
                    "record_class must not redefine __new__ or __init__");
    return 1;
}
