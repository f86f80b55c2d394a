/* test_helpers.c -- the test allocator, backend message builders and the
 * shared test streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ------------------------------------------------------------------ */
/* Counting / failing allocator (installed through pgc_set_alloc).      */
/* ------------------------------------------------------------------ */

static struct {
    long budget; /* allocations left before failing; < 0: unlimited */
    size_t count;
    size_t last_size; /* size of the last request, failed or not */
    PgcAllocFuncs prev;
} talloc;

static int
talloc_take(void)
{
    if (talloc.budget == 0) {
        return 0;
    }
    if (talloc.budget > 0) {
        talloc.budget--;
    }
    talloc.count++;
    return 1;
}

static void *
talloc_malloc(size_t n)
{
    talloc.last_size = n;
    return talloc_take() ? malloc(n) : NULL;
}

static void *
talloc_realloc(void *p, size_t n)
{
    talloc.last_size = n;
    return talloc_take() ? realloc(p, n) : NULL;
}

void
talloc_install(void)
{
    PgcAllocFuncs f = {talloc_malloc, talloc_realloc, free};

    talloc.budget = -1;
    talloc.count = 0;
    talloc.prev = pgc_set_alloc(f);
}

void
talloc_uninstall(void)
{
    (void)pgc_set_alloc(talloc.prev);
}

void
talloc_fail_after(long n)
{
    talloc.budget = n;
}

size_t
talloc_count(void)
{
    return talloc.count;
}

size_t
talloc_last_size(void)
{
    return talloc.last_size;
}

/* ------------------------------------------------------------------ */
/* Backend messages.                                                   */
/* ------------------------------------------------------------------ */

/* Fixture construction: a failure here is a broken test, not a finding,
 * so it aborts instead of counting as a check. */
static void
must(PgcStatus st, const char *what)
{
    if (st != PGC_OK) {
        fprintf(stderr, "test fixture failed: %s (%d)\n", what, (int)st);
        abort();
    }
}

void
be_begin(PgcWBuf *b, uint8_t type)
{
    must(pgc_wbuf_start_msg(b, type), "start_msg");
}

void
be_end(PgcWBuf *b)
{
    must(pgc_wbuf_end_msg(b), "end_msg");
}

void
be_str(PgcWBuf *b, const char *s)
{
    must(pgc_wbuf_put_cstr(b, s, strlen(s)), "put_cstr");
}

void
be_u8(PgcWBuf *b, uint8_t v)
{
    must(pgc_wbuf_put_u8(b, v), "put_u8");
}

void
be_i16(PgcWBuf *b, int16_t v)
{
    must(pgc_wbuf_put_i16(b, v), "put_i16");
}

void
be_i32(PgcWBuf *b, int32_t v)
{
    must(pgc_wbuf_put_i32(b, v), "put_i32");
}

void
be_bytes(PgcWBuf *b, const void *p, size_t n)
{
    must(pgc_wbuf_put_bytes(b, p, n), "put_bytes");
}

void
be_auth(PgcWBuf *b, int32_t code, const void *data, size_t n)
{
    be_begin(b, PGC_MSG_AUTH);
    be_i32(b, code);
    be_bytes(b, data, n);
    be_end(b);
}

void
be_sasl_mechs(PgcWBuf *b, const char *const *mechs, size_t n)
{
    size_t i;

    be_begin(b, PGC_MSG_AUTH);
    be_i32(b, PGC_AUTH_SASL);
    for (i = 0; i < n; i++) {
        be_str(b, mechs[i]);
    }
    be_u8(b, 0);
    be_end(b);
}

void
be_param(PgcWBuf *b, const char *name, const char *value)
{
    be_begin(b, PGC_MSG_PARAM_STATUS);
    be_str(b, name);
    be_str(b, value);
    be_end(b);
}

void
be_ready(PgcWBuf *b, uint8_t status)
{
    be_begin(b, PGC_MSG_READY);
    be_u8(b, status);
    be_end(b);
}

void
be_error(PgcWBuf *b, uint8_t type, const char *sqlstate, const char *msg)
{
    be_begin(b, type);
    be_u8(b, PGC_FIELD_SEVERITY);
    be_str(b, "ERROR");
    be_u8(b, PGC_FIELD_SEVERITY_EN);
    be_str(b, "ERROR");
    be_u8(b, PGC_FIELD_SQLSTATE);
    be_str(b, sqlstate);
    be_u8(b, PGC_FIELD_MESSAGE);
    be_str(b, msg);
    be_u8(b, PGC_FIELD_DETAIL);
    be_str(b, "some detail");
    be_u8(b, PGC_FIELD_HINT);
    be_str(b, "a hint");
    be_u8(b, PGC_FIELD_POSITION);
    be_str(b, "15");
    be_u8(b, 0);
    be_end(b);
}

/* ------------------------------------------------------------------ */
/* Streams.                                                            */
/* ------------------------------------------------------------------ */

static void
be_field(PgcWBuf *b, const char *name, uint32_t type_oid, int16_t len,
         int16_t format)
{
    be_str(b, name);
    be_i32(b, 16384);
    be_i16(b, 1);
    be_i32(b, (int32_t)type_oid);
    be_i16(b, len);
    be_i32(b, -1);
    be_i16(b, format);
}

