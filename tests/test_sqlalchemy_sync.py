"""The sync SQLAlchemy dialect: create_engine("postgresql+pgwire://") on
pgwire.dbapi, against the real server.  Core and ORM round trips, the
types (JSON/JSONB, arrays, enums, UUID, ranges, hstore/citext), each
translated exception class, disconnects (a terminated session idle and
during a statement, a lost link, a closed connection, pool_pre_ping),
isolation levels and AUTOCOMMIT, stream_results, insertmanyvalues with
RETURNING, pgwire's statement cache (and statement_cache_size=0), DDL
invalidating the other connections' caches, and Alembic on the sync
engine.

tests/test_sqlalchemy.py tests the asyncio variant; SQLAlchemy's own suite
runs against both (scripts/sqlalchemy-suite.sh)."""

import asyncio
import datetime
import decimal
import textwrap
import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql as pg

import pgwire
import pgwire.dbapi
import pgwire.sqlalchemy
from pgwire.sqlalchemy import base as pgdialect

from faultproxy import C2S, FaultProxy
from waiting import wait_until


def _url(cluster, **query):
    url = sa.engine.make_url(
        cluster.dsn(host="tcp").replace("postgresql://",
                                        "postgresql+pgwire://", 1))
    return url.update_query_dict(query) if query else url


@pytest.fixture
def engine(cluster):
    eng = sa.create_engine(_url(cluster))
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def meta(engine):
    """A MetaData whose tables are dropped after the test."""
    m = sa.MetaData()
    try:
        yield m
    finally:
        with engine.begin() as conn:
            m.drop_all(conn)


def _server_prepared(conn):
    return [r[0] for r in conn.exec_driver_sql(
        "SELECT statement FROM pg_prepared_statements")]


def _portals(conn):
    """The named portals open on the server, but for this query's own."""
    return conn.scalar(sa.text(
        "SELECT count(*) FROM pg_cursors WHERE name <> '' "
        "AND statement NOT LIKE '%pg_cursors%'"))


def _pid(conn):
    return conn.scalar(sa.text("SELECT pg_backend_pid()"))


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


# -- the dialect -------------------------------------------------------------

def test_create_engine_is_sync_on_dbapi(engine):
    d = engine.dialect
    assert type(d) is pgdialect.PGDialect_pgwire
    assert not d.is_async and d.driver == "pgwire"
    assert d.paramstyle == "pyformat"
    assert isinstance(engine.pool, sa.pool.QueuePool)
    assert d.dbapi.dbapi_module is pgwire.dbapi
    assert d.dbapi.Error is pgwire.dbapi.Error
    version = tuple(int(p) for p in pgwire.__version__.split(".")[:2])
    assert d.retrieve_dbapi_version(d.dbapi)[:2] == version
    # SQLAlchemy 2.1's attribute; 2.0's asyncpg dialect reads __version__
    assert tuple(getattr(d, "dbapi_version", None)
                 or d._dbapi_version)[:2] == version
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert type(raw) is pgwire.dbapi.Connection
        assert conn.connection.driver_connection is raw
        assert conn.scalar(sa.text("SELECT 1")) == 1


def test_url_arguments(cluster):
    """URL query values reach pgwire.dbapi.connect with their types; the
    asyncpg dialect's prepared_statement_cache_size is another name for
    statement_cache_size."""
    eng = sa.create_engine(_url(cluster, command_timeout="30",
                                prepared_statement_cache_size="7"))
    try:
        with eng.connect() as conn:
            core = conn.connection.dbapi_connection.sync_connection._core
            assert core._config.command_timeout == 30.0
            assert core._config.statement_cache_size == 7
    finally:
        eng.dispose()


# -- Core and ORM -------------------------------------------------------------

