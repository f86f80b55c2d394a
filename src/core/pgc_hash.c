/* pgc_hash.c -- SHA-256, HMAC, PBKDF2, MD5 and base64 (see pgc_hash.h).
 *
 * Written from the specifications: FIPS 180-4 (SHA-256), RFC 2104 (HMAC),
 * RFC 8018 (PBKDF2), RFC 1321 (MD5), RFC 4648 (base64).  Secrets on the
 * stack are wiped after use.
 */
#include "pgc_hash.h"

/* ================================================================== */
/* Helpers                                                             */
/* ================================================================== */

/* A wipe the compiler may not drop as a dead store: memset called through
 * a volatile pointer, which the compiler cannot assume still points to
 * memset (so it cannot prove the stores dead), at memset's speed. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

static void
wipe(void *p, size_t n)
{
    wipe_memset(p, 0, n);
}

void
pgc_wipe(void *p, size_t n)
{
    wipe(p, n);
}

static uint32_t
rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static uint32_t
rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

static void
hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15u];
    }
}

/* The block-buffering shared by SHA-256 and MD5: fill buf, run `block`
 * on every complete 64-byte block. */
typedef void (*BlockFn)(uint32_t *state, const uint8_t *block);

static void
feed_blocks(uint32_t *state, uint8_t buf[64], size_t *buflen, const uint8_t *p,
            size_t n, BlockFn block)
{
    size_t take;

    if (*buflen) {
        take = 64 - *buflen < n ? 64 - *buflen : n;
        memcpy(buf + *buflen, p, take);
        *buflen += take;
        p += take;
        n -= take;
        if (*buflen < 64) {
            return;
        }
        block(state, buf);
        *buflen = 0;
    }
    for (; n >= 64; p += 64, n -= 64) {
        block(state, p);
    }
    if (n) {
        memcpy(buf, p, n);
        *buflen = n;
    }
}

/* Merkle-Damgard padding: 0x80, zeros, then the bit length in the last
 * 8 bytes (big-endian for SHA-256, little-endian for MD5). */
static void
pad_blocks(uint32_t *state, uint8_t buf[64], size_t buflen, uint64_t bits,
           int big_endian, BlockFn block)
{
    size_t i;

    buf[buflen++] = 0x80;
    if (buflen > 56) {
        memset(buf + buflen, 0, 64 - buflen);
        block(state, buf);
        buflen = 0;
    }
    memset(buf + buflen, 0, 56 - buflen);
    for (i = 0; i < 8; i++) {
        unsigned shift = big_endian ? (unsigned)(56 - 8 * i)
                                    : (unsigned)(8 * i);
        buf[56 + i] = (uint8_t)(bits >> shift);
    }
    block(state, buf);
}

/* ================================================================== */
/* SHA-256 (FIPS 180-4)                                                */
/* ================================================================== */

/* First 32 bits of the fractional parts of the cube roots of the first
 * 64 primes (FIPS 180-4 section 4.2.2). */
static const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu,
    0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u,
    0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u,
    0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u,
    0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u,
    0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u, 0x1e376c08u,
    0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu,
    0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* Message schedule (FIPS 180-4 section 6.2.2 step 1). */
