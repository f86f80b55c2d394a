/* test_scram_cache.c -- the SCRAM SaltedPassword table
 * (src/core/pgc_scram_cache.c), the server-first parameters it is keyed
 * by, and the incremental HMAC it uses. */
#include <stdio.h>
#include <string.h>

#include "../../src/core/pgc_scram_cache.h"
#include "test_util.h"

/* Whether the n bytes at needle occur anywhere in the n bytes at hay. */
static int
contains(const void *hay, size_t hn, const void *needle, size_t n)
{
    const uint8_t *h = hay;
    size_t i;

    for (i = 0; i + n <= hn; i++) {
        if (memcmp(h + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* A recognisable 32-byte value for entry i. */
static void
fill(uint8_t out[PGC_SHA256_LEN], unsigned tag, unsigned i)
{
    unsigned j;

    for (j = 0; j < PGC_SHA256_LEN; j++) {
        out[j] = (uint8_t)(tag ^ (i * 7u + j * 13u + 1u));
    }
    out[0] = (uint8_t)tag;
    out[1] = (uint8_t)i;
}

static void
test_hmac_incremental(void)
{
    static const char msg[] = "what do ya want for nothing?";
    uint8_t one[PGC_SHA256_LEN], inc[PGC_SHA256_LEN];
    PgcHmacSha256 h;

    pgc_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)msg,
                    sizeof(msg) - 1, one);
    pgc_hmac_sha256_init(&h, (const uint8_t *)"Jefe", 4);
    pgc_hmac_sha256_update(&h, msg, 7);
    pgc_hmac_sha256_update(&h, msg + 7, 0);
    pgc_hmac_sha256_update(&h, msg + 7, sizeof(msg) - 1 - 7);
    pgc_hmac_sha256_final(&h, inc);
    CHECK_MEM(inc, sizeof(inc), one, sizeof(one));
    /* RFC 4231 test case 2 */
    CHECK_BYTES(one, sizeof(one),
                "\x5b\xdc\xc1\x46\xbf\x60\x75\x4e\x6a\x04\x24\x26\x08\x95"
                "\x75\xc7\x5a\x00\x3f\x08\x9d\x27\x39\x83\x9d\xec\x58\xb9"
                "\x64\xec\x38\x43");
    CHECK(all_zero(&h, sizeof(h))); /* final wipes the context */
}

static void
test_server_first_params(void)
{
    uint8_t salt[PGC_SCRAM_SALT_MAX];
    size_t n = 0;
    uint32_t iter = 0;
    const char *ok = TEST_SERVER_FIRST;

    CHECK_EQ(pgc_scram_server_first_params((const uint8_t *)ok, strlen(ok),
                                           salt, sizeof(salt), &n, &iter),
             PGC_OK);
    CHECK_EQ(n, 16);
    CHECK_EQ(iter, 4096);
    CHECK_BYTES(salt, n,
                "\x5b\x6d\x99\x68\x9d\x12\x35\x8e\xec\xa0\x4b\x14"
                "\x12\x36\xfa\x81");
    static const char *const bad[] = {
        "",
        "r=x",
        "r=x,s=QUJD",
        "r=x,s=QUJD,i=",
        "r=x,s=QUJD,i=0",
        "r=x,s=QUJD,i=01",
        "r=x,s=QUJD,i=1x",
        "r=x,s=QUJD,i=4294967296",
        "r=x,s=QUJD,i=99999999999",
        "r=x,s=QUJ,i=1",
        "r=x,s=,i=1",
        "r=x,s=QUJD,i=1,e=x",
        "m=ext,r=x,s=QUJD,i=1",
        "s=QUJD,r=x,i=1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(pgc_scram_server_first_params((const uint8_t *)bad[i],
                                               strlen(bad[i]), salt,
                                               sizeof(salt), &n, &iter),
                 PGC_ERR_AUTH);
    }
    static const char big[] = "r=x,s=QUJD,i=4294967295";
    CHECK_EQ(pgc_scram_server_first_params((const uint8_t *)big,
                                           sizeof(big) - 1, salt, sizeof(salt),
                                           &n, &iter),
             PGC_OK);
    CHECK_EQ(iter, 4294967295u);
    CHECK_BYTES(salt, n, "ABC");
    /* a salt longer than the caller's buffer */
    CHECK_EQ(pgc_scram_server_first_params((const uint8_t *)big,
                                           sizeof(big) - 1, salt, 2, &n,
                                           &iter),
             PGC_ERR_LIMIT);
}

