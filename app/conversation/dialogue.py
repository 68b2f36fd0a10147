"""The dialogue's decisions behind `step`: what was learned from the new turns, and what to say next."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.conversation.phrasing import first_name, pick
from app.conversation.state import Reply
from app.conversation.understanding import CHECK_IN_SLOTS, EMERGENCY_SLOTS, clean_heard, understand
from app.extraction.rules.gps import gps_short_name, locations_disagree, parse_location

if TYPE_CHECKING:
    from app.conversation.state import CallFacts, DialogueState, Event, Utterance

MAX_AGENT_TURNS = 12  # a check-in never runs longer, the greeting included
MAX_REASKS = 2  # narrower follow-ups per slot after a non-answer
MAX_NON_ANSWERS = 3  # in a row: then the agent closes politely
MAX_REMINDERS = 2  # unanswered `reminder_required` in a row: then the agent closes
MAX_REPEATS = 2  # requests to repeat in a row on a noisy line: the next time, escalate
QUIET_SENSITIVITY = 0.4  # interruption sensitivity once the line is noisy (Retell's default is 1)

_STATUS_RANK = {"Driving": 0, "Delayed": 1, "Arrived": 2, "Unloading": 3}
EMERGENCY_QUESTIONS = ("safety_status", "injury_status", "emergency_location", "load_secure")
# What the agent's pending question was, for a reply that needs it ("yes", "two hours") when the
# transcript's own agent line is not at hand.
_CANONICAL_QUESTION = {
    "driver_status": "How's it going, can you give me a status update?",
    "current_location": "Where are you right now?",
    "eta": "What's your ETA?",
    "delay_reason": "Any delays?",
    "unloading_status": "Have they started unloading you, are you in a door?",
    "pod_reminder_acknowledged": "Please send the signed POD, okay?",
    "safety_status": "Are you somewhere safe?",
    "injury_status": "Is anyone hurt?",
    "emergency_location": "Where exactly are you?",
    "load_secure": "Is the load secure?",
}


class Turn:
    """The reply being built for one `step`: its words, and at most one action."""

    def __init__(self, state: DialogueState, facts: CallFacts) -> None:
        self.state = state
        self.facts = facts
        self.name = first_name(facts.driver_name)
        self.parts: list[str] = []
        self.end_call = False
        self.transfer_number: str | None = None
        self.sensitivity: float | None = None

    def say(self, key: str, *, optional: bool = False, **values: str) -> str | None:
        s = self.state
        text = pick(key, s.said, s.counter, optional=optional, name=self.name, **values)
        s.counter += 1
        if text:
            self.parts.append(text)
        return text


def _asked_text(transcript: list[Utterance], index: int, asked: str | None) -> str | None:
    """The agent's words the utterance at `index` answers: the line before it, else the pending question."""
    for back in range(index - 1, max(index - 4, -1), -1):
        if transcript[back].role == "agent":
            return transcript[back].content
    return _CANONICAL_QUESTION.get(asked or "")


def _weaker_eta(new: Any, old: Any) -> bool:
    """True when `new` only names a part of today, or of the day `old` already gives a clock time for.

    "Dense fog this morning" reads as "Today morning"; it must not undo "Tomorrow, 9:00 AM" or
    "Today, 6:30 PM". Another day without a time ("tomorrow morning" after "Today, 6:30 PM") is a real
    revision and still replaces it.
    """

    def day(eta: str) -> str:
        first = eta.replace(",", " ").split()[0] if eta.strip() else ""
        return "Today" if first == "Tonight" else first

    new_s, old_s = str(new), str(old)
    exact_old = any(ch.isdigit() for ch in old_s)
    exact_new = any(ch.isdigit() for ch in new_s)
    # "This morning" is mostly when something happened ("dense fog this morning"), not a new arrival time.
    return exact_old and not exact_new and day(new_s) in (day(old_s), "Today")


def _merge(slots: dict[str, Any], new: Mapping[str, Any]) -> bool:
    """Adds what an utterance said to the slots; True when anything changed."""
    changed = False
    for key, value in new.items():
        old = slots.get(key)
        if key == "driver_status" and old in _STATUS_RANK and _STATUS_RANK[value] < _STATUS_RANK[old]:
            continue  # an arrived driver does not go back on the road; "no delays" does not undo "late"
        if key == "delay_reason" and value == "None" and old is not None:
            continue  # "no other problems" keeps the cause already named
        if key == "injury_status" and str(old).startswith("Injuries reported") and value != old:
            continue  # an injury once reported stays reported
        if key == "eta" and old and _weaker_eta(value, old):
            continue  # "dense fog this morning" does not undo "around 6:30 PM"
        if old != value:
            slots[key] = value
            changed = True
    reason = slots.get("delay_reason")
    if slots.get("driver_status") == "Driving" and reason not in (None, "None"):
        slots["driver_status"] = "Delayed"
    return changed


