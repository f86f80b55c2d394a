"""The fault scenarios of tests/test_faults.py on the blocking face
(pgwire.sync, src/ext/blocking.c): tests/README.md, "The fault scenarios",
the rows marked "blocking face too".

Each scenario asserts what the asyncio face's asserts: the right exception
class within a bound, the connection either usable or closed (never hung,
never silently wrong), no session of ours left on the server, and for
pgwire.sync.create_pool a pool that refills and serves later acquires.
The fault proxy (tests/faultproxy.py) runs on an event loop of its own
thread (ThreadedFaultProxy).  Every blocking call under a fault runs in a
worker thread joined with a bound (``outcome``): a hang fails the
scenario, and the hung connection is terminated from the test's thread
(which must wake its poll()).  Each scenario appends a row to the fault
report, its number followed by "s".
"""

import faulthandler
import gc
import os
import random
import signal
import threading
import time
import uuid

import pytest

import pgwire.sync
from pgwire import exceptions as exc
from pgwire.transaction import TransactionOutcomeUnknownError

from faultproxy import C2S, S2C, ThreadedFaultProxy
from test_faults import _fd_count, _fd_targets, report_scenario, \
    fault_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.faults

LOST = (exc.PostgresConnectionError, exc.InterfaceError, ConnectionError)
SESSION_GONE = LOST + (exc.AdminShutdownError, exc.CrashShutdownError)


@pytest.fixture(scope="module", autouse=True)
def _outer_guard():
    """The outer time limit: dump every stack and exit if the module
    hangs."""
    faulthandler.dump_traceback_later(600, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

def wait_until(cond, timeout=10.0, what="condition"):
    """Until ``cond()`` is true (each check is a query or a cheap probe,
    with a short pause between): AssertionError past ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what}")
        pause.wait(0.01)


class Hung(Exception):
    """What ``outcome`` reports for a call that did not return in time."""


def outcome(fn, bound, *victims):
    """(result or exception, seconds, hung) of ``fn()`` run in a worker
    thread joined for at most ``bound`` seconds.  A call still running
    then is a hang: ``victims`` (connections) are terminated from here,
    which must wake the worker's poll()."""
    box = {}

    def run():
        t0 = time.monotonic()
        try:
            box["res"] = fn()
        except BaseException as e:  # noqa: BLE001 - the outcome
            box["res"] = e
        box["dt"] = time.monotonic() - t0

    th = threading.Thread(target=run, name="outcome", daemon=True)
    th.start()
    th.join(bound)
    if th.is_alive():
        for v in victims:
            v.terminate()
        th.join(10)
        return box.get("res", Hung(f"still running after {bound}s")), \
            bound, True
    return box["res"], box["dt"], False


def start(fn):
    """Run ``fn()`` in a worker thread now; ``finish(bound, *victims)``
    on the returned object gives ``outcome``'s triple."""
    box = {}
    t0 = time.monotonic()

    def run():
        try:
            box["res"] = fn()
        except BaseException as e:  # noqa: BLE001 - the outcome
            box["res"] = e
        box["dt"] = time.monotonic() - t0

    th = threading.Thread(target=run, name="started", daemon=True)
    th.start()

    class Running:
        @staticmethod
        def finish(bound, *victims):
            th.join(max(0.0, t0 + bound - time.monotonic()))
            if th.is_alive():
                for v in victims:
                    v.terminate()
                th.join(10)
                return box.get("res", Hung(f"still running after "
                                           f"{bound}s")), bound, True
            return box["res"], box["dt"], False
    return Running


def admin_kw(cluster):
    return cluster.connect_kwargs()


class Scenario:
    """Counts one scenario's faults and writes its report line; probes
    for leaked fds, backends (pg_stat_activity by application_name) and
    threads."""

    def __init__(self, name, rows, admin_kw):
        self.name = name
        self.rows = rows
        self.admin_kw = admin_kw
        self.app = "pgwire_sfault_" + uuid.uuid4().hex[:10]
        self.injected = self.survived = self.hangs = 0
        self.detect_ms = []
        self.failures = []
        self.extra = {}

    def kw(self, cluster, **extra):
        settings = dict(extra.pop("server_settings", {}) or {})
        settings["application_name"] = self.app
        return cluster.connect_kwargs(server_settings=settings, **extra)

    def proxied(self, cluster, px, **extra):
        return self.kw(cluster, host="127.0.0.1", port=px.port,
                       ssl="disable", **extra)

    def record(self, ok, detect_s=None, *, hang=False, why=""):
        self.injected += 1
        if ok and not hang:
            self.survived += 1
        else:
            self.failures.append(why or "hang")
        if hang:
            self.hangs += 1
        if detect_s is not None:
            self.detect_ms.append(detect_s * 1000.0)

    def __enter__(self):
        gc.collect()
        self.fds0 = _fd_count()
        self.fd_targets0 = _fd_targets()
        self.threads0 = set(threading.enumerate())
        return self

    def _backends(self):
        try:
            admin = pgwire.sync.connect(**self.admin_kw, timeout=10)
        except Exception:               # the server is still restarting
            return -1
        try:
            return admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = $1", self.app)
        finally:
            admin.close()

    def _leaks(self):
        deadline = time.monotonic() + 10
        pause = threading.Event()
        while True:
            gc.collect()
            threads = [t for t in threading.enumerate()
                       if t not in self.threads0 and t.is_alive()]
            fds = max(0, _fd_count() - self.fds0)
            backends = self._backends()
            if (not threads and fds == 0 and backends == 0) or \
                    time.monotonic() > deadline:
                return fds, max(backends, 0), len(threads)
            pause.wait(0.02)

    def __exit__(self, et, ev, tb):
        return report_scenario(self, et, ev, *self._leaks())


def activity(admin, pid):
    return admin.fetchrow(
        "SELECT state, wait_event FROM pg_stat_activity WHERE pid = $1",
        pid)


def wait_sleeping(admin, pids, timeout=10):
    def sleeping():
        n = admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) "
            "AND state = 'active' AND wait_event = 'PgSleep'", list(pids))
        return n == len(pids)
    wait_until(sleeping, timeout, f"backends {pids} sleeping")


