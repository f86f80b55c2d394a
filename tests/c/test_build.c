/* test_build.c -- every builder, byte-exact against hand-written bytes,
 * and the "nothing left behind on error" rule. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define S(lit) ((PgcStr){(lit), sizeof(lit) - 1})

static void
test_build_untyped(void)
{
    PgcWBuf b;
    PgcStr names[2] = {S("user"), S("database")};
    PgcStr values[2] = {S("u"), S("d")};
    PgcStr bad[1] = {S("")};

    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_build_startup(&b, names, values, 2), PGC_OK);
    CHECK_BYTES(b.data, b.len, "\0\0\0\x1b\0\3\0\0user\0u\0database\0d\0\0");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_startup(&b, NULL, NULL, 0), PGC_OK);
    CHECK_BYTES(b.data, b.len, "\0\0\0\x09\0\3\0\0\0");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_ssl_request(&b), PGC_OK);
    CHECK_BYTES(b.data, b.len, "\0\0\0\x08\x04\xd2\x16\x2f");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_cancel_request(&b, 0x01020304, -1), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "\0\0\0\x10\x04\xd2\x16\x2e\x01\x02\x03\x04\xff\xff\xff\xff");
    /* Refusals leave the buffer as it was. */
    values[1] = (PgcStr){"a\0b", 3};
    CHECK_EQ(pgc_build_startup(&b, names, values, 2), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 16);
    CHECK_EQ(b.in_msg, 0);
    CHECK_EQ(pgc_build_startup(&b, bad, values, 1), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 16);
    pgc_wbuf_free(&b);
}

static void
test_build_auth(void)
{
    PgcWBuf b;

    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_build_password(&b, "pw", 2), PGC_OK);
    CHECK_BYTES(b.data, b.len, "p\0\0\0\x07pw\0");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_sasl_initial(&b, S("SCRAM-SHA-256"),
                                    (const uint8_t *)"n,,n=,r=abc", 11),
             PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "p\0\0\0\x21"
                "SCRAM-SHA-256\0\0\0\0\x0b"
                "n,,n=,r=abc");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_sasl_response(&b, (const uint8_t *)"c=biws", 6),
             PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "p\0\0\0\x0a"
                "c=biws");
    CHECK_EQ(pgc_build_password(&b, "p\0w", 3), PGC_ERR_LIMIT);
    CHECK_EQ(pgc_build_sasl_initial(&b, S("SCRAM\0"), NULL, 0), PGC_ERR_LIMIT);
    CHECK_EQ(pgc_build_sasl_initial(&b, S("X"), (const uint8_t *)"",
                                    (size_t)INT32_MAX + 1),
             PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 11);
    CHECK_EQ(b.in_msg, 0);
    pgc_wbuf_free(&b);
}

static void
test_build_extended(void)
{
    static const uint32_t oids[2] = {23, 0x12345678};
    PgcWBuf b;

    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_build_query(&b, S("SELECT 1")), PGC_OK);
    CHECK_BYTES(b.data, b.len, "Q\0\0\0\x0dSELECT 1\0");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_parse(&b, S("s1"), S("SELECT $1"), oids, 2), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "P\0\0\0\x1bs1\0SELECT $1\0\0\2\0\0\0\x17\x12\x34\x56\x78");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_parse(&b, S(""), S("BEGIN"), NULL, 0), PGC_OK);
    CHECK_BYTES(b.data, b.len, "P\0\0\0\x0d\0BEGIN\0\0\0");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_describe(&b, PGC_TARGET_STATEMENT, S("s1")), PGC_OK);
    CHECK_EQ(pgc_build_close(&b, PGC_TARGET_PORTAL, S("")), PGC_OK);
    CHECK_EQ(pgc_build_execute(&b, S(""), 0), PGC_OK);
    CHECK_EQ(pgc_build_execute(&b, S("p"), 100), PGC_OK);
    CHECK_EQ(pgc_build_sync(&b), PGC_OK);
    CHECK_EQ(pgc_build_flush(&b), PGC_OK);
    CHECK_EQ(pgc_build_terminate(&b), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "D\0\0\0\x08Ss1\0"
                "C\0\0\0\x06P\0"
                "E\0\0\0\x09\0\0\0\0\0"
                "E\0\0\0\x0ap\0\0\0\0\x64"
                "S\0\0\0\x04"
                "H\0\0\0\x04"
                "X\0\0\0\x04");
    CHECK_EQ(pgc_build_describe(&b, 0x51, S("s1")), PGC_ERR_STATE);
    CHECK_EQ(pgc_build_close(&b, 0, S("s1")), PGC_ERR_STATE);
    CHECK_EQ(pgc_build_query(&b, (PgcStr){"SELECT\0 1", 9}), PGC_ERR_LIMIT);
    CHECK_EQ(pgc_build_parse(&b, S("s\0"), S("x"), NULL, 0), PGC_ERR_LIMIT);
    CHECK_EQ(pgc_build_parse(&b, S("s"), S("x\0"), NULL, 0), PGC_ERR_LIMIT);
    CHECK_EQ(pgc_build_execute(&b, S("p\0"), 0), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 52);
    CHECK_EQ(b.in_msg, 0);
    pgc_wbuf_free(&b);
}

