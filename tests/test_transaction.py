"""Connection.transaction(): asyncpg's Transaction API against the real
server (commit/rollback visibility from a second connection, savepoints,
isolation/readonly/deferrable, misuse errors, outcome unknown on a lost
COMMIT)."""

import asyncio
import re
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc
from pgwire.transaction import (
    Transaction, TransactionOutcomeUnknownError, TransactionState)

from waiting import wait_until


@pytest.fixture
async def table(conn):
    name = "tx_" + uuid.uuid4().hex[:12]
    await conn.execute(f"CREATE TABLE {name} (i int)")
    try:
        yield name
    finally:
        if not conn.is_closed():
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
            await conn.execute(f"DROP TABLE IF EXISTS {name}")


async def _values(c, table):
    return sorted(r[0] for r in await c.fetch(f"SELECT i FROM {table}"))


class Boom(Exception):
    pass


# -- commit / rollback -------------------------------------------------
async def test_async_with_commits(conn, conn2, table):
    tr = conn.transaction()
    assert tr._state is TransactionState.NEW
    async with tr:
        assert conn.is_in_transaction()
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        assert await _values(conn2, table) == []   # not yet visible
    assert tr._state is TransactionState.COMMITTED
    assert not conn.is_in_transaction()
    assert await _values(conn2, table) == [1]


async def test_async_with_exception_rolls_back(conn, conn2, table):
    tr = conn.transaction()
    with pytest.raises(Boom):
        async with tr:
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            raise Boom
    assert tr._state is TransactionState.ROLLEDBACK
    assert not conn.is_in_transaction()
    assert await _values(conn2, table) == []
    assert await _values(conn, table) == []


async def test_async_with_server_error_rolls_back(conn, conn2, table):
    with pytest.raises(exc.DivisionByZeroError):
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            await conn.execute("SELECT 1/0")
    assert not conn.is_in_transaction()
    assert await _values(conn2, table) == []
    # the connection is usable afterwards
    assert await conn.fetchval("SELECT 42") == 42


async def test_manual_start_commit(conn, conn2, table):
    tr = conn.transaction()
    await tr.start()
    assert tr._state is TransactionState.STARTED
    await conn.execute(f"INSERT INTO {table} VALUES (2)")
    await tr.commit()
    assert tr._state is TransactionState.COMMITTED
    assert await _values(conn2, table) == [2]


async def test_manual_start_rollback(conn, conn2, table):
    tr = conn.transaction()
    await tr.start()
    await conn.execute(f"INSERT INTO {table} VALUES (2)")
    await tr.rollback()
    assert tr._state is TransactionState.ROLLEDBACK
    assert not conn.is_in_transaction()
    assert await _values(conn2, table) == []


async def test_sequential_transactions(conn, table):
    for i in range(3):
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {table} VALUES ({i})")
    assert await _values(conn, table) == [0, 1, 2]


# -- COMMIT answered with ROLLBACK (issue 12 item 4) -------------------
# A statement failed inside the block and the application caught it: the
# server answers COMMIT with the tag ROLLBACK.  asyncpg reports a commit;
# pgwire raises TransactionRolledBackError (pgjdbc raises too).
def _check_rolled_back_error(e):
    assert isinstance(e, exc.TransactionRolledBackError)
    assert isinstance(e, exc.InFailedSQLTransactionError)
    assert isinstance(e, exc.PostgresError)
    assert not isinstance(e, exc.TransactionRollbackError)  # not 40xxx
    assert e.sqlstate == "25P02"
    assert "rolled back" in str(e) and "not committed" in str(e)


async def _after_rollback_checks(conn, conn2, table):
    assert not conn.is_in_transaction()
    assert await conn.fetchval("SELECT 1") == 1  # usable
    assert await _values(conn2, table) == []
    async with conn.transaction():  # and a new transaction works
        await conn.execute(f"INSERT INTO {table} VALUES (9)")
    assert await _values(conn2, table) == [9]


async def test_async_with_commit_answered_with_rollback_raises(
        conn, conn2, table):
    tr = conn.transaction()
    with pytest.raises(exc.TransactionRolledBackError) as ei:
        async with tr:
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(exc.DivisionByZeroError):
                await conn.execute("SELECT 1/0")
    _check_rolled_back_error(ei.value)
    assert tr._state is TransactionState.ROLLEDBACK
    assert "state:rolledback" in repr(tr)
    await _after_rollback_checks(conn, conn2, table)


