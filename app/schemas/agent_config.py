"""Agent configuration schemas: what a dispatcher edits, and what the API returns."""

import uuid
from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core.phone import E164Phone
from app.core.text import refuse_nul_anywhere
from app.models.agent_config import AgentConfigBase, AmbientSound


class AgentConfigCreate(AgentConfigBase):
    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return refuse_nul_anywhere(value)


class AgentConfigUpdate(SQLModel):
    """A partial update: only the fields sent are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    general_prompt: str | None = Field(default=None, min_length=1)
    begin_message: str | None = None
    voice_id: str | None = Field(default=None, max_length=120)
    enable_backchannel: bool | None = None
    backchannel_frequency: float | None = Field(default=None, ge=0, le=1)
    backchannel_words: list[str] | None = None
    interruption_sensitivity: float | None = Field(default=None, ge=0, le=1)
    responsiveness: float | None = Field(default=None, ge=0, le=1)
    natural_filler_words: bool | None = None
    voice_speed: float | None = Field(default=None, ge=0.5, le=2.0)
    voice_temperature: float | None = Field(default=None, ge=0, le=2.0)
    ambient_sound: AmbientSound | None = None
    end_call_after_silence_ms: int | None = Field(default=None, ge=10_000, le=3_600_000)
    max_call_duration_ms: int | None = Field(default=None, ge=60_000, le=7_200_000)
    dispatcher_transfer_number: E164Phone | None = None
    is_default: bool | None = None

    @field_validator(
        "name",
        "general_prompt",
        "begin_message",
        "voice_id",
        "enable_backchannel",
        "backchannel_frequency",
        "backchannel_words",
        "interruption_sensitivity",
        "responsiveness",
        "natural_filler_words",
        "voice_speed",
        "voice_temperature",
        "end_call_after_silence_ms",
        "max_call_duration_ms",
        "is_default",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only ambient_sound and dispatcher_transfer_number can be cleared; the rest always has a value.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return refuse_nul_anywhere(value)


class AgentConfigPublic(AgentConfigBase):
    id: uuid.UUID
    retell_llm_id: str | None
    retell_agent_id: str | None
    last_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime
