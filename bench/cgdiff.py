"""Per-call self cost by function: the difference of two callgrind runs.

    python bench/cgdiff.py A.cg B.cg CALLS [TOP]

A and B are callgrind outputs of the same program run with N1 and N2 calls;
CALLS is N2 - N1.  Prints the TOP functions (default 30) by instructions per
call, self cost, from ``callgrind_annotate`` of each file.
"""
from __future__ import annotations

import re
import subprocess
import sys

LINE = re.compile(r'^\s*([\d,]+)\s+\([^)]*\)\s+(.*?)(?:\s+\[([^\]]*)\])?$')


def self_costs(path: str) -> dict[str, int]:
    out = subprocess.run(['callgrind_annotate', '--auto=no', '--threshold=100',
                          path],
                         capture_output=True, text=True, check=True).stdout
    costs: dict[str, int] = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m or 'PROGRAM TOTALS' in line:
            continue
        name = m.group(2).split(':', 1)[-1]
        obj = (m.group(3) or '').rsplit('/', 1)[-1]
        key = f'{name} [{obj}]'
        costs[key] = costs.get(key, 0) + int(m.group(1).replace(',', ''))
    return costs


def main() -> None:
    a, b = self_costs(sys.argv[1]), self_costs(sys.argv[2])
    calls = int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    diff = {k: (b.get(k, 0) - a.get(k, 0)) / calls for k in set(a) | set(b)}
    total = sum(diff.values())
    print(f'{total:12.0f}  Ir/call, all functions')
    for k, v in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        print(f'{v:12.0f}  {100 * v / total:5.1f}%  {k}')


if __name__ == '__main__':
    main()
