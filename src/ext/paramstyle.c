/* paramstyle.c -- paramstyle='pyformat': %s and %(name)s converted to $n
 * by the core's scanner (src/core/pgc_sqlscan.c), in C, once per
 * statement.
 *
 * A statement made on a pyformat connection is converted when it is
 * created (a statement-cache miss); the cache is keyed by the original
 * text, so a hit costs nothing.  s->query stays the original text,
 * s->query_utf8 becomes the converted text sent in Parse, and for named
 * placeholders s->pf_names lists the names in $n order: the single mapping
 * argument is turned into the positional tuple at Bind
 * (pgw_paramstyle_args).  On a numeric ($n) connection nothing here runs,
 * except on an error path: a query that holds pyformat placeholders gets a
 * note naming the option (pgw_paramstyle_hint).
 */
#include "proto.h"

#include <string.h>

#include "../core/pgc_alloc.h"
#include "../core/pgc_sqlscan.h"

static unsigned
scan_flags(ProtocolObject *p)
{
    PyObject *v = p->settings != NULL
                      ? PyDict_GetItemString(p->settings,
                                             "standard_conforming_strings")
                      : NULL;
    if (v != NULL && PyUnicode_Check(v) &&
        PyUnicode_CompareWithASCIIString(v, "off") == 0) {
        return PGC_SQLSCAN_NO_STD_STRINGS;
    }
    return 0;
}

/* The InterfaceError of a failed conversion: the scanner's message, the
 * position in characters (1-based, as the server's) and the text there. */
static void
raise_scan_error(ModState *st, PyObject *query, const char *q,
                 const PgcSqlScanResult *res)
{
    Py_ssize_t chars = 0;
    for (size_t i = 0; i < res->err_pos; i++) {
        chars += ((unsigned char)q[i] & 0xC0) != 0x80;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(query);
    Py_ssize_t end = chars + 20 < len ? chars + 20 : len;
    PyObject *near = PyUnicode_Substring(query, chars, end);
    if (near == NULL) {
        return;
    }
    PyErr_Format(st->InterfaceError,
                 "invalid placeholder at position %zd of the query (%R): %s",
                 chars + 1, near, res->err_msg);
    Py_DECREF(near);
}

static PyObject *
names_tuple(const char *q, const PgcSqlName *names, uint32_t n)
{
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    if (t == NULL) {
        return NULL;
    }
    for (uint32_t k = 0; k < n; k++) {
        PyObject *s = PyUnicode_DecodeUTF8(q + names[k].off,
                                           (Py_ssize_t)names[k].len, NULL);
        if (s == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)k, s);
    }
    return t;
}

/* Convert q[0..n): *text (bytes) and *names (tuple or NULL); 0 or -1. */
static int
convert(ModState *st, PyObject *query, const char *q, Py_ssize_t n,
        unsigned flags, PyObject **text, PyObject **names)
{
    char *out;
    PgcSqlName *nm;
    PgcSqlScanResult res;
    PgcSqlScanStatus rc = pgc_sqlscan_convert_alloc(q, (size_t)n, flags, &out,
                                                    &nm, &res);
    *text = *names = NULL;
    if (rc == PGC_SQLSCAN_ERR_NOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    if (rc != PGC_SQLSCAN_OK) {
        raise_scan_error(st, query, q, &res);
        return -1;
    }
    *text = PyBytes_FromStringAndSize(out, (Py_ssize_t)res.out_len);
    if (*text != NULL && res.style == PGC_SQLSCAN_NAMED) {
        *names = names_tuple(q, nm, res.nparams);
        if (*names == NULL) {
            Py_CLEAR(*text);
        }
    }
    pgc_free(out);
    return *text != NULL ? 0 : -1;
}

int
pgw_paramstyle_apply(ProtocolObject *p, StmtObject *s)
{
    Py_ssize_t n;
    const char *q = PyUnicode_AsUTF8AndSize(s->query, &n);
    if (q == NULL) {
        return -1;
    }
    s->pyformat = 1;
    p->pf_conversions++;
    if (memchr(q, '%', (size_t)n) == NULL) {
        return 0; /* nothing to convert: the text as it is */
    }
    PyObject *text, *names;
    if (convert(s->st, s->query, q, n, scan_flags(p), &text, &names) < 0) {
        return -1;
    }
    if (!PyUnicode_IS_ASCII(s->query)) {
        /* re-encoded for a non-UTF8 client_encoding (stmt_query_text) */
        PyObject *sql = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(text),
                                             PyBytes_GET_SIZE(text), NULL);
        if (sql == NULL) {
            Py_DECREF(text);
            Py_XDECREF(names);
            return -1;
        }
        Py_XSETREF(s->pf_sql, sql);
    }
    Py_XSETREF(s->query_utf8, text);
    Py_XSETREF(s->pf_names, names);
    return 0;
}

