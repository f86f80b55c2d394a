"""pgwire benchmark runner.  See bench/README.md and shared BENCH.md.

    python bench/run.py [--workloads W1,W2,W3,W4,W5,W9]
                        [--drivers pgwire,asyncpg,psycopg,psqlpy]
                        [--ceilings pgbench,floor] [--loops asyncio,uvloop]
                        [--duration 5] [--warmup 1] [--rounds 3] [--quick]
                        [--concurrency 10] [--dsn DSN] [--out bench/results]
                        [--no-chart]

Every (round, loop, workload, driver) is measured by bench/worker.py in a
fresh process; drivers, then the ceilings (pgbench, the no-decode floor), are
interleaved innermost so that the runs being compared sit next to each other
in time.  Writes <out>/<timestamp>.json (all raw rounds + metadata),
<out>/<timestamp>.md (the tables, also printed) and <out>/<timestamp>.png
(q/s ratios to asyncpg, bench/chart.py).
Exit status: 0 all runs passed, 1 some run failed (import/connect/...),
2 a driver returned wrong results (row count or sample value).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.util
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, 'worker.py')
sys.path.insert(0, HERE)

import drivers as drivers_mod  # noqa: E402
import workloads as workloads_mod  # noqa: E402

REF = drivers_mod.REFERENCE


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def redact(text: str) -> str:
    """Hide passwords in DSNs (URI and key=value forms)."""
    text = re.sub(r'(://[^:/@\s]*:)[^@\s]*@', r'\1***@', text)
    return re.sub(r'(password\s*=\s*)\S+', r'\1***', text)


def csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(',') if x.strip()]


QUICK = {'rounds': 1, 'duration': 2.0, 'warmup': 0.5}
NORMAL = {'rounds': 3, 'duration': 5.0, 'warmup': 1.0}


def default_drivers(face: str = 'async') -> list[str]:
    """pgwire and the reference always (a failure to import is reported);
    the other peers only when installed."""
    if face == 'sync':
        peers, always = drivers_mod.SYNC_PEERS, ('pgwire.sync',
                                                 drivers_mod.SYNC_REFERENCE)
    else:
        peers, always = drivers_mod.PEERS, ('pgwire', REF)
    out = []
    for d in peers:
        mod = drivers_mod.IMPORT_NAMES.get(d, d)
        if d in always or importlib.util.find_spec(mod) is not None:
            out.append(d)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Benchmark pgwire against its peers (see bench/README.md)')
    p.add_argument('--face', default='async', choices=('async', 'sync'),
                   help='async (default): the asyncio drivers, ratios to '
                   f'{REF}; sync: the blocking drivers ('
                   + ','.join(drivers_mod.SYNC_PEERS) + '), one thread per '
                   f'connection, ratios to {drivers_mod.SYNC_REFERENCE}, '
                   'workloads ' + ','.join(drivers_mod.SYNC_WORKLOADS))
    p.add_argument('--workloads', default=None, type=csv,
                   help='comma list (default: all; --face sync: '
                   + ','.join(drivers_mod.SYNC_WORKLOADS) + '), known: '
                   + ','.join(workloads_mod.BY_ID))
    p.add_argument('--drivers', default=None, type=csv,
                   help='comma list (default: ' + ','.join(drivers_mod.PEERS)
                   + ', those installed), known: ' + ','.join(
                       d for d in drivers_mod.DRIVERS
                       if not drivers_mod.is_ceiling(d)))
    p.add_argument('--ceilings', default=None,
                   type=lambda s: [] if s.strip() in ('', 'none') else csv(s),
                   help='comma list of ceilings run next to the drivers, '
                   'or "none" (default: pgbench,floor; pgbench only has W1; '
                   '--face sync: pgbench)')
    p.add_argument('--loops', default=None, type=csv,
                   help='comma list of event loops: asyncio, uvloop '
                   '(default: both; --face sync: threads, the only one)')
    p.add_argument('--duration', default=None, type=float,
                   help='timed window per run, seconds (default 5; --quick 2)')
    p.add_argument('--warmup', default=None, type=float,
                   help='discarded warm-up per run, seconds (default 1; '
                   '--quick 0.5)')
    p.add_argument('--rounds', default=None, type=int,
                   help='rounds; each driver runs once per round (default 3; '
                   '--quick 1)')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: 1 round, 2 s windows, 0.5 s warm-up '
                   '(explicit --rounds/--duration/--warmup still win)')
    p.add_argument('--concurrency', default=10, type=int,
                   help='connections = coroutines per run (default 10)')
    p.add_argument('--dsn', default=None,
                   help='use this server instead of a throwaway TempCluster')
    p.add_argument('--out', default=os.path.join(HERE, 'results'),
                   help='directory for <timestamp>.json, .md and .png')
    p.add_argument('--no-chart', action='store_true',
                   help='do not draw the PNG chart')
    a = p.parse_args(argv)
    for k, v in (QUICK if a.quick else NORMAL).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    sync = a.face == 'sync'
    a.ref = drivers_mod.SYNC_REFERENCE if sync else REF
    if a.workloads is None:
        a.workloads = list(drivers_mod.SYNC_WORKLOADS if sync
                           else workloads_mod.BY_ID)
    if a.ceilings is None:
        a.ceilings = list(drivers_mod.SYNC_CEILINGS if sync
                          else drivers_mod.CEILINGS)
    a.workloads = [workloads_mod.get(w).id for w in a.workloads]
    if a.drivers is None:
        a.drivers = default_drivers(a.face)
    for d in a.drivers + a.ceilings:
        if d not in drivers_mod.DRIVERS:
            p.error(f'unknown driver {d!r}; known: '
                    + ', '.join(drivers_mod.DRIVERS))
    for c in a.ceilings:
        if not drivers_mod.is_ceiling(c):
            p.error(f'{c!r} is not a ceiling; known: '
                    + ', '.join(drivers_mod.CEILINGS))
        if sync and c not in drivers_mod.SYNC_CEILINGS:
            p.error(f'--ceilings {c!r}: not with --face sync (it is an '
                    'asyncio client); known: '
                    + ', '.join(drivers_mod.SYNC_CEILINGS))
    a.drivers = [d for d in a.drivers if d not in a.ceilings]
    for d in a.drivers:
        if drivers_mod.face(d) != a.face:
            p.error(f'--drivers {d!r} is a driver of --face '
                    f'{drivers_mod.face(d)}, not of --face {a.face}; '
                    + ('--face sync drivers: '
                       + ', '.join(drivers_mod.SYNC_PEERS) if sync else
                       'use --face sync for it'))
    if sync:
        if a.loops not in (None, ['threads']):
            p.error(f'--loops {",".join(a.loops)!r}: --face sync has no event '
                    'loop (one thread per connection): leave --loops out')
        a.loops = ['threads']
    else:
        a.loops = a.loops or ['asyncio', 'uvloop']
        for lp in a.loops:
            if lp not in ('asyncio', 'uvloop'):
                p.error(f'unknown loop {lp!r}; known: asyncio, uvloop')
    if a.rounds < 1 or a.duration <= 0 or a.concurrency < 1:
        p.error('rounds, duration and concurrency must be positive')
    return a


def run_plan(args) -> list[tuple[str, list[str]]]:
    """[(workload, [drivers then the ceilings that apply to it])]"""
    plan = []
    for wid in args.workloads:
        wl = workloads_mod.get(wid)
        plan.append((wid, args.drivers + [
            c for c in args.ceilings if drivers_mod.supports(c, wl)]))
    return plan


def everyone(args) -> list[str]:
    return args.drivers + args.ceilings


# ------------------------------------------------------------ server --

def _temp_cluster_class():
    """pgwire.cluster.TempCluster, even if the pgwire package itself does
    not import (e.g. its C extension is not built)."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    try:
        return importlib.import_module('pgwire.cluster').TempCluster
    except ImportError as first:
        path = os.path.join(REPO, 'pgwire', 'cluster.py')
        if not os.path.exists(path):
            raise first
        spec = importlib.util.spec_from_file_location('_bench_cluster', path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.TempCluster


@contextlib.contextmanager
def server(dsn: str | None):
    if dsn:
        yield dsn, 'given by --dsn', dsn
        return
    try:
        TempCluster = _temp_cluster_class()
    except Exception as e:
        raise SystemExit(
            f'cannot start a throwaway server: pgwire.cluster.TempCluster '
            f'unavailable ({type(e).__name__}: {e}); pass --dsn') from None
    log('starting a throwaway server (pgwire.cluster.TempCluster) ...')
    with TempCluster() as cluster:
        # W10 connects as the helper's SCRAM-SHA-256 role (over the same
        # unix socket), so its figure includes SCRAM
        yield (cluster.dsn(user='postgres'), 'pgwire.cluster.TempCluster',
               cluster.dsn(user='scram'))


# ----------------------------------------------------------- workers --

def call_worker(mode: str, spec: dict, timeout: float) -> dict:
    cmd = [sys.executable, WORKER, mode, json.dumps(spec)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired as e:
        return {'ok': False, 'stage': 'timeout',
                'error': f'worker did not finish in {timeout:.0f} s',
                'stderr': (e.stderr or b'')[-2000:].decode('utf-8', 'replace')
                if isinstance(e.stderr, bytes) else (e.stderr or '')[-2000:]}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith('{')]
    try:
        res = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {'ok': False, 'stage': 'worker-crash',
                'error': f'worker exited {p.returncode} without a result',
                'stderr': p.stderr[-2000:]}
    if p.stderr.strip():
        res['stderr'] = p.stderr[-2000:]
    return res


def is_wrong_result(r: dict) -> bool:
    """A driver answered, but with wrong rows: the loud kind of failure."""
    return (not r.get('ok')
            and r.get('stage') in ('validate', 'warmup', 'timed')
            and ('Mismatch' in r.get('error', '')
                 or 'AssertionError' in r.get('error', '')))


# ----------------------------------------------------------- machine --

def machine_info() -> dict:
    info = {'hostname': platform.node(), 'cpus': os.cpu_count(),
            'kernel': platform.release(), 'python': sys.version.split()[0],
            'python_executable': sys.executable}
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu_model'] = line.split(':', 1)[1].strip()
                    break
    with contextlib.suppress(OSError):
        with open('/proc/meminfo') as f:
            info['mem_total'] = f.readline().split(':', 1)[1].strip()
    return info


def loadavg() -> str | None:
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return None


def git_describe() -> str | None:
    """The commit of the working tree whose pgwire is measured, '+dirty'
    when it has uncommitted changes outside bench/."""
    try:
        rev = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'],
                             capture_output=True, text=True, timeout=10)
        st = subprocess.run(['git', '-C', REPO, 'status', '--porcelain',
                             '--untracked-files=no', '--', '.', ':!bench'],
                            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + (' +uncommitted changes'
                                 if st.stdout.strip() else '')


# seconds per run on top of warm-up + window: process start, imports,
# 10 connections, validation, close (measured on the 2-core machine)
RUN_OVERHEAD_S = 0.5


# ----------------------------------------------------------- summary --

METRICS = ('qps', 'rows_per_s', 'client_cpu_us_per_query', 'lat_p50_us',
           'lat_p99_us', 'server_cpu_us_per_query', 'machine_busy_pct',
           'client_cpu_pct', 'server_cpu_pct')


def summarize(runs: list[dict], args) -> dict:
    """{loop: {workload: {driver: {...}}}} with medians, min/max, ratios to
    asyncpg and percentages of the ceilings (pgbench, floor)."""
    out: dict = {}
    plan = run_plan(args)
    for lp in args.loops:
        for wid, names in plan:
            cell = out.setdefault(lp, {}).setdefault(wid, {})
            for d in names:
                rs = [r for r in runs if r['loop'] == lp
                      and r['workload'] == wid and r['driver'] == d]
                good = [r for r in rs if r.get('ok')]
                bad = [r for r in rs if not r.get('ok')]
                s: dict = {'rounds_ok': len(good), 'rounds_failed': len(bad)}
                if bad:
                    s['errors'] = sorted({f"{r.get('stage')}: {r.get('error')}"
                                          for r in bad})
                    s['wrong_result'] = any(is_wrong_result(r) for r in bad)
                for m in METRICS:
                    vals = [r[m] for r in good if r.get(m) is not None]
                    if vals:
                        s[m] = statistics.median(vals)
                        s[m + '_min'] = min(vals)
                        s[m + '_max'] = max(vals)
                cell[d] = s
            ref = cell.get(args.ref, {})
            for d, s in cell.items():
                if d != args.ref:
                    if s.get('qps') and ref.get('qps'):
                        s['qps_ratio'] = s['qps'] / ref['qps']
                    if (s.get('client_cpu_us_per_query')
                            and ref.get('client_cpu_us_per_query')):
                        s['cpu_ratio'] = (s['client_cpu_us_per_query']
                                          / ref['client_cpu_us_per_query'])
                if drivers_mod.is_ceiling(d):
                    continue
                for c in args.ceilings:
                    cq = cell.get(c, {}).get('qps')
                    if s.get('qps') and cq:
                        s[f'pct_of_{c}'] = s['qps'] / cq * 100
    return out


def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt_num(x, digits=0) -> str:
    if x is None:
        return '–'
    if digits == 0:
        return f'{x:,.0f}'
    return f'{x:,.{digits}f}'


def fmt_range(s: dict, m: str, digits=0) -> str:
    if m + '_min' not in s:
        return '–'
    return f'{fmt_num(s[m + "_min"], digits)}–{fmt_num(s[m + "_max"], digits)}'


def fmt_ratio(x) -> str:
    return '–' if x is None else f'{x:.2f}×'


def fmt_pct(x) -> str:
    return '–' if x is None else f'{x:.0f} %'


CEILING_NOTES = {
    'pgbench': ('*pgbench* = libpq C client, `-M prepared -j 1 -c '
                '<concurrency>`, W1 only'),
    'floor': ('*floor* = bench/floor.py, an asyncio client that prepares once, '
              'sends pre-encoded Bind/Execute/Sync and decodes nothing'),
}


def render_markdown(meta: dict, summary: dict, runs: list[dict], args) -> str:
    L: list[str] = []
    a = L.append
    a(f"# pgwire benchmark {meta['timestamp']}")
    a('')
    a(f"`{meta['command']}`")
    a('')
    m = meta['machine']
    a(f"- machine: {m.get('cpus')} CPUs ({m.get('cpu_model', '?')}), "
      f"{m.get('mem_total', '?')}, Linux {m.get('kernel')}, "
      f"Python {m.get('python')}; load average before/after: "
      f"{meta.get('loadavg_before')} / {meta.get('loadavg_after')}")
    srv = meta.get('server', {})
    a(f"- server: {srv.get('server_version', '?')} via {srv.get('transport', '?')} "
      f"({meta.get('server_source')})")
    st = srv.get('settings', {})
    keys = ('shared_buffers', 'max_connections', 'fsync', 'synchronous_commit',
            'jit', 'huge_pages', 'password_encryption', 'ssl')
    a('- server settings: ' + ', '.join(f'{k}={st[k]}' for k in keys if k in st)
      + ' (all non-default settings are in the JSON)')
    a(f"- method: {args.rounds} rounds × each driver in a fresh process, drivers "
      f"interleaved; {args.concurrency} connections = {args.concurrency} "
      + ('threads (sync face, blocking drivers)' if args.face == 'sync'
         else 'coroutines on one event loop')
      + f"; {args.warmup:g} s warm-up discarded, "
      f"{args.duration:g} s timed window; every call's row count checked, "
      'sample values checked on each connection\'s first and last call.')
    for d, inf in meta.get('drivers', {}).items():
        if 'version' in inf:
            a(f"- {d} {inf['version']}: {inf.get('settings', '')}"
              + (f" [{inf['impl']}]" if inf.get('impl') else ''))
        else:
            a(f"- {d}: not available ({inf.get('error')})")
    loops_v = {r['loop']: r.get('loop_impl') for r in runs
               if r.get('loop_impl') and r['driver'] != 'pgbench'}
    if loops_v:
        a('- event loops: ' + ', '.join(f'{k} = {v}' for k, v in loops_v.items()))
    if meta.get('pgwire_commit'):
        a(f"- pgwire measured: {meta['pgwire_commit']}")
    a('')
    a('Medians over rounds. q/s and CPU µs/q also show the round-to-round '
      f'spread (min–max). Ratios are median(driver) / median({args.ref}): '
      'q/s above 1× is faster, CPU/q below 1× is cheaper.')
    if args.ceilings:
        a('Ceilings (not peers, in italics): '
          + '; '.join(CEILING_NOTES[c] for c in args.ceilings)
          + '. "% of X" = median q/s of the driver ÷ median q/s of X on the '
          'same loop and workload.')
    a('')
    plan = run_plan(args)
    for lp in args.loops:
        a(f'## {lp}' + (' (sync face: pgwire.sync and the blocking drivers)'
                         if args.face == 'sync' else ''))
        a('')
        a('| workload | driver | q/s | q/s min–max | rows/s | client CPU µs/q '
          '| CPU min–max | p50 µs | p99 µs | server CPU µs/q | machine busy % '
          f'| q/s ÷ {args.ref} | CPU/q ÷ {args.ref} |'
          + ''.join(f' % of {c} |' for c in args.ceilings))
        a('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'
          + '--:|' * len(args.ceilings))
        ncols = 13 + len(args.ceilings)
        for wid, names in plan:
            for d in names:
                s = summary[lp][wid][d]
                ceil = drivers_mod.is_ceiling(d)
                label = f'*{d}*' if ceil else d
                if not s['rounds_ok'] and not s['rounds_failed']:
                    a(f'| {wid} | {label} | not run (interrupted) |'
                      + ' |' * (ncols - 3))
                    continue
                if not s['rounds_ok']:
                    err = s['errors'][0]
                    tag = 'WRONG RESULT' if s.get('wrong_result') else 'FAILED'
                    err = err.replace('|', '\\|').replace('\n', ' ')[:160]
                    a(f'| {wid} | {label} | **{tag}** | {err} |'
                      + ' |' * (ncols - 4))
                    continue
                note = (f" ({s['rounds_failed']} failed)"
                        if s['rounds_failed'] else '')
                a('| ' + ' | '.join([
                    wid, label + note,
                    fmt_num(s.get('qps')), fmt_range(s, 'qps'),
                    fmt_num(s.get('rows_per_s')),
                    fmt_num(s.get('client_cpu_us_per_query'), 1),
                    fmt_range(s, 'client_cpu_us_per_query', 1),
                    fmt_num(s.get('lat_p50_us')), fmt_num(s.get('lat_p99_us')),
                    fmt_num(s.get('server_cpu_us_per_query'), 1),
                    fmt_num(s.get('machine_busy_pct')),
                    '' if d == args.ref else fmt_ratio(s.get('qps_ratio')),
                    '' if d == args.ref else fmt_ratio(s.get('cpu_ratio')),
                ] + ['' if ceil else fmt_pct(s.get(f'pct_of_{c}'))
                     for c in args.ceilings]) + ' |')
        a('')
    others = [d for d in args.drivers if d != args.ref]
    if args.ref in args.drivers and others:
        a(f'## Ratios to {args.ref} (q/s ratio / CPU-per-query ratio)')
        a('')
        a('| loop | driver | ' + ' | '.join(args.workloads)
          + ' | geometric mean |')
        a('|---|---|' + '--:|' * (len(args.workloads) + 1))
        for lp in args.loops:
            for d in others:
                cells, q_r, c_r = [], [], []
                for wid in args.workloads:
                    s = summary[lp][wid][d]
                    q, c = s.get('qps_ratio'), s.get('cpu_ratio')
                    q_r.append(q)
                    c_r.append(c)
                    cells.append(f'{fmt_ratio(q)} / {fmt_ratio(c)}'
                                 if q or c else '–')
                gq, gc = geomean(q_r), geomean(c_r)
                g = (f'{fmt_ratio(gq)} / {fmt_ratio(gc)}' if gq or gc else '–')
                a(f'| {lp} | {d} | ' + ' | '.join(cells) + f' | {g} |')
        a('')
    # "% of ceiling": one column per (workload, ceiling) that was measured
    cols = [(wid, c) for wid, names in plan for c in args.ceilings
            if c in names]
    if cols and args.drivers:
        a('## % of ceiling (driver q/s ÷ ceiling q/s)')
        a('')
        a('| loop | driver | ' + ' | '.join(f'{w} % of {c}' for w, c in cols)
          + ' |')
        a('|---|---|' + '--:|' * len(cols))
        for lp in args.loops:
            for c in args.ceilings:
                row = [fmt_num(summary[lp][w][c].get('qps')) if cc == c
                       else '' for w, cc in cols]
                a(f'| {lp} | *{c} q/s* | ' + ' | '.join(row) + ' |')
            for d in args.drivers:
                row = [fmt_pct(summary[lp][w][d].get(f'pct_of_{c}'))
                       for w, c in cols]
                a(f'| {lp} | {d} | ' + ' | '.join(row) + ' |')
        a('')
    fails = [r for r in runs if not r.get('ok')]
    if fails:
        a('## Failures')
        a('')
        seen = set()
        for r in fails:
            key = (r['driver'], r.get('stage'), r.get('error'))
            if key in seen:
                continue
            seen.add(key)
            n = sum(1 for x in fails if (x['driver'], x.get('stage'),
                                         x.get('error')) == key)
            tag = 'WRONG RESULT' if is_wrong_result(r) else 'failed'
            a(f"- **{r['driver']}** {tag} ×{n} at {r.get('stage')}: "
              f"`{r.get('error')}`")
        a('')
    return '\n'.join(L)


# -------------------------------------------------------------- main --

def main(argv=None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime('%Y%m%dT%H%M%SZ')
    plan = run_plan(args)
    n_runs = args.rounds * len(args.loops) * sum(len(ns) for _, ns in plan)
    log(f'{n_runs} runs, about '
        f'{n_runs * (args.duration + args.warmup + RUN_OVERHEAD_S) / 60:.1f} min')
    meta: dict = {
        'timestamp': stamp,
        'command': ' '.join(shlex.quote(x) for x in
                            [os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])
        if argv is None else 'run.main(' + repr(argv) + ')',
        'args': {k: v for k, v in vars(args).items() if k != 'dsn'},
        'reference': args.ref,
        'face': args.face,
        'machine': machine_info(),
        'loadavg_before': loadavg(),
        'pgwire_commit': git_describe(),
        'workloads': {w: workloads_mod.get(w).title for w in args.workloads},
    }
    meta['command'] = redact(meta['command'])
    runs: list[dict] = []
    timeout = args.warmup + args.duration + 60

    with server(args.dsn) as (dsn, source, connect_dsn):
        meta['server_source'] = source
        meta['dsn'] = redact(dsn)
        # the admin worker is an asyncio one (both faces: setup SQL only)
        admin_pref = [REF] + [d for d in args.drivers if d != REF and
                              drivers_mod.face(d) == 'async'] + [
            d for d in drivers_mod.PEERS if d != REF and d not in args.drivers]
        adm = call_worker('admin', {'dsn': dsn, 'drivers': admin_pref,
                                    'workloads': args.workloads}, 120)
        if not adm.get('ok'):
            log(f'cannot prepare the server: {adm}')
            return 1
        meta['server'] = {k: adm[k] for k in
                          ('server_version', 'transport', 'settings',
                           'admin_driver')}
        log(f"server: {adm['server_version']} via {adm['transport']}")
        expected_rows = adm['rows']

        skip: dict[str, str] = {}        # driver -> import error
        meta['drivers'] = {}
        i = 0
        try:
            for rnd in range(1, args.rounds + 1):
                for lp in args.loops:
                    for wid, names in plan:
                        for d in names:
                            i += 1
                            base = {'round': rnd, 'loop': lp, 'workload': wid,
                                    'driver': d}
                            if d in skip:
                                runs.append({**base, 'ok': False,
                                             'stage': 'import',
                                             'error': skip[d],
                                             'skipped': True})
                                continue
                            spec = {**base, 'dsn': dsn,
                                    'connect_dsn': connect_dsn,
                                    'duration': args.duration,
                                    'warmup': args.warmup,
                                    'concurrency': args.concurrency,
                                    'rows': expected_rows[wid]}
                            r = call_worker('run', spec, timeout)
                            r.update(base)
                            runs.append(r)
                            if r.get('driver_info'):
                                meta['drivers'].setdefault(d, r['driver_info'])
                            tag = f'[{i}/{n_runs}] round {rnd} {lp} {wid} {d}'
                            if r.get('ok'):
                                log(f"{tag}: {r['qps']:,.0f} q/s, "
                                    f"{r['client_cpu_us_per_query']:.1f} µs CPU/q, "
                                    f"p99 {fmt_num(r.get('lat_p99_us'))} µs, "
                                    f"machine {r['machine_busy_pct'] or 0:.0f}% busy")
                            elif is_wrong_result(r):
                                log(f"{tag}: !!! WRONG RESULT !!! "
                                    f"{r['stage']}: {r['error']}")
                            else:
                                log(f"{tag}: FAILED at {r.get('stage')}: "
                                    f"{r.get('error')}")
                                if r.get('stage') == 'import':
                                    skip[d] = r.get('error', '?')
                                    meta['drivers'][d] = {'error': skip[d]}
        except KeyboardInterrupt:
            log('interrupted: writing the rounds done so far')
            meta['interrupted'] = True

    meta['loadavg_after'] = loadavg()
    meta['finished'] = dt.datetime.now(dt.timezone.utc).strftime(
        '%Y%m%dT%H%M%SZ')
    meta['wall_s'] = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    summary = summarize(runs, args)
    md = render_markdown(meta, summary, runs, args)

    os.makedirs(args.out, exist_ok=True)
    jpath = os.path.join(args.out, f'{stamp}.json')
    mpath = os.path.join(args.out, f'{stamp}.md')
    with open(jpath, 'w') as f:
        json.dump({'meta': meta, 'summary': summary, 'runs': runs}, f,
                  indent=1, default=str)
    with open(mpath, 'w') as f:
        f.write(md + '\n')
    print(md)
    log(f'wrote {jpath} and {mpath}')
    if not args.no_chart:
        try:
            import chart
            ppath = chart.draw(jpath)
            log(f'wrote {ppath}')
        except ImportError as e:
            log(f'no chart: {e} (pip install matplotlib, or the bench extra)')
        except Exception as e:  # a chart must never cost the results
            log(f'no chart: {type(e).__name__}: {e}')

    if any(is_wrong_result(r) for r in runs):
        log('!!! some driver returned WRONG RESULTS: see the Failures section')
        return 2
    return 1 if any(not r.get('ok') for r in runs) else 0


if __name__ == '__main__':
    sys.exit(main())
