/* codec_make.c -- the module functions that build Codec objects: one
 * constructor per kind of type codec (src/codec/codec_dyn.h), called by
 * pgwire/introspection.py for the types it finds in the catalog and by
 * pgwire/connection.py for set_type_codec(), set_builtin_type_codec() and
 * connect(json_decode=True).
 *
 * Each function checks its arguments at the boundary and names the one
 * that is wrong, what it expected and what it was given; the constructors
 * below it get typed C values (an oid as uint32_t, a format as an enum, a
 * child as a Codec object).
 */
#include "ext.h"
#include "../codec/codec_dyn.h"
#include "../core/pgc_msg.h"

/* ------------------------------------------------------------------ */
/* Argument checks                                                     */
/* ------------------------------------------------------------------ */

/* TypeError "fn(): arg must be expected, not <type>"; -1. */
static int
make_arg_error(const char *fn, const char *arg, const char *expected,
               PyObject *given)
{
    PyErr_Format(PyExc_TypeError, "%s(): %s must be %s, not %.100s", fn, arg,
                 expected, Py_TYPE(given)->tp_name);
    return -1;
}

/* An oid argument (an int in 0..2**32-1): 0, or -1 with an exception. */
static int
make_oid(const char *fn, const char *arg, PyObject *v, uint32_t *oid)
{
    if (!PyLong_Check(v)) {
        return make_arg_error(fn, arg, "an int (a type oid)", v);
    }
    unsigned long u = PyLong_AsUnsignedLong(v);
    if (u == (unsigned long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
    }
    if (u > UINT32_MAX) { /* also (unsigned long)-1 after an overflow */
        PyErr_Format(PyExc_OverflowError,
                     "%s(): %s must be a type oid in 0..4294967295, not %R",
                     fn, arg, v);
        return -1;
    }
    *oid = (uint32_t)u;
    return 0;
}

/* The oid and name arguments every constructor but builtin_codec takes. */
static int
make_head(const char *fn, PyObject *oid_obj, PyObject *name, uint32_t *oid)
{
    if (make_oid(fn, "oid", oid_obj, oid) < 0) {
        return -1;
    }
    if (!PyUnicode_Check(name)) {
        return make_arg_error(fn, "name", "a str (the type name)", name);
    }
    return 0;
}

static int
make_codec_arg(const char *fn, const char *arg, PyObject *v)
{
    return pgw_codec_check(v) ? 0 : make_arg_error(fn, arg, "a Codec", v);
}

static int
make_callable_arg(const char *fn, const char *arg, PyObject *v)
{
    return PyCallable_Check(v) ? 0 : make_arg_error(fn, arg, "callable", v);
}

/* A format argument: None -> dflt (when dflt >= 0), else one of names
 * (its index).  -1 with an exception set on anything else. */
static int
make_format(const char *fn, PyObject *v, const char *const *names, int nnames,
            int dflt, const char *expected)
{
    if (v == Py_None && dflt >= 0) {
        return dflt;
    }
    if (PyUnicode_Check(v)) {
        for (int i = 0; i < nnames; i++) {
            if (PyUnicode_CompareWithASCIIString(v, names[i]) == 0) {
                return i;
            }
        }
    }
    PyErr_Format(PyUnicode_Check(v) ? PyExc_ValueError : PyExc_TypeError,
                 "%s(): format must be %s, not %R", fn, expected, v);
    return -1;
}

static PyTypeObject *
make_type(PyObject *module)
{
    return pgw_get_state(module)->CodecType;
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

/* builtin_codec(oid) */
static PyObject *
make_builtin(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kw[] = {"oid", NULL};
    PyObject *oid_obj;
    uint32_t oid;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:builtin_codec", kw,
                                     &oid_obj) ||
        make_oid("builtin_codec", "oid", oid_obj, &oid) < 0) {
        return NULL;
    }
    return pgw_codec_new_builtin(make_type(module), oid);
}

/* has_builtin_codec(oid) */
static PyObject *
make_has_builtin(PyObject *module, PyObject *arg)
{
    uint32_t oid;
    (void)module;
    if (make_oid("has_builtin_codec", "oid", arg, &oid) < 0) {
        return NULL;
    }
    return PyBool_FromLong(pgw_codec_builtin(oid) != NULL);
}

typedef PyObject *(*MakeNamed)(PyTypeObject *type, uint32_t oid,
                               PyObject *name);

/* fn(oid, name) */
static PyObject *
make_named(PyObject *module, PyObject *args, PyObject *kwargs, const char *fn,
           MakeNamed make)
{
    static char *kw[] = {"oid", "name", NULL};
    PyObject *oid_obj, *name;
    uint32_t oid;
    char spec[64];
    snprintf(spec, sizeof spec, "OO:%s", fn);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, spec, kw, &oid_obj,
                                     &name) ||
        make_head(fn, oid_obj, name, &oid) < 0) {
        return NULL;
    }
    return make(make_type(module), oid, name);
}

/* ------------------------------------------------------------------ */
/* Codecs over one child codec                                         */
/* ------------------------------------------------------------------ */

