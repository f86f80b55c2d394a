/* pgc_conn.c -- the sans-I/O request engine (see pgc_conn.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "pgc_conn.h"
#include "pgc_msg.h"
#include "pgc_parse.h"

/* Internal request flags (beside PGC_REQ_F_COPY_IN / _NO_COPY). */
#define REQ_F_OWN_SYNC 0x100u /* its last step is SYNC or QUERY */
#define REQ_F_ABANDONED PGC_REQ_F_ABANDONED
#define REQ_F_SIMPLE 0x400u /* a simple Query */

#define RING_MIN 16u

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

const char *
pgc_step_name(PgcStep s)
{
    switch (s) {
    case PGC_STEP_PARSE:
        return "Parse";
    case PGC_STEP_BIND:
        return "Bind";
    case PGC_STEP_CLOSE:
        return "Close";
    case PGC_STEP_PARAM_DESC:
    case PGC_STEP_STMT_ROW_DESC:
        return "Describe(statement)";
    case PGC_STEP_PORTAL_ROW_DESC:
        return "Describe(portal)";
    case PGC_STEP_EXECUTE:
        return "Execute";
    case PGC_STEP_SYNC:
        return "Sync";
    case PGC_STEP_QUERY:
        return "Query";
    }
    return "?";
}

const char *
pgc_event_name(PgcEventType t)
{
    static const char *const names[] = {
        "NONE",
        "PARSE_COMPLETE",
        "BIND_COMPLETE",
        "CLOSE_COMPLETE",
        "PARAM_DESC",
        "ROW_DESC",
        "NO_DATA",
        "ROW",
        "COMMAND_COMPLETE",
        "EMPTY_QUERY",
        "PORTAL_SUSPENDED",
        "COPY_OUT_RESPONSE",
        "COPY_DATA",
        "COPY_DONE",
        "COPY_IN_RESPONSE",
        "ERROR",
        "REQ_DONE",
        "READY",
        "NOTICE",
        "NOTIFY",
        "PARAM_STATUS",
    };
    if ((size_t)t < sizeof(names) / sizeof(names[0])) {
        return names[t];
    }
    return "?";
}

const char *
pgc_backend_msg_name(uint8_t type)
{
    switch (type) {
    case PGC_MSG_AUTH:
        return "Authentication";
    case PGC_MSG_BACKEND_KEY:
        return "BackendKeyData";
    case PGC_MSG_BIND_COMPLETE:
        return "BindComplete";
    case PGC_MSG_CLOSE_COMPLETE:
        return "CloseComplete";
    case PGC_MSG_COMMAND_COMPLETE:
        return "CommandComplete";
    case PGC_MSG_COPY_DATA:
        return "CopyData";
    case PGC_MSG_COPY_DONE:
        return "CopyDone";
    case PGC_MSG_COPY_IN_RESPONSE:
        return "CopyInResponse";
    case PGC_MSG_COPY_OUT_RESPONSE:
        return "CopyOutResponse";
    case PGC_MSG_COPY_BOTH_RESPONSE:
        return "CopyBothResponse";
    case PGC_MSG_DATA_ROW:
        return "DataRow";
    case PGC_MSG_EMPTY_QUERY:
        return "EmptyQueryResponse";
    case PGC_MSG_ERROR:
        return "ErrorResponse";
    case PGC_MSG_FUNCTION_CALL_RESPONSE:
        return "FunctionCallResponse";
    case PGC_MSG_NEGOTIATE_VERSION:
        return "NegotiateProtocolVersion";
    case PGC_MSG_NO_DATA:
        return "NoData";
    case PGC_MSG_NOTICE:
        return "NoticeResponse";
    case PGC_MSG_NOTIFICATION:
        return "NotificationResponse";
    case PGC_MSG_PARAM_DESCRIPTION:
        return "ParameterDescription";
    case PGC_MSG_PARAM_STATUS:
        return "ParameterStatus";
    case PGC_MSG_PARSE_COMPLETE:
        return "ParseComplete";
    case PGC_MSG_PORTAL_SUSPENDED:
        return "PortalSuspended";
    case PGC_MSG_READY:
        return "ReadyForQuery";
    case PGC_MSG_ROW_DESCRIPTION:
        return "RowDescription";
    default:
        return "unknown message";
    }
}

/* What the current step allows (ErrorResponse is always allowed). */
static const char *
expect_text(PgcStep step, PgcSubPhase sub)
{
    switch (step) {
    case PGC_STEP_PARSE:
        return "ParseComplete";
    case PGC_STEP_BIND:
        return "BindComplete";
    case PGC_STEP_CLOSE:
        return "CloseComplete";
    case PGC_STEP_PARAM_DESC:
        return "ParameterDescription";
    case PGC_STEP_STMT_ROW_DESC:
    case PGC_STEP_PORTAL_ROW_DESC:
        return "RowDescription or NoData";
    case PGC_STEP_SYNC:
        return "ReadyForQuery";
    default:
        break;
    }
    int q = step == PGC_STEP_QUERY;
    switch (sub) {
    case PGC_SUB_START:
        return q ? "RowDescription, CommandComplete, EmptyQueryResponse, "
                   "CopyInResponse, CopyOutResponse or ReadyForQuery"
                 : "DataRow, CommandComplete, EmptyQueryResponse, "
                   "PortalSuspended, CopyInResponse or CopyOutResponse";
    case PGC_SUB_ROWS:
        return q ? "DataRow or CommandComplete"
                 : "DataRow, CommandComplete or PortalSuspended";
    case PGC_SUB_COPY_OUT:
        return "CopyData or CopyDone";
    case PGC_SUB_COPY_OUT_DONE:
    case PGC_SUB_COPY_IN:
        return "CommandComplete";
    case PGC_SUB_FAILED:
        return "ReadyForQuery";
    }
    return "?";
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

#if defined(__GNUC__)
#define PGC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PGC_PRINTF(a, b)
#endif

static void PGC_PRINTF(2, 0) set_msg(PgcConn *c, const char *fmt, va_list ap)
{
    vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap);
}

