/* pgc_conn.h -- the sans-I/O request engine: the query-phase state machine
 * of a connection, with its queue of requests in flight.
 *
 * Design
 * ------
 * After startup (pgc_startup.h) every request the binding sends is
 * registered here, in the same call that appends its frontend messages to
 * the write buffer (the builders below), so what was sent and what is
 * expected cannot disagree.  Each frontend message registers the backend
 * answer it provokes as one *step* (PgcStep) in a FIFO of steps:
 *
 *   Parse            -> PGC_STEP_PARSE           ParseComplete
 *   Bind             -> PGC_STEP_BIND            BindComplete
 *   Close            -> PGC_STEP_CLOSE           CloseComplete
 *   Describe(S)      -> PGC_STEP_PARAM_DESC      ParameterDescription
 *                       PGC_STEP_STMT_ROW_DESC   RowDescription | NoData
 *   Describe(P)      -> PGC_STEP_PORTAL_ROW_DESC RowDescription | NoData
 *   Execute          -> PGC_STEP_EXECUTE         DataRow* then
 *                         CommandComplete | EmptyQueryResponse |
 *                         PortalSuspended; or CopyOutResponse CopyData*
 *                         CopyDone CommandComplete; or CopyInResponse ...
 *                         CommandComplete
 *   Sync             -> PGC_STEP_SYNC            ReadyForQuery
 *   Query (simple)   -> PGC_STEP_QUERY           any number of result sets
 *                         (RowDescription DataRow* CommandComplete |
 *                         CommandComplete | EmptyQueryResponse | COPY),
 *                         then ReadyForQuery
 *   Flush, Terminate -> nothing
 *
 * A *request* is a run of consecutive steps with one `void *user` pointer
 * for the binding and a 64-bit id.  A request ending in a Sync (or a simple
 * Query) owns that Sync; a request without one shares the next Sync pushed
 * (an explicit batch: several requests, then pgc_conn_push_sync).  The
 * requests up to and including the one owning a Sync form a *Sync group*.
 * Any number of groups may be in flight (pipelining), bounded by
 * PgcConnLimits.
 *
 * Backend messages are taken from a PgcReader by pgc_conn_next, one event
 * at a time (hiredis' redisReaderGetReply shape).  The message at the head
 * of the stream must be one the current step allows; anything else is a
 * protocol error naming what was expected and what came, sticky like a
 * framing error.  NoticeResponse, NotificationResponse and ParameterStatus
 * are accepted anywhere, mid-COPY included, and reported as events.
 * An ErrorResponse fails the current request; as the server then discards
 * everything up to the next Sync, the engine drops the steps up to the
 * group's Sync step, and the later requests of the group complete as
 * PGC_REQ_ABORTED.  The group ends at its ReadyForQuery, whose transaction
 * status is kept (pgc_conn_tx_status).
 *
 * A request may be abandoned (a timeout or a task cancel further back in
 * the queue): its results are still consumed, but no event is reported for
 * it except PGC_EV_COPY_IN_RESPONSE (the server waits: answer with
 * pgc_conn_copy_fail) and its PGC_EV_REQ_DONE (flag `abandoned`), so the
 * binding can drop its `user` object at the right moment.
 *
 * COPY FROM STDIN: the server reads every frontend message as COPY input
 * until the COPY ends, so a CopyInResponse with later requests in flight is
 * a protocol error, and a request flagged PGC_REQ_F_COPY_IN (or a simple
 * Query without PGC_REQ_F_NO_COPY) is a barrier: nothing is pushed behind
 * it until it is done.  The binding answers PGC_EV_COPY_IN_RESPONSE with
 * pgc_conn_copy_data* then pgc_conn_copy_done or _fail, which add the Sync
 * the extended protocol needs (the one sent with the request was ignored
 * in copy-in mode).  COPY TO needs nothing (PGC_EV_COPY_OUT_RESPONSE,
 * COPY_DATA*, COPY_DONE, then COMMAND_COMPLETE).
 *
 * The engine allocates when a request is pushed (its rings grow up to the
 * limits), never while reading: every event points into the read buffer.
 *
 * Contract (who owns what)
 * ------------------------
 * - The binding owns the PgcReader, the PgcWBuf and the `user` pointers;
 *   the engine never dereferences `user` and never writes to the socket.
 * - Views in an event (body, tag, name/value, channel/payload) borrow the
 *   reader's buffer: valid until the next pgc_reader_space/feed/clear.
 * - The binding may push, abandon and write COPY data from inside its
 *   handling of an event (between two pgc_conn_next calls).
 * - After an error status from pgc_conn_next (sticky), the connection is
 *   unusable: the binding closes it, and completes each request still in
 *   flight (pgc_conn_pop_lost) with a connection error.
 *
 * What the binding does with each event: see PgcEventType.
 */
