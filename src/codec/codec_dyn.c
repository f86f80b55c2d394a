/* codec_dyn.c -- the Codec type: codecs built at run time from catalog
 * information (see codec_dyn.h), their constructors, the domain and enum
 * codecs, and the context fields they need.
 *
 * The composite and anonymous record codecs live in codec_dyn_record.c,
 * ranges and multiranges in codec_dyn_range.c.
 */
#include "codec_dyn.h"
#include "codec_internal.h"
#include "codec_dyn_priv.h"

typedef struct {
    PyObject_HEAD
    PgwDynCodec dyn;
} CodecObject;

static const char *const kind_names[] = {
    [PGW_DYN_BUILTIN] = "builtin", [PGW_DYN_TEXT] = "text",
    [PGW_DYN_ARRAY] = "array",     [PGW_DYN_COMPOSITE] = "composite",
    [PGW_DYN_ENUM] = "enum",       [PGW_DYN_DOMAIN] = "domain",
    [PGW_DYN_RANGE] = "range",     [PGW_DYN_MULTIRANGE] = "multirange",
    [PGW_DYN_PYTHON] = "python",   [PGW_DYN_ALIAS] = "alias",
};

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

/* A tuple of interned strings (new reference). */
static PyObject *
dyn_kwnames(const char *a, const char *b, const char *c)
{
    const char *names[] = {a, b, c};
    Py_ssize_t n = c ? 3 : b ? 2 : 1;
    PyObject *t = PyTuple_New(n);
    for (Py_ssize_t i = 0; t != NULL && i < n; i++) {
        PyObject *s = PyUnicode_InternFromString(names[i]);
        if (s == NULL) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, s);
    }
    return t;
}

#define DYN_SET(field, expr)      \
    do {                          \
        ctx->field = (expr);      \
        if (ctx->field == NULL) { \
            return -1;            \
        }                         \
    } while (0)

/* On failure the fields set so far stay in ctx (cleared by m_clear). */
int
pgw_codec_dyn_ctx_init(PgwCodecCtx *ctx)
{
    DYN_SET(range_type, pgw_import_attr("pgwire.types", "Range"));
    DYN_SET(mapping_abc, pgw_import_attr("collections.abc", "Mapping"));
    DYN_SET(outdated_schema_error,
            pgw_import_attr("pgwire.exceptions", "OutdatedSchemaCacheError"));
    DYN_SET(str_lower, PyUnicode_InternFromString("lower"));
    DYN_SET(str_upper, PyUnicode_InternFromString("upper"));
    DYN_SET(str_lower_inc, PyUnicode_InternFromString("lower_inc"));
    DYN_SET(str_upper_inc, PyUnicode_InternFromString("upper_inc"));
    DYN_SET(str_isempty, PyUnicode_InternFromString("isempty"));
    DYN_SET(kw_range, dyn_kwnames("lower_inc", "upper_inc", NULL));
    DYN_SET(kw_empty, dyn_kwnames("empty", NULL, NULL));
    DYN_SET(kw_outdated, dyn_kwnames("schema", "data_type", "position"));
    return 0;
}

int
pgw_codec_dyn_ctx_traverse(PgwCodecCtx *ctx, visitproc visit, void *arg)
{
    Py_VISIT(ctx->range_type);
    Py_VISIT(ctx->mapping_abc);
    Py_VISIT(ctx->outdated_schema_error);
    return 0;
}

void
pgw_codec_dyn_ctx_clear(PgwCodecCtx *ctx)
{
    Py_CLEAR(ctx->range_type);
    Py_CLEAR(ctx->mapping_abc);
    Py_CLEAR(ctx->outdated_schema_error);
    Py_CLEAR(ctx->str_lower);
    Py_CLEAR(ctx->str_upper);
    Py_CLEAR(ctx->str_lower_inc);
    Py_CLEAR(ctx->str_upper_inc);
    Py_CLEAR(ctx->str_isempty);
    Py_CLEAR(ctx->kw_range);
    Py_CLEAR(ctx->kw_empty);
    Py_CLEAR(ctx->kw_outdated);
}

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