static void
test_cache_key(void)
{
    PgcScramCache c, d;
    uint8_t secret[PGC_SCRAM_CACHE_SECRET_LEN];
    uint8_t k[PGC_SHA256_LEN], k2[PGC_SHA256_LEN], want[PGC_SHA256_LEN];
    uint8_t msg[128];
    size_t n = 0;
    static const uint8_t salt[] = "saltsaltsaltsalt";

    fill(secret, 0xa5, 0);
    pgc_scram_cache_init(&c, secret);
    CHECK_EQ(c.keyed, 1);
    CHECK_EQ(pgc_scram_cache_len(&c), 0);
    /* only the keyed HMAC state is kept, not the secret */
    CHECK(!contains(&c, sizeof(c), secret, sizeof(secret)));
    pgc_scram_cache_key(&c, "pencil", 6, salt, 16, 4096, k);

    /* the documented construction, computed in one piece */
    memcpy(msg, "pgwire SCRAM SaltedPassword", 28); /* with its NUL */
    n = 28;
    memcpy(msg + n, "\0\0\0\0\0\0\0\x06pencil", 14);
    n += 14;
    memcpy(msg + n, "\0\0\0\0\0\0\0\x10", 8);
    n += 8;
    memcpy(msg + n, salt, 16);
    n += 16;
    memcpy(msg + n, "\0\0\0\0\0\0\x10\0", 8);
    n += 8;
    pgc_hmac_sha256(secret, sizeof(secret), msg, n, want);
    CHECK_MEM(k, sizeof(k), want, sizeof(want));

    /* every input counts */
    pgc_scram_cache_key(&c, "pencil", 6, salt, 16, 4096, k2);
    CHECK_MEM(k2, sizeof(k2), k, sizeof(k));
    pgc_scram_cache_key(&c, "pencim", 6, salt, 16, 4096, k2);
    CHECK(memcmp(k2, k, sizeof(k)) != 0);
    pgc_scram_cache_key(&c, "pencil", 6, salt, 15, 4096, k2);
    CHECK(memcmp(k2, k, sizeof(k)) != 0);
    pgc_scram_cache_key(&c, "pencil", 6, salt, 16, 4097, k2);
    CHECK(memcmp(k2, k, sizeof(k)) != 0);
    /* where the password ends and the salt starts counts too */
    pgc_scram_cache_key(&c, "pencil", 5, (const uint8_t *)"lsalt", 5, 1, k);
    pgc_scram_cache_key(&c, "pencil", 6, (const uint8_t *)"salt", 4, 1, k2);
    CHECK(memcmp(k2, k, sizeof(k)) != 0);
    /* and the secret: another table (process) gives another key */
    secret[5] ^= 1;
    pgc_scram_cache_init(&d, secret);
    pgc_scram_cache_key(&c, "pencil", 6, salt, 16, 4096, k);
    pgc_scram_cache_key(&d, "pencil", 6, salt, 16, 4096, k2);
    CHECK(memcmp(k2, k, sizeof(k)) != 0);
    /* the key is not the unsalted, unkeyed hash of the password */
    pgc_sha256((const uint8_t *)"pencil", 6, want);
    CHECK(memcmp(k, want, sizeof(k)) != 0);
}