async def test_manual_commit_answered_with_rollback_raises(
        conn, conn2, table):
    tr = conn.transaction()
    await tr.start()
    await conn.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(exc.UndefinedTableError):
        await conn.fetch("SELECT * FROM no_such_table_here")
    with pytest.raises(exc.TransactionRolledBackError) as ei:
        await tr.commit()
    _check_rolled_back_error(ei.value)
    assert tr._state is TransactionState.ROLLEDBACK
    for op in (tr.start, tr.commit, tr.rollback):
        with pytest.raises(exc.InterfaceError, match="already rolled back"):
            await op()
    await _after_rollback_checks(conn, conn2, table)


async def test_nested_release_in_failed_transaction_raises(
        conn, conn2, table):
    """A savepoint block left normally in a failed transaction: RELEASE
    fails on the server (25P02, already an error); the outer block then
    rolls back and the error propagates -- nothing is reported as
    committed, and TransactionRolledBackError is an InFailedSQLTransaction
    Error, so one except clause covers both."""
    outer = conn.transaction()
    with pytest.raises(exc.InFailedSQLTransactionError):
        async with outer:
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            async with conn.transaction():
                with pytest.raises(exc.DivisionByZeroError):
                    await conn.execute("SELECT 1/0")
    assert outer._state is TransactionState.ROLLEDBACK
    await _after_rollback_checks(conn, conn2, table)
    # by hand: the savepoint's RELEASE fails, then the top COMMIT is
    # answered with ROLLBACK
    await conn.execute(f"TRUNCATE {table}")
    outer = conn.transaction()
    await outer.start()
    inner = conn.transaction()
    await inner.start()
    with pytest.raises(exc.DivisionByZeroError):
        await conn.execute("SELECT 1/0")
    with pytest.raises(exc.InFailedSQLTransactionError) as ei:
        await inner.commit()
    assert not isinstance(ei.value, exc.TransactionRolledBackError)
    assert inner._state is TransactionState.FAILED
    with pytest.raises(exc.TransactionRolledBackError):
        await outer.commit()
    assert not conn.is_in_transaction()


async def test_plain_commit_statement_returns_rollback(conn, conn2, table):
    """conn.execute('COMMIT') is left alone: it returns the server's tag,
    as asyncpg."""
    await conn.execute("BEGIN")
    await conn.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(exc.DivisionByZeroError):
        await conn.execute("SELECT 1/0")
    assert await conn.execute("COMMIT") == "ROLLBACK"
    assert not conn.is_in_transaction()
    assert await _values(conn2, table) == []


# -- savepoints --------------------------------------------------------
async def test_nested_inner_failure_outer_commits(conn, conn2, table):
    async with conn.transaction():
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        inner = conn.transaction()
        with pytest.raises(Boom):
            async with inner:
                assert inner._nested
                assert re.fullmatch(r'"pgwire_savepoint_\d+"', inner._id)
                await conn.execute(f"INSERT INTO {table} VALUES (2)")
                raise Boom
        assert inner._state is TransactionState.ROLLEDBACK
        assert conn.is_in_transaction()
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {table} VALUES (3)")
        assert await _values(conn2, table) == []
    assert await _values(conn2, table) == [1, 3]


async def test_nested_server_error_in_savepoint(conn, conn2, table):
    async with conn.transaction():
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        with pytest.raises(exc.DivisionByZeroError):
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (2)")
                await conn.execute("SELECT 1/0")
        # ROLLBACK TO cleared the aborted state
        await conn.execute(f"INSERT INTO {table} VALUES (4)")
    assert await _values(conn2, table) == [1, 4]


async def test_nested_outer_rollback_discards_inner(conn, conn2, table):
    with pytest.raises(Boom):
        async with conn.transaction():
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (1)")
            raise Boom
    assert await _values(conn2, table) == []


async def test_nested_manual(conn, conn2, table):
    outer = conn.transaction()
    await outer.start()
    inner = conn.transaction()
    await inner.start()
    await conn.execute(f"INSERT INTO {table} VALUES (1)")
    await inner.rollback()
    inner2 = conn.transaction()
    await inner2.start()
    await conn.execute(f"INSERT INTO {table} VALUES (2)")
    await inner2.commit()
    await outer.commit()
    assert await _values(conn2, table) == [2]