#ifndef PGC_CONN_H
#define PGC_CONN_H

#include "pgc_build.h"
#include "pgc_frame.h"
#include "pgc_msg.h"

/* What one frontend message expects back (see the table above). */
typedef enum {
    PGC_STEP_PARSE = 1,
    PGC_STEP_BIND,
    PGC_STEP_CLOSE,
    PGC_STEP_PARAM_DESC,
    PGC_STEP_STMT_ROW_DESC,
    PGC_STEP_PORTAL_ROW_DESC,
    PGC_STEP_EXECUTE,
    PGC_STEP_SYNC,
    PGC_STEP_QUERY,
} PgcStep;

/* Where the engine is inside a multi-message step (EXECUTE, QUERY). */
typedef enum {
    PGC_SUB_START = 0,     /* nothing of the step seen yet; for QUERY also
                              between two result sets */
    PGC_SUB_ROWS,          /* DataRow seen (EXECUTE) / RowDescription seen
                              (QUERY): more rows, then the end */
    PGC_SUB_COPY_OUT,      /* CopyOutResponse seen: CopyData* CopyDone */
    PGC_SUB_COPY_OUT_DONE, /* CopyDone seen: CommandComplete */
    PGC_SUB_COPY_IN,       /* CopyInResponse seen: CommandComplete */
    PGC_SUB_FAILED,        /* QUERY: ErrorResponse seen, ReadyForQuery */
} PgcSubPhase;

/* How a request ended (PGC_EV_REQ_DONE). */
typedef enum {
    PGC_REQ_OK = 0,  /* every step answered */
    PGC_REQ_FAILED,  /* an ErrorResponse for this request (reported as
                        PGC_EV_ERROR before) */
    PGC_REQ_ABORTED, /* an earlier request of its Sync group failed: the
                        server skipped it */
} PgcReqStatus;

/* The COPY FROM STDIN of the request at the head of the queue. */
typedef enum {
    PGC_COPYIN_NONE = 0,     /* no COPY FROM STDIN in progress */
    PGC_COPYIN_ACTIVE,       /* the server takes CopyData: write with
                                pgc_conn_copy_data, end with
                                pgc_conn_copy_done / pgc_conn_copy_fail */
    PGC_COPYIN_ENDED,        /* CopyDone/CopyFail sent; awaiting the
                                server's answer */
    PGC_COPYIN_END_REQUIRED, /* the server failed the COPY (extended
                                protocol): it waits for a Sync, which
                                pgc_conn_copy_done / _fail send */
} PgcCopyInState;

