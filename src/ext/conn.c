/* conn.c -- ConnectionCore: the C base class of pgwire.Connection with the
 * query methods (fetch, fetchrow, fetchval, execute, executemany,
 * fetchmany).  Each method only parses its arguments and returns an Op; all
 * errors are delivered when the Op is awaited.
 */
#include "proto.h"

#include <structmember.h>

enum {
    KW_TIMEOUT = 1 << 0,
    KW_RECORD_CLASS = 1 << 1,
    KW_COLUMN = 1 << 2,
    KW_IGNORE_CUSTOM = 1 << 3,
    KW_ROW_FACTORY = 1 << 4,
};

typedef struct {
    PyObject *timeout;
    PyObject *record_class;
    PyObject *column;
    PyObject *ignore_custom;
    PyObject *row_factory;
    PyObject *error; /* pending exception for the op */
} KwArgs;

/* The keywords a query method may take (its `allowed` flags) and where
 * parse_kwargs stores each. */
static const struct {
    unsigned flag;
    const char *name;
    size_t offset; /* of the PyObject * in KwArgs */
} kw_table[] = {
    {KW_TIMEOUT, "timeout", offsetof(KwArgs, timeout)},
    {KW_RECORD_CLASS, "record_class", offsetof(KwArgs, record_class)},
    {KW_ROW_FACTORY, "row_factory", offsetof(KwArgs, row_factory)},
    {KW_COLUMN, "column", offsetof(KwArgs, column)},
    {KW_IGNORE_CUSTOM, "_ignore_custom_codec",
     offsetof(KwArgs, ignore_custom)},
};

/* Where the keyword `name` goes in *kw, or NULL when it is not one of
 * `allowed`. */
static PyObject **
kw_slot(KwArgs *kw, unsigned allowed, PyObject *name)
{
    for (size_t j = 0; j < sizeof(kw_table) / sizeof(kw_table[0]); j++) {
        if ((allowed & kw_table[j].flag) &&
            PyUnicode_CompareWithASCIIString(name, kw_table[j].name) == 0) {
            return (PyObject **)((char *)kw + kw_table[j].offset);
        }
    }
    return NULL;
}

/* The keyword arguments into *kw (borrowed); one not in `allowed` becomes
 * kw->error. */
static void
parse_kwargs(ConnCoreObject *c, const char *meth, PyObject *const *kwvals,
             PyObject *kwnames, unsigned allowed, KwArgs *kw)
{
    Py_ssize_t n = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        PyObject **slot = kw_slot(kw, allowed, k);
        if (slot != NULL) {
            *slot = kwvals[i];
        }
        else if (kw->error == NULL) {
            kw->error = pgw_make_exc(
                PyExc_TypeError, "%s() got an unexpected keyword argument %R",
                meth, k);
        }
    }
    (void)c;
}

/* row_factory= (rows.c): checked here, and exclusive with record_class;
 * an error becomes kw->error.  NULL when not given (or None). */
static PyObject *
check_row_factory(const char *meth, KwArgs *kw)
{
    PyObject *rf = kw->row_factory;
    if (rf == NULL || rf == Py_None || kw->error != NULL) {
        return NULL;
    }
    if (kw->record_class != NULL && kw->record_class != Py_None) {
        kw->error = pgw_make_exc(
            PyExc_TypeError,
            "%s(): record_class and row_factory are mutually exclusive, "
            "got record_class=%R and row_factory=%R",
            meth, kw->record_class, rf);
        return NULL;
    }
    if (!pgw_rows_is_factory(rf)) {
        kw->error = pgw_rows_factory_error(rf);
        return NULL;
    }
    return rf;
}

/* Rows of op made by the row factory rf (NULL: leave the record class). */
static void
set_row_factory(PyObject *op, PyObject *rf)
{
    if (op != NULL && rf != NULL) {
        Py_SETREF(((OpObject *)op)->record_class, Py_NewRef(rf));
    }
}