def usable(conn):
    """The connection answers a query of its own."""
    try:
        return conn.fetchval("SELECT 7 * 6", timeout=10) == 42
    except Exception:
        return False


@pytest.fixture
def table(cluster):
    """A fresh table (i int, s text), dropped at the end."""
    name = "sfault_" + uuid.uuid4().hex[:10]
    admin = pgwire.sync.connect(**admin_kw(cluster))
    admin.execute(f"CREATE TABLE {name} (i int, s text)")
    try:
        yield name
    finally:
        admin.execute(f"DROP TABLE IF EXISTS {name}")
        admin.close()


def count(cluster, table):
    c = pgwire.sync.connect(**admin_kw(cluster))
    try:
        return c.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        c.close()


# --------------------------------------------------------------------------
# 2. pg_terminate_backend, busy and idle
# --------------------------------------------------------------------------

def test_sync_terminate_backend_busy_and_idle(cluster, fault_rows):
    """Scenario 2 (tests/README.md), blocking face: pg_terminate_backend of
    a busy connection gives ConnectionDoesNotExistError with the 57P01 as
    __cause__ within 1 s; of an idle one, the next call fails with a
    connection error caused by the 57P01 and the connection is closed."""
    with Scenario("2s pg_terminate_backend (blocking)", fault_rows,
                  admin_kw(cluster)) as sc:
        admin = pgwire.sync.connect(**admin_kw(cluster))
        try:
            for i in range(8):
                c = pgwire.sync.connect(**sc.kw(cluster))
                try:
                    pid = c.get_server_pid()
                    if i % 2 == 0:      # busy
                        run = start(lambda: c.fetchval(
                            "SELECT pg_sleep(30)"))
                        wait_sleeping(admin, [pid])
                        admin.execute("SELECT pg_terminate_backend($1)",
                                      pid)
                        res, dt, hung = run.finish(5, c)
                        ok = isinstance(
                            res, exc.ConnectionDoesNotExistError) and \
                            "closed in the middle of operation" in \
                            str(res) and \
                            isinstance(res.__cause__,
                                       exc.AdminShutdownError) and \
                            c.is_closed() and dt <= 1.0
                        sc.record(ok, dt, hang=hung, why=f"busy: {res!r}")
                    else:               # idle
                        admin.execute("SELECT pg_terminate_backend($1)",
                                      pid)
                        wait_until(lambda: activity(admin, pid) is None,
                                   5, "backend gone")
                        res, dt, hung = outcome(
                            lambda: c.fetchval("SELECT 1"), 5, c)
                        # the blocking connection learns of the close at
                        # its next call: the same error as a busy one
                        cause = res.__cause__ if isinstance(
                            res, BaseException) else None
                        ok = isinstance(res, LOST) and \
                            isinstance(cause, exc.AdminShutdownError) and \
                            c.is_closed()
                        res2, _, hung2 = outcome(
                            lambda: c.fetchval("SELECT 1"), 5, c)
                        ok = ok and isinstance(res2, exc.InterfaceError) \
                            and str(res2) == "connection is closed"
                        sc.record(ok, dt, hang=hung or hung2,
                                  why=f"idle: {res!r} then {res2!r}")
                finally:
                    c.terminate()
        finally:
            admin.close()


# --------------------------------------------------------------------------
# 1. Backend SIGKILL mid-query (a private server: crash restart)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_cluster(cluster_module):
    if os.environ.get(cluster_module.DSN_ENV):
        pytest.skip("needs a temporary cluster")
    pc = cluster_module.TempCluster(settings={
        "max_connections": 8, "superuser_reserved_connections": 0,
        "restart_after_crash": True})
    pc.start()
    try:
        yield pc
    finally:
        pc.cleanup()


def test_sync_backend_sigkill_mid_query(private_cluster, fault_rows):
    """Scenario 1 (tests/README.md), blocking face: SIGKILL of a busy
    backend; the victim fails within 1 s and is closed, a second busy
    session gets 57P02 or connection lost, an idle one fails at its next
    call; a pool of the server refills once the server is back."""
    pc = private_cluster
    with Scenario("1s backend SIGKILL (blocking)", fault_rows,
                  admin_kw(pc)) as sc:
        for _ in range(2):
            victim = pgwire.sync.connect(**sc.kw(pc))
            busy = pgwire.sync.connect(**sc.kw(pc))
            idle = pgwire.sync.connect(**sc.kw(pc))
            admin = pgwire.sync.connect(**admin_kw(pc))
            try:
                pid = victim.get_server_pid()
                vt = start(lambda: victim.fetchval("SELECT pg_sleep(30)"))
                bt = start(lambda: busy.fetchval("SELECT pg_sleep(30)"))
                wait_sleeping(admin, [pid, busy.get_server_pid()])
                os.kill(pid, signal.SIGKILL)
                res, dt, hung = vt.finish(5, victim)
                sc.record(isinstance(res, LOST) and victim.is_closed()
                          and dt <= 1.0 + 0.5, hang=hung,
                          why=f"victim: {res!r} after {dt:.3f}s")
                res, dt, hung = bt.finish(5, busy)
                sc.record(isinstance(res, (exc.CrashShutdownError,) + LOST)
                          and busy.is_closed(), hang=hung,
                          why=f"busy: {res!r}")
                res, _, hung = outcome(lambda: idle.fetchval("SELECT 1"),
                                       5, idle)
                res2, _, hung2 = outcome(lambda: idle.fetchval("SELECT 1"),
                                         5, idle)
                sc.record(isinstance(res, SESSION_GONE) and
                          isinstance(res2, exc.InterfaceError) and
                          idle.is_closed(), hang=hung or hung2,
                          why=f"idle: {res!r} then {res2!r}")
            finally:
                for c in (victim, busy, idle, admin):
                    c.terminate()

            def back_up():
                try:
                    c = pgwire.sync.connect(**admin_kw(pc), timeout=5)
                except (OSError, exc.PostgresError) + LOST:
                    return False
                c.close()
                return True
            wait_until(back_up, 60, "server back after crash restart")


