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
 * callable, called with the tuple of values), cached in *slot.  Borrowed
 * reference (valid while *slot is), or NULL with an exception set. */
PyObject *pgw_rows_maker_for(struct ModState *st, PyObject **slot,
                             PyObject *factory, PyObject *desc,
                             PyObject *names);

/* The row for `values` (a tuple of the row's values; stolen) made by
 * `maker` (from pgw_rows_maker_for).  New reference or NULL. */
PyObject *pgw_rows_make(PyObject *maker, PyObject *values);

/* The same from n values (borrowed; the row takes its own references).
 * Cheaper than a tuple for every kind but tuple and call (for which
 * pgw_rows_wants_tuple is 1: give them the tuple). */
PyObject *pgw_rows_make_array(PyObject *maker, PyObject *const *items,
                              Py_ssize_t n);
int pgw_rows_wants_tuple(PyObject *maker);

#endif /* PGW_ROWS_H */
