#!/usr/bin/env bash
# Client instructions per call, per driver, under callgrind (see bench/PROFILE.md).
#
#   bash scripts/profile.sh                    # W1 W3 W10, all four drivers
#   bash scripts/profile.sh W3 pgwire,asyncpg  # one workload, some drivers
#   bash scripts/profile.sh W1,W3 sync         # the sync face: pgwire.sync,
#                                              # psycopg3, psycopg2, pg8000
#   bash scripts/profile.sh W1 pgwire.sync,psycopg3
#
# Each (driver, workload) runs bench/profile_loop.py twice under
# valgrind --tool=callgrind, with N1 and N2 calls on one connection after a
# warm-up; (Ir(N2) - Ir(N1)) / (N2 - N1) is the instructions one call costs the
# client process (all its threads), start-up and warm-up cancelled out.
# Instruction counts are repeatable where wall time on two shared cores is
# not.  Outputs stay in $OUT (default /tmp/pgwire-profile) for
# callgrind_annotate / kcachegrind.  A throwaway server is started unless
# PGWIRE_PROFILE_DSN_FILE names a file holding the postgres DSN and the scram
# DSN, one a line.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKLOADS=${1:-W1,W3,W10}
DRIVERS=${2:-pgwire,asyncpg,psycopg,psqlpy}
[ "$DRIVERS" = sync ] && DRIVERS=pgwire.sync,psycopg3,psycopg2,pg8000
PY=${PYTHON:-$( [ -x .venv-bench/bin/python ] && echo .venv-bench/bin/python || echo python3 )}
OUT=${OUT:-/tmp/pgwire-profile}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

server_pid=
if [ -z "${PGWIRE_PROFILE_DSN_FILE:-}" ]; then
    export PGWIRE_PROFILE_DSN_FILE="$OUT/dsn"
    rm -f "$PGWIRE_PROFILE_DSN_FILE"
    "$PY" - "$PGWIRE_PROFILE_DSN_FILE" <<'PYEOF' &
import signal, sys, time
from pgwire.cluster import TempCluster
c = TempCluster().start()
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(c.dsn(user='postgres') + '\n' + c.dsn(user='scram') + '\n')
import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: (c.stop(), sys.exit(0)))
while True:
    time.sleep(3600)
PYEOF
    server_pid=$!
    trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null || true' EXIT
    for _ in $(seq 120); do [ -s "$PGWIRE_PROFILE_DSN_FILE" ] && break; sleep 0.5; done
fi

ir() {  # driver workload n -> total instructions of the process
    local f="$OUT/$1.$2.$3.cg"
    valgrind --tool=callgrind --callgrind-out-file="$f" \
        "$PY" bench/profile_loop.py "$1" "$2" "$3" >/dev/null 2>"$f.log"
    sed -n 's/^summary: \([0-9]*\).*/\1/p' "$f"
}

printf '%-8s %-12s %14s\n' workload driver 'Ir/call'
for w in ${WORKLOADS//,/ }; do
    case $w in
        W10) n1=10; n2=40 ;;
        W1) n1=200; n2=1200 ;;
        *) n1=50; n2=250 ;;
    esac
    for d in ${DRIVERS//,/ }; do
        a=$(ir "$d" "$w" $n1); b=$(ir "$d" "$w" $n2)
        printf '%-8s %-12s %14d\n' "$w" "$d" $(( (b - a) / (n2 - n1) ))
    done
done