# --------------------------------------------------------------------------
# 4. Frozen link (half-open)
# --------------------------------------------------------------------------

def test_sync_frozen_peer_times_out(cluster, fault_rows):
    """Scenario 4 (tests/README.md), blocking face: a frozen link, mid-query
    or idle: command_timeout (or timeout=) fires at T, then the call waits
    at most cancel_timeout for the cancel's effect (docs/sync.md) -- which
    never comes through a frozen link -- aborts the connection and raises
    TimeoutError; close(timeout=0.5) returns at once."""
    T, CT = 0.4, 0.5
    with Scenario("4s frozen peer (blocking)", fault_rows,
                  admin_kw(cluster)) as sc, \
            ThreadedFaultProxy((cluster.tcp_host, cluster.port)) as px:
        for i in range(6):
            c = pgwire.sync.connect(**sc.proxied(cluster, px),
                                    command_timeout=None if i >= 4 else T,
                                    cancel_timeout=CT)
            try:
                assert c.fetchval("SELECT 1") == 1
                if i % 2 == 0:
                    px.add_trigger(S2C, b"T", mode="freeze")
                    q = "SELECT 41 + 1"
                else:
                    px.freeze()
                    q = "SELECT 1"
                kw = {"timeout": T} if i >= 4 else {}
                res, dt, hung = outcome(lambda: c.fetchval(q, **kw), 5, c)
                ok = isinstance(res, TimeoutError) and \
                    T * 0.9 <= dt <= T * 1.1 + CT + 0.3 and c.is_closed()
                why = f"query: {res!r} after {dt:.3f}s"
                res2, dt2, hung2 = outcome(lambda: c.close(timeout=0.5), 3,
                                           c)
                ok = ok and dt2 <= 1.0 and c.is_closed()
                sc.record(ok, dt, hang=hung or hung2,
                          why=f"{why}; close: {res2!r} after {dt2:.3f}s")
            finally:
                c.terminate()
                px.clear_triggers()
                px.thaw()
                px.reset_all()


# --------------------------------------------------------------------------
# 5. Stopped backend (SIGSTOP, later SIGCONT)
# --------------------------------------------------------------------------

def test_sync_stopped_backend_times_out(cluster, fault_rows):
    """Scenario 5 (tests/README.md), blocking face: a SIGSTOPped backend:
    the query times out within its bound; still stopped, the next call
    gets InterfaceError after the cancel grace and the connection is
    closed; after SIGCONT the next call gets its own result, never the
    timed-out query's nor a stray QueryCanceledError."""
    T = 0.3
    cross = 0
    with Scenario("5s SIGSTOP backend (blocking)", fault_rows,
                  admin_kw(cluster)) as sc:
        other = pgwire.sync.connect(**sc.kw(cluster))
        try:
            for i in range(4):
                c = pgwire.sync.connect(**sc.kw(cluster), command_timeout=T,
                                        cancel_timeout=1.0)
                pid = c.get_server_pid()
                stopped = True
                os.kill(pid, signal.SIGSTOP)
                try:
                    res, dt, hung = outcome(lambda: c.fetchval(
                        "SELECT 1000 + $1::int", i), 10, c)
                    # the blocking call also waits (cancel_timeout at
                    # most) for its CancelRequest's effect
                    ok = isinstance(res, TimeoutError) and \
                        dt <= T * 1.1 + c._core._protocol.cancel_timeout \
                        + 0.5
                    why = f"timeout: {res!r} after {dt:.3f}s"
                    if i == 0:
                        res2, dt2, hung2 = outcome(lambda: c.fetchval(
                            "SELECT 2000 + $1::int", i, timeout=20), 30, c)
                        ok = ok and (isinstance(res2, exc.InterfaceError)
                                     or res2 == 2000 + i)
                    else:
                        os.kill(pid, signal.SIGCONT)
                        stopped = False
                        res2, dt2, hung2 = outcome(lambda: c.fetchval(
                            "SELECT 2000 + $1::int", i, timeout=20), 30, c)
                        ok = ok and (res2 == 2000 + i or
                                     isinstance(res2, exc.InterfaceError))
                    if res2 == 1000 + i or isinstance(
                            res2, exc.QueryCanceledError):
                        cross += 1
                        ok = False
                    assert other.fetchval("SELECT $1::int", i) == i
                    sc.record(ok, dt, hang=hung or hung2,
                              why=f"{why}; next: {res2!r} after {dt2:.3f}s")
                finally:
                    if stopped:
                        os.kill(pid, signal.SIGCONT)
                    c.terminate()
        finally:
            other.close()
        sc.extra["cross_query_results"] = cross
        assert cross == 0


def test_sync_idle_close_reason_reaches_next_call(cluster):
    """Regression (blocking face): a server that ended an idle session
    (pg_terminate_backend, idle_session_timeout) left its ErrorResponse
    in the socket; the next call's send() failed with EPIPE and the
    connection was lost with the BrokenPipeError, the server's reason
    unread.  What the server sent is read first now: the error's
    __cause__ is the 57P01 / 57P05, as on the asyncio face."""
    admin = pgwire.sync.connect(**admin_kw(cluster))
    try:
        for i in range(4):
            c = pgwire.sync.connect(**cluster.connect_kwargs(
                server_settings={"idle_session_timeout": "200"}
                if i % 2 else {}))
            try:
                pid = c.get_server_pid()
                if i % 2 == 0:
                    admin.execute("SELECT pg_terminate_backend($1)", pid)
                    want = exc.AdminShutdownError
                else:
                    want = exc.IdleSessionTimeoutError
                wait_until(lambda: activity(admin, pid) is None, 5,
                           "backend gone")
                with pytest.raises(exc.ConnectionDoesNotExistError) as ei:
                    c.fetchval("SELECT 1")
                assert isinstance(ei.value.__cause__, want), ei.value
                assert c.is_closed()
                with pytest.raises(exc.InterfaceError,
                                   match="connection is closed"):
                    c.fetchval("SELECT 1")
            finally:
                c.terminate()
    finally:
        admin.close()


