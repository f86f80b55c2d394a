/* codec_dyn_py.c -- custom codecs: Connection.set_type_codec (a codec
 * calling the user's encoder/decoder) and set_builtin_type_codec (a
 * builtin or extra codec under another oid), plus text-format arrays of
 * them.
 *
 * A python codec (PGW_DYN_PYTHON) decodes the wire value with an exchange
 * codec (its sub_codec) and passes the result to decoder(); encode calls
 * encoder() and sends what it returns through the exchange codec:
 *   text    str on both sides, text on the wire (pgw_text_*)
 *   binary  bytes / any bytes-like object, binary on the wire (bytea)
 *   tuple   binary on the wire; the type-specific tuple of asyncpg:
 *             date         (days since 2000-01-01,)
 *             time         (microseconds,)
 *             timetz       (microseconds, zone offset in seconds west of
 *                           UTC, as on the wire)
 *             timestamp    (microseconds since 2000-01-01,)
 *             timestamptz  (microseconds since 2000-01-01 UTC,)
 *             interval     (months, days, microseconds)
 *             composite    the field values (decoded by the field codecs)
 *           Infinity is the raw sentinel: int32 max/min for a date, int64
 *           max/min for a timestamp.  Encode takes any sequence of the
 *           right length; the ints are range-checked (OverflowError).
 * Exceptions of the callables propagate unchanged (the binding adds the
 * argument number or the column name).  SQL NULL never reaches them.
 */
#include "codec_dyn_priv.h"

/* ------------------------------------------------------------------ */
/* Integers out of a tuple                                             */
/* ------------------------------------------------------------------ */

static int
tup_i64(PyObject *o, int64_t *out)
{
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

static int
tup_i32(PyObject *o, int32_t *out)
{
    int64_t v;
    if (tup_i64(o, &v) < 0) {
        return -1;
    }
    if (v < INT32_MIN || v > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "value out of int32 range");
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* obj as a fast sequence of exactly `want` items (new reference), or
 * NULL with an exception set. */
static PyObject *
tup_items(const PgwCodec *codec, PyObject *obj, Py_ssize_t want)
{
    PyObject *seq = PySequence_Fast(obj, "");
    if (seq == NULL) {
        PyErr_Clear();
        pgw_codec_type_error("a tuple", obj);
        return NULL;
    }
    Py_ssize_t got = PySequence_Fast_GET_SIZE(seq);
    if (got != want) {
        PyErr_Format(PyExc_ValueError,
                     "%s tuple encoder: expecting %zd element%s in tuple, "
                     "got %zd",
                     codec->name, want, want == 1 ? "" : "s", got);
        Py_DECREF(seq);
        return NULL;
    }
    return seq;
}

/* (int,) of a one-value tuple form: 4 (int32) or 8 (int64) bytes. */
static PyObject *
tup_decode_one(const PgwCodec *codec, const uint8_t *p, size_t n, size_t width)
{
    if (n != width) {
        return pgw_codec_size_error(codec, width, n);
    }
    long long v = width == 4 ? (long long)(int32_t)pgc_load_u32(p)
                             : (long long)(int64_t)pgc_load_u64(p);
    PyObject *i = PyLong_FromLongLong(v);
    if (i == NULL) {
        return NULL;
    }
    PyObject *t = PyTuple_Pack(1, i);
    Py_DECREF(i);
    return t;
}

static int
tup_encode_one(const PgwCodec *codec, PyObject *obj, PgcWBuf *buf,
               size_t width)
{
    PyObject *seq = tup_items(codec, obj, 1);
    int rc = -1;
    int32_t v32;
    int64_t v64;
    if (seq == NULL) {
        return -1;
    }
    PyObject *v = PySequence_Fast_GET_ITEM(seq, 0);
    if (width == 4) {
        if (tup_i32(v, &v32) == 0) {
            rc = pgw_put_i32(buf, v32);
        }
    }
    else if (tup_i64(v, &v64) == 0) {
        rc = pgw_put_i64(buf, v64);
    }
    Py_DECREF(seq);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Tuple forms of the builtin types                                    */
/* ------------------------------------------------------------------ */

static PyObject *
tup_date_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    return tup_decode_one(codec, p, n, 4);
}

static int
tup_date_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)ctx;
    return tup_encode_one(codec, obj, buf, 4);
}

