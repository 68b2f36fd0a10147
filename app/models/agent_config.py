"""Agent configurations: one row is one Retell single-prompt agent."""

import uuid
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from app.core.phone import E164Phone
from app.core.prompts import DEFAULT_BEGIN_MESSAGE
from app.models.base import IdMixin, TimestampMixin, UTCDateTime

AmbientSound = Literal[
    "coffee-shop", "convention-hall", "summer-outdoor", "mountain-outdoor", "static-noise", "call-center"
]

ResponseEngine = Literal["retell_llm", "custom_llm"]

DEFAULT_VOICE_ID = "11labs-Adrian"
DEFAULT_BACKCHANNEL_WORDS = ["yeah", "uh-huh", "got it", "okay", "right"]


class AgentConfigBase(SQLModel):
    """The fields a dispatcher sets; all but name and prompt have defaults tuned for truck drivers."""

    name: str = Field(min_length=1, max_length=120, description="A unique name the dispatcher picks.")
    general_prompt: str = Field(
        min_length=1, description="The agent's system prompt (Retell `general_prompt`)."
    )
    begin_message: str = Field(default=DEFAULT_BEGIN_MESSAGE, description="What the agent says first.")
    voice_id: str = Field(default=DEFAULT_VOICE_ID, max_length=120, description="A Retell voice id.")
    enable_backchannel: bool = Field(
        default=True, description='Whether the agent says "uh-huh", "got it" while the driver talks.'
    )
    backchannel_frequency: float = Field(
        default=0.8, ge=0, le=1, description="How often it backchannels, 0–1."
    )
    backchannel_words: list[str] = PydanticField(
        default_factory=lambda: list(DEFAULT_BACKCHANNEL_WORDS), description="The words it backchannels with."
    )
    # Road and engine noise: a lower sensitivity keeps the agent from stopping at every rumble.
    interruption_sensitivity: float = Field(
        default=0.7, ge=0, le=1, description="How readily the driver's voice interrupts the agent, 0–1."
    )
    responsiveness: float = Field(default=0.9, ge=0, le=1, description="How quickly the agent answers, 0–1.")
    natural_filler_words: bool = Field(
        default=True, description="Retell `handbook_config.natural_filler_words`: um, uh, like a person."
    )
    voice_speed: float = Field(default=1.0, ge=0.5, le=2.0, description="Speech rate, 0.5–2.")
    voice_temperature: float = Field(
        default=1.0, ge=0, le=2.0, description="How much the voice varies, 0 (steady) – 2."
    )
    ambient_sound: AmbientSound | None = Field(
        default=None, description="Background sound Retell plays under the agent; null for none."
    )
    end_call_after_silence_ms: int = Field(
        default=30_000, ge=10_000, le=3_600_000, description="Hang up after this much silence (ms)."
    )
    max_call_duration_ms: int = Field(
        default=600_000, ge=60_000, le=7_200_000, description="Hang up after this long (ms)."
    )
    dispatcher_transfer_number: E164Phone | None = Field(
        default=None,
        description="Number of the human dispatcher emergencies are transferred to (any format; stored "
        "as E.164).",
        schema_extra={"examples": ["+13125550100"]},
    )
    is_default: bool = Field(default=False, description="The configuration used when a call names none.")
    response_engine: ResponseEngine = Field(
        default="retell_llm",
        description="Who decides what the agent says: `retell_llm` (Retell's single-prompt LLM runs "
        "`general_prompt`) or `custom_llm` (this backend's conversation engine, over Retell's LLM "
        "WebSocket).",
    )


class AgentConfig(AgentConfigBase, IdMixin, TimestampMixin, table=True):
    __tablename__ = "agent_configurations"
    # At most one default, whatever requests race (the service retries the one that loses).
    __table_args__ = (
        sa.Index(
            "uq_agent_configurations_one_default",
            "is_default",
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        ),
    )

    name: str = Field(max_length=120, unique=True, index=True)
    general_prompt: str = Field(sa_type=sa.Text)
    backchannel_words: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    ambient_sound: str | None = Field(default=None, max_length=40)  # type: ignore[assignment]
    dispatcher_transfer_number: str | None = Field(default=None, max_length=20)
    is_default: bool = Field(default=False, index=True)
    response_engine: str = Field(  # type: ignore[assignment]
        default="retell_llm", max_length=20, sa_column_kwargs={"server_default": "retell_llm"}
    )
    retell_llm_id: str | None = Field(default=None, max_length=120)
    retell_agent_id: str | None = Field(default=None, max_length=120, index=True)
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
