"""The scripted hostile servers of tests/test_hostile.py (fault scenario
10) against the blocking face: pgwire.sync.connect, and pgwire.dbapi for
the query cases (its execute runs its own prepared-statement path).

The fake servers are test_hostile.py's own (the same scripts, the same
expected errors and closed states); they run on an asyncio loop in a
background thread.  Every call is bounded (timeout=, and each case runs in
a worker thread joined with a bound), so a hang fails the case.
"""

import asyncio
import gc
import json
import threading
import time

import pytest

import pgwire.dbapi
import pgwire.sync
from pgwire import exceptions as exc

import test_hostile as th
from test_faults import REPORT, _fd_count, fault_rows  # noqa: F401
from test_sync_faults import outcome

pytestmark = pytest.mark.faults

QUERY_CASES = th.test_hostile_server.pytestmark[0].args[1] + \
    th.MORE_QUERY_CASES


class LoopThread:
    """An asyncio loop in a background thread: ``run(coro)`` runs a
    coroutine there and returns its result (at most ``bound`` s)."""

    def __init__(self, bound=15.0):
        self.bound = bound
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever,
                                       name="hostile-server", daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            self.bound)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(self.bound)
        if not self.thread.is_alive():
            self.loop.close()


@pytest.fixture(scope="module")
def servers():
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


@pytest.fixture(scope="module", autouse=True)
def hostile_report(request, fault_rows, servers):  # noqa: F811
    """One fault-report line for the module (as test_hostile.py's)."""
    state = {}
    yield state
    gc.collect()
    items = [i for i in request.session.items
             if i.module is request.module]
    passed = sum(1 for i in items
                 if getattr(i, "rep_call", None) is not None
                 and i.rep_call.passed)
    ran = sum(1 for i in items if getattr(i, "rep_call", None) is not None)
    row = {"scenario": "10s hostile server (blocking)", "injected": ran,
           "survived": passed, "hangs": 0, "max_detect_ms": None,
           "leaked_fds": max(0, _fd_count() - state.get("fds0", 0)),
           "leaked_backends": 0, "leaked_tasks": 0}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT, "a") as f:
        f.write(json.dumps(row) + "\n")
    fault_rows.append(row)
    assert ran > 0 and passed == ran and row["leaked_fds"] == 0, row


@pytest.fixture(autouse=True)
def _fd_baseline(hostile_report):
    yield
    if "fds0" not in hostile_report:
        gc.collect()
        hostile_report["fds0"] = _fd_count()


def _served(servers, server, fn):
    """Start ``server`` on the background loop, run ``fn(port)`` in a
    bounded worker thread, stop the server; ``fn``'s outcome."""
    port = servers.run(server.__aenter__())
    try:
        res, dt, hung = outcome(lambda: fn(port), 20)
    finally:
        servers.run(server.__aexit__())
    assert not hung, res
    return res, dt


def run_sync(servers, script, query="SELECT 1"):
    def fn(port):
        conn = pgwire.sync.connect(host="127.0.0.1", port=port, user="u",
                                   database="d", ssl="disable", timeout=5)
        try:
            return conn, conn.fetch(query, timeout=5)
        except BaseException as e:  # noqa: BLE001 - the outcome
            return conn, e
    res, _ = _served(servers, th.FakeServer(script), fn)
    assert isinstance(res, tuple), res      # connect itself succeeded
    return res


def run_dbapi(servers, script, query="SELECT 1"):
    def fn(port):
        conn = pgwire.dbapi.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5,
                                    command_timeout=5, autocommit=True)
        try:
            cur = conn.cursor()
            cur.execute(query)
            return conn, cur.fetchall()
        except BaseException as e:  # noqa: BLE001 - the outcome
            return conn, e
    res, _ = _served(servers, th.FakeServer(script), fn)
    assert isinstance(res, tuple), res
    return res


@pytest.mark.parametrize("name,script,err,closed", QUERY_CASES,
                         ids=[c[0] for c in QUERY_CASES])
def test_sync_hostile_server(servers, name, script, err, closed):
    conn, res = run_sync(servers, script)
    try:
        assert isinstance(res, err), (name, res)
        assert conn.is_closed() is closed, name
    finally:
        conn.terminate()


