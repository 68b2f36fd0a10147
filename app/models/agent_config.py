"""Agent configurations: one row is one Retell single-prompt agent."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from app.models.base import IdMixin, TimestampMixin, UTCDateTime
from app.schemas.agent_config import AgentConfigBase


class AgentConfiguration(AgentConfigBase, IdMixin, TimestampMixin, table=True):
    __tablename__ = "agent_configurations"

    name: str = Field(max_length=120, unique=True, index=True)
    general_prompt: str = Field(sa_type=sa.Text)
    backchannel_words: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    ambient_sound: str | None = Field(default=None, max_length=40)  # type: ignore[assignment]
    dispatcher_transfer_number: str | None = Field(default=None, max_length=20)
    is_default: bool = Field(default=False, index=True)
    retell_llm_id: str | None = Field(default=None, max_length=120)
    retell_agent_id: str | None = Field(default=None, max_length=120, index=True)
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