int
pgw_codec_put_value(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    PyObject *obj, PgcWBuf *buf)
{
    size_t off;
    if (codec->encode == NULL) { /* a decode-only type */
        PyErr_Format(PyExc_TypeError, "no encoder for type %s", codec->name);
        return -1;
    }
    PgcStatus st = pgc_wbuf_reserve_len(buf, &off);
    if (st != PGC_OK) {
        return pgw_codec_buf_error(st);
    }
    if (codec->encode(ctx, codec, obj, buf) < 0) {
        return -1;
    }
    st = pgc_wbuf_patch_len(buf, off);
    return st == PGC_OK ? 0 : pgw_codec_buf_error(st);
}

/* ------------------------------------------------------------------ */
/* Domains: the base codec under another oid                           */
/* ------------------------------------------------------------------ */

static PyObject *
domain_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, const uint8_t *p,
              size_t n)
{
    const PgwCodec *base = ((const PgwDynCodec *)codec)->sub_codec;
    return base->decode(ctx, base, p, n);
}

static int
domain_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
              PgcWBuf *buf)
{
    const PgwCodec *base = ((const PgwDynCodec *)codec)->sub_codec;
    return base->encode(ctx, base, obj, buf);
}

/* ------------------------------------------------------------------ */
/* The Codec type                                                      */
/* ------------------------------------------------------------------ */

static int
codec_traverse(CodecObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->dyn.name);
    Py_VISIT(self->dyn.schema);
    Py_VISIT(self->dyn.sub);
    Py_VISIT(self->dyn.field_names);
    Py_VISIT(self->dyn.field_codecs);
    Py_VISIT(self->dyn.field_index);
    Py_VISIT(self->dyn.desc);
    Py_VISIT(self->dyn.py_encoder);
    Py_VISIT(self->dyn.py_decoder);
    return 0;
}

/* A Codec cannot be part of a cycle through its children (they are built
 * before it and never refer back); only the callables of a python codec
 * (set_type_codec) may lead back to it, and the GC then clears them (its
 * encode/decode raise afterwards).  Otherwise clear is only called from
 * dealloc; it drops the child pointers with the references that keep them
 * valid. */
static int
codec_clear(CodecObject *self)
{
    PgwDynCodec *d = &self->dyn;
    Py_CLEAR(d->py_encoder);
    Py_CLEAR(d->py_decoder);
    d->sub_codec = NULL;
    d->codec.elem = NULL;
    d->nfields = 0;
    Py_CLEAR(d->sub);
    Py_CLEAR(d->field_codecs);
    Py_CLEAR(d->desc);
    return 0;
}

static void
codec_dealloc(CodecObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PgwDynCodec *d = &self->dyn;
    PyObject_GC_UnTrack(self);
    (void)codec_clear(self);
    Py_CLEAR(d->name);
    Py_CLEAR(d->schema);
    Py_CLEAR(d->field_names);
    Py_CLEAR(d->field_index);
    PyMem_Free(d->field_oids);
    PyMem_Free(d->fields);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *
codec_repr(CodecObject *self)
{
    const PgwDynCodec *d = &self->dyn;
    const char *fmt = d->codec.format == PGC_FORMAT_BINARY ? "binary" : "text";
    if (d->schema != NULL && d->schema != Py_None) {
        return PyUnicode_FromFormat("<pgwire.Codec %s %S.%S oid=%u %s>",
                                    kind_names[d->kind], d->schema, d->name,
                                    (unsigned)d->codec.oid, fmt);
    }
    return PyUnicode_FromFormat("<pgwire.Codec %s %S oid=%u %s>",
                                kind_names[d->kind], d->name,
                                (unsigned)d->codec.oid, fmt);
}

static PyObject *
codec_get_oid(CodecObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(self->dyn.codec.oid);
}

static PyObject *
codec_get_name(CodecObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->dyn.name);
}

static PyObject *
codec_get_kind(CodecObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(kind_names[self->dyn.kind]);
}

static PyObject *
codec_get_format(CodecObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->dyn.codec.format);
}

