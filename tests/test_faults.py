"""Fault injection against a real server (reliability.md §5).

Scenarios 1, 2, 4-9, 11 (live part) and 15 of the §5 table; the pool
scenarios (3, 13, 14) live with the pool tests.  Each scenario counts its
injected faults and the ones the driver survived (kept its contract: the
right error class within the bound, the connection closed or usable as
appropriate, no result delivered to the wrong query, nothing reported
committed when it was not), probes for leaked fds, backends and tasks,
and appends one JSON line to $PGWIRE_FAULT_REPORT (default
build/fault-report.jsonl); conftest prints the table at the end.

Every loop is bounded in count and time; waits for a condition poll it
with a deadline; all traffic stays on loopback.
"""

import asyncio
import faulthandler
import gc
import hashlib
import json
import os
import pathlib
import random
import resource
import signal
import time
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire.transaction import TransactionOutcomeUnknownError

from faultproxy import C2S, S2C, FaultProxy

pytestmark = pytest.mark.faults

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPORT = pathlib.Path(os.environ.get("PGWIRE_FAULT_REPORT")
                      or ROOT / "build" / "fault-report.jsonl")

# errors that mean "the connection went away under us"
LOST = (exc.PostgresConnectionError, exc.InterfaceError, ConnectionError)


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _outer_guard():
    """The outer time limit (no pytest-timeout here): dump every stack and
    exit if the module hangs."""
    faulthandler.dump_traceback_later(600, exit=True)
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
    for fd in os.listdir("/proc/self/fd"):
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
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if asyncio.iscoroutine(r):
            r = await r
        if r:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what}")
        await asyncio.sleep(0.01)


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
        fds, backends, tasks = await self._leaks()
        row = {"scenario": self.name, "injected": self.injected,
               "survived": self.survived, "hangs": self.hangs,
               "max_detect_ms": round(max(self.detect_ms), 1)
               if self.detect_ms else None,
               "leaked_fds": fds, "leaked_backends": backends,
               "leaked_tasks": tasks}
        if self.detect_ms:
            row["p50_detect_ms"] = round(_pct(self.detect_ms, 0.5), 1)
        row.update(self.extra)
        if fds:
            now = _fd_targets()
            row["new_fds"] = sorted(f"{k}:{v}" for k, v in now.items()
                                    if self.fd_targets0.get(k) != v)[:10]
        if et is not None:
            row["error"] = f"{et.__name__}: {ev}"[:300]
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        with open(REPORT, "a") as f:
            f.write(json.dumps(row) + "\n")
        self.rows.append(row)
        if et is None:
            assert self.injected > 0, self.name
            assert self.hangs == 0, (self.name, self.failures)
            assert self.survived == self.injected, (self.name, self.failures)
            assert (fds, backends, tasks) == (0, 0, 0), (self.name, row)
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

async def test_01_backend_sigkill(private_cluster, fault_rows):
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

async def test_02_terminate_backend(cluster, fault_rows):
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
                        ok = isinstance(res, exc.AdminShutdownError) and \
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
                        ok = isinstance(res, exc.AdminShutdownError)
                        sc.record(ok, dt, hang=hung, why=f"idle: {res!r}")
                finally:
                    c.terminate()
        finally:
            await admin.close()
        sc.extra.update(user_errors_busy=busy_errors,
                        user_errors_idle_unpooled=idle_errors)


# --------------------------------------------------------------------------
# 4. Silent partition (frozen proxy) mid-query and on an idle connection
# --------------------------------------------------------------------------

async def test_04_frozen_peer(cluster, fault_rows):
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

async def test_05_stopped_backend(cluster, fault_rows):
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


async def test_06_slow_fragmented_link(cluster, fault_rows):
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


async def test_07_copy_interrupted(cluster, fault_rows):
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


# --------------------------------------------------------------------------
# 8. Timeout / cancel race
# --------------------------------------------------------------------------

async def test_08_timeout_cancel_race(cluster, fault_rows):
    spurious = broken = interrupted = 0
    iterations = 0
    async with asyncio.timeout(80), \
            Scenario("8 timeout/cancel race", fault_rows,
                     admin_kw(cluster)) as sc:
        c = await pgwire.connect(**sc.kw(cluster))
        loop = asyncio.get_running_loop()
        try:
            for i in range(300):
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
                        broken_connections=broken)


# --------------------------------------------------------------------------
# 9. COMMIT response lost
# --------------------------------------------------------------------------

async def test_09_commit_response_lost(cluster, fault_rows):
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

async def test_11_oversized_parameter(cluster, fault_rows):
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


async def test_11_arg_error_repr_is_bounded(conn):
    """Regression: the DataError for a bad argument quoted repr() of the
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
# 15. Server-side limits
# --------------------------------------------------------------------------

async def test_15_server_limits(cluster, private_cluster, fault_rows):
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
                ok = isinstance(res, expect)
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
