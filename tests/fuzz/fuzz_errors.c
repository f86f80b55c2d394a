/* fuzz_errors.c -- libFuzzer target for ErrorResponse/NoticeResponse
 * field parsing (pgc_parse_error_field_next) and for what the binding
 * builds from it.
 *
 * Input layout: byte 0 holds flags (bit 0: 'N' rather than 'E'; bit 1:
 * the declared length is the next 4 input bytes instead of the body's;
 * bits 2-7: the chunk size used to feed the framed message, 0 meaning the
 * whole message at once); the rest is the message body.
 *
 * Three passes over the body:
 *   1. the field iterator alone: every value is a view inside the body,
 *      NUL-terminated there with no NUL inside, the cursor advances by
 *      exactly code + value + NUL, and the walk ends with PGC_NEED_MORE
 *      (the terminator) or PGC_ERR_PROTOCOL (no terminator / unterminated
 *      value) -- never more iterations than bytes;
 *   2. the binding's view (src/ext/errors.c pgw_fields_from_msg and
 *      pgwire/exceptions/_base.py FIELD_MAP): a dict {code: value} where a
 *      duplicated code keeps the last value, a mangled field keeps what was
 *      read before it, every value decoded as UTF-8 with U+FFFD
 *      replacement; then every accessor the exceptions use (severity,
 *      severity_en, sqlstate and its class, message, detail, hint,
 *      position, internal position/query, context, schema/table/column/
 *      data type/constraint names, source file/line/function) and the
 *      message text as str(exc) formats it;
 *   3. the framed message ('E' or 'N', length, body) through a PgcReader
 *      in fuzz-chosen chunks, then through pgc_dump_msg and a PgcStartup
 *      machine (an ErrorResponse ends startup with a server error, a
 *      NoticeResponse is passed through).
 * Any violation of the API contract aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_frame.h"
#include "../../src/core/pgc_msg.h"
#include "../../src/core/pgc_parse.h"
#include "../../src/core/pgc_startup.h"
#include "../c/pgc_dump.h"

/* The field codes the exceptions map to attributes (FIELD_MAP). */
static const char field_codes[] = "SVCMDHPpqWstcdnFLR";

typedef struct {
    PgcView v[256]; /* last value per code (dict semantics) */
    uint8_t seen[256];
    size_t nfields; /* fields read, duplicates included */
    size_t ndup;
} Fields;

/* ---- pass 1: the iterator ------------------------------------------- */

static PgcStatus
walk_fields(PgcView body, Fields *f)
{
    PgcCur c = pgc_cur_make(body.p, body.n);
    const uint8_t *end = body.p + body.n;
    size_t iters = 0;
    PgcStatus st;

    memset(f, 0, sizeof(*f));
    for (;;) {
        const uint8_t *before = c.p;
        uint8_t code = 0xAA;
        PgcView v = {NULL, 0};

        st = pgc_parse_error_field_next(&c, &code, &v);
        FUZZ_CHECK(c.end == end && c.p >= before && c.p <= end);
        if (st != PGC_OK) {
            break;
        }
        iters++;
        FUZZ_CHECK(iters <= body.n / 2);
        FUZZ_CHECK(code != 0 && *before == code);
        FUZZ_CHECK(v.p == before + 1);
        FUZZ_CHECK(v.p + v.n < end && v.p[v.n] == 0);
        FUZZ_CHECK(memchr(v.p, 0, v.n) == NULL);
        FUZZ_CHECK(c.p == v.p + v.n + 1);
        if (f->seen[code]) {
            f->ndup++;
        }
        f->seen[code] = 1;
        f->v[code] = v;
        f->nfields++;
    }
    if (st == PGC_NEED_MORE) {
        /* the terminator was read; the message may still have trailing
         * bytes, which pgc_parse_end reports */
        FUZZ_CHECK(c.p > body.p && c.p[-1] == 0);
        FUZZ_CHECK((pgc_parse_end(&c) == PGC_OK) == (c.p == end));
    }
    else {
        FUZZ_CHECK(st == PGC_ERR_PROTOCOL);
        /* either nothing was left for a code byte, or a value has no NUL
         * before the end of the body */
        FUZZ_CHECK(c.p == end || memchr(c.p, 0, (size_t)(end - c.p)) == NULL);
    }
    return st;
}

