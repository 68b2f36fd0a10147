"""Agent configuration schemas: what a dispatcher edits, and what the API returns."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from sqlmodel import Field, SQLModel

from app.core.phone import E164Phone
from app.core.text import refuse_nul_anywhere
from app.models.agent_config import AgentConfigBase, AmbientSound, ResponseEngine

MAX_PAGE_SIZE = 100


def _described(name: str) -> str:
    """The description a field has on the configuration itself, for the partial update."""
    return AgentConfigBase.model_fields[name].description or ""


class AgentConfigCreate(AgentConfigBase):
    """A new configuration: a name and a prompt are enough."""

    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "name": "Night shift check-in",
                    "general_prompt": "You are a friendly dispatcher calling {{driver_name}} about load "
                    "{{load_number}}. Ask where they are and when they expect to arrive.",
                    "voice_speed": 1.0,
                    "dispatcher_transfer_number": "+13125550100",
                }
            ]
        }
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return refuse_nul_anywhere(value)


# Only these can be cleared with null; the others can be left out but never set to null.
CLEARABLE = {"ambient_sound", "dispatcher_transfer_number"}


def _update_schema(schema: dict[str, Any]) -> None:
    """The schema says what the validator below enforces: a field left out is kept, null is refused."""
    schema["examples"] = [{"begin_message": "Hi {{driver_name}}, dispatch here.", "voice_speed": 1.1}]
    for name, spec in schema.get("properties", {}).items():
        options = spec.get("anyOf")
        if name in CLEARABLE or not options:
            continue
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            del spec["anyOf"]
            spec.update(kept[0])


class AgentConfigUpdate(SQLModel):
    """A partial update: only the fields sent are changed."""

    model_config = ConfigDict(json_schema_extra=_update_schema)  # type: ignore[assignment]

    name: str | None = Field(default=None, min_length=1, max_length=120, description=_described("name"))
    general_prompt: str | None = Field(default=None, min_length=1, description=_described("general_prompt"))
    begin_message: str | None = Field(default=None, description=_described("begin_message"))
    voice_id: str | None = Field(default=None, max_length=120, description=_described("voice_id"))
    enable_backchannel: bool | None = Field(default=None, description=_described("enable_backchannel"))
    backchannel_frequency: float | None = Field(
        default=None, ge=0, le=1, description=_described("backchannel_frequency")
    )
    backchannel_words: list[str] | None = Field(default=None, description=_described("backchannel_words"))
    interruption_sensitivity: float | None = Field(
        default=None, ge=0, le=1, description=_described("interruption_sensitivity")
    )
    responsiveness: float | None = Field(default=None, ge=0, le=1, description=_described("responsiveness"))
    natural_filler_words: bool | None = Field(default=None, description=_described("natural_filler_words"))
    voice_speed: float | None = Field(default=None, ge=0.5, le=2.0, description=_described("voice_speed"))
    voice_temperature: float | None = Field(
        default=None, ge=0, le=2.0, description=_described("voice_temperature")
    )
    ambient_sound: AmbientSound | None = Field(default=None, description=_described("ambient_sound"))
    end_call_after_silence_ms: int | None = Field(
        default=None, ge=10_000, le=3_600_000, description=_described("end_call_after_silence_ms")
    )
    max_call_duration_ms: int | None = Field(
        default=None, ge=60_000, le=7_200_000, description=_described("max_call_duration_ms")
    )
    dispatcher_transfer_number: E164Phone | None = Field(
        default=None, description=_described("dispatcher_transfer_number")
    )
    is_default: bool | None = Field(default=None, description=_described("is_default"))
    response_engine: ResponseEngine | None = Field(default=None, description=_described("response_engine"))

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
        "response_engine",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only the CLEARABLE fields can be set to null; the rest always has a value.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return refuse_nul_anywhere(value)


class AgentConfigPublic(AgentConfigBase):
    """A configuration with its Retell ids."""

    id: uuid.UUID = Field(description="The configuration's id.")
    retell_llm_id: str | None = Field(description="The Retell LLM it is synced to; null until synced.")
    retell_agent_id: str | None = Field(description="The Retell agent it is synced to; null until synced.")
    last_synced_at: datetime | None = Field(description="When it was last pushed to Retell (UTC).")
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="When it was last changed (UTC).")
    created_by: uuid.UUID | None = Field(
        description="Who created it (a user id); null if before accounts or since deleted."
    )
    updated_by: uuid.UUID | None = Field(
        description="Who last changed or synced it (a user id); null if nobody has."
    )


class AgentConfigPage(SQLModel):
    """One page of configurations, by name."""

    items: list[AgentConfigPublic] = Field(description="At most `limit` configurations.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PageQuery(BaseModel):
    """Paging through a list; any other query parameter is refused (422)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE, description="How many items per page.")
    cursor: str | None = Field(
        default=None, max_length=1000, description="`next_cursor` of the previous page."
    )


class AgentConfigListQuery(PageQuery):
    """Paging, and only the configurations one user created or last changed."""

    created_by: uuid.UUID | None = Field(default=None, description="Only those this user created.")
    updated_by: uuid.UUID | None = Field(default=None, description="Only those this user last changed.")
