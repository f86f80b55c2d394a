/* module.c -- pgwire._pgwire: module state, multi-phase init. */
#include "state.h"
#include "record.h"
#include "ext.h"
#include "proto.h"
#include "../codec/codec_dyn.h"
#include "../core/pgc_auth.h"
#include "../core/pgc_scram_cache.h"

#include <stdio.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/random.h>
#endif

/* ------------------------------------------------------------------ */
/* Interned strings and imports                                        */
/* ------------------------------------------------------------------ */

#define INTERN(field, text)                           \
    do {                                              \
        st->field = PyUnicode_InternFromString(text); \
        if (st->field == NULL) {                      \
            return -1;                                \
        }                                             \
    } while (0)

static int
intern_strings(ModState *st)
{
    INTERN(str_write, "write");
    INTERN(str_close, "close");
    INTERN(str_abort, "abort");
    INTERN(str_create_future, "create_future");
    INTERN(str_set_result, "set_result");
    INTERN(str_set_exception, "set_exception");
    INTERN(str_call_later, "call_later");
    INTERN(str_cancel, "cancel");
    INTERN(str_asyncio_future_blocking, "_asyncio_future_blocking");
    INTERN(str_add_note, "add_note");
    return 0;
}

#define IMPORT(field, module, name)                \
    do {                                           \
        st->field = pgw_import_attr(module, name); \
        if (st->field == NULL) {                   \
            return -1;                             \
        }                                          \
    } while (0)

static int
import_objects(ModState *st)
{
    IMPORT(InterfaceError, "pgwire.exceptions", "InterfaceError");
    IMPORT(DataError, "pgwire.exceptions", "DataError");
    IMPORT(UnsupportedClientFeatureError, "pgwire.exceptions",
           "UnsupportedClientFeatureError");
    IMPORT(ProtocolError, "pgwire.exceptions", "ProtocolError");
    IMPORT(InternalClientError, "pgwire.exceptions", "InternalClientError");
    IMPORT(ConnectionDoesNotExistError, "pgwire.exceptions",
           "ConnectionDoesNotExistError");
    IMPORT(InvalidCachedStatementError, "pgwire.exceptions",
           "InvalidCachedStatementError");
    IMPORT(PipelineAbortedError, "pgwire.exceptions", "PipelineAbortedError");
    IMPORT(PostgresError, "pgwire.exceptions", "PostgresError");
    IMPORT(InvalidSQLStatementNameError, "pgwire.exceptions",
           "InvalidSQLStatementNameError");
    IMPORT(OutdatedSchemaCacheError, "pgwire.exceptions",
           "OutdatedSchemaCacheError");
    IMPORT(error_from_fields, "pgwire.exceptions", "_error_from_fields");
    IMPORT(TimeoutError, "asyncio", "TimeoutError");
    IMPORT(CancelledError, "asyncio", "CancelledError");
    IMPORT(InvalidStateError, "asyncio", "InvalidStateError");
    return 0;
}

/* ------------------------------------------------------------------ */
/* The SCRAM SaltedPassword cache                                      */
/* ------------------------------------------------------------------ */

/* n bytes from the system's CSPRNG, straight into buf (no Python object
 * holds them). */
static int
random_bytes(uint8_t *buf, size_t n)
{
#if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__) || \
    defined(__OpenBSD__) || defined(__NetBSD__)
    if (n <= 256 && getentropy(buf, n) == 0) {
        return 0;
    }
#endif
    FILE *f = fopen("/dev/urandom", "rb");
    if (f != NULL) {
        size_t got = fread(buf, 1, n, f);
        fclose(f);
        if (got == n) {
            return 0;
        }
    }
    PyErr_SetString(PyExc_OSError,
                    "pgwire: no random bytes for the SCRAM cache key");
    return -1;
}

/* The table's key is drawn once per module (so once per process and
 * interpreter); a forked child keeps it with the entries, which are the
 * same process memory. */
static int
scram_cache_init(ModState *st)
{
    uint8_t secret[PGC_SCRAM_CACHE_SECRET_LEN];

    if (random_bytes(secret, sizeof(secret)) < 0) {
        return -1;
    }
    pgc_scram_cache_init(&st->scram_cache, secret);
    pgc_wipe(secret, sizeof(secret));
    return 0;
}

/* clear_auth_cache(): wipe every remembered SaltedPassword. */
static PyObject *
mod_clear_auth_cache(PyObject *m, PyObject *Py_UNUSED(ignored))
{
    pgc_scram_cache_clear(&pgw_get_state(m)->scram_cache);
    Py_RETURN_NONE;
}

/* Counts only: nothing derived from a password leaves C memory. */
static PyObject *
mod_scram_cache_len(PyObject *m, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSize_t(
        pgc_scram_cache_len(&pgw_get_state(m)->scram_cache));
}

