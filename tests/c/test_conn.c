/* test_conn.c -- the request engine (pgc_conn): every request kind the
 * binding uses, fed at every split point and in 1..n byte chunks, with
 * errors in every position, async messages at every position, abandoned
 * requests, out-of-order messages and the frontend checks.
 *
 * Server streams are written in a small notation (srv_build):
 *   1 2 3 n I s c        ParseComplete BindComplete CloseComplete NoData
 *                        EmptyQueryResponse PortalSuspended CopyDone
 *   t  T                 ParameterDescription (1 param) / RowDescription
 *   D:x  C:tag  d:x      DataRow (one text column) / CommandComplete
 *                        ('_' is a space) / CopyData
 *   Z:I Z:T Z:E          ReadyForQuery
 *   E  N  A:ch  S:k=v    ErrorResponse / NoticeResponse / Notification /
 *                        ParameterStatus
 *   H  G  W  K           CopyOut/CopyIn/CopyBothResponse, BackendKeyData
 * Transcripts name one event per word (see ev_text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "../../src/core/pgc_conn.h"

#define S(lit) ((PgcStr){(lit), sizeof(lit) - 1})
#define MAX_IDS 64

/* ------------------------------------------------------------------ */
/* Server streams                                                      */
/* ------------------------------------------------------------------ */

static void
srv_token(PgcWBuf *b, const char *tok, size_t n)
{
    char arg[64] = "";
    uint8_t type = (uint8_t)tok[0];
    if (n > 2 && tok[1] == ':') {
        size_t k = n - 2 < sizeof(arg) - 1 ? n - 2 : sizeof(arg) - 1;
        memcpy(arg, tok + 2, k);
        arg[k] = 0;
        for (size_t i = 0; i < k; i++) {
            arg[i] = arg[i] == '_' ? ' ' : arg[i];
        }
    }
    switch (type) {
    case 't':
        be_begin(b, type);
        be_i16(b, 1);
        be_i32(b, 23);
        be_end(b);
        break;
    case 'T':
        be_begin(b, type);
        be_i16(b, 1);
        be_str(b, "a");
        be_i32(b, 0);
        be_i16(b, 0);
        be_i32(b, 25);
        be_i16(b, -1);
        be_i32(b, -1);
        be_i16(b, 0);
        be_end(b);
        break;
    case 'D':
        be_begin(b, type);
        be_i16(b, 1);
        be_i32(b, (int32_t)strlen(arg));
        be_bytes(b, arg, strlen(arg));
        be_end(b);
        break;
    case 'C':
        be_begin(b, type);
        be_str(b, arg);
        be_end(b);
        break;
    case 'd':
        be_begin(b, type);
        be_bytes(b, arg, strlen(arg));
        be_end(b);
        break;
    case 'Z':
        be_ready(b, (uint8_t)arg[0]);
        break;
    case 'E':
    case 'N':
        be_error(b, type, "42P01", "boom");
        break;
    case 'A':
        be_begin(b, type);
        be_i32(b, 77);
        be_str(b, arg);
        be_str(b, "payload");
        be_end(b);
        break;
    case 'S': {
        char *eq = strchr(arg, '=');
        if (eq != NULL) {
            *eq = 0;
        }
        be_param(b, arg, eq ? eq + 1 : "");
        break;
    }
    case 'H':
    case 'G':
    case 'W':
        be_begin(b, type);
        be_u8(b, 0);
        be_i16(b, 1);
        be_i16(b, 0);
        be_end(b);
        break;
    case 'K':
        be_begin(b, type);
        be_i32(b, 1);
        be_i32(b, 2);
        be_end(b);
        break;
    default: /* empty bodies */
        be_begin(b, type);
        be_end(b);
        break;
    }
}

/* Append the messages of a notation string. */
static void
srv_build(PgcWBuf *b, const char *spec)
{
    const char *p = spec;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        const char *e = p;
        while (*e && *e != ' ') {
            e++;
        }
        if (e > p) {
            srv_token(b, p, (size_t)(e - p));
        }
        p = e;
    }
}

