/* compat.h -- the current CPython C API on every supported version (3.11
 * up, pyproject.toml).  Header-only; the only place in src/ that may name
 * an API deprecated on a newer CPython (tests/test_capi_lint.py), each use
 * behind a version check, the same definitions as pythoncapi-compat.
 *
 *   PyErr_GetRaisedException / PyErr_SetRaisedException   (3.12)
 *   PyWeakref_GetRef                                      (3.13)
 */
#ifndef PGW_COMPAT_H
#define PGW_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
/* The pending exception, normalized, its traceback attached, as a new
 * reference (the error indicator is cleared); NULL if none. */
static inline PyObject *
PyErr_GetRaisedException(void)
{
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* Set exc (stolen; NULL clears) as the pending exception. */
static inline void
PyErr_SetRaisedException(PyObject *exc)
{
    PyObject *type = NULL, *tb = NULL;

    if (exc != NULL) {
        type = Py_NewRef((PyObject *)Py_TYPE(exc));
        tb = PyException_GetTraceback(exc);
    }
    PyErr_Restore(type, exc, tb);
}
#endif

#if PY_VERSION_HEX < 0x030D0000
/* 1 with *pobj a new reference to the referent, 0 with *pobj NULL if it is
 * gone, -1 with an exception if ref is not a weak reference. */
static inline int
PyWeakref_GetRef(PyObject *ref, PyObject **pobj)
{
    PyObject *obj;

    if (ref != NULL && !PyWeakref_Check(ref)) {
        *pobj = NULL;
        PyErr_SetString(PyExc_TypeError, "expected a weakref");
        return -1;
    }
    obj = PyWeakref_GetObject(ref);
    if (obj == NULL) {
        *pobj = NULL;
        return -1;
    }
    if (obj == Py_None) {
        *pobj = NULL;
        return 0;
    }
    *pobj = Py_NewRef(obj);
    return 1;
}
#endif

#endif /* PGW_COMPAT_H */