/* An argument error found while parsing is raised when the op is awaited
 * (never at call time).  Steals op; consumes kw->error. */
static PyObject *
attach_error(PyObject *op, KwArgs *kw)
{
    if (op != NULL && kw->error != NULL) {
        Py_XSETREF(((OpObject *)op)->pending_exc, kw->error);
        kw->error = NULL;
    }
    Py_CLEAR(kw->error);
    return op;
}

/* fetch/fetchrow/fetchval/execute: (query, *args, **kw).  The op, or
 * NULL with an exception set. */
static PyObject *
query_op_new(ConnCoreObject *c, OpKind kind, const char *meth,
             PyObject *const *args, Py_ssize_t nargs, KwArgs *kw)
{
    if (kw->error == NULL && nargs < 1) {
        kw->error = pgw_make_exc(PyExc_TypeError,
                                 "%s() missing required argument 'query'",
                                 meth);
    }
    Py_ssize_t column = 0;
    if (kw->error == NULL && kw->column != NULL &&
        !PyUnicode_Check(kw->column)) {
        column = PyNumber_AsSsize_t(kw->column, PyExc_IndexError);
        if (column == -1 && PyErr_Occurred()) {
            kw->error = PyErr_GetRaisedException();
        }
    }
    if (kw->error == NULL && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *qargs = pgw_tuple_from_array(args + (nargs > 0),
                                           nargs > 0 ? nargs - 1 : 0);
    if (qargs == NULL) {
        return NULL;
    }
    PyObject *op = pgw_op_new(c, kind, nargs > 0 ? args[0] : Py_None, qargs,
                              kw->record_class, kw->timeout, column);
    Py_DECREF(qargs);
    if (op != NULL && kw->column != NULL && PyUnicode_Check(kw->column) &&
        PyObject_TypeCheck(op, c->st->OpType)) {
        ((OpObject *)op)->column_name = Py_NewRef(kw->column);
    }
    if (op != NULL && kw->ignore_custom != NULL) {
        int t = PyObject_IsTrue(kw->ignore_custom);
        if (t < 0) {
            Py_DECREF(op);
            return NULL;
        }
        ((OpObject *)op)->ignore_custom = t;
    }
    return op;
}

/* executemany(command, args, *, timeout) / fetchmany(query, args, *, ...) */
static PyObject *
many_op_new(ConnCoreObject *c, OpKind kind, const char *meth,
            PyObject *const *args, Py_ssize_t nargs, KwArgs *kw)
{
    if (kw->error == NULL && nargs != 2) {
        kw->error = pgw_make_exc(PyExc_TypeError,
                                 "%s() takes exactly 2 positional arguments "
                                 "(%zd given)",
                                 meth, nargs);
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        return NULL;
    }
    PyObject *op = pgw_op_new(c, kind, nargs > 0 ? args[0] : Py_None,
                              nargs == 2 ? args[1] : empty, kw->record_class,
                              kw->timeout, 0);
    Py_DECREF(empty);
    return op;
}

/* A query method: its keywords, then the op of its kind, with the row
 * factory and any argument error (raised when the op is awaited). */
static PyObject *
make_op(ConnCoreObject *c, OpKind kind, const char *meth, unsigned allowed,
        PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    KwArgs kw;
    memset(&kw, 0, sizeof(kw));
    parse_kwargs(c, meth, args + nargs, kwnames, allowed, &kw);
    PyObject *rf = check_row_factory(meth, &kw);
    PyObject *op = kind == OP_EXECUTEMANY || kind == OP_FETCHMANY
                       ? many_op_new(c, kind, meth, args, nargs, &kw)
                       : query_op_new(c, kind, meth, args, nargs, &kw);
    set_row_factory(op, rf);
    return attach_error(op, &kw); /* op NULL: drops kw.error */
}

/* The query methods: conn_<meth>, a METH_FASTCALL | METH_KEYWORDS
 * wrapper of make_op with the op kind and the keywords the method takes. */
#define CONN_QUERY_METHOD(meth, kind, allowed)                             \
    static PyObject *conn_##meth(ConnCoreObject *c, PyObject *const *args, \
                                 size_t nargsf, PyObject *kwnames)         \
    {                                                                      \
        return make_op(c, kind, #meth, allowed, args, nargsf, kwnames);    \
    }

CONN_QUERY_METHOD(fetch, OP_FETCH,
                  KW_TIMEOUT | KW_RECORD_CLASS | KW_ROW_FACTORY |
                      KW_IGNORE_CUSTOM)
CONN_QUERY_METHOD(fetchrow, OP_FETCHROW,
                  KW_TIMEOUT | KW_RECORD_CLASS | KW_ROW_FACTORY)
CONN_QUERY_METHOD(fetchval, OP_FETCHVAL, KW_TIMEOUT | KW_COLUMN)
CONN_QUERY_METHOD(execute, OP_EXECUTE, KW_TIMEOUT)
CONN_QUERY_METHOD(executemany, OP_EXECUTEMANY, KW_TIMEOUT)
CONN_QUERY_METHOD(fetchmany, OP_FETCHMANY,
                  KW_TIMEOUT | KW_RECORD_CLASS | KW_ROW_FACTORY)

/* _prepare(query, name=None, timeout=None, fresh=False) -> awaitable
 * Statement; fresh: parse even if the cache has the text, and keep the
 * statement out of the cache (Connection.prepare(), as asyncpg). */
static PyObject *
conn_prepare(ConnCoreObject *c, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"query", "name", "timeout", "fresh", NULL};
    PyObject *query, *name = Py_None, *timeout = Py_None;
    int fresh = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OOp:_prepare", kwlist,
                                     &query, &name, &timeout, &fresh)) {
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        return NULL;
    }
    PyObject *op = pgw_op_new(c, OP_PREPARE, query, empty, NULL, timeout, 0);
    Py_DECREF(empty);
    if (op != NULL && PyObject_TypeCheck(op, c->st->OpType)) {
        ((OpObject *)op)->fresh = fresh;
    }
    if (op == NULL || name == Py_None) {
        return op;
    }
    OpObject *o = (OpObject *)op;
    if (!PyUnicode_Check(name)) {
        Py_XSETREF(o->pending_exc,
                   pgw_make_exc(PyExc_TypeError, "name must be str"));
    }
    else {
        o->stmt_name = PyUnicode_AsUTF8String(name);
        if (o->stmt_name == NULL) {
            Py_DECREF(op);
            return NULL;
        }
    }
    return op;
}

