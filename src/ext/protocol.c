/* protocol.c -- the asyncio BufferedProtocol: bytes land in the core's read
 * buffer (get_buffer/buffer_updated), messages are framed by the core and
 * dispatched here: startup/auth to the core state machine, asynchronous
 * messages (ParameterStatus, Notice, Notification) to their handlers, and
 * everything else to the Op whose request is on the wire.
 */
#include "proto.h"

#define READ_MIN_FREE 16384u
#define CONNECT_CANCEL_TIMEOUT 5.0

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

PyObject *
pgw_make_exc(PyObject *cls, const char *fmt, ...)
{
    va_list va;
    va_start(va, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, va);
    va_end(va);
    if (msg == NULL) {
        return NULL;
    }
    PyObject *exc = PyObject_CallOneArg(cls, msg);
    Py_DECREF(msg);
    return exc;
}

int
pgw_proto_cleared_error(ProtocolObject *p)
{
    PyErr_SetString(p->st->InterfaceError,
                    "the connection's protocol was cleared by the garbage "
                    "collector and cannot be used");
    return -1;
}

PyObject *
pgw_proto_new_future(ProtocolObject *p)
{
    if (p->loop == NULL) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    return PyObject_CallMethodNoArgs(p->loop, p->st->str_create_future);
}

/* fut.set_result(None) unless the future is already done (cancelled by
 * its task, or resolved by a timer): one call, InvalidStateError meaning
 * "already done".  0 or -1. */
