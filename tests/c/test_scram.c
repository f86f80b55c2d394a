/* test_scram.c -- the SCRAM-SHA-256 client against RFC 7677's exchange,
 * and every check it makes on the server's messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define SALT_ITER ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define SERVER_NONCE TEST_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

static void
scram_start(PgcScram *s, uint32_t max_iter)
{
    char out[256];
    size_t n = 0;

    CHECK_EQ(pgc_scram_client_first(s, TEST_NONCE, strlen(TEST_NONCE),
                                    max_iter, out, sizeof(out), &n),
             PGC_OK);
    CHECK_STR(out, "n,,n=,r=" TEST_NONCE);
    CHECK_EQ(n, strlen(out));
}

static PgcStatus
scram_final(PgcScram *s, const char *sf, char *out, size_t cap)
{
    size_t n = 0;

    return pgc_scram_client_final(s, (const uint8_t *)sf, strlen(sf), "pencil",
                                  6, out, cap, &n);
}

static PgcStatus
scram_verify(PgcScram *s, const char *msg)
{
    return pgc_scram_verify_server_final(s, (const uint8_t *)msg, strlen(msg));
}

/* RFC 7677 section 3.  The RFC's client sends "n=user"; PostgreSQL's
 * protocol sends an empty name ("n="), so for the RFC vector the kept
 * client-first-message-bare is rewritten to the RFC's. */
