/* pgc_scram.c -- the SCRAM-SHA-256 client (RFC 5802, RFC 7677), with the
 * tls-server-end-point channel binding (RFC 5929); see pgc_scram.h.
 * Secrets on the stack are wiped after use.
 */
#include <stdio.h>

#include "pgc_scram.h"

/* ================================================================== */
/* SCRAM-SHA-256 client (RFC 5802, RFC 7677)                           */
/* ================================================================== */

/* Attribute names and separators of SCRAM messages. */
#define SCRAM_ATTR_NONCE 'r'
#define SCRAM_ATTR_SALT 's'
#define SCRAM_ATTR_ITER 'i'
#define SCRAM_ATTR_VERIFIER 'v'
#define SCRAM_ATTR_ERROR 'e'
#define SCRAM_ATTR_MEXT 'm'
#define SCRAM_EQ '='
#define SCRAM_SEP ','
/* gs2 headers, by PgcScramCb */
static const char *const scram_gs2_header[] = {"n,,", "y,,",
                                               "p=tls-server-end-point,,"};
#define SCRAM_NONCE_PREFIX "n=,r="

static PgcStatus
scram_fail(PgcScram *s, PgcStatus st, const char *msg)
{
    snprintf(s->err_msg, sizeof(s->err_msg), "%s", msg);
    return st;
}

/* RFC 5802 "printable": %x21-2B / %x2D-7E. */
static int
scram_printable(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == SCRAM_SEP) {
            return 0;
        }
    }
    return 1;
}

PgcStatus
pgc_scram_client_first(PgcScram *s, const char *nonce, size_t nonce_len,
                       uint32_t max_iterations, char *out, size_t cap,
                       size_t *outlen)
{
    return pgc_scram_client_first_cb(s, PGC_SCRAM_CB_NONE, NULL, 0, nonce,
                                     nonce_len, max_iterations, out, cap,
                                     outlen);
}

PgcStatus
pgc_scram_client_first_cb(PgcScram *s, PgcScramCb cb, const uint8_t *cb_data,
                          size_t cb_len, const char *nonce, size_t nonce_len,
                          uint32_t max_iterations, char *out, size_t cap,
                          size_t *outlen)
{
    const char *hdr;
    size_t hlen;
    size_t plen = sizeof(SCRAM_NONCE_PREFIX) - 1;

    memset(s, 0, sizeof(*s));
    s->max_iterations = max_iterations ? max_iterations
                                       : PGC_SCRAM_DEFAULT_MAX_ITER;
    if ((unsigned)cb > PGC_SCRAM_CB_ENDPOINT ||
        (cb == PGC_SCRAM_CB_ENDPOINT &&
         (cb_data == NULL || cb_len == 0 || cb_len > PGC_CBIND_DATA_MAX))) {
        return scram_fail(s, PGC_ERR_STATE,
                          "SCRAM: invalid channel-binding data");
    }
    if (nonce_len == 0 || nonce_len > PGC_SCRAM_NONCE_MAX ||
        !scram_printable((const uint8_t *)nonce, nonce_len)) {
        return scram_fail(s, PGC_ERR_STATE,
                          "SCRAM: the client nonce must be 1 to 128 "
                          "printable characters other than ','");
    }
    hdr = scram_gs2_header[cb];
    hlen = strlen(hdr);
    if (cap < hlen + plen + nonce_len + 1) {
        return scram_fail(s, PGC_ERR_LIMIT, "SCRAM: output buffer too small");
    }
    memcpy(s->cbind_input, hdr, hlen);
    if (cb == PGC_SCRAM_CB_ENDPOINT) {
        memcpy(s->cbind_input + hlen, cb_data, cb_len);
        s->cbind_input_len = hlen + cb_len;
    }
    else {
        s->cbind_input_len = hlen;
    }
    memcpy(s->client_nonce, nonce, nonce_len);
    s->client_nonce_len = nonce_len;
    memcpy(s->client_first_bare, SCRAM_NONCE_PREFIX, plen);
    memcpy(s->client_first_bare + plen, nonce, nonce_len);
    s->client_first_bare_len = plen + nonce_len;
    memcpy(out, hdr, hlen);
    memcpy(out + hlen, s->client_first_bare, s->client_first_bare_len);
    *outlen = hlen + s->client_first_bare_len;
    out[*outlen] = 0;
    return PGC_OK;
}