static PyObject *
mod_scram_cache_stats(PyObject *m, PyObject *Py_UNUSED(ignored))
{
    const PgcScramCache *c = &pgw_get_state(m)->scram_cache;

    return Py_BuildValue("{snsnsKsKsKsKsK}", "len",
                         (Py_ssize_t)pgc_scram_cache_len(c), "slots",
                         (Py_ssize_t)PGC_SCRAM_CACHE_SLOTS, "hits",
                         (unsigned long long)c->stats.hits, "misses",
                         (unsigned long long)c->stats.misses, "stores",
                         (unsigned long long)c->stats.stores, "evictions",
                         (unsigned long long)c->stats.evictions, "forgotten",
                         (unsigned long long)c->stats.forgotten);
}

/* _set_trace_hook(hook): pgwire.tracing's callable, or None (off). */
static PyObject *
mod_set_trace_hook(PyObject *m, PyObject *hook)
{
    if (hook != Py_None && !PyCallable_Check(hook)) {
        PyErr_Format(PyExc_TypeError,
                     "_set_trace_hook(hook): hook must be callable or None, "
                     "got %R",
                     hook);
        return NULL;
    }
    ModState *st = pgw_get_state(m);
    Py_XSETREF(st->trace_hook, hook == Py_None ? NULL : Py_NewRef(hook));
    Py_RETURN_NONE;
}

static PyObject *
mod_get_trace_hook(PyObject *m, PyObject *Py_UNUSED(ignored))
{
    PyObject *hook = pgw_get_state(m)->trace_hook;
    return Py_NewRef(hook ? hook : Py_None);
}

/* ------------------------------------------------------------------ */
/* Module definition                                                   */
/* ------------------------------------------------------------------ */

static int
module_exec(PyObject *module)
{
    ModState *st = pgw_get_state(module);
    if (intern_strings(st) < 0) {
        return -1;
    }
    if (pgw_codec_ctx_init(&st->codec) < 0) {
        return -1;
    }
    if (import_objects(st) < 0) {
        return -1;
    }
    if (pgw_record_setup_types(module, st) < 0) {
        return -1;
    }
    st->codec.record_type = st->RecordType;
    st->codec.record_new = pgw_record_new;
    st->codec.record_done = pgw_record_done;
    st->codec.record_desc_new = pgw_record_desc_new;
    st->codec.record_state = st;
    st->codec.record_items_offset = offsetof(RecordObject, items);
    if (pgw_codec_setup_types(module, &st->CodecType) < 0 ||
        PyModule_AddFunctions(module, pgw_codec_make_methods) < 0) {
        return -1;
    }
    if (pgw_rows_setup_types(module, st) < 0) {
        return -1;
    }
    if (pgw_protocol_setup_types(module, st) < 0) {
        return -1;
    }
    if (pgw_blocking_setup_types(module, st) < 0) {
        return -1;
    }
    if (scram_cache_init(st) < 0) {
        return -1;
    }
    return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModState *st = pgw_get_state(module);
    Py_VISIT(st->RecordType);
    Py_VISIT(st->RecordDescType);
    Py_VISIT(st->RecordIterType);
    Py_VISIT(st->RecordItemsIterType);
    Py_VISIT(st->ProtocolType);
    Py_VISIT(st->ConnectionCoreType);
    Py_VISIT(st->OpType);
    Py_VISIT(st->StatementType);
    Py_VISIT(st->ReadBufferType);
    Py_VISIT(st->CodecType);
    Py_VISIT(st->BLoopType);
    Py_VISIT(st->BFutureType);
    Py_VISIT(st->BHandleType);
    Py_VISIT(st->BTransportType);
    Py_VISIT(st->RowMakerType);
    if (pgw_codec_ctx_traverse(&st->codec, visit, arg)) {
        return -1;
    }
    Py_VISIT(st->InterfaceError);
    Py_VISIT(st->DataError);
    Py_VISIT(st->UnsupportedClientFeatureError);
    Py_VISIT(st->ProtocolError);
    Py_VISIT(st->InternalClientError);
    Py_VISIT(st->ConnectionDoesNotExistError);
    Py_VISIT(st->PostgresError);
    Py_VISIT(st->InvalidCachedStatementError);
    Py_VISIT(st->PipelineAbortedError);
    Py_VISIT(st->InvalidSQLStatementNameError);
    Py_VISIT(st->OutdatedSchemaCacheError);
    Py_VISIT(st->error_from_fields);
    Py_VISIT(st->TimeoutError);
    Py_VISIT(st->CancelledError);
    Py_VISIT(st->InvalidStateError);
    Py_VISIT(st->trace_hook);
    return 0;
}