def test_core_round_trip(engine, meta):
    kind = sa.Enum("small", "large", name="sqla_sync_kind", metadata=meta)
    t = sa.Table(
        "sqla_sync_rt", meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20), unique=True),
        sa.Column("tags", pg.ARRAY(sa.Text)),
        sa.Column("grid", pg.ARRAY(sa.Integer, dimensions=2)),
        sa.Column("doc", sa.JSON),
        sa.Column("docb", pg.JSONB),
        sa.Column("u", sa.Uuid),
        sa.Column("span", pg.INT4RANGE),
        sa.Column("spans", pg.INT4MULTIRANGE),
        sa.Column("kind", kind),
        sa.Column("kinds", pg.ARRAY(kind)),
        sa.Column("price", sa.Numeric(10, 2)),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("wait", sa.Interval))
    uid = uuid.uuid4()
    at = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
    value = {"name": "a", "tags": ["x", "y z", None], "grid": [[1, 2],
                                                               [3, 4]],
             "doc": {"k": [1, "2", None]}, "docb": {"b": True}, "u": uid,
             "span": pg.Range(1, 5), "spans": [pg.Range(1, 3),
                                               pg.Range(7, 9)],
             "kind": "large", "kinds": ["small", "large"],
             "price": decimal.Decimal("12.34"), "at": at,
             "blob": b"\x00\xff", "wait": datetime.timedelta(minutes=3)}
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(t.insert(), value)
        row = conn.execute(sa.select(t)).one()
    assert row._asdict() == dict(value, id=1)
    with engine.begin() as conn:
        # JSON path, array and range operators, bound through pyformat
        assert conn.scalar(sa.select(t.c.id).where(
            t.c.docb["b"].as_boolean())) == 1
        assert conn.scalar(sa.select(t.c.id).where(
            t.c.tags.contains(["x"]))) == 1
        assert conn.scalar(sa.select(t.c.id).where(
            t.c.span.contains(3))) == 1
        assert conn.scalar(sa.select(t.c.doc["k"][1].as_string())) == "2"
        res = conn.execute(t.update().values(name=t.c.name + "%"))
        assert res.rowcount == 1
        assert conn.scalar(sa.select(t.c.name).where(
            t.c.name.like("a%%", escape="/"))) == "a%"
        # a literal percent in text (SQLAlchemy doubles it for pyformat)
        assert conn.scalar(sa.text("SELECT 'x%y'")) == "x%y"
        assert conn.exec_driver_sql(
            "SELECT 'x%%y' || %(p)s", {"p": "!"}).scalar() == "x%y!"
        res = conn.execute(sa.select(t).where(t.c.id < 0))
        assert list(res.keys())[:3] == ["id", "name", "tags"]
        assert res.all() == []


def test_insertmanyvalues_returning(engine, meta):
    """executemany of an INSERT .. RETURNING goes through SQLAlchemy's
    insertmanyvalues (batches of one multi-row INSERT each), returning the
    rows in parameter order; an UPDATE executemany goes through
    cursor.executemany."""
    t = sa.Table("sqla_sync_imv", meta,
                 sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
                 sa.Column("x", sa.Integer), sa.Column("doc", pg.JSONB))
    seen = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        if "sqla_sync_imv" in statement:
            seen.append((statement.split()[0], type(parameters)))

    with engine.begin() as conn:
        meta.create_all(conn)
        seen.clear()
        eng = conn.execution_options(insertmanyvalues_page_size=4)
        res = eng.execute(
            t.insert().returning(t.c.id, t.c.x, sort_by_parameter_order=True),
            [{"x": i, "doc": {"i": i}} for i in range(10)])
        assert [tuple(r) for r in res] == [(i + 1, i) for i in range(10)]
        assert seen == [("INSERT", dict)] * 3     # 4 + 4 + 2 rows
        seen.clear()
        res = conn.execute(
            t.update().where(t.c.id == sa.bindparam("b_id"))
            .values(x=sa.bindparam("b_x")),
            [{"b_id": i + 1, "b_x": -i} for i in range(10)])
        assert seen == [("UPDATE", list)]
        assert conn.scalar(sa.select(sa.func.sum(t.c.x))) == -45
        assert conn.scalar(sa.select(t.c.doc).where(t.c.id == 3)) == \
            {"i": 2}


class _Base(orm.DeclarativeBase):
    pass


class _Author(_Base):
    __tablename__ = "sqla_sync_author"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(40), unique=True)
    tags: orm.Mapped[list] = orm.mapped_column(pg.ARRAY(sa.Text),
                                               default=list)
    books: orm.Mapped[list["_Book"]] = orm.relationship(
        back_populates="author", cascade="all, delete-orphan",
        order_by="_Book.id")


class _Book(_Base):
    __tablename__ = "sqla_sync_book"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    title: orm.Mapped[str]
    meta: orm.Mapped[dict] = orm.mapped_column(pg.JSONB, default=dict)
    author_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("sqla_sync_author.id"))
    author: orm.Mapped[_Author] = orm.relationship(back_populates="books")