/* The attributes of a server-first-message, as views into it. */
typedef struct {
    PgcView nonce;
    PgcView salt;
    PgcView iter;
} ScramServerFirst;

/* Read "<name>=<value>" up to the next ',' (consumed) or the end. */
static int
scram_attr(PgcCur *c, uint8_t name, PgcView *value)
{
    const uint8_t *sep;

    if (pgc_cur_left(c) < 2 || c->p[0] != name || c->p[1] != SCRAM_EQ) {
        return 0;
    }
    c->p += 2;
    sep = memchr(c->p, SCRAM_SEP, pgc_cur_left(c));
    value->p = c->p;
    value->n = sep ? (size_t)(sep - c->p) : pgc_cur_left(c);
    c->p = sep ? sep + 1 : c->end;
    return 1;
}

/* 0: split into f; 1: malformed; 2: a mandatory extension ("m="). */
static int
scram_split(const uint8_t *m, size_t n, ScramServerFirst *f)
{
    PgcCur c = pgc_cur_make(m, n);

    if (pgc_cur_left(&c) >= 2 && c.p[0] == SCRAM_ATTR_MEXT &&
        c.p[1] == SCRAM_EQ) {
        return 2;
    }
    if (!scram_attr(&c, SCRAM_ATTR_NONCE, &f->nonce) ||
        !scram_attr(&c, SCRAM_ATTR_SALT, &f->salt) ||
        !scram_attr(&c, SCRAM_ATTR_ITER, &f->iter)) {
        return 1;
    }
    /* Nothing may follow the iteration count (as libpq). */
    if (f->iter.p + f->iter.n != c.end) {
        return 1;
    }
    return 0;
}

static PgcStatus
scram_split_first(PgcScram *s, ScramServerFirst *f)
{
    switch (scram_split((const uint8_t *)s->server_first, s->server_first_len,
                        f)) {
    case 0:
        return PGC_OK;
    case 2:
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: server requires an unsupported extension");
    default:
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: malformed server-first-message");
    }
}

PgcStatus
pgc_scram_server_first_params(const uint8_t *msg, size_t n, uint8_t *salt,
                              size_t salt_cap, size_t *salt_len,
                              uint32_t *iterations)
{
    ScramServerFirst f;
    uint64_t v = 0;
    size_t i;

    if (scram_split(msg, n, &f) != 0 || f.iter.n == 0 || f.iter.n > 10 ||
        (f.iter.p[0] == '0')) {
        return PGC_ERR_AUTH;
    }
    for (i = 0; i < f.iter.n; i++) {
        if (f.iter.p[i] < '0' || f.iter.p[i] > '9') {
            return PGC_ERR_AUTH;
        }
        v = v * 10u + (uint64_t)(f.iter.p[i] - '0');
    }
    if (v > UINT32_MAX) {
        return PGC_ERR_AUTH;
    }
    switch (pgc_base64_decode((const char *)f.salt.p, f.salt.n, salt, salt_cap,
                              salt_len)) {
    case PGC_OK:
        break;
    case PGC_ERR_LIMIT:
        return PGC_ERR_LIMIT;
    default:
        return PGC_ERR_AUTH;
    }
    if (*salt_len == 0) {
        return PGC_ERR_AUTH;
    }
    *iterations = (uint32_t)v;
    return PGC_OK;
}