int
pgw_future_resolve(ModState *st, PyObject *fut)
{
    PyObject *r = PyObject_CallMethodOneArg(fut, st->str_set_result, Py_None);
    if (r == NULL) {
        if (PyErr_ExceptionMatches(st->InvalidStateError)) {
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static void
future_fail(ModState *st, PyObject *fut, PyObject *exc)
{
    if (fut == NULL) {
        return;
    }
    /* as pgw_future_resolve: InvalidStateError means "already done" */
    PyObject *r = PyObject_CallMethodOneArg(fut, st->str_set_exception, exc);
    if (r == NULL) {
        if (PyErr_ExceptionMatches(st->InvalidStateError)) {
            PyErr_Clear();
        }
        else {
            PyErr_WriteUnraisable(fut);
        }
        return;
    }
    Py_DECREF(r);
}

/* Call method `name` of the Connection (through the weak reference), if it
 * is still alive.  Errors are reported as unraisable: protocol callbacks
 * must not fail because a user-level hook did. */
static void
call_conn(ProtocolObject *p, const char *name, PyObject *const *args,
          size_t nargs)
{
    if (p->conn_ref == NULL) {
        return;
    }
    PyObject *conn;
    if (PyWeakref_GetRef(p->conn_ref, &conn) <= 0) {
        return;
    }
    PyObject *meth = PyObject_GetAttrString(conn, name);
    PyObject *r = NULL;
    if (meth != NULL) {
        r = PyObject_Vectorcall(meth, args, nargs, NULL);
        Py_DECREF(meth);
    }
    if (r == NULL) {
        PyErr_WriteUnraisable(conn);
    }
    Py_XDECREF(r);
    Py_DECREF(conn);
}

void
pgw_proto_reset_types(ProtocolObject *p)
{
    PyDict_Clear(p->type_codecs);
    call_conn(p, "_reset_type_codecs", NULL, 0);
}

int
pgw_proto_flush(ProtocolObject *p)
{
    if (p->wb.len == 0) {
        return 0;
    }
    if (p->state == PS_CLOSED || p->transport_write == NULL) {
        pgc_wbuf_reset(&p->wb);
        PyErr_SetString(p->st->InterfaceError, "connection is closed");
        return -1;
    }
    PyObject *data = PyBytes_FromStringAndSize((const char *)p->wb.data,
                                               (Py_ssize_t)p->wb.len);
    pgc_wbuf_reset(&p->wb);
    if (data == NULL) {
        return -1;
    }
    PyObject *r = PyObject_CallOneArg(p->transport_write, data);
    Py_DECREF(data);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static void
abort_transport(ProtocolObject *p)
{
    p->aborted = 1;
    if (p->transport != NULL) {
        PyObject *r = PyObject_CallMethodNoArgs(p->transport,
                                                p->st->str_abort);
        if (r == NULL) {
            PyErr_WriteUnraisable(p->transport);
        }
        Py_XDECREF(r);
    }
}

/* The pool's reset ends without success: its future fails with exc. */
static void
reset_fail(ProtocolObject *p, PyObject *exc)
{
    PyObject *fut = p->reset_fut;
    p->reset_req = 0;
    p->reset_fut = NULL;
    if (fut != NULL) {
        if (exc == NULL || exc == Py_None) {
            PyObject *e = pgw_make_exc(p->st->InterfaceError,
                                       "connection is broken");
            if (e == NULL) {
                PyErr_WriteUnraisable(fut);
            }
            else {
                future_fail(p->st, fut, e);
                Py_DECREF(e);
            }
        }
        else {
            future_fail(p->st, fut, exc);
        }
        Py_DECREF(fut);
    }
}

/* The connection is gone: every request still in flight fails with exc
 * (the engine hands them back in order). */
static void
fail_requests(ProtocolObject *p, PyObject *exc)
{
    uint64_t id;
    void *user;
    if (p->reset_req != 0) {
        reset_fail(p, exc);
    }
    if (p->stream_op != NULL) {
        /* a streamed batch between two chunks may have none in flight
         * (an error made the server skip them) */
        OpObject *op = p->stream_op;
        p->stream_op = NULL;
        pgw_op_on_lost(op, exc);
        Py_DECREF(op);
    }
    Py_CLEAR(p->preparing);
    Py_CLEAR(p->turn_stmt);
    while (pgc_conn_pop_lost(&p->conn, &id, &user)) {
        if (user != NULL) {
            OpObject *op = user;
            pgw_op_on_lost(op, exc);
            Py_DECREF(op); /* the push's reference */
        }
    }
}

size_t
pgw_proto_in_flight(ProtocolObject *p)
{
    return p->conn_live ? pgc_conn_in_flight(&p->conn) : 0;
}

static PgcReq *
tail_req(ProtocolObject *p)
{
    PgcConn *c = &p->conn;
    if (!p->conn_live || c->req_len == 0) {
        return NULL;
    }
    return &c->reqs[(c->req_head + c->req_len - 1) & (c->req_cap - 1)];
}

OpObject *
pgw_proto_tail_op(ProtocolObject *p)
{
    PgcReq *r = tail_req(p);
    return r != NULL ? (OpObject *)r->user : NULL;
}

PgcStatus
pgw_proto_req_end(ProtocolObject *p, PgcReqBuilder *b)
{
    return p->batch == BATCH_SHARED ? pgc_req_flush(b) : pgc_req_sync(b);
}

int
pgw_proto_op_alone(ProtocolObject *p, OpObject *op)
{
    PgcConn *c = &p->conn;
    size_t mine = 0;
    if (!p->conn_live) {
        return 0;
    }
    for (size_t i = 0; i < c->req_len; i++) {
        mine += c->reqs[(c->req_head + i) & (c->req_cap - 1)].user ==
                (void *)op;
    }
    return mine > 0 && pgc_conn_active(c) == mine;
}

void
pgw_proto_wake_waiters(ProtocolObject *p)
{
    PyObject *w = p->waiters;
    if (w == NULL || PyList_GET_SIZE(w) == 0) {
        return;
    }
    Py_INCREF(w);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(w); i++) {
        pgw_op_wake((OpObject *)PyList_GET_ITEM(w, i));
    }
    Py_DECREF(w);
}

int
pgw_proto_push_error(ProtocolObject *p, PgcStatus st)
{
    if (PyErr_Occurred()) {
        return -1; /* an encoder's exception (PGC_ERR_CALLBACK) */
    }
    if (st == PGC_ERR_NOMEM) {
        PyErr_NoMemory();
    }
    else if (st == PGC_ERR_LIMIT &&
             strncmp(p->conn.err_msg, "too many", 8) != 0) {
        pgw_build_error(p, st); /* a string too long or with a NUL */
    }
    else {
        PyErr_Format(p->st->InterfaceError, "cannot send the query: %s",
                     p->conn.err_msg);
    }
    return -1;
}

int
pgw_proto_refuse_copy_in(ProtocolObject *p)
{
    static const char why[] =
        "COPY FROM STDIN is not supported by this method";
    PgcStr reason = {why, sizeof(why) - 1};
    if (pgc_conn_copy_fail(&p->conn, &p->wb, reason) != PGC_OK) {
        PyErr_SetString(p->st->InterfaceError, p->conn.err_msg);
        return -1;
    }
    return pgw_proto_flush(p);
}

/* A fatal error: the connection cannot be used any more.  Fails whoever
 * waits and aborts the transport (connection_lost follows).  Steals exc. */
void
pgw_proto_fatal(ProtocolObject *p, PyObject *exc)
{
    if (exc == NULL) {
        exc = pgw_fetch_exc();
        if (exc == NULL) {
            exc = pgw_make_exc(p->st->InterfaceError, "connection is broken");
            if (exc == NULL) {
                PyErr_Clear();
                return;
            }
        }
    }
    if (p->last_fatal == NULL) {
        p->last_fatal = Py_NewRef(exc);
    }
    if (p->startup_fut != NULL) {
        future_fail(p->st, p->startup_fut, exc);
    }
    fail_requests(p, exc);
    Py_DECREF(exc);
    p->state = PS_CLOSED;
    abort_transport(p);
}

/* ------------------------------------------------------------------ */
/* Cancellation and drain                                              */
/* ------------------------------------------------------------------ */

static void
drain_complete(ProtocolObject *p)
{
    p->cancel = CANCEL_NONE;
    if (p->drain_timer != NULL) {
        PyObject *r = PyObject_CallMethodNoArgs(p->drain_timer,
                                                p->st->str_cancel);
        Py_XDECREF(r);
        PyErr_Clear();
        Py_CLEAR(p->drain_timer);
    }
    p->cancel_req = 0;
    /* the ops waiting for their turn try again, in order */
    pgw_proto_wake_waiters(p);
}

void
pgw_proto_begin_cancel(ProtocolObject *p, OpObject *op)
{
    if (p->cancel != CANCEL_NONE || p->state != PS_READY || op->req_id == 0) {
        return;
    }
    if (op->phase == PH_WAIT_PREPARE && op->stmt != NULL &&
        PyBytes_GET_SIZE(op->stmt->name) > 0) {
        /* The server may have the statement: close it later. */
        if (PyList_Append(p->pending_closes, op->stmt->name) < 0) {
            PyErr_WriteUnraisable((PyObject *)p);
        }
    }
    p->cancel = CANCEL_RUNNING;
    p->cancel_req = op->req_id;
    PyObject *conn = NULL;
    if (p->conn_ref == NULL || PyWeakref_GetRef(p->conn_ref, &conn) <= 0) {
        pgw_proto_fatal(p, pgw_make_exc(p->st->InterfaceError,
                                        "connection is gone; cannot cancel"));
        return;
    }
    Py_DECREF(conn);
    call_conn(p, "_start_cancel", NULL, 0);
}

static PyObject *
proto_cancel_finished(ProtocolObject *p, PyObject *ok)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (p->cancel != CANCEL_RUNNING) {
        Py_RETURN_NONE;
    }
    p->cancel = CANCEL_SENT;
    if (!PyObject_IsTrue(ok)) {
        pgw_proto_fatal(p, pgw_make_exc(p->st->InterfaceError,
                                        "could not cancel the running query; "
                                        "connection aborted"));
        drain_complete(p);
        Py_RETURN_NONE;
    }
    if (p->cancel_req == 0) {
        /* the cancelled request ended meanwhile */
        drain_complete(p);
        Py_RETURN_NONE;
    }
    if (pgw_proto_arm_drain_timer(p) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Bound the wait for the abandoned request's ReadyForQuery (cancelled, or
 * a COPY FROM ended with CopyFail). */
int
pgw_proto_arm_drain_timer(ProtocolObject *p)
{
    PyObject *cb = PyObject_GetAttrString((PyObject *)p, "_drain_timeout");
    if (cb == NULL) {
        return -1;
    }
    PyObject *delay = PyFloat_FromDouble(p->cancel_timeout);
    if (delay == NULL) {
        Py_DECREF(cb);
        return -1;
    }
    PyObject *args[] = {p->loop, delay, cb};
    PyObject *h = PyObject_VectorcallMethod(p->st->str_call_later, args,
                                            3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                            NULL);
    Py_DECREF(delay);
    Py_DECREF(cb);
    if (h == NULL) {
        return -1;
    }
    Py_XSETREF(p->drain_timer, h);
    return 0;
}

void
pgw_proto_set_reading(ProtocolObject *p, int paused)
{
    if (p->reading_paused == paused || p->transport == NULL) {
        return;
    }
    p->reading_paused = paused;
    PyObject *r = PyObject_CallMethod(p->transport,
                                      paused ? "pause_reading"
                                             : "resume_reading",
                                      NULL);
    if (r == NULL) {
        PyErr_WriteUnraisable(p->transport);
    }
    Py_XDECREF(r);
}

static PyObject *
proto_drain_timeout(ProtocolObject *p, PyObject *Py_UNUSED(ignored))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    Py_CLEAR(p->drain_timer);
    if (p->cancel == CANCEL_NONE) {
        Py_RETURN_NONE;
    }
    pgw_proto_fatal(p, pgw_make_exc(p->st->InterfaceError,
                                    "the server did not finish the cancelled "
                                    "query in time; connection aborted"));
    drain_complete(p);
    Py_RETURN_NONE;
}

const char *
pgw_proto_query_text(ProtocolObject *p, PyObject *query, PyObject *utf8,
                     Py_ssize_t *n, PyObject **owner)
{
    *owner = NULL;
    if (p->codec.enc == NULL || PyUnicode_IS_ASCII(query)) {
        if (utf8 != NULL) {
            *n = PyBytes_GET_SIZE(utf8);
            return PyBytes_AS_STRING(utf8);
        }
        return PyUnicode_AsUTF8AndSize(query, n);
    }
    const char *s = pgw_enc_encode_slow(&p->codec, query, n, owner);
    if (s == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyObject *cause = pgw_fetch_exc();
        pgw_raise_caused(p->st->InterfaceError,
                         PyUnicode_FromFormat("query text: %S", cause), cause);
        Py_XDECREF(cause);
    }
    return s;
}

/* ------------------------------------------------------------------ */
/* Message handlers                                                    */
/* ------------------------------------------------------------------ */

/* Server text (ParameterStatus, NotificationResponse) in the client
 * encoding; new reference. */
static PyObject *
view_str(ProtocolObject *p, PgcView v)
{
    return pgw_enc_decode(&p->codec, (const char *)v.p, (Py_ssize_t)v.n,
                          "replace");
}

static int
view_is(PgcView v, const char *s)
{
    size_t n = strlen(s);
    return v.n == n && memcmp(v.p, s, n) == 0;
}

/* The server's client_encoding changed (at startup, SET, RESET, a
 * rollback, the pool's RESET ALL): every later text in either direction
 * uses it.  An encoding pgwire has no codec for is fatal: nothing more can
 * be sent or read correctly (the caller closes the connection). */
static int
follow_client_encoding(ProtocolObject *p, PgcView value)
{
    const PgwEncoding *enc;
    if (pgw_encoding_find((const char *)value.p, value.n, &enc) == 0) {
        p->codec.enc = enc;
        return 0;
    }
    PyObject *name = PyUnicode_DecodeUTF8((const char *)value.p,
                                          (Py_ssize_t)value.n, "replace");
    if (name == NULL) {
        return -1;
    }
    PyErr_Format(p->st->InterfaceError,
                 "the server switched client_encoding to \"%U\", which "
                 "pgwire cannot encode or decode (no Python codec); the "
                 "connection is closed",
                 name);
    Py_DECREF(name);
    return -1;
}

/* Keep an encoding name the server reported and recompute
 * codec.converts. */
static void
note_encoding(ProtocolObject *p, char *dst, size_t cap, PgcView value)
{
    size_t n = value.n < cap - 1 ? value.n : cap - 1;
    memcpy(dst, value.p, n);
    dst[n] = '\0';
    const char *c = p->client_encoding, *s = p->server_encoding;
    p->codec.converts = c[0] != '\0' && s[0] != '\0' && strcmp(c, s) != 0 &&
                        strcmp(c, "SQL_ASCII") != 0 &&
                        strcmp(s, "SQL_ASCII") != 0;
}

static int
on_param_status(ProtocolObject *p, PgcView body)
{
    PgcView name, value;
    if (pgc_parse_param_status(body, &name, &value) != PGC_OK) {
        PyErr_SetString(p->st->ProtocolError, "malformed ParameterStatus");
        return -1;
    }
    if (view_is(name, "client_encoding")) {
        if (follow_client_encoding(p, value) < 0) {
            return -1;
        }
        note_encoding(p, p->client_encoding, sizeof(p->client_encoding),
                      value);
    }
    else if (view_is(name, "server_encoding")) {
        note_encoding(p, p->server_encoding, sizeof(p->server_encoding),
                      value);
    }
    PyObject *k = view_str(p, name);
    PyObject *v = k ? view_str(p, value) : NULL;
    int rc = (v != NULL) ? PyDict_SetItem(p->settings, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

static int
on_notice(ProtocolObject *p, PgcView body)
{
    PyObject *fields = pgw_fields_from_msg(&p->codec, body);
    if (fields == NULL) {
        return -1;
    }
    call_conn(p, "_on_notice", &fields, 1);
    Py_DECREF(fields);
    return 0;
}

static int
on_notification(ProtocolObject *p, PgcView body)
{
    int32_t pid;
    PgcView chan, payload;
    if (pgc_parse_notification(body, &pid, &chan, &payload) != PGC_OK) {
        PyErr_SetString(p->st->ProtocolError,
                        "malformed NotificationResponse");
        return -1;
    }
    PyObject *args[3] = {PyLong_FromLong(pid), view_str(p, chan),
                         view_str(p, payload)};
    if (args[0] && args[1] && args[2]) {
        call_conn(p, "_on_notification", args, 3);
    }
    for (int i = 0; i < 3; i++) {
        Py_XDECREF(args[i]);
    }
    return PyErr_Occurred() ? -1 : 0;
}

static int
on_backend_key(ProtocolObject *p, PgcView body)
{
    if (pgc_parse_backend_key(body, &p->backend_pid, &p->backend_secret) !=
        PGC_OK) {
        PyErr_SetString(p->st->ProtocolError, "malformed BackendKeyData");
        return -1;
    }
    return 0;
}

/* The SaltedPassword cache (ModState.scram_cache, src/core/
 * pgc_scram_cache.h): after a SCRAM exchange whose server signature
 * verified, its SaltedPassword is kept under HMAC(process secret,
 * password, salt, iterations), so connecting again with the same password
 * to a server that sends the same salt and iteration count skips PBKDF2.
 * Every call below holds the GIL, which serialises the table: the lookup
 * runs before on_startup_msg releases it for the exchange, and the
 * machine works on its own copy.  A clear_auth_cache() while an exchange
 * is under way does not stop that exchange from storing its value once
 * verified.  ProtocolObject.su_cache: */
enum {
    SU_CACHE_NONE = 0, /* no SCRAM server-first-message (yet) */
    SU_CACHE_KEYED,    /* su_cache_key computed, the table missed */
    SU_CACHE_USED,     /* ... and its entry replaced PBKDF2 */
};

static void
clear_startup_secrets(ProtocolObject *p)
{
    Py_CLEAR(p->su_password);
    Py_CLEAR(p->su_scram_password);
    Py_CLEAR(p->su_nonce);
    Py_CLEAR(p->su_cbind);
    p->su.cb_data = NULL;
    p->su.cb_len = 0;
    pgc_startup_wipe_secrets(&p->su);
    pgc_wipe(p->su_cache_key, sizeof(p->su_cache_key));
    p->su_cache = SU_CACHE_NONE;
    p->su.password = NULL;
    p->su.scram_password = NULL;
}

/* m is about to go to the machine: if it is the server-first-message,
 * compute this exchange's key and hand the machine a remembered
 * SaltedPassword. */
static void
scram_cache_lookup(ProtocolObject *p, const PgcMsg *m)
{
    uint8_t salt[PGC_SCRAM_SALT_MAX], salted[PGC_SHA256_LEN];
    size_t salt_len = 0;
    uint32_t iter = 0;

    if (p->su.scram_password == NULL ||
        !pgc_startup_scram_params(&p->su, m, salt, &salt_len, &iter)) {
        return;
    }
    pgc_scram_cache_key(&p->st->scram_cache, p->su.scram_password,
                        p->su.scram_password_len, salt, salt_len, iter,
                        p->su_cache_key);
    p->su_cache = SU_CACHE_KEYED;
    if (pgc_scram_cache_get(&p->st->scram_cache, p->su_cache_key, salted)) {
        pgc_startup_preset(&p->su, salt, salt_len, iter, salted);
        pgc_wipe(salted, sizeof(salted));
        p->su_cache = SU_CACHE_USED;
    }
}

/* Startup succeeded: remember what the verified exchange used. */
static void
scram_cache_remember(ProtocolObject *p)
{
    if (p->su.learned.salt_len != 0 && p->su_cache != SU_CACHE_NONE) {
        pgc_scram_cache_put(&p->st->scram_cache, p->su_cache_key,
                            p->su.learned.salted);
    }
}

/* A failed startup that used a remembered SaltedPassword forgets it (it
 * cannot be wrong for its salt, but a failure is no time to trust it). */
static void
scram_cache_forget(ProtocolObject *p)
{
    if (p->su_cache == SU_CACHE_USED) {
        pgc_scram_cache_forget(&p->st->scram_cache, p->su_cache_key);
    }
}

static int
startup_fail(ProtocolObject *p, PyObject *exc)
{
    scram_cache_forget(p);
    clear_startup_secrets(p);
    if (exc == NULL) {
        return -1;
    }
    pgw_proto_fatal(p, exc);
    return 0;
}

static int
on_startup_msg(ProtocolObject *p, const PgcMsg *m)
{
    PgcStartupEvent ev = PGC_SU_EV_CONTINUE;
    PgcStatus rc;
    /* AuthenticationOk seen before this message */
    int authed = p->su.phase >= PGC_SU_WAIT_READY &&
                 p->su.phase != PGC_SU_FAILED;
    int slow = m->type == PGC_MSG_AUTH && m->body.n >= 4 &&
               pgc_load_u32(m->body.p) == PGC_AUTH_SASL_CONTINUE;
    if (slow) {
        scram_cache_lookup(p, m);
        /* PBKDF2 runs here: let other threads go on meanwhile.  The
         * machine works on its own copies: nothing shared is touched. */
        Py_BEGIN_ALLOW_THREADS
        rc = pgc_startup_handle(&p->su, m, &p->wb, &ev);
        Py_END_ALLOW_THREADS
    }
    else {
        rc = pgc_startup_handle(&p->su, m, &p->wb, &ev);
    }
    if (rc != PGC_OK) {
        PyObject *cls = rc == PGC_ERR_AUTH ? p->st->InterfaceError
                                           : p->st->ProtocolError;
        return startup_fail(p, pgw_make_exc(cls, "%s", p->su.err_msg));
    }
    if (ev == PGC_SU_EV_SERVER_ERROR) {
        PyObject *exc = pgw_error_from_msg(p->st, &p->codec, m->body, NULL);
        /* whether the server had authenticated us: sslmode allow/prefer
         * try the other transport only before that (libpq, asyncpg) */
        if (exc != NULL &&
            PyObject_SetAttrString(exc, "_auth_received",
                                   authed ? Py_True : Py_False) < 0) {
            Py_CLEAR(exc);
        }
        return startup_fail(p, exc);
    }
    if (pgw_proto_flush(p) < 0) {
        return -1;
    }
    if (ev == PGC_SU_EV_READY) {
        scram_cache_remember(p);
        clear_startup_secrets(p);
        pgc_conn_init(&p->conn, p->su.tx_status, NULL);
        p->conn_live = 1;
        p->state = PS_READY;
        PyObject *fut = p->startup_fut;
        p->startup_fut = NULL;
        int r = pgw_future_resolve(p->st, fut);
        Py_DECREF(fut);
        return r;
    }
    return 0;
}

/* A message while no request is on the wire. */
static int
on_idle_msg(ProtocolObject *p, const PgcMsg *m)
{
    if (m->type == PGC_MSG_ERROR) {
        /* Typically FATAL before the server closes the connection
         * (pg_terminate_backend, shutdown): keep it for the next caller. */
        PyObject *exc = pgw_error_from_msg(p->st, &p->codec, m->body, NULL);
        if (exc == NULL) {
            return -1;
        }
        Py_XSETREF(p->last_fatal, exc);
        return 0;
    }
    PyErr_Format(p->st->ProtocolError,
                 "unexpected message type 0x%02x while idle", m->type);
    return -1;
}

/* REQ_DONE: the request's results are all in. */
static void
on_req_done(ProtocolObject *p, const PgcEvent *ev)
{
    OpObject *op = ev->user;
    if (op != NULL && !ev->abandoned) {
        pgw_op_on_done(op, ev);
    }
    if (p->cancel != CANCEL_NONE && ev->req_id == p->cancel_req) {
        /* the cancelled request drained: the CancelRequest can no longer
         * hit a later one once its dial is done */
        p->cancel_req = 0;
        if (p->cancel == CANCEL_SENT) {
            drain_complete(p);
        }
    }
    Py_XDECREF(op); /* the push's reference */
    if (PGW_QUEUEING(p) && PyList_GET_SIZE(p->waiters) > 0) {
        pgw_proto_wake_waiters(p);
    }
}

/* A connection-wide ErrorResponse (no request takes it): typically FATAL
 * before the server closes the connection (pg_terminate_backend,
 * shutdown): kept for the next caller. */
static int
keep_last_fatal(ProtocolObject *p, PgcView body)
{
    PyObject *exc = pgw_error_from_msg(p->st, &p->codec, body, NULL);
    if (exc == NULL) {
        return -1;
    }
    Py_XSETREF(p->last_fatal, exc);
    return 0;
}

/* An event of the pool's reset (_send_reset).  Its success (the whole
 * string ran, COMMIT included, and the session is idle) resolves its
 * future and lets the ops waiting for its outcome go.  Its ErrorResponse
 * closes the connection at once (-1 with the exception set): the server
 * skipped the COMMIT, so the session stays in an aborted transaction
 * block where the request behind the reset gets SQLSTATE 25P02; nothing
 * else is ever written to it, and that request fails with the exception
 * (reset_error: the query did not run). */
static int
on_reset_event(ProtocolObject *p, const PgcEvent *ev)
{
    PyObject *cause = NULL;
    if (ev->type == PGC_EV_ERROR) {
        cause = pgw_error_from_msg(p->st, &p->codec, ev->body, NULL);
        if (cause == NULL) {
            return -1;
        }
    }
    else if (ev->type != PGC_EV_REQ_DONE) {
        return 0; /* its rows, tags and readiness */
    }
    else if (ev->u.done.status == PGC_REQ_OK &&
             pgc_conn_tx_status(&p->conn) == 'I') {
        PyObject *fut = p->reset_fut;
        p->reset_req = 0;
        p->reset_fut = NULL;
        int rc = fut != NULL ? pgw_future_resolve(p->st, fut) : 0;
        Py_XDECREF(fut);
        pgw_proto_wake_waiters(p);
        return rc;
    }
    PyObject *cls = p->reset_error != NULL ? p->reset_error
                                           : p->st->InterfaceError;
    PyObject *exc;
    if (cause != NULL) {
        exc = pgw_make_exc(cls,
                           "the pooled connection's reset failed; the "
                           "query did not run (%S)",
                           cause);
    }
    else {
        exc = pgw_make_exc(cls,
                           "the pooled connection's reset failed; the "
                           "query did not run (the session was not idle "
                           "after it: transaction status %c)",
                           (int)(pgc_conn_tx_status(&p->conn)
                                     ? pgc_conn_tx_status(&p->conn)
                                     : '?'));
    }
    if (exc == NULL) {
        Py_XDECREF(cause);
        return -1;
    }
    if (cause != NULL) {
        PyException_SetCause(exc, cause); /* steals */
    }
    reset_fail(p, exc);
    PyErr_SetRaisedException(exc);
    return -1;
}

/* One event of the request engine (docs/ENGINE.md, "The event
 * contract").  0, or -1 when the connection must close. */
static int
on_event(ProtocolObject *p, const PgcEvent *ev)
{
    OpObject *op = ev->user;
    if (p->reset_req != 0 && ev->req_id == p->reset_req) {
        return on_reset_event(p, ev);
    }
    switch (ev->type) {
    case PGC_EV_REQ_DONE:
        on_req_done(p, ev);
        return 0;
    case PGC_EV_READY:
        if (p->reading_paused) {
            pgw_proto_set_reading(p, 0);
        }
        return 0;
    case PGC_EV_NOTICE:
        return on_notice(p, ev->body);
    case PGC_EV_NOTIFY:
        return on_notification(p, ev->body);
    case PGC_EV_PARAM_STATUS:
        return on_param_status(p, ev->body);
    case PGC_EV_ERROR:
        if (ev->req_id == 0) {
            return keep_last_fatal(p, ev->body);
        }
        break;
    case PGC_EV_COPY_IN_RESPONSE:
        if (ev->abandoned || op == NULL || op->proto == NULL) {
            /* never leave the server waiting for COPY data */
            return pgw_proto_refuse_copy_in(p);
        }
        break;
    default:
        break;
    }
    return op != NULL ? pgw_op_on_event(op, ev) : 0;
}

static int
dispatch(ProtocolObject *p, const PgcMsg *m)
{
    switch (m->type) {
    case PGC_MSG_PARAM_STATUS:
        return on_param_status(p, m->body);
    case PGC_MSG_NOTICE:
        return on_notice(p, m->body);
    case PGC_MSG_NOTIFICATION:
        return on_notification(p, m->body);
    case PGC_MSG_BACKEND_KEY:
        return on_backend_key(p, m->body);
    default:
        break;
    }
    if (p->state == PS_STARTUP) {
        return on_startup_msg(p, m);
    }
    return on_idle_msg(p, m);
}

/* After startup: the engine's events.  The DataRow of the request at the
 * head goes straight to the row decoder (the hot path). */
static void
process_events(ProtocolObject *p)
{
    PgcEvent ev;
    while (p->state == PS_READY) {
        PgcStatus st = pgc_conn_next(&p->conn, &p->rd, &ev);
        if (st == PGC_OK && ev.type == PGC_EV_ROW && ev.user != NULL) {
            /* the hot path: the rows of one request, back to back */
            OpObject *op = ev.user;
            do {
                pgw_op_on_row(op, ev.body);
            } while (pgc_conn_next_row(&p->conn, &p->rd, &ev.body));
            continue;
        }
        if (st == PGC_OK) {
            if (on_event(p, &ev) < 0) {
                pgw_proto_fatal(p, NULL);
            }
            continue;
        }
        if (st != PGC_NEED_MORE) {
            pgw_proto_fatal(p, pgw_make_exc(p->st->ProtocolError, "%s",
                                            p->conn.err_msg));
        }
        break;
    }
}

static void
process_messages(ProtocolObject *p)
{
    PgcMsg m;
    Py_INCREF(p);
    p->processing = 1;
    while (p->state != PS_CLOSED) {
        if (p->state == PS_READY) {
            process_events(p);
            break;
        }
        PgcStatus rc = pgc_reader_next(&p->rd, &m);
        if (rc == PGC_NEED_MORE) {
            break;
        }
        if (rc != PGC_OK) {
            pgw_proto_fatal(p, pgw_make_exc(p->st->ProtocolError, "%s",
                                            p->rd.err_msg));
            break;
        }
        if (dispatch(p, &m) < 0) {
            pgw_proto_fatal(p, NULL);
            break;
        }
    }
    p->processing = 0;
    if (PyErr_Occurred()) {
        PyErr_WriteUnraisable((PyObject *)p);
    }
    Py_DECREF(p);
}

void
pgw_proto_settle(ProtocolObject *p)
{
    if (p->conn.skipping && !p->processing && p->state == PS_READY) {
        process_messages(p);
    }
}

/* ------------------------------------------------------------------ */
/* asyncio.BufferedProtocol methods                                    */
/* ------------------------------------------------------------------ */

static PyObject *
proto_connection_made(ProtocolObject *p, PyObject *transport)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    Py_XSETREF(p->transport, Py_NewRef(transport));
    Py_XSETREF(p->transport_write,
               PyObject_GetAttr(transport, p->st->str_write));
    if (p->transport_write == NULL) {
        return NULL;
    }
    p->state = PS_CONNECTED;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* ReadBuffer: the exporter behind get_buffer's memoryview             */
/* ------------------------------------------------------------------ */
/* get_buffer hands out memoryview(ReadBuffer) over the free space of the
 * core's read buffer.  The exporter counts its live views (as bytearray
 * does); while any is alive the block is pinned: the core moves to a
 * fresh block instead of compacting, growing or freeing this one, and the
 * block is then owned by the exporter, freed when its last view is gone.
 * So a view kept past buffer_updated (by a transport, or by code that
 * reached the protocol) can never read or write freed memory or bytes
 * that are received later.  The normal flow (asyncio's selector and SSL
 * transports, uvloop) releases its view before the next get_buffer: no
 * extra copy or allocation. */
typedef struct {
    PyObject_HEAD
    uint8_t *block; /* the core's block, NULL once the protocol let go */
    int owned;      /* retired by the core: ours to free */
    Py_ssize_t exports;
    uint8_t *win; /* the free space last offered by get_buffer */
    Py_ssize_t win_len;
} ReadBufferObject;

static int
rbuf_getbuffer(ReadBufferObject *rb, Py_buffer *view, int flags)
{
    if (rb->block == NULL) {
        view->obj = NULL;
        PyErr_SetString(PyExc_BufferError,
                        "this read buffer is no longer in use");
        return -1;
    }
    uint8_t *win = rb->win != NULL ? rb->win : rb->block;
    if (PyBuffer_FillInfo(view, (PyObject *)rb, win, rb->win_len, 0, flags) <
        0) {
        return -1;
    }
    rb->exports++;
    return 0;
}

static void
rbuf_releasebuffer(ReadBufferObject *rb, Py_buffer *Py_UNUSED(view))
{
    rb->exports--;
}

static void
rbuf_dealloc(ReadBufferObject *rb)
{
    PyTypeObject *tp = Py_TYPE(rb);
    if (rb->owned) {
        pgc_free(rb->block);
    }
    tp->tp_free((PyObject *)rb);
    Py_DECREF(tp);
}

static PyType_Slot rbuf_slots[] = {
    {Py_bf_getbuffer, rbuf_getbuffer},
    {Py_bf_releasebuffer, rbuf_releasebuffer},
    {Py_tp_dealloc, rbuf_dealloc},
    {Py_tp_doc, "The free space of a pgwire read buffer (internal)."},
    {0, NULL},
};

static PyType_Spec rbuf_spec = {
    .name = "pgwire._pgwire.ReadBuffer",
    .basicsize = sizeof(ReadBufferObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = rbuf_slots,
};

/* The protocol stops using its exporter (the block changed or is going
 * away).  Views still alive keep it, with the block if it was retired. */
static void
proto_drop_rbuf(ProtocolObject *p)
{
    ReadBufferObject *rb = (ReadBufferObject *)p->rbuf;
    if (rb != NULL) {
        if (!rb->owned) {
            rb->block = NULL; /* the core frees or reuses it */
        }
        rb->win = NULL;
        rb->win_len = 0;
        p->rbuf = NULL;
        Py_DECREF(rb);
    }
}

/* PgcReader.retire: the core moved away from a pinned block; the exporter
 * whose views still expose it takes it over. */
static void
proto_retire_block(void *ctx, uint8_t *block)
{
    ProtocolObject *p = ctx;
    ReadBufferObject *rb = (ReadBufferObject *)p->rbuf;
    if (rb != NULL && rb->block == block && !rb->owned) {
        rb->owned = 1;
        proto_drop_rbuf(p);
    }
    else {
        pgc_free(block);
    }
}

/* Pin the block if a view of it is alive (before any call that may move or
 * free it). */
static void
proto_pin_check(ProtocolObject *p)
{
    ReadBufferObject *rb = (ReadBufferObject *)p->rbuf;
    p->rd.pinned = rb != NULL && rb->exports > 0 && rb->block == p->rd.data;
}

/* ------------------------------------------------------------------ */
/* asyncio.BufferedProtocol: get_buffer / buffer_updated               */
/* ------------------------------------------------------------------ */

static PyObject *
proto_get_buffer(ProtocolObject *p, PyObject *Py_UNUSED(sizehint))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    uint8_t *ptr;
    size_t n;
    if (p->processing) {
        /* the messages being dispatched are views into the buffer */
        PyErr_SetString(PyExc_RuntimeError,
                        "get_buffer() called while received data is being "
                        "processed");
        return NULL;
    }
    proto_pin_check(p);
    PgcStatus rc = pgc_reader_space(&p->rd, READ_MIN_FREE, &ptr, &n);
    p->rd.pinned = 0;
    if (rc == PGC_ERR_NOMEM) {
        return PyErr_NoMemory();
    }
    if (rc != PGC_OK) {
        /* a sticky framing error: the connection is unusable */
        pgw_proto_fatal(p, pgw_make_exc(p->st->ProtocolError, "%s",
                                        p->rd.err_msg));
        PyErr_SetString(p->st->ProtocolError, p->rd.err_msg);
        return NULL;
    }
    ReadBufferObject *rb = (ReadBufferObject *)p->rbuf;
    if (rb == NULL || rb->block != p->rd.data) {
        proto_drop_rbuf(p);
        rb = PyObject_New(ReadBufferObject, p->st->ReadBufferType);
        if (rb == NULL) {
            return NULL;
        }
        PGW_ZERO_FIELDS(rb, ReadBufferObject);
        rb->block = p->rd.data;
        rb->owned = 0;
        rb->exports = 0;
        p->rbuf = (PyObject *)rb;
    }
    if (n > (size_t)PY_SSIZE_T_MAX) {
        n = (size_t)PY_SSIZE_T_MAX;
    }
    rb->win = ptr;
    rb->win_len = (Py_ssize_t)n;
    p->granted = n;
    return PyMemoryView_FromObject((PyObject *)rb);
}

static PyObject *
proto_buffer_updated(ProtocolObject *p, PyObject *arg)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "negative byte count");
        }
        return NULL;
    }
    if (p->processing) {
        PyErr_SetString(PyExc_RuntimeError,
                        "buffer_updated() called while received data is "
                        "being processed");
        return NULL;
    }
    if ((size_t)n > p->granted) {
        /* only bytes written into what get_buffer offered are data */
        PyErr_Format(PyExc_ValueError,
                     "buffer_updated(%zd): get_buffer() offered %zu bytes", n,
                     p->granted);
        return NULL;
    }
    p->granted = 0;
    if (p->rbuf != NULL) {
        /* new views get nothing until the next get_buffer */
        ((ReadBufferObject *)p->rbuf)->win_len = 0;
    }
    pgc_reader_commit(&p->rd, (size_t)n);
    process_messages(p);
    Py_RETURN_NONE;
}

