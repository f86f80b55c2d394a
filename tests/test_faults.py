"""Fault injection against a real server (tests/README.md, "The fault
scenarios").

Scenarios 1-9, 11 (live part) and 13-15 of that table.  Each scenario
counts its injected faults and the ones the driver survived (kept its
contract: the right error class within the bound, the connection closed or
usable as appropriate, no result delivered to the wrong query, nothing
reported committed when it was not, the pool recovered), probes for leaked
fds, backends and tasks, and appends one JSON line to $PGWIRE_FAULT_REPORT
(default build/fault-report.jsonl); conftest prints the table at the end.

The pool scenarios: 3 (server restart under a pool) and 14 (pool under
churn) run on a server of their own (``restart_cluster``), 13 (multi-host
and failover) on primary + standby pairs built with the helpers of
tests/test_multihost.py.

Environment:
  PGWIRE_CHURN_SECONDS   how long scenario 14 injects faults (default 30;
                         a full run uses 60; the CI default keeps the
                         module near 2 min)

Every loop is bounded in count and time; waits for a condition poll it
with a deadline; all traffic stays on loopback.
"""

import asyncio
import collections
import faulthandler
import gc
import hashlib
import json
import logging
import os
import pathlib
import random
import resource
import signal
import time
import types
import uuid
import warnings
import weakref

import pytest

import pgwire
from pgwire import cluster as _cluster_mod
from pgwire import exceptions as exc
from pgwire.transaction import TransactionOutcomeUnknownError

from faultproxy import C2S, S2C, FaultProxy
from waiting import wait_until
import test_multihost as mh

pytestmark = pytest.mark.faults

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPORT = pathlib.Path(os.environ.get("PGWIRE_FAULT_REPORT")
                      or ROOT / "build" / "fault-report.jsonl")

# errors that mean "the connection went away under us"
LOST = (exc.PostgresConnectionError, exc.InterfaceError, ConnectionError)
# what a session in use gets when its server stops, crashes or restarts
SESSION_GONE = LOST + (exc.AdminShutdownError, exc.CrashShutdownError)
# connect-class errors: refused, 57P03 (starting up, shutting down), the
# server gone during startup, no host matching target_session_attrs.
# (TimeoutError is an OSError too: tell it apart first where it matters.)
CONNECT_ERRORS = (OSError, exc.CannotConnectNowError,
                  exc.TargetServerAttributeNotMatched) + SESSION_GONE

# scenario 14's fault-injection time (a full run: 60 s)
CHURN_SECONDS = int(os.environ.get("PGWIRE_CHURN_SECONDS") or 30)


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _outer_guard():
    """The outer time limit (no pytest-timeout here): dump every stack and
    exit if the module hangs."""
    faulthandler.dump_traceback_later(600 + CHURN_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def private_cluster(cluster_module):
    """A server of our own: SIGKILL of a backend crash-restarts every
    session, and max_connections is small."""
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


@pytest.fixture(scope="module")
def fault_rows(request):
    rows = request.config.__dict__.setdefault("_pgwire_fault_rows", [])
    yield rows


def _fd_targets():
    out = {}
    # the pipes to the watchdogs of the clusters a test starts are the
    # test server's, not the driver's
    skip = {str(fd) for fd in _cluster_mod.watchdog_fds()}
    for fd in os.listdir("/proc/self/fd"):
        if fd in skip:
            continue
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return out


def _fd_count():
    """Open fds, without /dev/null: libuv (uvloop) opens one lazily, once
    per loop, as its EMFILE reserve."""
    return sum(1 for t in _fd_targets().values() if t != "/dev/null")


def _pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def poll(cond, timeout, what):
    """Await until ``cond()`` (sync or async) is true, at most ``timeout``
    seconds; AssertionError otherwise."""
    await wait_until(cond, timeout, what)


async def outcome(aw, bound):
    """(result or exception, seconds, hung) of awaiting ``aw`` at most
    ``bound`` seconds."""
    t0 = time.monotonic()
    try:
        res = await asyncio.wait_for(aw, bound)
    except asyncio.TimeoutError as e:
        elapsed = time.monotonic() - t0
        return e, elapsed, elapsed >= bound * 0.99
    except (Exception, asyncio.CancelledError) as e:
        return e, time.monotonic() - t0, False
    return res, time.monotonic() - t0, False


class Scenario:
    """Counts one scenario's faults and writes its report line."""

    def __init__(self, name, rows, admin_kw):
        self.name = name
        self.rows = rows
        self.admin_kw = admin_kw
        self.app = "pgwire_fault_" + uuid.uuid4().hex[:10]
        self.injected = self.survived = self.hangs = 0
        self.detect_ms = []
        self.failures = []
        self.extra = {}

    def kw(self, cluster, **extra):
        """connect() kwargs (unix socket) tagged with our application
        name."""
        settings = dict(extra.pop("server_settings", {}) or {})
        settings["application_name"] = self.app
        return cluster.connect_kwargs(server_settings=settings, **extra)

    def record(self, ok, detect_s=None, *, hang=False, why=""):
        self.injected += 1
        if ok and not hang:
            self.survived += 1
        elif why or hang:
            self.failures.append(why or "hang")
        if hang:
            self.hangs += 1
        if detect_s is not None:
            self.detect_ms.append(detect_s * 1000.0)

    async def __aenter__(self):
        self.fds0 = _fd_count()
        self.fd_targets0 = _fd_targets()
        self.tasks0 = set(asyncio.all_tasks())
        return self

    async def _backends(self):
        try:
            admin = await pgwire.connect(**self.admin_kw, timeout=10)
        except Exception:               # the server is still restarting
            return -1
        try:
            return await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = $1", self.app)
        finally:
            await admin.close()

    async def _leaks(self):
        me = asyncio.current_task()
        deadline = time.monotonic() + 10
        while True:
            gc.collect()
            tasks = [t for t in asyncio.all_tasks()
                     if t not in self.tasks0 and t is not me
                     and not t.done()]
            fds = max(0, _fd_count() - self.fds0)
            backends = await self._backends()
            if (not tasks and fds == 0 and backends == 0) or \
                    time.monotonic() > deadline:
                return fds, max(backends, 0), len(tasks)
            await asyncio.sleep(0.02)

    async def __aexit__(self, et, ev, tb):
        return report_scenario(self, et, ev, *await self._leaks())


def report_scenario(sc, et, ev, fds, backends, tasks):
    """A scenario's row in the fault report (and the run's table), then
    its assertions when the block itself did not raise: every injection
    survived, no hang, nothing leaked (``tasks``: tasks or threads)."""
    row = {"scenario": sc.name, "injected": sc.injected,
           "survived": sc.survived, "hangs": sc.hangs,
           "max_detect_ms": round(max(sc.detect_ms), 1)
           if sc.detect_ms else None,
           "leaked_fds": fds, "leaked_backends": backends,
           "leaked_tasks": tasks}
    if sc.detect_ms:
        row["p50_detect_ms"] = round(_pct(sc.detect_ms, 0.5), 1)
    row.update(sc.extra)
    if sc.failures:
        row["failures"] = [str(f)[:300] for f in sc.failures[:5]]
    if fds:
        now = _fd_targets()
        row["new_fds"] = sorted(f"{k}:{v}" for k, v in now.items()
                                if sc.fd_targets0.get(k) != v)[:10]
    if et is not None:
        row["error"] = f"{et.__name__}: {ev}"[:300]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT, "a") as f:
        f.write(json.dumps(row) + "\n")
    sc.rows.append(row)
    if et is None:
        assert sc.injected > 0, sc.name
        assert sc.hangs == 0, (sc.name, sc.failures)
        assert sc.survived == sc.injected, (sc.name, sc.failures)
        assert (fds, backends, tasks) == (0, 0, 0), (sc.name, row)
    return False


def admin_kw(cluster):
    return cluster.connect_kwargs()


async def wait_active(admin, pids, timeout=10):
    async def active():
        n = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) "
            "AND state = 'active' AND wait_event = 'PgSleep'", list(pids))
        return n == len(pids)
    await poll(active, timeout, f"backends {pids} sleeping")


# --------------------------------------------------------------------------
# 1. Backend SIGKILL mid-query (private cluster: crash restart)
# --------------------------------------------------------------------------