def test_orm_round_trip(engine):
    _Base.metadata.create_all(engine)
    try:
        with orm.Session(engine) as s, s.begin():
            s.add_all([
                _Author(name="ann", tags=["x"], books=[
                    _Book(title="one", meta={"p": 1}),
                    _Book(title="two")]),
                _Author(name="bob", books=[_Book(title="three")])])
        with orm.Session(engine) as s:
            ann = s.scalars(sa.select(_Author).where(
                _Author.name == "ann").options(
                    orm.selectinload(_Author.books))).one()
            assert ann.tags == ["x"]
            assert [(b.title, b.meta) for b in ann.books] == [
                ("one", {"p": 1}), ("two", {})]
            ann.books[0].meta = {"p": 2}
            ann.books.pop()
            s.commit()
            counts = s.execute(
                sa.select(_Author.name, sa.func.count(_Book.id))
                .join(_Book).group_by(_Author.name)
                .order_by(_Author.name)).all()
            assert counts == [("ann", 1), ("bob", 1)]
            s.add(_Author(name="ann"))
            with pytest.raises(sa.exc.IntegrityError):
                s.flush()
            s.rollback()
            assert s.scalar(sa.select(sa.func.count(_Author.id))) == 2
            assert s.scalar(sa.select(_Book.meta).where(
                _Book.title == "one")) == {"p": 2}
    finally:
        _Base.metadata.drop_all(engine)


# -- errors ------------------------------------------------------------------

@pytest.mark.parametrize("sqlstate, cls, dbapi_cls", [
    ("23505", sa.exc.IntegrityError, pgwire.dbapi.IntegrityError),
    ("22012", sa.exc.DataError, pgwire.dbapi.DataError),
    ("42P01", sa.exc.ProgrammingError, pgwire.dbapi.ProgrammingError),
    ("0A000", sa.exc.NotSupportedError, pgwire.dbapi.NotSupportedError),
    ("53100", sa.exc.OperationalError, pgwire.dbapi.OperationalError),
    ("57014", sa.exc.OperationalError, pgwire.dbapi.OperationalError),
    ("XX000", sa.exc.InternalError, pgwire.dbapi.InternalError),
    # class 08 raised by a statement: the connection is fine
    ("08000", sa.exc.OperationalError, pgwire.dbapi.OperationalError),
    # classes whose PEP 249 class pgwire leaves at DatabaseError: the
    # dialect's translation map gives the asyncio variant's (psycopg's)
    ("40001", sa.exc.OperationalError, pgwire.dbapi.DatabaseError),
    ("25006", sa.exc.InternalError, pgwire.dbapi.DatabaseError),
    ("P0001", sa.exc.ProgrammingError, pgwire.dbapi.DatabaseError),
    ("72000", sa.exc.DatabaseError, pgwire.dbapi.DatabaseError),
])
def test_server_errors_translated(engine, sqlstate, cls, dbapi_cls):
    sql = ("DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '{}'; "
           "END $$".format(sqlstate))
    with engine.connect() as conn:
        with pytest.raises(cls) as info:
            conn.exec_driver_sql(sql)
        assert not conn.invalidated
        conn.rollback()
        assert conn.scalar(sa.text("SELECT 1")) == 1
    err = info.value
    assert type(err) is cls
    assert isinstance(err.orig, dbapi_cls)
    assert isinstance(err.orig, pgwire.PostgresError)
    assert err.orig.sqlstate == sqlstate
    assert not err.connection_invalidated


def test_natural_errors_translated(engine, meta):
    t = sa.Table("sqla_sync_err", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("n", sa.Integer, sa.CheckConstraint("n > 0")))
    with engine.begin() as conn:
        meta.create_all(conn)
    with engine.connect() as conn:
        conn.execute(t.insert(), {"id": 1, "n": 1})
        with pytest.raises(sa.exc.IntegrityError, match="sqla_err|pkey"):
            conn.execute(t.insert(), {"id": 1, "n": 1})
        conn.rollback()
        with pytest.raises(sa.exc.IntegrityError) as info:
            conn.execute(t.insert(), {"id": 2, "n": -1})
        assert type(info.value.orig) is pgwire.exceptions.CheckViolationError
        conn.rollback()
        with pytest.raises(sa.exc.ProgrammingError,
                           match="UndefinedTableError"):
            conn.exec_driver_sql("SELECT * FROM no_such_table")
        conn.rollback()
        with pytest.raises(sa.exc.ProgrammingError,
                           match="PostgresSyntaxError"):
            conn.exec_driver_sql("SELEC 1")
        conn.rollback()
        # an argument pgwire cannot encode: DataError, not a TypeError
        with pytest.raises(sa.exc.DataError,
                           match="invalid input for query argument"):
            conn.exec_driver_sql("SELECT %(x)s::int", {"x": "x"})
        conn.rollback()
        # misuse of the driver: InterfaceError / ProgrammingError
        with pytest.raises(sa.exc.InterfaceError) as info:
            conn.exec_driver_sql("SELECT %s::int, %d::int", (1, 2))
        assert isinstance(info.value.orig, pgwire.dbapi.InterfaceError)
        conn.rollback()
        with pytest.raises(sa.exc.ProgrammingError,
                           match="have no 'y' key"):
            conn.exec_driver_sql("SELECT %(y)s::int", {"x": 1})
        conn.rollback()
        assert conn.scalar(sa.text("SELECT 1")) == 1


