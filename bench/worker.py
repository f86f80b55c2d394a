"""One benchmark measurement, in a fresh process.  Driven by run.py.

    python bench/worker.py run   '<json spec>'
    python bench/worker.py admin '<json spec>'

(``run`` with driver ``pgbench`` runs pgbench as a subprocess instead: see
``measure_external``; a blocking driver of ``--face sync`` runs one thread
per connection instead of coroutines: see ``measure_sync``.)

``run`` spec: driver, loop, workload, dsn, duration, warmup, concurrency,
rows (expected rows per call).  It opens ``concurrency`` connections,
validates one call on each, warms up for ``warmup`` seconds, then for
``duration`` seconds runs ``concurrency`` coroutines each looping on the
workload, and prints one JSON object (the last line of stdout) with
queries/s, rows/s, latency percentiles, client CPU per query, server
backend CPU per query and whole-machine busy %.

``admin`` spec: dsn, drivers (preference order), workloads.  Using the first
driver that imports and connects, it logs server version/settings, runs the
workloads' setup SQL once, and evaluates expected row counts given as SQL.

Failures never raise out of the process: the JSON says ok=false, the stage
(import, connect, bind, validate, warmup, timed, close) and the error.
"""
from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import drivers as drivers_mod  # noqa: E402
import workloads as workloads_mod  # noqa: E402


class Failure(Exception):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(stage)
        self.stage = stage
        self.exc = exc


class Mismatch(AssertionError):
    pass


# ---------------------------------------------------------------- /proc --

_CLK_TCK = os.sysconf('SC_CLK_TCK')


def proc_stat_cpu() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs, from the first line of /proc/stat."""
    try:
        with open('/proc/stat') as f:
            parts = f.readline().split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]
    vals = [int(x) for x in parts[1:9]]
    total = sum(vals)               # guest time is already inside user/nice
    idle = vals[3] + vals[4]
    return total - idle, total


def pid_cpu_seconds(pids: list[int]) -> float | None:
    """Sum of utime+stime of these processes, or None if any is unreadable
    (server on another host or in another pid namespace)."""
    if not pids:
        return None
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                rest = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            return None
        total += int(rest[11]) + int(rest[12])
    return total / _CLK_TCK


def percentile(sorted_vals: list[int], p: float) -> int:
    if not sorted_vals:
        return 0
    k = min(len(sorted_vals) - 1, max(0, round(p * (len(sorted_vals) - 1))))
    return sorted_vals[k]


# ------------------------------------------------------------- timing --

async def client(fn, count, expected: int, deadline: int, lats: list) -> object:
    """Loop on one connection until ``deadline`` (monotonic ns)."""
    ns = time.monotonic_ns
    append = lats.append
    res = None
    t1 = ns()
    while t1 < deadline:
        t0 = ns()
        res = await fn()
        t1 = ns()
        append(t1 - t0)
        if count(res) != expected:
            raise Mismatch(f'row count {count(res)}, expected {expected}')
    return res


async def run_window(fns, count, expected: int, seconds: float):
    lats: list[int] = []
    start = time.monotonic_ns()
    deadline = start + int(seconds * 1e9)
    lasts = await asyncio.gather(
        *(client(fn, count, expected, deadline, lats) for fn in fns))
    return start, time.monotonic_ns(), lats, lasts


def window_figures(out: dict, lats: list, start: int, end: int,
                   expected: int, cpu0: float, cpu1: float, gc0, gc1,
                   srv0, srv1, stat0, stat1) -> dict:
    """The run's figures from one timed window (both faces)."""
    q = len(lats)
    elapsed = (end - start) / 1e9
    lats.sort()
    out.update({
        'queries': q,
        'elapsed_s': elapsed,
        'qps': q / elapsed,
        'rows_per_s': q * expected / elapsed,
        'lat_p50_us': percentile(lats, 0.50) / 1e3,
        'lat_p99_us': percentile(lats, 0.99) / 1e3,
        'lat_mean_us': (sum(lats) / q / 1e3) if q else 0.0,
        'lat_max_us': (lats[-1] / 1e3) if q else 0.0,
        'client_cpu_s': cpu1 - cpu0,
        'client_cpu_us_per_query': (cpu1 - cpu0) / q * 1e6 if q else None,
        'client_cpu_pct': (cpu1 - cpu0) / elapsed * 100,
        # cyclic-GC passes per generation during the window: GC-tracked
        # result rows (asyncpg Records) make these costly under concurrency
        'gc_collections': [b - a for a, b in zip(gc0, gc1)],
    })
    if srv0 is not None and srv1 is not None and q:
        out['server_cpu_us_per_query'] = (srv1 - srv0) / q * 1e6
        out['server_cpu_pct'] = (srv1 - srv0) / elapsed * 100
    else:
        out['server_cpu_us_per_query'] = None
        out['server_cpu_pct'] = None
    if stat0 and stat1 and stat1[1] > stat0[1]:
        out['machine_busy_pct'] = ((stat1[0] - stat0[0])
                                   / (stat1[1] - stat0[1]) * 100)
    else:
        out['machine_busy_pct'] = None
    return out


