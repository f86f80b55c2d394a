/* pgc_x509.c -- the signature algorithm of a DER X.509 certificate, for
 * tls-server-end-point (RFC 5929 section 4.1); see pgc_x509.h.
 */
#include "pgc_x509.h"

/* ------------------------------------------------------------------ */
/* tls-server-end-point: the certificate's signature hash              */
/* ------------------------------------------------------------------ */

#define DER_SEQUENCE 0x30
#define DER_OID 0x06

/* Enter the DER element at c (tag `tag`): *inner is its contents, and c
 * moves past it.  0 if malformed (the lengths are checked against what is
 * left; long forms up to 4 bytes, no indefinite length). */
static int
der_element(PgcCur *c, uint8_t tag, PgcCur *inner)
{
    size_t len, i, nbytes;

    if (pgc_cur_left(c) < 2 || c->p[0] != tag) {
        return 0;
    }
    len = c->p[1];
    c->p += 2;
    if (len & 0x80) {
        nbytes = len & 0x7f;
        if (nbytes == 0 || nbytes > 4 || pgc_cur_left(c) < nbytes) {
            return 0;
        }
        len = 0;
        for (i = 0; i < nbytes; i++) {
            len = (len << 8) | c->p[i];
        }
        c->p += nbytes;
    }
    if (len > pgc_cur_left(c)) {
        return 0;
    }
    *inner = pgc_cur_make(c->p, len);
    c->p += len;
    return 1;
}

/* Signature algorithm OIDs (DER contents) and the hash tls-server-end-point
 * uses with them.  Algorithms without a hash of their own (Ed25519,
 * Ed448, RSASSA-PSS, whose hash is in its parameters and which the
 * PostgreSQL server does not bind either) are left out: PGC_CERT_HASH_NONE. */
static const struct {
    uint8_t len;
    uint8_t oid[9];
    PgcCertHash hash;
} der_sig_algs[] = {
#define RSA_PKCS1(last)                                \
    9,                                                 \
    {                                                  \
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, last \
    }
    {RSA_PKCS1(4), PGC_CERT_HASH_SHA256},  /* md5WithRSAEncryption */
    {RSA_PKCS1(5), PGC_CERT_HASH_SHA256},  /* sha1WithRSAEncryption */
    {RSA_PKCS1(11), PGC_CERT_HASH_SHA256}, /* sha256WithRSAEncryption */
    {RSA_PKCS1(12), PGC_CERT_HASH_SHA384},
    {RSA_PKCS1(13), PGC_CERT_HASH_SHA512},
    {RSA_PKCS1(14), PGC_CERT_HASH_SHA224},
#undef RSA_PKCS1
    /* ecdsa-with-SHA1, ecdsa-with-SHA224/256/384/512 */
    {7, {0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 1}, PGC_CERT_HASH_SHA256},
    {8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 1}, PGC_CERT_HASH_SHA224},
    {8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2}, PGC_CERT_HASH_SHA256},
    {8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 3}, PGC_CERT_HASH_SHA384},
    {8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 4}, PGC_CERT_HASH_SHA512},
    /* id-dsa-with-sha1, dsa-with-sha224, dsa-with-sha256 */
    {7, {0x2a, 0x86, 0x48, 0xce, 0x38, 4, 3}, PGC_CERT_HASH_SHA256},
    {9, {0x60, 0x86, 0x48, 1, 0x65, 3, 4, 3, 1}, PGC_CERT_HASH_SHA224},
    {9, {0x60, 0x86, 0x48, 1, 0x65, 3, 4, 3, 2}, PGC_CERT_HASH_SHA256},
};

/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm
 * SEQUENCE { algorithm OID, parameters ANY OPTIONAL }, signature BIT
 * STRING } */
PgcStatus
pgc_cert_signature_hash(const uint8_t *der, size_t n, PgcCertHash *hash)
{
    PgcCur c = pgc_cur_make(der, n), cert, tbs, alg, oid;
    size_t i;

    *hash = PGC_CERT_HASH_NONE;
    if (!der_element(&c, DER_SEQUENCE, &cert) || pgc_cur_left(&c) != 0 ||
        !der_element(&cert, DER_SEQUENCE, &tbs) ||
        !der_element(&cert, DER_SEQUENCE, &alg) ||
        !der_element(&alg, DER_OID, &oid)) {
        return PGC_ERR_PROTOCOL;
    }
    for (i = 0; i < sizeof(der_sig_algs) / sizeof(der_sig_algs[0]); i++) {
        if (pgc_cur_left(&oid) == der_sig_algs[i].len &&
            memcmp(oid.p, der_sig_algs[i].oid, der_sig_algs[i].len) == 0) {
            *hash = der_sig_algs[i].hash;
            break;
        }
    }
    return PGC_OK;
}
