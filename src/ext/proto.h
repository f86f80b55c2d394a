/* proto.h -- internal structures of the asyncio protocol, the connection
 * core, the per-call awaitable (Op) and prepared-statement state.
 *
 * Ownership: ConnectionCore -> Protocol (strong); Protocol -> Connection
 * (weak reference only, so dropping an unclosed connection frees it at once
 * and its finalizer can warn); Protocol's request engine -> Op (strong, one
 * per request in flight: the request's `user`); Op -> Protocol, Statement
 * (strong).
 */
#ifndef PGW_PROTO_H
#define PGW_PROTO_H

#include "ext.h"
#include "record.h"
#include "rows.h"
#include "../core/pgc_build.h"
#include "../core/pgc_conn.h"
#include "../core/pgc_frame.h"
#include "../core/pgc_msg.h"
#include "../core/pgc_parse.h"
#include "../core/pgc_startup.h"

typedef struct OpObject OpObject;
typedef struct StmtObject StmtObject;

/* ------------------------------------------------------------------ */
/* Statement                                                           */
/* ------------------------------------------------------------------ */
struct StmtObject {
    PyObject_HEAD
    ModState *st;
    PyObject *name;       /* bytes; b"" for the unnamed statement */
    PyObject *query;      /* str */
    PyObject *query_utf8; /* bytes */
    uint16_t nparams;
    uint32_t *param_oids;
    const PgwCodec **param_codecs;
    int16_t *param_formats;
    uint16_t nparam_formats; /* 1 if all binary (param_formats[0]) */
    uint16_t ncols;
    uint32_t *col_oids;
    const PgwCodec **col_codecs;
    const PgwCodec **col_decoders; /* col_codecs, or the text variant
                                      (pgw_codec_result_variant) */
    int16_t *col_formats;          /* col_decoders' formats */
    uint16_t ncol_formats;         /* 1 if all the same */
    PgcCol *cols;                  /* scratch for DataRow parsing */
    PyObject *names;               /* tuple of column names (str) */
    PyObject *desc;                /* RecordDesc */
    PyObject *attrs;               /* list of (name, type_oid) or NULL */
    PyObject *codec_refs; /* list of the Codec objects our codecs belong to */
    int described;        /* ParameterDescription/RowDescription seen */
    int explicit_;     /* made by prepare(): not re-prepared behind its back */
    int wrappers;      /* live PreparedStatement objects using it */
    int ignore_custom; /* resolved without user codec overrides */
    PyObject *last_status; /* str: tag of the last execution, or NULL */
    int in_cache;
    int closed;
    double created_at; /* monotonic seconds */
    size_t footprint;  /* bytes it holds (query text, description), counted
                         when it is cached */
    StmtObject *lru_prev, *lru_next; /* borrowed links while in_cache */
    /* paramstyle.c: made on a paramstyle='pyformat' connection (its
     * query_utf8 is then the converted text), and for %(name)s the names
     * in $n order (tuple of str; NULL otherwise) */
    int pyformat;
    PyObject *pf_names;
    PyObject *pf_sql; /* str: the converted text, or NULL */
    /* rows.c: (factory, desc, RowMaker) of the last row factory used on
     * this description, or NULL */
    PyObject *row_maker;
};

/* ------------------------------------------------------------------ */
/* Protocol                                                            */
/* ------------------------------------------------------------------ */
typedef enum {
    PS_NEW = 0,   /* before connection_made */
    PS_CONNECTED, /* transport up, startup not sent */
    PS_STARTUP,   /* startup/auth in progress */
    PS_READY,     /* idle or running requests */
    PS_CLOSED,    /* connection_lost seen, or aborted */
} ProtoState;

typedef enum {
    CANCEL_NONE = 0,
    CANCEL_RUNNING, /* CancelRequest dial in progress */
    CANCEL_SENT,    /* dial finished; waiting for the cancelled request */
} CancelState;

/* Queries queue on the connection instead of being refused: pipeline=True,
 * or inside conn.pipeline(). */
#define PGW_QUEUEING(p) ((p)->pipeline || (p)->batch != 0)

#define BATCH_NONE 0
#define BATCH_SHARED 1
#define BATCH_SYNC_EACH 2

