"""The SQLAlchemy dialect postgresql+pgwire (pgwire/sqlalchemy/): the
async engine end to end, no asyncpg import, error translation into
SQLAlchemy's DBAPI classes, disconnect detection (server-terminated
session, lost link, closed connection), pgwire's own statement cache
(no second one), and arrays of extension types through the dialect.

SQLAlchemy's own suite runs against the dialect in
scripts/sqlalchemy-suite.sh; these are the pgwire-side checks."""

import asyncio
import os
import pathlib
import subprocess
import sys
import textwrap
import tomllib

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

import pgwire
import pgwire.sqlalchemy
from pgwire.sqlalchemy import base as pgdialect

from faultproxy import C2S, FaultProxy
from waiting import wait_until

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _url(cluster, **query):
    url = sa.engine.make_url(
        cluster.dsn(host="tcp").replace("postgresql://",
                                        "postgresql+pgwire://", 1))
    return url.update_query_dict(query) if query else url


@pytest.fixture
async def engine(cluster):
    eng = create_async_engine(_url(cluster))
    try:
        yield eng
    finally:
        await eng.dispose()


async def _server_prepared(conn):
    rows = await conn.exec_driver_sql(
        "SELECT statement FROM pg_prepared_statements")
    return [r[0] for r in rows]


def test_entry_point_declared():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    eps = meta["project"]["entry-points"]["sqlalchemy.dialects"]
    assert eps["postgresql.pgwire"] == "pgwire.sqlalchemy:PGDialect_pgwire"
    assert eps["postgresql.pgwire_async"] == \
        "pgwire.sqlalchemy:PGDialectAsync_pgwire"
    cls = sa.engine.make_url("postgresql+pgwire://h/d").get_dialect()
    assert cls is pgdialect.PGDialect_pgwire  # create_engine: the sync one
    assert not cls.is_async and cls.driver == "pgwire"
    acls = cls.get_async_dialect_cls(None)
    assert acls is pgdialect.PGDialectAsync_pgwire
    assert acls.is_async and acls.driver == "pgwire"


async def test_round_trip(engine):
    meta = sa.MetaData()
    t = sa.Table("sqla_rt", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String(20), unique=True),
                 sa.Column("tags", sa.ARRAY(sa.Text)),
                 sa.Column("doc", sa.JSON))
    async with engine.begin() as conn:
        await conn.run_sync(meta.drop_all)
        await conn.run_sync(meta.create_all)
        res = await conn.execute(
            t.insert().returning(t.c.id),
            [{"name": "a", "tags": ["x", "y"], "doc": {"k": [1]}},
             {"name": "b", "tags": [], "doc": None}])
        assert sorted(res.scalars()) == [1, 2]
        res = await conn.execute(t.update().values(name=t.c.name + "1"))
        assert res.rowcount == 2
        row = (await conn.execute(
            sa.select(t).where(t.c.name == "a1"))).one()
        assert row.tags == ["x", "y"] and row.doc == {"k": [1]}
        res = await conn.execute(sa.select(t).where(t.c.id < 0))
        assert list(res.keys()) == ["id", "name", "tags", "doc"]
        assert res.all() == []
    async with engine.connect() as conn:  # a server-side cursor
        async with conn.begin():
            res = await conn.stream(
                sa.text("SELECT g FROM generate_series(1, 120) g"))
            assert [r.g async for r in res] == list(range(1, 121))
    async with engine.begin() as conn:
        await conn.run_sync(meta.drop_all)


async def test_transactions_and_isolation(engine):
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
        assert conn.in_transaction()
        level = await conn.get_isolation_level()
        assert level == "READ COMMITTED"
        await conn.rollback()
    eng = engine.execution_options(isolation_level="SERIALIZABLE")
    async with eng.connect() as conn:
        v = await conn.scalar(sa.text("SHOW transaction_isolation"))
        assert v == "serializable"
    eng = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with eng.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
        raw = await conn.get_raw_connection()
        assert not raw.driver_connection.is_in_transaction()


