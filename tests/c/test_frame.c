/* test_frame.c -- framing, the read buffer, and a recorded-style stream
 * fed at every split point, one byte at a time and in random chunks, with
 * identical results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Append bytes (through feed or space/commit) and dump every complete
 * message.  Returns the reader's status after the last message. */
static PgcStatus
feed_and_dump(PgcReader *r, const uint8_t *p, size_t n, int use_space,
              DumpText *t)
{
    PgcMsg m;
    PgcStatus st;
    uint8_t *dst = NULL;
    size_t room = 0;

    if (use_space && n) {
        st = pgc_reader_space(r, n, &dst, &room);
        if (st != PGC_OK) {
            return st;
        }
        if (room < n) {
            return PGC_ERR_STATE;
        }
        memcpy(dst, p, n);
        pgc_reader_commit(r, n);
    }
    else {
        st = pgc_reader_feed(r, p, n);
        if (st != PGC_OK) {
            return st;
        }
    }
    while ((st = pgc_reader_next(r, &m)) == PGC_OK) {
        pgc_dump_msg(&m, t);
    }
    return st;
}

/* The transcript of a stream fed in one piece. */
static void
transcript(const uint8_t *p, size_t n, DumpText *t)
{
    PgcReader r;

    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    dump_text_init(t);
    CHECK_EQ(feed_and_dump(&r, p, n, 0, t), PGC_NEED_MORE);
    CHECK_EQ(pgc_reader_pending(&r), 0);
    pgc_reader_free(&r);
}

/* Split at every step-th point (alternating feed and space/commit);
 * returns the number of splits whose transcript differs. */
static size_t
split_runs(const uint8_t *p, size_t n, const DumpText *want, size_t initcap,
           size_t step)
{
    size_t s, bad = 0;

    for (s = 0; s <= n; s += step) {
        PgcReader r;
        DumpText t;
        PgcStatus st;
        dump_text_init(&t);
        if (pgc_reader_init(&r, initcap) != PGC_OK) {
            abort();
        }
        st = feed_and_dump(&r, p, s, (int)(s & 1), &t);
        if (st == PGC_NEED_MORE) {
            st = feed_and_dump(&r, p + s, n - s, (int)!(s & 1), &t);
        }
        if (st != PGC_NEED_MORE || t.len != want->len ||
            memcmp(t.p, want->p, t.len) != 0 || pgc_reader_pending(&r)) {
            bad++;
        }
        pgc_reader_free(&r);
        dump_text_free(&t);
    }
    return bad;
}

/* Feed in chunks of sizes from a small deterministic generator (1 byte
 * at a time when maxchunk is 1). */
static int
chunked_run(const uint8_t *p, size_t n, const DumpText *want, size_t initcap,
            size_t maxchunk, uint32_t seed)
{
    PgcReader r;
    DumpText t;
    PgcStatus st = PGC_NEED_MORE;
    size_t pos = 0;
    int ok;

    dump_text_init(&t);
    CHECK_EQ(pgc_reader_init(&r, initcap), PGC_OK);
    while (pos < n && st == PGC_NEED_MORE) {
        size_t k;
        seed = seed * 1103515245u + 12345u;
        k = 1 + (size_t)(seed >> 8) % maxchunk;
        k = k > n - pos ? n - pos : k;
        st = feed_and_dump(&r, p + pos, k, (int)(seed & 1), &t);
        pos += k;
    }
    ok = st == PGC_NEED_MORE && t.len == want->len &&
         memcmp(t.p, want->p, t.len) == 0 && pgc_reader_pending(&r) == 0;
    pgc_reader_free(&r);
    dump_text_free(&t);
    return ok;
}