static PyGetSetDef codec_getset[] = {
    {"oid", (getter)codec_get_oid, NULL, "The type oid.", NULL},
    {"name", (getter)codec_get_name, NULL, "The type name.", NULL},
    {"kind", (getter)codec_get_kind, NULL,
     "builtin, text, array, composite, enum, domain, range or multirange.",
     NULL},
    {"format", (getter)codec_get_format, NULL,
     "Wire format: 1 binary, 0 text.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(
    codec_doc,
    "A codec of one PostgreSQL type, built per connection from the catalog\n"
    "(arrays, composites, enums, domains, ranges, multiranges) or wrapping a\n"
    "builtin codec.  Immutable; not constructible from Python.");

static PyType_Slot codec_slots[] = {
    {Py_tp_doc, (void *)codec_doc},
    {Py_tp_traverse, codec_traverse},
    {Py_tp_clear, codec_clear},
    {Py_tp_dealloc, codec_dealloc},
    {Py_tp_repr, codec_repr},
    {Py_tp_getset, codec_getset},
    {0, NULL},
};

static PyType_Spec codec_spec = {
    .name = "pgwire.Codec",
    .basicsize = sizeof(CodecObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = codec_slots,
};

int
pgw_codec_setup_types(PyObject *module, PyTypeObject **out)
{
    *out = (PyTypeObject *)PyType_FromModuleAndSpec(module, &codec_spec, NULL);
    if (*out == NULL) {
        return -1;
    }
    return PyModule_AddType(module, *out);
}

int
pgw_codec_check(PyObject *obj)
{
    return Py_TYPE(obj)->tp_dealloc == (destructor)codec_dealloc;
}

const PgwCodec *
pgw_codec_get(PyObject *obj)
{
    if (!pgw_codec_check(obj)) {
        pgw_codec_type_error("Codec", obj);
        return NULL;
    }
    const PgwDynCodec *d = &((CodecObject *)obj)->dyn;
    return d->kind == PGW_DYN_BUILTIN ? d->sub_codec : &d->codec;
}

/* ------------------------------------------------------------------ */
/* Constructors                                                        */
/* ------------------------------------------------------------------ */

/* A new Codec with its oid and name set and the text I/O codec
 * functions (the constructors override them).  name: str, borrowed. */
static CodecObject *
codec_alloc(PyTypeObject *type, PgwDynKind kind, uint32_t oid, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        pgw_codec_type_error("str for the type name", name);
        return NULL;
    }
    const char *utf8 = PyUnicode_AsUTF8(name);
    if (utf8 == NULL) {
        return NULL;
    }
    CodecObject *self = PyObject_GC_New(CodecObject, type);
    if (self == NULL) {
        return NULL;
    }
    memset((char *)self + sizeof(PyObject), 0,
           sizeof(CodecObject) - sizeof(PyObject));
    memset(&self->dyn, 0, sizeof(self->dyn));
    PgwDynCodec *d = &self->dyn;
    d->kind = kind;
    d->name = Py_NewRef(name);
    d->schema = Py_NewRef(Py_None);
    d->codec.oid = oid;
    d->codec.name = utf8; /* the str's cached UTF-8, lives with d->name */
    d->codec.format = PGC_FORMAT_TEXT;
    d->codec.decode = pgw_text_decode;
    d->codec.encode = pgw_text_encode;
    return self;
}

/* The new codec's child: takes a reference; 0, or -1 (TypeError) when
 * sub is not a Codec. */
static int
codec_set_sub(CodecObject *self, PyObject *sub)
{
    const PgwCodec *c = pgw_codec_get(sub);
    if (c == NULL) {
        return -1;
    }
    self->dyn.sub = Py_NewRef(sub);
    self->dyn.sub_codec = c;
    return 0;
}

static PyObject *
codec_done(CodecObject *self)
{
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *
codec_fail(CodecObject *self)
{
    /* not tracked yet: dealloc untracks harmlessly */
    Py_DECREF(self);
    return NULL;
}

PyObject *
pgw_codec_new_builtin(PyTypeObject *type, uint32_t oid)
{
    const PgwCodec *c = pgw_codec_builtin(oid);
    if (c == NULL) {
        PyErr_Format(PyExc_LookupError, "no builtin codec for oid %u",
                     (unsigned)oid);
        return NULL;
    }
    PyObject *name = PyUnicode_FromString(c->name);
    if (name == NULL) {
        return NULL;
    }
    CodecObject *self = codec_alloc(type, PGW_DYN_BUILTIN, oid, name);
    Py_DECREF(name);
    if (self == NULL) {
        return NULL;
    }
    self->dyn.codec = *c;
    self->dyn.codec.name = c->name;
    self->dyn.sub_codec = c;
    return codec_done(self);
}

PyObject *
pgw_codec_new_text(PyTypeObject *type, uint32_t oid, PyObject *name)
{
    CodecObject *self = codec_alloc(type, PGW_DYN_TEXT, oid, name);
    return self ? codec_done(self) : NULL;
}

PyObject *
pgw_codec_new_enum(PyTypeObject *type, uint32_t oid, PyObject *name)
{
    CodecObject *self = codec_alloc(type, PGW_DYN_ENUM, oid, name);
    if (self == NULL) {
        return NULL;
    }
    /* enum_send/enum_recv: the label's bytes, as text */
    self->dyn.codec.format = PGC_FORMAT_BINARY;
    return codec_done(self);
}

PyObject *
pgw_codec_new_domain(PyTypeObject *type, uint32_t oid, PyObject *name,
                     PyObject *base)
{
    CodecObject *self = codec_alloc(type, PGW_DYN_DOMAIN, oid, name);
    if (self == NULL || codec_set_sub(self, base) < 0) {
        return self ? codec_fail(self) : NULL;
    }
    self->dyn.codec.format = self->dyn.sub_codec->format;
    self->dyn.codec.tuple_value = self->dyn.sub_codec->tuple_value;
    self->dyn.codec.decode = domain_decode;
    /* a decode-only base (encode == NULL) stays decode-only */
    self->dyn.codec.encode = self->dyn.sub_codec->encode ? domain_encode
                                                         : NULL;
    return codec_done(self);
}

PyObject *
pgw_codec_new_array(PyTypeObject *type, uint32_t oid, PyObject *name,
                    PyObject *elem)
{
    CodecObject *self = codec_alloc(type, PGW_DYN_ARRAY, oid, name);
    if (self == NULL || codec_set_sub(self, elem) < 0) {
        return self ? codec_fail(self) : NULL;
    }
    PgwDynCodec *d = &self->dyn;
    d->codec.elem = d->sub_codec;
    d->codec.elem_oid = d->sub_codec->oid;
    if (d->sub_codec->format == PGC_FORMAT_BINARY) {
        d->codec.format = PGC_FORMAT_BINARY;
        d->codec.decode = pgw_array_decode;
        d->codec.encode = pgw_array_encode;
    }
    return codec_done(self);
}

/* A composite, range or multirange over a type pgwire only has in the
 * text format: as asyncpg, neither decoded nor encoded
 * (NotImplementedError, which the binding raises as
 * UnsupportedClientFeatureError), rather than passed through as str. */
static PGW_COLD const char *
dyn_text_what(const PgwDynCodec *d)
{
    return d->kind == PGW_DYN_COMPOSITE ? "composite types" : "range types";
}

static PyObject *
dyn_text_unsupported_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                            const uint8_t *p, size_t n)
{
    const PgwDynCodec *d = (const PgwDynCodec *)codec;
    (void)ctx;
    (void)p;
    (void)n;
    if (d->schema != Py_None) {
        PyErr_Format(PyExc_NotImplementedError,
                     "cannot decode type \"%U\".\"%U\": text encoding of "
                     "%s is not supported",
                     d->schema, d->name, dyn_text_what(d));
    }
    else {
        PyErr_Format(PyExc_NotImplementedError,
                     "cannot decode type \"%U\": text encoding of %s is not "
                     "supported",
                     d->name, dyn_text_what(d));
    }
    return NULL;
}

static int
dyn_text_unsupported_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                            PyObject *obj, PgcWBuf *buf)
{
    const PgwDynCodec *d = (const PgwDynCodec *)codec;
    (void)ctx;
    (void)obj;
    (void)buf;
    PyErr_Format(PyExc_NotImplementedError,
                 "cannot encode type \"%U\": text encoding of %s is not "
                 "supported",
                 d->name, dyn_text_what(d));
    return -1;
}

