/* op.c -- the object a query method returns.
 *
 * It behaves like the coroutine asyncpg returns (__await__, send, throw,
 * close; am_send for the interpreter's fast path), so create_task(),
 * gather(), wait_for() and shield() accept it.  Nothing happens until the
 * first send: an un-awaited call does nothing.  Every error, including bad
 * arguments and "another operation is in progress", is raised from the
 * awaitable, never at call time.
 *
 * Phases: INIT -> [WAIT_TURN ->] INIT -> [WAIT_PREPARE ->] WAIT_RESULT ->
 * DONE.  Each request is pushed into the connection's request engine
 * (src/core/pgc_conn.h) with the op as its `user`; the engine's events for
 * it come to pgw_op_on_row / pgw_op_on_event, and its REQ_DONE to
 * pgw_op_on_done, which ends the wait through pgw_op_wake (the only place
 * that knows about asyncio futures).  Each wait yields a fresh future that
 * is resolved there (or by the timer, or on connection loss).
 */
#include "proto.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void
op_cancel_timer(OpObject *op)
{
    if (op->timer != NULL) {
        /* Also called on error paths (op_finish_error): keep the pending
         * exception, or the op returns an error with none set. */
        PyObject *v = PyErr_GetRaisedException();
        PyObject *r = PyObject_CallMethodNoArgs(op->timer, op->st->str_cancel);
        Py_XDECREF(r);
        PyErr_Clear();
        Py_CLEAR(op->timer);
        PyErr_SetRaisedException(v);
    }
}

static int many_server_error(OpObject *op, PgcView body);

static int
op_start_timer(OpObject *op)
{
    if (op->timeout < 0) {
        return 0;
    }
    PyObject *cb = PyObject_GetAttrString((PyObject *)op, "_on_timeout");
    if (cb == NULL) {
        return -1;
    }
    PyObject *delay = PyFloat_FromDouble(op->timeout);
    if (delay == NULL) {
        Py_DECREF(cb);
        return -1;
    }
    PyObject *args[] = {op->proto->loop, delay, cb};
    op->timer = PyObject_VectorcallMethod(op->st->str_call_later, args,
                                          3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                          NULL);
    Py_DECREF(delay);
    Py_DECREF(cb);
    return op->timer == NULL ? -1 : 0;
}

void
pgw_op_wake(OpObject *op)
{
    op->armed = 0;
    if (op->fut != NULL && pgw_future_resolve(op->st, op->fut) < 0) {
        PyErr_WriteUnraisable((PyObject *)op);
    }
}

/* A fresh future to wait on; returns a new reference to yield. */
static PyObject *
op_yield(OpObject *op)
{
    PyObject *fut = pgw_proto_new_future(op->proto);
    if (fut == NULL) {
        return NULL;
    }
    Py_XSETREF(op->fut, fut);
    if (PyObject_SetAttr(fut, op->st->str_asyncio_future_blocking, Py_True) <
        0) {
        return NULL;
    }
    op->armed = 1;
    return Py_NewRef(fut);
}

static void
op_set_error(OpObject *op, PyObject *exc)
{
    if (op->error == NULL) {
        op->error = Py_NewRef(exc);
    }
}

/* Record the pending exception as the op's error (first one wins). */
static void
op_capture_error(OpObject *op)
{
    PyObject *v = pgw_fetch_exc();
    if (v != NULL) {
        op_set_error(op, v);
        Py_DECREF(v);
    }
}

static void
op_raise_error(OpObject *op)
{
    PyObject *e = op->error;
    op->error = NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(e), e);
    Py_DECREF(e);
}

/* ------------------------------------------------------------------ */
/* Called by the protocol                                              */
/* ------------------------------------------------------------------ */

int
pgw_op_on_row(OpObject *op, PgcView body)
{
    if (!op->want_rows || op->error != NULL || op->stmt == NULL) {
        return 0;
    }
    PyObject *row = pgw_stmt_decode_row(op->stmt, &op->proto->codec,
                                        op->record_class, body);
    if (row == NULL) {
        op_capture_error(op);
        return 0;
    }
    int rc = PyList_Append(op->rows, row);
    Py_DECREF(row);
    if (rc < 0) {
        op_capture_error(op);
    }
    return 0;
}

/* The unnamed portal's RowDescription must match the statement we
 * decode with; if the schema changed under us, fail with
 * InvalidCachedStatementError (retried once outside a transaction). */
static int
check_portal_desc(OpObject *op, const PgcEvent *ev)
{
    int same;
    if (ev->type == PGC_EV_ROW_DESC) {
        same = pgw_stmt_same_row_desc(op->stmt, ev->body);
    }
    else {
        same = op->stmt->ncols == 0;
    }
    if (same < 0) {
        op_capture_error(op);
    }
    else if (same == 0 && op->error == NULL) {
        op->error = pgw_make_exc(op->st->InvalidCachedStatementError,
                                 "the result types of the statement "
                                 "changed since it was described");
        if (op->error == NULL) {
            op_capture_error(op);
        }
    }
    if (same != 1) {
        op->want_rows = 0;
    }
    return 0;
}

/* ParameterDescription, RowDescription, NoData: of the statement being
 * prepared (Describe(S)), of the portal (Describe(P), checked), or of a
 * result set of a simple Query (nothing to do). */
static int
on_describe(OpObject *op, const PgcEvent *ev)
{
    int rc = 0;
    if (op->stmt == NULL) {
        return 0;
    }
    if (ev->step == PGC_STEP_PORTAL_ROW_DESC) {
        return check_portal_desc(op, ev);
    }
    if (op->phase != PH_WAIT_PREPARE) {
        return 0;
    }
    if (ev->type == PGC_EV_PARAM_DESC) {
        rc = pgw_stmt_on_param_desc(op->stmt, ev->body);
    }
    else if (ev->step != PGC_STEP_STMT_ROW_DESC) {
        return 0;
    }
    else if (ev->type == PGC_EV_ROW_DESC) {
        rc = pgw_stmt_on_row_desc(op->stmt, &op->proto->codec, ev->body);
    }
    else {
        rc = pgw_stmt_on_no_data(op->stmt);
    }
    if (rc < 0) {
        op_capture_error(op);
    }
    return 0;
}

static int
on_server_error(OpObject *op, PgcView body)
{
    if (op->error != NULL && op->many_failed) {
        return many_server_error(op, body);
    }
    if (op->error != NULL) {
        return 0;
    }
    PyObject *exc = pgw_error_from_msg(op->st, &op->proto->codec, body,
                                       op->query);
    if (exc == NULL) {
        op_capture_error(op);
        return 0;
    }
    pgw_paramstyle_hint(op->proto, exc, op->query);
    op->error = exc;
    return 0;
}

int
pgw_op_on_event(OpObject *op, const PgcEvent *ev)
{
    if (op->proto == NULL) {
        return 0; /* cleared: its results are dropped */
    }
    switch (ev->type) {
    case PGC_EV_ROW:
        return pgw_op_on_row(op, ev->body);
    case PGC_EV_COMMAND_COMPLETE: {
        if (pgw_many_own_tag(op, ev->u.tag)) {
            return 0;
        }
        PyObject *s = PyUnicode_DecodeUTF8((const char *)ev->u.tag.p,
                                           (Py_ssize_t)ev->u.tag.n, "replace");
        if (s == NULL) {
            return -1;
        }
        Py_XSETREF(op->status, s);
        return 0;
    }
    case PGC_EV_EMPTY_QUERY:
        Py_XSETREF(op->status, PyUnicode_FromString(""));
        return op->status ? 0 : -1;
    case PGC_EV_ERROR:
        return on_server_error(op, ev->body);
    case PGC_EV_PARAM_DESC:
    case PGC_EV_ROW_DESC:
    case PGC_EV_NO_DATA:
        return on_describe(op, ev);
    case PGC_EV_COPY_OUT_RESPONSE:
    case PGC_EV_COPY_DATA:
    case PGC_EV_COPY_DONE:
    case PGC_EV_COPY_IN_RESPONSE:
        if (PGW_OP_IS_COPY(op)) {
            return pgw_copy_on_event(op, ev);
        }
        if (ev->type == PGC_EV_COPY_IN_RESPONSE) {
            /* COPY ... FROM STDIN through execute(): refused, and the
             * server is never left waiting for data */
            return pgw_proto_refuse_copy_in(op->proto);
        }
        return 0;
    default:
        return 0;
    }
}