def read_new_turns(
    state: DialogueState, facts: CallFacts, event: Event, heard: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Reads the driver utterances after `turns_seen` into the state; returns what the reply needs to know."""
    transcript = event.transcript
    start = min(state.turns_seen, len(transcript))
    state.turns_seen = len(transcript)
    news = [i for i in range(start, len(transcript)) if transcript[i].role == "user"]
    outcome: dict[str, Any] = {"spoke": bool(news), "learned": False, "noise": False, "switched": False}
    noisy = bool(news)
    gps = facts.context.get("gps_location") or None
    for position, index in enumerate(news):
        asked = state.asked
        in_emergency = state.mode == "emergency"
        arrived = state.slots.get("driver_status") in ("Arrived", "Unloading")
        heard_now = understand(
            transcript[index].content,
            _asked_text(transcript, index, asked),
            arrived_before=arrived,
            emergency=in_emergency,
        )
        slots = dict(heard_now.slots)
        if heard_now.emergency and state.mode == "check_in":
            # The switch is the rules' alone: an LLM reading never decides it.
            state.mode = "emergency"
            state.asked = None
            state.non_answers = 0
            outcome["switched"] = True
        elif heard_now.emergency:
            slots.pop("emergency_type", None)  # the first kind reported names the emergency
        if position == len(news) - 1:
            allowed = EMERGENCY_SLOTS[1:] if state.mode == "emergency" else CHECK_IN_SLOTS
            for key, value in clean_heard(heard).items():
                if key in allowed:
                    slots.setdefault(key, value)
        learned = _merge(state.slots, slots) or outcome["switched"]
        closed = state.closed
        if closed and heard_now.yes_no is not None and not learned:
            learned = _merge(state.slots, closed.get("yes" if heard_now.yes_no else "no", {})) or True
        if asked == "gps":
            learned = True  # whatever the driver says, the GPS question is never asked again
        state.closed = {}
        if (
            gps
            and state.mode == "check_in"
            and "gps_check" not in state.done
            and "current_location" in slots
            and heard_now.location is not None
            and locations_disagree(heard_now.location, parse_location(gps))
        ):
            outcome["conflict"] = True
        outcome["learned"] = outcome["learned"] or learned
        noisy = noisy and heard_now.noise and not learned
    outcome["noise"] = noisy
    return outcome


def _pending_check_in_slots(state: DialogueState) -> list[str]:
    """The check-in questions still to ask, in order: status first, then the branch it chose."""
    slots, skipped = state.slots, state.skipped
    status = slots.get("driver_status")
    in_transit = any(k in slots for k in ("current_location", "eta", "delay_reason"))
    if status is None and "driver_status" not in skipped and not in_transit:
        return ["driver_status"]
    if status in ("Arrived", "Unloading"):
        order: tuple[str, ...] = ("unloading_status", "pod_reminder_acknowledged")
    else:
        order = ("current_location", "eta", "delay_reason")
    return [slot for slot in order if slot not in slots and slot not in skipped]


def _pod_due(state: DialogueState) -> bool:
    return state.slots.get("driver_status") in ("Arrived", "Unloading") and not state.slots.get(
        "pod_reminder_acknowledged"
    )


def _close(turn: Turn, key: str, *, reason: str | None = None) -> None:
    state = turn.state
    if _pod_due(state) and key != "close.noisy":
        key += ".pod"
    turn.say(key)
    turn.end_call = True
    state.done.append("end_call")
    state.mode = "ended"
    state.asked = None
    if reason:
        state.slots["follow_up_reason"] = reason


def _escalate(turn: Turn) -> None:
    state, facts = turn.state, turn.facts
    slots = state.slots
    hurt = (
        str(slots.get("injury_status", "")).startswith("Injuries reported")
        or slots.get("safety_status") == "Driver reports they are not safe"
    )
    if facts.dispatcher_transfer_number:
        turn.say("transfer.hurt" if hurt else "transfer")
        turn.transfer_number = facts.dispatcher_transfer_number
        state.done.append("transfer")
        slots["escalation_status"] = "Connected to Human Dispatcher"
    else:
        turn.say("callback.hurt" if hurt else "callback")
        turn.end_call = True
        state.done.extend(["escalation_pending", "end_call"])
        slots["escalation_status"] = "Dispatcher will call back"
        slots["follow_up_reason"] = "escalation_pending"
    state.mode = "ended"
    state.asked = None


def _noisy_line(turn: Turn) -> bool:
    """Handles a turn nothing could be made of; True when it did."""
    state = turn.state
    if state.noise > MAX_REPEATS:
        if state.mode == "emergency":
            _escalate(turn)
        else:
            _close(turn, "close.noisy", reason="noisy_line")
        return True
    if state.noise:
        turn.say("repeat")
        if "quiet_line" not in state.done:
            state.done.append("quiet_line")
            turn.sensitivity = QUIET_SENSITIVITY
        return True
    return False


def emergency_reply(turn: Turn, outcome: dict[str, Any]) -> None:
    state = turn.state
    if outcome["switched"]:
        turn.say("emergency.open", optional=True)
    if not outcome["switched"] and _noisy_line(turn):
        return
    if state.reminders >= MAX_REMINDERS:
        _escalate(turn)
        return
    slots = state.slots
    hurt = str(slots.get("injury_status", "")).startswith("Injuries reported")
    if hurt or slots.get("safety_status") == "Driver reports they are not safe":
        _escalate(turn)  # an injury or ongoing danger goes straight to a human
        return
    if state.asked and state.asked not in slots and not outcome["learned"] and outcome["spoke"]:
        state.skipped.append(state.asked)  # no time to insist in an emergency: move on
    pending = [q for q in EMERGENCY_QUESTIONS if q not in slots and q not in state.skipped]
    if not pending:
        _escalate(turn)
        return
    if state.reminders and not outcome["spoke"]:
        turn.say("nudge")
    turn.say(f"ask.{pending[0]}")
    state.asked = pending[0]


def _gps_context(facts: CallFacts) -> dict[str, str]:
    gps = facts.context.get("gps_location")
    if not gps:
        return {}
    location = parse_location(gps)
    city = gps_short_name(gps)
    return {"gps": gps, "highway": location.highway or "", "city": city if city != gps else ""}


def _reask(turn: Turn, slot: str) -> None:
    state = turn.state
    state.reasks[slot] = state.reasks.get(slot, 0) + 1
    key = f"reask.{slot}"
    if slot == "current_location":
        context = _gps_context(turn.facts)
        if context.get("highway") and context.get("city"):
            turn.say(f"{key}.gps", highway=context["highway"], city=context["city"])
            state.closed = {"yes": {"current_location": context["gps"]}}
            return
        if context.get("highway"):
            turn.say(f"{key}.highway", highway=context["highway"])
            return
    text = turn.say(key) or ""
    if slot == "driver_status" and "driving" in text:
        state.closed = {"yes": {"driver_status": "Driving"}}
    elif slot == "driver_status" and "receiver yet" in text:
        state.closed = {"yes": {"driver_status": "Arrived"}, "no": {"driver_status": "Driving"}}


def check_in_reply(turn: Turn, outcome: dict[str, Any]) -> None:
    state = turn.state
    if _noisy_line(turn):
        return
    if state.reminders >= MAX_REMINDERS or state.non_answers >= MAX_NON_ANSWERS:
        _close(turn, "close.uncooperative", reason="uncooperative")
        return
    if state.reminders and not outcome["spoke"]:
        turn.say("nudge")
        return
    asked = state.asked
    if outcome.get("conflict"):
        gps = turn.facts.context["gps_location"]
        turn.say("ask.gps", gps=gps_short_name(gps))
        state.done.append("gps_check")
        state.slots["location_conflict"] = True
        state.slots["gps_location"] = gps
        state.closed = {"yes": {"current_location": gps}}
        state.asked = "gps"
        return
    pending = _pending_check_in_slots(state)
    if asked in pending and outcome["spoke"]:
        # Asked and not answered: a narrower follow-up, at most MAX_REASKS times, then move on.
        if state.reasks.get(asked, 0) < MAX_REASKS and state.agent_turns + 1 < MAX_AGENT_TURNS:
            _reask(turn, asked)
            return
        state.skipped.append(asked)
        pending.remove(asked)
    if not pending or state.agent_turns + 1 >= MAX_AGENT_TURNS:
        _close(turn, "close")
        return
    slot = pending[0]
    if outcome["learned"]:
        turn.say("ack", optional=True)
    key = f"ask.{slot}"
    if slot == "delay_reason" and state.slots.get("driver_status") == "Delayed":
        key += ".late"
    turn.say(key)
    state.asked = slot


def after_the_end(turn: Turn) -> None:
    """Retell asked again after the transfer or hang-up was issued: a brief word, never the action twice."""
    turn.say("after.transfer" if "transfer" in turn.state.done else "after.end")


def resume(turn: Turn) -> None:
    """Nothing new from the driver (a reconnect, or a response Retell discarded): no question answered is
    asked again; the pending one, if any, comes in other words."""
    state = turn.state
    asked = state.asked
    if asked in _CANONICAL_QUESTION and asked not in state.slots:
        key = f"ask.{asked}"
        if asked == "delay_reason" and state.slots.get("driver_status") == "Delayed":
            key += ".late"
        if turn.say(key, optional=True):
            return
    turn.say("resume")


def build_reply(turn: Turn) -> Reply:
    return Reply(
        content=" ".join(turn.parts),
        end_call=turn.end_call,
        transfer_number=None if turn.end_call else turn.transfer_number,
        interruption_sensitivity=turn.sensitivity,
    )