async def test_deeply_nested(conn, table):
    async with conn.transaction():
        async with conn.transaction():
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(Boom):
                async with conn.transaction():
                    await conn.execute(f"INSERT INTO {table} VALUES (2)")
                    raise Boom
    assert await _values(conn, table) == [1]


# -- isolation / readonly / deferrable --------------------------------
@pytest.mark.parametrize("iso,shown", [
    ("serializable", "serializable"),
    ("repeatable_read", "repeatable read"),
    ("read_uncommitted", "read uncommitted"),
    ("read_committed", "read committed"),
])
async def test_isolation_levels(conn, iso, shown):
    async with conn.transaction(isolation=iso):
        assert await conn.fetchval("SHOW transaction_isolation") == shown


async def test_invalid_isolation(conn):
    for bad in ("SERIALIZABLE", "read committed", "snapshot", "x; DROP"):
        with pytest.raises(ValueError):
            conn.transaction(isolation=bad)


async def test_readonly(conn, table):
    async with conn.transaction(readonly=True):
        assert await conn.fetchval("SHOW transaction_read_only") == "on"
    with pytest.raises(exc.ReadOnlySQLTransactionError):
        async with conn.transaction(readonly=True):
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
    assert not conn.is_in_transaction()
    assert await _values(conn, table) == []


async def test_deferrable(conn):
    tr = conn.transaction(isolation="serializable", readonly=True,
                          deferrable=True)
    async with tr:
        assert await conn.fetchval("SHOW transaction_deferrable") == "on"
        assert await conn.fetchval("SHOW transaction_read_only") == "on"
        assert await conn.fetchval(
            "SHOW transaction_isolation") == "serializable"


async def test_repeatable_read_snapshot(conn, conn2, table):
    async with conn.transaction(isolation="repeatable_read"):
        assert await _values(conn, table) == []
        await conn2.execute(f"INSERT INTO {table} VALUES (9)")
        assert await _values(conn, table) == []     # same snapshot
    assert await _values(conn, table) == [9]


async def test_nested_isolation_must_match(conn):
    async with conn.transaction(isolation="serializable"):
        async with conn.transaction(isolation="serializable"):
            pass
        async with conn.transaction():          # unspecified: fine
            pass
        with pytest.raises(exc.InterfaceError,
                           match="different isolation level"):
            async with conn.transaction(isolation="read_committed"):
                pass
        assert conn.is_in_transaction()


async def test_nested_isolation_outer_unspecified(conn):
    default = await conn.fetchval("SHOW transaction_isolation")
    assert default == "read committed"
    async with conn.transaction():
        async with conn.transaction(isolation="read_committed"):
            pass
        with pytest.raises(exc.InterfaceError,
                           match="'serializable' != outer 'read_committed'"):
            async with conn.transaction(isolation="serializable"):
                pass


# -- misuse ------------------------------------------------------------
async def test_manual_commit_in_async_with(conn):
    async with conn.transaction() as _:
        pass
    tr = conn.transaction()
    async with tr:
        with pytest.raises(exc.InterfaceError,
                           match="cannot manually commit from within"):
            await tr.commit()
        with pytest.raises(exc.InterfaceError,
                           match="cannot manually rollback from within"):
            await tr.rollback()
    assert tr._state is TransactionState.COMMITTED


async def test_double_start(conn):
    tr = conn.transaction()
    await tr.start()
    with pytest.raises(exc.InterfaceError, match="already started"):
        await tr.start()
    await tr.rollback()


async def test_nested_async_with_same_object(conn):
    tr = conn.transaction()
    async with tr:
        with pytest.raises(exc.InterfaceError,
                           match="already in an `async with` block"):
            async with tr:
                pass
    assert tr._state is TransactionState.COMMITTED


async def test_use_after_commit(conn):
    tr = conn.transaction()
    await tr.start()
    await tr.commit()
    for op in (tr.start, tr.commit, tr.rollback):
        with pytest.raises(exc.InterfaceError, match="already committed"):
            await op()


async def test_use_after_rollback(conn):
    tr = conn.transaction()
    await tr.start()
    await tr.rollback()
    for op in (tr.start, tr.commit, tr.rollback):
        with pytest.raises(exc.InterfaceError,
                           match="already rolled back"):
            await op()
    with pytest.raises(exc.InterfaceError, match="already rolled back"):
        async with tr:
            pass


