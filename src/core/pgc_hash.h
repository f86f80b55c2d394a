/* pgc_hash.h -- SHA-256 (with SHA-NI), HMAC-SHA-256, PBKDF2, MD5, base64,
 * constant-time comparison and wiping; no I/O.
 *
 * Written here in plain C so the core needs no library; checked against
 * the RFC/FIPS test vectors in tests/c.
 */
#ifndef PGC_HASH_H
#define PGC_HASH_H

#include "pgc_buf.h"

#define PGC_SHA256_LEN 32
#define PGC_MD5_LEN 16
/* "md5" + 32 hex digits */
#define PGC_MD5_PASSWORD_LEN 35

typedef struct {
    uint32_t state[8];
    uint64_t bitlen;
    uint8_t buf[64];
    size_t buflen;
    uint8_t hw; /* compress with the CPU's SHA extensions */
} PgcSha256;

void pgc_sha256_init(PgcSha256 *c);
void pgc_sha256_update(PgcSha256 *c, const uint8_t *p, size_t n);
void pgc_sha256_final(PgcSha256 *c, uint8_t out[PGC_SHA256_LEN]);
void pgc_sha256(const uint8_t *p, size_t n, uint8_t out[PGC_SHA256_LEN]);
/* SHA-256 uses the CPU's SHA extensions when it has them (asked at each
 * pgc_sha256_init).  The _impl variants choose: hw=0 forces the portable
 * code (tests compare the two); pgc_sha256_init_impl returns 1 if the
 * hardware is in use. */
int pgc_sha256_init_impl(PgcSha256 *c, int hw);
void pgc_pbkdf2_sha256_impl(const uint8_t *pw, size_t pwlen,
                            const uint8_t *salt, size_t saltlen,
                            uint32_t iterations, uint8_t out[PGC_SHA256_LEN],
                            int hw);
void pgc_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg,
                     size_t mlen, uint8_t out[PGC_SHA256_LEN]);
/* HMAC-SHA-256 fed in pieces; final wipes the context. */
typedef struct {
    PgcSha256 inner;
    PgcSha256 outer;
} PgcHmacSha256;
void pgc_hmac_sha256_init(PgcHmacSha256 *h, const uint8_t *key, size_t klen);
void pgc_hmac_sha256_update(PgcHmacSha256 *h, const void *p, size_t n);
void pgc_hmac_sha256_final(PgcHmacSha256 *h, uint8_t out[PGC_SHA256_LEN]);
void pgc_pbkdf2_sha256(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
                       size_t saltlen, uint32_t iterations,
                       uint8_t out[PGC_SHA256_LEN]);

/* For a caller that runs many hashes in a row (the SCRAM client): the
 * CPU's answer asked once (CPUID is slow in a VM), then passed as hw to
 * the _as variants, which use it as given (1 only if pgc_sha256_hw()
 * said so; 0 forces the portable code). */
int pgc_sha256_hw(void);
void pgc_sha256_as(const uint8_t *p, size_t n, uint8_t out[PGC_SHA256_LEN],
                   int hw);
void pgc_hmac_sha256_init_as(PgcHmacSha256 *h, const uint8_t *key, size_t klen,
                             int hw);
void pgc_hmac_sha256_as(const uint8_t *key, size_t klen, const uint8_t *msg,
                        size_t mlen, uint8_t out[PGC_SHA256_LEN], int hw);
void pgc_pbkdf2_sha256_as(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
                          size_t saltlen, uint32_t iterations,
                          uint8_t out[PGC_SHA256_LEN], int hw);

void pgc_md5(const uint8_t *p, size_t n, uint8_t out[PGC_MD5_LEN]);
/* out = "md5" + hex(md5(hex(md5(password || user)) || salt)), NUL
 * terminated (PGC_MD5_PASSWORD_LEN + 1 bytes). */
void pgc_md5_password(const char *user, size_t ulen, const char *pw,
                      size_t pwlen, const uint8_t salt[4],
                      char out[PGC_MD5_PASSWORD_LEN + 1]);

/* base64 (RFC 4648, with padding).  encode writes 4*ceil(n/3) bytes plus a
 * NUL; decode is strict (no whitespace, correct padding) and returns
 * PGC_ERR_PROTOCOL on bad input, PGC_ERR_LIMIT if out is too small. */
size_t pgc_base64_encoded_len(size_t n);
void pgc_base64_encode(const uint8_t *p, size_t n, char *out);
PgcStatus pgc_base64_decode(const char *p, size_t n, uint8_t *out,
                            size_t outcap, size_t *outlen);

/* Constant-time comparison: 1 if equal. */
int pgc_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* Zero n bytes at p with stores the compiler may not drop (for secrets
 * whose memory is about to be freed or reused). */
void pgc_wipe(void *p, size_t n);

#endif /* PGC_HASH_H */