# --------------------------------------------------------------------------
# The link reset or mangled by the proxy: mid-startup, mid-query, mid-COPY,
# mid-transaction, mid-cursor, mid-executemany; truncated and corrupted
# frames
# --------------------------------------------------------------------------

BIG_QUERY = ("SELECT i, md5(i::text) || repeat('x', 64) "
             "FROM generate_series(1, 100000) i")


def test_sync_link_faults(cluster, fault_rows, table):
    """The proxy resets (RST) or mangles the link at a point of each
    operation; the call raises a connection-class error (ProtocolError for
    a mangled frame) within 5 s and the connection is closed; nothing of
    an unfinished transaction persists; a new connection works."""
    line = b"".join(b"%d\tsome text\n" % k for k in range(2000))

    def copy_in(c):
        return c.copy_to_table(table, source=(line for _ in range(200)))

    def copy_out(c):
        return c.copy_from_query(BIG_QUERY, output=lambda data: None)

    def in_tx(c):
        with c.transaction():
            c.execute(f"INSERT INTO {table} VALUES (1, 'tx')")
            c.fetchval("SELECT pg_sleep(0.01)")

    def many(c):
        c.executemany(f"INSERT INTO {table} VALUES ($1, $2)",
                      ((k, "x" * 100) for k in range(50_000)))

    def cursor(c):
        with c.transaction():
            return sum(1 for _ in c.cursor(
                "SELECT generate_series(1, 10000)", prefetch=100))

    def query(c):
        return c.fetch(BIG_QUERY)

    cases = [
        # (name, operation, trigger args, error classes)
        ("rst mid-query", query, (S2C, b"D", 500), LOST),
        ("rst before the query reaches the server", query,
         (C2S, b"P", 1, "rst", {"match": b"generate_series"}), LOST),
        ("rst mid-COPY in", copy_in, (C2S, b"d", 50), LOST),
        ("rst mid-COPY out", copy_out, (S2C, b"d", 5000), LOST),
        ("rst mid-transaction", in_tx, (C2S, b"P", 1, "rst",
                                        {"match": b"pg_sleep"}), LOST),
        ("rst mid-executemany", many, (C2S, b"B", 20_000), LOST),
        ("rst mid-cursor", cursor, (S2C, b"D", 3000), LOST),
        ("truncated DataRow", query, (S2C, b"D", 100, "truncate"), LOST),
        ("corrupted DataRow length", query, (S2C, b"D", 100, "corrupt"),
         (exc.ProtocolError,)),
        ("corrupted CommandComplete length", query,
         (S2C, b"C", 1, "corrupt", {"match": b"SELECT 100000"}),
         (exc.ProtocolError,)),
    ]
    with Scenario("16s link reset / mangled (blocking)", fault_rows,
                  admin_kw(cluster)) as sc, \
            ThreadedFaultProxy((cluster.tcp_host, cluster.port)) as px:
        for name, op, trig, errors in cases:
            c = pgwire.sync.connect(**sc.proxied(cluster, px))
            try:
                assert c.fetchval("SELECT 1") == 1
                px.add_trigger(*trig[:4], **trig[4] if len(trig) > 4
                               else {})
                res, dt, hung = outcome(lambda: op(c), 10, c)
                ok = isinstance(res, errors) and c.is_closed() and dt < 5
                n = count(cluster, table)
                ok = ok and n == 0
                sc.record(ok, dt, hang=hung,
                          why=f"{name}: {res!r} after {dt:.3f}s, "
                              f"closed={c.is_closed()}, rows={n}")
            finally:
                c.terminate()
                px.clear_triggers()
        # mid-startup: the StartupMessage or the server's first answer
        for trig in ((C2S, b"", 1), (S2C, b"R", 1), (S2C, b"Z", 1)):
            px.add_trigger(*trig)
            res, dt, hung = outcome(lambda: pgwire.sync.connect(
                **sc.proxied(cluster, px), timeout=5), 10)
            ok = isinstance(res, LOST + (OSError,)) and dt < 5
            if isinstance(res, pgwire.sync.Connection):
                res.terminate()
            sc.record(ok, dt, hang=hung, why=f"startup {trig}: {res!r}")
            px.clear_triggers()
        c = pgwire.sync.connect(**sc.proxied(cluster, px))
        assert c.fetchval("SELECT 1") == 1
        c.close()


# --------------------------------------------------------------------------
# 7. COPY interrupted
# --------------------------------------------------------------------------

class SourceFailed(Exception):
    pass