/* An op that runs an already prepared statement (no cache lookup, no
 * re-prepare behind the caller's back). */
static PyObject *
stmt_op(ConnCoreObject *c, OpKind kind, StmtObject *s, PyObject *args,
        PyObject *record_class, PyObject *timeout, Py_ssize_t column)
{
    /* record_class: a Record subclass, or a row factory (checked by
     * pgwire: PreparedStatement, cursors) */
    int factory = pgw_rows_is_factory(record_class);
    PyObject *op = pgw_op_new(c, kind, s->query, args,
                              factory ? NULL : record_class, timeout, column);
    if (factory && kind != OP_FETCHVAL) {
        set_row_factory(op, record_class);
    }
    if (op != NULL) {
        OpObject *o = (OpObject *)op;
        Py_XSETREF(o->stmt, (StmtObject *)Py_NewRef(s));
        o->preset_stmt = 1;
        /* the statement stays open while this op may run, even if its
         * PreparedStatement is dropped first:
         * await (await conn.prepare(q)).fetch() */
        s->wrappers++;
        o->held_stmt = (StmtObject *)Py_NewRef(s);
    }
    return op;
}

/* _exec_stmt(stmt, kind, args, timeout, record_class, column) -> awaitable
 * running a prepared statement (kind: 0 fetch, 1 fetchrow, 2 fetchval,
 * 3 execute, 4 executemany, 5 fetchmany). */