static void
sha256_schedule(uint32_t w[64], const uint8_t *p)
{
    unsigned i;

    for (i = 0; i < 16; i++) {
        w[i] = pgc_load_u32(p + 4 * i);
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^
                      (w[i - 15] >> 3);
        uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^
                      (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
}

/* One compression of the 64-byte block p into state.  w is the caller's
 * scratch for the message schedule (it holds data derived from p: the
 * caller wipes it).  The working variables are scalars so they stay in
 * registers. */
static void
sha256_compress(uint32_t state[8], const uint8_t *p, uint32_t w[64])
{
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    unsigned i;

    sha256_schedule(w, p);
    /* eight rounds per pass, the roles of a..h rotating through the
     * variables instead of moving values between them */
#define PGC_SHA256_ROUND(a, b, c, d, e, f, g, h, k)                           \
    do {                                                                      \
        uint32_t t1_ = (h) +                                                  \
                       (rotr32((e), 6) ^ rotr32((e), 11) ^ rotr32((e), 25)) + \
                       (((e) & (f)) ^ (~(e) & (g))) + sha256_k[k] + w[k];     \
        uint32_t t2_ = (rotr32((a), 2) ^ rotr32((a), 13) ^ rotr32((a), 22)) + \
                       (((a) & (b)) ^ ((a) & (c)) ^ ((b) & (c)));             \
        (d) += t1_;                                                           \
        (h) = t1_ + t2_;                                                      \
    } while (0)
    for (i = 0; i < 64; i += 8) {
        PGC_SHA256_ROUND(a, b, c, d, e, f, g, h, i);
        PGC_SHA256_ROUND(h, a, b, c, d, e, f, g, i + 1);
        PGC_SHA256_ROUND(g, h, a, b, c, d, e, f, i + 2);
        PGC_SHA256_ROUND(f, g, h, a, b, c, d, e, i + 3);
        PGC_SHA256_ROUND(e, f, g, h, a, b, c, d, i + 4);
        PGC_SHA256_ROUND(d, e, f, g, h, a, b, c, i + 5);
        PGC_SHA256_ROUND(c, d, e, f, g, h, a, b, i + 6);
        PGC_SHA256_ROUND(b, c, d, e, f, g, h, a, i + 7);
    }
#undef PGC_SHA256_ROUND
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

/* x86 SHA extensions (SHA-NI): the same compression in hardware, chosen
 * at run time when the CPU has them.  The state is kept as the two
 * register halves the instructions want, ABEF and CDGH. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PGC_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1"))) static void
sha256_compress_shani(uint32_t state[8], const uint8_t *p)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
                                         0x0405060700010203LL);
    __m128i w[16];
    __m128i t = _mm_loadu_si128((const __m128i *)(const void *)state);
    __m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)(state + 4));
    __m128i s0, abef, cdgh, msg;
    unsigned i;

    t = _mm_shuffle_epi32(t, 0xB1);    /* C D A B */
    s1 = _mm_shuffle_epi32(s1, 0x1B);  /* E F G H */
    s0 = _mm_alignr_epi8(t, s1, 8);    /* A B E F */
    s1 = _mm_blend_epi16(s1, t, 0xF0); /* C D G H */
    abef = s0;
    cdgh = s1;
    for (i = 0; i < 4; i++) {
        w[i] = _mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)),
            bswap);
    }
    for (i = 4; i < 16; i++) {
        w[i] = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]),
                          _mm_alignr_epi8(w[i - 1], w[i - 2], 4)),
            w[i - 1]);
    }
    for (i = 0; i < 16; i++) {
        msg = _mm_add_epi32(w[i], _mm_loadu_si128((
                                      const __m128i *)(const void *)(sha256_k +
                                                                     4 * i)));
        s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
        msg = _mm_shuffle_epi32(msg, 0x0E);
        s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
    t = _mm_shuffle_epi32(s0, 0x1B);   /* F E B A */
    s1 = _mm_shuffle_epi32(s1, 0xB1);  /* D C H G */
    s0 = _mm_blend_epi16(t, s1, 0xF0); /* D C B A */
    s1 = _mm_alignr_epi8(s1, t, 8);    /* H G F E */
    _mm_storeu_si128((__m128i *)(void *)state, s0);
    _mm_storeu_si128((__m128i *)(void *)(state + 4), s1);
}

/* Asked at each use (CPUID), so no state is kept across calls.  CPUID
 * traps to the hypervisor in a VM (tens of microseconds each were measured
 * on the benchmark machine): one answer serves a whole PBKDF2 or SCRAM
 * exchange (the *_as functions below take it), and three CPUIDs give it. */
static int
cpu_has_shani(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 19))) { /* SSE4.1 */
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 29)) != 0; /* SHA */
}

static void
sha256_block_hw(uint32_t *state, const uint8_t *p)
{
    sha256_compress_shani(state, p);
}
#else
static int
cpu_has_shani(void)
{
    return 0;
}
#endif