PyObject *
pgw_proto_get_buffer(ProtocolObject *p, PyObject *sizehint)
{
    return proto_get_buffer(p, sizehint);
}

PyObject *
pgw_proto_buffer_updated(ProtocolObject *p, PyObject *nbytes)
{
    return proto_buffer_updated(p, nbytes);
}

static PyObject *
proto_eof_received(ProtocolObject *Py_UNUSED(p), PyObject *Py_UNUSED(a))
{
    Py_RETURN_FALSE; /* let the transport close itself */
}

/* The server's error the request at the head holds (borrowed), or NULL:
 * a FATAL (pg_terminate_backend, shutdown) sent before the server closed
 * the connection goes to the request it interrupted. */
static PyObject *
head_server_error(ProtocolObject *p)
{
    PgcConn *c = &p->conn;
    if (!p->conn_live || c->req_len == 0) {
        return NULL;
    }
    OpObject *op = c->reqs[c->req_head].user;
    if (op == NULL || op->error == NULL ||
        !PyObject_TypeCheck(op->error, (PyTypeObject *)p->st->PostgresError) ||
        PyObject_TypeCheck(
            op->error, (PyTypeObject *)p->st->ConnectionDoesNotExistError)) {
        return NULL;
    }
    return op->error;
}

/* What the requests in flight and the queued ops fail with.  All get the
 * same error: the one the interrupted request gets (pgw_op_on_lost wraps
 * its server error the same way), the server's error as __cause__. */
