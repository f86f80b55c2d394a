"""Row factories (pgwire.rows) on the blocking face (pgwire.sync: fetch,
fetchrow, fetchmany, prepare and the statement's methods, cursor, the
pool's shortcuts) and on the DB-API cursor (pgwire.dbapi: connect(),
cursor(), named cursors, Cursor.row_factory), against the real server:
each built-in factory and a user one, NULLs, duplicate column names, a
composite column, a class missing a field, record_class + row_factory
refused."""

import collections
import dataclasses

import msgspec
import pytest

import pgwire
import pgwire.dbapi
import pgwire.sync
from pgwire.rows import (class_row, dict_row, namedtuple_row, scalar_row,
                         struct_row, tuple_row)

Q = "SELECT g AS n, 'x' || g AS s, NULL::int AS z " \
    "FROM generate_series(1, 3) g"
Q_ONE = "SELECT $1::int AS n, 'x' || $1 AS s, NULL::int AS z"
ROWS = [(1, "x1", None), (2, "x2", None), (3, "x3", None)]
NAMES = ("n", "s", "z")


@dataclasses.dataclass
class NSZ:
    n: int
    s: str
    z: int | None


class NSZStruct(msgspec.Struct):
    n: int
    s: str
    z: int | None


@dataclasses.dataclass
class Missing:
    n: int
    s: str
    z: int | None
    email: str          # no column, no default


def upper_dict_row(names):
    keys = [n.upper() for n in names]
    return lambda values: dict(zip(keys, values))


NT = collections.namedtuple("Row", NAMES)

# (factory, what ROWS become)
FACTORIES = [
    (dict_row, [dict(zip(NAMES, r)) for r in ROWS]),
    (tuple_row, ROWS),
    (namedtuple_row, [NT(*r) for r in ROWS]),
    (class_row(NSZ), [NSZ(*r) for r in ROWS]),
    (struct_row(NSZStruct), [NSZStruct(*r) for r in ROWS]),
    (scalar_row, [r[0] for r in ROWS]),
    (upper_dict_row, [dict(zip(("N", "S", "Z"), r)) for r in ROWS]),
]
IDS = ["dict_row", "tuple_row", "namedtuple_row", "class_row", "struct_row",
       "scalar_row", "user"]


def _same(got, want):
    assert got == want
    # the same kinds of rows (a namedtuple_row class is pgwire's own)
    assert [type(g).__name__ for g in got] == \
        [type(w).__name__ for w in want]


@pytest.fixture
def sconn(cluster):
    c = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        c.terminate() if c.is_closed() else c.close()


@pytest.fixture
def dconn(cluster):
    c = pgwire.dbapi.connect(**cluster.connect_kwargs())
    try:
        yield c
    finally:
        c.close()


# -- the blocking face ------------------------------------------------------

@pytest.mark.parametrize("factory,want", FACTORIES, ids=IDS)
def test_sync_entry_points(sconn, factory, want):
    _same(sconn.fetch(Q, row_factory=factory), want)
    assert sconn.fetchrow(Q, row_factory=factory) == want[0]
    assert sconn.fetchrow(Q + " LIMIT 0", row_factory=factory) is None
    _same(sconn.fetchmany(Q_ONE, [(1,), (2,), (3,)], row_factory=factory),
          want)

    stmt = sconn.prepare(Q, row_factory=factory)
    _same(stmt.fetch(), want)
    assert stmt.fetchrow() == want[0]
    assert stmt.fetchval() == 1          # fetchval is not shaped
    one = sconn.prepare(Q_ONE)
    assert isinstance(one.fetchrow(1), pgwire.Record)
    assert one.fetchrow(2, row_factory=factory) == want[1]
    _same(one.fetch(3, row_factory=factory), [want[2]])
    _same(one.fetchmany([(1,), (2,), (3,)], row_factory=factory), want)

    with sconn.transaction():
        _same(list(sconn.cursor(Q, row_factory=factory, prefetch=2)), want)
        cur = sconn.cursor(Q, row_factory=factory).open()
        _same(cur.fetch(2), want[:2])
        assert cur.fetchrow() == want[2]
        _same(list(stmt.cursor()), want)
        _same(list(one.cursor(2, row_factory=factory)), [want[1]])
    # the connection's Records are untouched
    assert isinstance(sconn.fetchrow(Q), pgwire.Record)


