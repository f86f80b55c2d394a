"""The benchmark chart: q/s ratio to asyncpg, grouped by workload, one panel
per event loop.  run.py draws it after every run; to redraw from a result:

    python bench/chart.py bench/results/<timestamp>.json [out.png]

Bars grow from the 1.0 line (asyncpg) on a log scale, so 2× faster and 2×
slower are the same length; the whisker on each bar is that driver's
min–max q/s over the rounds ÷ asyncpg's median.  The ceilings (pgbench for
W1, the no-decode floor) are drawn hatched in grey: they are not peers, they
show how much room there is above the drivers.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import textwrap

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

STYLE = {   # driver -> (face colour, hatch)
    'pgwire': ('#1f77b4', None),
    'psycopg': ('#ff7f0e', None),
    'psqlpy': ('#2ca02c', None),
    'floor': ('#d9d9d9', '///'),
    'pgbench': ('#8c8c8c', 'xx'),
}
FALLBACK = ['#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22']


def _label(wid: str, title: str, width: int = 16) -> str:
    title = re.sub(r'\s*\((fetch\w*|executemany|copy\w*)\)\s*$', '', title)
    return wid + '\n' + '\n'.join(textwrap.wrap(title, width))


def _wid_key(wid: str):
    """W2 before W10."""
    m = re.match(r'([A-Za-z]*)(\d+)$', wid)
    return (m.group(1), int(m.group(2))) if m else (wid, 0)


def _fmt(r: float) -> str:
    return f'{r:.2f}' if r < 10 else f'{r:.0f}'


def draw(json_path: str, png_path: str | None = None) -> str:
    with open(json_path) as f:
        data = json.load(f)
    meta, summary = data['meta'], data['summary']
    ref = meta.get('reference', 'asyncpg')
    args = meta.get('args', {})
    loops = [lp for lp in args.get('loops', list(summary)) if lp in summary]
    workloads = sorted((w for w in args.get('workloads', [])
                        if w in summary[loops[0]]), key=_wid_key)
    titles = meta.get('workloads', {})
    drivers = [d for d in args.get('drivers', []) if d != ref]
    ceilings = list(args.get('ceilings', []))
    names = drivers + ceilings
    colours = dict(STYLE)
    for d, c in zip([d for d in names if d not in colours], FALLBACK):
        colours[d] = (c, None)

    # every ratio first, to share one y range across the panels
    ratios = []
    for lp in loops:
        for w in workloads:
            refq = summary[lp][w].get(ref, {}).get('qps')
            for d in names:
                s = summary[lp][w].get(d, {})
                if refq and s.get('qps'):
                    ratios += [s['qps'] / refq,
                               s.get('qps_min', s['qps']) / refq,
                               s.get('qps_max', s['qps']) / refq]
    lo = min(ratios + [0.8]) / 1.35
    hi = max(ratios + [1.25]) * 1.45

    # room for the labels: about 0.85 inch per workload and loop
    width = max(7.2, 0.85 * len(workloads) + 1.5)
    # one panel (--face sync) still needs the width of the title lines
    fig, axes = plt.subplots(1, len(loops),
                             figsize=(max(width * len(loops), 13.5), 6.2),
                             sharey=True, squeeze=False)
    width = 0.84 / max(1, len(names))
    for ax, lp in zip(axes[0], loops):
        for k, d in enumerate(names):
            face, hatch = colours[d]
            for i, w in enumerate(workloads):
                x = i - 0.42 + width * (k + 0.5)
                refq = summary[lp][w].get(ref, {}).get('qps')
                s = summary[lp][w].get(d)
                if s is None:                # a ceiling that has no W-n
                    continue
                if not (refq and s.get('qps')):
                    why = ('wrong' if s.get('wrong_result') else
                           'failed' if s.get('rounds_failed') else 'n/a')
                    ax.text(x, 1.0, why, rotation=90, ha='center',
                            va='bottom', fontsize=7, color='#b00000')
                    continue
                r = s['qps'] / refq
                ax.bar(x, r - 1.0, bottom=1.0, width=width * 0.92,
                       color=face, hatch=hatch, edgecolor='#404040',
                       linewidth=0.6, zorder=2)
                rmin = s.get('qps_min', s['qps']) / refq
                rmax = s.get('qps_max', s['qps']) / refq
                if s.get('rounds_ok', 1) > 1:
                    ax.plot([x, x], [rmin, rmax], color='black', lw=0.8,
                            zorder=3)
                top = max(r, rmax) if r >= 1 else min(r, rmin)
                ax.text(x, top * (1.03 if r >= 1 else 1 / 1.03), _fmt(r),
                        ha='center', va='bottom' if r >= 1 else 'top',
                        fontsize=7, rotation=90 if len(names) > 3 else 0,
                        zorder=4)
        ax.axhline(1.0, color='black', lw=1.2, zorder=1)
        ax.set_yscale('log')
        ax.set_ylim(lo, hi)
        ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8,
                             12, 16, 24, 32) if lo <= t <= hi]
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_yticklabels([f'{ref} 1×' if t == 1 else f'{t:g}×'
                            for t in ticks])
        ax.grid(axis='y', color='#e0e0e0', zorder=0)
        ax.set_xticks(range(len(workloads)))
        wrap = 16 if len(workloads) <= 7 else 12
        ax.set_xticklabels([_label(w, titles.get(w, ''), wrap)
                            for w in workloads], fontsize=7.5)
        ax.set_xlim(-0.55, len(workloads) - 0.45)
        ax.set_title('sync face, one thread per connection' if lp == 'threads'
                     else f'{lp} event loop', fontsize=11)
        for side in ('top', 'right'):
            ax.spines[side].set_visible(False)
    axes[0][0].set_ylabel(f'queries/s ÷ {ref}   (log scale; higher is faster)')

    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colours[d][0],
                             hatch=colours[d][1], edgecolor='#404040',
                             linewidth=0.6) for d in names]
    labels = [d + (' (ceiling)' if d in ceilings else '') for d in names]
    fig.legend(handles, labels, loc='upper center', ncol=len(names),
               bbox_to_anchor=(0.5, 0.905), frameon=False, fontsize=9)

    m = meta.get('machine', {})
    try:
        when = dt.datetime.strptime(meta['timestamp'], '%Y%m%dT%H%M%SZ')
        when_s = when.strftime('%Y-%m-%d %H:%M UTC')
    except (KeyError, ValueError):
        when_s = meta.get('timestamp', '?')
    srv = meta.get('server', {}).get('server_version', '?').split(' on ')[0]
    rounds = args.get('rounds', '?')
    fig.suptitle(
        f'pgwire and peers: queries/s ÷ {ref} — median of {rounds} '
        f"round{'' if rounds == 1 else 's'} × {args.get('duration', 0):g} s, "
        f"{args.get('concurrency', '?')} connections — {when_s}",
        fontsize=13, y=0.985)
    load = (f"load avg 1/5/15 min {meta.get('loadavg_before', '?')} → "
            f"{meta.get('loadavg_after', '?')}")
    fig.text(0.5, 0.935,
             f"{m.get('hostname', '?')}: {m.get('cpus', '?')} CPUs "
             f"({m.get('cpu_model', '?')}), shared with other work ({load}); "
             f"{srv} via {meta.get('server', {}).get('transport', '?')}; "
             f"pgwire {meta.get('pgwire_commit') or '?'}",
             ha='center', fontsize=8.5, color='#404040')
    fig.text(0.01, 0.01,
             f'Bars start at the {ref} line; whiskers = min–max q/s over the '
             f'rounds ÷ {ref} median; hatched = ceilings, not peers '
             '(pgbench: libpq C client, W1 only; floor: bench/floor.py, '
             'asyncio, no decoding).  Tables: the .md next to this file.',
             fontsize=7.5, color='#404040')
    fig.tight_layout(rect=(0, 0.025, 1, 0.875))
    png_path = png_path or os.path.splitext(json_path)[0] + '.png'
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


if __name__ == '__main__':
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    print(draw(*sys.argv[1:]))