static void
test_cache_get_put(void)
{
    PgcScramCache c;
    uint8_t secret[PGC_SCRAM_CACHE_SECRET_LEN];
    uint8_t k[PGC_SHA256_LEN], other[PGC_SHA256_LEN];
    uint8_t v[PGC_SHA256_LEN], got[PGC_SHA256_LEN];
    static const uint8_t salt[] = "saltsaltsaltsalt";

    fill(secret, 0x11, 0);
    pgc_scram_cache_init(&c, secret);
    pgc_scram_cache_key(&c, "pencil", 6, salt, 16, 4096, k);
    fill(v, 0x77, 1);
    memset(got, 0xee, sizeof(got));
    CHECK_EQ(pgc_scram_cache_get(&c, k, got), 0);
    CHECK_EQ(got[0], 0xee); /* a miss writes nothing */
    pgc_scram_cache_put(&c, k, v);
    CHECK_EQ(pgc_scram_cache_len(&c), 1);
    CHECK_EQ(pgc_scram_cache_get(&c, k, got), 1);
    CHECK_MEM(got, sizeof(got), v, sizeof(v));
    /* misses: another salt, iteration count, password */
    pgc_scram_cache_key(&c, "pencil", 6, salt, 15, 4096, other);
    CHECK_EQ(pgc_scram_cache_get(&c, other, got), 0);
    pgc_scram_cache_key(&c, "pencil", 6, salt, 16, 8192, other);
    CHECK_EQ(pgc_scram_cache_get(&c, other, got), 0);
    pgc_scram_cache_key(&c, "Pencil", 6, salt, 16, 4096, other);
    CHECK_EQ(pgc_scram_cache_get(&c, other, got), 0);
    CHECK_EQ(c.stats.hits, 1);
    CHECK_EQ(c.stats.misses, 4);
    /* storing the same key again replaces the value in place */
    fill(v, 0x78, 1);
    pgc_scram_cache_put(&c, k, v);
    CHECK_EQ(pgc_scram_cache_len(&c), 1);
    CHECK_EQ(pgc_scram_cache_get(&c, k, got), 1);
    CHECK_MEM(got, sizeof(got), v, sizeof(v));
    fill(v, 0x77, 1);
    CHECK(!contains(&c, sizeof(c), v, sizeof(v)));
    /* forget: the entry is gone and its bytes with it */
    fill(v, 0x78, 1);
    CHECK_EQ(pgc_scram_cache_forget(&c, k), 1);
    CHECK_EQ(pgc_scram_cache_forget(&c, k), 0);
    CHECK_EQ(pgc_scram_cache_len(&c), 0);
    CHECK_EQ(pgc_scram_cache_get(&c, k, got), 0);
    CHECK(!contains(&c, sizeof(c), v, sizeof(v)));
    CHECK(!contains(&c, sizeof(c), k, sizeof(k)));
    CHECK(all_zero(c.e, sizeof(c.e)));
    CHECK_EQ(c.stats.forgotten, 1);
}

