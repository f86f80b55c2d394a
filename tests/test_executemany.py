"""executemany streams its batch (issue 12, item 13): bounded memory at
any size, still atomic (one Sync) when the client fails midway."""

import asyncio
import os

import pytest

import pgwire
from pgwire import exceptions as exc

N = 1_000_000
BAD_AT = 700_000


def _vm_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False if it
    cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _asan():
    return "libasan" in os.environ.get("LD_PRELOAD", "")


def _rows(n=N, bad_at=None, raise_at=None):
    for i in range(n):
        if i == raise_at:
            raise ZeroDivisionError("the generator failed")
        yield (i if i != bad_at else "not an int", "row %d" % i, i * 0.5)


INSERT = "INSERT INTO em_t VALUES ($1, $2, $3)"


@pytest.fixture
async def table(conn):
    await conn.execute("DROP TABLE IF EXISTS em_t")
    await conn.execute("CREATE UNLOGGED TABLE em_t "
                       "(a int4, b text, c float8)")
    yield conn
    if not conn.is_closed():
        await conn.execute("DROP TABLE IF EXISTS em_t")


async def _count(conn):
    return await conn.fetchval("SELECT count(*) FROM em_t")


@pytest.mark.parametrize("source", ["list", "generator"])
async def test_executemany_peak_memory_bounded(table, source):
    """1M rows x 3 columns: peak RSS grew by 255 MB when the whole batch was
    built before sending; streamed, it stays bounded."""
    conn = table
    args = list(_rows()) if source == "list" else _rows()
    before = _vm_kib("VmRSS")
    if not _reset_peak():
        pytest.skip("cannot reset VmHWM")
    assert await conn.executemany(INSERT, args) is None
    grown_mib = (_vm_kib("VmHWM") - before) / 1024
    print("peak RSS growth: %.1f MiB" % grown_mib)
    assert await _count(conn) == N
    if not _asan():
        assert grown_mib < 40, grown_mib


@pytest.mark.parametrize("in_tx", [False, True])
@pytest.mark.parametrize("fault", ["bad_value", "raising_generator"])
async def test_executemany_client_failure_midway_is_atomic(table, in_tx,
                                                           fault):
    """A bad value in row 700,000 or a generator raising there, after
    hundreds of rows were streamed: no row persists, the connection stays
    usable, is_in_transaction() is what it was; inside a transaction the
    transaction is still usable and has none of the batch's rows."""
    conn = table
    if fault == "bad_value":
        args, err = _rows(bad_at=BAD_AT), exc.DataError
    else:
        args, err = _rows(raise_at=BAD_AT), ZeroDivisionError
    tr = None
    if in_tx:
        tr = conn.transaction()
        await tr.start()
        await conn.execute("INSERT INTO em_t VALUES (-1, 'before', 0)")
    with pytest.raises(err):
        await conn.executemany(INSERT, args)
    assert conn.is_in_transaction() == in_tx
    assert await conn.fetchval("SELECT 1") == 1
    if in_tx:
        # the transaction is usable, without any row of the batch
        assert await _count(conn) == 1
        await conn.execute("INSERT INTO em_t VALUES (-2, 'after', 0)")
        await tr.commit()
        assert await _count(conn) == 2
    else:
        assert await _count(conn) == 0
    # and executemany works again on the same connection
    await conn.executemany(INSERT, _rows(n=1000))
    assert await _count(conn) == (1002 if in_tx else 1000)


async def test_executemany_server_error_midway(table):
    """A server-side error midway (unique violation) ends the batch: no row
    persists and the connection is usable."""
    conn = table
    await conn.execute("ALTER TABLE em_t ADD UNIQUE (a)")

    def rows():
        for i in range(N):
            yield (i if i != 300_000 else 5, "x", 0.0)
    with pytest.raises(exc.UniqueViolationError):
        await conn.executemany(INSERT, rows())
    assert not conn.is_in_transaction()
    assert await _count(conn) == 0
    await conn.executemany(INSERT, _rows(n=10))
    assert await _count(conn) == 10


