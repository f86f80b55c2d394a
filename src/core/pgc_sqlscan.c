/* pgc_sqlscan.c -- pyformat placeholders to $n (see pgc_sqlscan.h).
 *
 * One left-to-right pass.  Every index is checked against n before it is
 * read, and every byte written is checked against out_cap.  Opaque regions
 * (quotes, comments) are found by one function each; the dispatcher only
 * picks the region kind.
 */
#include "pgc_sqlscan.h"

#include <stdio.h>
#include <string.h>

#include "pgc_alloc.h"

typedef struct {
    const char *in;
    size_t n;
    unsigned flags;
    int probe; /* pgc_sqlscan_has_percent: stop at the first '%' */
    char *out;
    size_t cap;
    size_t len;
    PgcSqlName *names;
    size_t names_cap;
    int found_percent; /* probe mode: a '%' outside quotes was seen */
    PgcSqlScanResult *res;
} Scan;

/* ------------------------------------------------------------------ */
/* Character classes (bytes >= 0x80 count as letters, as in scan.l)   */
/* ------------------------------------------------------------------ */

static int
is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c >= 0x80;
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A byte that continues an identifier (letters, digits, '_', '$'). */
static int
is_ident_cont(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '$';
}

static unsigned char
at(const Scan *s, size_t i)
{
    return i < s->n ? (unsigned char)s->in[i] : 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static PgcSqlScanStatus
fail(Scan *s, PgcSqlScanStatus st, size_t pos, const char *msg)
{
    s->res->err_pos = pos;
    (void)snprintf(s->res->err_msg, sizeof(s->res->err_msg), "%s", msg);
    return st;
}

static PgcSqlScanStatus
emit(Scan *s, const char *p, size_t k)
{
    if (s->probe || k == 0) {
        return PGC_SQLSCAN_OK;
    }
    if (s->out == NULL || k > s->cap - s->len) {
        return fail(s, PGC_SQLSCAN_ERR_SPACE, s->len,
                    "output buffer too small");
    }
    memcpy(s->out + s->len, p, k);
    s->len += k;
    return PGC_SQLSCAN_OK;
}

/* Copy in[start, end) of an opaque region, "%%" collapsed to "%". */
static PgcSqlScanStatus
emit_region(Scan *s, size_t start, size_t end)
{
    size_t i = start;
    while (i < end) {
        const char *pct = memchr(s->in + i, '%', end - i);
        size_t stop = pct != NULL ? (size_t)(pct - s->in) : end;
        PgcSqlScanStatus st = emit(s, s->in + i, stop - i);
        if (st != PGC_SQLSCAN_OK || pct == NULL) {
            return st;
        }
        st = emit(s, "%", 1);
        if (st != PGC_SQLSCAN_OK) {
            return st;
        }
        i = stop + 1;
        if (i < end && s->in[i] == '%') {
            i++; /* "%%" -> "%" */
        }
    }
    return PGC_SQLSCAN_OK;
}

/* "$k" for parameter number k (1..65535). */
static PgcSqlScanStatus
emit_param(Scan *s, uint32_t k)
{
    char buf[12];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + (k % 10u));
        k /= 10u;
    } while (k > 0 && i > 1);
    buf[--i] = '$';
    return emit(s, buf + i, sizeof(buf) - i);
}

/* ------------------------------------------------------------------ */
/* Opaque regions: each returns the index just past the region's end  */
/* (n when it is unterminated).  i is just past the opening.          */
/* ------------------------------------------------------------------ */

