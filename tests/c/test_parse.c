/* test_parse.c -- every parser on good and bad input. */
#include <string.h>

#include "test_util.h"

/* A view over a string literal of body bytes (embedded NULs allowed). */
#define V(lit) ((PgcView){(const uint8_t *)(lit), sizeof(lit) - 1})

static void
test_parse_auth(void)
{
    PgcAuthMsg a;
    PgcCur c;
    PgcView m;

    CHECK_EQ(pgc_parse_auth(V("\0\0\0\0"), &a), PGC_OK);
    CHECK_EQ(a.code, PGC_AUTH_OK);
    CHECK_EQ(a.data.n, 0);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\0\0"), &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0"), &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_auth((PgcView){NULL, 0}, &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\3"), &a), PGC_OK);
    CHECK_EQ(a.code, PGC_AUTH_CLEARTEXT);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\5\1\2\3\4"), &a), PGC_OK);
    CHECK_EQ(a.code, PGC_AUTH_MD5);
    CHECK_BYTES(a.data.p, a.data.n, "\1\2\3\4");
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\5\1\2\3"), &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\5\1\2\3\4\5"), &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\7x"), &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\x63whatever"), &a), PGC_OK);
    /* SASL mechanism list. */
    CHECK_EQ(pgc_parse_auth(V("\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0"
                              "\0"),
                            &a),
             PGC_OK);
    CHECK_EQ(a.code, PGC_AUTH_SASL);
    c = pgc_cur_make(a.data.p, a.data.n);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_OK);
    CHECK_MEM(m.p, m.n, "SCRAM-SHA-256-PLUS", 18);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_OK);
    CHECK_MEM(m.p, m.n, "SCRAM-SHA-256", 13);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_NEED_MORE);
    CHECK_EQ(pgc_parse_end(&c), PGC_OK);
    /* No terminator / unterminated name / bytes after the terminator. */
    c = pgc_cur_make((const uint8_t *)"A\0", 2);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_OK);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_ERR_PROTOCOL);
    c = pgc_cur_make((const uint8_t *)"AB", 2);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_ERR_PROTOCOL);
    c = pgc_cur_make((const uint8_t *)"\0x", 2);
    CHECK_EQ(pgc_parse_sasl_mech_next(&c, &m), PGC_NEED_MORE);
    CHECK_EQ(pgc_parse_end(&c), PGC_ERR_PROTOCOL);
}

