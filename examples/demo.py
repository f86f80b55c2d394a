"""pgwire demo: start a throwaway PostgreSQL, connect, create a table,
insert, query, and show an error and a timeout.

    bash scripts/demo.sh        (or: python examples/demo.py)
"""

import asyncio
import datetime
import decimal

import pgwire
from pgwire.cluster import TempCluster


async def main(cluster):
    # SCRAM-SHA-256 over TCP, as a real application would connect.
    user, password = cluster.users["scram"]
    dsn = f"postgresql://{user}:{password}@127.0.0.1:{cluster.port}/postgres"
    print(f"connecting to {dsn.replace(password, '***')}")
    conn = await pgwire.connect(dsn, ssl="disable")
    print("server version:", conn.get_server_version())

    await conn.execute("""
        CREATE TEMP TABLE items (
            id      int PRIMARY KEY,
            name    text NOT NULL,
            price   numeric(10, 2),
            added   timestamptz DEFAULT now(),
            tags    text[]
        )""")
    await conn.executemany(
        "INSERT INTO items (id, name, price, tags) VALUES ($1, $2, $3, $4)",
        [(1, "apple", decimal.Decimal("0.50"), ["fruit", "red"]),
         (2, "bread", decimal.Decimal("2.25"), ["bakery"]),
         (3, "cheese", decimal.Decimal("7.90"), None)])
    print("inserted 3 rows with executemany")

    rows = await conn.fetch(
        "SELECT id, name, price, tags FROM items WHERE price > $1 ORDER BY id",
        decimal.Decimal("1"))
    for r in rows:
        print("  ", r)
    total = await conn.fetchval("SELECT sum(price) FROM items")
    print("total price:", total)
    added = await conn.fetchval("SELECT added FROM items WHERE id = 1")
    assert isinstance(added, datetime.datetime)

    print("an error (duplicate key):")
    try:
        await conn.execute("INSERT INTO items (id, name) VALUES (1, 'dup')")
    except pgwire.UniqueViolationError as e:
        print(f"   {type(e).__name__}: {e} (sqlstate {e.sqlstate})")

    print("a bad argument:")
    try:
        await conn.fetchval("SELECT $1::int", "not a number")
    except pgwire.DataError as e:
        print(f"   {type(e).__name__}: {e}")

    print("a timeout (pg_sleep(5) with timeout=0.5):")
    t0 = asyncio.get_running_loop().time()
    try:
        await conn.fetchval("SELECT pg_sleep(5)", timeout=0.5)
    except asyncio.TimeoutError:
        dt = asyncio.get_running_loop().time() - t0
        print(f"   TimeoutError after {dt:.2f}s; the query was cancelled "
              "on the server")
    print("the connection is still usable:",
          await conn.fetchval("SELECT 'yes'"))
    await conn.close()
    print("closed.")


if __name__ == "__main__":
    print("starting a throwaway PostgreSQL server...")
    with TempCluster() as cluster:
        asyncio.run(main(cluster))
    print("server stopped and removed.")