static PgcStatus
scram_check_nonce(PgcScram *s, PgcView nonce)
{
    size_t cn = s->client_nonce_len;

    if (nonce.n < cn || memcmp(nonce.p, s->client_nonce, cn) != 0) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: server nonce does not start with the "
                          "client nonce");
    }
    if (nonce.n == cn) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: server nonce does not extend the client "
                          "nonce");
    }
    if (!scram_printable(nonce.p, nonce.n)) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: server nonce contains invalid characters");
    }
    return PGC_OK;
}

/* i= must be a canonical decimal integer in [1, max_iterations]. */
static PgcStatus
scram_check_iter(PgcScram *s, PgcView v, uint32_t *iter)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            break;
        }
    }
    if (v.n == 0 || i < v.n || (v.p[0] == '0' && v.n > 1)) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: iteration count is not a canonical "
                          "decimal integer");
    }
    for (i = 0; i < v.n && n <= s->max_iterations; i++) {
        n = n * 10u + (uint64_t)(v.p[i] - '0');
    }
    if (n == 0) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: iteration count 0 is invalid");
    }
    if (n > s->max_iterations) {
        snprintf(s->err_msg, sizeof(s->err_msg),
                 "SCRAM: iteration count %.*s%s exceeds the limit of %lu",
                 (int)(v.n > 24 ? 24 : v.n), (const char *)v.p,
                 v.n > 24 ? "..." : "", (unsigned long)s->max_iterations);
        return PGC_ERR_AUTH;
    }
    *iter = (uint32_t)n;
    return PGC_OK;
}

/* HMAC(key, AuthMessage), AuthMessage = client-first-message-bare + ","
 * + server-first-message + "," + client-final-message-without-proof. */
static void
scram_auth_hmac(const PgcScram *s, const uint8_t key[PGC_SHA256_LEN],
                const char *cfwp, size_t cfwp_len, uint8_t out[PGC_SHA256_LEN],
                int hw)
{
    static const char sep[1] = {SCRAM_SEP};
    PgcHmacSha256 h;

    pgc_hmac_sha256_init_as(&h, key, PGC_SHA256_LEN, hw);
    pgc_hmac_sha256_update(&h, s->client_first_bare, s->client_first_bare_len);
    pgc_hmac_sha256_update(&h, sep, 1);
    pgc_hmac_sha256_update(&h, s->server_first, s->server_first_len);
    pgc_hmac_sha256_update(&h, sep, 1);
    pgc_hmac_sha256_update(&h, cfwp, cfwp_len);
    pgc_hmac_sha256_final(&h, out);
}

/* RFC 5802 section 3: the ClientProof, and the ServerSignature kept for
 * the verification of the server-final-message. */
static void
scram_proof(PgcScram *s, const char *pw, size_t pwlen, const uint8_t *salt,
            size_t saltlen, uint32_t iter, const char *cfwp, size_t cfwp_len,
            uint8_t proof[PGC_SHA256_LEN])
{
    uint8_t client_key[PGC_SHA256_LEN], stored_key[PGC_SHA256_LEN];
    uint8_t server_key[PGC_SHA256_LEN];
    size_t i;
    int hw = pgc_sha256_hw(); /* once for the whole proof */

    if (pgc_salted_key_matches(&s->preset, salt, saltlen, iter)) {
        memcpy(s->salted_password, s->preset.salted, PGC_SHA256_LEN);
    }
    else {
        pgc_pbkdf2_sha256_as((const uint8_t *)pw, pwlen, salt, saltlen, iter,
                             s->salted_password, hw);
    }
    pgc_salted_key_wipe(&s->preset);
    pgc_hmac_sha256_as(s->salted_password, PGC_SHA256_LEN,
                       (const uint8_t *)"Client Key", 10, client_key, hw);
    pgc_sha256_as(client_key, sizeof(client_key), stored_key, hw);
    scram_auth_hmac(s, stored_key, cfwp, cfwp_len, proof, hw);
    for (i = 0; i < PGC_SHA256_LEN; i++) {
        proof[i] ^= client_key[i];
    }
    pgc_hmac_sha256_as(s->salted_password, PGC_SHA256_LEN,
                       (const uint8_t *)"Server Key", 10, server_key, hw);
    scram_auth_hmac(s, server_key, cfwp, cfwp_len, s->server_signature, hw);
    pgc_wipe(client_key, sizeof(client_key));
    pgc_wipe(stored_key, sizeof(stored_key));
    pgc_wipe(server_key, sizeof(server_key));
}

