/* test_auth.c -- SHA-256 (FIPS 180-4 examples), HMAC-SHA-256 (RFC 4231),
 * PBKDF2-HMAC-SHA-256 (RFC 7914 section 11 and the common
 * "password"/"salt" vectors), MD5 (RFC 1321), the PostgreSQL md5 password,
 * base64 (RFC 4648) and the constant-time comparison. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2, i;

    if (n > cap) {
        abort();
    }
    for (i = 0; i < n; i++) {
        char tmp[3] = {hex[2 * i], hex[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(tmp, NULL, 16);
    }
    return n;
}

#define CHECK_HEX(got, gotn, hex)                        \
    do {                                                 \
        uint8_t want_[128];                              \
        size_t wn_ = unhex((hex), want_, sizeof(want_)); \
        CHECK_MEM((got), (gotn), want_, wn_);            \
    } while (0)

static void
sha256_str(const char *s, uint8_t out[PGC_SHA256_LEN])
{
    pgc_sha256((const uint8_t *)s, strlen(s), out);
}

static void
test_sha256(void)
{
    uint8_t d[PGC_SHA256_LEN];
    PgcSha256 c;
    uint8_t *million;
    size_t i;

    sha256_str("abc", d);
    CHECK_HEX(d, 32,
              "ba7816bf8f01cfea414140de5dae2223"
              "b00361a396177a9cb410ff61f20015ad");
    sha256_str("", d);
    CHECK_HEX(d, 32,
              "e3b0c44298fc1c149afbf4c8996fb924"
              "27ae41e4649b934ca495991b7852b855");
    sha256_str("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", d);
    CHECK_HEX(d, 32,
              "248d6a61d20638b8e5c026930c3e6039"
              "a33ce45964ff2167f6ecedd419db06c1");
    sha256_str("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
               "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
               d);
    CHECK_HEX(d, 32,
              "cf5b16a778af8380036ce59e7b049237"
              "0b249b11e8f07a51afac45037afee9d1");
    /* One million 'a', fed in uneven pieces. */
    million = malloc(1000000);
    if (!million) {
        abort();
    }
    memset(million, 'a', 1000000);
    pgc_sha256_init(&c);
    for (i = 0; i < 1000000;) {
        size_t k = 1 + i % 131;
        k = k > 1000000 - i ? 1000000 - i : k;
        pgc_sha256_update(&c, million + i, k);
        i += k;
    }
    pgc_sha256_final(&c, d);
    CHECK_HEX(d, 32,
              "cdc76e5c9914fb9281a1c7e284d73e67"
              "f1809a48a497200e046d39ccc7112cd0");
    pgc_sha256(million, 1000000, d);
    CHECK_HEX(d, 32,
              "cdc76e5c9914fb9281a1c7e284d73e67"
              "f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static void
hmac_case(const uint8_t *key, size_t klen, const char *msg, size_t mlen,
          const char *want_hex, size_t cmp)
{
    uint8_t d[PGC_SHA256_LEN];

    pgc_hmac_sha256(key, klen, (const uint8_t *)msg, mlen, d);
    CHECK_HEX(d, cmp, want_hex);
}

/* RFC 4231 test cases 1-7. */
static void
test_hmac(void)
{
    uint8_t k[131], m[50];
    size_t i;

    memset(k, 0x0b, 20);
    hmac_case(k, 20, "Hi There", 8,
              "b0344c61d8db38535ca8afceaf0bf12b"
              "881dc200c9833da726e9376c2e32cff7",
              32);
    hmac_case((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
              "5bdcc146bf60754e6a042426089575c7"
              "5a003f089d2739839dec58b964ec3843",
              32);
    memset(k, 0xaa, 20);
    memset(m, 0xdd, 50);
    hmac_case(k, 20, (const char *)m, 50,
              "773ea91e36800e46854db8ebd09181a7"
              "2959098b3ef8c122d9635514ced565fe",
              32);
    for (i = 0; i < 25; i++) {
        k[i] = (uint8_t)(i + 1);
    }
    memset(m, 0xcd, 50);
    hmac_case(k, 25, (const char *)m, 50,
              "82558a389a443c0ea4cc819899f2083a"
              "85f0faa3e578f8077a2e3ff46729665b",
              32);
    memset(k, 0x0c, 20);
    hmac_case(k, 20, "Test With Truncation", 20,
              "a3b6167473100ee06e0c796c2955552b", 16);
    memset(k, 0xaa, 131);
    hmac_case(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
              54,
              "60e431591ee0b67f0d8a26aacbf5b77f"
              "8e0bc6213728c5140546040f0ee37f54",
              32);
    hmac_case(k, 131,
              "This is a test using a larger than block-size key and a "
              "larger than block-size data. The key needs to be hashed "
              "before being used by the HMAC algorithm.",
              152,
              "9b09ffa71b942fcb27635fbcd5b0e944"
              "bfdc63644f0713938a7f51535c3a35e2",
              32);
}

static void
pbkdf2_case(const char *pw, const char *salt, uint32_t iter,
            const char *want_hex)
{
    uint8_t d[PGC_SHA256_LEN];

    pgc_pbkdf2_sha256((const uint8_t *)pw, strlen(pw), (const uint8_t *)salt,
                      strlen(salt), iter, d);
    CHECK_HEX(d, 32, want_hex);
}

/* RFC 7914 section 11 gives 64-byte outputs; the first 32 bytes are the
 * first PBKDF2 block, which is what pgc_pbkdf2_sha256 computes. */
static void
test_pbkdf2(void)
{
    pbkdf2_case("passwd", "salt", 1,
                "55ac046e56e3089fec1691c22544b605"
                "f94185216dde0465e68b9d57c20dacbc");
    pbkdf2_case("Password", "NaCl", 80000,
                "4ddcd8f60b98be21830cee5ef22701f9"
                "641a4418d04c0414aeff08876b34ab56");
    pbkdf2_case("password", "salt", 1,
                "120fb6cffcf8b32c43e7225256c4f837"
                "a86548c92ccc35480805987cb70be17b");
    pbkdf2_case("password", "salt", 2,
                "ae4d0c95af6b46d32d0adff928f06dd0"
                "2a303f8ef3c251dfd6e2d85a95474c43");
    pbkdf2_case("password", "salt", 4096,
                "c5e478d59288c841aa530db6845c4c8d"
                "962893a001ce4e11a4963873aa98134a");
    /* 0 iterations behaves as 1. */
    pbkdf2_case("password", "salt", 0,
                "120fb6cffcf8b32c43e7225256c4f837"
                "a86548c92ccc35480805987cb70be17b");
}

static void
md5_case(const char *s, const char *want_hex)
{
    uint8_t d[PGC_MD5_LEN];

    pgc_md5((const uint8_t *)s, strlen(s), d);
    CHECK_HEX(d, 16, want_hex);
}

/* RFC 1321 appendix A.5, and the PostgreSQL md5 password formula. */
static void
test_md5(void)
{
    static const uint8_t salt1[4] = {1, 2, 3, 4};
    static const uint8_t salt2[4] = {0xde, 0xad, 0xbe, 0xef};
    char out[PGC_MD5_PASSWORD_LEN + 1];

    md5_case("", "d41d8cd98f00b204e9800998ecf8427e");
    md5_case("a", "0cc175b9c0f1b6a831c399e269772661");
    md5_case("abc", "900150983cd24fb0d6963f7d28e17f72");
    md5_case("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    md5_case("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    md5_case("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
             "0123456789",
             "d174ab98d277d9f5a5611c2c9f419d9f");
    md5_case("1234567890123456789012345678901234567890123456789012345678901"
             "2345678901234567890",
             "57edf4a22be3c955ac49da2e2107b67a");
    /* "md5" + md5(md5(password || user) as hex || salt) as hex. */
    pgc_md5_password("postgres", 8, "secret", 6, salt1, out);
    CHECK_STR(out, "md5bb41a296aab6baccb36ff243a562abff");
    pgc_md5_password("user", 4, "pencil", 6, salt2, out);
    CHECK_STR(out, "md50f5b636d891e9860623ac8ca91fc9dfc");
}

static void
b64_round(const char *raw, const char *enc)
{
    char out[64];
    uint8_t dec[64];
    size_t n = strlen(raw), dn = 0;

    CHECK_EQ(pgc_base64_encoded_len(n), strlen(enc));
    pgc_base64_encode((const uint8_t *)raw, n, out);
    CHECK_STR(out, enc);
    CHECK_EQ(pgc_base64_decode(enc, strlen(enc), dec, sizeof(dec), &dn),
             PGC_OK);
    CHECK_MEM(dec, dn, raw, n);
}

static PgcStatus
b64_dec(const char *s, size_t cap)
{
    uint8_t dec[64];
    size_t dn = 0;

    return pgc_base64_decode(s, strlen(s), dec, cap, &dn);
}

static void
test_base64(void)
{
    uint8_t all[256], dec[256];
    char enc[400];
    size_t i, dn = 0;

    b64_round("", "");
    b64_round("f", "Zg==");
    b64_round("fo", "Zm8=");
    b64_round("foo", "Zm9v");
    b64_round("foob", "Zm9vYg==");
    b64_round("fooba", "Zm9vYmE=");
    b64_round("foobar", "Zm9vYmFy");
    for (i = 0; i < 256; i++) {
        all[i] = (uint8_t)(255 - i);
    }
    pgc_base64_encode(all, 256, enc);
    CHECK_EQ(pgc_base64_decode(enc, strlen(enc), dec, 256, &dn), PGC_OK);
    CHECK_MEM(dec, dn, all, 256);
    CHECK_EQ(pgc_base64_decode(enc, strlen(enc), dec, 255, &dn),
             PGC_ERR_LIMIT);
    /* Strict decoding. */
    CHECK_EQ(b64_dec("Zg=", 64), PGC_ERR_PROTOCOL); /* length */
    CHECK_EQ(b64_dec("Zg", 64), PGC_ERR_PROTOCOL);  /* no padding */
    CHECK_EQ(b64_dec("Zg==\n", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("Zm 9v", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("Z===", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("====", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("Zh==", 64), PGC_ERR_PROTOCOL); /* non-zero pad bits */
    CHECK_EQ(b64_dec("Zm9=", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("Zg==Zg==", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("Z=g=", 64), PGC_ERR_PROTOCOL);
    CHECK_EQ(b64_dec("Zm9-", 64), PGC_ERR_PROTOCOL); /* url alphabet */
    CHECK_EQ(b64_dec("Zm9v", 2), PGC_ERR_LIMIT);
    CHECK_EQ(b64_dec("Zm8=", 2), PGC_OK);
}

static void
test_ct_equal(void)
{
    uint8_t a[40], b[40];

    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    CHECK_EQ(pgc_ct_equal(a, b, 40), 1);
    CHECK_EQ(pgc_ct_equal(a, b, 0), 1);
    b[0] = 6;
    CHECK_EQ(pgc_ct_equal(a, b, 40), 0);
    b[0] = 7;
    b[39] = 0x87;
    CHECK_EQ(pgc_ct_equal(a, b, 40), 0);
    CHECK_EQ(pgc_ct_equal(a, b, 39), 1);
}

/* The vectors above ran on whichever implementation this CPU picks; here
 * the portable code and the hardware one (when the CPU has SHA
 * extensions) hash many lengths and derive a key, and must agree. */
static void
sha256_with(int hw, const uint8_t *p, size_t n, uint8_t out[PGC_SHA256_LEN])
{
    PgcSha256 c;

    pgc_sha256_init_impl(&c, hw);
    pgc_sha256_update(&c, p, n);
    pgc_sha256_final(&c, out);
}

static void
test_sha256_implementations(void)
{
    uint8_t buf[300], a[PGC_SHA256_LEN], b[PGC_SHA256_LEN], d[PGC_SHA256_LEN];
    uint8_t ka[PGC_SHA256_LEN], kb[PGC_SHA256_LEN];
    PgcSha256 c;
    size_t n, i;

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 131u + 7u);
    }
    for (n = 0; n <= sizeof(buf); n++) {
        sha256_with(0, buf, n, a);
        sha256_with(1, buf, n, b);
        pgc_sha256(buf, n, d);
        CHECK_MEM(a, sizeof(a), b, sizeof(b));
        CHECK_MEM(a, sizeof(a), d, sizeof(d));
    }
    sha256_with(0, (const uint8_t *)"abc", 3, a);
    CHECK_HEX(a, 32,
              "ba7816bf8f01cfea414140de5dae2223"
              "b00361a396177a9cb410ff61f20015ad");
    pgc_pbkdf2_sha256_impl(buf, 11, buf + 11, 16, 4096, ka, 0);
    pgc_pbkdf2_sha256_impl(buf, 11, buf + 11, 16, 4096, kb, 1);
    CHECK_MEM(ka, sizeof(ka), kb, sizeof(kb));
    pgc_pbkdf2_sha256_impl((const uint8_t *)"password", 8,
                           (const uint8_t *)"salt", 4, 4096, ka, 0);
    CHECK_HEX(ka, 32,
              "c5e478d59288c841aa530db6845c4c8d"
              "962893a001ce4e11a4963873aa98134a");
    CHECK_EQ(pgc_sha256_init_impl(&c, 0), 0);
}

void
test_auth(void)
{
    test_sha256();
    test_hmac();
    test_pbkdf2();
    test_sha256_implementations();
    test_md5();
    test_base64();
    test_ct_equal();
}
