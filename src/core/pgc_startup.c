/* pgc_startup.c -- the startup/authentication state machine (see
 * pgc_startup.h).
 *
 * One authentication method per connection: after the client has answered
 * one request, a request for another method is refused (a server that asks
 * for SCRAM and then for the cleartext password is downgrading).  With
 * SASL, AuthenticationOk is accepted only once the server-final-message has
 * been verified, so a server that skips the proof of knowing the password
 * is rejected.
 */
#include <stdio.h>

#include "pgc_build.h"
#include "pgc_msg.h"
#include "pgc_parse.h"
#include "pgc_startup.h"

#define SCRAM_MECH "SCRAM-SHA-256"
#define SCRAM_PLUS_MECH "SCRAM-SHA-256-PLUS"

void
pgc_startup_init(PgcStartup *s, const char *user, size_t user_len,
                 const char *password, size_t password_len,
                 const char *scram_password, size_t scram_password_len,
                 const char *nonce, size_t nonce_len, uint32_t max_iterations)
{
    memset(s, 0, sizeof(*s));
    s->phase = PGC_SU_WAIT_AUTH;
    s->user = user;
    s->user_len = user_len;
    s->password = password;
    s->password_len = password ? password_len : 0;
    s->scram_password = scram_password ? scram_password : password;
    s->scram_password_len = scram_password ? scram_password_len
                                           : s->password_len;
    s->nonce = nonce;
    s->nonce_len = nonce ? nonce_len : 0;
    s->max_iterations = max_iterations ? max_iterations
                                       : PGC_SCRAM_DEFAULT_MAX_ITER;
    s->cb_mode = PGC_CB_PREFER;
}

void
pgc_startup_preset(PgcStartup *s, const uint8_t *salt, size_t salt_len,
                   uint32_t iterations, const uint8_t salted[PGC_SHA256_LEN])
{
    (void)pgc_salted_key_set(&s->preset, salt, salt_len, iterations, salted);
}

void
pgc_startup_wipe_secrets(PgcStartup *s)
{
    pgc_wipe(&s->scram, sizeof(s->scram));
    pgc_salted_key_wipe(&s->preset);
    pgc_salted_key_wipe(&s->learned);
}

int
pgc_startup_scram_params(const PgcStartup *s, const PgcMsg *m,
                         uint8_t salt[PGC_SCRAM_SALT_MAX], size_t *salt_len,
                         uint32_t *iterations)
{
    if (s->phase != PGC_SU_SASL_CONTINUE || m->type != PGC_MSG_AUTH ||
        m->body.n < 4 || pgc_load_u32(m->body.p) != PGC_AUTH_SASL_CONTINUE) {
        return 0;
    }
    return pgc_scram_server_first_params(m->body.p + 4, m->body.n - 4, salt,
                                         PGC_SCRAM_SALT_MAX, salt_len,
                                         iterations) == PGC_OK;
}

void
pgc_startup_channel_binding(PgcStartup *s, PgcChannelBinding mode,
                            int ssl_in_use, const uint8_t *data, size_t len)
{
    s->cb_mode = mode;
    s->ssl_in_use = ssl_in_use;
    s->cb_data = data && len ? data : NULL;
    s->cb_len = data ? len : 0;
}

/* Enter PGC_SU_FAILED with a message; SCRAM secrets are wiped. */
static PgcStatus
su_fail(PgcStartup *s, PgcStatus st, const char *msg)
{
    s->phase = PGC_SU_FAILED;
    snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
    pgc_startup_wipe_secrets(s);
    return st;
}

/* A builder failed: out of memory or a password the protocol cannot
 * carry (it contains a NUL byte). */
static PgcStatus
su_build_failed(PgcStartup *s, PgcStatus st)
{
    if (st == PGC_ERR_NOMEM) {
        return su_fail(s, st, "out of memory");
    }
    return su_fail(s, st,
                   "the password cannot be sent: it contains a NUL "
                   "byte or is too long");
}

static PgcStatus
su_unexpected(PgcStartup *s, const char *what)
{
    char msg[sizeof(s->err_msg)];

    snprintf(msg, sizeof(msg), "unexpected %s during authentication", what);
    return su_fail(s, PGC_ERR_PROTOCOL, msg);
}

static PgcStatus
su_unexpected_type(PgcStartup *s, uint8_t type)
{
    char msg[sizeof(s->err_msg)];

    snprintf(msg, sizeof(msg),
             "unexpected message type 0x%02x during "
             "authentication",
             (unsigned)type);
    return su_fail(s, PGC_ERR_PROTOCOL, msg);
}

