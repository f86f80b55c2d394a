"""The row decoder's feeds (src/ext/stmt.c): a Record's items decoded into
place, dict rows filled as their values are decoded, makers given a C
array or a tuple.  A value that fails to decode in any position leaves
no half-built row and no reference behind, whatever the row shape; a
maker of the wrong width is refused once, when it is resolved."""

import gc
import sys

import msgspec
import pytest

import pgwire
from pgwire import _pgwire, rows
from pgwire.rows import (class_row, dict_row, namedtuple_row, scalar_row,
                         struct_row, tuple_row)


class Sub(pgwire.Record):
    pass


class S3(msgspec.Struct):
    a: object
    b: object
    c: object


class S7(msgspec.Struct):
    a: object
    b: object
    c: object
    d: object
    e: object
    f: object
    g: object


class C3:
    def __init__(self, a, b, c):
        self.a, self.b, self.c = a, b, c


def _shapes(struct):
    """(record_class, row_factory) pairs covering every feed."""
    return [(None, None), (Sub, None), (None, dict_row), (None, tuple_row),
            (None, namedtuple_row), (None, scalar_row),
            (None, struct_row(struct)), (None, class_row(C3)),
            (None, lambda names: lambda values: list(values))]


def _loads(s):
    if s == '"bad"':
        raise ValueError("bad doc")
    return s


def _query(width, pos):
    """width columns a, b, ... with a jsonb at pos that fails on row 2."""
    cols = []
    for k in range(width):
        name = "abcdefg"[k]
        if k == pos:
            cols.append("(CASE WHEN g = 2 THEN '\"bad\"' ELSE '1' END)"
                        f"::jsonb AS {name}")
        else:
            cols.append(f"'v' || g || '{k}' AS {name}")
    return (f"SELECT {', '.join(cols)} FROM generate_series(1, 3) g")


@pytest.fixture
async def jconn(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(), json_decode=True,
                                json_loads=_loads)
    try:
        yield conn
    finally:
        await conn.close()


async def _fail_everywhere(conn):
    for width, struct in ((3, S3), (7, S7)):
        for pos in range(width):
            q = _query(width, pos)
            for rc, rf in _shapes(struct):
                if rf is not None and rf is class_row(C3) and width != 3:
                    continue
                kw = {"record_class": rc} if rc else {"row_factory": rf}
                with pytest.raises(ValueError, match="bad doc") as ei:
                    await conn.fetch(q, **kw)
                assert any("while decoding column" in n
                           for n in getattr(ei.value, "__notes__", ()))


async def test_decode_error_in_any_column_of_any_shape(jconn):
    await _fail_everywhere(jconn)
    # the connection and the statements stay usable
    q = _query(3, 1) + " WHERE g <> 2"
    assert await jconn.fetch(q, row_factory=dict_row) == [
        {"a": "v10", "b": "1", "c": "v12"}, {"a": "v30", "b": "1", "c": "v32"}]
    r = await jconn.fetch(q, record_class=Sub)
    assert type(r[0]) is Sub and tuple(r[1]) == ("v30", "1", "v32")
    assert await jconn.fetch(_query(7, 6) + " WHERE g = 1",
                             row_factory=struct_row(S7)) == [
        S7("v10", "v11", "v12", "v13", "v14", "v15", "1")]


async def test_decode_errors_do_not_leak(jconn):
    for _ in range(3):
        await _fail_everywhere(jconn)
    gc.collect()
    blocks0 = sys.getallocatedblocks()
    for _ in range(15):
        await _fail_everywhere(jconn)
    gc.collect()
    # 15 rounds of 90 failing fetches; one leaked row or value each would
    # be well over 1350 blocks
    assert sys.getallocatedblocks() - blocks0 < 600


async def test_wide_dict_rows_with_duplicate_names(conn):
    # wider than the dict maker's small-row limit: the template copy path
    q = ("SELECT 1 AS a, 2 AS b, 3 AS c, 4 AS d, 5 AS e, 6 AS f, "
         "7 AS a, 8 AS c")
    assert await conn.fetchrow(q, row_factory=dict_row) == {
        "a": 7, "b": 2, "c": 8, "d": 4, "e": 5, "f": 6}
    got = await conn.fetch(q + " FROM generate_series(1, 3)",
                           row_factory=dict_row)
    assert [list(r) for r in got] == [["a", "b", "c", "d", "e", "f"]] * 3


