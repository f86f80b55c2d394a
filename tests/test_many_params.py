"""Statements with many parameters (issue 12, item 8).

The server's ParameterDescription for n parameters is 6 + 4n bytes (262 kB
for 65,535); it used to be refused by the framing as a loss of
synchronization above about 7,500 parameters.  Up to 65,535 parameters (the
server's and libpq's limit) work; more are refused before anything is sent,
and the connection stays usable.
"""

import pytest

import pgwire
from pgwire import exceptions as exc


def array_query(n):
    return ("SELECT array_length(ARRAY[" +
            ",".join(f"${i}::int" for i in range(1, n + 1)) + "], 1)")


@pytest.mark.parametrize("n", [7600, 32767, 65535])
async def test_many_params_fetch_execute_prepare(conn, n):
    q = array_query(n)
    args = list(range(n))
    assert await conn.fetchval(q, *args) == n
    rows = await conn.fetch(q, *args)
    assert rows[0][0] == n
    assert await conn.execute(q, *args) == "SELECT 1"
    stmt = await conn.prepare(q)
    assert len(stmt.get_parameters()) == n
    assert await stmt.fetchval(*args) == n
    assert await conn.fetchval("SELECT 1") == 1


async def test_many_params_unnamed_statements(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(),
                                 statement_cache_size=0)
    try:
        q = array_query(65535)
        assert await conn.fetchval(q, *range(65535)) == 65535
        assert await conn.fetchval(q, *range(65535)) == 65535
    finally:
        await conn.close()


@pytest.mark.parametrize("meth", ["fetch", "fetchrow", "fetchval",
                                  "execute"])
async def test_too_many_params_refused_before_sending(conn, meth):
    pid_before = conn.get_server_pid()
    q = array_query(65536)
    with pytest.raises(exc.InterfaceError,
                       match=r"65536 arguments.*at most 65535"):
        await getattr(conn, meth)(q, *range(65536))
    # nothing was sent: the session saw no statement at all
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements "
        "WHERE length(statement) > 100000") == 0
    assert conn.get_server_pid() == pid_before
    assert await conn.fetchval("SELECT 1") == 1


async def test_too_many_params_executemany(conn):
    q = array_query(65536)
    with pytest.raises(exc.InterfaceError,
                       match=r"65536 arguments.*at most 65535"):
        await conn.executemany(q, [tuple(range(65536))])
    with pytest.raises(exc.InterfaceError,
                       match=r"65536 arguments.*at most 65535"):
        await conn.fetchmany(q, [list(range(65536))])
    assert await conn.fetchval(
        "SELECT count(*) FROM pg_prepared_statements "
        "WHERE length(statement) > 100000") == 0
    assert await conn.fetchval("SELECT 1") == 1
