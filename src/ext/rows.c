/* rows.c -- RowMaker: builds the row a row factory asked for from one
 * row's decoded values, in C.
 *
 * Kinds (pgwire/rows.py makes them, once per result description):
 *   tuple       the tuple of values itself
 *   dict        {name: value} in column order; a duplicate name keeps the
 *               last column's value (as dict(zip(names, values)))
 *   scalar      the first value
 *   namedtuple  an instance of obj (a tuple subclass), filled in place
 *   attrs       obj.__new__(obj) (object's), then each value stored under
 *               its name with object.__setattr__ semantics: a dataclass
 *               built without running __init__ (no Python frame per row)
 *   kwcall      obj(**{name: value}) through vectorcall (a msgspec Struct
 *               is built in C; a class with a Python __init__ runs it)
 *   args        obj(*values) through vectorcall (a msgspec Struct whose
 *               fields are the columns in order: its fastest path)
 *   call        obj(values): a user's row maker
 *
 * Ownership: a maker owns obj and names.  The statement caches the maker
 * it resolved as a tuple (factory, desc, maker), so a new factory or a new
 * description (re-prepare) resolves again.
 */
#include "ext.h"
#include "rows.h"
#include "record.h"
#include "state.h"

static const char *const kind_names[] = {
    "tuple", "dict", "scalar", "namedtuple", "attrs", "kwcall", "call", "args",
};

#define NKINDS ((int)(sizeof(kind_names) / sizeof(kind_names[0])))

typedef PgwRowMakerObject RowMakerObject;

#define RM(o) PGW_RM(o)

/* ------------------------------------------------------------------ */
/* Making rows                                                         */
/* ------------------------------------------------------------------ */

/* Up to 5 keys fit a new dict's first table: inserting them is cheapest.
 * Wider rows copy the maker's {name: None} template (one allocation of
 * the keys, no hashing, no resize) and replace its values.  Either way in
 * column order: a duplicate name keeps the last column's value. */
#define DICT_SMALL 5

PyObject *
pgw_rows_dict_new(PyObject *maker)
{
    RowMakerObject *m = RM(maker);
    return m->obj != NULL && PyTuple_GET_SIZE(m->names) > DICT_SMALL
               ? PyDict_Copy(m->obj)
               : PyDict_New();
}

static PyObject *
make_dict(RowMakerObject *m, PyObject *const *items, Py_ssize_t n)
{
    PyObject *d = pgw_rows_dict_new((PyObject *)m);
    if (d == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyDict_SetItem(d, PyTuple_GET_ITEM(m->names, i), items[i]) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

static PyObject *
make_namedtuple(RowMakerObject *m, PyObject *const *items, Py_ssize_t n)
{
    PyTypeObject *tp = (PyTypeObject *)m->obj;
    PyObject *t = tp->tp_alloc(tp, n);
    if (t == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(t, i, Py_NewRef(items[i]));
    }
    return t;
}

/* An instance made by object.__new__, its fields set as
 * object.__setattr__ would (a frozen dataclass's __setattr__ is not
 * called, as its generated __init__ does not call it either). */
static PyObject *
make_attrs(RowMakerObject *m, PyObject *const *items, Py_ssize_t n)
{
    PyTypeObject *tp = (PyTypeObject *)m->obj;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        return NULL;
    }
    PyObject *inst = tp->tp_new(tp, empty, NULL);
    Py_DECREF(empty);
    if (inst == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyObject_GenericSetAttr(inst, PyTuple_GET_ITEM(m->names, i),
                                    items[i]) < 0) {
            Py_DECREF(inst);
            return NULL;
        }
    }
    return inst;
}

/* obj(*items, **dict(zip(kwnames, items[nargs:]))) through obj's own
 * vectorcall function when it has one (a msgspec Struct type does), else
 * PyObject_Vectorcall; a callee that returns NULL without an exception is
 * reported as PyObject_Vectorcall would. */
static inline PyObject *
call_vector(PyObject *obj, PyObject *const *items, size_t nargs,
            PyObject *kwnames)
{
    vectorcallfunc f = PyVectorcall_Function(obj);
    if (f == NULL) {
        return PyObject_Vectorcall(obj, items, nargs, kwnames);
    }
    PyObject *r = f(obj, items, nargs, kwnames);
    if (r == NULL && !PyErr_Occurred()) {
        PyErr_Format(PyExc_SystemError,
                     "%R returned NULL without setting an exception", obj);
    }
    return r;
}