/* ---- pass 2: what the binding and the exceptions see ---------------- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if the
 * bytes there are not one; *cp receives the code point.  Strict as
 * CPython's decoder: no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
static size_t
utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0];
    size_t len, i;
    uint32_t v, min;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2, v = b & 0x1Fu, min = 0x80;
    }
    else if (b >= 0xE0 && b <= 0xEF) {
        len = 3, v = b & 0x0Fu, min = 0x800;
    }
    else if (b >= 0xF0 && b <= 0xF4) {
        len = 4, v = b & 0x07u, min = 0x10000;
    }
    else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return 0;
    }
    *cp = v;
    return len;
}

/* PyUnicode_DecodeUTF8(p, n, "replace"): the number of code points, and
 * how many of them are U+FFFD replacements.  Every byte is consumed. */
static size_t
decode_replace(PgcView v, size_t *nrepl)
{
    size_t i = 0, chars = 0;
    uint32_t cp = 0;

    *nrepl = 0;
    while (i < v.n) {
        size_t len = utf8_seq(v.p + i, v.n - i, &cp);
        if (len == 0) {
            len = 1; /* one U+FFFD per invalid byte, at most */
            (*nrepl)++;
        }
        FUZZ_CHECK(len <= v.n - i);
        i += len;
        chars++;
    }
    FUZZ_CHECK(i == v.n && chars <= v.n && *nrepl <= chars);
    return chars;
}

/* The SQLSTATE class lookup: five characters of [0-9A-Z], else the
 * class is unknown (UnknownPostgresError). */
static int
sqlstate_ok(PgcView v)
{
    size_t i;

    if (v.n != 5) {
        return 0;
    }
    for (i = 0; i < 5; i++) {
        uint8_t ch = v.p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z'))) {
            return 0;
        }
    }
    return 1;
}

/* A position as a client would use it: a decimal 1-based character
 * offset into the query; -1 when not a number or out of int range. */
static long
position_value(PgcView v)
{
    long x = 0;
    size_t i;

    if (v.n == 0 || v.n > 10) {
        return -1;
    }
    for (i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            return -1;
        }
        x = x * 10 + (v.p[i] - '0');
    }
    return x <= 0x7fffffffL ? x : -1;
}

static size_t
accessors(const Fields *f)
{
    size_t total = 0, nrepl = 0, i;
    PgcView none = {NULL, 0};

    for (i = 0; i < sizeof(field_codes) - 1; i++) {
        uint8_t code = (uint8_t)field_codes[i];
        PgcView v = f->seen[code] ? f->v[code] : none;
        if (v.p) {
            total += decode_replace(v, &nrepl);
        }
    }
    /* the dict keys: one key per distinct code.  Any byte but 0 can be a
     * code; the binding makes a one-character str of it, which must not
     * fail for a byte outside ASCII (it did: PyDict_SetItemString decodes
     * the key as UTF-8 -- a finding of this harness's review, reported) */
    for (i = 1; i < 256; i++) {
        if (f->seen[i]) {
            total++;
        }
    }
    if (f->seen['C']) {
        (void)sqlstate_ok(f->v['C']);
    }
    if (f->seen['P']) {
        (void)position_value(f->v['P']);
    }
    if (f->seen['p']) {
        (void)position_value(f->v['p']);
    }
    /* str(exc): message, then "\nDETAIL:  ", "\nHINT:  " when set */
    if (f->seen['M']) {
        total += decode_replace(f->v['M'], &nrepl);
    }
    if (f->seen['D'] && f->v['D'].n) {
        total += 10 + decode_replace(f->v['D'], &nrepl);
    }
    if (f->seen['H'] && f->v['H'].n) {
        total += 8 + decode_replace(f->v['H'], &nrepl);
    }
    return total;
}

/* ---- pass 3: framed, chunked, through the reader and startup -------- */

