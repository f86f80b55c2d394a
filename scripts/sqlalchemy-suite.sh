#!/usr/bin/env bash
# SQLAlchemy's own test suite (pinned 2.0.x and 2.1.x sdists from PyPI,
# sha256-checked, unpacked under build/, never committed) on one throwaway
# server (pgwire.cluster; as root the server runs as postgres), in two
# pairs, each side by side:
#   async: postgresql+pgwire_async:// (the asyncio face) and
#          postgresql+asyncpg://
#   sync:  postgresql+pgwire:// (create_engine, on pgwire.dbapi) and
#          postgresql+psycopg:// (psycopg 3, the sync reference)
#
#   bash scripts/sqlalchemy-suite.sh [--ci] [--pairs async,sync]
#                                    [-- TEST_PATHS...]
#
# Prints passed/failed/skipped per driver per version and each test that
# passes with the reference and fails with pgwire; exits 1 when such a test
# is not in the pair's allowlist (tools/sqla_suite/allowlist.txt,
# allowlist-sync.txt; each entry with its reason), 2 when a run broke.
# --ci runs the bounded subset CI calls (tools/sqla_suite/run.py,
# CI_PATHS); the default is the PostgreSQL-relevant directories (dialect,
# the dialect compliance suite, sql, orm, engine, asyncio extension; over
# an hour per driver here, most of it sql and orm).  Logs and JUnit files:
# build/sqla-suite/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
WORK=$ROOT/build/sqla-suite

# version  sha256 of sqlalchemy-<version>.tar.gz
PINS=(
    "2.0.59 9dd42e979a9ca2a71cf827b9bda61a8322ab4e3be28ec68a6166a9c839064784"
    "2.1.9 d700a8b2edfb26282a470333d6bc4a454c4acda4d201a3bea7b72fa76c217d28"
)

run_args=()
paths=()
while [ $# -gt 0 ]; do
    case $1 in
        --ci) run_args+=(--ci); shift ;;
        --pairs) run_args+=(--pairs "${2:?--pairs needs a value}"); shift 2 ;;
        --pairs=*) run_args+=(--pairs "${1#--pairs=}"); shift ;;
        --) shift; paths=("$@"); break ;;
        *) echo "usage: $0 [--ci] [--pairs async,sync] [-- TEST_PATHS...]" >&2
           exit 2 ;;
    esac
done

log() { printf 'sqla-suite: %s\n' "$*"; }

# The suite's runner needs pytest-timeout and greenlet; SQLAlchemy's tests
# import nothing else beyond pytest (asyncpg is a test dependency already);
# psycopg 3 (its binary build) is the sync pair's reference driver.
if ! $PY -c "import pytest_timeout, greenlet" 2>/dev/null; then
    $PY -m pip install -q --disable-pip-version-check "pytest-timeout>=2.1" \
        greenlet 2>&1 | grep -v -i "^warning" || true
fi
if ! $PY -c "import psycopg; assert psycopg.pq.__impl__ != 'python'" \
        2>/dev/null; then
    $PY -m pip install -q --disable-pip-version-check "psycopg[binary]>=3.1" \
        2>&1 | grep -v -i "^warning" || true
fi

mkdir -p "$WORK"
srcs=()
for pin in "${PINS[@]}"; do
    version=${pin%% *}
    sha=${pin##* }
    sdist=$WORK/sqlalchemy-$version.tar.gz
    if ! { [ -f "$sdist" ] && echo "$sha  $sdist" | sha256sum -c --status; }; then
        rm -f "$sdist"
        log "downloading SQLAlchemy $version sdist"
        $PY -m pip download -q --disable-pip-version-check --no-deps \
            --no-binary sqlalchemy -d "$WORK" "sqlalchemy==$version" \
            2>&1 | grep -v -i "^warning" || true
        echo "$sha  $sdist" | sha256sum -c --status || {
            log "sdist missing or sha256 mismatch: $sdist"; exit 1; }
    fi
    rm -rf "$WORK/sqlalchemy-$version"
    tar -xzf "$sdist" --no-same-owner -C "$WORK"
    srcs+=(--src "$WORK/sqlalchemy-$version")
done

unset PGWIRE_TEST_DSN
log "running SQLAlchemy's tests: pgwire_async and asyncpg, pgwire and psycopg (logs: $WORK)"
$PY "$ROOT/tools/sqla_suite/run.py" --work "$WORK" "${srcs[@]}" \
    ${run_args[@]+"${run_args[@]}"} ${paths[@]+"${paths[@]}"}
