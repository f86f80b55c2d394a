/* many.c -- executemany/fetchmany: the batch streamed in bounded chunks.
 *
 * The batch is one Bind/Execute pair per argument tuple and one Sync at
 * the end, so the server runs it in one implicit transaction (or inside
 * the user's): atomic.  It is encoded CHUNK bytes at a time and written
 * under the transport's flow control (pause_writing/resume_writing), so
 * memory stays bounded whatever the size of the batch and the iterable is
 * consumed lazily (a generator works).
 *
 * A batch that fits in one chunk is written at once, exactly as before;
 * a longer one is pushed one chunk per request (src/core/pgc_conn.h), all
 * in one Sync group that the last chunk's Sync closes: nothing reaches the
 * write buffer without its expected answers registered.
 * Once a first chunk has gone out, a failure on our side (a bad value, an
 * iterable that raises, a timeout or cancel) must make the server discard
 * what it already ran before the Sync:
 *   - outside a transaction: an Execute of a portal that does not exist,
 *     so the server fails the implicit transaction (everything until the
 *     Sync is skipped and rolled back);
 *   - inside the user's transaction: the streamed batch runs under a
 *     savepoint (SAVEPOINT ahead of the first chunk, RELEASE before the
 *     Sync), and a failure sends ROLLBACK TO + RELEASE: the user's
 *     transaction is left as it was before the call, usable, with none of
 *     the batch's rows (asyncpg leaves the rows sent so far in it);
 *   - in a failed transaction the server skips everything anyway.
 * A server error midway stops the encoding at once: the rest would be
 * skipped until the Sync, which is sent next.
 */
#include "proto.h"

/* Bytes of Bind/Execute messages encoded before they are written. */
#define MANY_CHUNK ((size_t)128 << 10)

#define SAVEPOINT_SQL "SAVEPOINT pgwire_executemany"
#define RELEASE_SQL "RELEASE SAVEPOINT pgwire_executemany"
#define ROLLBACK_TO_SQL "ROLLBACK TO SAVEPOINT pgwire_executemany"
/* Executing it fails: no portal has this name (a client cannot create one
 * with DECLARE: the name is only reachable through Bind). */
#define ABORT_PORTAL "pgwire: executemany aborted by the client"

typedef enum {
    FINISH_OK,   /* the iterable is exhausted */
    FINISH_FAIL, /* discard the batch (after a server error, the server
                    skips the tail anyway: harmless) */
} FinishHow;

/* Parse/Bind/Execute of a parameterless command on the unnamed statement
 * (the batch's own unnamed statement is parsed after it, or no longer
 * needed). */
static PgcStatus
build_command(PgcReqBuilder *b, const char *sql)
{
    PgcStr empty = {"", 0};
    PgcStr q = {sql, strlen(sql)};
    PgcStatus rc = pgc_req_parse(b, empty, q, NULL, 0);
    if (rc == PGC_OK) {
        rc = pgc_req_bind_start(b, empty, empty, 0, NULL, 0);
    }
    if (rc == PGC_OK) {
        rc = pgc_req_bind_end(b, 0, NULL);
    }
    if (rc == PGC_OK) {
        rc = pgc_req_execute(b, empty, 0);
    }
    return rc;
}

/* The first chunk is only a first chunk (more follow): inside the user's
 * transaction, put the savepoint ahead of the batch (before its Parse,
 * which uses the unnamed statement as the SAVEPOINT does). */
static int
savepoint_first(OpObject *op, PgcReqBuilder *b)
{
    ProtocolObject *p = op->proto;
    if (pgc_conn_tx_status(&p->conn) != PGC_TX_INTRANS) {
        return 0;
    }
    size_t from = p->wb.len;
    PgcStatus rc = build_command(b, SAVEPOINT_SQL);
    if (rc == PGC_OK) {
        rc = pgc_req_move_to_front(b, from, 3); /* Parse Bind Execute */
    }
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    op->many_savepoint = 1;
    return 0;
}

/* Commit the chunk built in b (with the batch's Sync if `last`): the
 * engine holds a reference to op until its REQ_DONE. */
