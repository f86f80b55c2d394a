"""Memory per driver: peak RSS growth per fetched row, per idle connection.

    python bench/memory.py                      # 1M rows, 50 connections
    python bench/memory.py --rows 200000 --drivers pgwire,asyncpg
    python bench/memory.py --dsn postgresql://... --out bench/results

Every measurement runs in a fresh interpreter (python bench/memory.py
--child ...), so one driver's allocator state never colours another's:

  rows      the whole result fetched and held: a list of the driver's
            default row objects (Record, psycopg's tuples, psqlpy's tuples)
  dicts     the whole result as dicts: pgwire ``row_factory=dict_row``,
            asyncpg ``[dict(r) for r in await conn.fetch(q)]`` (what its
            users write: both lists are alive at the peak), psycopg
            ``dict_row``, psqlpy ``result()``
  cursor    the result streamed through a server-side cursor in a
            transaction, nothing kept: the peak must not grow with the rows
  idle      N open connections: RSS growth / N
  pooled    a pool holding N open connections: RSS growth / N

The row is (int8, text, timestamptz, numeric), the query
``SELECT i::int8, 'row ' || i, ts, i::numeric / 7 FROM generate_series``.
Peak growth = VmHWM after the fetch - VmRSS before it (the high-water mark is
reset through /proc/self/clear_refs first), so it is what the fetch costs on
top of a warmed-up connection.  Numbers are bytes; RSS is page-granular,
hence the large row count.  Instructions per call are bench/PROFILE.md's
business, timings bench/run.py's; this measures space only, so a busy
machine does not distort it.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

QUERY = ("SELECT i::int8 AS a, 'row ' || i AS b, "
         "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' "
         "AS c, i::numeric / 7 AS d FROM generate_series(1, {n}) AS i")
DRIVERS = ("pgwire", "asyncpg", "psycopg", "psqlpy")
MODES = ("rows", "dicts", "cursor", "idle", "pooled")


# --------------------------------------------------------------------------
# the child: one driver, one mode
# --------------------------------------------------------------------------

def _status(key: str) -> int:
    """A VmXXX line of /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class Meter:
    """RSS before, then the peak after the measured block."""

    def start(self) -> None:
        gc.collect()
        _reset_peak()
        self.before = _status("VmRSS")

    def stop(self) -> int:
        return _status("VmHWM") - self.before


async def _conns(m, mode, conns, connect, warm, close, make_pool,
                 close_pool):
    """idle/pooled: RSS growth for ``conns`` connections opened one by
    one (idle) or by a pool (pooled), after one warmed-up connection."""
    c0 = await connect()
    await warm(c0)
    m.start()
    if mode == "idle":
        cs = [await connect() for _ in range(conns)]
        grown = m.stop()
        for c in cs:
            await close(c)
    else:
        pool = await make_pool()
        grown = m.stop()
        await close_pool(pool)
    await close(c0)
    return grown


async def _pgwire(dsn, mode, n, conns):
    sys.path.insert(0, ROOT)
    import pgwire
    import pgwire.pool   # noqa: F401 - loaded before measuring, as
    from pgwire.rows import dict_row  # asyncpg's pool is at its import
    q = QUERY.format(n=n)
    m = Meter()
    if mode in ("idle", "pooled"):
        return await _conns(
            m, mode, conns, lambda: pgwire.connect(dsn),
            lambda c: c.fetch(QUERY.format(n=10)), lambda c: c.close(),
            lambda: pgwire.create_pool(dsn, min_size=conns, max_size=conns),
            lambda p: p.close())
    conn = await pgwire.connect(dsn)
    await conn.fetch(QUERY.format(n=10))
    await conn.fetch(QUERY.format(n=10), row_factory=dict_row)
    m.start()
    if mode == "rows":
        rows = await conn.fetch(q)
    elif mode == "dicts":
        rows = await conn.fetch(q, row_factory=dict_row)
    else:
        rows = None
        async with conn.transaction():
            async for _r in conn.cursor(q):
                pass
    grown = m.stop()
    assert rows is None or len(rows) == n
    await conn.close()
    return grown


async def _asyncpg(dsn, mode, n, conns):
    import asyncpg
    q = QUERY.format(n=n)
    m = Meter()
    if mode in ("idle", "pooled"):
        return await _conns(
            m, mode, conns, lambda: asyncpg.connect(dsn),
            lambda c: c.fetch(QUERY.format(n=10)), lambda c: c.close(),
            lambda: asyncpg.create_pool(dsn, min_size=conns,
                                        max_size=conns),
            lambda p: p.close())
    conn = await asyncpg.connect(dsn)
    await conn.fetch(QUERY.format(n=10))
    m.start()
    if mode == "rows":
        rows = await conn.fetch(q)
    elif mode == "dicts":
        rows = [dict(r) for r in await conn.fetch(q)]
    else:
        rows = None
        async with conn.transaction():
            async for _r in conn.cursor(q):
                pass
    grown = m.stop()
    assert rows is None or len(rows) == n
    await conn.close()
    return grown


async def _psycopg(dsn, mode, n, conns):
    import psycopg
    from psycopg.rows import dict_row
    q = QUERY.format(n=n)
    m = Meter()
    if mode in ("idle", "pooled"):
        async def warm(c):
            await (await c.execute(QUERY.format(n=10))).fetchall()

        async def make_pool():
            from psycopg_pool import AsyncConnectionPool
            pool = AsyncConnectionPool(dsn, min_size=conns, max_size=conns,
                                       open=False)
            await pool.open(wait=True, timeout=120)
            return pool
        return await _conns(
            m, mode, conns, lambda: psycopg.AsyncConnection.connect(dsn),
            warm, lambda c: c.close(), make_pool, lambda p: p.close())
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    await (await conn.execute(QUERY.format(n=10))).fetchall()
    m.start()
    if mode == "rows":
        rows = await (await conn.execute(q, prepare=False)).fetchall()
    elif mode == "dicts":
        cur = conn.cursor(row_factory=dict_row)
        rows = await (await cur.execute(q)).fetchall()
    else:
        rows = None
        async with conn.transaction():
            async with conn.cursor(name="mem") as cur:
                await cur.execute(q)
                async for _r in cur:
                    pass
    grown = m.stop()
    assert rows is None or len(rows) == n
    await conn.close()
    return grown