typedef enum {
    PGC_EV_NONE = 0,
    /* Per request (ev.req_id, ev.user).  Never reported for an abandoned
     * request, except COPY_IN_RESPONSE and REQ_DONE. */
    PGC_EV_PARSE_COMPLETE,    /* nothing to do (statement exists now) */
    PGC_EV_BIND_COMPLETE,     /* nothing to do */
    PGC_EV_CLOSE_COMPLETE,    /* nothing to do (statement/portal gone) */
    PGC_EV_PARAM_DESC,        /* body: ParameterDescription (parse it with
                                pgc_parse_param_desc) */
    PGC_EV_ROW_DESC,          /* body: RowDescription; ev.step says whose:
                                STMT_ROW_DESC, PORTAL_ROW_DESC, or QUERY
                                (a result set of a simple Query) */
    PGC_EV_NO_DATA,           /* the statement/portal returns no rows */
    PGC_EV_ROW,               /* body: DataRow (pgc_parse_data_row) */
    PGC_EV_COMMAND_COMPLETE,  /* u.tag: the command tag */
    PGC_EV_EMPTY_QUERY,       /* EmptyQueryResponse (status "") */
    PGC_EV_PORTAL_SUSPENDED,  /* Execute's row limit reached: the portal
                                has more rows */
    PGC_EV_COPY_OUT_RESPONSE, /* u.copy: format, column count */
    PGC_EV_COPY_DATA,         /* body: one CopyData of COPY TO */
    PGC_EV_COPY_DONE,         /* end of COPY TO data (CommandComplete
                                follows) */
    PGC_EV_COPY_IN_RESPONSE,  /* u.copy.  The server waits for data: the
                                binding MUST write pgc_conn_copy_data*, then
                                pgc_conn_copy_done, or pgc_conn_copy_fail
                                (always for an abandoned request, or a
                                request that did not ask for COPY) */
    PGC_EV_ERROR,             /* body: ErrorResponse fields.  With a request:
                                that request failed (its REQ_DONE follows,
                                FAILED, right away or, for a request
                                owning its Sync, after READY).
                                ev.req_id == 0: no request in flight, or an
                                error at the Sync of a group that already
                                failed (e.g. a FATAL before the server
                                closes) */
    PGC_EV_REQ_DONE,          /* u.done: the request is complete and gone
                                from the queue; nothing more will be
                                reported for it.  Resolve or drop `user` */
    /* Connection-wide (ev.req_id 0 unless said) */
    PGC_EV_READY,        /* u.tx_status (PGC_TX_*): a Sync group ended;
                                ev.req_id: the request owning that Sync,
                                whose REQ_DONE comes next */
    PGC_EV_NOTICE,       /* body: NoticeResponse fields */
    PGC_EV_NOTIFY,       /* u.notify */
    PGC_EV_PARAM_STATUS, /* u.param */
} PgcEventType;

typedef struct {
    PgcEventType type;
    uint64_t req_id; /* 0: none */
    void *user;      /* the request's user pointer (NULL: none) */
    PgcStep step;    /* the step the message answered (0: none) */
    int abandoned;   /* the request was abandoned (REQ_DONE,
                        COPY_IN_RESPONSE) */
    PgcView body;    /* the whole message body (borrowed) */
    /* u: only the member of the event's type is set (a ROW leaves u as
     * it was) */
    union {
        PgcView tag;
        uint8_t tx_status;
        struct {
            PgcReqStatus status;
        } done;
        struct {
            uint8_t format; /* overall: PGC_FORMAT_TEXT or _BINARY */
            uint16_t ncols;
        } copy;
        struct {
            int32_t pid;
            PgcView channel, payload;
        } notify;
        struct {
            PgcView name, value;
        } param;
    } u;
} PgcEvent;

/* Bounds: a push that would exceed one fails with PGC_ERR_LIMIT. */
typedef struct {
    size_t max_requests; /* requests in flight */
    size_t max_steps;    /* expected backend answers in flight */
} PgcConnLimits;

#define PGC_CONN_DEFAULT_MAX_REQUESTS 4096u
#define PGC_CONN_DEFAULT_MAX_STEPS (1u << 21)

/* Request flags (pgc_req_begin). */
#define PGC_REQ_F_COPY_IN \
    1u /* COPY FROM STDIN is expected: nothing may be
                                queued behind it until it is done */
#define PGC_REQ_F_NO_COPY \
    2u /* a simple Query whose text cannot start
                                COPY FROM STDIN (the binding's own, e.g.
                                the pool reset): requests may be queued
                                behind it.  Without this flag a simple
                                Query is a barrier like COPY_IN */

#define PGC_REQ_F_ABANDONED 0x200u /* internal: pgc_conn_abandon */

