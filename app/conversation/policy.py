"""The dialogue policy: a pure `step(state, facts, event) -> (state, reply)`, no I/O, no clock.

This module is the contract between the socket (which reads, writes, times out and persists) and the
dialogue (which decides). The socket treats `DialogueState` as opaque JSON: it loads it from the call,
passes it in with each event, and stores what comes back before it sends the reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.extraction import CheckInResult, EmergencyResult


class Utterance(BaseModel):
    """One entry of the transcript Retell sends with every message."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["agent", "user"]
    content: str = ""


@dataclass(frozen=True)
class CallFacts:
    """What the dispatcher told us about the call: fixed for its whole life."""

    driver_name: str
    load_number: str
    # Every context variable of the trigger, e.g. {"gps_location": "I-10 near Tucson, AZ"}.
    context: Mapping[str, str] = field(default_factory=dict)
    # Where an emergency is transferred; None means "a dispatcher will call back".
    dispatcher_transfer_number: str | None = None


class DriverTurn(BaseModel):
    """Retell's `response_required`: the driver finished speaking; the whole transcript so far."""

    kind: Literal["response_required"] = "response_required"
    transcript: list[Utterance]


class Reminder(BaseModel):
    """Retell's `reminder_required`: the driver has been silent."""

    kind: Literal["reminder_required"] = "reminder_required"
    transcript: list[Utterance]


Event = DriverTurn | Reminder


class Reply(BaseModel):
    """What the agent says next, and the one action (if any) that follows it."""

    content: str
    end_call: bool = False
    transfer_number: str | None = None
    # When set, the socket sends `update_agent` with this interruption sensitivity (a noisy line).
    interruption_sensitivity: float | None = None


class DialogueState(BaseModel):
    """Everything needed to resume a call on any worker; stored as JSON after every turn."""

    model_config = ConfigDict(extra="ignore")

    mode: Literal["check_in", "emergency", "ended"] = "check_in"
    # How many transcript entries have been read: a reconnect re-sends the whole transcript.
    turns_seen: int = 0
    slots: dict[str, Any] = Field(default_factory=dict)
    # Side effects already issued ("transfer", "end_call", "escalation_pending"): each happens once.
    done: list[str] = Field(default_factory=list)


def step(
    state: DialogueState,
    facts: CallFacts,
    event: Event,
    heard: Mapping[str, Any] | None = None,
) -> tuple[DialogueState, Reply]:
    """The next reply. `heard` holds slots an LLM read from the newest utterance, when one ran in time."""
    raise NotImplementedError


def live_result(state: DialogueState) -> CheckInResult | EmergencyResult | None:
    """The result as far as the call has got: the same shape as post-call extraction's."""
    raise NotImplementedError
