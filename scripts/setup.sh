#!/usr/bin/env bash
# Install what pgwire needs on a fresh Debian machine, then build it.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(postgresql postgresql-contrib build-essential python3-dev openssl
          clang libclang-rt-14-dev clang-format valgrind pgbouncer)
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
# asyncpg (pinned) is a test dependency: tests/test_exceptions.py and
# tests/test_types.py compare pgwire with it; cryptography reads test
# certificates; orjson, msgspec and attrs: tests/test_rows.py and
# tests/test_json.py (row factories and JSON loaders).
# SQLAlchemy (with greenlet), Alembic, Tortoise ORM and
# encode/databases are what tests/test_sqlalchemy.py, test_alembic.py,
# test_tortoise.py and test_install_as_asyncpg.py run pgwire under.
# opentelemetry-api/-sdk: tests/test_tracing.py (pgwire.tracing).
$PY -m pip install -q --disable-pip-version-check \
    "pytest>=7" "pytest-asyncio>=0.23" "pytest-timeout>=2.1" "hypothesis>=6" "uvloop>=0.17" \
    "setuptools>=61" wheel \
    "asyncpg==0.32.0" "cryptography>=41" \
    "orjson>=3" "msgspec>=0.18" "attrs>=22.2" \
    "sqlalchemy>=2.0" greenlet alembic tortoise-orm "databases==0.9.0" \
    "dbapi-compliance==1.15.0" \
    opentelemetry-api opentelemetry-sdk \
    "mypy>=2.4" 2>&1 | grep -v -i "warning: running pip as" || true
# The extension: editable install so tests see the source tree, with the
# test hooks the tests call (src/ext/codec_debug.c; setup.py).
PGWIRE_TEST_HOOKS=1 $PY -m pip install -q --disable-pip-version-check --no-build-isolation -e . \
    2>&1 | grep -v -i "warning: running pip as" || true
$PY -c "import pgwire, pgwire._pgwire; print('setup: pgwire', pgwire.__version__, 'built')"