/* Check and store the server-first-message; decode the salt. */
static PgcStatus
scram_read_first(PgcScram *s, const uint8_t *m, size_t n, ScramServerFirst *f,
                 uint8_t *salt, size_t *saltlen, uint32_t *iter)
{
    PgcStatus st;

    if (s->client_first_bare_len == 0) {
        return scram_fail(s, PGC_ERR_STATE,
                          "SCRAM: server-first-message before the "
                          "client-first-message");
    }
    if (n >= PGC_SCRAM_MSG_MAX || memchr(m, 0, n)) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: malformed server-first-message");
    }
    memcpy(s->server_first, m, n);
    s->server_first_len = n;
    st = scram_split_first(s, f);
    if (st == PGC_OK) {
        st = scram_check_nonce(s, f->nonce);
    }
    if (st == PGC_OK) {
        st = scram_check_iter(s, f->iter, iter);
    }
    if (st != PGC_OK) {
        return st;
    }
    if (pgc_base64_decode((const char *)f->salt.p, f->salt.n, salt,
                          PGC_SCRAM_MSG_MAX, saltlen) != PGC_OK ||
        *saltlen == 0) {
        return scram_fail(s, PGC_ERR_AUTH, "SCRAM: invalid salt");
    }
    return PGC_OK;
}

static PgcStatus
scram_client_final(PgcScram *s, const uint8_t *server_first, size_t n,
                   const char *password, size_t pwlen, char *out, size_t cap,
                   size_t *outlen)
{
    static const char cbind_attr[] = "c=";
    static const char nonce_attr[] = ",r=";
    static const char proof_attr[] = ",p=";
    size_t clen = sizeof(cbind_attr) - 1;
    size_t cb64 = pgc_base64_encoded_len(s->cbind_input_len);
    size_t nlen = sizeof(nonce_attr) - 1;
    ScramServerFirst f;
    uint8_t salt[PGC_SCRAM_MSG_MAX], proof[PGC_SHA256_LEN];
    size_t saltlen = 0, k;
    uint32_t iter = 0;
    PgcStatus st = scram_read_first(s, server_first, n, &f, salt, &saltlen,
                                    &iter);

    if (st != PGC_OK) {
        return st;
    }
    /* client-final-message-without-proof: c=<cbind>,r=<nonce> */
    k = clen + cb64 + nlen + f.nonce.n;
    if (cap < k + sizeof(proof_attr) - 1 + 44 + 1) {
        return scram_fail(s, PGC_ERR_LIMIT, "SCRAM: output buffer too small");
    }
    memcpy(out, cbind_attr, clen);
    pgc_base64_encode(s->cbind_input, s->cbind_input_len, out + clen);
    memcpy(out + clen + cb64, nonce_attr, nlen);
    memcpy(out + clen + cb64 + nlen, f.nonce.p, f.nonce.n);
    if (saltlen <= PGC_SCRAM_SALT_MAX) {
        memcpy(s->salt, salt, saltlen);
        s->salt_len = saltlen;
    }
    s->iterations = iter;
    scram_proof(s, password, pwlen, salt, saltlen, iter, out, k, proof);
    memcpy(out + k, proof_attr, sizeof(proof_attr) - 1);
    k += sizeof(proof_attr) - 1;
    pgc_base64_encode(proof, sizeof(proof), out + k);
    *outlen = k + pgc_base64_encoded_len(sizeof(proof));
    pgc_wipe(proof, sizeof(proof));
    return PGC_OK;
}