/* Offsets of the message starts in a stream (at most max). */
static size_t
msg_offsets(const PgcWBuf *b, size_t *off, size_t max)
{
    size_t n = 0, pos = 0;
    while (pos + 5 <= b->len && n < max) {
        off[n++] = pos;
        pos += 1 + pgc_load_u32(b->data + pos + 1);
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* The driver                                                          */
/* ------------------------------------------------------------------ */

typedef void (*SetupFn)(PgcConn *c, PgcWBuf *fe);

typedef struct {
    PgcConn c;
    PgcReader rd;
    PgcWBuf fe;
    DumpText text;
    int pushed[MAX_IDS]; /* ids pushed by the setup */
    int done[MAX_IDS];   /* REQ_DONE count per id */
    PgcReqStatus status[MAX_IDS];
    int late_events; /* events for a request not in flight */
    int lost;        /* popped by pop_lost */
    int slow_copy;   /* do not answer CopyInResponse */
    PgcStatus final;
} Run;

static void
ev_text(Run *r, const PgcEvent *ev)
{
    char buf[160];
    const char *name = pgc_event_name(ev->type);
    DumpText *t = &r->text;
    if (t->len) {
        dump_text_str(t, " ");
    }
    dump_text_str(t, name);
    if (ev->req_id) {
        snprintf(buf, sizeof(buf), "#%llu", (unsigned long long)ev->req_id);
        dump_text_str(t, buf);
    }
    switch (ev->type) {
    case PGC_EV_ROW: {
        PgcCol col;
        if (pgc_parse_data_row(ev->body, 1, &col) == PGC_OK && col.len > 0) {
            dump_text_str(t, "(");
            dump_text_view(t, col.p, (size_t)col.len);
            dump_text_str(t, ")");
        }
        break;
    }
    case PGC_EV_COMMAND_COMPLETE:
        dump_text_str(t, "(");
        dump_text_view(t, ev->u.tag.p, ev->u.tag.n);
        dump_text_str(t, ")");
        break;
    case PGC_EV_COPY_DATA:
        dump_text_str(t, "(");
        dump_text_view(t, ev->body.p, ev->body.n);
        dump_text_str(t, ")");
        break;
    case PGC_EV_READY:
        snprintf(buf, sizeof(buf), "(%c)", ev->u.tx_status);
        dump_text_str(t, buf);
        break;
    case PGC_EV_REQ_DONE:
        snprintf(buf, sizeof(buf), "(%s%s)",
                 ev->u.done.status == PGC_REQ_OK       ? "OK"
                 : ev->u.done.status == PGC_REQ_FAILED ? "FAILED"
                                                       : "ABORTED",
                 ev->abandoned ? ",abandoned" : "");
        dump_text_str(t, buf);
        break;
    case PGC_EV_NOTIFY:
        dump_text_str(t, "(");
        dump_text_view(t, ev->u.notify.channel.p, ev->u.notify.channel.n);
        dump_text_str(t, ")");
        break;
    case PGC_EV_PARAM_STATUS:
        dump_text_str(t, "(");
        dump_text_view(t, ev->u.param.name.p, ev->u.param.name.n);
        dump_text_str(t, "=");
        dump_text_view(t, ev->u.param.value.p, ev->u.param.value.n);
        dump_text_str(t, ")");
        break;
    default:
        break;
    }
}

/* What a binding does: answer COPY FROM STDIN, keep the books. */
static void
on_event(Run *r, const PgcEvent *ev)
{
    static const PgcStr why = {"abandoned", 9};
    if (ev->req_id) {
        if (ev->req_id >= MAX_IDS || !r->pushed[ev->req_id] ||
            r->done[ev->req_id]) {
            r->late_events++;
        }
    }
    if (ev->type == PGC_EV_REQ_DONE && ev->req_id < MAX_IDS) {
        r->done[ev->req_id]++;
        r->status[ev->req_id] = ev->u.done.status;
    }
    if (ev->type == PGC_EV_COPY_IN_RESPONSE && !r->slow_copy) {
        if (ev->abandoned) {
            CHECK_EQ(pgc_conn_copy_fail(&r->c, &r->fe, why), PGC_OK);
        }
        else {
            CHECK_EQ(pgc_conn_copy_data(&r->c, &r->fe, (const uint8_t *)"1\n",
                                        2),
                     PGC_OK);
            CHECK_EQ(pgc_conn_copy_done(&r->c, &r->fe), PGC_OK);
        }
    }
    if (ev->type == PGC_EV_ERROR &&
        pgc_conn_copy_in_state(&r->c) == PGC_COPYIN_END_REQUIRED) {
        CHECK_EQ(pgc_conn_copy_done(&r->c, &r->fe), PGC_OK);
    }
}

static void
drain(Run *r)
{
    PgcEvent ev;
    for (;;) {
        PgcStatus st = pgc_conn_next(&r->c, &r->rd, &ev);
        if (st == PGC_NEED_MORE) {
            return;
        }
        if (st != PGC_OK) {
            if (r->final == PGC_OK) {
                dump_text_str(&r->text, r->text.len ? " " : "");
                dump_text_str(&r->text, "FAIL: ");
                dump_text_str(&r->text, r->c.err_msg);
            }
            r->final = st;
            return;
        }
        ev_text(r, &ev);
        on_event(r, &ev);
    }
}

static void
run_init(Run *r, SetupFn setup, const PgcConnLimits *lim)
{
    memset(r, 0, sizeof(*r));
    pgc_conn_init(&r->c, PGC_TX_IDLE, lim);
    /* a small reader: growth and compaction on the way */
    if (pgc_reader_init(&r->rd, 16) != PGC_OK) {
        abort();
    }
    pgc_wbuf_init(&r->fe);
    dump_text_init(&r->text);
    setup(&r->c, &r->fe);
    for (uint64_t id = 1; id < r->c.next_id && id < MAX_IDS; id++) {
        r->pushed[id] = 1;
    }
}

static void
run_free(Run *r)
{
    pgc_conn_free(&r->c);
    pgc_reader_free(&r->rd);
    pgc_wbuf_free(&r->fe);
    dump_text_free(&r->text);
}

/* Feed srv in pieces ending at cuts[0..ncut) (the last is n). */
static void
run_feed(Run *r, const uint8_t *srv, const size_t *cuts, size_t ncut)
{
    size_t pos = 0;
    for (size_t i = 0; i < ncut; i++) {
        if (cuts[i] > pos) {
            CHECK_EQ(pgc_reader_feed(&r->rd, srv + pos, cuts[i] - pos),
                     PGC_OK);
            pos = cuts[i];
        }
        drain(r);
    }
}

/* Every request pushed completed exactly once, or the engine failed and
 * pop_lost returned each of the rest exactly once. */
static void
run_check_books(Run *r)
{
    uint64_t id;
    void *user;
    if (r->final != PGC_OK) {
        while (pgc_conn_pop_lost(&r->c, &id, &user)) {
            if (id < MAX_IDS) {
                r->done[id]++;
            }
        }
    }
    CHECK_EQ(r->late_events, 0);
    for (size_t i = 1; i < MAX_IDS; i++) {
        if (r->pushed[i] && r->final == PGC_OK) {
            CHECK_EQ(r->done[i], 1);
        }
        else if (r->pushed[i]) {
            CHECK(r->done[i] <= 1);
        }
    }
}

static size_t g_runs;

static char *
dup_text(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL) {
        abort();
    }
    if (n) {
        memcpy(s, p, n);
    }
    s[n] = 0;
    return s;
}

/* The transcript of srv fed at once; then checks that every split point
 * and every chunk size from 1 to 7, and n, give the same. */
static char *
transcript_all_splits(SetupFn setup, const PgcConnLimits *lim,
                      const PgcWBuf *srv, PgcStatus *final)
{
    Run r;
    size_t n = srv->len;
    size_t whole[1] = {n};
    run_init(&r, setup, lim);
    run_feed(&r, srv->data, whole, 1);
    run_check_books(&r);
    char *ref = dup_text(r.text.p ? r.text.p : "", r.text.len);
    *final = r.final;
    run_free(&r);
    g_runs++;

    for (size_t i = 0; i <= n; i++) {
        size_t cuts[2] = {i, n};
        run_init(&r, setup, lim);
        run_feed(&r, srv->data, cuts, 2);
        run_check_books(&r);
        CHECK_STR(r.text.p ? r.text.p : "", ref);
        run_free(&r);
        g_runs++;
    }
    for (size_t k = 1; k <= 8; k++) {
        size_t *cuts = malloc((n / k + 2) * sizeof(size_t));
        size_t nc = 0;
        for (size_t p = k; p < n; p += k) {
            cuts[nc++] = p;
        }
        cuts[nc++] = n;
        run_init(&r, setup, lim);
        run_feed(&r, srv->data, cuts, nc);
        run_check_books(&r);
        CHECK_STR(r.text.p ? r.text.p : "", ref);
        run_free(&r);
        free(cuts);
        g_runs++;
    }
    return ref;
}

static void
expect_stream(SetupFn setup, const char *spec, const char *want)
{
    PgcWBuf srv;
    PgcStatus final;
    pgc_wbuf_init(&srv);
    srv_build(&srv, spec);
    char *got = transcript_all_splits(setup, NULL, &srv, &final);
    CHECK_STR(got, want);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "    stream: %s\n", spec);
    }
    free(got);
    pgc_wbuf_free(&srv);
}

/* ------------------------------------------------------------------ */
/* Request setups (what the binding pushes)                            */
/* ------------------------------------------------------------------ */

static void
must_ok(PgcConn *c, PgcStatus st)
{
    if (st != PGC_OK) {
        fprintf(stderr, "setup push failed: %d %s\n", (int)st, c->err_msg);
        abort();
    }
}

static void
push_simple(PgcConn *c, PgcWBuf *fe, PgcStr sql, unsigned flags)
{
    must_ok(c, pgc_conn_push_simple(c, fe, sql, flags, NULL, NULL));
}

