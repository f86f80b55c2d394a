"""One connection, one workload, N sequential calls: the thing to profile.

    python bench/profile_loop.py DRIVER WORKLOAD N [--loop asyncio|uvloop]
        [--dsn DSN] [--connect-dsn DSN]

Uses the same driver bindings as bench/run.py (bench/drivers.py), so the calls
profiled are the calls benchmarked.  Connections are opened and the call is
warmed up (statement prepared, codecs loaded) before the N timed calls, so
``instructions(N2) - instructions(N1)`` divided by ``N2 - N1`` is the client
cost of one call without the start-up (see scripts/profile.sh).  The DSNs
default to the lines of $PGWIRE_PROFILE_DSN_FILE (postgres DSN, then the scram
DSN for W10), as written by scripts/profile.sh.  A workload's setup SQL (W9's
table) runs first; the row-shape variants (W3-DICT, W3-STRUCT, W9-DICT,
W9-STRUCT) need no switch: they are workloads of their own.  The sync
face's drivers (pgwire.sync, psycopg3, psycopg2, pg8000) run the same loop
without an event loop (``--loop`` is ignored for them).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import drivers as drivers_mod  # noqa: E402
import workloads as workloads_mod  # noqa: E402


async def run(args) -> None:
    wl = workloads_mod.get(args.workload)
    drv = drivers_mod.load(args.driver)
    if wl.method == 'connect_close':
        conn = None
        fn = drv.bind_connect(args.connect_dsn or args.dsn)
    else:
        conn = await drv.connect(args.dsn)
        for sql in wl.setup:    # idempotent (W9's table); before the count
            await drv.execute(conn, sql)
        fn = drv.bind(conn, wl)
    for _ in range(args.warmup):
        wl.check(await fn()) if conn is not None else await fn()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.n):
        await fn()
    t1, c1 = time.perf_counter(), time.process_time()
    if conn is not None:
        await drv.close(conn)
    n = max(args.n, 1)
    print(f'{args.driver} {wl.id} {args.loop}: {args.n} calls, '
          f'{(t1 - t0) / n * 1e6:.1f} us/call wall, '
          f'{(c1 - c0) / n * 1e6:.1f} us/call CPU', file=sys.stderr)


def run_sync(args) -> None:
    """run() for a blocking driver (--face sync): no event loop."""
    wl = workloads_mod.get(args.workload)
    drv = drivers_mod.load(args.driver)
    conn = drv.connect(args.dsn)
    for sql in wl.setup:
        drv.execute(conn, sql)
    fn = drv.bind(conn, wl)
    for _ in range(args.warmup):
        wl.check(fn())
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.n):
        fn()
    t1, c1 = time.perf_counter(), time.process_time()
    drv.close(conn)
    n = max(args.n, 1)
    print(f'{args.driver} {wl.id} sync: {args.n} calls, '
          f'{(t1 - t0) / n * 1e6:.1f} us/call wall, '
          f'{(c1 - c0) / n * 1e6:.1f} us/call CPU', file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('driver')
    p.add_argument('workload')
    p.add_argument('n', type=int)
    p.add_argument('--loop', default='asyncio', choices=('asyncio', 'uvloop'))
    p.add_argument('--warmup', type=int, default=20)
    p.add_argument('--dsn')
    p.add_argument('--connect-dsn')
    args = p.parse_args()
    if not args.dsn:
        with open(os.environ['PGWIRE_PROFILE_DSN_FILE']) as f:
            lines = f.read().split()
        args.dsn, args.connect_dsn = lines[0], args.connect_dsn or lines[1]
    if drivers_mod.face(args.driver) == 'sync':
        run_sync(args)
    elif args.loop == 'uvloop':
        import uvloop
        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == '__main__':
    main()
