"""Call every entry point of pgwire's C types on objects made with __new__
(where the type allows it) and on objects whose tp_clear has run, and
report what was called; any crash kills the process (the test runs this
in a subprocess: tests/test_c_entry_points.py).

usage: python c_entry_sweep.py SCENARIO CONNECT_KWARGS_JSON
"""

import asyncio
import ctypes
import gc
import json
import os
import sys

import pgwire
import pgwire.sync
from pgwire import _pgwire

_GetSlot = ctypes.pythonapi.PyType_GetSlot
_GetSlot.restype = ctypes.c_void_p
_GetSlot.argtypes = [ctypes.py_object, ctypes.c_int]
PY_TP_CLEAR = 51
_INQUIRY = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object)  # GIL held

ARGS = [(), (None,), (0,), (1,), (-1,), ("x",), (b"x",), (None, None),
        (0, 0), ((),), (None, None, None), (1, 2, 3, 4, 5, 6)]
# never called: they would wait for ever or end the process
SKIP = {"__init_subclass__", "__subclasshook__", "__class_getitem__",
        "__reduce__", "__reduce_ex__", "__getstate__", "__dir__",
        "__sizeof__", "__format__", "__new__", "__init__", "__del__",
        "__setattr__", "__delattr__", "__getattribute__"}

calls = 0
TRACE = bool(os.environ.get("SWEEP_TRACE"))


def tp_clear(obj):
    """Run obj's type's tp_clear (the GC's step on a cycle)."""
    t = type(obj)
    while t is not None:
        addr = _GetSlot(t, PY_TP_CLEAR) if t.__flags__ & (1 << 9) else None
        if addr:
            _INQUIRY(addr)(obj)
            return True
        t = t.__base__
    return False


def _try(fn, *a):
    global calls
    calls += 1
    if TRACE:
        print("call", getattr(fn, "__qualname__", type(fn).__name__),
              [type(x).__name__ for x in a[:3]],
              file=sys.stderr, flush=True)
    try:
        r = fn(*a)
    except BaseException as e:  # noqa: B036 -- any exception is fine
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return e
    # consume what it produced, so lazily failing objects are touched
    if hasattr(r, "close") and type(r).__name__ == "coroutine":
        r.close()
    return r


def drive(op):
    """Step a query object the way a task would, then abandon it."""
    r = _try(op.send, None)
    if asyncio.isfuture(r) and not r.done():
        r.cancel()
    _try(op.throw, asyncio.CancelledError())
    _try(op.close)
    _try(op.send, None)


def sweep(obj, depth=0):
    """Every attribute of obj's type, called with several argument shapes,
    plus the protocol slots."""
    names = set()
    for klass in type(obj).__mro__:
        if klass is object:
            continue
        mod = getattr(klass, "__module__", "")
        if not (mod.startswith("pgwire") or klass.__module__ == "builtins"
                and klass is type(obj)):
            continue
        names.update(vars(klass))
    for name in sorted(names - SKIP):
        v = _try(getattr, obj, name)
        if callable(v) and not isinstance(v, type):
            for a in ARGS:
                r = _try(v, *a)
                if asyncio.isfuture(r):
                    # (a Python subclass's methods may have been set to 0
                    # by the sweep: any error is fine)
                    _try(lambda: r.cancel() if not r.done() else None)
                elif isinstance(r, _pgwire.Query):
                    drive(r)
        # setters
        _try(setattr, obj, name, None)
        _try(setattr, obj, name, 0)
    for op in (len, iter, hash, repr, str, bool, reversed, memoryview,
               lambda o: next(iter(o)), lambda o: list(iter(o)),
               lambda o: o[0], lambda o: o[-1], lambda o: o["x"],
               lambda o: o[0:1], lambda o: "x" in o, lambda o: 0 in o,
               lambda o: o == o, lambda o: o != 1, lambda o: o < o,
               lambda o: o <= (), lambda o: o > (), lambda o: o >= (1,),
               lambda o: o.__await__(), lambda o: o.send(None),
               lambda o: o.throw(ValueError), lambda o: o.close(),
               lambda o: next(o), lambda o: dict(o), lambda o: tuple(o),
               lambda o: o.get("x"), lambda o: list(o.items()),
               lambda o: list(o.keys()), lambda o: list(o.values())):
        r = _try(op, obj)
        if depth == 0 and type(r).__module__ in ("pgwire", "pgwire._pgwire") \
                and r is not obj and not isinstance(r, type):
            sweep(r, depth + 1)