typedef struct {
    PyObject_HEAD
    ModState *st;
    ProtoState state;
    PyObject *loop;
    PyObject *transport;
    PyObject *transport_write; /* bound method */
    PgcReader rd;
    PgcWBuf wb;
    /* The exporter of rd's current block (ReadBufferObject) handed to the
     * transport by get_buffer, or NULL.  While a view of it is alive the
     * block is pinned: never moved or freed under the view (see
     * get_buffer). */
    PyObject *rbuf;
    size_t granted; /* bytes get_buffer offered; buffer_updated may commit
                        at most that many */
    int processing; /* inside process_messages: views into rd are live */

    /* startup */
    PgcStartup su;
    PyObject *su_user, *su_nonce;              /* bytes */
    PyObject *su_password, *su_scram_password; /* str or None (borrowed
                                                  UTF-8: protocol.c) */
    PyObject *su_require; /* require_auth text (bytes) or NULL */
    PyObject *su_cbind;   /* tls-server-end-point hash (bytes) or NULL */
    /* the SaltedPassword cache (protocol.c): this exchange's key, and
     * whether it was computed / whether its entry was used */
    uint8_t su_cache_key[PGC_SHA256_LEN];
    uint8_t su_cache; /* SU_CACHE_* */
    PyObject *startup_fut;

    int32_t backend_pid;
    int32_t backend_secret;
    PyObject *settings; /* dict str -> str */
    /* The codec context of this connection: a copy of the module state's
     * (its objects are borrowed: the module outlives the protocol, whose
     * type it owns) whose enc follows the server's client_encoding
     * ParameterStatus.  Every text encode and decode of the connection
     * goes through it. */
    PgwCodecCtx codec;
    char client_encoding[32]; /* as the server reported them ("" until */
    char server_encoding[32]; /* then), for codec.converts */

    /* The request engine (src/core/pgc_conn.h), live from the startup's
     * ReadyForQuery: every request in flight, in order, each with its
     * OpObject as `user` (one strong reference, dropped at its REQ_DONE
     * or when the connection is lost), or NULL for the connection's own
     * (the Close of exhausted cursors ahead of a simple Query). */
    PgcConn conn;
    int conn_live;
    /* Ops waiting for their turn, FIFO (list, strong): behind a cancelled
     * request being drained (its CancelRequest must not hit them), or
     * (pipeline) behind what they may not be queued behind. */
    PyObject *waiters;
    Py_ssize_t bind_seqno; /* executemany: index of the argument sequence
                              being encoded (error messages), else -1 */
    CancelState cancel;
    uint64_t cancel_req; /* the request the cancel/CopyFail is for */
    PyObject *drain_timer;
    OpObject *stream_op; /* strong: executemany waiting for the transport
                              to take more (resume_writing wakes it) */
    /* pipeline=True: a query started while others are in flight is pushed
     * at once with its own Sync instead of refused; the ones that cannot
     * share the queue (COPY, simple Query, cursors, executemany) wait for
     * their turn in `waiters`. */
    int pipeline;
    /* inside conn.pipeline(): BATCH_SHARED (requests end with a Flush and
     * share the next Sync) or BATCH_SYNC_EACH (each its own Sync) */
    int batch;
    OpObject *preparing; /* strong: the op whose prepare is in flight
                              (pipeline: later ops wait behind it, so the
                              results keep submission order and a second
                              request for its query finds it prepared) */
    PyObject *turn_stmt; /* strong: what a prepare() that just finished
                              returned (pipeline): the COPY that
                              copy_records_to_table starts with it at once
                              takes that prepare's place in the queue */
    /* The pool's reset written at release (_send_reset, docs/pooling.md):
     * the id of its simple Query in flight (0: none), the future its
     * outcome resolves, and the exception class its failure raises.  One
     * request that is not exclusive may be pushed behind it before its
     * outcome is known; a failure closes the connection at once and fails
     * that request with it (it did not run). */
    uint64_t reset_req;
    PyObject *reset_fut;
    PyObject *reset_error;

    /* statement cache (LRU: head = most recent) */
    PyObject *stmt_cache; /* dict query -> Statement */
    StmtObject *lru_head, *lru_tail;
    Py_ssize_t cache_size, cache_max;
    double cache_lifetime;      /* seconds, 0 = forever */
    Py_ssize_t cache_max_query; /* bytes of query text, 0 = unlimited */
    size_t cache_bytes;         /* footprints of the cached statements */
    uint64_t stmt_counter;
    PyObject *stmt_prefix;    /* bytes: random per connection, so names never
                              collide on a server connection shared through
                              a pooler */
    PyObject *pending_closes; /* list of statement names (bytes): Close('S')
                                 goes ahead of the next request */
    PyObject *pending_portal_closes; /* portal names (bytes) of exhausted
                                        cursors: Close('P') goes ahead of
                                        the next request, in its write */
    /* statement_cache_size=0: what Describe told us about unnamed
     * statements, so each execution is one round trip
     * (Parse+Bind+Describe+Execute+Sync) and no server-side statement
     * outlives it (pgbouncer transaction pooling). */
    PyObject *unnamed_cache; /* dict query -> Statement */
    /* Codecs of non-builtin types, filled by Connection._introspect_types:
     * dict oid (int) -> Codec object. */
    PyObject *type_codecs;

    PyObject *record_class; /* a Record subclass, or a row factory */
    double command_timeout; /* < 0: none */
    double cancel_timeout;

    PyObject *conn_ref;   /* weakref to the Connection, or NULL */
    PyObject *closed_fut; /* resolved in connection_lost */
    PyObject *last_fatal; /* FATAL ErrorResponse received while idle */
    int writing_paused;
    int reading_paused;     /* by a COPY TO consumer that is behind */
    PyObject *writable_fut; /* resolved by resume_writing */
    PyObject *query_log;    /* Connection._log_query while query loggers are
                             registered, else NULL */
    uint64_t queries_count; /* requests started: max_queries of pools,
                               and the pool's reset (any request since a
                               connection was handed out means reset) */
    int aborted;
    int cleared; /* tp_clear ran (the cyclic GC breaking a cycle): the
                     references are gone; every entry point refuses */
    /* paramstyle.c: %s/%(name)s converted to $n; conversions done (tests) */
    int pyformat;
    uint64_t pf_conversions;
} ProtocolObject;

