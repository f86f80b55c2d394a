"""pgwire.dbapi (PEP 249) against the real server: every method, the
pyformat placeholders, implicit transactions and autocommit, description
and rowcount, threads sharing a connection, and the PEP 249 exception
classes on all three faces.  tests/test_dbapi20.py runs the dbapi20
compliance suite on top of this."""

import datetime
import threading
import time

import pytest

import pgwire
import pgwire.dbapi as dbapi
import pgwire.sync
from pgwire import exceptions as exc


@pytest.fixture
def dconn(cluster):
    c = dbapi.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        if not c._closed:
            c.close()


@pytest.fixture
def other(cluster):
    """A second connection, autocommit, to look from outside."""
    c = dbapi.connect(**cluster.connect_kwargs(), autocommit=True)
    try:
        yield c
    finally:
        c.close()


def _one(conn, query, params=None):
    cur = conn.cursor()
    cur.execute(query, params)
    return cur.fetchone()[0]


def test_module_globals_and_type_objects():
    assert dbapi.apilevel == "2.0"
    assert dbapi.threadsafety == 2
    assert dbapi.paramstyle == "pyformat"
    assert dbapi.STRING == 25 and dbapi.STRING == 1043
    assert dbapi.NUMBER == 23 and dbapi.NUMBER == 1700
    assert dbapi.NUMBER != 25 and 25 != dbapi.NUMBER
    assert dbapi.DATETIME == 1184 and dbapi.BINARY == 17
    assert dbapi.ROWID == 26
    assert dbapi.STRING != dbapi.NUMBER
    assert dbapi.Date(2024, 2, 29) == datetime.date(2024, 2, 29)
    assert dbapi.Time(1, 2, 3) == datetime.time(1, 2, 3)
    assert dbapi.Timestamp(2024, 1, 2, 3, 4, 5) == datetime.datetime(
        2024, 1, 2, 3, 4, 5)
    ticks = time.mktime((2024, 1, 2, 3, 4, 5, 0, 0, -1))
    assert dbapi.DateFromTicks(ticks) == datetime.date(2024, 1, 2)
    assert dbapi.TimeFromTicks(ticks) == datetime.time(3, 4, 5)
    assert dbapi.TimestampFromTicks(ticks) == datetime.datetime(
        2024, 1, 2, 3, 4, 5)
    assert dbapi.Binary(b"\x00a") == b"\x00a"