static int
chunk_commit(OpObject *op, PgcReqBuilder *b, int last)
{
    ProtocolObject *p = op->proto;
    PgcStatus rc = last ? pgw_proto_req_end(p, b) : PGC_OK;
    uint64_t id;
    if (rc == PGC_OK) {
        rc = pgc_req_commit(b, &id);
    }
    if (rc != PGC_OK) {
        pgc_req_abort(b);
        return pgw_proto_push_error(p, rc);
    }
    pgw_op_pushed(op, id, !op->many_sent);
    op->many_sent = 1;
    op->many_open = !last;
    return 0;
}

/* Begin the request of the next chunk (b is then open). */
static int
chunk_begin(OpObject *op, PgcReqBuilder *b)
{
    ProtocolObject *p = op->proto;
    PgcStatus rc = pgc_req_begin(&p->conn, &p->wb, 0, op, b);
    return rc == PGC_OK ? 0 : pgw_proto_push_error(p, rc);
}

static void
stream_wait(OpObject *op, int waiting)
{
    ProtocolObject *p = op->proto;
    if (waiting) {
        op->phase = PH_STREAM;
        Py_XSETREF(p->stream_op, (OpObject *)Py_NewRef(op));
    }
    else if (p->stream_op == op) {
        Py_CLEAR(p->stream_op);
    }
}

/* End the batch in the open request b: its tail and the Sync, written;
 * the op then waits for its REQ_DONE. */
static int
finish(OpObject *op, PgcReqBuilder *b, FinishHow how)
{
    ProtocolObject *p = op->proto;
    PgcStatus rc = PGC_OK;
    Py_CLEAR(op->many_it);
    stream_wait(op, 0);
    if (how == FINISH_FAIL && op->many_savepoint) {
        rc = build_command(b, ROLLBACK_TO_SQL);
    }
    else if (how == FINISH_FAIL) {
        PgcStr portal = {ABORT_PORTAL, sizeof(ABORT_PORTAL) - 1};
        rc = pgc_req_execute(b, portal, 0);
    }
    if (rc == PGC_OK && op->many_savepoint) {
        rc = build_command(b, RELEASE_SQL);
    }
    if (rc != PGC_OK) {
        pgc_req_abort(b);
        pgw_proto_push_error(p, rc);
    }
    if (rc != PGC_OK || chunk_commit(op, b, 1) < 0) {
        /* cannot end the batch properly: the connection is unusable */
        if (op->many_sent) {
            pgw_proto_fatal(p, NULL);
        }
        return -1;
    }
    op->phase = PH_WAIT_RESULT;
    return pgw_proto_flush(p);
}

/* Encode the next argument tuple into b.  1 = one encoded, 0 = none left,
 * -1 = error. */