async def test_backend_sigkill_mid_query(private_cluster, fault_rows):
    """Scenario 1 (tests/README.md): SIGKILL of a busy backend: the victim, a
    busy and an idle session fail fast and the server recovers."""
    pc = private_cluster
    recovery = []
    async with asyncio.timeout(120), \
            Scenario("1 backend SIGKILL", fault_rows, admin_kw(pc)) as sc:
        for _ in range(3):
            victim = await pgwire.connect(**sc.kw(pc))
            busy = await pgwire.connect(**sc.kw(pc))
            idle = await pgwire.connect(**sc.kw(pc))
            admin = await pgwire.connect(**admin_kw(pc))
            try:
                pid = victim.get_server_pid()
                vt = asyncio.ensure_future(
                    victim.fetchval("SELECT pg_sleep(30)"))
                bt = asyncio.ensure_future(
                    busy.fetchval("SELECT pg_sleep(30)"))
                await wait_active(admin, [pid, busy.get_server_pid()])
                t0 = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                res, dt, hung = await outcome(vt, 5)
                ok = isinstance(res, LOST) and victim.is_closed() \
                    and dt <= 1.0
                sc.record(ok, dt, hang=hung,
                          why=f"victim: {res!r} after {dt:.3f}s")
                # the crash restart ends every other session: 57P02
                res, dt, hung = await outcome(bt, 5)
                ok = isinstance(res, (exc.CrashShutdownError,) + LOST) \
                    and busy.is_closed()
                sc.record(ok, dt, hang=hung, why=f"busy: {res!r}")
                await poll(idle.is_closed, 5, "idle session closed")
                res, _, hung = await outcome(idle.fetchval("SELECT 1"), 5)
                sc.record(isinstance(res, LOST), hang=hung,
                          why=f"idle: {res!r}")

                async def back_up():
                    try:
                        c = await pgwire.connect(**admin_kw(pc), timeout=5)
                    except (OSError, exc.PostgresError,
                            asyncio.TimeoutError) + LOST:
                        return False
                    await c.close()
                    return True
                await poll(back_up, 60, "server back after crash restart")
                recovery.append((time.monotonic() - t0) * 1000.0)
            finally:
                for c in (victim, busy, idle, admin):
                    c.terminate()
        sc.extra.update(recovery_p50_ms=round(_pct(recovery, 0.5)),
                        recovery_max_ms=round(max(recovery)))


# --------------------------------------------------------------------------
# 2. pg_terminate_backend, busy and idle
# --------------------------------------------------------------------------

async def test_terminate_backend_busy_and_idle(cluster, fault_rows):
    """Scenario 2 (tests/README.md): pg_terminate_backend of a busy or an idle
    connection gives asyncpg's errors with 57P01 as __cause__."""
    busy_errors = idle_errors = 0
    async with asyncio.timeout(60), \
            Scenario("2 pg_terminate_backend", fault_rows,
                     admin_kw(cluster)) as sc:
        admin = await pgwire.connect(**admin_kw(cluster))
        try:
            for i in range(16):
                c = await pgwire.connect(**sc.kw(cluster))
                try:
                    pid = c.get_server_pid()
                    if i % 2 == 0:      # busy
                        t = asyncio.ensure_future(
                            c.fetchval("SELECT pg_sleep(30)"))
                        await wait_active(admin, [pid])
                        t0 = time.monotonic()
                        await admin.execute(
                            "SELECT pg_terminate_backend($1)", pid)
                        res, dt, hung = await outcome(t, 5)
                        busy_errors += isinstance(res, BaseException)
                        # asyncpg's contract (issue 13): a connection
                        # error, the server's 57P01 kept as __cause__
                        ok = isinstance(res,
                                        exc.ConnectionDoesNotExistError) \
                            and "closed in the middle of operation" in \
                            str(res) and \
                            isinstance(res.__cause__,
                                       exc.AdminShutdownError) and \
                            c.is_closed() and dt <= 1.0
                        sc.record(ok, dt, hang=hung, why=f"busy: {res!r}")
                    else:               # idle
                        t0 = time.monotonic()
                        await admin.execute(
                            "SELECT pg_terminate_backend($1)", pid)
                        await poll(c.is_closed, 5, "idle conn closed")
                        dt = time.monotonic() - t0
                        res, _, hung = await outcome(c.fetchval("SELECT 1"),
                                                     5)
                        idle_errors += isinstance(res, BaseException)
                        # later calls: InterfaceError('connection is
                        # closed'), why it closed (57P01) as __cause__
                        ok = isinstance(res, exc.InterfaceError) and \
                            str(res) == "connection is closed" and \
                            isinstance(res.__cause__,
                                       exc.AdminShutdownError)
                        sc.record(ok, dt, hang=hung, why=f"idle: {res!r}")
                finally:
                    c.terminate()
        finally:
            await admin.close()
        sc.extra.update(user_errors_busy=busy_errors,
                        user_errors_idle_unpooled=idle_errors)


# --------------------------------------------------------------------------
# Pool helpers (scenarios 3 and 14)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def restart_cluster(cluster_module):
    """A server of our own that scenarios 3 and 14 may restart and crash
    (the session's shared server is left alone); room for a pool of 10."""
    if os.environ.get(cluster_module.DSN_ENV):
        pytest.skip("needs a temporary cluster")
    pc = cluster_module.TempCluster(settings={
        "max_connections": 40, "restart_after_crash": True})
    pc.start()
    try:
        yield pc
    finally:
        pc.cleanup()


def describe_open(conn, px):
    """What a connection that should be closed is doing: its backend,
    whether that process still exists, its transport, and its proxy link
    (found by the client's local port)."""
    pid = conn.get_server_pid()
    try:
        os.kill(pid, 0)
        alive = "alive"
    except ProcessLookupError:
        alive = "gone"
    except PermissionError:
        alive = "alive (not ours)"
    tr = conn._transport if hasattr(conn, "_transport") else None
    sock = tr.get_extra_info("sockname") if tr is not None else None
    link = "no link"
    for ln in list(px.links):
        peer = (ln.cwriter.get_extra_info("peername")
                if ln.cwriter is not None else None)
        if sock is not None and peer is not None and peer[1] == sock[1]:
            link = (f"link closed={ln.closed.is_set()} "
                    f"frozen={not ln.unfrozen.is_set()} modes={ln.modes} "
                    f"bytes={ln.bytes}")
    return (f"pid {pid} ({alive}), in_tx={conn.is_in_transaction()}, "
            f"transport={tr!r} {sock}, {link}")


class Dials:
    """A pool's ``connect=`` hook: counts the dials in flight (and their
    peak), notes when the pool's refill task dials, keeps (weakly) the
    connections it opened."""

    def __init__(self):
        self.now = self.peak = self.total = 0
        self.pool = None
        self.refill = []            # (refill task id, monotonic time)
        self.conns = weakref.WeakSet()

    async def __call__(self, *args, **kwargs):
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        me = asyncio.current_task()
        if self.pool is not None and me is self.pool._refill_task:
            self.refill.append((id(me), time.monotonic()))
        try:
            conn = await pgwire.connect(*args, **kwargs)
        finally:
            self.now -= 1
        self.conns.add(conn)
        return conn

    def live(self):
        return [c for c in list(self.conns) if not c.is_closed()]

    def refill_gaps(self, since):
        """Seconds between consecutive dials of one refill task, for the
        dials after ``since`` (the longest such run)."""
        runs = collections.defaultdict(list)
        for task, t in self.refill:
            if t >= since:
                runs[task].append(t)
        best = max(runs.values(), key=len, default=[])
        return [b - a for a, b in zip(best, best[1:])]