void
pgw_op_pushed(OpObject *op, uint64_t id, int first)
{
    Py_INCREF(op); /* the engine's, released at REQ_DONE or loss */
    op->req_id = id;
    if (first) {
        op->req_first = id;
    }
}

void
pgw_op_on_done(OpObject *op, const PgcEvent *ev)
{
    if (ev->req_id != op->req_id || op->many_open) {
        return; /* an earlier chunk of a streamed batch */
    }
    op->req_id = 0;
    op->req_first = 0;
    if (ev->u.done.status == PGC_REQ_ABORTED && op->error == NULL &&
        op->kind != OP_SYNC) {
        op->error = pgw_make_exc(op->st->PipelineAbortedError,
                                 "the server skipped this statement: an "
                                 "earlier statement of its pipeline group "
                                 "failed");
        if (op->error == NULL) {
            op_capture_error(op);
        }
    }
    pgw_op_wake(op);
}

void
pgw_op_on_lost(OpObject *op, PyObject *exc)
{
    op->req_id = 0;
    op->req_first = 0;
    op->many_open = 0;
    if (op->error != NULL &&
        PyObject_TypeCheck(op->error, (PyTypeObject *)op->st->PostgresError) &&
        !PyObject_TypeCheck(
            op->error, (PyTypeObject *)op->st->ConnectionDoesNotExistError)) {
        /* The server reported an error (FATAL: pg_terminate_backend,
         * shutdown) and closed the connection before ReadyForQuery: the
         * request failed because the connection is gone, as asyncpg says;
         * the server's error stays reachable as __cause__. */
        PyObject *wrapped = pgw_make_exc(
            op->st->ConnectionDoesNotExistError,
            "connection was closed in the middle of operation: %S", op->error);
        if (wrapped == NULL) {
            PyErr_WriteUnraisable((PyObject *)op);
        }
        else {
            if (op->proto != NULL && op->proto->last_fatal == NULL) {
                /* why later calls find the connection closed */
                op->proto->last_fatal = Py_NewRef(op->error);
            }
            PyException_SetCause(wrapped, op->error); /* steals */
            op->error = wrapped;
        }
    }
    else if (exc != NULL && exc != Py_None) {
        op_set_error(op, exc);
    }
    pgw_op_wake(op);
}

/* executemany failed on the client (a value that does not encode, a
 * generator that raises) after part of its batch went out, and the server
 * reports an error too.  Either it refused the portal we executed to abort
 * the batch (34000: the client's error stands), or it failed on a row sent
 * before the client's failure: as asyncpg, the server's error wins (the
 * client's stays reachable as __context__). */