@pytest.mark.parametrize("name,script,err,closed", QUERY_CASES,
                         ids=[c[0] for c in QUERY_CASES])
def test_dbapi_hostile_server(servers, name, script, err, closed):
    conn, res = run_dbapi(servers, script)
    try:
        assert isinstance(res, err), (name, res)
        assert conn.closed is closed, name
    finally:
        conn.sync_connection.terminate()


def test_sync_notice_with_non_ascii_field_code(servers):
    notices = []
    script = [th.PREPARE_INT, th.msg(b"2") +
              th.msg(b"N", b"SNOTICE\x00C00000\x00Mhello\x00\x80y\x00\x00") +
              th.data_row(b"7") + th.msg(b"C", b"SELECT 1\x00") + th.READY]

    def fn(port):
        conn = pgwire.sync.connect(host="127.0.0.1", port=port, user="u",
                                   database="d", ssl="disable", timeout=5)
        try:
            conn.add_log_listener(lambda c, m: notices.append(m))
            rows = conn.fetch("SELECT 1", timeout=5)
            assert [tuple(r) for r in rows] == [(7,)]
            assert not conn.is_closed()
        finally:
            conn.terminate()
    res, _ = _served(servers, th.FakeServer(script), fn)
    assert res is None, res
    assert [n.message for n in notices] == ["hello"]


def test_sync_bad_array_dimensions(servers):
    arr = th.struct.pack("!iiiii", 1, 0, 23, 2**30, 1) + \
        th.struct.pack("!ii", 4, 7)
    script = [th.PARSE_OK + th.NO_PARAMS + th.row_desc(("a", 1007)) +
              th.READY,
              th.msg(b"2") + th.data_row(arr) +
              th.msg(b"C", b"SELECT 1\x00") + th.READY]
    conn, res = run_sync(servers, script)
    try:
        assert isinstance(res, ValueError), res
        assert not conn.is_closed()
    finally:
        conn.terminate()


def test_sync_declared_1gib_message_is_not_preallocated(servers):
    before = th._rss()
    conn, res = run_sync(servers, [th.PREPARE_INT,
                                   (b"D\x40\x00\x00\x00" + b"x" * 64,
                                    "close")])
    try:
        assert isinstance(res, exc.ConnectionDoesNotExistError), res
        assert conn.is_closed()
        assert th._rss() - before < 256 * 2**20
    finally:
        conn.terminate()


@pytest.mark.parametrize("name,script,sslmode,err", th.STARTUP_CASES,
                         ids=[c[0] for c in th.STARTUP_CASES])
def test_sync_hostile_startup(servers, name, script, sslmode, err):
    """A specific error, fast, and the client closes its socket."""
    server = th.StartupServer(script)

    def fn(port):
        conn = pgwire.sync.connect(host="127.0.0.1", port=port, user="u",
                                   password="pw", database="d", ssl=sslmode,
                                   timeout=5)
        conn.terminate()
        return conn

    port = servers.run(server.__aenter__())
    try:
        t0 = time.monotonic()
        res, dt, hung = outcome(lambda: fn(port), 20)
        assert not hung, res
        assert isinstance(res, err), (name, res)
        with pytest.raises(err, match=th.STARTUP_MATCH[name]):
            raise res
        assert time.monotonic() - t0 < 5, name

        async def gone():
            await asyncio.wait_for(server.client_gone.wait(), 5)
        servers.run(gone())
    finally:
        servers.run(server.__aexit__())


@pytest.mark.parametrize("params", [None, ()], ids=["as written",
                                                    "pyformat"])
def test_dbapi_server_without_standard_conforming_strings(servers, params):
    """Regression: pgwire.dbapi read standard_conforming_strings from the
    server's settings as an attribute, so a server (or pooler) that does
    not report it made every execute() raise AttributeError; it is 'on'
    unless reported otherwise, as for the core's COPY."""
    script = [th.PREPARE_INT, th.msg(b"2") + th.data_row(b"7") +
              th.msg(b"C", b"SELECT 1\x00") + th.READY]

    def fn(port):
        conn = pgwire.dbapi.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5,
                                    command_timeout=5, autocommit=True)
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1", params)
            return cur.fetchall()
        finally:
            conn.sync_connection.terminate()
    res, _ = _served(servers, th.FakeServer(script), fn)
    assert res == [(7,)], res
