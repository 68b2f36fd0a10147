"""Alembic owns the schema: the migrations produce exactly what the models describe."""

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import app.models  # noqa: F401
from alembic import command
from tests.support.database import alembic_config, run_in_thread


async def test_migrations_match_models(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata
            )
        )
    await engine.dispose()
    assert diff == []


async def test_migrations_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    config = alembic_config(url)
    run_in_thread(lambda: command.upgrade(config, "head"))
    run_in_thread(lambda: command.downgrade(config, "base"))
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    assert set(tables) <= {"alembic_version"}
    run_in_thread(lambda: command.upgrade(config, "head"))
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    await engine.dispose()
    assert {"users", "agent_configurations", "calls", "call_results", "webhook_events"} <= set(tables)


async def test_upgrading_makes_the_oldest_user_admin_and_keeps_token_revocation(tmp_path: Path) -> None:
    """Before roles every user could do everything: the bootstrap admin (the oldest) stays one."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'roles.db'}"
    config = alembic_config(url)
    run_in_thread(lambda: command.upgrade(config, "3c9e1f4a7b21"))
    engine = create_async_engine(url, poolclass=NullPool)
    insert = (
        "INSERT INTO users (id, email, hashed_password, is_active, token_version, created_at, updated_at) "
        "VALUES (:id, :email, 'h', 1, 0, :at, :at)"
    )
    async with engine.begin() as connection:
        await connection.execute(sa.text(insert), {"id": "b" * 32, "email": "later@x", "at": "2026-02-01"})
        await connection.execute(sa.text(insert), {"id": "a" * 32, "email": "first@x", "at": "2026-01-01"})
    run_in_thread(lambda: command.upgrade(config, "head"))
    async with engine.begin() as connection:
        roles = dict((await connection.execute(sa.text("SELECT email, role FROM users"))).all())
        await connection.execute(
            sa.text(
                "INSERT INTO users (id, email, hashed_password, is_active, "
                "token_version, created_at, updated_at) VALUES "
                "('c', 'bysql@x', 'h', 1, 0, '2026-03-01', '2026-03-01')"
            )
        )
        by_sql = (await connection.execute(sa.text("SELECT role FROM users WHERE id = 'c'"))).scalar_one()
        await connection.execute(sa.text("UPDATE users SET is_active = 0 WHERE email = 'first@x'"))
        version = (
            await connection.execute(sa.text("SELECT token_version FROM users WHERE email = 'first@x'"))
        ).scalar_one()
    assert roles == {"first@x": "admin", "later@x": "dispatcher"}
    assert by_sql == "viewer"  # a row added by hand gets the least role
    assert version == 1  # the token trigger still fires after the new columns
    run_in_thread(lambda: command.downgrade(config, "3c9e1f4a7b21"))
    async with engine.begin() as connection:
        await connection.execute(sa.text("UPDATE users SET is_active = 1 WHERE email = 'first@x'"))
        version = (
            await connection.execute(sa.text("SELECT token_version FROM users WHERE email = 'first@x'"))
        ).scalar_one()
    await engine.dispose()
    assert version == 2  # and after a downgrade, which copies the table on SQLite
