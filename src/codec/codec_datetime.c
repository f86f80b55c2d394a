/* codec_datetime.c -- date, time, timetz, timestamp, timestamptz, interval.
 *
 * PostgreSQL counts days (date, int32) and microseconds (timestamps, int64)
 * from 2000-01-01.  Conventions (asyncpg's, except where noted):
 *  - timestamptz decodes to an aware datetime in UTC; on encode an aware
 *    datetime is converted with its utcoffset(), a naive one is taken as
 *    local time (datetime.astimezone()), a plain date as local midnight.
 *  - timestamp decodes to a naive datetime; encode refuses an aware one
 *    (TypeError, as asyncpg's naive-minus-aware subtraction does) and
 *    takes a plain date as midnight.
 *  - time ignores tzinfo on encode; timetz needs an aware time.
 *  - interval decodes to timedelta folding months as asyncpg does:
 *    months // 12 years of 365 days plus months % 12 months of 30 days
 *    (truncating toward zero).  Encode sends days and microseconds.
 *  - infinity: date int32 max/min and timestamp int64 max/min decode to
 *    the pgwire.types singletons (never date.max); any InfiniteDate or
 *    InfiniteDatetime instance encodes back to +/-infinity (pgwire's
 *    choice; asyncpg conflated infinity with date.max).
 *  - values Python cannot hold (years outside 1..9999, time 24:00:00,
 *    intervals beyond timedelta's range) raise ValueError naming them.
 * The datetime C API is reached through ctx->dt (no PyDateTimeAPI
 * static); type checks are spelled out against its type objects.
 */
#include "codec_internal.h"

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY INT64_C(86400000000)
#define PG_EPOCH_UNIX_DAYS 10957 /* 2000-01-01 minus 1970-01-01 */
#define TIMEDELTA_MAX_DAYS 999999999

typedef struct {
    int64_t y;
    int m, d;
} Ymd;

/* Proleptic Gregorian conversions (days-from-civil, civil-from-days);
 * exact for any int64 day count that cannot overflow. */
static Ymd
ymd_from_pgdays(int64_t pgdays)
{
    int64_t z = pgdays + PG_EPOCH_UNIX_DAYS + 719468;
    int64_t era = pgw_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    Ymd r;
    r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    r.y = yoe + era * 400 + (r.m <= 2);
    return r;
}

static int64_t
pgdays_from_ymd(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = pgw_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 - PG_EPOCH_UNIX_DAYS;
}

