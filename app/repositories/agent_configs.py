"""The agent configuration aggregate's queries (`agent_configurations`), each named for its purpose.

Nothing here commits: the caller's session scope does.
"""

import uuid

from sqlalchemy import text
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import dialect, keyset
from app.models import AgentConfig
from app.repositories.base import insert_unless_taken

BY_NAME = keyset.by_name(col(AgentConfig.name), col(AgentConfig.id))
# PostgreSQL: requests that make a configuration the default take this transaction lock first, so they
# follow each other instead of colliding on the index (SQLite serializes writers by itself).
DEFAULT_LOCK_KEY = 0x41474346  # "AGCF"
_TAKE_DEFAULT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


async def page_by_name(
    session: AsyncSession,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    created_by: uuid.UUID | None = None,
    updated_by: uuid.UUID | None = None,
) -> list[AgentConfig]:
    """Configurations by (name, id), after the key `after`, optionally by who created or last changed them."""
    query = select(AgentConfig).order_by(*BY_NAME.order_by()).limit(limit)
    if created_by is not None:
        query = query.where(col(AgentConfig.created_by) == created_by)
    if updated_by is not None:
        query = query.where(col(AgentConfig.updated_by) == updated_by)
    if after is not None:
        query = query.where(BY_NAME.after(after))
    return list((await session.exec(query)).all())


async def get(session: AsyncSession, config_id: uuid.UUID) -> AgentConfig | None:
    return await session.get(AgentConfig, config_id)


async def default_or_oldest(session: AsyncSession) -> AgentConfig | None:
    """The configuration marked default, else the oldest one."""
    query = select(AgentConfig).order_by(col(AgentConfig.is_default).desc(), col(AgentConfig.created_at))
    return (await session.exec(query)).first()


async def by_retell_agent_id(session: AsyncSession, retell_agent_id: str) -> AgentConfig | None:
    query = select(AgentConfig).where(col(AgentConfig.retell_agent_id) == retell_agent_id).limit(1)
    return (await session.exec(query)).first()


async def any_exists(session: AsyncSession) -> bool:
    return (await session.exec(select(AgentConfig.id).limit(1))).first() is not None


async def any_uses_custom_llm(session: AsyncSession) -> bool:
    query = select(AgentConfig.id).where(col(AgentConfig.response_engine) == "custom_llm").limit(1)
    return (await session.exec(query)).first() is not None


async def insert_unless_name_taken(session: AsyncSession, config: AgentConfig) -> bool:
    """Insert the configuration unless one has its name (the first of concurrent inserts wins)."""
    return await insert_unless_taken(session, config, unique="name")


async def save(session: AsyncSession, config: AgentConfig) -> None:
    """Write the configuration (new or loaded) and flush, so a refused write raises here."""
    session.add(config)
    await session.flush()


async def reload(session: AsyncSession, config: AgentConfig) -> None:
    await session.refresh(config)


async def delete(session: AsyncSession, config: AgentConfig) -> None:
    await session.delete(config)
    await session.flush()


async def clear_default(session: AsyncSession, *, keep: uuid.UUID | None = None) -> None:
    """No configuration but `keep` is the default any more; on PostgreSQL, after the default's lock."""
    if dialect.is_postgresql(session):
        await session.execute(_TAKE_DEFAULT_LOCK, {"key": DEFAULT_LOCK_KEY})
    statement = update(AgentConfig).where(col(AgentConfig.is_default)).values(is_default=False)
    if keep is not None:
        statement = statement.where(col(AgentConfig.id) != keep)
    await session.exec(statement)