/* time, timestamp, timestamptz: one int64 */
static PyObject *
tup_usec_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    (void)ctx;
    return tup_decode_one(codec, p, n, 8);
}

static int
tup_usec_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)ctx;
    return tup_encode_one(codec, obj, buf, 8);
}

/* timetz: int64 microseconds, int32 zone (seconds west of UTC) */
static PyObject *
tup_timetz_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 12) {
        return pgw_codec_size_error(codec, 12, n);
    }
    return Py_BuildValue("(Li)", (long long)(int64_t)pgc_load_u64(p),
                         (int)(int32_t)pgc_load_u32(p + 8));
}

static int
tup_timetz_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    PyObject *seq = tup_items(codec, obj, 2);
    int64_t us;
    int32_t zone;
    int rc = -1;
    (void)ctx;
    if (seq == NULL) {
        return -1;
    }
    if (tup_i64(PySequence_Fast_GET_ITEM(seq, 0), &us) == 0 &&
        tup_i32(PySequence_Fast_GET_ITEM(seq, 1), &zone) == 0 &&
        pgw_put_i64(buf, us) == 0) {
        rc = pgw_put_i32(buf, zone);
    }
    Py_DECREF(seq);
    return rc;
}

/* interval: wire int64 microseconds, int32 days, int32 months; tuple
 * (months, days, microseconds) */
static PyObject *
tup_interval_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    const uint8_t *p, size_t n)
{
    (void)ctx;
    if (n != 16) {
        return pgw_codec_size_error(codec, 16, n);
    }
    return Py_BuildValue("(iiL)", (int)(int32_t)pgc_load_u32(p + 12),
                         (int)(int32_t)pgc_load_u32(p + 8),
                         (long long)(int64_t)pgc_load_u64(p));
}

static int
tup_interval_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    PyObject *obj, PgcWBuf *buf)
{
    PyObject *seq = tup_items(codec, obj, 3);
    int32_t months, days;
    int64_t us;
    int rc = -1;
    (void)ctx;
    if (seq == NULL) {
        return -1;
    }
    if (tup_i32(PySequence_Fast_GET_ITEM(seq, 0), &months) == 0 &&
        tup_i32(PySequence_Fast_GET_ITEM(seq, 1), &days) == 0 &&
        tup_i64(PySequence_Fast_GET_ITEM(seq, 2), &us) == 0 &&
        pgw_put_i64(buf, us) == 0 && pgw_put_i32(buf, days) == 0) {
        rc = pgw_put_i32(buf, months);
    }
    Py_DECREF(seq);
    return rc;
}

#define TUPLE_FORM(o, nm, fam)                                     \
    {                                                              \
        .oid = (o), .name = (nm), .format = PGC_FORMAT_BINARY,     \
        .decode = tup_##fam##_decode, .encode = tup_##fam##_encode \
    }

static const PgwCodec tuple_forms[] = {
    TUPLE_FORM(1082, "date", date),
    TUPLE_FORM(1083, "time", usec),
    TUPLE_FORM(1114, "timestamp", usec),
    TUPLE_FORM(1184, "timestamptz", usec),
    TUPLE_FORM(1186, "interval", interval),
    TUPLE_FORM(1266, "timetz", timetz),
};

static const PgwCodec *
tuple_form(uint32_t oid)
{
    size_t n = sizeof(tuple_forms) / sizeof(tuple_forms[0]);
    for (size_t i = 0; i < n; i++) {
        if (tuple_forms[i].oid == oid) {
            return &tuple_forms[i];
        }
    }
    return NULL;
}