/* One request in flight (internal; the binding sees ids). */
typedef struct {
    uint64_t id;
    void *user;
    uint32_t nsteps; /* steps still expected */
    unsigned flags;  /* PGC_REQ_F_* and the internal bits */
    PgcReqStatus status;
} PgcReq;

typedef struct {
    /* requests: a ring; the head is the oldest in flight */
    PgcReq *reqs;
    size_t req_cap, req_head, req_len;
    size_t ndone; /* requests at the head complete, REQ_DONE pending */
    /* steps: a ring of PgcStep bytes, in the order the answers come */
    uint8_t *steps;
    size_t step_cap, step_head, step_len;
    size_t step_open; /* steps written by an open builder, not committed */
    PgcSubPhase sub;
    PgcCopyInState copy_in;
    int copy_simple; /* the COPY FROM STDIN runs under a simple Query */
    int group_open;  /* the last request pushed owns no Sync */
    int skipping;    /* an ErrorResponse failed the current group: its
                         steps are dropped up to its Sync */
    int building;    /* a PgcReqBuilder is open */
    int terminated;  /* Terminate written */
    uint64_t next_id;
    uint8_t tx_status;
    PgcConnLimits limits;
    PgcStatus err; /* sticky error, PGC_OK if none */
    char err_msg[200];
} PgcConn;

/* tx_status: from the startup's ReadyForQuery (PGC_TX_IDLE if unknown);
 * limits may be NULL (defaults). */
void pgc_conn_init(PgcConn *c, uint8_t tx_status, const PgcConnLimits *limits);
void pgc_conn_free(PgcConn *c);

/* The next event.  PGC_OK: *ev is filled.  PGC_NEED_MORE: feed more bytes
 * to the reader (nothing pending).  Negative: a sticky error, c->err_msg
 * says why (PGC_ERR_PROTOCOL: a message out of order or malformed, or the
 * reader's framing error). */
PgcStatus pgc_conn_next(PgcConn *c, PgcReader *rd, PgcEvent *ev);

/* The hot path, after a PGC_EV_ROW: the next message, when the reader
 * holds it whole and it is a DataRow of the same request (the event
 * pgc_conn_next would report is the same ROW, with this body): 1 and
 * *body set.  0: call pgc_conn_next (nothing was consumed). */
static inline int
pgc_conn_next_row(PgcConn *c, PgcReader *rd, PgcView *body)
{
    size_t avail = rd->end - rd->start;
    const uint8_t *h = rd->data + rd->start;
    if (avail < 5 || h[0] != PGC_MSG_DATA_ROW || c->err != PGC_OK ||
        rd->err != PGC_OK || c->sub != PGC_SUB_ROWS || c->ndone != 0 ||
        c->skipping || c->req_len == 0 ||
        (c->reqs[c->req_head].flags & PGC_REQ_F_ABANDONED)) {
        return 0;
    }
    uint32_t len = pgc_load_u32(h + 1);
    if (len < 4 || len > PGC_MAX_MSG_LEN || len > rd->max_msg ||
        avail - 1 < len) {
        return 0; /* pgc_conn_next frames it (or reports the error) */
    }
    body->p = h + 5;
    body->n = (size_t)len - 4;
    rd->start += (size_t)len + 1;
    return 1;
}

/* Read-only state. */
static inline uint8_t
pgc_conn_tx_status(const PgcConn *c)
{
    return c->tx_status;
}

/* Requests in flight (REQ_DONE not yet reported). */
static inline size_t
pgc_conn_in_flight(const PgcConn *c)
{
    return c->req_len;
}

/* Requests in flight that are not abandoned: what asyncpg's "another
 * operation is in progress" check counts (an abandoned request only
 * drains). */
size_t pgc_conn_active(const PgcConn *c);

static inline PgcCopyInState
pgc_conn_copy_in_state(const PgcConn *c)
{
    return c->copy_in;
}

/* The binding stops waiting for request `id`: its results are consumed
 * without events (see PgcEventType).  PGC_ERR_STATE if it is not in
 * flight. */
