/* blocking.c -- the blocking face's event loop (pgwire.sync).
 *
 * The asyncio binding (protocol.c, op.c, ...) reaches asyncio through a
 * small duck-typed surface: loop.create_future/call_soon/call_later/time/
 * create_task, futures' set_result/set_exception/cancel/done/result/
 * add_done_callback/_asyncio_future_blocking, transport.write/close/abort/
 * pause_reading/resume_reading/get_extra_info/is_closing.  This file gives
 * the same engine a blocking driver of that surface:
 *
 *   BlockingLoop       a ready queue (call_soon), a timer heap
 *                      (call_later), fd watchers (add_reader/add_writer)
 *                      and run_until_complete(awaitable, deadline), which
 *                      drives the awaitable: each future it yields is
 *                      waited for with poll() (GIL released), reading
 *                      always and writing while output is pending.
 *   BlockingFuture     the future the Ops wait on (and `await` works on).
 *   BlockingHandle     what call_soon/call_later return (cancel()).
 *   BlockingTransport  a non-blocking socket, optionally TLS through an
 *                      ssl.SSLObject over two MemoryBIOs; bytes go
 *                      straight into the protocol's read buffer.
 *
 * Ctrl-C: poll() returns EINTR, PyErr_CheckSignals() raises; the awaitable
 * is cancelled as asyncio cancels a task (CancelledError thrown in, so the
 * Op sends its CancelRequest), the cancel is finished within the loop's
 * cancel_timeout, then the KeyboardInterrupt is raised.  Every wait is
 * bounded by a timer, the caller's deadline or the cancel budget.
 *
 * One loop serves one connection and is used by one thread at a time
 * (pgwire.sync serialises with a lock; a second thread gets InterfaceError).
 */
#include "proto.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BT_HIGH_WATER (256 * 1024)
#define BT_LOW_WATER (64 * 1024)
#define BT_READ_ROUNDS 16 /* reads per wake before giving timers a turn */
#define BL_MAX_FDS 64
#define TLS_CHUNK 65536

/* ------------------------------------------------------------------ */
/* Objects                                                             */
/* ------------------------------------------------------------------ */

typedef struct BLoopObject BLoopObject;

typedef struct {
    PyObject_HEAD
    PyObject *callback;
    PyObject *args; /* tuple */
    double when;    /* timers: monotonic due time */
    int cancelled;
} HandleObject;

typedef enum { FUT_PENDING = 0, FUT_DONE, FUT_CANCELLED } FutState;

typedef struct {
    PyObject_HEAD
    BLoopObject *loop;
    FutState state;
    PyObject *result;
    PyObject *exception;
    PyObject *callbacks; /* list or NULL */
    PyObject *cancel_msg;
    int blocking; /* _asyncio_future_blocking */
    int retrieved;
} FutureObject;

typedef struct {
    PyObject_HEAD
    ModState *st;
    BLoopObject *loop;
    ProtocolObject *proto;
    PyObject *sock; /* the socket object (kept open by us) */
    int fd;
    uint8_t *out; /* pending output (ciphertext under TLS) */
    size_t opos, olen, ocap;
    int reading_paused;
    int writing_paused; /* told the protocol to pause */
    int closing;        /* close(): flush, then close */
    int closed;         /* socket closed, connection_lost scheduled */
    PyObject *ssl;      /* ssl.SSLObject or NULL */
    PyObject *bio_in, *bio_out;
    PyObject *want_read;   /* ssl.SSLWantReadError (under TLS) */
    PyObject *extra;       /* dict for get_extra_info */
    PyObject *write_error; /* a send() failed: what is still readable
                            * (the server's last ErrorResponse) is read
                            * before the connection is lost with it */
} TransportObject;

struct BLoopObject {
    PyObject_HEAD
    ModState *st;
    PyObject *ready;     /* list of handles */
    HandleObject **heap; /* timers, min-heap on when (strong refs) */
    size_t nheap, capheap;
    TransportObject *transport; /* strong, or NULL */
    PyObject *readers;          /* dict fd -> handle */
    PyObject *writers;
    int cancel_requested; /* _cancel_current(): cancel the run's awaitable */
    int running;
    double cancel_timeout;
};

static inline ModState *
bl_state(PyObject *o)
{
    return pgw_get_state_by_type(Py_TYPE(o));
}

/* ------------------------------------------------------------------ */
/* Handle                                                              */
/* ------------------------------------------------------------------ */

/* A new handle (new ref); steals nothing. */
static HandleObject *
handle_new(ModState *st, PyObject *cb, PyObject *args, double when)
{
    HandleObject *h = PyObject_GC_New(HandleObject, st->BHandleType);
    if (h == NULL) {
        return NULL;
    }
    PGW_ZERO_FIELDS(h, HandleObject);
    h->callback = Py_NewRef(cb);
    h->args = Py_NewRef(args);
    h->when = when;
    PyObject_GC_Track(h);
    return h;
}

static PyObject *
handle_cancel(HandleObject *h, PyObject *Py_UNUSED(a))
{
    h->cancelled = 1;
    Py_CLEAR(h->callback);
    Py_CLEAR(h->args);
    Py_RETURN_NONE;
}

static PyObject *
handle_cancelled(HandleObject *h, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(h->cancelled);
}

static PyObject *
handle_when(HandleObject *h, PyObject *Py_UNUSED(a))
{
    return PyFloat_FromDouble(h->when);
}

/* Run the callback unless cancelled.  0, or -1 for an exception that must
 * propagate (KeyboardInterrupt, SystemExit); others are reported as
 * unraisable, as asyncio's loop logs them. */
static int
handle_run(HandleObject *h)
{
    if (h->cancelled || h->callback == NULL) {
        return 0;
    }
    PyObject *cb = Py_NewRef(h->callback);
    PyObject *args = Py_NewRef(h->args);
    PyObject *r = PyObject_Call(cb, args, NULL);
    Py_DECREF(args);
    if (r == NULL) {
        if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt) ||
            PyErr_ExceptionMatches(PyExc_SystemExit)) {
            Py_DECREF(cb);
            return -1;
        }
        PyErr_WriteUnraisable(cb);
    }
    Py_XDECREF(r);
    Py_DECREF(cb);
    return 0;
}

static int
handle_traverse(HandleObject *h, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(h));
    Py_VISIT(h->callback);
    Py_VISIT(h->args);
    return 0;
}

static int
handle_clear(HandleObject *h)
{
    Py_CLEAR(h->callback);
    Py_CLEAR(h->args);
    return 0;
}

static void
handle_dealloc(HandleObject *h)
{
    PyTypeObject *tp = Py_TYPE(h);
    PyObject_GC_UnTrack(h);
    handle_clear(h);
    tp->tp_free((PyObject *)h);
    Py_DECREF(tp);
}