static inline int64_t
tod_usec(int h, int m, int s, int us)
{
    return ((int64_t)(h * 60 + m) * 60 + s) * USECS_PER_SEC + us;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* ValueError: "<type> value 10000-01-01 00:00:00+00 is out of the range
 * of Python's datetime".  tod < 0: a date. */
static PGW_COLD PyObject *
dt_range_error(const PgwCodec *codec, int64_t pgdays, int64_t tod,
               const char *zone)
{
    char text[96];
    Ymd t = ymd_from_pgdays(pgdays);
    long long y = t.y > 0 ? (long long)t.y : 1 - (long long)t.y;
    int n = PyOS_snprintf(text, sizeof(text), "%04lld-%02d-%02d", y, t.m, t.d);
    if (tod >= 0 && n > 0 && (size_t)n < sizeof(text)) {
        n += PyOS_snprintf(text + n, sizeof(text) - (size_t)n,
                           " %02d:%02d:%02d", (int)(tod / 3600000000),
                           (int)(tod / 60000000 % 60),
                           (int)(tod / 1000000 % 60));
    }
    if (tod > 0 && tod % 1000000 && (size_t)n < sizeof(text)) {
        n += PyOS_snprintf(text + n, sizeof(text) - (size_t)n, ".%06d",
                           (int)(tod % 1000000));
    }
    if (tod >= 0 && (size_t)n < sizeof(text)) {
        PyOS_snprintf(text + n, sizeof(text) - (size_t)n, "%s", zone);
    }
    PyErr_Format(PyExc_ValueError,
                 "%s value %s%s is out of the range of Python's %s "
                 "(years 1 to 9999)",
                 codec->name, text, t.y > 0 ? "" : " BC",
                 tod < 0 ? "date" : "datetime");
    return NULL;
}

static PGW_COLD int
dt_type_error(const char *msg)
{
    PyErr_SetString(PyExc_TypeError, msg);
    return -1;
}

/* asyncpg's text for a timestamp/timestamptz parameter of another type. */
static PGW_COLD int
dt_expected_error(PyObject *obj)
{
    PyErr_Format(PyExc_TypeError,
                 "expected a datetime.date or datetime.datetime instance, "
                 "got '%.100s'",
                 Py_TYPE(obj)->tp_name);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

/* +1 / -1 for a pgwire.types infinity (InfiniteDate, InfiniteDatetime),
 * else 0. */
static int
infinity_sign(const PgwCodecCtx *ctx, PyObject *obj)
{
    if (PyObject_TypeCheck(obj, (PyTypeObject *)ctx->inf_date_type) ||
        PyObject_TypeCheck(obj, (PyTypeObject *)ctx->inf_dt_type)) {
        return PyDateTime_GET_YEAR(obj) == 1 ? -1 : 1;
    }
    return 0;
}

static inline int64_t
date_pgdays(PyObject *o)
{
    return pgdays_from_ymd(PyDateTime_GET_YEAR(o), PyDateTime_GET_MONTH(o),
                           PyDateTime_GET_DAY(o));
}

/* Microseconds since 2000-01-01 of a datetime's wall-clock fields. */
static inline int64_t
datetime_usec(PyObject *o)
{
    return date_pgdays(o) * USECS_PER_DAY +
           tod_usec(PyDateTime_DATE_GET_HOUR(o), PyDateTime_DATE_GET_MINUTE(o),
                    PyDateTime_DATE_GET_SECOND(o),
                    PyDateTime_DATE_GET_MICROSECOND(o));
}

static inline int64_t
delta_usec(PyObject *o)
{
    return PyDateTime_DELTA_GET_DAYS(o) * USECS_PER_DAY +
           PyDateTime_DELTA_GET_SECONDS(o) * USECS_PER_SEC +
           PyDateTime_DELTA_GET_MICROSECONDS(o);
}

/* obj.utcoffset(): 1 and *usec set for a timedelta, 0 for None, -1 on
 * error. */
static int
utcoffset_usec(const PgwCodecCtx *ctx, PyObject *obj, int64_t *usec)
{
    PyObject *off = PyObject_CallMethodNoArgs(obj, ctx->str_utcoffset);
    int rc = 1;
    if (off == NULL) {
        return -1;
    }
    if (off == Py_None) {
        rc = 0;
    }
    else if (PyObject_TypeCheck(off, ctx->dt->DeltaType)) {
        *usec = delta_usec(off);
    }
    else {
        rc = dt_type_error("utcoffset() must return a timedelta or None");
    }
    Py_DECREF(off);
    return rc;
}

/* ------------------------------------------------------------------ */
/* date                                                                */
/* ------------------------------------------------------------------ */

PyObject *
pgw_date_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    if (n != 4) {
        return pgw_codec_size_error(codec, 4, n);
    }
    int32_t v = (int32_t)pgc_load_u32(p);
    if (v == INT32_MAX) {
        return Py_NewRef(ctx->date_inf);
    }
    if (v == INT32_MIN) {
        return Py_NewRef(ctx->date_ninf);
    }
    Ymd t = ymd_from_pgdays(v);
    if (t.y < 1 || t.y > 9999) {
        return dt_range_error(codec, v, -1, "");
    }
    return ctx->dt->Date_FromDate((int)t.y, t.m, t.d, ctx->dt->DateType);
}

static PGW_NOINLINE int
date_encode_slow(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    int inf = infinity_sign(ctx, obj);
    if (inf) {
        return pgw_put_i32(buf, inf > 0 ? INT32_MAX : INT32_MIN);
    }
    if (PyObject_TypeCheck(obj, ctx->dt->DateType)) {
        return pgw_put_i32(buf, (int32_t)date_pgdays(obj));
    }
    return pgw_codec_type_error("date", obj);
}

int
pgw_date_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)codec;
    if (Py_IS_TYPE(obj, ctx->dt->DateType)) {
        return pgw_put_i32(buf, (int32_t)date_pgdays(obj));
    }
    return date_encode_slow(ctx, obj, buf);
}