static void
dyn_text_unsupported(PgwDynCodec *d)
{
    d->codec.decode = dyn_text_unsupported_decode;
    d->codec.encode = dyn_text_unsupported_encode;
}

PyObject *
pgw_codec_new_range(PyTypeObject *type, uint32_t oid, PyObject *name,
                    PyObject *subtype)
{
    CodecObject *self = codec_alloc(type, PGW_DYN_RANGE, oid, name);
    if (self == NULL || codec_set_sub(self, subtype) < 0) {
        return self ? codec_fail(self) : NULL;
    }
    PgwDynCodec *d = &self->dyn;
    if (d->sub_codec->format == PGC_FORMAT_BINARY) {
        d->codec.format = PGC_FORMAT_BINARY;
        d->codec.decode = pgw_range_decode;
        d->codec.encode = pgw_range_encode;
        d->codec.tuple_value = 1;
    }
    else {
        dyn_text_unsupported(d);
    }
    return codec_done(self);
}

PyObject *
pgw_codec_new_multirange(PyTypeObject *type, uint32_t oid, PyObject *name,
                         PyObject *range)
{
    CodecObject *self = codec_alloc(type, PGW_DYN_MULTIRANGE, oid, name);
    if (self == NULL || codec_set_sub(self, range) < 0) {
        return self ? codec_fail(self) : NULL;
    }
    PgwDynCodec *d = &self->dyn;
    if (((CodecObject *)range)->dyn.kind != PGW_DYN_RANGE) {
        pgw_codec_type_error("a range Codec", range);
        return codec_fail(self);
    }
    if (d->sub_codec->format == PGC_FORMAT_BINARY) {
        d->codec.format = PGC_FORMAT_BINARY;
        d->codec.decode = pgw_multirange_decode;
        d->codec.encode = pgw_multirange_encode;
    }
    else {
        dyn_text_unsupported(d);
    }
    return codec_done(self);
}

