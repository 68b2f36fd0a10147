"""Call schemas: the trigger request, the list item, and the full call with its result."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.phone import E164Phone
from app.core.text import refuse_nul_anywhere
from app.models import CallStatus
from app.schemas.examples import with_examples
from app.schemas.extraction import CallOutcome, CheckInResult, EmergencyResult, FollowUpReason

MAX_CONTEXT_ITEMS = 20
MAX_CONTEXT_VALUE = 500

CallType = Literal["web", "phone"]


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

    model_config = with_examples(
        {
            "driver_name": "Mike Johnson",
            "phone_number": "+13125550102",
            "load_number": "7891-B",
            "call_type": "web",
            "context": {"origin": "Phoenix, AZ", "destination": "El Paso, TX"},
        }
    )

    driver_name: str = Field(min_length=1, max_length=200, description="Who the agent asks for.")
    phone_number: E164Phone = Field(description="Any common format; stored as E.164.")
    load_number: str = Field(min_length=1, max_length=60, description="The load the call is about.")
    agent_config_id: uuid.UUID | None = Field(default=None, description="Default: the default configuration.")
    call_type: CallType = Field(default="web", description="`web` (a browser call) or `phone`.")
    context: dict[str, str] = Field(
        default_factory=dict,
        description="Extra prompt variables, e.g. origin, destination, gps_location.",
    )
    simulation: SimulationOptions | None = Field(
        default=None, description="Offline mode only: pick the scripted driver instead of the number."
    )

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
    """The call as stored when Retell accepted it."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: uuid.UUID = Field(description="Our id for the call; read it back with `GET /api/call/{id}`.")
    retell_call_id: str | None = Field(description="Retell's id for the call.")
    status: CallStatus = Field(description="`registered` once Retell accepted the call.")
    call_type: CallType = Field(description="`web` (browser) or `phone`.")
    agent_config_id: uuid.UUID | None = Field(description="The agent configuration that places the call.")
    access_token: str | None = Field(default=None, description="Web calls: what the browser SDK needs.")
    created_at: datetime = Field(description="When the call was stored (UTC).")


class CallSummary(BaseModel):
    """One row of the dashboard's call list."""

    # Fields that default to null stay required in the response schema: every key is always sent.
    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)

    id: uuid.UUID = Field(description="Our id for the call.")
    retell_call_id: str | None = Field(description="Retell's id; null until Retell accepted the call.")
    status: CallStatus = Field(
        description="queued → registered → ongoing → ended → processing → completed; "
        "or failed, not_connected."
    )
    driver_name: str = Field(description="The driver called.")
    phone_number: str | None = Field(description="The driver's number, E.164.")
    load_number: str = Field(description="The load the call is about.")
    call_type: CallType = Field(description="`web` (browser) or `phone`.")
    call_outcome: CallOutcome | None = Field(description="The result's outcome, once the call is completed.")
    follow_up_reason: FollowUpReason | None = Field(
        default=None,
        description="The result's `follow_up_reason`: why a dispatcher must follow up (`uncooperative`, "
        "`noisy_line`, `escalation_pending`), null when no follow-up is needed. Filter with `follow_up`.",
    )
    created_at: datetime = Field(description="When the call was triggered (UTC).")
    started_at: datetime | None = Field(description="When the driver picked up (UTC).")
    ended_at: datetime | None = Field(description="When the call ended (UTC).")
    duration_ms: int | None = Field(description="How long the call lasted, in milliseconds.")
    triggered_by: uuid.UUID | None = Field(
        description="Who triggered it (a user id); null for calls started outside this API."
    )


_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": "6f1c8e1e-8f3b-4a53-9d0c-5a7e2b9c1d20",
    "retell_call_id": "call_0f4c2e7a9b",
    "status": "completed",
    "driver_name": "Mike Johnson",
    "phone_number": "+13125550102",
    "load_number": "7891-B",
    "call_type": "web",
    "call_outcome": "In-Transit Update",
    "follow_up_reason": None,
    "created_at": "2026-11-20T15:04:05Z",
    "started_at": "2026-11-20T15:04:07Z",
    "ended_at": "2026-11-20T15:05:19Z",
    "duration_ms": 72000,
    "triggered_by": "2d7c9a4e-5b1f-4c3a-9e8d-7f6a5b4c3d2e",
}