def test_sync_nulls_and_composites(sconn):
    sconn.execute("CREATE TEMP TABLE rs_t (a int, b text); "
                  "CREATE TYPE pg_temp.rs_pair AS (n int, s text)")
    q = ("SELECT NULL::int AS i, NULL::text AS t, NULL::int[] AS arr, "
         "ROW(1, NULL)::rs_pair AS p, NULL::rs_pair AS np")
    row = sconn.fetchrow(q, row_factory=dict_row)
    assert row["i"] is None and row["t"] is None and row["arr"] is None
    assert row["np"] is None
    assert isinstance(row["p"], pgwire.Record)  # values stay Records
    assert row["p"]["n"] == 1 and row["p"]["s"] is None
    assert sconn.fetchrow(q, row_factory=tuple_row)[:3] == (None,) * 3
    nt = sconn.fetchrow(q, row_factory=namedtuple_row)
    assert nt.p["n"] == 1 and nt.np is None


def test_sync_duplicate_column_names(sconn):
    q = "SELECT 1 AS a, 2 AS b, 3 AS a"
    assert sconn.fetchrow(q, row_factory=dict_row) == {"a": 3, "b": 2}
    assert sconn.fetchrow(q, row_factory=tuple_row) == (1, 2, 3)
    assert sconn.fetchrow(q, row_factory=namedtuple_row)._fields == \
        ("a", "b", "_2")

    @dataclasses.dataclass
    class AB:
        a: int
        b: int
    with pytest.raises(TypeError, match="duplicate column names a"):
        sconn.fetchrow(q, row_factory=class_row(AB))
    assert sconn.fetchval("SELECT 1") == 1


def test_sync_class_missing_a_field(sconn):
    for call in (lambda: sconn.fetch(Q, row_factory=class_row(Missing)),
                 lambda: sconn.prepare(Q).fetch(
                     row_factory=class_row(Missing)),
                 lambda: sconn.fetchrow(
                     Q, row_factory=struct_row(msgspec.defstruct(
                         "M", ["n", "s", "z", "email"])))):
        with pytest.raises(TypeError) as ei:
            call()
        assert "missing" in str(ei.value) and "email" in str(ei.value)
        # the connection is still usable, outside and inside a transaction
        assert sconn.fetchval("SELECT 7") == 7
    with sconn.transaction():
        with pytest.raises(TypeError, match="email"):
            list(sconn.cursor(Q, row_factory=class_row(Missing)))
        assert sconn.fetchval("SELECT 8") == 8


def test_sync_record_class_and_row_factory_are_exclusive(sconn, cluster):
    class MyRecord(pgwire.Record):
        pass

    calls = [
        lambda: sconn.fetch("SELECT 1", record_class=MyRecord,
                            row_factory=dict_row),
        lambda: sconn.fetchrow("SELECT 1", record_class=MyRecord,
                               row_factory=dict_row),
        lambda: sconn.fetchmany("SELECT $1::int", [(1,)],
                                record_class=MyRecord, row_factory=dict_row),
        lambda: sconn.prepare("SELECT 1", record_class=MyRecord,
                              row_factory=dict_row),
        lambda: sconn.cursor("SELECT 1", record_class=MyRecord,
                             row_factory=dict_row),
        lambda: pgwire.sync.connect(**cluster.connect_kwargs(),
                                    record_class=MyRecord,
                                    row_factory=dict_row),
    ]
    for call in calls:
        with pytest.raises(TypeError) as ei:
            call()
        assert "record_class" in str(ei.value)
        assert "row_factory" in str(ei.value)
    with pytest.raises(TypeError, match="class_row"):
        sconn.fetch("SELECT 1", row_factory=NSZ)   # a class, not a factory
    assert sconn.fetchval("SELECT 1") == 1
    # a call's shape overrides the connection's default, both ways
    with pgwire.sync.connect(**cluster.connect_kwargs(),
                             row_factory=dict_row) as c:
        assert c.fetchrow("SELECT 1 AS a") == {"a": 1}
        assert type(c.fetchrow("SELECT 1 AS a", record_class=MyRecord)) \
            is MyRecord
        assert c.fetchrow("SELECT 1 AS a", row_factory=tuple_row) == (1,)


def test_sync_pool_shortcuts(cluster):
    pool = pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=1,
                                   max_size=1)
    try:
        _same(pool.fetch(Q, row_factory=class_row(NSZ)),
              [NSZ(*r) for r in ROWS])
        assert pool.fetchrow(Q, row_factory=dict_row) == \
            dict(zip(NAMES, ROWS[0]))
        assert pool.fetchmany(Q_ONE, [(1,)], row_factory=tuple_row) == \
            [ROWS[0]]
        assert isinstance(pool.fetchrow(Q), pgwire.Record)
    finally:
        pool.close()


# -- the DB-API cursor --------------------------------------------------------

DBQ = "SELECT g AS n, 'x' || g AS s, NULL::int AS z " \
      "FROM generate_series(1, %s) g"


