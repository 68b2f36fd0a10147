"""Call schemas: the trigger request, the list item, and the full call with its result."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.phone import E164Phone
from app.core.text import refuse_nul_anywhere

MAX_CONTEXT_ITEMS = 20
MAX_CONTEXT_VALUE = 500


class PersonaName(StrEnum):
    """The scripted drivers the simulated Retell can play (offline mode)."""

    ON_TIME = "on_time"
    TRAFFIC_DELAY = "traffic_delay"
    WEATHER_DELAY = "weather_delay"
    UNLOADING_POD = "unloading_pod"
    WAITING_LUMPER = "waiting_lumper"
    BLOWOUT = "blowout"
    ACCIDENT_INJURY = "accident_injury"
    MEDICAL = "medical"
    UNCOOPERATIVE = "uncooperative"
    NOISY_LINE = "noisy_line"
    GPS_CONFLICT = "gps_conflict"
    NO_ANSWER = "no_answer"


class SimulationOptions(BaseModel):
    """Offline mode only: which scripted driver the simulated Retell plays."""

    persona: PersonaName = Field(description="Which scripted driver answers, e.g. `traffic_delay`.")


class CallTrigger(BaseModel):
    """What the dashboard sends when the dispatcher presses "Start Test Call"."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "driver_name": "Mike Johnson",
                    "phone_number": "+13125550102",
                    "load_number": "7891-B",
                    "call_type": "web",
                    "context": {"origin": "Phoenix, AZ", "destination": "El Paso, TX"},
                }
            ]
        }
    )

    driver_name: str = Field(min_length=1, max_length=200)
    phone_number: E164Phone = Field(description="Any common format; stored as E.164.")
    load_number: str = Field(min_length=1, max_length=60)
    agent_config_id: uuid.UUID | None = Field(default=None, description="Default: the default configuration.")
    call_type: Literal["web", "phone"] = "web"
    context: dict[str, str] = Field(
        default_factory=dict,
        description="Extra prompt variables, e.g. origin, destination, gps_location.",
    )
    simulation: SimulationOptions | None = None

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return refuse_nul_anywhere(value)

    @field_validator("driver_name", "load_number")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("context")
    @classmethod
    def _bounded_context(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_CONTEXT_ITEMS:
            raise ValueError(f"at most {MAX_CONTEXT_ITEMS} context entries")
        for key, item in value.items():
            if not key.isidentifier():
                raise ValueError(f"context key {key!r} must be a simple name like gps_location")
            if len(item) > MAX_CONTEXT_VALUE:
                raise ValueError(f"context value for {key!r} is longer than {MAX_CONTEXT_VALUE} characters")
        return value


class CallTriggered(BaseModel):
    id: uuid.UUID
    retell_call_id: str | None
    status: str
    call_type: str
    agent_config_id: uuid.UUID | None
    access_token: str | None = Field(default=None, description="Web calls: what the browser SDK needs.")
    created_at: datetime


class CallSummary(BaseModel):
    """One row of the dashboard's call list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    retell_call_id: str | None
    status: str
    driver_name: str
    phone_number: str | None
    load_number: str
    call_type: str
    call_outcome: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None


class CallPage(BaseModel):
    items: list[CallSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TranscriptTurn(BaseModel):
    """One turn of the conversation, as Retell's `transcript_object` gives it (word timings left out)."""

    role: str = Field(default="", max_length=40, description="`agent` or `user`.")
    content: str = Field(default="", description="What was said.")


class CallDetail(CallSummary):
    """Everything about one call: the structured result beside the full transcript."""

    agent_config_id: uuid.UUID | None
    context: dict[str, str]
    disconnection_reason: str | None
    recording_url: str | None
    public_log_url: str | None
    transcript: str | None
    transcript_turns: list[TranscriptTurn] | None
    call_summary: str | None
    status_detail: str | None
    result: dict[str, Any] | None = Field(
        description="The structured fields (flat) plus `scenario`, once the call is completed."
    )
