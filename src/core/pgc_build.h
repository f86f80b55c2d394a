/* pgc_build.h -- one builder per frontend message.
 *
 * Each builder appends one complete message to a write buffer.  On error the
 * buffer is left as it was before the call (a partially built message is
 * removed), so a caller may keep what it had queued earlier.  Strings are
 * (pointer, length) pairs; a NUL inside one is refused with PGC_ERR_LIMIT.
 */
#ifndef PGC_BUILD_H
#define PGC_BUILD_H

#include "pgc_buf.h"

typedef struct {
    const char *p;
    size_t n;
} PgcStr;

/* StartupMessage, protocol 3.0: nparams (name, value) pairs. */
PgcStatus pgc_build_startup(PgcWBuf *b, const PgcStr *names,
                            const PgcStr *values, size_t nparams);
PgcStatus pgc_build_ssl_request(PgcWBuf *b);
PgcStatus pgc_build_cancel_request(PgcWBuf *b, int32_t pid, int32_t secret);

/* PasswordMessage: a cleartext or md5 password (NUL terminated). */
PgcStatus pgc_build_password(PgcWBuf *b, const char *pw, size_t n);
/* SASLInitialResponse: mechanism name, then a length-prefixed payload. */
PgcStatus pgc_build_sasl_initial(PgcWBuf *b, PgcStr mech, const uint8_t *data,
                                 size_t n);
/* SASLResponse: raw payload. */
PgcStatus pgc_build_sasl_response(PgcWBuf *b, const uint8_t *data, size_t n);

PgcStatus pgc_build_query(PgcWBuf *b, PgcStr sql);
PgcStatus pgc_build_parse(PgcWBuf *b, PgcStr name, PgcStr sql,
                          const uint32_t *param_oids, uint16_t nparams);
/* kind: PGC_TARGET_STATEMENT or PGC_TARGET_PORTAL. */
PgcStatus pgc_build_describe(PgcWBuf *b, uint8_t kind, PgcStr name);
PgcStatus pgc_build_close(PgcWBuf *b, uint8_t kind, PgcStr name);
PgcStatus pgc_build_execute(PgcWBuf *b, PgcStr portal, int32_t max_rows);
PgcStatus pgc_build_sync(PgcWBuf *b);
PgcStatus pgc_build_flush(PgcWBuf *b);
PgcStatus pgc_build_terminate(PgcWBuf *b);

/* Bind is built in three steps, because the parameter values are encoded by
 * the codec layer straight into the buffer:
 *
 *   pgc_build_bind_start(b, portal, stmt, nfmt, fmts, nparams)
 *   for each parameter:
 *       pgc_build_bind_null(b)                      -- a NULL
 *     or
 *       pgc_wbuf_reserve_len(b, &off); <encode value bytes>;
 *       pgc_wbuf_patch_len(b, off)
 *   pgc_build_bind_end(b, nresfmt, resfmts)
 *
 * nfmt is 0 (all text), 1 (fmts[0] applies to all) or nparams.
 * On any error the caller truncates the buffer to where it started
 * (pgc_wbuf_truncate), which also closes the message. */
PgcStatus pgc_build_bind_start(PgcWBuf *b, PgcStr portal, PgcStr stmt,
                               uint16_t nfmt, const int16_t *fmts,
                               uint16_t nparams);
PgcStatus pgc_build_bind_null(PgcWBuf *b);
PgcStatus pgc_build_bind_end(PgcWBuf *b, uint16_t nresfmt,
                             const int16_t *resfmts);

/* CopyData / CopyDone / CopyFail */
PgcStatus pgc_build_copy_data(PgcWBuf *b, const uint8_t *p, size_t n);
PgcStatus pgc_build_copy_done(PgcWBuf *b);
PgcStatus pgc_build_copy_fail(PgcWBuf *b, PgcStr reason);

#endif /* PGC_BUILD_H */