/* ------------------------------------------------------------------ */
/* time, timetz                                                        */
/* ------------------------------------------------------------------ */

/* A time of day in microseconds -> time with tzinfo tz. */
static PyObject *
time_make(const PgwCodecCtx *ctx, const PgwCodec *codec, int64_t v,
          PyObject *tz)
{
    if (v < 0 || v > USECS_PER_DAY) {
        return pgw_codec_value_error(codec, "time of day %lld out of range",
                                     (long long)v);
    }
    if (v == USECS_PER_DAY) {
        PyErr_Format(PyExc_ValueError,
                     "%s value 24:00:00 is out of the range of Python's time",
                     codec->name);
        return NULL;
    }
    return ctx->dt->Time_FromTime((int)(v / 3600000000),
                                  (int)(v / 60000000 % 60),
                                  (int)(v / 1000000 % 60), (int)(v % 1000000),
                                  tz, ctx->dt->TimeType);
}

PyObject *
pgw_time_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    if (n != 8) {
        return pgw_codec_size_error(codec, 8, n);
    }
    return time_make(ctx, codec, (int64_t)pgc_load_u64(p), Py_None);
}

static inline int64_t
time_usec(PyObject *o)
{
    return tod_usec(PyDateTime_TIME_GET_HOUR(o), PyDateTime_TIME_GET_MINUTE(o),
                    PyDateTime_TIME_GET_SECOND(o),
                    PyDateTime_TIME_GET_MICROSECOND(o));
}

int
pgw_time_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    (void)codec;
    if (!PyObject_TypeCheck(obj, ctx->dt->TimeType)) {
        return pgw_codec_type_error("time", obj);
    }
    return pgw_put_i64(buf, time_usec(obj));
}

/* timezone(timedelta(seconds=-zone)); zone is seconds west of UTC. */
static PyObject *
tz_from_zone(const PgwCodecCtx *ctx, int32_t zone)
{
    if (zone == 0) {
        return Py_NewRef(ctx->tz_utc);
    }
    PyObject *delta = ctx->dt->Delta_FromDelta(0, -zone, 0, 1,
                                               ctx->dt->DeltaType);
    if (delta == NULL) {
        return NULL;
    }
    PyObject *tz = ctx->dt->TimeZone_FromTimeZone(delta, NULL);
    Py_DECREF(delta);
    return tz;
}

PyObject *
pgw_timetz_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                  const uint8_t *p, size_t n)
{
    if (n != 12) {
        return pgw_codec_size_error(codec, 12, n);
    }
    int32_t zone = (int32_t)pgc_load_u32(p + 8);
    if (zone <= -86400 || zone >= 86400) {
        return pgw_codec_value_error(codec, "time zone offset %d out of range",
                                     (int)zone);
    }
    PyObject *tz = tz_from_zone(ctx, zone);
    if (tz == NULL) {
        return NULL;
    }
    PyObject *res = time_make(ctx, codec, (int64_t)pgc_load_u64(p), tz);
    Py_DECREF(tz);
    return res;
}

int
pgw_timetz_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                  PgcWBuf *buf)
{
    int64_t off = 0;
    int rc;
    (void)codec;
    if (!PyObject_TypeCheck(obj, ctx->dt->TimeType)) {
        return pgw_codec_type_error("time", obj);
    }
    rc = utcoffset_usec(ctx, obj, &off);
    if (rc <= 0) {
        return rc < 0 ? -1
                      : dt_type_error("timetz needs an aware time "
                                      "(tzinfo with a UTC offset)");
    }
    if (off % USECS_PER_SEC != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "timetz: UTC offset with microseconds");
        return -1;
    }
    if (pgw_put_i64(buf, time_usec(obj)) < 0) {
        return -1;
    }
    return pgw_put_i32(buf, (int32_t)(-off / USECS_PER_SEC));
}

/* ------------------------------------------------------------------ */
/* timestamp, timestamptz                                              */
/* ------------------------------------------------------------------ */