static void
sha256_block(uint32_t *state, const uint8_t *p)
{
    uint32_t w[64];

    sha256_compress(state, p, w);
    wipe(w, sizeof(w));
}

int
pgc_sha256_hw(void)
{
    return cpu_has_shani();
}

static BlockFn
sha256_block_fn(const PgcSha256 *c)
{
#ifdef PGC_HAVE_SHANI
    if (c->hw) {
        return sha256_block_hw;
    }
#endif
    return sha256_block;
}

/* hw: already known to be available (or 0 for the portable code). */
static void
sha256_init_as(PgcSha256 *c, int hw)
{
    /* First 32 bits of the fractional parts of the square roots of the
     * first 8 primes (FIPS 180-4 section 5.3.3). */
    static const uint32_t h0[8] = {
        0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };

    memcpy(c->state, h0, sizeof(h0));
    c->bitlen = 0;
    c->buflen = 0;
    c->hw = (uint8_t)hw;
}

int
pgc_sha256_init_impl(PgcSha256 *c, int hw)
{
    sha256_init_as(c, hw && cpu_has_shani());
    return c->hw;
}

void
pgc_sha256_init(PgcSha256 *c)
{
    sha256_init_as(c, cpu_has_shani());
}

void
pgc_sha256_update(PgcSha256 *c, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return;
    }
    c->bitlen += (uint64_t)n * 8u;
    feed_blocks(c->state, c->buf, &c->buflen, p, n, sha256_block_fn(c));
}

void
pgc_sha256_final(PgcSha256 *c, uint8_t out[PGC_SHA256_LEN])
{
    unsigned i;

    pad_blocks(c->state, c->buf, c->buflen, c->bitlen, 1, sha256_block_fn(c));
    for (i = 0; i < 8; i++) {
        pgc_store_u32(out + 4 * i, c->state[i]);
    }
    wipe(c, sizeof(*c));
}

void
pgc_sha256_as(const uint8_t *p, size_t n, uint8_t out[PGC_SHA256_LEN], int hw)
{
    PgcSha256 c;

    sha256_init_as(&c, hw);
    pgc_sha256_update(&c, p, n);
    pgc_sha256_final(&c, out);
}

void
pgc_sha256(const uint8_t *p, size_t n, uint8_t out[PGC_SHA256_LEN])
{
    pgc_sha256_as(p, n, out, cpu_has_shani());
}

/* ================================================================== */
/* HMAC-SHA-256 (RFC 2104) and PBKDF2-HMAC-SHA-256 (RFC 8018)          */
/* ================================================================== */

typedef PgcHmacSha256 HmacCtx;

/* hw: as for sha256_init_as. */
void
pgc_hmac_sha256_init_as(PgcHmacSha256 *h, const uint8_t *key, size_t klen,
                        int hw)
{
    uint8_t k[64], pad[64];
    unsigned i;

    memset(k, 0, sizeof(k));
    if (klen > sizeof(k)) {
        pgc_sha256_as(key, klen, k, hw);
    }
    else if (klen) {
        memcpy(k, key, klen);
    }
    for (i = 0; i < 64; i++) {
        pad[i] = (uint8_t)(k[i] ^ 0x36u);
    }
    sha256_init_as(&h->inner, hw);
    pgc_sha256_update(&h->inner, pad, 64);
    for (i = 0; i < 64; i++) {
        pad[i] = (uint8_t)(k[i] ^ 0x5cu);
    }
    sha256_init_as(&h->outer, hw);
    pgc_sha256_update(&h->outer, pad, 64);
    wipe(k, sizeof(k));
    wipe(pad, sizeof(pad));
}


static void
hmac_update(HmacCtx *h, const void *p, size_t n)
{
    pgc_sha256_update(&h->inner, p, n);
}