@pytest.mark.parametrize("in_tx", [False, True])
@pytest.mark.parametrize("how", ["timeout", "cancel"])
async def test_executemany_abandoned_midway(table, how, in_tx):
    """A timeout or a task cancel while the batch is streaming: nothing is
    committed, and the connection is usable (or closed)."""
    conn = table
    tr = None
    if in_tx:
        tr = conn.transaction()
        await tr.start()
    if how == "timeout":
        with pytest.raises(asyncio.TimeoutError):
            await conn.executemany(INSERT, _rows(), timeout=0.3)
    else:
        task = asyncio.ensure_future(conn.executemany(INSERT, _rows()))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    if conn.is_closed():
        return
    if in_tx:
        await tr.rollback()
    assert not conn.is_in_transaction()
    assert await _count(conn) == 0
    await conn.executemany(INSERT, _rows(n=10))
    assert await _count(conn) == 10


async def test_executemany_iterables(table):
    """Any iterable of sequences: generators, iterators, tuples of lists;
    a prepared statement's executemany too; fetchmany streams the same
    way."""
    conn = table
    await conn.executemany(INSERT, (r for r in _rows(n=5)))
    await conn.executemany(INSERT, iter([[5, "a", 1.0], (6, "b", 2.0)]))
    stmt = await conn.prepare(INSERT)
    await stmt.executemany(_rows(n=300_000))
    assert await _count(conn) == 300_007
    got = await conn.fetchmany("SELECT $1::int * 2", ((i,) for i in
                                                       range(200_000)))
    assert len(got) == 200_000 and got[-1][0] == 399_998
    await conn.executemany(INSERT, [])
    assert await _count(conn) == 300_007


@pytest.mark.parametrize("n", [10, 300_000])
async def test_executemany_in_transaction_leaves_nothing(table, n):
    """Inside a transaction, a streamed batch runs under a savepoint of its
    own, released before the Sync; a batch of one chunk has none.  Either
    way no savepoint is left behind and the statement's status message is
    the batch's, not the savepoint's."""
    conn = table
    stmt = await conn.prepare(INSERT)
    tr = conn.transaction()
    await tr.start()
    await stmt.executemany(_rows(n=n))
    assert stmt.get_statusmsg() == "INSERT 0 1"
    assert await _count(conn) == n
    with pytest.raises(exc.InvalidSavepointSpecificationError):
        await conn.execute("RELEASE SAVEPOINT pgwire_executemany")
    await tr.rollback()


async def test_server_error_on_earlier_row_wins_over_client_error(conn):
    """asyncpg's contract: when the server fails on a row sent before the
    client-side failure (a generator that raises later), the server's
    error is raised; the client's is its __context__.  Nothing stays."""
    await conn.execute("CREATE TEMP TABLE emconf (a text, b int PRIMARY KEY)")
    conn._transport.set_write_buffer_limits(65536 * 64, 16384 * 64)

    def rows():
        for y in range(4, -1, -1):
            yield ("a" * 32768, 0 * (1 // y))  # all b = 0; 1/0 at the end

    with pytest.raises(pgwire.exceptions.UniqueViolationError) as ei:
        await conn.executemany("INSERT INTO emconf VALUES ($1, $2)", rows())
    assert isinstance(ei.value.__context__, ZeroDivisionError)
    assert await conn.fetchval("SELECT count(*) FROM emconf") == 0
    # a client failure alone is still the client's error
    with pytest.raises(ZeroDivisionError):
        await conn.executemany(
            "INSERT INTO emconf VALUES ($1, $2)",
            (("a" * 32768, 10 // y) for y in range(4, -1, -1)))
    assert await conn.fetchval("SELECT count(*) FROM emconf") == 0