static const char *
su_method_name(int32_t code)
{
    switch (code) {
    case PGC_AUTH_KERBEROS_V5:
        return "Kerberos V5";
    case PGC_AUTH_SCM_CREDS:
        return "SCM credentials";
    case PGC_AUTH_GSS:
    case PGC_AUTH_GSS_CONTINUE:
        return "GSSAPI";
    case PGC_AUTH_SSPI:
        return "SSPI";
    default:
        return "unknown";
    }
}

static PgcStatus
su_unsupported(PgcStartup *s, int32_t code)
{
    char msg[sizeof(s->err_msg)];

    snprintf(msg, sizeof(msg),
             "unsupported authentication method: %s "
             "(code %ld)",
             su_method_name(code), (long)code);
    return su_fail(s, PGC_ERR_AUTH, msg);
}

void
pgc_startup_require(PgcStartup *s, uint32_t allowed, const char *text)
{
    s->require = 1;
    s->allowed = allowed;
    s->require_text = text;
}

/* require_auth: fail unless `method` is allowed; `what` says what the
 * server asked for (libpq's wording). */
static PgcStatus
su_check_required(PgcStartup *s, uint32_t method, const char *what)
{
    char msg[sizeof(s->err_msg)];

    if (!s->require || (s->allowed & method)) {
        return PGC_OK;
    }
    snprintf(msg, sizeof(msg),
             "authentication method requirement \"%.80s\" failed: %s",
             s->require_text ? s->require_text : "", what);
    return su_fail(s, PGC_ERR_AUTH, msg);
}

/* A password request may come first only: a second one is refused. */
static PgcStatus
su_first_request(PgcStartup *s, const char *what)
{
    if (s->phase != PGC_SU_WAIT_AUTH || s->method_used) {
        return su_unexpected(s, what);
    }
    return PGC_OK;
}

/* ------------------------------------------------------------------ */
/* One function per authentication request.                            */
/* ------------------------------------------------------------------ */

static PgcStatus
su_auth_ok(PgcStartup *s)
{
    switch (s->phase) {
    case PGC_SU_WAIT_AUTH:
        if (!s->method_used) {
            PgcStatus st = su_check_required(
                s, PGC_AUTHM_NONE, "server did not complete authentication");
            if (st != PGC_OK) {
                return st;
            }
            s->method_used = PGC_AUTHM_NONE;
        }
        break;
    case PGC_SU_SASL_OK:
        break;
    case PGC_SU_SASL_CONTINUE:
    case PGC_SU_SASL_FINAL:
        return su_fail(s, PGC_ERR_AUTH,
                       "SCRAM: server sent AuthenticationOk before the "
                       "SASL exchange completed");
    default:
        return su_unexpected(s, "AuthenticationOk");
    }
    s->phase = PGC_SU_WAIT_READY;
    return PGC_OK;
}

static PgcStatus
su_auth_cleartext(PgcStartup *s, PgcWBuf *out)
{
    PgcStatus st = su_first_request(s, "password request");

    if (st == PGC_OK) {
        st = su_check_required(s, PGC_AUTHM_PASSWORD,
                               "server requested a cleartext password");
    }
    if (st != PGC_OK) {
        return st;
    }
    if (!s->password) {
        return su_fail(s, PGC_ERR_AUTH,
                       "server requested password authentication but no "
                       "password was given");
    }
    st = pgc_build_password(out, s->password, s->password_len);
    if (st != PGC_OK) {
        return su_build_failed(s, st);
    }
    s->method_used = PGC_AUTHM_PASSWORD;
    return PGC_OK;
}

static PgcStatus
su_auth_md5(PgcStartup *s, PgcView salt, PgcWBuf *out)
{
    char hashed[PGC_MD5_PASSWORD_LEN + 1];
    PgcStatus st = su_first_request(s, "MD5 password request");

    if (st == PGC_OK) {
        st = su_check_required(s, PGC_AUTHM_MD5,
                               "server requested a hashed password");
    }
    if (st != PGC_OK) {
        return st;
    }
    if (!s->password) {
        return su_fail(s, PGC_ERR_AUTH,
                       "server requested MD5 password authentication but "
                       "no password was given");
    }
    pgc_md5_password(s->user, s->user_len, s->password, s->password_len,
                     salt.p, hashed);
    st = pgc_build_password(out, hashed, PGC_MD5_PASSWORD_LEN);
    pgc_wipe(hashed, sizeof(hashed));
    if (st != PGC_OK) {
        return su_build_failed(s, st);
    }
    s->method_used = PGC_AUTHM_MD5;
    return PGC_OK;
}

