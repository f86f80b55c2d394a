/* pgc_alloc.h -- injectable allocator for the protocol core.
 *
 * The core never calls malloc directly.  Tests install a failing allocator
 * to exercise the out-of-memory paths.  The hooks are process-wide and set
 * once, before any other core call (a test-only facility; the binding never
 * changes them).
 */
#ifndef PGC_ALLOC_H
#define PGC_ALLOC_H

#include <stddef.h>

typedef struct {
    void *(*malloc_fn)(size_t);
    void *(*realloc_fn)(void *, size_t);
    void (*free_fn)(void *);
} PgcAllocFuncs;

/* Install new hooks; returns the previous ones. */
PgcAllocFuncs pgc_set_alloc(PgcAllocFuncs funcs);

void *pgc_malloc(size_t n);
void *pgc_realloc(void *p, size_t n);
void pgc_free(void *p);

#endif /* PGC_ALLOC_H */