static void
test_cache_lru(void)
{
    PgcScramCache c;
    uint8_t secret[PGC_SCRAM_CACHE_SECRET_LEN];
    uint8_t k[PGC_SCRAM_CACHE_SLOTS + 2][PGC_SHA256_LEN];
    uint8_t v[PGC_SHA256_LEN], got[PGC_SHA256_LEN];
    uint8_t salt[4] = {1, 2, 3, 4};
    unsigned i;

    fill(secret, 0x22, 0);
    pgc_scram_cache_init(&c, secret);
    for (i = 0; i < PGC_SCRAM_CACHE_SLOTS + 2; i++) {
        salt[0] = (uint8_t)i;
        pgc_scram_cache_key(&c, "pw", 2, salt, sizeof(salt), 4096, k[i]);
    }
    for (i = 0; i < PGC_SCRAM_CACHE_SLOTS; i++) {
        fill(v, 0x40, i);
        pgc_scram_cache_put(&c, k[i], v);
    }
    CHECK_EQ(pgc_scram_cache_len(&c), PGC_SCRAM_CACHE_SLOTS);
    CHECK_EQ(c.stats.evictions, 0);
    /* entry 0 is used again: entry 1 is now the least recently used */
    CHECK_EQ(pgc_scram_cache_get(&c, k[0], got), 1);
    fill(v, 0x40, PGC_SCRAM_CACHE_SLOTS);
    pgc_scram_cache_put(&c, k[PGC_SCRAM_CACHE_SLOTS], v);
    CHECK_EQ(pgc_scram_cache_len(&c), PGC_SCRAM_CACHE_SLOTS);
    CHECK_EQ(c.stats.evictions, 1);
    CHECK_EQ(pgc_scram_cache_get(&c, k[1], got), 0);
    CHECK_EQ(pgc_scram_cache_get(&c, k[0], got), 1);
    fill(v, 0x40, 0);
    CHECK_MEM(got, sizeof(got), v, sizeof(v));
    CHECK_EQ(pgc_scram_cache_get(&c, k[PGC_SCRAM_CACHE_SLOTS], got), 1);
    /* the evicted value and key are nowhere in the table any more */
    fill(v, 0x40, 1);
    CHECK(!contains(&c, sizeof(c), v, sizeof(v)));
    CHECK(!contains(&c, sizeof(c), k[1], sizeof(k[1])));
    /* next out: entry 2 (0 and the new one were used since) */
    fill(v, 0x40, PGC_SCRAM_CACHE_SLOTS + 1);
    pgc_scram_cache_put(&c, k[PGC_SCRAM_CACHE_SLOTS + 1], v);
    CHECK_EQ(pgc_scram_cache_get(&c, k[2], got), 0);
    CHECK_EQ(pgc_scram_cache_get(&c, k[3], got), 1);
    CHECK_EQ(c.stats.evictions, 2);
    /* a forgotten slot is reused before anything is evicted */
    CHECK_EQ(pgc_scram_cache_forget(&c, k[3]), 1);
    fill(v, 0x41, 2);
    pgc_scram_cache_put(&c, k[2], v);
    CHECK_EQ(c.stats.evictions, 2);
    CHECK_EQ(pgc_scram_cache_get(&c, k[4], got), 1);

    /* clear: every entry wiped, the secret kept (same keys) */
    pgc_scram_cache_clear(&c);
    CHECK_EQ(pgc_scram_cache_len(&c), 0);
    CHECK(all_zero(c.e, sizeof(c.e)));
    for (i = 0; i < PGC_SCRAM_CACHE_SLOTS + 2; i++) {
        fill(v, 0x40, i);
        CHECK(!contains(&c, sizeof(c), v, sizeof(v)));
        CHECK_EQ(pgc_scram_cache_get(&c, k[i], got), 0);
    }
    salt[0] = 0;
    pgc_scram_cache_key(&c, "pw", 2, salt, sizeof(salt), 4096, got);
    CHECK_MEM(got, sizeof(got), k[0], sizeof(k[0]));
    fill(v, 0x40, 0);
    pgc_scram_cache_put(&c, k[0], v);
    CHECK_EQ(pgc_scram_cache_len(&c), 1);

    /* wipe: nothing left, the secret included; nothing is stored after */
    pgc_scram_cache_wipe(&c);
    CHECK(all_zero(&c, sizeof(c)));
    pgc_scram_cache_put(&c, k[0], v);
    CHECK_EQ(pgc_scram_cache_len(&c), 0);
    CHECK(all_zero(&c, sizeof(c)));
}

/* The startup machine's side: the parameters the binding looks up by, the
 * preset copied (not borrowed) and wiped once used, and every secret
 * wiped on failure or by pgc_startup_wipe_secrets. */
