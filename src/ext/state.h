/* state.h -- module state of pgwire._pgwire (PEP 489 multi-phase init).
 *
 * All types, imported classes and interned strings live here; nothing is a
 * mutable static.  Hot objects cache a ModState pointer at creation (safe:
 * an instance keeps its heap type, and so the module, alive).
 */
#ifndef PGW_STATE_H
#define PGW_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"
#include "../codec/codec.h"
#include "../core/pgc_scram_cache.h"

typedef struct ModState {
    /* types */
    PyTypeObject *RecordType;
    PyTypeObject *RecordDescType;
    PyTypeObject *RecordIterType;
    PyTypeObject *RecordItemsIterType;
    PyTypeObject *ProtocolType;
    PyTypeObject *ConnectionCoreType;
    PyTypeObject *OpType;
    PyTypeObject *StatementType;
    PyTypeObject *ReadBufferType; /* protocol.c: exports the read buffer */
    PyTypeObject *CodecType;      /* src/codec/codec_dyn.c */
    /* blocking.c (pgwire.sync) */
    PyTypeObject *BLoopType;
    PyTypeObject *BFutureType;
    PyTypeObject *BHandleType;
    PyTypeObject *BTransportType;
    PyTypeObject *RowMakerType;        /* rows.c */
    struct PgwRecordPool *record_pool; /* record.c: the Record freelist */

    PgwCodecCtx codec;

    /* from pgwire.exceptions (imported at exec) */
    PyObject *InterfaceError;
    PyObject *DataError;                     /* the SQLSTATE 22000 class */
    PyObject *UnsupportedClientFeatureError; /* anonymous record input */
    PyObject *ProtocolError;
    PyObject *InternalClientError;
    PyObject *ConnectionDoesNotExistError;
    PyObject *InvalidCachedStatementError;
    PyObject *PipelineAbortedError;
    PyObject *PostgresError; /* base of the errors the server reports */
    PyObject *InvalidSQLStatementNameError;
    PyObject *OutdatedSchemaCacheError;
    PyObject *error_from_fields; /* callable(fields: dict, query) -> exc */
    /* asyncio */
    PyObject *TimeoutError;
    PyObject *CancelledError;
    PyObject *InvalidStateError;

    /* interned strings */
    PyObject *str_write;
    PyObject *str_close;
    PyObject *str_abort;
    PyObject *str_create_future;
    PyObject *str_set_result;
    PyObject *str_set_exception;
    PyObject *str_call_later;
    PyObject *str_cancel;
    PyObject *str_asyncio_future_blocking;
    PyObject *str_add_note;
    /* pgwire.tracing: called as hook(connection, kind, query, elapsed,
     * exception, batch) when a query finishes, or NULL (tracing off: the
     * query path only tests this pointer) */
    PyObject *trace_hook;
    /* SCRAM SaltedPassword values of verified exchanges (protocol.c),
     * keyed under a secret drawn at exec; plain C memory, wiped on
     * eviction, on clear_auth_cache() and at module free.  Every access
     * holds the GIL. */
    PgcScramCache scram_cache;
} ModState;

/* Zero an object's fields after PyObject_New / PyObject_GC_New (which do
 * not), so every pointer starts NULL whatever path fills it. */
#define PGW_ZERO_FIELDS(obj, type)              \
    memset((char *)(obj) + sizeof(PyObject), 0, \
           sizeof(type) - sizeof(PyObject))

static inline ModState *
pgw_get_state(PyObject *module)
{
    return (ModState *)PyModule_GetState(module);
}

extern PyModuleDef pgw_module_def;

static inline ModState *
pgw_get_state_by_type(PyTypeObject *tp)
{
    PyObject *m = PyType_GetModuleByDef(tp, &pgw_module_def);
    return m ? pgw_get_state(m) : NULL;
}

#endif /* PGW_STATE_H */