/* ------------------------------------------------------------------ */
/* Composite constructor                                               */
/* ------------------------------------------------------------------ */

static int
comp_field_count_error(const char *what, Py_ssize_t got, Py_ssize_t want)
{
    PyErr_Format(PyExc_ValueError,
                 "composite type: %zd %s for %zd field names", got, what,
                 want);
    return -1;
}

/* names -> d->field_names (a tuple) and d->field_index. */
static int
comp_set_names(PgwDynCodec *d, PyObject *names)
{
    if (PyUnicode_Check(names)) {
        return pgw_codec_type_error("a sequence of field names", names);
    }
    d->field_names = PySequence_Tuple(names);
    if (d->field_names == NULL) {
        return -1;
    }
    d->nfields = PyTuple_GET_SIZE(d->field_names);
    d->field_index = PyDict_New();
    if (d->field_index == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < d->nfields; i++) {
        PyObject *nm = PyTuple_GET_ITEM(d->field_names, i);
        if (!PyUnicode_Check(nm)) {
            return pgw_codec_type_error("str for a field name", nm);
        }
        PyObject *ix = PyLong_FromSsize_t(i);
        if (ix == NULL || PyDict_SetItem(d->field_index, nm, ix) < 0) {
            Py_XDECREF(ix);
            return -1;
        }
        Py_DECREF(ix);
    }
    return 0;
}