@pytest.mark.parametrize("factory,want", FACTORIES, ids=IDS)
@pytest.mark.parametrize("named", [False, True], ids=["client", "server"])
def test_dbapi_cursor_row_factory(dconn, factory, want, named):
    cur = dconn.cursor("c1" if named else None, row_factory=factory)
    assert cur.row_factory is factory
    cur.execute(DBQ, (3,))
    assert [c.name for c in cur.description] == list(NAMES)
    assert cur.fetchone() == want[0]
    _same(cur.fetchmany(1), [want[1]])
    _same(cur.fetchall(), want[2:])
    assert cur.fetchone() is None
    cur.execute(DBQ, (3,))
    _same(list(cur), want)
    cur.close()
    dconn.rollback()


def test_dbapi_default_is_tuples_and_settable(dconn, cluster):
    cur = dconn.cursor()
    assert cur.row_factory is tuple_row and dconn.row_factory is tuple_row
    cur.execute(DBQ, (2,))
    assert cur.fetchall() == ROWS[:2]
    assert type(cur.execute(DBQ, (1,)).fetchone()) is tuple
    # a new row_factory applies from the next execute()
    cur.row_factory = dict_row
    cur.execute(DBQ, (1,))
    assert cur.fetchone() == dict(zip(NAMES, ROWS[0]))
    cur.row_factory = tuple_row
    assert cur.execute(DBQ, (1,)).fetchall() == [ROWS[0]]
    with pytest.raises(TypeError, match="row_factory.*class_row"):
        cur.row_factory = NSZ
    with pytest.raises(TypeError, match="row_factory.*None"):
        cur.row_factory = None
    with pytest.raises(TypeError, match="row_factory"):
        dconn.cursor(row_factory=42)
    # the connection's row_factory: the default of its next cursors
    dconn.row_factory = namedtuple_row
    assert dconn.cursor().execute(DBQ, (1,)).fetchone().s == "x1"
    assert cur.execute(DBQ, (1,)).fetchone() == ROWS[0]  # unchanged

    with pgwire.dbapi.connect(**cluster.connect_kwargs(),
                              row_factory=dict_row) as c:
        assert c.row_factory is dict_row
        assert c.cursor().execute(DBQ, (1,)).fetchall() == \
            [dict(zip(NAMES, ROWS[0]))]
        assert c.cursor(row_factory=tuple_row).execute(
            DBQ, (1,)).fetchall() == [ROWS[0]]
        assert c.cursor("named").execute(DBQ, (2,)).fetchall() == \
            [dict(zip(NAMES, r)) for r in ROWS[:2]]
    with pytest.raises(TypeError, match="row_factory"):
        pgwire.dbapi.connect(**cluster.connect_kwargs(), row_factory="dict")
    with pytest.raises(pgwire.dbapi.InterfaceError) as ei:
        pgwire.dbapi.connect(**cluster.connect_kwargs(),
                             record_class=pgwire.Record)
    assert "record_class" in str(ei.value) and "row_factory" in str(ei.value)


def test_dbapi_nulls_duplicates_and_composites(dconn):
    q = "SELECT NULL::text AS t, ROW(1, 'a') AS p, 1 AS a, 2 AS a"
    plain = dconn.cursor().execute(q).fetchone()
    cur = dconn.cursor(row_factory=dict_row)
    row = cur.execute(q).fetchone()
    assert row["t"] is None and row["a"] == 2
    # a composite value is what the tuple cursor gives for it
    assert row["p"] == plain[1] and tuple(row["p"]) == (1, "a")
    assert type(row["p"]) is type(plain[1])
    cur.row_factory = namedtuple_row
    cur.execute("SELECT 1 AS a, 2 AS a")
    assert cur.fetchone()._fields == ("a", "_1")


@pytest.mark.parametrize("named", [False, True], ids=["client", "server"])
def test_dbapi_class_missing_a_field(dconn, named):
    cur = dconn.cursor("c2" if named else None,
                       row_factory=class_row(Missing))
    if named:       # the rows are made as they are fetched
        cur.execute(DBQ, (2,))
        with pytest.raises(TypeError) as ei:
            cur.fetchall()
    else:           # execute() makes every row
        with pytest.raises(TypeError) as ei:
            cur.execute(DBQ, (2,))
    assert "missing" in str(ei.value) and "email" in str(ei.value)
    # the connection is still usable, its transaction too
    cur2 = dconn.cursor()
    assert cur2.execute("SELECT 5").fetchone() == (5,)
    dconn.commit()
    assert cur2.execute("SELECT 6").fetchone() == (6,)
