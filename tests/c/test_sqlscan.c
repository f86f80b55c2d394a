/* test_sqlscan.c -- the placeholder converter (src/core/pgc_sqlscan.c).
 *
 * Every conversion copies its input into a buffer of exactly its length
 * (no NUL after it), so ASan/valgrind see any read past the end, and is
 * repeated with an output buffer of exactly the output's length (must
 * succeed) and one byte shorter (must fail with ERR_SPACE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "../../src/core/pgc_sqlscan.h"

#define STD 0u
#define NOSTD PGC_SQLSCAN_NO_STD_STRINGS

static char *
exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (p != NULL && n > 0) {
        memcpy(p, s, n);
    }
    return p;
}

/* Convert, check the output, style and count; the names (comma-joined)
 * when want_names is not NULL. */
static void
conv_n(const char *in, size_t n, unsigned flags, const char *want,
       PgcSqlScanStyle style, long nparams, const char *want_names)
{
    char *src = exact_copy(in, n);
    size_t cap = pgc_sqlscan_out_bound(n);
    char *out = malloc(cap ? cap : 1);
    size_t ncap = pgc_sqlscan_names_bound(n);
    PgcSqlName *names = malloc((ncap ? ncap : 1) * sizeof(*names));
    PgcSqlScanResult res;
    PgcSqlScanStatus st = pgc_sqlscan_convert(src, n, flags, out, cap, names,
                                              ncap, &res);
    CHECK_EQ(st, PGC_SQLSCAN_OK);
    if (st != PGC_SQLSCAN_OK) {
        fprintf(stderr, "    input: %.*s\n    error at %zu: %s\n", (int)n, in,
                res.err_pos, res.err_msg);
    }
    CHECK_MEM(out, res.out_len, want, strlen(want));
    CHECK_EQ(res.style, style);
    CHECK_EQ(res.nparams, nparams);
    if (want_names != NULL) {
        char joined[512];
        size_t j = 0;
        for (uint32_t k = 0; k < res.nparams && j < sizeof(joined) - 2; k++) {
            int w = snprintf(joined + j, sizeof(joined) - j, "%s%.*s",
                             k ? "," : "", (int)names[k].len,
                             src + names[k].off);
            j += w > 0 ? (size_t)w : 0;
        }
        joined[j < sizeof(joined) ? j : sizeof(joined) - 1] = '\0';
        CHECK_STR(joined, want_names);
    }
    /* an exact output buffer works, one byte less does not */
    size_t olen = res.out_len;
    char *exact = malloc(olen ? olen : 1);
    st = pgc_sqlscan_convert(src, n, flags, exact, olen, names, ncap, &res);
    CHECK_EQ(st, PGC_SQLSCAN_OK);
    CHECK_MEM(exact, res.out_len, want, strlen(want));
    if (olen > 0) {
        st = pgc_sqlscan_convert(src, n, flags, exact, olen - 1, names, ncap,
                                 &res);
        CHECK_EQ(st, PGC_SQLSCAN_ERR_SPACE);
    }
    /* the allocating variant agrees */
    char *abuf;
    PgcSqlName *anames;
    st = pgc_sqlscan_convert_alloc(src, n, flags, &abuf, &anames, &res);
    CHECK_EQ(st, PGC_SQLSCAN_OK);
    if (st == PGC_SQLSCAN_OK) {
        CHECK_STR(abuf, want);
        free(abuf);
    }
    free(exact);
    free(names);
    free(out);
    free(src);
}

static void
conv(const char *in, unsigned flags, const char *want, PgcSqlScanStyle style,
     long nparams)
{
    conv_n(in, strlen(in), flags, want, style, nparams, NULL);
}

/* The same text with no placeholder: output = input (no "%%"). */
static void
same(const char *in, unsigned flags)
{
    conv(in, flags, in, PGC_SQLSCAN_NONE, 0);
}