static int
many_server_error(OpObject *op, PgcView body)
{
    PyObject *exc = pgw_error_from_msg(op->st, &op->proto->codec, body,
                                       op->query);
    if (exc == NULL) {
        PyErr_Clear();
        return 0;
    }
    PyObject *state = PyObject_GetAttrString(exc, "sqlstate");
    int ours = state != NULL && PyUnicode_Check(state) &&
               PyUnicode_CompareWithASCIIString(state, "34000") == 0;
    Py_XDECREF(state);
    PyErr_Clear();
    if (ours) {
        Py_DECREF(exc);
        return 0;
    }
    PyException_SetContext(exc, op->error); /* steals */
    op->error = exc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Starting requests                                                   */
/* ------------------------------------------------------------------ */

/* Begin the op's request: exhausted cursors' portals are closed ahead of
 * it, in the same write. */
static int
op_req_begin(OpObject *op, PgcReqBuilder *b, unsigned flags)
{
    ProtocolObject *p = op->proto;
    PgcStatus rc = pgc_req_begin(&p->conn, &p->wb, flags, op, b);
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    if (pgw_write_portal_closes(p, b) < 0) {
        pgc_req_abort(b);
        return -1;
    }
    return 0;
}

/* Commit the request built in b, then write it; the op waits in `phase`
 * for its REQ_DONE. */
/* Write a request just registered with the engine.  If it cannot be
 * written, the connection's state is unknown: it is closed. */
static int
op_flush_pushed(ProtocolObject *p)
{
    if (pgw_proto_flush(p) < 0) {
        PyObject *e = pgw_fetch_exc();
        pgw_proto_fatal(p, e != NULL ? Py_NewRef(e) : NULL);
        PyErr_SetRaisedException(e);
        return -1;
    }
    return 0;
}

static int
op_req_commit(OpObject *op, PgcReqBuilder *b, OpPhase phase)
{
    ProtocolObject *p = op->proto;
    uint64_t id;
    PgcStatus rc = pgc_req_commit(b, &id);
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    pgw_op_pushed(op, id, 1);
    op->phase = phase;
    return op_flush_pushed(p);
}

/* A cursor step: Bind the named portal (first time) and/or Execute it
 * with a row limit; the portal lives until the transaction ends. */
static int
write_cursor(OpObject *op, PgcReqBuilder *b)
{
    ProtocolObject *p = op->proto;
    PgcStr portal = {PyBytes_AS_STRING(op->portal),
                     (size_t)PyBytes_GET_SIZE(op->portal)};
    if (op->cursor_bind &&
        pgw_stmt_write_bind(p, op->stmt, op->args, portal, 1, b) < 0) {
        return -1;
    }
    if (op->max_rows > 0) {
        PgcStatus rc = pgc_req_execute(b, portal, op->max_rows);
        if (rc != PGC_OK) {
            return pgw_proto_push_error(p, rc);
        }
    }
    return 0;
}

/* Bind/Execute of the op's kind for its statement and arguments. */
static int
write_execution(OpObject *op, PgcReqBuilder *b, int describe)
{
    ProtocolObject *p = op->proto;
    StmtObject *s = op->stmt;
    switch (op->kind) {
    case OP_FETCHROW:
    case OP_FETCHVAL:
        return pgw_stmt_write_bind_exec(p, s, op->args, 1, 1, describe, b);
    case OP_EXECUTE:
        return pgw_stmt_write_bind_exec(p, s, op->args, 0, 0, 0, b);
    case OP_CURSOR:
        return write_cursor(op, b);
    default:
        return pgw_stmt_write_bind_exec(p, s, op->args, 0, 1, describe, b);
    }
}

/* Push Bind/Execute/Sync for the op's statement and arguments. */
static int
op_send_execute(OpObject *op)
{
    ProtocolObject *p = op->proto;
    StmtObject *s = op->stmt;
    PgcReqBuilder b;
    if (op_req_begin(op, &b, 0) < 0) {
        return -1;
    }
    if (p->preparing == op) {
        /* pushed behind its prepare: the ops queued behind may follow */
        Py_CLEAR(p->preparing);
        pgw_proto_wake_waiters(p);
    }
    int rc = 0;
    /* The unnamed statement is parsed again in the same batch, with its
     * parameter types pinned, so nothing depends on server-side state
     * left by an earlier round trip (transaction poolers); the portal's
     * RowDescription is checked against what we decode with. */
    int unnamed = PyBytes_GET_SIZE(s->name) == 0;
    int cursor = op->kind == OP_CURSOR;
    int describe = unnamed && op->want_rows && !cursor;
    if (unnamed && (!cursor || op->cursor_bind)) {
        rc = pgw_stmt_write_reparse(p, s, &b);
    }
    if (rc == 0 && (op->kind == OP_EXECUTEMANY || op->kind == OP_FETCHMANY)) {
        return pgw_many_send(op, &b, describe); /* streamed: many.c */
    }
    if (rc == 0) {
        rc = write_execution(op, &b, describe);
    }
    if (rc == 0) {
        PgcStatus st = pgw_proto_req_end(p, &b);
        rc = st == PGC_OK ? 0 : pgw_proto_push_error(p, st);
    }
    if (rc < 0) {
        pgc_req_abort(&b);
        return -1;
    }
    return op_req_commit(op, &b, PH_WAIT_RESULT);
}

/* Exhausted cursors' portals are closed in a request of their own (a
 * simple Query must be alone in its request), written with the next. */
static int
push_portal_closes(ProtocolObject *p)
{
    if (PyList_GET_SIZE(p->pending_portal_closes) == 0) {
        return 0;
    }
    PgcReqBuilder b;
    PgcStatus rc = pgc_req_begin(&p->conn, &p->wb, 0, NULL, &b);
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    if (pgw_write_portal_closes(p, &b) < 0) {
        pgc_req_abort(&b);
        return -1;
    }
    uint64_t id;
    rc = pgc_req_sync(&b);
    if (rc == PGC_OK) {
        rc = pgc_req_commit(&b, &id);
    }
    if (rc != PGC_OK) {
        pgc_req_abort(&b);
        return pgw_proto_push_error(p, rc);
    }
    /* nobody waits for it: it does not make the connection busy */
    pgc_conn_abandon(&p->conn, id);
    return 0;
}

static int
op_send_simple(OpObject *op)
{
    ProtocolObject *p = op->proto;
    Py_ssize_t n;
    PyObject *owner;
    const char *sql = pgw_proto_query_text(p, op->query, NULL, &n, &owner);
    if (sql == NULL) {
        return -1;
    }
    PgcStr s = {sql, (size_t)n};
    PgcReqBuilder b;
    uint64_t id = 0;
    PgcStatus rc = PGC_OK;
    int ok = push_portal_closes(p) == 0;
    if (ok) {
        rc = pgc_req_begin(&p->conn, &p->wb, 0, op, &b);
    }
    if (ok && rc == PGC_OK) {
        rc = pgc_req_query(&b, s);
        if (rc == PGC_OK) {
            rc = pgc_req_commit(&b, &id);
        }
        else {
            pgc_req_abort(&b);
        }
    }
    Py_XDECREF(owner);
    if (ok && rc != PGC_OK) {
        ok = 0;
        if (rc == PGC_ERR_LIMIT) {
            PyErr_SetString(op->st->InterfaceError,
                            "query is too long or contains a NUL character");
        }
        else {
            pgw_proto_push_error(p, rc);
        }
    }
    if (ok) {
        op->want_rows = 0;
        pgw_op_pushed(op, id, 1);
        op->phase = PH_WAIT_RESULT;
    }
    PyObject *e = ok ? NULL : pgw_fetch_exc();
    /* (the portal closes may be pushed even when the query failed) */
    if (pgw_proto_flush(p) < 0) {
        PyObject *fe = pgw_fetch_exc();
        pgw_proto_fatal(p, fe != NULL ? Py_NewRef(fe) : NULL);
        if (e == NULL) {
            e = fe;
        }
        else {
            Py_XDECREF(fe);
        }
    }
    if (e != NULL) {
        PyErr_SetRaisedException(e);
        return -1;
    }
    return 0;
}

static int
op_send_prepare(OpObject *op)
{
    ProtocolObject *p = op->proto;
    Py_ssize_t qlen = PyUnicode_GET_LENGTH(op->query);
    int cacheable = p->cache_max > 0 &&
                    (p->cache_max_query == 0 || qlen <= p->cache_max_query);
    PyObject *name;
    if (op->stmt_name != NULL) {
        name = Py_NewRef(op->stmt_name);
    }
    else {
        name = cacheable ? pgw_stmt_next_name(p) : PyBytes_FromString("");
    }
    if (name == NULL) {
        return -1;
    }
    StmtObject *s = pgw_stmt_new(op->st, op->query, name);
    Py_DECREF(name);
    if (s == NULL) {
        return -1;
    }
    s->explicit_ = op->kind == OP_PREPARE;
    s->ignore_custom = op->ignore_custom;
    if (p->pyformat && pgw_paramstyle_apply(p, s) < 0) {
        Py_DECREF(s);
        return -1;
    }
    Py_XSETREF(op->stmt, s);
    PgcReqBuilder b;
    if (op_req_begin(op, &b, 0) < 0) {
        return -1;
    }
    if (pgw_stmt_write_prepare(p, s, &b) < 0) {
        pgc_req_abort(&b);
        return -1;
    }
    if (op_req_commit(op, &b, PH_WAIT_PREPARE) < 0) {
        return -1;
    }
    if (PGW_QUEUEING(p) && p->preparing == NULL && !op->ignore_custom) {
        p->preparing = (OpObject *)Py_NewRef(op);
    }
    return 0;
}

static Py_ssize_t
op_waiter_index(OpObject *op)
{
    PyObject *w = op->proto->waiters;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(w); i++) {
        if (PyList_GET_ITEM(w, i) == (PyObject *)op) {
            return i;
        }
    }
    return -1;
}

/* The op no longer waits for its turn nor holds the queue (its prepare
 * is answered, or it is done): the ops behind it may go.  Also called on
 * error paths (op_finish_error) with the op's exception pending: waking
 * the waiters calls into asyncio, so the exception is kept aside, or it
 * is lost (reported as unraisable) and the op fails with none set. */
static void
op_leave_turn(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (p == NULL || p->waiters == NULL) {
        return;
    }
    PyObject *v = PyErr_GetRaisedException();
    Py_ssize_t i = op_waiter_index(op);
    if (i >= 0 && PyList_SetSlice(p->waiters, i, i + 1, NULL) < 0) {
        PyErr_WriteUnraisable((PyObject *)op);
    }
    if (p->preparing == op) {
        Py_CLEAR(p->preparing);
        pgw_proto_wake_waiters(p);
    }
    PyErr_SetRaisedException(v);
}

/* May op push its request now?  1 yes, 0 it waits for its turn, -1 no
 * (asyncpg's "another operation is in progress"). */
static int
op_may_push(OpObject *op)
{
    ProtocolObject *p = op->proto;
    Py_ssize_t nwait = PyList_GET_SIZE(p->waiters);
    int first = nwait == 0 || PyList_GET_ITEM(p->waiters, 0) == (PyObject *)op;
    /* The pool's reset in flight (its outcome unknown): one request that
     * is not exclusive may follow it (its Parse or Bind fails with 25P02
     * if the reset failed, see on_reset_event); the rest wait for the
     * outcome.  The reset is not the user's work: not "in progress". */
    int reset = p->reset_req != 0;
    int after_reset = !reset ||
                      (pgw_proto_in_flight(p) == 1 && !PGW_OP_EXCLUSIVE(op));
    if (!PGW_QUEUEING(p)) {
        /* one op at a time; only a cancelled request's drain is waited
         * for (by one op, as the old single "drain waiter") */
        size_t active = pgc_conn_active(&p->conn) - (size_t)reset;
        if (active == 0 && p->cancel == CANCEL_NONE && first && after_reset) {
            return 1;
        }
        return active == 0 && first ? 0 : -1;
    }
    if (!after_reset) {
        return 0;
    }
    /* the op preparing, and the driver's own catalog queries it runs
     * (type introspection), are ahead of the queue */
    int ahead = op == p->preparing || op->ignore_custom;
    if (!first && !ahead) {
        return 0;
    }
    if (p->cancel != CANCEL_NONE || p->writing_paused ||
        (p->preparing != NULL && !ahead)) {
        return 0;
    }
    OpObject *tail = pgw_proto_tail_op(p);
    if (tail != NULL && tail != op && PGW_OP_EXCLUSIVE(tail)) {
        return 0;
    }
    size_t n = pgw_proto_in_flight(p);
    if ((PGW_OP_EXCLUSIVE(op) && n > 0) ||
        n + 2 >= p->conn.limits.max_requests) {
        return 0;
    }
    return 1;
}