def test_sync_copy_interrupted_leaves_connection_idle(cluster, fault_rows,
                                                      table):
    """Scenario 7 (tests/README.md), blocking face: COPY FROM whose source
    raises, statement_timeout, a client timeout, the same inside a
    transaction; COPY TO whose writer raises or times out: the error
    reaches the caller, the connection is idle again (INERROR inside a
    transaction, usable after ROLLBACK), no partial rows."""
    line = b"".join(b"%d\tsome text\n" % k for k in range(2000))
    unusable = partial = 0

    def source(fail_at=None, limit=400, slow=0.0):
        pause = threading.Event()
        for k in range(limit):
            if k == fail_at:
                raise SourceFailed(k)
            if slow:
                pause.wait(slow)        # a slow producer
            yield line

    with Scenario("7s COPY interrupted (blocking)", fault_rows,
                  admin_kw(cluster)) as sc:
        c = pgwire.sync.connect(**sc.kw(cluster))

        def check(res, expect, in_tx=False):
            nonlocal unusable, partial
            ok = isinstance(res, expect) and not c.is_closed()
            if in_tx:
                ok = ok and c.is_in_transaction()
                c.execute("ROLLBACK")
            try:
                n = c.fetchval(f"SELECT count(*) FROM {table}", timeout=10)
            except Exception:
                unusable += 1
                return False
            partial += n != 0
            return ok and n == 0 and not c.is_in_transaction()

        try:
            for k in range(3):
                res, dt, hung = outcome(lambda: c.copy_to_table(
                    table, source=source(fail_at=5 + k)), 10, c)
                sc.record(check(res, SourceFailed), hang=hung,
                          why=f"source raises: {res!r}")
                res, dt, hung = outcome(lambda: c.copy_to_table(
                    table, source=source(slow=0.01), timeout=0.1), 10, c)
                sc.record(check(res, TimeoutError), hang=hung,
                          why=f"client timeout: {res!r}")
                c.execute("SET statement_timeout = 100")
                res, dt, hung = outcome(lambda: c.copy_to_table(
                    table, source=source(slow=0.02, limit=100)), 10, c)
                c.execute("RESET statement_timeout")
                sc.record(check(res, exc.QueryCanceledError), hang=hung,
                          why=f"statement_timeout: {res!r}")
                c.execute("BEGIN")
                res, dt, hung = outcome(lambda: c.copy_to_table(
                    table, source=source(fail_at=2)), 10, c)
                sc.record(check(res, SourceFailed, in_tx=True), hang=hung,
                          why=f"in tx: {res!r}")
                seen = [0]

                def writer(data):
                    seen[0] += 1
                    if seen[0] == 2 + k:
                        raise SourceFailed(seen[0])
                res, dt, hung = outcome(lambda: c.copy_from_query(
                    BIG_QUERY, output=writer), 20, c)
                sc.record(check(res, SourceFailed), hang=hung,
                          why=f"writer raises: {res!r}")

                def slow_writer(data):
                    # slow enough that the 10 MB cannot arrive in 0.2 s
                    # however the chunks are cut (the loop delivers what
                    # each read brings, more under load)
                    threading.Event().wait(0.05)
                res, dt, hung = outcome(lambda: c.copy_from_query(
                    BIG_QUERY, output=slow_writer, timeout=0.2), 20, c)
                sc.record(check(res, TimeoutError), hang=hung,
                          why=f"timeout out: {res!r}")
        finally:
            c.close(timeout=5) if not c.is_closed() else c.terminate()
        sc.extra.update(unusable_connections=unusable, partial_rows=partial)


# --------------------------------------------------------------------------
# 7b. executemany interrupted
# --------------------------------------------------------------------------

def test_sync_executemany_interrupted_persists_nothing(cluster, fault_rows,
                                                       table):
    """Scenario 7b (tests/README.md), blocking face: a streamed
    executemany interrupted at a random row -- the generator raises, a
    value does not encode, the timeout expires, the backend is
    terminated -- persists no row; the connection is usable afterwards
    (closed after the termination), in and out of a transaction."""
    insert = f"INSERT INTO {table} VALUES ($1, $2)"
    unusable = partial = 0
    reached = threading.Event()

    def rows(fail_at=None, bad_at=None, limit=400_000):
        for k in range(limit):
            if k == fail_at:
                raise SourceFailed(k)
            if k == 20_000:
                reached.set()
            yield (k if k != bad_at else "bad", "some text")

    with Scenario("7bs executemany interrupted (blocking)", fault_rows,
                  admin_kw(cluster)) as sc:
        admin = pgwire.sync.connect(**admin_kw(cluster))
        c = pgwire.sync.connect(**sc.kw(cluster))

        def check(res, expect, in_tx=False):
            nonlocal unusable, partial, c
            ok = isinstance(res, expect)
            if c.is_closed():
                ok = ok and isinstance(res, SESSION_GONE)
                c = pgwire.sync.connect(**sc.kw(cluster))
            elif in_tx:
                ok = ok and c.is_in_transaction()
                c.execute("ROLLBACK")
            n = admin.fetchval(f"SELECT count(*) FROM {table}")
            partial += n != 0
            if not usable(c):
                unusable += 1
                return False
            return ok and n == 0 and not c.is_in_transaction()

        try:
            for k in range(2):
                at = random.randint(30_000, 200_000)
                for in_tx in (False, True):
                    if in_tx:
                        c.execute("BEGIN")
                    res, dt, hung = outcome(
                        lambda: c.executemany(insert, rows(fail_at=at)),
                        20, c)
                    sc.record(check(res, SourceFailed, in_tx), hang=hung,
                              why=f"source raises: {res!r}")
                    if in_tx:
                        c.execute("BEGIN")
                    res, dt, hung = outcome(
                        lambda: c.executemany(insert, rows(bad_at=at)),
                        20, c)
                    sc.record(check(res, exc.DataError, in_tx), hang=hung,
                              why=f"bad value: {res!r}")
                res, dt, hung = outcome(lambda: c.executemany(
                    insert, rows(), timeout=random.uniform(0.05, 0.4)), 20,
                    c)
                sc.record(check(res, TimeoutError), hang=hung,
                          why=f"timeout: {res!r}")
                reached.clear()
                run = start(lambda: c.executemany(insert, rows()))
                assert reached.wait(20)
                admin.fetchval("SELECT pg_terminate_backend($1)",
                               c.get_server_pid())
                res, dt, hung = run.finish(20, c)
                sc.record(check(res, SESSION_GONE), hang=hung,
                          why=f"terminated: {res!r}")
        finally:
            admin.close(timeout=5)
            c.close(timeout=5) if not c.is_closed() else c.terminate()
        sc.extra.update(unusable_connections=unusable, partial_rows=partial)


# --------------------------------------------------------------------------
# 8. Timeout race
# --------------------------------------------------------------------------

