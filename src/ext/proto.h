/* proto.h -- internal structures of the asyncio protocol, the connection
 * core, the per-call awaitable (Op) and prepared-statement state.
 *
 * Ownership: ConnectionCore -> Protocol (strong); Protocol -> Connection
 * (weak reference only, so dropping an unclosed connection frees it at once
 * and its finalizer can warn); Protocol -> current Op (strong while its
 * request is on the wire); Op -> Protocol, Statement (strong).
 */
#ifndef PGW_PROTO_H
#define PGW_PROTO_H

#include "ext.h"
#include "record.h"
#include "rows.h"
#include "../core/pgc_build.h"
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
    PyObject *name;   /* bytes; b"" for the unnamed statement */
    PyObject *query;  /* str */
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
    int16_t *col_formats;         /* col_decoders' formats */
    uint16_t ncol_formats;   /* 1 if all the same */
    PgcCol *cols;            /* scratch for DataRow parsing */
    PyObject *names;  /* tuple of column names (str) */
    PyObject *desc;   /* RecordDesc */
    PyObject *attrs;  /* list of (name, type_oid) or NULL */
    PyObject *codec_refs; /* list of the Codec objects our codecs belong to */
    int described;    /* ParameterDescription/RowDescription seen */
    int explicit_;    /* made by prepare(): not re-prepared behind its back */
    int wrappers;     /* live PreparedStatement objects using it */
    int ignore_custom; /* resolved without user codec overrides */
    PyObject *last_status; /* str: tag of the last execution, or NULL */
    int in_cache;
    int closed;
    double created_at; /* monotonic seconds */
    size_t footprint; /* bytes it holds (query text, description), counted
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
    size_t granted;  /* bytes get_buffer offered; buffer_updated may commit
                        at most that many */
    int processing;  /* inside process_messages: views into rd are live */

    /* startup */
    PgcStartup su;
    PyObject *su_user, *su_nonce;             /* bytes */
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
    uint8_t tx_status;
    PyObject *settings; /* dict str -> str */
    /* The codec context of this connection: a copy of the module state's
     * (its objects are borrowed: the module outlives the protocol, whose
     * type it owns) whose enc follows the server's client_encoding
     * ParameterStatus.  Every text encode and decode of the connection
     * goes through it. */
    PgwCodecCtx codec;
    char client_encoding[32]; /* as the server reported them ("" until */
    char server_encoding[32]; /* then), for codec.converts */

    /* requests: at most one in flight (pipelining comes later) */
    OpObject *cur;        /* strong */
    int cur_discard;      /* the current request's results are dropped */
    Py_ssize_t bind_seqno; /* executemany: index of the argument sequence
                              being encoded (error messages), else -1 */
    CancelState cancel;
    OpObject *drain_waiter; /* strong: the op waiting for the drain */
    PyObject *drain_timer;

    /* statement cache (LRU: head = most recent) */
    PyObject *stmt_cache; /* dict query -> Statement */
    StmtObject *lru_head, *lru_tail;
    Py_ssize_t cache_size, cache_max;
    double cache_lifetime;     /* seconds, 0 = forever */
    Py_ssize_t cache_max_query; /* bytes of query text, 0 = unlimited */
    size_t cache_bytes;        /* footprints of the cached statements */
    uint64_t stmt_counter;
    PyObject *stmt_prefix; /* bytes: random per connection, so names never
                              collide on a server connection shared through
                              a pooler */
    PyObject *pending_closes; /* list of statement names (bytes) */
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
    int reading_paused;   /* by a COPY TO consumer that is behind */
    PyObject *writable_fut; /* resolved by resume_writing */
    PyObject *query_log;  /* Connection._log_query while query loggers are
                             registered, else NULL */
    uint64_t queries_count; /* requests started: max_queries of pools,
                               and the pool's reset (any request since a
                               connection was handed out means reset) */
    int aborted;
    int cleared;  /* tp_clear ran (the cyclic GC breaking a cycle): the
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
    OP_CURSOR,    /* Bind to a named portal and/or Execute it (row limit) */
    OP_COPY_OUT,  /* COPY ... TO STDOUT: each await returns the next chunk */
    OP_COPY_IN,   /* COPY ... FROM STDIN: data written with _copy_* */
} OpKind;

