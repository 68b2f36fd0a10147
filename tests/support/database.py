"""Helpers for test databases: migrations run off pytest-asyncio's event loop."""

import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import col, update

from app.core.database import SessionMaker, session_scope
from app.models import Call

ROOT = Path(__file__).resolve().parents[2]


def run_in_thread(fn: Callable[[], Any]) -> None:
    """Alembic's env.py runs its own event loop; keep it off pytest-asyncio's."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logging"] = False
    return config


async def lapse_lease(maker: SessionMaker, call_id: uuid.UUID) -> None:
    """Make the call's lease look as if its worker had stopped renewing it a minute ago."""
    async with session_scope(maker) as session:
        long_ago = datetime.now(UTC) - timedelta(minutes=1)
        await session.exec(update(Call).where(col(Call.id) == call_id).values(lease_expires_at=long_ago))


@asynccontextmanager
async def table_held(database_url: str, table: str) -> AsyncIterator[None]:
    """Another process's transaction holding `table` (on SQLite, the whole database) until the block ends."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            if database_url.startswith("sqlite"):
                await connection.exec_driver_sql("BEGIN EXCLUSIVE")
            else:
                await connection.exec_driver_sql("BEGIN")
                await connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            try:
                yield
            finally:
                await connection.rollback()
    finally:
        await engine.dispose()