/* A sticky failure: every later pgc_conn_next returns st. */
static PgcStatus PGC_PRINTF(3, 4)
    conn_fail(PgcConn *c, PgcStatus st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_msg(c, fmt, ap);
    va_end(ap);
    c->err = st;
    return st;
}

/* A refused call (API misuse, a limit): reported, not sticky. */
static PgcStatus PGC_PRINTF(3, 4)
    refuse(PgcConn *c, PgcStatus st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_msg(c, fmt, ap);
    va_end(ap);
    return st;
}

/* ------------------------------------------------------------------ */
/* Rings                                                               */
/* ------------------------------------------------------------------ */

static PgcReq *
req_at(const PgcConn *c, size_t i)
{
    return &c->reqs[(c->req_head + i) & (c->req_cap - 1)];
}

static PgcStep
step_at(const PgcConn *c, size_t i)
{
    return (PgcStep)c->steps[(c->step_head + i) & (c->step_cap - 1)];
}

static size_t
ring_cap_for(size_t cur, size_t need)
{
    size_t cap = cur ? cur : RING_MIN;
    while (cap < need) {
        cap *= 2;
    }
    return cap;
}

static PgcStatus
reqs_reserve(PgcConn *c, size_t need)
{
    if (need <= c->req_cap) {
        return PGC_OK;
    }
    size_t cap = ring_cap_for(c->req_cap, need);
    PgcReq *r = pgc_malloc(cap * sizeof(*r));
    if (r == NULL) {
        return refuse(c, PGC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->req_len; i++) {
        r[i] = *req_at(c, i);
    }
    pgc_free(c->reqs);
    c->reqs = r;
    c->req_cap = cap;
    c->req_head = 0;
    return PGC_OK;
}

static PgcStatus
steps_reserve(PgcConn *c, size_t extra)
{
    size_t live = c->step_len + c->step_open;
    if (extra > c->limits.max_steps - live || live > c->limits.max_steps) {
        return refuse(c, PGC_ERR_LIMIT,
                      "too many responses expected in flight (limit %zu)",
                      c->limits.max_steps);
    }
    if (live + extra <= c->step_cap) {
        return PGC_OK;
    }
    size_t cap = ring_cap_for(c->step_cap, live + extra);
    uint8_t *s = pgc_malloc(cap);
    if (s == NULL) {
        return refuse(c, PGC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < live; i++) {
        s[i] = (uint8_t)step_at(c, i);
    }
    pgc_free(c->steps);
    c->steps = s;
    c->step_cap = cap;
    c->step_head = 0;
    return PGC_OK;
}

/* Append a step to the open builder (room reserved by the caller). */
static void
step_put(PgcConn *c, PgcStep s)
{
    size_t i = (c->step_head + c->step_len + c->step_open) & (c->step_cap - 1);
    c->steps[i] = (uint8_t)s;
    c->step_open++;
}

static void
step_pop(PgcConn *c)
{
    c->step_head = (c->step_head + 1) & (c->step_cap - 1);
    c->step_len--;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

void
pgc_conn_init(PgcConn *c, uint8_t tx_status, const PgcConnLimits *limits)
{
    memset(c, 0, sizeof(*c));
    c->tx_status = tx_status ? tx_status : PGC_TX_IDLE;
    c->next_id = 1;
    c->limits.max_requests = PGC_CONN_DEFAULT_MAX_REQUESTS;
    c->limits.max_steps = PGC_CONN_DEFAULT_MAX_STEPS;
    if (limits != NULL) {
        if (limits->max_requests) {
            c->limits.max_requests = limits->max_requests;
        }
        if (limits->max_steps) {
            c->limits.max_steps = limits->max_steps;
        }
    }
}

void
pgc_conn_free(PgcConn *c)
{
    pgc_free(c->reqs);
    pgc_free(c->steps);
    c->reqs = NULL;
    c->steps = NULL;
    c->req_cap = c->req_len = c->step_cap = c->step_len = 0;
}

/* ------------------------------------------------------------------ */
/* Request completion                                                  */
/* ------------------------------------------------------------------ */

/* The request at index ndone (the one the step ring head belongs to). */
static PgcReq *
cur_req(const PgcConn *c)
{
    return req_at(c, c->ndone);
}

/* The current step has been answered in full. */
static void
step_complete(PgcConn *c)
{
    PgcReq *r = cur_req(c);
    step_pop(c);
    c->sub = PGC_SUB_START;
    r->nsteps--;
    if (r->nsteps == 0) {
        c->ndone++;
    }
}

/* After an ErrorResponse: drop the steps the server skips, up to the
 * Sync of the failed group.  Requests left without steps are complete
 * (FAILED or ABORTED); the one owning the Sync waits for ReadyForQuery. */
static void
skip_advance(PgcConn *c)
{
    while (c->req_len > c->ndone) {
        PgcReq *r = cur_req(c);
        if (r->status == PGC_REQ_OK) {
            r->status = PGC_REQ_ABORTED;
        }
        while (r->nsteps > 0 && step_at(c, 0) != PGC_STEP_SYNC &&
               step_at(c, 0) != PGC_STEP_QUERY) {
            step_pop(c);
            r->nsteps--;
        }
        if (r->nsteps > 0) {
            return;
        }
        c->ndone++;
    }
}

static void
emit_done(PgcConn *c, PgcEvent *ev)
{
    PgcReq *r = req_at(c, 0);
    ev->type = PGC_EV_REQ_DONE;
    ev->req_id = r->id;
    ev->user = r->user;
    ev->abandoned = (r->flags & REQ_F_ABANDONED) != 0;
    ev->u.done.status = r->status;
    c->req_head = (c->req_head + 1) & (c->req_cap - 1);
    c->req_len--;
    c->ndone--;
}

/* ------------------------------------------------------------------ */
/* Message handlers                                                    */
/* ------------------------------------------------------------------ */

static PgcStatus
malformed(PgcConn *c, uint8_t type)
{
    return conn_fail(c, PGC_ERR_PROTOCOL, "malformed %s message",
                     pgc_backend_msg_name(type));
}

static PgcStatus
out_of_order(PgcConn *c, const PgcMsg *m)
{
    if (c->req_len == c->ndone) {
        return conn_fail(c, PGC_ERR_PROTOCOL,
                         "unexpected %s (type 0x%02x) from the server while "
                         "no request is in flight",
                         pgc_backend_msg_name(m->type), (unsigned)m->type);
    }
    PgcStep step = step_at(c, 0);
    return conn_fail(c, PGC_ERR_PROTOCOL,
                     "unexpected %s (type 0x%02x) from the server: expected "
                     "%s, for the %s of request %" PRIu64,
                     pgc_backend_msg_name(m->type), (unsigned)m->type,
                     expect_text(step, c->sub), pgc_step_name(step),
                     cur_req(c)->id);
}

/* NoticeResponse, NotificationResponse, ParameterStatus: 1 if m was one
 * (event filled or error set), 0 if not. */
static int
async_msg(PgcConn *c, const PgcMsg *m, PgcEvent *ev, PgcStatus *st)
{
    *st = PGC_OK;
    switch (m->type) {
    case PGC_MSG_NOTICE:
        ev->type = PGC_EV_NOTICE;
        return 1;
    case PGC_MSG_NOTIFICATION:
        if (pgc_parse_notification(m->body, &ev->u.notify.pid,
                                   &ev->u.notify.channel,
                                   &ev->u.notify.payload) != PGC_OK) {
            *st = malformed(c, m->type);
        }
        ev->type = PGC_EV_NOTIFY;
        return 1;
    case PGC_MSG_PARAM_STATUS:
        if (pgc_parse_param_status(m->body, &ev->u.param.name,
                                   &ev->u.param.value) != PGC_OK) {
            *st = malformed(c, m->type);
        }
        ev->type = PGC_EV_PARAM_STATUS;
        return 1;
    default:
        return 0;
    }
}

/* A message with an empty body that completes the current step. */
static PgcStatus
simple_answer(PgcConn *c, const PgcMsg *m, PgcEvent *ev, PgcEventType t)
{
    if (pgc_parse_empty(m->body) != PGC_OK) {
        return malformed(c, m->type);
    }
    ev->type = t;
    step_complete(c);
    return PGC_OK;
}

static PgcStatus
on_ready(PgcConn *c, const PgcMsg *m, PgcEvent *ev)
{
    uint8_t status;
    if (pgc_parse_ready(m->body, &status) != PGC_OK) {
        return malformed(c, m->type);
    }
    c->tx_status = status;
    c->copy_in = PGC_COPYIN_NONE;
    c->skipping = 0;
    ev->type = PGC_EV_READY;
    ev->u.tx_status = status;
    step_complete(c);
    return PGC_OK;
}

/* ErrorResponse for the current step. */
static PgcStatus
on_error(PgcConn *c, PgcEvent *ev)
{
    PgcReq *r = cur_req(c);
    PgcStep step = step_at(c, 0);
    ev->type = PGC_EV_ERROR;
    if (step == PGC_STEP_SYNC ||
        (step == PGC_STEP_QUERY && c->sub == PGC_SUB_FAILED)) {
        /* at the Sync itself (the implicit COMMIT failed), or a second
         * error (FATAL): ReadyForQuery or the end still follow */
        if (r->status == PGC_REQ_OK) {
            r->status = PGC_REQ_FAILED;
        }
        else {
            ev->req_id = 0; /* reported as the connection's */
        }
        return PGC_OK;
    }
    r->status = PGC_REQ_FAILED;
    if (c->copy_in == PGC_COPYIN_ACTIVE && !c->copy_simple) {
        c->copy_in = PGC_COPYIN_END_REQUIRED;
    }
    else if (c->copy_in != PGC_COPYIN_END_REQUIRED) {
        c->copy_in = PGC_COPYIN_NONE;
    }
    if (step == PGC_STEP_QUERY) {
        c->sub = PGC_SUB_FAILED;
        return PGC_OK;
    }
    c->sub = PGC_SUB_START;
    c->skipping = 1;
    skip_advance(c);
    return PGC_OK;
}

static PgcStatus
on_copy_response(PgcConn *c, const PgcMsg *m, PgcEvent *ev, PgcEventType t)
{
    PgcCur fmts;
    if (pgc_parse_copy_response(m->body, &ev->u.copy.format, &ev->u.copy.ncols,
                                &fmts) != PGC_OK) {
        return malformed(c, m->type);
    }
    ev->type = t;
    if (t == PGC_EV_COPY_OUT_RESPONSE) {
        c->sub = PGC_SUB_COPY_OUT;
        return PGC_OK;
    }
    if (c->req_len - c->ndone != 1) {
        return conn_fail(c, PGC_ERR_PROTOCOL,
                         "CopyInResponse for request %" PRIu64 " with %zu "
                         "later request(s) in flight: the server reads "
                         "their messages as COPY data",
                         cur_req(c)->id, c->req_len - c->ndone - 1);
    }
    PgcReq *r = cur_req(c);
    if (c->building) {
        return conn_fail(c, PGC_ERR_STATE,
                         "pgc_conn_next called while a request is being "
                         "built");
    }
    c->sub = PGC_SUB_COPY_IN;
    c->copy_in = PGC_COPYIN_ACTIVE;
    c->copy_simple = step_at(c, 0) == PGC_STEP_QUERY;
    if (!c->copy_simple && !(r->flags & REQ_F_OWN_SYNC)) {
        /* the Sync that copy_done/copy_fail will send ends this group */
        PgcStatus st = steps_reserve(c, 1);
        if (st != PGC_OK) {
            return conn_fail(c, st, "%s", c->err_msg);
        }
        step_put(c, PGC_STEP_SYNC);
        c->step_len++;
        c->step_open--;
        r->nsteps++;
        r->flags |= REQ_F_OWN_SYNC;
        c->group_open = 0;
    }
    return PGC_OK;
}

static PgcStatus
on_command_complete(PgcConn *c, const PgcMsg *m, PgcEvent *ev, int query)
{
    if (pgc_parse_command_complete(m->body, &ev->u.tag) != PGC_OK) {
        return malformed(c, m->type);
    }
    ev->type = PGC_EV_COMMAND_COMPLETE;
    c->copy_in = PGC_COPYIN_NONE;
    if (query) {
        c->sub = PGC_SUB_START;
    }
    else {
        step_complete(c);
    }
    return PGC_OK;
}

/* EmptyQueryResponse (EXECUTE or QUERY) or PortalSuspended (EXECUTE):
 * ends the step, or (QUERY) one statement of it.  0 if out of order. */
static int
result_end_allowed(uint8_t type, PgcSubPhase sub, int query)
{
    if (type == PGC_MSG_EMPTY_QUERY) {
        return sub == PGC_SUB_START;
    }
    return !query && (sub == PGC_SUB_START || sub == PGC_SUB_ROWS);
}

static PgcStatus
on_result_end(PgcConn *c, const PgcMsg *m, PgcEvent *ev, int query)
{
    if (pgc_parse_empty(m->body) != PGC_OK) {
        return malformed(c, m->type);
    }
    ev->type = m->type == PGC_MSG_EMPTY_QUERY ? PGC_EV_EMPTY_QUERY
                                              : PGC_EV_PORTAL_SUSPENDED;
    if (!query) {
        step_complete(c);
    }
    return PGC_OK;
}

static PgcStatus
on_copy_done(PgcConn *c, const PgcMsg *m, PgcEvent *ev)
{
    if (pgc_parse_empty(m->body) != PGC_OK) {
        return malformed(c, m->type);
    }
    c->sub = PGC_SUB_COPY_OUT_DONE;
    ev->type = PGC_EV_COPY_DONE;
    return PGC_OK;
}

/* A message that only moves the sub-phase: DataRow, RowDescription (of a
 * simple Query), CopyData.  0 if m is none of them in order. */
static int
on_result_data(PgcConn *c, const PgcMsg *m, PgcEvent *ev, int query)
{
    PgcSubPhase sub = c->sub;
    switch (m->type) {
    case PGC_MSG_DATA_ROW:
        if (sub != PGC_SUB_ROWS && (query || sub != PGC_SUB_START)) {
            return 0;
        }
        c->sub = PGC_SUB_ROWS;
        ev->type = PGC_EV_ROW;
        return 1;
    case PGC_MSG_ROW_DESCRIPTION:
        if (!query || sub != PGC_SUB_START) {
            return 0;
        }
        c->sub = PGC_SUB_ROWS;
        ev->type = PGC_EV_ROW_DESC;
        return 1;
    case PGC_MSG_COPY_DATA:
        if (sub != PGC_SUB_COPY_OUT) {
            return 0;
        }
        ev->type = PGC_EV_COPY_DATA;
        return 1;
    default:
        return 0;
    }
}

/* EXECUTE (query == 0) and QUERY (query == 1) results. */
static PgcStatus
on_result(PgcConn *c, const PgcMsg *m, PgcEvent *ev, int query)
{
    PgcSubPhase sub = c->sub;
    if (on_result_data(c, m, ev, query)) {
        return PGC_OK;
    }
    switch (m->type) {
    case PGC_MSG_COMMAND_COMPLETE:
        if (sub == PGC_SUB_COPY_OUT || sub == PGC_SUB_FAILED) {
            break;
        }
        return on_command_complete(c, m, ev, query);
    case PGC_MSG_EMPTY_QUERY:
    case PGC_MSG_PORTAL_SUSPENDED:
        if (!result_end_allowed(m->type, sub, query)) {
            break;
        }
        return on_result_end(c, m, ev, query);
    case PGC_MSG_COPY_OUT_RESPONSE:
        if (sub != PGC_SUB_START) {
            break;
        }
        return on_copy_response(c, m, ev, PGC_EV_COPY_OUT_RESPONSE);
    case PGC_MSG_COPY_IN_RESPONSE:
        if (sub != PGC_SUB_START) {
            break;
        }
        return on_copy_response(c, m, ev, PGC_EV_COPY_IN_RESPONSE);
    case PGC_MSG_COPY_DONE:
        if (sub != PGC_SUB_COPY_OUT) {
            break;
        }
        return on_copy_done(c, m, ev);
    case PGC_MSG_READY:
        if (!query || (sub != PGC_SUB_START && sub != PGC_SUB_FAILED)) {
            break;
        }
        return on_ready(c, m, ev);
    default:
        break;
    }
    return out_of_order(c, m);
}

static PgcStatus
on_row_desc_step(PgcConn *c, const PgcMsg *m, PgcEvent *ev)
{
    if (m->type == PGC_MSG_ROW_DESCRIPTION) {
        ev->type = PGC_EV_ROW_DESC;
        step_complete(c);
        return PGC_OK;
    }
    if (m->type == PGC_MSG_NO_DATA) {
        return simple_answer(c, m, ev, PGC_EV_NO_DATA);
    }
    return out_of_order(c, m);
}

/* A message for the current step (a request is in flight). */
static PgcStatus
on_step_msg(PgcConn *c, const PgcMsg *m, PgcEvent *ev)
{
    PgcStep step = step_at(c, 0);
    if (m->type == PGC_MSG_ERROR) {
        return on_error(c, ev);
    }
    switch (step) {
    case PGC_STEP_PARSE:
        if (m->type == PGC_MSG_PARSE_COMPLETE) {
            return simple_answer(c, m, ev, PGC_EV_PARSE_COMPLETE);
        }
        break;
    case PGC_STEP_BIND:
        if (m->type == PGC_MSG_BIND_COMPLETE) {
            return simple_answer(c, m, ev, PGC_EV_BIND_COMPLETE);
        }
        break;
    case PGC_STEP_CLOSE:
        if (m->type == PGC_MSG_CLOSE_COMPLETE) {
            return simple_answer(c, m, ev, PGC_EV_CLOSE_COMPLETE);
        }
        break;
    case PGC_STEP_PARAM_DESC:
        if (m->type == PGC_MSG_PARAM_DESCRIPTION) {
            ev->type = PGC_EV_PARAM_DESC;
            step_complete(c);
            return PGC_OK;
        }
        break;
    case PGC_STEP_STMT_ROW_DESC:
    case PGC_STEP_PORTAL_ROW_DESC:
        return on_row_desc_step(c, m, ev);
    case PGC_STEP_EXECUTE:
        return on_result(c, m, ev, 0);
    case PGC_STEP_QUERY:
        return on_result(c, m, ev, 1);
    case PGC_STEP_SYNC:
        if (m->type == PGC_MSG_READY) {
            return on_ready(c, m, ev);
        }
        break;
    }
    return out_of_order(c, m);
}

/* Events an abandoned request still reports. */
static int
reported_when_abandoned(PgcEventType t)
{
    return t == PGC_EV_COPY_IN_RESPONSE || t == PGC_EV_READY ||
           t == PGC_EV_REQ_DONE;
}

static PgcStatus
handle(PgcConn *c, const PgcMsg *m, PgcEvent *ev)
{
    PgcStatus st;
    ev->body = m->body;
    if (async_msg(c, m, ev, &st)) {
        return st;
    }
    if (c->req_len == c->ndone) {
        if (m->type == PGC_MSG_ERROR) {
            ev->type = PGC_EV_ERROR; /* e.g. FATAL before the close */
            return PGC_OK;
        }
        return out_of_order(c, m);
    }
    PgcReq *r = cur_req(c);
    ev->req_id = r->id;
    ev->user = r->user;
    ev->step = step_at(c, 0);
    ev->abandoned = (r->flags & REQ_F_ABANDONED) != 0;
    st = on_step_msg(c, m, ev);
    if (st != PGC_OK) {
        return st;
    }
    if (ev->abandoned && !reported_when_abandoned(ev->type)) {
        ev->type = PGC_EV_NONE;
    }
    if (ev->req_id == 0) {
        ev->user = NULL;
        ev->step = (PgcStep)0;
    }
    return PGC_OK;
}

/* The hot path: a DataRow after the first of its result, for a request
 * not abandoned (sub-phase ROWS allows a DataRow in EXECUTE and QUERY).
 * Fills only the fields a ROW event has. */
/* Clear the event's common fields (the union is set by each event type
 * that has one: a memset of the whole event cost ~20 instructions an
 * event on the per-query path). */
static inline void
ev_reset(PgcEvent *ev)
{
    ev->type = PGC_EV_NONE;
    ev->req_id = 0;
    ev->user = NULL;
    ev->step = (PgcStep)0;
    ev->abandoned = 0;
    ev->body.p = NULL;
    ev->body.n = 0;
}

static int
row_fast(PgcConn *c, const PgcMsg *m, PgcEvent *ev)
{
    if (m->type != PGC_MSG_DATA_ROW || c->sub != PGC_SUB_ROWS ||
        c->req_len == 0) {
        return 0;
    }
    const PgcReq *r = cur_req(c);
    if (r->flags & REQ_F_ABANDONED) {
        return 0;
    }
    ev->type = PGC_EV_ROW;
    ev->req_id = r->id;
    ev->user = r->user;
    ev->step = step_at(c, 0);
    ev->abandoned = 0;
    ev->body = m->body;
    return 1;
}

PgcStatus
pgc_conn_next(PgcConn *c, PgcReader *rd, PgcEvent *ev)
{
    PgcMsg m;
    for (;;) {
        if (c->err != PGC_OK) {
            memset(ev, 0, sizeof(*ev));
            return c->err;
        }
        if (c->skipping) {
            skip_advance(c); /* requests pushed into the failed group */
        }
        PgcStatus st = PGC_OK;
        if (c->ndone == 0) {
            st = pgc_reader_next(rd, &m);
            if (st == PGC_OK && row_fast(c, &m, ev)) {
                return PGC_OK;
            }
        }
        ev_reset(ev);
        if (c->ndone > 0) {
            emit_done(c, ev);
            return PGC_OK;
        }
        if (st == PGC_NEED_MORE) {
            return st;
        }
        if (st != PGC_OK) {
            return conn_fail(c, st, "%s", rd->err_msg);
        }
        st = handle(c, &m, ev);
        if (st != PGC_OK) {
            return st;
        }
        if (ev->type != PGC_EV_NONE) {
            return PGC_OK;
        }
    }
}

PgcStatus
pgc_conn_abandon(PgcConn *c, uint64_t id)
{
    for (size_t i = 0; i < c->req_len; i++) {
        PgcReq *r = req_at(c, i);
        if (r->id == id) {
            r->flags |= REQ_F_ABANDONED;
            return PGC_OK;
        }
    }
    return refuse(c, PGC_ERR_STATE, "request %" PRIu64 " is not in flight",
                  id);
}

size_t
pgc_conn_active(const PgcConn *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->req_len; i++) {
        n += !(req_at(c, i)->flags & REQ_F_ABANDONED);
    }
    return n;
}

int
pgc_conn_pop_lost(PgcConn *c, uint64_t *id, void **user)
{
    if (c->err == PGC_OK) {
        conn_fail(c, PGC_ERR_STATE, "the connection was lost");
    }
    if (c->req_len == 0) {
        c->step_len = 0;
        c->copy_in = PGC_COPYIN_NONE;
        return 0;
    }
    PgcReq *r = req_at(c, 0);
    *id = r->id;
    *user = r->user;
    c->req_head = (c->req_head + 1) & (c->req_cap - 1);
    c->req_len--;
    if (c->ndone > 0) {
        c->ndone--;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Frontend: the request builder                                       */
/* ------------------------------------------------------------------ */

/* Is the newest request in flight one nothing may be queued behind? */
static int
tail_is_barrier(const PgcConn *c)
{
    if (c->req_len == c->ndone) {
        return 0;
    }
    const PgcReq *t = req_at(c, c->req_len - 1);
    if (t->flags & PGC_REQ_F_COPY_IN) {
        return 1;
    }
    return (t->flags & REQ_F_SIMPLE) && !(t->flags & PGC_REQ_F_NO_COPY);
}

PgcStatus
pgc_req_begin(PgcConn *c, PgcWBuf *wb, unsigned flags, void *user,
              PgcReqBuilder *b)
{
    memset(b, 0, sizeof(*b));
    if (c->err != PGC_OK) {
        return c->err;
    }
    if (c->terminated) {
        return refuse(c, PGC_ERR_STATE, "the connection was terminated");
    }
    if (c->building) {
        return refuse(c, PGC_ERR_STATE, "another request is being built");
    }
    if (c->copy_in != PGC_COPYIN_NONE) {
        return refuse(c, PGC_ERR_STATE,
                      "COPY FROM STDIN is in progress: no request may be "
                      "queued until it ends");
    }
    if (tail_is_barrier(c)) {
        return refuse(c, PGC_ERR_STATE,
                      "the last request in flight may start COPY FROM "
                      "STDIN: no request may be queued behind it");
    }
    if (c->req_len >= c->limits.max_requests) {
        return refuse(c, PGC_ERR_LIMIT,
                      "too many requests in flight (limit %zu)",
                      c->limits.max_requests);
    }
    b->c = c;
    b->wb = wb;
    b->mark = wb->len;
    b->flags = flags & (PGC_REQ_F_COPY_IN | PGC_REQ_F_NO_COPY);
    b->user = user;
    c->building = 1;
    return PGC_OK;
}

/* May one more message be added?  Reserves n steps. */
static PgcStatus
b_check(PgcReqBuilder *b, size_t n)
{
    if (b->c == NULL || !b->c->building) {
        return PGC_ERR_STATE;
    }
    if (b->has_sync || b->has_query || b->in_bind) {
        return refuse(b->c, PGC_ERR_STATE,
                      b->in_bind ? "a Bind is open"
                                 : "nothing may follow a Sync or a Query "
                                   "in one request");
    }
    return steps_reserve(b->c, n);
}

/* Record the step of a message the builder appended (status st). */
static PgcStatus
b_done(PgcReqBuilder *b, PgcStatus st, PgcStep s1, PgcStep s2)
{
    if (st != PGC_OK) {
        return refuse(b->c, st, "%s",
                      st == PGC_ERR_NOMEM
                          ? "out of memory"
                          : "a string is too long or contains a NUL byte");
    }
    if (s1) {
        step_put(b->c, s1);
    }
    if (s2) {
        step_put(b->c, s2);
    }
    return PGC_OK;
}

PgcStatus
pgc_req_query(PgcReqBuilder *b, PgcStr sql)
{
    PgcStatus st = b_check(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    if (b->c->step_open > 0) {
        return refuse(b->c, PGC_ERR_STATE,
                      "a simple Query must be alone in its request");
    }
    st = b_done(b, pgc_build_query(b->wb, sql), PGC_STEP_QUERY, 0);
    if (st == PGC_OK) {
        b->has_query = 1;
    }
    return st;
}

PgcStatus
pgc_req_parse(PgcReqBuilder *b, PgcStr name, PgcStr sql,
              const uint32_t *param_oids, uint16_t nparams)
{
    PgcStatus st = b_check(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    return b_done(b, pgc_build_parse(b->wb, name, sql, param_oids, nparams),
                  PGC_STEP_PARSE, 0);
}

PgcStatus
pgc_req_describe(PgcReqBuilder *b, uint8_t target, PgcStr name)
{
    PgcStatus st = b_check(b, 2);
    if (st != PGC_OK) {
        return st;
    }
    if (target != PGC_TARGET_STATEMENT && target != PGC_TARGET_PORTAL) {
        return refuse(b->c, PGC_ERR_STATE, "bad Describe target");
    }
    st = pgc_build_describe(b->wb, target, name);
    if (target == PGC_TARGET_STATEMENT) {
        return b_done(b, st, PGC_STEP_PARAM_DESC, PGC_STEP_STMT_ROW_DESC);
    }
    return b_done(b, st, PGC_STEP_PORTAL_ROW_DESC, 0);
}

PgcStatus
pgc_req_close(PgcReqBuilder *b, uint8_t target, PgcStr name)
{
    PgcStatus st = b_check(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    if (target != PGC_TARGET_STATEMENT && target != PGC_TARGET_PORTAL) {
        return refuse(b->c, PGC_ERR_STATE, "bad Close target");
    }
    return b_done(b, pgc_build_close(b->wb, target, name), PGC_STEP_CLOSE, 0);
}

PgcStatus
pgc_req_bind_start(PgcReqBuilder *b, PgcStr portal, PgcStr stmt, uint16_t nfmt,
                   const int16_t *fmts, uint16_t nparams)
{
    PgcStatus st = b_check(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    b->bind_mark = b->wb->len;
    st = pgc_build_bind_start(b->wb, portal, stmt, nfmt, fmts, nparams);
    if (st != PGC_OK) {
        pgc_wbuf_truncate(b->wb, b->bind_mark);
        return b_done(b, st, 0, 0);
    }
    b->in_bind = 1;
    return PGC_OK;
}

PgcStatus
pgc_req_bind_end(PgcReqBuilder *b, uint16_t nresfmt, const int16_t *resfmts)
{
    if (b->c == NULL || !b->in_bind) {
        return PGC_ERR_STATE;
    }
    PgcStatus st = pgc_build_bind_end(b->wb, nresfmt, resfmts);
    if (st != PGC_OK) {
        pgc_wbuf_truncate(b->wb, b->bind_mark);
        b->in_bind = 0;
        return b_done(b, st, 0, 0);
    }
    b->in_bind = 0;
    return b_done(b, st, PGC_STEP_BIND, 0);
}

PgcStatus
pgc_req_execute(PgcReqBuilder *b, PgcStr portal, int32_t max_rows)
{
    PgcStatus st = b_check(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    return b_done(b, pgc_build_execute(b->wb, portal, max_rows),
                  PGC_STEP_EXECUTE, 0);
}

PgcStatus
pgc_req_flush(PgcReqBuilder *b)
{
    PgcStatus st = b_check(b, 0);
    if (st != PGC_OK) {
        return st;
    }
    return b_done(b, pgc_build_flush(b->wb), 0, 0);
}

PgcStatus
pgc_req_sync(PgcReqBuilder *b)
{
    PgcStatus st = b_check(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    st = b_done(b, pgc_build_sync(b->wb), PGC_STEP_SYNC, 0);
    if (st == PGC_OK) {
        b->has_sync = 1;
    }
    return st;
}

void
pgc_req_abort(PgcReqBuilder *b)
{
    if (b->c == NULL || !b->c->building) {
        return;
    }
    pgc_wbuf_truncate(b->wb, b->mark);
    b->c->step_open = 0;
    b->c->building = 0;
    b->c = NULL;
}

void
pgc_req_bind_cancel(PgcReqBuilder *b)
{
    if (b->c == NULL || !b->in_bind) {
        return;
    }
    pgc_wbuf_truncate(b->wb, b->bind_mark);
    b->in_bind = 0;
}

PgcStatus
pgc_req_move_to_front(PgcReqBuilder *b, size_t from, size_t nsteps)
{
    PgcConn *c = b->c;
    if (c == NULL || !c->building || b->in_bind || from < b->mark ||
        from > b->wb->len || nsteps > c->step_open) {
        return c ? refuse(c, PGC_ERR_STATE, "nothing to move") : PGC_ERR_STATE;
    }
    size_t k = b->wb->len - from;
    uint8_t *tmp = pgc_malloc(k ? k : 1);
    if (tmp == NULL) {
        return refuse(c, PGC_ERR_NOMEM, "out of memory");
    }
    uint8_t *d = b->wb->data;
    memcpy(tmp, d + from, k);
    memmove(d + b->mark + k, d + b->mark, from - b->mark);
    memcpy(d + b->mark, tmp, k);
    pgc_free(tmp);
    /* the open steps are c->steps[base .. base + step_open): rotate the
     * last nsteps to the front, one at a time (nsteps is small) */
    size_t base = c->step_head + c->step_len, mask = c->step_cap - 1;
    for (size_t r = 0; r < nsteps; r++) {
        uint8_t last = c->steps[(base + c->step_open - 1) & mask];
        for (size_t i = c->step_open - 1; i > 0; i--) {
            c->steps[(base + i) & mask] = c->steps[(base + i - 1) & mask];
        }
        c->steps[base & mask] = last;
    }
    return PGC_OK;
}

static PgcStatus
commit_refuse(PgcReqBuilder *b, PgcStatus st, const char *msg)
{
    PgcConn *c = b->c;
    pgc_req_abort(b);
    return refuse(c, st, "%s", msg);
}

PgcStatus
pgc_req_commit(PgcReqBuilder *b, uint64_t *id)
{
    PgcConn *c = b->c;
    if (c == NULL || !c->building) {
        return PGC_ERR_STATE;
    }
    if (b->in_bind) {
        return commit_refuse(b, PGC_ERR_STATE, "a Bind is open");
    }
    if (c->step_open == 0) {
        return commit_refuse(b, PGC_ERR_STATE,
                             "a request must expect an answer");
    }
    if (b->has_query && c->group_open) {
        return commit_refuse(b, PGC_ERR_STATE,
                             "a simple Query cannot join an open Sync "
                             "group: push a Sync first");
    }
    if (c->step_open > UINT32_MAX) {
        return commit_refuse(b, PGC_ERR_LIMIT, "request too large");
    }
    if (reqs_reserve(c, c->req_len + 1) != PGC_OK) {
        pgc_req_abort(b);
        return PGC_ERR_NOMEM;
    }
    PgcReq *r = &c->reqs[(c->req_head + c->req_len) & (c->req_cap - 1)];
    r->id = c->next_id++;
    r->user = b->user;
    r->nsteps = (uint32_t)c->step_open;
    r->flags = b->flags;
    if (b->has_sync || b->has_query) {
        r->flags |= REQ_F_OWN_SYNC;
    }
    if (b->has_query) {
        r->flags |= REQ_F_SIMPLE;
    }
    r->status = PGC_REQ_OK;
    c->req_len++;
    c->step_len += c->step_open;
    c->step_open = 0;
    c->building = 0;
    c->group_open = !(b->has_sync || b->has_query);
    b->c = NULL;
    if (id != NULL) {
        *id = r->id;
    }
    return PGC_OK;
}

/* ------------------------------------------------------------------ */
/* Frontend: one call per request kind                                 */
/* ------------------------------------------------------------------ */

static PgcStatus
push_bind(PgcReqBuilder *b, const PgcExtSpec *s, size_t i)
{
    PgcStatus st = pgc_req_bind_start(b, s->portal, s->stmt_name,
                                      s->nparam_fmt, s->param_fmts,
                                      s->nparams);
    if (st != PGC_OK) {
        return st;
    }
    if (s->encode != NULL) {
        st = s->encode(s->encode_ctx, b->wb, i);
        if (st != PGC_OK) {
            return refuse(b->c, st, "encoding parameters failed");
        }
    }
    else {
        for (uint16_t k = 0; k < s->nparams && st == PGC_OK; k++) {
            st = pgc_build_bind_null(b->wb);
        }
        if (st != PGC_OK) {
            return refuse(b->c, st, "out of memory");
        }
    }
    return pgc_req_bind_end(b, s->nresult_fmt, s->result_fmts);
}

static PgcStatus
push_extended_body(PgcReqBuilder *b, const PgcExtSpec *s)
{
    PgcStatus st = PGC_OK;
    for (size_t i = 0; i < s->nclose && st == PGC_OK; i++) {
        st = pgc_req_close(b, PGC_TARGET_STATEMENT, s->close_names[i]);
    }
    if (st == PGC_OK && s->parse) {
        st = pgc_req_parse(b, s->stmt_name, s->sql, s->param_oids,
                           s->nparam_oids);
    }
    if (st == PGC_OK && s->describe_stmt) {
        st = pgc_req_describe(b, PGC_TARGET_STATEMENT, s->stmt_name);
    }
    for (size_t i = 0; i < s->nexec && st == PGC_OK; i++) {
        st = push_bind(b, s, i);
        if (st == PGC_OK && s->describe_portal && i == 0) {
            st = pgc_req_describe(b, PGC_TARGET_PORTAL, s->portal);
        }
        if (st == PGC_OK) {
            st = pgc_req_execute(b, s->portal, s->max_rows);
        }
    }
    if (st == PGC_OK && s->sync) {
        st = pgc_req_sync(b);
    }
    return st;
}

PgcStatus
pgc_conn_push_extended(PgcConn *c, PgcWBuf *wb, const PgcExtSpec *spec,
                       uint64_t *id)
{
    PgcReqBuilder b;
    PgcStatus st = pgc_req_begin(c, wb, spec->flags, spec->user, &b);
    if (st != PGC_OK) {
        return st;
    }
    st = push_extended_body(&b, spec);
    if (st != PGC_OK) {
        pgc_req_abort(&b);
        return st;
    }
    return pgc_req_commit(&b, id);
}

PgcStatus
pgc_conn_push_simple(PgcConn *c, PgcWBuf *wb, PgcStr sql, unsigned flags,
                     void *user, uint64_t *id)
{
    PgcReqBuilder b;
    PgcStatus st = pgc_req_begin(c, wb, flags, user, &b);
    if (st != PGC_OK) {
        return st;
    }
    st = pgc_req_query(&b, sql);
    if (st != PGC_OK) {
        pgc_req_abort(&b);
        return st;
    }
    return pgc_req_commit(&b, id);
}

PgcStatus
pgc_conn_push_sync(PgcConn *c, PgcWBuf *wb, void *user, uint64_t *id)
{
    PgcReqBuilder b;
    PgcStatus st = pgc_req_begin(c, wb, 0, user, &b);
    if (st != PGC_OK) {
        return st;
    }
    st = pgc_req_sync(&b);
    if (st != PGC_OK) {
        pgc_req_abort(&b);
        return st;
    }
    return pgc_req_commit(&b, id);
}

PgcStatus
pgc_conn_terminate(PgcConn *c, PgcWBuf *wb)
{
    if (c->building) {
        return refuse(c, PGC_ERR_STATE, "a request is being built");
    }
    PgcStatus st = pgc_build_terminate(wb);
    if (st != PGC_OK) {
        return refuse(c, st, "out of memory");
    }
    c->terminated = 1;
    return PGC_OK;
}

/* ------------------------------------------------------------------ */
/* Frontend: COPY FROM STDIN                                           */
/* ------------------------------------------------------------------ */

PgcStatus
pgc_conn_copy_data(PgcConn *c, PgcWBuf *wb, const uint8_t *p, size_t n)
{
    if (c->copy_in != PGC_COPYIN_ACTIVE || c->building) {
        return refuse(c, PGC_ERR_STATE, "the server is not taking COPY data");
    }
    PgcStatus st = pgc_build_copy_data(wb, p, n);
    if (st != PGC_OK) {
        return refuse(c, st, "COPY data too large or out of memory");
    }
    return PGC_OK;
}

/* CopyDone (reason == NULL) or CopyFail, then Sync unless simple. */
static PgcStatus
copy_end(PgcConn *c, PgcWBuf *wb, const PgcStr *reason)
{
    if ((c->copy_in != PGC_COPYIN_ACTIVE &&
         c->copy_in != PGC_COPYIN_END_REQUIRED) ||
        c->building) {
        return refuse(c, PGC_ERR_STATE, "no COPY FROM STDIN to end");
    }
    size_t mark = wb->len;
    PgcStatus st = reason ? pgc_build_copy_fail(wb, *reason)
                          : pgc_build_copy_done(wb);
    if (st == PGC_OK && !c->copy_simple) {
        st = pgc_build_sync(wb);
    }
    if (st != PGC_OK) {
        pgc_wbuf_truncate(wb, mark);
        return refuse(c, st, "out of memory");
    }
    c->copy_in = PGC_COPYIN_ENDED;
    return PGC_OK;
}

PgcStatus
pgc_conn_copy_done(PgcConn *c, PgcWBuf *wb)
{
    return copy_end(c, wb, NULL);
}

PgcStatus
pgc_conn_copy_fail(PgcConn *c, PgcWBuf *wb, PgcStr reason)
{
    return copy_end(c, wb, &reason);
}
