/* pgc_x509.h -- the X.509 DER walker of channel binding, no I/O.
 */
#ifndef PGC_X509_H
#define PGC_X509_H

#include "pgc_buf.h"

/* ------------------------------------------------------------------ */
/* tls-server-end-point (RFC 5929 section 4.1): the server certificate  */
/* hashed with its signature algorithm's hash, MD5 and SHA-1 raised to  */
/* SHA-256.                                                             */
/* ------------------------------------------------------------------ */
typedef enum {
    PGC_CERT_HASH_NONE = 0, /* no usable hash (Ed25519, RSA-PSS, unknown) */
    PGC_CERT_HASH_SHA224,
    PGC_CERT_HASH_SHA256,
    PGC_CERT_HASH_SHA384,
    PGC_CERT_HASH_SHA512,
} PgcCertHash;

/* Read the signatureAlgorithm of a DER X.509 certificate.  PGC_OK with
 * *hash set, or PGC_ERR_PROTOCOL if the DER is malformed. */
PgcStatus pgc_cert_signature_hash(const uint8_t *der, size_t n,
                                  PgcCertHash *hash);

#endif /* PGC_X509_H */