PgcStatus pgc_conn_abandon(PgcConn *c, uint64_t id);

/* After a fatal error or connection loss: remove the oldest request still
 * in flight, 1 with *id and *user set, 0 when none is left.  Marks the engine
 * failed (PGC_ERR_STATE "connection lost") if it was not. */
int pgc_conn_pop_lost(PgcConn *c, uint64_t *id, void **user);

/* ------------------------------------------------------------------ */
/* Frontend: building a request.                                       */
/* ------------------------------------------------------------------ */
/* Every builder call appends one message to wb and records its step; a
 * failure leaves wb and the engine as they were before the call.  Commit
 * makes the request live; abort removes everything it wrote.
 *
 *   PgcReqBuilder b;
 *   pgc_req_begin(c, wb, flags, user, &b);
 *   pgc_req_parse(&b, ...); pgc_req_describe(&b, ...);
 *   pgc_req_bind_start(&b, ...); <encode parameters into wb>;
 *   pgc_req_bind_end(&b, ...); pgc_req_execute(&b, ...);
 *   pgc_req_sync(&b);                 (or none: share the next Sync)
 *   pgc_req_commit(&b, &id);          (or pgc_req_abort(&b))
 *
 * Rules checked at commit (PGC_ERR_STATE, message in c->err_msg, the
 * request is removed from wb as by abort): at least one message; a Sync
 * only as the last message; a simple Query alone, and never into an open
 * Sync group.  At begin: not after Terminate or a sticky error, not
 * behind a COPY FROM STDIN barrier (PGC_REQ_F_COPY_IN, or a simple Query
 * without PGC_REQ_F_NO_COPY) still in flight, one builder at a time.
 * Errors at begin/commit are reported in c->err_msg without making the
 * engine's state sticky. */
typedef struct {
    PgcConn *c;
    PgcWBuf *wb;
    size_t mark;      /* wb->len at begin */
    size_t bind_mark; /* wb->len at bind_start */
    unsigned flags;
    void *user;
    int has_sync;
    int has_query;
    int in_bind;
} PgcReqBuilder;

PgcStatus pgc_req_begin(PgcConn *c, PgcWBuf *wb, unsigned flags, void *user,
                        PgcReqBuilder *b);
PgcStatus pgc_req_query(PgcReqBuilder *b, PgcStr sql);
PgcStatus pgc_req_parse(PgcReqBuilder *b, PgcStr name, PgcStr sql,
                        const uint32_t *param_oids, uint16_t nparams);
/* target: PGC_TARGET_STATEMENT or PGC_TARGET_PORTAL */
PgcStatus pgc_req_describe(PgcReqBuilder *b, uint8_t target, PgcStr name);
PgcStatus pgc_req_close(PgcReqBuilder *b, uint8_t target, PgcStr name);
/* Bind in two halves: the parameters are encoded into b->wb between them
 * (pgc_build_bind_null / pgc_wbuf_reserve_len + patch_len).  If encoding
 * fails, call pgc_req_abort. */
PgcStatus pgc_req_bind_start(PgcReqBuilder *b, PgcStr portal, PgcStr stmt,
                             uint16_t nfmt, const int16_t *fmts,
                             uint16_t nparams);
PgcStatus pgc_req_bind_end(PgcReqBuilder *b, uint16_t nresfmt,
                           const int16_t *resfmts);
PgcStatus pgc_req_execute(PgcReqBuilder *b, PgcStr portal, int32_t max_rows);
PgcStatus pgc_req_flush(PgcReqBuilder *b);
PgcStatus pgc_req_sync(PgcReqBuilder *b);
PgcStatus pgc_req_commit(PgcReqBuilder *b, uint64_t *id);
void pgc_req_abort(PgcReqBuilder *b);
/* Move the messages the open builder appended from wb offset `from` on
 * (the last `nsteps` steps it recorded) ahead of everything else it wrote
 * (e.g. a SAVEPOINT decided on once a streamed batch turned out long).
 * PGC_ERR_STATE if they do not match; PGC_ERR_NOMEM. */