/* A dict, or what dict() would take as a mapping (it has keys()); the
 * builtin sequences never (PySequence_Check is true for any class with
 * __getitem__, Mapping subclasses included, so it cannot tell). */
static int
is_mapping(PyObject *o)
{
    if (PyDict_Check(o)) {
        return 1;
    }
    if (PyTuple_Check(o) || PyList_Check(o) || PyUnicode_Check(o) ||
        PyBytes_Check(o) || PyByteArray_Check(o) || !PyMapping_Check(o)) {
        return 0;
    }
    int r = PyObject_HasAttrString(o, "keys");
    return r;
}

static void
raise_missing(StmtObject *s, PyObject *missing)
{
    PyObject *sep = PyUnicode_FromString(", ");
    PyObject *joined = sep != NULL ? PyUnicode_Join(sep, missing) : NULL;
    Py_XDECREF(sep);
    if (joined != NULL) {
        PyErr_Format(s->st->InterfaceError,
                     "query argument%s missing from the mapping: %U",
                     PyList_GET_SIZE(missing) == 1 ? "" : "s", joined);
        Py_DECREF(joined);
    }
}

/* mapping[name], or NULL: with an error set, or (*absent = 1) without. */
static PyObject *
lookup(PyObject *mapping, PyObject *name, int *absent)
{
    PyObject *v;
    *absent = 0;
    if (PyDict_CheckExact(mapping)) {
        v = PyDict_GetItemWithError(mapping, name);
        if (v == NULL && !PyErr_Occurred()) {
            *absent = 1;
        }
        return Py_XNewRef(v);
    }
    v = PyObject_GetItem(mapping, name);
    if (v == NULL && PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        *absent = 1;
    }
    return v;
}

PyObject *
pgw_paramstyle_args(StmtObject *s, PyObject *args)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs != 1 || !is_mapping(PyTuple_GET_ITEM(args, 0))) {
        PyErr_Format(s->st->InterfaceError,
                     "the query uses named placeholders (%%(name)s): pass "
                     "one mapping as the argument (got %zd argument%s%s%s)",
                     nargs, nargs == 1 ? "" : "s", nargs == 1 ? ": " : "",
                     nargs == 1 ? Py_TYPE(PyTuple_GET_ITEM(args, 0))->tp_name
                                : "");
        return NULL;
    }
    PyObject *mapping = PyTuple_GET_ITEM(args, 0);
    Py_ssize_t n = PyTuple_GET_SIZE(s->pf_names);
    PyObject *out = PyTuple_New(n), *missing = NULL;
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(s->pf_names, i);
        int absent;
        PyObject *v = lookup(mapping, name, &absent);
        if (v != NULL) {
            PyTuple_SET_ITEM(out, i, v);
            continue;
        }
        if (!absent ||
            (missing == NULL && (missing = PyList_New(0)) == NULL) ||
            PyList_Append(missing, name) < 0) {
            Py_CLEAR(out);
            break;
        }
        PyTuple_SET_ITEM(out, i, Py_NewRef(Py_None));
    }
    if (out != NULL && missing != NULL) {
        raise_missing(s, missing);
        Py_CLEAR(out);
    }
    Py_XDECREF(missing);
    return out;
}

/* ------------------------------------------------------------------ */
/* The hint on a numeric connection                                    */
/* ------------------------------------------------------------------ */

static const char hint_text[] =
    "the query uses %s or %(name)s placeholders, but this connection "
    "expects PostgreSQL's $1, $2, ... (paramstyle='numeric', asyncpg's); "
    "pass paramstyle='pyformat' to connect() or create_pool() to write "
    "%s and %(name)s";