/* The exchange codecs of the text and binary formats. */
static const PgwCodec xchg_text = {
    .oid = 25,
    .name = "text",
    .format = PGC_FORMAT_TEXT,
    .decode = pgw_text_decode,
    .encode = pgw_text_encode,
};
static const PgwCodec xchg_binary = {
    .oid = 17,
    .name = "bytea",
    .format = PGC_FORMAT_BINARY,
    .decode = pgw_bytea_decode,
    .encode = pgw_bytea_encode,
};

/* ------------------------------------------------------------------ */
/* The python codec                                                    */
/* ------------------------------------------------------------------ */

static PGW_COLD int
py_cleared_error(const PgwCodec *codec)
{
    PyErr_Format(PyExc_RuntimeError,
                 "the custom codec of type %s was "
                 "cleared",
                 codec->name);
    return -1;
}

static PyObject *
py_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, const uint8_t *p,
          size_t n)
{
    const PgwDynCodec *d = (const PgwDynCodec *)codec;
    if (d->py_decoder == NULL) {
        py_cleared_error(codec);
        return NULL;
    }
    PyObject *data = d->sub_codec->decode(ctx, d->sub_codec, p, n);
    if (data != NULL && d->sub != NULL && !PyTuple_CheckExact(data)) {
        /* a composite: the Record's values */
        Py_SETREF(data, PySequence_Tuple(data));
    }
    if (data == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_CallOneArg(d->py_decoder, data);
    Py_DECREF(data);
    return res;
}

/* What the encoder returned must suit the exchange format; the tuple
 * forms check their input themselves. */
static int
py_check_encoded(const PgwDynCodec *d, PyObject *data)
{
    const char *want = NULL;
    if (d->sub_codec == &xchg_text && !PyUnicode_Check(data)) {
        want = "str";
    }
    else if (d->sub_codec == &xchg_binary && !PyObject_CheckBuffer(data)) {
        want = "a bytes-like object";
    }
    if (want != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "the encoder of type %s returned %.100s, expected %s",
                     d->codec.name, Py_TYPE(data)->tp_name, want);
        return -1;
    }
    return 0;
}

/* What encoder() returned, as the exchange codec takes it (a new
 * reference), or NULL with an exception set. */
typedef PyObject *(*PyExchange)(const PgwDynCodec *d, PyObject *data);

/* encoder(obj), made the exchange value by `exchange`, written by the
 * exchange codec (d->sub_codec). */
static int
py_encode_via(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
              PgcWBuf *buf, PyExchange exchange)
{
    const PgwDynCodec *d = (const PgwDynCodec *)codec;
    if (d->py_encoder == NULL) {
        return py_cleared_error(codec);
    }
    PyObject *data = PyObject_CallOneArg(d->py_encoder, obj);
    if (data == NULL) {
        return -1;
    }
    PyObject *value = exchange(d, data);
    Py_DECREF(data);
    if (value == NULL) {
        return -1;
    }
    int rc = d->sub_codec->encode(ctx, d->sub_codec, value, buf);
    Py_DECREF(value);
    return rc;
}

static PyObject *
py_exchange(const PgwDynCodec *d, PyObject *data)
{
    return py_check_encoded(d, data) < 0 ? NULL : Py_NewRef(data);
}

static int
py_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
          PgcWBuf *buf)
{
    return py_encode_via(ctx, codec, obj, buf, py_exchange);
}

/* The exchange codec of the tuple format for base (borrowed), and in
 * *keep the Codec to hold (a composite), or NULL with an exception. */