static void
conv_err(const char *in, unsigned flags, PgcSqlScanStatus want, long pos)
{
    size_t n = strlen(in);
    char *src = exact_copy(in, n);
    char *abuf = (char *)1;
    PgcSqlName *anames;
    PgcSqlScanResult res;
    PgcSqlScanStatus st = pgc_sqlscan_convert_alloc(src, n, flags, &abuf,
                                                    &anames, &res);
    CHECK_EQ(st, want);
    CHECK_EQ(res.err_pos, pos);
    CHECK(res.err_msg[0] != '\0');
    CHECK(abuf == NULL);
    free(src);
}

static void
test_plain(void)
{
    same("", STD);
    same("SELECT 1", STD);
    same("SELECT $1::int, $2", STD);
    same("SELECT a::text FROM t WHERE b = $1", STD);
    conv("SELECT %s", STD, "SELECT $1", PGC_SQLSCAN_POSITIONAL, 1);
    conv("%s", STD, "$1", PGC_SQLSCAN_POSITIONAL, 1);
    conv("%s%s", STD, "$1$2", PGC_SQLSCAN_POSITIONAL, 2);
    conv("SELECT %s::int + %s::int", STD, "SELECT $1::int + $2::int",
         PGC_SQLSCAN_POSITIONAL, 2);
    conv("SELECT 10 %% 3", STD, "SELECT 10 % 3", PGC_SQLSCAN_NONE, 0);
    conv("%%%s%%", STD, "%$1%", PGC_SQLSCAN_POSITIONAL, 1);
    conv("%%", STD, "%", PGC_SQLSCAN_NONE, 0);
    conv("%%s", STD, "%s", PGC_SQLSCAN_NONE, 0);
    conv("a%%%%b", STD, "a%%b", PGC_SQLSCAN_NONE, 0);
}

static void
test_named(void)
{
    conv_n("SELECT %(a)s, %(b)s, %(a)s", strlen("SELECT %(a)s, %(b)s, %(a)s"),
           STD, "SELECT $1, $2, $1", PGC_SQLSCAN_NAMED, 2, "a,b");
    conv_n("%(x)s", strlen("%(x)s"), STD, "$1", PGC_SQLSCAN_NAMED, 1, "x");
    conv_n("%(long name with spaces)s = %(é)s",
           strlen("%(long name with spaces)s = %(é)s"), STD, "$1 = $2",
           PGC_SQLSCAN_NAMED, 2, "long name with spaces,é");
    conv_n("%(b)s %(a)s %(b)s %(c)s %(a)s",
           strlen("%(b)s %(a)s %(b)s %(c)s %(a)s"), STD, "$1 $2 $1 $3 $2",
           PGC_SQLSCAN_NAMED, 3, "b,a,c");
    conv_n("%(a)s %(ab)s %(a)s", strlen("%(a)s %(ab)s %(a)s"), STD, "$1 $2 $1",
           PGC_SQLSCAN_NAMED, 2, "a,ab");
    conv_n("%(a)s%%%(a)s", strlen("%(a)s%%%(a)s"), STD, "$1%$1",
           PGC_SQLSCAN_NAMED, 1, "a");
    /* a name may hold what psycopg allows: anything but ')' */
    conv_n("%(a's)s", strlen("%(a's)s"), STD, "$1", PGC_SQLSCAN_NAMED, 1,
           "a's");
}