static int
module_clear(PyObject *module)
{
    ModState *st = pgw_get_state(module);
    pgw_record_pool_release(st);
    Py_CLEAR(st->RecordType);
    Py_CLEAR(st->RecordDescType);
    Py_CLEAR(st->RecordIterType);
    Py_CLEAR(st->RecordItemsIterType);
    Py_CLEAR(st->ProtocolType);
    Py_CLEAR(st->ConnectionCoreType);
    Py_CLEAR(st->OpType);
    Py_CLEAR(st->StatementType);
    Py_CLEAR(st->ReadBufferType);
    Py_CLEAR(st->CodecType);
    Py_CLEAR(st->BLoopType);
    Py_CLEAR(st->BFutureType);
    Py_CLEAR(st->BHandleType);
    Py_CLEAR(st->BTransportType);
    Py_CLEAR(st->RowMakerType);
    pgw_codec_ctx_clear(&st->codec);
    Py_CLEAR(st->InterfaceError);
    Py_CLEAR(st->DataError);
    Py_CLEAR(st->UnsupportedClientFeatureError);
    Py_CLEAR(st->ProtocolError);
    Py_CLEAR(st->InternalClientError);
    Py_CLEAR(st->ConnectionDoesNotExistError);
    Py_CLEAR(st->PostgresError);
    Py_CLEAR(st->InvalidCachedStatementError);
    Py_CLEAR(st->PipelineAbortedError);
    Py_CLEAR(st->InvalidSQLStatementNameError);
    Py_CLEAR(st->OutdatedSchemaCacheError);
    Py_CLEAR(st->error_from_fields);
    Py_CLEAR(st->TimeoutError);
    Py_CLEAR(st->CancelledError);
    Py_CLEAR(st->InvalidStateError);
    Py_CLEAR(st->trace_hook);
    Py_CLEAR(st->str_write);
    Py_CLEAR(st->str_close);
    Py_CLEAR(st->str_abort);
    Py_CLEAR(st->str_create_future);
    Py_CLEAR(st->str_set_result);
    Py_CLEAR(st->str_set_exception);
    Py_CLEAR(st->str_call_later);
    Py_CLEAR(st->str_cancel);
    Py_CLEAR(st->str_asyncio_future_blocking);
    Py_CLEAR(st->str_add_note);
    return 0;
}

static void
module_free(void *module)
{
    ModState *st = pgw_get_state((PyObject *)module);
    module_clear((PyObject *)module);
    if (st != NULL) {
        pgc_scram_cache_wipe(&st->scram_cache);
    }
}

/* cert_signature_hash(der) -> 'sha224' | 'sha256' | 'sha384' | 'sha512' |
 * None: the hash tls-server-end-point uses for this certificate. */
static PyObject *
mod_cert_signature_hash(PyObject *Py_UNUSED(m), PyObject *arg)
{
    static const char *const names[] = {NULL, "sha224", "sha256", "sha384",
                                        "sha512"};
    Py_buffer view;
    PgcCertHash h = PGC_CERT_HASH_NONE;

    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PgcStatus st = pgc_cert_signature_hash(view.buf, (size_t)view.len, &h);
    PyBuffer_Release(&view);
    if (st != PGC_OK) {
        PyErr_SetString(PyExc_ValueError,
                        "malformed DER certificate: cannot read its "
                        "signature algorithm");
        return NULL;
    }
    if (names[h] == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(names[h]);
}

PyDoc_STRVAR(
    clear_auth_cache_doc,
    "clear_auth_cache()\n--\n\n"
    "Forget the SCRAM SaltedPassword values this process remembers.\n\n"
    "After a SCRAM-SHA-256 exchange whose server signature verified, pgwire\n"
    "keeps its SaltedPassword (at most 64, least recently used out first) so\n"
    "that connecting again with the same password, to a server that sends\n"
    "the same salt and iteration count, skips the PBKDF2 rounds.  Entries\n"
    "live in C memory, found by an HMAC under a per-process random key of\n"
    "the password, salt and iteration count; no Python object holds them.\n"
    "Like the password the application holds, a SaltedPassword is a secret\n"
    "of this process: this call overwrites every entry with zeros.  A\n"
    "password change needs no call: the server's new salt misses.");

static PyMethodDef module_methods[] = {
    {"clear_auth_cache", mod_clear_auth_cache, METH_NOARGS,
     clear_auth_cache_doc},
    {"_scram_cache_len", mod_scram_cache_len, METH_NOARGS,
     "The number of remembered SCRAM SaltedPassword values (tests)."},
    {"_scram_cache_stats", mod_scram_cache_stats, METH_NOARGS,
     "Counts of the SCRAM SaltedPassword cache (tests): len, slots, hits,\n"
     "misses, stores, evictions, forgotten."},
    {"cert_signature_hash", mod_cert_signature_hash, METH_O,
     "The hash tls-server-end-point uses for a DER certificate, or None."},
    {"_set_trace_hook", mod_set_trace_hook, METH_O,
     "Install pgwire.tracing's per-query callable (None: off)."},
    {"_get_trace_hook", mod_get_trace_hook, METH_NOARGS,
     "The per-query tracing callable, or None."},
    PGW_CODEC_DEBUG_METHODS PGW_PARAMSTYLE_METHODS{NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

PyModuleDef pgw_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pgwire._pgwire",
    .m_doc = "pgwire's C engine: protocol, codecs, Record.",
    .m_size = sizeof(ModState),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__pgwire(void);

PyMODINIT_FUNC
PyInit__pgwire(void)
{
    return PyModuleDef_Init(&pgw_module_def);
}
