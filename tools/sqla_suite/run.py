"""Run SQLAlchemy's own tests against pgwire's dialect and its reference
driver on one throwaway server; print the side-by-side result.

Two pairs, each pgwire's variant against the driver it stands in for:

- ``async``: ``postgresql+pgwire_async`` (the asyncio face) against
  ``postgresql+asyncpg``, allowlist tools/sqla_suite/allowlist.txt;
- ``sync``: ``postgresql+pgwire`` (``create_engine``, on pgwire.dbapi)
  against ``postgresql+psycopg`` (psycopg 3), allowlist
  tools/sqla_suite/allowlist-sync.txt.

Called by scripts/sqlalchemy-suite.sh, which downloads and unpacks the
pinned sdists.  For each SQLAlchemy version and driver: pytest with
SQLAlchemy's plugin (``--dburi``) over the PostgreSQL-relevant test
directories, a JUnit XML per run, then per version and pair: passed /
failed / skipped per driver, and each test that passes with the reference
and fails with pgwire.  Such a test is a regression unless the pair's
allowlist lists it (with its reason); the exit status is 1 if any is not
listed, 2 if a run broke.
"""

import argparse
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from pgwire import cluster  # noqa: E402  (pure Python)

FULL_PATHS = ("test/dialect/postgresql", "test/dialect/test_suite.py",
              "test/sql", "test/orm", "test/engine", "test/ext/asyncio")
# The bounded subset CI runs (about a minute per driver and version): the
# PostgreSQL dialect's tests minus most of the type round trips (one
# multirange kind stays, and the arrays, hstore, JSON, inet, enum
# and bit types), the driver-facing parts of the compliance suite, and
# reconnection.
_CI_TYPES = ("CoreArrayRoundTripTest", "ArrayEnum", "HStore", "JSONB",
             "JSONRoundTrip", "InetRoundTrip", "NamedTypeTest", "Domain",
             "SpecialTypes", "PGInsertManyValues",
             "Int4MultiRangeRoundTrip", "BitString", "IntervalTest",
             "UUIDTest", "TimestampTest", "NumericInterpretationTest")
_CI_SUITE = ("ExceptionTest", "IsolationLevelTest",
             "AutocommitIsolationTest", "ServerSideCursorsTest",
             "RowFetchTest", "ReturningTest", "JSONTest",
             "DifficultParametersTest", "ExpandingBoundInTest",
             "RowCountTest", "InsertBehaviorTest", "LastrowidTest",
             "PercentSchemaNamesTest", "NumericTest", "DateTimeTest",
             "IntegerTest", "TextTest", "BooleanTest", "UuidTest")
CI_PATHS = (
    "test/dialect/postgresql", "test/dialect/test_suite.py",
    "test/engine/test_reconnect.py",
    "-k", "(not test_types and not test_suite and not test_compiler) or "
          "(test_types and ({})) or (test_suite and ({}))".format(
              " or ".join(_CI_TYPES), " or ".join(_CI_SUITE)))
# The sync pair's bounded subset: the same selection without the asyncpg
# adapter's own tests (test_async_pg: asyncpg's mocked adapter and its
# prepared-statement cache, which the sync dialect does not have).
CI_PATHS_SYNC = (
    "test/dialect/postgresql", "test/dialect/test_suite.py",
    "test/engine/test_reconnect.py",
    "-k", "not test_async_pg and ({})".format(CI_PATHS[-1]))

# pair -> (pgwire's driver, the reference driver, allowlist file, the
# environment of pgwire's run).  The asyncio variant takes the suite's
# asyncpg predicates (tools/sqla_suite/pgwire_sqla_register.py); the sync
# one does not: with them it would also take the asyncpg adapter's own
# expectations (numeric_dollar SQL, asyncpg's multi-host URL form,
# asyncpg.BitString values), so it runs as a driver the suite does not
# know, and the few driver-named type expectations it meets are
# allowlisted.
PAIRS = {
    "async": ("pgwire_async", "asyncpg", "allowlist.txt",
              {"PGWIRE_SQLA_AS_ASYNCPG": "1"}),
    "sync": ("pgwire", "psycopg", "allowlist-sync.txt",
             {"PGWIRE_SQLA_AS_ASYNCPG": "0"}),
}

SETUP_SQL = """
CREATE SCHEMA IF NOT EXISTS test_schema;
CREATE SCHEMA IF NOT EXISTS test_schema_2;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS citext;
"""