static void
test_parse_simple(void)
{
    int32_t pid = 0, key = 0;
    PgcView a, b;
    uint8_t st = 0;
    uint8_t z[2] = {PGC_TX_INERROR, 0};

    CHECK_EQ(pgc_parse_backend_key(V("\0\0\1\0\xff\xff\xff\xfe"), &pid, &key),
             PGC_OK);
    CHECK_EQ(pid, 256);
    CHECK_EQ(key, -2);
    CHECK_EQ(pgc_parse_backend_key(V("\0\0\1\0\xff\xff\xff"), &pid, &key),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_backend_key(V("\0\0\1\0\xff\xff\xff\xfe\0"), &pid,
                                   &key),
             PGC_ERR_PROTOCOL);

    CHECK_EQ(pgc_parse_param_status(V("TimeZone\0UTC\0"), &a, &b), PGC_OK);
    CHECK_MEM(a.p, a.n, "TimeZone", 8);
    CHECK_MEM(b.p, b.n, "UTC", 3);
    CHECK_EQ(pgc_parse_param_status(V("TimeZone\0UTC"), &a, &b),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_param_status(V("TimeZone\0"), &a, &b),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_param_status(V("a\0b\0c"), &a, &b), PGC_ERR_PROTOCOL);

    CHECK_EQ(pgc_parse_ready((PgcView){z, 1}, &st), PGC_OK);
    CHECK_EQ(st, PGC_TX_INERROR);
    z[0] = PGC_TX_IDLE;
    CHECK_EQ(pgc_parse_ready((PgcView){z, 1}, &st), PGC_OK);
    z[0] = PGC_TX_INTRANS;
    CHECK_EQ(pgc_parse_ready((PgcView){z, 1}, &st), PGC_OK);
    CHECK_EQ(pgc_parse_ready((PgcView){z, 2}, &st), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_ready((PgcView){z, 0}, &st), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_ready(V("X"), &st), PGC_ERR_PROTOCOL);

    CHECK_EQ(pgc_parse_command_complete(V("SELECT 3\0"), &a), PGC_OK);
    CHECK_MEM(a.p, a.n, "SELECT 3", 8);
    CHECK_EQ(pgc_parse_command_complete(V("SELECT 3"), &a), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_command_complete(V("SELECT 3\0\0"), &a),
             PGC_ERR_PROTOCOL);

    CHECK_EQ(pgc_parse_notification(V("\0\0\0\x09"
                                      "ch\0pay\0"),
                                    &pid, &a, &b),
             PGC_OK);
    CHECK_EQ(pid, 9);
    CHECK_MEM(a.p, a.n, "ch", 2);
    CHECK_MEM(b.p, b.n, "pay", 3);
    CHECK_EQ(pgc_parse_notification(V("\0\0\0\x09"
                                      "ch\0pay"),
                                    &pid, &a, &b),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_notification(V("\0\0\0"), &pid, &a, &b),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_notification(V("\0\0\0\x09"
                                      "ch\0pay\0!"),
                                    &pid, &a, &b),
             PGC_ERR_PROTOCOL);

    CHECK_EQ(pgc_parse_empty(V("")), PGC_OK);
    CHECK_EQ(pgc_parse_empty((PgcView){NULL, 0}), PGC_OK);
    CHECK_EQ(pgc_parse_empty(V("x")), PGC_ERR_PROTOCOL);
}

static void
test_parse_error_fields(void)
{
    PgcView body = V("SERROR\0C42601\0Msyntax error\0\0");
    PgcCur c = pgc_cur_make(body.p, body.n);
    uint8_t code = 0;
    PgcView v;

    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_OK);
    CHECK_EQ(code, PGC_FIELD_SEVERITY);
    CHECK_MEM(v.p, v.n, "ERROR", 5);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_OK);
    CHECK_EQ(code, PGC_FIELD_SQLSTATE);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_OK);
    CHECK_EQ(code, PGC_FIELD_MESSAGE);
    CHECK_MEM(v.p, v.n, "syntax error", 12);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_NEED_MORE);
    CHECK_EQ(pgc_parse_end(&c), PGC_OK);
    /* No terminating zero. */
    c = pgc_cur_make((const uint8_t *)"SERROR\0", 7);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_OK);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_ERR_PROTOCOL);
    /* Unterminated value. */
    c = pgc_cur_make((const uint8_t *)"SERROR", 6);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_ERR_PROTOCOL);
    /* A code with no value at all. */
    c = pgc_cur_make((const uint8_t *)"S", 1);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_ERR_PROTOCOL);
    /* Bytes after the terminator. */
    c = pgc_cur_make((const uint8_t *)"\0S", 2);
    CHECK_EQ(pgc_parse_error_field_next(&c, &code, &v), PGC_NEED_MORE);
    CHECK_EQ(pgc_parse_end(&c), PGC_ERR_PROTOCOL);
}

