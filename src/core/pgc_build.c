/* pgc_build.c -- one builder per frontend message (see pgc_build.h).
 *
 * Pattern: remember where the buffer ended, open the message, append the
 * fields, close it; on any failure truncate back, so a failed builder
 * leaves no byte behind.
 */
#include "pgc_build.h"
#include "pgc_msg.h"

/* Undo a failed builder: drop whatever it appended. */
static PgcStatus
build_fail(PgcWBuf *b, size_t mark, PgcStatus st)
{
    pgc_wbuf_truncate(b, mark);
    return st;
}

/* Close the message; on failure undo it. */
static PgcStatus
build_end(PgcWBuf *b, size_t mark, PgcStatus st)
{
    if (st == PGC_OK) {
        st = pgc_wbuf_end_msg(b);
    }
    return st == PGC_OK ? PGC_OK : build_fail(b, mark, st);
}

static PgcStatus
put_str(PgcWBuf *b, PgcStr s)
{
    return pgc_wbuf_put_cstr(b, s.p, s.n);
}

static PgcStatus
put_i16_array(PgcWBuf *b, const int16_t *v, size_t n)
{
    PgcStatus st = pgc_wbuf_reserve(b, n * 2u);
    size_t i;

    if (st != PGC_OK) {
        return st;
    }
    for (i = 0; i < n; i++) {
        pgc_store_u16(b->data + b->len, (uint16_t)v[i]);
        b->len += 2;
    }
    return PGC_OK;
}

/* A message made of a type byte and nothing else (Sync, Flush, ...). */
static PgcStatus
build_bare(PgcWBuf *b, uint8_t type)
{
    size_t mark = b->len;

    return build_end(b, mark, pgc_wbuf_start_msg(b, type));
}

/* A message whose body is one NUL-terminated string. */
static PgcStatus
build_one_cstr(PgcWBuf *b, uint8_t type, const char *s, size_t n)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, type);

    if (st == PGC_OK) {
        st = pgc_wbuf_put_cstr(b, s, n);
    }
    return build_end(b, mark, st);
}

/* A message whose body is raw bytes. */
static PgcStatus
build_raw(PgcWBuf *b, uint8_t type, const uint8_t *p, size_t n)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, type);

    if (st == PGC_OK) {
        st = pgc_wbuf_put_bytes(b, p, n);
    }
    return build_end(b, mark, st);
}

/* ------------------------------------------------------------------ */
/* Untyped messages.                                                   */
/* ------------------------------------------------------------------ */

static PgcStatus
put_startup_params(PgcWBuf *b, const PgcStr *names, const PgcStr *values,
                   size_t nparams)
{
    PgcStatus st = PGC_OK;
    size_t i;

    for (i = 0; i < nparams && st == PGC_OK; i++) {
        /* An empty name would end the list early. */
        if (names[i].n == 0) {
            return PGC_ERR_LIMIT;
        }
        st = put_str(b, names[i]);
        if (st == PGC_OK) {
            st = put_str(b, values[i]);
        }
    }
    return st;
}

PgcStatus
pgc_build_startup(PgcWBuf *b, const PgcStr *names, const PgcStr *values,
                  size_t nparams)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, 0);

    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, PGC_PROTOCOL_3_0);
    }
    if (st == PGC_OK) {
        st = put_startup_params(b, names, values, nparams);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_u8(b, 0);
    }
    return build_end(b, mark, st);
}

PgcStatus
pgc_build_ssl_request(PgcWBuf *b)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, 0);

    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, PGC_SSL_REQUEST_CODE);
    }
    return build_end(b, mark, st);
}

PgcStatus
pgc_build_cancel_request(PgcWBuf *b, int32_t pid, int32_t secret)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, 0);

    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, PGC_CANCEL_REQUEST_CODE);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, pid);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, secret);
    }
    return build_end(b, mark, st);
}

/* ------------------------------------------------------------------ */
/* Authentication.                                                     */
/* ------------------------------------------------------------------ */

PgcStatus
pgc_build_password(PgcWBuf *b, const char *pw, size_t n)
{
    return build_one_cstr(b, PGC_FMSG_PASSWORD, pw, n);
}

PgcStatus
pgc_build_sasl_initial(PgcWBuf *b, PgcStr mech, const uint8_t *data, size_t n)
{
    size_t mark = b->len;
    PgcStatus st;

    if (n > (size_t)INT32_MAX) {
        return PGC_ERR_LIMIT;
    }
    st = pgc_wbuf_start_msg(b, PGC_FMSG_PASSWORD);
    if (st == PGC_OK) {
        st = put_str(b, mech);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, (int32_t)n);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_bytes(b, data, n);
    }
    return build_end(b, mark, st);
}

PgcStatus
pgc_build_sasl_response(PgcWBuf *b, const uint8_t *data, size_t n)
{
    return build_raw(b, PGC_FMSG_PASSWORD, data, n);
}

/* ------------------------------------------------------------------ */
/* Queries.                                                            */
/* ------------------------------------------------------------------ */

PgcStatus
pgc_build_query(PgcWBuf *b, PgcStr sql)
{
    return build_one_cstr(b, PGC_FMSG_QUERY, sql.p, sql.n);
}

