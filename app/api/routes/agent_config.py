"""Agent configurations: what the voice agent says and how it sounds, synced to Retell."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.dependencies import CurrentUser, RetellDep, SessionDep, SettingsDep
from app.core.errors import error_responses
from app.models import AgentConfig
from app.schemas.agent_config import (
    AgentConfigCreate,
    AgentConfigPage,
    AgentConfigPublic,
    AgentConfigUpdate,
    PageQuery,
)
from app.services import agent_configs

router = APIRouter(prefix="/api/agent-config", tags=["agent_configs"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 401, 409, 422, 503))
async def create_agent_config(
    data: AgentConfigCreate, session: SessionDep, settings: SettingsDep, _user: CurrentUser
) -> AgentConfigPublic:
    """Create a configuration (a name and a prompt are enough; everything else has a default)."""
    config = await agent_configs.create_config(
        session, data=data, llm_websocket_url=settings.llm_websocket_url
    )
    return _public(config)


@router.get("", responses=error_responses(400, 401, 422, 503))
async def list_agent_configs(
    page: Annotated[PageQuery, Query()], session: SessionDep, _user: CurrentUser
) -> AgentConfigPage:
    """Configurations by name; follow `next_cursor` for the next page."""
    return await agent_configs.list_configs(session, limit=page.limit, cursor=page.cursor)


@router.get("/{config_id}", responses=error_responses(401, 404, 422, 503))
async def get_agent_config(
    config_id: uuid.UUID, session: SessionDep, _user: CurrentUser
) -> AgentConfigPublic:
    """One configuration."""
    return _public(await agent_configs.get_config(session, config_id))


@router.patch("/{config_id}", responses=error_responses(400, 401, 404, 409, 422, 503))
async def update_agent_config(
    config_id: uuid.UUID,
    data: AgentConfigUpdate,
    session: SessionDep,
    settings: SettingsDep,
    _user: CurrentUser,
) -> AgentConfigPublic:
    """Change some fields; the others keep their values. Sync again to push the change to Retell."""
    config = await agent_configs.update_config(
        session, config_id=config_id, data=data, llm_websocket_url=settings.llm_websocket_url
    )
    return _public(config)


@router.delete(
    "/{config_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 404, 422, 503)
)
async def delete_agent_config(config_id: uuid.UUID, session: SessionDep, _user: CurrentUser) -> None:
    """Delete a configuration; past calls keep their data."""
    await agent_configs.delete_config(session, config_id=config_id)


@router.post("/{config_id}/sync", responses=error_responses(401, 404, 409, 422, 502, 503))
async def sync_agent_config(
    config_id: uuid.UUID, session: SessionDep, retell: RetellDep, settings: SettingsDep, _user: CurrentUser
) -> AgentConfigPublic:
    """Push the configuration to Retell (creates the Retell LLM and agent first time, updates them after)."""
    config = await agent_configs.sync_config(
        session,
        config_id=config_id,
        retell=retell,
        webhook_url=settings.webhook_url,
        llm_websocket_url=settings.llm_websocket_url,
    )
    return _public(config)


def _public(config: AgentConfig) -> AgentConfigPublic:
    return AgentConfigPublic.model_validate(config, from_attributes=True)