/* Finishes h (which is wiped). */
static void
hmac_final(HmacCtx *h, uint8_t out[PGC_SHA256_LEN])
{
    uint8_t ih[PGC_SHA256_LEN];

    pgc_sha256_final(&h->inner, ih);
    pgc_sha256_update(&h->outer, ih, sizeof(ih));
    pgc_sha256_final(&h->outer, out);
    wipe(ih, sizeof(ih));
}

void
pgc_hmac_sha256_as(const uint8_t *key, size_t klen, const uint8_t *msg,
                   size_t mlen, uint8_t out[PGC_SHA256_LEN], int hw)
{
    HmacCtx h;

    pgc_hmac_sha256_init_as(&h, key, klen, hw);
    hmac_update(&h, msg, mlen);
    hmac_final(&h, out);
}

void
pgc_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg,
                size_t mlen, uint8_t out[PGC_SHA256_LEN])
{
    pgc_hmac_sha256_as(key, klen, msg, mlen, out, cpu_has_shani());
}

void
pgc_hmac_sha256_init(PgcHmacSha256 *h, const uint8_t *key, size_t klen)
{
    pgc_hmac_sha256_init_as(h, key, klen, cpu_has_shani());
}

void
pgc_hmac_sha256_update(PgcHmacSha256 *h, const void *p, size_t n)
{
    hmac_update(h, p, n);
}

void
pgc_hmac_sha256_final(PgcHmacSha256 *h, uint8_t out[PGC_SHA256_LEN])
{
    hmac_final(h, out);
}

/* The first (and, for a 32-byte key, only) block of PBKDF2.  An
 * iteration count of 0 is treated as 1.
 *
 * Iterations after the first are HMACs of a 32-byte message, so each is
 * exactly two compressions: the keyed inner and outer states are computed
 * once, and the padded blocks (message or inner hash, 0x80, zeros, the
 * bit length 64 * 8 + 32 * 8 = 768) are laid out once, only their first
 * 32 bytes changing. */
void
pgc_pbkdf2_sha256_as(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
                     size_t saltlen, uint32_t iterations,
                     uint8_t out[PGC_SHA256_LEN], int hw)
{
    static const uint8_t block_index[4] = {0, 0, 0, 1};
    HmacCtx keyed, h;
    uint8_t u[PGC_SHA256_LEN];
    uint8_t inner[64], outer[64];
    uint32_t st[8], w[64];
    uint32_t i;
    unsigned j;

    pgc_hmac_sha256_init_as(&keyed, pw, pwlen, hw);
    h = keyed;
    hmac_update(&h, salt, saltlen);
    hmac_update(&h, block_index, sizeof(block_index));
    hmac_final(&h, u);
    memcpy(out, u, sizeof(u));

    memset(inner, 0, sizeof(inner));
    inner[PGC_SHA256_LEN] = 0x80;
    inner[62] = 0x03; /* 768 bits, big-endian */
    memcpy(outer, inner, sizeof(outer));
    memcpy(inner, u, sizeof(u));
#ifdef PGC_HAVE_SHANI
#define PGC_COMPRESS(st, blk) \
    (hw ? sha256_compress_shani((st), (blk)) : sha256_compress((st), (blk), w))
#else
#define PGC_COMPRESS(st, blk) sha256_compress((st), (blk), w)
#endif
    for (i = 1; i < iterations; i++) {
        memcpy(st, keyed.inner.state, sizeof(st));
        PGC_COMPRESS(st, inner);
        for (j = 0; j < 8; j++) {
            pgc_store_u32(outer + 4 * j, st[j]);
        }
        memcpy(st, keyed.outer.state, sizeof(st));
        PGC_COMPRESS(st, outer);
        for (j = 0; j < 8; j++) {
            pgc_store_u32(inner + 4 * j, st[j]);
        }
        for (j = 0; j < PGC_SHA256_LEN; j++) {
            out[j] ^= inner[j];
        }
    }
    wipe(&keyed, sizeof(keyed));
    wipe(u, sizeof(u));
    wipe(inner, sizeof(inner));
    wipe(outer, sizeof(outer));
    wipe(st, sizeof(st));
    wipe(w, sizeof(w));
#undef PGC_COMPRESS
}