/* Is the connection free for us?  1 yes, 0 we must wait for our turn
 * (phase WAIT_TURN, in p->waiters), -1 error. */
static int
op_acquire(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (p->state != PS_READY || p->aborted) {
        if (p->last_fatal != NULL && p->reset_error != NULL &&
            PyObject_TypeCheck(p->last_fatal,
                               (PyTypeObject *)p->reset_error)) {
            /* the pool's reset failed: nothing written after it ran */
            PyObject *e = pgw_make_exc(p->reset_error, "%S", p->last_fatal);
            if (e != NULL) {
                /* (GetCause returns a new reference, SetCause steals) */
                PyException_SetCause(e, PyException_GetCause(p->last_fatal));
                PyErr_SetObject(p->reset_error, e);
                Py_DECREF(e);
            }
            return -1;
        }
        /* as asyncpg: whatever ended it, a closed connection says so; why
         * it ended (a server FATAL, a protocol error) is the cause */
        PyErr_SetString(op->st->InterfaceError, "connection is closed");
        if (p->last_fatal != NULL) {
            PyObject *e = pgw_fetch_exc();
            if (e != NULL) {
                PyException_SetCause(e, Py_NewRef(p->last_fatal));
                PyErr_SetObject((PyObject *)Py_TYPE(e), e);
                Py_DECREF(e);
            }
        }
        return -1;
    }
    Py_ssize_t i = op_waiter_index(op);
    if (p->turn_stmt != NULL) {
        /* copy_records_to_table: its prepare() finished in this very step
         * (nothing else ran since), so every op queued now was submitted
         * after it: its COPY goes first, in the prepare's place */
        int mine = i < 0 && PGW_OP_IS_COPY(op) &&
                   (PyObject *)op->stmt == p->turn_stmt;
        Py_CLEAR(p->turn_stmt);
        if (mine) {
            if (PyList_Insert(p->waiters, 0, (PyObject *)op) < 0) {
                return -1;
            }
            i = 0;
        }
    }
    int may = op_may_push(op);
    if (may > 0) {
        if (i >= 0 && PyList_SetSlice(p->waiters, i, i + 1, NULL) < 0) {
            return -1;
        }
        return 1;
    }
    if (may < 0) {
        PyErr_SetString(op->st->InterfaceError,
                        "cannot perform operation: another operation is in "
                        "progress");
        return -1;
    }
    if (i < 0 && PyList_Append(p->waiters, (PyObject *)op) < 0) {
        return -1;
    }
    op->phase = PH_WAIT_TURN;
    return 0;
}

/* Inside conn.pipeline(): what cannot share a Sync group is refused. */
static int
op_batch_refuse(OpObject *op)
{
    const char *what = NULL;
    if (PGW_OP_IS_COPY(op)) {
        what = "COPY (copy_from_table, copy_from_query, copy_to_table, "
               "copy_records_to_table)";
    }
    else if (op->kind == OP_CURSOR) {
        what = "a cursor (Connection.cursor)";
    }
    else if (op->kind == OP_EXECUTE && PGW_OP_EXCLUSIVE(op)) {
        what = "Connection.execute() without arguments (it may hold "
               "several statements, or COPY)";
    }
    if (what == NULL) {
        return 0;
    }
    PyErr_Format(op->st->InterfaceError,
                 "%s is not allowed inside conn.pipeline(): run it before "
                 "or after the block",
                 what);
    return -1;
}

/* conn.pipeline()'s sync(): a bare Sync closing the open group. */
static int
op_send_sync(OpObject *op)
{
    ProtocolObject *p = op->proto;
    uint64_t id;
    PgcStatus rc = pgc_conn_push_sync(&p->conn, &p->wb, op, &id);
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    pgw_op_pushed(op, id, 1);
    op->phase = PH_WAIT_RESULT;
    return op_flush_pushed(p);
}

static void op_start_clock(OpObject *op);

/* INIT: 1 = yield (phase advanced), 2 = finished (result ready),
 * -1 = error. */