def test_sync_timeout_race_no_spurious_cancel(cluster, fault_rows):
    """Scenario 8 (tests/README.md), blocking face: timeouts of 0.2-4 ms
    on pg_sleep(0.001), each followed by SELECT 1: no hang, never a
    spurious QueryCanceledError, always 1."""
    spurious = broken = interrupted = 0
    N, BUDGET = 400, 60
    with Scenario("8s timeout race (blocking)", fault_rows,
                  admin_kw(cluster)) as sc:
        c = pgwire.sync.connect(**sc.kw(cluster))
        deadline = time.monotonic() + BUDGET
        try:
            for i in range(N):
                assert time.monotonic() < deadline, f"{i} in {BUDGET}s"
                res, dt, hung = outcome(lambda: c.fetchval(
                    "SELECT pg_sleep(0.001)",
                    timeout=random.uniform(0.0002, 0.004)), 10, c)
                interrupted += isinstance(res, TimeoutError)
                res2, dt2, hung2 = outcome(lambda: c.fetchval("SELECT 1"),
                                           10, c)
                ok = True
                if isinstance(res2, exc.QueryCanceledError):
                    spurious += 1
                    ok = False
                elif res2 != 1:
                    broken += 1
                    ok = False
                sc.record(ok, hang=hung or hung2,
                          why=f"{res!r} then {res2!r}")
                if c.is_closed():
                    c = pgwire.sync.connect(**sc.kw(cluster))
        finally:
            c.close(timeout=5)
        sc.extra.update(interrupted=interrupted, spurious_cancels=spurious,
                        broken_connections=broken)


# --------------------------------------------------------------------------
# 9. COMMIT response lost
# --------------------------------------------------------------------------

def test_sync_commit_response_lost_is_outcome_unknown(cluster, fault_rows,
                                                      table):
    """Scenario 9 (tests/README.md), blocking face: the link resets right
    after the server's answer to COMMIT (A) or before COMMIT reaches the
    server (B): TransactionOutcomeUnknownError, never success, the
    connection closed, the row committed exactly once in A, never in B."""
    with Scenario("9s COMMIT response lost (blocking)", fault_rows,
                  admin_kw(cluster)) as sc, \
            ThreadedFaultProxy((cluster.tcp_host, cluster.port)) as px:
        admin = pgwire.sync.connect(**admin_kw(cluster))
        try:
            for k in range(6):
                case = "AB"[k % 2]
                c = pgwire.sync.connect(**sc.proxied(cluster, px))
                try:
                    if case == "A":
                        px.add_trigger(S2C, b"C", match=b"COMMIT")
                    else:
                        px.add_trigger(C2S, b"Q", match=b"COMMIT")

                    def txn():
                        with c.transaction():
                            c.execute(f"INSERT INTO {table} VALUES ($1)", k)
                    res, dt, hung = outcome(txn, 10, c)
                    n = admin.fetchval(
                        f"SELECT count(*) FROM {table} WHERE i = $1", k)
                    ok = isinstance(res, TransactionOutcomeUnknownError) \
                        and n == (1 if case == "A" else 0) and c.is_closed()
                    sc.record(ok, dt, hang=hung,
                              why=f"{case}: {res!r}, rows={n}")
                finally:
                    c.terminate()
                    px.clear_triggers()
        finally:
            admin.close()


def test_sync_copy_timeout_with_a_blocking_source(cluster, table):
    """Regression (blocking face): a COPY whose source blocks the loop (a
    slow generator, a slow file object, a generator of records) never let
    the loop fire its timeout= timer: the deadline was seen only at the
    final wait, after CopyDone, so the call raised TimeoutError for a
    COPY the server had committed (800000 rows) after running to the end.
    The sources now give the loop a turn between chunks: TimeoutError on
    time and nothing persists."""
    line = b"".join(b"%d\tsome text\n" % k for k in range(2000))
    pause = threading.Event()

    def slow_chunks():
        for _ in range(400):
            pause.wait(0.01)
            yield line

    class SlowFile:
        n = 0

        def read(self, size):
            self.n += 1
            pause.wait(0.01)
            return line if self.n <= 400 else b""

    def slow_records():
        for k in range(200_000):
            if k % 1000 == 0:
                pause.wait(0.01)
            yield (k, "r")

    c = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        for name, call in (
                ("generator", lambda: c.copy_to_table(
                    table, source=slow_chunks(), timeout=0.2)),
                ("file object", lambda: c.copy_to_table(
                    table, source=SlowFile(), timeout=0.2)),
                ("records", lambda: c.copy_records_to_table(
                    table, records=slow_records(), timeout=0.2))):
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                call()
            assert time.monotonic() - t0 < 1.5, name
            assert c.fetchval(f"SELECT count(*) FROM {table}") == 0, name
        # and without a timeout every row arrives
        assert c.copy_to_table(table, source=(line for _ in range(3))) == \
            "COPY 6000"
        assert c.copy_records_to_table(
            table, records=((k, "r") for k in range(5000))) == "COPY 5000"
    finally:
        c.close()


def test_sync_bare_yield_is_one_turn_without_sleeping():
    """Regression: an awaitable yielding None (asyncio.sleep(0)'s bare
    turn) made the blocking loop poll() until its next timer, not one
    turn: with a 5 s timer pending, a sleep(0) took 5 s."""
    from pgwire.sync._loop import Loop

    class _Turn:
        def __await__(self):
            yield
    loop = Loop()
    h = loop.call_later(5, lambda: None)

    async def turns():
        for _ in range(3):
            await _Turn()
        return "done"
    t0 = time.monotonic()
    assert loop.run_until_complete(turns()) == "done"
    assert time.monotonic() - t0 < 1.0
    h.cancel()


# --------------------------------------------------------------------------
# The pool: a lost link during the reset, killed and terminated members
# --------------------------------------------------------------------------

def pool_backends(admin, app):
    return admin.fetchval("SELECT count(*) FROM pg_stat_activity "
                          "WHERE application_name = $1", app)


