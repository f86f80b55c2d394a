/* rows.h -- row makers: the C objects that turn one row's decoded values
 * into the row a row factory asked for (dict, tuple, namedtuple, an
 * instance of a class, a msgspec Struct, the first value, or whatever a
 * user's callable returns).
 *
 * A row factory (pgwire.rows, or any callable) is called once per result
 * description with the column names and returns a row maker; the binding
 * keeps the maker on the statement and calls pgw_rows_make per DataRow.
 */
#ifndef PGW_ROWS_H
#define PGW_ROWS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

struct ModState;

/* Create the RowMaker heap type and add it to the module.  0 or -1. */
int pgw_rows_setup_types(PyObject *module, struct ModState *st);

/* 1 when obj can be given as row_factory (a callable that is not a
 * class), 0 when not (no exception set). */
int pgw_rows_is_factory(PyObject *obj);

/* A connection's row shape (Protocol(record_class=...)): a row factory,
 * or a Record subclass that keeps Record's __new__/__init__.  0, or -1
 * with InterfaceError. */
int pgw_rows_check_shape(struct ModState *st, PyObject *shape);

/* TypeError for a row_factory that is not one (new reference). */
PyObject *pgw_rows_factory_error(PyObject *obj);

/* The row maker for `factory` over the columns `names` of the result
 * described by `desc`: the one cached in *slot when it was made for the
 * same factory and description, else factory(names) (a RowMaker, or any
 * callable, called with the tuple of values), cached in *slot.  A maker
 * that pairs values with names is checked here, once, to have one name
 * per column.  Borrowed reference (valid while *slot is), or NULL with an
 * exception set. */
PyObject *pgw_rows_maker_for(struct ModState *st, PyObject **slot,
                             PyObject *factory, PyObject *desc,
                             PyObject *names);

/* The cached maker of pgw_rows_maker_for without a call: borrowed, or
 * NULL (no exception) when slot was made for another factory or
 * description. */
static inline PyObject *
pgw_rows_maker_cached(PyObject *slot, PyObject *factory, PyObject *desc)
{
    if (slot != NULL && PyTuple_GET_ITEM(slot, 0) == factory &&
        PyTuple_GET_ITEM(slot, 1) == desc) {
        return PyTuple_GET_ITEM(slot, 2);
    }
    return NULL;
}

/* The row for `values` (a tuple of the row's values; stolen) made by
 * `maker` (from pgw_rows_maker_for).  New reference or NULL. */
PyObject *pgw_rows_make(PyObject *maker, PyObject *values);

/* The maker's layout, for the statement's row decoder (stmt.c), which
 * feeds each kind the cheapest way: tuple and call get a tuple (made by
 * pgw_rows_make), dict a dict filled as the values are decoded, the
 * others a C array (pgw_rows_make_array). */
typedef enum {
    PGW_RM_TUPLE = 0,
    PGW_RM_DICT,
    PGW_RM_SCALAR,
    PGW_RM_NAMEDTUPLE,
    PGW_RM_ATTRS,
    PGW_RM_KWCALL,
    PGW_RM_CALL,
    PGW_RM_ARGS,
} PgwRowKind;

typedef struct {
    PyObject_HEAD
    PgwRowKind kind;
    PyObject *obj;   /* class or callable; dict: the {name: None}
                        template for wide rows; or NULL */
    PyObject *names; /* tuple of str: keys, attribute or keyword names */
} PgwRowMakerObject;

#define PGW_RM(o) ((PgwRowMakerObject *)(o))

/* The row from n values (borrowed; the row takes its own references) for
 * a maker of any kind but tuple and call, whose width pgw_rows_maker_for
 * checked.  New reference or NULL. */
PyObject *pgw_rows_make_array(PyObject *maker, PyObject *const *items,
                              Py_ssize_t n);

/* A dict maker's new row to fill with PyDict_SetItem under names[i], in
 * column order (a copy of the template for wide rows: no resize). */
PyObject *pgw_rows_dict_new(PyObject *maker);

#endif /* PGW_ROWS_H */