static PyObject *
make_by_kind(RowMakerObject *m, PyObject *const *items, Py_ssize_t n)
{
    switch (m->kind) {
    case PGW_RM_TUPLE:
        return pgw_tuple_from_array(items, n);
    case PGW_RM_DICT:
        return make_dict(m, items, n);
    case PGW_RM_SCALAR:
        if (n == 0) {
            PyErr_SetString(PyExc_ValueError,
                            "scalar_row: the result has no columns");
            return NULL;
        }
        return Py_NewRef(items[0]);
    case PGW_RM_NAMEDTUPLE:
        return make_namedtuple(m, items, n);
    case PGW_RM_ATTRS:
        return make_attrs(m, items, n);
    case PGW_RM_KWCALL:
        return call_vector(m->obj, items, 0, m->names);
    case PGW_RM_CALL: {
        PyObject *t = pgw_tuple_from_array(items, n);
        PyObject *row = t ? PyObject_CallOneArg(m->obj, t) : NULL;
        Py_XDECREF(t);
        return row;
    }
    case PGW_RM_ARGS:
        return call_vector(m->obj, items, (size_t)n, NULL);
    }
    PyErr_SetString(PyExc_SystemError, "bad row maker kind");
    return NULL;
}

/* Kinds that pair values with names need one value per name. */
static int
check_width(RowMakerObject *m, Py_ssize_t n)
{
    if (m->kind == PGW_RM_TUPLE || m->kind == PGW_RM_SCALAR ||
        m->kind == PGW_RM_CALL || m->kind == PGW_RM_ARGS) {
        return 0;
    }
    if (n != PyTuple_GET_SIZE(m->names)) {
        PyErr_Format(PyExc_ValueError,
                     "row maker for %zd columns given %zd values",
                     PyTuple_GET_SIZE(m->names), n);
        return -1;
    }
    return 0;
}

PyObject *
pgw_rows_make(PyObject *maker, PyObject *values)
{
    RowMakerObject *m = RM(maker);
    PyObject *row = NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(values);
    if (check_width(m, n) < 0) {
        /* row stays NULL */
    }
    else if (m->kind == PGW_RM_TUPLE) {
        row = Py_NewRef(values);
    }
    else if (m->kind == PGW_RM_CALL) {
        row = PyObject_CallOneArg(m->obj, values);
    }
    else {
        row = make_by_kind(m, &PyTuple_GET_ITEM(values, 0), n);
    }
    Py_DECREF(values);
    return row;
}

PyObject *
pgw_rows_make_array(PyObject *maker, PyObject *const *items, Py_ssize_t n)
{
    return make_by_kind(RM(maker), items, n);
}

/* ------------------------------------------------------------------ */
/* Resolution, cached on the statement                                 */
/* ------------------------------------------------------------------ */

int
pgw_rows_is_factory(PyObject *obj)
{
    return obj != NULL && !PyType_Check(obj) && PyCallable_Check(obj);
}

PyObject *
pgw_rows_factory_error(PyObject *obj)
{
    PyObject *exc;
    if (PyType_Check(obj)) {
        exc = PyObject_CallFunction(
            PyExc_TypeError, "s",
            "row_factory must be a row factory (a callable taking the "
            "column names and returning a row maker), not a class");
        if (exc != NULL) {
            PyObject *note = PyUnicode_FromFormat(
                "row_factory=%R: use pgwire.rows.class_row(%.200s)", obj,
                ((PyTypeObject *)obj)->tp_name);
            if (note != NULL) {
                PyObject *r = PyObject_CallMethod(exc, "add_note", "O", note);
                Py_XDECREF(r);
                Py_DECREF(note);
            }
            PyErr_Clear();
        }
        return exc;
    }
    PyObject *msg = PyUnicode_FromFormat(
        "row_factory must be a callable (pgwire.rows.dict_row, "
        "class_row(cls), ... or a callable taking the column names and "
        "returning a row maker), got %.100s %R",
        Py_TYPE(obj)->tp_name, obj);
    if (msg == NULL) {
        return NULL;
    }
    exc = PyObject_CallOneArg(PyExc_TypeError, msg);
    Py_DECREF(msg);
    return exc;
}

int
pgw_rows_check_shape(struct ModState *st, PyObject *shape)
{
    if (pgw_rows_is_factory(shape)) {
        return 0; /* connect(row_factory=...): pgwire checked it */
    }
    if (!PyType_Check(shape) ||
        !PyType_IsSubtype((PyTypeObject *)shape, st->RecordType)) {
        PyErr_Format(st->InterfaceError,
                     "record_class is expected to be a subclass of "
                     "pgwire.Record, got %R",
                     shape);
        return -1;
    }
    return pgw_record_class_redefines_init(st, (PyTypeObject *)shape) ? -1 : 0;
}

static PyObject *maker_new_kind(struct ModState *st, PgwRowKind kind,
                                PyObject *obj, PyObject *names);