static PyObject *
ts_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, const uint8_t *p,
          size_t n, PyObject *tz)
{
    if (n != 8) {
        return pgw_codec_size_error(codec, 8, n);
    }
    int64_t v = (int64_t)pgc_load_u64(p);
    if (v == INT64_MAX || v == INT64_MIN) {
        int pos = v == INT64_MAX;
        PyObject *inf = tz == Py_None ? (pos ? ctx->ts_inf : ctx->ts_ninf)
                                      : (pos ? ctx->tstz_inf : ctx->tstz_ninf);
        return Py_NewRef(inf);
    }
    int64_t days = pgw_floor_div(v, USECS_PER_DAY);
    int64_t tod = v - days * USECS_PER_DAY;
    Ymd t = ymd_from_pgdays(days);
    if (t.y < 1 || t.y > 9999) {
        return dt_range_error(codec, days, tod, tz == Py_None ? "" : "+00");
    }
    return ctx->dt->DateTime_FromDateAndTime((int)t.y, t.m, t.d,
                                             (int)(tod / 3600000000),
                                             (int)(tod / 60000000 % 60),
                                             (int)(tod / 1000000 % 60),
                                             (int)(tod % 1000000), tz,
                                             ctx->dt->DateTimeType);
}

PyObject *
pgw_timestamp_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     const uint8_t *p, size_t n)
{
    return ts_decode(ctx, codec, p, n, Py_None);
}

PyObject *
pgw_timestamptz_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                       const uint8_t *p, size_t n)
{
    return ts_decode(ctx, codec, p, n, ctx->tz_utc);
}

static inline int
put_infinity(PgcWBuf *buf, int inf)
{
    return pgw_put_i64(buf, inf > 0 ? INT64_MAX : INT64_MIN);
}

static PGW_NOINLINE int
ts_encode_slow(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    int64_t off;
    int inf = infinity_sign(ctx, obj);
    if (inf) {
        return put_infinity(buf, inf);
    }
    if (PyObject_TypeCheck(obj, ctx->dt->DateTimeType)) {
        int rc = PyDateTime_DATE_GET_TZINFO(obj) == Py_None
                     ? 0
                     : utcoffset_usec(ctx, obj, &off);
        if (rc != 0) {
            return rc < 0 ? -1
                          : dt_type_error("cannot encode an aware datetime as "
                                          "timestamp (use timestamptz, or "
                                          "drop tzinfo)");
        }
        return pgw_put_i64(buf, datetime_usec(obj));
    }
    if (PyObject_TypeCheck(obj, ctx->dt->DateType)) {
        return pgw_put_i64(buf, date_pgdays(obj) * USECS_PER_DAY);
    }
    return dt_expected_error(obj);
}

int
pgw_timestamp_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                     PyObject *obj, PgcWBuf *buf)
{
    (void)codec;
    if (Py_IS_TYPE(obj, ctx->dt->DateTimeType) &&
        PyDateTime_DATE_GET_TZINFO(obj) == Py_None) {
        return pgw_put_i64(buf, datetime_usec(obj));
    }
    return ts_encode_slow(ctx, obj, buf);
}

/* A naive datetime taken as local time: dt.astimezone(utc). */
static int
tstz_encode_local(const PgwCodecCtx *ctx, PyObject *dt, PgcWBuf *buf)
{
    PyObject *u = PyObject_CallMethodOneArg(dt, ctx->str_astimezone,
                                            ctx->tz_utc);
    int64_t off = 0;
    int rc = -1;
    if (u == NULL) {
        return -1;
    }
    if (!PyObject_TypeCheck(u, ctx->dt->DateTimeType)) {
        pgw_codec_type_error("astimezone() to return a datetime", u);
    }
    else if (utcoffset_usec(ctx, u, &off) >= 0) {
        rc = pgw_put_i64(buf, datetime_usec(u) - off);
    }
    Py_DECREF(u);
    return rc;
}