async def measure(spec: dict) -> dict:
    wl = workloads_mod.get(spec['workload'])
    expected = int(spec['rows'])
    conc = int(wl.concurrency or spec['concurrency'])
    out: dict = {'workload': wl.id, 'driver': spec['driver'],
                 'loop': spec['loop'], 'concurrency': conc,
                 'expected_rows': expected}
    loop = asyncio.get_running_loop()
    out['loop_impl'] = f'{type(loop).__module__}.{type(loop).__name__}'

    try:
        drv = drivers_mod.load(spec['driver'])
        out['driver_info'] = drv.info()
    except BaseException as e:
        raise Failure('import', e)
    # the floor counts DataRows instead of returning rows: its own hooks
    count = getattr(drv, 'count', None) or wl.count
    check = getattr(drv, 'check', None) or wl.check

    pool_size = wl.extra.get('pool')
    if pool_size == 'concurrency':
        pool_size = conc
    out['pool_size'] = pool_size
    connect_only = wl.method == 'connect_close'
    try:
        if connect_only:
            conns = []    # each call opens and closes its own connection
        elif pool_size:
            # one pool shared by `conc` clients; "conns" is the pool
            conns = [await drv.create_pool(spec['dsn'], pool_size)]
        else:
            # a driver may open its connections for the workload (pgwire:
            # pipeline=True for W12)
            connect_for = getattr(drv, 'connect_for', None)
            conns = await asyncio.gather(
                *(connect_for(spec['dsn'], wl) if connect_for
                  else drv.connect(spec['dsn']) for _ in range(conc)))
    except BaseException as e:
        raise Failure('connect', e)

    try:
        try:
            if connect_only:
                fns = [drv.bind_connect(spec.get('connect_dsn') or
                                        spec['dsn']) for _ in range(conc)]
            elif pool_size:
                fns = [drv.bind(conns[0], wl, client=i) for i in range(conc)]
            else:
                fns = [drv.bind(c, wl) for c in conns]
        except BaseException as e:
            raise Failure('bind', e)

        try:
            pids = []
            if pool_size:
                pids = await drv.pool_pids(conns[0], pool_size)
            for c in ([] if pool_size or connect_only else conns):
                if hasattr(drv, 'backend_pid'):
                    pids.append(await drv.backend_pid(c))
                    continue
                rows = await drv.query(c, 'SELECT pg_backend_pid()')
                pids.append(int(rows[0][0]))
            for fn in fns:
                res = await fn()
                n = count(res)
                if n != expected:
                    raise Mismatch(f'row count {n}, expected {expected}')
                check(res)
        except BaseException as e:
            raise Failure('validate', e)

        try:
            if spec['warmup'] > 0:
                await run_window(fns, count, expected, spec['warmup'])
        except BaseException as e:
            raise Failure('warmup', e)

        try:
            stat0 = proc_stat_cpu()
            srv0 = pid_cpu_seconds(pids)
            gc0 = [g['collections'] for g in gc.get_stats()]
            cpu0 = time.process_time()
            start, end, lats, lasts = await run_window(
                fns, count, expected, spec['duration'])
            cpu1 = time.process_time()
            gc1 = [g['collections'] for g in gc.get_stats()]
            srv1 = pid_cpu_seconds(pids)
            stat1 = proc_stat_cpu()
            for res in lasts:
                if res is not None:
                    check(res)
        except BaseException as e:
            raise Failure('timed', e)
    finally:
        # Close even on failure; errors here only matter if all else passed.
        close_err = None
        for c in conns:
            try:
                await (drv.close_pool(c) if pool_size else drv.close(c))
            except BaseException as e:  # noqa: PERF203
                close_err = close_err or e
    if close_err is not None:
        raise Failure('close', close_err)

    return window_figures(out, lats, start, end, expected, cpu0, cpu1,
                          gc0, gc1, srv0, srv1, stat0, stat1)