static void
frame_and_read(uint8_t type, PgcView body, int raw_len, uint32_t declared,
               size_t chunk, const Fields *f, PgcStatus walk_st)
{
    PgcReader r;
    PgcStartup su;
    PgcWBuf out;
    DumpText text;
    PgcMsg m;
    uint8_t *buf;
    size_t n = body.n + 5, pos = 0;
    PgcStatus st = PGC_NEED_MORE;
    int got = 0;

    buf = malloc(n);
    FUZZ_CHECK(buf != NULL);
    buf[0] = type;
    pgc_store_u32(buf + 1, raw_len ? declared : (uint32_t)(body.n + 4));
    if (body.n) {
        memcpy(buf + 5, body.p, body.n);
    }
    FUZZ_CHECK(pgc_reader_init(&r, chunk ? 64 : 0) == PGC_OK);
    r.max_msg = FUZZ_MAX_MSG;
    pgc_wbuf_init(&out);
    dump_text_init(&text);
    pgc_startup_init(&su, "user", 4, "pencil", 6, NULL, 0, FUZZ_NONCE,
                     sizeof(FUZZ_NONCE) - 1, FUZZ_MAX_ITER);

    while (pos < n) {
        size_t c = chunk ? chunk : n;
        c = c > n - pos ? n - pos : c;
        st = pgc_reader_feed(&r, buf + pos, c);
        pos += c;
        if (st != PGC_OK) {
            break;
        }
        while ((st = pgc_reader_next(&r, &m)) == PGC_OK) {
            PgcStartupEvent ev = PGC_SU_EV_CONTINUE;
            PgcStatus sst;
            FUZZ_CHECK(m.body.p >= r.data + 5 &&
                       m.body.p + m.body.n <= r.data + r.end);
            if (!raw_len) {
                FUZZ_CHECK(!got);
                FUZZ_CHECK(m.body.n == body.n &&
                           memcmp(m.body.p, body.p, body.n) == 0);
            }
            text.len = 0;
            if (pgc_dump_msg(&m, &text) == PGC_OK && !raw_len) {
                /* the dump accepts exactly the well-formed bodies */
                FUZZ_CHECK(walk_st == PGC_NEED_MORE);
            }
            if (got++) {
                /* with a declared length shorter than the body, the rest
                 * of the input frames further messages of any type */
                FUZZ_CHECK(raw_len);
                continue;
            }
            FUZZ_CHECK(m.type == type);
            pgc_wbuf_reset(&out);
            sst = pgc_startup_handle(&su, &m, &out, &ev);
            FUZZ_CHECK(sst == PGC_OK && out.len == 0);
            if (type == PGC_MSG_ERROR) {
                FUZZ_CHECK(ev == PGC_SU_EV_SERVER_ERROR);
                FUZZ_CHECK(su.phase == PGC_SU_FAILED);
            }
            else {
                FUZZ_CHECK(ev == PGC_SU_EV_CONTINUE);
            }
        }
        if (st != PGC_NEED_MORE) {
            break;
        }
    }
    if (!raw_len) {
        /* a correct frame within the cap always comes out, whole */
        FUZZ_CHECK(body.n + 4 > FUZZ_MAX_MSG ||
                   (got == 1 && st == PGC_NEED_MORE));
    }
    if (st != PGC_OK && st != PGC_NEED_MORE) {
        FUZZ_CHECK(st < 0 && r.err == st && r.err_msg[0] != 0);
    }
    (void)f;
    dump_text_free(&text);
    pgc_wbuf_free(&out);
    pgc_reader_free(&r);
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Fields f;
    PgcView body;
    uint8_t flags, type;
    uint32_t declared = 0;
    int raw_len;
    size_t chunk;
    PgcStatus st;
    static const uint8_t empty[1] = {0};

    if (size < 1) {
        return 0;
    }
    flags = data[0];
    type = (flags & 1) ? PGC_MSG_NOTICE : PGC_MSG_ERROR;
    raw_len = (flags & 2) != 0;
    chunk = (size_t)(flags >> 2);
    data++, size--;
    if (raw_len) {
        if (size < 4) {
            return 0;
        }
        declared = pgc_load_u32(data);
        data += 4, size -= 4;
    }
    body.p = size ? data : empty;
    body.n = size;

    st = walk_fields(body, &f);
    FUZZ_CHECK(f.nfields >= f.ndup);
    (void)accessors(&f);
    frame_and_read(type, body, raw_len, declared, chunk, &f, st);
    return 0;
}