static const PgwCodec *
py_tuple_base(PyObject *base, PyObject **keep)
{
    *keep = NULL;
    PgwDynCodec *bd = base ? pgw_codec_dyn(base) : NULL;
    if (bd == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "the tuple format needs base=<Codec of the type>");
        return NULL;
    }
    if (bd->kind == PGW_DYN_COMPOSITE) {
        if (bd->codec.format != PGC_FORMAT_BINARY) {
            PyErr_Format(PyExc_ValueError,
                         "composite type %s has a field without a binary "
                         "codec: no tuple format",
                         bd->codec.name);
            return NULL;
        }
        *keep = base;
        return &bd->codec;
    }
    const PgwCodec *c = pgw_codec_get(base);
    const PgwCodec *form = c ? tuple_form(c->oid) : NULL;
    if (form == NULL && c != NULL) {
        PyErr_Format(PyExc_ValueError,
                     "%s type does not support the 'tuple' exchange format",
                     c->name);
    }
    return form;
}

PyObject *
pgw_codec_new_python(PyTypeObject *type, uint32_t oid, PyObject *name,
                     PyObject *encoder, PyObject *decoder, PgwPyFormat format,
                     PyObject *base)
{
    const PgwCodec *xchg = NULL;
    PyObject *keep = NULL;
    if (!PyCallable_Check(encoder) || !PyCallable_Check(decoder)) {
        PyErr_SetString(PyExc_TypeError,
                        "encoder and decoder must be callables");
        return NULL;
    }
    switch (format) {
    case PGW_PY_TEXT:
        xchg = &xchg_text;
        break;
    case PGW_PY_BINARY:
        xchg = &xchg_binary;
        break;
    case PGW_PY_TUPLE:
        xchg = py_tuple_base(base, &keep);
        break;
    }
    if (xchg == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "unknown exchange format");
        }
        return NULL;
    }
    PyObject *self = pgw_codec_dyn_alloc(type, PGW_DYN_PYTHON, oid, name);
    if (self == NULL) {
        return NULL;
    }
    PgwDynCodec *d = pgw_codec_dyn(self);
    if (keep != NULL && pgw_codec_dyn_set_sub(self, keep) < 0) {
        return pgw_codec_dyn_fail(self);
    }
    d->sub_codec = xchg;
    d->py_encoder = Py_NewRef(encoder);
    d->py_decoder = Py_NewRef(decoder);
    d->codec.format = xchg->format;
    d->codec.decode = py_decode;
    d->codec.encode = py_encode;
    d->codec.tuple_value = 1; /* asyncpg: a tuple in an array is a value */
    return pgw_codec_dyn_done(self);
}

/* ------------------------------------------------------------------ */
/* json / jsonb through loads/dumps (connect(json_decode=True))        */
/* ------------------------------------------------------------------ */

/* dumps' result as str: str as is, bytes-like as UTF-8 (orjson.dumps,
 * msgspec.json.encode).  New reference or NULL. */
static PyObject *
json_text(const PgwDynCodec *d, PyObject *data)
{
    if (PyUnicode_Check(data)) {
        return Py_NewRef(data);
    }
    if (PyBytes_Check(data) || PyByteArray_Check(data) ||
        PyMemoryView_Check(data)) {
        return PyUnicode_FromEncodedObject(data, "utf-8", "strict");
    }
    PyErr_Format(PyExc_TypeError,
                 "json_dumps returned %.100s for a %s value, expected str "
                 "or UTF-8 bytes",
                 Py_TYPE(data)->tp_name, d->codec.name);
    return NULL;
}

static int
json_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
            PgcWBuf *buf)
{
    return py_encode_via(ctx, codec, obj, buf, json_text);
}