class CountingHandler(logging.Handler):
    """Counts log records by level name."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.counts = collections.Counter()

    def emit(self, record):
        self.counts[record.levelname] += 1


# a pool's acquire that ends later than its timeout plus this is a hang;
# one that ends within its timeout plus SLACK kept its bound (the slack
# is event-loop latency with hundreds of tasks on 2 shared cores)
HANG_SLACK = 2.0
SLACK = 0.5


class PoolLoad:
    """``n`` tasks that acquire from ``pool`` and run a query in a loop
    until stopped.  Every acquire must end with a connection, TimeoutError
    or a connect-class error within its timeout; every query with its
    own result, a command_timeout or a lost session; the pool never holds
    or opens more than ``max_size`` connections.  Anything else is a
    violation, charged to ``self.fault`` (the fault injected last)."""

    def __init__(self, pool, n, *, acquire_timeout, query_bound, max_size,
                 sleeps=(0, 0, 0.002, 0.02)):
        self.pool = pool
        self.n = n
        self.at = acquire_timeout
        self.qb = query_bound
        self.max_size = max_size
        self.sleeps = sleeps
        self.stopping = False
        self.running = asyncio.Event()
        self.running.set()
        self.busy = 0
        self.counts = collections.Counter()
        self.errors = collections.Counter()     # by class name
        self.samples = {}                       # class name -> message
        self.violations = []
        self.fault = None
        self.tasks = []
        self.peak_size = 0

    def start(self):
        self.tasks = [asyncio.ensure_future(self._worker(i))
                      for i in range(self.n)]
        return self

    def violation(self, why):
        self.violations.append((self.fault, why))

    def check_size(self):
        pool = self.pool
        size = len(pool._all) + pool._opening
        self.peak_size = max(self.peak_size, size)
        if size > self.max_size:
            self.violation(f"pool size {size} > max_size {self.max_size}")

    async def pause(self, timeout=15):
        self.running.clear()
        await poll(lambda: self.busy == 0, timeout, "load paused")

    def resume(self):
        self.running.set()

    async def stop(self, timeout):
        self.stopping = True
        self.running.set()
        tasks, self.tasks = self.tasks, []
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
            self.violation(f"{len(pending)} workers did not stop in "
                           f"{timeout}s")
        for t in done:
            if not t.cancelled() and t.exception() is not None:
                self.violation(f"worker died: {t.exception()!r}")

    async def _worker(self, i):
        k = 0
        while not self.stopping and k < 1_000_000:
            if not self.running.is_set():
                await self.running.wait()      # until resume() or stop()
                continue
            self.busy += 1
            try:
                ok = await self._once(i * 1_000_000 + k)
            finally:
                self.busy -= 1
            k += 1
            if not ok:      # pacing after a failure, not synchronisation
                await asyncio.sleep(random.uniform(0.005, 0.03))

    async def _once(self, v):
        pool = self.pool
        self.check_size()
        res, dt, hung = await outcome(pool.acquire(timeout=self.at),
                                      self.at + HANG_SLACK)
        if hung:
            self.counts["acquire_hang"] += 1
            self.violation(f"acquire hung: {dt:.2f}s")
            return False
        if isinstance(res, BaseException):
            if isinstance(res, TimeoutError):
                self.counts["acquire_timeout"] += 1
            elif isinstance(res, CONNECT_ERRORS):
                self.counts["acquire_error"] += 1
                self._seen("acquire:", res)
            else:
                self.violation(f"acquire: {res!r}")
            if dt > self.at + SLACK:
                self.violation(f"acquire: {res!r} after {dt:.2f}s")
            return False
        self.counts["acquired"] += 1
        try:
            r, qdt, qhung = await outcome(self._query(res, v), self.qb)
        finally:
            rel, rdt, rhung = await outcome(pool.release(res), 15)
        self.check_size()
        if rhung or isinstance(rel, BaseException):
            self.violation(f"release: {rel!r} after {rdt:.2f}s")
        if qhung:
            self.counts["query_hang"] += 1
            self.violation(f"query hung: {qdt:.2f}s")
            return False
        if r == v:
            self.counts["query_ok"] += 1
            return True
        if isinstance(r, TimeoutError):
            self.counts["query_timeout"] += 1
        elif isinstance(r, exc.QueryCanceledError):
            self.violation(f"spurious 57014: {r!r}")
        elif isinstance(r, SESSION_GONE):
            self.counts["query_lost"] += 1
            self._seen("query:", r)
        else:
            self.violation(f"query: {r!r} (asked {v})")
        return False

    def _seen(self, where, e):
        key = where + type(e).__name__
        self.errors[key] += 1
        self.samples.setdefault(key, str(e)[:120])

    async def _query(self, conn, v):
        pause = random.choice(self.sleeps)
        if v % 7 == 0:
            async with conn.transaction():
                return await conn.fetchval(
                    "SELECT $1::int FROM pg_sleep($2)", v, pause)
        return await conn.fetchval("SELECT $1::int FROM pg_sleep($2)", v,
                                   pause)


async def app_backends(kw, app):
    """Backends with this application_name (-1: the server is down)."""
    try:
        admin = await pgwire.connect(**kw, timeout=5)
    except Exception:
        return -1
    try:
        return await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = $1", app)
    finally:
        await admin.close(timeout=5)


async def pool_healthy(pool, min_size):
    """True when the pool holds at least min_size connections, all idle,
    nothing being opened, and each of them answers."""
    size = pool.get_size()
    if size < min_size or pool.get_idle_size() != size or pool._opening:
        return False
    try:
        got = await asyncio.wait_for(asyncio.gather(
            *(pool.fetchval("SELECT 1") for _ in range(size))), 5)
    except (Exception, asyncio.TimeoutError):
        return False
    return got == [1] * size and pool.get_size() >= min_size


# --------------------------------------------------------------------------
# 3. Server restart under a pool (private cluster)
# --------------------------------------------------------------------------

def _deterministic(gap, lo=0.1):
    """Is this gap what un-jittered doubling backoff would give (one of
    lo * 2**k, within 3 %)?"""
    b = lo
    while b <= 8:
        if abs(gap - b) <= 0.03 * b:
            return True
        b *= 2
    return False


async def test_pool_survives_server_restarts(restart_cluster, fault_rows):
    """Scenario 3 (tests/README.md).

    Four restarts (pg_ctl stop -m fast / -m immediate, then start) of
    the pool's server under a running load.  While the server is down,
    every acquire fails with a connect-class error inside its timeout;
    the refill retries with growing, jittered delays; once the server is
    back the pool returns to min_size by itself with as many backends as
    connections; the dials in flight never exceed max_size."""
    pc = restart_cluster
    MIN, MAX, AT = 2, 4, 1.5
    recovery, downtime, gaps_seen = [], [], []
    failed_acquires = 0
    async with asyncio.timeout(150), \
            Scenario("3 server restart", fault_rows, admin_kw(pc)) as sc:
        dials = Dials()
        pool = pgwire.create_pool(
            min_size=MIN, max_size=MAX, connect=dials, timeout=5,
            **sc.kw(pc, host="tcp", ssl="disable"))
        dials.pool = pool
        async with pool:
            load = PoolLoad(pool, 6, acquire_timeout=AT, query_bound=10,
                            max_size=MAX).start()
            try:
                for rnd, mode in enumerate(("fast", "immediate", "fast",
                                            "immediate")):
                    load.fault = rnd
                    why = []
                    ok0 = load.counts["query_ok"]
                    await poll(lambda: load.counts["query_ok"] >= ok0 + 20,
                               15, "load running before the restart")
                    n_bad = len(load.violations)
                    # the load runs while the server shuts down
                    t_down = time.monotonic()
                    await asyncio.to_thread(pc.stop, mode)
                    await load.pause()
                    # acquire while the server is down: a connect-class
                    # error, inside the acquire timeout
                    probes = await asyncio.gather(*(
                        outcome(pool.acquire(timeout=AT), AT + HANG_SLACK)
                        for _ in range(3 * MAX)))
                    hung = False
                    max_dt = 0.0
                    for res, dt, h in probes:
                        hung |= h
                        max_dt = max(max_dt, dt)
                        if not isinstance(res, BaseException):
                            await pool.release(res)
                            why.append("acquired while down")
                            continue
                        failed_acquires += 1
                        if isinstance(res, TimeoutError) or \
                                not isinstance(res, CONNECT_ERRORS) or \
                                dt > AT:
                            why.append(f"down: {res!r} after {dt:.3f}s")
                    # the refill retries with backoff (and jitter)
                    await poll(lambda: len(dials.refill_gaps(t_down)) >= 3,
                               15, "refill retrying")
                    gaps = dials.refill_gaps(t_down)
                    gaps_seen.append([round(g, 3) for g in gaps])
                    if min(gaps) < 0.04 or max(gaps) > 5.0 + SLACK:
                        why.append(f"backoff gaps {gaps}")
                    # back up: the pool returns to min_size by itself
                    await asyncio.to_thread(pc.start)
                    t_up = time.monotonic()
                    downtime.append(t_up - t_down)
                    await poll(lambda: pool_healthy(pool, MIN), 10,
                               "pool back to min_size")
                    recovery.append(time.monotonic() - t_up)

                    async def counted():
                        return await app_backends(admin_kw(pc), sc.app) == \
                            pool.get_size()
                    await poll(counted, 5, "backends == pool size")
                    load.resume()
                    if dials.peak > MAX:
                        why.append(f"peak dials {dials.peak} > {MAX}")
                    why += [v for _, v in load.violations[n_bad:]]
                    sc.record(not why, max_dt, hang=hung,
                              why=f"{mode} #{rnd}: {why}")
                ok0 = load.counts["query_ok"]
                await poll(lambda: load.counts["query_ok"] >= ok0 + 20, 15,
                           "load running after the last restart")
            finally:
                await load.stop(AT + 15)
        # jitter: un-jittered doubling would give 0.1, 0.2, 0.4... s
        long_gaps = [g for run in gaps_seen for g in run if g >= 0.15]
        jittered = any(not _deterministic(g) for g in long_gaps)
        sc.extra.update(
            restarts=len(recovery), modes="fast,immediate x2",
            failed_acquires_while_down=failed_acquires,
            peak_concurrent_dials=dials.peak, max_size=MAX,
            recovery_p50_ms=round(_pct(recovery, 0.5) * 1000),
            recovery_max_ms=round(max(recovery) * 1000),
            downtime_max_ms=round(max(downtime) * 1000),
            refill_gaps_s=gaps_seen, backoff_jittered=jittered,
            load=dict(load.counts), errors=dict(load.errors),
            error_samples=load.samples,
            load_violations=load.violations[:5])
        assert not load.violations, load.violations[:10]
        assert jittered or not long_gaps, gaps_seen


# --------------------------------------------------------------------------
# 4. Silent partition (frozen proxy) mid-query and on an idle connection
# --------------------------------------------------------------------------

async def test_frozen_peer_times_out(cluster, fault_rows):
    """Scenario 4 (tests/README.md): A frozen link: command_timeout fires on
    time and close(timeout=) returns within its bound."""
    T = 0.4
    async with asyncio.timeout(60), \
            Scenario("4 frozen peer", fault_rows, admin_kw(cluster)) as sc, \
            FaultProxy((cluster.tcp_host, cluster.port)) as px:
        for i in range(6):
            kw = sc.kw(cluster, host="127.0.0.1", port=px.port,
                       ssl="disable")
            c = await pgwire.connect(**kw, command_timeout=T)
            try:
                assert await c.fetchval("SELECT 1") == 1
                if i % 2 == 0:
                    # the query reaches the server, its answer never comes
                    px.add_trigger(S2C, b"T", mode="freeze")
                    q = "SELECT 41 + 1"
                else:
                    px.freeze()          # frozen while idle
                    q = "SELECT 1"
                res, dt, hung = await outcome(c.fetchval(q), 5)
                ok = isinstance(res, asyncio.TimeoutError) and \
                    T * 0.9 <= dt <= T * 1.1 + 0.25
                why = f"query: {res!r} after {dt:.3f}s"
                # close() is bounded too, and the connection is then gone
                res2, dt2, hung2 = await outcome(c.close(timeout=0.5), 3)
                ok = ok and dt2 <= 0.5 + 0.5 and c.is_closed()
                sc.record(ok, dt, hang=hung or hung2,
                          why=f"{why}; close: {res2!r} after {dt2:.3f}s")
            finally:
                c.terminate()
                px.clear_triggers()
                px.thaw()
                px.reset_all()
        sc.extra["note"] = ("no tcp_user_timeout option: idle detection "
                            "untested")


# --------------------------------------------------------------------------
# 5. Hung backend (SIGSTOP, later SIGCONT)
# --------------------------------------------------------------------------

async def test_stopped_backend_times_out(cluster, fault_rows):
    """Scenario 5 (tests/README.md): A SIGSTOPped backend: queries time out,
    and no result or cancel reaches another query."""
    T = 0.3
    cross = 0
    async with asyncio.timeout(60), \
            Scenario("5 SIGSTOP backend", fault_rows,
                     admin_kw(cluster)) as sc:
        other = await pgwire.connect(**sc.kw(cluster))
        try:
            for i in range(5):
                c = await pgwire.connect(**sc.kw(cluster), command_timeout=T)
                pid = c.get_server_pid()
                stopped = True
                os.kill(pid, signal.SIGSTOP)
                try:
                    res, dt, hung = await outcome(
                        c.fetchval("SELECT 1000 + $1::int", i), 5)
                    ok = isinstance(res, asyncio.TimeoutError) and \
                        dt <= T * 1.1 + 0.25
                    why = f"timeout: {res!r} after {dt:.3f}s"
                    nxt = asyncio.ensure_future(
                        c.fetchval("SELECT 2000 + $1::int", i, timeout=20))
                    if i == 0:
                        # still stopped: the cancel cannot act, so after
                        # the grace period the socket is aborted
                        res2, dt2, hung2 = await outcome(nxt, 10)
                        ok = ok and isinstance(res2, exc.InterfaceError) \
                            and c.is_closed()
                    else:
                        os.kill(pid, signal.SIGCONT)
                        stopped = False
                        res2, dt2, hung2 = await outcome(nxt, 10)
                        ok = ok and (res2 == 2000 + i or
                                     isinstance(res2, exc.InterfaceError))
                    if res2 == 1000 + i or isinstance(
                            res2, exc.QueryCanceledError):
                        cross += 1
                        ok = False
                    assert await other.fetchval("SELECT $1::int", i) == i
                    sc.record(ok, dt, hang=hung or hung2,
                              why=f"{why}; next: {res2!r} after {dt2:.3f}s")
                finally:
                    if stopped:
                        os.kill(pid, signal.SIGCONT)
                    c.terminate()
        finally:
            await other.close()
        sc.extra["cross_query_results"] = cross
        assert cross == 0


# --------------------------------------------------------------------------
# 6. Slow or fragmented link: byte-identical to psql
# --------------------------------------------------------------------------

BIG_ROWS = 100_000      # ~10 MB of COPY text
BIG_QUERY = (f"SELECT i, md5(i::text) || repeat('x', 64) "
             f"FROM generate_series(1, {BIG_ROWS}) i")


def _sha(data):
    return hashlib.sha256(data).hexdigest()


async def test_slow_fragmented_link_byte_identical(cluster, fault_rows):
    """Scenario 6 (tests/README.md): Delays, fragmentation and stalls on a 10
    MB result: COPY OUT, fetch() and COPY IN stay byte-identical."""
    expected = cluster.psql(f"COPY ({BIG_QUERY}) TO STDOUT") + "\n"
    expected = expected.encode()
    assert len(expected) > 9_000_000
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    table = "fault6_" + uuid.uuid4().hex[:10]
    async with asyncio.timeout(80), \
            Scenario("6 slow/fragmented link", fault_rows,
                     admin_kw(cluster)) as sc, \
            FaultProxy((cluster.tcp_host, cluster.port)) as px:
        kw = sc.kw(cluster, host="127.0.0.1", port=px.port, ssl="disable")
        direct = await pgwire.connect(**admin_kw(cluster))
        c = await pgwire.connect(**kw)
        try:
            await direct.execute(f"CREATE TABLE {table} (i int, s text)")
            px.set_mode("fragment", (1, 4096))
            px.add_trigger(S2C, b"d", nth=5000, mode="stall", arg=300)
            # COPY OUT, 10 MB, random fragments and one 300 ms stall
            h = hashlib.sha256()

            async def sink(data):
                h.update(data)
            res, dt, hung = await outcome(
                c.copy_from_query(BIG_QUERY, output=sink), 60)
            sc.record(h.hexdigest() == _sha(expected), hang=hung,
                      why=f"copy out: {res!r}")
            # the same rows through fetch()
            res, dt, hung = await outcome(c.fetch(BIG_QUERY), 60)
            got = b"".join(f"{r[0]}\t{r[1]}\n".encode() for r in res) \
                if isinstance(res, list) else b""
            del res
            sc.record(_sha(got) == _sha(expected), hang=hung,
                      why="fetch mismatch")
            del got
            # COPY IN, 10 MB, client side fragmented, one stall
            px.clear_triggers()
            px.add_trigger(C2S, b"d", nth=50, mode="stall", arg=200)

            async def chunks():
                for k in range(0, len(expected), 65536):
                    yield expected[k:k + 65536]
            res, dt, hung = await outcome(
                c.copy_to_table(table, source=chunks()), 60)
            h = hashlib.sha256()

            async def sink2(data):
                h.update(data)
            await direct.copy_from_query(
                f"SELECT * FROM {table} ORDER BY i", output=sink2)
            sc.record(h.hexdigest() == _sha(expected), hang=hung,
                      why=f"copy in: {res!r}")
            # 1-byte fragments plus 50 ms per message, both ways
            px.clear_triggers()
            px.set_mode("fragment", 1)
            small = "SELECT i, md5(i::text) FROM generate_series(1, 200) i"
            want = await direct.fetch(small)
            res, dt, hung = await outcome(c.fetch(small), 30)
            sc.record(res == want, hang=hung, why="1-byte fetch mismatch")
            px.set_mode("delay", 50)
            for q in range(2):
                res, dt, hung = await outcome(
                    c.fetchval("SELECT $1::int * 3", q), 10)
                sc.record(res == q * 3, hang=hung, why=f"delay: {res!r}")
        finally:
            px.set_mode("pass")
            await c.close(timeout=5)
            await direct.execute(f"DROP TABLE IF EXISTS {table}")
            await direct.close()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sc.extra.update(rss_peak_mb=round(rss1 / 1024),
                        rss_peak_growth_mb=round((rss1 - rss0) / 1024),
                        bytes_through_proxy=len(expected) * 3)


# --------------------------------------------------------------------------
# 7. Cancel or error during COPY FROM / TO
# --------------------------------------------------------------------------

class SourceFailed(Exception):
    pass


async def test_copy_interrupted_leaves_connection_idle(cluster, fault_rows):
    """Scenario 7 (tests/README.md): An interrupted COPY: the error reaches the
    caller and the connection is idle again, no partial rows."""
    table = "fault7_" + uuid.uuid4().hex[:10]
    line = b"".join(b"%d\tsome text\n" % k for k in range(2000))
    unusable = partial = 0
    async with asyncio.timeout(60), \
            Scenario("7 COPY interrupted", fault_rows,
                     admin_kw(cluster)) as sc:
        c = await pgwire.connect(**sc.kw(cluster))
        await c.execute(f"CREATE TABLE {table} (i int, s text)")
        reached = asyncio.Event()

        async def source(fail_at=None, slow=0.0, limit=400):
            for k in range(limit):
                if k == fail_at:
                    raise SourceFailed(k)
                if k == 3:
                    reached.set()
                if slow:
                    await asyncio.sleep(slow)   # a slow producer
                else:
                    await asyncio.sleep(0)
                yield line

        async def check(res, expect, in_tx=False):
            nonlocal unusable, partial
            ok = isinstance(res, expect)
            if in_tx:
                ok = ok and c.is_in_transaction()
                await c.execute("ROLLBACK")
            try:
                n = await asyncio.wait_for(
                    c.fetchval(f"SELECT count(*) FROM {table}"), 10)
            except Exception:
                unusable += 1
                return False
            partial += n != 0
            return ok and n == 0 and not c.is_in_transaction()

        async def cancel_after_reached(coro):
            reached.clear()
            t = asyncio.ensure_future(coro)
            await asyncio.wait_for(reached.wait(), 10)
            for _ in range(random.randint(0, 5)):
                await asyncio.sleep(0)
            t.cancel()
            return (await outcome(t, 10))

        try:
            for k in range(3):
                # the source raises
                res, dt, hung = await outcome(c.copy_to_table(
                    table, source=source(fail_at=5 + k)), 10)
                sc.record(await check(res, SourceFailed), hang=hung,
                          why=f"source raises: {res!r}")
                # task.cancel() at a random point
                res, dt, hung = await cancel_after_reached(
                    c.copy_to_table(table, source=source()))
                sc.record(await check(res, asyncio.CancelledError),
                          hang=hung, why=f"cancel in: {res!r}")
                # statement_timeout on the server
                await c.execute("SET statement_timeout = 100")
                res, dt, hung = await outcome(c.copy_to_table(
                    table, source=source(slow=0.02, limit=100)), 10)
                await c.execute("RESET statement_timeout")
                sc.record(await check(res, exc.QueryCanceledError),
                          hang=hung, why=f"statement_timeout: {res!r}")
                # inside a transaction: INERROR, then usable after ROLLBACK
                await c.execute("BEGIN")
                res, dt, hung = await outcome(c.copy_to_table(
                    table, source=source(fail_at=2)), 10)
                sc.record(await check(res, SourceFailed, in_tx=True),
                          hang=hung, why=f"in tx: {res!r}")
                # COPY OUT: the writer raises / the task is cancelled
                seen = 0

                async def writer(data):
                    nonlocal seen
                    seen += 1
                    if seen == 3:
                        reached.set()
                    if seen == 2 + k:
                        raise SourceFailed(seen)
                res, dt, hung = await outcome(c.copy_from_query(
                    BIG_QUERY, output=writer), 20)
                sc.record(await check(res, SourceFailed), hang=hung,
                          why=f"writer raises: {res!r}")
                seen = -10**9

                async def slow_writer(data):
                    reached.set()
                    await asyncio.sleep(0)
                res, dt, hung = await cancel_after_reached(
                    c.copy_from_query(BIG_QUERY, output=slow_writer))
                sc.record(await check(res, asyncio.CancelledError),
                          hang=hung, why=f"cancel out: {res!r}")
        finally:
            if not c.is_closed():
                await c.execute(f"DROP TABLE IF EXISTS {table}")
            await c.close(timeout=5)
        sc.extra.update(unusable_connections=unusable, partial_rows=partial)


async def test_executemany_interrupted_persists_nothing(cluster, fault_rows):
    """Scenario 7b (tests/README.md).

    executemany streams its batch (issue 12, item 13): interrupted at a
    random row after chunks went out -- the generator raises, a value does
    not encode, the task is cancelled, the timeout expires, the backend is
    terminated -- no row ever persists, and the connection is usable
    (closed after the termination), in and out of a transaction."""
    table = "fault7b_" + uuid.uuid4().hex[:10]
    insert = f"INSERT INTO {table} VALUES ($1, $2)"
    unusable = partial = 0
    reached = asyncio.Event()

    def rows(fail_at=None, bad_at=None, limit=400_000):
        for k in range(limit):
            if k == fail_at:
                raise SourceFailed(k)
            if k == 20_000:
                reached.set()
            yield (k if k != bad_at else "bad", "some text")

    async with asyncio.timeout(120), \
            Scenario("7b executemany interrupted", fault_rows,
                     admin_kw(cluster)) as sc:
        admin = await pgwire.connect(**admin_kw(cluster))
        c = await pgwire.connect(**sc.kw(cluster))
        await admin.execute(f"CREATE TABLE {table} (i int, s text)")

        async def check(res, expect, in_tx=False):
            nonlocal unusable, partial, c
            ok = isinstance(res, expect)
            if c.is_closed():
                # only a terminated backend may close it
                ok = ok and isinstance(res, SESSION_GONE)
                c = await pgwire.connect(**sc.kw(cluster))
            elif in_tx:
                ok = ok and c.is_in_transaction()
                try:
                    n = await asyncio.wait_for(
                        c.fetchval(f"SELECT count(*) FROM {table}"), 10)
                    partial += n != 0
                    ok = ok and n == 0
                    await c.execute("ROLLBACK")
                except Exception:
                    unusable += 1
                    return False
            n = await admin.fetchval(f"SELECT count(*) FROM {table}")
            partial += n != 0
            try:
                one = await asyncio.wait_for(c.fetchval("SELECT 1"), 10)
            except Exception:
                unusable += 1
                return False
            return ok and n == 0 and one == 1 and not c.is_in_transaction()

        async def interrupt(coro, how):
            reached.clear()
            t = asyncio.ensure_future(coro)
            await asyncio.wait_for(reached.wait(), 20)
            for _ in range(random.randint(0, 50)):
                await asyncio.sleep(0)
            if how == "cancel":
                t.cancel()
            else:
                await admin.fetchval("SELECT pg_terminate_backend($1)",
                                     c.get_server_pid())
            return await outcome(t, 20)

        try:
            for k in range(3):
                at = random.randint(30_000, 200_000)
                for in_tx in (False, True):
                    if in_tx:
                        await c.execute("BEGIN")
                    res, dt, hung = await outcome(
                        c.executemany(insert, rows(fail_at=at)), 20)
                    sc.record(await check(res, SourceFailed, in_tx),
                              hang=hung, why=f"source raises: {res!r}")
                    if in_tx:
                        await c.execute("BEGIN")
                    res, dt, hung = await outcome(
                        c.executemany(insert, rows(bad_at=at)), 20)
                    sc.record(await check(res, exc.DataError, in_tx),
                              hang=hung, why=f"bad value: {res!r}")
                res, dt, hung = await interrupt(
                    c.executemany(insert, rows()), "cancel")
                sc.record(await check(res, asyncio.CancelledError),
                          hang=hung, why=f"cancel: {res!r}")
                res, dt, hung = await outcome(c.executemany(
                    insert, rows(), timeout=random.uniform(0.05, 0.4)), 20)
                sc.record(await check(res, asyncio.TimeoutError),
                          hang=hung, why=f"timeout: {res!r}")
                res, dt, hung = await interrupt(
                    c.executemany(insert, rows()), "terminate")
                sc.record(await check(res, SESSION_GONE),
                          hang=hung, why=f"terminated: {res!r}")
        finally:
            await admin.execute(f"DROP TABLE IF EXISTS {table}")
            await admin.close(timeout=5)
            await c.close(timeout=5)
        sc.extra.update(unusable_connections=unusable, partial_rows=partial)


# --------------------------------------------------------------------------
# 8. Timeout / cancel race
# --------------------------------------------------------------------------

async def test_timeout_cancel_race_no_spurious_cancel(cluster, fault_rows):
    """Scenario 8 (tests/README.md): Timeouts and task.cancel() at random
    offsets: no hang, no spurious QueryCanceledError afterwards."""
    spurious = broken = interrupted = 0
    iterations = 0
    N, BUDGET = 2000, 90        # iterations; seconds for all of them
    async with asyncio.timeout(BUDGET + 30), \
            Scenario("8 timeout/cancel race", fault_rows,
                     admin_kw(cluster)) as sc:
        c = await pgwire.connect(**sc.kw(cluster))
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + BUDGET
        t0 = time.monotonic()
        try:
            for i in range(N):
                assert time.monotonic() < deadline, \
                    f"{iterations} iterations in {BUDGET}s"
                iterations += 1
                if i % 2 == 0:
                    res, dt, hung = await outcome(c.fetchval(
                        "SELECT pg_sleep(0.001)",
                        timeout=random.uniform(0.0002, 0.004)), 10)
                else:
                    t = asyncio.ensure_future(
                        c.fetchval("SELECT pg_sleep(0.001)"))
                    loop.call_later(random.uniform(0, 0.004), t.cancel)
                    res, dt, hung = await outcome(t, 10)
                ok = not hung
                interrupted += isinstance(
                    res, (asyncio.TimeoutError, asyncio.CancelledError))
                res2, dt2, hung2 = await outcome(c.fetchval("SELECT 1"), 10)
                if isinstance(res2, exc.QueryCanceledError):
                    spurious += 1
                    ok = False
                elif res2 != 1:
                    broken += 1
                    ok = False
                sc.record(ok, hang=hung or hung2,
                          why=f"{res!r} then {res2!r}")
                if c.is_closed():
                    c = await pgwire.connect(**sc.kw(cluster))
        finally:
            await c.close(timeout=5)
        sc.extra.update(iterations=iterations, interrupted=interrupted,
                        spurious_cancels=spurious,
                        broken_connections=broken,
                        seconds=round(time.monotonic() - t0, 1))


# --------------------------------------------------------------------------
# 9. COMMIT response lost
# --------------------------------------------------------------------------

async def test_commit_response_lost_is_outcome_unknown(cluster, fault_rows):
    """Scenario 9 (tests/README.md): The link resets around COMMIT:
    TransactionOutcomeUnknownError, never success, the row committed at most
    once."""
    table = "fault9_" + uuid.uuid4().hex[:10]
    false_success = dups = 0
    outcomes = {"A": [], "B": []}
    async with asyncio.timeout(60), \
            Scenario("9 COMMIT response lost", fault_rows,
                     admin_kw(cluster)) as sc, \
            FaultProxy((cluster.tcp_host, cluster.port)) as px:
        admin = await pgwire.connect(**admin_kw(cluster))
        await admin.execute(f"CREATE TABLE {table} (id int)")
        try:
            for k in range(10):
                case = "AB"[k % 2]
                c = await pgwire.connect(**sc.kw(
                    cluster, host="127.0.0.1", port=px.port, ssl="disable"))
                try:
                    if case == "A":   # COMMIT done, its answer lost
                        px.add_trigger(S2C, b"C", match=b"COMMIT",
                                       mode="rst")
                    else:             # COMMIT never reaches the server
                        px.add_trigger(C2S, b"Q", match=b"COMMIT",
                                       mode="rst")

                    async def txn():
                        async with c.transaction():
                            await c.execute(
                                f"INSERT INTO {table} VALUES ($1)", k)
                    res, dt, hung = await outcome(txn(), 10)
                    false_success += res is None
                    n = await admin.fetchval(
                        f"SELECT count(*) FROM {table} WHERE id = $1", k)
                    dups += n > 1
                    outcomes[case].append(n)
                    want = 1 if case == "A" else 0
                    ok = isinstance(res, TransactionOutcomeUnknownError) \
                        and n == want and c.is_closed()
                    sc.record(ok, dt, hang=hung,
                              why=f"{case}: {res!r}, rows={n}")
                finally:
                    c.terminate()
                    px.clear_triggers()
        finally:
            await admin.execute(f"DROP TABLE IF EXISTS {table}")
            await admin.close()
        sc.extra.update(false_successes=false_success, duplicates=dups,
                        outcome_A_committed=sum(outcomes["A"]),
                        outcome_B_committed=sum(outcomes["B"]))


# --------------------------------------------------------------------------
# 11. Oversized outbound (live)
# --------------------------------------------------------------------------

async def test_oversized_parameter_refused(cluster, fault_rows):
    """Scenario 11 (tests/README.md): A parameter that cannot be framed is
    refused before sending; one over the server's limit fails cleanly."""
    async with asyncio.timeout(80), \
            Scenario("11 oversized outbound", fault_rows,
                     admin_kw(cluster)) as sc, \
            FaultProxy((cluster.tcp_host, cluster.port)) as px:
        # 2**31 bytes cannot be framed: refused before any byte is sent
        c = await pgwire.connect(**sc.kw(
            cluster, host="127.0.0.1", port=px.port, ssl="disable"))
        try:
            # prepared (Parse/Describe sent) before the fault
            assert await c.fetchval("SELECT length($1::bytea)", b"ab") == 2
            link = px.links[0]
            sent = link.bytes[C2S]
            big = bytes(2**31)
            res, dt, hung = await outcome(
                c.fetchval("SELECT length($1::bytea)", big), 60)
            del big
            # (dt: the error message once rendered repr() of all 2 GiB)
            ok = isinstance(res, exc.DataError) and dt < 2 and \
                len(str(res)) < 300 and \
                link.bytes[C2S] == sent and not c.is_closed()
            ok = ok and await c.fetchval("SELECT 2") == 2
            sc.record(ok, hang=hung, why=f"2**31: {res!r}")
        finally:
            await c.close(timeout=5)
        # 1 GiB + 1 fits the frame but not the server's limit: an error,
        # then the connection is closed cleanly (or still usable)
        c = await pgwire.connect(**sc.kw(cluster))
        try:
            big = bytes(2**30 + 1)
            res, dt, hung = await outcome(
                c.fetchval("SELECT length($1::bytea)", big), 60)
            del big
            ok = isinstance(res, Exception)
            if c.is_closed():
                r2, _, h2 = await outcome(c.fetchval("SELECT 1"), 5)
                ok = ok and isinstance(r2, exc.InterfaceError) and not h2
            else:
                ok = ok and await c.fetchval("SELECT 1") == 1
            sc.record(ok, hang=hung, why=f"1 GiB + 1: {res!r}")
            sc.extra["one_gib_error"] = type(res).__name__
        finally:
            c.terminate()