static void
be_row(PgcWBuf *b, const char *const *vals, size_t n)
{
    size_t i;

    be_begin(b, PGC_MSG_DATA_ROW);
    be_i16(b, (int16_t)n);
    for (i = 0; i < n; i++) {
        if (!vals[i]) {
            be_i32(b, -1);
            continue;
        }
        be_i32(b, (int32_t)strlen(vals[i]));
        be_bytes(b, vals[i], strlen(vals[i]));
    }
    be_end(b);
}

static void
stream_startup_part(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_OK, NULL, 0);
    be_param(b, "server_version", "16.1");
    be_param(b, "client_encoding", "UTF8");
    be_param(b, "TimeZone", "UTC");
    be_begin(b, PGC_MSG_BACKEND_KEY);
    be_i32(b, 4242);
    be_i32(b, -559038737);
    be_end(b);
    be_ready(b, PGC_TX_IDLE);
}

static void
stream_query_part(PgcWBuf *b)
{
    static const char *const r1[] = {"1", "alice", NULL};
    static const char *const r2[] = {"2", "", "x\001y"};
    static const char *const r3[] = {NULL, NULL, NULL};

    be_begin(b, PGC_MSG_ROW_DESCRIPTION);
    be_i16(b, 3);
    be_field(b, "id", 23, 4, PGC_FORMAT_BINARY);
    be_field(b, "name", 25, -1, PGC_FORMAT_TEXT);
    be_field(b, "", 25, -1, PGC_FORMAT_TEXT);
    be_end(b);
    be_row(b, r1, 3);
    be_row(b, r2, 3);
    be_row(b, r3, 3);
    be_row(b, NULL, 0);
    be_begin(b, PGC_MSG_COMMAND_COMPLETE);
    be_str(b, "SELECT 4");
    be_end(b);
    be_ready(b, PGC_TX_INTRANS);
}

static void
stream_misc_part(PgcWBuf *b)
{
    static const uint8_t empty_types[] = {
        PGC_MSG_PARSE_COMPLETE,   PGC_MSG_BIND_COMPLETE,
        PGC_MSG_NO_DATA,          PGC_MSG_EMPTY_QUERY,
        PGC_MSG_PORTAL_SUSPENDED, PGC_MSG_CLOSE_COMPLETE,
    };
    size_t i;

    be_error(b, PGC_MSG_ERROR, "42P01", "relation \"nope\" does not exist");
    be_error(b, PGC_MSG_NOTICE, "00000", "just so you know");
    be_begin(b, PGC_MSG_NOTIFICATION);
    be_i32(b, 77);
    be_str(b, "chan");
    be_str(b, "payload");
    be_end(b);
    for (i = 0; i < sizeof(empty_types); i++) {
        be_begin(b, empty_types[i]);
        be_end(b);
    }
    be_begin(b, PGC_MSG_PARAM_DESCRIPTION);
    be_i16(b, 2);
    be_i32(b, 23);
    be_i32(b, 25);
    be_end(b);
    be_begin(b, PGC_MSG_COPY_OUT_RESPONSE);
    be_u8(b, PGC_FORMAT_BINARY);
    be_i16(b, 2);
    be_i16(b, PGC_FORMAT_BINARY);
    be_i16(b, PGC_FORMAT_BINARY);
    be_end(b);
    be_begin(b, PGC_MSG_COPY_DATA);
    be_bytes(b, "row\0data", 8);
    be_end(b);
    be_begin(b, PGC_MSG_COPY_DONE);
    be_end(b);
    be_ready(b, PGC_TX_INERROR);
}

void
stream_session(PgcWBuf *b)
{
    stream_startup_part(b);
    stream_query_part(b);
    stream_misc_part(b);
}

/* Messages above PGC_SMALL_MSG_CAP, of the types allowed to be long. */
void
stream_big_values(PgcWBuf *b)
{
    size_t n = 40000, i;
    char *big = malloc(n + 1);
    const char *row[2];

    if (!big) {
        abort();
    }
    for (i = 0; i < n; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[n] = 0;
    row[0] = big;
    row[1] = "tail";
    be_row(b, row, 2);
    be_error(b, PGC_MSG_NOTICE, "01000", big + 5000);
    be_begin(b, PGC_MSG_COMMAND_COMPLETE);
    be_str(b, "SELECT 1");
    be_end(b);
    free(big);
}

void
stream_scram(PgcWBuf *b, const char *server_first, const char *server_final)
{
    /* what a server offers over a connection without TLS */
    static const char *const mechs[] = {"SCRAM-SHA-256"};

    be_sasl_mechs(b, mechs, 1);
    be_auth(b, PGC_AUTH_SASL_CONTINUE, server_first, strlen(server_first));
    be_auth(b, PGC_AUTH_SASL_FINAL, server_final, strlen(server_final));
    stream_startup_part(b);
    stream_query_part(b);
}

void
scram_server_final_for(const char *server_first, char *out, size_t cap)
{
    PgcScram s;
    char first[256], final[256];
    size_t n = 0;

    CHECK_EQ(pgc_scram_client_first(&s, TEST_NONCE, strlen(TEST_NONCE), 0,
                                    first, sizeof(first), &n),
             PGC_OK);
    CHECK_EQ(pgc_scram_client_final(&s, (const uint8_t *)server_first,
                                    strlen(server_first), "pencil", 6, final,
                                    sizeof(final), &n),
             PGC_OK);
    if (cap < 3 + pgc_base64_encoded_len(PGC_SHA256_LEN)) {
        abort();
    }
    memcpy(out, "v=", 2);
    pgc_base64_encode(s.server_signature, PGC_SHA256_LEN, out + 2);
}
