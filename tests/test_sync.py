"""pgwire.sync, the blocking face (issue 15): every method against the
real server, timeouts, cancellation (a real SIGINT), a killed backend,
threads.  The engine is the asyncio face's (same Protocol, Ops, codecs,
Records, exceptions), driven by src/ext/blocking.c."""

import gc
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pgwire
import pgwire.sync
from pgwire import exceptions as exc


def _wait_until(cond, timeout=10.0, what="condition"):
    """The blocking twin of tests/waiting.py's wait_until (each check is a
    query: no sleeping as synchronisation)."""
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what}")
        threading.Event().wait(0.01)


@pytest.fixture
def sconn(cluster):
    c = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        c.terminate() if c.is_closed() else c.close()


@pytest.fixture
def sadmin(cluster):
    """A second blocking connection, to watch the first from outside."""
    c = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        c.close()


def _activity(admin, pid):
    return admin.fetchrow(
        "SELECT state, query FROM pg_stat_activity WHERE pid = $1", pid)


def _interrupted_sleep(conn, admin, interrupt):
    """Run pg_sleep on ``conn`` in a thread, call ``interrupt()`` once the
    server shows it active; the one exception the call ended with."""
    pid = conn.get_server_pid()
    errors = []

    def run():
        try:
            conn.fetchval("SELECT pg_sleep(60)")
        except Exception as e:  # noqa: BLE001 - checked by the callers
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    _wait_until(lambda: (_activity(admin, pid) or {"state": ""})["state"]
                == "active", what="query running")
    interrupt()
    t.join(20)
    assert not t.is_alive(), "the running call did not wake up"
    assert len(errors) == 1, errors
    return errors[0]


def _idle(admin, pid):
    row = _activity(admin, pid)
    return row is not None and row["state"] == "idle"


# ---------------------------------------------------------------------------
# queries
# ---------------------------------------------------------------------------

def test_fetch_methods_and_records(sconn):
    rows = sconn.fetch("SELECT g AS n, g::text AS s FROM "
                       "generate_series(1, 3) g")
    assert [tuple(r) for r in rows] == [(1, "1"), (2, "2"), (3, "3")]
    assert type(rows[0]) is pgwire.Record
    assert rows[0]["s"] == "1"
    row = sconn.fetchrow("SELECT $1::int4 AS a, $2::text AS b", 7, "x")
    assert (row["a"], row["b"]) == (7, "x")
    assert sconn.fetchrow("SELECT 1 WHERE false") is None
    assert sconn.fetchval("SELECT 1, 2", column=1) == 2
    assert sconn.fetchval("SELECT 5 AS five", column="five") == 5
    assert sconn.execute("SELECT 1") == "SELECT 1"


def test_record_class(sconn):
    class MyRecord(pgwire.Record):
        pass
    r = sconn.fetchrow("SELECT 1 AS a", record_class=MyRecord)
    assert type(r) is MyRecord


def test_execute_script_and_executemany(sconn):
    sconn.execute("CREATE TEMP TABLE em (a int PRIMARY KEY, b text); "
                  "INSERT INTO em VALUES (0, 'zero')")
    sconn.executemany("INSERT INTO em VALUES ($1, $2)",
                      [(i, str(i)) for i in range(1, 101)])
    assert sconn.fetchval("SELECT count(*) FROM em") == 101
    rows = sconn.fetchmany("INSERT INTO em VALUES ($1, $2) RETURNING a",
                           [(200, "a"), (201, "b")])
    assert [r[0] for r in rows] == [200, 201]


def test_executemany_large_batch_streams(sconn):
    # more than the transport's high-water mark: the batch is written in
    # chunks under flow control while the results are read
    sconn.execute("CREATE TEMP TABLE big (a int, b text)")
    payload = "x" * 1000
    sconn.executemany("INSERT INTO big VALUES ($1, $2)",
                      ((i, payload) for i in range(2000)))
    assert sconn.fetchval("SELECT count(*) FROM big") == 2000