async def test_arg_error_repr_is_bounded(conn):
    """Scenario 11 (tests/README.md).

    Regression: the DataError for a bad argument quoted repr() of the
    whole value before cutting it to 80 characters (2 GiB of bytes: 27 s
    and 8 GiB); now only the head of a long str/bytes is rendered."""
    import tracemalloc
    for value in ("x" * 20_000_000, b"\x01" * 20_000_000,
                  bytearray(20_000_000)):
        tracemalloc.start()
        try:
            with pytest.raises(exc.DataError) as ei:
                await conn.fetchval("SELECT $1::int", value)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 5_000_000, (type(value), peak)
        assert len(str(ei.value)) < 300
        assert await conn.fetchval("SELECT 1") == 1


# --------------------------------------------------------------------------
# 13. Multi-host and failover (primary + streaming standby pairs)
# --------------------------------------------------------------------------

def _sync_pair():
    """A pair whose primary waits for the standby's flush at each commit
    (synchronous_commit = on, synchronous_standby_names = '*', set once
    the standby is up: the helper's own setup commits too); the standby,
    once promoted, waits for nobody."""
    primary = mh.TempCluster(settings={"synchronous_commit": "on"}).start()
    try:
        standby = primary.make_standby()
        primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'",
                     database="postgres")
        primary.reload()
    except BaseException:
        primary.cleanup()
        raise
    return types.SimpleNamespace(primary=primary, standby=standby)