static PyObject *
lost_error(ProtocolObject *p, PyObject *exc)
{
    if (p->last_fatal != NULL) {
        return Py_NewRef(p->last_fatal);
    }
    PyObject *server = head_server_error(p);
    PyObject *e;
    if (server != NULL) {
        e = pgw_make_exc(p->st->ConnectionDoesNotExistError,
                         "connection was closed in the middle of "
                         "operation: %S",
                         server);
        if (e != NULL) {
            PyException_SetCause(e, Py_NewRef(server));
        }
        return e;
    }
    e = pgw_make_exc(p->st->ConnectionDoesNotExistError,
                     "connection was closed in the middle of operation");
    if (e != NULL && exc != Py_None) {
        PyException_SetCause(e, Py_NewRef(exc));
    }
    return e;
}

static void
resolve_writable(ProtocolObject *p)
{
    if (p->writable_fut != NULL) {
        PyObject *f = p->writable_fut;
        p->writable_fut = NULL;
        if (pgw_future_resolve(p->st, f) < 0) {
            PyErr_WriteUnraisable((PyObject *)p);
        }
        Py_DECREF(f);
    }
}

static PyObject *
proto_connection_lost(ProtocolObject *p, PyObject *exc)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    Py_INCREF(p);
    p->state = PS_CLOSED;
    PyObject *err = lost_error(p, exc);
    if (err == NULL) {
        PyErr_WriteUnraisable((PyObject *)p);
        err = Py_NewRef(Py_None);
    }
    /* The connection's termination listeners are scheduled before the
     * waiter of a running query is failed, so that they have run (as in
     * asyncpg) by the time the query's caller sees the error. */
    PyObject *arg = exc;
    call_conn(p, "_on_connection_lost", &arg, 1);
    if (p->startup_fut != NULL) {
        future_fail(p->st, p->startup_fut, err);
        Py_CLEAR(p->startup_fut);
    }
    fail_requests(p, err);
    if (PGW_QUEUEING(p) && p->waiters != NULL) {
        /* the queued ops fail as the ones in flight did */
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(p->waiters); i++) {
            pgw_op_on_lost((OpObject *)PyList_GET_ITEM(p->waiters, i), err);
        }
    }
    drain_complete(p);
    resolve_writable(p);
    if (p->closed_fut != NULL) {
        if (pgw_future_resolve(p->st, p->closed_fut) < 0) {
            PyErr_WriteUnraisable((PyObject *)p);
        }
    }
    Py_DECREF(err);
    Py_CLEAR(p->transport_write);
    Py_CLEAR(p->transport);
    clear_startup_secrets(p);
    pgc_reader_clear(&p->rd);
    Py_DECREF(p);
    Py_RETURN_NONE;
}

