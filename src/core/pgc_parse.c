/* pgc_parse.c -- one parser per backend message (see pgc_parse.h).
 *
 * Every read goes through the bounds-checked cursor of pgc_buf.h, every
 * count is checked against the bytes that remain before it is used, and
 * every parser ends with the body consumed exactly.
 */
#include "pgc_msg.h"
#include "pgc_parse.h"

/* Size of a RowDescription field after its name. */
#define PGC_FIELD_FIXED_LEN 18u

/* A cursor never starts from a null pointer, even for an empty view. */
static const uint8_t parse_no_bytes[1] = {0};

static PgcCur
body_cur(PgcView v)
{
    if (!v.p) {
        return pgc_cur_make(parse_no_bytes, 0);
    }
    return pgc_cur_make(v.p, v.n);
}

PgcStatus
pgc_parse_end(const PgcCur *c)
{
    return pgc_cur_left(c) == 0 ? PGC_OK : PGC_ERR_PROTOCOL;
}

/* The status of a parser that read everything it expected: st if that
 * failed, else whether the body was consumed exactly. */
static PgcStatus
parse_finish(const PgcCur *c, PgcStatus st)
{
    return st != PGC_OK ? st : pgc_parse_end(c);
}

static PgcStatus
cur_u16(PgcCur *c, uint16_t *out)
{
    int16_t v = 0;
    PgcStatus st = pgc_cur_i16(c, &v);

    *out = (uint16_t)v;
    return st;
}

/* Data sizes fixed by the request code; the others are free-form. */
static PgcStatus
auth_check_data(const PgcAuthMsg *a)
{
    switch (a->code) {
    case PGC_AUTH_OK:
    case PGC_AUTH_KERBEROS_V5:
    case PGC_AUTH_CLEARTEXT:
    case PGC_AUTH_SCM_CREDS:
    case PGC_AUTH_GSS:
    case PGC_AUTH_SSPI:
        return a->data.n == 0 ? PGC_OK : PGC_ERR_PROTOCOL;
    case PGC_AUTH_MD5:
        return a->data.n == 4 ? PGC_OK : PGC_ERR_PROTOCOL;
    default:
        return PGC_OK;
    }
}

PgcStatus
pgc_parse_auth(PgcView body, PgcAuthMsg *out)
{
    PgcCur c = body_cur(body);
    PgcStatus st = pgc_cur_i32(&c, &out->code);

    if (st != PGC_OK) {
        return st;
    }
    out->data.p = c.p;
    out->data.n = pgc_cur_left(&c);
    return auth_check_data(out);
}

PgcStatus
pgc_parse_sasl_mech_next(PgcCur *c, PgcView *mech)
{
    PgcStatus st = pgc_cur_cstr(c, mech);

    if (st != PGC_OK) {
        return st;
    }
    return mech->n == 0 ? PGC_NEED_MORE : PGC_OK;
}

PgcStatus
pgc_parse_backend_key(PgcView body, int32_t *pid, int32_t *secret)
{
    PgcCur c = body_cur(body);
    PgcStatus st = pgc_cur_i32(&c, pid);

    if (st == PGC_OK) {
        st = pgc_cur_i32(&c, secret);
    }
    return parse_finish(&c, st);
}

PgcStatus
pgc_parse_param_status(PgcView body, PgcView *name, PgcView *value)
{
    PgcCur c = body_cur(body);
    PgcStatus st = pgc_cur_cstr(&c, name);

    if (st == PGC_OK) {
        st = pgc_cur_cstr(&c, value);
    }
    return parse_finish(&c, st);
}

PgcStatus
pgc_parse_ready(PgcView body, uint8_t *status)
{
    PgcCur c = body_cur(body);
    PgcStatus st = pgc_cur_u8(&c, status);

    if (st != PGC_OK) {
        return st;
    }
    switch (*status) {
    case PGC_TX_IDLE:
    case PGC_TX_INTRANS:
    case PGC_TX_INERROR:
        return pgc_parse_end(&c);
    default:
        return PGC_ERR_PROTOCOL;
    }
}

PgcStatus
pgc_parse_command_complete(PgcView body, PgcView *tag)
{
    PgcCur c = body_cur(body);

    return parse_finish(&c, pgc_cur_cstr(&c, tag));
}

PgcStatus
pgc_parse_notification(PgcView body, int32_t *pid, PgcView *channel,
                       PgcView *payload)
{
    PgcCur c = body_cur(body);
    PgcStatus st = pgc_cur_i32(&c, pid);

    if (st == PGC_OK) {
        st = pgc_cur_cstr(&c, channel);
    }
    if (st == PGC_OK) {
        st = pgc_cur_cstr(&c, payload);
    }
    return parse_finish(&c, st);
}

PgcStatus
pgc_parse_error_field_next(PgcCur *c, uint8_t *code, PgcView *value)
{
    PgcStatus st = pgc_cur_u8(c, code);

    if (st != PGC_OK) {
        return st; /* no terminating zero byte */
    }
    if (*code == 0) {
        return PGC_NEED_MORE;
    }
    return pgc_cur_cstr(c, value);
}

PgcStatus
pgc_parse_param_desc(PgcView body, uint16_t *count, uint32_t *oids, size_t max)
{
    PgcCur c = body_cur(body);
    PgcStatus st = cur_u16(&c, count);
    uint32_t oid = 0;
    size_t i;

    if (st != PGC_OK) {
        return st;
    }
    if (pgc_cur_left(&c) != (size_t)*count * 4u) {
        return PGC_ERR_PROTOCOL;
    }
    for (i = 0; i < *count; i++) {
        (void)pgc_cur_u32(&c, &oid); /* cannot fail: size checked */
        if (oids && i < max) {
            oids[i] = oid;
        }
    }
    return pgc_parse_end(&c);
}

