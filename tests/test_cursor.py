"""Server-side cursors against the real server."""

import os
import resource

import pytest

import pgwire
from pgwire import exceptions as exc


async def test_cursor_needs_transaction(conn):
    with pytest.raises(exc.NoActiveSQLTransactionError,
                       match="outside of a transaction"):
        await conn.cursor("SELECT 1")
    with pytest.raises(exc.NoActiveSQLTransactionError):
        async for _ in conn.cursor("SELECT 1"):
            pass


async def test_cursor_iteration_prefetch(conn):
    async with conn.transaction():
        got = [r[0] async for r in conn.cursor(
            "SELECT i FROM generate_series(1, $1) i", 1234, prefetch=100)]
        assert got == list(range(1, 1235))
        # default prefetch, empty result
        assert [r async for r in conn.cursor("SELECT 1 WHERE false")] == []


async def test_cursor_fetch_fetchrow_forward(conn):
    async with conn.transaction():
        cur = await conn.cursor(
            "SELECT i, 'x' || i AS s FROM generate_series(1, 20) i")
        rows = await cur.fetch(5)
        assert [r["i"] for r in rows] == [1, 2, 3, 4, 5]
        assert (await cur.fetchrow())["s"] == "x6"
        assert await cur.forward(4) == 4
        assert (await cur.fetchrow())[0] == 11
        assert [r[0] for r in await cur.fetch(100)] == list(range(12, 21))
        assert await cur.fetchrow() is None
        assert await cur.fetch(3) == []
        assert "exhausted" in repr(cur)
        with pytest.raises(exc.InterfaceError):
            await cur.fetch(0)


async def test_cursor_argument_rules(conn):
    with pytest.raises(exc.InterfaceError):
        conn.cursor("SELECT 1", prefetch=0).__aiter__()
    async with conn.transaction():
        with pytest.raises(exc.InterfaceError):
            await conn.cursor("SELECT 1", prefetch=10)


async def test_prepared_statement_cursor(conn):
    stmt = await conn.prepare("SELECT i FROM generate_series(1, $1) i")
    async with conn.transaction():
        got = [r[0] async for r in stmt.cursor(7, prefetch=3)]
        assert got == list(range(1, 8))
        cur = await stmt.cursor(3)
        assert [r[0] for r in await cur.fetch(10)] == [1, 2, 3]


async def test_cursor_without_statement_cache(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=0)
    try:
        async with c.transaction():
            got = [r[0] async for r in c.cursor(
                "SELECT i FROM generate_series(1, 10) i", prefetch=4)]
            assert got == list(range(1, 11))
    finally:
        await c.close()


async def test_cursor_memory_stays_bounded(conn):
    """Iterate 2 million rows of 100 bytes (~200 MB as a list of records)
    with a bounded prefetch: peak RSS must grow far less than that."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    n = 0
    async with conn.transaction():
        async for r in conn.cursor(
                "SELECT i, repeat('x', 100) FROM generate_series(1, 2000000) i",
                prefetch=2000):
            n += 1
    assert n == 2000000
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                 - before) / 1024
    # under the ASan build (make pytest-asan) freed memory sits in ASan's
    # quarantine: the bound is asserted on the normal build only
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):
        assert grown_mib < 60, grown_mib