static PyObject *
conn_exec_stmt(ConnCoreObject *c, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyObject_TypeCheck(args[0], c->st->StatementType)) {
        PyErr_SetString(PyExc_TypeError,
                        "_exec_stmt(stmt, kind, args, timeout, "
                        "record_class, column)");
        return NULL;
    }
    long kind = PyLong_AsLong(args[1]);
    if (kind < OP_FETCH || kind > OP_FETCHMANY) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "bad kind");
        }
        return NULL;
    }
    int by_name = PyUnicode_Check(args[5]);
    Py_ssize_t column = 0;
    if (!by_name) {
        column = PyNumber_AsSsize_t(args[5], PyExc_IndexError);
        if (column == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    PyObject *op = stmt_op(c, (OpKind)kind, (StmtObject *)args[0], args[2],
                           args[4], args[3], column);
    if (op != NULL && by_name && PyObject_TypeCheck(op, c->st->OpType)) {
        ((OpObject *)op)->column_name = Py_NewRef(args[5]);
    }
    return op;
}

/* _cursor_exec(stmt, portal: bytes, args: tuple|None, max_rows, timeout,
 * record_class) -> awaitable list of rows.  args given: Bind the portal
 * first; max_rows <= 0: Bind only. */
static PyObject *
conn_cursor_exec(ConnCoreObject *c, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyObject_TypeCheck(args[0], c->st->StatementType) ||
        !PyBytes_Check(args[1]) ||
        !(args[2] == Py_None || PyTuple_Check(args[2]))) {
        PyErr_SetString(PyExc_TypeError,
                        "_cursor_exec(stmt, portal, args, max_rows, "
                        "timeout, record_class)");
        return NULL;
    }
    long max_rows = PyLong_AsLong(args[3]);
    if (max_rows == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (max_rows > INT32_MAX) {
        max_rows = INT32_MAX;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        return NULL;
    }
    PyObject *op = stmt_op(c, OP_CURSOR, (StmtObject *)args[0],
                           args[2] == Py_None ? empty : args[2], args[5],
                           args[4], 0);
    Py_DECREF(empty);
    if (op != NULL) {
        OpObject *o = (OpObject *)op;
        o->portal = Py_NewRef(args[1]);
        o->cursor_bind = args[2] != Py_None;
        o->max_rows = (int32_t)max_rows;
    }
    return op;
}

static PyObject *
conn_pipeline_sync(ConnCoreObject *c, PyObject *timeout)
{
    PyObject *q = PyUnicode_FromString("");
    PyObject *empty = q != NULL ? PyTuple_New(0) : NULL;
    PyObject *op = empty != NULL
                       ? pgw_op_new(c, OP_SYNC, q, empty, NULL, timeout, 0)
                       : NULL;
    Py_XDECREF(q);
    Py_XDECREF(empty);
    return op;
}

static PyObject *
conn_is_closed(ConnCoreObject *c, PyObject *Py_UNUSED(a))
{
    ProtocolObject *p = c->proto;
    return PyBool_FromLong(p == NULL || p->state == PS_CLOSED || p->aborted);
}

static PyObject *
conn_get_server_pid(ConnCoreObject *c, PyObject *Py_UNUSED(a))
{
    return PyLong_FromLong(c->proto ? c->proto->backend_pid : 0);
}

static PyObject *
conn_is_in_transaction(ConnCoreObject *c, PyObject *Py_UNUSED(a))
{
    ProtocolObject *p = c->proto;
    /* the pool's reset in flight ends any transaction before anything
     * the user sends runs (or the connection closes) */
    return PyBool_FromLong(p != NULL && p->reset_req == 0 &&
                           (pgc_conn_tx_status(&p->conn) == PGC_TX_INTRANS ||
                            pgc_conn_tx_status(&p->conn) == PGC_TX_INERROR));
}

static PyObject *
conn_get_protocol(ConnCoreObject *c, void *Py_UNUSED(x))
{
    if (c->proto == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(c->proto);
}

/* ------------------------------------------------------------------ */
/* Type                                                                */
/* ------------------------------------------------------------------ */

static int
conn_init(ConnCoreObject *c, PyObject *args, PyObject *kwds)
{
    (void)kwds;
    ModState *st = pgw_get_state_by_type(Py_TYPE(c));
    if (st == NULL) {
        return -1;
    }
    PyObject *proto;
    if (PyTuple_GET_SIZE(args) < 1) {
        PyErr_SetString(PyExc_TypeError,
                        "Connection() needs the protocol as first argument");
        return -1;
    }
    proto = PyTuple_GET_ITEM(args, 0);
    if (!PyObject_TypeCheck(proto, st->ProtocolType)) {
        PyErr_SetString(PyExc_TypeError,
                        "the first argument must be a pgwire Protocol");
        return -1;
    }
    c->st = st;
    Py_XSETREF(c->proto, (ProtocolObject *)Py_NewRef(proto));
    return 0;
}

/* _copy(query, copy_in, stmt) -> awaitable COPY op (see copy.c).  stmt:
 * None, or for copy_records_to_table the statement describing the target
 * columns, whose binary codecs encode the records.  The caller bounds the
 * whole COPY (timeout), so the op has no timer of its own. */
static PyObject *
conn_copy(ConnCoreObject *c, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !(args[2] == Py_None ||
                        PyObject_TypeCheck(args[2], c->st->StatementType))) {
        PyErr_SetString(PyExc_TypeError, "_copy(query, copy_in, stmt)");
        return NULL;
    }
    int copy_in = PyObject_IsTrue(args[1]);
    if (copy_in < 0) {
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        return NULL;
    }
    PyObject *op = pgw_op_new(c, copy_in ? OP_COPY_IN : OP_COPY_OUT, args[0],
                              empty, NULL, NULL, 0);
    Py_DECREF(empty);
    if (op == NULL) {
        return NULL;
    }
    OpObject *o = (OpObject *)op;
    o->timeout = -1;
    if (o->pending_exc != NULL && o->proto != NULL &&
        PyObject_IsInstance(o->pending_exc, c->st->TimeoutError) == 1) {
        Py_CLEAR(o->pending_exc); /* a zero command_timeout: not ours */
    }
    if (args[2] != Py_None && ((StmtObject *)args[2])->closed &&
        o->pending_exc == NULL) {
        o->pending_exc = pgw_make_exc(c->st->InterfaceError,
                                      "the prepared statement is closed");
        if (o->pending_exc == NULL) {
            Py_DECREF(op);
            return NULL;
        }
    }
    else if (args[2] != Py_None) {
        StmtObject *s = (StmtObject *)args[2];
        for (uint16_t i = 0; i < s->ncols && o->pending_exc == NULL; i++) {
            const PgwCodec *cd = s->col_codecs[i];
            if (cd->format != PGC_FORMAT_BINARY || cd->encode == NULL) {
                o->pending_exc = pgw_make_exc(
                    c->st->InternalClientError,
                    "no binary format encoder for type %s (column %R): "
                    "binary COPY cannot send it; use copy_to_table with a "
                    "text or csv source instead",
                    cd->name, PyTuple_GET_ITEM(s->names, i));
                if (o->pending_exc == NULL) {
                    Py_DECREF(op);
                    return NULL;
                }
            }
        }
        o->stmt = (StmtObject *)Py_NewRef(s);
    }
    return op;
}

static PyObject *
conn_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    ConnCoreObject *c = (ConnCoreObject *)type->tp_alloc(type, 0);
    if (c == NULL) {
        return NULL;
    }
    c->st = pgw_get_state_by_type(type);
    c->proto = NULL;
    c->weakreflist = NULL;
    return (PyObject *)c;
}