def test_sync_pool_survives_lost_links(cluster, fault_rows):
    """pgwire.sync.create_pool under faults: the link reset during the
    release's reset query, the link reset mid-query, a member's backend
    terminated while idle and while busy, the proxy frozen under a
    query with a timeout: each caller gets its error class within its
    bound, the pool refills to min_size with as many backends as
    connections, and later acquires work."""
    with Scenario("17s blocking pool under faults", fault_rows,
                  admin_kw(cluster)) as sc, \
            ThreadedFaultProxy((cluster.tcp_host, cluster.port)) as px:
        admin = pgwire.sync.connect(**admin_kw(cluster))
        pool = pgwire.sync.create_pool(**sc.proxied(cluster, px),
                                       min_size=2, max_size=3,
                                       cancel_timeout=0.5)

        def healthy():
            wait_until(lambda: pool.get_size() == 2 and
                       pool.get_idle_size() == 2 and
                       pool_backends(admin, sc.app) == 2, 10,
                       "pool back at min_size")
            return all(pool.fetchval("SELECT $1::int", k) == k
                       for k in range(4))

        try:
            for k in range(3):
                # the link reset while the released connection is reset
                with pool.acquire(timeout=5) as c:
                    c.execute("SET application_name = 'dirty'")
                    px.add_trigger(C2S, b"Q", match=b"RESET ALL")
                res, dt, hung = outcome(healthy, 15)
                px.clear_triggers()
                sc.record(res is True, hang=hung, why=f"reset: {res!r}")

                # mid-query RST
                px.add_trigger(S2C, b"D", 50)
                res, dt, hung = outcome(lambda: pool.fetch(
                    "SELECT generate_series(1, 100000)"), 10)
                px.clear_triggers()
                ok = isinstance(res, LOST)
                res2, _, hung2 = outcome(healthy, 15)
                sc.record(ok and res2 is True, dt, hang=hung or hung2,
                          why=f"mid-query: {res!r}, then {res2!r}")

                # a member terminated while idle, then one while busy
                pids = admin.fetchval(
                    "SELECT array_agg(pid) FROM pg_stat_activity "
                    "WHERE application_name = $1", sc.app)
                admin.execute("SELECT pg_terminate_backend($1)", pids[0])
                wait_until(lambda: activity(admin, pids[0]) is None, 5,
                           "backend gone")
                # the dead one may be handed out: a connection error, and
                # then the pool is whole again
                res, dt, hung = outcome(lambda: [
                    pool.fetchval("SELECT 1") for _ in range(4)], 10)
                ok = res == [1] * 4 or isinstance(res, SESSION_GONE)
                res2, _, hung2 = outcome(healthy, 15)
                sc.record(ok and res2 is True, hang=hung or hung2,
                          why=f"idle terminated: {res!r}, then {res2!r}")

                with pool.acquire(timeout=5) as c:
                    run = start(lambda: c.fetchval("SELECT pg_sleep(30)"))
                    wait_sleeping(admin, [c.get_server_pid()])
                    admin.execute("SELECT pg_terminate_backend($1)",
                                  c.get_server_pid())
                    res, dt, hung = run.finish(5, c)
                ok = isinstance(res, exc.ConnectionDoesNotExistError) and \
                    dt < 1.5
                res2, _, hung2 = outcome(healthy, 15)
                sc.record(ok and res2 is True, dt, hang=hung or hung2,
                          why=f"busy terminated: {res!r}, then {res2!r}")

                # a frozen link under a query with a timeout
                px.add_trigger(S2C, b"T", mode="freeze")
                res, dt, hung = outcome(lambda: pool.fetchval(
                    "SELECT 41 + 1", timeout=0.3), 10)
                px.clear_triggers()
                px.thaw()
                ok = isinstance(res, TimeoutError) and dt < 0.3 + 0.5 + 0.5
                res2, _, hung2 = outcome(healthy, 15)
                sc.record(ok and res2 is True, dt, hang=hung or hung2,
                          why=f"frozen: {res!r} after {dt:.3f}s, "
                              f"then {res2!r}")
        finally:
            pool.close()
            pool.terminate()
            admin.close()


# --------------------------------------------------------------------------
# Threads under load
# --------------------------------------------------------------------------