def test_command_timeout(cluster):
    """A statement past command_timeout is cancelled on the server and
    raises OperationalError (pgwire.dbapi.QueryTimeoutError, a
    TimeoutError too).  SQLAlchemy treats a TimeoutError as an exit
    exception and replaces the connection (as with the asyncio variant);
    the engine goes on."""
    eng = sa.create_engine(_url(cluster, command_timeout="0.2"))
    try:
        with eng.connect() as conn:
            with pytest.raises(sa.exc.OperationalError) as info:
                conn.exec_driver_sql("SELECT pg_sleep(5)")
            assert isinstance(info.value.orig,
                              pgwire.dbapi.QueryTimeoutError)
            assert isinstance(info.value.orig, TimeoutError)
            conn.rollback()
            assert conn.scalar(sa.text("SELECT 1")) == 1
    finally:
        eng.dispose()


def test_connect_refused():
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = sa.create_engine("postgresql+pgwire://u@127.0.0.1:%d/d" % port)
    with pytest.raises(sa.exc.OperationalError) as info:
        eng.connect()
    assert isinstance(info.value.orig, pgwire.dbapi.OperationalError)
    assert isinstance(info.value.orig.__cause__, ConnectionRefusedError)


# -- disconnects ----------------------------------------------------------

async def test_disconnect_server_terminated_idle(engine, cluster):
    with engine.connect() as conn:
        pid = _pid(conn)
        conn.commit()
        await _terminate(cluster, pid)
        with pytest.raises(sa.exc.DBAPIError) as info:
            conn.exec_driver_sql("SELECT 1")
        assert info.value.connection_invalidated
        assert isinstance(info.value, sa.exc.OperationalError)
    # the pool replaced it
    with engine.connect() as conn:
        assert _pid(conn) != pid


async def test_disconnect_server_terminated_during_execute(engine, cluster):
    errors = []
    with engine.connect() as conn:
        pid = _pid(conn)
        conn.rollback()

        def sleep():
            try:
                conn.exec_driver_sql("SELECT pg_sleep(60)")
            except Exception as e:
                errors.append(e)

        worker = threading.Thread(target=sleep)
        worker.start()
        try:
            admin = await pgwire.connect(**cluster.connect_kwargs())
            try:
                await wait_until(lambda: admin.fetchval(
                    "SELECT state = 'active' FROM pg_stat_activity "
                    "WHERE pid = $1", pid), what="the sleep to start")
            finally:
                await admin.close()
            await _terminate(cluster, pid)
        finally:
            await asyncio.to_thread(worker.join, 30)
        assert len(errors) == 1, errors
        err = errors[0]
        assert isinstance(err, sa.exc.OperationalError), err
        assert err.connection_invalidated
        assert isinstance(err.orig,
                          pgwire.exceptions.ConnectionDoesNotExistError)
        assert "administrator command" in str(err.orig)
        assert pgdialect.is_disconnect_error(err.orig)
    with engine.connect() as conn:
        assert _pid(conn) != pid