def test_works_without_asyncpg(cluster):
    """The dialect never imports asyncpg: with it blocked by a meta-path
    finder (in a child interpreter), the engine still works."""
    code = textwrap.dedent("""
        import asyncio, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "asyncpg" or name.startswith("asyncpg."):
                    raise ImportError("asyncpg is blocked")
        sys.meta_path.insert(0, Block())
        sys.modules.pop("asyncpg", None)
        import pgwire.sqlalchemy
        pgwire.sqlalchemy.register()
        import sqlalchemy as sa
        from sqlalchemy.ext.asyncio import create_async_engine
        async def main():
            eng = create_async_engine(sys.argv[1])
            async with eng.connect() as c:
                v = await c.scalar(sa.text("SELECT CAST(:x AS int) + 1"), {"x": 41})
                try:
                    await c.exec_driver_sql("SELECT 1/0")
                except sa.exc.DataError as e:
                    assert e.orig.sqlstate == "22012", e
            await eng.dispose()
            return v
        print(asyncio.run(main()))
        assert not any(m == "asyncpg" or m.startswith("asyncpg.")
                       for m in sys.modules), "asyncpg was imported"
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + sys.path[1:]))
    out = subprocess.run(
        [sys.executable, "-c", code,
         _url(cluster).render_as_string(hide_password=False)],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"


@pytest.mark.parametrize("sqlstate, cls, dbapi_cls", [
    ("23505", sa.exc.IntegrityError, pgdialect.IntegrityError),
    ("22012", sa.exc.DataError, pgdialect.DataError),
    ("42P01", sa.exc.ProgrammingError, pgdialect.ProgrammingError),
    ("0A000", sa.exc.NotSupportedError, pgdialect.NotSupportedError),
    ("53100", sa.exc.OperationalError, pgdialect.OperationalError),
    ("40001", sa.exc.OperationalError, pgdialect.OperationalError),
    ("XX000", sa.exc.InternalError, pgdialect.InternalServerError),
    # class 08 raised by a statement: the connection is fine (as asyncpg)
    ("08000", sa.exc.OperationalError, pgdialect.OperationalError),
    ("P0001", sa.exc.ProgrammingError, pgdialect.ProgrammingError),
    ("2BP01", sa.exc.InternalError, pgdialect.InternalError),
    ("72000", sa.exc.DatabaseError, pgdialect.DatabaseError),
])
async def test_server_errors_translated(engine, sqlstate, cls, dbapi_cls):
    sql = ("DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '{}'; "
           "END $$".format(sqlstate))
    async with engine.connect() as conn:
        with pytest.raises(cls) as info:
            await conn.exec_driver_sql(sql)
    err = info.value
    assert type(err.orig) is dbapi_cls
    assert err.orig.sqlstate == err.orig.pgcode == sqlstate
    assert isinstance(err.orig.orig, pgwire.PostgresError)
    assert err.orig.orig.sqlstate == sqlstate
    assert not err.connection_invalidated


async def test_natural_errors_translated(engine):
    meta = sa.MetaData()
    t = sa.Table("sqla_err", meta, sa.Column("id", sa.Integer,
                                             primary_key=True))
    async with engine.begin() as conn:
        await conn.run_sync(meta.drop_all)
        await conn.run_sync(meta.create_all)
    try:
        async with engine.connect() as conn:
            await conn.execute(t.insert(), {"id": 1})
            with pytest.raises(sa.exc.IntegrityError, match="sqla_err_pkey"):
                await conn.execute(t.insert(), {"id": 1})
            await conn.rollback()
            with pytest.raises(sa.exc.ProgrammingError,
                               match="UndefinedTableError"):
                await conn.exec_driver_sql("SELECT * FROM no_such_table")
            await conn.rollback()
            # an argument pgwire cannot encode: DataError, not a TypeError
            with pytest.raises(sa.exc.DataError,
                               match="invalid input for query argument"):
                await conn.exec_driver_sql("SELECT $1::int", ("x",))
            await conn.rollback()
            # misuse of the driver: InterfaceError
            with pytest.raises(sa.exc.InterfaceError) as info:
                await conn.exec_driver_sql("SELECT $1::int, $2::int", (1,))
            assert isinstance(info.value.orig.orig, pgwire.InterfaceError)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(meta.drop_all)


async def _terminate(cluster, pid):
    admin = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await wait_until(
            lambda: admin.fetchval(
                "SELECT NOT EXISTS (SELECT FROM pg_stat_activity "
                "WHERE pid = $1)", pid),
            what="the terminated backend to exit")
    finally:
        await admin.close()


async def test_disconnect_server_terminated_during_execute(engine, cluster):
    async with engine.connect() as conn:
        pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        await conn.rollback()
        query = asyncio.ensure_future(
            conn.exec_driver_sql("SELECT pg_sleep(60)"))
        admin = await pgwire.connect(**cluster.connect_kwargs())
        try:
            await wait_until(lambda: admin.fetchval(
                "SELECT state = 'active' FROM pg_stat_activity "
                "WHERE pid = $1", pid), what="the sleep to start")
        finally:
            await admin.close()
        await _terminate(cluster, pid)
        with pytest.raises(sa.exc.DBAPIError) as info:
            await query
        assert info.value.connection_invalidated
        assert pgdialect.is_disconnect_error(info.value.orig)
    # the pool replaced it
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT 1")) == 1


async def test_disconnect_server_terminated_idle(engine, cluster):
    async with engine.connect() as conn:
        pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        await conn.commit()
        await _terminate(cluster, pid)
        with pytest.raises(sa.exc.DBAPIError) as info:
            await conn.exec_driver_sql("SELECT 1")
        assert info.value.connection_invalidated
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT 2")) == 2


async def test_disconnect_lost_link(cluster):
    async with FaultProxy((cluster.tcp_host, cluster.port)) as proxy:
        url = _url(cluster).set(host="127.0.0.1", port=proxy.port)
        eng = create_async_engine(url, connect_args={"ssl": "disable"})
        try:
            async with eng.connect() as conn:
                assert await conn.scalar(sa.text("SELECT 1")) == 1
                proxy.reset_all()
                with pytest.raises(sa.exc.DBAPIError) as info:
                    await conn.exec_driver_sql("SELECT 2")
                assert info.value.connection_invalidated
        finally:
            await eng.dispose()


async def test_disconnect_closed_connection(engine):
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.close()
        with pytest.raises(sa.exc.DBAPIError) as info:
            await conn.exec_driver_sql("SELECT 1")
        assert info.value.connection_invalidated
        assert isinstance(info.value.orig, pgdialect.InterfaceError)


def test_is_disconnect_classification():
    exc = pgwire.exceptions
    gone = [exc.AdminShutdownError("terminating connection"),
            exc.ConnectionDoesNotExistError("connection was closed in the "
                                            "middle of operation"),
            exc.CannotConnectNowError("starting up"),
            pgwire.InterfaceError("connection is closed"),
            ConnectionResetError(104, "reset")]
    for e in gone:
        assert pgdialect.is_disconnect_error(e), e
    alive = [exc.UniqueViolationError("dup"), exc.QueryCanceledError("c"),
             exc.PostgresConnectionError("raised by a statement"),
             pgwire.InterfaceError("cannot use a closed cursor"),
             exc.DataError("bad")]
    for e in alive:
        assert not pgdialect.is_disconnect_error(e), e


async def test_uses_pgwire_statement_cache(engine):
    """One server-side statement per query text, found again without a
    new Parse: no second (SQLAlchemy-side) prepared statement."""
    sql = sa.text("SELECT CAST(:x AS int) AS pgwire_cache_probe")
    async with engine.connect() as conn:
        for i in range(3):
            assert await conn.scalar(sql, {"x": i}) == i
        raw = await conn.get_raw_connection()
        assert raw.driver_connection._protocol.statement_cache_len >= 1
        stmts = [s for s in await _server_prepared(conn)
                 if "pgwire_cache_probe" in s and "pg_prepared" not in s]
        assert len(stmts) == 1, stmts


async def test_statement_cache_size_zero(cluster):
    """Behind a transaction-mode pooler: statement_cache_size=0 (from the
    URL) leaves no named statement on the server."""
    eng = create_async_engine(_url(cluster, statement_cache_size="0"))
    try:
        async with eng.connect() as conn:
            for i in range(3):
                assert await conn.scalar(
                    sa.text("SELECT CAST(:x AS int) + 0"), {"x": i}) == i
            assert await _server_prepared(conn) == []
            raw = await conn.get_raw_connection()
            assert raw.driver_connection._protocol.statement_cache_len == 0
    finally:
        await eng.dispose()


async def test_extension_type_arrays(engine):
    """hstore[] and citext[] (text I/O only) as lists both ways, through
    SQLAlchemy's types (issue 18: asyncpg returns lists here)."""
    from sqlalchemy.dialects import postgresql as pg
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS hstore")
        await conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS citext")
    meta = sa.MetaData()
    t = sa.Table("sqla_ext_arr", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("ci", pg.ARRAY(pg.CITEXT)),
                 sa.Column("hs", pg.ARRAY(pg.HSTORE)))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
            await conn.execute(t.insert(), {
                "id": 1, "ci": ["Ab", None, 'q"'],
                "hs": [{"a": "1"}, {"b": None}]})
            row = (await conn.execute(sa.select(t))).one()
            assert row.ci == ["Ab", None, 'q"']
            assert row.hs == [{"a": "1"}, {"b": None}]
            found = await conn.scalar(
                sa.select(t.c.id).where(t.c.ci.contains(["ab"])))
            assert found == 1
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(meta.drop_all)


async def test_one_url_both_engines(cluster):
    """create_engine() takes the sync dialect (tests/test_sqlalchemy_sync.py
    tests it), create_async_engine() the asyncio one, from the same URL;
    postgresql+pgwire_async names the asyncio one by itself."""
    eng = sa.create_engine(_url(cluster))
    assert type(eng.dialect) is pgdialect.PGDialect_pgwire
    eng.dispose()
    aeng = create_async_engine(_url(cluster))
    assert type(aeng.dialect) is pgdialect.PGDialectAsync_pgwire
    await aeng.dispose()
    pgwire.sqlalchemy.register()
    url = _url(cluster).set(drivername="postgresql+pgwire_async")
    assert url.get_dialect() is pgdialect.PGDialectAsync_pgwire


async def test_pool_pre_ping_replaces_dead_connection(cluster):
    eng = create_async_engine(_url(cluster), pool_size=1, max_overflow=0,
                              pool_pre_ping=True)
    try:
        async with eng.connect() as conn:
            pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        await _terminate(cluster, pid)
        async with eng.connect() as conn:  # the ping sees it, no error
            new = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        assert new != pid
    finally:
        await eng.dispose()


async def test_async_creator_and_connect_args(cluster):
    calls = []

    async def creator():
        calls.append(1)
        return await pgwire.connect(**cluster.connect_kwargs(
            server_settings={"application_name": "sqla-creator"}))

    eng = create_async_engine("postgresql+pgwire://", async_creator=creator)
    try:
        async with eng.connect() as conn:
            name = await conn.scalar(sa.text("SHOW application_name"))
        assert name == "sqla-creator" and calls == [1]
    finally:
        await eng.dispose()
    eng = create_async_engine(_url(cluster, command_timeout="0.2"),
                              connect_args={"server_settings": {
                                  "application_name": "sqla-args"}})
    try:
        async with eng.connect() as conn:
            assert await conn.scalar(
                sa.text("SHOW application_name")) == "sqla-args"
            with pytest.raises(asyncio.TimeoutError):
                await conn.exec_driver_sql("SELECT pg_sleep(5)")
    finally:
        await eng.dispose()


async def test_multiple_hosts_url(cluster):
    """The asyncpg dialect's multi-host URL form reaches pgwire.connect's
    host/port lists: a dead first host is skipped."""
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    url = _url(cluster).set(host=None, port=None).update_query_pairs(
        [("host", "127.0.0.1:%d" % dead),
         ("host", "127.0.0.1:%d" % cluster.port)])
    eng = create_async_engine(url)
    try:
        async with eng.connect() as conn:
            assert await conn.scalar(sa.text("SELECT 1")) == 1
    finally:
        await eng.dispose()


@pytest.mark.parametrize("cache_size", [None, 0])
async def test_one_round_trip_per_statement(cluster, cache_size):
    """Once a statement is known (pgwire's cache, or with
    statement_cache_size=0 its remembered description), each execution is
    one round trip: one Sync from the client, counted at the fault proxy."""
    async with FaultProxy((cluster.tcp_host, cluster.port)) as proxy:
        # a trigger that never fires, for its count of Sync messages
        proxy.add_trigger(C2S, b"S", nth=10**9, mode="pass")
        url = _url(cluster).set(host="127.0.0.1", port=proxy.port)
        args = {"ssl": "disable"}
        if cache_size is not None:
            args["statement_cache_size"] = cache_size
        eng = create_async_engine(url, connect_args=args)
        try:
            async with eng.connect() as conn:
                sql = sa.text("SELECT CAST(:x AS int) * 2")
                assert await conn.scalar(sql, {"x": 1}) == 2  # warm-up
                seen = proxy.links[0].triggers[0].seen
                for i in range(5):
                    assert await conn.scalar(sql, {"x": i}) == 2 * i
                assert proxy.links[0].triggers[0].seen - seen == 5
        finally:
            await eng.dispose()