def test_sync_pool_threads_under_load(cluster, table):
    """A pool of 4 shared by 16 threads doing mixed queries, transactions
    and cursors with random client-side timeouts, a bounded number of
    iterations each: every result is right (a timed-out call raises
    TimeoutError and nothing else), no thread hangs, no connection
    leaks (pool size, pg_stat_activity), the table holds exactly the
    committed transactions' rows."""
    app = "pgwire_sload_" + uuid.uuid4().hex[:10]
    pool = pgwire.sync.create_pool(**cluster.connect_kwargs(
        server_settings={"application_name": app}), min_size=4, max_size=4,
        cancel_timeout=2)
    wrong, errors, committed = [], [], []
    timeouts = [0]
    lock = threading.Lock()

    def work(tid):
        rnd = random.Random(tid)
        for i in range(25):
            kind = rnd.choice(("query", "tx", "cursor", "prepared"))
            timeout = rnd.choice((None, None, rnd.uniform(0.001, 0.02)))
            key = tid * 1000 + i
            try:
                with pool.acquire(timeout=30) as c:
                    if kind == "query":
                        got = c.fetchval("SELECT $1::int FROM pg_sleep("
                                         "$2)", key, rnd.choice((0, 0.005)),
                                         timeout=timeout)
                        ok = got == key
                    elif kind == "tx":
                        with c.transaction():
                            c.execute(f"INSERT INTO {table} VALUES ($1, "
                                      f"'t')", key, timeout=timeout)
                            got = c.fetchval(f"SELECT count(*) FROM {table}"
                                             f" WHERE i = $1", key)
                        ok = got == 1
                        with lock:
                            committed.append(key)
                    elif kind == "cursor":
                        with c.transaction():
                            got = [r[0] for r in c.cursor(
                                "SELECT g + $1 FROM generate_series(1, 300)"
                                " g", key, prefetch=50, timeout=timeout)]
                        ok = got == [key + g for g in range(1, 301)]
                    else:
                        st = c.prepare("SELECT $1::text || '-' || $2::text")
                        got = st.fetchval(str(tid), str(i), timeout=timeout)
                        ok = got == f"{tid}-{i}"
                    if not ok:
                        with lock:
                            wrong.append((kind, key, got))
            except TimeoutError:
                if timeout is None:
                    with lock:
                        errors.append((kind, key, "TimeoutError"))
                with lock:
                    timeouts[0] += 1
            except Exception as e:  # noqa: BLE001 - collected
                with lock:
                    errors.append((kind, key, repr(e)))

    threads = [threading.Thread(target=work, args=(t,), daemon=True)
               for t in range(16)]
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, t0 + 120 - time.monotonic()))
        hung = [t.name for t in threads if t.is_alive()]
        assert not hung, hung
        assert wrong == [], wrong[:5]
        assert errors == [], errors[:5]
        assert timeouts[0] > 0      # the timeout path was exercised
        assert pool.get_size() <= 4
        admin = pgwire.sync.connect(**admin_kw(cluster))
        try:
            rows = sorted(r[0] for r in admin.fetch(
                f"SELECT i FROM {table}"))
            assert rows == sorted(committed)
            wait_until(lambda: pool_backends(admin, app) == pool.get_size()
                       and pool.get_idle_size() == pool.get_size(), 10,
                       "every pool connection idle, one backend each")
            assert all(r["state"] == "idle" for r in admin.fetch(
                "SELECT state FROM pg_stat_activity WHERE "
                "application_name = $1", app))
            pool.close()
            wait_until(lambda: pool_backends(admin, app) == 0, 10,
                       "no backend after close")
        finally:
            admin.close()
    finally:
        pool.terminate()


def test_sync_signal_before_poll_is_not_slept_through():
    """Regression: a signal that arrived while the loop ran C code (here
    a callback raising SIGINT through ctypes, which runs no handler) was
    only handled after the next poll() returned, which slept through it:
    Ctrl-C at that moment waited for the query (here a 3 s timer).  The
    handlers now run before poll() sleeps."""
    import ctypes
    from pgwire.sync._loop import Loop
    libc = ctypes.CDLL(None, use_errno=True)
    loop = Loop()

    async def wait():
        fut = loop.create_future()
        loop.call_later(3, fut.set_result, "slept")
        return await fut
    loop.call_soon(getattr(libc, "raise"), signal.SIGINT)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        loop.run_until_complete(wait())
    assert time.monotonic() - t0 < 1.5


# --------------------------------------------------------------------------
# 6. Slow or fragmented link
# --------------------------------------------------------------------------

def test_sync_slow_fragmented_link_byte_identical(cluster, fault_rows,
                                                  table):
    """Scenario 6 (tests/README.md), blocking face, on 2 MB (not 10: the
    blocking loop's partial reads and writes are what is tested): random
    fragments and a 300 ms stall, 1-byte fragments, 50 ms per message:
    COPY OUT, fetch() and COPY IN are byte-identical to psql's output."""
    import hashlib
    query = ("SELECT i, md5(i::text) || repeat('x', 64) "
             "FROM generate_series(1, 20000) i")
    expected = (cluster.psql(f"COPY ({query}) TO STDOUT") + "\n").encode()
    assert len(expected) > 1_900_000
    want = hashlib.sha256(expected).hexdigest()
    with Scenario("6s slow/fragmented link (blocking)", fault_rows,
                  admin_kw(cluster)) as sc, \
            ThreadedFaultProxy((cluster.tcp_host, cluster.port)) as px:
        direct = pgwire.sync.connect(**admin_kw(cluster))
        c = pgwire.sync.connect(**sc.proxied(cluster, px))
        try:
            px.set_mode("fragment", (1, 4096))
            px.add_trigger(S2C, b"d", nth=5000, mode="stall", arg=300)
            h = hashlib.sha256()
            res, dt, hung = outcome(lambda: c.copy_from_query(
                query, output=h.update), 60, c)
            sc.record(h.hexdigest() == want, hang=hung,
                      why=f"copy out: {res!r}")
            res, dt, hung = outcome(lambda: c.fetch(query), 60, c)
            got = b"".join(f"{r[0]}\t{r[1]}\n".encode() for r in res) \
                if isinstance(res, list) else b""
            sc.record(hashlib.sha256(got).hexdigest() == want, hang=hung,
                      why="fetch mismatch")
            px.clear_triggers()
            px.add_trigger(C2S, b"d", nth=10, mode="stall", arg=200)
            res, dt, hung = outcome(lambda: c.copy_to_table(
                table, source=(expected[k:k + 65536] for k in range(
                    0, len(expected), 65536))), 60, c)
            h = hashlib.sha256()
            direct.copy_from_query(f"SELECT * FROM {table} ORDER BY i",
                                   output=h.update)
            sc.record(h.hexdigest() == want, hang=hung,
                      why=f"copy in: {res!r}")
            px.clear_triggers()
            px.set_mode("fragment", 1)
            small = "SELECT i, md5(i::text) FROM generate_series(1, 200) i"
            rows = direct.fetch(small)
            res, dt, hung = outcome(lambda: c.fetch(small), 30, c)
            sc.record(res == rows, hang=hung, why="1-byte fetch mismatch")
            px.set_mode("delay", 50)
            for q in range(2):
                res, dt, hung = outcome(
                    lambda: c.fetchval("SELECT $1::int * 3", q), 10, c)
                sc.record(res == q * 3, hang=hung, why=f"delay: {res!r}")
        finally:
            px.set_mode("pass")
            c.close(timeout=5) if not c.is_closed() else c.terminate()
            direct.close()