static void
test_quotes(void)
{
    /* standard strings: % left alone, %% collapsed (psycopg) */
    conv("SELECT '%s', %s", STD, "SELECT '%s', $1", PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT '50%', %s", STD, "SELECT '50%', $1", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT 'a%%b'", STD, "SELECT 'a%b'", PGC_SQLSCAN_NONE, 0);
    conv("SELECT 'it''s %s', %s", STD, "SELECT 'it''s %s', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT '''%s'''", STD, "SELECT '''%s'''", PGC_SQLSCAN_NONE, 0);
    /* backslash is not special in a standard string... */
    conv("SELECT 'a\\', %s", STD, "SELECT 'a\\', $1", PGC_SQLSCAN_POSITIONAL,
         1);
    /* ...but is with standard_conforming_strings off */
    conv("SELECT 'a\\', %s'", NOSTD, "SELECT 'a\\', %s'", PGC_SQLSCAN_NONE, 0);
    conv("SELECT 'a\\\\', %s", NOSTD, "SELECT 'a\\\\', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    /* E'' and e'' */
    conv("SELECT E'a\\', %s', %s", STD, "SELECT E'a\\', %s', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT e'\\'%s', %s", STD, "SELECT e'\\'%s', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT E'''%s', %s", STD, "SELECT E'''%s', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    /* an identifier ending in E before a quote is not E'' */
    conv("SELECT typE'\\', %s", STD, "SELECT typE'\\', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    /* U&'' never treats backslash as an escape, not even with scs off */
    conv("SELECT U&'\\', %s", STD, "SELECT U&'\\', $1", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT u&'\\', %s", NOSTD, "SELECT u&'\\', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT U&'%s''%s', %s", STD, "SELECT U&'%s''%s', $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT 1 AS U&\"%s\", %s", STD, "SELECT 1 AS U&\"%s\", $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    /* B'', X'', N'' */
    conv("SELECT B'01', X'ff', N'%s', %s", STD,
         "SELECT B'01', X'ff', N'%s', $1", PGC_SQLSCAN_POSITIONAL, 1);
    /* quoted identifiers */
    conv("SELECT 1 AS \"%s\", %s", STD, "SELECT 1 AS \"%s\", $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT 1 AS \"a\"\"%s\", %s", STD, "SELECT 1 AS \"a\"\"%s\", $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT 1 AS \"a'\", %s", STD, "SELECT 1 AS \"a'\", $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT 1 AS \"a%%b\"", STD, "SELECT 1 AS \"a%b\"", PGC_SQLSCAN_NONE,
         0);
    /* a quote inside the other kind */
    conv("SELECT '\"', %s, '\"'", STD, "SELECT '\"', $1, '\"'",
         PGC_SQLSCAN_POSITIONAL, 1);
}

static void
test_dollar(void)
{
    conv("SELECT $$%s$$, %s", STD, "SELECT $$%s$$, $1", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT $a$ $$ %s $a$, %s", STD, "SELECT $a$ $$ %s $a$, $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT $_x1$ ' $_x1$, %s", STD, "SELECT $_x1$ ' $_x1$, $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT $tag$ $ta$ %s $tag$, %s", STD,
         "SELECT $tag$ $ta$ %s $tag$, $1", PGC_SQLSCAN_POSITIONAL, 1);
    /* tags are case-sensitive */
    conv("SELECT $a$ $A$ %s $a$, %s", STD, "SELECT $a$ $A$ %s $a$, $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    /* $1 is a parameter, not a tag; $1$ neither */
    conv("SELECT $1, %s, $2", STD, "SELECT $1, $1, $2", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT $1$ %s", STD, "SELECT $1$ $1", PGC_SQLSCAN_POSITIONAL, 1);
    /* a '$' inside an identifier opens nothing */
    conv("SELECT a$b$, %s", STD, "SELECT a$b$, $1", PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT a$$ %s", STD, "SELECT a$$ $1", PGC_SQLSCAN_POSITIONAL, 1);
    /* %% inside a dollar quote collapses, as elsewhere */
    conv("SELECT $f$ 10%% $f$", STD, "SELECT $f$ 10% $f$", PGC_SQLSCAN_NONE,
         0);
    /* a tag with a non-ASCII letter */
    conv("SELECT $é$ %s $é$, %s", STD, "SELECT $é$ %s $é$, $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    /* function body with quotes inside */
    conv("CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'x%s' "
         "$body$ LANGUAGE sql; SELECT %s",
         STD,
         "CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'x%s' "
         "$body$ LANGUAGE sql; SELECT $1",
         PGC_SQLSCAN_POSITIONAL, 1);
}

static void
test_comments(void)
{
    conv("SELECT %s -- %s and 50%\n, %s", STD, "SELECT $1 -- %s and 50%\n, $2",
         PGC_SQLSCAN_POSITIONAL, 2);
    conv("SELECT 1 -- no newline %s", STD, "SELECT 1 -- no newline %s",
         PGC_SQLSCAN_NONE, 0);
    conv("SELECT /* %s */ %s", STD, "SELECT /* %s */ $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT /* a /* nested %s */ still %s */ %s", STD,
         "SELECT /* a /* nested %s */ still %s */ $1", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT /* ' */ %s /* \" */", STD, "SELECT /* ' */ $1 /* \" */",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT 1 - -1, %s", STD, "SELECT 1 - -1, $1", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT 4 / 2, %s", STD, "SELECT 4 / 2, $1", PGC_SQLSCAN_POSITIONAL,
         1);
    conv("SELECT '--', %s", STD, "SELECT '--', $1", PGC_SQLSCAN_POSITIONAL, 1);
    conv("SELECT '/*', %s", STD, "SELECT '/*', $1", PGC_SQLSCAN_POSITIONAL, 1);
    conv("-- 100%%\nSELECT %s", STD, "-- 100%\nSELECT $1",
         PGC_SQLSCAN_POSITIONAL, 1);
    conv("/**/%s/*/ %s */", STD, "/**/$1/*/ %s */", PGC_SQLSCAN_POSITIONAL, 1);
}

static void
test_unterminated(void)
{
    /* the rest of the text is opaque; the server reports the error */
    same("SELECT '%s", STD);
    same("SELECT \"%s", STD);
    same("SELECT E'\\", STD);
    same("SELECT E'", STD);
    same("SELECT '", STD);
    same("SELECT 'a\\", NOSTD);
    same("SELECT $$ %s", STD);
    same("SELECT $a$ %s $a", STD);
    same("SELECT /* %s", STD);
    same("SELECT /* /* */ %s", STD);
    same("SELECT -- %s", STD);
    same("SELECT U&'", STD);
    /* almost-openings at the very end */
    same("SELECT E", STD);
    same("SELECT U", STD);
    same("SELECT U&", STD);
    same("SELECT $", STD);
    same("SELECT $a", STD);
    same("SELECT -", STD);
    same("SELECT /", STD);
    same("SELECT *", STD);
}

static void
test_errors(void)
{
    conv_err("SELECT %", STD, PGC_SQLSCAN_ERR_PERCENT, 7);
    conv_err("SELECT %d", STD, PGC_SQLSCAN_ERR_PERCENT, 7);
    conv_err("SELECT 10 % 3", STD, PGC_SQLSCAN_ERR_PERCENT, 10);
    conv_err("SELECT '%', %s, %x", STD, PGC_SQLSCAN_ERR_PERCENT, 16);
    conv_err("SELECT %s, %(a)s", STD, PGC_SQLSCAN_ERR_MIXED, 11);
    conv_err("SELECT %(a)s, %s", STD, PGC_SQLSCAN_ERR_MIXED, 14);
    conv_err("SELECT %(a", STD, PGC_SQLSCAN_ERR_NAME, 7);
    conv_err("SELECT %(a)", STD, PGC_SQLSCAN_ERR_NAME, 7);
    conv_err("SELECT %(a)d", STD, PGC_SQLSCAN_ERR_NAME, 7);
    conv_err("SELECT %()s", STD, PGC_SQLSCAN_ERR_NAME, 7);
    conv_err("SELECT %(", STD, PGC_SQLSCAN_ERR_NAME, 7);
    conv_err("%", STD, PGC_SQLSCAN_ERR_PERCENT, 0);
    conv_err("%%%", STD, PGC_SQLSCAN_ERR_PERCENT, 2);
    /* the position counts bytes, quotes skipped before it */
    conv_err("SELECT 'é' || %t", STD, PGC_SQLSCAN_ERR_PERCENT, 15);
}

static void
test_limits(void)
{
    /* 65535 positional placeholders fit, one more does not */
    size_t k = 65536;
    char *q = malloc(2 * k);
    for (size_t i = 0; i < k; i++) {
        q[2 * i] = '%';
        q[2 * i + 1] = 's';
    }
    char *out;
    PgcSqlName *names;
    PgcSqlScanResult res;
    CHECK_EQ(pgc_sqlscan_convert_alloc(q, 2 * (k - 1), STD, &out, &names,
                                       &res),
             PGC_SQLSCAN_OK);
    CHECK_EQ(res.nparams, 65535);
    if (out != NULL) {
        CHECK(res.out_len > 6 &&
              memcmp(out + res.out_len - 6, "$65535", 6) == 0);
        free(out);
    }
    CHECK_EQ(pgc_sqlscan_convert_alloc(q, 2 * k, STD, &out, &names, &res),
             PGC_SQLSCAN_ERR_TOO_MANY);
    CHECK_EQ(res.err_pos, 2 * (k - 1));
    free(q);

    /* names: a too-small names array is ERR_SPACE, not an overflow */
    PgcSqlName one[1];
    char buf[64];
    CHECK_EQ(pgc_sqlscan_convert("%(a)s %(b)s", 11, STD, buf, sizeof(buf), one,
                                 1, &res),
             PGC_SQLSCAN_ERR_SPACE);
    CHECK_EQ(pgc_sqlscan_convert("%(a)s %(a)s", 11, STD, buf, sizeof(buf), one,
                                 1, &res),
             PGC_SQLSCAN_OK);
    CHECK_EQ(pgc_sqlscan_convert("%(a)s", 5, STD, buf, sizeof(buf), NULL, 0,
                                 &res),
             PGC_SQLSCAN_ERR_SPACE);
    /* no output buffer at all: only an empty output fits */
    CHECK_EQ(pgc_sqlscan_convert("", 0, STD, NULL, 0, NULL, 0, &res),
             PGC_SQLSCAN_OK);
    CHECK_EQ(pgc_sqlscan_convert("x", 1, STD, NULL, 0, NULL, 0, &res),
             PGC_SQLSCAN_ERR_SPACE);
    /* an embedded NUL is just a byte */
    CHECK_EQ(pgc_sqlscan_convert("a\0%s", 4, STD, buf, sizeof(buf), NULL, 0,
                                 &res),
             PGC_SQLSCAN_OK);
    CHECK_BYTES(buf, res.out_len, "a\0$1");
    CHECK_EQ(pgc_sqlscan_out_bound(SIZE_MAX), SIZE_MAX);
    CHECK_EQ(pgc_sqlscan_names_bound(5), 1);

    /* the allocating variant under a failing allocator */
    talloc_install();
    talloc_fail_after(0);
    out = (char *)1;
    CHECK_EQ(pgc_sqlscan_convert_alloc("%s", 2, STD, &out, &names, &res),
             PGC_SQLSCAN_ERR_NOMEM);
    CHECK(out == NULL);
    talloc_fail_after(-1);
    talloc_uninstall();
}

static void
test_has_percent(void)
{
    CHECK_EQ(pgc_sqlscan_has_percent("SELECT %s", 9, STD), 1);
    CHECK_EQ(pgc_sqlscan_has_percent("SELECT '%s'", 11, STD), 0);
    CHECK_EQ(pgc_sqlscan_has_percent("SELECT $1 -- %s", 15, STD), 0);
    CHECK_EQ(pgc_sqlscan_has_percent("SELECT 'a\\' %s'", 15, NOSTD), 0);
    CHECK_EQ(pgc_sqlscan_has_percent("SELECT 'a\\' %s'", 15, STD), 1);
    CHECK_EQ(pgc_sqlscan_has_percent("", 0, STD), 0);
}

void
test_sqlscan(void)
{
    test_plain();
    test_named();
    test_quotes();
    test_dollar();
    test_comments();
    test_unterminated();
    test_errors();
    test_limits();
    test_has_percent();
}