/* prepare(): Parse + Describe(S) + Sync (named statement) */
static void
push_prepare(PgcConn *c, PgcWBuf *fe)
{
    PgcExtSpec s = {0};
    s.parse = 1;
    s.stmt_name = S("s1");
    s.sql = S("SELECT $1");
    s.describe_stmt = 1;
    s.sync = 1;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

/* a cached statement: Bind + Execute + Sync (sync: 0 shares the next) */
static void
push_exec(PgcConn *c, PgcWBuf *fe, int sync)
{
    static const int16_t bin = 1;
    PgcExtSpec s = {0};
    s.stmt_name = S("s1");
    s.nexec = 1;
    s.nparams = 1;
    s.nparam_fmt = 1;
    s.param_fmts = &bin;
    s.sync = sync;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

/* statement_cache_size=0 / unnamed: Parse + Bind + Describe(P) + Execute
 * + Sync */
static void
push_unnamed(PgcConn *c, PgcWBuf *fe)
{
    PgcExtSpec s = {0};
    s.parse = 1;
    s.sql = S("SELECT 1");
    s.nexec = 1;
    s.describe_portal = 1;
    s.sync = 1;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

/* executemany of 3: Parse + 3 x (Bind + Execute) + Sync */
static void
push_many(PgcConn *c, PgcWBuf *fe)
{
    PgcExtSpec s = {0};
    s.parse = 1;
    s.sql = S("INSERT INTO t VALUES ($1)");
    s.nexec = 3;
    s.nparams = 1;
    s.sync = 1;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

/* Close of a dropped statement, then prepare */
static void
push_close_prepare(PgcConn *c, PgcWBuf *fe)
{
    static const PgcStr closes[1] = {{"old", 3}};
    PgcExtSpec s = {0};
    s.close_names = closes;
    s.nclose = 1;
    s.parse = 1;
    s.stmt_name = S("s2");
    s.sql = S("CREATE TABLE x ()");
    s.describe_stmt = 1;
    s.sync = 1;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

/* a cursor: Bind to portal c1 + Execute(max 2) + Sync */
static void
push_cursor(PgcConn *c, PgcWBuf *fe)
{
    PgcExtSpec s = {0};
    s.stmt_name = S("s1");
    s.portal = S("c1");
    s.nexec = 1;
    s.max_rows = 2;
    s.sync = 1;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

/* the cursor's next fetch: Execute(c1, 2) + Sync, with the builder */
static void
push_cursor_next(PgcConn *c, PgcWBuf *fe)
{
    PgcReqBuilder b;
    must_ok(c, pgc_req_begin(c, fe, 0, NULL, &b));
    must_ok(c, pgc_req_execute(&b, S("c1"), 2));
    must_ok(c, pgc_req_sync(&b));
    must_ok(c, pgc_req_commit(&b, NULL));
}

/* COPY through the extended protocol: Parse + Bind + Execute + Sync */
static void
push_copy(PgcConn *c, PgcWBuf *fe, unsigned flags)
{
    PgcExtSpec s = {0};
    s.parse = 1;
    s.sql = S("COPY t FROM STDIN");
    s.nexec = 1;
    s.sync = 1;
    s.flags = flags;
    must_ok(c, pgc_conn_push_extended(c, fe, &s, NULL));
}

static void
setup_simple(PgcConn *c, PgcWBuf *fe)
{
    push_simple(c, fe, S("SELECT 1"), 0);
}

static void
setup_prepare(PgcConn *c, PgcWBuf *fe)
{
    push_prepare(c, fe);
}

static void
setup_exec(PgcConn *c, PgcWBuf *fe)
{
    push_exec(c, fe, 1);
}

static void
setup_unnamed(PgcConn *c, PgcWBuf *fe)
{
    push_unnamed(c, fe);
}

static void
setup_many(PgcConn *c, PgcWBuf *fe)
{
    push_many(c, fe);
}

static void
setup_close_prepare(PgcConn *c, PgcWBuf *fe)
{
    push_close_prepare(c, fe);
}

static void
setup_cursor(PgcConn *c, PgcWBuf *fe)
{
    push_cursor(c, fe);
    push_cursor_next(c, fe);
}

static void
setup_copy_in(PgcConn *c, PgcWBuf *fe)
{
    push_copy(c, fe, PGC_REQ_F_COPY_IN);
}

static void
setup_copy_out(PgcConn *c, PgcWBuf *fe)
{
    push_copy(c, fe, 0);
}

/* an explicit batch: two executes sharing one Sync, then a group of its
 * own */
static void
setup_batch(PgcConn *c, PgcWBuf *fe)
{
    push_exec(c, fe, 0);
    push_exec(c, fe, 0);
    must_ok(c, pgc_conn_push_sync(c, fe, NULL, NULL));
    push_exec(c, fe, 1);
}

/* the pool reset pipelined with the next user's first query, then more
 * groups in flight */
static void
setup_pipeline(PgcConn *c, PgcWBuf *fe)
{
    push_simple(c, fe, S("CLOSE ALL; RESET ALL"), PGC_REQ_F_NO_COPY);
    push_unnamed(c, fe);
    push_prepare(c, fe);
    push_exec(c, fe, 1);
    push_simple(c, fe, S("SELECT 1; SELECT 2"), 0);
}

static void
setup_abandon(PgcConn *c, PgcWBuf *fe)
{
    push_exec(c, fe, 1);
    push_exec(c, fe, 1);
    push_exec(c, fe, 1);
    must_ok(c, pgc_conn_abandon(c, 2));
}

static void
test_active(void)
{
    PgcConn c;
    PgcWBuf fe;
    pgc_wbuf_init(&fe);
    pgc_conn_init(&c, 0, NULL);
    setup_abandon(&c, &fe);
    CHECK_EQ(pgc_conn_in_flight(&c), 3);
    CHECK_EQ(pgc_conn_active(&c), 2);
    pgc_conn_free(&c);
    pgc_wbuf_free(&fe);
}

static void
setup_abandon_copy(PgcConn *c, PgcWBuf *fe)
{
    push_copy(c, fe, PGC_REQ_F_COPY_IN);
    must_ok(c, pgc_conn_abandon(c, 1));
}

static void
setup_nothing(PgcConn *c, PgcWBuf *fe)
{
    (void)c;
    (void)fe;
}

/* ------------------------------------------------------------------ */
/* The cases                                                           */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    SetupFn setup;
    const char *stream;
    const char *want;
} Case;

static const Case cases[] = {
    {"simple", setup_simple, "T D:1 C:SELECT_1 Z:I",
     "ROW_DESC#1 ROW#1(1) COMMAND_COMPLETE#1(SELECT 1) READY#1(I) "
     "REQ_DONE#1(OK)"},
    {"simple multi", setup_simple,
     "T D:1 C:SELECT_1 T D:2 D:3 C:SELECT_2 C:SET T C:SELECT_0 Z:T",
     "ROW_DESC#1 ROW#1(1) COMMAND_COMPLETE#1(SELECT 1) ROW_DESC#1 ROW#1(2) "
     "ROW#1(3) COMMAND_COMPLETE#1(SELECT 2) COMMAND_COMPLETE#1(SET) "
     "ROW_DESC#1 COMMAND_COMPLETE#1(SELECT 0) READY#1(T) REQ_DONE#1(OK)"},
    {"simple empty", setup_simple, "I Z:I",
     "EMPTY_QUERY#1 READY#1(I) REQ_DONE#1(OK)"},
    {"simple error", setup_simple, "T D:1 E Z:E",
     "ROW_DESC#1 ROW#1(1) ERROR#1 READY#1(E) REQ_DONE#1(FAILED)"},
    {"simple copy out", setup_simple, "H d:a d:b c C:COPY_2 Z:I",
     "COPY_OUT_RESPONSE#1 COPY_DATA#1(a) COPY_DATA#1(b) COPY_DONE#1 "
     "COMMAND_COMPLETE#1(COPY 2) READY#1(I) REQ_DONE#1(OK)"},
    {"simple copy in", setup_simple, "G C:COPY_1 Z:I",
     "COPY_IN_RESPONSE#1 COMMAND_COMPLETE#1(COPY 1) READY#1(I) "
     "REQ_DONE#1(OK)"},
    {"prepare", setup_prepare, "1 t T Z:I",
     "PARSE_COMPLETE#1 PARAM_DESC#1 ROW_DESC#1 READY#1(I) REQ_DONE#1(OK)"},
    {"prepare nodata", setup_prepare, "1 t n Z:I",
     "PARSE_COMPLETE#1 PARAM_DESC#1 NO_DATA#1 READY#1(I) REQ_DONE#1(OK)"},
    {"exec", setup_exec, "2 D:x D:y C:SELECT_2 Z:I",
     "BIND_COMPLETE#1 ROW#1(x) ROW#1(y) COMMAND_COMPLETE#1(SELECT 2) "
     "READY#1(I) REQ_DONE#1(OK)"},
    {"exec empty query", setup_exec, "2 I Z:I",
     "BIND_COMPLETE#1 EMPTY_QUERY#1 READY#1(I) REQ_DONE#1(OK)"},
    {"unnamed", setup_unnamed, "1 2 T D:1 C:SELECT_1 Z:I",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 ROW_DESC#1 ROW#1(1) "
     "COMMAND_COMPLETE#1(SELECT 1) READY#1(I) REQ_DONE#1(OK)"},
    {"executemany", setup_many,
     "1 2 C:INSERT_0_1 2 C:INSERT_0_1 2 C:INSERT_0_1 Z:I",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 COMMAND_COMPLETE#1(INSERT 0 1) "
     "BIND_COMPLETE#1 COMMAND_COMPLETE#1(INSERT 0 1) BIND_COMPLETE#1 "
     "COMMAND_COMPLETE#1(INSERT 0 1) READY#1(I) REQ_DONE#1(OK)"},
    {"close+prepare", setup_close_prepare, "3 1 t n Z:I",
     "CLOSE_COMPLETE#1 PARSE_COMPLETE#1 PARAM_DESC#1 NO_DATA#1 READY#1(I) "
     "REQ_DONE#1(OK)"},
    {"cursor", setup_cursor, "2 D:1 D:2 s Z:T D:3 C:SELECT_1 Z:T",
     "BIND_COMPLETE#1 ROW#1(1) ROW#1(2) PORTAL_SUSPENDED#1 READY#1(T) "
     "REQ_DONE#1(OK) ROW#2(3) COMMAND_COMPLETE#2(SELECT 1) READY#2(T) "
     "REQ_DONE#2(OK)"},
    {"copy in", setup_copy_in, "1 2 G C:COPY_1 Z:I",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 COPY_IN_RESPONSE#1 "
     "COMMAND_COMPLETE#1(COPY 1) READY#1(I) REQ_DONE#1(OK)"},
    {"copy in error", setup_copy_in, "1 2 G E Z:I",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 COPY_IN_RESPONSE#1 ERROR#1 "
     "READY#1(I) REQ_DONE#1(FAILED)"},
    {"copy out", setup_copy_out, "1 2 H d:a c C:COPY_1 Z:I",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 COPY_OUT_RESPONSE#1 COPY_DATA#1(a) "
     "COPY_DONE#1 COMMAND_COMPLETE#1(COPY 1) READY#1(I) REQ_DONE#1(OK)"},
    {"copy out error", setup_copy_out, "1 2 H d:a E Z:I",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 COPY_OUT_RESPONSE#1 COPY_DATA#1(a) "
     "ERROR#1 READY#1(I) REQ_DONE#1(FAILED)"},
    {"batch", setup_batch, "2 C:X 2 C:Y Z:T 2 C:Z Z:I",
     "BIND_COMPLETE#1 COMMAND_COMPLETE#1(X) REQ_DONE#1(OK) BIND_COMPLETE#2 "
     "COMMAND_COMPLETE#2(Y) REQ_DONE#2(OK) READY#3(T) REQ_DONE#3(OK) "
     "BIND_COMPLETE#4 COMMAND_COMPLETE#4(Z) READY#4(I) REQ_DONE#4(OK)"},
    {"batch error", setup_batch, "E Z:I 2 C:Z Z:I",
     "ERROR#1 REQ_DONE#1(FAILED) REQ_DONE#2(ABORTED) READY#3(I) "
     "REQ_DONE#3(ABORTED) BIND_COMPLETE#4 COMMAND_COMPLETE#4(Z) READY#4(I) "
     "REQ_DONE#4(OK)"},
    {"batch commit error", setup_batch, "2 C:X 2 C:Y E Z:I 2 C:Z Z:I",
     "BIND_COMPLETE#1 COMMAND_COMPLETE#1(X) REQ_DONE#1(OK) BIND_COMPLETE#2 "
     "COMMAND_COMPLETE#2(Y) REQ_DONE#2(OK) ERROR#3 READY#3(I) "
     "REQ_DONE#3(FAILED) BIND_COMPLETE#4 COMMAND_COMPLETE#4(Z) READY#4(I) "
     "REQ_DONE#4(OK)"},
    {"pipeline", setup_pipeline,
     "C:CLOSE_CURSOR C:RESET Z:I 1 2 T D:1 C:SELECT_1 Z:I 1 t T Z:I "
     "2 D:q C:SELECT_1 Z:I T D:1 C:SELECT_1 T D:2 C:SELECT_1 Z:I",
     "COMMAND_COMPLETE#1(CLOSE CURSOR) COMMAND_COMPLETE#1(RESET) READY#1(I) "
     "REQ_DONE#1(OK) PARSE_COMPLETE#2 BIND_COMPLETE#2 ROW_DESC#2 ROW#2(1) "
     "COMMAND_COMPLETE#2(SELECT 1) READY#2(I) REQ_DONE#2(OK) "
     "PARSE_COMPLETE#3 PARAM_DESC#3 ROW_DESC#3 READY#3(I) REQ_DONE#3(OK) "
     "BIND_COMPLETE#4 ROW#4(q) COMMAND_COMPLETE#4(SELECT 1) READY#4(I) "
     "REQ_DONE#4(OK) ROW_DESC#5 ROW#5(1) COMMAND_COMPLETE#5(SELECT 1) "
     "ROW_DESC#5 ROW#5(2) COMMAND_COMPLETE#5(SELECT 1) READY#5(I) "
     "REQ_DONE#5(OK)"},
    {"pipeline two errors", setup_pipeline,
     "C:CLOSE_CURSOR C:RESET Z:I 1 E Z:I 1 t T Z:I E Z:I N E Z:I",
     "COMMAND_COMPLETE#1(CLOSE CURSOR) COMMAND_COMPLETE#1(RESET) READY#1(I) "
     "REQ_DONE#1(OK) PARSE_COMPLETE#2 ERROR#2 READY#2(I) REQ_DONE#2(FAILED) "
     "PARSE_COMPLETE#3 PARAM_DESC#3 ROW_DESC#3 READY#3(I) REQ_DONE#3(OK) "
     "ERROR#4 READY#4(I) REQ_DONE#4(FAILED) NOTICE ERROR#5 READY#5(I) "
     "REQ_DONE#5(FAILED)"},
    {"abandoned", setup_abandon, "2 D:a C:S Z:I 2 D:b C:S Z:I 2 D:c C:S Z:I",
     "BIND_COMPLETE#1 ROW#1(a) COMMAND_COMPLETE#1(S) READY#1(I) "
     "REQ_DONE#1(OK) READY#2(I) REQ_DONE#2(OK,abandoned) BIND_COMPLETE#3 "
     "ROW#3(c) COMMAND_COMPLETE#3(S) READY#3(I) REQ_DONE#3(OK)"},
    {"abandoned error", setup_abandon, "2 D:a C:S Z:I 2 E Z:I 2 C:S Z:I",
     "BIND_COMPLETE#1 ROW#1(a) COMMAND_COMPLETE#1(S) READY#1(I) "
     "REQ_DONE#1(OK) READY#2(I) REQ_DONE#2(FAILED,abandoned) "
     "BIND_COMPLETE#3 COMMAND_COMPLETE#3(S) READY#3(I) REQ_DONE#3(OK)"},
    {"abandoned copy in", setup_abandon_copy, "1 2 G E Z:I",
     "COPY_IN_RESPONSE#1 READY#1(I) REQ_DONE#1(FAILED,abandoned)"},
    {"idle fatal", setup_nothing, "N E", "NOTICE ERROR"},
    {"async", setup_exec, "S:a=b 2 A:ch D:x N C:S Z:I",
     "PARAM_STATUS(a=b) BIND_COMPLETE#1 NOTIFY(ch) ROW#1(x) NOTICE "
     "COMMAND_COMPLETE#1(S) READY#1(I) REQ_DONE#1(OK)"},
};

static void
test_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_stream(cases[i].setup, cases[i].stream, cases[i].want);
    }
}

/* ------------------------------------------------------------------ */
/* Async messages at every position                                    */
/* ------------------------------------------------------------------ */

/* The transcript of srv fed one message at a time: marks[j] is the
 * length of the transcript once messages [0, j) are consumed. */
static char *
transcript_marks(SetupFn setup, const PgcWBuf *srv, const size_t *off,
                 size_t nmsg, size_t *marks)
{
    Run r;
    run_init(&r, setup, NULL);
    marks[0] = 0;
    for (size_t j = 0; j < nmsg; j++) {
        size_t end = j + 1 < nmsg ? off[j + 1] : srv->len;
        /* feed message j alone */
        CHECK_EQ(pgc_reader_feed(&r.rd, srv->data + off[j], end - off[j]),
                 PGC_OK);
        drain(&r);
        marks[j + 1] = r.text.len;
    }
    char *t = dup_text(r.text.p ? r.text.p : "", r.text.len);
    run_free(&r);
    return t;
}

/* Does the notation string contain the token tok? */
static int
has_token(const char *spec, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = spec; (p = strstr(p, tok)) != NULL; p++) {
        if ((p == spec || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) {
            return 1;
        }
    }
    return 0;
}

static size_t g_async_runs, g_error_positions;

static void
async_everywhere(SetupFn setup, const char *spec, const char *async_spec,
                 const char *async_text)
{
    PgcWBuf srv, async_msg, mixed;
    size_t off[64], marks[65];
    pgc_wbuf_init(&srv);
    pgc_wbuf_init(&async_msg);
    srv_build(&srv, spec);
    srv_build(&async_msg, async_spec);
    size_t nmsg = msg_offsets(&srv, off, 64);
    char *ref = transcript_marks(setup, &srv, off, nmsg, marks);
    for (size_t j = 0; j <= nmsg; j++) {
        size_t at = j < nmsg ? off[j] : srv.len;
        pgc_wbuf_init(&mixed);
        be_bytes(&mixed, srv.data, at);
        be_bytes(&mixed, async_msg.data, async_msg.len);
        be_bytes(&mixed, srv.data + at, srv.len - at);
        /* expected: the reference with the async event spliced in */
        DumpText want;
        const char *rest = ref + marks[j];
        dump_text_init(&want);
        dump_text_add(&want, ref, marks[j]);
        dump_text_str(&want, marks[j] ? " " : "");
        dump_text_str(&want, async_text);
        if (*rest) {
            dump_text_str(&want, " ");
            dump_text_str(&want, rest + (*rest == ' '));
        }
        PgcStatus final;
        char *got = transcript_all_splits(setup, NULL, &mixed, &final);
        g_async_runs++;
        CHECK_STR(got, want.p);
        free(got);
        dump_text_free(&want);
        pgc_wbuf_free(&mixed);
    }
    free(ref);
    pgc_wbuf_free(&srv);
    pgc_wbuf_free(&async_msg);
}

static void
test_async_everywhere(void)
{
    static const struct {
        const char *spec, *text;
    } asyncs[] = {
        {"N", "NOTICE"},
        {"A:ch", "NOTIFY(ch)"},
        {"S:TimeZone=UTC", "PARAM_STATUS(TimeZone=UTC)"},
    };
    for (size_t a = 0; a < 3; a++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            if (has_token(cases[i].stream, "N")) {
                continue; /* already has one; transcripts would be odd */
            }
            async_everywhere(cases[i].setup, cases[i].stream, asyncs[a].spec,
                             asyncs[a].text);
        }
    }
}

/* ------------------------------------------------------------------ */
/* An ErrorResponse in every position                                  */
/* ------------------------------------------------------------------ */

/* For the stream of a case fed whole: which request each message was
 * for (the req_id of the first event it produced; 0: none). */
static void
message_owners(SetupFn setup, const PgcWBuf *srv, const size_t *off,
               size_t nmsg, uint64_t *owner)
{
    Run r;
    run_init(&r, setup, NULL);
    for (size_t j = 0; j < nmsg; j++) {
        size_t end = j + 1 < nmsg ? off[j + 1] : srv->len;
        size_t before = r.text.len;
        CHECK_EQ(pgc_reader_feed(&r.rd, srv->data + off[j], end - off[j]),
                 PGC_OK);
        drain(&r);
        /* parse "#<id>" of the first event added */
        const char *h = r.text.p ? strchr(r.text.p + before, '#') : NULL;
        owner[j] = h ? strtoull(h + 1, NULL, 10) : 0;
    }
    run_free(&r);
}

/* Replace message j by an ErrorResponse and skip what the server skips:
 * up to the next ReadyForQuery. */
static void
error_at(SetupFn setup, const PgcWBuf *srv, const size_t *off, size_t nmsg,
         const uint64_t *owner, size_t j)
{
    PgcWBuf s;
    size_t k = j;
    while (k < nmsg && srv->data[off[k]] != PGC_MSG_READY) {
        k++;
    }
    if (k == nmsg) {
        return; /* no ReadyForQuery after j */
    }
    g_error_positions++;
    pgc_wbuf_init(&s);
    be_bytes(&s, srv->data, off[j]);
    srv_build(&s, "E");
    be_bytes(&s, srv->data + off[k], srv->len - off[k]);
    PgcStatus final;
    char *got = transcript_all_splits(setup, NULL, &s, &final);
    CHECK_EQ(final, PGC_OK);
    if (final != PGC_OK) {
        fprintf(stderr, "    error at %zu: %s\n", j, got);
    }
    free(got);

    /* the oracle: owner[j] FAILED; the requests with messages between j
     * and k, and the owner of the ReadyForQuery, ABORTED; the rest OK */
    Run r;
    size_t whole[1] = {s.len};
    run_init(&r, setup, NULL);
    run_feed(&r, s.data, whole, 1);
    for (uint64_t id = 1; id < r.c.next_id; id++) {
        PgcReqStatus want = PGC_REQ_OK;
        if (id == owner[j]) {
            want = PGC_REQ_FAILED;
        }
        else {
            for (size_t m = j; m <= k; m++) {
                if (owner[m] == id) {
                    want = PGC_REQ_ABORTED;
                }
            }
        }
        CHECK_EQ(r.status[id], want);
        CHECK_EQ(r.done[id], 1);
    }
    run_free(&r);
    pgc_wbuf_free(&s);
}

static void
test_errors_everywhere(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        PgcWBuf srv;
        size_t off[64];
        uint64_t owner[64];
        if (cases[i].setup == setup_nothing ||
            has_token(cases[i].stream, "E")) {
            continue;
        }
        pgc_wbuf_init(&srv);
        srv_build(&srv, cases[i].stream);
        size_t nmsg = msg_offsets(&srv, off, 64);
        message_owners(cases[i].setup, &srv, off, nmsg, owner);
        for (size_t j = 0; j < nmsg; j++) {
            if (owner[j] == 0) {
                continue; /* an async message */
            }
            error_at(cases[i].setup, &srv, off, nmsg, owner, j);
        }
        pgc_wbuf_free(&srv);
    }
}

/* ------------------------------------------------------------------ */
/* Messages out of order                                               */
/* ------------------------------------------------------------------ */

static void
setup_two_exec(PgcConn *c, PgcWBuf *fe)
{
    push_exec(c, fe, 1);
    push_exec(c, fe, 1);
}

static const Case refused[] = {
    {"bind for parse", setup_prepare, "2",
     "FAIL: unexpected BindComplete (type 0x32) from the server: expected "
     "ParseComplete, for the Parse of request 1"},
    {"idle row", setup_nothing, "D:x",
     "FAIL: unexpected DataRow (type 0x44) from the server while no "
     "request is in flight"},
    {"after done", setup_exec, "2 C:S Z:I Z:I",
     "BIND_COMPLETE#1 COMMAND_COMPLETE#1(S) READY#1(I) REQ_DONE#1(OK) "
     "FAIL: unexpected ReadyForQuery (type 0x5a) from the server while no "
     "request is in flight"},
    {"ready mid-execute", setup_exec, "2 D:x Z:I",
     "BIND_COMPLETE#1 ROW#1(x) FAIL: unexpected ReadyForQuery (type 0x5a) "
     "from the server: expected DataRow, CommandComplete or "
     "PortalSuspended, for the Execute of request 1"},
    {"row before desc", setup_simple, "D:x",
     "FAIL: unexpected DataRow (type 0x44) from the server: expected "
     "RowDescription, CommandComplete, EmptyQueryResponse, CopyInResponse, "
     "CopyOutResponse or ReadyForQuery, for the Query of request 1"},
    {"suspended in simple", setup_simple, "T s",
     "ROW_DESC#1 FAIL: unexpected PortalSuspended (type 0x73) from the "
     "server: expected DataRow or CommandComplete, for the Query of "
     "request 1"},
    {"copy both", setup_copy_out, "1 2 W",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 FAIL: unexpected CopyBothResponse "
     "(type 0x57) from the server: expected DataRow, CommandComplete, "
     "EmptyQueryResponse, PortalSuspended, CopyInResponse or "
     "CopyOutResponse, for the Execute of request 1"},
    {"complete mid-copy", setup_copy_out, "1 2 H d:a C:COPY_1",
     "PARSE_COMPLETE#1 BIND_COMPLETE#1 COPY_OUT_RESPONSE#1 COPY_DATA#1(a) "
     "FAIL: unexpected CommandComplete (type 0x43) from the server: "
     "expected CopyData or CopyDone, for the Execute of request 1"},
    {"row after complete", setup_exec, "2 C:S D:x",
     "BIND_COMPLETE#1 COMMAND_COMPLETE#1(S) FAIL: unexpected DataRow (type "
     "0x44) from the server: expected ReadyForQuery, for the Sync of "
     "request 1"},
    {"missing param desc", setup_prepare, "1 T",
     "PARSE_COMPLETE#1 FAIL: unexpected RowDescription (type 0x54) from "
     "the server: expected ParameterDescription, for the "
     "Describe(statement) of request 1"},
    {"backend key", setup_exec, "K",
     "FAIL: unexpected BackendKeyData (type 0x4b) from the server: "
     "expected BindComplete, for the Bind of request 1"},
    {"bad ready", setup_exec, "2 C:S Z:?",
     "BIND_COMPLETE#1 COMMAND_COMPLETE#1(S) FAIL: malformed ReadyForQuery "
     "message"},
    {"copy in pipelined", setup_two_exec, "2 G",
     "BIND_COMPLETE#1 FAIL: CopyInResponse for request 1 with 1 later "
     "request(s) in flight: the server reads their messages as COPY data"},
    {"error then row", setup_two_exec, "E D:x",
     "ERROR#1 FAIL: unexpected DataRow (type 0x44) from the server: "
     "expected ReadyForQuery, for the Sync of request 1"},
};

static void
test_out_of_order(void)
{
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        expect_stream(refused[i].setup, refused[i].stream, refused[i].want);
    }
    /* sticky: a later call returns the same error */
    Run r;
    PgcEvent ev;
    PgcWBuf srv;
    pgc_wbuf_init(&srv);
    srv_build(&srv, "2 Z:I 2 C:S Z:I");
    run_init(&r, setup_two_exec, NULL);
    CHECK_EQ(pgc_reader_feed(&r.rd, srv.data, srv.len), PGC_OK);
    CHECK_EQ(pgc_conn_next(&r.c, &r.rd, &ev), PGC_OK);
    CHECK_EQ(pgc_conn_next(&r.c, &r.rd, &ev), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_conn_next(&r.c, &r.rd, &ev), PGC_ERR_PROTOCOL);
    uint64_t id;
    void *user;
    PgcReqBuilder b;
    CHECK_EQ(pgc_req_begin(&r.c, &r.fe, 0, NULL, &b), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_conn_pop_lost(&r.c, &id, &user), 1);
    CHECK_EQ(id, 1);
    CHECK_EQ(pgc_conn_pop_lost(&r.c, &id, &user), 1);
    CHECK_EQ(id, 2);
    CHECK_EQ(pgc_conn_pop_lost(&r.c, &id, &user), 0);
    run_free(&r);
    pgc_wbuf_free(&srv);
}

