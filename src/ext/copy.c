/* copy.c -- COPY in both directions.
 *
 * The loop that moves data between the server and the caller's file,
 * coroutine or iterable is Python (pgwire/_copy.py: cold, once per chunk of
 * hundreds of kilobytes); everything per row is here.
 *
 * COPY TO: CopyData payloads are gathered into one buffer; each await of
 * the op hands out everything gathered so far as one bytes object.  Above
 * COPY_OUT_PAUSE bytes not yet taken, reading from the socket pauses until
 * the caller takes them, so a slow consumer bounds memory.
 *
 * COPY FROM: the first await returns True once the server is in copy-in
 * mode; then _copy_write (bytes) or _copy_write_records (binary tuples
 * encoded here with the codecs of the target columns) append CopyData and
 * hand it to the transport, and Python waits on Protocol._writable()
 * between chunks; _copy_end sends CopyDone + Sync and the last await
 * returns the status ('COPY n').  Abandoning the op sends CopyFail + Sync.
 *
 * The request is Parse/Bind/Execute/Sync of the unnamed statement: one
 * statement only, so text spliced into it (a where= clause) can never add
 * another.  The server ignores Sync in copy-in mode (it arrives before the
 * data), so CopyDone and CopyFail are followed by a Sync of their own.
 */
#include "proto.h"

#define COPY_OUT_PAUSE (256 * 1024)
#define COPY_IN_CHUNK (512 * 1024)

/* "PGCOPY\n\377\r\n\0", flags, header extension length */
static const uint8_t binary_header[19] = {'P', 'G',  'C',  'O',  'P',
                                          'Y', '\n', 0xff, '\r', '\n',
                                          0,   0,    0,    0,    0,
                                          0,   0,    0,    0};

void
pgw_copy_free(OpObject *op)
{
    PyMem_Free(op->copy.buf);
    op->copy.buf = NULL;
    op->copy.len = op->copy.cap = 0;
}