async def test_disconnect_lost_link(cluster):
    """The link dies (an RST through the proxy): OperationalError, the
    connection invalidated, the next checkout reconnects."""
    async with FaultProxy((cluster.tcp_host, cluster.port)) as proxy:
        url = _url(cluster).set(host="127.0.0.1", port=proxy.port)
        eng = sa.create_engine(url, connect_args={"ssl": "disable"})

        def first():
            with eng.connect() as conn:
                assert conn.scalar(sa.text("SELECT 1")) == 1
                conn.commit()
                return conn.connection.dbapi_connection

        def second(conn):
            with pytest.raises(sa.exc.DBAPIError) as info:
                conn.exec_driver_sql("SELECT 2")
            return info.value

        try:
            raw = await asyncio.to_thread(first)
            conn = await asyncio.to_thread(eng.connect)
            assert conn.connection.dbapi_connection is raw
            proxy.reset_all()
            err = await asyncio.to_thread(second, conn)
            assert err.connection_invalidated
            assert isinstance(err, sa.exc.OperationalError), err
            await asyncio.to_thread(conn.close)
            again = await asyncio.to_thread(first)
            assert again is not raw
        finally:
            await asyncio.to_thread(eng.dispose)


def test_disconnect_closed_connection(engine):
    with engine.connect() as conn:
        conn.connection.dbapi_connection.sync_connection.terminate()
        with pytest.raises(sa.exc.DBAPIError) as info:
            conn.exec_driver_sql("SELECT 1")
        assert info.value.connection_invalidated
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT 1")) == 1


async def test_pool_pre_ping_replaces_dead_connection(cluster):
    eng = sa.create_engine(_url(cluster), pool_size=1, max_overflow=0,
                           pool_pre_ping=True)
    try:
        with eng.connect() as conn:
            pid = _pid(conn)
        await _terminate(cluster, pid)
        with eng.connect() as conn:  # the ping sees it, no error
            new = _pid(conn)
        assert new != pid
        with eng.connect() as conn:  # a live one passes the ping
            assert _pid(conn) == new
            assert not conn.connection.dbapi_connection.autocommit
    finally:
        eng.dispose()


# -- transactions ------------------------------------------------------------

def test_isolation_levels(engine):
    with engine.connect() as conn:
        assert conn.get_isolation_level() == "READ COMMITTED"
        assert engine.dialect.get_default_isolation_level(
            conn.connection.dbapi_connection) == "READ COMMITTED"
        conn.exec_driver_sql("SELECT 1")
        assert conn.in_transaction()
        assert conn.connection.dbapi_connection.sync_connection \
            .is_in_transaction()
    for level in ("SERIALIZABLE", "REPEATABLE READ", "READ UNCOMMITTED",
                  "READ COMMITTED"):
        with engine.connect().execution_options(
                isolation_level=level) as conn:
            assert conn.get_isolation_level() == level
            assert conn.scalar(sa.text(
                "SHOW transaction_isolation")) == level.lower()
    # the pooled connection went back to the default
    with engine.connect() as conn:
        assert conn.scalar(sa.text(
            "SHOW transaction_isolation")) == "read committed"
    with engine.connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        raw = conn.connection.dbapi_connection
        assert raw.autocommit
        conn.exec_driver_sql("SELECT 1")
        assert not raw.sync_connection.is_in_transaction()
    with engine.connect() as conn:
        assert not conn.connection.dbapi_connection.autocommit
    eng = sa.create_engine(engine.url, isolation_level="REPEATABLE READ")
    try:
        with eng.connect() as conn:
            assert conn.scalar(sa.text(
                "SHOW transaction_isolation")) == "repeatable read"
    finally:
        eng.dispose()


def test_readonly_deferrable(engine):
    with engine.connect().execution_options(
            isolation_level="SERIALIZABLE", postgresql_readonly=True,
            postgresql_deferrable=True) as conn:
        assert conn.scalar(sa.text("SHOW transaction_read_only")) == "on"
        assert conn.scalar(sa.text("SHOW transaction_deferrable")) == "on"
        with pytest.raises(sa.exc.InternalError,
                           match="ReadOnlySQLTransactionError"):
            conn.exec_driver_sql("CREATE TEMP TABLE ro (x int)")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SHOW transaction_read_only")) == "off"


def test_commit_rollback(engine, meta):
    t = sa.Table("sqla_sync_tx", meta, sa.Column("x", sa.Integer))
    with engine.begin() as conn:
        meta.create_all(conn)
    with engine.connect() as conn:
        conn.execute(t.insert(), {"x": 1})
        conn.rollback()
        conn.execute(t.insert(), {"x": 2})
        with conn.begin_nested():
            conn.execute(t.insert(), {"x": 3})
        nested = conn.begin_nested()
        conn.execute(t.insert(), {"x": 4})
        nested.rollback()
        conn.commit()
    with engine.connect() as conn:
        assert conn.scalars(sa.select(t.c.x).order_by(t.c.x)).all() == [2, 3]


