"""Smoke test of an installed pgwire (scripts/wheel-smoke.sh): run by the
python of a fresh virtual environment into which a wheel or the sdist was
installed, never with the source tree on the path.

Starts a throwaway server (pgwire.cluster.TempCluster, from the installed
package) and checks: the package and its extension come from the
environment, the typing files are installed, connect (SCRAM over TCP),
queries with parameters and a few types, a prepared statement, a pool
under concurrent tasks, COPY in both directions.  Exits non-zero, with the
failing check, on any difference.

    python -P scripts/wheel_smoke.py LABEL
"""

import asyncio
import datetime
import decimal
import io
import os
import sys
import uuid


def check(cond, what):
    if not cond:
        raise SystemExit(f"wheel-smoke: FAILED: {what}")


def check_installed():
    import pgwire
    import pgwire._pgwire
    prefix = os.path.realpath(sys.prefix) + os.sep
    for mod in (pgwire, pgwire._pgwire):
        where = os.path.realpath(mod.__file__)
        check(where.startswith(prefix),
              f"{mod.__name__} imported from {where}, not from the "
              f"environment {sys.prefix}")
    pkg = os.path.dirname(pgwire.__file__)
    for name in ("py.typed", "_pgwire.pyi"):
        check(os.path.exists(os.path.join(pkg, name)),
              f"{name} is not installed in {pkg}")
    return pgwire


async def exercise(pgwire, cluster):
    kw = cluster.connect_kwargs(user="scram", host="tcp", ssl="disable")
    conn = await pgwire.connect(**kw)
    try:
        check(await conn.fetchval("SELECT $1::int + 1", 41) == 42,
              "fetchval with a parameter")
        u = uuid.uuid4()
        ts = datetime.datetime(2026, 1, 2, 3, 4, 5,
                               tzinfo=datetime.timezone.utc)
        row = await conn.fetchrow(
            "SELECT $1::numeric AS n, $2::timestamptz AS t, $3::text[] AS a,"
            " $4::uuid AS u, $5::jsonb AS j",
            decimal.Decimal("1.50"), ts, ["x", None], u, '{"k": [1]}')
        check(row["n"] == decimal.Decimal("1.50") and row["t"] == ts and
              row["a"] == ["x", None] and row["u"] == u and
              row["j"] == '{"k": [1]}', f"type round trip: {row!r}")
        await conn.execute(
            "CREATE TABLE smoke (id int PRIMARY KEY, name text)")
        await conn.executemany("INSERT INTO smoke VALUES ($1, $2)",
                               [(i, f"n{i}") for i in range(100)])
        stmt = await conn.prepare("SELECT name FROM smoke WHERE id = $1")
        check(await stmt.fetchval(7) == "n7", "prepared statement")

        # COPY: records in (binary), text in, CSV out
        status = await conn.copy_records_to_table(
            "smoke", records=[(i, f"c{i}") for i in range(100, 1100)])
        check(status == "COPY 1000", f"copy_records_to_table: {status}")
        status = await conn.copy_to_table(
            "smoke", source=b"2000\tt2000\n2001\t\\N\n")
        check(status == "COPY 2", f"copy_to_table: {status}")
        out = io.BytesIO()
        status = await conn.copy_from_query(
            "SELECT id, name FROM smoke WHERE id >= $1 ORDER BY id", 1098,
            output=out, format="csv")
        check(status == "COPY 4", f"copy_from_query: {status}")
        check(out.getvalue() == b"1098,c1098\n1099,c1099\n2000,t2000\n2001,\n",
              f"copy_from_query output: {out.getvalue()!r}")
    finally:
        await conn.close()

    async with pgwire.create_pool(min_size=1, max_size=4, **kw) as pool:
        async def one(i):
            async with pool.acquire(timeout=30) as c:
                async with c.transaction():
                    return await c.fetchval(
                        "SELECT count(*) + $1 FROM smoke", i)
        got = await asyncio.gather(*(one(i) for i in range(40)))
        check(got == [1102 + i for i in range(40)], f"pool results: {got}")
        check(pool.get_size() <= 4, f"pool size {pool.get_size()} > 4")
        check(await pool.fetchval("SELECT 1") == 1, "pool shortcut")


def main():
    label = sys.argv[1] if len(sys.argv) > 1 else "installed"
    pgwire = check_installed()
    from pgwire.cluster import TempCluster
    with TempCluster() as cluster:
        asyncio.run(exercise(pgwire, cluster))
    print(f"wheel-smoke: {label}: ok (pgwire {pgwire.__version__} from "
          f"{os.path.dirname(pgwire.__file__)})")


if __name__ == "__main__":
    main()
