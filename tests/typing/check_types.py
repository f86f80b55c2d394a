"""Type-checked, never run (tests/test_typing.py runs mypy --strict on it):
what a type checker infers for pgwire's API, one assert_type per overload
of the typed faces."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from typing_extensions import assert_type

import pgwire
import pgwire.sync
from pgwire.connection import Connection
from pgwire.cursor import Cursor, CursorFactory
from pgwire.pool import Pool
from pgwire.pool_stmt import PoolPreparedStatement
from pgwire.prepared_stmt import PreparedStatement
from pgwire.rows import RowFactory, class_row, dict_row, struct_row


class MyRecord(pgwire.Record):
    pass


@dataclasses.dataclass
class Item:
    id: int
    name: str


class ItemStruct(msgspec.Struct):
    id: int
    name: str


def upper_row(names: tuple[str, ...]) -> Any:
    return lambda values: values


async def connection_face() -> None:
    conn = await pgwire.connect("postgresql://localhost/db")
    assert_type(conn, Connection[pgwire.Record])
    assert_type(await conn.fetch("SELECT 1"), list[pgwire.Record])
    assert_type(await conn.fetch("SELECT 1", record_class=MyRecord),
                list[MyRecord])
    assert_type(await conn.fetch("SELECT 1", row_factory=dict_row),
                list[dict[str, Any]])
    assert_type(await conn.fetch("SELECT 1", row_factory=class_row(Item)),
                list[Item])
    assert_type(await conn.fetch("SELECT 1",
                                 row_factory=struct_row(ItemStruct)),
                list[ItemStruct])
    assert_type(await conn.fetchrow("SELECT 1"), pgwire.Record | None)
    assert_type(await conn.fetchrow("SELECT 1", record_class=MyRecord),
                MyRecord | None)
    assert_type(await conn.fetchrow("SELECT 1", row_factory=dict_row),
                dict[str, Any] | None)
    assert_type(await conn.fetchmany("SELECT $1", [(1,)]),
                list[pgwire.Record])
    assert_type(await conn.fetchmany("SELECT $1", [(1,)],
                                     row_factory=class_row(Item)),
                list[Item])
    assert_type(await conn.fetchval("SELECT 1"), Any)
    assert_type(await conn.execute("SELECT 1"), str)

    stmt = await conn.prepare("SELECT 1")
    assert_type(stmt, PreparedStatement[pgwire.Record])
    assert_type(await stmt.fetch(), list[pgwire.Record])
    assert_type(await stmt.fetch(row_factory=dict_row), list[dict[str, Any]])
    assert_type(await stmt.fetchrow(), pgwire.Record | None)
    assert_type(await stmt.fetchmany([(1,)]), list[pgwire.Record])
    assert_type(await conn.prepare("SELECT 1", record_class=MyRecord),
                PreparedStatement[MyRecord])
    istmt = await conn.prepare("SELECT 1", row_factory=class_row(Item))
    assert_type(istmt, PreparedStatement[Item])
    assert_type(await istmt.fetch(), list[Item])

    async with conn.transaction():
        assert_type(conn.cursor("SELECT 1"), CursorFactory[pgwire.Record])
        assert_type(conn.cursor("SELECT 1", row_factory=dict_row),
                    CursorFactory[dict[str, Any]])
        cur = await conn.cursor("SELECT 1", record_class=MyRecord)
        assert_type(cur, Cursor[MyRecord])
        assert_type(await cur.fetch(5), list[MyRecord])
        assert_type(await cur.fetchrow(), MyRecord | None)
        async for row in conn.cursor("SELECT 1", row_factory=dict_row):
            assert_type(row, dict[str, Any])
        assert_type(istmt.cursor(), CursorFactory[Item])

    dconn = await pgwire.connect(row_factory=dict_row)
    assert_type(dconn, Connection[dict[str, Any]])
    assert_type(await dconn.fetch("SELECT 1"), list[dict[str, Any]])
    assert_type(await dconn.fetchrow("SELECT 1"), dict[str, Any] | None)
    assert_type(await dconn.fetch("SELECT 1", record_class=pgwire.Record),
                list[pgwire.Record])
    rconn = await pgwire.connect(record_class=MyRecord)
    assert_type(rconn, Connection[MyRecord])
    assert_type(await rconn.fetch("SELECT 1"), list[MyRecord])
    await conn.close()


async def pool_face() -> None:
    pool = await pgwire.create_pool("postgresql://localhost/db")
    assert_type(pool, Pool[pgwire.Record])
    assert_type(await pool.fetch("SELECT 1"), list[pgwire.Record])
    assert_type(await pool.fetch("SELECT 1", row_factory=dict_row),
                list[dict[str, Any]])
    assert_type(await pool.fetchrow("SELECT 1", record_class=MyRecord),
                MyRecord | None)
    assert_type(await pool.fetchmany("SELECT $1", [(1,)]),
                list[pgwire.Record])
    assert_type(await pool.fetchval("SELECT 1"), Any)
    async with pool.acquire() as conn:
        assert_type(conn, Connection[pgwire.Record])
        assert_type(await conn.fetch("SELECT 1"), list[pgwire.Record])
    ps = pool.prepare("SELECT 1", row_factory=class_row(Item))
    assert_type(ps, PoolPreparedStatement[Item])
    assert_type(await ps.fetch(), list[Item])
    assert_type(await ps.fetchrow(), Item | None)
    assert_type(pool.prepare("SELECT 1"),
                PoolPreparedStatement[pgwire.Record])

    dpool = await pgwire.create_pool(row_factory=dict_row)
    assert_type(dpool, Pool[dict[str, Any]])
    assert_type(await dpool.fetch("SELECT 1"), list[dict[str, Any]])
    async with dpool.acquire() as dconn:
        assert_type(await dconn.fetchrow("SELECT 1"),
                    dict[str, Any] | None)
    rpool = await pgwire.create_pool(record_class=MyRecord)
    assert_type(rpool, Pool[MyRecord])
    await pool.close()


def row_factories() -> None:
    assert_type(class_row(Item), RowFactory[Item])
    assert_type(struct_row(ItemStruct), RowFactory[ItemStruct])
    factory: RowFactory[dict[str, Any]] = dict_row
    custom: RowFactory[Any] = upper_row
    del factory, custom


def blocking_face() -> None:
    conn = pgwire.sync.connect("postgresql://localhost/db")
    assert_type(conn, pgwire.sync.Connection[pgwire.Record])
    assert_type(conn.fetch("SELECT 1"), list[pgwire.Record])
    assert_type(conn.fetch("SELECT 1", record_class=MyRecord),
                list[MyRecord])
    assert_type(conn.fetchrow("SELECT 1"), pgwire.Record | None)
    assert_type(conn.fetchrow("SELECT 1", record_class=MyRecord),
                MyRecord | None)
    assert_type(conn.fetchmany("SELECT $1", [(1,)]), list[pgwire.Record])
    assert_type(conn.fetchval("SELECT 1"), Any)
    assert_type(conn.execute("SELECT 1"), str)
    stmt = conn.prepare("SELECT 1", record_class=MyRecord)
    assert_type(stmt, pgwire.sync.PreparedStatement[MyRecord])
    assert_type(stmt.fetch(), list[MyRecord])
    assert_type(stmt.fetchrow(), MyRecord | None)
    with conn.transaction():
        for row in conn.cursor("SELECT 1"):
            assert_type(row, pgwire.Record)
        cur = conn.cursor("SELECT 1", record_class=MyRecord).open()
        assert_type(cur, pgwire.sync.Cursor[MyRecord])
        assert_type(cur.fetch(5), list[MyRecord])

    dconn = pgwire.sync.connect(row_factory=dict_row)
    assert_type(dconn, pgwire.sync.Connection[dict[str, Any]])
    assert_type(dconn.fetch("SELECT 1"), list[dict[str, Any]])
    assert_type(dconn.fetchrow("SELECT 1"), dict[str, Any] | None)
    iconn = pgwire.sync.connect(row_factory=class_row(Item))
    assert_type(iconn.fetch("SELECT 1"), list[Item])
    assert_type(pgwire.sync.connect(record_class=MyRecord),
                pgwire.sync.Connection[MyRecord])

    pool = pgwire.sync.create_pool("postgresql://localhost/db")
    assert_type(pool, pgwire.sync.Pool[pgwire.Record])
    assert_type(pool.fetch("SELECT 1"), list[pgwire.Record])
    assert_type(pool.fetchrow("SELECT 1", record_class=MyRecord),
                MyRecord | None)
    with pool.acquire() as pconn:
        assert_type(pconn, pgwire.sync.Connection[pgwire.Record])
    spool = pgwire.sync.create_pool(row_factory=struct_row(ItemStruct))
    assert_type(spool, pgwire.sync.Pool[ItemStruct])
    assert_type(spool.fetch("SELECT 1"), list[ItemStruct])
    with spool.acquire() as sconn:
        assert_type(sconn.fetchrow("SELECT 1"), ItemStruct | None)
