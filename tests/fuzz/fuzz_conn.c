/* fuzz_conn.c -- libFuzzer target for the request engine (pgc_conn).
 *
 * Input layout:
 *   byte 0           q: the number of request bytes (q % 32)
 *   q bytes          one request each: bits 0-3 the kind (see push_one),
 *                    bit 4-5 a count (executemany), bit 6 pushed after the
 *                    first chunk instead of before the stream, bit 7
 *                    abandoned right after the push
 *   1 byte           k: the number of chunk-size bytes (k % 16)
 *   k bytes          chunk sizes (each + 1, used in turn)
 *   the rest         the backend byte stream, fed in those chunks
 *
 * The harness behaves as a binding must: it answers COPY FROM STDIN
 * (data + CopyDone, or CopyFail for an abandoned request), sends the Sync
 * an END_REQUIRED COPY waits for, and completes the requests left at a
 * fatal error with pgc_conn_pop_lost.  Pushes the engine refuses (a
 * barrier, a simple Query into an open group) are part of the contract.
 *
 * Invariants (abort on violation):
 *   - an event names only a request in flight (pushed, not yet done);
 *   - every request is completed exactly once: by REQ_DONE, or by
 *     pop_lost after a fatal error;
 *   - an abandoned request reports only COPY_IN_RESPONSE and REQ_DONE;
 *   - every view lies inside the message body, and the body inside the
 *     reader's received bytes;
 *   - errors are sticky; the transaction status is a PGC_TX_* value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_conn.h"
#include "../../src/core/pgc_msg.h"
#include "../../src/core/pgc_parse.h"

#define MAXQ 32

typedef struct {
    PgcConn c;
    PgcReader rd;
    PgcWBuf fe;
    int pushed[MAXQ + 2];
    int done[MAXQ + 2];
    int abandoned[MAXQ + 2];
    uint8_t byte[MAXQ + 2]; /* the input byte of each request */
    int copy_pending;       /* a slow COPY writer owes its data */
} H;

static PgcStr
str(const char *s)
{
    PgcStr r = {s, strlen(s)};
    return r;
}

static void
push_one(H *h, uint8_t b)
{
    PgcExtSpec s;
    PgcStatus st;
    uint64_t id = 0;
    unsigned kind = b & 0x0fu;
    memset(&s, 0, sizeof(s));
    s.sync = 1;
    switch (kind) {
    case 0:
        st = pgc_conn_push_simple(&h->c, &h->fe, str("SELECT 1"), 0, NULL,
                                  &id);
        break;
    case 1:
        st = pgc_conn_push_simple(&h->c, &h->fe, str("RESET ALL"),
                                  PGC_REQ_F_NO_COPY, NULL, &id);
        break;
    case 2: /* prepare */
        s.parse = 1;
        s.stmt_name = str("s1");
        s.sql = str("SELECT $1");
        s.describe_stmt = 1;
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    case 3: /* cached execute */
    case 4: /* ... sharing the next Sync */
        s.stmt_name = str("s1");
        s.nexec = 1;
        s.nparams = 1;
        s.sync = kind == 3;
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    case 5: /* unnamed with portal check */
        s.parse = 1;
        s.sql = str("SELECT 1");
        s.nexec = 1;
        s.describe_portal = 1;
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    case 6: /* executemany */
        s.parse = 1;
        s.sql = str("INSERT");
        s.nexec = 1u + ((b >> 4) & 3u);
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    case 7: { /* close + prepare */
        static const PgcStr closes[2] = {{"a", 1}, {"b", 1}};
        s.close_names = closes;
        s.nclose = 1u + ((b >> 4) & 1u);
        s.parse = 1;
        s.stmt_name = str("s2");
        s.sql = str("SELECT");
        s.describe_stmt = 1;
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    }
    case 8: /* cursor */
        s.stmt_name = str("s1");
        s.portal = str("c1");
        s.nexec = 1;
        s.max_rows = 2;
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    case 9: { /* cursor fetch: Execute alone */
        PgcReqBuilder rb;
        st = pgc_req_begin(&h->c, &h->fe, 0, NULL, &rb);
        if (st == PGC_OK) {
            st = pgc_req_execute(&rb, str("c1"), 2);
        }
        if (st == PGC_OK && !(b & 0x10)) {
            st = pgc_req_sync(&rb);
        }
        if (st == PGC_OK) {
            st = pgc_req_commit(&rb, &id);
        }
        else {
            pgc_req_abort(&rb);
        }
        break;
    }
    case 10: /* COPY FROM STDIN */
    case 11: /* COPY TO STDOUT */
        s.parse = 1;
        s.sql = str("COPY");
        s.nexec = 1;
        s.flags = kind == 10 ? PGC_REQ_F_COPY_IN : 0;
        s.sync = !(b & 0x10);
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    case 12:
        st = pgc_conn_push_sync(&h->c, &h->fe, NULL, &id);
        break;
    default: /* prepare sharing the next Sync */
        s.parse = 1;
        s.sql = str("SELECT");
        s.describe_stmt = 1;
        s.sync = 0;
        st = pgc_conn_push_extended(&h->c, &h->fe, &s, &id);
        break;
    }
    FUZZ_CHECK(h->c.building == 0);
    if (st != PGC_OK) {
        FUZZ_CHECK(id == 0);
        return;
    }
    FUZZ_CHECK(id >= 1 && id <= MAXQ);
    FUZZ_CHECK(!h->pushed[id]);
    h->pushed[id] = 1;
    h->byte[id] = b;
    if (b & 0x80) {
        FUZZ_CHECK(pgc_conn_abandon(&h->c, id) == PGC_OK);
        h->abandoned[id] = 1;
    }
}

