#!/usr/bin/env bash
# asyncpg's own test suite (the 0.32.0 sdist from PyPI) run against pgwire
# through a name-only import shim; see tools/asyncpg_suite/ and docs/development.md.
#
#   bash scripts/asyncpg-suite.sh [--update-baseline] [-- PYTEST_ARGS...]
#
# Prints per module: passed, failed, and each failure classified as internal
# (tools/asyncpg_suite/internal.tsv), deliberate (deliberate.tsv, a
# difference documented in docs/migrating.md) or gap; the last line is
# "N/M asyncpg public-API tests pass".
# Writes build/asyncpg-suite/result.json.  Exits non-zero when a test listed
# in tools/asyncpg_suite/passing.txt fails (a regression), or when the run
# itself broke; --update-baseline rewrites passing.txt from this run.  With
# PYTEST_ARGS (e.g. -- -k pool) only the tests that ran are judged.
# Bounded: APGSUITE_TEST_TIMEOUT seconds per test (default 60), the whole
# pytest run APGSUITE_TIMEOUT seconds (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

VERSION=0.32.0
SHA256=45e64e56714d888330b884aad1dfb363d0bf43fb343e3d1a8968525f3bade478
WORK=$ROOT/build/asyncpg-suite
TOOLS=$ROOT/tools/asyncpg_suite

report_args=()
pytest_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --update-baseline) report_args+=(--update-baseline); shift ;;
        --) shift; pytest_args=("$@"); report_args+=(--partial); break ;;
        *) echo "usage: $0 [--update-baseline] [-- PYTEST_ARGS...]" >&2; exit 2 ;;
    esac
done

log() { printf 'asyncpg-suite: %s\n' "$*"; }

# pytest-timeout bounds each test (pytest itself is installed by setup.sh);
# distro is imported by asyncpg's test_connect (its "test" dependency group;
# the group's gssapi/k5test, flake8 and mypy are left out: those tests skip).
if ! $PY -c "import pytest_timeout, distro" 2>/dev/null; then
    $PY -m pip install -q --disable-pip-version-check "pytest-timeout>=2.1" \
        "distro~=1.9.0" 2>&1 | grep -v -i "^warning" || true
fi

# The sdist, pinned by hash; only asyncpg itself is taken from source
# (--no-binary :all: would also build Cython from source for pip's metadata
# step, about 8 minutes here).  Kept between runs.
mkdir -p "$WORK"
SDIST=$WORK/asyncpg-$VERSION.tar.gz
have_sdist() { [ -f "$SDIST" ] && echo "$SHA256  $SDIST" | sha256sum -c --status; }
if ! have_sdist; then
    rm -f "$SDIST"
    log "downloading asyncpg $VERSION sdist"
    $PY -m pip download -q --disable-pip-version-check --no-deps \
        --no-binary asyncpg -d "$WORK" "asyncpg==$VERSION" \
        2>&1 | grep -v -i "^warning" || true
    have_sdist || { log "sdist missing or sha256 mismatch: $SDIST"; exit 1; }
fi
rm -rf "$WORK/src" && mkdir -p "$WORK/src"
tar -xzf "$SDIST" --no-same-owner -C "$WORK/src"
SRC=$WORK/src/asyncpg-$VERSION

# Everything the run puts in the temporary directory (asyncpg's harness
# makes its data directories and server sockets there, some tests leave
# files behind) goes to one directory of its own, removed at the end.  It is
# world-writable with the sticky bit, as /tmp is, for the server's sockets.
RUN_TMP=$(mktemp -d /tmp/asyncpg-suite.XXXXXX)
chmod 1777 "$RUN_TMP"
cleanup() { rm -rf "$RUN_TMP"; }
trap cleanup EXIT

# As root, PostgreSQL runs as an unprivileged user (as pgwire.cluster does);
# it must be able to read the suite (tests/certs); if it cannot read the
# work tree, the suite goes to the run's temporary directory.
run_as=()
SUITE=$WORK/suite
if [ "$(id -u)" -eq 0 ]; then
    user=""
    for u in postgres nobody; do id -u "$u" >/dev/null 2>&1 && { user=$u; break; }; done
    [ -n "$user" ] || { log "running as root and no postgres/nobody user"; exit 1; }
    run_as=(--run-as "$user")
    if ! setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
            test -r "$SRC/tests/certs/server.cert.pem"; then
        SUITE=$RUN_TMP/suite
    fi
fi

$PY "$TOOLS/prepare.py" "$SRC" "$WORK" --suite-dir "$SUITE" \
    ${run_as[@]+"${run_as[@]}"}

# The harness must start its own server: no PG* variable may leak in
# (PGHOST would make it use a running server).
for v in $(env | sed -n 's/^\(PG[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset PGWIRE_TEST_DSN
export PGINSTALLATION=$WORK/pgbin
export PYTHONPATH=$WORK/shim:$ROOT:$TOOLS
export APGSUITE_RESULTS=$WORK/results.jsonl
export TMPDIR=$RUN_TMP
rm -f "$APGSUITE_RESULTS"

log "running asyncpg $VERSION tests against pgwire ($(cd "$SUITE" && pwd))"
start=$(date +%s)
rc=0
(cd "$SUITE" && timeout --signal=INT --kill-after=60 "${APGSUITE_TIMEOUT:-1200}" \
    $PY -m pytest -q -p apgsuite_plugin -p no:asyncio \
        --timeout="${APGSUITE_TEST_TIMEOUT:-60}" --timeout-method=signal \
        -o console_output_style=classic -rN \
        ${pytest_args[@]+"${pytest_args[@]}"} tests) \
    >"$WORK/pytest.log" 2>&1 || rc=$?
elapsed=$(( $(date +%s) - start ))
grep -E " in [0-9.]+s( \(|$)" "$WORK/pytest.log" | tail -n 1 || true
log "pytest exited $rc after ${elapsed}s (log: $WORK/pytest.log)"
# 0: all passed, 1: some failed -- anything else is a broken run.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    log "the run did not complete (exit $rc); see $WORK/pytest.log"
    report_args+=(--incomplete)
fi

$PY "$TOOLS/report.py" --results "$APGSUITE_RESULTS" \
    --tools "$TOOLS" --json "$WORK/result.json" --elapsed "$elapsed" \
    ${report_args[@]+"${report_args[@]}"}