static PyMethodDef handle_methods[] = {
    {"cancel", (PyCFunction)handle_cancel, METH_NOARGS, NULL},
    {"cancelled", (PyCFunction)handle_cancelled, METH_NOARGS, NULL},
    {"when", (PyCFunction)handle_when, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot handle_slots[] = {
    {Py_tp_dealloc, handle_dealloc},
    {Py_tp_traverse, handle_traverse},
    {Py_tp_clear, handle_clear},
    {Py_tp_methods, handle_methods},
    {Py_tp_doc, "A callback scheduled on a BlockingLoop (internal)."},
    {0, NULL},
};

static PyType_Spec handle_spec = {
    .name = "pgwire._pgwire.BlockingHandle",
    .basicsize = sizeof(HandleObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = handle_slots,
};

/* ------------------------------------------------------------------ */
/* Loop: ready queue and timer heap                                    */
/* ------------------------------------------------------------------ */

static int
loop_schedule(BLoopObject *l, HandleObject *h)
{
    if (l->ready == NULL) {
        PyErr_SetString(l->st->InterfaceError, "the loop was cleared");
        return -1;
    }
    return PyList_Append(l->ready, (PyObject *)h);
}

/* call_soon for C callers: schedule cb(*args); 0 or -1. */
static int
loop_soon(BLoopObject *l, PyObject *cb, PyObject *args)
{
    HandleObject *h = handle_new(l->st, cb, args, 0);
    if (h == NULL) {
        return -1;
    }
    int rc = loop_schedule(l, h);
    Py_DECREF(h);
    return rc;
}

static int
heap_push(BLoopObject *l, HandleObject *h)
{
    if (l->nheap == l->capheap) {
        size_t cap = l->capheap ? l->capheap * 2 : 16;
        HandleObject **n = PyMem_Realloc(l->heap, cap * sizeof(*n));
        if (n == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        l->heap = n;
        l->capheap = cap;
    }
    size_t i = l->nheap++;
    l->heap[i] = (HandleObject *)Py_NewRef(h);
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (l->heap[up]->when <= l->heap[i]->when) {
            break;
        }
        HandleObject *t = l->heap[up];
        l->heap[up] = l->heap[i];
        l->heap[i] = t;
        i = up;
    }
    return 0;
}

/* Remove and return the earliest timer (a strong ref). */
static HandleObject *
heap_pop(BLoopObject *l)
{
    HandleObject *top = l->heap[0];
    l->heap[0] = l->heap[--l->nheap];
    size_t i = 0;
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->nheap && l->heap[a]->when < l->heap[m]->when) {
            m = a;
        }
        if (b < l->nheap && l->heap[b]->when < l->heap[m]->when) {
            m = b;
        }
        if (m == i) {
            break;
        }
        HandleObject *t = l->heap[m];
        l->heap[m] = l->heap[i];
        l->heap[i] = t;
        i = m;
    }
    return top;
}

/* Drop cancelled timers at the top; the next due time or -1. */
static double
heap_next(BLoopObject *l)
{
    while (l->nheap > 0 && l->heap[0]->cancelled) {
        HandleObject *h = heap_pop(l);
        Py_DECREF(h);
    }
    return l->nheap > 0 ? l->heap[0]->when : -1;
}

/* Move the due timers to the ready queue. */
static int
fire_timers(BLoopObject *l, double now)
{
    double next;
    while ((next = heap_next(l)) >= 0 && next <= now) {
        HandleObject *h = heap_pop(l);
        int rc = loop_schedule(l, h);
        Py_DECREF(h);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* Run the callbacks ready now (not those they schedule). */
static int
run_ready(BLoopObject *l)
{
    if (l->ready == NULL || PyList_GET_SIZE(l->ready) == 0) {
        return 0;
    }
    PyObject *batch = l->ready;
    l->ready = PyList_New(0);
    if (l->ready == NULL) {
        l->ready = batch;
        return -1;
    }
    int rc = 0;
    Py_ssize_t i, n = PyList_GET_SIZE(batch);
    for (i = 0; i < n; i++) {
        if (handle_run((HandleObject *)PyList_GET_ITEM(batch, i)) < 0) {
            rc = -1;
            i++;
            break;
        }
    }
    /* on an interrupt the rest still run later, in order */
    if (i < n) {
        PyObject *rest = PyList_GetSlice(batch, i, n);
        if (rest == NULL || PyList_SetSlice(l->ready, 0, 0, rest) < 0) {
            PyErr_WriteUnraisable((PyObject *)l);
        }
        Py_XDECREF(rest);
    }
    Py_DECREF(batch);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Future                                                              */
/* ------------------------------------------------------------------ */

static FutureObject *
future_new(BLoopObject *l)
{
    FutureObject *f = PyObject_GC_New(FutureObject, l->st->BFutureType);
    if (f == NULL) {
        return NULL;
    }
    PGW_ZERO_FIELDS(f, FutureObject);
    f->loop = (BLoopObject *)Py_NewRef(l);
    PyObject_GC_Track(f);
    return f;
}

static int
fut_check_loop(FutureObject *f)
{
    if (f->loop == NULL) {
        ModState *st = bl_state((PyObject *)f);
        PyErr_SetString(st ? st->InterfaceError : PyExc_RuntimeError,
                        "this future has no loop (made with __new__, or "
                        "cleared)");
        return -1;
    }
    return 0;
}

/* Schedule the done callbacks (each called with the future). */
static int
fut_schedule_callbacks(FutureObject *f)
{
    PyObject *cbs = f->callbacks;
    f->callbacks = NULL;
    if (cbs == NULL) {
        return 0;
    }
    int rc = 0;
    PyObject *args = PyTuple_Pack(1, (PyObject *)f);
    if (args == NULL) {
        rc = -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(cbs); i++) {
        rc = loop_soon(f->loop, PyList_GET_ITEM(cbs, i), args);
    }
    Py_XDECREF(args);
    Py_DECREF(cbs);
    return rc;
}

static int
fut_invalid_state(FutureObject *f)
{
    ModState *st = bl_state((PyObject *)f);
    PyErr_SetString(st ? st->InvalidStateError : PyExc_RuntimeError,
                    "invalid state: the future is done");
    return -1;
}

static PyObject *
fut_set_result(FutureObject *f, PyObject *res)
{
    if (fut_check_loop(f) < 0) {
        return NULL;
    }
    if (f->state != FUT_PENDING) {
        fut_invalid_state(f);
        return NULL;
    }
    f->result = Py_NewRef(res);
    f->state = FUT_DONE;
    if (fut_schedule_callbacks(f) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
fut_set_exception(FutureObject *f, PyObject *exc)
{
    if (fut_check_loop(f) < 0) {
        return NULL;
    }
    if (f->state != FUT_PENDING) {
        fut_invalid_state(f);
        return NULL;
    }
    PyObject *val = exc;
    if (PyExceptionClass_Check(exc)) {
        val = PyObject_CallNoArgs(exc);
        if (val == NULL) {
            return NULL;
        }
    }
    else if (PyExceptionInstance_Check(exc)) {
        Py_INCREF(val);
    }
    else {
        PyErr_Format(PyExc_TypeError,
                     "set_exception(exception): expected an exception, "
                     "got %.100s",
                     Py_TYPE(exc)->tp_name);
        return NULL;
    }
    f->exception = val;
    f->state = FUT_DONE;
    if (fut_schedule_callbacks(f) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* cancel(msg=None) -> bool */
static PyObject *
fut_cancel(FutureObject *f, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"msg", NULL};
    PyObject *msg = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:cancel", kwlist, &msg)) {
        return NULL;
    }
    if (f->state != FUT_PENDING || f->loop == NULL) {
        Py_RETURN_FALSE;
    }
    f->state = FUT_CANCELLED;
    Py_XSETREF(f->cancel_msg, Py_NewRef(msg));
    if (fut_schedule_callbacks(f) < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyObject *
fut_done(FutureObject *f, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(f->state != FUT_PENDING);
}

static PyObject *
fut_cancelled(FutureObject *f, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(f->state == FUT_CANCELLED);
}

static void
fut_raise_cancelled(FutureObject *f)
{
    ModState *st = bl_state((PyObject *)f);
    PyObject *cls = st ? st->CancelledError : PyExc_RuntimeError;
    if (f->cancel_msg != NULL && f->cancel_msg != Py_None) {
        PyErr_SetObject(cls, f->cancel_msg);
    }
    else {
        PyErr_SetNone(cls);
    }
}

/* The result (new ref), or NULL with the future's exception set. */
static PyObject *
fut_get_result(FutureObject *f)
{
    switch (f->state) {
    case FUT_PENDING:
        fut_invalid_state(f);
        PyErr_SetString(PyErr_Occurred(), "result is not ready");
        return NULL;
    case FUT_CANCELLED:
        fut_raise_cancelled(f);
        return NULL;
    default:
        break;
    }
    f->retrieved = 1;
    if (f->exception != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(f->exception), f->exception);
        return NULL;
    }
    return Py_NewRef(f->result ? f->result : Py_None);
}

static PyObject *
fut_result(FutureObject *f, PyObject *Py_UNUSED(a))
{
    return fut_get_result(f);
}

static PyObject *
fut_exception(FutureObject *f, PyObject *Py_UNUSED(a))
{
    if (f->state == FUT_PENDING) {
        fut_invalid_state(f);
        return NULL;
    }
    if (f->state == FUT_CANCELLED) {
        fut_raise_cancelled(f);
        return NULL;
    }
    f->retrieved = 1;
    return Py_NewRef(f->exception ? f->exception : Py_None);
}

/* add_done_callback(fn, *, context=None): context is accepted and
 * ignored (there is one thread of control). */
static PyObject *
fut_add_done_callback(FutureObject *f, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"fn", "context", NULL};
    PyObject *fn, *ctx = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$O:add_done_callback",
                                     kwlist, &fn, &ctx)) {
        return NULL;
    }
    if (fut_check_loop(f) < 0) {
        return NULL;
    }
    if (f->state != FUT_PENDING) {
        PyObject *a = PyTuple_Pack(1, (PyObject *)f);
        int rc = a ? loop_soon(f->loop, fn, a) : -1;
        Py_XDECREF(a);
        if (rc < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (f->callbacks == NULL && (f->callbacks = PyList_New(0)) == NULL) {
        return NULL;
    }
    if (PyList_Append(f->callbacks, fn) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
fut_remove_done_callback(FutureObject *f, PyObject *fn)
{
    Py_ssize_t removed = 0;
    if (f->callbacks != NULL) {
        for (Py_ssize_t i = PyList_GET_SIZE(f->callbacks) - 1; i >= 0; i--) {
            int eq = PyObject_RichCompareBool(PyList_GET_ITEM(f->callbacks, i),
                                              fn, Py_EQ);
            if (eq < 0) {
                return NULL;
            }
            if (eq && PyList_SetSlice(f->callbacks, i, i + 1, NULL) < 0) {
                return NULL;
            }
            removed += eq;
        }
    }
    return PyLong_FromSsize_t(removed);
}

static PyObject *
fut_get_loop(FutureObject *f, PyObject *Py_UNUSED(a))
{
    if (fut_check_loop(f) < 0) {
        return NULL;
    }
    return Py_NewRef((PyObject *)f->loop);
}

/* The awaitable protocol: `await fut` yields the future itself while it
 * is pending (with _asyncio_future_blocking set, as asyncio's futures do),
 * then returns its result.  Stateless, so several awaiters may share it. */
static PyObject *
fut_await(FutureObject *f)
{
    return Py_NewRef((PyObject *)f);
}

static PyObject *
fut_iternext(FutureObject *f)
{
    if (f->state == FUT_PENDING) {
        if (f->blocking) {
            /* resumed without having been waited for (the runner clears
             * the flag when it takes the future): as asyncio */
            PyErr_SetString(PyExc_RuntimeError,
                            "await wasn't used with future");
            return NULL;
        }
        f->blocking = 1;
        return Py_NewRef((PyObject *)f);
    }
    PyObject *r = fut_get_result(f);
    if (r == NULL) {
        return NULL;
    }
    if (r == Py_None) {
        Py_DECREF(r);
        return NULL; /* StopIteration(None) */
    }
    PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, r);
    Py_DECREF(r);
    if (e != NULL) {
        PyErr_SetObject(PyExc_StopIteration, e);
        Py_DECREF(e);
    }
    return NULL;
}

static PyObject *
fut_send(FutureObject *f, PyObject *Py_UNUSED(arg))
{
    PyObject *r = fut_iternext(f);
    if (r == NULL && !PyErr_Occurred()) {
        PyErr_SetNone(PyExc_StopIteration);
    }
    return r;
}

static PyObject *
fut_get_blocking(FutureObject *f, void *Py_UNUSED(c))
{
    return PyBool_FromLong(f->blocking);
}

static int
fut_set_blocking(FutureObject *f, PyObject *v, void *Py_UNUSED(c))
{
    if (v == NULL) {
        PyErr_SetString(PyExc_AttributeError,
                        "cannot delete _asyncio_future_blocking");
        return -1;
    }
    int b = PyObject_IsTrue(v);
    if (b < 0) {
        return -1;
    }
    f->blocking = b;
    return 0;
}

static int
fut_traverse(FutureObject *f, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(f));
    Py_VISIT(f->loop);
    Py_VISIT(f->result);
    Py_VISIT(f->exception);
    Py_VISIT(f->callbacks);
    Py_VISIT(f->cancel_msg);
    return 0;
}

static int
fut_clear(FutureObject *f)
{
    Py_CLEAR(f->loop);
    Py_CLEAR(f->result);
    Py_CLEAR(f->exception);
    Py_CLEAR(f->callbacks);
    Py_CLEAR(f->cancel_msg);
    return 0;
}

static void
fut_dealloc(FutureObject *f)
{
    PyTypeObject *tp = Py_TYPE(f);
    PyObject_GC_UnTrack(f);
    fut_clear(f);
    tp->tp_free((PyObject *)f);
    Py_DECREF(tp);
}

/* Python subclasses (pgwire.sync's Task): BlockingFuture(loop). */
static PyObject *
fut_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"loop", NULL};
    PyObject *loop;
    ModState *st = pgw_get_state_by_type(type);
    if (st == NULL ||
        !PyArg_ParseTupleAndKeywords(args, kwds, "O:BlockingFuture", kwlist,
                                     &loop)) {
        return NULL;
    }
    if (!PyObject_TypeCheck(loop, st->BLoopType)) {
        PyErr_Format(PyExc_TypeError,
                     "BlockingFuture(loop): expected a BlockingLoop, got "
                     "%.100s",
                     Py_TYPE(loop)->tp_name);
        return NULL;
    }
    FutureObject *f = (FutureObject *)type->tp_alloc(type, 0);
    if (f == NULL) {
        return NULL;
    }
    f->loop = (BLoopObject *)Py_NewRef(loop);
    return (PyObject *)f;
}

static PyMethodDef fut_methods[] = {
    {"set_result", (PyCFunction)fut_set_result, METH_O, NULL},
    {"set_exception", (PyCFunction)fut_set_exception, METH_O, NULL},
    {"cancel", (PyCFunction)(void (*)(void))fut_cancel,
     METH_VARARGS | METH_KEYWORDS, NULL},
    {"done", (PyCFunction)fut_done, METH_NOARGS, NULL},
    {"cancelled", (PyCFunction)fut_cancelled, METH_NOARGS, NULL},
    {"result", (PyCFunction)fut_result, METH_NOARGS, NULL},
    {"exception", (PyCFunction)fut_exception, METH_NOARGS, NULL},
    {"add_done_callback", (PyCFunction)(void (*)(void))fut_add_done_callback,
     METH_VARARGS | METH_KEYWORDS, NULL},
    {"remove_done_callback", (PyCFunction)fut_remove_done_callback, METH_O,
     NULL},
    {"get_loop", (PyCFunction)fut_get_loop, METH_NOARGS, NULL},
    {"send", (PyCFunction)fut_send, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef fut_getset[] = {
    {"_asyncio_future_blocking", (getter)fut_get_blocking,
     (setter)fut_set_blocking, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot fut_slots[] = {
    {Py_tp_new, fut_new},
    {Py_tp_dealloc, fut_dealloc},
    {Py_tp_traverse, fut_traverse},
    {Py_tp_clear, fut_clear},
    {Py_tp_methods, fut_methods},
    {Py_tp_getset, fut_getset},
    {Py_tp_iter, fut_await},
    {Py_tp_iternext, fut_iternext},
    {Py_am_await, fut_await},
    {Py_tp_doc, "A future of a BlockingLoop (pgwire.sync)."},
    {0, NULL},
};

static PyType_Spec fut_spec = {
    .name = "pgwire._pgwire.BlockingFuture",
    .basicsize = sizeof(FutureObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_BASETYPE,
    .slots = fut_slots,
};

/* ------------------------------------------------------------------ */
/* Transport                                                           */
/* ------------------------------------------------------------------ */

static int
bt_check(TransportObject *t)
{
    if (t->loop == NULL || t->proto == NULL) {
        PyErr_SetString(t->st ? t->st->InterfaceError : PyExc_RuntimeError,
                        "the transport is not open (made with __new__, "
                        "or cleared)");
        return -1;
    }
    return 0;
}

static int
bt_out_append(TransportObject *t, const uint8_t *p, size_t n)
{
    if (t->opos > 0 && t->opos == t->olen) {
        t->opos = t->olen = 0;
    }
    if (t->olen + n > t->ocap) {
        if (t->opos > 0) {
            memmove(t->out, t->out + t->opos, t->olen - t->opos);
            t->olen -= t->opos;
            t->opos = 0;
        }
        size_t cap = t->ocap ? t->ocap : 16384;
        while (cap < t->olen + n) {
            cap *= 2;
        }
        if (cap != t->ocap) {
            uint8_t *o = PyMem_Realloc(t->out, cap);
            if (o == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            t->out = o;
            t->ocap = cap;
        }
    }
    memcpy(t->out + t->olen, p, n);
    t->olen += n;
    return 0;
}

static size_t
bt_pending(TransportObject *t)
{
    return t->olen - t->opos;
}

/* Move what the SSLObject produced into the output buffer. */
static int
bt_tls_pull(TransportObject *t)
{
    PyObject *data = PyObject_CallMethod(t->bio_out, "read", NULL);
    if (data == NULL) {
        return -1;
    }
    int rc = 0;
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "MemoryBIO.read() gave no bytes");
        rc = -1;
    }
    else if (PyBytes_GET_SIZE(data) > 0) {
        rc = bt_out_append(t, (const uint8_t *)PyBytes_AS_STRING(data),
                           (size_t)PyBytes_GET_SIZE(data));
    }
    Py_DECREF(data);
    return rc;
}

static void bt_lost(TransportObject *t, PyObject *exc);

/* Send what is pending without blocking.  0, or -1 with an exception
 * (the connection is then lost). */
static int
bt_flush(TransportObject *t)
{
    while (t->fd >= 0 && t->write_error == NULL && bt_pending(t) > 0) {
        ssize_t n = send(t->fd, t->out + t->opos, bt_pending(t), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            /* the peer is gone (EPIPE, ECONNRESET), but what it sent
             * before closing may still be unread: its ErrorResponse
             * (57P01 "terminating connection", an idle timeout) says
             * why.  Read by bt_write_failed() at the next turn, not
             * here: the protocol may be in the middle of a write. */
            PyErr_SetFromErrno(PyExc_OSError);
            Py_XSETREF(t->write_error, pgw_fetch_exc());
            t->opos = t->olen = 0;
            return 0;
        }
        t->opos += (size_t)n;
    }
    if (t->writing_paused && bt_pending(t) <= BT_LOW_WATER &&
        t->proto != NULL) {
        t->writing_paused = 0;
        PyObject *r = PyObject_CallMethod((PyObject *)t->proto,
                                          "resume_writing", NULL);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
    return 0;
}

static PyObject *
bt_write(TransportObject *t, PyObject *data)
{
    if (bt_check(t) < 0) {
        return NULL;
    }
    if (t->closed || t->closing || t->write_error != NULL) {
        Py_RETURN_NONE; /* as asyncio: writes after close are dropped */
    }
    Py_buffer v;
    if (PyObject_GetBuffer(data, &v, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    int rc;
    if (t->ssl != NULL) {
        PyObject *r = PyObject_CallMethod(t->ssl, "write", "y#",
                                          (const char *)v.buf, v.len);
        rc = r == NULL ? -1 : bt_tls_pull(t);
        Py_XDECREF(r);
    }
    else {
        rc = bt_out_append(t, v.buf, (size_t)v.len);
    }
    PyBuffer_Release(&v);
    if (rc < 0 || bt_flush(t) < 0) {
        return NULL;
    }
    if (!t->writing_paused && bt_pending(t) > BT_HIGH_WATER && !t->closed) {
        t->writing_paused = 1;
        PyObject *r = PyObject_CallMethod((PyObject *)t->proto,
                                          "pause_writing", NULL);
        if (r == NULL) {
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

/* Close the socket now and schedule connection_lost(exc). */
static void
bt_lost(TransportObject *t, PyObject *exc)
{
    if (t->closed) {
        return;
    }
    t->closed = 1;
    if (t->fd >= 0) {
        /* wakes a poll() on it in another thread (terminate() called
         * while a query runs): closing alone would not, and the number
         * could be reused under it */
        (void)shutdown(t->fd, SHUT_RDWR);
    }
    t->fd = -1;
    t->opos = t->olen = 0;
    if (t->sock != NULL) {
        PyObject *r = PyObject_CallMethod(t->sock, "close", NULL);
        if (r == NULL) {
            PyErr_WriteUnraisable(t->sock);
        }
        Py_XDECREF(r);
    }
    if (t->proto == NULL || t->loop == NULL) {
        return;
    }
    PyObject *cb = PyObject_GetAttrString((PyObject *)t->proto,
                                          "connection_lost");
    PyObject *args = cb ? PyTuple_Pack(1, exc ? exc : Py_None) : NULL;
    if (args == NULL || loop_soon(t->loop, cb, args) < 0) {
        PyErr_WriteUnraisable((PyObject *)t);
    }
    Py_XDECREF(args);
    Py_XDECREF(cb);
}

static int bt_on_readable(TransportObject *t);

/* After a failed send(): read what the peer sent before it went away,
 * then lose the connection with the send's error (unless the read found
 * the end of the stream first).  0 or -1. */
static int
bt_write_failed(TransportObject *t)
{
    PyObject *e = t->write_error;
    if (e == NULL) {
        return 0;
    }
    t->write_error = NULL;
    int rc = bt_on_readable(t); /* nothing while reading is paused */
    PyObject *raised = rc < 0 ? PyErr_GetRaisedException() : NULL;
    bt_lost(t, e);
    Py_DECREF(e);
    if (raised != NULL) {
        PyErr_SetRaisedException(raised);
    }
    return rc;
}

static PyObject *
bt_abort(TransportObject *t, PyObject *Py_UNUSED(a))
{
    if (t->sock != NULL && !t->closed) {
        /* an RST: nothing lingers after a failure */
        struct linger lg = {1, 0};
        if (t->fd >= 0) {
            (void)setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
    }
    bt_lost(t, NULL);
    Py_RETURN_NONE;
}

static PyObject *
bt_close(TransportObject *t, PyObject *Py_UNUSED(a))
{
    if (t->closed || t->closing) {
        Py_RETURN_NONE;
    }
    t->closing = 1;
    if (bt_flush(t) < 0) {
        return NULL;
    }
    if (bt_pending(t) == 0) {
        bt_lost(t, NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *
bt_is_closing(TransportObject *t, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(t->closing || t->closed);
}

static PyObject *
bt_pause_reading(TransportObject *t, PyObject *Py_UNUSED(a))
{
    t->reading_paused = 1;
    Py_RETURN_NONE;
}

static PyObject *
bt_resume_reading(TransportObject *t, PyObject *Py_UNUSED(a))
{
    t->reading_paused = 0;
    Py_RETURN_NONE;
}

static PyObject *
bt_get_extra_info(TransportObject *t, PyObject *args)
{
    PyObject *name, *dflt = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:get_extra_info", &name, &dflt)) {
        return NULL;
    }
    PyObject *v = NULL;
    if (t->extra != NULL) {
        v = PyDict_GetItemWithError(t->extra, name);
        if (v == NULL && PyErr_Occurred()) {
            return NULL;
        }
    }
    return Py_NewRef(v != NULL ? v : dflt);
}

static PyObject *
bt_get_write_buffer_size(TransportObject *t, PyObject *Py_UNUSED(a))
{
    return PyLong_FromSize_t(bt_pending(t));
}

/* Deliver n bytes at p to the protocol through get_buffer/buffer_updated
 * (the C functions). */
static int
bt_deliver(TransportObject *t, const uint8_t *p, size_t n)
{
    while (n > 0 && t->proto != NULL) {
        PyObject *mv = pgw_proto_get_buffer(t->proto, Py_None);
        if (mv == NULL) {
            return -1;
        }
        Py_buffer *b = PyMemoryView_GET_BUFFER(mv);
        size_t k = (size_t)b->len < n ? (size_t)b->len : n;
        memcpy(b->buf, p, k);
        Py_DECREF(mv);
        PyObject *num = PyLong_FromSize_t(k);
        PyObject *r = num ? pgw_proto_buffer_updated(t->proto, num) : NULL;
        Py_XDECREF(num);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
        p += k;
        n -= k;
    }
    return 0;
}

/* TLS: feed ciphertext in, take plaintext out.  1 = close_notify. */
static int
bt_tls_read(TransportObject *t, const uint8_t *p, size_t n)
{
    PyObject *r = PyObject_CallMethod(t->bio_in, "write", "y#",
                                      (const char *)p, (Py_ssize_t)n);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    for (;;) {
        PyObject *d = PyObject_CallMethod(t->ssl, "read", "i", TLS_CHUNK);
        if (d == NULL) {
            if (PyErr_ExceptionMatches(t->want_read)) {
                PyErr_Clear();
                return bt_tls_pull(t); /* renegotiation output */
            }
            return -1;
        }
        if (!PyBytes_Check(d)) {
            Py_DECREF(d);
            PyErr_SetString(PyExc_TypeError, "SSLObject.read() gave no bytes");
            return -1;
        }
        Py_ssize_t len = PyBytes_GET_SIZE(d);
        const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(d);
        int rc = len == 0 ? 1 : bt_deliver(t, data, (size_t)len);
        Py_DECREF(d);
        if (rc != 0) {
            return rc;
        }
    }
}

/* The socket is readable: read into the protocol's buffer (plaintext)
 * or through the SSLObject.  EOF or an error: connection lost. */
static int
bt_on_readable(TransportObject *t)
{
    uint8_t tmp[TLS_CHUNK];
    for (int round = 0; round < BT_READ_ROUNDS && t->fd >= 0 &&
                        !t->reading_paused && t->proto != NULL;
         round++) {
        ssize_t n;
        if (t->ssl != NULL) {
            n = recv(t->fd, tmp, sizeof(tmp), 0);
        }
        else {
            PyObject *mv = pgw_proto_get_buffer(t->proto, Py_None);
            if (mv == NULL) {
                return -1;
            }
            Py_buffer *b = PyMemoryView_GET_BUFFER(mv);
            n = recv(t->fd, b->buf, (size_t)b->len, 0);
            Py_DECREF(mv);
            if (n > 0) {
                PyObject *num = PyLong_FromSsize_t(n);
                PyObject *r = num ? pgw_proto_buffer_updated(t->proto, num)
                                  : NULL;
                Py_XDECREF(num);
                if (r == NULL) {
                    return -1;
                }
                Py_DECREF(r);
                continue;
            }
        }
        if (n > 0) {
            int rc = bt_tls_read(t, tmp, (size_t)n);
            if (rc < 0) {
                PyObject *e = pgw_fetch_exc();
                bt_lost(t, e);
                Py_XDECREF(e);
                return 0;
            }
            if (rc == 1) {
                bt_lost(t, NULL);
                return 0;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        }
        PyObject *e = NULL;
        if (n < 0) {
            PyErr_SetFromErrno(PyExc_ConnectionResetError);
            e = pgw_fetch_exc();
        }
        bt_lost(t, e); /* n == 0: the server closed its end */
        Py_XDECREF(e);
        return 0;
    }
    return 0;
}

static int
bt_traverse(TransportObject *t, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(t));
    Py_VISIT(t->loop);
    Py_VISIT(t->proto);
    Py_VISIT(t->sock);
    Py_VISIT(t->ssl);
    Py_VISIT(t->bio_in);
    Py_VISIT(t->bio_out);
    Py_VISIT(t->want_read);
    Py_VISIT(t->extra);
    Py_VISIT(t->write_error);
    return 0;
}

static int
bt_clear(TransportObject *t)
{
    Py_CLEAR(t->loop);
    Py_CLEAR(t->proto);
    Py_CLEAR(t->sock);
    Py_CLEAR(t->ssl);
    Py_CLEAR(t->bio_in);
    Py_CLEAR(t->bio_out);
    Py_CLEAR(t->want_read);
    Py_CLEAR(t->extra);
    Py_CLEAR(t->write_error);
    t->fd = -1;
    return 0;
}

static void
bt_dealloc(TransportObject *t)
{
    PyTypeObject *tp = Py_TYPE(t);
    PyObject_GC_UnTrack(t);
    bt_clear(t);
    PyMem_Free(t->out);
    tp->tp_free((PyObject *)t);
    Py_DECREF(tp);
}

static PyMethodDef bt_methods[] = {
    {"write", (PyCFunction)bt_write, METH_O, NULL},
    {"close", (PyCFunction)bt_close, METH_NOARGS, NULL},
    {"abort", (PyCFunction)bt_abort, METH_NOARGS, NULL},
    {"is_closing", (PyCFunction)bt_is_closing, METH_NOARGS, NULL},
    {"pause_reading", (PyCFunction)bt_pause_reading, METH_NOARGS, NULL},
    {"resume_reading", (PyCFunction)bt_resume_reading, METH_NOARGS, NULL},
    {"get_extra_info", (PyCFunction)bt_get_extra_info, METH_VARARGS, NULL},
    {"get_write_buffer_size", (PyCFunction)bt_get_write_buffer_size,
     METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot bt_slots[] = {
    {Py_tp_dealloc, bt_dealloc},
    {Py_tp_traverse, bt_traverse},
    {Py_tp_clear, bt_clear},
    {Py_tp_methods, bt_methods},
    {Py_tp_doc, "A socket transport of a BlockingLoop (pgwire.sync): made "
                "by loop._make_transport()."},
    {0, NULL},
};

static PyType_Spec bt_spec = {
    .name = "pgwire._pgwire.BlockingTransport",
    .basicsize = sizeof(TransportObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = bt_slots,
};

/* ------------------------------------------------------------------ */
/* Loop: methods                                                       */
/* ------------------------------------------------------------------ */

static int
bl_check(BLoopObject *l)
{
    if (l->ready == NULL || l->readers == NULL || l->writers == NULL) {
        PyErr_SetString(l->st ? l->st->InterfaceError : PyExc_RuntimeError,
                        "the loop is not initialised (or was cleared)");
        return -1;
    }
    return 0;
}

static PyObject *
bl_time(BLoopObject *Py_UNUSED(l), PyObject *Py_UNUSED(a))
{
    return PyFloat_FromDouble(pgw_monotonic());
}

static PyObject *
bl_create_future(BLoopObject *l, PyObject *Py_UNUSED(a))
{
    if (bl_check(l) < 0) {
        return NULL;
    }
    return (PyObject *)future_new(l);
}

/* call_soon(cb, *args, context=None) / call_at(when, cb, *args, ...) */
static PyObject *
bl_schedule(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs,
            double when, int timer)
{
    if (bl_check(l) < 0) {
        return NULL;
    }
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "a callback is required");
        return NULL;
    }
    PyObject *cargs = PyTuple_New(nargs - 1);
    if (cargs == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 1; i < nargs; i++) {
        PyTuple_SET_ITEM(cargs, i - 1, Py_NewRef(args[i]));
    }
    HandleObject *h = handle_new(l->st, args[0], cargs, when);
    Py_DECREF(cargs);
    if (h == NULL) {
        return NULL;
    }
    int rc = timer ? heap_push(l, h) : loop_schedule(l, h);
    if (rc < 0) {
        Py_DECREF(h);
        return NULL;
    }
    return (PyObject *)h;
}

static PyObject *
bl_call_soon(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs,
             PyObject *Py_UNUSED(kw))
{
    return bl_schedule(l, args, nargs, 0, 0);
}

static int
time_arg(PyObject *o, const char *what, double *out)
{
    *out = PyFloat_AsDouble(o);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_TypeError, "%s: expected a number, got %.100s",
                     what, Py_TYPE(o)->tp_name);
        return -1;
    }
    return 0;
}

static PyObject *
bl_call_later(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs,
              PyObject *Py_UNUSED(kw))
{
    double d;
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "call_later(delay, callback, *args)");
        return NULL;
    }
    if (time_arg(args[0], "call_later(delay)", &d) < 0) {
        return NULL;
    }
    return bl_schedule(l, args + 1, nargs - 1, pgw_monotonic() + d, 1);
}

static PyObject *
bl_call_at(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs,
           PyObject *Py_UNUSED(kw))
{
    double w;
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "call_at(when, callback, *args)");
        return NULL;
    }
    if (time_arg(args[0], "call_at(when)", &w) < 0) {
        return NULL;
    }
    return bl_schedule(l, args + 1, nargs - 1, w, 1);
}

/* add_reader(fd, cb, *args) and add_writer: one watcher per fd. */
static PyObject *
bl_watch(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs,
         PyObject *dict)
{
    if (bl_check(l) < 0) {
        return NULL;
    }
    if (nargs < 2 || !PyLong_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "add_reader/add_writer(fd: int, "
                                         "callback, *args)");
        return NULL;
    }
    if (PyDict_GET_SIZE(l->readers) + PyDict_GET_SIZE(l->writers) >=
        BL_MAX_FDS - 1) {
        PyErr_Format(PyExc_ValueError,
                     "a BlockingLoop watches at most %d "
                     "file descriptors",
                     BL_MAX_FDS - 1);
        return NULL;
    }
    PyObject *cargs = PyTuple_New(nargs - 2);
    if (cargs == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 2; i < nargs; i++) {
        PyTuple_SET_ITEM(cargs, i - 2, Py_NewRef(args[i]));
    }
    HandleObject *w = handle_new(l->st, args[1], cargs, 0);
    Py_DECREF(cargs);
    if (w == NULL || PyDict_SetItem(dict, args[0], (PyObject *)w) < 0) {
        Py_XDECREF(w);
        return NULL;
    }
    Py_DECREF(w);
    Py_RETURN_NONE;
}

static PyObject *
bl_add_reader(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs)
{
    return bl_watch(l, args, nargs, l->readers);
}

static PyObject *
bl_add_writer(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs)
{
    return bl_watch(l, args, nargs, l->writers);
}

static PyObject *
bl_unwatch(BLoopObject *l, PyObject *fd, PyObject *dict)
{
    if (bl_check(l) < 0) {
        return NULL;
    }
    int r = PyDict_Contains(dict, fd);
    if (r < 0 || (r == 1 && PyDict_DelItem(dict, fd) < 0)) {
        return NULL;
    }
    return PyBool_FromLong(r);
}

static PyObject *
bl_remove_reader(BLoopObject *l, PyObject *fd)
{
    return bl_unwatch(l, fd, l->readers);
}

static PyObject *
bl_remove_writer(BLoopObject *l, PyObject *fd)
{
    return bl_unwatch(l, fd, l->writers);
}

/* _make_transport(sock, protocol, ssl_object=None, incoming=None,
 * outgoing=None, extra=None): the loop's transport over a connected
 * non-blocking socket; protocol.connection_made(transport) is called. */
static PyObject *
bl_make_transport(BLoopObject *l, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"sock",     "protocol", "ssl_object", "incoming",
                             "outgoing", "extra",    NULL};
    PyObject *sock, *proto, *ssl = Py_None, *bin = Py_None, *bout = Py_None;
    PyObject *extra = Py_None;
    if (bl_check(l) < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kwds, "OO|OOOO:_make_transport",
                                     kwlist, &sock, &proto, &ssl, &bin, &bout,
                                     &extra)) {
        return NULL;
    }
    if (!PyObject_TypeCheck(proto, l->st->ProtocolType)) {
        PyErr_Format(PyExc_TypeError,
                     "_make_transport(protocol): expected "
                     "a pgwire Protocol, got %.100s",
                     Py_TYPE(proto)->tp_name);
        return NULL;
    }
    int fd = PyObject_AsFileDescriptor(sock);
    if (fd < 0) {
        return NULL;
    }
    if (l->transport != NULL && !l->transport->closed) {
        PyErr_SetString(l->st->InterfaceError,
                        "this BlockingLoop already has an open transport");
        return NULL;
    }
    TransportObject *t = PyObject_GC_New(TransportObject,
                                         l->st->BTransportType);
    if (t == NULL) {
        return NULL;
    }
    PGW_ZERO_FIELDS(t, TransportObject);
    t->st = l->st;
    t->loop = (BLoopObject *)Py_NewRef(l);
    t->proto = (ProtocolObject *)Py_NewRef(proto);
    t->sock = Py_NewRef(sock);
    t->fd = fd;
    if (ssl != Py_None) {
        t->ssl = Py_NewRef(ssl);
        t->bio_in = Py_NewRef(bin);
        t->bio_out = Py_NewRef(bout);
        t->want_read = pgw_import_attr("ssl", "SSLWantReadError");
    }
    t->extra = extra == Py_None ? PyDict_New() : PyDict_Copy(extra);
    PyObject_GC_Track(t);
    if (t->extra == NULL || (t->ssl != NULL && t->want_read == NULL)) {
        Py_DECREF(t);
        return NULL;
    }
    Py_XSETREF(l->transport, (TransportObject *)Py_NewRef(t));
    PyObject *r = PyObject_CallMethod(proto, "connection_made", "O", t);
    if (r == NULL) {
        Py_DECREF(t);
        return NULL;
    }
    Py_DECREF(r);
    return (PyObject *)t;
}

/* ------------------------------------------------------------------ */
/* Loop: one turn                                                      */
/* ------------------------------------------------------------------ */

/* Add the watchers of `dict` to the poll set. */
static int
collect_watchers(PyObject *dict, short ev, struct pollfd *fds, nfds_t *n)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(dict, &pos, &k, &v)) {
        long fd = PyLong_AsLong(k);
        if (fd < 0 || fd > INT_MAX) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "invalid fd %ld", fd);
            }
            return -1;
        }
        if (*n >= BL_MAX_FDS) {
            break;
        }
        fds[*n].fd = (int)fd;
        fds[*n].events = ev;
        fds[*n].revents = 0;
        (*n)++;
    }
    return 0;
}

/* A watcher whose fd is ready: schedule its callback. */
static int
fire_watcher(BLoopObject *l, PyObject *dict, int fd)
{
    PyObject *k = PyLong_FromLong(fd);
    if (k == NULL) {
        return -1;
    }
    PyObject *h = Py_XNewRef(PyDict_GetItemWithError(dict, k));
    Py_DECREF(k);
    if (h == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    HandleObject *w = (HandleObject *)h;
    int rc = w->callback ? loop_soon(l, w->callback, w->args) : 0;
    Py_DECREF(h);
    return rc;
}

/* poll() for at most `timeout` seconds (GIL released).  0, or -1 with an
 * exception (a signal handler's, e.g. KeyboardInterrupt). */
static int
loop_poll(BLoopObject *l, double timeout)
{
    struct pollfd fds[BL_MAX_FDS];
    nfds_t n = 0;
    TransportObject *t = l->transport;
    if (t != NULL && t->fd >= 0) {
        fds[0].fd = t->fd;
        fds[0].events = (short)((t->reading_paused ? 0 : POLLIN) |
                                (bt_pending(t) > 0 ? POLLOUT : 0));
        fds[0].revents = 0;
        n = 1;
    }
    nfds_t nt = n;
    if (collect_watchers(l->readers, POLLIN, fds, &n) < 0) {
        return -1;
    }
    nfds_t nr = n;
    if (collect_watchers(l->writers, POLLOUT, fds, &n) < 0) {
        return -1;
    }
    int ms = timeout <= 0     ? 0
             : timeout > 3600 ? 3600000
                              : (int)(timeout * 1000) + 1;
    /* a signal (Ctrl-C) that arrived while C code ran since the last
     * check would not interrupt the poll() below, which would sleep
     * through it: run the handlers first */
    if (ms != 0 && PyErr_CheckSignals() < 0) {
        return -1;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = poll(fds, n, ms);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        if (errno == EINTR) {
            return PyErr_CheckSignals();
        }
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    for (nfds_t i = nt; i < n; i++) {
        if (fds[i].revents &&
            fire_watcher(l, i < nr ? l->readers : l->writers, fds[i].fd) < 0) {
            return -1;
        }
    }
    if (nt == 1 && fds[0].revents) {
        Py_INCREF(t);
        int r = 0;
        if (fds[0].revents & POLLOUT) {
            r = bt_flush(t);
        }
        if (r == 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            r = bt_on_readable(t);
        }
        if (r == 0 && t->closing && !t->closed && bt_pending(t) == 0) {
            bt_lost(t, NULL);
        }
        Py_DECREF(t);
        return r < 0 ? -1 : 0;
    }
    return 0;
}

/* One turn: callbacks ready now, then I/O waiting at most until the next
 * timer or `deadline` (< 0: none) -- not at all once `fut` (a future or
 * NULL) is done --, then the due timers.  0 or -1. */
static int
loop_once(BLoopObject *l, double deadline, PyObject *fut)
{
    if (run_ready(l) < 0) {
        return -1;
    }
    /* flush first: draining below the low-water mark calls the
     * protocol's resume_writing, which can complete `fut` (an executemany
     * waiting to write its next chunk); checked before it, that wake-up
     * was missed and poll() slept with nothing left to wake it */
    TransportObject *t = l->transport;
    if (t != NULL && t->fd >= 0 &&
        (bt_flush(t) < 0 || bt_write_failed(t) < 0)) {
        return -1;
    }
    /* fut None: the awaitable yielded a bare turn (asyncio.sleep(0)):
     * poll without sleeping, as asyncio runs one iteration */
    int done = l->cancel_requested || fut == Py_None ||
               (fut != NULL && ((FutureObject *)fut)->state != FUT_PENDING);
    double now = pgw_monotonic();
    double until = heap_next(l);
    if (deadline >= 0 && (until < 0 || deadline < until)) {
        until = deadline;
    }
    if (!done && until < 0 && PyList_GET_SIZE(l->ready) == 0 &&
        !(t != NULL && t->fd >= 0) && PyDict_GET_SIZE(l->readers) == 0 &&
        PyDict_GET_SIZE(l->writers) == 0) {
        /* nothing could ever wake us: never block forever */
        PyErr_SetString(l->st->InternalClientError,
                        "the blocking loop has nothing to wait for (no "
                        "socket, timer or callback) while an operation "
                        "waits: it would never finish");
        return -1;
    }
    double wait = (done || PyList_GET_SIZE(l->ready) > 0) ? 0
                  : until < 0                             ? 3600
                                                          : until - now;
    if (loop_poll(l, wait) < 0) {
        return -1;
    }
    return fire_timers(l, pgw_monotonic());
}

/* ------------------------------------------------------------------ */
/* Loop: running an awaitable                                          */
/* ------------------------------------------------------------------ */

typedef struct {
    PyObject *it;        /* the iterator being driven */
    PyObject *interrupt; /* KeyboardInterrupt (etc.) to raise at the end */
    int timed_out;       /* the run's deadline passed: TimeoutError */
    int cancelling;      /* the run is being cancelled (interrupt or
                            deadline): bounded by cancel_timeout */
    int throw_now;       /* throw CancelledError in at the next step */
    double deadline;     /* < 0: none */
} RunState;

/* The iterator of an awaitable: a coroutine or an Op directly, else
 * __await__(). */
static PyObject *
awaitable_iter(PyObject *aw)
{
    PyTypeObject *tp = Py_TYPE(aw);
    if (PyCoro_CheckExact(aw) || PyGen_CheckExact(aw)) {
        return Py_NewRef(aw);
    }
    if (tp->tp_as_async != NULL && tp->tp_as_async->am_await != NULL) {
        return tp->tp_as_async->am_await(aw);
    }
    PyErr_Format(PyExc_TypeError,
                 "run_until_complete(awaitable): expected "
                 "an awaitable, got %.100s",
                 tp->tp_name);
    return NULL;
}

/* throw(CancelledError) into the iterator, as PyIter_Send reports. */
static PySendResult
run_throw_cancel(BLoopObject *l, RunState *rs, PyObject **res)
{
    PyObject *exc = PyObject_CallNoArgs(l->st->CancelledError);
    if (exc == NULL) {
        *res = NULL;
        return PYGEN_ERROR;
    }
    PyObject *r = PyObject_CallMethod(rs->it, "throw", "O", exc);
    Py_DECREF(exc);
    if (r != NULL) {
        *res = r;
        return PYGEN_NEXT;
    }
    if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
        PyObject *v = pgw_fetch_exc();
        *res = PyObject_GetAttrString(v, "value");
        Py_DECREF(v);
        return *res ? PYGEN_RETURN : PYGEN_ERROR;
    }
    *res = NULL;
    return PYGEN_ERROR;
}

/* Start cancelling the run's awaitable (interrupt or deadline): the next
 * step throws CancelledError; the rest is bounded by cancel_timeout. */
static void
run_begin_cancel(BLoopObject *l, RunState *rs)
{
    rs->cancelling = 1;
    rs->throw_now = 1;
    rs->deadline = pgw_monotonic() + l->cancel_timeout;
}

/* Give up waiting for a cancel: abort the connection. */
static void
run_abort(BLoopObject *l)
{
    if (l->transport != NULL) {
        PyObject *r = bt_abort(l->transport, NULL);
        Py_XDECREF(r);
        if (r == NULL) {
            PyErr_Clear();
        }
        /* deliver connection_lost */
        if (run_ready(l) < 0) {
            PyErr_WriteUnraisable((PyObject *)l);
        }
    }
}

/* Wait for `fut` (or, for None, one turn).  0 = go on (done, or the run
 * is to be cancelled); -1 with an exception: a fatal error. */
static int
run_wait(BLoopObject *l, RunState *rs, PyObject *fut)
{
    for (;;) {
        if (fut != Py_None && ((FutureObject *)fut)->state != FUT_PENDING) {
            return 0;
        }
        if (l->cancel_requested) {
            /* a timeout block expired (_cancel_current): one
             * CancelledError, which the block turns into TimeoutError */
            l->cancel_requested = 0;
            rs->throw_now = 1;
            return 0;
        }
        if (rs->deadline >= 0 && pgw_monotonic() >= rs->deadline) {
            if (rs->cancelling) {
                run_abort(l); /* the cancel took too long */
                rs->throw_now = 1;
                return 0;
            }
            rs->timed_out = 1;
            run_begin_cancel(l, rs);
            return 0;
        }
        if (loop_once(l, rs->deadline, fut) < 0) {
            if (rs->interrupt != NULL || rs->cancelling) {
                /* a second interrupt: stop cancelling politely */
                PyObject *e = pgw_fetch_exc();
                Py_XDECREF(e);
                run_abort(l);
                rs->throw_now = 1;
                return 0;
            }
            rs->interrupt = pgw_fetch_exc();
            run_begin_cancel(l, rs);
            return 0;
        }
        if (fut == Py_None) {
            return 0;
        }
    }
}

/* An abandoned request (cancelled: timeout, interrupt) is still being
 * finished on the connection. */
static int
needs_drain(BLoopObject *l)
{
    TransportObject *t = l->transport;
    if (t == NULL || t->proto == NULL || t->closed) {
        return 0;
    }
    /* set from the cancel of a request (or a COPY's CopyFail) until the
     * engine has drained it */
    return t->proto->cancel != CANCEL_NONE;
}

/* After a cancelled run: let the protocol finish the abandoned request
 * (the CancelRequest, the results drained) within the cancel budget, so
 * the call returns with the server idle; past it, or on another
 * interrupt, abort the connection. */
static void
run_drain(BLoopObject *l, double deadline)
{
    while (needs_drain(l)) {
        if (pgw_monotonic() >= deadline || loop_once(l, deadline, NULL) < 0) {
            PyErr_Clear();
            run_abort(l);
            return;
        }
    }
    if (run_ready(l) < 0) {
        PyErr_Clear();
    }
}

/* The end of a run: the result, or the error to raise. */
static PyObject *
run_finish(BLoopObject *l, RunState *rs, PySendResult r, PyObject *res)
{
    if (rs->interrupt != NULL || rs->timed_out || needs_drain(l)) {
        PyObject *exc = PyErr_GetRaisedException();
        run_drain(l, pgw_monotonic() + l->cancel_timeout);
        PyErr_SetRaisedException(exc);
    }
    if (rs->interrupt != NULL) {
        Py_XDECREF(res);
        PyErr_Clear();
        PyErr_SetRaisedException(rs->interrupt);
        rs->interrupt = NULL;
        return NULL;
    }
    if (r == PYGEN_RETURN) {
        return res;
    }
    if (rs->timed_out && PyErr_ExceptionMatches(l->st->CancelledError)) {
        PyObject *cause = pgw_fetch_exc();
        pgw_raise_caused(l->st->TimeoutError,
                         PyUnicode_FromString("the operation did not "
                                              "finish before its deadline"),
                         cause);
    }
    return NULL;
}

static PyObject *
run_loop(BLoopObject *l, RunState *rs)
{
    PySendResult r;
    PyObject *res = NULL;
    for (;;) {
        if (rs->throw_now) {
            rs->throw_now = 0;
            r = run_throw_cancel(l, rs, &res);
        }
        else {
            r = PyIter_Send(rs->it, Py_None, &res);
        }
        if (r != PYGEN_NEXT) {
            return run_finish(l, rs, r, res);
        }
        if (res != Py_None && !PyObject_TypeCheck(res, l->st->BFutureType)) {
            PyErr_Format(PyExc_RuntimeError,
                         "a pgwire.sync operation awaited %.100s, which a "
                         "BlockingLoop cannot wait for",
                         Py_TYPE(res)->tp_name);
            Py_DECREF(res);
            if (rs->interrupt == NULL) {
                rs->interrupt = pgw_fetch_exc();
            }
            else {
                PyErr_Clear();
            }
            run_begin_cancel(l, rs);
            continue;
        }
        if (res != Py_None) {
            ((FutureObject *)res)->blocking = 0;
        }
        int rc = run_wait(l, rs, res);
        Py_DECREF(res);
        res = NULL;
        if (rc < 0) {
            return NULL;
        }
    }
}

/* run_until_complete(awaitable, deadline=None): drive it to the end on
 * this loop; `deadline` (loop.time()) bounds the whole run (TimeoutError,
 * the awaitable cancelled first). */
static PyObject *
bl_run_until_complete(BLoopObject *l, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"awaitable", "deadline", NULL};
    PyObject *aw, *dl = Py_None;
    if (bl_check(l) < 0 ||
        !PyArg_ParseTupleAndKeywords(args, kwds, "O|O:run_until_complete",
                                     kwlist, &aw, &dl)) {
        return NULL;
    }
    RunState rs = {NULL, NULL, 0, 0, 0, -1};
    if (dl != Py_None &&
        time_arg(dl, "run_until_complete(deadline)", &rs.deadline) < 0) {
        return NULL;
    }
    if (l->running) {
        PyErr_SetString(l->st->InterfaceError,
                        "cannot perform operation: another operation is in "
                        "progress (this blocking connection is already "
                        "running one)");
        return NULL;
    }
    rs.it = awaitable_iter(aw);
    if (rs.it == NULL) {
        return NULL;
    }
    l->running = 1;
    l->cancel_requested = 0;
    PyObject *r = run_loop(l, &rs);
    l->running = 0;
    Py_DECREF(rs.it);
    Py_XDECREF(rs.interrupt);
    return r;
}

/* run_once(timeout=0): one turn of the loop (callbacks, I/O, timers). */
static PyObject *
bl_run_once(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs)
{
    double timeout = 0;
    if (bl_check(l) < 0) {
        return NULL;
    }
    if (nargs > 0 && time_arg(args[0], "run_once(timeout)", &timeout) < 0) {
        return NULL;
    }
    if (loop_once(l, pgw_monotonic() + (timeout > 0 ? timeout : 0), NULL) <
        0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* _cancel_current(on=True): cancel the awaitable run_until_complete is
 * driving at its next wait (asyncio.timeout's counterpart: pgwire.sync's
 * timeout helper); False withdraws a request not yet delivered. */
static PyObject *
bl_cancel_current(BLoopObject *l, PyObject *const *args, Py_ssize_t nargs)
{
    int on = 1;
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "_cancel_current(on=True)");
        return NULL;
    }
    if (nargs == 1 && (on = PyObject_IsTrue(args[0])) < 0) {
        return NULL;
    }
    l->cancel_requested = on;
    Py_RETURN_NONE;
}

static PyObject *
bl_is_running(BLoopObject *l, PyObject *Py_UNUSED(a))
{
    return PyBool_FromLong(l->running);
}

static PyObject *
bl_false(BLoopObject *Py_UNUSED(l), PyObject *Py_UNUSED(a))
{
    Py_RETURN_FALSE;
}

static PyObject *
bl_get_cancel_timeout(BLoopObject *l, void *Py_UNUSED(c))
{
    return PyFloat_FromDouble(l->cancel_timeout);
}

static int
bl_set_cancel_timeout(BLoopObject *l, PyObject *v, void *Py_UNUSED(c))
{
    double d;
    if (v == NULL || time_arg(v, "cancel_timeout", &d) < 0) {
        if (v == NULL) {
            PyErr_SetString(PyExc_AttributeError, "cannot delete");
        }
        return -1;
    }
    if (!(d > 0)) {
        PyErr_Format(PyExc_ValueError,
                     "cancel_timeout: expected a "
                     "positive number, got %R",
                     v);
        return -1;
    }
    l->cancel_timeout = d;
    return 0;
}

static PyObject *
bl_get_transport(BLoopObject *l, void *Py_UNUSED(c))
{
    return Py_NewRef(l->transport ? (PyObject *)l->transport : Py_None);
}

static PyObject *
bl_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError, "BlockingLoop() takes no arguments");
        return NULL;
    }
    (void)kwds;
    BLoopObject *l = (BLoopObject *)type->tp_alloc(type, 0);
    if (l == NULL) {
        return NULL;
    }
    l->st = pgw_get_state_by_type(type);
    l->cancel_timeout = 2.0;
    l->ready = PyList_New(0);
    l->readers = PyDict_New();
    l->writers = PyDict_New();
    if (l->st == NULL || l->ready == NULL || l->readers == NULL ||
        l->writers == NULL) {
        Py_DECREF(l);
        return NULL;
    }
    return (PyObject *)l;
}

static int
bl_traverse(BLoopObject *l, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(l));
    Py_VISIT(l->ready);
    for (size_t i = 0; i < l->nheap; i++) {
        Py_VISIT(l->heap[i]);
    }
    Py_VISIT(l->transport);
    Py_VISIT(l->readers);
    Py_VISIT(l->writers);
    return 0;
}