def test_two_phase(cluster_module):
    """begin_twophase / prepare / commit, a prepared transaction rolled
    back on close, and recovery (COMMIT/ROLLBACK PREPARED run outside the
    implicit BEGIN).  On a server of its own: the session's has
    max_prepared_transactions = 0."""
    with cluster_module.TempCluster(
            settings={"max_prepared_transactions": "5"}) as server:
        eng = sa.create_engine(sa.engine.make_url(
            server.dsn(host="tcp")).set(drivername="postgresql+pgwire"))
        try:
            with eng.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE tp (x int)")
            with eng.connect() as conn:
                tx = conn.begin_twophase()
                conn.exec_driver_sql("INSERT INTO tp VALUES (1)")
                tx.prepare()
                tx.commit()
            with eng.connect() as conn:
                tx = conn.begin_twophase()
                conn.exec_driver_sql("INSERT INTO tp VALUES (2)")
                tx.prepare()
                tx.rollback()
            # prepared on one connection, recovered on another
            conn = eng.connect()
            tx = conn.begin_twophase(xid="pgwire'xid")
            conn.exec_driver_sql("INSERT INTO tp VALUES (3)")
            tx.prepare()
            conn.invalidate()   # the session ends, the transaction stays
            conn.close()
            with eng.connect() as conn:
                assert conn.recover_twophase() == ["pgwire'xid"]
                conn.commit_prepared("pgwire'xid", recover=True)
                assert conn.recover_twophase() == []
                assert conn.scalars(sa.text(
                    "SELECT x FROM tp ORDER BY x")).all() == [1, 3]
        finally:
            eng.dispose()


# -- server-side cursors -----------------------------------------------------

def test_stream_results(engine):
    sql = sa.text("SELECT g, repeat('x', 10) AS s "
                  "FROM generate_series(1, 2500) g")
    with engine.connect() as conn:
        res = conn.execution_options(stream_results=True,
                                     max_row_buffer=100).execute(sql)
        cur = res.cursor
        assert type(cur) is pgwire.dbapi.ServerCursor
        first = res.fetchmany(10)
        assert [r.g for r in first] == list(range(1, 11))
        # a portal on the server, not 2500 rows in memory
        assert _portals(conn) == 1
        assert len(cur._buffer) <= 100
        rest = [r.g for r in res]
        assert rest == list(range(11, 2501))
        # partitions (yield_per)
        res = conn.execution_options(yield_per=1000).execute(sql)
        assert type(res.cursor) is pgwire.dbapi.ServerCursor
        assert [len(p) for p in res.partitions(1000)] == [1000, 1000, 500]
        # closed early: the portal is closed, the table can be dropped in
        # the same transaction
        conn.exec_driver_sql("CREATE TEMP TABLE ss (x int)")
        conn.exec_driver_sql("INSERT INTO ss SELECT generate_series(1, 50)")
        res = conn.execution_options(stream_results=True).execute(
            sa.text("SELECT x FROM ss"))
        assert res.fetchone().x == 1
        res.close()
        conn.exec_driver_sql("DROP TABLE ss")
        assert _portals(conn) == 0
        # ORM
    with orm.Session(engine) as s:
        got = s.scalars(sa.select(sa.literal_column("g")).select_from(
            sa.func.generate_series(1, 300).alias("g")),
            execution_options={"yield_per": 50}).all()
        assert got == list(range(1, 301))


def test_stream_results_errors(engine):
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DataError):
            conn.execution_options(stream_results=True).execute(
                sa.text("SELECT 1 / (g - 5) FROM generate_series(1, 10) g"
                        )).all()
        conn.rollback()
        assert conn.scalar(sa.text("SELECT 1")) == 1


# -- the statement cache ---------------------------------------------------

def test_uses_pgwire_statement_cache(engine):
    """One server-side statement per query text, found again without a new
    Parse: no second (SQLAlchemy-side) prepared statement."""
    sql = sa.text("SELECT CAST(:x AS int) AS pgwire_sync_probe")
    with engine.connect() as conn:
        for i in range(3):
            assert conn.scalar(sql, {"x": i}) == i
        core = conn.connection.dbapi_connection.sync_connection._core
        assert core._protocol.statement_cache_len >= 1
        stmts = [s for s in _server_prepared(conn)
                 if "pgwire_sync_probe" in s and "pg_prepared" not in s]
        assert len(stmts) == 1, stmts