static void
test_parse_param_desc(void)
{
    uint32_t oids[2] = {0, 0};
    uint16_t n = 0;

    CHECK_EQ(pgc_parse_param_desc(V("\0\3\0\0\0\x17\0\0\0\x19\0\0\x0b\xb8"),
                                  &n, oids, 2),
             PGC_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(oids[0], 23);
    CHECK_EQ(oids[1], 25);
    CHECK_EQ(pgc_parse_param_desc(V("\0\0"), &n, NULL, 0), PGC_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(pgc_parse_param_desc(V("\0\2\0\0\0\x17"), &n, NULL, 0),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_param_desc(V("\0\1\0\0\0\x17\0"), &n, NULL, 0),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_param_desc(V("\xff\xff"), &n, NULL, 0),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_param_desc(V("\0"), &n, NULL, 0), PGC_ERR_PROTOCOL);
}

#define FIELD_ID "id\0\0\0\x40\0\0\1\0\0\0\x17\0\4\xff\xff\xff\xff\0\1"

static void
test_parse_row_desc(void)
{
    PgcCur c;
    PgcField f;
    uint16_t n = 0;

    CHECK_EQ(pgc_parse_row_desc_start(V("\0\1" FIELD_ID), &n, &c), PGC_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(pgc_parse_row_desc_field(&c, &f), PGC_OK);
    CHECK_MEM(f.name.p, f.name.n, "id", 2);
    CHECK_EQ(f.table_oid, 0x4000);
    CHECK_EQ(f.column_attnum, 1);
    CHECK_EQ(f.type_oid, 23);
    CHECK_EQ(f.type_len, 4);
    CHECK_EQ(f.type_mod, -1);
    CHECK_EQ(f.format, PGC_FORMAT_BINARY);
    CHECK_EQ(pgc_parse_end(&c), PGC_OK);
    CHECK_EQ(pgc_parse_row_desc_start(V("\0\0"), &n, &c), PGC_OK);
    CHECK_EQ(pgc_parse_end(&c), PGC_OK);
    /* A count the body cannot hold is refused before any field. */
    CHECK_EQ(pgc_parse_row_desc_start(V("\0\2" FIELD_ID), &n, &c),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_row_desc_start(V("\xff\xff"), &n, &c),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_row_desc_start(V("\0"), &n, &c), PGC_ERR_PROTOCOL);
    /* Truncated fixed part (the count check passes: a long name). */
    CHECK_EQ(pgc_parse_row_desc_start(V("\0\1"
                                        "abcdefghijklmnopqrs\0\0"),
                                      &n, &c),
             PGC_OK);
    CHECK_EQ(pgc_parse_row_desc_field(&c, &f), PGC_ERR_PROTOCOL);
    /* Unterminated name. */
    CHECK_EQ(pgc_parse_row_desc_start(V("\0\1"
                                        "abcdefghijklmnopqrstu"),
                                      &n, &c),
             PGC_OK);
    CHECK_EQ(pgc_parse_row_desc_field(&c, &f), PGC_ERR_PROTOCOL);
    /* Bad format code. */
    CHECK_EQ(pgc_parse_row_desc_start(
                 V("\0\1"
                   "id\0\0\0\x40\0\0\1\0\0\0\x17\0\4\xff\xff\xff\xff"
                   "\0\2"),
                 &n, &c),
             PGC_OK);
    CHECK_EQ(pgc_parse_row_desc_field(&c, &f), PGC_ERR_PROTOCOL);
    /* A trailing byte. */
    CHECK_EQ(pgc_parse_row_desc_start(V("\0\1" FIELD_ID "\0"), &n, &c),
             PGC_OK);
    CHECK_EQ(pgc_parse_row_desc_field(&c, &f), PGC_OK);
    CHECK_EQ(pgc_parse_end(&c), PGC_ERR_PROTOCOL);
}

static void
test_parse_data_row(void)
{
    PgcView row = V("\0\3\0\0\0\2hi\xff\xff\xff\xff\0\0\0\0");
    PgcCol cols[3];
    uint16_t n = 0;

    CHECK_EQ(pgc_parse_data_row_count(row, &n), PGC_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(pgc_parse_data_row(row, 3, cols), PGC_OK);
    CHECK_MEM(cols[0].p, (size_t)cols[0].len, "hi", 2);
    CHECK_EQ(cols[1].len, -1);
    CHECK(cols[1].p == NULL);
    CHECK_EQ(cols[2].len, 0);
    CHECK_EQ(pgc_parse_data_row(row, 2, cols), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_data_row(row, 4, cols), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_data_row(V("\0\0"), 0, NULL), PGC_OK);
    CHECK_EQ(pgc_parse_data_row(V("\0"), 0, NULL), PGC_ERR_PROTOCOL);
    /* Length below -1. */
    CHECK_EQ(pgc_parse_data_row(V("\0\1\xff\xff\xff\xfe"), 1, cols),
             PGC_ERR_PROTOCOL);
    /* Length beyond the body. */
    CHECK_EQ(pgc_parse_data_row(V("\0\1\0\0\0\3hi"), 1, cols),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_data_row(V("\0\1\x7f\xff\xff\xffhi"), 1, cols),
             PGC_ERR_PROTOCOL);
    /* Truncated length. */
    CHECK_EQ(pgc_parse_data_row(V("\0\1\0\0\0"), 1, cols), PGC_ERR_PROTOCOL);
    /* A trailing byte. */
    CHECK_EQ(pgc_parse_data_row(V("\0\1\0\0\0\2hi!"), 1, cols),
             PGC_ERR_PROTOCOL);
    /* A count the body cannot hold. */
    CHECK_EQ(pgc_parse_data_row_count(V("\xff\xff\0\0\0\0"), &n),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_data_row_count(V("\0"), &n), PGC_ERR_PROTOCOL);
}

static void
test_parse_copy_and_version(void)
{
    uint8_t fmt = 0;
    uint16_t n = 0;
    int16_t f = 0;
    int32_t minor = 0, nopts = 0;
    PgcCur c;

    CHECK_EQ(pgc_parse_copy_response(V("\1\0\2\0\1\0\0"), &fmt, &n, &c),
             PGC_OK);
    CHECK_EQ(fmt, 1);
    CHECK_EQ(n, 2);
    CHECK_EQ(pgc_cur_i16(&c, &f), PGC_OK);
    CHECK_EQ(f, 1);
    CHECK_EQ(pgc_parse_copy_response(V("\0\0\1\0\0"), &fmt, &n, &c), PGC_OK);
    CHECK_EQ(pgc_parse_copy_response(V("\0\0\1\0\1"), &fmt, &n, &c),
             PGC_ERR_PROTOCOL); /* textual copy, binary column */
    CHECK_EQ(pgc_parse_copy_response(V("\2\0\0"), &fmt, &n, &c),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_copy_response(V("\1\0\1\0\2"), &fmt, &n, &c),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_copy_response(V("\1\0\2\0\1"), &fmt, &n, &c),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_copy_response(V("\1\0"), &fmt, &n, &c),
             PGC_ERR_PROTOCOL);

    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\0\0\0\0\2_pq_.a\0_pq_.b\0"),
                                         &minor, &nopts),
             PGC_OK);
    CHECK_EQ(nopts, 2);
    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\1\0\0\0\0"), &minor,
                                         &nopts),
             PGC_OK);
    CHECK_EQ(minor, 1);
    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\0\xff\xff\xff\xff"), &minor,
                                         &nopts),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\0\x7f\xff\xff\xff"
                                           "a\0"),
                                         &minor, &nopts),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\0\0\0\0\2"
                                           "a\0b"),
                                         &minor, &nopts),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\0\0\0\0\1"
                                           "a\0b\0"),
                                         &minor, &nopts),
             PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_parse_negotiate_version(V("\0\0\0\0\0\0"), &minor, &nopts),
             PGC_ERR_PROTOCOL);
}

void
test_parse(void)
{
    test_parse_auth();
    test_parse_simple();
    test_parse_error_fields();
    test_parse_param_desc();
    test_parse_row_desc();
    test_parse_data_row();
    test_parse_copy_and_version();
}