FAILOVER_TABLE = "fault13"


async def _failover(sc, pair, ids, *, sync):
    """Writers on a read-write pool over (standby, primary); kill the
    primary (-m immediate) under them and promote the standby.  ->
    (seconds from the kill to the first write acknowledged by the new
    primary, the same from the start of the promotion, acknowledged
    writes lost, writes acknowledged by the old primary, write errors by
    class, why-not-ok list)."""
    p, s = pair.primary, pair.standby
    why = []
    dsn = mh.multi_dsn(s, p, target_session_attrs="read-write",
                       connect_timeout=2, application_name=sc.app)
    acked = []              # (id, port, monotonic time)
    errors = collections.Counter()
    stop = False
    insert = (f"INSERT INTO {FAILOVER_TABLE} VALUES ($1) "
              "RETURNING current_setting('port')::int")

    async def writer(pool):
        n = 0
        while not stop and n < 100_000:
            n += 1
            i = next(ids)
            t0 = time.monotonic()
            try:
                port = await pool.fetchval(insert, i, timeout=5)
            except TimeoutError:
                errors["TimeoutError"] += 1
                if time.monotonic() - t0 > 5 + SLACK:
                    why.append("write over its timeout")
            except CONNECT_ERRORS as e:
                errors[type(e).__name__] += 1
            else:
                acked.append((i, port, time.monotonic()))
                continue
            await asyncio.sleep(0.02)   # retry pacing

    def on(port, since=0.0):
        return sum(1 for _, pt, t in acked if pt == port and t >= since)

    async with pgwire.create_pool(dsn, min_size=2, max_size=4) as pool:
        writers = [asyncio.ensure_future(writer(pool)) for _ in range(4)]
        try:
            await poll(lambda: on(p.port) >= 200, 30, "writes on primary")
            t_kill = time.monotonic()
            await asyncio.to_thread(p.stop, "immediate")
            t_promoted = time.monotonic()     # (promote starts)
            await asyncio.to_thread(s.promote)
            await poll(lambda: on(s.port) >= 1, 30,
                       "a write on the new primary")
            await poll(lambda: on(s.port) >= 50, 30,
                       "writes on the new primary")
        finally:
            stop = True
            await asyncio.wait(writers, timeout=15)
        for w in writers:
            if not w.done():
                why.append("writer did not stop")
                w.cancel()
            elif w.exception() is not None:
                why.append(f"writer: {w.exception()!r}")
        first = min(t for _, pt, t in acked if pt == s.port)
        old = [i for i, pt, _ in acked if pt == p.port]
        if any(pt not in (p.port, s.port) for _, pt, _ in acked):
            why.append("a write acknowledged by another server")
        present = await pool.fetchval(
            f"SELECT count(*) FROM {FAILOVER_TABLE} WHERE id = ANY($1)",
            old)
        after = {await pool.fetchval("SELECT current_setting('port')::int")
                 for _ in range(5)}
        if after != {s.port}:
            why.append(f"pool not on the new primary: {after}")
    lost = len(old) - present
    if sync and lost:
        why.append(f"{lost} acknowledged writes lost under sync "
                   "replication")
    return (first - t_kill, first - t_promoted, lost, len(old),
            dict(errors), why)


