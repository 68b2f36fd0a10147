"""Retell's LLM WebSocket messages: inbound parsed leniently, outbound strict.

Inbound: unknown fields are ignored and an unknown `interaction_type` is logged and skipped, because
Retell adds fields over time and a crash would hang up a driver. Outbound: every field has exactly its
documented type and `response_type` is always set, because Retell silently drops a field of the wrong type
(an `end_call` of "true" would never hang up). Outbound messages are serialised without null fields.
"""

import json
from typing import Annotated, Any, Literal

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from app.conversation.policy import Utterance

# ---------------------------------------------------------------------------------------------------------
# Inbound (Retell -> us), keyed by `interaction_type`
# ---------------------------------------------------------------------------------------------------------


class _Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CallInfo(_Inbound):
    """The `call` object of `call_details`: only what the engine reads."""

    call_id: str = Field(min_length=1, max_length=120)
    agent_id: str | None = None
    call_type: str | None = None
    metadata: dict[str, Any] | None = None
    retell_llm_dynamic_variables: dict[str, Any] | None = None


class CallDetails(_Inbound):
    interaction_type: Literal["call_details"]
    call: CallInfo
    # The raw `call` object, as Retell sent it: the webhook's upsert reads it like a delivery's.
    raw_call: dict[str, Any] = Field(default_factory=dict, exclude=True)


class PingPong(_Inbound):
    interaction_type: Literal["ping_pong"]
    timestamp: int


class UpdateOnly(_Inbound):
    interaction_type: Literal["update_only"]
    transcript: list[Utterance] = Field(default_factory=list)
    turntaking: str | None = None


class ResponseRequired(_Inbound):
    interaction_type: Literal["response_required"]
    response_id: int = Field(ge=0)
    transcript: list[Utterance] = Field(default_factory=list)


class ReminderRequired(_Inbound):
    interaction_type: Literal["reminder_required"]
    response_id: int = Field(ge=0)
    transcript: list[Utterance] = Field(default_factory=list)


Inbound = CallDetails | PingPong | UpdateOnly | ResponseRequired | ReminderRequired
_INBOUND: dict[str, type[_Inbound]] = {
    "call_details": CallDetails,
    "ping_pong": PingPong,
    "update_only": UpdateOnly,
    "response_required": ResponseRequired,
    "reminder_required": ReminderRequired,
}


# The frames of a call's every second, validated straight from the text: every request carries the whole
# transcript with word timings (17 KB at 40 utterances), and building Python objects for all of it with
# json.loads cost three times pydantic's own JSON parser, which skips the words it does not keep.
_FREQUENT: TypeAdapter[PingPong | UpdateOnly | ResponseRequired | ReminderRequired] = TypeAdapter(
    Annotated[
        PingPong | UpdateOnly | ResponseRequired | ReminderRequired,
        Field(discriminator="interaction_type"),
    ]
)


class MalformedMessage(ValueError):
    """The frame is not a JSON object Retell would send: the socket closes with 1007."""


def parse_inbound(text: str) -> Inbound | None:
    """The message in a text frame; None for one to ignore (an unknown type, an unusable known one).

    Raises MalformedMessage when the frame is not JSON, or not an object.
    """
    try:
        return _FREQUENT.validate_json(text)
    except ValidationError:
        pass  # call_details, or a frame to refuse or skip: the general path below says which
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedMessage("not a JSON object")
    kind = data.get("interaction_type")
    model = _INBOUND.get(kind) if isinstance(kind, str) else None
    if model is None:
        logger.info("LLM WebSocket: ignored a message of unknown interaction_type {!r}", str(kind)[:60])
        return None
    try:
        message = model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        logger.warning("LLM WebSocket: ignored a {} with unusable field(s) {}", kind, ", ".join(fields))
        return None
    unknown = sorted(set(data) - set(model.model_fields) - {"interaction_type"})
    if unknown:
        logger.debug("LLM WebSocket: {} carried fields not read: {}", kind, ", ".join(unknown[:10]))
    if isinstance(message, CallDetails):
        message.raw_call = data["call"]
    return message  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------------
# Outbound (us -> Retell), keyed by `response_type`
# ---------------------------------------------------------------------------------------------------------


class _Outbound(BaseModel):
    # Strict: a value of the wrong type is a bug here, never something coerced and then dropped by Retell.
    model_config = ConfigDict(extra="forbid", strict=True)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class ConnectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    auto_reconnect: bool = True
    call_details: bool = True
    transcript_with_tool_calls: bool | None = None


class ConfigMessage(_Outbound):
    response_type: Literal["config"] = "config"
    config: ConnectionConfig = Field(default_factory=ConnectionConfig)


class PingPongMessage(_Outbound):
    response_type: Literal["ping_pong"] = "ping_pong"
    timestamp: int


class ResponseMessage(_Outbound):
    response_type: Literal["response"] = "response"
    response_id: int = Field(ge=0)
    content: str
    content_complete: bool
    no_interruption_allowed: bool | None = None
    end_call: bool | None = None
    transfer_number: str | None = None


class AgentInterruptMessage(_Outbound):
    response_type: Literal["agent_interrupt"] = "agent_interrupt"
    interrupt_id: int = Field(ge=0)
    content: str
    content_complete: bool
    no_interruption_allowed: bool | None = None
    end_call: bool | None = None
    transfer_number: str | None = None


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    responsiveness: float | None = Field(default=None, ge=0, le=1)
    interruption_sensitivity: float | None = Field(default=None, ge=0, le=1)
    reminder_trigger_ms: int | None = Field(default=None, ge=0)
    reminder_max_count: int | None = Field(default=None, ge=0)


class UpdateAgentMessage(_Outbound):
    response_type: Literal["update_agent"] = "update_agent"
    agent_config: AgentSettings


Outbound = ConfigMessage | PingPongMessage | ResponseMessage | AgentInterruptMessage | UpdateAgentMessage