static PyObject *
proto_pause_writing(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    p->writing_paused = 1;
    Py_RETURN_NONE;
}

static PyObject *
proto_resume_writing(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    p->writing_paused = 0;
    resolve_writable(p);
    if (p->stream_op != NULL) {
        pgw_op_wake(p->stream_op); /* executemany writes its next chunk */
    }
    if (PGW_QUEUEING(p)) {
        pgw_proto_wake_waiters(p); /* queued behind the flow control */
    }
    Py_RETURN_NONE;
}

/* _writable() -> None when the transport takes more data now, else a
 * future resolved when it does (or when the connection is lost). */
static PyObject *
proto_writable(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (!p->writing_paused || p->state == PS_CLOSED) {
        Py_RETURN_NONE;
    }
    if (p->writable_fut == NULL) {
        p->writable_fut = pgw_proto_new_future(p);
        if (p->writable_fut == NULL) {
            return NULL;
        }
    }
    return Py_NewRef(p->writable_fut);
}

static PyObject *
proto_get_query_log(ProtocolObject *p, void *Py_UNUSED(c))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    return Py_NewRef(p->query_log ? p->query_log : Py_None);
}

static int
proto_set_query_log(ProtocolObject *p, PyObject *v, void *Py_UNUSED(c))
{
    if (p->cleared) {
        return pgw_proto_cleared_error(p);
    }
    if (v != NULL && v != Py_None && !PyCallable_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "query_log must be callable");
        return -1;
    }
    Py_XSETREF(p->query_log, v == NULL || v == Py_None ? NULL : Py_NewRef(v));
    return 0;
}

static PyObject *
proto_get_queries_count(ProtocolObject *p, void *Py_UNUSED(c))
{
    return PyLong_FromUnsignedLongLong(p->queries_count);
}

/* ------------------------------------------------------------------ */
/* Startup                                                             */
/* ------------------------------------------------------------------ */

static PyObject *
utf8_or_none(PyObject *o, const char *what)
{
    if (o == Py_None) {
        return Py_NewRef(Py_None);
    }
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.80s", what,
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    return PyUnicode_AsUTF8String(o);
}

/* A password argument: a new reference to the str (or None), whose UTF-8
 * the machine borrows (password_utf8).  No bytes copy is made: for an
 * ASCII str the UTF-8 is the str's own data, otherwise CPython keeps it
 * with the str; either way the driver adds no copy of the password that
 * would outlive the caller's str. */
