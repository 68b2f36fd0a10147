"""Agent configurations: what the voice agent says and how it sounds, synced to Retell."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.dependencies import RetellDep, SessionDep, SettingsDep
from app.api.roles import AdminUser, ViewerUser
from app.core.errors import error_responses
from app.models import AgentConfig
from app.schemas.agent_config import (
    AgentConfigCreate,
    AgentConfigListQuery,
    AgentConfigPage,
    AgentConfigPublic,
    AgentConfigUpdate,
)
from app.services import agent_configs, config_admin

router = APIRouter(prefix="/api/agent-config", tags=["agent_configs"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 401, 403, 409, 422, 503))
async def create_agent_config(
    data: AgentConfigCreate, session: SessionDep, settings: SettingsDep, admin: AdminUser
) -> AgentConfigPublic:
    """Create a configuration (a name and a prompt are enough; everything else has a default)."""
    config = await config_admin.create_config(
        session, data=data, actor=admin, llm_websocket_url=settings.llm_websocket_url
    )
    return _public(config)


@router.get("", responses=error_responses(400, 401, 403, 422, 503))
async def list_agent_configs(
    page: Annotated[AgentConfigListQuery, Query()], session: SessionDep, _user: ViewerUser
) -> AgentConfigPage:
    """Configurations by name, or only those one user created or last changed; follow `next_cursor`."""
    return await agent_configs.list_configs(
        session,
        limit=page.limit,
        cursor=page.cursor,
        created_by=page.created_by,
        updated_by=page.updated_by,
    )


@router.get("/{config_id}", responses=error_responses(401, 403, 404, 422, 503))
async def get_agent_config(config_id: uuid.UUID, session: SessionDep, _user: ViewerUser) -> AgentConfigPublic:
    """One configuration."""
    return _public(await agent_configs.get_config(session, config_id))


@router.patch("/{config_id}", responses=error_responses(400, 401, 403, 404, 409, 422, 503))
async def update_agent_config(
    config_id: uuid.UUID,
    data: AgentConfigUpdate,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
) -> AgentConfigPublic:
    """Change some fields; the others keep their values. Sync again to push the change to Retell."""
    config = await config_admin.update_config(
        session, config_id=config_id, data=data, actor=admin, llm_websocket_url=settings.llm_websocket_url
    )
    return _public(config)


@router.delete(
    "/{config_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 404, 422, 503)
)
async def delete_agent_config(config_id: uuid.UUID, session: SessionDep, admin: AdminUser) -> None:
    """Delete a configuration; past calls keep their data."""
    await config_admin.delete_config(session, config_id=config_id, actor=admin)


@router.post("/{config_id}/sync", responses=error_responses(401, 403, 404, 409, 422, 502, 503))
async def sync_agent_config(
    config_id: uuid.UUID, session: SessionDep, retell: RetellDep, settings: SettingsDep, admin: AdminUser
) -> AgentConfigPublic:
    """Push the configuration to Retell (creates the Retell LLM and agent first time, updates them after)."""
    config = await config_admin.sync_config(
        session,
        config_id=config_id,
        retell=retell,
        webhook_url=settings.webhook_url,
        actor=admin,
        llm_websocket_url=settings.llm_websocket_url,
    )
    return _public(config)


def _public(config: AgentConfig) -> AgentConfigPublic:
    return AgentConfigPublic.model_validate(config, from_attributes=True)
