/* test_startup.c -- the startup/authentication state machine through
 * trust, cleartext, MD5, SCRAM-SHA-256 and the failure paths. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define PG_SERVER_FINAL "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg="

typedef struct {
    PgcStartup su;
    PgcWBuf server; /* what the server sends */
    PgcWBuf out;    /* what the machine answers */
    PgcStartupEvent ev;
    size_t handled;
} Rig;

static void
rig_init(Rig *r, const char *password, const char *scram_password,
         const char *nonce)
{
    pgc_startup_init(&r->su, "user", 4, password,
                     password ? strlen(password) : 0, scram_password,
                     scram_password ? strlen(scram_password) : 0, nonce,
                     nonce ? strlen(nonce) : 0, 0);
    pgc_wbuf_init(&r->server);
    pgc_wbuf_init(&r->out);
    r->ev = PGC_SU_EV_CONTINUE;
    r->handled = 0;
}

static void
rig_free(Rig *r)
{
    pgc_wbuf_free(&r->server);
    pgc_wbuf_free(&r->out);
}

/* Frame r->server and hand each message to the machine until it fails
 * or reports an event. */
static PgcStatus
rig_run(Rig *r)
{
    PgcReader rd;
    PgcMsg m;
    PgcStatus st = PGC_OK;

    CHECK_EQ(pgc_reader_init(&rd, 0), PGC_OK);
    CHECK_EQ(pgc_reader_feed(&rd, r->server.data, r->server.len), PGC_OK);
    while (pgc_reader_next(&rd, &m) == PGC_OK) {
        st = pgc_startup_handle(&r->su, &m, &r->out, &r->ev);
        r->handled++;
        if (st != PGC_OK || r->ev != PGC_SU_EV_CONTINUE) {
            break;
        }
    }
    pgc_reader_free(&rd);
    return st;
}

/* Run and expect failure with exactly this message. */
static void
rig_expect_fail(Rig *r, PgcStatus want, const char *msg)
{
    PgcMsg m = {PGC_MSG_READY, {(const uint8_t *)"I", 1}};

    CHECK_EQ(rig_run(r), want);
    CHECK_STR(r->su.err_msg, msg);
    CHECK_EQ(r->su.phase, PGC_SU_FAILED);
    /* Nothing more is accepted. */
    CHECK_EQ(pgc_startup_handle(&r->su, &m, &r->out, &r->ev), PGC_ERR_STATE);
    rig_free(r);
}

static void
test_startup_trust(void)
{
    Rig r;
    PgcMsg m = {PGC_MSG_READY, {(const uint8_t *)"I", 1}};

    rig_init(&r, NULL, NULL, NULL);
    stream_session(&r.server);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    CHECK_EQ(r.handled, 6);
    CHECK_EQ(r.su.phase, PGC_SU_DONE);
    CHECK_EQ(r.su.method_used, PGC_AUTHM_NONE);
    CHECK_EQ(r.su.tx_status, PGC_TX_IDLE);
    CHECK_EQ(r.out.len, 0);
    CHECK_EQ(pgc_startup_handle(&r.su, &m, &r.out, &r.ev), PGC_ERR_STATE);
    rig_free(&r);
}

static void
test_startup_cleartext(void)
{
    Rig r;

    rig_init(&r, "secret", NULL, NULL);
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    be_param(&r.server, "a", "b");
    be_error(&r.server, PGC_MSG_NOTICE, "01000", "note");
    be_ready(&r.server, PGC_TX_IDLE);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    CHECK_EQ(r.su.method_used, PGC_AUTHM_PASSWORD);
    CHECK_BYTES(r.out.data, r.out.len, "p\0\0\0\x0bsecret\0");
    rig_free(&r);

    rig_init(&r, NULL, NULL, NULL);
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "server requested password authentication but no "
                    "password was given");

    /* A password the protocol cannot carry. */
    pgc_startup_init(&r.su, "user", 4, "a\0b", 3, NULL, 0, NULL, 0, 0);
    pgc_wbuf_init(&r.server);
    pgc_wbuf_init(&r.out);
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_LIMIT,
                    "the password cannot be sent: it contains a NUL byte or "
                    "is too long");
}