/* Append mechanism name m to the list text (for the error message). */
static void
su_list_append(char *list, size_t cap, PgcView m)
{
    size_t o = strlen(list), i;

    if (o && o + 2 < cap) {
        list[o++] = ',';
        list[o++] = ' ';
    }
    for (i = 0; i < m.n && o + 1 < cap; i++) {
        list[o++] = m.p[i] >= 0x20 && m.p[i] < 0x7f ? (char)m.p[i] : '?';
    }
    list[o] = 0;
}

/* Walk the whole mechanism list: *plain / *plus when SCRAM-SHA-256 /
 * SCRAM-SHA-256-PLUS are in it. */
static PgcStatus
su_find_scram(PgcStartup *s, PgcView data, int *plain, int *plus)
{
    size_t want = sizeof(SCRAM_MECH) - 1;
    size_t want_plus = sizeof(SCRAM_PLUS_MECH) - 1;
    PgcCur c = pgc_cur_make(data.p, data.n);
    PgcView m;
    PgcStatus st;
    char list[120] = "";
    char msg[sizeof(s->err_msg)];

    *plain = *plus = 0;
    while ((st = pgc_parse_sasl_mech_next(&c, &m)) == PGC_OK) {
        *plain |= m.n == want && memcmp(m.p, SCRAM_MECH, want) == 0;
        *plus |= m.n == want_plus &&
                 memcmp(m.p, SCRAM_PLUS_MECH, want_plus) == 0;
        su_list_append(list, sizeof(list), m);
    }
    if (st != PGC_NEED_MORE || pgc_parse_end(&c) != PGC_OK) {
        return su_fail(s, PGC_ERR_PROTOCOL,
                       "malformed SASL mechanism list from the server");
    }
    if (*plus && !s->ssl_in_use) {
        /* Not sane: perhaps TLS was stripped by something in between. */
        return su_fail(s, PGC_ERR_AUTH,
                       "server offered " SCRAM_PLUS_MECH " authentication "
                       "over a non-SSL connection");
    }
    if (!*plain && !*plus) {
        snprintf(msg, sizeof(msg),
                 "server offered SASL mechanisms (%s) "
                 "but not " SCRAM_MECH,
                 list);
        return su_fail(s, PGC_ERR_AUTH, msg);
    }
    return PGC_OK;
}

/* Choose the mechanism and the gs2 flag (libpq's pg_SASL_init). */
static PgcStatus
su_choose_mech(PgcStartup *s, int plain, int plus, PgcScramCb *cb)
{
    int bind = s->ssl_in_use && s->cb_mode != PGC_CB_DISABLE;

    if (plus && bind && s->cb_data) {
        *cb = PGC_SCRAM_CB_ENDPOINT;
        s->cb_used = 1;
        return PGC_OK;
    }
    if (s->cb_mode == PGC_CB_REQUIRE) {
        return su_fail(s, PGC_ERR_AUTH,
                       plus ? "channel binding required, but the server "
                              "certificate's signature algorithm has no "
                              "hash usable for tls-server-end-point"
                            : "channel binding is required, but server did "
                              "not offer an authentication method that "
                              "supports channel binding");
    }
    if (!plain) {
        return su_fail(s, PGC_ERR_AUTH,
                       bind ? "the server offered only " SCRAM_PLUS_MECH
                              " and its certificate's signature algorithm "
                              "has no hash usable for tls-server-end-point"
                            : "the server offered only " SCRAM_PLUS_MECH
                              " and channel_binding is disable");
    }
    /* "y": we could bind but the server did not offer it -- unless it
     * did and we cannot (no hash), where "y" would read as a downgrade. */
    *cb = bind && !plus ? PGC_SCRAM_CB_UNUSED : PGC_SCRAM_CB_NONE;
    return PGC_OK;
}

