/* pgc_alloc.c -- the injectable allocator hooks.
 *
 * The hooks are the only mutable static state of the core.  They default to
 * the C library and are replaced only by tests (pgc_set_alloc).
 */
#include <stdlib.h>

#include "pgc_alloc.h"

static PgcAllocFuncs pgc_alloc_funcs = {malloc, realloc, free};

PgcAllocFuncs
pgc_set_alloc(PgcAllocFuncs funcs)
{
    PgcAllocFuncs prev = pgc_alloc_funcs;
    pgc_alloc_funcs = funcs;
    return prev;
}

/* A zero-byte request is rounded up to one byte, so that NULL always means
 * "out of memory". */
void *
pgc_malloc(size_t n)
{
    return pgc_alloc_funcs.malloc_fn(n ? n : 1);
}

void *
pgc_realloc(void *p, size_t n)
{
    return pgc_alloc_funcs.realloc_fn(p, n ? n : 1);
}

void
pgc_free(void *p)
{
    if (p) {
        pgc_alloc_funcs.free_fn(p);
    }
}