/* ------------------------------------------------------------------ */
/* ConnectionCore                                                      */
/* ------------------------------------------------------------------ */
typedef struct {
    PyObject_HEAD
    ModState *st;
    ProtocolObject *proto;
    PyObject *weakreflist;
} ConnCoreObject;

/* ------------------------------------------------------------------ */
/* Op: the awaitable returned by the query methods                     */
/* ------------------------------------------------------------------ */
typedef enum {
    OP_FETCH = 0,
    OP_FETCHROW,
    OP_FETCHVAL,
    OP_EXECUTE,
    OP_EXECUTEMANY,
    OP_FETCHMANY,
    OP_PREPARE,
    OP_CURSOR,   /* Bind to a named portal and/or Execute it (row limit) */
    OP_COPY_OUT, /* COPY ... TO STDOUT: each await returns the next chunk */
    OP_COPY_IN,  /* COPY ... FROM STDIN: data written with _copy_* */
    OP_SYNC,     /* conn.pipeline()'s sync(): a bare Sync */
} OpKind;

#define PGW_OP_IS_COPY(op) \
    ((op)->kind == OP_COPY_OUT || (op)->kind == OP_COPY_IN)
/* Ops nothing may be queued behind (and that wait for an empty queue):
 * COPY, a simple-Query execute() (it may start COPY FROM STDIN), cursor
 * steps (portals live in the transaction), executemany/fetchmany (their
 * streamed chunks share one Sync group). */
#define PGW_OP_EXCLUSIVE(op)                                                  \
    (PGW_OP_IS_COPY(op) || (op)->kind == OP_CURSOR ||                         \
     (op)->kind == OP_EXECUTEMANY || (op)->kind == OP_FETCHMANY ||            \
     ((op)->kind == OP_EXECUTE && !(op)->preset_stmt && (op)->args != NULL && \
      PyTuple_Check((op)->args) && PyTuple_GET_SIZE((op)->args) == 0))

typedef enum {
    PH_INIT = 0,
    PH_WAIT_TURN,    /* queued behind a cancelled request (p->waiters) */
    PH_WAIT_PREPARE, /* the prepare request (req_id) is in flight */
    PH_WAIT_SUB,     /* driving Connection._introspect_types(oids) */
    PH_WAIT_RESULT,  /* the execution request (req_id) is in flight, or
                         its result is ready */
    PH_STREAM,       /* executemany: chunks written, waiting for the
                         transport to take more (many.c) */
    PH_DONE,
} OpPhase;