static void
test_split_feed(void)
{
    PgcWBuf b;
    DumpText want;

    pgc_wbuf_init(&b);
    stream_session(&b);
    transcript(b.data, b.len, &want);
    /* Every parser accepted its message. */
    CHECK(strstr(want.p, "!err") == NULL);
    CHECK(strstr(want.p, "R code=0 ''\n") != NULL);
    CHECK(strstr(want.p, "D n=3 '1' 'alice' NULL\n") != NULL);
    CHECK(strstr(want.p, "D n=3 '2' '' 'x\\x01y'\n") != NULL);
    CHECK(strstr(want.p, "D n=3 NULL NULL NULL\nD n=0\n") != NULL);
    CHECK(strstr(want.p,
                 "E S=ERROR V=ERROR C=42P01 M=relation \"nope\" "
                 "does not exist D=some detail H=a hint P=15\n") != NULL);
    CHECK(strstr(want.p, "A pid=77 'chan' 'payload'\n") != NULL);
    CHECK(strstr(want.p, "K pid=4242 key=-559038737\n") != NULL);
    CHECK(strstr(want.p, "Z tx=69\n") != NULL);
    CHECK_EQ(split_runs(b.data, b.len, &want, 0, 1), 0);
    CHECK_EQ(split_runs(b.data, b.len, &want, 16, 1), 0);
    CHECK(chunked_run(b.data, b.len, &want, 0, 1, 1));
    CHECK(chunked_run(b.data, b.len, &want, 1, 1, 2));
    CHECK(chunked_run(b.data, b.len, &want, 7, 13, 3));
    CHECK(chunked_run(b.data, b.len, &want, 64, 200, 4));
    dump_text_free(&want);

    /* Messages longer than PGC_SMALL_MSG_CAP. */
    pgc_wbuf_reset(&b);
    stream_session(&b);
    stream_big_values(&b);
    stream_session(&b);
    transcript(b.data, b.len, &want);
    CHECK(strstr(want.p, "!err") == NULL);
    CHECK(strstr(want.p, "'tail'\n") != NULL);
    CHECK_EQ(split_runs(b.data, b.len, &want, 0, 97), 0);
    CHECK_EQ(split_runs(b.data, b.len, &want, 32, 131), 0);
    CHECK(chunked_run(b.data, b.len, &want, 1, 1, 5));
    CHECK(chunked_run(b.data, b.len, &want, 16, 3000, 6));
    dump_text_free(&want);
    pgc_wbuf_free(&b);
}

/* Feed a 5-byte header; return what next() says. */
static PgcStatus
header_status(uint8_t type, uint32_t len, size_t max_msg, PgcReader *r)
{
    uint8_t h[5];

    h[0] = type;
    pgc_store_u32(h + 1, len);
    CHECK_EQ(pgc_reader_init(r, 0), PGC_OK);
    if (max_msg) {
        r->max_msg = max_msg;
    }
    CHECK_EQ(pgc_reader_feed(r, h, sizeof(h)), PGC_OK);
    return pgc_reader_next(r, &(PgcMsg){0});
}

static void
test_frame_header(uint8_t type, uint32_t len, size_t max_msg, PgcStatus want)
{
    PgcReader r;
    PgcStatus st = header_status(type, len, max_msg, &r);

    CHECK_EQ(st, want);
    if (want < 0) {
        CHECK(r.err_msg[0] != 0);
    }
    pgc_reader_free(&r);
}

/* Each backend type's cap (the length field, see the table in
 * pgc_frame.c), written out here from the protocol's limits rather than
 * taken from the code under test. */
static const struct {
    uint8_t type;
    uint32_t cap;
} type_caps[] = {
    {PGC_MSG_PARSE_COMPLETE, 4},
    {PGC_MSG_BIND_COMPLETE, 4},
    {PGC_MSG_CLOSE_COMPLETE, 4},
    {PGC_MSG_NO_DATA, 4},
    {PGC_MSG_EMPTY_QUERY, 4},
    {PGC_MSG_PORTAL_SUSPENDED, 4},
    {PGC_MSG_COPY_DONE, 4},
    {PGC_MSG_READY, 5},
    {PGC_MSG_BACKEND_KEY, 4 + 4 + 256},
    {PGC_MSG_COMMAND_COMPLETE, 4 + 64},
    {PGC_MSG_COPY_IN_RESPONSE, 4 + 1 + 2 + 2 * 1664},
    {PGC_MSG_COPY_OUT_RESPONSE, 4 + 1 + 2 + 2 * 1664},
    {PGC_MSG_COPY_BOTH_RESPONSE, 4 + 1 + 2 + 2 * 1664},
    /* 65535 parameter oids */
    {PGC_MSG_PARAM_DESCRIPTION, 4 + 2 + 4 * 65535},
    /* 1664 columns, names of 63 bytes x 4 + NUL, 18 bytes of fields */
    {PGC_MSG_ROW_DESCRIPTION, 4 + 2 + 1664 * (63 * 4 + 1 + 18)},
    /* pid, channel, payload of 32575 bytes x 4 + NUL */
    {PGC_MSG_NOTIFICATION, 4 + 4 + (63 * 4 + 1) + (32575 * 4 + 1)},
    {PGC_MSG_NEGOTIATE_VERSION, 4 + 4 + 4 + 10000},
    {PGC_MSG_AUTH, 4 + 4 + 65535},
    {PGC_MSG_PARAM_STATUS, 30000},
    {'?', 30000}, /* an unknown type */
};

