"""The dialogue's types: what the socket passes in, what comes back, and the state that resumes a call.

The socket treats `DialogueState` as opaque JSON: it loads it from the call, passes it in with each event,
and stores what comes back before it sends the reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    # Also "gps_check" (the GPS question was asked) and "quiet_line" (sensitivity lowered once).
    done: list[str] = Field(default_factory=list)
    # The question waiting for an answer: a slot name, or "gps". The greeting asks for the status.
    asked: str | None = "driver_status"
    # What a bare yes or no to the pending closed question means: {"yes": {slot: value}, "no": {...}}.
    closed: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Narrower follow-ups asked per slot, and slots given up on after them.
    reasks: dict[str, int] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)
    # Streaks: driver turns in a row with no answer, unanswered reminders, unintelligible turns.
    non_answers: int = 0
    reminders: int = 0
    noise: int = 0
    # Agent turns so far (the greeting is the first), and the counter that chooses each wording.
    agent_turns: int = 1
    counter: int = 0
    # Every sentence the agent said in this call (lower case): none is said twice.
    said: list[str] = Field(default_factory=list)