async def test_multihost_failover(cluster_module, fault_rows):
    """Scenario 13 (tests/README.md).

    §4 pair (tests/test_multihost.py's helpers): each
    target_session_attrs in both host orders; a first host that refuses,
    is frozen (the per-host connect_timeout moves on) or answers 57P03;
    then four failovers under a read-write pool (async standby twice,
    async with synchronous_commit=off once, synchronous standby once):
    time to the first write on the new primary and acknowledged writes
    lost (reported; asserted 0 only for the synchronous standby)."""
    if os.environ.get(cluster_module.DSN_ENV):
        pytest.skip("needs temporary clusters")
    nodes = []              # every TempCluster made, for cleanup
    ttfw, ttfw_promote = [], []
    kinds = ("async", "async_commit_off", "sync")
    lost = {k: [] for k in kinds}
    acked_before = {k: [] for k in kinds}
    write_errors = collections.Counter()
    per_host = {}
    try:
        async with asyncio.timeout(240), \
                Scenario("13 multi-host/failover", fault_rows,
                         {}) as sc:    # admin_kw: set below
            # synchronous_commit = on (PostgreSQL's default; the helper
            # turns it off for speed): a write is acknowledged once on the
            # primary's disk, the standby follows asynchronously
            pair = await asyncio.to_thread(
                mh._make_pair, settings={"synchronous_commit": "on"})
            nodes += [pair.primary, pair.standby]
            p, s = pair.primary, pair.standby
            sc.admin_kw = p.connect_kwargs()

            async def reached(*hosts, **extra):
                extra.setdefault("server_settings",
                                 {"application_name": sc.app})
                return await outcome(
                    mh.reached(**mh.kw(*hosts, **extra)), 20)

            # each target_session_attrs, both orders of the pair
            for order, names in mh.ORDERS.items():
                hosts = [getattr(pair, n) for n in names]
                for attr in mh.ATTRS:
                    want = hosts[0] if mh.EXPECTED[attr] is None else \
                        getattr(pair, mh.EXPECTED[attr])
                    port, dt, hung = await reached(
                        *hosts, target_session_attrs=attr)
                    sc.record(port == want.port, hang=hung,
                              why=f"{attr} {order}: {port!r}")
            # first host refused: the next one, at once
            port, dt, hung = await reached(mh.closed_port(), p)
            per_host["refused_ms"] = round(dt * 1000, 1)
            sc.record(port == p.port and dt < 1, dt, hang=hung,
                      why=f"refused first: {port!r} after {dt:.3f}s")
            # first host frozen (accepts, never answers): the per-attempt
            # connect_timeout moves on
            async with FaultProxy((p.tcp_host, p.port)) as px:
                px.freeze()
                for attr, want in (("any", s), ("read-write", p)):
                    # (2 s: libpq's minimum, which pgwire keeps)
                    dsn = mh.multi_dsn(px.port, s, p, connect_timeout=2,
                                       sslmode="disable",
                                       target_session_attrs=attr,
                                       application_name=sc.app)
                    port, dt, hung = await outcome(mh.reached(dsn=dsn), 20)
                    per_host[f"frozen_{attr}_ms"] = round(dt * 1000, 1)
                    sc.record(port == want.port and 2.0 <= dt <= 3.5, dt,
                              hang=hung, why=f"frozen first, {attr}: "
                              f"{port!r} after {dt:.3f}s")
            # first host answers 57P03 (standby with hot_standby = off)
            cold = await asyncio.to_thread(p.make_standby,
                                           settings={"hot_standby": False})
            nodes.append(cold)
            port, dt, hung = await reached(cold, p)
            per_host["cannot_connect_now_ms"] = round(dt * 1000, 1)
            sc.record(port == p.port and dt < 2, dt, hang=hung,
                      why=f"57P03 first: {port!r} after {dt:.3f}s")
            res, dt, hung = await reached(cold)
            sc.record(isinstance(res, exc.CannotConnectNowError), dt,
                      hang=hung, why=f"57P03 alone: {res!r}")
            await asyncio.to_thread(cold.cleanup)

            # failovers: kill the primary under a read-write pool, promote
            ids = iter(range(1, 10**9))
            p.psql(f"CREATE TABLE {FAILOVER_TABLE} (id int PRIMARY KEY)")
            rounds = [("async", pair), ("async", None),
                      ("async_commit_off", None), ("sync", None)]
            for kind, rpair in rounds:
                if kind == "sync":
                    rpair = await asyncio.to_thread(_sync_pair)
                    nodes += [rpair.primary, rpair.standby]
                    rpair.primary.psql(
                        f"CREATE TABLE {FAILOVER_TABLE} "
                        "(id int PRIMARY KEY)")
                elif rpair is None:
                    # the promoted node is the primary now; a new standby
                    # of it makes the next pair
                    new = await asyncio.to_thread(pair.standby.make_standby)
                    nodes.append(new)
                    rpair = types.SimpleNamespace(primary=pair.standby,
                                                  standby=new)
                    if kind == "async_commit_off":
                        # acknowledged before the primary's own WAL flush
                        rpair.primary.psql(
                            "ALTER SYSTEM SET synchronous_commit = off",
                            database="postgres")
                        await asyncio.to_thread(rpair.primary.reload)
                pair = rpair
                sc.admin_kw = pair.standby.connect_kwargs()
                t, tp, n_lost, n_old, errs, why = await _failover(
                    sc, pair, ids, sync=kind == "sync")
                ttfw.append(t)
                ttfw_promote.append(tp)
                lost[kind].append(n_lost)
                acked_before[kind].append(n_old)
                write_errors.update(errs)
                sc.record(not why and t < 30, t,
                          why=f"failover {kind}: {why}")
            sc.admin_kw = pair.standby.connect_kwargs()
            sc.extra.update(
                failovers=len(ttfw),
                time_to_first_write_p50_ms=round(_pct(ttfw, 0.5) * 1000),
                time_to_first_write_max_ms=round(max(ttfw) * 1000),
                from_promote_p50_ms=round(_pct(ttfw_promote, 0.5) * 1000),
                from_promote_max_ms=round(max(ttfw_promote) * 1000),
                replication="async: async standby, synchronous_commit=on; "
                            "async_commit_off: the same with "
                            "synchronous_commit=off; sync: "
                            "synchronous_standby_names='*'",
                acked_writes_lost=lost,
                acked_before_kill=acked_before,
                write_errors=dict(write_errors), **per_host)
    finally:
        for node in reversed(nodes):
            await asyncio.to_thread(node.cleanup)