static void
test_startup_md5(void)
{
    static const uint8_t salt[4] = {1, 2, 3, 4};
    Rig r;

    pgc_startup_init(&r.su, "postgres", 8, "secret", 6, NULL, 0, NULL, 0, 0);
    pgc_wbuf_init(&r.server);
    pgc_wbuf_init(&r.out);
    be_auth(&r.server, PGC_AUTH_MD5, salt, 4);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    be_ready(&r.server, PGC_TX_IDLE);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    CHECK_EQ(r.su.method_used, PGC_AUTHM_MD5);
    CHECK_BYTES(r.out.data, r.out.len,
                "p\0\0\0\x28md5bb41a296aab6baccb36ff243a562abff\0");
    rig_free(&r);

    rig_init(&r, NULL, NULL, NULL);
    be_auth(&r.server, PGC_AUTH_MD5, salt, 4);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "server requested MD5 password authentication but no "
                    "password was given");
}

static void
test_startup_scram_ok(void)
{
    Rig r;
    PgcWBuf want;
    PgcStr mech = {"SCRAM-SHA-256", 13};
    static const char first[] = "n,,n=,r=" TEST_NONCE;
    static const char final[] =
        "c=biws,r=" TEST_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=";

    /* The SCRAM password (SASLprep'd) is used, not the plain one. */
    rig_init(&r, "wrong", "pencil", TEST_NONCE);
    stream_scram(&r.server, TEST_SERVER_FIRST, PG_SERVER_FINAL);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    CHECK_EQ(r.su.method_used, PGC_AUTHM_SCRAM);
    pgc_wbuf_init(&want);
    CHECK_EQ(pgc_build_sasl_initial(&want, mech, (const uint8_t *)first,
                                    sizeof(first) - 1),
             PGC_OK);
    CHECK_EQ(pgc_build_sasl_response(&want, (const uint8_t *) final,
                                     sizeof(final) - 1),
             PGC_OK);
    CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
    /* The SCRAM secrets are gone once the exchange is over. */
    CHECK_EQ(r.su.scram.server_first_len, 0);
    pgc_wbuf_free(&want);
    rig_free(&r);

    /* Without a separate SCRAM password, the plain one is used. */
    rig_init(&r, "pencil", NULL, TEST_NONCE);
    stream_scram(&r.server, TEST_SERVER_FIRST, PG_SERVER_FINAL);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    rig_free(&r);
}

static void
scram_rig(Rig *r)
{
    static const char *const mechs[] = {"SCRAM-SHA-256"};

    rig_init(r, "pencil", NULL, TEST_NONCE);
    be_sasl_mechs(&r->server, mechs, 1);
}

static void
test_startup_scram_fail(void)
{
    static const char *const other[] = {"SCRAM-SHA-1", "OAUTHBEARER"};
    static const char *const scram_only[] = {"SCRAM-SHA-256"};
    const char *early = "SCRAM: server sent AuthenticationOk before the SASL "
                        "exchange completed";
    const char *sf = TEST_SERVER_FIRST;
    Rig r;

    scram_rig(&r);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH, early);

    scram_rig(&r);
    be_auth(&r.server, PGC_AUTH_SASL_CONTINUE, sf, strlen(sf));
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH, early);

    rig_init(&r, "pencil", NULL, TEST_NONCE);
    be_sasl_mechs(&r.server, other, 2);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "server offered SASL mechanisms (SCRAM-SHA-1, "
                    "OAUTHBEARER) but not SCRAM-SHA-256");

    scram_rig(&r);
    be_auth(&r.server, PGC_AUTH_SASL_CONTINUE, sf, strlen(sf));
    be_auth(&r.server, PGC_AUTH_SASL_FINAL,
            "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 46);
    rig_expect_fail(&r, PGC_ERR_AUTH, "SCRAM: server signature mismatch");

    scram_rig(&r);
    be_auth(&r.server, PGC_AUTH_SASL_CONTINUE, sf, strlen(sf));
    be_auth(&r.server, PGC_AUTH_SASL_FINAL, "e=invalid-proof", 15);
    rig_expect_fail(&r, PGC_ERR_AUTH, "SCRAM: server error: invalid-proof");

    scram_rig(&r);
    sf = "r=" TEST_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=789123456";
    be_auth(&r.server, PGC_AUTH_SASL_CONTINUE, sf, strlen(sf));
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "SCRAM: iteration count 789123456 exceeds the limit of "
                    "100000");

    scram_rig(&r);
    sf = "r=Z" TEST_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    be_auth(&r.server, PGC_AUTH_SASL_CONTINUE, sf, strlen(sf));
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "SCRAM: server nonce does not start with the client "
                    "nonce");

    rig_init(&r, NULL, NULL, TEST_NONCE);
    be_sasl_mechs(&r.server, scram_only, 1);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "server requested SCRAM-SHA-256 authentication but no "
                    "password was given");

    rig_init(&r, "pencil", NULL, NULL);
    be_sasl_mechs(&r.server, scram_only, 1);
    rig_expect_fail(&r, PGC_ERR_STATE,
                    "SCRAM: the client nonce must be 1 to 128 printable "
                    "characters other than ','");
}