/* ------------------------------------------------------------------ */
/* Frontend: bytes, rules, limits                                      */
/* ------------------------------------------------------------------ */

/* The message types in a frontend buffer, as a string. */
static void
fe_types(const PgcWBuf *b, char *out, size_t cap)
{
    size_t pos = 0, n = 0;
    while (pos + 5 <= b->len && n + 1 < cap) {
        out[n++] = (char)b->data[pos];
        pos += 1 + pgc_load_u32(b->data + pos + 1);
    }
    out[n] = 0;
}

static PgcStatus
encode_two(void *ctx, PgcWBuf *wb, size_t index)
{
    size_t off;
    int *calls = ctx;
    (*calls)++;
    if (index == 5) {
        return PGC_ERR_CALLBACK;
    }
    PgcStatus st = pgc_wbuf_reserve_len(wb, &off);
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(wb, (int32_t)index);
    }
    return st == PGC_OK ? pgc_wbuf_patch_len(wb, off) : st;
}

/* pgc_req_move_to_front (a SAVEPOINT put ahead of a streamed batch) and
 * pgc_req_bind_cancel (a parameter that did not encode): bytes and steps
 * move together, and the answers are matched in the new order. */
/* pgc_conn_next_row: the DataRows after a ROW event, and nothing else. */
static void
test_next_row(void)
{
    PgcConn c;
    PgcWBuf fe, srv;
    PgcReader rd;
    PgcEvent ev;
    PgcView body = {NULL, 0};
    PgcStr empty = {"", 0};
    pgc_conn_init(&c, 0, NULL);
    pgc_wbuf_init(&fe);
    pgc_wbuf_init(&srv);
    CHECK_EQ(pgc_reader_init(&rd, 256), PGC_OK);
    PgcExtSpec s = {0};
    s.nexec = 1;
    s.portal = empty;
    s.sync = 1;
    CHECK_EQ(pgc_conn_push_extended(&c, &fe, &s, NULL), PGC_OK);
    /* BindComplete, 3 DataRows, CommandComplete, ReadyForQuery */
    static const uint8_t bind_ok[] = {'2', 0, 0, 0, 4};
    static const uint8_t row[] = {'D', 0, 0, 0, 6, 0, 0};
    static const uint8_t cc[] = {'C', 0, 0, 0, 7, 'S', 'E', 0};
    static const uint8_t rfq[] = {'Z', 0, 0, 0, 5, 'I'};
    CHECK_EQ(pgc_reader_feed(&rd, bind_ok, sizeof(bind_ok)), PGC_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(pgc_reader_feed(&rd, row, sizeof(row)), PGC_OK);
    }
    CHECK_EQ(pgc_reader_feed(&rd, cc, sizeof(cc)), PGC_OK);
    CHECK_EQ(pgc_reader_feed(&rd, rfq, sizeof(rfq)), PGC_OK);
    CHECK_EQ(pgc_conn_next_row(&c, &rd, &body), 0); /* before a ROW */
    CHECK_EQ(pgc_conn_next(&c, &rd, &ev), PGC_OK);
    CHECK_EQ(ev.type, PGC_EV_BIND_COMPLETE);
    CHECK_EQ(pgc_conn_next(&c, &rd, &ev), PGC_OK);
    CHECK_EQ(ev.type, PGC_EV_ROW);
    CHECK_EQ(pgc_conn_next_row(&c, &rd, &body), 1);
    CHECK_EQ(body.n, 2);
    CHECK_EQ(pgc_conn_next_row(&c, &rd, &body), 1);
    size_t left = pgc_reader_pending(&rd);
    CHECK_EQ(pgc_conn_next_row(&c, &rd, &body), 0); /* CommandComplete */
    CHECK_EQ(pgc_reader_pending(&rd), left);
    CHECK_EQ(pgc_conn_next(&c, &rd, &ev), PGC_OK);
    CHECK_EQ(ev.type, PGC_EV_COMMAND_COMPLETE);
    CHECK_EQ(pgc_conn_next(&c, &rd, &ev), PGC_OK);
    CHECK_EQ(ev.type, PGC_EV_READY);
    CHECK_EQ(pgc_conn_next(&c, &rd, &ev), PGC_OK);
    CHECK_EQ(ev.type, PGC_EV_REQ_DONE);
    CHECK_EQ(pgc_conn_next(&c, &rd, &ev), PGC_NEED_MORE);
    pgc_reader_free(&rd);
    pgc_conn_free(&c);
    pgc_wbuf_free(&fe);
    pgc_wbuf_free(&srv);
}