static void
check_in(PgcView body, PgcView v)
{
    FUZZ_CHECK(v.p >= body.p && v.p + v.n <= body.p + body.n);
}

static void
check_event(H *h, const PgcEvent *ev)
{
    const uint8_t *lo = h->rd.data, *hi = h->rd.data + h->rd.end;
    if (ev->type != PGC_EV_REQ_DONE) {
        FUZZ_CHECK(ev->body.p >= lo && ev->body.p + ev->body.n <= hi);
    }
    if (ev->req_id) {
        FUZZ_CHECK(ev->req_id <= MAXQ && h->pushed[ev->req_id]);
        FUZZ_CHECK(!h->done[ev->req_id]);
        FUZZ_CHECK(!!ev->abandoned == !!h->abandoned[ev->req_id]);
        if (ev->abandoned) {
            FUZZ_CHECK(ev->type == PGC_EV_COPY_IN_RESPONSE ||
                       ev->type == PGC_EV_READY ||
                       ev->type == PGC_EV_REQ_DONE);
        }
    }
    switch (ev->type) {
    case PGC_EV_COMMAND_COMPLETE:
        check_in(ev->body, ev->u.tag);
        break;
    case PGC_EV_NOTIFY:
        check_in(ev->body, ev->u.notify.channel);
        check_in(ev->body, ev->u.notify.payload);
        break;
    case PGC_EV_PARAM_STATUS:
        check_in(ev->body, ev->u.param.name);
        check_in(ev->body, ev->u.param.value);
        break;
    case PGC_EV_READY:
        FUZZ_CHECK(ev->u.tx_status == PGC_TX_IDLE ||
                   ev->u.tx_status == PGC_TX_INTRANS ||
                   ev->u.tx_status == PGC_TX_INERROR);
        FUZZ_CHECK(pgc_conn_tx_status(&h->c) == ev->u.tx_status);
        break;
    case PGC_EV_REQ_DONE:
        FUZZ_CHECK(ev->req_id != 0);
        h->done[ev->req_id]++;
        break;
    case PGC_EV_ROW: {
        uint16_t n;
        (void)pgc_parse_data_row_count(ev->body, &n);
        break;
    }
    case PGC_EV_NONE:
        FUZZ_CHECK(0);
        break;
    default:
        break;
    }
}

/* What a binding does after an event. */
static const uint8_t row[] = "1\n";

/* A slow COPY writer (bit 5 of a COPY request's byte) answers when the
 * next chunk has been fed, so the server's error can come first. */
static void
copy_late(H *h)
{
    if (!h->copy_pending) {
        return;
    }
    h->copy_pending = 0;
    if (pgc_conn_copy_in_state(&h->c) == PGC_COPYIN_ACTIVE) {
        FUZZ_CHECK(pgc_conn_copy_data(&h->c, &h->fe, row, 2) == PGC_OK);
        FUZZ_CHECK(pgc_conn_copy_done(&h->c, &h->fe) == PGC_OK);
    }
}

