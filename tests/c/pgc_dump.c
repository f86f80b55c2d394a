/* pgc_dump.c -- see pgc_dump.h. */
#include <stdio.h>
#include <stdlib.h>

#include "pgc_dump.h"
#include "../../src/core/pgc_msg.h"
#include "../../src/core/pgc_parse.h"

void
dump_text_init(DumpText *t)
{
    t->p = NULL;
    t->len = 0;
    t->cap = 0;
}

void
dump_text_free(DumpText *t)
{
    free(t->p);
    dump_text_init(t);
}

void
dump_text_add(DumpText *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        char *p;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        p = realloc(t->p, cap);
        if (!p) {
            abort();
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

void
dump_text_str(DumpText *t, const char *s)
{
    dump_text_add(t, s, strlen(s));
}

static void
dump_fmt_long(DumpText *t, const char *label, long v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), " %s=%ld", label, v);

    dump_text_add(t, tmp, (size_t)n);
}

void
dump_text_view(DumpText *t, const uint8_t *p, size_t n)
{
    size_t i;
    char tmp[8];

    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            dump_text_add(t, (const char *)p + i, 1);
        }
        else {
            snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned)p[i]);
            dump_text_add(t, tmp, 4);
        }
    }
}

static void
dump_view(DumpText *t, PgcView v)
{
    dump_text_str(t, " '");
    dump_text_view(t, v.p, v.n);
    dump_text_str(t, "'");
}

static PgcStatus
dump_auth(PgcView body, DumpText *t)
{
    PgcAuthMsg a;
    PgcCur c;
    PgcView mech;
    PgcStatus st = pgc_parse_auth(body, &a);

    if (st != PGC_OK) {
        return st;
    }
    dump_fmt_long(t, "code", a.code);
    if (a.code != PGC_AUTH_SASL) {
        dump_view(t, a.data);
        return PGC_OK;
    }
    c = pgc_cur_make(a.data.p, a.data.n);
    while ((st = pgc_parse_sasl_mech_next(&c, &mech)) == PGC_OK) {
        dump_view(t, mech);
    }
    if (st != PGC_NEED_MORE) {
        return st;
    }
    return pgc_parse_end(&c);
}

static PgcStatus
dump_fields(PgcView body, DumpText *t)
{
    PgcCur c = pgc_cur_make(body.p, body.n);
    uint8_t code = 0;
    PgcView v;
    PgcStatus st;
    char tmp[4];

    while ((st = pgc_parse_error_field_next(&c, &code, &v)) == PGC_OK) {
        snprintf(tmp, sizeof(tmp),
                 " %c=", code >= 0x20 && code < 0x7f ? (char)code : '?');
        dump_text_add(t, tmp, 3);
        dump_text_view(t, v.p, v.n);
    }
    if (st != PGC_NEED_MORE) {
        return st;
    }
    return pgc_parse_end(&c);
}

static PgcStatus
dump_row_desc(PgcView body, DumpText *t)
{
    uint16_t n = 0, i;
    PgcCur c;
    PgcField f;
    PgcStatus st = pgc_parse_row_desc_start(body, &n, &c);

    if (st != PGC_OK) {
        return st;
    }
    dump_fmt_long(t, "n", n);
    for (i = 0; i < n; i++) {
        st = pgc_parse_row_desc_field(&c, &f);
        if (st != PGC_OK) {
            return st;
        }
        dump_view(t, f.name);
        dump_fmt_long(t, "tab", (long)f.table_oid);
        dump_fmt_long(t, "att", f.column_attnum);
        dump_fmt_long(t, "oid", (long)f.type_oid);
        dump_fmt_long(t, "len", f.type_len);
        dump_fmt_long(t, "mod", f.type_mod);
        dump_fmt_long(t, "fmt", f.format);
    }
    return pgc_parse_end(&c);
}

static PgcStatus
dump_data_row(PgcView body, DumpText *t)
{
    uint16_t n = 0, i;
    PgcCol *cols;
    PgcStatus st = pgc_parse_data_row_count(body, &n);

    if (st != PGC_OK) {
        return st;
    }
    cols = malloc(((size_t)n + 1) * sizeof(*cols));
    if (!cols) {
        abort();
    }
    st = pgc_parse_data_row(body, n, cols);
    if (st == PGC_OK && n > 0) {
        /* A different count must be refused. */
        if (pgc_parse_data_row(body, (uint16_t)(n - 1), cols) == PGC_OK) {
            abort();
        }
        st = pgc_parse_data_row(body, n, cols);
    }
    dump_fmt_long(t, "n", n);
    for (i = 0; st == PGC_OK && i < n; i++) {
        if (cols[i].len < 0) {
            dump_text_str(t, " NULL");
            continue;
        }
        dump_view(t, (PgcView){cols[i].p, (size_t)cols[i].len});
    }
    free(cols);
    return st;
}