static void
test_frame_type_caps(void)
{
    static const uint8_t unbounded[] = {
        PGC_MSG_DATA_ROW, PGC_MSG_COPY_DATA, PGC_MSG_FUNCTION_CALL_RESPONSE,
        PGC_MSG_ERROR,    PGC_MSG_NOTICE,
    };
    size_t i;

    for (i = 0; i < sizeof(type_caps) / sizeof(type_caps[0]); i++) {
        uint8_t t = type_caps[i].type;
        uint32_t cap = type_caps[i].cap;

        CHECK_EQ(pgc_frame_type_cap(t), cap);
        /* exactly the max: accepted (complete when it has no body) */
        test_frame_header(t, cap, 0, cap == 4 ? PGC_OK : PGC_NEED_MORE);
        /* max + 1: lost synchronization, whatever max_msg says */
        test_frame_header(t, cap + 1, 0, PGC_ERR_PROTOCOL);
        test_frame_header(t, cap + 1, (size_t)cap + 100, PGC_ERR_PROTOCOL);
    }
    for (i = 0; i < sizeof(unbounded); i++) {
        CHECK_EQ(pgc_frame_type_cap(unbounded[i]), PGC_MAX_MSG_LEN);
        test_frame_header(unbounded[i], PGC_SMALL_MSG_CAP + 1, 0,
                          PGC_NEED_MORE);
        test_frame_header(unbounded[i], 1000, 1000, PGC_NEED_MORE);
        test_frame_header(unbounded[i], 1001, 1000, PGC_ERR_LIMIT);
    }
    /* a per-type cap above max_msg: max_msg wins */
    test_frame_header(PGC_MSG_PARAM_DESCRIPTION, 1001, 1000, PGC_ERR_LIMIT);
}

/* A ParameterDescription of 65535 parameters (262 kB) frames whole, fed
 * at once and in pieces. */
static void
test_frame_max_param_description(void)
{
    PgcReader r;
    PgcMsg m;
    size_t body = 2 + 4 * 65535, total = 5 + body, off;
    uint8_t *buf = malloc(total);

    CHECK(buf != NULL);
    buf[0] = PGC_MSG_PARAM_DESCRIPTION;
    pgc_store_u32(buf + 1, (uint32_t)(body + 4));
    pgc_store_u16(buf + 5, 65535);
    for (off = 7; off < total; off += 4) {
        pgc_store_u32(buf + off, 23);
    }
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    for (off = 0; off < total; off += 7001) {
        size_t n = total - off < 7001 ? total - off : 7001;
        CHECK_EQ(pgc_reader_feed(&r, buf + off, n), PGC_OK);
        if (off + n < total) {
            CHECK_EQ(pgc_reader_next(&r, &m), PGC_NEED_MORE);
        }
    }
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_OK);
    CHECK_EQ(m.type, PGC_MSG_PARAM_DESCRIPTION);
    CHECK_EQ(m.body.n, body);
    pgc_reader_free(&r);
    free(buf);
}