typedef PyObject *(*MakeChild)(PyTypeObject *type, uint32_t oid,
                               PyObject *name, PyObject *child);

/* fn(oid, name, <child>) */
static PyObject *
make_child(PyObject *module, PyObject *args, PyObject *kwargs, const char *fn,
           const char *child_kw, MakeChild make)
{
    char *kw[] = {"oid", "name", (char *)child_kw, NULL};
    PyObject *oid_obj, *name, *child;
    uint32_t oid;
    char spec[64];
    snprintf(spec, sizeof spec, "OOO:%s", fn);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, spec, kw, &oid_obj, &name,
                                     &child) ||
        make_head(fn, oid_obj, name, &oid) < 0 ||
        make_codec_arg(fn, child_kw, child) < 0) {
        return NULL;
    }
    return make(make_type(module), oid, name, child);
}

/* The module functions of the constructors above: func(module, args,
 * kwargs) calls helper(module, args, kwargs, <the rest>). */
#define MAKE_FUNCTION(func, helper, ...)                                      \
    static PyObject *func(PyObject *module, PyObject *args, PyObject *kwargs) \
    {                                                                         \
        return helper(module, args, kwargs, __VA_ARGS__);                     \
    }

MAKE_FUNCTION(make_text, make_named, "text_codec", pgw_codec_new_text)
MAKE_FUNCTION(make_enum, make_named, "enum_codec", pgw_codec_new_enum)
MAKE_FUNCTION(make_array, make_child, "array_codec", "elem",
              pgw_codec_new_array)
MAKE_FUNCTION(make_textarray, make_child, "text_array_codec", "elem",
              pgw_codec_new_textarray)
MAKE_FUNCTION(make_domain, make_child, "domain_codec", "base",
              pgw_codec_new_domain)
MAKE_FUNCTION(make_range, make_child, "range_codec", "subtype",
              pgw_codec_new_range)
MAKE_FUNCTION(make_multirange, make_child, "multirange_codec", "range",
              pgw_codec_new_multirange)

/* composite_codec(oid, name, names, oids, codecs, schema=None) */
static PyObject *
make_composite(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static const char fn[] = "composite_codec";
    static char *kw[] = {"oid",    "name",   "names", "oids",
                         "codecs", "schema", NULL};
    PyObject *oid_obj, *name, *names, *oids, *codecs, *schema = Py_None;
    uint32_t oid;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOO|O:composite_codec",
                                     kw, &oid_obj, &name, &names, &oids,
                                     &codecs, &schema) ||
        make_head(fn, oid_obj, name, &oid) < 0) {
        return NULL;
    }
    if (schema != Py_None && !PyUnicode_Check(schema)) {
        make_arg_error(fn, "schema", "a str or None", schema);
        return NULL;
    }
    ModState *st = pgw_get_state(module);
    return pgw_codec_new_composite(&st->codec, st->CodecType, oid, schema,
                                   name, names, oids, codecs);
}

/* ------------------------------------------------------------------ */
/* Custom codecs (src/codec/codec_dyn_py.c)                            */
/* ------------------------------------------------------------------ */

/* python_codec(oid, name, encoder, decoder, format='text', base=None) */
static PyObject *
make_python(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static const char fn[] = "python_codec";
    static const char *const formats[] = {"text", "binary", "tuple"};
    static char *kw[] = {"oid",    "name", "encoder", "decoder",
                         "format", "base", NULL};
    PyObject *oid_obj, *name, *enc, *dec, *format = NULL, *base = Py_None;
    uint32_t oid;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|OO:python_codec", kw,
                                     &oid_obj, &name, &enc, &dec, &format,
                                     &base) ||
        make_head(fn, oid_obj, name, &oid) < 0 ||
        make_callable_arg(fn, "encoder", enc) < 0 ||
        make_callable_arg(fn, "decoder", dec) < 0 ||
        (base != Py_None && make_codec_arg(fn, "base", base) < 0)) {
        return NULL;
    }
    int fmt = format == NULL ? PGW_PY_TEXT
                             : make_format(fn, format, formats, 3, PGW_PY_TEXT,
                                           "'text', 'binary' or 'tuple'");
    if (fmt < 0) {
        return NULL;
    }
    return pgw_codec_new_python(make_type(module), oid, name, enc, dec,
                                (PgwPyFormat)fmt,
                                base == Py_None ? NULL : base);
}

/* The target of alias_codec: a builtin oid or an extra codec's name. */
static const PgwCodec *
make_alias_target(const char *fn, PyObject *t)
{
    const PgwCodec *target;
    uint32_t toid;
    if (PyUnicode_Check(t)) {
        const char *s = PyUnicode_AsUTF8(t);
        if (s == NULL) {
            return NULL;
        }
        target = pgw_codec_extra(s);
    }
    else if (PyLong_Check(t)) {
        if (make_oid(fn, "target", t, &toid) < 0) {
            return NULL;
        }
        target = pgw_codec_builtin(toid);
    }
    else {
        make_arg_error(fn, "target",
                       "an int (a builtin type oid) or a str (an extra "
                       "codec's name)",
                       t);
        return NULL;
    }
    if (target == NULL) {
        PyErr_Format(PyExc_LookupError, "%s(): target: no codec %R", fn, t);
    }
    return target;
}