struct OpObject {
    PyObject_HEAD
    ModState *st;
    ProtocolObject *proto;
    OpKind kind;
    OpPhase phase;
    PyObject *query;        /* str */
    PyObject *args;         /* tuple (or the sequence of tuples for *many) */
    PyObject *record_class; /* a Record subclass, or a row factory */
    Py_ssize_t column;      /* fetchval */
    PyObject *column_name;  /* fetchval(column='name'): str, or NULL */
    StmtObject *held_stmt;  /* a PreparedStatement's statement this op
                              counts as a user of (wrappers), or NULL */
    int fresh;              /* OP_PREPARE: parse afresh, keep out of the
                             statement cache (Connection.prepare()) */
    double timeout;         /* < 0: none */
    PyObject *fut;          /* the future being waited on */
    int armed;              /* fut is ours (op_yield) and not yet resolved by
                             pgw_op_wake: a send now is not its awaiter
                             resuming (a second awaiter) */
    int awaiting;           /* __await__ was called and that await has not
                             finished: a second await is refused */
    PyObject *timer;        /* TimerHandle or NULL */
    StmtObject *stmt;
    PyObject *rows;        /* list */
    PyObject *status;      /* str: last CommandComplete tag */
    PyObject *error;       /* exception instance, or NULL */
    PyObject *pending_exc; /* raised at the first step */
    uint64_t req_id;       /* the engine's id of the request whose REQ_DONE
                             ends the wait (for a streamed executemany its
                             last chunk pushed so far); 0: none in flight */
    uint64_t req_first;    /* the op's first request in flight (a streamed
                             executemany has one per chunk) */
    int want_rows;
    int preset_stmt;     /* executing a PreparedStatement's statement */
    PyObject *portal;    /* OP_CURSOR: portal name (bytes) */
    int cursor_bind;     /* OP_CURSOR: Bind the portal first */
    int32_t max_rows;    /* OP_CURSOR: Execute row limit (<= 0: none) */
    int retried;         /* already re-prepared once after invalidation */
    int ignore_custom;   /* _ignore_custom_codec=True: the driver's own
                             catalog queries ignore set_type_codec */
    PyObject *stmt_name; /* prepare(name=...): bytes, or NULL */
    PyObject *sub;       /* the introspection coroutine being driven */
    int intro_rounds;    /* introspections run for this statement */
    double t_start;      /* monotonic start, when queries are logged */
    int counted;         /* counted in the protocol's queries_count */
    /* COPY (copy.c) */
    struct {
        uint8_t *buf; /* COPY TO: data received, not yet taken */
        size_t len, cap;
        int announce;    /* COPY FROM: CopyInResponse seen, not yet
                            reported to the caller (its await returns
                            True once) */
        int header;      /* binary COPY header written (records) */
        Py_ssize_t nrec; /* records encoded so far */
    } copy;
    /* executemany/fetchmany streaming (many.c) */
    PyObject *many_it;     /* iterator over the argument tuples */
    Py_ssize_t many_index; /* index of the next element of many_it */
    size_t many_mark;      /* write-buffer offset where the batch starts */
    int many_sent;         /* a first chunk was written (and pushed) */
    int many_open;         /* its chunks are pushed without a Sync: the
                             last one (with the Sync) is still to come */
    int many_savepoint;    /* the batch runs under our savepoint */
    int many_oneshot;      /* args is an iterator: never retried */
    int many_describe;     /* the next Bind is followed by Describe */
    int many_failed;       /* a client-side error ended the streamed batch:
                             its ReadyForQuery is awaited before raising */
};

/* protocol.c */
/* InterfaceError for a protocol whose tp_clear ran; returns -1. */
int pgw_proto_cleared_error(ProtocolObject *p);
int pgw_proto_flush(ProtocolObject *p);
/* Send a CancelRequest for op's request in flight (op->req_id). */
void pgw_proto_begin_cancel(ProtocolObject *p, OpObject *op);
/* Set the exception for a request the engine refused (status st,
 * p->conn.err_msg); returns -1. */
