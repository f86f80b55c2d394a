/* pgc_startup.h -- the startup/authentication state machine, no I/O.
 *
 * The binding sends the StartupMessage (pgc_build_startup) and then hands
 * every message that arrives before ReadyForQuery to pgc_startup_handle,
 * except the ones that may arrive at any time (ParameterStatus 'S',
 * BackendKeyData 'K', NoticeResponse 'N', NotificationResponse 'A'), which
 * the binding handles itself.  Responses (passwords, SASL messages) are
 * appended to `out` for the binding to write.
 */
#ifndef PGC_STARTUP_H
#define PGC_STARTUP_H

#include "pgc_scram.h"
#include "pgc_frame.h"

typedef enum {
    PGC_SU_WAIT_AUTH = 0, /* expecting an 'R' */
    PGC_SU_SASL_CONTINUE, /* sent SASLInitialResponse, expecting SASL_CONTINUE */
    PGC_SU_SASL_FINAL,    /* sent SASLResponse, expecting SASL_FINAL */
    PGC_SU_SASL_OK,       /* expecting AuthenticationOk after SASL_FINAL */
    PGC_SU_WAIT_READY,    /* authenticated, expecting 'Z' */
    PGC_SU_DONE,
    PGC_SU_FAILED,
} PgcStartupPhase;

/* What pgc_startup_handle saw. */
typedef enum {
    PGC_SU_EV_CONTINUE = 0, /* consumed; `out` may hold a response to send */
    PGC_SU_EV_READY,        /* ReadyForQuery: startup complete */
    PGC_SU_EV_SERVER_ERROR, /* ErrorResponse: the caller raises it */
} PgcStartupEvent;

/* Authentication methods, as a bit set (for reporting, and for
 * require_auth). */
#define PGC_AUTHM_NONE (1u << 0)     /* trust: AuthenticationOk at once */
#define PGC_AUTHM_PASSWORD (1u << 1) /* cleartext */
#define PGC_AUTHM_MD5 (1u << 2)
#define PGC_AUTHM_SCRAM (1u << 3)
#define PGC_AUTHM_GSS (1u << 4)  /* not spoken by this client */
#define PGC_AUTHM_SSPI (1u << 5) /* not spoken by this client */

/* channel_binding (libpq 13+) */
typedef enum {
    PGC_CB_DISABLE = 0,
    PGC_CB_PREFER,  /* the default: SCRAM-SHA-256-PLUS when offered */
    PGC_CB_REQUIRE, /* only SCRAM-SHA-256-PLUS may authenticate */
} PgcChannelBinding;

typedef struct {
    PgcStartupPhase phase;
    const char *user; /* borrowed; must outlive the state machine */
    size_t user_len;
    const char *password; /* borrowed; NULL if none was given */
    size_t password_len;
    const char *scram_password; /* SASLprep'd password (borrowed) */
    size_t scram_password_len;
    const char *nonce; /* borrowed client nonce for SCRAM */
    size_t nonce_len;
    uint32_t max_iterations;
    uint32_t method_used;     /* one PGC_AUTHM_* bit once known */
    int require;              /* require_auth given: only `allowed` may run */
    uint32_t allowed;         /* PGC_AUTHM_* bits */
    const char *require_text; /* the option as given (borrowed), for
                                 messages */
    PgcChannelBinding cb_mode;
    int ssl_in_use;
    const uint8_t *cb_data; /* borrowed tls-server-end-point hash, or NULL */
    size_t cb_len;
    int cb_used; /* SCRAM-SHA-256-PLUS was chosen */
    /* A SaltedPassword remembered by the binding (pgc_startup_preset;
     * copied, wiped once handed to the SCRAM exchange), and the one this
     * exchange used, once the server's signature proved it right */
    PgcSaltedKey preset;  /* salt_len 0: none */
    PgcSaltedKey learned; /* salt_len 0: none */
    uint8_t tx_status;    /* from ReadyForQuery */
    PgcScram scram;
    char err_msg[200];
} PgcStartup;

