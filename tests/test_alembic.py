"""Alembic migrations through the postgresql+pgwire dialect: a two-revision
migration (async env.py, as Alembic's ``async`` template has it) upgraded
to head, downgraded one step and back to base, with the schema checked on
the server after each step."""

import concurrent.futures
import textwrap

import pytest

from alembic import command
from alembic.config import Config

import pgwire

ENV_PY = '''
import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    engine = create_async_engine(context.config.get_main_option(
        "sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


asyncio.run(run_async_migrations())
'''

REV1 = '''
"""create alembic_demo"""
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_table(
        "alembic_demo",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False))


def downgrade():
    op.drop_table("alembic_demo")
'''

REV2 = '''
"""add email, index and a row"""
import sqlalchemy as sa
from alembic import op

revision = "b2"
down_revision = "a1"


def upgrade():
    op.add_column("alembic_demo", sa.Column("email", sa.Text))
    op.create_index("ix_alembic_demo_email", "alembic_demo", ["email"],
                    unique=True)
    demo = sa.table("alembic_demo", sa.column("name"), sa.column("email"))
    op.bulk_insert(demo, [{"name": "ann", "email": "ann@example.org"}])


def downgrade():
    op.drop_index("ix_alembic_demo_email", table_name="alembic_demo")
    op.drop_column("alembic_demo", "email")
'''


@pytest.fixture
def alembic_cfg(cluster, tmp_path):
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(ENV_PY)
    (scripts / "script.py.mako").write_text("")
    (scripts / "versions" / "a1_create.py").write_text(textwrap.dedent(REV1))
    (scripts / "versions" / "b2_email.py").write_text(textwrap.dedent(REV2))
    cfg = Config()
    cfg.set_main_option("script_location", str(scripts))
    url = cluster.dsn(host="tcp").replace("postgresql://",
                                          "postgresql+pgwire://", 1)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _alembic(fn, *args):
    """Run an Alembic command in a thread: its env.py calls asyncio.run(),
    which must not run on the test session's loop thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result(timeout=120)


async def _schema(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs())
    try:
        cols = [r[0] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'alembic_demo' ORDER BY ordinal_position")]
        version = None
        if await conn.fetchval("SELECT to_regclass('alembic_version')"):
            version = await conn.fetchval(
                "SELECT version_num FROM alembic_version")
        index = await conn.fetchval(
            "SELECT to_regclass('ix_alembic_demo_email')")
        rows = None
        if cols:
            rows = [tuple(r) for r in await conn.fetch(
                "SELECT * FROM alembic_demo ORDER BY id")]
        return cols, version, index is not None, rows
    finally:
        await conn.close()


async def test_upgrade_downgrade(alembic_cfg, cluster):
    try:
        _alembic(command.upgrade, alembic_cfg, "head")
        assert await _schema(cluster) == (
            ["id", "name", "email"], "b2", True,
            [(1, "ann", "ann@example.org")])

        _alembic(command.downgrade, alembic_cfg, "-1")
        assert await _schema(cluster) == (["id", "name"], "a1", False,
                                          [(1, "ann")])

        _alembic(command.upgrade, alembic_cfg, "+1")
        cols, version, index, _ = await _schema(cluster)
        assert (cols, version, index) == (["id", "name", "email"], "b2",
                                          True)

        _alembic(command.downgrade, alembic_cfg, "base")
        assert await _schema(cluster) == ([], None, False, None)
    finally:
        conn = await pgwire.connect(**cluster.connect_kwargs())
        await conn.execute("DROP TABLE IF EXISTS alembic_demo, "
                           "alembic_version")
        await conn.close()