static PyObject *
str_or_none(PyObject *o, const char *what)
{
    if (o != Py_None && !PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.80s", what,
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    return Py_NewRef(o);
}

/* -1 with an exception (a str that is not valid UTF-8: lone surrogates);
 * *p NULL for None. */
static int
password_utf8(PyObject *o, const char **p, size_t *n)
{
    Py_ssize_t len = 0;

    *p = NULL;
    *n = 0;
    if (o == Py_None) {
        return 0;
    }
    *p = PyUnicode_AsUTF8AndSize(o, &len);
    if (*p == NULL) {
        return -1;
    }
    *n = (size_t)len;
    return 0;
}

static int
build_startup_msg(ProtocolObject *p, PyObject *params)
{
    PyObject *seq = PySequence_Fast(params, "params must be a sequence");
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PgcStr *names = PyMem_Calloc((size_t)n + 1, sizeof(PgcStr));
    PgcStr *values = PyMem_Calloc((size_t)n + 1, sizeof(PgcStr));
    int rc = -1;
    if (names == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *kv = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *k, *v;
        if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2 ||
            !PyUnicode_Check(k = PyTuple_GET_ITEM(kv, 0)) ||
            !PyUnicode_Check(v = PyTuple_GET_ITEM(kv, 1))) {
            PyErr_SetString(PyExc_TypeError,
                            "startup params must be (str, str) pairs");
            goto done;
        }
        Py_ssize_t kl, vl;
        names[i].p = PyUnicode_AsUTF8AndSize(k, &kl);
        values[i].p = names[i].p ? PyUnicode_AsUTF8AndSize(v, &vl) : NULL;
        if (values[i].p == NULL) {
            goto done;
        }
        names[i].n = (size_t)kl;
        values[i].n = (size_t)vl;
    }
    PgcStatus st = pgc_build_startup(&p->wb, names, values, (size_t)n);
    if (st != PGC_OK) {
        PyErr_SetString(PyExc_ValueError,
                        "invalid startup parameter (NUL byte or too long)");
        goto done;
    }
    rc = 0;
done:
    PyMem_Free(names);
    PyMem_Free(values);
    Py_DECREF(seq);
    return rc;
}

/* channel_binding: the mode's name, whether TLS is in use, and the
 * certificate hash (bytes or None). */
static int
startup_channel_binding(ProtocolObject *p, PyObject *mode, int ssl_in_use,
                        PyObject *cbind)
{
    static const char *const names[] = {"disable", "prefer", "require"};
    const char *m = PyUnicode_Check(mode) ? PyUnicode_AsUTF8(mode) : NULL;
    int i;

    if (m == NULL && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "channel_binding must be a str");
    }
    if (m == NULL) {
        return -1;
    }
    for (i = 0; i < 3 && strcmp(m, names[i]) != 0; i++) {
    }
    if (i == 3) {
        PyErr_Format(PyExc_ValueError,
                     "channel_binding must be disable, prefer or require, "
                     "not %R",
                     mode);
        return -1;
    }
    if (cbind != Py_None &&
        (!PyBytes_Check(cbind) || PyBytes_GET_SIZE(cbind) == 0 ||
         PyBytes_GET_SIZE(cbind) > PGC_CBIND_DATA_MAX)) {
        PyErr_SetString(PyExc_ValueError,
                        "cbind_data must be None or 1 to 64 bytes");
        return -1;
    }
    Py_XSETREF(p->su_cbind, cbind == Py_None ? NULL : Py_NewRef(cbind));
    pgc_startup_channel_binding(
        &p->su, (PgcChannelBinding)i, ssl_in_use,
        p->su_cbind ? (const uint8_t *)PyBytes_AS_STRING(p->su_cbind) : NULL,
        p->su_cbind ? (size_t)PyBytes_GET_SIZE(p->su_cbind) : 0);
    return 0;
}

static PyObject *
proto_startup(ProtocolObject *p, PyObject *args, PyObject *kwds)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    static char *kwlist[] = {"params",          "user",
                             "password",        "scram_password",
                             "nonce",           "max_iterations",
                             "require_auth",    "require_auth_methods",
                             "channel_binding", "ssl_in_use",
                             "cbind_data",      NULL};
    PyObject *params, *user, *password = Py_None, *scram_pw = Py_None, *nonce,
                             *require = Py_None, *cb_mode = NULL,
                             *cbind = Py_None;
    unsigned long max_iter = PGC_SCRAM_DEFAULT_MAX_ITER;
    unsigned long require_methods = 0;
    int ssl_in_use = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OUOOU|kOkOpO:startup",
                                     kwlist, &params, &user, &password,
                                     &scram_pw, &nonce, &max_iter, &require,
                                     &require_methods, &cb_mode, &ssl_in_use,
                                     &cbind)) {
        return NULL;
    }
    if (p->state != PS_CONNECTED) {
        PyErr_SetString(p->st->InterfaceError,
                        "startup() needs a fresh connected protocol");
        return NULL;
    }
    Py_XSETREF(p->su_user, PyUnicode_AsUTF8String(user));
    Py_XSETREF(p->su_password, str_or_none(password, "password"));
    Py_XSETREF(p->su_scram_password, str_or_none(scram_pw, "scram_password"));
    Py_XSETREF(p->su_nonce, PyUnicode_AsUTF8String(nonce));
    if (!p->su_user || !p->su_password || !p->su_scram_password ||
        !p->su_nonce) {
        return NULL;
    }
    const char *pw, *spw;
    size_t pw_len, spw_len;
    if (password_utf8(p->su_password, &pw, &pw_len) < 0 ||
        password_utf8(p->su_scram_password, &spw, &spw_len) < 0) {
        return NULL;
    }
    pgc_startup_init(&p->su, PyBytes_AS_STRING(p->su_user),
                     (size_t)PyBytes_GET_SIZE(p->su_user), pw, pw_len, spw,
                     spw_len, PyBytes_AS_STRING(p->su_nonce),
                     (size_t)PyBytes_GET_SIZE(p->su_nonce),
                     (uint32_t)max_iter);
    if (require != Py_None) {
        /* require_auth: the methods allowed (PGC_AUTHM_* bits) and the
         * option's text for the error message */
        Py_XSETREF(p->su_require, utf8_or_none(require, "require_auth"));
        if (p->su_require == NULL) {
            return NULL;
        }
        pgc_startup_require(&p->su, (uint32_t)require_methods,
                            PyBytes_AS_STRING(p->su_require));
    }
    if (cb_mode != NULL &&
        startup_channel_binding(p, cb_mode, ssl_in_use, cbind) < 0) {
        return NULL;
    }
    if (build_startup_msg(p, params) < 0) {
        return NULL;
    }
    PyObject *fut = pgw_proto_new_future(p);
    if (fut == NULL) {
        return NULL;
    }
    Py_XSETREF(p->startup_fut, Py_NewRef(fut));
    p->state = PS_STARTUP;
    if (pgw_proto_flush(p) < 0) {
        Py_DECREF(fut);
        return NULL;
    }
    return fut;
}

/* ------------------------------------------------------------------ */
/* Other methods for the Python layer                                  */
/* ------------------------------------------------------------------ */

static PyObject *
proto_set_connection(ProtocolObject *p, PyObject *conn)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    Py_XSETREF(p->conn_ref, PyWeakref_NewRef(conn, NULL));
    if (p->conn_ref == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* _send_reset(query, error_class) -> future: write the pool's reset (one
 * simple Query that cannot start a COPY) on an idle connection and return
 * at once; the future resolves when the server has run all of it, or
 * fails (with error_class when the server reported an error, and the
 * connection is then closed).  See on_reset_event. */
static PyObject *
proto_send_reset(ProtocolObject *p, PyObject *const *args, Py_ssize_t nargs)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyType_Check(args[1])) {
        PyErr_Format(PyExc_TypeError,
                     "_send_reset(query, error_class) expects a str and an "
                     "exception class, got %zd argument(s)",
                     nargs);
        return NULL;
    }
    if (p->state != PS_READY || p->aborted || !p->conn_live ||
        p->transport == NULL || pgc_conn_active(&p->conn) != 0 ||
        p->cancel != CANCEL_NONE || p->reset_req != 0 ||
        p->batch != BATCH_NONE || PyList_GET_SIZE(p->waiters) > 0 ||
        p->stream_op != NULL) {
        PyErr_SetString(p->st->InterfaceError,
                        "cannot send the pool's reset: the connection is "
                        "closed or not idle");
        return NULL;
    }
    Py_ssize_t n;
    PyObject *owner;
    const char *sql = pgw_proto_query_text(p, args[0], NULL, &n, &owner);
    if (sql == NULL) {
        return NULL;
    }
    PyObject *fut = pgw_proto_new_future(p);
    if (fut == NULL) {
        Py_XDECREF(owner);
        return NULL;
    }
    PgcStr q = {sql, (size_t)n};
    uint64_t id;
    PgcStatus rc = pgc_conn_push_simple(&p->conn, &p->wb, q, PGC_REQ_F_NO_COPY,
                                        NULL, &id);
    Py_XDECREF(owner);
    if (rc != PGC_OK) {
        Py_DECREF(fut);
        pgw_proto_push_error(p, rc);
        return NULL;
    }
    p->reset_req = id;
    p->reset_fut = Py_NewRef(fut);
    Py_XSETREF(p->reset_error, Py_NewRef(args[1]));
    if (pgw_proto_flush(p) < 0) {
        /* the connection's state is unknown: it is closed (the future
         * fails with the error) */
        PyObject *e = pgw_fetch_exc();
        pgw_proto_fatal(p, e != NULL ? Py_NewRef(e) : NULL);
        Py_XDECREF(e);
    }
    return fut;
}