/* Any datetime (aware, or naive = local time). */
static int
tstz_encode_datetime(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    int64_t off;
    PyObject *tz = PyDateTime_DATE_GET_TZINFO(obj);
    if (tz == ctx->tz_utc) {
        return pgw_put_i64(buf, datetime_usec(obj));
    }
    if (tz != Py_None) {
        int rc = utcoffset_usec(ctx, obj, &off);
        if (rc != 0) {
            return rc < 0 ? -1 : pgw_put_i64(buf, datetime_usec(obj) - off);
        }
    }
    return tstz_encode_local(ctx, obj, buf);
}

static PGW_NOINLINE int
tstz_encode_slow(const PgwCodecCtx *ctx, PyObject *obj, PgcWBuf *buf)
{
    int inf = infinity_sign(ctx, obj);
    if (inf) {
        return put_infinity(buf, inf);
    }
    if (PyObject_TypeCheck(obj, ctx->dt->DateTimeType)) {
        return tstz_encode_datetime(ctx, obj, buf);
    }
    if (!PyObject_TypeCheck(obj, ctx->dt->DateType)) {
        return dt_expected_error(obj);
    }
    PyObject *midnight = ctx->dt->DateTime_FromDateAndTime(
        PyDateTime_GET_YEAR(obj), PyDateTime_GET_MONTH(obj),
        PyDateTime_GET_DAY(obj), 0, 0, 0, 0, Py_None, ctx->dt->DateTimeType);
    if (midnight == NULL) {
        return -1;
    }
    int rc = tstz_encode_local(ctx, midnight, buf);
    Py_DECREF(midnight);
    return rc;
}

int
pgw_timestamptz_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                       PyObject *obj, PgcWBuf *buf)
{
    (void)codec;
    if (Py_IS_TYPE(obj, ctx->dt->DateTimeType) &&
        PyDateTime_DATE_GET_TZINFO(obj) == ctx->tz_utc) {
        return pgw_put_i64(buf, datetime_usec(obj));
    }
    return tstz_encode_slow(ctx, obj, buf);
}

/* ------------------------------------------------------------------ */
/* interval                                                            */
/* ------------------------------------------------------------------ */

PyObject *
pgw_interval_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    const uint8_t *p, size_t n)
{
    if (n != 16) {
        return pgw_codec_size_error(codec, 16, n);
    }
    int64_t us = (int64_t)pgc_load_u64(p);
    int32_t days = (int32_t)pgc_load_u32(p + 8);
    int32_t months = (int32_t)pgc_load_u32(p + 12);
    if ((us == INT64_MAX && days == INT32_MAX && months == INT32_MAX) ||
        (us == INT64_MIN && days == INT32_MIN && months == INT32_MIN)) {
        PyErr_Format(PyExc_ValueError,
                     "%s value %sinfinity cannot be represented as timedelta",
                     codec->name, us < 0 ? "-" : "");
        return NULL;
    }
    int64_t dextra = pgw_floor_div(us, USECS_PER_DAY);
    int64_t rem = us - dextra * USECS_PER_DAY;
    int64_t total = (int64_t)days + (int64_t)(months / 12) * 365 +
                    (int64_t)(months % 12) * 30 + dextra;
    if (total < -TIMEDELTA_MAX_DAYS || total > TIMEDELTA_MAX_DAYS) {
        PyErr_Format(PyExc_ValueError,
                     "%s value (%d months, %d days, %lld microseconds) is out "
                     "of the range of Python's timedelta",
                     codec->name, (int)months, (int)days, (long long)us);
        return NULL;
    }
    return ctx->dt->Delta_FromDelta((int)total, (int)(rem / USECS_PER_SEC),
                                    (int)(rem % USECS_PER_SEC), 1,
                                    ctx->dt->DeltaType);
}

int
pgw_interval_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    PyObject *obj, PgcWBuf *buf)
{
    (void)codec;
    if (!PyObject_TypeCheck(obj, ctx->dt->DeltaType)) {
        return pgw_codec_type_error("timedelta", obj);
    }
    int64_t us = PyDateTime_DELTA_GET_SECONDS(obj) * USECS_PER_SEC +
                 PyDateTime_DELTA_GET_MICROSECONDS(obj);
    if (pgw_put_i64(buf, us) < 0 ||
        pgw_put_i32(buf, PyDateTime_DELTA_GET_DAYS(obj)) < 0) {
        return -1;
    }
    return pgw_put_i32(buf, 0);
}