int pgw_proto_push_error(ProtocolObject *p, PgcStatus st);
/* Requests in flight (the engine's; 0 before startup ends). */
size_t pgw_proto_in_flight(ProtocolObject *p);
/* The op of the newest request in flight (borrowed), or NULL. */
OpObject *pgw_proto_tail_op(ProtocolObject *p);
/* 1 if every request in flight that is not abandoned is op's: a
 * CancelRequest can hit nobody else's work. */
int pgw_proto_op_alone(ProtocolObject *p, OpObject *op);
/* Requests pushed into a Sync group the server already failed (an
 * explicit batch) are skipped by the server without an answer: report
 * them done (ABORTED) now, with the events pending in the read buffer.
 * Does nothing otherwise, or inside the processing of received data. */
void pgw_proto_settle(ProtocolObject *p);
/* Let the ops waiting for their turn try again (in FIFO order). */
void pgw_proto_wake_waiters(ProtocolObject *p);
/* End the request being built: Sync, or inside a conn.pipeline() batch
 * sharing its Syncs a Flush (the result comes back; the Sync comes with
 * p.sync()).  PGC_OK or the builder's status. */
PgcStatus pgw_proto_req_end(ProtocolObject *p, PgcReqBuilder *b);
/* Answer a CopyInResponse nobody asked for with CopyFail (+ Sync under
 * the extended protocol); 0 or -1. */
int pgw_proto_refuse_copy_in(ProtocolObject *p);
void pgw_proto_fatal(ProtocolObject *p, PyObject *exc);
int pgw_proto_check_usable(ProtocolObject *p);
PyObject *pgw_proto_new_future(ProtocolObject *p);
int pgw_future_resolve(ModState *st, PyObject *fut);
/* Forget derived type codecs, keeping set_type_codec overrides
 * (Connection._reset_type_codecs). */
void pgw_proto_reset_types(ProtocolObject *p);
/* Pause or resume reading from the transport (COPY TO flow control). */
void pgw_proto_set_reading(ProtocolObject *p, int paused);
/* Bound the wait for the abandoned request's ReadyForQuery. */
int pgw_proto_arm_drain_timer(ProtocolObject *p);
/* Query text in the connection's client encoding: a pointer valid while
 * `query` and *owner live (*owner: a new reference or NULL), *n set.
 * `utf8` is the query's UTF-8 bytes when the caller has them, or NULL.
 * NULL with InterfaceError naming the encoding when the text has a
 * character the encoding lacks. */
const char *pgw_proto_query_text(ProtocolObject *p, PyObject *query,
                                 PyObject *utf8, Py_ssize_t *n,
                                 PyObject **owner);

/* The BufferedProtocol entry points as C functions (blocking.c feeds
 * received bytes through them without attribute lookups). */
PyObject *pgw_proto_get_buffer(ProtocolObject *p, PyObject *sizehint);
PyObject *pgw_proto_buffer_updated(ProtocolObject *p, PyObject *nbytes);

/* blocking.c: BlockingLoop, BlockingFuture, BlockingTransport */
int pgw_blocking_setup_types(PyObject *module, ModState *st);

/* stmt.c */
double pgw_monotonic(void); /* seconds, CLOCK_MONOTONIC */
int pgw_stmt_setup_types(PyObject *module, ModState *st);
StmtObject *pgw_stmt_new(ModState *st, PyObject *query, PyObject *name);
/* Cache lookup: a borrowed-turned-new reference, or NULL (no exception). */
StmtObject *pgw_cache_get(ProtocolObject *p, PyObject *query);
int pgw_cache_put(ProtocolObject *p, StmtObject *s);
int pgw_stmt_release(ProtocolObject *p, StmtObject *s);
/* Forget s wherever it is cached (its server statement closed lazily). */
int pgw_cache_forget(ProtocolObject *p, StmtObject *s);
StmtObject *pgw_unnamed_get(ProtocolObject *p, PyObject *query);
int pgw_unnamed_put(ProtocolObject *p, StmtObject *s);
/* 1 if a portal's RowDescription matches s's columns, 0 if not, -1 error */
int pgw_stmt_same_row_desc(StmtObject *s, PgcView body);
void pgw_cache_clear(ProtocolObject *p);
PyObject *pgw_stmt_next_name(ProtocolObject *p);
int pgw_stmt_on_param_desc(StmtObject *s, PgcView body);
int pgw_stmt_on_row_desc(StmtObject *s, const PgwCodecCtx *ctx, PgcView body);
int pgw_stmt_on_no_data(StmtObject *s);
/* Pick codecs for s's parameter and column types from the builtin table
 * and p->type_codecs.  Non-builtin oids without a codec are returned in
 * *missing (a new list), unless `force`, when they fall back to text.  0 or
 * -1. */
