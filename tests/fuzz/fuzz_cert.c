/* fuzz_cert.c -- libFuzzer target for the DER walker that finds a server
 * certificate's signature algorithm (tls-server-end-point channel binding).
 *
 * The input is the certificate.  The walker must never read outside it,
 * must fail on every strict prefix of an input it accepts (the outer
 * SEQUENCE must span the input exactly), and must report only a known
 * hash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_x509.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy, so ASan sees any read past the end */
    uint8_t *der = malloc(size ? size : 1);
    PgcCertHash h = PGC_CERT_HASH_SHA512;
    PgcStatus st;

    if (der == NULL) {
        return 0;
    }
    memcpy(der, data, size);
    st = pgc_cert_signature_hash(der, size, &h);
    FUZZ_CHECK(st == PGC_OK || st == PGC_ERR_PROTOCOL);
    FUZZ_CHECK(h <= PGC_CERT_HASH_SHA512);
    if (st != PGC_OK) {
        FUZZ_CHECK(h == PGC_CERT_HASH_NONE);
    }
    else if (size > 0) {
        PgcCertHash h2;
        FUZZ_CHECK(pgc_cert_signature_hash(der, size - 1, &h2) ==
                   PGC_ERR_PROTOCOL);
    }
    free(der);
    return 0;
}
