"""Agent configuration changes by an admin: who made them, on the row and in the audit log."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import AgentConfig, User
from app.repositories import agent_configs as config_repository
from app.retell import RetellGateway
from app.schemas.agent_config import AgentConfigCreate, AgentConfigUpdate
from app.services import agent_configs, audit

# What the audit log compares: everything an admin sets, plus the Retell ids a sync changes.
AUDITED_FIELDS = (*AgentConfigCreate.model_fields, "retell_llm_id", "retell_agent_id")


def _fields(config: AgentConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in AUDITED_FIELDS}


async def create_config(
    session: AsyncSession, *, data: AgentConfigCreate, actor: User, llm_websocket_url: str | None = None
) -> AgentConfig:
    config = await agent_configs.create_config(session, data=data, llm_websocket_url=llm_websocket_url)
    config.created_by = config.updated_by = actor.id
    await config_repository.save(session, config)
    await _record(session, actor, "config.created", config, audit.diff({}, _fields(config)))
    return config


async def update_config(
    session: AsyncSession,
    *,
    config_id: uuid.UUID,
    data: AgentConfigUpdate,
    actor: User,
    llm_websocket_url: str | None = None,
) -> AgentConfig:
    before = _fields(await agent_configs.get_config(session, config_id))
    config = await agent_configs.update_config(
        session, config_id=config_id, data=data, llm_websocket_url=llm_websocket_url
    )
    changes = audit.diff(before, _fields(config))
    if changes:
        config.updated_by = actor.id
        await config_repository.save(session, config)
        await _record(session, actor, "config.updated", config, changes)
    return config


async def delete_config(session: AsyncSession, *, config_id: uuid.UUID, actor: User) -> None:
    config = await agent_configs.get_config(session, config_id)
    before = _fields(config)
    await agent_configs.delete_config(session, config_id=config_id)
    await audit.record(
        session,
        actor=actor,
        action="config.deleted",
        target_type="agent_config",
        target_id=config_id,
        changes=audit.diff(before, {}),
    )


async def sync_config(
    session: AsyncSession,
    *,
    config_id: uuid.UUID,
    retell: RetellGateway,
    webhook_url: str,
    actor: User,
    llm_websocket_url: str | None = None,
) -> AgentConfig:
    before = _fields(await agent_configs.get_config(session, config_id))
    config = await agent_configs.sync_config(
        session,
        config_id=config_id,
        retell=retell,
        webhook_url=webhook_url,
        llm_websocket_url=llm_websocket_url,
    )
    config.updated_by = actor.id
    await config_repository.save(session, config)
    # A sync pushes the configuration as it is: the entry says when, and any Retell ids it assigned.
    await _record(session, actor, "config.synced", config, audit.diff(before, _fields(config)))
    return config


async def _record(
    session: AsyncSession, actor: User, action: str, config: AgentConfig, changes: dict[str, Any]
) -> None:
    await audit.record(
        session, actor=actor, action=action, target_type="agent_config", target_id=config.id, changes=changes
    )