def test_exception_hierarchy():
    E = dbapi
    assert issubclass(E.Error, Exception)
    assert issubclass(E.Warning, Exception)
    assert not issubclass(E.Warning, E.Error)
    for name in ("DataError", "OperationalError", "IntegrityError",
                 "InternalError", "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(E, name), E.DatabaseError), name
        assert getattr(dbapi.Connection, name) is getattr(E, name)
    assert issubclass(E.InterfaceError, E.Error)
    assert issubclass(E.DatabaseError, E.Error)
    # pgwire's own classes
    assert issubclass(exc.PostgresError, E.DatabaseError)
    assert issubclass(exc.InterfaceError, E.InterfaceError)
    assert issubclass(exc.UniqueViolationError, E.IntegrityError)
    assert issubclass(exc.PostgresSyntaxError, E.ProgrammingError)
    assert issubclass(exc.UndefinedTableError, E.ProgrammingError)
    assert issubclass(exc.DivisionByZeroError, E.DataError)
    assert issubclass(exc.DataError, E.DataError)
    assert issubclass(exc.ConnectionDoesNotExistError, E.OperationalError)
    assert issubclass(exc.QueryCanceledError, E.OperationalError)
    assert issubclass(exc.DiskFullError, E.OperationalError)
    assert issubclass(exc.InternalServerError, E.InternalError)
    assert issubclass(exc.FeatureNotSupportedError, E.NotSupportedError)
    assert issubclass(exc.SerializationError, E.DatabaseError)
    assert not issubclass(exc.SerializationError, E.OperationalError)


def test_connect_arguments(cluster):
    kw = cluster.connect_kwargs()
    with dbapi.connect(**kw, autocommit=True) as c:
        assert c.autocommit is True
        assert isinstance(c.sync_connection, pgwire.sync.Connection)
    with dbapi.connect(cluster.dsn()) as c:
        assert c.autocommit is False
        assert _one(c, "SELECT 1") == 1
    with pytest.raises(dbapi.InterfaceError, match="paramstyle='numeric'"):
        dbapi.connect(**kw, paramstyle="numeric")
    with pytest.raises(dbapi.InterfaceError, match="autocommit must be a "
                                                  "bool, got 1"):
        dbapi.connect(**kw, autocommit=1)


def test_pyformat_positional_named_and_percent(dconn):
    cur = dconn.cursor()
    cur.execute("SELECT %s::int, %s::text", (1, "a"))
    assert cur.fetchall() == [(1, "a")]
    cur.execute("SELECT %s::int", [7])
    assert cur.fetchone() == (7,)
    cur.execute("SELECT %(a)s::int + %(a)s::int, %(b)s::text",
                {"a": 2, "b": "x", "unused": 0})
    assert cur.fetchone() == (4, "x")
    # %% is a literal % (also inside a string); a quoted %s is text
    cur.execute("SELECT '100%%', 10 %% 3, '%s', %s::text", ("p",))
    assert cur.fetchone() == ("100%", 1, "%s", "p")
    cur.execute("SELECT $$%s$$, \"%s\".x, %s::int FROM (SELECT 1 AS x) "
                "AS \"%s\" -- %s\n", (5,))
    assert cur.fetchone() == ("%s", 1, 5)
    # no parameters: sent as written (psycopg does the same)
    cur.execute("SELECT '100%%', '%s'")
    assert cur.fetchone() == ("100%%", "%s")
    # an empty sequence or mapping converts
    cur.execute("SELECT '100%%'", ())
    assert cur.fetchone() == ("100%",)
    cur.execute("SELECT '100%%'", {})
    assert cur.fetchone() == ("100%",)


def test_pyformat_errors(dconn):
    cur = dconn.cursor()
    with pytest.raises(dbapi.ProgrammingError,
                       match=r"must be a mapping, got \(1,\)"):
        cur.execute("SELECT %(a)s", (1,))
    with pytest.raises(dbapi.ProgrammingError,
                       match=r"%\(b\)s but the parameters have no 'b'"):
        cur.execute("SELECT %(a)s, %(b)s", {"a": 1})
    with pytest.raises(dbapi.ProgrammingError,
                       match=r"no named placeholders.*\['a'\]"):
        cur.execute("SELECT %s", {"a": 1})
    with pytest.raises(dbapi.ProgrammingError,
                       match="must be a sequence.*got 'ab'"):
        cur.execute("SELECT %s", "ab")
    with pytest.raises(dbapi.InterfaceError, match="cannot be mixed"):
        cur.execute("SELECT %s, %(a)s", (1,))
    with pytest.raises(dbapi.InterfaceError, match="only %s, %"):
        cur.execute("SELECT %d", (1,))
    with pytest.raises(dbapi.ProgrammingError, match="must be a str"):
        cur.execute(b"SELECT 1", ())
    # nothing was run on the server: the connection is fine
    dconn.rollback()
    assert _one(dconn, "SELECT %s::int", (3,)) == 3


def test_description_and_rowcount(dconn):
    cur = dconn.cursor()
    cur.execute("CREATE TEMP TABLE d (id int PRIMARY KEY, name text, "
                "at timestamptz, data bytea, n numeric)")
    assert cur.description is None and cur.rowcount == -1
    cur.execute("INSERT INTO d VALUES (%s, %s), (%s, %s), (%s, %s)",
                (1, "a", 2, "b", 3, "c"))
    assert cur.description is None and cur.rowcount == 3
    with pytest.raises(dbapi.ProgrammingError, match="no results to fetch"):
        cur.fetchone()
    cur.execute("SELECT id, name, at, data, n, oid::int AS x "
                "FROM d, (SELECT 1::oid) AS o(oid) ORDER BY id")
    assert cur.rowcount == 3
    desc = cur.description
    assert len(desc) == 6 and all(len(c) == 7 for c in desc)
    assert [c.name for c in desc] == ["id", "name", "at", "data", "n", "x"]
    assert [c[1] for c in desc] == [23, 25, 1184, 17, 1700, 23]
    assert desc[0].type_code == dbapi.NUMBER
    assert desc[1].type_code == dbapi.STRING
    assert desc[2].type_code == dbapi.DATETIME
    assert desc[3].type_code == dbapi.BINARY
    assert desc[4].type_code == dbapi.NUMBER
    assert desc[0][2:] == (None,) * 5
    cur.execute("UPDATE d SET name = upper(name) WHERE id > %s", (1,))
    assert cur.description is None and cur.rowcount == 2
    cur.execute("DELETE FROM d WHERE id = %(id)s", {"id": 3})
    assert cur.rowcount == 1
    cur.execute("SELECT * FROM d WHERE false")
    assert cur.rowcount == 0 and cur.fetchall() == []
    assert cur.description[0].name == "id"
    assert cur.lastrowid is None


def test_fetch_methods_iteration_and_arraysize(dconn):
    cur = dconn.cursor()
    cur.execute("SELECT g FROM generate_series(1, 10) AS g")
    assert cur.arraysize == 1
    assert cur.fetchone() == (1,)
    assert cur.fetchmany() == [(2,)]
    cur.arraysize = 3
    assert cur.fetchmany() == [(3,), (4,), (5,)]
    assert cur.fetchmany(2) == [(6,), (7,)]
    assert next(iter(cur)) == (8,)
    assert list(cur) == [(9,), (10,)]
    assert cur.fetchone() is None
    assert cur.fetchmany(5) == [] and cur.fetchall() == []
    with pytest.raises(dbapi.ProgrammingError,
                       match="size must be a non-negative int, got -1"):
        cur.fetchmany(-1)
    assert cur.execute("SELECT 1") is cur
    cur.setinputsizes((25,))
    cur.setoutputsize(10)
    assert cur.fetchall() == [(1,)]
    assert cur.connection is dconn


def test_multi_statement_without_parameters(dconn):
    cur = dconn.cursor()
    cur.execute("CREATE TEMP TABLE m (a int); INSERT INTO m VALUES (1); "
                "INSERT INTO m VALUES (2), (3) -- two more\n;")
    assert cur.rowcount == 2 and cur.description is None
    # a ; inside a string, a comment or a trailing ; is one statement
    cur.execute("SELECT count(*) FROM m WHERE 'a;b' <> ''; ")
    assert cur.fetchone() == (3,)
    cur.execute("SELECT 1 /* ; SELECT 2 */")
    assert cur.fetchall() == [(1,)]


def test_executemany(dconn):
    cur = dconn.cursor()
    cur.execute("CREATE TEMP TABLE em (a int, b text)")
    cur.executemany("INSERT INTO em VALUES (%s, %s)",
                    [(1, "a"), (2, "b")])
    cur.executemany("INSERT INTO em VALUES (%(a)s, %(b)s)",
                    iter([{"a": 3, "b": "c"}]))
    cur.executemany("INSERT INTO em VALUES (%s, %s)", [])
    assert cur.rowcount == -1 and cur.description is None
    cur.execute("SELECT a, b FROM em ORDER BY a")
    assert cur.fetchall() == [(1, "a"), (2, "b"), (3, "c")]
    dconn.commit()
    cur.execute("ALTER TABLE em ADD PRIMARY KEY (a)")
    with pytest.raises(dbapi.IntegrityError):
        cur.executemany("INSERT INTO em VALUES (%s, %s)",
                        [(4, "d"), (1, "dup")])
    dconn.rollback()
    cur.execute("SELECT count(*) FROM em")
    assert cur.fetchone() == (3,)


def test_callproc(dconn):
    cur = dconn.cursor()
    assert cur.callproc("lower", ("FOO",)) == ("FOO",)
    assert cur.fetchall() == [("foo",)]
    assert cur.callproc("now") == ()
    assert cur.rowcount == 1


def test_implicit_transaction_commit_rollback(dconn, other):
    ocur = other.cursor()
    ocur.execute("CREATE TABLE dbapi_tx (a int)")
    try:
        cur = dconn.cursor()
        assert not dconn.sync_connection.is_in_transaction()
        cur.execute("INSERT INTO dbapi_tx VALUES (%s)", (1,))
        assert dconn.sync_connection.is_in_transaction()
        assert _one(other, "SELECT count(*) FROM dbapi_tx") == 0
        dconn.commit()
        assert not dconn.sync_connection.is_in_transaction()
        assert _one(other, "SELECT count(*) FROM dbapi_tx") == 1
        cur.execute("INSERT INTO dbapi_tx VALUES (2)")
        dconn.rollback()
        assert _one(other, "SELECT count(*) FROM dbapi_tx") == 1
        # a failed statement aborts the transaction until rollback()
        with pytest.raises(dbapi.DataError):
            cur.execute("SELECT 1 / %s", (0,))
        with pytest.raises(exc.InFailedSQLTransactionError):
            cur.execute("SELECT 1")
        dconn.rollback()
        assert _one(dconn, "SELECT 2") == 2
        # commit()/rollback() without a transaction do nothing
        dconn.commit()
        dconn.commit()
        dconn.rollback()
        # autocommit: every statement is its own transaction
        dconn.autocommit = True
        cur.execute("INSERT INTO dbapi_tx VALUES (3)")
        assert not dconn.sync_connection.is_in_transaction()
        assert _one(other, "SELECT count(*) FROM dbapi_tx") == 2
        dconn.autocommit = False
        cur.execute("INSERT INTO dbapi_tx VALUES (4)")
        with pytest.raises(dbapi.ProgrammingError,
                           match="autocommit=True inside a transaction"):
            dconn.autocommit = True
        assert dconn.autocommit is False
        with pytest.raises(dbapi.InterfaceError,
                           match="autocommit must be a bool, got 'yes'"):
            dconn.autocommit = "yes"
        dconn.rollback()
    finally:
        ocur.execute("DROP TABLE dbapi_tx")


def test_context_manager(cluster, other):
    ocur = other.cursor()
    ocur.execute("CREATE TABLE dbapi_cm (a int)")
    try:
        with dbapi.connect(**cluster.connect_kwargs()) as c:
            with c.cursor() as cur:
                cur.execute("INSERT INTO dbapi_cm VALUES (1)")
            assert cur.closed
        assert c.closed
        assert _one(other, "SELECT count(*) FROM dbapi_cm") == 1
        with pytest.raises(RuntimeError, match="boom"):
            with dbapi.connect(**cluster.connect_kwargs()) as c:
                c.cursor().execute("INSERT INTO dbapi_cm VALUES (2)")
                raise RuntimeError("boom")
        assert c.closed
        assert _one(other, "SELECT count(*) FROM dbapi_cm") == 1
    finally:
        ocur.execute("DROP TABLE dbapi_cm")


def test_close(cluster):
    c = dbapi.connect(**cluster.connect_kwargs())
    cur = c.cursor()
    cur.execute("SELECT 1")
    cur.close()
    cur.close()
    with pytest.raises(dbapi.InterfaceError, match="the cursor is closed"):
        cur.fetchone()
    with pytest.raises(dbapi.InterfaceError, match="the cursor is closed"):
        cur.execute("SELECT 1")
    cur2 = c.cursor()
    c.close()
    assert c.closed
    for call in (c.commit, c.rollback, c.cursor,
                 lambda: cur2.execute("SELECT 1")):
        with pytest.raises(dbapi.InterfaceError,
                           match="the connection is closed"):
            call()
    with pytest.raises(dbapi.InterfaceError, match="already closed"):
        c.close()


def test_lost_connection_is_operational_error(dconn, other):
    pid = dconn.sync_connection.get_server_pid()
    _one(other, "SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(dbapi.OperationalError):
        dconn.cursor().execute("SELECT 1")


def test_errors_are_pep249_classes_on_every_face(dconn, cluster):
    cur = dconn.cursor()
    cur.execute("CREATE TEMP TABLE u (a int PRIMARY KEY)")
    cur.execute("INSERT INTO u VALUES (1)")
    with pytest.raises(dbapi.IntegrityError) as ei:
        cur.execute("INSERT INTO u VALUES (%s)", (1,))
    assert isinstance(ei.value, exc.UniqueViolationError)
    assert isinstance(ei.value, dconn.IntegrityError)
    assert ei.value.sqlstate == "23505"
    dconn.rollback()
    with pytest.raises(dbapi.ProgrammingError) as ei:
        cur.execute("SELEC 1")
    assert isinstance(ei.value, exc.PostgresSyntaxError)
    dconn.rollback()
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("SELECT * FROM no_such_table_dbapi")
    dconn.rollback()
    with pytest.raises(dbapi.NotSupportedError) as ei:
        cur.execute("SELECT count(*) FROM pg_namespace FOR UPDATE")
    assert ei.value.sqlstate == "0A000"
    dconn.rollback()
    # the blocking face raises the same classes
    s = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        s.execute("CREATE TEMP TABLE u (a int PRIMARY KEY)")
        s.execute("INSERT INTO u VALUES (1)")
        with pytest.raises(dbapi.IntegrityError):
            s.execute("INSERT INTO u VALUES (1)")
        with pytest.raises(dbapi.DataError):
            s.fetchval("SELECT 1 / 0")
    finally:
        s.close()


async def test_async_face_raises_pep249_classes(conn):
    await conn.execute("CREATE TEMP TABLE ua (a int PRIMARY KEY)")
    await conn.execute("INSERT INTO ua VALUES (1)")
    with pytest.raises(dbapi.IntegrityError):
        await conn.execute("INSERT INTO ua VALUES (1)")
    with pytest.raises(dbapi.ProgrammingError):
        await conn.execute("SELEC 1")
    with pytest.raises(dbapi.InterfaceError):
        await conn.fetch("SELECT $1::int")   # one argument missing


def test_threads_share_a_connection(dconn):
    dconn.autocommit = True
    errors = []
    start = threading.Barrier(4)

    def work(i):
        try:
            start.wait()
            cur = dconn.cursor()
            for j in range(50):
                cur.execute("SELECT %s::int * 1000 + %s::int", (i, j))
                assert cur.fetchall() == [(i * 1000 + j,)]
                assert cur.description[0].type_code == 23
        except BaseException as e:  # noqa: B036  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _one(dconn, "SELECT 1") == 1


def test_timeout_is_operational_error(cluster):
    with dbapi.connect(**cluster.connect_kwargs(),
                       command_timeout=0.2) as c:
        cur = c.cursor()
        with pytest.raises(dbapi.QueryTimeoutError) as ei:
            cur.execute("SELECT pg_sleep(%s)", (30,))
        assert isinstance(ei.value, dbapi.OperationalError)
        assert isinstance(ei.value, TimeoutError)
        c.rollback()
        cur.execute("SELECT %s::int", (1,))
        assert cur.fetchone() == (1,)


# -- psycopg 3's extensions the SQLAlchemy dialect uses -----------------------

def test_transaction_characteristics(dconn, other):
    assert (dconn.isolation_level, dconn.read_only,
            dconn.deferrable) == (None, None, None)
    dconn.isolation_level = "serializable"
    dconn.read_only = True
    dconn.deferrable = True
    assert dconn.isolation_level == "SERIALIZABLE"
    assert _one(dconn, "SHOW transaction_isolation") == "serializable"
    assert _one(dconn, "SHOW transaction_read_only") == "on"
    assert _one(dconn, "SHOW transaction_deferrable") == "on"
    with pytest.raises(dbapi.ProgrammingError,
                       match="cannot set read_only=False inside a "
                             "transaction"):
        dconn.read_only = False
    dconn.rollback()
    dconn.isolation_level = "REPEATABLE_READ"
    dconn.read_only = False
    dconn.deferrable = None
    assert _one(dconn, "SHOW transaction_isolation") == "repeatable read"
    assert _one(dconn, "SHOW transaction_read_only") == "off"
    dconn.rollback()
    dconn.isolation_level = None
    assert _one(dconn, "SHOW transaction_isolation") == "read committed"
    dconn.rollback()
    with pytest.raises(dbapi.ProgrammingError,
                       match="isolation_level must be None or one of .*"
                             "got 'chaos'"):
        dconn.isolation_level = "chaos"
    with pytest.raises(dbapi.ProgrammingError,
                       match="deferrable must be None or a bool, got 1"):
        dconn.deferrable = 1
    # nothing was set on the session
    assert _one(other, "SHOW default_transaction_isolation") == \
        "read committed"


def test_server_cursor(dconn):
    cur = dconn.cursor("big")
    assert isinstance(cur, dbapi.ServerCursor) and cur.name == "big"
    cur.execute("SELECT g, %s FROM generate_series(1, %s) g", ("x", 250))
    assert [c.name for c in cur.description] == ["g", "?column?"]
    assert cur.fetchone() == (1, "x")
    # the rest stays on the server until asked for
    assert len(cur._buffer) == cur.itersize - 1
    assert cur.fetchmany(3) == [(2, "x"), (3, "x"), (4, "x")]
    assert [r[0] for r in cur.fetchall()] == list(range(5, 251))
    assert cur.fetchone() is None and cur.fetchall() == []
    cur.execute("SELECT g FROM generate_series(1, 5) g")
    assert list(cur) == [(1,), (2,), (3,), (4,), (5,)]
    # closed early: its portal goes, the table can be dropped
    cur.execute("CREATE TEMP TABLE sc (x int)")
    assert cur.description is None and cur.fetchall() == []
    cur.execute("INSERT INTO sc SELECT generate_series(1, 30)")
    assert cur.rowcount == 30
    cur.execute("SELECT x FROM sc")
    assert cur.fetchone() == (1,)
    cur.close()
    dconn.cursor().execute("DROP TABLE sc")
    with pytest.raises(dbapi.InterfaceError, match="the cursor is closed"):
        cur.fetchone()
    with pytest.raises(dbapi.NotSupportedError, match="executemany"):
        dconn.cursor("m").executemany("SELECT %s", [(1,)])
    with pytest.raises(dbapi.ProgrammingError, match="nothing was executed"):
        dconn.cursor("n").fetchone()
    with pytest.raises(dbapi.ProgrammingError,
                       match="the name must be a non-empty str, got ''"):
        dconn.cursor("")
    dconn.rollback()
    # a server error in the middle of the rows
    cur = dconn.cursor("err")
    cur.execute("SELECT 1 / (g - 3) FROM generate_series(1, 5) g")
    with pytest.raises(dbapi.DataError):
        cur.fetchall()
    dconn.rollback()
    # it needs a transaction
    dconn.autocommit = True
    with pytest.raises(dbapi.Error, match="outside of a transaction"):
        dconn.cursor("ac").execute("SELECT 1")


def test_connect_failure_is_operational_error():
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(dbapi.OperationalError,
                       match="could not connect: ConnectionRefusedError") \
            as info:
        dbapi.connect(host="127.0.0.1", port=port, user="u", database="d")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