static void
react(H *h, const PgcEvent *ev)
{
    if (ev->type == PGC_EV_COPY_IN_RESPONSE) {
        FUZZ_CHECK(pgc_conn_copy_in_state(&h->c) == PGC_COPYIN_ACTIVE);
        if (!ev->abandoned && (h->byte[ev->req_id] & 0x20)) {
            h->copy_pending = 1;
        }
        else if (ev->abandoned) {
            FUZZ_CHECK(pgc_conn_copy_fail(&h->c, &h->fe, str("x")) == PGC_OK);
        }
        else {
            FUZZ_CHECK(pgc_conn_copy_data(&h->c, &h->fe, row, 2) == PGC_OK);
            FUZZ_CHECK(pgc_conn_copy_done(&h->c, &h->fe) == PGC_OK);
        }
    }
    if (pgc_conn_copy_in_state(&h->c) == PGC_COPYIN_END_REQUIRED) {
        FUZZ_CHECK(pgc_conn_copy_fail(&h->c, &h->fe, str("x")) == PGC_OK);
    }
    if (h->fe.len > 65536) {
        pgc_wbuf_reset(&h->fe); /* "written" */
    }
}

/* Pull every event; returns the sticky error or PGC_NEED_MORE. */
static PgcStatus
drain(H *h)
{
    PgcEvent ev;
    for (;;) {
        PgcStatus st = pgc_conn_next(&h->c, &h->rd, &ev);
        if (st == PGC_NEED_MORE) {
            return st;
        }
        if (st != PGC_OK) {
            FUZZ_CHECK(st < 0);
            FUZZ_CHECK(pgc_conn_next(&h->c, &h->rd, &ev) == st);
            return st;
        }
        check_event(h, &ev);
        react(h, &ev);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    H h;
    size_t pos = 0;
    if (size < 2) {
        return 0;
    }
    memset(&h, 0, sizeof(h));
    size_t q = data[pos++] % MAXQ;
    if (q > size - pos) {
        q = size - pos;
    }
    const uint8_t *reqs = data + pos;
    pos += q;
    size_t k = pos < size ? data[pos++] % 16u : 0;
    if (k > size - pos) {
        k = size - pos;
    }
    const uint8_t *chunks = data + pos;
    pos += k;

    PgcConnLimits lim = {MAXQ, 64};
    pgc_conn_init(&h.c, PGC_TX_IDLE, &lim);
    FUZZ_CHECK(pgc_reader_init(&h.rd, 64) == PGC_OK);
    h.rd.max_msg = FUZZ_MAX_MSG;
    pgc_wbuf_init(&h.fe);
    for (size_t i = 0; i < q; i++) {
        if (!(reqs[i] & 0x40)) {
            push_one(&h, reqs[i]);
        }
    }

    PgcStatus st = PGC_NEED_MORE;
    size_t ci = 0;
    int first = 1;
    while (pos < size && st == PGC_NEED_MORE) {
        size_t n = k ? (size_t)chunks[ci++ % k] + 1 : size - pos;
        if (n > size - pos) {
            n = size - pos;
        }
        FUZZ_CHECK(pgc_reader_feed(&h.rd, data + pos, n) == PGC_OK ||
                   h.rd.err != PGC_OK);
        pos += n;
        st = drain(&h);
        if (st == PGC_NEED_MORE) {
            copy_late(&h);
        }
        if (first) {
            first = 0;
            for (size_t i = 0; i < q && st == PGC_NEED_MORE; i++) {
                if (reqs[i] & 0x40) {
                    push_one(&h, reqs[i]);
                }
            }
            st = drain(&h);
        }
    }

    /* the books: done + in flight == pushed; then the connection is lost */
    size_t pushed = 0, done = 0;
    for (size_t i = 1; i <= MAXQ; i++) {
        pushed += (size_t)h.pushed[i];
        FUZZ_CHECK(h.done[i] <= 1);
        FUZZ_CHECK(h.pushed[i] || !h.done[i]);
        done += (size_t)h.done[i];
    }
    FUZZ_CHECK(done + pgc_conn_in_flight(&h.c) == pushed);
    uint64_t id;
    void *user;
    while (pgc_conn_pop_lost(&h.c, &id, &user)) {
        FUZZ_CHECK(id >= 1 && id <= MAXQ && h.pushed[id] && !h.done[id]);
        h.done[id]++;
    }
    for (size_t i = 1; i <= MAXQ; i++) {
        FUZZ_CHECK(h.done[i] == h.pushed[i]);
    }
    pgc_conn_free(&h.c);
    pgc_reader_free(&h.rd);
    pgc_wbuf_free(&h.fe);
    return 0;
}