def test_executemany_streamed_never_misses_resume_writing(sconn):
    # regression: the loop checked whether the awaited future was done
    # *before* flushing; a flush that drained below the low-water mark
    # woke the streaming executemany (resume_writing) after the check and
    # poll() then slept for an hour with nothing to wake it.  Hit about
    # once in a hundred streamed batches under load; each batch here is
    # bounded by timeout=, so the bug fails the test instead of hanging.
    sconn.execute("CREATE TEMP TABLE big2 (a int, b text)")
    payload = "y" * 1000
    for _ in range(60):
        sconn.executemany("INSERT INTO big2 VALUES ($1, $2)",
                          ((i, payload) for i in range(600)), timeout=20)
    assert sconn.fetchval("SELECT count(*) FROM big2") == 60 * 600


def test_terminate_from_another_thread_wakes_the_running_call(cluster,
                                                             sadmin):
    # regression: terminate() closed the socket under a poll() running in
    # the calling thread, which does not wake it (and the fd number could
    # be reused): the call slept until its timer.  The socket is shut
    # down first now, so the call returns at once.
    c = pgwire.sync.connect(**cluster.connect_kwargs())
    e = _interrupted_sleep(c, sadmin, c.terminate)
    assert isinstance(e, exc.ConnectionDoesNotExistError), e
    assert "terminated by the client" in str(e)
    assert c.is_closed()


def test_same_exceptions_as_async_face(sconn):
    with pytest.raises(exc.PostgresSyntaxError):
        sconn.execute("SELEC 1")
    sconn.execute("CREATE TEMP TABLE u (a int PRIMARY KEY)")
    sconn.execute("INSERT INTO u VALUES (1)")
    with pytest.raises(exc.UniqueViolationError) as ei:
        sconn.execute("INSERT INTO u VALUES (1)")
    assert ei.value.sqlstate == "23505"
    with pytest.raises(exc.DataError):
        sconn.fetchval("SELECT $1::int4", "not an int")
    # still usable
    assert sconn.fetchval("SELECT 1") == 1


def test_codecs_round_trip(sconn):
    import datetime
    import decimal
    import uuid
    values = [
        ("int8", 2 ** 40), ("float8", 1.5),
        ("numeric", decimal.Decimal("1.25")),
        ("text", "héllo"), ("bytea", b"\x00\x01"), ("bool", True),
        ("date", datetime.date(2024, 2, 29)),
        ("timestamptz", datetime.datetime(2024, 1, 1,
                                          tzinfo=datetime.timezone.utc)),
        ("uuid", uuid.UUID(int=5)), ("int4[]", [1, None, 3]),
        ("jsonb", '{"a": 1}'),
    ]
    for typ, v in values:
        got = sconn.fetchval(f"SELECT $1::{typ}", v)
        if typ == "jsonb":
            assert json.loads(got) == json.loads(v)
        else:
            assert got == v, typ


def test_prepare(sconn):
    st = sconn.prepare("SELECT $1::int4 + 1 AS r")
    assert isinstance(st, pgwire.sync.PreparedStatement)
    assert st.fetchval(1) == 2
    assert st.fetchrow(2)["r"] == 3
    assert [r[0] for r in st.fetch(3)] == [4]
    assert [p.name for p in st.get_parameters()] == ["int4"]
    assert [a.name for a in st.get_attributes()] == ["r"]
    assert st.get_query() == "SELECT $1::int4 + 1 AS r"
    assert "Result" in st.explain(1)[0]["Plan"]["Node Type"]


def test_set_type_codec(sconn):
    sconn.set_type_codec("json", schema="pg_catalog", encoder=json.dumps,
                         decoder=json.loads)
    assert sconn.fetchval("SELECT $1::json", {"a": [1, 2]}) == {"a": [1, 2]}
    sconn.reset_type_codec("json", schema="pg_catalog")
    assert sconn.fetchval("SELECT '{}'::json") == "{}"


# ---------------------------------------------------------------------------
# transactions and cursors
# ---------------------------------------------------------------------------

def test_transaction_commit_rollback_nested(sconn):
    sconn.execute("CREATE TEMP TABLE tx (a int)")
    with sconn.transaction():
        sconn.execute("INSERT INTO tx VALUES (1)")
        assert sconn.is_in_transaction()
        with pytest.raises(ZeroDivisionError):
            with sconn.transaction():      # a savepoint
                sconn.execute("INSERT INTO tx VALUES (2)")
                1 / 0
    assert not sconn.is_in_transaction()
    assert [r[0] for r in sconn.fetch("SELECT a FROM tx")] == [1]
    with pytest.raises(RuntimeError):
        with sconn.transaction(isolation="serializable"):
            sconn.execute("INSERT INTO tx VALUES (3)")
            raise RuntimeError
    assert sconn.fetchval("SELECT count(*) FROM tx") == 1
    tr = sconn.transaction()
    tr.start()
    sconn.execute("INSERT INTO tx VALUES (4)")
    tr.rollback()
    assert sconn.fetchval("SELECT count(*) FROM tx") == 1


