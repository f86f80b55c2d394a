#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the C core's unit
# tests and the Python suite against a throwaway PostgreSQL, on the stdlib
# asyncio loop and on uvloop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${PYTHON:-python3}
$PY tools/gen_errcodes.py --check
make -s ctest
$PY -m pytest -q -p no:cacheprovider "$@"
$PY -m pytest -q -p no:cacheprovider --loop=uvloop tests/test_query.py tests/test_connect.py "$@"