# --------------------------------------------------------------------------
# 14. Pool under churn
# --------------------------------------------------------------------------

async def test_pool_churn_under_random_faults(restart_cluster, fault_rows):
    """Scenario 14 (tests/README.md).

    200 tasks on a pool of max 10 (through the fault proxy) while,
    every 200 ms for PGWIRE_CHURN_SECONDS, a random fault of scenarios
    1-5 hits: backend SIGKILL (a crash restart), pg_terminate_backend,
    a frozen link, a SIGSTOPped backend (SIGCONT 0.2-1 s later), a fast
    restart.  Size <= max always, every acquire ends within its bound,
    no warnings; after a last SIGKILL the pool is healthy at min_size
    within 5 s with as many backends as connections."""
    pc = restart_cluster
    MIN, MAX, TASKS, AT, QT = 5, 10, 200, 2.0, 0.5
    rng = random.Random()
    kinds = ("sigkill", "terminate", "freeze", "sigstop", "restart")
    weights = (2, 2, 2, 2, 1)
    injected = collections.Counter()
    skipped = collections.Counter()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(CHURN_SECONDS + 120), \
            Scenario("14 pool churn", fault_rows, admin_kw(pc)) as sc, \
            FaultProxy((pc.tcp_host, pc.port)) as px:
        log = CountingHandler()
        logging.getLogger("pgwire").addHandler(log)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dials = Dials()
            pool = pgwire.create_pool(
                min_size=MIN, max_size=MAX, connect=dials, timeout=AT,
                command_timeout=QT,
                **sc.kw(pc, host="127.0.0.1", port=px.port, ssl="disable"))
            dials.pool = pool
            await pool
            load = PoolLoad(pool, TASKS, acquire_timeout=AT,
                            query_bound=QT + 10, max_size=MAX)
            stopped = {}            # pid -> TimerHandle (SIGCONT)
            frozen = {}             # link -> TimerHandle (thaw)
            restarts = []
            admin = None

            def cont(pid):
                stopped.pop(pid, None)
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

            def thaw(link):
                frozen.pop(link, None)
                link.set_mode("pass")

            async def terminate(pid):
                nonlocal admin
                if admin is None or admin.is_closed():
                    try:
                        admin = await pgwire.connect(**admin_kw(pc),
                                                     timeout=1)
                    except Exception:
                        admin = None
                        return False
                try:
                    return await admin.fetchval(
                        "SELECT pg_terminate_backend($1)", pid, timeout=1)
                except Exception:
                    return False

            async def inject(kind):
                if restarts and not restarts[-1].done():
                    return False        # the server is being restarted
                pids = [c.get_server_pid() for c in dials.live()]
                pids = [p for p in pids if p not in stopped]
                if kind == "restart":
                    if len(restarts) >= max(1, CHURN_SECONDS // 15):
                        return False
                    restarts.append(asyncio.ensure_future(
                        asyncio.to_thread(pc.restart, "fast")))
                    return True
                if kind == "freeze":
                    links = [ln for ln in px.links
                             if ln.swriter is not None and ln not in frozen
                             and not ln.closed.is_set()]
                    if not links:
                        return False
                    link = rng.choice(links)
                    link.set_mode("freeze")
                    frozen[link] = loop.call_later(rng.uniform(0.2, 1.0),
                                                   thaw, link)
                    return True
                if not pids:
                    return False
                pid = rng.choice(pids)
                try:
                    if kind == "sigkill":
                        os.kill(pid, signal.SIGKILL)
                    elif kind == "sigstop":
                        os.kill(pid, signal.SIGSTOP)
                        stopped[pid] = loop.call_later(
                            rng.uniform(0.2, 1.0), cont, pid)
                    else:
                        return bool(await terminate(pid))
                except ProcessLookupError:
                    return False
                return True

            load.start()
            t_end = time.monotonic() + CHURN_SECONDS
            n = 0
            victims = []
            try:
                try:
                    while time.monotonic() < t_end and \
                            n < CHURN_SECONDS * 10:
                        await asyncio.sleep(0.2)      # the fault schedule
                        load.check_size()
                        kind = rng.choices(kinds, weights)[0]
                        if await inject(kind):
                            injected[kind] += 1
                            load.fault = n
                            n += 1
                        else:
                            skipped[kind] += 1
                    # the last blow: a backend SIGKILL crash-restarts the
                    # server and takes every connection of the pool
                    if not (restarts and not restarts[-1].done()):
                        await poll(lambda: dials.live(), 10,
                                   "a connection to kill")
                        victims = dials.live()
                        if await inject("sigkill"):
                            injected["sigkill"] += 1
                            load.fault = n
                            n += 1
                        else:
                            victims = []
                finally:
                    for h in list(stopped.values()) + list(frozen.values()):
                        h.cancel()
                    for pid in list(stopped):
                        cont(pid)
                    for link in list(frozen):
                        thaw(link)
                    if restarts:
                        await asyncio.wait(restarts, timeout=60)
                    if admin is not None:
                        admin.terminate()
                t_stop = time.monotonic()
                for r in restarts:
                    r.result()
                await load.stop(AT + QT + 15)
                # back to a healthy min_size within 5 s of the last fault:
                # the crash restart has closed every connection opened
                # before the kill, the new ones answer
                left = 5 - (time.monotonic() - t_stop)
                try:
                    await poll(lambda: all(c.is_closed() for c in victims),
                               max(left, 0),
                               "crash restart took every session")
                except AssertionError as e:
                    raise AssertionError(f"{e}; still open: " + "; ".join(
                        describe_open(c, px) for c in victims
                        if not c.is_closed())) from None
                left = 5 - (time.monotonic() - t_stop)
                await poll(lambda: pool_healthy(pool, MIN), max(left, 0),
                           "pool healthy at min_size")
                recovery = time.monotonic() - t_stop

                async def counted():
                    return await app_backends(admin_kw(pc), sc.app) == \
                        pool.get_size()
                await poll(counted, 5, "backends == pool size")
                size_after = pool.get_size()
                await pool.close(timeout=10)
            finally:
                await load.stop(5)
                pool.terminate()
                logging.getLogger("pgwire").removeHandler(log)
            gc.collect()
        bad = {f for f, _ in load.violations}
        for f in range(n):
            sc.record(f not in bad, why=f"fault {f}: " + "; ".join(
                w for g, w in load.violations if g == f)[:300])
        sc.extra.update(
            churn_seconds=CHURN_SECONDS, tasks=TASKS, max_size=MAX,
            faults=dict(injected), not_applicable=dict(skipped),
            peak_size=load.peak_size, peak_concurrent_dials=dials.peak,
            recovery_s=round(recovery, 2), size_after=size_after,
            load=dict(load.counts), errors=dict(load.errors),
            error_samples=load.samples,
            violations=load.violations[:5],
            warnings=[str(w.message)[:100] for w in caught][:5],
            log_records=dict(log.counts))
        assert not load.violations, load.violations[:10]
        assert load.peak_size <= MAX and dials.peak <= MAX
        assert not caught, [str(w.message) for w in caught]


# --------------------------------------------------------------------------
# 15. Server-side limits
# --------------------------------------------------------------------------

async def test_server_limits_raise_their_errors(cluster, private_cluster,
                                                fault_rows):
    """Scenario 15 (tests/README.md): Server-side limits (idle timeouts,
    statement_timeout, max_connections) raise their own errors."""
    classes = {}
    async with asyncio.timeout(60), \
            Scenario("15 server-side limits", fault_rows,
                     admin_kw(cluster)) as sc:
        for setting, expect, in_tx in (
                ("idle_session_timeout", exc.IdleSessionTimeoutError, False),
                ("idle_in_transaction_session_timeout",
                 exc.IdleInTransactionSessionTimeoutError, True)):
            c = await pgwire.connect(**sc.kw(
                cluster, server_settings={setting: "200"}))
            try:
                t0 = time.monotonic()
                if in_tx:
                    await c.execute("BEGIN")
                await poll(c.is_closed, 5, f"{setting} closes")
                dt = time.monotonic() - t0
                res, _, hung = await outcome(c.fetchval("SELECT 1"), 5)
                # asyncpg's contract (issue 13): the connection is closed;
                # the server's FATAL, with its SQLSTATE, is the __cause__
                ok = isinstance(res, exc.InterfaceError) and \
                    str(res) == "connection is closed" and \
                    isinstance(res.__cause__, expect)
                classes[expect.sqlstate] = ok
                sc.record(ok, dt, hang=hung, why=f"{setting}: {res!r}")
            finally:
                c.terminate()
        # statement_timeout: 57014, the connection stays usable
        c = await pgwire.connect(**sc.kw(
            cluster, server_settings={"statement_timeout": "100"}))
        try:
            res, dt, hung = await outcome(c.fetchval("SELECT pg_sleep(5)"),
                                          5)
            ok = isinstance(res, exc.QueryCanceledError) and \
                not c.is_closed() and await c.fetchval("SELECT 1") == 1
            classes["57014"] = ok
            sc.record(ok, dt, hang=hung, why=f"statement_timeout: {res!r}")
        finally:
            await c.close(timeout=5)
        # max_connections reached (private server, max_connections = 8)
        pc = private_cluster
        held = []
        try:
            res = None
            for _ in range(12):
                res, dt, hung = await outcome(
                    pgwire.connect(**pc.connect_kwargs(), timeout=5), 8)
                if not isinstance(res, pgwire.Connection):
                    break
                held.append(res)
            ok = isinstance(res, exc.TooManyConnectionsError) and \
                not hung and dt <= 5 and len(held) <= 8
            ok = ok and all([await h.fetchval("SELECT 1") == 1
                             for h in held])
            classes["53300"] = ok
            sc.record(ok, dt, hang=hung,
                      why=f"max_connections: {res!r} after {len(held)}")
        finally:
            for h in held:
                await h.close(timeout=5)
        sc.extra["classes"] = classes