#define PGW_OP_IS_COPY(op) ((op)->kind >= OP_COPY_OUT)

typedef enum {
    PH_INIT = 0,
    PH_WAIT_DRAIN,
    PH_WAIT_PREPARE,
    PH_WAIT_SUB,      /* driving Connection._introspect_types(oids) */
    PH_WAIT_RESULT,
    PH_STREAM,        /* executemany: chunks written, waiting for the
                         transport to take more (many.c) */
    PH_DONE,
} OpPhase;

struct OpObject {
    PyObject_HEAD
    ModState *st;
    ProtocolObject *proto;
    OpKind kind;
    OpPhase phase;
    PyObject *query;      /* str */
    PyObject *args;       /* tuple (or the sequence of tuples for *many) */
    PyObject *record_class; /* a Record subclass, or a row factory */
    Py_ssize_t column;    /* fetchval */
    PyObject *column_name; /* fetchval(column='name'): str, or NULL */
    StmtObject *held_stmt; /* a PreparedStatement's statement this op
                              counts as a user of (wrappers), or NULL */
    int fresh;            /* OP_PREPARE: parse afresh, keep out of the
                             statement cache (Connection.prepare()) */
    double timeout;       /* < 0: none */
    PyObject *fut;        /* the future being waited on */
    int armed;            /* fut is ours (op_yield) and not yet resolved by
                             pgw_op_wake: a send now is not its awaiter
                             resuming (a second awaiter) */
    int awaiting;         /* __await__ was called and that await has not
                             finished: a second await is refused */
    PyObject *timer;      /* TimerHandle or NULL */
    StmtObject *stmt;
    PyObject *rows;       /* list */
    PyObject *status;     /* str: last CommandComplete tag */
    PyObject *error;      /* exception instance, or NULL */
    PyObject *pending_exc; /* raised at the first step */
    int request_done;     /* ReadyForQuery of the current request seen */
    int simple;           /* simple-query protocol */
    int want_rows;
    int preset_stmt;      /* executing a PreparedStatement's statement */
    PyObject *portal;     /* OP_CURSOR: portal name (bytes) */
    int cursor_bind;      /* OP_CURSOR: Bind the portal first */
    int32_t max_rows;     /* OP_CURSOR: Execute row limit (<= 0: none) */
    int retried;          /* already re-prepared once after invalidation */
    int check_desc;       /* verify the portal's RowDescription (unnamed) */
    int ignore_custom;    /* _ignore_custom_codec=True: the driver's own
                             catalog queries ignore set_type_codec */
    PyObject *stmt_name;  /* prepare(name=...): bytes, or NULL */
    PyObject *sub;        /* the introspection coroutine being driven */
    int intro_rounds;     /* introspections run for this statement */
    double t_start;       /* monotonic start, when queries are logged */
    int counted;          /* counted in the protocol's queries_count */
    /* COPY (copy.c) */
    struct {
        uint8_t *buf;    /* COPY TO: data received, not yet taken */
        size_t len, cap;
        int ready;       /* COPY FROM: CopyInResponse seen */
        int told;        /* ... and reported to the caller */
        int ended;       /* CopyDone or CopyFail sent */
        int header;      /* binary COPY header written (records) */
        Py_ssize_t nrec; /* records encoded so far */
    } copy;
    /* executemany/fetchmany streaming (many.c) */
    PyObject *many_it;    /* iterator over the argument tuples */
    Py_ssize_t many_index; /* index of the next element of many_it */
    size_t many_mark;     /* write-buffer offset where the batch starts */
    int many_sent;        /* a first chunk was written */
    int many_savepoint;   /* the batch runs under our savepoint */
    int many_oneshot;     /* args is an iterator: never retried */
    int many_describe;    /* the next Bind is followed by Describe */
    int many_failed;      /* a client-side error ended the streamed batch:
                             its ReadyForQuery is awaited before raising */
};