/* factory(names) as a RowMaker (new reference). */
static PyObject *
resolve(struct ModState *st, PyObject *factory, PyObject *names)
{
    PyObject *m = PyObject_CallOneArg(factory, names);
    if (m == NULL || Py_IS_TYPE(m, st->RowMakerType)) {
        return m;
    }
    if (!PyCallable_Check(m)) {
        PyErr_Format(PyExc_TypeError,
                     "row_factory %R returned %.100s %R, expected a row "
                     "maker (a callable taking the tuple of values)",
                     factory, Py_TYPE(m)->tp_name, m);
        Py_DECREF(m);
        return NULL;
    }
    Py_SETREF(m, maker_new_kind(st, PGW_RM_CALL, m, names));
    return m;
}

PyObject *
pgw_rows_maker_for(struct ModState *st, PyObject **slot, PyObject *factory,
                   PyObject *desc, PyObject *names)
{
    PyObject *c = pgw_rows_maker_cached(*slot, factory, desc);
    if (c != NULL) {
        return c;
    }
    PyObject *m = resolve(st, factory, names);
    if (m == NULL) {
        return NULL;
    }
    if (check_width(RM(m), PyTuple_GET_SIZE(names)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    c = PyTuple_Pack(3, factory, desc, m);
    Py_DECREF(m);
    if (c == NULL) {
        return NULL;
    }
    Py_XSETREF(*slot, c);
    return PyTuple_GET_ITEM(c, 2);
}

/* ------------------------------------------------------------------ */
/* The RowMaker type                                                   */
/* ------------------------------------------------------------------ */

/* {name: None} for each name: what dict rows are copied from. */
static PyObject *
dict_template(PyObject *names)
{
    PyObject *d = PyDict_New();
    for (Py_ssize_t i = 0; d != NULL && i < PyTuple_GET_SIZE(names); i++) {
        if (PyDict_SetItem(d, PyTuple_GET_ITEM(names, i), Py_None) < 0) {
            Py_CLEAR(d);
        }
    }
    return d;
}

static PyObject *
maker_new_kind(struct ModState *st, PgwRowKind kind, PyObject *obj,
               PyObject *names)
{
    RowMakerObject *m = PyObject_GC_New(RowMakerObject, st->RowMakerType);
    if (m == NULL) {
        return NULL;
    }
    PGW_ZERO_FIELDS(m, RowMakerObject);
    m->kind = kind;
    m->obj = kind == PGW_RM_DICT ? dict_template(names) : Py_XNewRef(obj);
    m->names = Py_NewRef(names);
    PyObject_GC_Track(m);
    if (kind == PGW_RM_DICT && m->obj == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    return (PyObject *)m;
}

static int
find_kind(PyObject *s)
{
    for (int k = 0; k < NKINDS; k++) {
        if (PyUnicode_CompareWithASCIIString(s, kind_names[k]) == 0) {
            return k;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "RowMaker kind must be one of tuple, dict, scalar, "
                 "namedtuple, attrs, kwcall, call, args; got %R",
                 s);
    return -1;
}

static int
check_names(PyObject *names)
{
    if (!PyTuple_CheckExact(names)) {
        PyErr_Format(PyExc_TypeError,
                     "RowMaker names must be a tuple of str, got %.100s",
                     Py_TYPE(names)->tp_name);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            PyErr_Format(PyExc_TypeError,
                         "RowMaker names must be str, got %.100s at %zd",
                         Py_TYPE(PyTuple_GET_ITEM(names, i))->tp_name, i);
            return -1;
        }
    }
    return 0;
}

/* What obj must be for kind; 0 or -1 with TypeError. */
static int
check_obj(PgwRowKind kind, PyObject *obj)
{
    const char *want = NULL;
    switch (kind) {
    case PGW_RM_NAMEDTUPLE:
        if (!PyType_Check(obj) ||
            !PyType_IsSubtype((PyTypeObject *)obj, &PyTuple_Type)) {
            want = "a tuple subclass";
        }
        break;
    case PGW_RM_ATTRS:
        if (!PyType_Check(obj) ||
            ((PyTypeObject *)obj)->tp_new != PyBaseObject_Type.tp_new) {
            want = "a class using object.__new__";
        }
        break;
    case PGW_RM_KWCALL:
    case PGW_RM_CALL:
    case PGW_RM_ARGS:
        if (!PyCallable_Check(obj)) {
            want = "a callable";
        }
        break;
    default:
        break;
    }
    if (want != NULL) {
        PyErr_Format(PyExc_TypeError, "RowMaker('%s') needs %s, got %R",
                     kind_names[kind], want, obj);
        return -1;
    }
    return 0;
}

/* RowMaker(kind, obj=None, names=()) */
static PyObject *
maker_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"kind", "obj", "names", NULL};
    PyObject *kind_s, *obj = Py_None, *names = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|OO:RowMaker", kwlist,
                                     &kind_s, &obj, &names)) {
        return NULL;
    }
    struct ModState *st = pgw_get_state_by_type(type);
    int kind = find_kind(kind_s);
    if (st == NULL || kind < 0) {
        return NULL;
    }
    PyObject *empty = NULL;
    if (names == NULL) {
        names = empty = PyTuple_New(0);
        if (names == NULL) {
            return NULL;
        }
    }
    PyObject *res = NULL;
    if (check_names(names) == 0 && check_obj((PgwRowKind)kind, obj) == 0) {
        res = maker_new_kind(st, (PgwRowKind)kind, obj == Py_None ? NULL : obj,
                             names);
    }
    Py_XDECREF(empty);
    return res;
}