/* alias_codec(oid, name, target, format=None) */
static PyObject *
make_alias(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static const char fn[] = "alias_codec";
    static const char *const formats[] = {"text", "binary"};
    static char *kw[] = {"oid", "name", "target", "format", NULL};
    PyObject *oid_obj, *name, *t, *format = Py_None;
    uint32_t oid;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|O:alias_codec", kw,
                                     &oid_obj, &name, &t, &format) ||
        make_head(fn, oid_obj, name, &oid) < 0) {
        return NULL;
    }
    int fmt = make_format(fn, format, formats, 2, 2,
                          "None, 'text' or 'binary'");
    const PgwCodec *target = fmt < 0 ? NULL : make_alias_target(fn, t);
    if (target == NULL) {
        return NULL;
    }
    fmt = fmt == 0 ? PGC_FORMAT_TEXT : fmt == 1 ? PGC_FORMAT_BINARY : -1;
    return pgw_codec_new_alias(make_type(module), oid, name, target, fmt);
}

/* json_codec(oid, name, encoder, decoder) */
static PyObject *
make_json(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static const char fn[] = "json_codec";
    static char *kw[] = {"oid", "name", "encoder", "decoder", NULL};
    PyObject *oid_obj, *name, *enc, *dec;
    uint32_t oid;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO:json_codec", kw,
                                     &oid_obj, &name, &enc, &dec) ||
        make_head(fn, oid_obj, name, &oid) < 0 ||
        make_callable_arg(fn, "encoder", enc) < 0 ||
        make_callable_arg(fn, "decoder", dec) < 0) {
        return NULL;
    }
    return pgw_codec_new_json(make_type(module), oid, name, enc, dec);
}

/* ------------------------------------------------------------------ */
/* The method table                                                    */
/* ------------------------------------------------------------------ */

#define MAKE_KW(name, func, doc)                         \
    {                                                    \
        name, (PyCFunction)(void (*)(void))func,         \
            METH_VARARGS | METH_KEYWORDS, PyDoc_STR(doc) \
    }

PyMethodDef pgw_codec_make_methods[] = {
    MAKE_KW("builtin_codec", make_builtin,
            "builtin_codec(oid)\n--\n\n"
            "The codec of a builtin type from the static table "
            "(LookupError\nwhen there is none)."),
    {"has_builtin_codec", make_has_builtin, METH_O,
     PyDoc_STR("has_builtin_codec(oid, /)\n--\n\n"
               "Whether the static table has a codec for oid.")},
    MAKE_KW("text_codec", make_text,
            "text_codec(oid, name)\n--\n\n"
            "Text I/O (str both ways), for a type without a binary codec."),
    MAKE_KW("enum_codec", make_enum,
            "enum_codec(oid, name)\n--\n\nAn enum type <-> str."),
    MAKE_KW("array_codec", make_array,
            "array_codec(oid, name, elem)\n--\n\n"
            "An array of elem, binary when elem is (else as text_codec)."),
    MAKE_KW("text_array_codec", make_textarray,
            "text_array_codec(oid, name, elem)\n--\n\n"
            "An array of a text-format elem, in the text array format."),
    MAKE_KW("domain_codec", make_domain,
            "domain_codec(oid, name, base)\n--\n\n"
            "A domain: the values of base under the domain's oid and name."),
    MAKE_KW("range_codec", make_range,
            "range_codec(oid, name, subtype)\n--\n\n"
            "A range type <-> pgwire.types.Range of subtype's values."),
    MAKE_KW("multirange_codec", make_multirange,
            "multirange_codec(oid, name, range)\n--\n\n"
            "A multirange type <-> list of Range (range: the range's "
            "Codec)."),
    MAKE_KW("composite_codec", make_composite,
            "composite_codec(oid, name, names, oids, codecs, schema=None)"
            "\n--\n\n"
            "A composite type <-> Record: field names (str), field type "
            "oids\nand field Codecs, all of one length."),
    MAKE_KW("python_codec", make_python,
            "python_codec(oid, name, encoder, decoder, format='text', "
            "base=None)\n--\n\n"
            "set_type_codec(): encoder/decoder exchange str ('text'), "
            "bytes\n('binary') or the tuple form of base ('tuple')."),
    MAKE_KW("alias_codec", make_alias,
            "alias_codec(oid, name, target, format=None)\n--\n\n"
            "set_builtin_type_codec(): the codec of target (a builtin "
            "oid or\n'pg_contrib.hstore') under another oid and name."),
    MAKE_KW("json_codec", make_json,
            "json_codec(oid, name, encoder, decoder)\n--\n\n"
            "json (114) or jsonb (3802) encoded with encoder(obj) and "
            "decoded\nwith decoder(str)."),
    {NULL, NULL, 0, NULL},
};
