/* errors.c -- ErrorResponse/NoticeResponse -> Python.
 *
 * The one place where a server error becomes an exception: fields are
 * collected into a dict {code: str} and handed to
 * pgwire.exceptions._error_from_fields, which picks the class from the
 * SQLSTATE (generated table) and sets the attributes.
 */
#include "proto.h"

/* dict {field code (1-char str): value (str)}; new reference. */
PyObject *
pgw_fields_from_msg(const PgwCodecCtx *ctx, PgcView body)
{
    PyObject *d = PyDict_New();
    if (d == NULL) {
        return NULL;
    }
    PgcCur c = pgc_cur_make(body.p, body.n);
    for (;;) {
        uint8_t code;
        PgcView value;
        PgcStatus rc = pgc_parse_error_field_next(&c, &code, &value);
        if (rc == PGC_NEED_MORE) {
            break;
        }
        if (rc != PGC_OK) {
            /* keep what we have: a mangled field must not hide the error */
            break;
        }
        if (code >= 0x80) {
            /* not a field type anyone defines (they are ASCII letters);
             * "frontends should silently ignore fields of unrecognized
             * type" -- and a non-ASCII key would not decode */
            continue;
        }
        char k[2] = {(char)code, 0};
        PyObject *v = pgw_enc_decode(ctx, (const char *)value.p,
                                     (Py_ssize_t)value.n, "replace");
        if (v == NULL || PyDict_SetItemString(d, k, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

/* New exception instance for an ErrorResponse body (not raised). */
PyObject *
pgw_error_from_msg(ModState *st, const PgwCodecCtx *ctx, PgcView body,
                   PyObject *query)
{
    PyObject *fields = pgw_fields_from_msg(ctx, body);
    if (fields == NULL) {
        return NULL;
    }
    PyObject *args[2] = {fields, query ? query : Py_None};
    PyObject *exc = PyObject_Vectorcall(st->error_from_fields, args, 2, NULL);
    Py_DECREF(fields);
    return exc;
}

/* The exception currently set, normalized and with its traceback, as a
 * new reference (the error indicator is cleared); NULL if none. */
PyObject *
pgw_fetch_exc(void)
{
    return PyErr_GetRaisedException();
}

/* Raise cls(msg) with `cause` (borrowed, may be NULL) as its __cause__.
 * Steals msg; a NULL msg means building it failed and its error stays
 * set. */
void
pgw_raise_caused(PyObject *cls, PyObject *msg, PyObject *cause)
{
    if (msg == NULL) {
        return;
    }
    PyObject *exc = PyObject_CallOneArg(cls, msg);
    Py_DECREF(msg);
    if (exc == NULL) {
        return;
    }
    if (cause != NULL) {
        PyException_SetCause(exc, Py_NewRef(cause));
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
}
