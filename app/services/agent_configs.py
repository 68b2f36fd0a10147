"""Agent configurations: CRUD, the seeded default, and sync to Retell."""

import uuid

from loguru import logger
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Conflict, NotFound
from app.core.prompts import DEFAULT_AGENT_NAME, DEFAULT_BEGIN_MESSAGE, DEFAULT_GENERAL_PROMPT
from app.models import AgentConfig
from app.models.base import utcnow
from app.repositories import agent_configs as config_repository
from app.repositories.agent_configs import BY_NAME
from app.retell import RetellGateway
from app.schemas.agent_config import AgentConfigCreate, AgentConfigPage, AgentConfigPublic, AgentConfigUpdate


class AgentConfigNotFound(NotFound):
    pass


class AgentConfigNameTaken(Conflict):
    pass


async def list_configs(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    created_by: uuid.UUID | None = None,
    updated_by: uuid.UUID | None = None,
) -> AgentConfigPage:
    """By name, keyset-paginated on (name, id) like the call list."""
    rows = await config_repository.page_by_name(
        session,
        after=BY_NAME.decode(cursor) if cursor else None,
        limit=limit + 1,
        created_by=created_by,
        updated_by=updated_by,
    )
    page, more = rows[:limit], len(rows) > limit
    return AgentConfigPage(
        items=[AgentConfigPublic.model_validate(config, from_attributes=True) for config in page],
        next_cursor=BY_NAME.encode(page[-1].name, page[-1].id) if more else None,
    )


async def get_config(session: AsyncSession, config_id: uuid.UUID) -> AgentConfig:
    config = await config_repository.get(session, config_id)
    if config is None:
        raise AgentConfigNotFound(f"agent configuration {config_id} does not exist")
    return config


async def get_default_config(session: AsyncSession) -> AgentConfig:
    """The configuration marked default, else the oldest one."""
    config = await config_repository.default_or_oldest(session)
    if config is None:
        raise AgentConfigNotFound("no agent configuration exists: create one first")
    return config


async def create_config(
    session: AsyncSession, *, data: AgentConfigCreate, llm_websocket_url: str | None = None
) -> AgentConfig:
    config = AgentConfig.model_validate(data)
    require_engine_url(config.response_engine, llm_websocket_url)
    await _save(session, config, make_default=config.is_default)
    return config


async def update_config(
    session: AsyncSession,
    *,
    config_id: uuid.UUID,
    data: AgentConfigUpdate,
    llm_websocket_url: str | None = None,
) -> AgentConfig:
    config = await get_config(session, config_id)
    changes = data.model_dump(exclude_unset=True)
    require_engine_url(changes.get("response_engine"), llm_websocket_url)
    await _save(session, config, make_default=bool(changes.get("is_default")), changes=changes)
    return config


async def delete_config(session: AsyncSession, *, config_id: uuid.UUID) -> None:
    config = await get_config(session, config_id)
    await config_repository.delete(session, config)


class EngineNotConfigured(Conflict):
    pass


def require_engine_url(response_engine: str | None, llm_websocket_url: str | None) -> None:
    """A custom_llm configuration cannot be used without the WebSocket secret (production sets none)."""
    if response_engine == "custom_llm" and not llm_websocket_url:
        raise EngineNotConfigured(
            "LLM_WEBSOCKET_SECRET is not set: a custom_llm configuration needs it (Retell authenticates "
            "to the conversation engine's WebSocket with it)"
        )


async def sync_config(
    session: AsyncSession,
    *,
    config_id: uuid.UUID,
    retell: RetellGateway,
    webhook_url: str,
    llm_websocket_url: str | None = None,
) -> AgentConfig:
    """Push the configuration to Retell: create the LLM and agent on first sync, update them after."""
    config = await get_config(session, config_id)
    require_engine_url(config.response_engine, llm_websocket_url)
    ids = await retell.sync_agent(config, webhook_url=webhook_url, llm_websocket_url=llm_websocket_url)
    if ids.llm_id is not None:
        config.retell_llm_id = ids.llm_id
    config.retell_agent_id = ids.agent_id
    config.last_synced_at = utcnow()
    await config_repository.save(session, config)
    logger.info("synced agent configuration {} to Retell agent {} ({})", config.id, ids.agent_id, retell.mode)
    return config


async def has_custom_llm_config(session: AsyncSession) -> bool:
    return await config_repository.any_uses_custom_llm(session)


async def seed_default_config(session: AsyncSession) -> None:
    """Create "Dispatch check-in" once, when no configuration exists; later edits are never overwritten."""
    if await config_repository.any_exists(session):
        return
    seed = AgentConfig(
        name=DEFAULT_AGENT_NAME,
        general_prompt=DEFAULT_GENERAL_PROMPT,
        begin_message=DEFAULT_BEGIN_MESSAGE,
        is_default=True,
    )
    # Several workers start at once on an empty database: the first insert wins, the others do nothing.
    if await config_repository.insert_unless_name_taken(session, seed):
        logger.info("seeded the default agent configuration {!r}", DEFAULT_AGENT_NAME)


class DefaultContended(Conflict):
    pass


DEFAULT_INDEX = "uq_agent_configurations_one_default"
# Rounds a request that races others to become the default retries; each round it clears whatever
# default committed meanwhile, so losing them all takes that many concurrent winners in a row.
DEFAULT_RACE_ROUNDS = 5


async def _save(
    session: AsyncSession,
    config: AgentConfig,
    *,
    make_default: bool,
    changes: dict[str, object] | None = None,
) -> None:
    """Flush the configuration in a savepoint: a duplicate name is a 409; losing a race to become the
    default (the partial unique index refuses a second one) is retried, so the latest request wins."""
    # Read now: a refused flush expires the object, and reading an expired attribute here would be I/O.
    name, config_id = str((changes or {}).get("name", config.name)), config.id
    for round_ in range(DEFAULT_RACE_ROUNDS):
        try:
            # All in a savepoint: a refused flush undoes only this round, and the request goes on.
            async with session.begin_nested():
                if make_default:
                    await config_repository.clear_default(session, keep=config_id)
                if changes is not None:
                    if round_:  # a rolled-back round expired the stored row's attributes: reload them
                        await config_repository.reload(session, config)
                    config.sqlmodel_update(changes)
                await config_repository.save(session, config)
            return
        except IntegrityError as exc:
            message = str(exc.orig)
            if DEFAULT_INDEX in message or "is_default" in message:
                continue  # another request became the default meanwhile: clear it, and try again
            # Only the name is otherwise unique; any other integrity failure is a bug and must surface.
            if "name" not in message:
                raise
            raise AgentConfigNameTaken(f"an agent configuration named {name!r} already exists") from None
    raise DefaultContended("other requests kept making another configuration the default; try again")