def test_cursor_iteration_and_open(sconn):
    with pytest.raises(exc.NoActiveSQLTransactionError):
        list(sconn.cursor("SELECT 1"))
    with sconn.transaction():
        got = [r[0] for r in sconn.cursor(
            "SELECT generate_series(1, $1)", 120, prefetch=7)]
        assert got == list(range(1, 121))
        cur = sconn.cursor("SELECT generate_series(1, 10)").open()
        assert [r[0] for r in cur.fetch(3)] == [1, 2, 3]
        assert cur.forward(2) == 2
        assert cur.fetchrow()[0] == 6
        st = sconn.prepare("SELECT generate_series(1, $1::int)")
        assert [r[0] for r in st.cursor(4)] == [1, 2, 3, 4]


# ---------------------------------------------------------------------------
# COPY
# ---------------------------------------------------------------------------

def test_copy_out_and_in(sconn, tmp_path):
    sconn.execute("CREATE TEMP TABLE cp (a int, b text)")
    sconn.executemany("INSERT INTO cp VALUES ($1, $2)",
                      [(i, f"r{i}") for i in range(50)])
    buf = io.BytesIO()
    assert sconn.copy_from_table("cp", output=buf) == "COPY 50"
    assert buf.getvalue().splitlines()[0] == b"0\tr0"
    chunks = []
    assert sconn.copy_from_query("SELECT a FROM cp WHERE a < $1", 3,
                                 output=chunks.append) == "COPY 3"
    assert b"".join(chunks) == b"0\n1\n2\n"
    path = tmp_path / "out.csv"
    sconn.copy_from_table("cp", output=str(path), format="csv")
    assert path.read_bytes().count(b"\n") == 50

    sconn.execute("CREATE TEMP TABLE cp2 (a int, b text)")
    assert sconn.copy_to_table("cp2", source=io.BytesIO(
        b"1\tx\n2\ty\n")) == "COPY 2"
    assert sconn.copy_to_table("cp2", source=str(path),
                               format="csv") == "COPY 50"
    assert sconn.copy_records_to_table(
        "cp2", records=[(9, "n"), (10, None)]) == "COPY 2"
    assert sconn.fetchval("SELECT count(*) FROM cp2") == 54


# ---------------------------------------------------------------------------
# notifications
# ---------------------------------------------------------------------------

def test_listener_and_notifies(sconn, sadmin):
    seen = []
    sconn.add_listener("chan 1", lambda *a: seen.append(a))
    assert list(sconn.notifies(timeout=0)) == []
    sadmin.execute("NOTIFY \"chan 1\", 'a'")
    sadmin.execute("NOTIFY \"chan 1\", 'b'")
    got = []
    for n in sconn.notifies(timeout=5):
        got.append(n)
        if len(got) == 2:
            break
    assert [(n.channel, n.payload) for n in got] == [("chan 1", "a"),
                                                     ("chan 1", "b")]
    assert got[0].pid == sadmin.get_server_pid()
    # the listener got the blocking connection
    assert [(c is sconn, p) for c, _, _, p in seen] == [(True, "a"),
                                                        (True, "b")]
    t0 = time.monotonic()
    assert list(sconn.notifies(timeout=0.2)) == []
    assert time.monotonic() - t0 < 5
    with pytest.raises(ValueError, match="timeout"):
        next(sconn.notifies(timeout=-1))


# ---------------------------------------------------------------------------
# timeouts, cancellation, a killed backend
# ---------------------------------------------------------------------------

def test_timeout_cancels_on_server(sconn, sadmin):
    pid = sconn.get_server_pid()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        sconn.fetchval("SELECT pg_sleep(30)", timeout=0.3)
    assert time.monotonic() - t0 < 10
    # the cancel finished before the call returned: the server is idle
    assert _idle(sadmin, pid)
    assert sconn.fetchval("SELECT 2") == 2
    with pytest.raises(TimeoutError):
        with sconn.transaction():      # rolled back on the way out
            sconn.execute("SELECT pg_sleep(30)", timeout=0.2)
    assert not sconn.is_in_transaction()
    assert sconn.fetchval("SELECT 3") == 3


