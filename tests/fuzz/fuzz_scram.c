/* fuzz_scram.c -- libFuzzer target for the SCRAM-SHA-256 client's handling
 * of server messages, and for strict base64.
 *
 * Input layout: server-first-message, a NUL byte, server-final-message
 * (without a NUL the whole input is the server-first-message).  The client
 * (fixed nonce and password) answers the first and verifies the second.
 * Also: the whole input through the base64 decoder, whose strictness means
 * that whatever it accepts re-encodes to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_auth.h"

static void
check_err(const PgcScram *s, PgcStatus st)
{
    FUZZ_CHECK(st == PGC_ERR_AUTH);
    FUZZ_CHECK(s->err_msg[0] != 0);
    FUZZ_CHECK(memchr(s->err_msg, 0, sizeof(s->err_msg)) != NULL);
}

static void
fuzz_exchange(const uint8_t *first, size_t fn, const uint8_t *final,
              size_t finaln)
{
    static const char prefix[] = "c=biws,r=" FUZZ_NONCE;
    PgcScram s;
    char out[2048];
    size_t n = 0;
    PgcStatus st;

    FUZZ_CHECK(pgc_scram_client_first(&s, FUZZ_NONCE, sizeof(FUZZ_NONCE) - 1,
                                      FUZZ_MAX_ITER, out, sizeof(out),
                                      &n) == PGC_OK);
    st = pgc_scram_client_final(&s, first, fn, "pencil", 6, out, sizeof(out),
                                &n);
    if (st != PGC_OK) {
        check_err(&s, st);
        return;
    }
    FUZZ_CHECK(n < sizeof(out) && out[n] == 0 && strlen(out) == n);
    FUZZ_CHECK(strncmp(out, prefix, sizeof(prefix) - 1) == 0);
    FUZZ_CHECK(n > sizeof(prefix) - 1 + 47); /* ",p=" + 44 characters */
    st = pgc_scram_verify_server_final(&s, final, finaln);
    if (st != PGC_OK) {
        check_err(&s, st);
    }
}

static void
fuzz_base64(const uint8_t *data, size_t size)
{
    uint8_t dec[4096];
    char enc[5600];
    size_t n = 0;
    PgcStatus st;

    if (size > 4096) {
        return;
    }
    st = pgc_base64_decode((const char *)data, size, dec, sizeof(dec), &n);
    if (st != PGC_OK) {
        FUZZ_CHECK(st == PGC_ERR_PROTOCOL);
        return;
    }
    FUZZ_CHECK(n <= size / 4 * 3);
    FUZZ_CHECK(pgc_base64_encoded_len(n) == size);
    pgc_base64_encode(dec, n, enc);
    FUZZ_CHECK(memcmp(enc, data, size) == 0 && enc[size] == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *z = size ? memchr(data, 0, size) : NULL;
    size_t fn = z ? (size_t)(z - data) : size;

    fuzz_exchange(data, fn, z ? z + 1 : data + size,
                  z ? size - fn - 1 : 0);
    fuzz_base64(data, size);
    return 0;
}