/* An unclosed connection that is garbage: warn and abort its socket. */
static void
conn_finalize(ConnCoreObject *c)
{
    ProtocolObject *p = c->proto;
    if (p == NULL || p->state == PS_CLOSED || p->aborted ||
        p->transport == NULL) {
        return;
    }
    PyObject *v = PyErr_GetRaisedException();
    if (PyErr_WarnFormat(PyExc_ResourceWarning, 1,
                         "unclosed connection %R; run in asyncio debug mode "
                         "to show the traceback of connection origin",
                         (PyObject *)c) < 0) {
        PyErr_WriteUnraisable((PyObject *)c);
    }
    PyObject *r = PyObject_CallMethodNoArgs(p->transport, c->st->str_abort);
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
    p->aborted = 1;
    PyErr_SetRaisedException(v);
}

static int
conn_traverse(ConnCoreObject *c, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(c));
    Py_VISIT(c->proto);
    return 0;
}

static int
conn_clear(ConnCoreObject *c)
{
    Py_CLEAR(c->proto);
    return 0;
}

static void
conn_dealloc(ConnCoreObject *c)
{
    if (PyObject_CallFinalizerFromDealloc((PyObject *)c) < 0) {
        return; /* resurrected */
    }
    PyTypeObject *tp = Py_TYPE(c);
    PyObject_GC_UnTrack(c);
    if (c->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)c);
    }
    conn_clear(c);
    tp->tp_free((PyObject *)c);
    Py_DECREF(tp);
}

