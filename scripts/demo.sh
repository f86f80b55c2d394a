#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a throwaway PostgreSQL
# and shows pgwire working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
exec ${PYTHON:-python3} examples/demo.py "$@"
