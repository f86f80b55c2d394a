/* pgc_auth.h -- everything authentication needs, in one include:
 *   pgc_hash.h   SHA-256 (SHA-NI), HMAC, PBKDF2, MD5, base64, pgc_wipe
 *   pgc_scram.h  the SCRAM-SHA-256(-PLUS) client
 *   pgc_x509.h   the certificate's signature hash (tls-server-end-point)
 * Include the one you need in new code.
 */
#ifndef PGC_AUTH_H
#define PGC_AUTH_H

#include "pgc_hash.h"
#include "pgc_scram.h"
#include "pgc_x509.h"

#endif /* PGC_AUTH_H */