/* 1 if `query` converts cleanly with at least one placeholder. */
static int
has_placeholders(ProtocolObject *p, PyObject *query)
{
    Py_ssize_t n;
    const char *q = PyUnicode_AsUTF8AndSize(query, &n);
    if (q == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (memchr(q, '%', (size_t)n) == NULL) {
        return 0;
    }
    char *out;
    PgcSqlName *nm;
    PgcSqlScanResult res;
    if (pgc_sqlscan_convert_alloc(q, (size_t)n, scan_flags(p), &out, &nm,
                                  &res) != PGC_SQLSCAN_OK) {
        return 0;
    }
    pgc_free(out);
    return res.nplaceholders > 0;
}

void
pgw_paramstyle_hint(ProtocolObject *p, PyObject *exc, PyObject *query)
{
    if (p->pyformat || exc == NULL || query == NULL ||
        !PyUnicode_Check(query) || !has_placeholders(p, query)) {
        return;
    }
    PyObject *saved = pgw_fetch_exc(); /* none expected; kept if any */
    PyObject *text = PyUnicode_FromString(hint_text);
    /* the hint when the server gave none (str(exc) shows it), else a
     * note */
    PyObject *hint = text != NULL && PyObject_HasAttrString(exc, "hint")
                         ? PyObject_GetAttrString(exc, "hint")
                         : NULL;
    if (hint == Py_None && PyObject_SetAttrString(exc, "hint", text) == 0) {
        Py_CLEAR(text);
    }
    Py_XDECREF(hint);
    PyErr_Clear();
    PyObject *r = text != NULL
                      ? PyObject_CallMethod(exc, "add_note", "O", text)
                      : NULL;
    Py_XDECREF(r);
    Py_XDECREF(text);
    PyErr_Clear();
    if (saved != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(saved), saved);
        Py_DECREF(saved);
    }
}

void
pgw_paramstyle_hint_pending(ProtocolObject *p, PyObject *query)
{
    if (p->pyformat || !PyErr_Occurred()) {
        return;
    }
    PyObject *exc = pgw_fetch_exc();
    if (exc == NULL) {
        return;
    }
    pgw_paramstyle_hint(p, exc, query);
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}

/* ------------------------------------------------------------------ */
/* Module functions                                                    */
/* ------------------------------------------------------------------ */

static ProtocolObject *
as_protocol(PyObject *mod, PyObject *o)
{
    ModState *st = PyModule_GetState(mod);
    if (st == NULL || !PyObject_TypeCheck(o, st->ProtocolType)) {
        PyErr_SetString(PyExc_TypeError, "expected a pgwire Protocol");
        return NULL;
    }
    return (ProtocolObject *)o;
}

PyObject *
pgw_paramstyle_set(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "_set_paramstyle(protocol, style: str)");
        return NULL;
    }
    ProtocolObject *p = as_protocol(mod, args[0]);
    if (p == NULL) {
        return NULL;
    }
    if (PyUnicode_CompareWithASCIIString(args[1], "pyformat") == 0) {
        p->pyformat = 1;
    }
    else if (PyUnicode_CompareWithASCIIString(args[1], "numeric") == 0) {
        p->pyformat = 0;
    }
    else {
        PyErr_Format(PyExc_ValueError,
                     "paramstyle must be 'numeric' or 'pyformat', not %R",
                     args[1]);
        return NULL;
    }
    Py_RETURN_NONE;
}

PyObject *
pgw_paramstyle_count(PyObject *mod, PyObject *proto)
{
    ProtocolObject *p = as_protocol(mod, proto);
    return p != NULL ? PyLong_FromUnsignedLongLong(p->pf_conversions) : NULL;
}

/* _convert_pyformat(query, standard_strings=True) -> (text, names): for
 * tests and for the faces that bind without the statement cache. */
PyObject *
pgw_paramstyle_convert(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    ModState *st = PyModule_GetState(mod);
    if (nargs < 1 || nargs > 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(
            PyExc_TypeError,
            "_convert_pyformat(query: str, standard_strings=True)");
        return NULL;
    }
    int std = nargs == 2 ? PyObject_IsTrue(args[1]) : 1;
    if (std < 0) {
        return NULL;
    }
    Py_ssize_t n;
    const char *q = PyUnicode_AsUTF8AndSize(args[0], &n);
    if (q == NULL) {
        return NULL;
    }
    PyObject *text, *names;
    if (convert(st, args[0], q, n, std ? 0u : PGC_SQLSCAN_NO_STD_STRINGS,
                &text, &names) < 0) {
        return NULL;
    }
    PyObject *s = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(text),
                                       PyBytes_GET_SIZE(text), NULL);
    Py_DECREF(text);
    if (s == NULL) {
        Py_XDECREF(names);
        return NULL;
    }
    PyObject *r = PyTuple_Pack(2, s, names != NULL ? names : Py_None);
    Py_DECREF(s);
    Py_XDECREF(names);
    return r;
}