async def test_maker_of_the_wrong_width_is_refused(conn):
    def factory(names):
        return rows.RowMaker("dict", None, ("x", "y"))
    with pytest.raises(ValueError,
                       match="row maker for 2 columns given 3 values"):
        await conn.fetch("SELECT 1 AS a, 2 AS b, 3 AS c", row_factory=factory)
    assert await conn.fetchrow("SELECT 1 AS x, 2 AS y",
                               row_factory=factory) == {"x": 1, "y": 2}
    # kinds that do not pair values with names take any width
    def args(names):
        return rows.RowMaker("args", max)
    assert await conn.fetchval("SELECT 1") == 1
    assert await conn.fetchrow("SELECT 3 AS a, 9 AS b, 4 AS c",
                               row_factory=args) == 9


# --- the freelist of exact Records (src/ext/record.c) -----------------

class Sub2(pgwire.Record):
    pass


async def test_reused_records_are_of_the_class_asked_for(conn):
    q = "SELECT g AS a, 'x' || g AS b FROM generate_series(1, $1::int) g"
    for _ in range(3):
        # Records die and are kept; the next results take them
        recs = await conn.fetch(q, 50)
        assert {type(r) for r in recs} == {pgwire.Record}
        del recs
        subs = await conn.fetch(q, 50, record_class=Sub)
        assert {type(r) for r in subs} == {Sub}
        subs2 = await conn.fetch(q, 50, record_class=Sub2)
        assert {type(r) for r in subs2} == {Sub2}
        del subs, subs2    # subclass instances are never kept
        recs = await conn.fetch(q, 50)
        assert {type(r) for r in recs} == {pgwire.Record}
        assert [tuple(r) for r in recs] == [(g, f"x{g}")
                                            for g in range(1, 51)]
        del recs


async def test_reused_records_start_afresh(conn):
    q = "SELECT g AS a, g * 2 AS b FROM generate_series($1::int, $2::int) g"
    first = await conn.fetch(q, 1, 100)
    hashes = [hash(r) for r in first]   # cached in each record
    assert hashes == [hash((g, 2 * g)) for g in range(1, 101)]
    del first, hashes
    # other names, other values, the same width: no stale hash, names or
    # items; untracked unless an item may be in a cycle
    again = await conn.fetch("SELECT g AS x, ARRAY[g] AS y "
                             "FROM generate_series(1, 100) g")
    assert list(again[0].keys()) == ["x", "y"]
    assert again[5]["y"] == [6] and gc.is_tracked(again[5])
    del again
    plain = await conn.fetch(q, 1000, 1099)
    assert [hash(r) for r in plain] == [hash((g, 2 * g))
                                        for g in range(1000, 1100)]
    assert not any(gc.is_tracked(r) for r in plain)
    assert plain[0]["a"] == 1000 and dict(plain[-1].items()) == {
        "a": 1099, "b": 2198}


async def test_kept_records_are_bounded(conn):
    """The pool keeps at most 2000 records per width: fetching many more
    rows, again and again, leaves no more memory behind than that."""
    q = "SELECT g AS a FROM generate_series(1, 5000) g"
    for _ in range(2):
        await conn.fetch(q)
    gc.collect()
    blocks0 = sys.getallocatedblocks()
    for _ in range(5):
        await conn.fetch(q)
    gc.collect()
    assert abs(sys.getallocatedblocks() - blocks0) < 500


def test_pool_is_per_interpreter_and_drained_at_its_end():
    """A subinterpreter has its own module state and pool: Records made and
    freed there are kept in it; one still alive when the module is cleared
    is freed normally after the pool is drained and closed."""
    import _testcapi
    code = (
        "from pgwire import _pgwire\n"
        "import builtins\n"
        "keep = []\n"
        "for i in range(3000):\n"
        "    r = _pgwire._make_record(('a', 'b'), (i, str(i)))\n"
        "    if i % 1000 == 0:\n"
        "        keep.append(r)\n"
        "    del r\n"
        "again = [_pgwire._make_record(('x',), (i,)) for i in range(100)]\n"
        "assert [tuple(r) for r in again] == [(i,) for i in range(100)]\n"
        "assert [r['a'] for r in keep] == [0, 1000, 2000]\n"
        "builtins._pgwire_kept_records = keep\n"
    )
    assert _testcapi.run_in_subinterp(code) == 0
    here = [_pgwire._make_record(("a", "b"), (i, str(i))) for i in range(10)]
    assert [tuple(r) for r in here] == [(i, str(i)) for i in range(10)]