/* protocol.c */
/* InterfaceError for a protocol whose tp_clear ran; returns -1. */
int pgw_proto_cleared_error(ProtocolObject *p);
int pgw_proto_flush(ProtocolObject *p);
void pgw_proto_begin_cancel(ProtocolObject *p);
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
int pgw_stmt_on_row_desc(StmtObject *s, const PgwCodecCtx *ctx,
                         PgcView body);
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
/* Write Parse + Describe(S) + Sync for s. */
int pgw_stmt_write_prepare(ProtocolObject *p, StmtObject *s);
/* Bind only, to the given portal. */
int pgw_stmt_write_bind(ProtocolObject *p, StmtObject *s, PyObject *args,
                        PgcStr portal, int with_results);
/* Write Bind + Execute for one set of arguments (no Sync). */
int pgw_stmt_write_bind_exec(ProtocolObject *p, StmtObject *s, PyObject *args,
                             int32_t max_rows, int with_results,
                             int describe);
/* Parse of the unnamed statement with s's parameter types pinned. */
int pgw_stmt_write_reparse(ProtocolObject *p, StmtObject *s);
/* Close('P') for each queued exhausted-cursor portal (no Sync: they go
 * ahead of the request being written). */
int pgw_write_portal_closes(ProtocolObject *p);
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
                     PyObject *args, PyObject *record_class,
                     PyObject *timeout, Py_ssize_t column);
/* Called by the protocol when a message for the op's request arrives. */
int pgw_op_on_message(OpObject *op, const PgcMsg *m);
/* ReadyForQuery for the op's request. */
void pgw_op_on_ready(OpObject *op);
/* The connection is gone. */
void pgw_op_on_lost(OpObject *op, PyObject *exc);
void pgw_op_wake(OpObject *op);
/* Answer a CopyInResponse nobody asked for with CopyFail (+ Sync). */
int pgw_op_refuse_copy_in(OpObject *op);

/* copy.c */
/* A COPY op's message: 1 = not a COPY message (handle normally), 0 done,
 * -1 error. */
int pgw_copy_on_message(OpObject *op, const PgcMsg *m);
/* What a COPY op's await returns before completion: a new reference (a
 * chunk, or True when COPY FROM is ready), NULL without an exception when
 * there is nothing yet, NULL with one on error. */
PyObject *pgw_copy_poll(OpObject *op);
/* Write the COPY request (Parse/Bind/Execute/Sync of the unnamed
 * statement). */
int pgw_copy_send(OpObject *op);
/* The caller stopped waiting: CopyFail (COPY FROM in progress) or cancel
 * (COPY TO), the results drained in the background. */
void pgw_copy_abandon(OpObject *op);
void pgw_copy_free(OpObject *op);
/* Op methods (see copy.c) */
PyObject *pgw_copy_write(OpObject *op, PyObject *data);
PyObject *pgw_copy_write_records(OpObject *op, PyObject *it);
PyObject *pgw_copy_end(OpObject *op, PyObject *Py_UNUSED(a));

/* many.c */
/* Write the batch of an executemany/fetchmany op from `mark` (after its
 * Parse, if any): at once if it fits in one chunk, else in chunks under
 * flow control (phase STREAM).  0 = written or streaming, -1 = error
 * raised before anything was sent. */
int pgw_many_send(OpObject *op, size_t mark);
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
#define PGW_PARAMSTYLE_METHODS                                              \
    {"_set_paramstyle", (PyCFunction)(void (*)(void))pgw_paramstyle_set,   \
     METH_FASTCALL, "_set_paramstyle(protocol, 'numeric'|'pyformat')"},    \
    {"_paramstyle_conversions", pgw_paramstyle_count, METH_O,              \
     "Conversions a protocol has made (tests)."},                         \
    {"_convert_pyformat",                                                  \
     (PyCFunction)(void (*)(void))pgw_paramstyle_convert, METH_FASTCALL,  \
     "_convert_pyformat(query, standard_strings=True) -> (text, names)\n" \
     "(names: None for %s, a tuple for %(name)s)."},

#endif /* PGW_PROTO_H */