static void
test_frame_errors(void)
{
    test_frame_header(PGC_MSG_READY, 0, 0, PGC_ERR_PROTOCOL);
    test_frame_header(PGC_MSG_READY, 3, 0, PGC_ERR_PROTOCOL);
    test_frame_header(PGC_MSG_READY, 4, 0, PGC_OK);
    test_frame_header(PGC_MSG_READY, 5, 0, PGC_NEED_MORE);
    test_frame_header(PGC_MSG_COMMAND_COMPLETE, 1u << 20, 0, PGC_ERR_PROTOCOL);
    test_frame_header(PGC_MSG_DATA_ROW, 0x80000000u, 0, PGC_ERR_PROTOCOL);
    test_frame_header(PGC_MSG_DATA_ROW, 0xffffffffu, 0, PGC_ERR_PROTOCOL);
    test_frame_header(PGC_MSG_DATA_ROW, 0x7fffffffu, 0, PGC_ERR_LIMIT);
    test_frame_type_caps();
    test_frame_max_param_description();
}

static void
test_frame_sticky(void)
{
    PgcReader r;
    uint8_t *p = NULL;
    size_t n = 0;
    PgcMsg m;
    uint8_t ok_msg[] = {PGC_MSG_READY, 0, 0, 0, 5, PGC_TX_IDLE};

    CHECK_EQ(header_status(PGC_MSG_READY, 3, 0, &r), PGC_ERR_PROTOCOL);
    CHECK(strstr(r.err_msg, "invalid length 3") != NULL);
    CHECK(strstr(r.err_msg, "lost synchronization") != NULL);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_reader_feed(&r, ok_msg, sizeof(ok_msg)), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_reader_space(&r, 10, &p, &n), PGC_ERR_PROTOCOL);
    pgc_reader_clear(&r);
    CHECK_EQ(pgc_reader_pending(&r), 0);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_ERR_PROTOCOL);
    pgc_reader_free(&r);

    /* A bad header seen by space() before next(). */
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    ok_msg[4] = 2;
    CHECK_EQ(pgc_reader_feed(&r, ok_msg, sizeof(ok_msg)), PGC_OK);
    CHECK_EQ(pgc_reader_space(&r, 10, &p, &n), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_ERR_PROTOCOL);
    pgc_reader_free(&r);

    /* Absurd requests are refused without touching the state. */
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    CHECK_EQ(pgc_reader_space(&r, (size_t)PTRDIFF_MAX + 1, &p, &n),
             PGC_ERR_LIMIT);
    CHECK_EQ(pgc_reader_feed(&r, ok_msg, 3), PGC_OK);
    CHECK_EQ(pgc_reader_space(&r, SIZE_MAX, &p, &n), PGC_ERR_LIMIT);
    CHECK_EQ(r.err, PGC_OK);
    CHECK_EQ(pgc_reader_pending(&r), 3);
    pgc_reader_free(&r);

    /* Committing more than the free space is API misuse, and sticky. */
    CHECK_EQ(pgc_reader_init(&r, 32), PGC_OK);
    CHECK_EQ(pgc_reader_space(&r, 1, &p, &n), PGC_OK);
    CHECK_EQ(n, 32);
    pgc_reader_commit(&r, n + 1);
    CHECK_EQ(r.err, PGC_ERR_STATE);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_ERR_STATE);
    pgc_reader_commit(&r, 1); /* ignored once failed */
    CHECK_EQ(pgc_reader_pending(&r), 0);
    pgc_reader_free(&r);
}

/* A pinned reader never moves or frees its exposed block: space() moves
 * the pending bytes to a fresh block and retires the old one. */
typedef struct {
    uint8_t *blocks[8];
    size_t n;
} Retired;

static void
retire_record(void *ctx, uint8_t *block)
{
    Retired *rt = ctx;

    CHECK(rt->n < 8);
    rt->blocks[rt->n++] = block;
}