class CallPage(BaseModel):
    """One page of calls, newest first."""

    model_config = with_examples(
        {
            "items": [_SUMMARY_EXAMPLE],
            "next_cursor": "MjAyNi0xMS0yMFQxNTowNDowNSswMDowMHw2ZjFjOGUxZS04ZjNi",
        }
    )

    items: list[CallSummary] = Field(description="At most `limit` calls.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TranscriptTurn(BaseModel):
    """One turn of the conversation, as Retell's `transcript_object` gives it (word timings left out)."""

    role: str = Field(default="", max_length=40, description="`agent` or `user`.")
    content: str = Field(default="", description="What was said.")


class CheckInCallResult(CheckInResult):
    """A check-in's result, as `CallDetail.result` carries it."""

    # Every key is always sent (null when the driver did not say): required in the schema, not optional.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    scenario: Literal["check_in"] = Field(description="Which result this is: a routine check-in.")


class EmergencyCallResult(EmergencyResult):
    """An emergency's result, as `CallDetail.result` carries it."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    scenario: Literal["emergency"] = Field(description="Which result this is: an emergency escalation.")


CallResultPublic = Annotated[CheckInCallResult | EmergencyCallResult, Field(discriminator="scenario")]


class CallLive(CallSummary):
    """A call as the live streams show it: everything but the transcript, which the detail carries."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    agent_config_id: uuid.UUID | None = Field(description="The agent configuration that placed the call.")
    context: dict[str, str] = Field(description="The prompt variables sent with the trigger.")
    disconnection_reason: str | None = Field(
        description="Retell's reason, e.g. `user_hangup`, `dial_no_answer`."
    )
    recording_url: str | None = Field(default=None, description="Retell's recording of the call, if any.")
    public_log_url: str | None = Field(default=None, description="Retell's public log of the call.")
    call_summary: str | None = Field(description="Retell's own summary of the call (`call_analysis`).")
    status_detail: str | None = Field(
        default=None, description="Why the call is where it is: the Retell or LLM error, …"
    )
    result: CallResultPublic | None = Field(
        description="The structured fields (flat) plus `scenario`, once the call is completed."
    )
    live_result: CallResultPublic | None = Field(
        default=None,
        description="The conversation engine's result as far as the call has got (custom_llm agents), the "
        "same shape as `result`; post-call extraction's `result` stays authoritative.",
    )


class CallDetail(CallLive):
    """Everything about one call: the structured result beside the full transcript."""

    # OpenAPI output drops nulls from examples: the fields that are usually null default to it, and stay
    # required in the response schema.
    model_config = with_examples(
        {
            **_SUMMARY_EXAMPLE,
            "agent_config_id": "0b5d3c2a-1e4f-4a6b-8c7d-9e0f1a2b3c4d",
            "context": {"origin": "Phoenix, AZ", "destination": "El Paso, TX"},
            "disconnection_reason": "agent_hangup",
            "transcript": "Agent: Hi Mike, this is Dispatch calling about load 7891-B...\n"
            "User: I'm on I-10 near Indio, running a bit late, heavy traffic.",
            "transcript_turns": [
                {
                    "role": "agent",
                    "content": "Hi Mike, this is Dispatch calling about load 7891-B...",
                },
                {
                    "role": "user",
                    "content": "I'm on I-10 near Indio, running a bit late, heavy traffic.",
                },
            ],
            "call_summary": "The driver is delayed by traffic near Indio, arriving tomorrow.",
            "result": {
                "scenario": "check_in",
                "call_outcome": "In-Transit Update",
                "driver_status": "Delayed",
                "current_location": "I-10 near Indio, CA",
                "eta": "Tomorrow, 8:00 AM",
                "delay_reason": "Heavy Traffic",
                "unloading_status": "N/A",
                "pod_reminder_acknowledged": False,
                "follow_up_reason": None,
                "location_conflict": False,
                "gps_location": None,
            },
        },
        json_schema_serialization_defaults_required=True,
    )

    transcript: str | None = Field(description="The whole conversation as text.")
    transcript_turns: list[TranscriptTurn] | None = Field(description="The conversation turn by turn.")
