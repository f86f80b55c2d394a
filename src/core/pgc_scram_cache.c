/* pgc_scram_cache.c -- the SCRAM SaltedPassword table (see
 * pgc_scram_cache.h). */
#include "pgc_scram_cache.h"

/* Domain separation: the secret keys nothing else, but the input says
 * what it is for anyway. */
static const char key_label[] = "pgwire SCRAM SaltedPassword";

void
pgc_scram_cache_init(PgcScramCache *c,
                     const uint8_t secret[PGC_SCRAM_CACHE_SECRET_LEN])
{
    pgc_wipe(c, sizeof(*c));
    pgc_hmac_sha256_init(&c->keyed_hmac, secret, PGC_SCRAM_CACHE_SECRET_LEN);
    c->keyed = 1;
}

/* v as 8 bytes, big-endian */
static void
hmac_u64(PgcHmacSha256 *h, uint64_t v)
{
    uint8_t b[8];

    pgc_store_u32(b, (uint32_t)(v >> 32));
    pgc_store_u32(b + 4, (uint32_t)v);
    pgc_hmac_sha256_update(h, b, sizeof(b));
}

void
pgc_scram_cache_key(const PgcScramCache *c, const char *password, size_t pwlen,
                    const uint8_t *salt, size_t salt_len, uint32_t iterations,
                    uint8_t key[PGC_SHA256_LEN])
{
    PgcHmacSha256 h = c->keyed_hmac;

    /* the label's NUL ends it */
    pgc_hmac_sha256_update(&h, key_label, sizeof(key_label));
    /* each variable-length field after its length: no two inputs give
     * the same message */
    hmac_u64(&h, pwlen);
    pgc_hmac_sha256_update(&h, password, pwlen);
    hmac_u64(&h, salt_len);
    pgc_hmac_sha256_update(&h, salt, salt_len);
    hmac_u64(&h, iterations);
    pgc_hmac_sha256_final(&h, key);
}

/* The slot holding key, or -1.  Every used slot is compared, in constant
 * time, whether or not an earlier one matched. */
static int
find(const PgcScramCache *c, const uint8_t key[PGC_SHA256_LEN])
{
    int found = -1;
    int i;

    for (i = 0; i < PGC_SCRAM_CACHE_SLOTS; i++) {
        if (c->e[i].used != 0 &&
            pgc_ct_equal(c->e[i].key, key, PGC_SHA256_LEN)) {
            found = i;
        }
    }
    return found;
}

static void
wipe_entry(PgcScramCache *c, PgcScramCacheEntry *e)
{
    if (e->used != 0) {
        c->len--;
    }
    pgc_wipe(e, sizeof(*e));
}

int
pgc_scram_cache_get(PgcScramCache *c, const uint8_t key[PGC_SHA256_LEN],
                    uint8_t salted[PGC_SHA256_LEN])
{
    int i = find(c, key);

    if (i < 0) {
        c->stats.misses++;
        return 0;
    }
    c->stats.hits++;
    c->e[i].used = ++c->tick;
    memcpy(salted, c->e[i].salted, PGC_SHA256_LEN);
    return 1;
}

void
pgc_scram_cache_put(PgcScramCache *c, const uint8_t key[PGC_SHA256_LEN],
                    const uint8_t salted[PGC_SHA256_LEN])
{
    int i, slot;

    if (!c->keyed) {
        return;
    }
    slot = find(c, key);
    if (slot < 0) {
        /* an empty slot, else the least recently used one */
        slot = 0;
        for (i = 0; i < PGC_SCRAM_CACHE_SLOTS; i++) {
            if (c->e[i].used < c->e[slot].used) {
                slot = i;
            }
        }
        if (c->e[slot].used != 0) {
            c->stats.evictions++;
        }
        wipe_entry(c, &c->e[slot]);
        c->len++;
        memcpy(c->e[slot].key, key, PGC_SHA256_LEN);
    }
    memcpy(c->e[slot].salted, salted, PGC_SHA256_LEN);
    c->e[slot].used = ++c->tick;
    c->stats.stores++;
}

int
pgc_scram_cache_forget(PgcScramCache *c, const uint8_t key[PGC_SHA256_LEN])
{
    int i = find(c, key);

    if (i < 0) {
        return 0;
    }
    wipe_entry(c, &c->e[i]);
    c->stats.forgotten++;
    return 1;
}

void
pgc_scram_cache_clear(PgcScramCache *c)
{
    pgc_wipe(c->e, sizeof(c->e));
    c->len = 0;
}

void
pgc_scram_cache_wipe(PgcScramCache *c)
{
    pgc_wipe(c, sizeof(*c));
}