static int
op_start(OpObject *op)
{
    if (op->pending_exc != NULL) {
        PyObject *e = op->pending_exc;
        op->pending_exc = NULL;
        PyErr_SetObject((PyObject *)Py_TYPE(e), e);
        Py_DECREF(e);
        return -1;
    }
    if (op->proto->batch != BATCH_NONE && op_batch_refuse(op) < 0) {
        return -1;
    }
    int free_ = op_acquire(op);
    if (free_ <= 0) {
        if (free_ == 0 && op->timer == NULL && op_start_timer(op) < 0) {
            return -1;
        }
        return free_ == 0 ? 1 : -1;
    }
    if (op->timer == NULL && op_start_timer(op) < 0) {
        return -1;
    }
    if (!op->counted) {
        op->counted = 1;
        op->proto->queries_count++;
    }
    if ((op->proto->query_log != NULL || op->st->trace_hook != NULL) &&
        op->t_start == 0) {
        op_start_clock(op);
    }
    if (op->preset_stmt) {
        if (op->stmt->closed) {
            PyErr_SetString(op->st->InterfaceError,
                            "the prepared statement is closed");
            return -1;
        }
        return op_send_execute(op) < 0 ? -1 : 1;
    }
    if (op->kind == OP_SYNC) {
        return op_send_sync(op) < 0 ? -1 : 1;
    }
    if (PGW_OP_IS_COPY(op)) {
        PgcReqBuilder b;
        if (op_req_begin(op, &b,
                         op->kind == OP_COPY_IN ? PGC_REQ_F_COPY_IN : 0) < 0) {
            return -1;
        }
        if (pgw_copy_send(op, &b) < 0) {
            pgc_req_abort(&b);
            return -1;
        }
        return op_req_commit(op, &b, PH_WAIT_RESULT) < 0 ? -1 : 1;
    }
    if (op->kind == OP_EXECUTE && PyTuple_GET_SIZE(op->args) == 0) {
        return op_send_simple(op) < 0 ? -1 : 1;
    }
    StmtObject *s = NULL;
    /* Connection.prepare() parses afresh, as asyncpg does (a table
     * dropped and created again by another session is seen) */
    if (op->stmt_name == NULL && !op->fresh) {
        s = op->proto->cache_max > 0 ? pgw_cache_get(op->proto, op->query)
                                     : pgw_unnamed_get(op->proto, op->query);
    }
    if (s == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (s != NULL && s->ignore_custom != op->ignore_custom) {
        Py_CLEAR(s); /* resolved with other codecs: prepare anew */
    }
    if (s != NULL) {
        Py_XSETREF(op->stmt, s);
        if (op->kind == OP_PREPARE) {
            op->t_start = 0; /* a cache hit: no request, no span */
            return 2;
        }
        return op_send_execute(op) < 0 ? -1 : 1;
    }
    return op_send_prepare(op) < 0 ? -1 : 1;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

static PyObject *
op_fetchval_result(OpObject *op)
{
    if (PyList_GET_SIZE(op->rows) == 0) {
        Py_RETURN_NONE;
    }
    RecordObject *r = (RecordObject *)PyList_GET_ITEM(op->rows, 0);
    if (op->column_name != NULL) {
        return PyObject_GetItem((PyObject *)r, op->column_name);
    }
    Py_ssize_t col = op->column;
    if (col < 0 || col >= Py_SIZE(r)) {
        PyErr_SetString(PyExc_IndexError, "the index is out of range");
        return NULL;
    }
    return Py_NewRef(r->items[col]);
}

static PyObject *
op_result(OpObject *op)
{
    switch (op->kind) {
    case OP_FETCH:
    case OP_FETCHMANY:
    case OP_CURSOR:
        return Py_NewRef(op->rows);
    case OP_FETCHROW:
        if (PyList_GET_SIZE(op->rows) == 0) {
            Py_RETURN_NONE;
        }
        return Py_NewRef(PyList_GET_ITEM(op->rows, 0));
    case OP_FETCHVAL:
        return op_fetchval_result(op);
    case OP_EXECUTE:
    case OP_COPY_OUT:
    case OP_COPY_IN:
        if (op->status == NULL) {
            return PyUnicode_FromString("");
        }
        return Py_NewRef(op->status);
    case OP_PREPARE:
        return Py_NewRef(op->stmt);
    default:
        Py_RETURN_NONE;
    }
}

/* After a server error on a statement we had prepared ("cached plan must
 * not change result type", a statement that vanished, or result types
 * that changed): forget it; outside a transaction prepare it again and
 * retry once (the failed attempt changed nothing: errors abort it). */
static int
op_try_reprepare(OpObject *op)
{
    ProtocolObject *p = op->proto;
    PyObject *e = op->error;
    StmtObject *s = op->stmt;
    if (s == NULL || op->kind == OP_PREPARE || PGW_OP_IS_COPY(op)) {
        return 0;
    }
    int outdated = PyObject_IsInstance(e, op->st->OutdatedSchemaCacheError);
    if (outdated != 0) {
        /* a composite's layout changed: drop what we know about types and
         * the statements built on it; the error is raised */
        if (outdated > 0) {
            pgw_cache_clear(p);
            PyDict_Clear(p->unnamed_cache);
            pgw_proto_reset_types(p);
        }
        return outdated < 0 ? -1 : 0;
    }
    int stale = PyObject_IsInstance(e, op->st->InvalidCachedStatementError);
    if (stale == 0 && PyBytes_GET_SIZE(s->name) > 0 && !s->explicit_) {
        stale = PyObject_IsInstance(e, op->st->InvalidSQLStatementNameError);
    }
    if (stale <= 0) {
        return stale;
    }
    if (pgw_cache_forget(p, s) < 0) {
        return -1;
    }
    if (op->retried || op->preset_stmt || op->many_oneshot ||
        pgc_conn_tx_status(&p->conn) != PGC_TX_IDLE) {
        return 0;
    }
    op->retried = 1;
    Py_CLEAR(op->stmt);
    Py_CLEAR(op->error);
    Py_CLEAR(op->status);
    if (PyList_SetSlice(op->rows, 0, PyList_GET_SIZE(op->rows), NULL) < 0) {
        return -1;
    }
    op->want_rows = op->kind != OP_EXECUTE && op->kind != OP_EXECUTEMANY;
    op->phase = PH_INIT;
    return 1;
}

/* What op_log reports to: query loggers (execute, executemany, fetch*,
 * not the driver's own catalog queries) and tracing (every request but
 * a bare Sync). */
static int
op_logged(OpObject *op)
{
    return op->proto->query_log != NULL && op->kind <= OP_FETCHMANY &&
           !op->ignore_custom;
}

static int
op_traced(OpObject *op)
{
    return op->st->trace_hook != NULL && op->kind != OP_SYNC;
}

/* The query starts now (op_start, with a query logger or tracing on). */
static void
op_start_clock(OpObject *op)
{
    if (op_logged(op) || op_traced(op)) {
        op->t_start = pgw_monotonic();
    }
}

static void
op_log_query(OpObject *op, double elapsed, PyObject *exc)
{
    PyObject *el = PyFloat_FromDouble(elapsed);
    PyObject *timeout = op->timeout < 0 ? Py_NewRef(Py_None)
                                        : PyFloat_FromDouble(op->timeout);
    if (el != NULL && timeout != NULL) {
        PyObject *args[] = {op->query, op->args ? op->args : Py_None, timeout,
                            el, exc ? exc : Py_None};
        PyObject *cb = Py_NewRef(op->proto->query_log);
        PyObject *r = PyObject_Vectorcall(cb, args, 5, NULL);
        Py_DECREF(cb);
        Py_XDECREF(r);
    }
    Py_XDECREF(el);
    Py_XDECREF(timeout);
    if (PyErr_Occurred()) {
        PyErr_WriteUnraisable((PyObject *)op);
    }
}

/* pgwire.tracing's hook(connection or None, kind, query, elapsed,
 * exception or None, batch): batch is the number of argument sequences
 * of executemany/fetchmany, else -1.  Called from the op's own step,
 * throw or close, so in the context of the task (or thread) that awaits
 * it, whoever read its result off the socket: the span it records is a
 * child of the caller's current span. */
static void
op_log_trace(OpObject *op, double elapsed, PyObject *exc)
{
    ProtocolObject *p = op->proto;
    PyObject *conn = NULL;
    if (p->conn_ref != NULL && PyWeakref_GetRef(p->conn_ref, &conn) < 0) {
        PyErr_WriteUnraisable((PyObject *)op);
    }
    Py_ssize_t batch = op->kind == OP_EXECUTEMANY || op->kind == OP_FETCHMANY
                           ? op->many_index
                           : -1;
    PyObject *kind = PyLong_FromLong((long)op->kind);
    PyObject *el = PyFloat_FromDouble(elapsed);
    PyObject *nb = PyLong_FromSsize_t(batch);
    if (kind != NULL && el != NULL && nb != NULL) {
        PyObject *args[] = {
            conn ? conn : Py_None, kind, op->query ? op->query : Py_None, el,
            exc ? exc : Py_None,   nb};
        PyObject *cb = Py_NewRef(op->st->trace_hook);
        PyObject *r = PyObject_Vectorcall(cb, args, 6, NULL);
        Py_DECREF(cb);
        Py_XDECREF(r);
    }
    Py_XDECREF(conn);
    Py_XDECREF(kind);
    Py_XDECREF(el);
    Py_XDECREF(nb);
    if (PyErr_Occurred()) {
        PyErr_WriteUnraisable((PyObject *)op);
    }
}

/* Report the finished query to Connection._log_query (query loggers) and
 * to pgwire.tracing.  exc: the exception it ended with, or NULL. */
static void
op_log(OpObject *op, PyObject *exc)
{
    ProtocolObject *p = op->proto;
    if (op->t_start == 0 || p == NULL) {
        return;
    }
    double elapsed = pgw_monotonic() - op->t_start;
    op->t_start = 0;
    if (op_logged(op)) {
        op_log_query(op, elapsed, exc);
    }
    if (op_traced(op)) {
        op_log_trace(op, elapsed, exc);
    }
}

/* op_log with the pending exception (kept pending). */
static void
op_log_pending(OpObject *op)
{
    if (op->t_start == 0 || op->proto == NULL) {
        return;
    }
    PyObject *v = PyErr_GetRaisedException();
    op_log(op, v);
    PyErr_SetRaisedException(v);
}

static PySendResult
op_complete(OpObject *op, PyObject **result)
{
    op->phase = PH_DONE;
    op_leave_turn(op);
    op_cancel_timer(op);
    if (op->t_start != 0) {
        op_log(op, op->error);
    }
    if (op->error != NULL) {
        op_raise_error(op);
        *result = NULL;
        return PYGEN_ERROR;
    }
    if (op->stmt != NULL && op->status != NULL && !PGW_OP_IS_COPY(op)) {
        Py_XSETREF(op->stmt->last_status, Py_NewRef(op->status));
    }
    if (op->kind == OP_PREPARE && op->proto != NULL &&
        PGW_QUEUEING(op->proto) && op->proto->waiters != NULL &&
        PyList_GET_SIZE(op->proto->waiters) > 0) {
        Py_XSETREF(op->proto->turn_stmt, Py_NewRef(op->stmt));
    }
    *result = op_result(op);
    return *result ? PYGEN_RETURN : PYGEN_ERROR;
}

/* Codecs resolved: cache the statement, then send the execution (or, for
 * prepare(), finish).  1 = yield, 2 = done, -1 = error. */
static int
op_after_resolve(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (op->stmt_name == NULL && !op->fresh) {
        int rc = PyBytes_GET_SIZE(op->stmt->name) > 0
                     ? pgw_cache_put(p, op->stmt)
                     : pgw_unnamed_put(p, op->stmt);
        if (rc < 0) {
            return -1;
        }
    }
    if (op->kind == OP_PREPARE) {
        return 2;
    }
    int free_ = op_acquire(op);
    if (free_ <= 0) {
        return free_ == 0 ? 1 : -1;
    }
    return op_send_execute(op) < 0 ? -1 : 1;
}

/* Start Connection._introspect_types(missing) (an overridable hook, looked
 * up by name) as a coroutine that op_step drives. */
static int
op_start_introspection(OpObject *op, PyObject *missing)
{
    ProtocolObject *p = op->proto;
    PyObject *conn = NULL;
    if (p->conn_ref == NULL || PyWeakref_GetRef(p->conn_ref, &conn) <= 0) {
        PyErr_SetString(op->st->InterfaceError, "connection is closed");
        return -1;
    }
    PyObject *name = PyUnicode_FromString("_introspect_types");
    PyObject *sub = name ? PyObject_CallMethodOneArg(conn, name, missing)
                         : NULL;
    Py_XDECREF(name);
    Py_DECREF(conn);
    if (sub == NULL) {
        return -1;
    }
    Py_XSETREF(op->sub, sub);
    op->phase = PH_WAIT_SUB;
    return 0;
}

/* Pick the statement's codecs; introspect the unknown types first if
 * there are any.  3 = continue stepping (introspection started), else as
 * op_after_resolve. */
static int
op_resolve(OpObject *op)
{
    PyObject *missing;
    if (pgw_stmt_resolve(op->proto, op->stmt, 0, &missing) < 0) {
        return -1;
    }
    if (missing != NULL) {
        int rc = op_start_introspection(op, missing);
        Py_DECREF(missing);
        return rc < 0 ? -1 : 3;
    }
    return op_after_resolve(op);
}

/* WAIT_PREPARE finished: pick codecs (introspecting unknown types first),
 * then op_after_resolve.  3 = continue stepping (introspection started). */
static int
op_after_prepare(OpObject *op)
{
    if (!op->stmt->described) {
        PyErr_SetString(op->st->ProtocolError,
                        "the server did not describe the statement");
        return -1;
    }
    return op_resolve(op);
}

/* Introspection rounds for one statement at most (a schema reload racing
 * the first one makes a second necessary). */
#define PGW_INTRO_ROUNDS 3

/* Drive the introspection coroutine one step.  Returns like op_step's
 * helpers; on PYGEN_NEXT *result is what it yielded. */
static int
op_step_sub(OpObject *op, PyObject **result)
{
    PyObject *res = NULL;
    PySendResult r = PyIter_Send(op->sub, Py_None, &res);
    if (r == PYGEN_NEXT) {
        /* what the task now waits on: a timeout must be able to wake it */
        Py_XSETREF(op->fut, Py_NewRef(res));
        *result = res;
        return 4;
    }
    Py_CLEAR(op->sub);
    if (r == PYGEN_ERROR) {
        return -1;
    }
    Py_XDECREF(res);
    PyObject *missing;
    /* A reload_schema_state() (or an outdated composite) while the
     * introspection ran drops the codecs it relied on: introspect what is
     * missing again, as asyncpg retries, a bounded number of times, then
     * fall back (final resolve). */
    if (++op->intro_rounds < PGW_INTRO_ROUNDS) {
        return op_resolve(op);
    }
    if (pgw_stmt_resolve(op->proto, op->stmt, 1, &missing) < 0) {
        return -1;
    }
    Py_XDECREF(missing);
    return op_after_resolve(op);
}

/* ------------------------------------------------------------------ */
/* The step function                                                   */
/* ------------------------------------------------------------------ */

static PySendResult
op_finish_error(OpObject *op, PyObject **result)
{
    op->phase = PH_DONE;
    op_leave_turn(op);
    op_cancel_timer(op);
    if (op->t_start != 0) {
        op_log_pending(op);
    }
    *result = NULL;
    return PYGEN_ERROR;
}

/* op_step in PH_WAIT_RESULT: 1 = step again, 0 = wait for more, 2 = the op
 * is done and *ret is what op_step returns. */
static int
op_step_result(OpObject *op, PyObject **result, PySendResult *ret)
{
    if (PGW_OP_IS_COPY(op) && op->error == NULL) {
        PyObject *r = pgw_copy_poll(op);
        if (r != NULL) {
            *result = r;
            *ret = PYGEN_RETURN;
            return 2;
        }
        if (PyErr_Occurred()) {
            *ret = op_finish_error(op, result);
            return 2;
        }
    }
    if (op->req_id != 0 &&
        (op->error == NULL || op->many_failed || PGW_OP_IS_COPY(op))) {
        /* (a COPY that failed still runs until its Sync) */
        return 0;
    }
    if (op->error != NULL && op->req_id == 0) {
        int rc = op_try_reprepare(op);
        if (rc > 0) {
            return 1;
        }
        if (rc < 0) {
            *ret = op_finish_error(op, result);
            return 2;
        }
    }
    *ret = op_complete(op, result);
    return 2;
}

static PySendResult
op_step(OpObject *op, PyObject **result)
{
    for (;;) {
        int rc;
        switch (op->phase) {
        case PH_INIT:
            rc = op_start(op);
            break;
        case PH_WAIT_TURN:
            if (op->error != NULL) {
                op_raise_error(op);
                return op_finish_error(op, result);
            }
            op->phase = PH_INIT;
            continue;
        case PH_WAIT_PREPARE:
            if (op->req_id != 0 && op->error == NULL) {
                goto wait_again;
            }
            if (op->error != NULL) {
                op_raise_error(op);
                return op_finish_error(op, result);
            }
            rc = op_after_prepare(op);
            if (rc == 3) {
                continue;
            }
            break;
        case PH_WAIT_SUB:
            rc = op_step_sub(op, result);
            if (rc == 4) {
                return PYGEN_NEXT;
            }
            if (rc == 3) {
                continue; /* another introspection round started */
            }
            break;
        case PH_WAIT_RESULT: {
            PySendResult ret;
            rc = op_step_result(op, result, &ret);
            if (rc == 1) {
                continue;
            }
            if (rc == 0) {
                goto wait_again;
            }
            return ret;
        }
        case PH_STREAM:
            rc = pgw_many_resume(op);
            if (rc == 0 && op->phase == PH_WAIT_RESULT && op->req_id == 0) {
                continue;
            }
            break;
        default:
            PyErr_SetString(PyExc_RuntimeError,
                            "cannot reuse already awaited coroutine");
            *result = NULL;
            return PYGEN_ERROR;
        }
        if (rc < 0) {
            return op_finish_error(op, result);
        }
        if (rc == 2) {
            return op_complete(op, result);
        }
    wait_again:
        if (op->req_id != 0) {
            /* pushed into a batch group the server already failed: it is
             * skipped with no answer, so complete it now (ABORTED) */
            pgw_proto_settle(op->proto);
            if (op->req_id == 0 && (op->phase == PH_WAIT_PREPARE ||
                                    op->phase == PH_WAIT_RESULT)) {
                continue;
            }
        }
        *result = op_yield(op);
        return *result ? PYGEN_NEXT : op_finish_error(op, result);
    }
}

/* One step for whoever sends.  The awaiter resumes us only once the
 * future we yielded is done (pgw_op_wake): a send while it is pending comes
 * from a second awaiter (another task driving the same object), which is
 * refused as a coroutine refuses it, leaving the first one undisturbed. */
static PySendResult
op_drive(OpObject *op, PyObject **result)
{
    if (op->phase != PH_DONE && op->armed) {
        PyErr_SetString(PyExc_RuntimeError,
                        "coroutine is being awaited already");
        *result = NULL;
        return PYGEN_ERROR;
    }
    if (op->proto == NULL && op->pending_exc == NULL && op->phase != PH_DONE) {
        /* its tp_clear ran: nothing left to run */
        op->phase = PH_DONE;
        PyErr_SetString(op->st->InterfaceError,
                        "the query object was cleared by the garbage "
                        "collector");
        *result = NULL;
        return PYGEN_ERROR;
    }
    PySendResult r = op_step(op, result);
    if (r != PYGEN_NEXT) {
        op->awaiting = 0;
    }
    return r;
}

static PySendResult
op_am_send(OpObject *op, PyObject *arg, PyObject **result)
{
    (void)arg;
    return op_drive(op, result);
}

static PyObject *
op_iternext(OpObject *op)
{
    PyObject *res;
    PySendResult r = op_drive(op, &res);
    if (r == PYGEN_NEXT) {
        return res;
    }
    if (r == PYGEN_RETURN) {
        if (res == Py_None) {
            Py_DECREF(res);
            return NULL;
        }
        PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, res);
        Py_DECREF(res);
        if (e != NULL) {
            PyErr_SetObject(PyExc_StopIteration, e);
            Py_DECREF(e);
        }
        return NULL;
    }
    return NULL;
}

static PyObject *
op_send(OpObject *op, PyObject *arg)
{
    (void)arg;
    PyObject *r = op_iternext(op);
    if (r == NULL && !PyErr_Occurred()) {
        PyErr_SetNone(PyExc_StopIteration);
    }
    return r;
}

/* Stop waiting: if our request is on the wire, cancel it on the server and
 * let the protocol drain its results. */
static void
op_abandon(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (p == NULL) {
        Py_CLEAR(op->sub);
        op->phase = PH_DONE;
        op_cancel_timer(op);
        return;
    }
    if (op->sub != NULL) {
        PyObject *r = PyObject_CallMethodNoArgs(op->sub, op->st->str_close);
        if (r == NULL) {
            PyErr_WriteUnraisable((PyObject *)op);
        }
        Py_XDECREF(r);
        Py_CLEAR(op->sub);
    }
    pgw_many_abandon(op); /* STREAM -> WAIT_RESULT, the batch ended */
    if ((op->phase == PH_WAIT_PREPARE || op->phase == PH_WAIT_RESULT) &&
        op->req_id != 0) {
        /* A CancelRequest only when no other op's request is in flight
         * (ahead or behind): the server may run another one when it
         * arrives, and another op's work is never cancelled.  Otherwise
         * the op is only abandoned (its result discarded when it
         * comes). */
        if (!pgw_proto_op_alone(p, op)) {
            /* others in flight: nothing to cancel */
        }
        else if (PGW_OP_IS_COPY(op)) {
            pgw_copy_abandon(op);
        }
        else {
            pgw_proto_begin_cancel(p, op);
        }
        /* its results are consumed without events from now on */
        for (uint64_t id = op->req_first; id != 0 && id <= op->req_id; id++) {
            pgc_conn_abandon(&p->conn, id);
        }
        op->req_id = op->req_first = 0;
        op->many_open = 0;
    }
    op_leave_turn(op);
    op->phase = PH_DONE;
    op_cancel_timer(op);
}

static PyObject *
op_throw(OpObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    op_abandon(op);
    PyObject *typ = args[0];
    PyObject *val = nargs > 1 ? args[1] : NULL;
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    }
    else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, val);
    }
    else {
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must be classes or instances deriving "
                        "from BaseException");
    }
    if (op->t_start != 0) {
        op_log_pending(op);
    }
    return NULL;
}