int pgw_stmt_resolve(ProtocolObject *p, StmtObject *s, int force,
                     PyObject **missing);
/* Set the exception for a failed frontend-message build; returns -1. */
int pgw_build_error(ProtocolObject *p, PgcStatus rc);
/* repr(o), cut to 80 characters (for error messages). */
PyObject *pgw_short_repr(PyObject *o);
/* The writers append messages to the open request of builder b (its
 * bytes go to p->wb with their expected answers registered, see
 * pgc_conn.h).  0, or -1 with an exception set: the caller aborts b (a
 * failed Bind leaves nothing of itself in b). */
/* [Close(S) of pending_closes] + Parse + Describe(S) + Sync for s. */
int pgw_stmt_write_prepare(ProtocolObject *p, StmtObject *s, PgcReqBuilder *b);
/* Bind only, to the given portal. */
int pgw_stmt_write_bind(ProtocolObject *p, StmtObject *s, PyObject *args,
                        PgcStr portal, int with_results, PgcReqBuilder *b);
/* Bind + [Describe(P)] + Execute for one set of arguments (no Sync). */
int pgw_stmt_write_bind_exec(ProtocolObject *p, StmtObject *s, PyObject *args,
                             int32_t max_rows, int with_results, int describe,
                             PgcReqBuilder *b);
/* [Close(S) of pending_closes] + Parse of the unnamed statement with s's
 * parameter types pinned. */
int pgw_stmt_write_reparse(ProtocolObject *p, StmtObject *s, PgcReqBuilder *b);
/* Close('P') for each queued exhausted-cursor portal (no Sync: they go
 * ahead of the request being built). */
int pgw_write_portal_closes(ProtocolObject *p, PgcReqBuilder *b);
PyObject *pgw_stmt_decode_row(StmtObject *s, const PgwCodecCtx *ctx,
                              PyObject *shape, PgcView body);

/* The most parameters a statement can have: Bind counts them in an Int16
 * the server reads as unsigned (libpq's limit too). */
#define PGW_MAX_QUERY_ARGS 65535
/* Set InterfaceError for nargs > PGW_MAX_QUERY_ARGS; returns -1. */
int pgw_too_many_args(ModState *st, Py_ssize_t nargs);

/* op.c */
int pgw_op_setup_types(PyObject *module, ModState *st);
PyObject *pgw_op_new(ConnCoreObject *conn, OpKind kind, PyObject *query,
                     PyObject *args, PyObject *record_class, PyObject *timeout,
                     Py_ssize_t column);
/* The engine's events for the op's request (see docs/ENGINE.md, "The
 * event contract"); none of them depends on asyncio: an op's wait ends
 * through pgw_op_wake only.  0, or -1 when the connection must close. */
/* PGC_EV_ROW (hot): decode into a Record. */
int pgw_op_on_row(OpObject *op, PgcView body);
/* Every other per-request event but REQ_DONE. */
int pgw_op_on_event(OpObject *op, const PgcEvent *ev);
/* PGC_EV_REQ_DONE of one of the op's requests (not abandoned). */
void pgw_op_on_done(OpObject *op, const PgcEvent *ev);
/* The connection is gone with the op's request in flight. */
void pgw_op_on_lost(OpObject *op, PyObject *exc);
void pgw_op_wake(OpObject *op);
/* The op pushed a request (the engine holds a reference to it now):
 * record its id; `first`: it starts the op's run of requests. */
void pgw_op_pushed(OpObject *op, uint64_t id, int first);

/* copy.c */
/* A COPY event (COPY_OUT_RESPONSE, COPY_DATA, COPY_DONE,
 * COPY_IN_RESPONSE) for a COPY op.  0 or -1. */
int pgw_copy_on_event(OpObject *op, const PgcEvent *ev);
/* What a COPY op's await returns before completion: a new reference (a
 * chunk, or True when COPY FROM is ready), NULL without an exception when
 * there is nothing yet, NULL with one on error. */
PyObject *pgw_copy_poll(OpObject *op);
/* Build the COPY request (Parse/Bind/Execute/Sync of the unnamed
 * statement) into b. */
