"""Becoming the default configuration when another request got there first (the retried savepoint)."""

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.database import SessionMaker, session_scope
from app.models import AgentConfig
from app.repositories import agent_configs as config_repository
from app.schemas.agent_config import AgentConfigCreate, AgentConfigUpdate
from app.services.agent_configs import DEFAULT_INDEX, create_config, update_config


async def test_an_update_that_loses_the_race_to_be_default_is_applied_whole_on_its_next_round(
    maker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with session_scope(maker) as session:
        first = await create_config(
            session, data=AgentConfigCreate(name="First", general_prompt="p", is_default=True)
        )
        second = await create_config(session, data=AgentConfigCreate(name="Second", general_prompt="p"))
    real_save = config_repository.save
    refused: list[str] = []

    async def save_refused_once(session: AsyncSession, config: AgentConfig) -> None:
        # The partial unique index refuses the flush once: another request became the default meanwhile.
        await real_save(session, config)
        if not refused:
            refused.append(config.name)
            raise IntegrityError("UPDATE agent_configurations", {}, Exception(f"violates {DEFAULT_INDEX}"))

    monkeypatch.setattr(config_repository, "save", save_refused_once)
    async with session_scope(maker) as session:
        updated = await update_config(
            session, config_id=second.id, data=AgentConfigUpdate(name="Second, renamed", is_default=True)
        )
        # What the route then shows: every field readable (a refused round expired them all).
        assert (updated.general_prompt, updated.is_default) == ("p", True)
    async with session_scope(maker) as session:
        rows = {
            row.id: row
            for row in [await session.get(AgentConfig, first.id), await session.get(AgentConfig, second.id)]
            if row
        }
    assert refused == ["Second, renamed"]
    assert (rows[second.id].name, rows[second.id].is_default, rows[first.id].is_default) == (
        "Second, renamed",
        True,
        False,
    )
