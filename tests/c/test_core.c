/* test_core.c -- unit tests of the protocol core (src/core), no Python.
 *
 * Usage: test_core                      run every test
 *        test_core --write-corpus DIR   write the fuzz seed corpus
 * Prints "core: N passed, M failed" and exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static struct {
    long passed;
    long failed;
} counts;

void
check_at(int ok, const char *expr, const char *file, int line)
{
    if (ok) {
        counts.passed++;
        return;
    }
    counts.failed++;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
}

void
check_long_at(long got, long want, const char *expr, const char *file,
              int line)
{
    check_at(got == want, expr, file, line);
    if (got != want) {
        fprintf(stderr, "    got %ld, want %ld\n", got, want);
    }
}

static void
print_bytes(const char *label, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    fprintf(stderr, "    %s (%zu):", label, n);
    for (i = 0; i < n && i < 96; i++) {
        fprintf(stderr, " %02x", (unsigned)b[i]);
    }
    fprintf(stderr, "%s\n", n > 96 ? " ..." : "");
}

void
check_mem_at(const void *got, size_t gotn, const void *want, size_t wantn,
             const char *expr, const char *file, int line)
{
    int ok = gotn == wantn && (gotn == 0 || memcmp(got, want, gotn) == 0);

    check_at(ok, expr, file, line);
    if (!ok) {
        print_bytes("got ", got, gotn);
        print_bytes("want", want, wantn);
    }
}

void
check_str_at(const char *got, const char *want, const char *expr,
             const char *file, int line)
{
    int ok = strcmp(got, want) == 0;

    check_at(ok, expr, file, line);
    if (!ok) {
        fprintf(stderr, "    got  \"%s\"\n    want \"%s\"\n", got, want);
    }
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        return write_corpus(argv[2]);
    }
    test_buf();
    test_frame();
    test_parse();
    test_build();
    test_auth();
    test_scram();
    test_startup();
    test_scram_cache();
    test_oom();
    test_conn();
    test_sqlscan();
    printf("core: %ld passed, %ld failed\n", counts.passed, counts.failed);
    return counts.failed ? 1 : 0;
}
