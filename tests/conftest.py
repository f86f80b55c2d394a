"""Shared pytest setup: the test server and the event loop choice.

Only ``pgwire.cluster`` (pure Python) is imported here, never the C
extension, so the test server works before the extension is built.

Options:
  --loop=asyncio|uvloop   event loop for every async test and fixture
                          (default: $PGWIRE_TEST_LOOP or asyncio)
Environment:
  PGWIRE_TEST_DSN         use this server instead of starting one; tests that
                          need the per-method auth users or TLS files skip
"""

import asyncio
import importlib.util
import os
import pathlib
import sys

import pytest
import pytest_asyncio.plugin

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Plain `pytest` puts tests/ on sys.path, not the checkout; make an
# uninstalled checkout importable without shadowing an installed pgwire.
if importlib.util.find_spec("pgwire") is None:
    sys.path.insert(0, str(ROOT))


def _load_cluster_module():
    """pgwire.cluster, or the same file loaded on its own when the pgwire
    package cannot be imported (e.g. its __init__ needs an unbuilt C
    extension)."""
    try:
        from pgwire import cluster
        return cluster
    except ImportError:
        path = ROOT / "pgwire" / "cluster.py"
        spec = importlib.util.spec_from_file_location(
            "_pgwire_cluster_standalone", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module


_cluster_mod = _load_cluster_module()

_LOOPS = ("asyncio", "uvloop")
# pytest-asyncio >= 1.5 deprecates overriding `event_loop_policy` in favour
# of the pytest_asyncio_loop_factories hook; older versions only have the
# fixture.
_HAS_LOOP_FACTORY_HOOK = hasattr(
    getattr(pytest_asyncio.plugin, "PytestAsyncioSpecs", None),
    "pytest_asyncio_loop_factories")


def pytest_addoption(parser):
    parser.addoption(
        "--loop", choices=_LOOPS,
        default=os.environ.get("PGWIRE_TEST_LOOP", "asyncio"),
        help="event loop for async tests (default: $PGWIRE_TEST_LOOP or "
             "asyncio)")
    _add_skip_option(parser)


class _UvloopFactories:
    """Registered only under --loop=uvloop (pytest-asyncio >= 1.5)."""

    @pytest.hookimpl
    def pytest_asyncio_loop_factories(self, config, item):
        import uvloop
        return {"uvloop": uvloop.new_event_loop}


def _register_sqlalchemy_dialect():
    """postgresql+pgwire for a checkout that pip has not (re)installed; an
    installed pgwire registers it through its entry point."""
    try:
        from sqlalchemy.dialects import registry
    except ImportError:
        return
    registry.register("postgresql.pgwire", "pgwire.sqlalchemy",
                      "PGDialect_pgwire")


def pytest_configure(config):
    _register_sqlalchemy_dialect()
    if config.getoption("--fail-on-skip"):
        config.pluginmanager.register(_SkipGuard(), "pgwire-skip-guard")
    if config.getoption("--loop") != "uvloop":
        return
    try:
        import uvloop
    except ImportError:
        raise pytest.UsageError("--loop=uvloop needs uvloop "
                                "(pip install uvloop)")
    del uvloop
    if _HAS_LOOP_FACTORY_HOOK:
        config.pluginmanager.register(_UvloopFactories(),
                                      "pgwire-uvloop-factories")


if not _HAS_LOOP_FACTORY_HOOK:
    @pytest.fixture(scope="session")
    def event_loop_policy(request):
        if request.config.getoption("--loop") == "uvloop":
            import uvloop
            return uvloop.EventLoopPolicy()
        return asyncio.DefaultEventLoopPolicy()


def pytest_report_header(config):
    dsn = os.environ.get(_cluster_mod.DSN_ENV)
    server = (f"{_cluster_mod.DSN_ENV}={dsn}" if dsn
              else "temporary cluster (pgwire.cluster.TempCluster)")
    return [f"pgwire: loop={config.getoption('--loop')}, server: {server}"]


def pytest_terminal_summary(terminalreporter):
    """The fault-injection table (tests/test_faults.py fills the rows)."""
    rows = terminalreporter.config.__dict__.get("_pgwire_fault_rows")
    if not rows:
        return
    cols = ("scenario", "injected", "survived", "hangs", "max_detect_ms",
            "leaked_fds", "leaked_backends", "leaked_tasks")
    tr = terminalreporter
    tr.section("fault injection (reliability.md §5)")
    tr.line("{:<28} {:>8} {:>8} {:>5} {:>13} {:>4} {:>8} {:>5}".format(
        "scenario", "injected", "survived", "hangs", "max_detect_ms",
        "fds", "backends", "tasks"))
    for r in rows:
        tr.line("{:<28} {:>8} {:>8} {:>5} {:>13} {:>4} {:>8} {:>5}".format(
            *("-" if r.get(c) is None else r[c] for c in cols)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (item.rep_call, ...), for
    module-level summaries such as the hostile-server scenario line."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_runtest_setup(item):
    if (item.get_closest_marker("tls")
            and os.environ.get(_cluster_mod.DSN_ENV)):
        pytest.skip(f"needs the test server's TLS files; "
                    f"{_cluster_mod.DSN_ENV} is set")


@pytest.fixture(scope="session")
def cluster():
    """The session's server: a TempCluster(ssl=True), or the
    PGWIRE_TEST_DSN server."""
    server = _cluster_mod.get_test_cluster(ssl=True)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def dsn(cluster):
    """Superuser DSN (over the unix socket for the temporary cluster)."""
    return cluster.dsn()


@pytest.fixture(scope="session")
def auth_user(cluster):
    """``auth_user('md5')`` -> (role, password); skips the test when the
    server has no such user (PGWIRE_TEST_DSN mode)."""
    def get(key):
        try:
            return cluster.credentials(key)
        except _cluster_mod.UserNotAvailable as exc:
            pytest.skip(str(exc))
    return get


@pytest.fixture(scope="session")
def cluster_module():
    """The pgwire.cluster module (loaded without the C extension if need
    be)."""
    return _cluster_mod


async def _open_conn(cluster):
    # pgwire is imported lazily: this conftest must not need the C
    # extension at import time
    import pgwire
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def conn(cluster):
    """A pgwire connection to the test server (superuser, unix socket),
    closed after the test."""
    async for c in _open_conn(cluster):
        yield c


@pytest.fixture
async def conn2(cluster):
    """A second connection, for watching or acting on `conn` from
    outside (pg_stat_activity, pg_terminate_backend)."""
    async for c in _open_conn(cluster):
        yield c


# --- skips are failures in CI, outside a reasoned allowlist -------------
#
# A test that skips because something was not installed is a test that did
# not run.  Under --fail-on-skip (scripts/test.sh passes it) every skip
# must match a line of tests/skip-allowlist.txt: "<nodeid glob> | reason".

_ALLOWLIST = ROOT / "tests" / "skip-allowlist.txt"


def _load_skip_allowlist():
    import fnmatch
    pats = []
    for line in _ALLOWLIST.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pat, sep, why = line.partition("|")
        if not sep or not why.strip():
            raise pytest.UsageError(
                f"{_ALLOWLIST}: every entry needs '| reason': {line!r}")
        pats.append(pat.strip())
    return lambda nodeid: any(fnmatch.fnmatchcase(nodeid, p) for p in pats)


def _add_skip_option(parser):
    parser.addoption(
        "--fail-on-skip", action="store_true",
        default=bool(os.environ.get("PGWIRE_FAIL_ON_SKIP")),
        help="fail the run on any skip not listed in "
             "tests/skip-allowlist.txt")


class _SkipGuard:
    def __init__(self):
        self.allowed = _load_skip_allowlist()
        self.bad = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report):
        if report.skipped and not hasattr(report, "wasxfail"):
            if not self.allowed(report.nodeid):
                reason = report.longrepr[2] if isinstance(
                    report.longrepr, tuple) else str(report.longrepr)
                self.bad.append((report.nodeid, reason))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.bad and session.exitstatus in (0, 5):
            session.exitstatus = 1

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter):
        if not self.bad:
            return
        tr = terminalreporter
        tr.section("skips outside tests/skip-allowlist.txt (a failure)",
                   red=True)
        for nodeid, reason in self.bad:
            tr.line(f"{nodeid}: {reason}")