async def test_not_started(conn):
    tr = conn.transaction()
    for op in (tr.commit, tr.rollback):
        with pytest.raises(exc.InterfaceError, match="not yet started"):
            await op()


async def test_use_after_failure(conn):
    # a failing COMMIT (deferred constraint) puts the block in error state
    name = "txf_" + uuid.uuid4().hex[:12]
    await conn.execute(
        f"CREATE TEMP TABLE {name} (i int UNIQUE DEFERRABLE "
        f"INITIALLY DEFERRED)")
    tr = conn.transaction()
    await tr.start()
    await conn.execute(f"INSERT INTO {name} VALUES (1), (1)")
    with pytest.raises(exc.UniqueViolationError):
        await tr.commit()
    assert tr._state is TransactionState.FAILED
    assert not conn.is_in_transaction()
    for op in (tr.start, tr.commit, tr.rollback):
        with pytest.raises(exc.InterfaceError, match="in error state"):
            await op()
    # a new transaction works
    async with conn.transaction():
        assert await conn.fetchval(f"SELECT count(*) FROM {name}") == 0


async def test_block_after_rejected_start(conn):
    # start() rejected inside a manual transaction must not leave the
    # block registered as the connection's top transaction.
    await conn.execute("BEGIN")
    with pytest.raises(exc.InterfaceError, match="manually started"):
        await conn.transaction().start()
    await conn.execute("ROLLBACK")
    async with conn.transaction():
        async with conn.transaction() as _:
            pass
    assert not conn.is_in_transaction()


async def test_transaction_in_manual_transaction(conn):
    await conn.execute("BEGIN")
    try:
        with pytest.raises(exc.InterfaceError,
                           match="cannot use Connection.transaction\\(\\) "
                                 "in a manually started transaction"):
            async with conn.transaction():
                pass
    finally:
        await conn.execute("ROLLBACK")
    async with conn.transaction():
        pass


async def test_repr(conn):
    tr = conn.transaction(isolation="serializable", readonly=True,
                          deferrable=True)
    assert isinstance(tr, Transaction)
    assert re.fullmatch(
        r"<pgwire\.Transaction state:new serializable readonly deferrable "
        r"0x[0-9a-f]+>", repr(tr))
    async with tr:
        assert repr(tr).startswith("<pgwire.Transaction state:started ")
    assert repr(tr).startswith("<pgwire.Transaction state:committed ")
    tr2 = conn.transaction()
    assert re.fullmatch(r"<pgwire\.Transaction state:new 0x[0-9a-f]+>",
                        repr(tr2))
    with pytest.raises(Boom):
        async with tr2:
            raise Boom
    assert repr(tr2).startswith("<pgwire.Transaction state:rolledback ")


async def test_transaction_is_sync(conn):
    tr = conn.transaction()
    assert not asyncio.iscoroutine(tr)
    assert tr._state is TransactionState.NEW
    assert not conn.is_in_transaction()


# -- connection lost around COMMIT --------------------------------------
async def _wait_backend_gone(conn2, pid):
    async def gone():
        return not await conn2.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
    await wait_until(gone, 10, f"backend {pid} exited")


async def test_commit_outcome_unknown_during_commit(cluster, conn2):
    """COMMIT reaches the server, which dies while running it (a deferred
    trigger sleeps at commit time): the outcome is unknown."""
    c, name = await _slow_commit_conn(cluster)
    try:
        pid = c.get_server_pid()
        tr = c.transaction()
        await tr.start()
        await c.execute(f"INSERT INTO {name} VALUES (1)")
        commit = asyncio.ensure_future(tr.commit())
        for _ in range(500):
            q = await conn2.fetchval(
                "SELECT query FROM pg_stat_activity WHERE pid = $1 "
                "AND state = 'active'", pid)
            if q and q.startswith("COMMIT"):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("COMMIT never became active")
        assert await conn2.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(TransactionOutcomeUnknownError,
                           match="outcome is unknown") as ei:
            await asyncio.wait_for(commit, 20)
        assert isinstance(ei.value, exc.InterfaceError)
        assert ei.value.__cause__ is not None
        assert tr._state is TransactionState.FAILED
        assert c.is_closed()
        with pytest.raises(exc.InterfaceError, match="in error state"):
            await tr.commit()
    finally:
        c.terminate()