static PgcStatus
su_auth_sasl(PgcStartup *s, PgcView data, PgcWBuf *out)
{
    char first[PGC_SCRAM_MSG_MAX];
    size_t n = 0;
    int plain = 0, plus = 0;
    PgcScramCb cb = PGC_SCRAM_CB_NONE;
    PgcStatus st = su_first_request(s, "SASL request");

    if (st == PGC_OK) {
        st = su_check_required(s, PGC_AUTHM_SCRAM,
                               "server requested SASL authentication");
    }
    if (st == PGC_OK && s->cb_mode == PGC_CB_REQUIRE && !s->ssl_in_use) {
        return su_fail(s, PGC_ERR_AUTH,
                       "channel binding required, but SSL not in use");
    }
    if (st == PGC_OK) {
        st = su_find_scram(s, data, &plain, &plus);
    }
    if (st == PGC_OK) {
        st = su_choose_mech(s, plain, plus, &cb);
    }
    if (st != PGC_OK) {
        return st;
    }
    if (!s->scram_password) {
        return su_fail(s, PGC_ERR_AUTH,
                       "server requested SCRAM-SHA-256 authentication but "
                       "no password was given");
    }
    st = pgc_scram_client_first_cb(&s->scram, cb, s->cb_data, s->cb_len,
                                   s->nonce, s->nonce_len, s->max_iterations,
                                   first, sizeof(first), &n);
    if (st != PGC_OK) {
        return su_fail(s, st, s->scram.err_msg);
    }
    if (cb == PGC_SCRAM_CB_ENDPOINT) {
        PgcStr mech = {SCRAM_PLUS_MECH, sizeof(SCRAM_PLUS_MECH) - 1};
        st = pgc_build_sasl_initial(out, mech, (const uint8_t *)first, n);
    }
    else {
        PgcStr mech = {SCRAM_MECH, sizeof(SCRAM_MECH) - 1};
        st = pgc_build_sasl_initial(out, mech, (const uint8_t *)first, n);
    }
    if (st != PGC_OK) {
        return su_build_failed(s, st);
    }
    s->method_used = PGC_AUTHM_SCRAM;
    s->phase = PGC_SU_SASL_CONTINUE;
    return PGC_OK;
}

static PgcStatus
su_auth_sasl_continue(PgcStartup *s, PgcView data, PgcWBuf *out)
{
    char final[PGC_SCRAM_MSG_MAX];
    size_t n = 0;
    PgcStatus st;

    if (s->phase != PGC_SU_SASL_CONTINUE) {
        return su_unexpected(s, "SASL continuation");
    }
    if (s->preset.salt_len != 0) {
        s->scram.preset = s->preset;
        pgc_salted_key_wipe(&s->preset);
    }
    st = pgc_scram_client_final(&s->scram, data.p, data.n, s->scram_password,
                                s->scram_password_len, final, sizeof(final),
                                &n);
    if (st != PGC_OK) {
        return su_fail(s, st, s->scram.err_msg);
    }
    st = pgc_build_sasl_response(out, (const uint8_t *) final, n);
    pgc_wipe(final, sizeof(final));
    if (st != PGC_OK) {
        return su_build_failed(s, st);
    }
    s->phase = PGC_SU_SASL_FINAL;
    return PGC_OK;
}

static PgcStatus
su_auth_sasl_final(PgcStartup *s, PgcView data)
{
    PgcStatus st;

    if (s->phase != PGC_SU_SASL_FINAL) {
        return su_unexpected(s, "SASL final message");
    }
    st = pgc_scram_verify_server_final(&s->scram, data.p, data.n);
    if (st != PGC_OK) {
        return su_fail(s, st, s->scram.err_msg);
    }
    (void)pgc_salted_key_set(&s->learned, s->scram.salt, s->scram.salt_len,
                             s->scram.iterations, s->scram.salted_password);
    pgc_wipe(&s->scram, sizeof(s->scram));
    s->phase = PGC_SU_SASL_OK;
    return PGC_OK;
}

/* channel_binding=require: only a SASL exchange may run, and it must
 * have been SCRAM-SHA-256-PLUS when the server says it is done (libpq's
 * check_expected_areq).  AuthenticationOk in the middle of an exchange is
 * left to su_auth_ok. */
static PgcStatus
su_check_cb_required(PgcStartup *s, int32_t code)
{
    switch (code) {
    case PGC_AUTH_SASL:
    case PGC_AUTH_SASL_CONTINUE:
    case PGC_AUTH_SASL_FINAL:
        return PGC_OK;
    case PGC_AUTH_OK:
        if (s->phase == PGC_SU_SASL_CONTINUE ||
            s->phase == PGC_SU_SASL_FINAL ||
            (s->phase == PGC_SU_SASL_OK && s->cb_used)) {
            return PGC_OK;
        }
        return su_fail(s, PGC_ERR_AUTH,
                       "channel binding required, but server authenticated "
                       "client without channel binding");
    default:
        return su_fail(s, PGC_ERR_AUTH,
                       "channel binding required but not supported by "
                       "server's authentication request");
    }
}