static PgcStep
step_at_test(const PgcConn *c, size_t i)
{
    return (PgcStep)c->steps[(c->step_head + i) & (c->step_cap - 1)];
}

static void
test_builder_rearrange(void)
{
    PgcConn c;
    PgcWBuf fe;
    PgcReqBuilder b;
    char types[32];
    PgcStr empty = {"", 0};
    pgc_conn_init(&c, 0, NULL);
    pgc_wbuf_init(&fe);
    CHECK_EQ(pgc_req_begin(&c, &fe, 0, NULL, &b), PGC_OK);
    CHECK_EQ(pgc_req_close(&b, PGC_TARGET_PORTAL, S("c1")), PGC_OK);
    CHECK_EQ(pgc_req_bind_start(&b, empty, empty, 0, NULL, 0), PGC_OK);
    size_t before = fe.len;
    pgc_req_bind_cancel(&b);
    CHECK(before > b.bind_mark);
    CHECK_EQ(fe.len, b.bind_mark);
    CHECK_EQ(b.in_bind, 0);
    size_t from = fe.len;
    CHECK_EQ(pgc_req_parse(&b, empty, S("SAVEPOINT s"), NULL, 0), PGC_OK);
    CHECK_EQ(pgc_req_execute(&b, empty, 0), PGC_OK);
    CHECK_EQ(pgc_req_move_to_front(&b, from, 2), PGC_OK);
    CHECK_EQ(pgc_req_move_to_front(&b, from, 9), PGC_ERR_STATE);
    CHECK_EQ(pgc_req_sync(&b), PGC_OK);
    CHECK_EQ(pgc_req_commit(&b, NULL), PGC_OK);
    fe_types(&fe, types, sizeof(types));
    CHECK_STR(types, "PECS");
    CHECK_EQ(step_at_test(&c, 0), PGC_STEP_PARSE);
    CHECK_EQ(step_at_test(&c, 1), PGC_STEP_EXECUTE);
    CHECK_EQ(step_at_test(&c, 2), PGC_STEP_CLOSE);
    CHECK_EQ(step_at_test(&c, 3), PGC_STEP_SYNC);
    pgc_conn_free(&c);
    pgc_wbuf_free(&fe);
}