/* maker(values): the row for a sequence of values. */
static PyObject *
maker_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *values;
    if ((kwds != NULL && PyDict_GET_SIZE(kwds) != 0) ||
        !PyArg_ParseTuple(args, "O:RowMaker", &values)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError,
                            "RowMaker takes one argument: the values");
        }
        return NULL;
    }
    PyObject *t = PySequence_Tuple(values);
    if (t == NULL) {
        return NULL;
    }
    return pgw_rows_make(self, t);
}

static PyObject *
maker_repr(PyObject *self)
{
    RowMakerObject *m = RM(self);
    if (m->obj != NULL && m->kind != PGW_RM_DICT) {
        return PyUnicode_FromFormat("<pgwire.RowMaker %s %R %R>",
                                    kind_names[m->kind], m->obj, m->names);
    }
    return PyUnicode_FromFormat("<pgwire.RowMaker %s %R>", kind_names[m->kind],
                                m->names);
}

static PyObject *
maker_get_kind(PyObject *self, void *Py_UNUSED(c))
{
    return PyUnicode_FromString(kind_names[RM(self)->kind]);
}

static PyObject *
maker_get_names(PyObject *self, void *Py_UNUSED(c))
{
    return Py_NewRef(RM(self)->names);
}

static PyObject *
maker_get_obj(PyObject *self, void *Py_UNUSED(c))
{
    PyObject *o = RM(self)->kind == PGW_RM_DICT ? NULL : RM(self)->obj;
    return Py_NewRef(o != NULL ? o : Py_None);
}

static PyGetSetDef maker_getset[] = {
    {"kind", maker_get_kind, NULL, "How rows are made.", NULL},
    {"names", maker_get_names, NULL, "Keys, attribute or keyword names.",
     NULL},
    {"obj", maker_get_obj, NULL, "The class or callable, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static int
maker_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(RM(self)->obj);
    Py_VISIT(RM(self)->names);
    return 0;
}

/* A cleared maker makes tuples (its class is gone). */
static int
maker_clear(PyObject *self)
{
    RowMakerObject *m = RM(self);
    Py_CLEAR(m->obj);
    if (m->kind != PGW_RM_DICT && m->kind != PGW_RM_SCALAR) {
        m->kind = PGW_RM_TUPLE;
    }
    return 0;
}

static void
maker_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)maker_clear(self);
    Py_CLEAR(RM(self)->names);
    tp->tp_free(self);
    Py_DECREF(tp);
}

PyDoc_STRVAR(
    maker_doc,
    "RowMaker(kind, obj=None, names=())\n--\n\n"
    "Builds rows in C from a tuple of values (pgwire.rows makes them).\n"
    "kind: 'tuple', 'dict' (names are the keys), 'scalar', 'namedtuple' "
    "(obj:\n"
    "a tuple subclass), 'attrs' (obj: a class made with object.__new__, its\n"
    "attributes set without calling __init__), 'kwcall' (obj called with\n"
    "the names as keywords), 'call' (obj called with the tuple), 'args'\n"
    "(obj called with the values as positional arguments).");

static PyType_Slot maker_slots[] = {
    {Py_tp_doc, (void *)maker_doc},
    {Py_tp_new, maker_tp_new},
    {Py_tp_call, maker_call},
    {Py_tp_repr, maker_repr},
    {Py_tp_getset, maker_getset},
    {Py_tp_traverse, maker_traverse},
    {Py_tp_clear, maker_clear},
    {Py_tp_dealloc, maker_dealloc},
    {0, NULL},
};

static PyType_Spec maker_spec = {
    .name = "pgwire._pgwire.RowMaker",
    .basicsize = sizeof(RowMakerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = maker_slots,
};

int
pgw_rows_setup_types(PyObject *module, struct ModState *st)
{
    st->RowMakerType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                                &maker_spec,
                                                                NULL);
    if (st->RowMakerType == NULL) {
        return -1;
    }
    return PyModule_AddType(module, st->RowMakerType);
}