def load_allowlist(path):
    """{test id: reason} from 'test id<TAB>reason' lines."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test, _, reason = line.partition("\t")
        out[test.strip()] = reason.strip()
    return out


# the per-backend suffix SQLAlchemy's plugin gives a test class name
# ("..._postgresql+asyncpg_15_18"), which differs between the drivers
_BACKEND_SUFFIX = re.compile(r"_postgresql\+[^.]*$")


def outcomes(junit):
    """{test id: 'passed'|'failed'|'skipped'} from a JUnit XML file
    (an error in setup or teardown counts as failed); test ids without the
    driver's suffix, so that both drivers' ids match."""
    result = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        classname = _BACKEND_SUFFIX.sub("", case.get("classname") or "")
        test = "{}::{}".format(classname, case.get("name"))
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                state = "failed"
                break
            if child.tag == "skipped":
                state = "skipped"
        if result.get(test) != "failed":
            result[test] = state
    return result


def run_pytest(src, driver, dsn, paths, junit, log, timeout, per_test,
               extra_env):
    env = dict(os.environ)
    env.update(extra_env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(src / "lib"), str(ROOT), str(TOOLS)])
    for name in list(env):
        if name.startswith("PG") and not name.startswith("PGWIRE_SQLA"):
            del env[name]
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
           "-p", "pgwire_sqla_register",
           "-o", "addopts=--tb native -r fE -p warnings -p logging "
                 "--strict-markers",
           "-q", "--junitxml", str(junit),
           "--timeout", str(per_test), "--timeout-method", "signal",
           "--dburi", dsn.replace("postgresql://",
                                  "postgresql+{}://".format(driver)),
           *paths]
    start = time.monotonic()
    with open(log, "w") as fp:
        try:
            rc = subprocess.run(cmd, cwd=src, env=env, stdout=fp,
                                stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    return rc, time.monotonic() - start


def _stop_on_sigterm():
    """SIGTERM (and SIGINT, which a shell ignores in background jobs)
    unwinds normally, so the server is stopped and the pytest child
    killed."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main():
    _stop_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", action="append", required=True,
                    help="an unpacked SQLAlchemy sdist (repeatable)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--ci", action="store_true",
                    help="the bounded subset CI runs")
    ap.add_argument("--pairs", default="async,sync",
                    help="which pairs to run: async (pgwire_async and "
                         "asyncpg), sync (pgwire and psycopg)")
    ap.add_argument("--reuse", default="",
                    help="drivers whose JUnit files from an earlier run "
                         "in --work are compared instead of running them")
    ap.add_argument("--timeout", type=int, default=3600,
                    help="seconds per pytest run")
    ap.add_argument("--test-timeout", type=int, default=120)
    ap.add_argument("paths", nargs="*",
                    help="test paths (default: the full or --ci set)")
    args = ap.parse_args()
    work = pathlib.Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    pairs = [p for p in args.pairs.split(",") if p]
    for pair in pairs:
        if pair not in PAIRS:
            ap.error("--pairs: expected async and/or sync, got {!r}".format(
                pair))
    reuse = set(filter(None, args.reuse.split(",")))
    broken = regressions = 0
    with cluster.TempCluster(settings={
            "max_connections": "200",
            "max_prepared_transactions": "20"}) as server:
        server.psql(SETUP_SQL)
        dsn = server.dsn(host="tcp")
        for src in (pathlib.Path(s).resolve() for s in args.src):
            version = src.name.split("-", 1)[1]
            for pair in pairs:
                ours, ref, allowfile, env = PAIRS[pair]
                if args.paths:
                    paths = args.paths
                elif not args.ci:
                    paths = FULL_PATHS
                else:
                    paths = CI_PATHS_SYNC if pair == "sync" else CI_PATHS
                results = {}
                for driver in (ours, ref):
                    junit = work / "junit-{}-{}.xml".format(version, driver)
                    if driver in reuse:
                        results[driver] = outcomes(junit)
                        print("sqla-suite: SQLAlchemy {:<7} {:<12} (earlier "
                              "run: {})".format(version, driver, junit))
                        continue
                    log = work / "pytest-{}-{}.log".format(version, driver)
                    junit.unlink(missing_ok=True)
                    rc, secs = run_pytest(
                        src, driver, dsn, paths, junit, log, args.timeout,
                        args.test_timeout, env if driver == ours else {})
                    if rc not in (0, 1) or not junit.exists():
                        print("sqla-suite: SQLAlchemy {} {}: the run broke "
                              "(exit {}); see {}".format(version, driver, rc,
                                                          log))
                        broken += 1
                        continue
                    results[driver] = res = outcomes(junit)
                    counts = {k: sum(1 for v in res.values() if v == k)
                              for k in ("passed", "failed", "skipped")}
                    print("sqla-suite: SQLAlchemy {:<7} {:<12} passed {:>6}  "
                          "failed {:>4}  skipped {:>5}  ({:.0f}s)".format(
                              version, driver, counts["passed"],
                              counts["failed"], counts["skipped"], secs))
                if ours in results and ref in results:
                    regressions += report_diff(
                        version, results[ref], results[ours], ref, ours,
                        load_allowlist(TOOLS / allowfile), allowfile)
    if broken:
        return 2
    return 1 if regressions else 0


def report_diff(version, ref_res, our_res, ref, ours, allow, allowfile):
    worse = sorted(t for t, v in ref_res.items()
                   if v == "passed" and our_res.get(t) == "failed")
    better = sorted(t for t, v in our_res.items()
                    if v == "passed" and ref_res.get(t) == "failed")
    unlisted = [t for t in worse if t not in allow]
    not_run = sum(1 for t, v in ref_res.items()
                  if v == "passed" and our_res.get(t) in (None, "skipped"))
    print("sqla-suite: SQLAlchemy {}: {} pass with {} and are skipped or "
          "not collected with {} (driver-specific tests)".format(
              version, not_run, ref, ours))
    print("sqla-suite: SQLAlchemy {}: {} pass with {} and fail with {} "
          "({} allowlisted in {}); {} pass with {} and fail with {}".format(
              version, len(worse), ref, ours, len(worse) - len(unlisted),
              allowfile, len(better), ours, ref))
    for t in worse:
        print("  {} {}".format("allowlisted:" if t in allow else "FAIL:",
                               t))
    return len(unlisted)


if __name__ == "__main__":
    sys.exit(main())
