"""pytest plugin of the asyncpg-suite runner: one outcome per test.

Loaded with ``-p apgsuite_plugin``; appends one JSON line per test to the
file named by ``APGSUITE_RESULTS`` as soon as the test is over (so a run cut
short by the overall timeout still leaves what it did):

    {"id": nodeid, "outcome": "passed"|"failed"|"skipped",
     "phase": the first phase that failed or skipped, "message": its text,
     "where": the innermost line of the test file in the traceback,
     "failures": every distinct failure (subtests fail separately), each
                 "where: message", at most 10,
     "duration": seconds}

A test counts once: failed if any of setup, call or teardown failed
(including a class-level setUpClass error and a pytest-timeout), skipped if
it was skipped and nothing failed, else passed.
"""

import json
import os
import re

# A frame of the suite's own test files in a native traceback.
_TEST_FRAME = re.compile(
    r'File "[^"]*/tests/(test_\w+\.py)", line (\d+), in (\w+)\n\s*(.*)')

_state = {}


def _message(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    text = str(report.longrepr or "")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _where(report):
    frames = _TEST_FRAME.findall(getattr(report, "longreprtext", "") or "")
    if not frames:
        return ""
    fname, line, func, code = frames[-1]
    return f"{fname}:{line} {func}: {code.strip()}"


def pytest_runtest_logreport(report):
    st = _state.setdefault(report.nodeid, {
        "id": report.nodeid, "outcome": "passed", "phase": None,
        "message": "", "where": "", "failures": [], "duration": 0.0})
    st["duration"] += report.duration
    if report.failed:
        failure = f"{_where(report)}: {_message(report)}"[:500]
        if failure not in st["failures"] and len(st["failures"]) < 10:
            st["failures"].append(failure)
    if report.failed and st["outcome"] != "failed":
        st.update(outcome="failed", phase=report.when,
                  message=_message(report)[:2000], where=_where(report)[:300])
    elif report.skipped and st["outcome"] == "passed":
        st.update(outcome="skipped", phase=report.when,
                  message=_message(report)[:500])
    if report.when == "teardown":
        path = os.environ.get("APGSUITE_RESULTS")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(_state.pop(report.nodeid)) + "\n")


def pytest_collectreport(report):
    # A test module that cannot be imported: record it, so it shows up.
    if report.failed:
        path = os.environ.get("APGSUITE_RESULTS")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({
                    "id": report.nodeid, "outcome": "failed",
                    "phase": "collect", "message": _message(report)[:2000],
                    "where": _where(report)[:300], "duration": 0.0}) + "\n")


def _deliberate_ids():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "deliberate.tsv")
    try:
        with open(path, encoding="utf-8") as f:
            return {ln.split("\t", 1)[0] for ln in f
                    if ln.strip() and not ln.startswith("#")}
    except OSError:
        return set()


def pytest_collection_modifyitems(session, config, items):
    """Run the tests of documented differences last.  Such a test fails by
    design, and a failing asyncpg test can leave state behind for the next
    ones (test_executemany_client_failure_in_transaction leaves its
    transaction open, so the tearDown's DROP TABLE exmany is rolled back and
    every later TestExecuteMany setUp fails): a deliberate difference must
    not hide the result of other tests."""
    deliberate = _deliberate_ids()
    if not deliberate:
        return
    items[:] = ([i for i in items if i.nodeid not in deliberate] +
                [i for i in items if i.nodeid in deliberate])