# ------------------------------------------------ sync face (threads) --

def sync_client(fn, count, expected: int, deadline: int, lats: list,
                lasts: list, errors: list) -> None:
    """One thread on one blocking connection until ``deadline``."""
    ns = time.monotonic_ns
    append = lats.append
    res = None
    try:
        t1 = ns()
        while t1 < deadline:
            t0 = ns()
            res = fn()
            t1 = ns()
            append(t1 - t0)
            if count(res) != expected:
                raise Mismatch(f'row count {count(res)}, expected {expected}')
        lasts.append(res)
    except BaseException as e:
        errors.append(e)


def run_window_threads(fns, count, expected: int, seconds: float):
    """One thread per connection, as asyncpg's harness runs sync drivers;
    the window ends when the last thread's last call does."""
    lats: list[int] = []       # list.append is atomic under the GIL
    lasts: list = []
    errors: list[BaseException] = []
    start = time.monotonic_ns()
    deadline = start + int(seconds * 1e9)
    threads = [threading.Thread(target=sync_client,
                                args=(fn, count, expected, deadline, lats,
                                      lasts, errors))
               for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return start, time.monotonic_ns(), lats, lasts


def measure_sync(spec: dict) -> dict:
    """measure() for the blocking drivers (``--face sync``): connections
    opened before timing, one validated call each, a warm-up, then
    ``concurrency`` threads each looping on its own connection."""
    wl = workloads_mod.get(spec['workload'])
    expected = int(spec['rows'])
    conc = int(wl.concurrency or spec['concurrency'])
    out: dict = {'workload': wl.id, 'driver': spec['driver'],
                 'loop': spec['loop'], 'concurrency': conc,
                 'expected_rows': expected,
                 'loop_impl': f'{conc} threads, one blocking connection each'}
    try:
        drv = drivers_mod.load(spec['driver'])
        out['driver_info'] = drv.info()
    except BaseException as e:
        raise Failure('import', e)
    if wl.extra.get('pool') or wl.method == 'connect_close':
        raise Failure('bind', drivers_mod.Unsupported(
            f'{drv.name}: the sync face runs no pool/connect workloads'))
    conns = []
    try:
        for _ in range(conc):
            conns.append(drv.connect(spec['dsn']))
    except BaseException as e:
        for c in conns:
            drv.close(c)
        raise Failure('connect', e)
    try:
        try:
            fns = [drv.bind(c, wl) for c in conns]
        except BaseException as e:
            raise Failure('bind', e)
        try:
            pids = [drv.backend_pid(c) for c in conns]
            for fn in fns:
                res = fn()
                n = wl.count(res)
                if n != expected:
                    raise Mismatch(f'row count {n}, expected {expected}')
                wl.check(res)
        except BaseException as e:
            raise Failure('validate', e)
        try:
            if spec['warmup'] > 0:
                run_window_threads(fns, wl.count, expected, spec['warmup'])
        except BaseException as e:
            raise Failure('warmup', e)
        try:
            stat0 = proc_stat_cpu()
            srv0 = pid_cpu_seconds(pids)
            gc0 = [g['collections'] for g in gc.get_stats()]
            cpu0 = time.process_time()      # all threads of the process
            start, end, lats, lasts = run_window_threads(
                fns, wl.count, expected, spec['duration'])
            cpu1 = time.process_time()
            gc1 = [g['collections'] for g in gc.get_stats()]
            srv1 = pid_cpu_seconds(pids)
            stat1 = proc_stat_cpu()
            for res in lasts:
                if res is not None:
                    wl.check(res)
        except BaseException as e:
            raise Failure('timed', e)
    finally:
        close_err = None
        for c in conns:
            try:
                drv.close(c)
            except BaseException as e:  # noqa: PERF203
                close_err = close_err or e
    if close_err is not None:
        raise Failure('close', close_err)
    return window_figures(out, lats, start, end, expected, cpu0, cpu1,
                          gc0, gc1, srv0, srv1, stat0, stat1)


# ------------------------------------------------- external (pgbench) --

def measure_external(spec: dict) -> dict:
    """pgbench, as a subprocess: no event loop, no Python on the client
    path.  A ``warmup``-second run is discarded, then the timed run; tps is
    pgbench's own (without connection time).  Client CPU is the children's
    rusage delta over the timed run (pgbench's process, including its
    connection setup).  pgbench has no per-query latencies without logging
    every transaction, so p50/p99 stay empty and its average is kept; the
    server backends are pgbench's own, so server CPU stays empty too."""
    wl = workloads_mod.get(spec['workload'])
    expected = int(spec['rows'])
    conc = int(wl.concurrency or spec['concurrency'])
    out: dict = {'workload': wl.id, 'driver': spec['driver'],
                 'loop': spec['loop'], 'concurrency': conc,
                 'expected_rows': expected,
                 'loop_impl': 'none (pgbench: C, libpq, one thread)'}
    try:
        drv = drivers_mod.load(spec['driver'])
        out['driver_info'] = drv.info()
    except BaseException as e:
        raise Failure('import', e)
    if not drv.supports(wl):
        raise Failure('bind', drivers_mod.Unsupported(
            f'{drv.name}: no script for {wl.id}'))
    fd, script = tempfile.mkstemp(prefix=f'bench-{wl.id}-', suffix='.sql')
    with os.fdopen(fd, 'w') as f:
        f.write(wl.pgbench)

    def run(seconds: float, stage: str) -> dict:
        cmd = drv.command(spec['dsn'], script, seconds, conc)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=seconds + 60)
        except BaseException as e:
            raise Failure(stage, e)
        res = drv.parse(p.stdout)
        if p.returncode != 0 or res['tps'] is None or res['aborted']:
            raise Failure(stage, RuntimeError(
                f'pgbench exited {p.returncode}: '
                + (p.stderr.strip() or p.stdout.strip())[-600:]))
        if res['failed'] or not res['transactions']:
            raise Failure(stage, RuntimeError(
                f"pgbench: {res['failed']} failed transactions, "
                f"{res['transactions']} done"))
        res['command'] = ' '.join(cmd[:-1] + ['<dsn>'])
        return res

    try:
        if spec['warmup'] > 0:
            run(spec['warmup'], 'warmup')
        stat0 = proc_stat_cpu()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = run(spec['duration'], 'timed')
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stat1 = proc_stat_cpu()
    finally:
        os.unlink(script)
    q = res['transactions']
    tps = res['tps']
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    elapsed = q / tps
    out.update({
        'queries': q,
        'elapsed_s': elapsed,
        'qps': tps,
        'rows_per_s': tps * expected,
        'lat_p50_us': None,
        'lat_p99_us': None,
        'lat_mean_us': (res['latency_avg_ms'] * 1e3
                        if res['latency_avg_ms'] is not None else None),
        'lat_max_us': None,
        'client_cpu_s': cpu,
        'client_cpu_us_per_query': cpu / q * 1e6,
        'client_cpu_pct': cpu / elapsed * 100,
        'server_cpu_us_per_query': None,
        'server_cpu_pct': None,
        'pgbench': res,
    })
    if stat0 and stat1 and stat1[1] > stat0[1]:
        out['machine_busy_pct'] = ((stat1[0] - stat0[0])
                                   / (stat1[1] - stat0[1]) * 100)
    else:
        out['machine_busy_pct'] = None
    return out