static int
comp_set_oids(PgwDynCodec *d, PyObject *oids)
{
    PyObject *seq = PySequence_Tuple(oids);
    if (seq == NULL) {
        return -1;
    }
    int rc = -1;
    if (PyTuple_GET_SIZE(seq) != d->nfields) {
        comp_field_count_error("field oids", PyTuple_GET_SIZE(seq),
                               d->nfields);
        goto done;
    }
    d->field_oids = PyMem_Calloc((size_t)d->nfields + 1, sizeof(uint32_t));
    if (d->field_oids == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < d->nfields; i++) {
        unsigned long v = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(seq, i));
        if (v == (unsigned long)-1 && PyErr_Occurred()) {
            goto done;
        }
        if (v > UINT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "field oid out of range");
            goto done;
        }
        d->field_oids[i] = (uint32_t)v;
    }
    rc = 0;
done:
    Py_DECREF(seq);
    return rc;
}

/* Field codecs; 1 when they are all binary, 0 when one is not, -1. */
static int
comp_set_codecs(PgwDynCodec *d, PyObject *codecs)
{
    int binary = 1;
    d->field_codecs = PySequence_Tuple(codecs);
    if (d->field_codecs == NULL) {
        return -1;
    }
    if (PyTuple_GET_SIZE(d->field_codecs) != d->nfields) {
        return comp_field_count_error("field codecs",
                                      PyTuple_GET_SIZE(d->field_codecs),
                                      d->nfields);
    }
    d->fields = PyMem_Calloc((size_t)d->nfields + 1, sizeof(PgwCodec *));
    if (d->fields == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < d->nfields; i++) {
        d->fields[i] = pgw_codec_get(PyTuple_GET_ITEM(d->field_codecs, i));
        if (d->fields[i] == NULL) {
            return -1;
        }
        binary &= d->fields[i]->format == PGC_FORMAT_BINARY;
    }
    return binary;
}

PyObject *
pgw_codec_new_composite(const PgwCodecCtx *ctx, PyTypeObject *type,
                        uint32_t oid, PyObject *schema, PyObject *name,
                        PyObject *field_names, PyObject *field_oids,
                        PyObject *field_codecs)
{
    int binary;
    if (ctx->record_desc_new == NULL || ctx->record_new == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Record type not set up");
        return NULL;
    }
    if (schema != NULL && schema != Py_None && !PyUnicode_Check(schema)) {
        pgw_codec_type_error("str or None for the schema", schema);
        return NULL;
    }
    CodecObject *self = codec_alloc(type, PGW_DYN_COMPOSITE, oid, name);
    if (self == NULL) {
        return NULL;
    }
    PgwDynCodec *d = &self->dyn;
    Py_XSETREF(d->schema, Py_NewRef(schema ? schema : Py_None));
    if (comp_set_names(d, field_names) < 0 ||
        comp_set_oids(d, field_oids) < 0 ||
        (binary = comp_set_codecs(d, field_codecs)) < 0) {
        return codec_fail(self);
    }
    d->desc = ctx->record_desc_new(ctx->record_state, d->field_names);
    if (d->desc == NULL) {
        return codec_fail(self);
    }
    if (binary) {
        d->codec.format = PGC_FORMAT_BINARY;
        d->codec.decode = pgw_composite_decode;
        d->codec.encode = pgw_composite_encode;
        d->codec.tuple_value = 1;
    }
    else {
        dyn_text_unsupported(d);
    }
    return codec_done(self);
}

/* ------------------------------------------------------------------ */
/* For the constructors of other files (codec_dyn_priv.h)              */
/* ------------------------------------------------------------------ */

PyObject *
pgw_codec_dyn_alloc(PyTypeObject *type, PgwDynKind kind, uint32_t oid,
                    PyObject *name)
{
    return (PyObject *)codec_alloc(type, kind, oid, name);
}

PgwDynCodec *
pgw_codec_dyn(PyObject *obj)
{
    return pgw_codec_check(obj) ? &((CodecObject *)obj)->dyn : NULL;
}

int
pgw_codec_dyn_set_sub(PyObject *self, PyObject *sub)
{
    return codec_set_sub((CodecObject *)self, sub);
}

PyObject *
pgw_codec_dyn_done(PyObject *self)
{
    return codec_done((CodecObject *)self);
}

PyObject *
pgw_codec_dyn_fail(PyObject *self)
{
    return codec_fail((CodecObject *)self);
}
