"""json_decode=True on the blocking face and pgwire.dbapi, with each
loader: the same codec layer as the async face (tests/test_json.py)."""

import pytest

import pgwire.dbapi
import pgwire.sync
from pgwire.rows import dict_row

from test_json import DOC, LOADERS


@pytest.fixture(params=sorted(LOADERS))
def sjconn(request, cluster):
    with pgwire.sync.connect(**cluster.connect_kwargs(), json_decode=True,
                             **LOADERS[request.param]) as conn:
        yield conn


def test_off_by_default(cluster):
    with pgwire.sync.connect(**cluster.connect_kwargs()) as conn:
        assert conn.fetchval("SELECT '{\"a\": 1}'::jsonb") == '{"a": 1}'


def test_round_trips(sjconn):
    for typ in ("json", "jsonb"):
        assert sjconn.fetchval(f"SELECT $1::{typ}", DOC) == DOC
        assert sjconn.fetchval(f"SELECT $1::{typ}", [1, "x"]) == [1, "x"]
        assert sjconn.fetchval(f"SELECT $1::{typ}", None) is None
        assert sjconn.fetchval(f"SELECT 'null'::{typ}") is None
        assert sjconn.fetchval(f"SELECT $1::{typ}[]", [DOC, None]) == \
            [DOC, None]
    assert sjconn.fetchval("SELECT jsonb_typeof($1::jsonb)",
                           {"a": 1}) == "object"
    # with a row factory, in a pool statement and through COPY-free paths
    assert sjconn.fetchrow("SELECT $1::jsonb AS j", DOC,
                           row_factory=dict_row) == {"j": DOC}
    stmt = sjconn.prepare("SELECT $1::json AS j")
    assert stmt.fetchval({"k": [1]}) == {"k": [1]}


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_dbapi_round_trips(cluster, loader):
    with pgwire.dbapi.connect(**cluster.connect_kwargs(), json_decode=True,
                              **LOADERS[loader]) as conn:
        cur = conn.cursor()
        cur.execute("SELECT %s::jsonb, %s::json", (DOC, [1, None]))
        assert cur.fetchone() == (DOC, [1, None])
        cur.execute("SELECT %(d)s::jsonb AS d", {"d": {"x": 1}})
        assert cur.fetchall() == [({"x": 1},)]


def test_pool_json(cluster):
    with pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=1,
                                 max_size=1, json_decode=True) as pool:
        assert pool.fetchval("SELECT $1::jsonb", DOC) == DOC
        assert pool.prepare("SELECT $1::json").fetchval([1]) == [1]