/* password may be NULL (none given); scram_password may be NULL (then the
 * plain password is used). */
void pgc_startup_init(PgcStartup *s, const char *user, size_t user_len,
                      const char *password, size_t password_len,
                      const char *scram_password, size_t scram_password_len,
                      const char *nonce, size_t nonce_len,
                      uint32_t max_iterations);

/* libpq's require_auth: only the methods in `allowed` (PGC_AUTHM_* bits)
 * may authenticate the connection; `text` is the option as the user gave
 * it (borrowed, NUL terminated), quoted in the error.  Call after
 * pgc_startup_init. */
void pgc_startup_require(PgcStartup *s, uint32_t allowed, const char *text);

/* Channel binding: `mode`, whether the connection runs over TLS, and the
 * tls-server-end-point hash of the server certificate (borrowed; NULL when
 * none can be computed, e.g. an Ed25519 certificate).  Without this call
 * the machine behaves as `prefer` over a connection without TLS.  As
 * libpq: SCRAM-SHA-256-PLUS is chosen over TLS unless `disable`; a server
 * offering it without TLS is refused; under `require` every request other
 * than SASL fails and AuthenticationOk is accepted only after a -PLUS
 * exchange.  Under `prefer` with no hash, plain SCRAM is used with the
 * "n" flag.  Call after pgc_startup_init. */
void pgc_startup_channel_binding(PgcStartup *s, PgcChannelBinding mode,
                                 int ssl_in_use, const uint8_t *data,
                                 size_t len);

/* A SaltedPassword from an earlier SCRAM exchange with the same password
 * (copied): used instead of PBKDF2 when the server sends this salt and
 * iteration count.  Call any time before the AuthenticationSASLContinue
 * reaches pgc_startup_handle; ignored when salt_len is 0 or above
 * PGC_SCRAM_SALT_MAX.  After a SCRAM exchange whose server signature
 * verified, s->learned holds the salt, iteration count and
 * SaltedPassword it used (learned.salt_len != 0), for the binding to remember (it must wipe
 * them, e.g. with pgc_startup_wipe_secrets). */
void pgc_startup_preset(PgcStartup *s, const uint8_t *salt, size_t salt_len,
                        uint32_t iterations,
                        const uint8_t salted[PGC_SHA256_LEN]);

/* If m is the AuthenticationSASLContinue this machine waits for and its
 * server-first-message gives a salt of at most PGC_SCRAM_SALT_MAX bytes
 * and an iteration count: 1 with them in salt, *salt_len, *iterations
 * (for the binding to look a SaltedPassword up before handing m to
 * pgc_startup_handle).  Otherwise 0; m is not checked beyond that, the
 * machine does it. */
int pgc_startup_scram_params(const PgcStartup *s, const PgcMsg *m,
                             uint8_t salt[PGC_SCRAM_SALT_MAX],
                             size_t *salt_len, uint32_t *iterations);

/* Wipe every secret the machine holds: the SCRAM exchange, the preset and
 * the learned SaltedPassword (s->learned is left empty).  The borrowed
 * passwords are the binding's to wipe. */
void pgc_startup_wipe_secrets(PgcStartup *s);

/* Handle one message.  Returns PGC_OK with *event set, or a negative status
 * with s->err_msg set:
 *   PGC_ERR_AUTH     -- no password given when one is needed, an
 *                       unsupported method, a SCRAM check failed, or
 *                       AuthenticationOk before the SASL exchange finished;
 *   PGC_ERR_PROTOCOL -- a message that makes no sense in this phase;
 *   PGC_ERR_NOMEM / PGC_ERR_LIMIT from the builders. */
PgcStatus pgc_startup_handle(PgcStartup *s, const PgcMsg *m, PgcWBuf *out,
                             PgcStartupEvent *event);

#endif /* PGC_STARTUP_H */