static PgcStatus
put_oids(PgcWBuf *b, const uint32_t *oids, uint16_t n)
{
    PgcStatus st = pgc_wbuf_put_i16(b, (int16_t)n);
    size_t i;

    if (st == PGC_OK) {
        st = pgc_wbuf_reserve(b, (size_t)n * 4u);
    }
    for (i = 0; i < n && st == PGC_OK; i++) {
        pgc_store_u32(b->data + b->len, oids[i]);
        b->len += 4;
    }
    return st;
}

PgcStatus
pgc_build_parse(PgcWBuf *b, PgcStr name, PgcStr sql,
                const uint32_t *param_oids, uint16_t nparams)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, PGC_FMSG_PARSE);

    if (st == PGC_OK) {
        st = put_str(b, name);
    }
    if (st == PGC_OK) {
        st = put_str(b, sql);
    }
    if (st == PGC_OK) {
        st = put_oids(b, param_oids, nparams);
    }
    return build_end(b, mark, st);
}

/* Describe and Close: a target kind and a name. */
static PgcStatus
build_target(PgcWBuf *b, uint8_t type, uint8_t kind, PgcStr name)
{
    size_t mark = b->len;
    PgcStatus st;

    if (kind != PGC_TARGET_STATEMENT && kind != PGC_TARGET_PORTAL) {
        return PGC_ERR_STATE;
    }
    st = pgc_wbuf_start_msg(b, type);
    if (st == PGC_OK) {
        st = pgc_wbuf_put_u8(b, kind);
    }
    if (st == PGC_OK) {
        st = put_str(b, name);
    }
    return build_end(b, mark, st);
}

PgcStatus
pgc_build_describe(PgcWBuf *b, uint8_t kind, PgcStr name)
{
    return build_target(b, PGC_FMSG_DESCRIBE, kind, name);
}

PgcStatus
pgc_build_close(PgcWBuf *b, uint8_t kind, PgcStr name)
{
    return build_target(b, PGC_FMSG_CLOSE, kind, name);
}

PgcStatus
pgc_build_execute(PgcWBuf *b, PgcStr portal, int32_t max_rows)
{
    size_t mark = b->len;
    PgcStatus st = pgc_wbuf_start_msg(b, PGC_FMSG_EXECUTE);

    if (st == PGC_OK) {
        st = put_str(b, portal);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i32(b, max_rows);
    }
    return build_end(b, mark, st);
}

PgcStatus
pgc_build_sync(PgcWBuf *b)
{
    return build_bare(b, PGC_FMSG_SYNC);
}

PgcStatus
pgc_build_flush(PgcWBuf *b)
{
    return build_bare(b, PGC_FMSG_FLUSH);
}

PgcStatus
pgc_build_terminate(PgcWBuf *b)
{
    return build_bare(b, PGC_FMSG_TERMINATE);
}

/* ------------------------------------------------------------------ */
/* Bind, in three steps.                                               */
/* ------------------------------------------------------------------ */

PgcStatus
pgc_build_bind_start(PgcWBuf *b, PgcStr portal, PgcStr stmt, uint16_t nfmt,
                     const int16_t *fmts, uint16_t nparams)
{
    size_t mark = b->len;
    PgcStatus st;

    if (nfmt > 1 && nfmt != nparams) {
        return PGC_ERR_STATE;
    }
    st = pgc_wbuf_start_msg(b, PGC_FMSG_BIND);
    if (st == PGC_OK) {
        st = put_str(b, portal);
    }
    if (st == PGC_OK) {
        st = put_str(b, stmt);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i16(b, (int16_t)nfmt);
    }
    if (st == PGC_OK) {
        st = put_i16_array(b, fmts, nfmt);
    }
    if (st == PGC_OK) {
        st = pgc_wbuf_put_i16(b, (int16_t)nparams);
    }
    return st == PGC_OK ? PGC_OK : build_fail(b, mark, st);
}

PgcStatus
pgc_build_bind_null(PgcWBuf *b)
{
    if (b->in_msg != PGC_WBUF_MSG_TYPED) {
        return PGC_ERR_STATE;
    }
    return pgc_wbuf_put_i32(b, -1);
}

PgcStatus
pgc_build_bind_end(PgcWBuf *b, uint16_t nresfmt, const int16_t *resfmts)
{
    size_t mark = b->msg_start;
    PgcStatus st;

    if (b->in_msg != PGC_WBUF_MSG_TYPED) {
        return PGC_ERR_STATE;
    }
    st = pgc_wbuf_put_i16(b, (int16_t)nresfmt);
    if (st == PGC_OK) {
        st = put_i16_array(b, resfmts, nresfmt);
    }
    return build_end(b, mark, st);
}

/* ------------------------------------------------------------------ */
/* COPY.                                                               */
/* ------------------------------------------------------------------ */

PgcStatus
pgc_build_copy_data(PgcWBuf *b, const uint8_t *p, size_t n)
{
    return build_raw(b, PGC_FMSG_COPY_DATA, p, n);
}

PgcStatus
pgc_build_copy_done(PgcWBuf *b)
{
    return build_bare(b, PGC_FMSG_COPY_DONE);
}

PgcStatus
pgc_build_copy_fail(PgcWBuf *b, PgcStr reason)
{
    return build_one_cstr(b, PGC_FMSG_COPY_FAIL, reason.p, reason.n);
}