static PgcStatus
dump_param_desc(PgcView body, DumpText *t)
{
    uint32_t oids[4];
    uint16_t n = 0, i;
    PgcStatus st = pgc_parse_param_desc(body, &n, oids, 4);

    if (st != PGC_OK) {
        return st;
    }
    dump_fmt_long(t, "n", n);
    for (i = 0; i < n && i < 4; i++) {
        dump_fmt_long(t, "oid", (long)oids[i]);
    }
    return PGC_OK;
}

static PgcStatus
dump_copy(PgcView body, DumpText *t)
{
    uint8_t fmt = 0;
    uint16_t n = 0;
    int16_t f = 0;
    PgcCur c;
    PgcStatus st = pgc_parse_copy_response(body, &fmt, &n, &c);

    if (st != PGC_OK) {
        return st;
    }
    dump_fmt_long(t, "fmt", fmt);
    dump_fmt_long(t, "n", n);
    while (pgc_cur_i16(&c, &f) == PGC_OK) {
        dump_fmt_long(t, "f", f);
    }
    return PGC_OK;
}

static PgcStatus
dump_small(const PgcMsg *m, DumpText *t)
{
    PgcView a, b;
    int32_t x = 0, y = 0;
    uint8_t z = 0;
    PgcStatus st;

    switch (m->type) {
    case PGC_MSG_BACKEND_KEY:
        st = pgc_parse_backend_key(m->body, &x, &y);
        dump_fmt_long(t, "pid", x);
        dump_fmt_long(t, "key", y);
        return st;
    case PGC_MSG_PARAM_STATUS:
        st = pgc_parse_param_status(m->body, &a, &b);
        if (st == PGC_OK) {
            dump_view(t, a);
            dump_view(t, b);
        }
        return st;
    case PGC_MSG_READY:
        st = pgc_parse_ready(m->body, &z);
        dump_fmt_long(t, "tx", z);
        return st;
    case PGC_MSG_COMMAND_COMPLETE:
        st = pgc_parse_command_complete(m->body, &a);
        if (st == PGC_OK) {
            dump_view(t, a);
        }
        return st;
    case PGC_MSG_NOTIFICATION:
        st = pgc_parse_notification(m->body, &x, &a, &b);
        if (st == PGC_OK) {
            dump_fmt_long(t, "pid", x);
            dump_view(t, a);
            dump_view(t, b);
        }
        return st;
    case PGC_MSG_NEGOTIATE_VERSION:
        st = pgc_parse_negotiate_version(m->body, &x, &y);
        dump_fmt_long(t, "minor", x);
        dump_fmt_long(t, "nopts", y);
        return st;
    default:
        dump_fmt_long(t, "len", (long)m->body.n);
        return PGC_OK;
    }
}

static PgcStatus
dump_dispatch(const PgcMsg *m, DumpText *t)
{
    switch (m->type) {
    case PGC_MSG_AUTH:
        return dump_auth(m->body, t);
    case PGC_MSG_ERROR:
    case PGC_MSG_NOTICE:
        return dump_fields(m->body, t);
    case PGC_MSG_ROW_DESCRIPTION:
        return dump_row_desc(m->body, t);
    case PGC_MSG_DATA_ROW:
        return dump_data_row(m->body, t);
    case PGC_MSG_PARAM_DESCRIPTION:
        return dump_param_desc(m->body, t);
    case PGC_MSG_COPY_IN_RESPONSE:
    case PGC_MSG_COPY_OUT_RESPONSE:
    case PGC_MSG_COPY_BOTH_RESPONSE:
        return dump_copy(m->body, t);
    case PGC_MSG_PARSE_COMPLETE:
    case PGC_MSG_BIND_COMPLETE:
    case PGC_MSG_CLOSE_COMPLETE:
    case PGC_MSG_NO_DATA:
    case PGC_MSG_EMPTY_QUERY:
    case PGC_MSG_PORTAL_SUSPENDED:
    case PGC_MSG_COPY_DONE:
        return pgc_parse_empty(m->body);
    default:
        return dump_small(m, t);
    }
}

PgcStatus
pgc_dump_msg(const PgcMsg *m, DumpText *t)
{
    char head[8];
    PgcStatus st;

    snprintf(head, sizeof(head), "%c",
             m->type >= 0x20 && m->type < 0x7f ? (char)m->type : '?');
    dump_text_str(t, head);
    st = dump_dispatch(m, t);
    dump_text_str(t, st == PGC_OK ? "\n" : " !err\n");
    return st;
}