async def test_commit_outcome_unknown_in_async_with(cluster, conn2):
    """Backend killed inside the block after the last statement: COMMIT
    fails with the connection lost; never reported as success."""
    c = await pgwire.connect(**cluster.connect_kwargs())
    name = "txk_" + uuid.uuid4().hex[:12]
    await conn2.execute(f"CREATE TABLE {name} (i int)")
    try:
        pid = c.get_server_pid()
        tr = c.transaction()
        with pytest.raises(exc.InterfaceError) as ei:
            async with tr:
                await c.execute(f"INSERT INTO {name} VALUES (1)")
                assert await conn2.fetchval(
                    "SELECT pg_terminate_backend($1)", pid)
        # Depending on whether the client saw the socket close before
        # sending COMMIT: "not committed" or "outcome unknown".
        assert re.search("outcome is unknown|was not committed",
                         str(ei.value))
        assert tr._state is TransactionState.FAILED
        await _wait_backend_gone(conn2, pid)
        assert await _values(conn2, name) == []
    finally:
        c.terminate()
        await conn2.execute(f"DROP TABLE {name}")


async def test_commit_on_closed_connection_not_committed(cluster, conn2):
    """The client already saw the connection go: COMMIT is never sent and
    the error says the transaction was not committed."""
    c = await pgwire.connect(**cluster.connect_kwargs())
    try:
        pid = c.get_server_pid()
        tr = c.transaction()
        await tr.start()
        await conn2.fetchval("SELECT pg_terminate_backend($1)", pid)
        await _wait_backend_gone(conn2, pid)
        for _ in range(200):
            if c.is_closed():
                break
            await asyncio.sleep(0.01)
        assert c.is_closed()
        with pytest.raises(exc.InterfaceError,
                           match="was not committed") as ei:
            await tr.commit()
        assert not isinstance(ei.value, TransactionOutcomeUnknownError)
        assert tr._state is TransactionState.FAILED
    finally:
        c.terminate()


async def _slow_commit_conn(cluster, **kw):
    c = await pgwire.connect(**cluster.connect_kwargs(), **kw)
    name = "txs_" + uuid.uuid4().hex[:12]
    await c.execute(f"""
        CREATE TEMP TABLE {name} (i int);
        CREATE FUNCTION pg_temp.{name}_slow() RETURNS trigger
          LANGUAGE plpgsql AS $$
          BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER {name}_t AFTER INSERT ON {name}
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
          EXECUTE FUNCTION pg_temp.{name}_slow();
    """)
    return c, name


async def test_commit_timeout_is_outcome_unknown(cluster):
    """command_timeout fires while COMMIT runs: cancelled on the server,
    reported as outcome unknown (never as a plain timeout that invites a
    retry), and the connection stays usable."""
    c, name = await _slow_commit_conn(cluster, command_timeout=0.3)
    try:
        with pytest.raises(TransactionOutcomeUnknownError,
                           match="COMMIT timed out") as ei:
            async with c.transaction():
                await c.execute(f"INSERT INTO {name} VALUES (1)")
        assert isinstance(ei.value.__cause__, asyncio.TimeoutError)
        async with asyncio.timeout(10):
            assert await c.fetchval("SELECT 1") == 1
        assert not c.is_in_transaction()
        # (here the cancel stopped the trigger: nothing was committed)
        assert await c.fetchval(f"SELECT count(*) FROM {name}") == 0
    finally:
        await c.close()


async def test_commit_task_cancelled_stays_cancelled_with_note(cluster,
                                                               conn2):
    c, name = await _slow_commit_conn(cluster)
    try:
        tr = c.transaction()
        await tr.start()
        await c.execute(f"INSERT INTO {name} VALUES (1)")
        commit = asyncio.ensure_future(tr.commit())
        # cancel once the server runs COMMIT (a CancelRequest that arrives
        # before the backend starts it is ignored by the server)
        async with asyncio.timeout(10):
            while await conn2.fetchval(
                    "SELECT query FROM pg_stat_activity WHERE pid = $1 "
                    "AND state = 'active'", c.get_server_pid()) != "COMMIT;":
                pass
        commit.cancel()
        with pytest.raises(asyncio.CancelledError) as ei:
            await commit
        assert any("outcome is unknown" in n
                   for n in getattr(ei.value, "__notes__", []))
        assert tr._state is TransactionState.FAILED
        async with asyncio.timeout(10):
            assert await c.fetchval("SELECT 1") == 1
        assert not c.is_in_transaction()
    finally:
        await c.close()
