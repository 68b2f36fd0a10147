"""The dialogue policy: a pure `step(state, facts, event) -> (state, reply)`, no I/O, no clock.

This module is the contract between the socket (which reads, writes, times out and persists) and the
dialogue (which decides). The socket treats `DialogueState` as opaque JSON: it loads it from the call,
passes it in with each event, and stores what comes back before it sends the reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.conversation import dialogue
from app.conversation.state import (
    CallFacts,
    DialogueState,
    DriverTurn,
    Event,
    Reminder,
    Reply,
    Utterance,
)
from app.schemas.extraction import CheckInResult, EmergencyResult

__all__ = [
    "CallFacts",
    "DialogueState",
    "DriverTurn",
    "Event",
    "Reminder",
    "Reply",
    "Utterance",
    "live_result",
    "step",
]


def step(
    state: DialogueState,
    facts: CallFacts,
    event: Event,
    heard: Mapping[str, Any] | None = None,
) -> tuple[DialogueState, Reply]:
    """The next reply. `heard` holds slots an LLM read from the newest utterance, when one ran in time."""
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