int pgw_copy_send(OpObject *op, PgcReqBuilder *b);
/* The caller stopped waiting: CopyFail (COPY FROM in progress) or cancel
 * (COPY TO), the results drained in the background. */
void pgw_copy_abandon(OpObject *op);
void pgw_copy_free(OpObject *op);
/* Op methods (see copy.c) */
PyObject *pgw_copy_write(OpObject *op, PyObject *data);
PyObject *pgw_copy_write_records(OpObject *op, PyObject *it);
PyObject *pgw_copy_end(OpObject *op, PyObject *Py_UNUSED(a));

/* many.c */
/* Write the batch of an executemany/fetchmany op into the open request b
 * (after its Parse, if any): at once if it fits in one chunk, else in
 * chunks, one request each, under flow control (phase STREAM).  b is
 * committed or aborted; `describe`: Describe the portal with the first
 * Bind (its RowDescription is checked).  0 = written or streaming, -1 = error raised
 * before anything was sent. */
int pgw_many_send(OpObject *op, PgcReqBuilder *b, int describe);
/* Phase STREAM, woken: write more.  Same returns. */
int pgw_many_resume(OpObject *op);
/* The caller stops waiting while the batch streams: end it so the server
 * discards it (the Sync written; the results are then drained). */
void pgw_many_abandon(OpObject *op);
/* 1 if `tag` is the CommandComplete of the batch's own savepoint
 * commands. */
int pgw_many_own_tag(OpObject *op, PgcView tag);

/* conn.c */
int pgw_conn_setup_types(PyObject *module, ModState *st);

/* errors.c */
PyObject *pgw_error_from_msg(ModState *st, const PgwCodecCtx *ctx,
                             PgcView body, PyObject *query);
PyObject *pgw_fields_from_msg(const PgwCodecCtx *ctx, PgcView body);
PyObject *pgw_make_exc(PyObject *cls, const char *fmt, ...);
PyObject *pgw_fetch_exc(void);
void pgw_raise_caused(PyObject *cls, PyObject *msg, PyObject *cause);

/* paramstyle.c: paramstyle='pyformat' (%s, %(name)s -> $n) */
/* Convert s->query (a new statement of a pyformat connection): sets
 * s->query_utf8, s->pf_sql and s->pf_names.  0, or -1 with an
 * InterfaceError set (a bad placeholder, with its position). */
int pgw_paramstyle_apply(ProtocolObject *p, StmtObject *s);
/* The values of s->pf_names taken from args = (mapping,); new ref, or
 * NULL with an InterfaceError set (not one mapping, names missing;
 * extra keys are ignored, as psycopg does). */
PyObject *pgw_paramstyle_args(StmtObject *s, PyObject *args);
/* exc came from running `query` on a numeric ($n) connection: if the
 * query holds %s or %(name)s placeholders, set exc.hint (or, when the
 * server gave a hint, add a note) naming the paramstyle option.  Never fails (an
 * error while adding is dropped). */
void pgw_paramstyle_hint(ProtocolObject *p, PyObject *exc, PyObject *query);
/* The same for the exception currently set (a client-side error). */
void pgw_paramstyle_hint_pending(ProtocolObject *p, PyObject *query);
PyObject *pgw_paramstyle_set(PyObject *mod, PyObject *const *args,
                             Py_ssize_t nargs);
PyObject *pgw_paramstyle_count(PyObject *mod, PyObject *proto);
PyObject *pgw_paramstyle_convert(PyObject *mod, PyObject *const *args,
                                 Py_ssize_t nargs);
#define PGW_PARAMSTYLE_METHODS                                                \
    {"_set_paramstyle", (PyCFunction)(void (*)(void))pgw_paramstyle_set,      \
     METH_FASTCALL, "_set_paramstyle(protocol, 'numeric'|'pyformat')"},       \
        {"_paramstyle_conversions", pgw_paramstyle_count, METH_O,             \
         "Conversions a protocol has made (tests)."},                         \
        {"_convert_pyformat",                                                 \
         (PyCFunction)(void (*)(void))pgw_paramstyle_convert, METH_FASTCALL,  \
         "_convert_pyformat(query, standard_strings=True) -> (text, names)\n" \
         "(names: None for %s, a tuple for %(name)s)."},

#endif /* PGW_PROTO_H */