#define FASTKW (METH_FASTCALL | METH_KEYWORDS)
#define FASTFN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef conn_methods[] = {
    {"fetch", FASTFN(conn_fetch), FASTKW,
     "fetch($self, query, *args, timeout=None, record_class=None,\n"
     "      row_factory=None)\n--\n\n"
     "Run a query and return the results as a list of Record.\n\n"
     ":param str query: Query text.\n"
     ":param args: Query arguments.\n"
     ":param float timeout: Optional timeout value in seconds.\n"
     ":param type record_class: If specified, the class to use for the\n"
     "    records returned (a subclass of Record).\n"
     ":param row_factory: Instead of record_class, a row factory\n"
     "    (pgwire.rows.dict_row, class_row(cls), ...; docs/rows.md).\n"
     ":return list: A list of Record (or record_class) instances."},
    {"fetchrow", FASTFN(conn_fetchrow), FASTKW,
     "fetchrow($self, query, *args, timeout=None, record_class=None,\n"
     "         row_factory=None)\n--\n\n"
     "Run a query and return the first row.\n\n"
     ":param str query: Query text.\n"
     ":param args: Query arguments.\n"
     ":param float timeout: Optional timeout value in seconds.\n"
     ":param type record_class: If specified, the class to use for the\n"
     "    value returned (a subclass of Record).\n"
     ":param row_factory: Instead of record_class, a row factory\n"
     "    (pgwire.rows.dict_row, class_row(cls), ...; docs/rows.md).\n"
     ":return: The first row as a Record, or None if no records were\n"
     "    returned by the query."},
    {"fetchval", FASTFN(conn_fetchval), FASTKW,
     "fetchval($self, query, *args, column=0, timeout=None)\n--\n\n"
     "Run a query and return a value in the first row.\n\n"
     ":param str query: Query text.\n"
     ":param args: Query arguments.\n"
     ":param column: Index (or name) of the column in the record.\n"
     ":param float timeout: Optional timeout value in seconds.\n"
     ":return: The value of the specified column of the first record, or\n"
     "    None if no records were returned by the query."},
    {"execute", FASTFN(conn_execute), FASTKW,
     "execute($self, query, *args, timeout=None)\n--\n\n"
     "Execute an SQL command (or commands).\n\n"
     "Without arguments, the query may hold several commands separated\n"
     "by semicolons (simple query protocol).\n\n"
     ":param str query: Query to execute.\n"
     ":param args: Query arguments.\n"
     ":param float timeout: Optional timeout value in seconds.\n"
     ":return str: Status of the last SQL command."},
    {"executemany", FASTFN(conn_executemany), FASTKW,
     "executemany($self, command, args, *, timeout=None)\n--\n\n"
     "Execute an SQL command for each sequence of arguments in args.\n\n"
     ":param command: Command to execute.\n"
     ":param args: An iterable containing sequences of arguments.\n"
     ":param float timeout: Optional timeout value in seconds.\n"
     ":return None: This method discards the results of the operations."},
    {"fetchmany", FASTFN(conn_fetchmany), FASTKW,
     "fetchmany($self, query, args, *, timeout=None, record_class=None,\n"
     "          row_factory=None)\n--\n\n"
     "Run a query for each sequence of arguments in args and return the\n"
     "results as a list of Record.\n\n"
     ":param query: Query to execute.\n"
     ":param args: An iterable containing sequences of arguments.\n"
     ":param float timeout: Optional timeout value in seconds.\n"
     ":param type record_class: If specified, the class to use for the\n"
     "    records returned (a subclass of Record).\n"
     ":param row_factory: Instead of record_class, a row factory\n"
     "    (pgwire.rows.dict_row, class_row(cls), ...; docs/rows.md).\n"
     ":return list: A list of Record (or record_class) instances."},
    {"_prepare", (PyCFunction)(void (*)(void))conn_prepare,
     METH_VARARGS | METH_KEYWORDS, NULL},
    {"_exec_stmt", FASTFN(conn_exec_stmt), METH_FASTCALL, NULL},
    {"_cursor_exec", FASTFN(conn_cursor_exec), METH_FASTCALL, NULL},
    {"_copy", FASTFN(conn_copy), METH_FASTCALL, NULL},
    {"_pipeline_sync", (PyCFunction)conn_pipeline_sync, METH_O,
     "_pipeline_sync(timeout) -> awaitable: a Sync ending the current "
     "conn.pipeline() group; its await returns once the server has "
     "answered it (ReadyForQuery)."},
    {"is_closed", (PyCFunction)conn_is_closed, METH_NOARGS,
     "Return True if the connection is closed."},
    {"get_server_pid", (PyCFunction)conn_get_server_pid, METH_NOARGS,
     "Return the PID of the server process."},
    {"is_in_transaction", (PyCFunction)conn_is_in_transaction, METH_NOARGS,
     "Return True if a transaction is open (from ReadyForQuery)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef conn_getset[] = {
    {"_protocol", (getter)conn_get_protocol, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef conn_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ConnCoreObject, weakreflist),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot conn_slots[] = {
    {Py_tp_new, conn_new},
    {Py_tp_init, conn_init},
    {Py_tp_finalize, conn_finalize},
    {Py_tp_dealloc, conn_dealloc},
    {Py_tp_traverse, conn_traverse},
    {Py_tp_clear, conn_clear},
    {Py_tp_methods, conn_methods},
    {Py_tp_getset, conn_getset},
    {Py_tp_members, conn_members},
    {Py_tp_doc, "C core of pgwire.Connection (query methods)."},
    {0, NULL},
};

static PyType_Spec conn_spec = {
    .name = "pgwire._pgwire.ConnectionCore",
    .basicsize = sizeof(ConnCoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = conn_slots,
};

int
pgw_conn_setup_types(PyObject *module, ModState *st)
{
    st->ConnectionCoreType = (PyTypeObject *)
        PyType_FromModuleAndSpec(module, &conn_spec, NULL);
    if (st->ConnectionCoreType == NULL) {
        return -1;
    }
    return PyModule_AddType(module, st->ConnectionCoreType);
}
