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