static PgcStatus
su_auth(PgcStartup *s, PgcView body, PgcWBuf *out)
{
    PgcAuthMsg a;

    if (pgc_parse_auth(body, &a) != PGC_OK) {
        return su_fail(s, PGC_ERR_PROTOCOL,
                       "malformed authentication request from the server");
    }
    if (s->cb_mode == PGC_CB_REQUIRE) {
        PgcStatus st = su_check_cb_required(s, a.code);
        if (st != PGC_OK) {
            return st;
        }
    }
    switch (a.code) {
    case PGC_AUTH_OK:
        return su_auth_ok(s);
    case PGC_AUTH_CLEARTEXT:
        return su_auth_cleartext(s, out);
    case PGC_AUTH_MD5:
        return su_auth_md5(s, a.data, out);
    case PGC_AUTH_SASL:
        return su_auth_sasl(s, a.data, out);
    case PGC_AUTH_SASL_CONTINUE:
        return su_auth_sasl_continue(s, a.data, out);
    case PGC_AUTH_SASL_FINAL:
        return su_auth_sasl_final(s, a.data);
    default:
        return su_unsupported(s, a.code);
    }
}

/* ------------------------------------------------------------------ */
/* Other messages.                                                     */
/* ------------------------------------------------------------------ */

static PgcStatus
su_ready(PgcStartup *s, PgcView body, PgcStartupEvent *event)
{
    if (s->phase != PGC_SU_WAIT_READY) {
        return su_unexpected(s, "ReadyForQuery");
    }
    if (pgc_parse_ready(body, &s->tx_status) != PGC_OK) {
        return su_fail(s, PGC_ERR_PROTOCOL,
                       "malformed ReadyForQuery from the server");
    }
    s->phase = PGC_SU_DONE;
    *event = PGC_SU_EV_READY;
    return PGC_OK;
}

/* NegotiateProtocolVersion: the server does not know some _pq_. option
 * of the StartupMessage.  Minor version 0 is all this client speaks, so
 * only that answer is acceptable, and only before authentication. */
static PgcStatus
su_negotiate(PgcStartup *s, PgcView body)
{
    int32_t minor = 0, nopts = 0;

    if (s->phase != PGC_SU_WAIT_AUTH || s->method_used) {
        return su_unexpected(s, "NegotiateProtocolVersion");
    }
    if (pgc_parse_negotiate_version(body, &minor, &nopts) != PGC_OK ||
        minor != 0) {
        return su_fail(s, PGC_ERR_PROTOCOL,
                       "malformed or unsupported NegotiateProtocolVersion "
                       "from the server");
    }
    return PGC_OK;
}

/* Messages the binding normally handles itself; accepted when well
 * formed. */
static PgcStatus
su_async(PgcStartup *s, const PgcMsg *m)
{
    PgcView a, b;
    int32_t x, y;
    PgcStatus st;

    switch (m->type) {
    case PGC_MSG_PARAM_STATUS:
        st = pgc_parse_param_status(m->body, &a, &b);
        break;
    case PGC_MSG_BACKEND_KEY:
        st = pgc_parse_backend_key(m->body, &x, &y);
        break;
    case PGC_MSG_NOTIFICATION:
        st = pgc_parse_notification(m->body, &x, &a, &b);
        break;
    default: /* PGC_MSG_NOTICE: the binding parses the fields */
        st = PGC_OK;
        break;
    }
    if (st != PGC_OK) {
        return su_fail(s, PGC_ERR_PROTOCOL,
                       "malformed message from the server during "
                       "authentication");
    }
    return PGC_OK;
}

PgcStatus
pgc_startup_handle(PgcStartup *s, const PgcMsg *m, PgcWBuf *out,
                   PgcStartupEvent *event)
{
    *event = PGC_SU_EV_CONTINUE;
    if (s->phase == PGC_SU_DONE || s->phase == PGC_SU_FAILED) {
        snprintf(s->err_msg, sizeof(s->err_msg), "%s",
                 "startup is already over");
        return PGC_ERR_STATE;
    }
    switch (m->type) {
    case PGC_MSG_AUTH:
        return su_auth(s, m->body, out);
    case PGC_MSG_READY:
        return su_ready(s, m->body, event);
    case PGC_MSG_ERROR:
        s->phase = PGC_SU_FAILED;
        pgc_startup_wipe_secrets(s);
        *event = PGC_SU_EV_SERVER_ERROR;
        return PGC_OK;
    case PGC_MSG_NEGOTIATE_VERSION:
        return su_negotiate(s, m->body);
    case PGC_MSG_PARAM_STATUS:
    case PGC_MSG_BACKEND_KEY:
    case PGC_MSG_NOTICE:
    case PGC_MSG_NOTIFICATION:
        return su_async(s, m);
    default:
        return su_unexpected_type(s, m->type);
    }
}