static void
unsupported(int32_t code, const char *msg)
{
    Rig r;

    rig_init(&r, "pw", NULL, NULL);
    be_auth(&r.server, code, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH, msg);
}

static void
test_startup_unsupported(void)
{
    unsupported(PGC_AUTH_GSS, "unsupported authentication method: GSSAPI "
                              "(code 7)");
    unsupported(PGC_AUTH_GSS_CONTINUE, "unsupported authentication method: "
                                       "GSSAPI (code 8)");
    unsupported(PGC_AUTH_SSPI, "unsupported authentication method: SSPI "
                               "(code 9)");
    unsupported(PGC_AUTH_KERBEROS_V5, "unsupported authentication method: "
                                      "Kerberos V5 (code 2)");
    unsupported(PGC_AUTH_SCM_CREDS, "unsupported authentication method: "
                                    "SCM credentials (code 6)");
    unsupported(99, "unsupported authentication method: unknown (code 99)");
}

static void
test_startup_server_error(void)
{
    Rig r;

    rig_init(&r, "pw", NULL, NULL);
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    be_error(&r.server, PGC_MSG_ERROR, "28P01",
             "password authentication failed for user \"user\"");
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_SERVER_ERROR);
    CHECK_EQ(r.su.phase, PGC_SU_FAILED);
    CHECK_BYTES(r.out.data, r.out.len, "p\0\0\0\x07pw\0");
    rig_free(&r);
}

static void
unexpected(void (*build)(PgcWBuf *), const char *msg)
{
    Rig r;

    rig_init(&r, "pw", NULL, TEST_NONCE);
    build(&r.server);
    rig_expect_fail(&r, PGC_ERR_PROTOCOL, msg);
}

static void
bad_data_row(PgcWBuf *b)
{
    be_begin(b, PGC_MSG_DATA_ROW);
    be_i16(b, 0);
    be_end(b);
}

static void
bad_early_ready(PgcWBuf *b)
{
    be_ready(b, PGC_TX_IDLE);
}

static void
bad_continue_first(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_SASL_CONTINUE, "r=x", 3);
}

static void
bad_final_first(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_SASL_FINAL, "v=x", 3);
}

static void
bad_two_requests(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_CLEARTEXT, NULL, 0);
    be_auth(b, PGC_AUTH_MD5, "salt", 4);
}

static void
bad_downgrade(PgcWBuf *b)
{
    static const char *const mechs[] = {"SCRAM-SHA-256"};

    be_sasl_mechs(b, mechs, 1);
    be_auth(b, PGC_AUTH_CLEARTEXT, NULL, 0);
}

static void
bad_two_oks(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_OK, NULL, 0);
    be_auth(b, PGC_AUTH_OK, NULL, 0);
}

static void
bad_short_auth(PgcWBuf *b)
{
    be_begin(b, PGC_MSG_AUTH);
    be_i16(b, 0);
    be_end(b);
}

static void
bad_mech_list(PgcWBuf *b)
{
    be_begin(b, PGC_MSG_AUTH);
    be_i32(b, PGC_AUTH_SASL);
    be_str(b, "SCRAM-SHA-256");
    be_end(b);
}

static void
bad_ready_status(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_OK, NULL, 0);
    be_ready(b, 0x58);
}

static void
bad_param(PgcWBuf *b)
{
    be_begin(b, PGC_MSG_PARAM_STATUS);
    be_str(b, "only-a-name");
    be_end(b);
}

