/* pgc_scram_cache.h -- a fixed-size table of SCRAM SaltedPassword values,
 * no I/O, no allocation.
 *
 * SaltedPassword = PBKDF2(password, salt, iterations) is what a
 * SCRAM-SHA-256 client spends its time on (4096 HMAC rounds with
 * PostgreSQL's default).  After an exchange whose server signature
 * verified, the binding stores it here so that connecting again with the
 * same password, to a server that sends the same salt and iteration count,
 * skips PBKDF2.
 *
 * The SaltedPassword is password-equivalent for that server, so:
 *   - an entry is found by a key that is HMAC-SHA-256 under a random
 *     secret of the table (drawn by the caller, e.g. per process) over the
 *     password, the salt and the iteration count: a key tells nothing
 *     about the password without the secret, and differs between
 *     processes;
 *   - the table is a plain array in the caller's memory, never copied out
 *     except into the caller's buffer at a hit; an entry is wiped (with
 *     stores the compiler may not drop) when it is evicted, forgotten or
 *     cleared, and the whole table, secret included, by
 *     pgc_scram_cache_wipe.
 *
 * Least recently used entries are evicted first.  Not thread-safe: the
 * caller serialises every call (the binding: under the GIL).
 */
#ifndef PGC_SCRAM_CACHE_H
#define PGC_SCRAM_CACHE_H

#include "pgc_scram.h"

#define PGC_SCRAM_CACHE_SLOTS 64
#define PGC_SCRAM_CACHE_SECRET_LEN 32

typedef struct {
    uint8_t key[PGC_SHA256_LEN];
    uint8_t salted[PGC_SHA256_LEN];
    uint64_t used; /* 0: empty; else the table's tick at the last use */
} PgcScramCacheEntry;

typedef struct {
    uint64_t hits;
    uint64_t misses;
    uint64_t stores;
    uint64_t evictions; /* entries pushed out by a store into a full table */
    uint64_t forgotten; /* pgc_scram_cache_forget that found its entry */
} PgcScramCacheStats;

typedef struct {
    /* HMAC-SHA-256 keyed with the secret (the secret itself is not
     * kept): each key costs the compressions of its message only */
    PgcHmacSha256 keyed_hmac;
    int keyed; /* the secret is set: without it nothing is stored */
    uint64_t tick;
    size_t len; /* entries in use */
    PgcScramCacheStats stats;
    PgcScramCacheEntry e[PGC_SCRAM_CACHE_SLOTS];
} PgcScramCache;

/* An empty table keyed by `secret` (PGC_SCRAM_CACHE_SECRET_LEN random
 * bytes, copied; the caller wipes its copy). */
void pgc_scram_cache_init(PgcScramCache *c,
                          const uint8_t secret[PGC_SCRAM_CACHE_SECRET_LEN]);

/* key = HMAC-SHA-256(secret, "pgwire SCRAM SaltedPassword\0" ||
 * be64(pwlen) || password || be64(salt_len) || salt || be64(iterations)).
 * The password is the one PBKDF2 uses (SASLprep'd). */
void pgc_scram_cache_key(const PgcScramCache *c, const char *password,
                         size_t pwlen, const uint8_t *salt, size_t salt_len,
                         uint32_t iterations, uint8_t key[PGC_SHA256_LEN]);

/* 1 and the SaltedPassword copied to `salted` (the entry becomes the most
 * recently used) if `key` is in the table, else 0.  Keys are compared in
 * constant time. */
int pgc_scram_cache_get(PgcScramCache *c, const uint8_t key[PGC_SHA256_LEN],
                        uint8_t salted[PGC_SHA256_LEN]);

/* Store (or refresh) key -> salted as the most recently used entry; in a
 * full table the least recently used entry is wiped and replaced.  Does
 * nothing if the table has no secret. */
void pgc_scram_cache_put(PgcScramCache *c, const uint8_t key[PGC_SHA256_LEN],
                         const uint8_t salted[PGC_SHA256_LEN]);

/* Wipe the entry of `key`; 1 if there was one. */
int pgc_scram_cache_forget(PgcScramCache *c,
                           const uint8_t key[PGC_SHA256_LEN]);

/* Wipe every entry; the secret and the statistics stay. */
void pgc_scram_cache_clear(PgcScramCache *c);

/* Wipe everything, the secret included (the table stores nothing until
 * pgc_scram_cache_init again). */
void pgc_scram_cache_wipe(PgcScramCache *c);

static inline size_t
pgc_scram_cache_len(const PgcScramCache *c)
{
    return c->len;
}

#endif /* PGC_SCRAM_CACHE_H */
