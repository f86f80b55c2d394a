/* stmt.c -- prepared-statement state, the per-connection LRU statement
 * cache, and the Parse/Describe/Bind/Execute writers.
 *
 * A Statement learns its parameter and column types from
 * ParameterDescription / RowDescription, picks a codec per type (builtin
 * table, else the text fallback), and precomputes the format-code arrays so
 * a cached execution only encodes arguments.
 */
#include "proto.h"
#include "../codec/codec_dyn.h"

#include <time.h>


double
pgw_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* Statement type                                                      */
/* ------------------------------------------------------------------ */

static void
stmt_free_arrays(StmtObject *s)
{
    PyMem_Free(s->param_oids);
    PyMem_Free(s->param_codecs);
    PyMem_Free(s->param_formats);
    PyMem_Free(s->col_oids);
    PyMem_Free(s->col_codecs);
    PyMem_Free(s->col_decoders);
    PyMem_Free(s->col_formats);
    PyMem_Free(s->cols);
    s->param_oids = NULL;
    s->param_codecs = NULL;
    s->param_formats = NULL;
    s->col_oids = NULL;
    s->col_codecs = NULL;
    s->col_decoders = NULL;
    s->col_formats = NULL;
    s->cols = NULL;
}

StmtObject *
pgw_stmt_new(ModState *st, PyObject *query, PyObject *name)
{
    StmtObject *s = PyObject_GC_New(StmtObject, st->StatementType);
    if (s == NULL) {
        return NULL;
    }
    PGW_ZERO_FIELDS(s, StmtObject);
    s->st = st;
    s->name = Py_NewRef(name);
    s->query = Py_NewRef(query);
    s->query_utf8 = PyUnicode_AsUTF8String(query);
    s->nparams = 0;
    s->param_oids = NULL;
    s->param_codecs = NULL;
    s->param_formats = NULL;
    s->nparam_formats = 0;
    s->ncols = 0;
    s->col_oids = NULL;
    s->col_codecs = NULL;
    s->col_decoders = NULL;
    s->col_formats = NULL;
    s->ncol_formats = 0;
    s->cols = NULL;
    s->names = NULL;
    s->desc = NULL;
    s->attrs = NULL;
    s->codec_refs = NULL;
    s->described = 0;
    s->explicit_ = 0;
    s->wrappers = 0;
    s->ignore_custom = 0;
    s->last_status = NULL;
    s->in_cache = 0;
    s->closed = 0;
    s->created_at = pgw_monotonic();
    s->footprint = 0;
    s->lru_prev = s->lru_next = NULL;
    PyObject_GC_Track(s);
    if (s->query_utf8 == NULL) {
        Py_DECREF(s);
        return NULL;
    }
    return s;
}

static int
stmt_traverse(StmtObject *s, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(s));
    Py_VISIT(s->names);
    Py_VISIT(s->desc);
    Py_VISIT(s->attrs);
    Py_VISIT(s->codec_refs);
    Py_VISIT(s->last_status);
    Py_VISIT(s->row_maker);
    return 0;
}

/* What the GC may break: the references traverse visits.  The codecs
 * (codec_refs) go with them, so a cleared statement is closed: every
 * execution refuses it (op_start, _copy) instead of using dangling codec
 * pointers.  name/query (strings, no cycle) stay until dealloc. */
static int
stmt_clear(StmtObject *s)
{
    s->closed = 1;
    Py_CLEAR(s->names);
    Py_CLEAR(s->desc);
    Py_CLEAR(s->attrs);
    Py_CLEAR(s->codec_refs);
    Py_CLEAR(s->last_status);
    Py_CLEAR(s->row_maker);
    return 0;
}

static void
stmt_dealloc(StmtObject *s)
{
    PyTypeObject *tp = Py_TYPE(s);
    PyObject_GC_UnTrack(s);
    stmt_clear(s);
    Py_CLEAR(s->name);
    Py_CLEAR(s->query);
    Py_CLEAR(s->query_utf8);
    Py_CLEAR(s->pf_names);
    Py_CLEAR(s->pf_sql);
    stmt_free_arrays(s);
    tp->tp_free((PyObject *)s);
    Py_DECREF(tp);
}

static PyObject *
stmt_get_name(StmtObject *s, void *Py_UNUSED(c))
{
    return PyUnicode_FromEncodedObject(s->name, "utf-8", "strict");
}

static PyObject *
stmt_get_query(StmtObject *s, void *Py_UNUSED(c))
{
    return Py_NewRef(s->query);
}