static void
bad_negotiate_minor(PgcWBuf *b)
{
    be_begin(b, PGC_MSG_NEGOTIATE_VERSION);
    be_i32(b, 2);
    be_i32(b, 0);
    be_end(b);
}

static void
bad_negotiate_late(PgcWBuf *b)
{
    be_auth(b, PGC_AUTH_OK, NULL, 0);
    be_begin(b, PGC_MSG_NEGOTIATE_VERSION);
    be_i32(b, 0);
    be_i32(b, 0);
    be_end(b);
}

static void
test_startup_unexpected(void)
{
    unexpected(bad_data_row,
               "unexpected message type 0x44 during authentication");
    unexpected(bad_early_ready,
               "unexpected ReadyForQuery during authentication");
    unexpected(bad_continue_first,
               "unexpected SASL continuation during authentication");
    unexpected(bad_final_first,
               "unexpected SASL final message during authentication");
    unexpected(bad_two_requests,
               "unexpected MD5 password request during authentication");
    unexpected(bad_downgrade,
               "unexpected password request during authentication");
    unexpected(bad_two_oks,
               "unexpected AuthenticationOk during authentication");
    unexpected(bad_short_auth,
               "malformed authentication request from the server");
    unexpected(bad_mech_list, "malformed SASL mechanism list from the server");
    unexpected(bad_ready_status, "malformed ReadyForQuery from the server");
    unexpected(bad_param,
               "malformed message from the server during authentication");
    unexpected(bad_negotiate_minor,
               "malformed or unsupported NegotiateProtocolVersion from the "
               "server");
    unexpected(bad_negotiate_late,
               "unexpected NegotiateProtocolVersion during authentication");
}

static void
test_startup_negotiate_and_async(void)
{
    Rig r;

    rig_init(&r, NULL, NULL, NULL);
    be_begin(&r.server, PGC_MSG_NEGOTIATE_VERSION);
    be_i32(&r.server, 0);
    be_i32(&r.server, 1);
    be_str(&r.server, "_pq_.unknown");
    be_end(&r.server);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    be_begin(&r.server, PGC_MSG_NOTIFICATION);
    be_i32(&r.server, 1);
    be_str(&r.server, "c");
    be_str(&r.server, "");
    be_end(&r.server);
    be_ready(&r.server, PGC_TX_IDLE);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    rig_free(&r);
}

/* The response cannot be buffered: out of memory. */
static void
test_startup_oom(void)
{
    Rig r;
    uint8_t fill[1020];

    memset(fill, 0, sizeof(fill));
    rig_init(&r, "secret", NULL, NULL);
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    CHECK_EQ(pgc_wbuf_put_bytes(&r.out, fill, sizeof(fill)), PGC_OK);
    talloc_install();
    talloc_fail_after(1); /* the reader's buffer, then nothing */
    rig_expect_fail(&r, PGC_ERR_NOMEM, "out of memory");
    talloc_uninstall();
}

/* require_auth: each method refused when not allowed, with libpq's
 * message; allowed ones run as usual. */
static void
test_startup_require_auth(void)
{
    Rig r;
    static const char *const mechs[] = {"SCRAM-SHA-256"};

    rig_init(&r, NULL, NULL, NULL);
    pgc_startup_require(&r.su, PGC_AUTHM_SCRAM, "scram-sha-256");
    stream_session(&r.server);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "authentication method requirement \"scram-sha-256\" "
                    "failed: server did not complete authentication");

    rig_init(&r, "secret", NULL, NULL);
    pgc_startup_require(&r.su, PGC_AUTHM_SCRAM | PGC_AUTHM_MD5,
                        "scram-sha-256,md5");
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "authentication method requirement "
                    "\"scram-sha-256,md5\" failed: server requested a "
                    "cleartext password");
    CHECK_EQ(r.out.len, 0); /* the password was not sent */

    rig_init(&r, "secret", NULL, NULL);
    pgc_startup_require(&r.su, (uint32_t)~PGC_AUTHM_MD5, "!md5");
    be_auth(&r.server, PGC_AUTH_MD5, (const uint8_t *)"salt", 4);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "authentication method requirement \"!md5\" failed: "
                    "server requested a hashed password");

    rig_init(&r, "pencil", NULL, TEST_NONCE);
    pgc_startup_require(&r.su, PGC_AUTHM_PASSWORD, "password");
    be_sasl_mechs(&r.server, mechs, 1);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "authentication method requirement \"password\" "
                    "failed: server requested SASL authentication");

    /* allowed methods go through */
    rig_init(&r, "secret", NULL, NULL);
    pgc_startup_require(&r.su, PGC_AUTHM_PASSWORD, "password");
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    be_ready(&r.server, PGC_TX_IDLE);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    rig_free(&r);

    rig_init(&r, "wrong", "pencil", TEST_NONCE);
    pgc_startup_require(&r.su, PGC_AUTHM_SCRAM, "scram-sha-256");
    stream_scram(&r.server, TEST_SERVER_FIRST, PG_SERVER_FINAL);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    rig_free(&r);

    rig_init(&r, NULL, NULL, NULL);
    pgc_startup_require(&r.su, PGC_AUTHM_NONE, "none");
    stream_session(&r.server);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK_EQ(r.ev, PGC_SU_EV_READY);
    rig_free(&r);
}