void
pgc_pbkdf2_sha256(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
                  size_t saltlen, uint32_t iterations,
                  uint8_t out[PGC_SHA256_LEN])
{
    pgc_pbkdf2_sha256_as(pw, pwlen, salt, saltlen, iterations, out,
                         cpu_has_shani());
}

void
pgc_pbkdf2_sha256_impl(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
                       size_t saltlen, uint32_t iterations,
                       uint8_t out[PGC_SHA256_LEN], int hw)
{
    pgc_pbkdf2_sha256_as(pw, pwlen, salt, saltlen, iterations, out,
                         hw && cpu_has_shani());
}

/* ================================================================== */
/* MD5 (RFC 1321)                                                      */
/* ================================================================== */

typedef struct {
    uint32_t state[4];
    uint64_t bitlen;
    uint8_t buf[64];
    size_t buflen;
} Md5Ctx;

/* floor(2^32 * abs(sin(i + 1))) (RFC 1321 section 3.4). */
static const uint32_t md5_t[64] = {
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu,
    0x4787c62au, 0xa8304613u, 0xfd469501u, 0x698098d8u, 0x8b44f7afu,
    0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u, 0xa679438eu,
    0x49b40821u, 0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau,
    0xd62f105du, 0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u, 0x21e1cde6u,
    0xc33707d6u, 0xf4d50d87u, 0x455a14edu, 0xa9e3e905u, 0xfcefa3f8u,
    0x676f02d9u, 0x8d2a4c8au, 0xfffa3942u, 0x8771f681u, 0x6d9d6122u,
    0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u,
    0x289b7ec6u, 0xeaa127fau, 0xd4ef3085u, 0x04881d05u, 0xd9d4d039u,
    0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u, 0xf4292244u, 0x432aff97u,
    0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du,
    0x85845dd1u, 0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u,
    0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu, 0xeb86d391u,
};

/* Per-round shift amounts, four per round. */
static const unsigned md5_s[4][4] = {
    {7, 12, 17, 22},
    {5, 9, 14, 20},
    {4, 11, 16, 23},
    {6, 10, 15, 21},
};

/* The round function F, G, H or I of step i, and the word it uses. */
static uint32_t
md5_mix(unsigned i, uint32_t b, uint32_t c, uint32_t d, unsigned *g)
{
    switch (i / 16) {
    case 0:
        *g = i;
        return (b & c) | (~b & d);
    case 1:
        *g = (5 * i + 1) % 16;
        return (d & b) | (~d & c);
    case 2:
        *g = (3 * i + 5) % 16;
        return b ^ c ^ d;
    default:
        *g = (7 * i) % 16;
        return c ^ (b | ~d);
    }
}