static int
encode_next(OpObject *op, PgcReqBuilder *b)
{
    PyObject *item = PyIter_Next(op->many_it);
    if (item == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_ssize_t seqno = op->many_index++;
    PyObject *t;
    if (op->stmt->pf_names != NULL) {
        /* %(name)s statements take each mapping whole (paramstyle.c) */
        t = PyTuple_Pack(1, item);
    }
    else if (!PySequence_Check(item)) {
        /* asyncpg's class and wording (a dict or a set is not an argument
         * sequence, even though it is iterable) */
        PyErr_Format(op->st->DataError,
                     "invalid input in executemany() argument sequence "
                     "element #%zd: expected a sequence, got %s",
                     seqno, Py_TYPE(item)->tp_name);
        Py_DECREF(item);
        return -1;
    }
    else {
        t = PySequence_Tuple(item);
    }
    Py_DECREF(item);
    if (t == NULL) {
        return -1;
    }
    op->proto->bind_seqno = seqno;
    int rc = pgw_stmt_write_bind_exec(op->proto, op->stmt, t, 0,
                                      op->kind == OP_FETCHMANY,
                                      op->many_describe, b);
    op->proto->bind_seqno = -1;
    op->many_describe = 0;
    Py_DECREF(t);
    return rc < 0 ? -1 : 1;
}

/* A client-side error is pending with b open: before anything was
 * written, drop the batch and raise it now (nothing happened); afterwards
 * it becomes the op's error and the server is told to discard the batch
 * (the chunk being built is dropped: the server never saw it). */
static int
client_failed(OpObject *op, PgcReqBuilder *b)
{
    pgc_req_abort(b);
    if (!op->many_sent) {
        Py_CLEAR(op->many_it);
        return -1;
    }
    PyObject *e = pgw_fetch_exc();
    if (e != NULL && op->error == NULL) {
        op->error = e;
    }
    else {
        Py_XDECREF(e);
    }
    /* raised once the server has discarded the batch: the connection is
     * then idle and its transaction status current */
    op->many_failed = 1;
    if (chunk_begin(op, b) < 0) {
        pgw_proto_fatal(op->proto, NULL);
        return -1;
    }
    return finish(op, b, FINISH_FAIL);
}

/* Encode chunks into requests and write them until the iterable is
 * exhausted or the transport asks us to wait; b is open on entry.  0 =
 * the batch is complete (phase WAIT_RESULT) or waiting for resume_writing
 * (phase STREAM), -1 = error to raise now. */
static int
pump(OpObject *op, PgcReqBuilder *b)
{
    ProtocolObject *p = op->proto;
    for (;;) {
        int more = 1;
        while (more > 0 && p->wb.len < MANY_CHUNK) {
            more = encode_next(op, b);
        }
        if (more < 0) {
            return client_failed(op, b);
        }
        if (more == 0) {
            return finish(op, b, FINISH_OK);
        }
        if (!op->many_sent && savepoint_first(op, b) < 0) {
            pgc_req_abort(b);
            Py_CLEAR(op->many_it);
            return -1;
        }
        if (chunk_commit(op, b, 0) < 0) {
            if (op->many_sent) {
                pgw_proto_fatal(p, NULL);
            }
            return -1;
        }
        if (pgw_proto_flush(p) < 0) {
            return -1;
        }
        if (op->error != NULL || op->req_id == 0) {
            /* a server error arrived meanwhile, or the connection is
             * gone: stop encoding */
            return pgw_many_resume(op);
        }
        if (p->writing_paused) {
            stream_wait(op, 1);
            return 0;
        }
        if (chunk_begin(op, b) < 0) {
            pgw_proto_fatal(p, NULL);
            return -1;
        }
    }
}

int
pgw_many_send(OpObject *op, PgcReqBuilder *b, int describe)
{
    op->many_sent = 0;
    op->many_open = 0;
    op->many_savepoint = 0;
    op->many_describe = describe;
    Py_CLEAR(op->many_it);
    op->many_it = PyObject_GetIter(op->args);
    op->many_index = 0;
    if (op->many_it == NULL) {
        pgc_req_abort(b);
        return -1;
    }
    /* an iterator can be consumed once: never retried */
    op->many_oneshot = op->many_it == op->args;
    return pump(op, b);
}

int
pgw_many_resume(OpObject *op)
{
    PgcReqBuilder b;
    if (op->req_id == 0) {
        /* the connection was lost (its error is the op's) */
        Py_CLEAR(op->many_it);
        stream_wait(op, 0);
        op->phase = PH_WAIT_RESULT;
        return 0;
    }
    if (op->error == NULL && op->proto->writing_paused) {
        return 0; /* woken early: still STREAM */
    }
    if (chunk_begin(op, &b) < 0) {
        pgw_proto_fatal(op->proto, NULL);
        stream_wait(op, 0);
        op->phase = PH_WAIT_RESULT;
        return 0;
    }
    if (op->error != NULL) {
        /* a server error (it skips the rest until the Sync), or a result
         * row that did not decode (fetchmany): the batch must not commit */
        return finish(op, &b, FINISH_FAIL);
    }
    stream_wait(op, 0);
    op->phase = PH_WAIT_RESULT;
    return pump(op, &b);
}

void
pgw_many_abandon(OpObject *op)
{
    op->many_failed = 0; /* the results are drained in the background */
    if (op->phase != PH_STREAM || op->req_id == 0) {
        return;
    }
    PyObject *v = PyErr_GetRaisedException();
    PgcReqBuilder b;
    if (chunk_begin(op, &b) < 0 || finish(op, &b, FINISH_FAIL) < 0) {
        PyErr_Clear();
    }
    PyErr_SetRaisedException(v);
}
int
pgw_many_own_tag(OpObject *op, PgcView tag)
{
    static const char *const tags[] = {"SAVEPOINT", "RELEASE", "ROLLBACK"};
    if (!op->many_savepoint) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        size_t n = strlen(tags[i]);
        if (tag.n == n && memcmp(tag.p, tags[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}