/* Channel binding: expected messages for the password "pencil", the
 * TEST_NONCE exchange and cb data 00 01 .. 1f (computed with Python's
 * hashlib/hmac). */
#define CB_FINAL_P                                                          \
    "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBk" \
    "aGxwdHh8=,r=" TEST_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"              \
    ",p=Q8h71kjaoMzNI7dPksDrhRE/5mTUObF0fUHVIgBOWQg="
#define CB_SERVER_FINAL_P "v=ykwoqH8mLqO5AQCeuwwf6lsj9f8zyJZT/CcvAbN4Ssc="
#define CB_FINAL_Y                                          \
    "c=eSws,r=" TEST_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" \
    ",p=VpuC5DGQa5ro9tXE9MnKs69NH1nxnuregZZcclqIGfM="
#define CB_SERVER_FINAL_Y "v=FOmOj9BpTGwvnzwBtWQjBaPmVxT9I8IeHBOhcIPu3us="

static const char *const cb_both[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
static const char *const cb_plain[] = {"SCRAM-SHA-256"};
static const char *const cb_plus[] = {"SCRAM-SHA-256-PLUS"};

static void
cb_rig(Rig *r, PgcChannelBinding mode, int ssl, const uint8_t *data,
       const char *const *mechs, size_t nmechs)
{
    rig_init(r, "pencil", NULL, TEST_NONCE);
    pgc_startup_channel_binding(&r->su, mode, ssl, data, data ? 32 : 0);
    be_sasl_mechs(&r->server, mechs, nmechs);
}

/* A complete exchange: the client's two messages must be `mech`/`first`
 * and `final`. */
static void
cb_expect_ok(Rig *r, const char *mech, const char *first, const char *final,
             const char *server_final)
{
    PgcWBuf want;
    PgcStr m = {mech, strlen(mech)};

    be_auth(&r->server, PGC_AUTH_SASL_CONTINUE, TEST_SERVER_FIRST,
            strlen(TEST_SERVER_FIRST));
    be_auth(&r->server, PGC_AUTH_SASL_FINAL, server_final,
            strlen(server_final));
    be_auth(&r->server, PGC_AUTH_OK, NULL, 0);
    be_ready(&r->server, PGC_TX_IDLE);
    CHECK_EQ(rig_run(r), PGC_OK);
    CHECK_EQ(r->ev, PGC_SU_EV_READY);
    pgc_wbuf_init(&want);
    CHECK_EQ(pgc_build_sasl_initial(&want, m, (const uint8_t *)first,
                                    strlen(first)),
             PGC_OK);
    CHECK_EQ(pgc_build_sasl_response(&want, (const uint8_t *) final,
                                     strlen(final)),
             PGC_OK);
    CHECK_MEM(r->out.data, r->out.len, want.data, want.len);
    pgc_wbuf_free(&want);
    rig_free(r);
}

static void
test_startup_channel_binding(void)
{
    static const char plain_first[] = "n,,n=,r=" TEST_NONCE;
    static const char plain_final[] =
        "c=biws,r=" TEST_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=";
    const char *no_cb = "channel binding required, but server authenticated "
                        "client without channel binding";
    uint8_t data[32];
    Rig r;
    size_t i;

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)i;
    }
    /* prefer and require over TLS with both offered: -PLUS, "p=" */
    for (i = 0; i < 2; i++) {
        cb_rig(&r, i ? PGC_CB_REQUIRE : PGC_CB_PREFER, 1, data, cb_both, 2);
        cb_expect_ok(&r, "SCRAM-SHA-256-PLUS",
                     "p=tls-server-end-point,,n=,r=" TEST_NONCE, CB_FINAL_P,
                     CB_SERVER_FINAL_P);
    }
    /* prefer over TLS, server without -PLUS: "y" */
    cb_rig(&r, PGC_CB_PREFER, 1, data, cb_plain, 1);
    cb_expect_ok(&r, "SCRAM-SHA-256", "y,,n=,r=" TEST_NONCE, CB_FINAL_Y,
                 CB_SERVER_FINAL_Y);
    /* disable over TLS: plain, "n" */
    cb_rig(&r, PGC_CB_DISABLE, 1, data, cb_both, 2);
    cb_expect_ok(&r, "SCRAM-SHA-256", plain_first, plain_final,
                 PG_SERVER_FINAL);
    /* prefer over TLS, no hash for the certificate: plain, "n" (not "y",
     * which the server would take for a downgrade) */
    cb_rig(&r, PGC_CB_PREFER, 1, NULL, cb_both, 2);
    cb_expect_ok(&r, "SCRAM-SHA-256", plain_first, plain_final,
                 PG_SERVER_FINAL);
    /* prefer without TLS: plain, "n" */
    cb_rig(&r, PGC_CB_PREFER, 0, NULL, cb_plain, 1);
    cb_expect_ok(&r, "SCRAM-SHA-256", plain_first, plain_final,
                 PG_SERVER_FINAL);

    /* -PLUS offered without TLS: refused whatever the mode */
    cb_rig(&r, PGC_CB_DISABLE, 0, NULL, cb_both, 2);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "server offered SCRAM-SHA-256-PLUS authentication over "
                    "a non-SSL connection");
    /* only -PLUS offered, but disabled or impossible */
    cb_rig(&r, PGC_CB_DISABLE, 1, data, cb_plus, 1);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "the server offered only SCRAM-SHA-256-PLUS and "
                    "channel_binding is disable");
    cb_rig(&r, PGC_CB_PREFER, 1, NULL, cb_plus, 1);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "the server offered only SCRAM-SHA-256-PLUS and its "
                    "certificate's signature algorithm has no hash usable "
                    "for tls-server-end-point");

    /* require: every way around it fails */
    cb_rig(&r, PGC_CB_REQUIRE, 0, NULL, cb_plain, 1);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "channel binding required, but SSL not in use");
    cb_rig(&r, PGC_CB_REQUIRE, 1, data, cb_plain, 1);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "channel binding is required, but server did not offer "
                    "an authentication method that supports channel "
                    "binding");
    cb_rig(&r, PGC_CB_REQUIRE, 1, NULL, cb_both, 2);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "channel binding required, but the server certificate's "
                    "signature algorithm has no hash usable for "
                    "tls-server-end-point");
    /* trust, md5, cleartext (CVE-2025-49146) */
    rig_init(&r, "pencil", NULL, TEST_NONCE);
    pgc_startup_channel_binding(&r.su, PGC_CB_REQUIRE, 1, data, 32);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH, no_cb);
    rig_init(&r, "pencil", NULL, TEST_NONCE);
    pgc_startup_channel_binding(&r.su, PGC_CB_REQUIRE, 1, data, 32);
    be_auth(&r.server, PGC_AUTH_MD5, "salt", 4);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "channel binding required but not supported by server's "
                    "authentication request");
    CHECK_EQ(r.out.len, 0);
    rig_init(&r, "pencil", NULL, TEST_NONCE);
    pgc_startup_channel_binding(&r.su, PGC_CB_REQUIRE, 1, data, 32);
    be_auth(&r.server, PGC_AUTH_CLEARTEXT, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "channel binding required but not supported by server's "
                    "authentication request");
    /* AuthenticationOk in the middle of a -PLUS exchange */
    cb_rig(&r, PGC_CB_REQUIRE, 1, data, cb_both, 2);
    be_auth(&r.server, PGC_AUTH_OK, NULL, 0);
    rig_expect_fail(&r, PGC_ERR_AUTH,
                    "SCRAM: server sent AuthenticationOk before the SASL "
                    "exchange completed");
    /* a server that checked the binding differently: bad signature */
    cb_rig(&r, PGC_CB_REQUIRE, 1, data, cb_both, 2);
    be_auth(&r.server, PGC_AUTH_SASL_CONTINUE, TEST_SERVER_FIRST,
            strlen(TEST_SERVER_FIRST));
    be_auth(&r.server, PGC_AUTH_SASL_FINAL, PG_SERVER_FINAL,
            strlen(PG_SERVER_FINAL));
    rig_expect_fail(&r, PGC_ERR_AUTH, "SCRAM: server signature mismatch");
}