static void
test_pinned(void)
{
    PgcReader r;
    Retired rt = {{NULL}, 0};
    uint8_t msg[] = {PGC_MSG_COMMAND_COMPLETE,
                     0,
                     0,
                     0,
                     13,
                     'S',
                     'E',
                     'L',
                     'E',
                     'C',
                     'T',
                     ' ',
                     '1',
                     0};
    uint8_t *p = NULL, *old, *exposed;
    size_t n = 0, i;
    PgcMsg m;

    CHECK_EQ(pgc_reader_init(&r, 64), PGC_OK);
    r.retire = retire_record;
    r.retire_ctx = &rt;
    CHECK_EQ(pgc_reader_feed(&r, msg, 7), PGC_OK);
    CHECK_EQ(pgc_reader_space(&r, 8, &p, &n), PGC_OK);
    exposed = p; /* what a transport was given */
    old = r.data;
    r.pinned = 1;
    /* the same request while pinned: a fresh block, pending bytes kept */
    CHECK_EQ(pgc_reader_space(&r, 8, &p, &n), PGC_OK);
    CHECK(r.data != old);
    CHECK(p >= r.data && p < r.data + r.cap);
    CHECK(p != exposed);
    CHECK_EQ(rt.n, 1);
    CHECK(rt.blocks[0] == old);
    CHECK_EQ(r.pinned, 0);
    CHECK_EQ(pgc_reader_pending(&r), 7);
    CHECK_EQ(memcmp(r.data + r.start, msg, 7), 0);
    /* the retired block is the caller's: scribbling on it changes nothing */
    memset(old, 0xee, 64);
    memcpy(p, msg + 7, sizeof(msg) - 7);
    pgc_reader_commit(&r, sizeof(msg) - 7);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_OK);
    CHECK_EQ(m.type, PGC_MSG_COMMAND_COMPLETE);
    CHECK_EQ(m.body.n, 9);
    CHECK_EQ(memcmp(m.body.p, "SELECT 1", 9), 0);
    free(old);

    /* pinned when compaction or growth would have happened */
    for (i = 0; i < 3; i++) {
        old = r.data;
        r.pinned = 1;
        CHECK_EQ(pgc_reader_space(&r, 100000 * i + 1, &p, &n), PGC_OK);
        CHECK(r.data != old);
        CHECK(n >= 100000 * i + 1);
        CHECK(rt.blocks[rt.n - 1] == old);
        free(old);
    }
    /* freed while pinned: retired, not freed */
    old = r.data;
    r.pinned = 1;
    pgc_reader_free(&r);
    CHECK(rt.blocks[rt.n - 1] == old);
    CHECK(r.data == NULL);
    free(old);

    /* pinned without a retire hook: freed (no leak under ASan) */
    CHECK_EQ(pgc_reader_init(&r, 64), PGC_OK);
    r.pinned = 1;
    CHECK_EQ(pgc_reader_space(&r, 8, &p, &n), PGC_OK);
    CHECK_EQ(r.pinned, 0);
    pgc_reader_free(&r);
}

/* One 'Z' message per 6 bytes. */
static void
ready_stream(PgcWBuf *b, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++) {
        be_ready(b, PGC_TX_IDLE);
    }
}

static size_t
drain(PgcReader *r)
{
    PgcMsg m;
    size_t n = 0;

    while (pgc_reader_next(r, &m) == PGC_OK) {
        n++;
    }
    return n;
}

/* Consumed bytes are dropped only once PGC_COMPACT_MIN accumulated. */
static void
test_compaction(void)
{
    PgcWBuf b;
    PgcReader r;
    size_t pos = 0, got = 0, chunk = 4000, compactions = 0;

    pgc_wbuf_init(&b);
    ready_stream(&b, 5000);
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    while (pos < b.len) {
        size_t k = chunk < b.len - pos ? chunk : b.len - pos;
        size_t before = r.start, pend = pgc_reader_pending(&r);
        CHECK_EQ(pgc_reader_feed(&r, b.data + pos, k), PGC_OK);
        if (r.start == 0 && before != 0) {
            compactions++;
            CHECK(before >= PGC_COMPACT_MIN || pend == 0);
        }
        else {
            CHECK_EQ(r.start, before); /* not moved below the threshold */
        }
        got += drain(&r);
        pos += k;
    }
    CHECK_EQ(got, 5000);
    CHECK(compactions >= 2);
    CHECK_EQ(r.cap, PGC_READER_INIT_CAP); /* never had to grow */
    pgc_reader_free(&r);
    pgc_wbuf_free(&b);
}

