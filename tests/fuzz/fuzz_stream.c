/* fuzz_stream.c -- libFuzzer target for the backend message stream.
 *
 * Input layout: byte 0 holds the number k of chunk-size bytes (low 4 bits)
 * and the reader's initial capacity selector s (high 4 bits: 0 means the
 * default, else 2^s bytes); k bytes of chunk sizes follow (each byte + 1,
 * used in turn); the rest is the backend byte stream, fed to a PgcReader in
 * those chunks, alternating pgc_reader_feed and pgc_reader_space/commit.
 *
 * Every framed message is run through the parser for its type (iterating
 * error fields, row description fields, every column of a data row, the
 * SASL mechanism list) and through a PgcStartup machine (fixed user,
 * password and nonce) until the machine finishes or fails.  Any violation
 * of the API contract aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_build.h"
#include "../../src/core/pgc_frame.h"
#include "../../src/core/pgc_msg.h"
#include "../../src/core/pgc_startup.h"
#include "../c/pgc_dump.h"

typedef struct {
    PgcReader r;
    PgcStartup su;
    PgcWBuf out;
    DumpText text;
    int su_active;
} Harness;

/* A message handed out lies inside the buffer, just before r->start, and
 * respects the per-type caps. */
static void
check_msg(const PgcReader *r, const PgcMsg *m)
{
    FUZZ_CHECK(m->body.p >= r->data + 5);
    FUZZ_CHECK(m->body.p + m->body.n == r->data + r->start);
    FUZZ_CHECK(m->body.p[-5] == m->type);
    FUZZ_CHECK(pgc_load_u32(m->body.p - 4) == m->body.n + 4);
    FUZZ_CHECK(m->body.n + 4 <= r->max_msg);
    FUZZ_CHECK(m->body.n + 4 <= pgc_frame_type_cap(m->type));
}

/* What the machine appended is one well-framed PasswordMessage. */
static void
check_response(const PgcWBuf *out, size_t before)
{
    size_t n = out->len - before;

    FUZZ_CHECK(out->in_msg == 0);
    if (n == 0) {
        return;
    }
    FUZZ_CHECK(n >= 5);
    FUZZ_CHECK(out->data[before] == PGC_FMSG_PASSWORD);
    FUZZ_CHECK(pgc_load_u32(out->data + before + 1) == n - 1);
}

static void
step_startup(Harness *h, const PgcMsg *m)
{
    PgcStartupEvent ev = PGC_SU_EV_CONTINUE;
    PgcStatus st;

    if (!h->su_active) {
        return;
    }
    pgc_wbuf_reset(&h->out);
    st = pgc_startup_handle(&h->su, m, &h->out, &ev);
    if (st != PGC_OK) {
        FUZZ_CHECK(st < 0 && st != PGC_ERR_STATE);
        FUZZ_CHECK(h->su.phase == PGC_SU_FAILED);
        FUZZ_CHECK(h->su.err_msg[0] != 0);
        FUZZ_CHECK(memchr(h->su.err_msg, 0, sizeof(h->su.err_msg)));
        FUZZ_CHECK(h->out.len == 0 && h->out.in_msg == 0);
        h->su_active = 0;
        return;
    }
    check_response(&h->out, 0);
    if (ev == PGC_SU_EV_READY) {
        FUZZ_CHECK(h->su.phase == PGC_SU_DONE);
        h->su_active = 0;
    }
    else if (ev == PGC_SU_EV_SERVER_ERROR) {
        FUZZ_CHECK(h->su.phase == PGC_SU_FAILED);
        h->su_active = 0;
    }
    else {
        FUZZ_CHECK(ev == PGC_SU_EV_CONTINUE);
    }
}

/* A failed reader stays failed, with a message. */
static void
check_sticky(Harness *h, PgcStatus st)
{
    PgcMsg m;
    uint8_t *p = NULL;
    size_t n = 0;

    FUZZ_CHECK(st < 0);
    FUZZ_CHECK(h->r.err == st);
    FUZZ_CHECK(h->r.err_msg[0] != 0);
    FUZZ_CHECK(pgc_reader_next(&h->r, &m) == st);
    FUZZ_CHECK(pgc_reader_space(&h->r, 1, &p, &n) == st);
}

static PgcStatus
feed_chunk(Harness *h, const uint8_t *p, size_t n, int use_space)
{
    uint8_t *dst = NULL;
    size_t room = 0;
    PgcStatus st;

    if (!use_space) {
        return pgc_reader_feed(&h->r, p, n);
    }
    st = pgc_reader_space(&h->r, n, &dst, &room);
    if (st != PGC_OK) {
        return st;
    }
    FUZZ_CHECK(room >= n);
    memcpy(dst, p, n);
    pgc_reader_commit(&h->r, n);
    return h->r.err;
}

/* Pull every complete message; 0 once the reader has failed. */
static int
drain(Harness *h)
{
    PgcMsg m;
    PgcStatus st;

    while ((st = pgc_reader_next(&h->r, &m)) == PGC_OK) {
        check_msg(&h->r, &m);
        h->text.len = 0;
        (void)pgc_dump_msg(&m, &h->text);
        step_startup(h, &m);
    }
    if (st != PGC_NEED_MORE) {
        check_sticky(h, st);
        return 0;
    }
    return 1;
}

static void
run(Harness *h, const uint8_t *sizes, size_t k, const uint8_t *p, size_t n)
{
    size_t pos = 0, i = 0;

    while (pos < n) {
        size_t c = k ? (size_t)sizes[i % k] + 1 : n - pos;
        PgcStatus st;
        c = c > n - pos ? n - pos : c;
        st = feed_chunk(h, p + pos, c, (int)(i & 1));
        i++;
        if (st != PGC_OK) {
            FUZZ_CHECK(st != PGC_ERR_NOMEM);
            check_sticky(h, st);
            return;
        }
        if (!drain(h)) {
            return;
        }
        pos += c;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Harness h;
    size_t k, cap;

    if (size < 1) {
        return 0;
    }
    k = data[0] & 15u;
    cap = (data[0] >> 4) ? (size_t)1 << (data[0] >> 4) : 0;
    if (size < 1 + k) {
        return 0;
    }
    FUZZ_CHECK(pgc_reader_init(&h.r, cap) == PGC_OK);
    h.r.max_msg = FUZZ_MAX_MSG;
    pgc_startup_init(&h.su, "user", 4, "pencil", 6, NULL, 0, FUZZ_NONCE,
                     sizeof(FUZZ_NONCE) - 1, FUZZ_MAX_ITER);
    pgc_wbuf_init(&h.out);
    dump_text_init(&h.text);
    h.su_active = 1;
    run(&h, data + 1, k, data + 1 + k, size - 1 - k);
    dump_text_free(&h.text);
    pgc_wbuf_free(&h.out);
    pgc_reader_free(&h.r);
    return 0;
}
