/* test_corpus.c -- writes the fuzz seed corpus (test_core --write-corpus
 * DIR): DIR/stream/ for fuzz_stream and DIR/scram/ for fuzz_scram.
 *
 * Stream seed layout (see tests/fuzz/fuzz_stream.c): byte 0 holds the
 * number k of chunk-size bytes (low 4 bits) and the reader's initial
 * capacity selector (high 4 bits); k bytes of chunk sizes follow (each
 * byte + 1); the rest is the backend byte stream.
 *
 * SCRAM seed layout (tests/fuzz/fuzz_scram.c): server-first-message, a
 * NUL byte, server-final-message.
 */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* i=16 keeps the fuzzers fast; the stream and SCRAM harnesses allow up
 * to 64 iterations. */
#define FAST_SERVER_FIRST                                   \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=16"

static int
write_file(const char *dir, const char *sub, const char *name,
           const uint8_t *head, size_t hn, const uint8_t *p, size_t n)
{
    char path[512];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    ok = fwrite(head, 1, hn, f) == hn && fwrite(p, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : 1;
}

static int
write_stream(const char *dir, const char *name, const uint8_t *head, size_t hn,
             PgcWBuf *b)
{
    int rc = write_file(dir, "stream", name, head, hn, b->data, b->len);

    pgc_wbuf_reset(b);
    return rc;
}

static int
write_auth_streams(const char *dir, PgcWBuf *b)
{
    static const uint8_t whole[1] = {0x00};
    static const uint8_t salt[4] = {0x12, 0x34, 0x56, 0x78};
    char final[128];
    int rc = 0;

    be_auth(b, PGC_AUTH_CLEARTEXT, NULL, 0);
    stream_session(b);
    rc |= write_stream(dir, "cleartext", whole, 1, b);
    be_auth(b, PGC_AUTH_MD5, salt, 4);
    stream_session(b);
    rc |= write_stream(dir, "md5", whole, 1, b);
    scram_server_final_for(FAST_SERVER_FIRST, final, sizeof(final));
    stream_scram(b, FAST_SERVER_FIRST, final);
    rc |= write_stream(dir, "scram_fast", whole, 1, b);
    stream_scram(b, TEST_SERVER_FIRST,
                 "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=");
    rc |= write_stream(dir, "scram_rfc7677", whole, 1, b);
    stream_scram(b, FAST_SERVER_FIRST, "e=invalid-proof");
    rc |= write_stream(dir, "scram_error", whole, 1, b);
    be_auth(b, PGC_AUTH_CLEARTEXT, NULL, 0);
    be_error(b, PGC_MSG_ERROR, "28P01", "password authentication failed");
    rc |= write_stream(dir, "auth_failed", whole, 1, b);
    be_auth(b, PGC_AUTH_GSS, NULL, 0);
    rc |= write_stream(dir, "gss", whole, 1, b);
    return rc;
}

static int
write_scram(const char *dir, const char *name, const char *first,
            const char *final)
{
    uint8_t buf[1024];
    size_t a = strlen(first), b = strlen(final);

    memcpy(buf, first, a);
    buf[a] = 0;
    memcpy(buf + a + 1, final, b);
    return write_file(dir, "scram", name, buf, a + 1 + b, NULL, 0);
}

int
write_corpus(const char *dir)
{
    static const uint8_t whole[1] = {0x00};
    static const uint8_t chunks[4] = {0x43, 2, 6, 0}; /* cap 16, 3 sizes */
    static const uint8_t bytewise[2] = {0x01, 0};     /* 1 byte at a time */
    PgcWBuf b;
    char final[128];
    int rc = 0;

    pgc_wbuf_init(&b);
    stream_session(&b);
    rc |= write_stream(dir, "session", whole, 1, &b);
    stream_session(&b);
    stream_big_values(&b);
    rc |= write_stream(dir, "session_big_chunks", chunks, 4, &b);
    stream_session(&b);
    rc |= write_stream(dir, "session_bytewise", bytewise, 2, &b);
    rc |= write_auth_streams(dir, &b);
    pgc_wbuf_free(&b);
    scram_server_final_for(FAST_SERVER_FIRST, final, sizeof(final));
    rc |= write_scram(dir, "ok_fast", FAST_SERVER_FIRST, final);
    rc |= write_scram(dir, "server_error", FAST_SERVER_FIRST,
                      "e=invalid-proof");
    rc |= write_scram(dir, "bad_nonce",
                      "r=XOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                      "i=16",
                      "v=AAAA");
    rc |= write_scram(dir, "mext", "m=x," FAST_SERVER_FIRST, "v=AAAA");
    if (rc == 0) {
        printf("corpus written to %s/stream and %s/scram\n", dir, dir);
    }
    return rc;
}