static void
md5_block(uint32_t *state, const uint8_t *p)
{
    uint32_t x[16], a = state[0], b = state[1], c = state[2], d = state[3];
    unsigned i, g = 0;

    for (i = 0; i < 16; i++) {
        x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
               (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    }
    for (i = 0; i < 64; i++) {
        uint32_t f = md5_mix(i, b, c, d, &g);
        uint32_t tmp = d;
        d = c;
        c = b;
        b = b + rotl32(a + f + md5_t[i] + x[g], md5_s[i / 16][i % 4]);
        a = tmp;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    wipe(x, sizeof(x));
}

static void
md5_init(Md5Ctx *c)
{
    c->state[0] = 0x67452301u;
    c->state[1] = 0xefcdab89u;
    c->state[2] = 0x98badcfeu;
    c->state[3] = 0x10325476u;
    c->bitlen = 0;
    c->buflen = 0;
}

static void
md5_update(Md5Ctx *c, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }
    c->bitlen += (uint64_t)n * 8u;
    feed_blocks(c->state, c->buf, &c->buflen, p, n, md5_block);
}

static void
md5_final(Md5Ctx *c, uint8_t out[PGC_MD5_LEN])
{
    unsigned i;

    pad_blocks(c->state, c->buf, c->buflen, c->bitlen, 0, md5_block);
    for (i = 0; i < 16; i++) {
        out[i] = (uint8_t)(c->state[i / 4] >> (8 * (i % 4)));
    }
    wipe(c, sizeof(*c));
}

void
pgc_md5(const uint8_t *p, size_t n, uint8_t out[PGC_MD5_LEN])
{
    Md5Ctx c;

    md5_init(&c);
    md5_update(&c, p, n);
    md5_final(&c, out);
}

void
pgc_md5_password(const char *user, size_t ulen, const char *pw, size_t pwlen,
                 const uint8_t salt[4], char out[PGC_MD5_PASSWORD_LEN + 1])
{
    Md5Ctx c;
    uint8_t digest[PGC_MD5_LEN];
    char inner[2 * PGC_MD5_LEN];

    md5_init(&c);
    md5_update(&c, pw, pwlen);
    md5_update(&c, user, ulen);
    md5_final(&c, digest);
    hex_encode(digest, sizeof(digest), inner);
    md5_init(&c);
    md5_update(&c, inner, sizeof(inner));
    md5_update(&c, salt, 4);
    md5_final(&c, digest);
    memcpy(out, "md5", 3);
    hex_encode(digest, sizeof(digest), out + 3);
    out[PGC_MD5_PASSWORD_LEN] = 0;
    wipe(digest, sizeof(digest));
    wipe(inner, sizeof(inner));
}

/* ================================================================== */
/* base64 (RFC 4648) and constant-time comparison                      */
/* ================================================================== */

#define B64_PAD '='

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
pgc_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void
pgc_base64_encode(const uint8_t *p, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63u];
        out[o++] = b64_alphabet[(v >> 6) & 63u];
        out[o++] = b64_alphabet[v & 63u];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63u];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63u] : B64_PAD;
        out[o++] = B64_PAD;
    }
    out[o] = 0;
}

/* The 6-bit value of a base64 character, or -1. */
static int
b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+') {
        return 62;
    }
    return ch == '/' ? 63 : -1;
}

/* Decode one group of four; pad (0..2) is the number of '=' it ends with.
 * Strict: the bits that padding drops must be zero. */
static PgcStatus
b64_quad(const char *p, size_t pad, uint8_t *out)
{
    uint32_t v = 0;
    size_t j;

    for (j = 0; j < 4; j++) {
        int d = j < 4 - pad ? b64_value(p[j]) : 0;
        if (d < 0) {
            return PGC_ERR_PROTOCOL;
        }
        v = v << 6 | (uint32_t)d;
    }
    if ((pad == 1 && (v & 0xffu)) || (pad == 2 && (v & 0xffffu))) {
        return PGC_ERR_PROTOCOL;
    }
    out[0] = (uint8_t)(v >> 16);
    if (pad < 2) {
        out[1] = (uint8_t)(v >> 8);
    }
    if (pad < 1) {
        out[2] = (uint8_t)v;
    }
    return PGC_OK;
}

PgcStatus
pgc_base64_decode(const char *p, size_t n, uint8_t *out, size_t outcap,
                  size_t *outlen)
{
    size_t pad = 0, need, i, o = 0;

    if (n % 4) {
        return PGC_ERR_PROTOCOL;
    }
    if (n && p[n - 1] == B64_PAD) {
        pad = p[n - 2] == B64_PAD ? 2 : 1;
    }
    need = n / 4 * 3 - pad;
    if (need > outcap) {
        return PGC_ERR_LIMIT;
    }
    for (i = 0; i < n; i += 4) {
        size_t qpad = i + 4 == n ? pad : 0;
        PgcStatus st = b64_quad(p + i, qpad, out + o);
        if (st != PGC_OK) {
            return st;
        }
        o += 3 - qpad;
    }
    *outlen = o;
    return PGC_OK;
}

int
pgc_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    unsigned diff = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        diff |= (unsigned)(a[i] ^ b[i]);
    }
    /* 1 when diff == 0, without a data-dependent branch. */
    return (int)(1u & ((diff - 1u) >> 8));
}