static void
test_frontend_bytes(void)
{
    PgcConn c;
    PgcWBuf fe, want;
    char types[64];
    pgc_conn_init(&c, 0, NULL);
    pgc_wbuf_init(&fe);
    pgc_wbuf_init(&want);

    setup_pipeline(&c, &fe);
    fe_types(&fe, types, sizeof(types));
    CHECK_STR(types, "QPBDESPDSBESQ");
    CHECK_EQ(c.req_len, 5);
    CHECK_EQ(c.step_len, 1 + 5 + 4 + 3 + 1);
    pgc_wbuf_reset(&fe);
    pgc_conn_free(&c);

    /* push_extended writes exactly what pgc_build would */
    int calls = 0;
    static const int16_t bin = 1;
    PgcExtSpec s = {0};
    s.parse = 1;
    s.sql = S("SELECT $1");
    s.nexec = 2;
    s.nparams = 1;
    s.nparam_fmt = 1;
    s.param_fmts = &bin;
    s.encode = encode_two;
    s.encode_ctx = &calls;
    s.describe_portal = 1;
    s.sync = 1;
    pgc_conn_init(&c, 0, NULL);
    CHECK_EQ(pgc_conn_push_extended(&c, &fe, &s, NULL), PGC_OK);
    CHECK_EQ(calls, 2);
    PgcStr empty = {"", 0};
    CHECK_EQ(pgc_build_parse(&want, empty, s.sql, NULL, 0), PGC_OK);
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ(pgc_build_bind_start(&want, empty, empty, 1, &bin, 1),
                 PGC_OK);
        encode_two(&calls, &want, i);
        CHECK_EQ(pgc_build_bind_end(&want, 0, NULL), PGC_OK);
        if (i == 0) {
            CHECK_EQ(pgc_build_describe(&want, PGC_TARGET_PORTAL, empty),
                     PGC_OK);
        }
        CHECK_EQ(pgc_build_execute(&want, empty, 0), PGC_OK);
    }
    CHECK_EQ(pgc_build_sync(&want), PGC_OK);
    CHECK_MEM(fe.data, fe.len, want.data, want.len);

    /* an encoder failure leaves buffer and engine as they were */
    size_t len = fe.len, steps = c.step_len;
    s.nexec = 7;
    CHECK_EQ(pgc_conn_push_extended(&c, &fe, &s, NULL), PGC_ERR_CALLBACK);
    CHECK_EQ(fe.len, len);
    CHECK_EQ(c.step_len, steps);
    CHECK_EQ(c.req_len, 1);
    CHECK_EQ(c.building, 0);
    pgc_conn_free(&c);
    pgc_wbuf_free(&fe);
    pgc_wbuf_free(&want);
}

