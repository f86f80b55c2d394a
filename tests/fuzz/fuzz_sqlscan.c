/* fuzz_sqlscan.c -- libFuzzer target for the placeholder converter
 * (src/core/pgc_sqlscan.c).
 *
 * Input layout: the first byte picks the flags (bit 0: standard
 * conforming strings off), the rest is the query text.  Invariants, in
 * both modes:
 *   - a query with no '%' converts to itself, with no placeholder;
 *   - every '$' of the output is either one of the input's or the start of
 *     a placeholder's $n: count('$', out) - count('$', in) = placeholders
 *     (unless a name holds a '$', which its placeholder drops);
 *   - positional: nparams = placeholders; named: the names lie inside the
 *     input, each between "%(" and ")s", all distinct;
 *   - an error points at a '%' of the input, with a message;
 *   - pgc_sqlscan_has_percent() = 0 implies a conversion to itself;
 *   - an output buffer of exactly out_len bytes gives the same result;
 *   - nothing is read past the input (libFuzzer's buffer is exact; ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../../src/core/pgc_sqlscan.h"

static size_t
count_dollars(const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += p[i] == '$';
    }
    return k;
}

static void
check_names(const char *in, size_t n, const PgcSqlName *names, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        const PgcSqlName *a = &names[k];
        FUZZ_CHECK(a->len > 0 && a->off >= 2 && a->off <= n &&
                   a->len <= n - a->off && n - a->off - a->len >= 2);
        FUZZ_CHECK(in[a->off - 2] == '%' && in[a->off - 1] == '(');
        FUZZ_CHECK(in[a->off + a->len] == ')' &&
                   in[a->off + a->len + 1] == 's');
        FUZZ_CHECK(memchr(in + a->off, ')', a->len) == NULL);
        for (uint32_t j = 0; j < k; j++) {
            FUZZ_CHECK(names[j].len != a->len ||
                       memcmp(in + names[j].off, in + a->off, a->len) != 0);
        }
    }
}

static void
check_exact(const char *in, size_t n, unsigned flags, const char *out,
            const PgcSqlScanResult *res)
{
    char *again = malloc(res->out_len ? res->out_len : 1);
    size_t ncap = pgc_sqlscan_names_bound(n);
    PgcSqlName *names = malloc((ncap ? ncap : 1) * sizeof(*names));
    PgcSqlScanResult r2;
    FUZZ_CHECK(again != NULL && names != NULL);
    FUZZ_CHECK(pgc_sqlscan_convert(in, n, flags, again, res->out_len, names,
                                   ncap, &r2) == PGC_SQLSCAN_OK);
    FUZZ_CHECK(r2.out_len == res->out_len &&
               memcmp(again, out, r2.out_len) == 0);
    FUZZ_CHECK(r2.nparams == res->nparams && r2.style == res->style);
    free(names);
    free(again);
}

static void
fuzz_one(const char *in, size_t n, unsigned flags)
{
    char *out;
    PgcSqlName *names;
    PgcSqlScanResult res;
    PgcSqlScanStatus st = pgc_sqlscan_convert_alloc(in, n, flags, &out, &names,
                                                    &res);
    int has = pgc_sqlscan_has_percent(in, n, flags);

    if (st != PGC_SQLSCAN_OK) {
        FUZZ_CHECK(out == NULL);
        FUZZ_CHECK(st == PGC_SQLSCAN_ERR_PERCENT ||
                   st == PGC_SQLSCAN_ERR_MIXED || st == PGC_SQLSCAN_ERR_NAME ||
                   st == PGC_SQLSCAN_ERR_TOO_MANY);
        FUZZ_CHECK(res.err_pos < n && in[res.err_pos] == '%');
        FUZZ_CHECK(res.err_msg[0] != '\0');
        FUZZ_CHECK(has);
        return;
    }
    FUZZ_CHECK(res.out_len <= pgc_sqlscan_out_bound(n));
    FUZZ_CHECK(out[res.out_len] == '\0');
    if (memchr(in, '%', n) == NULL || !has) {
        if (memchr(in, '%', n) == NULL) {
            FUZZ_CHECK(res.out_len == n && memcmp(out, in, n) == 0);
        }
        FUZZ_CHECK(res.style == PGC_SQLSCAN_NONE && res.nparams == 0);
    }
    /* a name may hold '$' bytes, which its placeholder drops */
    int dollar_names = 0;
    for (uint32_t k = 0; res.style == PGC_SQLSCAN_NAMED && k < res.nparams;
         k++) {
        dollar_names |= memchr(in + names[k].off, '$', names[k].len) != NULL;
    }
    if (!dollar_names) {
        FUZZ_CHECK(count_dollars(out, res.out_len) >= count_dollars(in, n));
        FUZZ_CHECK(count_dollars(out, res.out_len) - count_dollars(in, n) ==
                   res.nplaceholders);
    }
    FUZZ_CHECK(count_dollars(out, res.out_len) >= res.nplaceholders);
    switch (res.style) {
    case PGC_SQLSCAN_NONE:
        FUZZ_CHECK(res.nparams == 0 && res.nplaceholders == 0);
        break;
    case PGC_SQLSCAN_POSITIONAL:
        FUZZ_CHECK(res.nparams == res.nplaceholders && res.nparams > 0);
        break;
    case PGC_SQLSCAN_NAMED:
        FUZZ_CHECK(res.nparams > 0 && res.nparams <= res.nplaceholders);
        check_names(in, n, names, res.nparams);
        break;
    }
    check_exact(in, n, flags, out, &res);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    unsigned flags = (data[0] & 1u) ? PGC_SQLSCAN_NO_STD_STRINGS : 0u;
    /* the text in a buffer of exactly its size */
    size_t n = size - 1;
    char *in = malloc(n ? n : 1);
    FUZZ_CHECK(in != NULL);
    if (n > 0) {
        memcpy(in, data + 1, n);
    }
    fuzz_one(in, n, flags);
    fuzz_one(in, n, flags ^ PGC_SQLSCAN_NO_STD_STRINGS);
    free(in);
    return 0;
}
