#!/usr/bin/env bash
# The benchmark suite in one command: installs the server packages (as
# scripts/setup.sh), makes a separate virtual environment (.venv-bench) with
# pgwire and its peers (asyncpg, psycopg[binary] + psycopg_pool, psqlpy,
# uvloop; psycopg2-binary and pg8000 for --face sync), then runs bench/run.py against a throwaway PostgreSQL with
# pgbench and the no-decode floor as ceilings.  Arguments go to
# bench/run.py, e.g.:
#
#   bash scripts/bench.sh                       # everything: W1-W11, both
#                                               # loops, 3 rounds (~40 min)
#   bash scripts/bench.sh --quick               # a smoke run
#   bash scripts/bench.sh --workloads W1,W8 --loops uvloop --rounds 5
#   bash scripts/bench.sh --face sync          # pgwire.sync against psycopg 3,
#                                               # psycopg2 and pg8000
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
PY=${PYTHON:-python3}
VENV=${PGWIRE_BENCH_VENV:-.venv-bench}
if [ ! -x "$VENV/bin/python" ]; then
    echo "bench: creating $VENV"
    $PY -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "setuptools>=61" wheel asyncpg "psycopg[binary]" psycopg_pool psqlpy \
    psycopg2-binary pg8000 uvloop matplotlib 2>&1 | grep -v -i "warning: running pip as" || true
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    --no-build-isolation . 2>&1 | grep -v -i "warning: running pip as" || true
exec "$VENV/bin/python" bench/run.py "$@"
