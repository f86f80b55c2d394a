/* codec_ctx.c -- the codec context (imported classes, singletons, the
 * datetime C API) and the error helpers shared by the codecs.
 */
#include "codec_internal.h"

#include <math.h>
#include <stdarg.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

PGW_COLD int
pgw_codec_buf_error(PgcStatus st)
{
    if (st == PGC_ERR_NOMEM) {
        PyErr_NoMemory();
    }
    else {
        PyErr_SetString(PyExc_OverflowError,
                        "value too large for a protocol message");
    }
    return -1;
}

PGW_COLD int
pgw_codec_type_error(const char *what, PyObject *obj)
{
    PyErr_Format(PyExc_TypeError, "expected %s, got %.100s", what,
                 Py_TYPE(obj)->tp_name);
    return -1;
}

PGW_NOINLINE PyObject *
pgw_codec_as_int(const PgwCodecCtx *ctx, PyObject *obj)
{
    PyObject *v;
    int integral;

    if (PyLong_Check(obj)) {
        return Py_NewRef(obj);
    }
    if (PyIndex_Check(obj)) {
        return PyNumber_Index(obj);
    }
    if (PyFloat_Check(obj)) {
        double d = PyFloat_AS_DOUBLE(obj);
        if (!isfinite(d) || d != floor(d)) {
            PyErr_Format(PyExc_ValueError,
                         "an integer is required, got the float %R "
                         "(pgwire refuses a non-integral value rather than "
                         "truncate it)",
                         obj);
            return NULL;
        }
        return PyLong_FromDouble(d);
    }
    if (ctx != NULL && ctx->decimal_type != NULL) {
        int is_dec = PyObject_IsInstance(obj, ctx->decimal_type);
        if (is_dec < 0) {
            return NULL;
        }
        if (is_dec) {
            v = PyNumber_Long(obj); /* truncates; NaN/Infinity raise */
            if (v == NULL) {
                if (PyErr_ExceptionMatches(PyExc_ValueError) ||
                    PyErr_ExceptionMatches(PyExc_OverflowError)) {
                    PyErr_Clear();
                    integral = 0;
                }
                else {
                    return NULL;
                }
            }
            else {
                integral = PyObject_RichCompareBool(v, obj, Py_EQ);
                if (integral < 0) {
                    Py_DECREF(v);
                    return NULL;
                }
            }
            if (integral) {
                return v;
            }
            Py_XDECREF(v);
            PyErr_Format(PyExc_ValueError,
                         "an integer is required, got the Decimal %R "
                         "(pgwire refuses a non-integral value rather than "
                         "truncate it)",
                         obj);
            return NULL;
        }
    }
    PyErr_Format(PyExc_TypeError, "an integer is required (got type %.100s)",
                 Py_TYPE(obj)->tp_name);
    return NULL;
}

PGW_COLD PyObject *
pgw_codec_size_error(const PgwCodec *codec, size_t want, size_t got)
{
    PyErr_Format(PyExc_ValueError,
                 "invalid %s value: expected %zu bytes, got %zu", codec->name,
                 want, got);
    return NULL;
}