def test_statement_cache_size_zero(cluster):
    """Behind a transaction-mode pooler: statement_cache_size=0 (from the
    URL) leaves no named statement on the server."""
    eng = sa.create_engine(_url(cluster, statement_cache_size="0"))
    try:
        with eng.connect() as conn:
            for i in range(3):
                assert conn.scalar(
                    sa.text("SELECT CAST(:x AS int) + 0"), {"x": i}) == i
            with conn.execution_options(stream_results=True).execute(
                    sa.text("SELECT generate_series(1, 5)")) as res:
                assert len(res.all()) == 5
            assert _server_prepared(conn) == []
            core = conn.connection.dbapi_connection.sync_connection._core
            assert core._protocol.statement_cache_len == 0
    finally:
        eng.dispose()


async def test_one_round_trip_per_statement(cluster):
    """Once a statement is known, each execution outside a transaction
    block's first statement is one round trip (one Sync), with pyformat
    conversion cached by pgwire.dbapi."""
    async with FaultProxy((cluster.tcp_host, cluster.port)) as proxy:
        proxy.add_trigger(C2S, b"S", nth=10**9, mode="pass")
        url = _url(cluster).set(host="127.0.0.1", port=proxy.port)
        eng = sa.create_engine(url, connect_args={"ssl": "disable"})

        def run():
            with eng.connect() as conn:
                sql = sa.text("SELECT CAST(:x AS int) * 2")
                assert conn.scalar(sql, {"x": 1}) == 2  # BEGIN + warm-up
                seen = proxy.links[0].triggers[0].seen
                for i in range(5):
                    assert conn.scalar(sql, {"x": i}) == 2 * i
                return proxy.links[0].triggers[0].seen - seen

        try:
            assert await asyncio.to_thread(run) == 5
        finally:
            await asyncio.to_thread(eng.dispose)


def test_ddl_invalidates_other_connections(engine):
    """An enum dropped and created again by one connection: the others
    drop their type and statement caches before their next statement
    (the asyncpg dialect's rule), so they read the new type."""
    eng = engine.execution_options()
    with eng.begin() as conn:
        conn.exec_driver_sql("DROP TYPE IF EXISTS sqla_sync_mood")
        conn.exec_driver_sql("CREATE TYPE sqla_sync_mood AS ENUM ('a', 'b')")
    other = eng.connect()
    try:
        assert other.scalar(sa.text(
            "SELECT CAST('a' AS sqla_sync_mood)")) == "a"
        other.rollback()
        with eng.begin() as conn:
            conn.execute(sa.schema.DDL("DROP TYPE sqla_sync_mood"))
            conn.execute(sa.schema.DDL(
                "CREATE TYPE sqla_sync_mood AS ENUM ('a', 'b', 'c')"))
        assert other.scalar(sa.text(
            "SELECT CAST('c' AS sqla_sync_mood)")) == "c"
        other.rollback()
    finally:
        other.close()
        with eng.begin() as conn:
            conn.exec_driver_sql("DROP TYPE IF EXISTS sqla_sync_mood")


