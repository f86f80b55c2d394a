/* pgc_dump.h -- test helper: run a backend message through the parser for
 * its type and describe the result as one line of text.
 *
 * Shared by the unit tests (split-feed transcripts) and the fuzz targets,
 * so every parser, including the iterating ones, is walked to the end.
 */
#ifndef PGC_DUMP_H
#define PGC_DUMP_H

#include "../../src/core/pgc_frame.h"

/* A growable text buffer (plain malloc: test code). */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
} DumpText;

void dump_text_init(DumpText *t);
void dump_text_free(DumpText *t);
void dump_text_add(DumpText *t, const char *s, size_t n);
void dump_text_str(DumpText *t, const char *s);
/* A view, with bytes outside printable ASCII as \xHH. */
void dump_text_view(DumpText *t, const uint8_t *p, size_t n);

/* Parse m and append one line describing it.  Returns the parser status:
 * PGC_OK, or the error of the parser that rejected the body (the line then
 * ends in "!err"). */
PgcStatus pgc_dump_msg(const PgcMsg *m, DumpText *t);

#endif /* PGC_DUMP_H */