# -------------------------------------------------------------- admin --

IMPORTANT_SETTINGS = (
    'server_version', 'max_connections', 'shared_buffers', 'work_mem',
    'fsync', 'synchronous_commit', 'full_page_writes', 'jit', 'huge_pages',
    'wal_level', 'listen_addresses', 'unix_socket_directories',
    'password_encryption', 'ssl', 'max_worker_processes',
    'max_parallel_workers_per_gather', 'track_io_timing', 'log_statement',
    'shared_preload_libraries')


async def admin(spec: dict) -> dict:
    errors = {}
    drv = conn = None
    for name in spec['drivers']:
        try:
            drv = drivers_mod.load(name)
            conn = await drv.connect(spec['dsn'])
            break
        except BaseException as e:
            errors[name] = f'{type(e).__name__}: {e}'
            drv = conn = None
    if conn is None:
        return {'ok': False, 'stage': 'admin-connect', 'error': errors}
    try:
        out: dict = {'ok': True, 'admin_driver': drv.name}
        out['server_version'] = (await drv.query(conn, 'SELECT version()'))[0][0]
        addr = (await drv.query(
            conn, 'SELECT inet_server_addr()::text, inet_server_port()'))[0]
        out['transport'] = ('unix socket' if addr[0] is None
                            else f'tcp {addr[0]}:{addr[1]}')
        names = ', '.join(f"'{n}'" for n in IMPORTANT_SETTINGS)
        rows = await drv.query(
            conn,
            'SELECT name, setting, coalesce(unit, \'\'), source '
            'FROM pg_settings WHERE name IN (' + names + ') '
            "OR source NOT IN ('default', 'override', 'client') "
            'ORDER BY name')
        out['settings'] = {r[0]: (r[1] + (f' {r[2]}' if r[2] else ''))
                           for r in rows}
        out['rows'] = {}
        for wid in spec['workloads']:
            wl = workloads_mod.get(wid)
            for sql in wl.setup:
                await drv.execute(conn, sql)
        # after ALL setup: created tables add pg_type rows (W2 counts them)
        for wid in spec['workloads']:
            wl = workloads_mod.get(wid)
            if isinstance(wl.rows, str):
                out['rows'][wl.id] = int((await drv.query(conn, wl.rows))[0][0])
            else:
                out['rows'][wl.id] = int(wl.rows)
        return out
    finally:
        await drv.close(conn)


