/* test_oom.c -- out-of-memory paths, through the failing allocator: every
 * allocation of a run is made to fail in turn. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Feed the stream in 50-byte chunks, failing the k-th allocation.  On
 * PGC_ERR_NOMEM (never any other error) the allocator is healed and the
 * same chunk retried: the reader must have stayed consistent, so the
 * transcript must still equal want.  Returns 1 if a failure was hit. */
static int
oom_reader_run(const uint8_t *p, size_t n, const DumpText *want, long k)
{
    PgcReader r;
    PgcMsg m;
    DumpText t;
    size_t pos = 0;
    int hit = 0;
    PgcStatus st;

    talloc_fail_after(k);
    st = pgc_reader_init(&r, 8);
    if (st != PGC_OK) {
        CHECK_EQ(st, PGC_ERR_NOMEM);
        pgc_reader_free(&r);
        talloc_fail_after(-1);
        return 1;
    }
    dump_text_init(&t);
    while (pos < n) {
        size_t c = n - pos < 50 ? n - pos : 50;
        st = pgc_reader_feed(&r, p + pos, c);
        if (st == PGC_ERR_NOMEM) {
            hit = 1;
            talloc_fail_after(-1);
            continue;
        }
        if (st != PGC_OK) {
            break;
        }
        while (pgc_reader_next(&r, &m) == PGC_OK) {
            pgc_dump_msg(&m, &t);
        }
        pos += c;
    }
    CHECK(pos == n && t.len == want->len && memcmp(t.p, want->p, t.len) == 0);
    dump_text_free(&t);
    pgc_reader_free(&r);
    talloc_fail_after(-1);
    return hit;
}

static void
test_oom_reader(void)
{
    PgcWBuf b;
    PgcReader r;
    PgcMsg m;
    DumpText want;
    long k;

    pgc_wbuf_init(&b);
    stream_session(&b);
    stream_big_values(&b);
    dump_text_init(&want);
    CHECK_EQ(pgc_reader_init(&r, 0), PGC_OK);
    CHECK_EQ(pgc_reader_feed(&r, b.data, b.len), PGC_OK);
    while (pgc_reader_next(&r, &m) == PGC_OK) {
        pgc_dump_msg(&m, &want);
    }
    pgc_reader_free(&r);
    talloc_install();
    for (k = 0; k < 100 && oom_reader_run(b.data, b.len, &want, k); k++) {
    }
    CHECK(k > 2);   /* several allocations were failed in turn */
    CHECK(k < 100); /* and a run eventually needed no more */
    talloc_uninstall();
    dump_text_free(&want);
    pgc_wbuf_free(&b);
}

/* Queue many messages, failing the k-th allocation: a failed builder
 * leaves exactly what was queued before it. */
static int
oom_wbuf_run(long k, const PgcWBuf *want)
{
    static const uint32_t oids[3] = {23, 25, 16};
    static const int16_t fmts[1] = {PGC_FORMAT_BINARY};
    PgcWBuf b;
    PgcStr sql = {"SELECT $1::int, $2::text, $3::bool", 34};
    PgcStr name = {"stmt_1", 6};
    PgcStatus st = PGC_OK;
    size_t mark = 0;
    int i, hit = 0;

    pgc_wbuf_init(&b);
    talloc_fail_after(k);
    for (i = 0; i < 60 && st == PGC_OK; i++) {
        mark = b.len;
        st = pgc_build_parse(&b, name, sql, oids, 3);
        if (st == PGC_OK) {
            mark = b.len;
            st = pgc_build_bind_start(&b, name, name, 1, fmts, 0);
        }
        if (st == PGC_OK) {
            st = pgc_build_bind_end(&b, 1, fmts);
        }
        if (st != PGC_OK) {
            pgc_wbuf_truncate(&b, mark);
        }
    }
    if (st != PGC_OK) {
        hit = 1;
        CHECK_EQ(st, PGC_ERR_NOMEM);
        CHECK_EQ(b.len, mark);
        CHECK_EQ(b.in_msg, 0);
        CHECK_MEM(b.data, b.len, want->data, mark);
    }
    else {
        CHECK_MEM(b.data, b.len, want->data, want->len);
    }
    talloc_fail_after(-1);
    pgc_wbuf_free(&b);
    return hit;
}

/* The messages oom_wbuf_run queues, with nothing failing. */
static void
oom_wbuf_reference(PgcWBuf *want)
{
    static const uint32_t oids[3] = {23, 25, 16};
    static const int16_t fmts[1] = {PGC_FORMAT_BINARY};
    PgcStr sql = {"SELECT $1::int, $2::text, $3::bool", 34};
    PgcStr name = {"stmt_1", 6};
    int i;

    for (i = 0; i < 60; i++) {
        CHECK_EQ(pgc_build_parse(want, name, sql, oids, 3), PGC_OK);
        CHECK_EQ(pgc_build_bind_start(want, name, name, 1, fmts, 0), PGC_OK);
        CHECK_EQ(pgc_build_bind_end(want, 1, fmts), PGC_OK);
    }
}

static void
test_oom_wbuf(void)
{
    PgcWBuf want;
    long k;

    pgc_wbuf_init(&want);
    oom_wbuf_reference(&want);
    talloc_install();
    for (k = 0; k < 50 && oom_wbuf_run(k, &want); k++) {
    }
    CHECK(k > 1);
    CHECK(k < 50);
    talloc_uninstall();
    pgc_wbuf_free(&want);
}

void
test_oom(void)
{
    test_oom_reader();
    test_oom_wbuf();
}
