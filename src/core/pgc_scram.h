/* pgc_scram.h -- the SCRAM-SHA-256(-PLUS) client exchange, no I/O.
 */
#ifndef PGC_SCRAM_H
#define PGC_SCRAM_H

#include "pgc_hash.h"

/* Default cap on the SCRAM iteration count chosen by the server. */
#define PGC_SCRAM_DEFAULT_MAX_ITER 100000u

/* ------------------------------------------------------------------ */
/* SCRAM-SHA-256 (RFC 5802 / 7677) and SCRAM-SHA-256-PLUS with the     */
/* tls-server-end-point channel binding (RFC 5929), client side.       */
/* ------------------------------------------------------------------ */
#define PGC_SCRAM_NONCE_MAX 128
#define PGC_SCRAM_MSG_MAX 1024
/* The longest salt whose SaltedPassword can be remembered (PostgreSQL's
 * are 16 bytes). */
#define PGC_SCRAM_SALT_MAX 64
/* The largest channel-binding data: a SHA-512 hash. */
#define PGC_CBIND_DATA_MAX 64

/* The gs2 channel-binding flag of the client-first-message. */
typedef enum {
    PGC_SCRAM_CB_NONE = 0, /* "n,,": the client does not bind */
    PGC_SCRAM_CB_UNUSED,   /* "y,,": it could, the server did not offer */
    PGC_SCRAM_CB_ENDPOINT, /* "p=tls-server-end-point,,": -PLUS */
} PgcScramCb;

/* A SaltedPassword (RFC 5802 Hi(password, salt, i)) with the salt and
 * iteration count it was computed for: what the SCRAM exchange may be
 * handed instead of running PBKDF2, and what a verified exchange leaves
 * for the binding to remember.  salt_len 0: empty. */
typedef struct {
    uint8_t salt[PGC_SCRAM_SALT_MAX];
    size_t salt_len;
    uint32_t iterations;
    uint8_t salted[PGC_SHA256_LEN];
} PgcSaltedKey;

/* Copy the key into k; ignored (k left empty) when salt_len is 0 or above
 * PGC_SCRAM_SALT_MAX.  Returns 1 when k now holds it. */
int pgc_salted_key_set(PgcSaltedKey *k, const uint8_t *salt, size_t salt_len,
                       uint32_t iterations,
                       const uint8_t salted[PGC_SHA256_LEN]);

/* 1 when k holds a key for this salt and iteration count. */
int pgc_salted_key_matches(const PgcSaltedKey *k, const uint8_t *salt,
                           size_t salt_len, uint32_t iterations);

/* Wipe k (volatile writes) and leave it empty. */
void pgc_salted_key_wipe(PgcSaltedKey *k);

typedef struct {
    uint32_t max_iterations;
    char client_nonce[PGC_SCRAM_NONCE_MAX + 1];
    size_t client_nonce_len;
    /* gs2 header followed by the channel-binding data: c= of the
     * client-final-message is its base64 */
    uint8_t cbind_input[32 + PGC_CBIND_DATA_MAX];
    size_t cbind_input_len;
    /* client-first-message-bare, server-first-message: kept for the
     * AuthMessage */
    char client_first_bare[PGC_SCRAM_MSG_MAX];
    size_t client_first_bare_len;
    char server_first[PGC_SCRAM_MSG_MAX];
    size_t server_first_len;
    uint8_t salted_password[PGC_SHA256_LEN];
    uint8_t server_signature[PGC_SHA256_LEN];
    /* the salt (decoded) and iteration count of the exchange, and a
     * SaltedPassword known for them (pgc_scram_preset) */
    uint8_t salt[PGC_SCRAM_SALT_MAX];
    size_t salt_len; /* 0: longer than PGC_SCRAM_SALT_MAX, not kept */
    uint32_t iterations;
    PgcSaltedKey preset; /* salt_len 0: none */
    char err_msg[160];
} PgcScram;

/* Start an exchange.  nonce: printable ASCII without ',' (the caller makes
 * it from a CSPRNG, e.g. base64 of 18 random bytes).  Writes the
 * client-first-message ("n,,n=,r=<nonce>") into out (cap bytes, NUL
 * terminated) and its length into *outlen. */
PgcStatus pgc_scram_client_first(PgcScram *s, const char *nonce,
                                 size_t nonce_len, uint32_t max_iterations,
                                 char *out, size_t cap, size_t *outlen);
/* The same with a channel-binding flag; for PGC_SCRAM_CB_ENDPOINT,
 * cb_data is the tls-server-end-point hash of the server certificate
 * (1 to PGC_CBIND_DATA_MAX bytes), otherwise it is ignored. */
PgcStatus pgc_scram_client_first_cb(PgcScram *s, PgcScramCb cb,
                                    const uint8_t *cb_data, size_t cb_len,
                                    const char *nonce, size_t nonce_len,
                                    uint32_t max_iterations, char *out,
                                    size_t cap, size_t *outlen);
/* Handle server-first-message; on success write client-final-message.
 * Checks: r= extends the client nonce with printable characters, s= is
 * valid base64, i= is a canonical decimal integer in [1, max_iterations].
 * PGC_ERR_AUTH with err_msg set otherwise. */
PgcStatus pgc_scram_client_final(PgcScram *s, const uint8_t *server_first,
                                 size_t n, const char *password, size_t pwlen,
                                 char *out, size_t cap, size_t *outlen);
/* A SaltedPassword computed in an earlier exchange with the same
 * password: if the server sends this salt and iteration count,
 * pgc_scram_client_final uses it instead of running PBKDF2.  Call after
 * pgc_scram_client_first.  Ignored when salt_len is 0 or above
 * PGC_SCRAM_SALT_MAX. */
void pgc_scram_preset(PgcScram *s, const uint8_t *salt, size_t salt_len,
                      uint32_t iterations,
                      const uint8_t salted[PGC_SHA256_LEN]);

/* The salt (decoded) and iteration count of a server-first-message,
 * without the checks of pgc_scram_client_final (the nonce is not looked
 * at, the iteration count may be any canonical decimal in [1, 2^32-1]).
 * PGC_ERR_AUTH if the message does not parse, PGC_ERR_LIMIT if the salt
 * does not fit salt_cap bytes. */
PgcStatus pgc_scram_server_first_params(const uint8_t *msg, size_t n,
                                        uint8_t *salt, size_t salt_cap,
                                        size_t *salt_len,
                                        uint32_t *iterations);

/* Verify server-final-message "v=<base64 signature>" in constant time.
 * A server "e=<error>" or a bad signature gives PGC_ERR_AUTH. */
PgcStatus pgc_scram_verify_server_final(PgcScram *s, const uint8_t *msg,
                                        size_t n);

#endif /* PGC_SCRAM_H */