/* close() of a request still running (COPY TO whose writer raised or was
 * cancelled between two chunks): its span ends here, with the exception
 * being handled, else GeneratorExit.  Query loggers are not called (as
 * before). */
static void
op_trace_closed(OpObject *op)
{
    if (op->t_start == 0 || op->proto == NULL || !op_traced(op)) {
        return;
    }
    double elapsed = pgw_monotonic() - op->t_start;
    op->t_start = 0;
    PyObject *exc = PyErr_GetHandledException();
    if (exc == Py_None) {
        Py_CLEAR(exc);
    }
    if (exc == NULL) {
        exc = PyObject_CallNoArgs(PyExc_GeneratorExit);
    }
    if (exc == NULL) {
        PyErr_WriteUnraisable((PyObject *)op);
        return;
    }
    op_log_trace(op, elapsed, exc);
    Py_DECREF(exc);
}

static PyObject *
op_close(OpObject *op, PyObject *Py_UNUSED(a))
{
    int running = op->phase != PH_DONE;
    op_abandon(op);
    if (running) {
        op_trace_closed(op);
    }
    op->t_start = 0;
    Py_RETURN_NONE;
}

static PyObject *
op_on_timeout(OpObject *op, PyObject *Py_UNUSED(a))
{
    Py_CLEAR(op->timer);
    if (op->phase == PH_DONE || op->phase == PH_INIT) {
        Py_RETURN_NONE;
    }
    PyObject *exc = PyObject_CallNoArgs(op->st->TimeoutError);
    if (exc == NULL) {
        return NULL;
    }
    op_set_error(op, exc);
    Py_DECREF(exc);
    op_abandon(op);
    /* op_abandon moved us to DONE; go back to a waiting phase so the step
     * function raises the error on wake-up. */
    op->phase = PH_WAIT_RESULT;
    pgw_op_wake(op);
    Py_RETURN_NONE;
}

