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


def step(
    state: DialogueState,
    facts: CallFacts,
    event: Event,
    heard: Mapping[str, Any] | None = None,
) -> tuple[DialogueState, Reply]:
    """The next reply. `heard` holds slots an LLM read from the newest utterance, when one ran in time."""
    from app.conversation import dialogue

    new = _copy(state)
    turn = dialogue.Turn(new, facts)
    if new.mode == "ended":  # the transfer or hang-up was issued: never again
        new.turns_seen = max(new.turns_seen, len(event.transcript))
        dialogue.after_the_end(turn)
    else:
        outcome = dialogue.read_new_turns(new, facts, event, heard)
        if outcome["spoke"]:
            new.reminders = 0
            new.noise = new.noise + 1 if outcome["noise"] else 0
            if outcome["learned"]:
                new.non_answers = 0
            elif not outcome["noise"]:
                new.non_answers += 1
        elif isinstance(event, Reminder):
            new.reminders += 1
        if not outcome["spoke"] and isinstance(event, DriverTurn):
            dialogue.resume(turn)
        elif new.mode == "emergency":
            dialogue.emergency_reply(turn, outcome)
        else:
            dialogue.check_in_reply(turn, outcome)
    new.agent_turns += 1
    return new, dialogue.build_reply(turn)


def _copy(state: DialogueState) -> DialogueState:
    """A copy `step` may change without touching the caller's state: cheaper than a deep copy."""
    return state.model_copy(
        update={
            "slots": dict(state.slots),
            "done": list(state.done),
            "closed": {k: dict(v) for k, v in state.closed.items()},
            "reasks": dict(state.reasks),
            "skipped": list(state.skipped),
            "said": list(state.said),
        }
    )


_FLAGS = ("follow_up_reason", "location_conflict", "gps_location")


def live_result(state: DialogueState) -> CheckInResult | EmergencyResult | None:
    """The result as far as the call has got: the same shape as post-call extraction's."""
    slots = state.slots
    flags = {k: slots[k] for k in _FLAGS if k in slots}
    if slots.get("emergency_type"):
        fields = ("emergency_type", "safety_status", "injury_status", "emergency_location", "load_secure")
        return EmergencyResult(
            **{k: slots[k] for k in (*fields, "escalation_status") if k in slots},
            **flags,
        )
    check_in = {k: slots[k] for k in CHECK_IN_FIELDS if k in slots}
    if not check_in and not flags:
        return None
    arrived = check_in.get("driver_status") in ("Arrived", "Unloading")
    if arrived:
        check_in.pop("eta", None)
    elif "unloading_status" not in check_in:
        check_in["unloading_status"] = "N/A"
    return CheckInResult(
        call_outcome="Arrival Confirmation" if arrived else "In-Transit Update", **check_in, **flags
    )


CHECK_IN_FIELDS = (
    "driver_status",
    "current_location",
    "eta",
    "delay_reason",
    "unloading_status",
    "pod_reminder_acknowledged",
)