PGW_COLD PyObject *
pgw_codec_value_error(const PgwCodec *codec, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    PyOS_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    PyErr_Format(PyExc_ValueError, "invalid %s value: %s", codec->name, msg);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

/* module.name (new reference). */
PyObject *
pgw_import_attr(const char *module, const char *name)
{
    PyObject *m = PyImport_ImportModule(module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *v = PyObject_GetAttrString(m, name);
    Py_DECREF(m);
    return v;
}

#define CTX_IMPORT(field, module, name)             \
    do {                                            \
        ctx->field = pgw_import_attr(module, name); \
        if (ctx->field == NULL) {                   \
            return -1;                              \
        }                                           \
    } while (0)

#define CTX_INTERN(field, text)                        \
    do {                                               \
        ctx->field = PyUnicode_InternFromString(text); \
        if (ctx->field == NULL) {                      \
            return -1;                                 \
        }                                              \
    } while (0)

static int
ctx_import(PgwCodecCtx *ctx)
{
    CTX_IMPORT(decimal_type, "decimal", "Decimal");
    CTX_IMPORT(uuid_type, "uuid", "UUID");
    PyObject *safe = pgw_import_attr("uuid", "SafeUUID");
    if (safe == NULL) {
        return -1;
    }
    ctx->uuid_safe_unknown = PyObject_GetAttrString(safe, "unknown");
    Py_DECREF(safe);
    if (ctx->uuid_safe_unknown == NULL) {
        return -1;
    }
    if (!PyType_Check(ctx->uuid_type)) {
        PyErr_SetString(PyExc_TypeError, "uuid.UUID is not a type");
        return -1;
    }
    return 0;
}

static int
ctx_import_infinity(PgwCodecCtx *ctx)
{
    CTX_IMPORT(date_inf, "pgwire.types", "date_infinity");
    CTX_IMPORT(date_ninf, "pgwire.types", "date_negative_infinity");
    CTX_IMPORT(ts_inf, "pgwire.types", "timestamp_infinity");
    CTX_IMPORT(ts_ninf, "pgwire.types", "timestamp_negative_infinity");
    CTX_IMPORT(tstz_inf, "pgwire.types", "timestamptz_infinity");
    CTX_IMPORT(tstz_ninf, "pgwire.types", "timestamptz_negative_infinity");
    CTX_IMPORT(inf_date_type, "pgwire.types", "InfiniteDate");
    CTX_IMPORT(inf_dt_type, "pgwire.types", "InfiniteDatetime");
    if (!PyType_Check(ctx->inf_date_type) ||
        !PyType_IsSubtype((PyTypeObject *)ctx->inf_date_type,
                          ctx->dt->DateType) ||
        !PyType_Check(ctx->inf_dt_type) ||
        !PyType_IsSubtype((PyTypeObject *)ctx->inf_dt_type,
                          ctx->dt->DateTimeType)) {
        PyErr_SetString(PyExc_TypeError,
                        "pgwire.types infinity classes must subclass "
                        "date/datetime");
        return -1;
    }
    return 0;
}

static int
ctx_datetime(PgwCodecCtx *ctx)
{
    const PyDateTime_CAPI *dt;
    ctx->dt = (PyDateTime_CAPI *)PyCapsule_Import(PyDateTime_CAPSULE_NAME, 0);
    if (ctx->dt == NULL) {
        return -1;
    }
    dt = ctx->dt;
    ctx->tz_utc = Py_NewRef(dt->TimeZone_UTC);
    ctx->date_epoch = dt->Date_FromDate(2000, 1, 1, dt->DateType);
    if (ctx->date_epoch == NULL) {
        return -1;
    }
    ctx->dt_epoch = dt->DateTime_FromDateAndTime(2000, 1, 1, 0, 0, 0, 0,
                                                 Py_None, dt->DateTimeType);
    if (ctx->dt_epoch == NULL) {
        return -1;
    }
    ctx->dt_epoch_utc = dt->DateTime_FromDateAndTime(2000, 1, 1, 0, 0, 0, 0,
                                                     ctx->tz_utc,
                                                     dt->DateTimeType);
    return ctx->dt_epoch_utc ? 0 : -1;
}

static int
ctx_strings(PgwCodecCtx *ctx)
{
    CTX_INTERN(str_isoformat, "isoformat");
    CTX_INTERN(str_as_tuple, "as_tuple");
    CTX_INTERN(str_utcoffset, "utcoffset");
    CTX_INTERN(str_astimezone, "astimezone");
    CTX_INTERN(str_int, "int");
    CTX_INTERN(str_bytes, "bytes");
    CTX_INTERN(str_is_safe, "is_safe");
    CTX_INTERN(str_lower_bounds, "lower_bounds");
    ctx->long_64 = PyLong_FromLong(64);
    return ctx->long_64 ? 0 : -1;
}

/* pgwire.types classes of bit/varbit and the geometric types. */
static int
ctx_import_types(PgwCodecCtx *ctx)
{
    CTX_IMPORT(bitstring_type, "pgwire.types", "BitString");
    CTX_IMPORT(bounded_array_type, "pgwire.types", "BoundedArray");
    CTX_IMPORT(point_type, "pgwire.types", "Point");
    CTX_IMPORT(line_type, "pgwire.types", "Line");
    CTX_IMPORT(lseg_type, "pgwire.types", "LineSegment");
    CTX_IMPORT(box_type, "pgwire.types", "Box");
    CTX_IMPORT(path_type, "pgwire.types", "Path");
    CTX_IMPORT(polygon_type, "pgwire.types", "Polygon");
    CTX_IMPORT(circle_type, "pgwire.types", "Circle");
    CTX_INTERN(str_frombytes, "frombytes");
    CTX_INTERN(str_is_closed, "is_closed");
    return 0;
}

/* ipaddress classes and functions of inet/cidr. */
static int
ctx_import_ipaddress(PgwCodecCtx *ctx)
{
    CTX_IMPORT(ipv4_address, "ipaddress", "IPv4Address");
    CTX_IMPORT(ipv6_address, "ipaddress", "IPv6Address");
    CTX_IMPORT(ipv4_interface, "ipaddress", "IPv4Interface");
    CTX_IMPORT(ipv6_interface, "ipaddress", "IPv6Interface");
    CTX_IMPORT(ipv4_network, "ipaddress", "IPv4Network");
    CTX_IMPORT(ipv6_network, "ipaddress", "IPv6Network");
    CTX_IMPORT(ip_address, "ipaddress", "ip_address");
    CTX_IMPORT(ip_interface, "ipaddress", "ip_interface");
    CTX_IMPORT(ip_network, "ipaddress", "ip_network");
    CTX_INTERN(str_packed, "packed");
    CTX_INTERN(str_prefixlen, "prefixlen");
    CTX_INTERN(str_network, "network");
    CTX_INTERN(str_network_address, "network_address");
    return 0;
}

/* On failure the fields set so far stay in ctx; the module's m_clear
 * (pgw_codec_ctx_clear) releases them. */
int
pgw_codec_ctx_init(PgwCodecCtx *ctx)
{
    if (ctx_datetime(ctx) < 0 || ctx_strings(ctx) < 0 || ctx_import(ctx) < 0 ||
        ctx_import_infinity(ctx) < 0 || ctx_import_types(ctx) < 0 ||
        ctx_import_ipaddress(ctx) < 0 || pgw_codec_dyn_ctx_init(ctx) < 0) {
        return -1;
    }
    return 0;
}

int
pgw_codec_ctx_traverse(PgwCodecCtx *ctx, visitproc visit, void *arg)
{
    Py_VISIT(ctx->decimal_type);
    Py_VISIT(ctx->uuid_type);
    Py_VISIT(ctx->uuid_safe_unknown);
    Py_VISIT(ctx->tz_utc);
    Py_VISIT(ctx->date_epoch);
    Py_VISIT(ctx->dt_epoch);
    Py_VISIT(ctx->dt_epoch_utc);
    Py_VISIT(ctx->date_inf);
    Py_VISIT(ctx->date_ninf);
    Py_VISIT(ctx->ts_inf);
    Py_VISIT(ctx->ts_ninf);
    Py_VISIT(ctx->tstz_inf);
    Py_VISIT(ctx->tstz_ninf);
    Py_VISIT(ctx->inf_date_type);
    Py_VISIT(ctx->inf_dt_type);
    Py_VISIT(ctx->bitstring_type);
    Py_VISIT(ctx->bounded_array_type);
    Py_VISIT(ctx->point_type);
    Py_VISIT(ctx->line_type);
    Py_VISIT(ctx->lseg_type);
    Py_VISIT(ctx->box_type);
    Py_VISIT(ctx->path_type);
    Py_VISIT(ctx->polygon_type);
    Py_VISIT(ctx->circle_type);
    Py_VISIT(ctx->ipv4_address);
    Py_VISIT(ctx->ipv6_address);
    Py_VISIT(ctx->ipv4_interface);
    Py_VISIT(ctx->ipv6_interface);
    Py_VISIT(ctx->ipv4_network);
    Py_VISIT(ctx->ipv6_network);
    Py_VISIT(ctx->ip_address);
    Py_VISIT(ctx->ip_interface);
    Py_VISIT(ctx->ip_network);
    return pgw_codec_dyn_ctx_traverse(ctx, visit, arg);
}

void
pgw_codec_ctx_clear(PgwCodecCtx *ctx)
{
    Py_CLEAR(ctx->decimal_type);
    Py_CLEAR(ctx->uuid_type);
    Py_CLEAR(ctx->uuid_safe_unknown);
    Py_CLEAR(ctx->tz_utc);
    Py_CLEAR(ctx->date_epoch);
    Py_CLEAR(ctx->dt_epoch);
    Py_CLEAR(ctx->dt_epoch_utc);
    Py_CLEAR(ctx->date_inf);
    Py_CLEAR(ctx->date_ninf);
    Py_CLEAR(ctx->ts_inf);
    Py_CLEAR(ctx->ts_ninf);
    Py_CLEAR(ctx->tstz_inf);
    Py_CLEAR(ctx->tstz_ninf);
    Py_CLEAR(ctx->inf_date_type);
    Py_CLEAR(ctx->inf_dt_type);
    Py_CLEAR(ctx->str_isoformat);
    Py_CLEAR(ctx->str_as_tuple);
    Py_CLEAR(ctx->str_utcoffset);
    Py_CLEAR(ctx->str_astimezone);
    Py_CLEAR(ctx->str_int);
    Py_CLEAR(ctx->str_bytes);
    Py_CLEAR(ctx->str_is_safe);
    Py_CLEAR(ctx->str_lower_bounds);
    Py_CLEAR(ctx->long_64);
    Py_CLEAR(ctx->bitstring_type);
    Py_CLEAR(ctx->bounded_array_type);
    Py_CLEAR(ctx->point_type);
    Py_CLEAR(ctx->line_type);
    Py_CLEAR(ctx->lseg_type);
    Py_CLEAR(ctx->box_type);
    Py_CLEAR(ctx->path_type);
    Py_CLEAR(ctx->polygon_type);
    Py_CLEAR(ctx->circle_type);
    Py_CLEAR(ctx->ipv4_address);
    Py_CLEAR(ctx->ipv6_address);
    Py_CLEAR(ctx->ipv4_interface);
    Py_CLEAR(ctx->ipv6_interface);
    Py_CLEAR(ctx->ipv4_network);
    Py_CLEAR(ctx->ipv6_network);
    Py_CLEAR(ctx->ip_address);
    Py_CLEAR(ctx->ip_interface);
    Py_CLEAR(ctx->ip_network);
    Py_CLEAR(ctx->str_frombytes);
    Py_CLEAR(ctx->str_is_closed);
    Py_CLEAR(ctx->str_packed);
    Py_CLEAR(ctx->str_prefixlen);
    Py_CLEAR(ctx->str_network);
    Py_CLEAR(ctx->str_network_address);
    pgw_codec_dyn_ctx_clear(ctx);
    ctx->dt = NULL;
}
