"""Type-checked, never run (tests/test_typing.py runs mypy --strict on it):
what a type checker infers for pgwire's API, one assert_type per overload
of the typed faces."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from typing_extensions import assert_type

import pgwire
import pgwire as asyncpg
import pgwire.dbapi
import pgwire.pool
import pgwire.rows
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
    assert_type(conn.fetch("SELECT 1", row_factory=dict_row),
                list[dict[str, Any]])
    assert_type(conn.fetchrow("SELECT 1", row_factory=class_row(Item)),
                Item | None)
    assert_type(conn.fetchmany("SELECT $1", [(1,)],
                               row_factory=struct_row(ItemStruct)),
                list[ItemStruct])
    assert_type(dconn.fetch("SELECT 1", record_class=MyRecord),
                list[MyRecord])
    istmt = conn.prepare("SELECT 1", row_factory=class_row(Item))
    assert_type(istmt, pgwire.sync.PreparedStatement[Item])
    assert_type(istmt.fetch(), list[Item])
    assert_type(istmt.fetchrow(), Item | None)
    assert_type(stmt.fetch(row_factory=dict_row), list[dict[str, Any]])
    assert_type(stmt.fetchrow(row_factory=dict_row), dict[str, Any] | None)
    assert_type(stmt.fetchmany([(1,)], row_factory=dict_row),
                list[dict[str, Any]])
    with conn.transaction():
        for drow in conn.cursor("SELECT 1", row_factory=dict_row):
            assert_type(drow, dict[str, Any])
        assert_type(conn.cursor("SELECT 1", row_factory=class_row(Item))
                    .open(), pgwire.sync.Cursor[Item])
        assert_type(stmt.cursor(row_factory=dict_row),
                    pgwire.sync.CursorFactory[dict[str, Any]])

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
    assert_type(pool.fetch("SELECT 1", row_factory=dict_row),
                list[dict[str, Any]])
    assert_type(pool.fetchrow("SELECT 1", row_factory=class_row(Item)),
                Item | None)
    assert_type(pool.fetchmany("SELECT $1", [(1,)], row_factory=dict_row),
                list[dict[str, Any]])
    with spool.acquire() as sconn:
        assert_type(sconn.fetchrow("SELECT 1"), ItemStruct | None)


def dbapi_face() -> None:
    conn = pgwire.dbapi.connect("postgresql://localhost/db")
    assert_type(conn, pgwire.dbapi.Connection)
    assert_type(conn.autocommit, bool)
    cur = conn.cursor()
    assert_type(cur, pgwire.dbapi.Cursor)
    assert_type(cur.execute("SELECT %s", (1,)), pgwire.dbapi.Cursor)
    assert_type(cur.execute("SELECT %(a)s", {"a": 1}), pgwire.dbapi.Cursor)
    assert_type(cur.fetchone(), tuple[Any, ...] | None)
    assert_type(cur.fetchmany(10), list[tuple[Any, ...]])
    assert_type(cur.fetchall(), list[tuple[Any, ...]])
    assert_type(cur.rowcount, int)
    assert_type(cur.description, tuple[pgwire.dbapi.Column, ...] | None)
    if cur.description is not None:
        assert_type(cur.description[0].name, str)
        assert_type(cur.description[0].type_code, int)
    for row in cur:
        assert_type(row, tuple[Any, ...])
    assert_type(cur.executemany("INSERT INTO t VALUES (%s)", [(1,), (2,)]),
                pgwire.dbapi.Cursor)
    assert_type(conn.sync_connection, pgwire.sync.Connection[Any])
    with conn:
        conn.commit()
        conn.rollback()
    try:
        conn.close()
    except pgwire.dbapi.Error as e:
        assert_type(e, pgwire.dbapi.Error)
    assert_type(pgwire.dbapi.paramstyle, str)

    assert_type(conn.cursor(row_factory=dict_row),
                pgwire.dbapi.Cursor[dict[str, Any]])
    ccur = conn.cursor("named", row_factory=class_row(Item))
    assert_type(ccur.fetchone(), Item | None)
    assert_type(ccur.fetchall(), list[Item])
    dconn = pgwire.dbapi.connect(row_factory=dict_row)
    assert_type(dconn, pgwire.dbapi.Connection[dict[str, Any]])
    dcur = dconn.cursor()
    assert_type(dcur.execute("SELECT 1").fetchone(), dict[str, Any] | None)
    assert_type(dcur.fetchmany(2), list[dict[str, Any]])
    for drow in dcur:
        assert_type(drow, dict[str, Any])
    assert_type(dconn.cursor(row_factory=pgwire.rows.tuple_row).fetchall(),
                list[tuple[Any, ...]])


async def misc() -> None:
    import asyncio
    conn = await pgwire.connect()
    # the query methods return coroutines: tasks and gather keep the types
    task = asyncio.create_task(conn.fetch("SELECT 1"))
    assert_type(await task, list[pgwire.Record])
    rows, value = await asyncio.gather(conn.fetch("SELECT 1"),
                                       conn.fetchval("SELECT 1"))
    assert_type(rows, list[pgwire.Record])
    pool = await pgwire.create_pool(row_factory=dict_row)
    pconn = await pool.acquire()
    assert_type(pconn, Connection[dict[str, Any]])
    await pool.release(pconn)
    try:
        await conn.execute("SELECT 1")
    except pgwire.PostgresError as e:
        assert_type(e.sqlstate, str | None)
        assert_type(e.detail, str | None)
        assert_type(e.as_dict(), dict[str, str])
    row = await conn.fetchrow("SELECT 1")
    if row is not None:
        assert_type(row["a"], Any)
        assert_type(row.get("a"), Any | None)
    r = pgwire.Range(1, 5)
    assert_type(r.lower, Any)
    assert_type(r.isempty, bool)
    assert_type(conn.get_server_version(), pgwire.ServerVersion)
    assert_type(conn.is_closed(), bool)


# code annotated with asyncpg's names, after `import pgwire as asyncpg`
async def as_asyncpg(conn: asyncpg.Connection,
                     pool: asyncpg.pool.Pool) -> list[asyncpg.Record]:
    try:
        return await conn.fetch("SELECT 1")
    except asyncpg.exceptions.UniqueViolationError:
        return await pool.fetch("SELECT 1")
    except asyncpg.PostgresError as e:
        assert_type(e.sqlstate, str | None)
        raise