static void
test_scram_rfc7677(void)
{
    static const char bare[] = "n=user,r=" TEST_NONCE;
    PgcScram s;
    char out[256];
    size_t n = 0;

    scram_start(&s, 0);
    memcpy(s.client_first_bare, bare, sizeof(bare) - 1);
    s.client_first_bare_len = sizeof(bare) - 1;
    CHECK_EQ(pgc_scram_client_final(&s, (const uint8_t *)TEST_SERVER_FIRST,
                                    strlen(TEST_SERVER_FIRST), "pencil", 6,
                                    out, sizeof(out), &n),
             PGC_OK);
    CHECK_STR(out, "c=biws,r=" SERVER_NONCE
                   ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    CHECK_EQ(n, strlen(out));
    CHECK_EQ(scram_verify(&s,
                          "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
             PGC_OK);
}

/* The same exchange as PostgreSQL runs it ("n=,r=..."); expected values
 * computed independently (Python hashlib/hmac). */
static void
test_scram_pg_exchange(void)
{
    PgcScram s;
    char out[256];

    scram_start(&s, 4096);
    CHECK_EQ(scram_final(&s, TEST_SERVER_FIRST, out, sizeof(out)), PGC_OK);
    CHECK_STR(out, "c=biws,r=" SERVER_NONCE
                   ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=");
    CHECK_EQ(scram_verify(&s,
                          "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg="),
             PGC_OK);
    /* The output buffer must hold the whole message. */
    scram_start(&s, 4096);
    CHECK_EQ(scram_final(&s, TEST_SERVER_FIRST, out, 100), PGC_ERR_LIMIT);
}

static void
first_fails(const char *sf, uint32_t max_iter, const char *msg)
{
    PgcScram s;
    char out[256];

    scram_start(&s, max_iter);
    CHECK_EQ(scram_final(&s, sf, out, sizeof(out)), PGC_ERR_AUTH);
    CHECK_STR(s.err_msg, msg);
    /* No server-final-message is accepted after a failed exchange, not
     * even one carrying the all-zero signature. */
    CHECK_EQ(scram_verify(&s,
                          "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
             PGC_ERR_STATE);
}

static void
test_scram_bad_first(void)
{
    static const char *const not_canonical[] = {
        "4a", "04096", "+4096", "", "-1", " 4096", "4096 ", "00", "1e3",
    };
    const char *canon = "SCRAM: iteration count is not a canonical decimal "
                        "integer";
    char sf[200];
    size_t i;

    first_fails("r=XOprNGfwEbeRWgbNEkqO%hvY" SALT_ITER, 0,
                "SCRAM: server nonce does not start with the client nonce");
    first_fails("r=rOprNGfw" SALT_ITER, 0,
                "SCRAM: server nonce does not start with the client nonce");
    first_fails("r=" TEST_NONCE SALT_ITER, 0,
                "SCRAM: server nonce does not extend the client nonce");
    first_fails("r=" TEST_NONCE "\x01x" SALT_ITER, 0,
                "SCRAM: server nonce contains invalid characters");
    first_fails("r=" SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", 0,
                "SCRAM: iteration count 0 is invalid");
    for (i = 0; i < sizeof(not_canonical) / sizeof(*not_canonical); i++) {
        snprintf(sf, sizeof(sf), "r=%s,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=%s",
                 SERVER_NONCE, not_canonical[i]);
        first_fails(sf, 0, canon);
    }
    first_fails("r=" SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=789123456", 0,
                "SCRAM: iteration count 789123456 exceeds the limit of "
                "100000");
    first_fails("r=" SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100001", 0,
                "SCRAM: iteration count 100001 exceeds the limit of 100000");
    first_fails("r=" SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4097", 4096,
                "SCRAM: iteration count 4097 exceeds the limit of 4096");
    first_fails("r=" SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                "i=99999999999999999999999999999",
                0,
                "SCRAM: iteration count 999999999999999999999999... "
                "exceeds the limit of 100000");
}

static void
test_scram_bad_first_syntax(void)
{
    const char *malformed = "SCRAM: malformed server-first-message";
    char sf[1200];

    first_fails("r=" SERVER_NONCE ",s=!!!!,i=4096", 0, "SCRAM: invalid salt");
    first_fails("r=" SERVER_NONCE ",s=,i=4096", 0, "SCRAM: invalid salt");
    first_fails("m=ext,r=" SERVER_NONCE SALT_ITER, 0,
                "SCRAM: server requires an unsupported extension");
    first_fails("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" SERVER_NONCE ",i=4096", 0,
                malformed);
    first_fails("r=" SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==", 0, malformed);
    first_fails("r=" SERVER_NONCE SALT_ITER ",x=1", 0, malformed);
    first_fails("r=" SERVER_NONCE SALT_ITER ",", 0, malformed);
    first_fails("", 0, malformed);
    first_fails("r", 0, malformed);
    memset(sf, 'a', sizeof(sf));
    memcpy(sf, "r=" TEST_NONCE, 22);
    sf[sizeof(sf) - 1] = 0;
    first_fails(sf, 0, malformed); /* too long */
    {
        /* A NUL inside the message. */
        PgcScram s;
        char out[256];
        size_t n = 0;
        static const char nul[] = "r=" SERVER_NONCE "\0" SALT_ITER;
        scram_start(&s, 0);
        CHECK_EQ(pgc_scram_client_final(&s, (const uint8_t *)nul,
                                        sizeof(nul) - 1, "pencil", 6, out,
                                        sizeof(out), &n),
                 PGC_ERR_AUTH);
        CHECK_STR(s.err_msg, malformed);
    }
}

static void
final_fails(const char *msg, const char *err)
{
    PgcScram s;
    char out[256];

    scram_start(&s, 4096);
    CHECK_EQ(scram_final(&s, TEST_SERVER_FIRST, out, sizeof(out)), PGC_OK);
    CHECK_EQ(scram_verify(&s, msg), PGC_ERR_AUTH);
    CHECK_STR(s.err_msg, err);
}

static void
test_scram_bad_final(void)
{
    const char *malformed = "SCRAM: malformed server-final-message";

    final_fails("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "SCRAM: server signature mismatch");
    /* The RFC's signature is for "n=user": not ours. */
    final_fails("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
                "SCRAM: server signature mismatch");
    final_fails("e=invalid-proof", "SCRAM: server error: invalid-proof");
    final_fails("e=bad\x01\xff", "SCRAM: server error: bad??");
    final_fails("v=!!!!", malformed);
    final_fails("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", malformed);
    final_fails("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=,x=1",
                malformed);
    final_fails("x=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=", malformed);
    final_fails("", malformed);
    final_fails("v", malformed);
}

static void
test_scram_misuse(void)
{
    PgcScram s;
    char out[256], long_nonce[200];
    size_t n = 0;

    memset(&s, 0, sizeof(s));
    CHECK_EQ(scram_final(&s, TEST_SERVER_FIRST, out, sizeof(out)),
             PGC_ERR_STATE);
    CHECK_EQ(scram_verify(&s, "v=AAAA"), PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first(&s, "", 0, 0, out, sizeof(out), &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first(&s, "a,b", 3, 0, out, sizeof(out), &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first(&s, "a b", 3, 0, out, sizeof(out), &n),
             PGC_ERR_STATE);
    CHECK(s.err_msg[0] != 0);
    memset(long_nonce, 'n', sizeof(long_nonce));
    CHECK_EQ(pgc_scram_client_first(&s, long_nonce, PGC_SCRAM_NONCE_MAX, 0,
                                    out, sizeof(out), &n),
             PGC_OK);
    CHECK_EQ(pgc_scram_client_first(&s, long_nonce, PGC_SCRAM_NONCE_MAX + 1, 0,
                                    out, sizeof(out), &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first(&s, TEST_NONCE, 20, 0, out, 28, &n),
             PGC_ERR_LIMIT);
    CHECK_EQ(pgc_scram_client_first(&s, TEST_NONCE, 20, 0, out, 29, &n),
             PGC_OK);
    CHECK_EQ(s.max_iterations, PGC_SCRAM_DEFAULT_MAX_ITER);
}

/* pgc_scram_client_first_cb refuses bad channel-binding arguments. */
static void
test_scram_cb_misuse(void)
{
    PgcScram s;
    char out[PGC_SCRAM_MSG_MAX];
    uint8_t data[PGC_CBIND_DATA_MAX + 1] = {0};
    size_t n = 0;

    CHECK_EQ(pgc_scram_client_first_cb(&s, PGC_SCRAM_CB_ENDPOINT, NULL, 32,
                                       TEST_NONCE, 20, 0, out, sizeof(out),
                                       &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first_cb(&s, PGC_SCRAM_CB_ENDPOINT, data, 0,
                                       TEST_NONCE, 20, 0, out, sizeof(out),
                                       &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first_cb(&s, PGC_SCRAM_CB_ENDPOINT, data,
                                       sizeof(data), TEST_NONCE, 20, 0, out,
                                       sizeof(out), &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first_cb(&s, (PgcScramCb)7, data, 32, TEST_NONCE,
                                       20, 0, out, sizeof(out), &n),
             PGC_ERR_STATE);
    CHECK_EQ(pgc_scram_client_first_cb(&s, PGC_SCRAM_CB_ENDPOINT, data,
                                       PGC_CBIND_DATA_MAX, TEST_NONCE, 20, 0,
                                       out, sizeof(out), &n),
             PGC_OK);
    CHECK_STR(out, "p=tls-server-end-point,,n=,r=" TEST_NONCE);
    CHECK_EQ(s.cbind_input_len, 24 + PGC_CBIND_DATA_MAX);
}

/* A certificate shell: SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { OID },
 * BIT STRING }, with the OID given. */
static size_t
cert_shell(uint8_t *out, const uint8_t *oid, size_t oidlen)
{
    size_t alg = 2 + oidlen, body = 2 + (2 + alg) + 3;

    out[0] = 0x30;
    out[1] = (uint8_t)body;
    out[2] = 0x30;
    out[3] = 0;
    out[4] = 0x30;
    out[5] = (uint8_t)alg;
    out[6] = 0x06;
    out[7] = (uint8_t)oidlen;
    memcpy(out + 8, oid, oidlen);
    memcpy(out + 8 + oidlen, "\x03\x01\x00", 3);
    return 2 + body;
}

static void
test_cert_signature_hash(void)
{
    static const struct {
        const char *oid;
        size_t len;
        PgcCertHash want;
    } cases[] = {
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", 9, PGC_CERT_HASH_SHA256},
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04", 9,
         PGC_CERT_HASH_SHA256}, /* MD5 raised */
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05", 9,
         PGC_CERT_HASH_SHA256}, /* SHA-1 raised */
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c", 9, PGC_CERT_HASH_SHA384},
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d", 9, PGC_CERT_HASH_SHA512},
        {"\x2a\x86\x48\xce\x3d\x04\x03\x02", 8, PGC_CERT_HASH_SHA256},
        {"\x2a\x86\x48\xce\x3d\x04\x03\x03", 8, PGC_CERT_HASH_SHA384},
        {"\x2a\x86\x48\xce\x3d\x04\x03\x01", 8, PGC_CERT_HASH_SHA224},
        {"\x2b\x65\x70", 3, PGC_CERT_HASH_NONE}, /* Ed25519 */
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a", 9,
         PGC_CERT_HASH_NONE}, /* RSASSA-PSS */
        {"\x2a\x86\x48\x86\xf7\x0d\x01\x01", 8,
         PGC_CERT_HASH_NONE}, /* a prefix only */
    };
    uint8_t der[64], big[300];
    PgcCertHash h;
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = cert_shell(der, (const uint8_t *)cases[i].oid, cases[i].len);
        h = PGC_CERT_HASH_SHA512;
        CHECK_EQ(pgc_cert_signature_hash(der, n, &h), PGC_OK);
        CHECK_EQ(h, cases[i].want);
    }
    n = cert_shell(der, (const uint8_t *)cases[0].oid, cases[0].len);
    /* every truncation is malformed */
    for (i = 0; i < n; i++) {
        CHECK_EQ(pgc_cert_signature_hash(der, i, &h), PGC_ERR_PROTOCOL);
        CHECK_EQ(h, PGC_CERT_HASH_NONE);
    }
    /* trailing bytes, a wrong tag, an indefinite or 5-byte length */
    der[n] = 0;
    CHECK_EQ(pgc_cert_signature_hash(der, n + 1, &h), PGC_ERR_PROTOCOL);
    der[6] = 0x04;
    CHECK_EQ(pgc_cert_signature_hash(der, n, &h), PGC_ERR_PROTOCOL);
    memcpy(big, "\x30\x80", 2);
    CHECK_EQ(pgc_cert_signature_hash(big, 2, &h), PGC_ERR_PROTOCOL);
    memcpy(big, "\x30\x85\x00\x00\x00\x00\x05", 7);
    CHECK_EQ(pgc_cert_signature_hash(big, 7, &h), PGC_ERR_PROTOCOL);
    /* a long-form length, and one that claims more than there is */
    memset(big, 0, sizeof(big));
    memcpy(big, "\x30\x82\x01\x10\x30\x81\xff", 7);
    memcpy(big + 7 + 255,
           "\x30\x0b\x06\x09"
           "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c",
           13);
    big[7 + 255 + 13] = 0x03;
    big[7 + 255 + 14] = 0x00;
    CHECK_EQ(pgc_cert_signature_hash(big, 4 + 0x110, &h), PGC_OK);
    CHECK_EQ(h, PGC_CERT_HASH_SHA384);
    big[3] = 0x11;
    CHECK_EQ(pgc_cert_signature_hash(big, 4 + 0x110, &h), PGC_ERR_PROTOCOL);
}

void
test_scram(void)
{
    test_scram_rfc7677();
    test_scram_pg_exchange();
    test_scram_bad_first();
    test_scram_bad_first_syntax();
    test_scram_bad_final();
    test_scram_misuse();
    test_scram_cb_misuse();
    test_cert_signature_hash();
}