/* SaltedPassword remembered between exchanges (pgc_startup_preset and
 * s->learned): same messages as computing it, PBKDF2 skipped. */
static void
test_startup_salted_preset(void)
{
    static const char final[] =
        "c=biws,r=" TEST_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=";
    uint8_t salt[16], salted[PGC_SHA256_LEN], wrong[PGC_SHA256_LEN];
    size_t saltlen = 0;
    Rig r;
    PgcWBuf want;
    PgcStr mech = {"SCRAM-SHA-256", 13};
    static const char first[] = "n,,n=,r=" TEST_NONCE;

    CHECK_EQ(pgc_base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt,
                               sizeof(salt), &saltlen),
             PGC_OK);
    CHECK_EQ(saltlen, 16);
    pgc_pbkdf2_sha256((const uint8_t *)"pencil", 6, salt, saltlen, 4096,
                      salted);
    pgc_wbuf_init(&want);
    CHECK_EQ(pgc_build_sasl_initial(&want, mech, (const uint8_t *)first,
                                    sizeof(first) - 1),
             PGC_OK);
    CHECK_EQ(pgc_build_sasl_response(&want, (const uint8_t *) final,
                                     sizeof(final) - 1),
             PGC_OK);

    /* computed: the machine reports what it used */
    rig_init(&r, "pencil", NULL, TEST_NONCE);
    stream_scram(&r.server, TEST_SERVER_FIRST, PG_SERVER_FINAL);
    CHECK_EQ(rig_run(&r), PGC_OK);
    CHECK(r.su.learned.salt_len != 0);
    CHECK_MEM(r.su.learned.salt, r.su.learned.salt_len, salt, saltlen);
    CHECK_EQ(r.su.learned.iterations, 4096);
    CHECK_MEM(r.su.learned.salted, PGC_SHA256_LEN, salted, PGC_SHA256_LEN);
    rig_free(&r);

    /* preset with the right value: the same messages; with a preset for
     * another salt or iteration count: ignored */
    for (int i = 0; i < 3; i++) {
        rig_init(&r, "pencil", NULL, TEST_NONCE);
        pgc_startup_preset(&r.su, salt, i == 1 ? 15 : saltlen,
                           i == 2 ? 4095 : 4096, salted);
        stream_scram(&r.server, TEST_SERVER_FIRST, PG_SERVER_FINAL);
        CHECK_EQ(rig_run(&r), PGC_OK);
        CHECK_EQ(r.ev, PGC_SU_EV_READY);
        CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
        rig_free(&r);
    }
    /* a preset really replaces PBKDF2: a wrong one gives another proof,
     * which the server's signature then refuses */
    memcpy(wrong, salted, sizeof(wrong));
    wrong[0] ^= 1;
    rig_init(&r, "pencil", NULL, TEST_NONCE);
    pgc_startup_preset(&r.su, salt, saltlen, 4096, wrong);
    stream_scram(&r.server, TEST_SERVER_FIRST, PG_SERVER_FINAL);
    rig_expect_fail(&r, PGC_ERR_AUTH, "SCRAM: server signature mismatch");
    pgc_wbuf_free(&want);
}

void
test_startup(void)
{
    test_startup_trust();
    test_startup_cleartext();
    test_startup_md5();
    test_startup_scram_ok();
    test_startup_scram_fail();
    test_startup_unsupported();
    test_startup_server_error();
    test_startup_unexpected();
    test_startup_negotiate_and_async();
    test_startup_oom();
    test_startup_require_auth();
    test_startup_channel_binding();
    test_startup_salted_preset();
}
