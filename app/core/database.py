"""Async engine and sessions, and the one rule for transactions.

Services flush (when they need an id) and never commit. Whoever opened the session owns the commit:
a request's session dependency commits after the handler and before the response is sent, and
`session_scope` commits a unit of work outside a request (background tasks, start-up, each step of
a multi-step use case) or rolls it back when it raises.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for the configured database, pooled for a long-running server."""
    url = settings.database_url
    if url.startswith("sqlite"):
        # SQLite serialises writers; a busy timeout makes concurrent webhooks wait instead of failing.
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if settings.db_null_pool:
        # Supabase's transaction pooler (port 6543) hands each transaction to any backend:
        # no client-side pool and no prepared-statement cache, or statements collide.
        return create_async_engine(
            url,
            poolclass=NullPool,
            hide_parameters=True,
            connect_args={
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                # Unique names, so two clients' statements never collide on one pooled backend.
                "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
            },
        )
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        hide_parameters=True,  # parameters hold transcripts and password hashes: keep them out of logs
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def dialect_insert(session: AsyncSession) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING exists on both databases, under each dialect's own insert()."""
    assert session.bind is not None
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


def create_session_maker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(session_maker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request (background tasks, start-up): commit on success, else roll back."""
    async with session_maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