static void
test_startup_cache_hooks(void)
{
    PgcStartup s;
    PgcMsg m;
    PgcWBuf b, out;
    PgcStartupEvent ev;
    uint8_t body[256], salt[PGC_SCRAM_SALT_MAX], salted[PGC_SHA256_LEN];
    size_t n = 0;
    uint32_t iter = 0;
    static const char *const mechs[] = {"SCRAM-SHA-256"};

    pgc_startup_init(&s, "user", 4, "pencil", 6, NULL, 0, TEST_NONCE,
                     strlen(TEST_NONCE), 0);
    pgc_wbuf_init(&b);
    pgc_wbuf_init(&out);
    pgc_store_u32(body, PGC_AUTH_SASL_CONTINUE);
    memcpy(body + 4, TEST_SERVER_FIRST, strlen(TEST_SERVER_FIRST));
    m.type = PGC_MSG_AUTH;
    m.body.p = body;
    m.body.n = 4 + strlen(TEST_SERVER_FIRST);
    /* not before the SASL request */
    CHECK_EQ(pgc_startup_scram_params(&s, &m, salt, &n, &iter), 0);
    be_sasl_mechs(&b, mechs, 1);
    {
        PgcMsg sasl = {.type = PGC_MSG_AUTH, .body = {b.data + 5, b.len - 5}};
        CHECK_EQ(pgc_startup_handle(&s, &sasl, &out, &ev), PGC_OK);
    }
    CHECK_EQ(pgc_startup_scram_params(&s, &m, salt, &n, &iter), 1);
    CHECK_EQ(n, 16);
    CHECK_EQ(iter, 4096);
    m.type = PGC_MSG_READY;
    CHECK_EQ(pgc_startup_scram_params(&s, &m, salt, &n, &iter), 0);
    m.type = PGC_MSG_AUTH;

    /* the preset is a copy, wiped once handed to the exchange */
    pgc_pbkdf2_sha256((const uint8_t *)"pencil", 6, salt, n, iter, salted);
    {
        uint8_t mine[PGC_SHA256_LEN];
        memcpy(mine, salted, sizeof(mine));
        pgc_startup_preset(&s, salt, n, iter, mine);
        memset(mine, 0, sizeof(mine));
    }
    CHECK(s.preset.salt_len != 0);
    CHECK_MEM(s.preset.salted, PGC_SHA256_LEN, salted, PGC_SHA256_LEN);
    CHECK_EQ(pgc_startup_handle(&s, &m, &out, &ev), PGC_OK);
    CHECK_EQ(s.preset.salt_len, 0);
    CHECK(all_zero(s.preset.salted, sizeof(s.preset.salted)));
    CHECK_MEM(s.scram.salted_password, PGC_SHA256_LEN, salted, PGC_SHA256_LEN);
    /* a server ErrorResponse now: every copy of it is wiped */
    {
        uint8_t eb[64];
        PgcMsg err = {.type = PGC_MSG_ERROR, .body = {eb, 0}};
        memcpy(eb, "SFATAL\0C28P01\0Mno\0\0", 19);
        err.body.n = 19;
        CHECK_EQ(pgc_startup_handle(&s, &err, &out, &ev), PGC_OK);
        CHECK_EQ(ev, PGC_SU_EV_SERVER_ERROR);
    }
    CHECK(!contains(&s, sizeof(s), salted, sizeof(salted)));
    CHECK_EQ(s.learned.salt_len, 0);

    /* pgc_startup_wipe_secrets after a verified exchange */
    pgc_startup_init(&s, "user", 4, "pencil", 6, NULL, 0, TEST_NONCE,
                     strlen(TEST_NONCE), 0);
    CHECK(pgc_salted_key_set(&s.learned, salt, n, iter, salted));
    pgc_startup_preset(&s, salt, n, iter, salted);
    memcpy(s.scram.salted_password, salted, sizeof(salted));
    pgc_startup_wipe_secrets(&s);
    CHECK(!contains(&s, sizeof(s), salted, sizeof(salted)));
    CHECK_EQ(s.learned.salt_len, 0);
    CHECK_EQ(s.preset.salt_len, 0);
    pgc_wbuf_free(&b);
    pgc_wbuf_free(&out);
}

void
test_scram_cache(void)
{
    test_hmac_incremental();
    test_server_first_params();
    test_cache_key();
    test_cache_get_put();
    test_cache_lru();
    test_startup_cache_hooks();
}
