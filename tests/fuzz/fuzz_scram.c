/* fuzz_scram.c -- libFuzzer target for the SCRAM-SHA-256 client's handling
 * of server messages, and for strict base64.
 *
 * Input layout: server-first-message, a NUL byte, server-final-message
 * (without a NUL the whole input is the server-first-message).  The client
 * (fixed nonce and password) answers the first and verifies the second.
 * Also: the whole input through the base64 decoder, whose strictness means
 * that whatever it accepts re-encodes to the same text; and the
 * server-first-message through pgc_scram_server_first_params (the salt and
 * iteration count the SaltedPassword cache is keyed by), which must agree
 * with the exchange on every message the exchange accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_scram.h"

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
    {
        uint8_t salt[PGC_SCRAM_SALT_MAX];
        size_t saltn = 0;
        uint32_t iter = 0;
        PgcStatus pst = pgc_scram_server_first_params(first, fn, salt,
                                                      sizeof(salt), &saltn,
                                                      &iter);
        /* the exchange kept the salt when it fits: so must this */
        FUZZ_CHECK(pst == (s.salt_len ? PGC_OK : PGC_ERR_LIMIT));
        if (pst == PGC_OK) {
            FUZZ_CHECK(saltn == s.salt_len &&
                       memcmp(salt, s.salt, saltn) == 0);
            FUZZ_CHECK(iter == s.iterations);
        }
    }
    FUZZ_CHECK(n < sizeof(out) && out[n] == 0 && strlen(out) == n);
    FUZZ_CHECK(strncmp(out, prefix, sizeof(prefix) - 1) == 0);
    FUZZ_CHECK(n > sizeof(prefix) - 1 + 47); /* ",p=" + 44 characters */
    st = pgc_scram_verify_server_final(&s, final, finaln);
    if (st != PGC_OK) {
        check_err(&s, st);
    }
}

/* Any input: a status from the documented set, a salt within bounds. */
static void
fuzz_params(const uint8_t *data, size_t size)
{
    uint8_t salt[PGC_SCRAM_SALT_MAX];
    size_t n = 0;
    uint32_t iter = 0;
    PgcStatus st = pgc_scram_server_first_params(data, size, salt,
                                                 sizeof(salt), &n, &iter);

    FUZZ_CHECK(st == PGC_OK || st == PGC_ERR_AUTH || st == PGC_ERR_LIMIT);
    if (st == PGC_OK) {
        FUZZ_CHECK(n >= 1 && n <= sizeof(salt) && iter >= 1);
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

    fuzz_exchange(data, fn, z ? z + 1 : data + size, z ? size - fn - 1 : 0);
    fuzz_params(data, fn);
    fuzz_base64(data, size);
    return 0;
}
