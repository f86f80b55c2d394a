/* pgc_sqlscan.h -- the placeholder converter: pyformat (%s, %(name)s) to
 * PostgreSQL's numbered parameters ($1, $2, ...).
 *
 * Pure C11, no Python, no I/O.  The scanner knows the regions the server's
 * lexer treats as opaque, and converts placeholders only outside them:
 *
 *   '...'        standard string, '' escapes a quote; with
 *                PGC_SQLSCAN_NO_STD_STRINGS (standard_conforming_strings
 *                off) a backslash escapes the next byte too
 *   E'...'       escape string (also e'...'): backslash and '' escapes
 *   U&'...'      Unicode string: '' only (the server refuses it when
 *                standard_conforming_strings is off)
 *   B'..' X'..' N'..'  handled as standard strings
 *   "..."        quoted identifier (also U&"..."), "" escapes a quote
 *   $tag$...$tag$  dollar quote; tag = letters (and bytes >= 0x80),
 *                digits, underscore, not starting with a digit, possibly
 *                empty ($$); "$1" is a parameter, not a tag; a '$' that
 *                continues an identifier (foo$bar) opens nothing
 *   -- ...       line comment, to the end of the line
 *   / * ... * /  block comment; these nest
 *   ::           a cast (no special meaning to the converter)
 *
 * Outside those regions: "%s" is a positional placeholder, "%(name)s" a
 * named one (name: one or more bytes other than ')'), "%%" a literal '%'.
 * Any other '%' (or one at the end) is an error with its position.  A name
 * used twice gets the same $n; mixing %s and %(name)s is an error.
 *
 * Inside quotes and comments a '%' is left alone, except that "%%" still
 * becomes "%": psycopg (2 and 3) collapses "%%" everywhere, quotes
 * included, whenever it converts a query, so "LIKE 'a%%'" written for
 * psycopg means the same here.  An unterminated quote or comment runs to
 * the end of the text (the server reports it); nothing in it is converted.
 *
 * The output is never longer than pgc_sqlscan_out_bound(n); the names are
 * never more than pgc_sqlscan_names_bound(n).  The caller provides both
 * arrays (or calls pgc_sqlscan_convert_alloc, which makes one allocation).
 */
#ifndef PGC_SQLSCAN_H
#define PGC_SQLSCAN_H

#include <stddef.h>
#include <stdint.h>

/* standard_conforming_strings = off: backslash escapes in '...' too. */
#define PGC_SQLSCAN_NO_STD_STRINGS 1u

/* The protocol's limit on parameters (Bind's count is an int16). */
#define PGC_SQLSCAN_MAX_PARAMS 65535u

typedef enum {
    PGC_SQLSCAN_OK = 0,
    PGC_SQLSCAN_ERR_PERCENT = -1,  /* '%' followed by something else */
    PGC_SQLSCAN_ERR_MIXED = -2,    /* %s and %(name)s in one query */
    PGC_SQLSCAN_ERR_NAME = -3,     /* "%(" without ")s", or "%()s" */
    PGC_SQLSCAN_ERR_TOO_MANY = -4, /* more than PGC_SQLSCAN_MAX_PARAMS */
    PGC_SQLSCAN_ERR_SPACE = -5,    /* out or names smaller than the bounds */
    PGC_SQLSCAN_ERR_NOMEM = -6,    /* pgc_sqlscan_convert_alloc only */
} PgcSqlScanStatus;

typedef enum {
    PGC_SQLSCAN_NONE = 0,       /* no placeholder */
    PGC_SQLSCAN_POSITIONAL = 1, /* %s */
    PGC_SQLSCAN_NAMED = 2,      /* %(name)s */
} PgcSqlScanStyle;

/* A name: bytes [off, off + len) of the input. */
typedef struct {
    size_t off;
    size_t len;
} PgcSqlName;

typedef struct {
    PgcSqlScanStyle style;
    uint32_t nparams;       /* $1..$nparams used (named: distinct names) */
    uint32_t nplaceholders; /* placeholders seen (named: with repeats) */
    size_t out_len;         /* bytes written to out */
    size_t err_pos;         /* on error: byte offset of the offending '%' */
    char err_msg[160];      /* on error: NUL-terminated description */
} PgcSqlScanResult;

/* Upper bound of the output for n input bytes: "%s" (2 bytes) becomes at
 * most "$65535" (6 bytes).  SIZE_MAX if that overflows. */
size_t pgc_sqlscan_out_bound(size_t n);
/* Upper bound of the distinct names: each takes at least 5 bytes. */
size_t pgc_sqlscan_names_bound(size_t n);

/* Convert in[0..n) into out (capacity out_cap) and names (capacity
 * names_cap; may be NULL with 0 when no named style is expected -- then a
 * named placeholder fails with PGC_SQLSCAN_ERR_SPACE).  flags:
 * PGC_SQLSCAN_*.  Reads only in[0..n) (no NUL needed), writes only
 * out[0..out_cap) and names[0..names_cap).  On error res->err_pos and
 * res->err_msg say what and where; out is then unspecified. */
PgcSqlScanStatus pgc_sqlscan_convert(const char *in, size_t n, unsigned flags,
                                     char *out, size_t out_cap,
                                     PgcSqlName *names, size_t names_cap,
                                     PgcSqlScanResult *res);

/* The same with one allocation (pgc_malloc) holding the output and the
 * names: *out_buf (free with pgc_free) starts with the output text, and
 * *names points into the same block.  On error *out_buf is NULL. */
PgcSqlScanStatus pgc_sqlscan_convert_alloc(const char *in, size_t n,
                                           unsigned flags, char **out_buf,
                                           PgcSqlName **names,
                                           PgcSqlScanResult *res);

/* Whether in[0..n) has a byte '%' outside every quote and comment (a
 * quick check for the "you wrote %s on a $n connection" hint). */
int pgc_sqlscan_has_percent(const char *in, size_t n, unsigned flags);

#endif /* PGC_SQLSCAN_H */