/* A second await of the same object is refused as for a coroutine: while
 * the first is in progress, and once the query has finished (a COPY op is
 * awaited once per chunk: again after each await has returned). */
static PyObject *
op_await(OpObject *op)
{
    if (op->phase == PH_DONE) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reuse already awaited coroutine");
        return NULL;
    }
    if (op->awaiting || op->armed) {
        PyErr_SetString(PyExc_RuntimeError,
                        "coroutine is being awaited already");
        return NULL;
    }
    op->awaiting = 1;
    return Py_NewRef(op);
}

/* ------------------------------------------------------------------ */
/* Construction and type                                               */
/* ------------------------------------------------------------------ */

/* Validate a timeout argument; sets *out (-1 for none). */
static int
parse_timeout(ModState *st, PyObject *o, double dflt, double *out)
{
    (void)st;
    if (o == NULL || o == Py_None) {
        *out = dflt;
        return 0;
    }
    if (PyBool_Check(o) || !(PyFloat_Check(o) || PyLong_Check(o))) {
        PyErr_Format(PyExc_ValueError,
                     "invalid timeout value: expected non-negative float "
                     "(got %R)",
                     o);
        return -1;
    }
    double t = PyFloat_AsDouble(o);
    if (t == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    *out = t < 0 ? 0 : t;
    return 0;
}

int
pgw_too_many_args(ModState *st, Py_ssize_t nargs)
{
    PyErr_Format(st->InterfaceError,
                 "%zd arguments were passed, but a query takes at most %d "
                 "(the protocol's limit)",
                 nargs, PGW_MAX_QUERY_ARGS);
    return -1;
}

/* The number of arguments of one execution, when known before anything is
 * sent: the args tuple, or the first row of executemany/fetchmany given as
 * a list or tuple (an iterator is checked row by row as it is encoded). */
static Py_ssize_t
first_row_len(OpKind kind, PyObject *args)
{
    if (args == NULL) {
        return 0;
    }
    if (kind != OP_EXECUTEMANY && kind != OP_FETCHMANY) {
        return PyTuple_Check(args) ? PyTuple_GET_SIZE(args) : 0;
    }
    PyObject *row = NULL;
    if (PyList_Check(args) && PyList_GET_SIZE(args) > 0) {
        row = PyList_GET_ITEM(args, 0);
    }
    else if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) > 0) {
        row = PyTuple_GET_ITEM(args, 0);
    }
    if (row != NULL && PyTuple_Check(row)) {
        return PyTuple_GET_SIZE(row);
    }
    if (row != NULL && PyList_Check(row)) {
        return PyList_GET_SIZE(row);
    }
    return 0;
}