static void
test_frontend_rules(void)
{
    PgcConn c;
    PgcWBuf fe;
    PgcReqBuilder b;
    pgc_wbuf_init(&fe);

    /* a simple Query is a barrier unless NO_COPY */
    pgc_conn_init(&c, 0, NULL);
    push_simple(&c, &fe, S("SELECT 1"), 0);
    CHECK_EQ(pgc_conn_push_sync(&c, &fe, NULL, NULL), PGC_ERR_STATE);
    CHECK(strstr(c.err_msg, "COPY FROM STDIN") != NULL);
    CHECK_EQ(c.err, PGC_OK); /* not sticky */
    pgc_conn_free(&c);
    pgc_conn_init(&c, 0, NULL);
    push_simple(&c, &fe, S("RESET ALL"), PGC_REQ_F_NO_COPY);
    CHECK_EQ(pgc_conn_push_sync(&c, &fe, NULL, NULL), PGC_OK);
    pgc_conn_free(&c);

    /* COPY_IN is a barrier */
    pgc_conn_init(&c, 0, NULL);
    push_copy(&c, &fe, PGC_REQ_F_COPY_IN);
    CHECK_EQ(pgc_conn_push_sync(&c, &fe, NULL, NULL), PGC_ERR_STATE);
    CHECK_EQ(pgc_conn_copy_data(&c, &fe, (const uint8_t *)"x", 1),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_conn_copy_done(&c, &fe), PGC_ERR_STATE);
    pgc_conn_free(&c);

    /* a simple Query cannot join an open group */
    pgc_conn_init(&c, 0, NULL);
    push_exec(&c, &fe, 0);
    size_t len = fe.len;
    CHECK_EQ(pgc_conn_push_simple(&c, &fe, S("SELECT 1"), 0, NULL, NULL),
             PGC_ERR_STATE);
    CHECK(strstr(c.err_msg, "open Sync group") != NULL);
    CHECK_EQ(fe.len, len);
    CHECK_EQ(c.req_len, 1);

    /* builder rules */
    CHECK_EQ(pgc_req_begin(&c, &fe, 0, NULL, &b), PGC_OK);
    PgcReqBuilder b2;
    CHECK_EQ(pgc_req_begin(&c, &fe, 0, NULL, &b2), PGC_ERR_STATE);
    CHECK_EQ(pgc_req_sync(&b), PGC_OK);
    CHECK_EQ(pgc_req_parse(&b, S(""), S("x"), NULL, 0), PGC_ERR_STATE);
    CHECK_EQ(pgc_req_commit(&b, NULL), PGC_OK);
    CHECK_EQ(pgc_req_begin(&c, &fe, 0, NULL, &b), PGC_OK);
    CHECK_EQ(pgc_req_flush(&b), PGC_OK);
    CHECK_EQ(pgc_req_commit(&b, NULL), PGC_ERR_STATE); /* expects nothing */
    CHECK_EQ(pgc_req_begin(&c, &fe, 0, NULL, &b), PGC_OK);
    CHECK_EQ(pgc_req_parse(&b, S(""), S("x"), NULL, 0), PGC_OK);
    CHECK_EQ(pgc_req_query(&b, S("x")), PGC_ERR_STATE); /* Query alone */
    CHECK_EQ(pgc_req_bind_start(&b, S(""), S(""), 0, NULL, 0), PGC_OK);
    CHECK_EQ(pgc_req_execute(&b, S(""), 0), PGC_ERR_STATE); /* Bind open */
    CHECK_EQ(pgc_req_commit(&b, NULL), PGC_ERR_STATE);
    CHECK_EQ(fe.len, len + 5); /* the Sync only */
    CHECK_EQ(pgc_req_parse(&b, S("a\0b"), S("x"), NULL, 0), PGC_ERR_STATE);
    CHECK_EQ(pgc_req_begin(&c, &fe, 0, NULL, &b), PGC_OK);
    CHECK_EQ(pgc_req_parse(&b, (PgcStr){"a\0b", 3}, S("x"), NULL, 0),
             PGC_ERR_LIMIT);
    pgc_req_abort(&b);
    CHECK_EQ(fe.len, len + 5);

    /* abandon of an unknown request; terminate */
    CHECK_EQ(pgc_conn_abandon(&c, 99), PGC_ERR_STATE);
    CHECK_EQ(pgc_conn_terminate(&c, &fe), PGC_OK);
    CHECK_EQ(pgc_conn_push_sync(&c, &fe, NULL, NULL), PGC_ERR_STATE);
    pgc_conn_free(&c);
    pgc_wbuf_free(&fe);
}

static void
test_limits(void)
{
    PgcConn c;
    PgcWBuf fe;
    PgcConnLimits lim = {3, 8};
    pgc_wbuf_init(&fe);
    pgc_conn_init(&c, 0, &lim);
    push_exec(&c, &fe, 1);                                     /* 3 steps */
    push_exec(&c, &fe, 1);                                     /* 6 */
    CHECK_EQ(pgc_conn_push_sync(&c, &fe, NULL, NULL), PGC_OK); /* 7 */
    CHECK_EQ(pgc_conn_push_sync(&c, &fe, NULL, NULL), PGC_ERR_LIMIT);
    CHECK(strstr(c.err_msg, "too many requests in flight (limit 3)") != NULL);
    pgc_conn_free(&c);
    pgc_conn_init(&c, 0, &lim);
    push_exec(&c, &fe, 1);
    push_exec(&c, &fe, 1);
    size_t len = fe.len;
    PgcExtSpec s = {0};
    s.stmt_name = S("s1");
    s.nexec = 1;
    s.sync = 1;
    CHECK_EQ(pgc_conn_push_extended(&c, &fe, &s, NULL), PGC_ERR_LIMIT);
    CHECK(strstr(c.err_msg, "responses expected in flight (limit 8)") != NULL);
    CHECK_EQ(fe.len, len);
    CHECK_EQ(c.step_len, 6);
    CHECK_EQ(c.err, PGC_OK);
    pgc_conn_free(&c);

    /* a big executemany grows the rings and completes */
    Run r;
    PgcWBuf srv;
    pgc_wbuf_init(&srv);
    run_init(&r, setup_nothing, NULL);
    s.nexec = 1000;
    s.parse = 1;
    s.sql = S("INSERT");
    CHECK_EQ(pgc_conn_push_extended(&r.c, &r.fe, &s, NULL), PGC_OK);
    r.pushed[1] = 1;
    srv_build(&srv, "1");
    for (int i = 0; i < 1000; i++) {
        srv_build(&srv, "2 C:INSERT_0_1");
    }
    srv_build(&srv, "Z:I");
    size_t whole[1] = {srv.len};
    run_feed(&r, srv.data, whole, 1);
    run_check_books(&r);
    CHECK_EQ(r.done[1], 1);
    CHECK_EQ(r.status[1], PGC_REQ_OK);
    CHECK_EQ(r.c.step_len, 0);
    run_free(&r);
    pgc_wbuf_free(&srv);
    pgc_wbuf_free(&fe);
}

/* Requests pushed into a group that already failed are aborted without
 * a message of their own; the Sync brings its ReadyForQuery. */