async def objects(kw):
    """One live object of every C type, from ordinary use."""
    conn = await pgwire.connect(**kw)
    await conn.execute("CREATE TYPE pg_temp.sweep_e AS ENUM ('a', 'b')")
    await conn.execute("CREATE TYPE pg_temp.sweep_c AS (x int, y text)")
    rec = await conn.fetchrow(
        "SELECT 1 AS a, 'x' AS b, 'a'::pg_temp.sweep_e AS e, "
        "row(1, 'y')::pg_temp.sweep_c AS c, int4range(1, 5) AS r")
    stmt = await conn._prepare("SELECT $1::int AS v")
    out = {
        "conn": conn, "proto": conn._protocol, "record": rec,
        "record_iter": iter(rec), "record_items": iter(rec.items()),
        "record_values": iter(rec.values()),
        "statement": stmt,
        "op": conn.fetchval("SELECT 1"),
        "copy_op": conn._copy("COPY (SELECT 1) TO STDOUT", False, None),
        "read_buffer": conn._protocol.get_buffer(-1).obj,
    }
    # the blocking face's loop objects (src/ext/blocking.c), live
    sconn = pgwire.sync.connect(**kw)
    sloop = sconn._loop
    out.update(bloop=sloop, btransport=sloop.transport,
               bfuture=sloop.create_future(),
               bhandle=sloop.call_later(3600, print),
               btask=sloop.create_task(asyncio.sleep(0)))
    out["sync_conn"] = sconn
    desc = getattr(rec, "_desc", None)
    codecs = list(conn._protocol.type_codecs.values())
    for i, c in enumerate(codecs):
        out[f"codec{i}"] = c
    if desc is not None:
        out["record_desc"] = desc
    return conn, out


def scenario_new():
    """Every exported type instantiated with __new__ (refused or not)."""
    for name in dir(_pgwire):
        t = getattr(_pgwire, name)
        if not isinstance(t, type):
            continue
        for args in [(), (None,), (asyncio.new_event_loop(),)]:
            obj = _try(t.__new__, t, *args)
            if isinstance(obj, t):
                sweep(obj)
    for t in (pgwire.Connection, pgwire.Record):
        obj = _try(t.__new__, t)
        if isinstance(obj, t):
            sweep(obj)


async def scenario_uninit_connection_await():
    c = pgwire.Connection.__new__(pgwire.Connection)
    for meth, args in [("fetch", ("SELECT 1",)), ("fetchrow", ("SELECT 1",)),
                       ("fetchval", ("SELECT 1",)), ("execute", ("SELECT 1",)),
                       ("executemany", ("SELECT $1", [(1,)])),
                       ("fetchmany", ("SELECT $1", [(1,)])),
                       ("_prepare", ("SELECT 1",))]:
        try:
            await getattr(c, meth)(*args)
        except pgwire.InterfaceError as e:
            assert "not initialised" in str(e), e
        else:
            raise AssertionError(meth + " did not raise")


async def scenario_live(kw):
    conn, objs = await objects(kw)
    for name, obj in objs.items():
        if name in ("conn", "proto", "sync_conn"):
            continue
        sweep(obj)
    await conn.close()
    # (the sweep set attributes of the Python loop subclass: any error)
    _try(objs["sync_conn"].terminate)


async def scenario_cleared(kw, which):
    conn, objs = await objects(kw)
    keep = list(objs.values())
    for name, obj in objs.items():
        if which != "all" and name != which:
            continue
        tp_clear(obj)
        sweep(obj)
    # the whole connection still tears down without crashing
    try:
        await asyncio.wait_for(conn.close(), 5)
    except BaseException:
        pass
    del keep
    gc.collect()


def main():
    scenario, kw = sys.argv[1], json.loads(sys.argv[2])
    if scenario == "new":
        scenario_new()
    elif scenario == "uninit":
        asyncio.run(scenario_uninit_connection_await())
    elif scenario == "live":
        asyncio.run(scenario_live(kw))
    elif scenario.startswith("cleared:"):
        asyncio.run(scenario_cleared(kw, scenario.split(":", 1)[1]))
    gc.collect()
    print("calls", calls)
    print("OK")


if __name__ == "__main__":
    main()