static int
copy_out_append(OpObject *op, const uint8_t *data, size_t n)
{
    if (n > op->copy.cap - op->copy.len) {
        size_t need = op->copy.len + n;
        size_t cap = op->copy.cap ? op->copy.cap : 64 * 1024;
        while (cap < need) {
            if (cap > (size_t)PY_SSIZE_T_MAX / 2) {
                cap = need;
                break;
            }
            cap *= 2;
        }
        uint8_t *nb = PyMem_Realloc(op->copy.buf, cap);
        if (nb == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        op->copy.buf = nb;
        op->copy.cap = cap;
    }
    memcpy(op->copy.buf + op->copy.len, data, n);
    op->copy.len += n;
    return 0;
}

static void
copy_set_error(OpObject *op, PyObject *exc)
{
    if (exc == NULL) {
        exc = pgw_fetch_exc();
    }
    if (exc != NULL && op->error == NULL) {
        op->error = exc;
    }
    else {
        Py_XDECREF(exc);
    }
}

int
pgw_copy_on_event(OpObject *op, const PgcEvent *ev)
{
    ProtocolObject *p = op->proto;
    switch (ev->type) {
    case PGC_EV_COPY_OUT_RESPONSE:
        if (op->kind != OP_COPY_OUT) {
            copy_set_error(op, pgw_make_exc(p->st->InterfaceError,
                                            "expected COPY FROM STDIN, the "
                                            "server started COPY TO"));
        }
        return 0;
    case PGC_EV_COPY_DATA:
        if (op->kind != OP_COPY_OUT || op->error != NULL) {
            return 0;
        }
        if (op->copy.len == 0) {
            pgw_op_wake(op);
        }
        if (copy_out_append(op, ev->body.p, ev->body.n) < 0) {
            copy_set_error(op, NULL);
            return 0;
        }
        if (op->copy.len >= COPY_OUT_PAUSE && !p->reading_paused) {
            pgw_proto_set_reading(p, 1);
        }
        return 0;
    case PGC_EV_COPY_IN_RESPONSE:
        if (op->kind != OP_COPY_IN || op->error != NULL) {
            return pgw_proto_refuse_copy_in(p);
        }
        op->copy.announce = 1;
        pgw_op_wake(op);
        return 0;
    default:
        return 0;
    }
}

PyObject *
pgw_copy_poll(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (op->kind == OP_COPY_OUT) {
        if (op->copy.len == 0) {
            return NULL;
        }
        PyObject *b = PyBytes_FromStringAndSize((const char *)op->copy.buf,
                                                (Py_ssize_t)op->copy.len);
        if (b == NULL) {
            return NULL;
        }
        op->copy.len = 0;
        if (op->copy.cap > 4 * COPY_OUT_PAUSE) {
            pgw_copy_free(op); /* a huge row passed: do not keep its room */
        }
        if (p->reading_paused && op->req_id != 0) {
            pgw_proto_set_reading(p, 0);
        }
        return b;
    }
    if (op->copy.announce) {
        op->copy.announce = 0;
        Py_RETURN_TRUE;
    }
    return NULL;
}

int
pgw_copy_send(OpObject *op, PgcReqBuilder *b)
{
    ProtocolObject *p = op->proto;
    Py_ssize_t n;
    PyObject *owner;
    const char *sql = pgw_proto_query_text(p, op->query, NULL, &n, &owner);
    if (sql == NULL) {
        return -1;
    }
    PgcStr empty = {"", 0};
    PgcStr q = {sql, (size_t)n};
    PgcStatus rc = pgc_req_parse(b, empty, q, NULL, 0);
    Py_XDECREF(owner);
    if (rc == PGC_OK) {
        rc = pgc_req_bind_start(b, empty, empty, 0, NULL, 0);
    }
    if (rc == PGC_OK) {
        rc = pgc_req_bind_end(b, 0, NULL);
    }
    if (rc == PGC_OK) {
        rc = pgc_req_execute(b, empty, 0);
    }
    if (rc == PGC_OK) {
        rc = pgc_req_sync(b);
    }
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    return 0;
}

/* CopyFail + Sync, then drain the results in the background. */
static void
copy_fail(OpObject *op, const char *why)
{
    ProtocolObject *p = op->proto;
    PgcStr reason = {why, strlen(why)};
    if (pgc_conn_copy_fail(&p->conn, &p->wb, reason) != PGC_OK ||
        pgw_proto_flush(p) < 0) {
        PyErr_Clear();
        pgw_proto_fatal(p, pgw_make_exc(p->st->InterfaceError,
                                        "could not abort COPY; connection "
                                        "aborted"));
        return;
    }
    p->cancel = CANCEL_SENT;
    p->cancel_req = op->req_id;
    if (pgw_proto_arm_drain_timer(p) < 0) {
        PyErr_WriteUnraisable((PyObject *)p);
    }
}

void
pgw_copy_abandon(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (p == NULL) {
        return;
    }
    if (op->kind == OP_COPY_IN && p->cancel == CANCEL_NONE &&
        pgc_conn_copy_in_state(&p->conn) == PGC_COPYIN_ACTIVE) {
        copy_fail(op, "COPY was abandoned by the client");
    }
    else {
        /* COPY TO, or COPY FROM not started or already finished: cancel;
         * a CopyInResponse that still comes is answered with CopyFail */
        pgw_proto_begin_cancel(p, op);
    }
    op->copy.len = 0;
    if (p->reading_paused) {
        pgw_proto_set_reading(p, 0);
    }
}

/* 1 if the server still takes data for this op, 0 if not (it failed the
 * COPY, or the connection is gone), -1 error (misuse). */
static int
copy_can_write(OpObject *op)
{
    ProtocolObject *p = op->proto;
    if (p == NULL) {
        PyErr_SetString(op->st->InterfaceError,
                        "COPY FROM is not in progress on this operation");
        return -1;
    }
    PgcCopyInState cs = pgc_conn_copy_in_state(&p->conn);
    int ours = op->req_id != 0 && p->state == PS_READY;
    if (op->kind != OP_COPY_IN || op->phase != PH_WAIT_RESULT ||
        (ours && cs == PGC_COPYIN_NONE)) {
        if (op->phase == PH_DONE || (ours && cs == PGC_COPYIN_ENDED)) {
            return 0;
        }
        PyErr_SetString(p->st->InterfaceError,
                        "COPY FROM is not in progress on this operation");
        return -1;
    }
    if (op->error != NULL || !ours || cs != PGC_COPYIN_ACTIVE) {
        return 0;
    }
    return 1;
}

/* _copy_write(data) -> True if the server still takes data, False if it
 * has failed the COPY (the error comes from the final await). */
PyObject *
pgw_copy_write(OpObject *op, PyObject *data)
{
    ProtocolObject *p = op->proto;
    int ok = copy_can_write(op);
    if (ok <= 0) {
        return ok < 0 ? NULL : Py_NewRef(Py_False);
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        PyErr_Format(PyExc_TypeError,
                     "COPY data must be bytes-like, not %.100s",
                     Py_TYPE(data)->tp_name);
        return NULL;
    }
    const uint8_t *d = view.buf;
    size_t left = (size_t)view.len;
    int rc = 0;
    while (left > 0 && rc == 0) {
        size_t k = left < COPY_IN_CHUNK ? left : COPY_IN_CHUNK;
        if (pgc_conn_copy_data(&p->conn, &p->wb, d, k) != PGC_OK) {
            PyErr_NoMemory();
            rc = -1;
            break;
        }
        d += k;
        left -= k;
        rc = pgw_proto_flush(p);
    }
    PyBuffer_Release(&view);
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

/* Turn the pending encoder exception into DataError naming the column and
 * the record. */
static void
raise_field_error(OpObject *op, StmtObject *s, Py_ssize_t col, PyObject *val)
{
    PyObject *cause = pgw_fetch_exc();
    PyObject *rep = pgw_short_repr(val);
    PyObject *msg =
        rep ? PyUnicode_FromFormat("invalid input for column %R (type %s) in "
                                   "record %zd: %U (%S)",
                                   PyTuple_GET_ITEM(s->names, col),
                                   s->col_codecs[col]->name, op->copy.nrec + 1,
                                   rep, cause ? cause : Py_None)
            : NULL;
    Py_XDECREF(rep);
    pgw_raise_caused(op->st->DataError, msg, cause);
    Py_XDECREF(cause);
}

/* Append one binary COPY tuple for `rec` to the open CopyData message. */
static int
encode_record(OpObject *op, StmtObject *s, PyObject *rec)
{
    ProtocolObject *p = op->proto;
    PyObject *fast = NULL;
    PyObject **items;
    Py_ssize_t n;
    if (PyTuple_Check(rec)) {
        items = &PyTuple_GET_ITEM(rec, 0);
        n = PyTuple_GET_SIZE(rec);
    }
    else if (PyObject_TypeCheck(rec, op->st->RecordType)) {
        items = ((RecordObject *)rec)->items;
        n = Py_SIZE(rec);
    }
    else if (PyList_Check(rec) ||
             (PySequence_Check(rec) && !PyUnicode_Check(rec) &&
              !PyBytes_Check(rec) && !PyByteArray_Check(rec))) {
        fast = PySequence_Fast(rec, "");
        if (fast == NULL) {
            return -1;
        }
        items = PySequence_Fast_ITEMS(fast);
        n = PySequence_Fast_GET_SIZE(fast);
    }
    else {
        PyErr_Format(op->st->DataError,
                     "record %zd: expected a tuple or other sequence of "
                     "column values, got %.100s",
                     op->copy.nrec + 1, Py_TYPE(rec)->tp_name);
        return -1;
    }
    int rc = -1;
    if (n != s->ncols) {
        PyErr_Format(op->st->DataError,
                     "record %zd has %zd value%s, expected %d (one per "
                     "column: %R)",
                     op->copy.nrec + 1, n, n == 1 ? "" : "s", (int)s->ncols,
                     s->names);
        goto done;
    }
    if (pgc_wbuf_put_i16(&p->wb, (int16_t)n) != PGC_OK) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = items[i];
        if (v == Py_None) {
            if (pgc_wbuf_put_i32(&p->wb, -1) != PGC_OK) {
                PyErr_NoMemory();
                goto done;
            }
            continue;
        }
        size_t off;
        if (pgc_wbuf_reserve_len(&p->wb, &off) != PGC_OK) {
            PyErr_NoMemory();
            goto done;
        }
        const PgwCodec *c = s->col_codecs[i];
        if (c->encode(&p->codec, c, v, &p->wb) < 0) {
            raise_field_error(op, s, i, v);
            goto done;
        }
        if (pgc_wbuf_patch_len(&p->wb, off) != PGC_OK) {
            PyErr_SetString(PyExc_ValueError, "value too large");
            raise_field_error(op, s, i, v);
            goto done;
        }
    }
    op->copy.nrec++;
    rc = 0;
done:
    Py_XDECREF(fast);
    return rc;
}

/* _copy_write_records(iterator) -> True if the iterator may have more
 * records (a chunk of about COPY_IN_CHUNK bytes was sent), False when it
 * is exhausted, None if the server failed the COPY (nothing was read).  The op's statement
 * describes the target columns. */
PyObject *
pgw_copy_write_records(OpObject *op, PyObject *it)
{
    ProtocolObject *p = op->proto;
    StmtObject *s = op->stmt;
    int ok = copy_can_write(op);
    if (ok <= 0) {
        return ok < 0 ? NULL : Py_NewRef(Py_None);
    }
    if (s == NULL || !PyIter_Check(it)) {
        PyErr_SetString(PyExc_TypeError,
                        "_copy_write_records needs an iterator and a "
                        "COPY op made with the target's statement");
        return NULL;
    }
    size_t mark = p->wb.len;
    if (pgc_wbuf_start_msg(&p->wb, PGC_FMSG_COPY_DATA) != PGC_OK) {
        return PyErr_NoMemory();
    }
    if (!op->copy.header) {
        if (pgc_wbuf_put_bytes(&p->wb, binary_header, sizeof(binary_header)) !=
            PGC_OK) {
            pgc_wbuf_truncate(&p->wb, mark);
            return PyErr_NoMemory();
        }
    }
    int more = 1;
    while (p->wb.len - mark < COPY_IN_CHUNK) {
        PyObject *rec = PyIter_Next(it);
        if (rec == NULL) {
            if (PyErr_Occurred()) {
                pgc_wbuf_truncate(&p->wb, mark);
                return NULL;
            }
            more = 0;
            break;
        }
        int rc = encode_record(op, s, rec);
        Py_DECREF(rec);
        if (rc < 0) {
            pgc_wbuf_truncate(&p->wb, mark);
            return NULL;
        }
    }
    PgcStatus st = pgc_wbuf_end_msg(&p->wb);
    if (st != PGC_OK) {
        pgc_wbuf_truncate(&p->wb, mark);
        if (st == PGC_ERR_LIMIT) {
            PyErr_Format(op->st->DataError,
                         "record %zd is larger than a protocol message may "
                         "be",
                         op->copy.nrec + 1);
            return NULL;
        }
        return PyErr_NoMemory();
    }
    op->copy.header = 1;
    if (pgw_proto_flush(p) < 0) {
        return NULL;
    }
    return PyBool_FromLong(more);
}

/* _copy_end(): CopyDone (after the binary trailer when records were
 * written) + Sync.  The op's next await returns the status. */
PyObject *
pgw_copy_end(OpObject *op, PyObject *Py_UNUSED(a))
{
    ProtocolObject *p = op->proto;
    int ok = copy_can_write(op);
    if (ok < 0) {
        return NULL;
    }
    PgcCopyInState cs = pgc_conn_copy_in_state(&p->conn);
    if (p->state != PS_READY || op->req_id == 0 ||
        (cs != PGC_COPYIN_ACTIVE && cs != PGC_COPYIN_END_REQUIRED)) {
        Py_RETURN_NONE;
    }
    /* Also after a server error: the server discards the rest up to the
     * Sync, which ends the request. */
    size_t mark = p->wb.len;
    PgcStatus rc = PGC_OK;
    if (op->stmt != NULL && op->error == NULL && cs == PGC_COPYIN_ACTIVE) {
        /* binary records: header (when no record came) and trailer */
        uint8_t tail[sizeof(binary_header) + 2];
        size_t n = 0;
        if (!op->copy.header) {
            memcpy(tail, binary_header, sizeof(binary_header));
            n = sizeof(binary_header);
        }
        tail[n++] = 0xff;
        tail[n++] = 0xff;
        rc = pgc_conn_copy_data(&p->conn, &p->wb, tail, n);
        op->copy.header = 1;
    }
    if (rc == PGC_OK) {
        rc = pgc_conn_copy_done(&p->conn, &p->wb);
    }
    if (rc != PGC_OK) {
        pgc_wbuf_truncate(&p->wb, mark);
        return PyErr_NoMemory();
    }
    if (pgw_proto_flush(p) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}