static PyObject *
proto_send_terminate(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (p->state == PS_CLOSED || p->transport == NULL) {
        Py_RETURN_NONE;
    }
    PgcStatus rc = p->conn_live ? pgc_conn_terminate(&p->conn, &p->wb)
                                : pgc_build_terminate(&p->wb);
    if (rc != PGC_OK) {
        return PyErr_NoMemory();
    }
    /* The transport stays open: the server closes its end on Terminate
     * and eof_received lets the transport close then (close() bounds the
     * wait), so a link that stopped answering is noticed, as asyncpg
     * does. */
    if (pgw_proto_flush(p) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
proto_abort(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (p->state != PS_CLOSED) {
        pgw_proto_fatal(p, pgw_make_exc(p->st->ConnectionDoesNotExistError,
                                        pgw_proto_in_flight(p) > 0
                                            ? "connection was closed in the "
                                              "middle of operation: "
                                              "terminated by the client"
                                            : "connection was terminated by "
                                              "the client"));
    }
    Py_RETURN_NONE;
}

static PyObject *
proto_closed_future(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (p->closed_fut == NULL) {
        p->closed_fut = pgw_proto_new_future(p);
        if (p->closed_fut == NULL) {
            return NULL;
        }
        if (p->state == PS_CLOSED && p->transport == NULL &&
            pgw_future_resolve(p->st, p->closed_fut) < 0) {
            return NULL;
        }
    }
    return Py_NewRef(p->closed_fut);
}

static PyObject *
proto_is_closed(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(p->state == PS_CLOSED || p->aborted);
}

static PyObject *
proto_is_in_transaction(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    /* (the pool's reset in flight ends any transaction first) */
    uint8_t tx = p->reset_req != 0 ? PGC_TX_IDLE
                                   : pgc_conn_tx_status(&p->conn);
    return PyBool_FromLong(tx == PGC_TX_INTRANS || tx == PGC_TX_INERROR);
}

/* Inside a conn.pipeline() block (cursors refuse before their checks). */
static PyObject *
proto_in_batch(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(p->batch != BATCH_NONE);
}

static PyObject *
proto_clear_statement_cache(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    pgw_cache_clear(p);
    PyDict_Clear(p->unnamed_cache);
    Py_RETURN_NONE;
}

/* A PreparedStatement was made for (acquire) or dropped from (release) a
 * Statement.  The server-side statement is closed, lazily with the next
 * request, once it is neither cached nor used by any PreparedStatement.
 * Unnamed statements hold nothing on the server. */
static PyObject *
proto_acquire_statement(ProtocolObject *p, PyObject *arg)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (!PyObject_TypeCheck(arg, p->st->StatementType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Statement");
        return NULL;
    }
    ((StmtObject *)arg)->wrappers++;
    Py_RETURN_NONE;
}

static PyObject *
proto_release_statement(ProtocolObject *p, PyObject *arg)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (!PyObject_TypeCheck(arg, p->st->StatementType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Statement");
        return NULL;
    }
    if (pgw_stmt_release(p, (StmtObject *)arg) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* One user of s (a PreparedStatement, or an op running it) is done: the
 * last one closes a statement the cache does not hold, lazily. */
int
pgw_stmt_release(ProtocolObject *p, StmtObject *s)
{
    if (s->wrappers > 0) {
        s->wrappers--;
    }
    if (s->wrappers > 0 || s->in_cache || s->closed ||
        PyBytes_GET_SIZE(s->name) == 0 || p->pending_closes == NULL) {
        return 0;
    }
    s->closed = 1;
    return PyList_Append(p->pending_closes, s->name);
}

/* _close_portal(name): an exhausted cursor's portal.  Its Close('P') is
 * sent in the same write as the next request (no round trip of its own);
 * until then the portal holds nothing but its locks. */
static PyObject *
proto_close_portal(ProtocolObject *p, PyObject *arg)
{
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected a portal name (bytes)");
        return NULL;
    }
    if (p->pending_portal_closes == NULL || p->state == PS_CLOSED) {
        Py_RETURN_NONE;
    }
    if (PyList_Append(p->pending_portal_closes, arg) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
proto_get_tx_status(ProtocolObject *p, void *Py_UNUSED(c))
{
    uint8_t tx = p->reset_req != 0 ? PGC_TX_IDLE
                                   : pgc_conn_tx_status(&p->conn);
    char s[2] = {(char)(tx ? tx : '?'), 0};
    return PyUnicode_FromString(s);
}

static PyObject *
proto_is_busy(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    /* the pool's reset in flight is not the user's work */
    return PyBool_FromLong(pgw_proto_in_flight(p) > (p->reset_req != 0) ||
                           p->cancel != CANCEL_NONE);
}

/* ------------------------------------------------------------------ */
/* Type                                                                */
/* ------------------------------------------------------------------ */

static double
float_arg(PyObject *o, double dflt)
{
    if (o == NULL || o == Py_None) {
        return dflt;
    }
    return PyFloat_AsDouble(o);
}

static PyObject *
proto_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"loop",
                             "record_class",
                             "statement_cache_size",
                             "max_cached_statement_lifetime",
                             "max_cacheable_statement_size",
                             "command_timeout",
                             "cancel_timeout",
                             "name_prefix",
                             "pipeline",
                             NULL};
    PyObject *loop, *rc = NULL, *ct = NULL, *cxt = NULL;
    const char *prefix = "0";
    int pipeline = 0;
    Py_ssize_t csize = 100, cmaxq = 15 * 1024;
    double clife = 300.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OndnOOsp:Protocol",
                                     kwlist, &loop, &rc, &csize, &clife,
                                     &cmaxq, &ct, &cxt, &prefix, &pipeline)) {
        return NULL;
    }
    ModState *st = pgw_get_state_by_type(type);
    if (st == NULL) {
        return NULL;
    }
    if (rc == NULL || rc == Py_None) {
        rc = (PyObject *)st->RecordType;
    }
    if (pgw_rows_check_shape(st, rc) < 0) {
        return NULL;
    }
    double cmd_timeout = float_arg(ct, -1.0);
    double cancel_timeout = float_arg(cxt, CONNECT_CANCEL_TIMEOUT);
    if (PyErr_Occurred()) {
        return NULL;
    }
    ProtocolObject *p = (ProtocolObject *)type->tp_alloc(type, 0);
    if (p == NULL) {
        return NULL;
    }
    p->st = st;
    p->codec = st->codec;
    p->codec.enc = NULL; /* UTF8 until the server says otherwise */
    p->codec.converts = 0;
    pgc_wbuf_init(&p->wb);
    if (pgc_reader_init(&p->rd, PGC_READER_INIT_CAP) != PGC_OK) {
        Py_DECREF(p);
        return PyErr_NoMemory();
    }
    p->rd.retire = proto_retire_block;
    p->rd.retire_ctx = p;
    p->loop = Py_NewRef(loop);
    p->record_class = Py_NewRef(rc);
    p->cache_max = csize < 0 ? 0 : csize;
    p->bind_seqno = -1;
    p->pipeline = pipeline;
    p->cache_lifetime = clife;
    p->cache_max_query = cmaxq;
    p->command_timeout = cmd_timeout;
    p->cancel_timeout = cancel_timeout;
    p->settings = PyDict_New();
    p->stmt_cache = PyDict_New();
    p->pending_closes = PyList_New(0);
    p->waiters = PyList_New(0);
    p->pending_portal_closes = PyList_New(0);
    p->unnamed_cache = PyDict_New();
    p->stmt_prefix = PyBytes_FromString(prefix);
    p->type_codecs = PyDict_New();
    if (!p->settings || !p->stmt_cache || !p->pending_closes || !p->waiters ||
        !p->pending_portal_closes || !p->unnamed_cache || !p->stmt_prefix ||
        !p->type_codecs) {
        Py_DECREF(p);
        return NULL;
    }
    return (PyObject *)p;
}

static int
proto_traverse(ProtocolObject *p, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(p));
    Py_VISIT(p->loop);
    Py_VISIT(p->transport);
    Py_VISIT(p->transport_write);
    Py_VISIT(p->startup_fut);
    Py_VISIT(p->settings);
    Py_VISIT(p->waiters);
    Py_VISIT(p->stream_op);
    Py_VISIT(p->preparing);
    Py_VISIT(p->turn_stmt);
    Py_VISIT(p->reset_fut);
    Py_VISIT(p->reset_error);
    /* the ops of the requests in flight (the engine's references) */
    for (size_t i = 0; i < p->conn.req_len; i++) {
        PgcReq *r =
            &p->conn.reqs[(p->conn.req_head + i) & (p->conn.req_cap - 1)];
        Py_VISIT((PyObject *)r->user);
    }
    Py_VISIT(p->drain_timer);
    Py_VISIT(p->writable_fut);
    Py_VISIT(p->query_log);
    Py_VISIT(p->stmt_cache);
    Py_VISIT(p->pending_closes);
    Py_VISIT(p->pending_portal_closes);
    Py_VISIT(p->unnamed_cache);
    Py_VISIT(p->type_codecs);
    Py_VISIT(p->record_class);
    Py_VISIT(p->conn_ref);
    Py_VISIT(p->closed_fut);
    Py_VISIT(p->last_fatal);
    return 0;
}

static int
proto_clear(ProtocolObject *p)
{
    p->cleared = 1;
    p->state = PS_CLOSED;
    Py_CLEAR(p->loop);
    Py_CLEAR(p->transport);
    Py_CLEAR(p->transport_write);
    Py_CLEAR(p->startup_fut);
    Py_CLEAR(p->settings);
    Py_CLEAR(p->waiters);
    Py_CLEAR(p->stream_op);
    Py_CLEAR(p->preparing);
    Py_CLEAR(p->turn_stmt);
    Py_CLEAR(p->reset_fut);
    Py_CLEAR(p->reset_error);
    {
        uint64_t id;
        void *user;
        while (pgc_conn_pop_lost(&p->conn, &id, &user)) {
            Py_XDECREF((PyObject *)user);
        }
    }
    Py_CLEAR(p->drain_timer);
    Py_CLEAR(p->writable_fut);
    Py_CLEAR(p->query_log);
    /* The LRU links are borrowed from stmt_cache.  When the cyclic GC
     * breaks a cycle through this protocol it may already have cleared
     * that dict (freeing the statements), so the list must not be walked
     * here: forget it, and let the dict drop the statements. */
    p->lru_head = p->lru_tail = NULL;
    p->cache_size = 0;
    Py_CLEAR(p->stmt_cache);
    Py_CLEAR(p->pending_closes);
    Py_CLEAR(p->pending_portal_closes);
    Py_CLEAR(p->unnamed_cache);
    Py_CLEAR(p->stmt_prefix);
    Py_CLEAR(p->type_codecs);
    Py_CLEAR(p->record_class);
    Py_CLEAR(p->conn_ref);
    Py_CLEAR(p->closed_fut);
    Py_CLEAR(p->last_fatal);
    Py_CLEAR(p->su_user);
    Py_CLEAR(p->su_require);
    clear_startup_secrets(p);
    return 0;
}