int
pgc_salted_key_set(PgcSaltedKey *k, const uint8_t *salt, size_t salt_len,
                   uint32_t iterations, const uint8_t salted[PGC_SHA256_LEN])
{
    pgc_salted_key_wipe(k);
    if (salt_len == 0 || salt_len > PGC_SCRAM_SALT_MAX) {
        return 0;
    }
    memcpy(k->salt, salt, salt_len);
    k->salt_len = salt_len;
    k->iterations = iterations;
    memcpy(k->salted, salted, PGC_SHA256_LEN);
    return 1;
}

int
pgc_salted_key_matches(const PgcSaltedKey *k, const uint8_t *salt,
                       size_t salt_len, uint32_t iterations)
{
    return k->salt_len != 0 && k->salt_len == salt_len &&
           k->iterations == iterations && memcmp(k->salt, salt, salt_len) == 0;
}

void
pgc_salted_key_wipe(PgcSaltedKey *k)
{
    pgc_wipe(k->salted, sizeof(k->salted));
    k->salt_len = 0;
    k->iterations = 0;
}

void
pgc_scram_preset(PgcScram *s, const uint8_t *salt, size_t salt_len,
                 uint32_t iterations, const uint8_t salted[PGC_SHA256_LEN])
{
    (void)pgc_salted_key_set(&s->preset, salt, salt_len, iterations, salted);
}

/* On failure nothing of the exchange is kept: a later
 * pgc_scram_verify_server_final refuses to run (server_first_len == 0)
 * instead of comparing against a signature that was never computed. */
PgcStatus
pgc_scram_client_final(PgcScram *s, const uint8_t *server_first, size_t n,
                       const char *password, size_t pwlen, char *out,
                       size_t cap, size_t *outlen)
{
    PgcStatus st = scram_client_final(s, server_first, n, password, pwlen, out,
                                      cap, outlen);

    if (st != PGC_OK) {
        s->server_first_len = 0;
        pgc_wipe(s->salted_password, sizeof(s->salted_password));
        pgc_wipe(s->server_signature, sizeof(s->server_signature));
    }
    return st;
}

/* A server "e=" error, with the server's text made printable. */
static PgcStatus
scram_server_error(PgcScram *s, const uint8_t *p, size_t n)
{
    static const char head[] = "SCRAM: server error: ";
    size_t o = sizeof(head) - 1, i;

    memcpy(s->err_msg, head, o);
    for (i = 0; i < n && o + 1 < sizeof(s->err_msg); i++) {
        s->err_msg[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    }
    s->err_msg[o] = 0;
    return PGC_ERR_AUTH;
}

PgcStatus
pgc_scram_verify_server_final(PgcScram *s, const uint8_t *msg, size_t n)
{
    uint8_t sig[64];
    size_t siglen = 0;

    if (s->server_first_len == 0) {
        return scram_fail(s, PGC_ERR_STATE,
                          "SCRAM: server-final-message before the "
                          "server-first-message");
    }
    if (n >= 2 && msg[0] == SCRAM_ATTR_ERROR && msg[1] == SCRAM_EQ) {
        return scram_server_error(s, msg + 2, n - 2);
    }
    if (n < 2 || msg[0] != SCRAM_ATTR_VERIFIER || msg[1] != SCRAM_EQ ||
        pgc_base64_decode((const char *)msg + 2, n - 2, sig, sizeof(sig),
                          &siglen) != PGC_OK ||
        siglen != PGC_SHA256_LEN) {
        return scram_fail(s, PGC_ERR_AUTH,
                          "SCRAM: malformed server-final-message");
    }
    if (!pgc_ct_equal(sig, s->server_signature, PGC_SHA256_LEN)) {
        return scram_fail(s, PGC_ERR_AUTH, "SCRAM: server signature mismatch");
    }
    return PGC_OK;
}