async def _psqlpy(dsn, mode, n, conns):
    import psqlpy
    q = QUERY.format(n=n)
    m = Meter()
    if mode == "pooled":
        return None     # its pool opens connections lazily, on use
    if mode == "idle":
        c0 = await psqlpy.connect(dsn=dsn)
        (await c0.fetch(QUERY.format(n=10))).result()
        m.start()
        cs = [await psqlpy.connect(dsn=dsn) for _ in range(conns)]
        grown = m.stop()
        for c in cs:
            c.close()
        c0.close()
        return grown
    conn = await psqlpy.connect(dsn=dsn)
    (await conn.fetch(QUERY.format(n=10))).result()
    m.start()
    if mode == "rows":
        rows = (await conn.fetch(q)).result(as_tuple=True)
    elif mode == "dicts":
        rows = (await conn.fetch(q)).result()
    else:
        return None     # not measured: see the report's note
    grown = m.stop()
    assert len(rows) == n
    conn.close()
    return grown


CHILDREN = {"pgwire": _pgwire, "asyncpg": _asyncpg, "psycopg": _psycopg,
            "psqlpy": _psqlpy}


def child(driver: str, mode: str, dsn: str, n: int, conns: int) -> None:
    try:
        grown = asyncio.run(CHILDREN[driver](dsn, mode, n, conns))
        out = {"bytes": grown}
    except ImportError as e:
        out = {"error": f"not installed: {e}"}
    except Exception as e:  # noqa: BLE001 - reported, not raised
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))


# --------------------------------------------------------------------------
# the parent: every (driver, mode) in a fresh process
# --------------------------------------------------------------------------

def run_child(driver, mode, dsn, n, conns, timeout=900):
    argv = [sys.executable, os.path.abspath(__file__), "--child", driver,
            mode, dsn, str(n), str(conns)]
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=timeout)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        return {"error": f"exit {p.returncode}: {p.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def per_unit(res, mode, n, conns):
    b = res.get("bytes")
    if b is None:
        return None
    if mode in ("rows", "dicts"):
        return b / n
    if mode in ("idle", "pooled"):
        return b / conns
    return b      # cursor: the whole peak, it must not scale with n


def report(results, n, conns, drivers):
    heads = {"rows": f"rows held, B/row ({n} rows)",
             "dicts": "dicts held, B/row",
             "cursor": "cursor stream, peak KiB",
             "idle": f"idle conn, KiB/conn ({conns})",
             "pooled": "pooled conn, KiB/conn"}
    lines = ["| driver | " + " | ".join(heads[m] for m in MODES) + " |",
             "|---|" + "---:|" * len(MODES)]
    for d in drivers:
        cells = []
        for mode in MODES:
            r = results[d][mode]
            v = per_unit(r, mode, n, conns)
            if v is None:
                cells.append("n/a" if "error" not in r else "FAILED")
            elif mode in ("rows", "dicts"):
                cells.append(f"{v:.0f}")
            else:
                cells.append(f"{v / 1024:.0f}")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    ref = results.get("asyncpg")
    if ref and "pgwire" in results:
        lines.append("")
        for mode in ("rows", "dicts", "idle", "pooled"):
            a = per_unit(ref[mode], mode, n, conns)
            b = per_unit(results["pgwire"][mode], mode, n, conns)
            if a and b:
                lines.append(f"- pgwire / asyncpg, {mode}: {b / a:.2f}x")
    errs = [f"- {d} {m}: {results[d][m]['error']}" for d in drivers
            for m in MODES if "error" in results[d][m]]
    if errs:
        lines += ["", "Not measured:"] + errs
    lines += ["", "n/a: psqlpy's pool opens connections lazily (nothing to "
              "hold), and it has no server-side cursor iteration measured "
              "here."]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--drivers", default=",".join(DRIVERS))
    ap.add_argument("--dsn")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--child", nargs=5, metavar=("DRIVER", "MODE", "DSN",
                                                 "ROWS", "CONNS"))
    a = ap.parse_args(argv)
    if a.child:
        d, mode, dsn, n, conns = a.child
        child(d, mode, dsn, int(n), int(conns))
        return 0
    drivers = [d for d in a.drivers.split(",") if d]
    cluster = None
    dsn = a.dsn
    if dsn is None:
        sys.path.insert(0, ROOT)
        from pgwire.cluster import TempCluster
        cluster = TempCluster(settings={"max_connections": 4 * a.conns + 20})
        cluster.start()
        dsn = cluster.dsn()
    try:
        results = {}
        for d in drivers:
            results[d] = {}
            for mode in MODES:
                t = time.monotonic()
                r = run_child(d, mode, dsn, a.rows, a.conns)
                results[d][mode] = r
                print(f"{d:8} {mode:7} {r} ({time.monotonic() - t:.1f} s)",
                      file=sys.stderr, flush=True)
    finally:
        if cluster is not None:
            cluster.cleanup()
    md = report(results, a.rows, a.conns, drivers)
    print(md)
    os.makedirs(a.out, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = os.path.join(a.out, f"memory-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump({"rows": a.rows, "conns": a.conns, "query": QUERY,
                   "python": sys.version, "results": results}, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