/* A large declared message makes the buffer grow once, to fit it. */
static void
test_grow_once(void)
{
    PgcReader r;
    PgcMsg m;
    uint8_t chunk[1000];
    size_t body = 100000, sent = 0, before;

    memset(chunk, 0x42, sizeof(chunk));
    chunk[0] = PGC_MSG_COPY_DATA;
    pgc_store_u32(chunk + 1, (uint32_t)(body + 4));
    talloc_install();
    CHECK_EQ(pgc_reader_init(&r, 64), PGC_OK);
    CHECK_EQ(pgc_reader_feed(&r, chunk, 20), PGC_OK);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_NEED_MORE);
    sent = 15;
    before = talloc_count();
    CHECK_EQ(pgc_reader_feed(&r, chunk + 20, 500), PGC_OK);
    CHECK_EQ(talloc_count(), before + 1);
    CHECK(r.cap >= body + 5);
    sent += 500;
    memset(chunk, 0x42, sizeof(chunk));
    while (sent < body) {
        size_t k = body - sent < sizeof(chunk) ? body - sent : sizeof(chunk);
        CHECK_EQ(pgc_reader_next(&r, &m), PGC_NEED_MORE);
        CHECK_EQ(pgc_reader_feed(&r, chunk, k), PGC_OK);
        sent += k;
    }
    CHECK_EQ(talloc_count(), before + 1);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_OK);
    CHECK_EQ(m.type, PGC_MSG_COPY_DATA);
    CHECK_EQ(m.body.n, body);
    CHECK_EQ(m.body.p[body - 1], 0x42);
    pgc_reader_free(&r);
    talloc_uninstall();
}

/* Views stay valid until the next space/feed call. */
static void
test_views(void)
{
    PgcWBuf b;
    PgcReader r;
    PgcMsg m1, m2, m3;
    PgcView tag;
    uint8_t *p = NULL;
    size_t n = 0;

    pgc_wbuf_init(&b);
    be_begin(&b, PGC_MSG_COMMAND_COMPLETE);
    be_str(&b, "INSERT 0 1");
    be_end(&b);
    be_ready(&b, PGC_TX_IDLE);
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    CHECK_EQ(pgc_reader_feed(&r, b.data, b.len), PGC_OK);
    CHECK_EQ(pgc_reader_next(&r, &m1), PGC_OK);
    CHECK_EQ(pgc_reader_next(&r, &m2), PGC_OK);
    CHECK_EQ(pgc_reader_next(&r, &m3), PGC_NEED_MORE);
    CHECK_EQ(pgc_parse_command_complete(m1.body, &tag), PGC_OK);
    CHECK_MEM(tag.p, tag.n, "INSERT 0 1", 10);
    /* An idle buffer restarts at offset 0 on the next space call. */
    CHECK_EQ(pgc_reader_space(&r, 1, &p, &n), PGC_OK);
    CHECK(p == r.data);
    CHECK_EQ(n, r.cap);
    /* min_free 0 still guarantees progress. */
    CHECK_EQ(pgc_reader_space(&r, 0, &p, &n), PGC_OK);
    CHECK(n >= 1);
    pgc_reader_free(&r);
    pgc_reader_free(&r); /* idempotent */
    pgc_wbuf_free(&b);
}

/* An idle, very large buffer is given back. */
static void
test_shrink(void)
{
    PgcReader r;
    PgcMsg m;
    uint8_t *p = NULL;
    size_t n = 0, big = 5u * 1024u * 1024u;
    uint8_t hdr[5];

    hdr[0] = PGC_MSG_COPY_DATA;
    pgc_store_u32(hdr + 1, (uint32_t)(big + 4));
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    CHECK_EQ(pgc_reader_feed(&r, hdr, 5), PGC_OK);
    CHECK_EQ(pgc_reader_space(&r, 1, &p, &n), PGC_OK);
    CHECK(n >= big);
    memset(p, 0, big);
    pgc_reader_commit(&r, big);
    CHECK_EQ(pgc_reader_next(&r, &m), PGC_OK);
    CHECK_EQ(m.body.n, big);
    CHECK_EQ(pgc_reader_space(&r, 100, &p, &n), PGC_OK);
    CHECK_EQ(r.cap, PGC_READER_INIT_CAP);
    pgc_reader_free(&r);
}

void
test_frame(void)
{
    test_frame_errors();
    test_pinned();
    test_frame_sticky();
    test_split_feed();
    test_compaction();
    test_grow_once();
    test_views();
    test_shrink();
}