def test_command_timeout(cluster, sadmin):
    c = pgwire.sync.connect(**cluster.connect_kwargs(), command_timeout=0.3)
    try:
        with pytest.raises(TimeoutError):
            c.execute("SELECT pg_sleep(30)")
        assert _idle(sadmin, c.get_server_pid())
        assert c.fetchval("SELECT 1") == 1
    finally:
        c.close()


def test_killed_backend(sconn, sadmin):
    pid = sconn.get_server_pid()
    assert sadmin.fetchval("SELECT pg_terminate_backend($1)", pid)
    _wait_until(lambda: _activity(sadmin, pid) is None,
                what="backend gone")
    with pytest.raises(exc.ConnectionDoesNotExistError):
        # the first call after the server closed may still be written
        sconn.fetchval("SELECT 1")
        sconn.fetchval("SELECT 1")
    assert sconn.is_closed()
    with pytest.raises(exc.InterfaceError):
        sconn.fetchval("SELECT 1")


def test_killed_backend_while_busy(sconn, sadmin):
    pid = sconn.get_server_pid()
    e = _interrupted_sleep(sconn, sadmin, lambda: sadmin.fetchval(
        "SELECT pg_terminate_backend($1)", pid))
    assert isinstance(e, (exc.ConnectionDoesNotExistError,
                          exc.AdminShutdownError)), e
    assert sconn.is_closed()


def test_close_terminate_and_context_manager(cluster, sadmin):
    with pgwire.sync.connect(**cluster.connect_kwargs()) as c:
        pid = c.get_server_pid()
        assert c.fetchval("SELECT 1") == 1
    assert c.is_closed()
    _wait_until(lambda: _activity(sadmin, pid) is None, what="closed")
    c.close()  # idempotent
    c2 = pgwire.sync.connect(**cluster.connect_kwargs())
    pid2 = c2.get_server_pid()
    c2.terminate()
    assert c2.is_closed()
    _wait_until(lambda: _activity(sadmin, pid2) is None, what="terminated")


def test_reset_leaves_no_state(sconn):
    sconn.execute("SET application_name = 'dirty'")
    sconn.execute("SELECT pg_advisory_lock(42)")
    sconn.execute("LISTEN somewhere")
    sconn.execute("BEGIN")
    sconn.reset()
    assert not sconn.is_in_transaction()
    assert sconn.fetchval("SELECT count(*) FROM pg_locks WHERE "
                          "locktype = 'advisory' AND pid = "
                          "pg_backend_pid()") == 0
    assert sconn.fetchval("SELECT count(*) FROM "
                          "pg_listening_channels()") == 0


def test_connect_errors_and_arguments(cluster):
    kw = cluster.connect_kwargs()
    with pytest.raises(TypeError, match="loop"):
        pgwire.sync.connect(**kw, loop=object())
    with pytest.raises(exc.InterfaceError, match="connection_class"):
        pgwire.sync.connect(**kw, connection_class=pgwire.Connection)
    with pytest.raises(exc.InvalidCatalogNameError):
        pgwire.sync.connect(**dict(kw, database="no_such_db_here"))
    with pytest.raises(OSError):
        pgwire.sync.connect(host="127.0.0.1", port=1, user="x",
                            timeout=5)

    class Mine(pgwire.sync.Connection):
        pass
    c = pgwire.sync.connect(**kw, connection_class=Mine)
    assert type(c) is Mine
    c.close()


def test_connect_timeout_bounded(cluster):
    # a listener that never answers: connect's timeout ends the attempt
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        t0 = time.monotonic()
        with pytest.raises((TimeoutError, OSError)):
            pgwire.sync.connect(host="127.0.0.1", port=srv.getsockname()[1],
                                user="x", timeout=0.5, ssl=False)
        assert time.monotonic() - t0 < 5
    finally:
        srv.close()


# ---------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------

def test_one_connection_per_thread(cluster):
    errors = []

    def work(i):
        try:
            with pgwire.sync.connect(**cluster.connect_kwargs()) as c:
                for j in range(30):
                    assert c.fetchval("SELECT $1::int * 2", j) == 2 * j
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