static void
test_push_into_failed_group(void)
{
    Run r;
    PgcWBuf srv;
    pgc_wbuf_init(&srv);
    run_init(&r, setup_nothing, NULL);
    push_exec(&r.c, &r.fe, 0);
    r.pushed[1] = 1;
    srv_build(&srv, "E");
    size_t whole[1] = {srv.len};
    run_feed(&r, srv.data, whole, 1);
    CHECK_STR(r.text.p, "ERROR#1 REQ_DONE#1(FAILED)");
    push_exec(&r.c, &r.fe, 0);
    CHECK_EQ(pgc_conn_push_sync(&r.c, &r.fe, NULL, NULL), PGC_OK);
    r.pushed[2] = r.pushed[3] = 1;
    pgc_wbuf_reset(&srv);
    srv_build(&srv, "Z:I");
    drain(&r);
    CHECK_EQ(pgc_reader_feed(&r.rd, srv.data, srv.len), PGC_OK);
    drain(&r);
    CHECK_STR(r.text.p, "ERROR#1 REQ_DONE#1(FAILED) REQ_DONE#2(ABORTED) "
                        "READY#3(I) REQ_DONE#3(ABORTED)");
    run_check_books(&r);
    run_free(&r);
    pgc_wbuf_free(&srv);
}

/* COPY FROM STDIN under the extended protocol, frontend side: the Sync
 * sent with the request is ignored in copy-in mode, copy_done sends
 * another. */
static void
test_copy_in_frontend(void)
{
    Run r;
    PgcWBuf srv;
    char types[64];
    pgc_wbuf_init(&srv);
    run_init(&r, setup_copy_in, NULL);
    srv_build(&srv, "1 2 G");
    size_t whole[1] = {srv.len};
    run_feed(&r, srv.data, whole, 1);
    fe_types(&r.fe, types, sizeof(types));
    CHECK_STR(types, "PBESdcS");
    CHECK_EQ(pgc_conn_copy_in_state(&r.c), PGC_COPYIN_ENDED);
    run_free(&r);

    /* the server fails the COPY before the client ends it: it waits for
     * a Sync (extended protocol) */
    run_init(&r, setup_copy_in, NULL);
    r.slow_copy = 1;
    pgc_wbuf_reset(&srv);
    srv_build(&srv, "1 2 G");
    whole[0] = srv.len;
    run_feed(&r, srv.data, whole, 1);
    CHECK_EQ(pgc_conn_copy_in_state(&r.c), PGC_COPYIN_ACTIVE);
    CHECK_EQ(pgc_conn_push_sync(&r.c, &r.fe, NULL, NULL), PGC_ERR_STATE);
    CHECK_EQ(pgc_conn_copy_data(&r.c, &r.fe, (const uint8_t *)"1", 1), PGC_OK);
    pgc_wbuf_reset(&srv);
    srv_build(&srv, "E");
    whole[0] = srv.len;
    run_feed(&r, srv.data, whole, 1);
    /* run_feed's handler sent CopyDone + Sync on END_REQUIRED */
    CHECK_EQ(pgc_conn_copy_in_state(&r.c), PGC_COPYIN_ENDED);
    fe_types(&r.fe, types, sizeof(types));
    CHECK_STR(types, "PBESdcS");
    pgc_wbuf_reset(&srv);
    srv_build(&srv, "Z:I");
    whole[0] = srv.len;
    run_feed(&r, srv.data, whole, 1);
    CHECK_STR(r.text.p, "PARSE_COMPLETE#1 BIND_COMPLETE#1 "
                        "COPY_IN_RESPONSE#1 ERROR#1 READY#1(I) "
                        "REQ_DONE#1(FAILED)");
    CHECK_EQ(pgc_conn_copy_in_state(&r.c), PGC_COPYIN_NONE);
    run_check_books(&r);
    run_free(&r);

    /* simple: no Sync */
    run_init(&r, setup_simple, NULL);
    pgc_wbuf_reset(&srv);
    srv_build(&srv, "G");
    whole[0] = srv.len;
    run_feed(&r, srv.data, whole, 1);
    fe_types(&r.fe, types, sizeof(types));
    CHECK_STR(types, "Qdc");
    run_free(&r);

    /* a batch request without a Sync of its own gets the COPY's Sync */
    run_init(&r, setup_nothing, NULL);
    PgcExtSpec s = {0};
    s.parse = 1;
    s.sql = S("COPY t FROM STDIN");
    s.nexec = 1;
    CHECK_EQ(pgc_conn_push_extended(&r.c, &r.fe, &s, NULL), PGC_OK);
    r.pushed[1] = 1;
    pgc_wbuf_reset(&srv);
    srv_build(&srv, "1 2 G C:COPY_1 Z:I");
    whole[0] = srv.len;
    run_feed(&r, srv.data, whole, 1);
    CHECK_STR(r.text.p, "PARSE_COMPLETE#1 BIND_COMPLETE#1 "
                        "COPY_IN_RESPONSE#1 COMMAND_COMPLETE#1(COPY 1) "
                        "READY#1(I) REQ_DONE#1(OK)");
    CHECK_EQ(r.c.group_open, 0);
    run_check_books(&r);
    run_free(&r);
    pgc_wbuf_free(&srv);
}

/* Out of memory while pushing: nothing registered, nothing written. */
static void
test_conn_oom(void)
{
    PgcConn c;
    PgcWBuf fe;
    pgc_wbuf_init(&fe);
    talloc_install();
    for (long k = 0; k < 6; k++) {
        pgc_conn_init(&c, 0, NULL);
        talloc_fail_after(k);
        size_t len = fe.len;
        PgcStatus st = PGC_OK;
        for (int i = 0; i < 40 && st == PGC_OK; i++) {
            len = fe.len;
            st = pgc_conn_push_sync(&c, &fe, NULL, NULL);
        }
        talloc_fail_after(-1);
        CHECK_EQ(st, PGC_ERR_NOMEM);
        CHECK_EQ(fe.len, len);
        CHECK_EQ(c.building, 0);
        CHECK_EQ(c.step_len, c.req_len);
        pgc_conn_free(&c);
        pgc_wbuf_reset(&fe);
    }
    talloc_uninstall();
    pgc_wbuf_free(&fe);
}

/* Reading allocates nothing: 10000 rows, a COPY, notices and an error
 * in a pipeline, pulled with the test allocator counting. */
static void
test_no_alloc_while_reading(void)
{
    Run r;
    PgcWBuf srv;
    PgcEvent ev;
    size_t rows = 0;
    pgc_wbuf_init(&srv);
    run_init(&r, setup_nothing, NULL);
    push_exec(&r.c, &r.fe, 1);
    push_copy(&r.c, &r.fe, 0);
    push_exec(&r.c, &r.fe, 0);
    push_exec(&r.c, &r.fe, 0);
    CHECK_EQ(pgc_conn_push_sync(&r.c, &r.fe, NULL, NULL), PGC_OK);
    srv_build(&srv, "2");
    for (int i = 0; i < 10000; i++) {
        srv_build(&srv, i % 1000 ? "D:row" : "D:row N");
    }
    srv_build(&srv, "C:SELECT_10000 Z:I 1 2 H d:a d:b c C:COPY_2 Z:I E Z:E");
    CHECK_EQ(pgc_reader_feed(&r.rd, srv.data, srv.len), PGC_OK);
    talloc_install();
    for (;;) {
        PgcStatus st = pgc_conn_next(&r.c, &r.rd, &ev);
        if (st != PGC_OK) {
            CHECK_EQ(st, PGC_NEED_MORE);
            break;
        }
        rows += ev.type == PGC_EV_ROW;
    }
    CHECK_EQ(talloc_count(), 0);
    talloc_uninstall();
    CHECK_EQ(rows, 10000);
    CHECK_EQ(pgc_conn_in_flight(&r.c), 0);
    CHECK_EQ(pgc_conn_tx_status(&r.c), PGC_TX_INERROR);
    run_free(&r);
    pgc_wbuf_free(&srv);
}

void
test_conn(void)
{
    test_cases();
    test_out_of_order();
    test_async_everywhere();
    test_errors_everywhere();
    test_frontend_bytes();
    test_builder_rearrange();
    test_next_row();
    test_frontend_rules();
    test_limits();
    test_push_into_failed_group();
    test_copy_in_frontend();
    test_conn_oom();
    test_active();
    test_no_alloc_while_reading();
    printf("conn: %zu cases, %zu refused, %zu async insertions, %zu error "
           "positions; %zu stream runs (each at every split point and in "
           "1..8-byte chunks)\n",
           sizeof(cases) / sizeof(cases[0]),
           sizeof(refused) / sizeof(refused[0]), g_async_runs,
           g_error_positions, g_runs);
}