PgcStatus
pgc_parse_row_desc_start(PgcView body, uint16_t *count, PgcCur *c)
{
    PgcStatus st;

    *c = body_cur(body);
    st = cur_u16(c, count);
    if (st != PGC_OK) {
        return st;
    }
    /* Each field takes at least its name's NUL plus the fixed part. */
    if (pgc_cur_left(c) / (PGC_FIELD_FIXED_LEN + 1u) < *count) {
        return PGC_ERR_PROTOCOL;
    }
    return PGC_OK;
}

PgcStatus
pgc_parse_row_desc_field(PgcCur *c, PgcField *out)
{
    const uint8_t *p;
    PgcStatus st = pgc_cur_cstr(c, &out->name);

    if (st != PGC_OK) {
        return st;
    }
    if (pgc_cur_left(c) < PGC_FIELD_FIXED_LEN) {
        return PGC_ERR_PROTOCOL;
    }
    p = c->p;
    out->table_oid = pgc_load_u32(p);
    out->column_attnum = (int16_t)pgc_load_u16(p + 4);
    out->type_oid = pgc_load_u32(p + 6);
    out->type_len = (int16_t)pgc_load_u16(p + 10);
    out->type_mod = (int32_t)pgc_load_u32(p + 12);
    out->format = (int16_t)pgc_load_u16(p + 16);
    c->p += PGC_FIELD_FIXED_LEN;
    if (out->format != PGC_FORMAT_TEXT && out->format != PGC_FORMAT_BINARY) {
        return PGC_ERR_PROTOCOL;
    }
    return PGC_OK;
}

PgcStatus
pgc_parse_data_row_count(PgcView body, uint16_t *ncols)
{
    PgcCur c = body_cur(body);
    PgcStatus st = cur_u16(&c, ncols);

    if (st != PGC_OK) {
        return st;
    }
    /* Each column takes at least its 4-byte length. */
    if (pgc_cur_left(&c) / 4u < *ncols) {
        return PGC_ERR_PROTOCOL;
    }
    return PGC_OK;
}

static PgcStatus
data_row_col(PgcCur *c, PgcCol *col)
{
    int32_t len = 0;
    PgcStatus st = pgc_cur_i32(c, &len);

    if (st != PGC_OK) {
        return st;
    }
    if (len < 0) {
        col->p = NULL;
        col->len = -1;
        return len == -1 ? PGC_OK : PGC_ERR_PROTOCOL;
    }
    if (pgc_cur_left(c) < (size_t)len) {
        return PGC_ERR_PROTOCOL;
    }
    col->p = c->p;
    col->len = len;
    c->p += len;
    return PGC_OK;
}

PgcStatus
pgc_parse_data_row(PgcView body, uint16_t ncols, PgcCol *cols)
{
    PgcCur c = body_cur(body);
    uint16_t n = 0;
    PgcStatus st = cur_u16(&c, &n);
    size_t i;

    if (st != PGC_OK) {
        return st;
    }
    if (n != ncols) {
        return PGC_ERR_PROTOCOL;
    }
    for (i = 0; i < n; i++) {
        st = data_row_col(&c, &cols[i]);
        if (st != PGC_OK) {
            return st;
        }
    }
    return pgc_parse_end(&c);
}

static int
format_ok(int16_t f)
{
    return f == PGC_FORMAT_TEXT || f == PGC_FORMAT_BINARY;
}

PgcStatus
pgc_parse_copy_response(PgcView body, uint8_t *overall_format, uint16_t *ncols,
                        PgcCur *formats)
{
    PgcCur c = body_cur(body);
    PgcCur walk;
    int16_t f = 0;
    PgcStatus st = pgc_cur_u8(&c, overall_format);

    if (st == PGC_OK) {
        st = cur_u16(&c, ncols);
    }
    if (st != PGC_OK) {
        return st;
    }
    if (!format_ok(*overall_format) ||
        pgc_cur_left(&c) != (size_t)*ncols * 2u) {
        return PGC_ERR_PROTOCOL;
    }
    walk = c;
    while (pgc_cur_i16(&walk, &f) == PGC_OK) {
        /* A textual copy has textual columns only. */
        if (!format_ok(f) || (*overall_format == PGC_FORMAT_TEXT && f)) {
            return PGC_ERR_PROTOCOL;
        }
    }
    *formats = c;
    return PGC_OK;
}

PgcStatus
pgc_parse_empty(PgcView body)
{
    return body.n == 0 ? PGC_OK : PGC_ERR_PROTOCOL;
}

PgcStatus
pgc_parse_negotiate_version(PgcView body, int32_t *minor, int32_t *nopts)
{
    PgcCur c = body_cur(body);
    PgcView opt;
    PgcStatus st = pgc_cur_i32(&c, minor);
    int32_t i;

    if (st == PGC_OK) {
        st = pgc_cur_i32(&c, nopts);
    }
    if (st != PGC_OK) {
        return st;
    }
    /* Each option name takes at least its NUL. */
    if (*minor < 0 || *nopts < 0 || pgc_cur_left(&c) < (size_t)*nopts) {
        return PGC_ERR_PROTOCOL;
    }
    for (i = 0; i < *nopts; i++) {
        st = pgc_cur_cstr(&c, &opt);
        if (st != PGC_OK) {
            return st;
        }
    }
    return pgc_parse_end(&c);
}