def test_extension_types(engine, meta):
    """hstore and citext (and arrays of them) as on the asyncio variant."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS hstore")
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS citext")
    t = sa.Table("sqla_sync_ext", meta,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("h", pg.HSTORE),
                 sa.Column("c", pg.CITEXT),
                 sa.Column("ci", pg.ARRAY(pg.CITEXT)),
                 sa.Column("hs", pg.ARRAY(pg.HSTORE)))
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(t.insert(), {
            "id": 1, "h": {"a": "1", "b": None}, "c": "MiXed",
            "ci": ["Ab", None, 'q"'], "hs": [{"a": "1"}, {"b": None}]})
        row = conn.execute(sa.select(t)).one()
        assert row.h == {"a": "1", "b": None}
        assert row.c == "MiXed"
        assert row.ci == ["Ab", None, 'q"']
        assert row.hs == [{"a": "1"}, {"b": None}]
        assert conn.scalar(sa.select(t.c.id).where(t.c.c == "mixed")) == 1
        assert conn.scalar(sa.select(t.c.id).where(
            t.c.ci.contains(["ab"]))) == 1
        assert conn.scalar(sa.select(t.c.h["a"])) == "1"


def test_json_serializer_options(cluster):
    """json_serializer / json_deserializer reach pgwire's codecs as on the
    asyncio variant."""
    import json
    eng = sa.create_engine(
        _url(cluster),
        json_serializer=lambda v: json.dumps({"wrapped": v}),
        json_deserializer=lambda s: ("got", json.loads(s)))
    try:
        with eng.connect() as conn:
            v = conn.scalar(sa.select(sa.cast(
                sa.literal({"a": 1}, sa.JSON), pg.JSONB)))
            assert v == ("got", {"wrapped": {"a": 1}})
    finally:
        eng.dispose()


def test_threads_share_the_pool(engine, meta):
    t = sa.Table("sqla_sync_threads", meta, sa.Column("x", sa.Integer))
    with engine.begin() as conn:
        meta.create_all(conn)
    errors = []

    def work(n):
        try:
            for i in range(20):
                with engine.begin() as conn:
                    conn.execute(t.insert(), {"x": n * 100 + i})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t)) == 120


# -- Alembic -----------------------------------------------------------------

ENV_PY = '''
from alembic import context
from sqlalchemy import create_engine

engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

REV1 = '''
"""create alembic_sync_demo"""
import sqlalchemy as sa
from alembic import op

revision = "s1"
down_revision = None


def upgrade():
    op.create_table(
        "alembic_sync_demo",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("mood", sa.Enum("a", "b", name="alembic_sync_mood")))


def downgrade():
    op.drop_table("alembic_sync_demo")
    sa.Enum(name="alembic_sync_mood").drop(op.get_bind())
'''

REV2 = '''
"""add email, index and a row"""
import sqlalchemy as sa
from alembic import op

revision = "s2"
down_revision = "s1"


def upgrade():
    op.add_column("alembic_sync_demo", sa.Column("email", sa.Text))
    op.create_index("ix_alembic_sync_demo_email", "alembic_sync_demo",
                    ["email"], unique=True)
    demo = sa.table("alembic_sync_demo", sa.column("name"),
                    sa.column("email"))
    op.bulk_insert(demo, [{"name": "ann", "email": "ann@example.org"},
                          {"name": "bob", "email": "bob%@example.org"}])


def downgrade():
    op.drop_index("ix_alembic_sync_demo_email",
                  table_name="alembic_sync_demo")
    op.drop_column("alembic_sync_demo", "email")
'''


def _schema_of(url):
    """The table as the server has it, through a new engine (Alembic's
    DDL ran on its own: a pooled connection's cached SELECT * would be a
    plan of the old table)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        cols = conn.scalars(sa.text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'alembic_sync_demo' "
            "ORDER BY ordinal_position")).all()
        version = None
        if conn.scalar(sa.text("SELECT to_regclass('alembic_version')")):
            version = conn.scalar(sa.text(
                "SELECT version_num FROM alembic_version"))
        index = conn.scalar(sa.text(
            "SELECT to_regclass('ix_alembic_sync_demo_email')"))
        rows = None
        if cols:
            rows = [tuple(r) for r in conn.execute(sa.text(
                "SELECT * FROM alembic_sync_demo ORDER BY id"))]
    engine.dispose()
    return cols, version, index is not None, rows


def test_alembic_upgrade_downgrade(engine, cluster, tmp_path):
    from alembic import command
    from alembic.config import Config
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(ENV_PY)
    (scripts / "script.py.mako").write_text("")
    (scripts / "versions" / "s1_create.py").write_text(textwrap.dedent(REV1))
    (scripts / "versions" / "s2_email.py").write_text(textwrap.dedent(REV2))
    cfg = Config()
    cfg.set_main_option("script_location", str(scripts))
    url = _url(cluster).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    _schema = lambda: _schema_of(url)  # noqa: E731
    try:
        command.upgrade(cfg, "head")
        assert _schema() == (
            ["id", "name", "mood", "email"], "s2", True,
            [(1, "ann", None, "ann@example.org"),
             (2, "bob", None, "bob%@example.org")])
        command.downgrade(cfg, "-1")
        assert _schema() == (["id", "name", "mood"], "s1", False,
                                   [(1, "ann", None), (2, "bob", None)])
        command.upgrade(cfg, "+1")
        cols, version, index, _ = _schema()
        assert (cols, version, index) == (["id", "name", "mood", "email"],
                                          "s2", True)
        command.downgrade(cfg, "base")
        assert _schema() == ([], None, False, None)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_sync_demo, "
                                 "alembic_version")
            conn.exec_driver_sql("DROP TYPE IF EXISTS alembic_sync_mood")