static void
proto_dealloc(ProtocolObject *p)
{
    PyTypeObject *tp = Py_TYPE(p);
    PyObject_GC_UnTrack(p);
    proto_clear(p);
    proto_pin_check(p);
    pgc_reader_free(&p->rd);
    proto_drop_rbuf(p);
    pgc_wbuf_free(&p->wb);
    pgc_conn_free(&p->conn);
    tp->tp_free((PyObject *)p);
    Py_DECREF(tp);
}

static PyObject *
proto_get_settings(ProtocolObject *p, void *Py_UNUSED(c))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    return Py_NewRef(p->settings);
}

static PyObject *
proto_get_pid(ProtocolObject *p, void *Py_UNUSED(c))
{
    return PyLong_FromLong(p->backend_pid);
}

static PyObject *
proto_get_secret(ProtocolObject *p, void *Py_UNUSED(c))
{
    return PyLong_FromLong(p->backend_secret);
}

static PyObject *
proto_get_cancel_timeout(ProtocolObject *p, void *Py_UNUSED(c))
{
    return PyFloat_FromDouble(p->cancel_timeout);
}

static PyObject *
proto_get_command_timeout(ProtocolObject *p, void *Py_UNUSED(c))
{
    if (p->command_timeout < 0) {
        Py_RETURN_NONE;
    }
    return PyFloat_FromDouble(p->command_timeout);
}

static PyObject *
proto_get_cache_len(ProtocolObject *p, void *Py_UNUSED(c))
{
    return PyLong_FromSsize_t(p->cache_size);
}

static PyObject *
proto_get_type_codecs(ProtocolObject *p, void *Py_UNUSED(c))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    return Py_NewRef(p->type_codecs);
}

static PyObject *
proto_get_record_class(ProtocolObject *p, void *Py_UNUSED(c))
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    return Py_NewRef(p->record_class);
}

/* _batch_begin(sync_each) / _batch_end(): conn.pipeline() (see
 * pgwire/_pipeline.py): the requests pushed meanwhile end with a Flush and
 * share the Sync of the next p.sync(), or (sync_each) each has its own. */
static PyObject *
proto_batch_begin(ProtocolObject *p, PyObject *sync_each)
{
    if (p->cleared) {
        pgw_proto_cleared_error(p);
        return NULL;
    }
    if (p->batch != BATCH_NONE) {
        PyErr_SetString(p->st->InterfaceError,
                        "conn.pipeline() blocks cannot be nested");
        return NULL;
    }
    int each = PyObject_IsTrue(sync_each);
    if (each < 0) {
        return NULL;
    }
    p->batch = each ? BATCH_SYNC_EACH : BATCH_SHARED;
    Py_RETURN_NONE;
}

static PyObject *
proto_batch_end(ProtocolObject *p, PyObject *Py_UNUSED(a))
{
    p->batch = BATCH_NONE;
    Py_RETURN_NONE;
}

static PyMethodDef proto_methods[] = {
    {"_batch_begin", (PyCFunction)proto_batch_begin, METH_O, NULL},
    {"_batch_end", (PyCFunction)proto_batch_end, METH_NOARGS, NULL},
    {"connection_made", (PyCFunction)proto_connection_made, METH_O, NULL},
    {"get_buffer", (PyCFunction)proto_get_buffer, METH_O, NULL},
    {"buffer_updated", (PyCFunction)proto_buffer_updated, METH_O, NULL},
    {"eof_received", (PyCFunction)proto_eof_received, METH_NOARGS, NULL},
    {"connection_lost", (PyCFunction)proto_connection_lost, METH_O, NULL},
    {"pause_writing", (PyCFunction)proto_pause_writing, METH_NOARGS, NULL},
    {"resume_writing", (PyCFunction)proto_resume_writing, METH_NOARGS, NULL},
    {"_writable", (PyCFunction)proto_writable, METH_NOARGS, NULL},
    {"_close_portal", (PyCFunction)proto_close_portal, METH_O, NULL},
    {"startup", (PyCFunction)(void (*)(void))proto_startup,
     METH_VARARGS | METH_KEYWORDS,
     "startup(params, user, password, scram_password, nonce, "
     "max_iterations=100000) -> Future"},
    {"set_connection", (PyCFunction)proto_set_connection, METH_O, NULL},
    {"send_terminate", (PyCFunction)proto_send_terminate, METH_NOARGS, NULL},
    {"_send_reset", (PyCFunction)(void (*)(void))proto_send_reset,
     METH_FASTCALL, NULL},
    {"abort", (PyCFunction)proto_abort, METH_NOARGS, NULL},
    {"closed_future", (PyCFunction)proto_closed_future, METH_NOARGS, NULL},
    {"is_closed", (PyCFunction)proto_is_closed, METH_NOARGS, NULL},
    {"is_busy", (PyCFunction)proto_is_busy, METH_NOARGS, NULL},
    {"is_in_transaction", (PyCFunction)proto_is_in_transaction, METH_NOARGS,
     NULL},
    {"_in_batch", (PyCFunction)proto_in_batch, METH_NOARGS, NULL},
    {"clear_statement_cache", (PyCFunction)proto_clear_statement_cache,
     METH_NOARGS, NULL},
    {"acquire_statement", (PyCFunction)proto_acquire_statement, METH_O, NULL},
    {"release_statement", (PyCFunction)proto_release_statement, METH_O, NULL},
    {"_cancel_finished", (PyCFunction)proto_cancel_finished, METH_O, NULL},
    {"_drain_timeout", (PyCFunction)proto_drain_timeout, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef proto_getset[] = {
    {"_query_log", (getter)proto_get_query_log, (setter)proto_set_query_log,
     NULL, NULL},
    {"queries_count", (getter)proto_get_queries_count, NULL,
     "requests started on this connection", NULL},
    {"settings", (getter)proto_get_settings, NULL, NULL, NULL},
    {"backend_pid", (getter)proto_get_pid, NULL, NULL, NULL},
    {"backend_secret", (getter)proto_get_secret, NULL, NULL, NULL},
    {"tx_status", (getter)proto_get_tx_status, NULL, NULL, NULL},
    {"cancel_timeout", (getter)proto_get_cancel_timeout, NULL, NULL, NULL},
    {"command_timeout", (getter)proto_get_command_timeout, NULL, NULL, NULL},
    {"statement_cache_len", (getter)proto_get_cache_len, NULL, NULL, NULL},
    {"record_class", (getter)proto_get_record_class, NULL, NULL, NULL},
    {"type_codecs", (getter)proto_get_type_codecs, NULL,
     "dict oid -> Codec for non-builtin types", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot proto_slots[] = {
    {Py_tp_new, proto_new},
    {Py_tp_dealloc, proto_dealloc},
    {Py_tp_traverse, proto_traverse},
    {Py_tp_clear, proto_clear},
    {Py_tp_methods, proto_methods},
    {Py_tp_getset, proto_getset},
    {Py_tp_doc, "The asyncio protocol of a pgwire connection (C)."},
    {0, NULL},
};

/* Not Py_TPFLAGS_IMMUTABLETYPE, unlike the module's other types: the base
 * asyncio.BufferedProtocol (pgw_protocol_setup_types) is a mutable Python
 * class, and an immutable type over a mutable base is deprecated since
 * CPython 3.12 (a DeprecationWarning at import) and refused from 3.14 on
 * (gh-95388). */
static PyType_Spec proto_spec = {
    .name = "pgwire._pgwire.Protocol",
    .basicsize = sizeof(ProtocolObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = proto_slots,
};

int
pgw_protocol_setup_types(PyObject *module, ModState *st)
{
    /* asyncio transports pick the buffered read path with isinstance(
     * protocol, asyncio.BufferedProtocol): subclass it (its __slots__ are
     * empty, so our layout extends object's). */
    PyObject *asyncio = PyImport_ImportModule("asyncio");
    if (asyncio == NULL) {
        return -1;
    }
    PyObject *base = PyObject_GetAttrString(asyncio, "BufferedProtocol");
    Py_DECREF(asyncio);
    if (base == NULL) {
        return -1;
    }
    st->ReadBufferType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                                  &rbuf_spec,
                                                                  NULL);
    if (st->ReadBufferType == NULL) {
        Py_DECREF(base);
        return -1;
    }
    st->ProtocolType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                                &proto_spec,
                                                                base);
    Py_DECREF(base);
    if (st->ProtocolType == NULL ||
        PyModule_AddType(module, st->ProtocolType) < 0) {
        return -1;
    }
    if (pgw_stmt_setup_types(module, st) < 0 ||
        pgw_op_setup_types(module, st) < 0 ||
        pgw_conn_setup_types(module, st) < 0) {
        return -1;
    }
    return 0;
}