# --------------------------------------------------------------- main --

def environment() -> dict:
    return {'python': platform.python_version(),
            'implementation': platform.python_implementation(),
            'pid': os.getpid()}


def run_reported(fn, spec: dict) -> dict:
    """fn(spec)'s result, ok unless it says otherwise (admin reports its
    own outcome), or the failure as a result: the stage a Failure names,
    'harness' for anything else."""
    try:
        result = fn(spec)
        result.setdefault('ok', True)
    except Failure as f:
        result = {'ok': False, 'stage': f.stage,
                  'error': f'{type(f.exc).__name__}: {f.exc}',
                  'traceback': ''.join(traceback.format_exception(f.exc))}
    except BaseException as e:
        result = {'ok': False, 'stage': 'harness',
                  'error': f'{type(e).__name__}: {e}',
                  'traceback': traceback.format_exc()}
    return result


def emit(result: dict, spec: dict) -> int:
    """Print one result line (JSON) for the harness; the exit status."""
    for k in ('driver', 'loop', 'workload'):
        if k in spec:
            result.setdefault(k, spec[k])
    result['env'] = environment()
    sys.stdout.flush()
    print(json.dumps(result, default=str))
    return 0 if result.get('ok') else 1


def run_async(spec: dict, mode: str, factory) -> dict:
    with asyncio.Runner(loop_factory=factory) as runner:
        if mode == 'admin':
            return runner.run(admin(spec))
        result = runner.run(measure(spec))
        result['loop_version'] = spec.get('loop_version')
        return result


def main() -> int:
    mode, spec = sys.argv[1], json.loads(sys.argv[2])
    if mode == 'run' and getattr(drivers_mod.DRIVERS.get(spec.get('driver')),
                                 'external', False):
        return emit(run_reported(measure_external, spec), spec)
    if mode == 'run' and drivers_mod.face(spec.get('driver')) == 'sync':
        return emit(run_reported(measure_sync, spec), spec)
    factory = None
    if spec.get('loop', 'asyncio') == 'uvloop':
        try:
            import uvloop
        except ImportError as e:
            print(json.dumps({'ok': False, 'stage': 'import-loop',
                              'error': f'{type(e).__name__}: {e}'}))
            return 2
        factory = uvloop.new_event_loop
        spec['loop_version'] = uvloop.__version__
    elif spec.get('loop', 'asyncio') != 'asyncio':
        print(json.dumps({'ok': False, 'stage': 'import-loop',
                          'error': f'unknown loop {spec["loop"]!r}'}))
        return 2
    return emit(run_reported(lambda sp: run_async(sp, mode, factory), spec),
                spec)

if __name__ == '__main__':
    sys.exit(main())