static int
bl_clear(BLoopObject *l)
{
    Py_CLEAR(l->ready);
    while (l->nheap > 0) {
        Py_DECREF(l->heap[--l->nheap]);
    }
    Py_CLEAR(l->transport);
    Py_CLEAR(l->readers);
    Py_CLEAR(l->writers);
    return 0;
}

static void
bl_dealloc(BLoopObject *l)
{
    PyTypeObject *tp = Py_TYPE(l);
    PyObject_GC_UnTrack(l);
    bl_clear(l);
    PyMem_Free(l->heap);
    tp->tp_free((PyObject *)l);
    Py_DECREF(tp);
}

#define FASTKW(f) \
    (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS
#define FAST(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL
#define VARKW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS

static PyMethodDef bl_methods[] = {
    {"time", (PyCFunction)bl_time, METH_NOARGS, NULL},
    {"create_future", (PyCFunction)bl_create_future, METH_NOARGS, NULL},
    {"call_soon", FASTKW(bl_call_soon), NULL},
    {"call_later", FASTKW(bl_call_later), NULL},
    {"call_at", FASTKW(bl_call_at), NULL},
    {"add_reader", FAST(bl_add_reader), NULL},
    {"add_writer", FAST(bl_add_writer), NULL},
    {"remove_reader", (PyCFunction)bl_remove_reader, METH_O, NULL},
    {"remove_writer", (PyCFunction)bl_remove_writer, METH_O, NULL},
    {"_make_transport", VARKW(bl_make_transport), NULL},
    {"run_until_complete", VARKW(bl_run_until_complete), NULL},
    {"run_once", FAST(bl_run_once), NULL},
    {"_cancel_current", FAST(bl_cancel_current), NULL},
    {"is_running", (PyCFunction)bl_is_running, METH_NOARGS, NULL},
    {"is_closed", (PyCFunction)bl_false, METH_NOARGS, NULL},
    {"get_debug", (PyCFunction)bl_false, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef bl_getset[] = {
    {"cancel_timeout", (getter)bl_get_cancel_timeout,
     (setter)bl_set_cancel_timeout,
     "seconds an interrupted run may spend cancelling", NULL},
    {"transport", (getter)bl_get_transport, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot bl_slots[] = {
    {Py_tp_new, bl_new},
    {Py_tp_dealloc, bl_dealloc},
    {Py_tp_traverse, bl_traverse},
    {Py_tp_clear, bl_clear},
    {Py_tp_methods, bl_methods},
    {Py_tp_getset, bl_getset},
    {Py_tp_doc, "The event loop of a blocking pgwire connection "
                "(pgwire.sync)."},
    {0, NULL},
};

static PyType_Spec bl_spec = {
    .name = "pgwire._pgwire.BlockingLoop",
    .basicsize = sizeof(BLoopObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_BASETYPE,
    .slots = bl_slots,
};

int
pgw_blocking_setup_types(PyObject *module, ModState *st)
{
    st->BHandleType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                               &handle_spec,
                                                               NULL);
    if (st->BHandleType == NULL) {
        return -1;
    }
    st->BFutureType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                               &fut_spec,
                                                               NULL);
    if (st->BFutureType == NULL ||
        PyModule_AddType(module, st->BFutureType) < 0) {
        return -1;
    }
    st->BTransportType = (PyTypeObject *)PyType_FromModuleAndSpec(module,
                                                                  &bt_spec,
                                                                  NULL);
    if (st->BTransportType == NULL) {
        return -1;
    }
    st->BLoopType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &bl_spec,
                                                             NULL);
    if (st->BLoopType == NULL || PyModule_AddType(module, st->BLoopType) < 0) {
        return -1;
    }
    return 0;
}