/* The record class an op builds rows with: `record_class` if it is a
 * valid one, else the connection's (or Record).  An invalid one sets
 * op->pending_exc, raised when the op is awaited.  The connection's may
 * be a row factory (rows.c); fetchval reads a Record whatever it is. */
static PyObject *
op_record_class(OpObject *op, PyObject *record_class)
{
    ModState *st = op->st;
    PyObject *rc = op->proto != NULL && op->proto->record_class != NULL
                       ? op->proto->record_class
                       : (PyObject *)st->RecordType;
    if (op->kind == OP_FETCHVAL && !PyType_Check(rc)) {
        rc = (PyObject *)st->RecordType;
    }
    if (record_class != NULL && record_class != Py_None) {
        if (!PyType_Check(record_class) ||
            !PyType_IsSubtype((PyTypeObject *)record_class, st->RecordType)) {
            op->pending_exc = pgw_make_exc(
                st->InterfaceError,
                "record_class is expected to be a subclass of pgwire.Record, "
                "got %R",
                record_class);
        }
        else if (pgw_record_class_redefines_init(st, (PyTypeObject *)
                                                         record_class)) {
            op->pending_exc = pgw_fetch_exc();
        }
        else {
            rc = record_class;
        }
    }
    return rc;
}

/* The checks made before anything is sent; the first that fails sets
 * op->pending_exc (raised when the op is awaited).  Leaves an exception
 * set only when building one failed. */
static void
op_check_request(OpObject *op, OpKind kind, PyObject *query, PyObject *args,
                 PyObject *timeout)
{
    ModState *st = op->st;
    if (op->proto == NULL) {
        op->pending_exc = pgw_make_exc(
            st->InterfaceError,
            "the connection is not initialised: Connection.__init__() was "
            "not called (a connection_class whose __init__ does not call "
            "super().__init__()?)");
    }
    if (op->pending_exc == NULL &&
        parse_timeout(st, timeout, op->proto->command_timeout, &op->timeout) <
            0) {
        op_capture_error(op);
        op->pending_exc = op->error;
        op->error = NULL;
    }
    if (op->pending_exc == NULL &&
        (query == NULL || !PyUnicode_Check(query))) {
        op->pending_exc = pgw_make_exc(PyExc_TypeError,
                                       "query must be str, not %s",
                                       query ? Py_TYPE(query)->tp_name
                                             : "nothing");
    }
    Py_ssize_t nargs = first_row_len(kind, args);
    if (op->pending_exc == NULL && nargs > PGW_MAX_QUERY_ARGS) {
        /* refused before anything is sent (the server would describe the
         * statement with a count that does not fit the protocol) */
        pgw_too_many_args(st, nargs);
        op_capture_error(op);
        op->pending_exc = op->error;
        op->error = NULL;
    }
    if (op->pending_exc == NULL && op->timeout == 0) {
        op->pending_exc = PyObject_CallNoArgs(st->TimeoutError);
    }
}

PyObject *
pgw_op_new(ConnCoreObject *conn, OpKind kind, PyObject *query, PyObject *args,
           PyObject *record_class, PyObject *timeout, Py_ssize_t column)
{
    ModState *st = conn->st;
    if (st == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the pgwire module is gone");
        return NULL;
    }
    OpObject *op = PyObject_GC_New(OpObject, st->OpType);
    if (op == NULL) {
        return NULL;
    }
    /* every field NULL / 0 but these */
    PGW_ZERO_FIELDS(op, OpObject);
    op->st = st;
    /* NULL when the connection was never initialised (or was cleared):
     * the op then only raises pending_exc. */
    op->proto = (ProtocolObject *)Py_XNewRef(conn->proto);
    op->kind = kind;
    op->phase = PH_INIT;
    op->query = Py_XNewRef(query);
    op->args = Py_XNewRef(args);
    op->column = column;
    op->rows = PyList_New(0);
    op->want_rows = kind != OP_EXECUTE && kind != OP_EXECUTEMANY &&
                    kind != OP_PREPARE && kind != OP_COPY_OUT &&
                    kind != OP_COPY_IN;
    PyObject_GC_Track(op);
    if (op->rows == NULL) {
        Py_DECREF(op);
        return NULL;
    }
    op->record_class = Py_NewRef(op_record_class(op, record_class));
    op_check_request(op, kind, query, args, timeout);
    if (PyErr_Occurred()) {
        Py_DECREF(op);
        return NULL;
    }
    return (PyObject *)op;
}

static int
op_traverse(OpObject *op, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(op->proto);
    Py_VISIT(op->query);
    Py_VISIT(op->args);
    Py_VISIT(op->record_class);
    Py_VISIT(op->column_name);
    Py_VISIT(op->held_stmt);
    Py_VISIT(op->fut);
    Py_VISIT(op->timer);
    Py_VISIT(op->stmt);
    Py_VISIT(op->rows);
    Py_VISIT(op->status);
    Py_VISIT(op->error);
    Py_VISIT(op->pending_exc);
    Py_VISIT(op->stmt_name);
    Py_VISIT(op->portal);
    Py_VISIT(op->sub);
    Py_VISIT(op->many_it);
    return 0;
}

static int
op_clear(OpObject *op)
{
    if (op->held_stmt != NULL) {
        StmtObject *held = op->held_stmt;
        op->held_stmt = NULL;
        if (op->proto != NULL && pgw_stmt_release(op->proto, held) < 0) {
            PyErr_WriteUnraisable((PyObject *)op);
        }
        Py_DECREF(held);
    }
    Py_CLEAR(op->proto);
    Py_CLEAR(op->query);
    Py_CLEAR(op->args);
    Py_CLEAR(op->record_class);
    Py_CLEAR(op->column_name);
    Py_CLEAR(op->fut);
    Py_CLEAR(op->timer);
    Py_CLEAR(op->stmt);
    Py_CLEAR(op->rows);
    Py_CLEAR(op->status);
    Py_CLEAR(op->error);
    Py_CLEAR(op->pending_exc);
    Py_CLEAR(op->stmt_name);
    Py_CLEAR(op->portal);
    Py_CLEAR(op->sub);
    Py_CLEAR(op->many_it);
    return 0;
}

static void
op_dealloc(OpObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (op->timer != NULL) {
        op_cancel_timer(op);
    }
    op_clear(op);
    pgw_copy_free(op);
    tp->tp_free((PyObject *)op);
    Py_DECREF(tp);
}

static PyMethodDef op_methods[] = {
    {"send", (PyCFunction)op_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))op_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)op_close, METH_NOARGS, NULL},
    {"_on_timeout", (PyCFunction)op_on_timeout, METH_NOARGS, NULL},
    {"_copy_write", (PyCFunction)pgw_copy_write, METH_O, NULL},
    {"_copy_write_records", (PyCFunction)pgw_copy_write_records, METH_O, NULL},
    {"_copy_end", (PyCFunction)pgw_copy_end, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot op_slots[] = {
    {Py_am_await, op_await},
    {Py_am_send, op_am_send},
    {Py_tp_iternext, op_iternext},
    {Py_tp_dealloc, op_dealloc},
    {Py_tp_traverse, op_traverse},
    {Py_tp_clear, op_clear},
    {Py_tp_methods, op_methods},
    {Py_tp_doc, "An awaitable pgwire query (behaves like a coroutine)."},
    {0, NULL},
};

static PyType_Spec op_spec = {
    .name = "pgwire._pgwire.Query",
    .basicsize = sizeof(OpObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = op_slots,
};

int
pgw_op_setup_types(PyObject *module, ModState *st)
{
    st->OpType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &op_spec,
                                                          NULL);
    if (st->OpType == NULL) {
        return -1;
    }
    return PyModule_AddType(module, st->OpType);
}