static size_t
skip_quoted(const Scan *s, size_t i, char quote, int backslash)
{
    while (i < s->n) {
        char c = s->in[i];
        if (backslash && c == '\\') {
            i = s->n - i >= 2 ? i + 2 : s->n;
            continue;
        }
        if (c == quote) {
            if (i + 1 < s->n && s->in[i + 1] == quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return s->n;
}

static size_t
skip_line_comment(const Scan *s, size_t i)
{
    const char *nl = memchr(s->in + i, '\n', s->n - i);
    return nl != NULL ? (size_t)(nl - s->in) + 1 : s->n;
}

static size_t
skip_block_comment(const Scan *s, size_t i)
{
    size_t depth = 1;
    while (i < s->n) {
        if (s->in[i] == '/' && at(s, i + 1) == '*') {
            depth++;
            i += 2;
        }
        else if (s->in[i] == '*' && at(s, i + 1) == '/') {
            i += 2;
            if (--depth == 0) {
                return i;
            }
        }
        else {
            i++;
        }
    }
    return s->n;
}

/* The length of the dollar-quote tag "$...$" at i, or 0 when in[i] does
 * not open one ("$1", "$", "$a" without a closing '$'). */
static size_t
dollar_tag_len(const Scan *s, size_t i)
{
    size_t j = i + 1;
    if (j < s->n && s->in[j] != '$') {
        if (!is_alpha(at(s, j))) {
            return 0;
        }
        while (j < s->n && (is_alpha(at(s, j)) || is_digit(at(s, j)))) {
            j++;
        }
    }
    if (j >= s->n || s->in[j] != '$') {
        return 0;
    }
    return j - i + 1;
}

/* i is just past the opening tag in[t, t + tlen). */
static size_t
skip_dollar_body(const Scan *s, size_t i, size_t t, size_t tlen)
{
    while (i < s->n) {
        const char *d = memchr(s->in + i, '$', s->n - i);
        if (d == NULL) {
            break;
        }
        size_t j = (size_t)(d - s->in);
        if (s->n - j >= tlen && memcmp(s->in + j, s->in + t, tlen) == 0) {
            return j + tlen;
        }
        i = j + 1;
    }
    return s->n;
}

/* If an opaque region starts at i, its end; else 0.  prev_ident: the byte
 * before i continues an identifier (then E'', U&'' and $tag$ do not
 * start here). */
static size_t
region_end(const Scan *s, size_t i, int prev_ident)
{
    unsigned char c = at(s, i);
    unsigned char c1 = at(s, i + 1);
    int std_bs = (s->flags & PGC_SQLSCAN_NO_STD_STRINGS) != 0;

    switch (c) {
    case '\'':
        return skip_quoted(s, i + 1, '\'', std_bs);
    case '"':
        return skip_quoted(s, i + 1, '"', 0);
    case '-':
        return c1 == '-' ? skip_line_comment(s, i + 2) : 0;
    case '/':
        return c1 == '*' ? skip_block_comment(s, i + 2) : 0;
    case 'E':
    case 'e':
        return !prev_ident && c1 == '\'' ? skip_quoted(s, i + 2, '\'', 1) : 0;
    case 'U':
    case 'u':
        if (prev_ident || c1 != '&') {
            return 0;
        }
        if (at(s, i + 2) == '\'' || at(s, i + 2) == '"') {
            return skip_quoted(s, i + 3, (char)at(s, i + 2), 0);
        }
        return 0;
    case '$': {
        size_t tlen = prev_ident ? 0 : dollar_tag_len(s, i);
        return tlen > 0 ? skip_dollar_body(s, i + tlen, i, tlen) : 0;
    }
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Placeholders                                                        */
/* ------------------------------------------------------------------ */

static PgcSqlScanStatus
set_style(Scan *s, PgcSqlScanStyle style, size_t pos)
{
    if (s->res->style != PGC_SQLSCAN_NONE && s->res->style != style) {
        return fail(s, PGC_SQLSCAN_ERR_MIXED, pos,
                    "positional (%s) and named (%(name)s) placeholders "
                    "cannot be mixed");
    }
    s->res->style = style;
    return PGC_SQLSCAN_OK;
}

static PgcSqlScanStatus
positional(Scan *s, size_t pos)
{
    PgcSqlScanStatus st = set_style(s, PGC_SQLSCAN_POSITIONAL, pos);
    if (st != PGC_SQLSCAN_OK) {
        return st;
    }
    if (s->res->nparams >= PGC_SQLSCAN_MAX_PARAMS) {
        return fail(s, PGC_SQLSCAN_ERR_TOO_MANY, pos,
                    "more than 65535 placeholders");
    }
    s->res->nparams++;
    s->res->nplaceholders++;
    return emit_param(s, s->res->nparams);
}

/* The number (1-based) of the name in[off, off + len), added if new. */
static PgcSqlScanStatus
named(Scan *s, size_t pos, size_t off, size_t len)
{
    PgcSqlScanStatus st = set_style(s, PGC_SQLSCAN_NAMED, pos);
    if (st != PGC_SQLSCAN_OK) {
        return st;
    }
    uint32_t k;
    for (k = 0; k < s->res->nparams; k++) {
        const PgcSqlName *nm = &s->names[k];
        if (nm->len == len && memcmp(s->in + nm->off, s->in + off, len) == 0) {
            break;
        }
    }
    if (k == s->res->nparams) {
        if (k >= PGC_SQLSCAN_MAX_PARAMS) {
            return fail(s, PGC_SQLSCAN_ERR_TOO_MANY, pos,
                        "more than 65535 distinct placeholder names");
        }
        if (k >= s->names_cap) {
            return fail(s, PGC_SQLSCAN_ERR_SPACE, pos,
                        "names array too small");
        }
        s->names[k].off = off;
        s->names[k].len = len;
        s->res->nparams++;
    }
    s->res->nplaceholders++;
    return emit_param(s, k + 1);
}

/* A '%' at i outside quotes: *next is set past what was consumed. */
static PgcSqlScanStatus
percent(Scan *s, size_t i, size_t *next)
{
    unsigned char c1 = at(s, i + 1);
    if (i + 1 >= s->n) {
        return fail(s, PGC_SQLSCAN_ERR_PERCENT, i,
                    "incomplete placeholder: '%' at the end of the query "
                    "(write %% for a literal %)");
    }
    if (c1 == '%') {
        *next = i + 2;
        return emit(s, "%", 1);
    }
    if (c1 == 's') {
        *next = i + 2;
        return positional(s, i);
    }
    if (c1 != '(') {
        return fail(s, PGC_SQLSCAN_ERR_PERCENT, i,
                    "only %s, %(name)s and %% are allowed after '%' "
                    "(write %% for a literal %)");
    }
    const char *close = memchr(s->in + i + 2, ')', s->n - (i + 2));
    size_t j = close != NULL ? (size_t)(close - s->in) : s->n;
    if (close == NULL || j == i + 2 || at(s, j + 1) != 's' || j + 1 >= s->n) {
        return fail(s, PGC_SQLSCAN_ERR_NAME, i,
                    "incomplete placeholder: '%(' must be followed by a "
                    "name and ')s'");
    }
    *next = j + 2;
    return named(s, i, i + 2, j - (i + 2));
}

/* ------------------------------------------------------------------ */
/* The pass                                                            */
/* ------------------------------------------------------------------ */

static PgcSqlScanStatus
scan(Scan *s)
{
    size_t i = 0, plain = 0; /* in[plain, i) is pending plain text */
    int prev_ident = 0;
    PgcSqlScanStatus st = PGC_SQLSCAN_OK;

    while (i < s->n && st == PGC_SQLSCAN_OK) {
        unsigned char c = (unsigned char)s->in[i];
        size_t end = region_end(s, i, prev_ident);
        if (end > 0) {
            st = emit(s, s->in + plain, i - plain);
            if (st == PGC_SQLSCAN_OK) {
                st = emit_region(s, i, end);
            }
            i = plain = end;
            prev_ident = 0;
        }
        else if (c == '%') {
            st = emit(s, s->in + plain, i - plain);
            if (s->probe) {
                s->found_percent = 1;
                return PGC_SQLSCAN_OK;
            }
            size_t next = i + 1;
            if (st == PGC_SQLSCAN_OK) {
                st = percent(s, i, &next);
            }
            i = plain = next;
            prev_ident = 0;
        }
        else {
            prev_ident = is_ident_cont(c);
            i++;
        }
    }
    if (st == PGC_SQLSCAN_OK) {
        st = emit(s, s->in + plain, i - plain);
    }
    return st;
}

size_t
pgc_sqlscan_out_bound(size_t n)
{
    return n > SIZE_MAX / 3 ? SIZE_MAX : 3 * n;
}

size_t
pgc_sqlscan_names_bound(size_t n)
{
    return n / 5;
}

PgcSqlScanStatus
pgc_sqlscan_convert(const char *in, size_t n, unsigned flags, char *out,
                    size_t out_cap, PgcSqlName *names, size_t names_cap,
                    PgcSqlScanResult *res)
{
    Scan s;
    memset(res, 0, sizeof(*res));
    s.in = in;
    s.n = in != NULL ? n : 0;
    s.flags = flags;
    s.probe = 0;
    s.out = out;
    s.cap = out != NULL ? out_cap : 0;
    s.len = 0;
    s.names = names;
    s.names_cap = names != NULL ? names_cap : 0;
    s.found_percent = 0;
    s.res = res;
    PgcSqlScanStatus st = scan(&s);
    res->out_len = s.len;
    return st;
}

PgcSqlScanStatus
pgc_sqlscan_convert_alloc(const char *in, size_t n, unsigned flags,
                          char **out_buf, PgcSqlName **names,
                          PgcSqlScanResult *res)
{
    size_t ocap = pgc_sqlscan_out_bound(n);
    size_t ncap = pgc_sqlscan_names_bound(n);
    size_t align = _Alignof(PgcSqlName);
    size_t head = ocap + 1; /* the text, NUL-terminated */
    *out_buf = NULL;
    *names = NULL;
    memset(res, 0, sizeof(*res));
    if (head > SIZE_MAX - align ||
        ncap > (SIZE_MAX - head - align) / sizeof(PgcSqlName)) {
        res->err_pos = 0;
        (void)snprintf(res->err_msg, sizeof(res->err_msg), "%s",
                       "query too long");
        return PGC_SQLSCAN_ERR_NOMEM;
    }
    head = (head + align - 1) / align * align;
    char *buf = pgc_malloc(head + ncap * sizeof(PgcSqlName));
    if (buf == NULL) {
        (void)snprintf(res->err_msg, sizeof(res->err_msg), "%s",
                       "out of memory");
        return PGC_SQLSCAN_ERR_NOMEM;
    }
    PgcSqlName *nm = (PgcSqlName *)(void *)(buf + head);
    PgcSqlScanStatus st = pgc_sqlscan_convert(in, n, flags, buf, ocap, nm,
                                              ncap, res);
    if (st != PGC_SQLSCAN_OK) {
        pgc_free(buf);
        return st;
    }
    buf[res->out_len] = '\0';
    *out_buf = buf;
    *names = nm;
    return st;
}

int
pgc_sqlscan_has_percent(const char *in, size_t n, unsigned flags)
{
    PgcSqlScanResult res;
    Scan s;
    memset(&res, 0, sizeof(res));
    s.in = in;
    s.n = in != NULL ? n : 0;
    s.flags = flags;
    s.probe = 1;
    s.out = NULL;
    s.cap = 0;
    s.len = 0;
    s.names = NULL;
    s.names_cap = 0;
    s.found_percent = 0;
    s.res = &res;
    (void)scan(&s);
    return s.found_percent;
}