PgcStatus pgc_req_move_to_front(PgcReqBuilder *b, size_t from, size_t nsteps);
/* Drop an open Bind (pgc_req_bind_start without bind_end): its bytes
 * leave wb, the request goes on as before the Bind. */
void pgc_req_bind_cancel(PgcReqBuilder *b);

/* ------------------------------------------------------------------ */
/* Frontend: one call per request kind.                                */
/* ------------------------------------------------------------------ */

/* Encodes the parameters of execution `index` into wb (between the two
 * halves of a Bind).  PGC_OK, or an error status (PGC_ERR_CALLBACK: the
 * binding's exception is pending); any error aborts the push. */
typedef PgcStatus (*PgcEncodeFn)(void *ctx, PgcWBuf *wb, size_t index);

/* An extended-protocol request, in wire order:
 *   Close(S) for each of close_names (statements to drop lazily),
 *   Parse(stmt_name, sql, param_oids) if parse,
 *   Describe(S, stmt_name) if describe_stmt,
 *   then nexec times: Bind(portal <- stmt_name, encode(i)),
 *                     Describe(P, portal) if describe_portal and i == 0,
 *                     Execute(portal, max_rows),
 *   then Sync if sync.
 * With nexec == 0 there is no Bind/Execute (a prepare). */
typedef struct {
    void *user;
    unsigned flags; /* PGC_REQ_F_* */
    const PgcStr *close_names;
    size_t nclose;
    int parse;
    PgcStr stmt_name;
    PgcStr sql;
    const uint32_t *param_oids;
    uint16_t nparam_oids;
    int describe_stmt;
    PgcStr portal;
    size_t nexec;
    uint16_t nparam_fmt;
    const int16_t *param_fmts;
    uint16_t nparams;
    PgcEncodeFn encode; /* NULL: every parameter NULL */
    void *encode_ctx;
    uint16_t nresult_fmt;
    const int16_t *result_fmts;
    int describe_portal;
    int32_t max_rows; /* 0: all rows */
    int sync;         /* 1: own Sync; 0: share the next one */
} PgcExtSpec;

PgcStatus pgc_conn_push_extended(PgcConn *c, PgcWBuf *wb,
                                 const PgcExtSpec *spec, uint64_t *id);
/* A simple Query (its own Sync).  flags: PGC_REQ_F_NO_COPY or 0. */
PgcStatus pgc_conn_push_simple(PgcConn *c, PgcWBuf *wb, PgcStr sql,
                               unsigned flags, void *user, uint64_t *id);
/* A bare Sync: closes the open Sync group (an explicit batch).  Its
 * REQ_DONE comes after the group's ReadyForQuery: OK, FAILED (an error
 * at the Sync itself, e.g. a deferred constraint at commit) or ABORTED
 * (an earlier request of the group failed). */
PgcStatus pgc_conn_push_sync(PgcConn *c, PgcWBuf *wb, void *user,
                             uint64_t *id);
/* Terminate: no request may be pushed afterwards. */
PgcStatus pgc_conn_terminate(PgcConn *c, PgcWBuf *wb);

/* COPY FROM STDIN of the head request (PGC_ERR_STATE unless the state
 * allows it).  copy_done / copy_fail add the Sync the extended protocol
 * needs (the Sync sent with the request was ignored by the server while
 * in copy-in mode). */
PgcStatus pgc_conn_copy_data(PgcConn *c, PgcWBuf *wb, const uint8_t *p,
                             size_t n);
PgcStatus pgc_conn_copy_done(PgcConn *c, PgcWBuf *wb);
PgcStatus pgc_conn_copy_fail(PgcConn *c, PgcWBuf *wb, PgcStr reason);

/* Names, for messages and tests. */
const char *pgc_step_name(PgcStep s);
const char *pgc_event_name(PgcEventType t);
const char *pgc_backend_msg_name(uint8_t type);

#endif /* PGC_CONN_H */
