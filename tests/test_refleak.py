"""Reference leaks: the main operations run in a loop must return the
interpreter to its baseline -- allocated memory blocks
(sys.getallocatedblocks) and GC-tracked objects -- once caches are warm.

A leak of one object per operation shows up as thousands of blocks over
the measured iterations; the bounds leave room only for allocator noise
(measured: 40-311 blocks, not growing with the number of rounds).
(Under PYTHONMALLOC=malloc, as in `make pytest-asan`, getallocatedblocks
is always 0 and only the object count is checked.)
"""

import asyncio
import gc
import io
import sys

import pytest

import pgwire
from pgwire import exceptions as exc


def _raising_rows(n):
    for i in range(n):
        yield (i, "s" * 60)
    raise KeyError("generator failed")


async def _round(conn, stmt, pool):
    await conn.execute("SELECT 1")
    await conn.execute("INSERT INTO leak_t VALUES ($1, $2)", 1, "a")
    await conn.fetch("SELECT i, 'x' || i, i * 0.5, now(), ARRAY[i, i] "
                     "FROM generate_series(1, 20) i")
    await conn.fetchrow("SELECT $1::text, $2::numeric, $3::uuid", "t",
                        1.5, "00000000-0000-0000-0000-000000000001")
    await conn.fetchval("SELECT $1::int8 + 1", 41)
    await conn.executemany("INSERT INTO leak_t VALUES ($1, $2)",
                           [(i, "m") for i in range(5)])
    await conn.fetchmany("SELECT $1::int", [(1,), (2,)])
    # a batch of several 128 KiB chunks (streamed), and one whose
    # generator raises after its first chunks went out
    await conn.executemany("INSERT INTO leak_t VALUES ($1, $2)",
                           ((i, "s" * 60) for i in range(3000)))
    with pytest.raises(KeyError):
        await conn.executemany("INSERT INTO leak_t VALUES ($1, $2)",
                               _raising_rows(3000))
    await stmt.fetch(3)
    with pytest.raises(exc.DivisionByZeroError):
        await conn.fetchval("SELECT 1 / $1::int", 0)
    with pytest.raises(exc.DataError):
        await conn.fetchval("SELECT $1::int", "not an int")
    with pytest.raises(asyncio.TimeoutError):
        await conn.fetchval("SELECT pg_sleep(1)", timeout=0.001)
    async with conn.transaction():
        async for _ in conn.cursor("SELECT generate_series(1, 30)",
                                   prefetch=7):
            pass
        async with conn.transaction():         # savepoint
            await conn.execute("SELECT 1")
    try:
        async with conn.transaction():
            raise KeyError("rollback")
    except KeyError:
        pass
    await conn.copy_records_to_table("leak_t", records=[(1, "c")] * 50)
    buf = io.BytesIO()
    await conn.copy_from_query("SELECT * FROM leak_t LIMIT 50", output=buf)
    await conn.copy_to_table("leak_t", source=buf.getvalue())
    await conn.execute("TRUNCATE leak_t")
    await pool.fetchval("SELECT 2")
    async with pool.acquire() as c:
        await c.fetchval("SELECT 3")


async def test_main_operations_do_not_leak(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs())
    pool = await pgwire.create_pool(**cluster.connect_kwargs(),
                                    min_size=1, max_size=1)
    try:
        await conn.execute("CREATE TEMP TABLE leak_t (i int, t text)")
        stmt = await conn.prepare("SELECT $1::int")
        for _ in range(30):                    # warm every cache
            await _round(conn, stmt, pool)
        gc.collect()
        blocks0 = sys.getallocatedblocks()
        objects0 = len(gc.get_objects())
        rounds = 200
        for _ in range(rounds):
            await _round(conn, stmt, pool)
        gc.collect()
        blocks = sys.getallocatedblocks() - blocks0
        objects = len(gc.get_objects()) - objects0
        # ~20 operations per round: one leaked block per operation would
        # be 4000; without leaks the allocator's noise stays in the low
        # hundreds and does not grow with the number of rounds
        assert blocks < 1500, (blocks, objects)
        assert objects < 50, (blocks, objects)
    finally:
        await pool.close()
        await conn.close()


async def test_connect_close_does_not_leak(cluster):
    kw = cluster.connect_kwargs(user="scram")
    for _ in range(5):
        c = await pgwire.connect(**kw)
        await c.close()
    gc.collect()
    blocks0 = sys.getallocatedblocks()
    objects0 = len(gc.get_objects())
    for _ in range(60):
        c = await pgwire.connect(**kw)
        await c.fetchval("SELECT 1")
        await c.close()
    del c
    gc.collect()
    blocks = sys.getallocatedblocks() - blocks0
    objects = len(gc.get_objects()) - objects0
    # a leaked connection would be hundreds of blocks and dozens of objects
    assert blocks < 1500, (blocks, objects)
    assert objects < 20, (blocks, objects)
