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


# -- issue 12 item 9: an exhausted cursor closes its portal ------------------

async def _open_portals(conn):
    # extended-protocol portals are listed in pg_cursors too; ours are named
    return await conn.fetchval(
        "SELECT count(*) FROM pg_cursors WHERE name LIKE '__pgwire_portal%'")


@pytest.mark.parametrize("prefetch", [1, None, 1000])
async def test_exhausted_cursor_iterator_releases_table(conn, prefetch):
    """After `async for` consumed conn.cursor(), the table it read can be
    dropped in the same transaction (the portal was closed), for a prefetch
    of 1, the default (50) and one larger than the result."""
    async with conn.transaction():
        await conn.execute("CREATE TABLE cur_drop_it AS "
                           "SELECT i FROM generate_series(1, 120) i")
        got = [r[0] async for r in conn.cursor(
            "SELECT i FROM cur_drop_it ORDER BY i", prefetch=prefetch)]
        assert got == list(range(1, 121))
        await conn.execute("DROP TABLE cur_drop_it")
        assert await _open_portals(conn) == 0


@pytest.mark.parametrize("how", ["fetch", "fetchrow", "exact", "forward"])
async def test_exhausted_cursor_object_releases_table(conn, how):
    """A Cursor read to its end by fetch(), fetchrow(), a fetch(n) that
    ends exactly at the last row (then one more call) or forward()
    releases the table too."""
    async with conn.transaction():
        await conn.execute("CREATE TABLE cur_drop_obj AS "
                           "SELECT i FROM generate_series(1, 10) i")
        cur = await conn.cursor("SELECT i FROM cur_drop_obj ORDER BY i")
        if how == "fetch":
            assert len(await cur.fetch(4)) == 4
            assert len(await cur.fetch(100)) == 6
        elif how == "fetchrow":
            for i in range(1, 11):
                assert (await cur.fetchrow())[0] == i
            assert await cur.fetchrow() is None
        elif how == "exact":
            assert len(await cur.fetch(10)) == 10
            assert await cur.fetch(1) == []
        else:
            assert await cur.forward(3) == 3
            assert await cur.forward(100) == 7
        await conn.execute("DROP TABLE cur_drop_obj")
        assert await _open_portals(conn) == 0
        assert await cur.fetch(5) == []


async def test_cursor_not_exhausted_keeps_portal(conn):
    """A portal that is not exhausted stays open and keeps working, also
    across other queries of the transaction."""
    tr = conn.transaction()
    await tr.start()
    await conn.execute("CREATE TABLE cur_keep AS "
                       "SELECT i FROM generate_series(1, 30) i")
    cur = await conn.cursor("SELECT i FROM cur_keep ORDER BY i")
    it = conn.cursor("SELECT i FROM cur_keep ORDER BY i", prefetch=5)
    ait = it.__aiter__()
    assert (await ait.__anext__())[0] == 1
    assert [r[0] for r in await cur.fetch(10)] == list(range(1, 11))
    assert await _open_portals(conn) == 2
    assert await conn.fetchval("SELECT 1") == 1
    assert [r[0] for r in await cur.fetch(10)] == list(range(11, 21))
    assert (await ait.__anext__())[0] == 2
    with pytest.raises(exc.ObjectInUseError):
        await conn.execute("DROP TABLE cur_keep")
    await tr.rollback()


async def test_exhausted_cursor_without_statement_cache(cluster):
    c = await pgwire.connect(**cluster.connect_kwargs(),
                             statement_cache_size=0)
    try:
        async with c.transaction():
            await c.execute("CREATE TABLE cur_drop_nc AS "
                            "SELECT i FROM generate_series(1, 10) i")
            got = [r[0] async for r in c.cursor(
                "SELECT i FROM cur_drop_nc", prefetch=3)]
            assert sorted(got) == list(range(1, 11))
            await c.execute("DROP TABLE cur_drop_nc")
            assert await _open_portals(c) == 0
    finally:
        await c.close()