static void
test_build_bind(void)
{
    static const int16_t fmts[1] = {PGC_FORMAT_BINARY};
    static const int16_t two[2] = {PGC_FORMAT_BINARY, PGC_FORMAT_TEXT};
    PgcWBuf b;
    size_t off = 0;

    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_build_bind_null(&b), PGC_ERR_STATE);
    CHECK_EQ(pgc_build_bind_end(&b, 0, NULL), PGC_ERR_STATE);
    CHECK_EQ(pgc_build_bind_start(&b, S(""), S("s1"), 1, fmts, 2), PGC_OK);
    CHECK_EQ(pgc_wbuf_reserve_len(&b, &off), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_i32(&b, 42), PGC_OK);
    CHECK_EQ(pgc_wbuf_patch_len(&b, off), PGC_OK);
    CHECK_EQ(pgc_build_bind_null(&b), PGC_OK);
    CHECK_EQ(pgc_build_bind_end(&b, 1, fmts), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "B\0\0\0\x1e\0s1\0\0\1\0\1\0\2"
                "\0\0\0\4\0\0\0\x2a\xff\xff\xff\xff\0\1\0\1");
    pgc_wbuf_reset(&b);
    CHECK_EQ(pgc_build_bind_start(&b, S("p"), S(""), 2, two, 2), PGC_OK);
    CHECK_EQ(pgc_build_bind_null(&b), PGC_OK);
    CHECK_EQ(pgc_build_bind_null(&b), PGC_OK);
    CHECK_EQ(pgc_build_bind_end(&b, 0, NULL), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "B\0\0\0\x19p\0\0\0\2\0\1\0\0\0\2"
                "\xff\xff\xff\xff\xff\xff\xff\xff\0\0");
    /* nfmt must be 0, 1 or nparams. */
    CHECK_EQ(pgc_build_bind_start(&b, S(""), S(""), 2, two, 3), PGC_ERR_STATE);
    CHECK_EQ(pgc_build_bind_start(&b, S("a\0"), S(""), 0, NULL, 0),
             PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 26);
    CHECK_EQ(b.in_msg, 0);
    /* Truncating to the start of an open Bind closes it. */
    CHECK_EQ(pgc_build_bind_start(&b, S(""), S(""), 0, NULL, 1), PGC_OK);
    pgc_wbuf_truncate(&b, 26);
    CHECK_EQ(b.in_msg, 0);
    CHECK_EQ(pgc_build_sync(&b), PGC_OK);
    CHECK_EQ(b.len, 31);
    pgc_wbuf_free(&b);
}

static void
test_build_copy(void)
{
    PgcWBuf b;

    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_build_copy_data(&b, (const uint8_t *)"a\0c", 3), PGC_OK);
    CHECK_EQ(pgc_build_copy_done(&b), PGC_OK);
    CHECK_EQ(pgc_build_copy_fail(&b, S("oops")), PGC_OK);
    CHECK_EQ(pgc_build_copy_data(&b, NULL, 0), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "d\0\0\0\x07"
                "a\0c"
                "c\0\0\0\x04"
                "f\0\0\0\x09oops\0"
                "d\0\0\0\x04");
    CHECK_EQ(pgc_build_copy_fail(&b, S("o\0")), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 28);
    /* A builder while a message is open is misuse. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_COPY_DATA), PGC_OK);
    CHECK_EQ(pgc_build_sync(&b), PGC_ERR_STATE);
    CHECK_EQ(b.len, 33);
    CHECK_EQ(b.in_msg, PGC_WBUF_MSG_TYPED);
    pgc_wbuf_free(&b);
}

/* Out of memory in the middle of a builder: the buffer is unchanged. */
static void
test_build_oom(void)
{
    PgcWBuf b;
    char big[3000];

    memset(big, 'x', sizeof(big));
    talloc_install();
    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_build_sync(&b), PGC_OK);
    talloc_fail_after(0);
    CHECK_EQ(pgc_build_query(&b, (PgcStr){big, sizeof(big)}), PGC_ERR_NOMEM);
    CHECK_EQ(b.len, 5);
    CHECK_EQ(b.in_msg, 0);
    CHECK(b.data == b.small);
    talloc_fail_after(1);
    CHECK_EQ(pgc_build_query(&b, (PgcStr){big, 1500}), PGC_OK);
    CHECK(b.data != b.small);
    CHECK_EQ(pgc_build_copy_data(&b, (const uint8_t *)big, sizeof(big)),
             PGC_ERR_NOMEM); /* realloc of the heap buffer fails */
    CHECK_EQ(b.len, 5 + 1506);
    CHECK_BYTES(b.data, 5, "S\0\0\0\x04");
    /* A Bind whose result formats cannot be stored is removed whole. */
    {
        static int16_t fmts[2000];
        CHECK_EQ(pgc_build_bind_start(&b, (PgcStr){"", 0}, (PgcStr){"", 0}, 0,
                                      NULL, 0),
                 PGC_OK);
        CHECK_EQ(pgc_build_bind_end(&b, 2000, fmts), PGC_ERR_NOMEM);
        CHECK_EQ(b.len, 5 + 1506);
        CHECK_EQ(b.in_msg, 0);
    }
    talloc_fail_after(-1);
    pgc_wbuf_free(&b);
    talloc_uninstall();
}

void
test_build(void)
{
    test_build_untyped();
    test_build_auth();
    test_build_extended();
    test_build_bind();
    test_build_copy();
    test_build_oom();
}
