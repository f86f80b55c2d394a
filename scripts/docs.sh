#!/usr/bin/env bash
# The documentation site: Sphinx with MyST Markdown over docs/, the API
# reference by autodoc (which imports the built extension).
#
#   bash scripts/docs.sh          # -> build/docs/html/index.html
#
# Installs docs/requirements.txt when sphinx or myst-parser is missing,
# builds the extension in place when it is not built, and fails on any
# warning (-W --keep-going: every warning is printed, then the build fails).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if ! $PY -c "import sphinx, myst_parser" 2>/dev/null; then
    echo "docs: installing docs/requirements.txt"
    $PY -m pip install -q --disable-pip-version-check -r docs/requirements.txt \
        2>&1 | grep -v -i "warning: running pip as" || true
fi
if ! PYTHONPATH=$PWD $PY -c "import pgwire._pgwire" 2>/dev/null; then
    make -s so
fi
rm -rf build/docs/html build/docs/doctrees
PYTHONPATH=$PWD $PY -m sphinx -W --keep-going -q -b html \
    -d build/docs/doctrees docs build/docs/html
# autodoc output that renders as text (an auto* directive MyST did not hand
# to reStructuredText) raises no warning: check that the reference holds
# the entries it must.
for anchor in pgwire.connect pgwire.Connection.fetch pgwire.Pool.acquire \
        pgwire.Record.get pgwire.prepared_stmt.PreparedStatement.fetchval \
        pgwire.exceptions.PostgresError; do
    grep -q "id=\"$anchor\"" build/docs/html/api.html || {
        echo "docs: FAILED: the API reference has no entry $anchor" >&2; exit 1; }
done
echo "docs: build/docs/html/index.html"