PyObject *
pgw_codec_new_json(PyTypeObject *type, uint32_t oid, PyObject *name,
                   PyObject *dumps, PyObject *loads)
{
    if (oid != 114 && oid != 3802) {
        PyErr_Format(PyExc_ValueError,
                     "a json codec is for json (114) or jsonb (3802), not "
                     "oid %u",
                     (unsigned)oid);
        return NULL;
    }
    if (!PyCallable_Check(dumps) || !PyCallable_Check(loads)) {
        PyErr_Format(PyExc_TypeError,
                     "json_dumps and json_loads must be callables, got %R "
                     "and %R",
                     dumps, loads);
        return NULL;
    }
    const PgwCodec *base = pgw_codec_builtin(oid);
    PyObject *self = pgw_codec_dyn_alloc(type, PGW_DYN_PYTHON, oid, name);
    if (self == NULL) {
        return NULL;
    }
    PgwDynCodec *d = pgw_codec_dyn(self);
    d->sub_codec = base;
    d->py_encoder = Py_NewRef(dumps);
    d->py_decoder = Py_NewRef(loads);
    d->codec.format = base->format;
    d->codec.decode = py_decode; /* loads(the text): d->sub is NULL */
    d->codec.encode = json_encode;
    return pgw_codec_dyn_done(self);
}

/* ------------------------------------------------------------------ */
/* Aliases and text-format arrays                                      */
/* ------------------------------------------------------------------ */

/* A binary codec whose binary form is the text itself (text, varchar,
 * name, json, xml, ...) serves the text format as well. */
static int
alias_serves_text(const PgwCodec *target)
{
    return target->decode == pgw_text_decode &&
           target->encode == pgw_text_encode;
}

PyObject *
pgw_codec_new_alias(PyTypeObject *type, uint32_t oid, PyObject *name,
                    const PgwCodec *target, int format)
{
    int16_t fmt = target->format;
    PgwDecodeFn text_decode = NULL;
    PgwEncodeFn text_encode = NULL;
    if (format == PGC_FORMAT_TEXT && target->decode == pgw_numeric_decode) {
        /* numeric has a text codec of its own (asyncpg's 'decimal' alias
         * with format='text') */
        text_decode = pgw_numeric_text_decode;
        text_encode = pgw_numeric_text_encode;
    }
    else if (format >= 0 && format != fmt) {
        if (format != PGC_FORMAT_TEXT || !alias_serves_text(target)) {
            PyErr_Format(PyExc_ValueError, "there is no %s codec for %s",
                         format == PGC_FORMAT_TEXT ? "text" : "binary",
                         target->name);
            return NULL;
        }
        fmt = PGC_FORMAT_TEXT;
    }
    PyObject *self = pgw_codec_dyn_alloc(type, PGW_DYN_ALIAS, oid, name);
    if (self == NULL) {
        return NULL;
    }
    PgwDynCodec *d = pgw_codec_dyn(self);
    const char *utf8 = d->codec.name; /* lives with d->name */
    d->codec = *target;
    d->codec.oid = oid;
    d->codec.name = utf8;
    d->codec.format = text_decode ? PGC_FORMAT_TEXT : fmt;
    if (text_decode != NULL) {
        d->codec.decode = text_decode;
        d->codec.encode = text_encode;
    }
    d->sub_codec = target; /* static: no reference to hold */
    return pgw_codec_dyn_done(self);
}

PyObject *
pgw_codec_new_textarray(PyTypeObject *type, uint32_t oid, PyObject *name,
                        PyObject *elem)
{
    /* the binary array of a binary elem; else its text array format
     * instead of pgw_codec_new_array's str pass-through */
    PyObject *self = pgw_codec_new_array(type, oid, name, elem);
    PgwDynCodec *d = self ? pgw_codec_dyn(self) : NULL;
    if (d != NULL && d->codec.format != PGC_FORMAT_BINARY) {
        d->codec.decode = pgw_textarray_decode;
        d->codec.encode = pgw_textarray_encode;
    }
    return self;
}

/* ------------------------------------------------------------------ */
/* Extra codecs                                                        */
/* ------------------------------------------------------------------ */

static const PgwCodec extra_hstore = {
    .oid = 0,
    .name = "hstore",
    .format = PGC_FORMAT_BINARY,
    .decode = pgw_hstore_decode,
    .encode = pgw_hstore_encode,
};

const PgwCodec *
pgw_codec_extra(const char *name)
{
    if (strcmp(name, "pg_contrib.hstore") == 0) {
        return &extra_hstore;
    }
    return NULL;
}