static PyObject *
oid_tuple(const uint32_t *oids, uint16_t n)
{
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        return NULL;
    }
    for (uint16_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLong(oids[i]);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static PyObject *
stmt_get_param_oids(StmtObject *s, void *Py_UNUSED(c))
{
    return oid_tuple(s->param_oids, s->nparams);
}

static PyObject *
stmt_get_col_oids(StmtObject *s, void *Py_UNUSED(c))
{
    return oid_tuple(s->col_oids, s->ncols);
}

static PyObject *
stmt_get_col_names(StmtObject *s, void *Py_UNUSED(c))
{
    if (s->names == NULL) {
        return PyTuple_New(0);
    }
    return Py_NewRef(s->names);
}

static PyObject *
stmt_get_last_status(StmtObject *s, void *Py_UNUSED(c))
{
    return Py_NewRef(s->last_status ? s->last_status : Py_None);
}

static PyObject *
stmt_get_closed(StmtObject *s, void *Py_UNUSED(c))
{
    return PyBool_FromLong(s->closed);
}

static PyGetSetDef stmt_getset[] = {
    {"last_status", (getter)stmt_get_last_status, NULL, NULL, NULL},
    {"closed", (getter)stmt_get_closed, NULL, NULL, NULL},
    {"name", (getter)stmt_get_name, NULL, NULL, NULL},
    {"query", (getter)stmt_get_query, NULL, NULL, NULL},
    {"param_oids", (getter)stmt_get_param_oids, NULL, NULL, NULL},
    {"column_oids", (getter)stmt_get_col_oids, NULL, NULL, NULL},
    {"column_names", (getter)stmt_get_col_names, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot stmt_slots[] = {
    {Py_tp_dealloc, stmt_dealloc},
    {Py_tp_traverse, stmt_traverse},
    {Py_tp_clear, stmt_clear},
    {Py_tp_getset, stmt_getset},
    {0, NULL},
};

static PyType_Spec stmt_spec = {
    .name = "pgwire._pgwire.Statement",
    .basicsize = sizeof(StmtObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = stmt_slots,
};

int
pgw_stmt_setup_types(PyObject *module, ModState *st)
{
    st->StatementType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                                 &stmt_spec,
                                                                 NULL);
    return st->StatementType == NULL ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Describe results                                                    */
/* ------------------------------------------------------------------ */

/* Format-code array: one entry when all agree, else one per item. */
static void
compact_formats(const int16_t *fmts, uint16_t n, uint16_t *nfmt)
{
    *nfmt = 0;
    if (n == 0) {
        return;
    }
    for (uint16_t i = 1; i < n; i++) {
        if (fmts[i] != fmts[0]) {
            *nfmt = n;
            return;
        }
    }
    *nfmt = 1;
}

/* The codec for oid: builtin, else from the connection's registry (the
 * Codec object is kept in s->codec_refs), else the text fallback -- and,
 * unless `force`, the oid is added to `missing` to be built. */
static const PgwCodec *
resolve_one(ProtocolObject *p, StmtObject *s, uint32_t oid, int force,
            PyObject *missing)
{
    /* the registry first: set_type_codec() may override a builtin */
    const PgwCodec *c = pgw_codec_builtin(oid);
    if (c != NULL &&
        (s->ignore_custom || PyDict_GET_SIZE(p->type_codecs) == 0)) {
        return c;
    }
    PyObject *key = PyLong_FromUnsignedLong(oid);
    if (key == NULL) {
        return NULL;
    }
    PyObject *obj = PyDict_GetItemWithError(p->type_codecs, key);
    if (obj != NULL) {
        Py_DECREF(key);
        c = pgw_codec_get(obj);
        if (c == NULL || PyList_Append(s->codec_refs, obj) < 0) {
            return NULL;
        }
        return c;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    if (c != NULL) {
        Py_DECREF(key);
        return c;
    }
    /* user types, and builtin types without a static codec (ranges,
     * multiranges): the Python side builds them -- builtin ones from a
     * fixed table, never with a catalog query */
    if (!force) {
        int rc = PySequence_Contains(missing, key);
        if (rc == 0) {
            rc = PyList_Append(missing, key);
        }
        Py_DECREF(key);
        return rc < 0 ? NULL : pgw_codec_text_fallback();
    }
    Py_DECREF(key);
    return pgw_codec_text_fallback();
}

int
pgw_stmt_resolve(ProtocolObject *p, StmtObject *s, int force,
                 PyObject **missing)
{
    *missing = NULL;
    PyObject *miss = PyList_New(0);
    if (miss == NULL) {
        return -1;
    }
    Py_XSETREF(s->codec_refs, PyList_New(0));
    if (s->codec_refs == NULL) {
        goto error;
    }
    for (uint16_t i = 0; i < s->nparams; i++) {
        const PgwCodec *c = resolve_one(p, s, s->param_oids[i], force, miss);
        if (c == NULL) {
            goto error;
        }
        s->param_codecs[i] = c;
        s->param_formats[i] = c->format;
    }
    for (uint16_t i = 0; i < s->ncols; i++) {
        const PgwCodec *c = resolve_one(p, s, s->col_oids[i], force, miss);
        if (c == NULL) {
            goto error;
        }
        s->col_codecs[i] = c;
        s->col_decoders[i] = pgw_codec_result_variant(c);
        s->col_formats[i] = s->col_decoders[i]->format;
    }
    compact_formats(s->param_formats, s->nparams, &s->nparam_formats);
    compact_formats(s->col_formats, s->ncols, &s->ncol_formats);
    if (PyList_GET_SIZE(miss) > 0) {
        *missing = miss;
        return 0;
    }
    Py_DECREF(miss);
    return 0;
error:
    Py_DECREF(miss);
    return -1;
}

int
pgw_stmt_on_param_desc(StmtObject *s, PgcView body)
{
    uint16_t n;
    if (pgc_parse_param_desc(body, &n, NULL, 0) != PGC_OK) {
        goto bad;
    }
    PyMem_Free(s->param_oids);
    PyMem_Free(s->param_codecs);
    PyMem_Free(s->param_formats);
    s->param_oids = PyMem_Calloc((size_t)n + 1, sizeof(uint32_t));
    s->param_codecs = PyMem_Calloc((size_t)n + 1, sizeof(PgwCodec *));
    s->param_formats = PyMem_Calloc((size_t)n + 1, sizeof(int16_t));
    if (!s->param_oids || !s->param_codecs || !s->param_formats) {
        PyErr_NoMemory();
        return -1;
    }
    if (pgc_parse_param_desc(body, &n, s->param_oids, n) != PGC_OK) {
        goto bad;
    }
    s->nparams = n; /* codecs and formats: pgw_stmt_resolve */
    return 0;
bad:
    PyErr_SetString(s->st->ProtocolError, "malformed ParameterDescription");
    return -1;
}

static int
stmt_alloc_cols(StmtObject *s, uint16_t n)
{
    PyMem_Free(s->col_oids);
    PyMem_Free(s->col_codecs);
    PyMem_Free(s->col_decoders);
    PyMem_Free(s->col_formats);
    PyMem_Free(s->cols);
    s->col_oids = PyMem_Calloc((size_t)n + 1, sizeof(uint32_t));
    s->col_codecs = PyMem_Calloc((size_t)n + 1, sizeof(PgwCodec *));
    s->col_decoders = PyMem_Calloc((size_t)n + 1, sizeof(PgwCodec *));
    s->col_formats = PyMem_Calloc((size_t)n + 1, sizeof(int16_t));
    s->cols = PyMem_Calloc((size_t)n + 1, sizeof(PgcCol));
    if (!s->col_oids || !s->col_codecs || !s->col_decoders ||
        !s->col_formats || !s->cols) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

int
pgw_stmt_on_row_desc(StmtObject *s, const PgwCodecCtx *ctx, PgcView body)
{
    uint16_t n;
    PgcCur c;
    PgcField f;
    if (pgc_parse_row_desc_start(body, &n, &c) != PGC_OK) {
        goto bad;
    }
    if (stmt_alloc_cols(s, n) < 0) {
        return -1;
    }
    PyObject *names = PyTuple_New(n);
    if (names == NULL) {
        return -1;
    }
    for (uint16_t i = 0; i < n; i++) {
        if (pgc_parse_row_desc_field(&c, &f) != PGC_OK) {
            Py_DECREF(names);
            goto bad;
        }
        PyObject *nm = pgw_enc_decode(ctx, (const char *)f.name.p,
                                      (Py_ssize_t)f.name.n, "replace");
        if (nm == NULL) {
            Py_DECREF(names);
            return -1;
        }
        PyTuple_SET_ITEM(names, i, nm);
        s->col_oids[i] = f.type_oid;
    }
    if (pgc_parse_end(&c) != PGC_OK) {
        Py_DECREF(names);
        goto bad;
    }
    s->ncols = n; /* codecs and formats: pgw_stmt_resolve */
    Py_XSETREF(s->names, names);
    Py_XSETREF(s->desc, pgw_record_desc_new(s->st, names));
    if (s->desc == NULL) {
        return -1;
    }
    s->described = 1;
    return 0;
bad:
    PyErr_SetString(s->st->ProtocolError, "malformed RowDescription");
    return -1;
}

int
pgw_stmt_on_no_data(StmtObject *s)
{
    if (stmt_alloc_cols(s, 0) < 0) {
        return -1;
    }
    s->ncols = 0;
    s->ncol_formats = 0;
    PyObject *names = PyTuple_New(0);
    if (names == NULL) {
        return -1;
    }
    Py_XSETREF(s->names, names);
    Py_XSETREF(s->desc, pgw_record_desc_new(s->st, names));
    if (s->desc == NULL) {
        return -1;
    }
    s->described = 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The LRU cache                                                       */
/* ------------------------------------------------------------------ */

static void
lru_unlink(ProtocolObject *p, StmtObject *s)
{
    if (s->lru_prev) {
        s->lru_prev->lru_next = s->lru_next;
    }
    else {
        p->lru_head = s->lru_next;
    }
    if (s->lru_next) {
        s->lru_next->lru_prev = s->lru_prev;
    }
    else {
        p->lru_tail = s->lru_prev;
    }
    s->lru_prev = s->lru_next = NULL;
}

static void
lru_push_front(ProtocolObject *p, StmtObject *s)
{
    s->lru_prev = NULL;
    s->lru_next = p->lru_head;
    if (p->lru_head) {
        p->lru_head->lru_prev = s;
    }
    p->lru_head = s;
    if (p->lru_tail == NULL) {
        p->lru_tail = s;
    }
}

/* Byte budgets of the two caches.  Besides max_cacheable_statement_size
 * (a bound on each query's text) and the count bounds, they bound the
 * whole: query text and descriptions (a query of 1,600 columns holds
 * ~100 kB of names and codec tables), so no mix of queries and settings
 * makes a cache grow without bound. */
#define STMT_CACHE_MAX_BYTES ((size_t)8 << 20)
#define UNNAMED_CACHE_MAX_BYTES ((size_t)4 << 20)

/* What s holds in memory, estimated from what it owns: the query (str and
 * its UTF-8 copy), its parameter and column tables and column names. */
static size_t
stmt_footprint(StmtObject *s)
{
    size_t n = sizeof(StmtObject) + 256;
    Py_ssize_t qlen = PyUnicode_GET_LENGTH(s->query);
    n += (size_t)qlen * PyUnicode_KIND(s->query);
    if (s->query_utf8 != NULL) {
        n += (size_t)PyBytes_GET_SIZE(s->query_utf8);
    }
    n += (size_t)s->nparams *
         (sizeof(uint32_t) + sizeof(PgwCodec *) + sizeof(int16_t));
    n += (size_t)s->ncols *
         (sizeof(uint32_t) + 2 * sizeof(PgwCodec *) + sizeof(int16_t) +
          sizeof(PgcCol) + 2 * sizeof(PyObject *) + 64);
    if (s->names != NULL && PyTuple_Check(s->names)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(s->names); i++) {
            PyObject *name = PyTuple_GET_ITEM(s->names, i);
            if (PyUnicode_Check(name)) {
                n += (size_t)PyUnicode_GET_LENGTH(name) * PyUnicode_KIND(name);
            }
        }
    }
    return n;
}

/* Remove s from the cache; its server-side statement is closed lazily,
 * with the next request. */
static int
cache_evict(ProtocolObject *p, StmtObject *s)
{
    Py_INCREF(s);
    lru_unlink(p, s);
    s->in_cache = 0;
    p->cache_size--;
    p->cache_bytes -= s->footprint <= p->cache_bytes ? s->footprint
                                                     : p->cache_bytes;
    int rc = 0;
    /* still used by a PreparedStatement: it closes it when dropped */
    if (PyBytes_GET_SIZE(s->name) > 0 && p->pending_closes != NULL &&
        s->wrappers == 0) {
        s->closed = 1;
        rc = PyList_Append(p->pending_closes, s->name);
    }
    if (PyDict_DelItem(p->stmt_cache, s->query) < 0) {
        rc = -1;
    }
    Py_DECREF(s);
    return rc;
}

StmtObject *
pgw_cache_get(ProtocolObject *p, PyObject *query)
{
    if (p->cache_size == 0) {
        return NULL;
    }
    PyObject *o = PyDict_GetItemWithError(p->stmt_cache, query);
    if (o == NULL) {
        return NULL;
    }
    StmtObject *s = (StmtObject *)o;
    if (p->cache_lifetime > 0 &&
        pgw_monotonic() - s->created_at > p->cache_lifetime) {
        if (cache_evict(p, s) < 0) {
            PyErr_WriteUnraisable((PyObject *)p);
        }
        return NULL;
    }
    if (p->lru_head != s) {
        lru_unlink(p, s);
        lru_push_front(p, s);
    }
    return (StmtObject *)Py_NewRef(s);
}

int
pgw_cache_put(ProtocolObject *p, StmtObject *s)
{
    if (p->cache_max == 0 || PyBytes_GET_SIZE(s->name) == 0) {
        return 0;
    }
    /* a statement of the same text already cached (re-prepared after
     * invalidation) is replaced, not counted twice */
    PyObject *old = PyDict_GetItemWithError(p->stmt_cache, s->query);
    if (old == (PyObject *)s) {
        return 0;
    }
    if (old == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (old != NULL && cache_evict(p, (StmtObject *)old) < 0) {
        return -1;
    }
    if (PyDict_SetItem(p->stmt_cache, s->query, (PyObject *)s) < 0) {
        return -1;
    }
    s->in_cache = 1;
    s->created_at = pgw_monotonic();
    s->footprint = stmt_footprint(s);
    lru_push_front(p, s);
    p->cache_size++;
    p->cache_bytes += s->footprint;
    /* the newest stays: it is about to be executed, or wrapped by
     * prepare() */
    while ((p->cache_size > p->cache_max ||
            p->cache_bytes > STMT_CACHE_MAX_BYTES) &&
           p->lru_tail != NULL && p->lru_tail != s) {
        if (cache_evict(p, p->lru_tail) < 0) {
            return -1;
        }
    }
    return 0;
}

void
pgw_cache_clear(ProtocolObject *p)
{
    while (p->lru_head != NULL) {
        if (cache_evict(p, p->lru_head) < 0) {
            PyErr_Clear();
        }
    }
    if (p->stmt_cache != NULL) {
        PyDict_Clear(p->stmt_cache);
    }
    p->cache_size = 0;
    p->cache_bytes = 0;
}

int
pgw_cache_forget(ProtocolObject *p, StmtObject *s)
{
    if (s->in_cache) {
        return cache_evict(p, s);
    }
    if (PyBytes_GET_SIZE(s->name) == 0) {
        PyObject *cur = PyDict_GetItemWithError(p->unnamed_cache, s->query);
        if (cur == (PyObject *)s) {
            return PyDict_DelItem(p->unnamed_cache, s->query);
        }
        return PyErr_Occurred() ? -1 : 0;
    }
    return 0;
}

/* The Describe cache of statement_cache_size=0 (and of queries too long
 * for the statement cache) holds client-side state only.  Bounded like the
 * statement cache: no query longer than max_cacheable_statement_size, at
 * most UNNAMED_CACHE_MAX entries and UNNAMED_CACHE_MAX_BYTES; the oldest
 * entries go first. */
#define UNNAMED_CACHE_MAX 256

StmtObject *
pgw_unnamed_get(ProtocolObject *p, PyObject *query)
{
    PyObject *o = PyDict_GetItemWithError(p->unnamed_cache, query);
    return o ? (StmtObject *)Py_NewRef(o) : NULL;
}

/* Drop the oldest entries (dicts keep insertion order) until `need` more
 * bytes and one more entry fit. */
static int
unnamed_make_room(ProtocolObject *p, size_t need)
{
    PyObject *cache = p->unnamed_cache;
    Py_ssize_t count = PyDict_GET_SIZE(cache), pos = 0;
    size_t total = 0;
    PyObject *k, *v;
    while (PyDict_Next(cache, &pos, &k, &v)) {
        total += ((StmtObject *)v)->footprint;
    }
    PyObject *drop = PyList_New(0);
    if (drop == NULL) {
        return -1;
    }
    pos = 0;
    while ((count >= UNNAMED_CACHE_MAX ||
            total + need > UNNAMED_CACHE_MAX_BYTES) &&
           PyDict_Next(cache, &pos, &k, &v)) {
        if (PyList_Append(drop, k) < 0) {
            Py_DECREF(drop);
            return -1;
        }
        size_t fp = ((StmtObject *)v)->footprint;
        total -= fp <= total ? fp : total;
        count--;
    }
    int rc = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(drop) && rc == 0; i++) {
        rc = PyDict_DelItem(cache, PyList_GET_ITEM(drop, i));
    }
    Py_DECREF(drop);
    return rc;
}

int
pgw_unnamed_put(ProtocolObject *p, StmtObject *s)
{
    if (p->cache_max_query > 0 &&
        PyUnicode_GET_LENGTH(s->query) > p->cache_max_query) {
        return 0;
    }
    s->footprint = stmt_footprint(s);
    if (s->footprint > UNNAMED_CACHE_MAX_BYTES) {
        return 0;
    }
    if (unnamed_make_room(p, s->footprint) < 0) {
        return -1;
    }
    return PyDict_SetItem(p->unnamed_cache, s->query, (PyObject *)s);
}

int
pgw_stmt_same_row_desc(StmtObject *s, PgcView body)
{
    uint16_t n;
    PgcCur c;
    PgcField f;
    if (pgc_parse_row_desc_start(body, &n, &c) != PGC_OK) {
        goto bad;
    }
    if (n != s->ncols) {
        return 0;
    }
    for (uint16_t i = 0; i < n; i++) {
        if (pgc_parse_row_desc_field(&c, &f) != PGC_OK) {
            goto bad;
        }
        if (f.type_oid != s->col_oids[i]) {
            return 0;
        }
    }
    if (pgc_parse_end(&c) != PGC_OK) {
        goto bad;
    }
    return 1;
bad:
    PyErr_SetString(s->st->ProtocolError, "malformed RowDescription");
    return -1;
}

PyObject *
pgw_stmt_next_name(ProtocolObject *p)
{
    p->stmt_counter++;
    return PyBytes_FromFormat("__pgwire_stmt_%s_%zu__",
                              PyBytes_AS_STRING(p->stmt_prefix),
                              (size_t)p->stmt_counter);
}

/* ------------------------------------------------------------------ */
/* Writers                                                             */
/* ------------------------------------------------------------------ */

static PgcStr
bytes_str(PyObject *b)
{
    PgcStr s = {PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b)};
    return s;
}

static int
write_pending_closes(ProtocolObject *p, PgcReqBuilder *b)
{
    Py_ssize_t n = PyList_GET_SIZE(p->pending_closes);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyList_GET_ITEM(p->pending_closes, i);
        PgcStatus rc = pgc_req_close(b, PGC_TARGET_STATEMENT, bytes_str(name));
        if (rc != PGC_OK) {
            return pgw_proto_push_error(p, rc);
        }
    }
    if (n > 0) {
        return PyList_SetSlice(p->pending_closes, 0, n, NULL);
    }
    return 0;
}

/* s's query text in the connection's client encoding (*owner: a new
 * reference to release, or NULL).  0 or -1. */
static int
stmt_query_text(ProtocolObject *p, StmtObject *s, PgcStr *q, PyObject **owner)
{
    Py_ssize_t n;
    if (s->query_utf8 == NULL) {
        PyErr_SetString(s->st->InterfaceError, "statement is closed");
        return -1;
    }
    q->p = pgw_proto_query_text(p, s->pf_sql != NULL ? s->pf_sql : s->query,
                                s->query_utf8, &n, owner);
    if (q->p == NULL) {
        return -1;
    }
    q->n = (size_t)n;
    return 0;
}

int
pgw_write_portal_closes(ProtocolObject *p, PgcReqBuilder *b)
{
    PyObject *names = p->pending_portal_closes;
    Py_ssize_t n = names != NULL ? PyList_GET_SIZE(names) : 0;
    if (n == 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PgcStatus rc = pgc_req_close(b, PGC_TARGET_PORTAL,
                                     bytes_str(PyList_GET_ITEM(names, i)));
        if (rc != PGC_OK) {
            return pgw_proto_push_error(p, rc);
        }
    }
    return PyList_SetSlice(names, 0, n, NULL);
}

int
pgw_stmt_write_prepare(ProtocolObject *p, StmtObject *s, PgcReqBuilder *b)
{
    if (write_pending_closes(p, b) < 0) {
        return -1;
    }
    PgcStr name = bytes_str(s->name);
    PgcStr q;
    PyObject *owner;
    if (stmt_query_text(p, s, &q, &owner) < 0) {
        return -1;
    }
    PgcStatus rc = pgc_req_parse(b, name, q, NULL, 0);
    Py_XDECREF(owner);
    if (rc == PGC_OK) {
        rc = pgc_req_describe(b, PGC_TARGET_STATEMENT, name);
    }
    if (rc == PGC_OK) {
        rc = pgw_proto_req_end(p, b);
    }
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    return 0;
}

int
pgw_build_error(ProtocolObject *p, PgcStatus rc)
{
    if (rc == PGC_ERR_NOMEM) {
        PyErr_NoMemory();
    }
    else {
        PyErr_SetString(p->st->InterfaceError,
                        "query is too long or contains a NUL character");
    }
    return -1;
}

int
pgw_stmt_write_reparse(ProtocolObject *p, StmtObject *s, PgcReqBuilder *b)
{
    if (write_pending_closes(p, b) < 0) {
        return -1;
    }
    PgcStr empty = {"", 0};
    PgcStr q;
    PyObject *owner;
    if (stmt_query_text(p, s, &q, &owner) < 0) {
        return -1;
    }
    PgcStatus rc = pgc_req_parse(b, empty, q, s->param_oids, s->nparams);
    Py_XDECREF(owner);
    if (rc != PGC_OK) {
        return pgw_proto_push_error(p, rc);
    }
    return 0;
}

/* repr() of only the head of a long str or bytes-like value: the whole
 * repr of a 2 GiB bytes object takes half a minute and 8 GiB, only to be
 * cut to 80 characters.  Returns a new reference, NULL with an exception,
 * or Py_None (new ref) when `o` is not such a value. */
static PyObject *
short_repr_head(PyObject *o)
{
    enum { HEAD = 80 };
    if (PyUnicode_Check(o)) {
        if (PyUnicode_GET_LENGTH(o) <= HEAD) {
            Py_RETURN_NONE;
        }
        PyObject *head = PyUnicode_Substring(o, 0, HEAD);
        PyObject *r = head ? PyObject_Repr(head) : NULL;
        Py_XDECREF(head);
        return r;
    }
    if (PyBytes_Check(o)) {
        if (PyBytes_GET_SIZE(o) <= HEAD) {
            Py_RETURN_NONE;
        }
        PyObject *head = PyBytes_FromStringAndSize(PyBytes_AS_STRING(o), HEAD);
        PyObject *r = head ? PyObject_Repr(head) : NULL;
        Py_XDECREF(head);
        return r;
    }
    if (PyByteArray_Check(o) && PyByteArray_GET_SIZE(o) > HEAD) {
        return PyUnicode_FromFormat("<%s object of %zd bytes>",
                                    Py_TYPE(o)->tp_name,
                                    PyByteArray_GET_SIZE(o));
    }
    if (PyMemoryView_Check(o) && PyMemoryView_GET_BUFFER(o)->len > HEAD) {
        return PyUnicode_FromFormat("<%s object of %zd bytes>",
                                    Py_TYPE(o)->tp_name,
                                    PyMemoryView_GET_BUFFER(o)->len);
    }
    Py_RETURN_NONE;
}

PyObject *
pgw_short_repr(PyObject *o)
{
    PyObject *r = short_repr_head(o);
    if (r == Py_None) {
        Py_DECREF(r);
        r = PyObject_Repr(o);
    }
    if (r == NULL) {
        PyErr_Clear();
        return PyUnicode_FromFormat("<%s object>", Py_TYPE(o)->tp_name);
    }
    if (PyUnicode_GET_LENGTH(r) > 80) {
        PyObject *cut = PyUnicode_Substring(r, 0, 77);
        Py_DECREF(r);
        if (cut == NULL) {
            return NULL;
        }
        r = PyUnicode_FromFormat("%U...", cut);
        Py_DECREF(cut);
    }
    return r;
}

/* Turn the pending encoder exception into DataError("invalid input for
 * query argument $N: <value> (<cause>)") chained to the original. */
static void
raise_arg_error(ProtocolObject *p, Py_ssize_t i, PyObject *arg)
{
    ModState *st = p->st;
    PyObject *cause = pgw_fetch_exc();
    if (cause != NULL &&
        PyErr_GivenExceptionMatches(cause, PyExc_NotImplementedError)) {
        /* a value pgwire cannot send (an anonymous record, a composite
         * or range of a text-only type): asyncpg's class and text */
        PyObject *m = PyUnicode_FromFormat("query argument $%zd: %S", i + 1,
                                           cause);
        pgw_raise_caused(st->UnsupportedClientFeatureError, m, cause);
        Py_DECREF(cause);
        return;
    }
    PyObject *rep = pgw_short_repr(arg);
    PyObject *msg = NULL;
    if (rep != NULL && p->bind_seqno >= 0) {
        /* asyncpg's wording, which names the executemany() element */
        msg = PyUnicode_FromFormat(
            "invalid input for query argument $%zd in element #%zd of "
            "executemany() sequence: %U (%S)",
            i + 1, p->bind_seqno, rep, cause ? cause : Py_None);
    }
    else if (rep != NULL) {
        msg = PyUnicode_FromFormat(
            "invalid input for query argument $%zd: %U (%S)", i + 1, rep,
            cause ? cause : Py_None);
    }
    Py_XDECREF(rep);
    pgw_raise_caused(st->DataError, msg, cause);
    Py_XDECREF(cause);
}

static int
encode_param(ProtocolObject *p, StmtObject *s, Py_ssize_t i, PyObject *arg)
{
    if (arg == Py_None) {
        return pgc_build_bind_null(&p->wb) == PGC_OK ? 0 : -1;
    }
    size_t off;
    if (pgc_wbuf_reserve_len(&p->wb, &off) != PGC_OK) {
        PyErr_NoMemory();
        return -1;
    }
    const PgwCodec *c = s->param_codecs[i];
    if (c->encode == NULL) {
        PyErr_Format(PyExc_TypeError, "no encoder for type %s", c->name);
        raise_arg_error(p, i, arg);
        return -1;
    }
    if (c->encode(&p->codec, c, arg, &p->wb) < 0) {
        raise_arg_error(p, i, arg);
        return -1;
    }
    if (pgc_wbuf_patch_len(&p->wb, off) != PGC_OK) {
        PyErr_Format(p->st->DataError,
                     "invalid input for query argument $%zd: value too large",
                     i + 1);
        return -1;
    }
    return 0;
}

static int
check_arg_count(StmtObject *s, Py_ssize_t nargs)
{
    if (nargs == s->nparams) {
        return 0;
    }
    if (nargs > PGW_MAX_QUERY_ARGS) {
        return pgw_too_many_args(s->st, nargs);
    }
    PyErr_Format(s->st->InterfaceError,
                 "the server expects %d argument%s for this query, "
                 "%zd %s passed",
                 (int)s->nparams, s->nparams == 1 ? "" : "s", nargs,
                 nargs == 1 ? "was" : "were");
    return -1;
}

static int
bind_error(ProtocolObject *p, StmtObject *s, PgcStatus rc, PgcReqBuilder *b)
{
    pgc_req_bind_cancel(b);
    if (rc == PGC_ERR_LIMIT && strncmp(p->conn.err_msg, "too many", 8) != 0) {
        PyErr_SetString(s->st->DataError,
                        "query arguments exceed the protocol's message limit");
        return -1;
    }
    return pgw_proto_push_error(p, rc);
}

static int
write_bind(ProtocolObject *p, StmtObject *s, PyObject *args, PgcStr portal,
           int with_results, PgcReqBuilder *b)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (check_arg_count(s, nargs) < 0) {
        pgw_paramstyle_hint_pending(p, s->query);
        return -1;
    }
    PgcStatus rc = pgc_req_bind_start(b, portal, bytes_str(s->name),
                                      s->nparam_formats, s->param_formats,
                                      s->nparams);
    if (rc != PGC_OK) {
        return bind_error(p, s, rc, b);
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (encode_param(p, s, i, PyTuple_GET_ITEM(args, i)) < 0) {
            pgc_req_bind_cancel(b);
            return -1;
        }
    }
    rc = pgc_req_bind_end(b, with_results ? s->ncol_formats : 0,
                          s->col_formats);
    if (rc != PGC_OK) {
        return bind_error(p, s, rc, b);
    }
    return 0;
}

int
pgw_stmt_write_bind(ProtocolObject *p, StmtObject *s, PyObject *args,
                    PgcStr portal, int with_results, PgcReqBuilder *b)
{
    if (s->pf_names == NULL) {
        return write_bind(p, s, args, portal, with_results, b);
    }
    /* %(name)s: args is (mapping,) (paramstyle.c) */
    PyObject *values = pgw_paramstyle_args(s, args);
    if (values == NULL) {
        return -1;
    }
    int rc = write_bind(p, s, values, portal, with_results, b);
    Py_DECREF(values);
    return rc;
}

int
pgw_stmt_write_bind_exec(ProtocolObject *p, StmtObject *s, PyObject *args,
                         int32_t max_rows, int with_results, int describe,
                         PgcReqBuilder *b)
{
    PgcStr empty = {"", 0};
    if (pgw_stmt_write_bind(p, s, args, empty, with_results, b) < 0) {
        return -1;
    }
    PgcStatus rc = PGC_OK;
    if (describe) {
        rc = pgc_req_describe(b, PGC_TARGET_PORTAL, empty);
    }
    if (rc == PGC_OK) {
        rc = pgc_req_execute(b, empty, max_rows);
    }
    if (rc != PGC_OK) {
        /* the Bind is in: the caller aborts the whole request */
        return pgw_proto_push_error(p, rc);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Row decoding (hot)                                                  */
/* ------------------------------------------------------------------ */
/* A NotImplementedError of a decoder (a composite or range of a text-only
 * type): asyncpg's UnsupportedClientFeatureError, chained. */
static void
unsupported_column(ModState *st)
{
    PyObject *cause = pgw_fetch_exc();
    if (cause != NULL) {
        pgw_raise_caused(st->UnsupportedClientFeatureError,
                         PyObject_Str(cause), cause);
        Py_DECREF(cause);
    }
}

static void
note_column(StmtObject *s, uint16_t i)
{
    PyObject *v = PyErr_GetRaisedException();
    if (v != NULL) {
        PyObject *note = PyUnicode_FromFormat(
            "while decoding column %R (type %s, oid %u)",
            PyTuple_GET_ITEM(s->names, i), s->col_codecs[i]->name,
            (unsigned)s->col_oids[i]);
        if (note != NULL) {
            PyObject *r = PyObject_CallMethodOneArg(v, s->st->str_add_note,
                                                    note);
            Py_XDECREF(r);
            Py_DECREF(note);
        }
        PyErr_Clear();
    }
    PyErr_SetRaisedException(v);
}

/* Why column i did not decode, added to the exception set. */
static void
column_failed(StmtObject *s, uint16_t i)
{
    if (PyErr_ExceptionMatches(PyExc_NotImplementedError)) {
        unsupported_column(s->st);
    }
    note_column(s, i);
}

/* Column i of the parsed DataRow: new reference, or NULL with an
 * exception naming the column. */
static inline PyObject *
decode_column(StmtObject *s, const PgwCodecCtx *ctx, uint16_t i)
{
    const PgcCol *col = &s->cols[i];
    if (col->len < 0) {
        return Py_NewRef(Py_None);
    }
    const PgwCodec *c = s->col_decoders[i];
    PyObject *v = c->decode(ctx, c, col->p, (size_t)col->len);
    if (v == NULL) {
        column_failed(s, i);
    }
    return v;
}

/* Decode the n columns of a DataRow into items[0..n) (uninitialised
 * storage of a record or tuple).  *gc_items: any item the cyclic GC knows
 * about.  0, or -1 with an exception (the items decoded so far stay set,
 * the rest are NULL). */
static int
decode_values(StmtObject *s, const PgwCodecCtx *ctx, PyObject **items,
              int *gc_items)
{
    uint16_t n = s->ncols;
    for (uint16_t i = 0; i < n; i++) {
        PyObject *v = decode_column(s, ctx, i);
        items[i] = v;
        if (v == NULL) {
            while (++i < n) {
                items[i] = NULL;
            }
            return -1;
        }
        *gc_items |= PyObject_IS_GC(v);
    }
    return 0;
}

/* A dict row: each value stored under its name as it is decoded (no
 * array of values, no second pass to release them). */
static PyObject *
decode_dict_row(StmtObject *s, const PgwCodecCtx *ctx, PyObject *maker)
{
    PyObject *d = pgw_rows_dict_new(maker);
    if (d == NULL) {
        return NULL;
    }
    PyObject *names = PGW_RM(maker)->names;
    for (uint16_t i = 0; i < s->ncols; i++) {
        PyObject *v = decode_column(s, ctx, i);
        if (v == NULL) {
            Py_DECREF(d);
            return NULL;
        }
        int rc = PyDict_SetItem(d, PyTuple_GET_ITEM(names, i), v);
        Py_DECREF(v);
        if (rc < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

/* The values of a row in items[0..n), then the row the maker makes of
 * them; every value is released. */
static PyObject *
decode_into_array(StmtObject *s, const PgwCodecCtx *ctx, PyObject *maker,
                  PyObject **items)
{
    uint16_t i, n = s->ncols;
    PyObject *row = NULL;
    for (i = 0; i < n; i++) {
        items[i] = decode_column(s, ctx, i);
        if (items[i] == NULL) {
            break;
        }
    }
    if (i == n) {
        row = pgw_rows_make_array(maker, items, n);
    }
    while (i > 0) {
        Py_DECREF(items[--i]);
    }
    return row;
}

/* Tuple rows and user makers: the values in a tuple. */
static PyObject *
decode_tuple_row(StmtObject *s, const PgwCodecCtx *ctx, PyObject *maker)
{
    PyObject *t = PyTuple_New(s->ncols);
    int gc_items = 0;
    if (t == NULL) {
        return NULL;
    }
    if (decode_values(s, ctx, &PyTuple_GET_ITEM(t, 0), &gc_items) < 0) {
        Py_DECREF(t);
        return NULL;
    }
    return pgw_rows_make(maker, t);
}

/* A row made by a row factory (rows.c): the maker resolved once per
 * description and cached on the statement, fed the way its kind is
 * cheapest (rows.h). */
static PyObject *
decode_factory_row(StmtObject *s, const PgwCodecCtx *ctx, PyObject *factory)
{
    PyObject *maker = pgw_rows_maker_cached(s->row_maker, factory, s->desc);
    if (maker == NULL) {
        maker = pgw_rows_maker_for(s->st, &s->row_maker, factory, s->desc,
                                   s->names);
        if (maker == NULL) {
            return NULL;
        }
    }
    Py_INCREF(maker); /* the maker may replace the statement's cache */
    PyObject *row;
    PgwRowKind kind = PGW_RM(maker)->kind;
    if (kind == PGW_RM_DICT) {
        row = decode_dict_row(s, ctx, maker);
    }
    else if (kind == PGW_RM_TUPLE || kind == PGW_RM_CALL) {
        row = decode_tuple_row(s, ctx, maker);
    }
    else if (s->ncols <= 32) {
        PyObject *stack[32];
        row = decode_into_array(s, ctx, maker, stack);
    }
    else {
        PyObject **items = PyMem_Malloc(s->ncols * sizeof(PyObject *));
        row = items ? decode_into_array(s, ctx, maker, items)
                    : PyErr_NoMemory();
        PyMem_Free(items);
    }
    Py_DECREF(maker);
    return row;
}

PyObject *
pgw_stmt_decode_row(StmtObject *s, const PgwCodecCtx *ctx, PyObject *shape,
                    PgcView body)
{
    uint16_t n = s->ncols;
    if (pgc_parse_data_row(body, n, s->cols) != PGC_OK) {
        PyErr_Format(s->st->ProtocolError,
                     "malformed DataRow (expected %d columns)", (int)n);
        return NULL;
    }
    if (!PyType_Check(shape)) {
        return decode_factory_row(s, ctx, shape);
    }
    PyObject *rec = pgw_record_new_unset((PyTypeObject *)shape, s->desc, n);
    if (rec == NULL) {
        return NULL;
    }
    int gc_items = 0; /* any item the cyclic GC knows about? */
    if (decode_values(s, ctx, ((RecordObject *)rec)->items, &gc_items) < 0) {
        Py_DECREF(rec);
        return NULL;
    }
    /* Rows of ints, strs, dates...: nothing for pgw_record_done to look at
     * (an exact Record stays untracked; a subclass's is tracked already). */
    if (gc_items) {
        pgw_record_done(rec);
    }
    return rec;
}