def test_shared_connection_raises_interface_error(sconn, sadmin):
    pid = sconn.get_server_pid()
    done = threading.Event()
    out = []

    def slow():
        out.append(sconn.fetchval("SELECT 1 FROM pg_sleep(1)"))
        done.set()
    t = threading.Thread(target=slow)
    t.start()
    _wait_until(lambda: (_activity(sadmin, pid) or {"state": ""})["state"]
                == "active", what="query running")
    with pytest.raises(exc.InterfaceError, match="another operation"):
        sconn.fetchval("SELECT 2")
    t.join(20)
    assert out == [1]
    # never corrupted: the connection answers the next query correctly
    assert sconn.fetchval("SELECT 3") == 3


def test_callback_reentry_refused(sconn, sadmin):
    errors = []

    def listener(conn, pid, channel, payload):
        try:
            conn.fetchval("SELECT 1")
        except exc.InterfaceError as e:
            errors.append(e)
    sconn.add_listener("reentry", listener)
    sadmin.execute("NOTIFY reentry")
    assert next(sconn.notifies(timeout=5)).channel == "reentry"
    assert len(errors) == 1


# ---------------------------------------------------------------------------
# Ctrl-C: a real SIGINT
# ---------------------------------------------------------------------------

SIGINT_CHILD = textwrap.dedent("""
    import json, sys, time
    import pgwire.sync
    kw = json.loads(sys.argv[1])
    c = pgwire.sync.connect(**kw)
    print(c.get_server_pid(), flush=True)
    t0 = time.monotonic()
    try:
        c.fetchval("SELECT pg_sleep(30)")
        print("no interrupt", flush=True)
    except KeyboardInterrupt:
        print("KI %.2f" % (time.monotonic() - t0), flush=True)
    # the connection is usable afterwards
    print("after", c.fetchval("SELECT 41 + 1"), flush=True)
    c.close()
""")


def test_sigint_cancels_query_and_keeps_connection(cluster, sadmin):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(pgwire.__file__))
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_CHILD,
         json.dumps(cluster.connect_kwargs())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        pid = int(proc.stdout.readline())
        _wait_until(lambda: (_activity(sadmin, pid) or {"query": ""})
                    ["query"] == "SELECT pg_sleep(30)" and
                    _activity(sadmin, pid)["state"] == "active",
                    what="pg_sleep running")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert time.monotonic() - t0 < 10, (out, err)
    lines = out.splitlines()
    assert lines[0].startswith("KI "), (out, err)
    assert lines[1] == "after 42", (out, err)
    assert proc.returncode == 0, err
    # the server-side query was cancelled, not left running
    row = _activity(sadmin, pid)
    assert row is None or row["query"] != "SELECT pg_sleep(30)" or \
        row["state"] != "active"


# ---------------------------------------------------------------------------
# the loop itself
# ---------------------------------------------------------------------------

def test_loop_objects_basics():
    from pgwire.sync._loop import Loop
    loop = Loop()
    fut = loop.create_future()
    order = []
    loop.call_later(0.05, order.append, "late")
    loop.call_soon(order.append, "soon")
    h = loop.call_later(0.01, order.append, "cancelled")
    h.cancel()
    loop.call_later(0.1, fut.set_result, 7)

    async def main():
        return await fut
    assert loop.run_until_complete(main()) == 7
    assert order == ["soon", "late"]
    with pytest.raises(TimeoutError):
        loop.run_until_complete(main2(loop), loop.time() + 0.05)
    with pytest.raises(TypeError, match="awaitable"):
        loop.run_until_complete(42)
    f2 = loop.create_future()
    f2.set_exception(ValueError("x"))
    with pytest.raises(ValueError):
        f2.result()
    with pytest.raises(asyncio_InvalidStateError()):
        f2.set_result(1)


async def main2(loop):
    await loop.create_future()   # never resolved: the deadline ends it


def asyncio_InvalidStateError():
    import asyncio
    return asyncio.InvalidStateError


def test_no_leak_of_loops(cluster):
    import weakref
    c = pgwire.sync.connect(**cluster.connect_kwargs())
    ref = weakref.ref(c._loop)
    c.fetchval("SELECT 1")
    c.close()
    del c
    gc.collect()
    assert ref() is None
