"""Reactive drivers: they hear what the agent asks, answer only that from their facts, and notice mistakes."""

import random

import pytest

from app.conversation.phrasing import TEMPLATES
from app.retell.conversation import ConversationCase, hang_up_turn, judge, run_conversation
from app.retell.personas.reactive import ReactiveDriver, asks_of, draw_facts
from tests.support.fake_llm_server import FakeEngine, fake_llm_server

# The policy's question templates and the fact each asks for: the driver must understand every wording.
SLOT_OF = {
    "ask.driver_status": "status",
    "reask.driver_status": "status",
    "ask.current_location": "location",
    "reask.current_location": "location",
    "reask.current_location.gps": "location",
    "reask.current_location.highway": "location",
    "ask.eta": "eta",
    "reask.eta": "eta",
    "ask.delay_reason": "delay",
    "ask.delay_reason.late": "delay",
    "reask.delay_reason": "delay",
    "ask.unloading_status": "unloading",
    "reask.unloading_status": "unloading",
    "ask.pod_reminder_acknowledged": "pod",
    "reask.pod_reminder_acknowledged": "pod",
    "ask.gps": "gps",
    "nudge": "nudge",
    "repeat": "repeat",
    "ask.safety_status": "safety",
    "ask.injury_status": "injury",
    "ask.emergency_location": "emergency_location",
    "ask.load_secure": "load",
}
WORDINGS = [
    (key, text.format(name="Mike", highway="I-40", city="Flagstaff", gps="I-10 near Tucson, AZ"))
    for key in SLOT_OF
    if key in TEMPLATES
    for text in TEMPLATES[key]
]


@pytest.mark.parametrize(("key", "text"), WORDINGS, ids=[f"{k}-{n}" for n, (k, _) in enumerate(WORDINGS)])
def test_every_question_wording_of_the_policy_is_heard_as_what_it_asks(key: str, text: str) -> None:
    assert asks_of(text) == [SLOT_OF[key]]


@pytest.mark.parametrize(
    "text",
    ["Thanks, Mike. That's all I needed, drive safe.", "I'm connecting you to a dispatcher now.", "Got it."],
)
def test_closings_and_acknowledgements_ask_nothing(text: str) -> None:
    assert asks_of(text) == []


def driver(persona: str, **kwargs: object) -> ReactiveDriver:
    rng = random.Random(7)
    facts = draw_facts(persona, driver_name="Mike Johnson", load_number="L-1", context={}, rng=rng)
    return ReactiveDriver(facts, rng=rng, **kwargs)  # type: ignore[arg-type]


def test_the_driver_says_only_what_was_asked() -> None:
    mike = driver("traffic_delay")
    facts = mike.facts
    assert facts.eta and facts.delay_line
    eta = mike.respond("What's your ETA to the receiver?").text
    assert facts.eta in eta and facts.town not in eta and facts.delay_line not in eta
    where = mike.respond("Where are you right now?").text
    assert facts.town in where and facts.eta not in where
    both = mike.respond("What's slowing you down? And are you still on schedule?").text
    assert facts.delay_line in both


def test_asking_again_for_an_answered_fact_is_noticed() -> None:
    mike = driver("on_time")
    mike.respond("Where are you right now?")
    mike.respond("Whereabouts are you now?")
    assert mike.problems == ["asked again for location, already answered"]


def test_asking_an_arrived_driver_for_an_eta_is_noticed() -> None:
    linda = driver("unloading_pod")
    assert "already here" in linda.respond("What's your ETA to the receiver?").text
    assert linda.problems == ["asked an arrived driver about eta"]


def test_the_check_in_after_an_emergency_is_noticed_and_the_driver_repeats_it() -> None:
    mike = driver("blowout", alarm_at=0)
    alarm = mike.respond("How's it going out there?").text
    assert alarm == mike.facts.alarm
    again = mike.respond("What's your ETA to the receiver?").text
    assert mike.facts.alarm is not None and mike.facts.alarm in again
    assert mike.problems and "check-in question after the emergency" in mike.problems[0]


def test_an_injured_driver_is_not_expected_to_give_location_and_load() -> None:
    # An injury skips straight to escalation: the labels must not demand what the protocol never asks.
    hurt = driver("accident_injury").facts.expected()
    fine = driver("blowout").facts.expected()
    assert "emergency_location" not in hurt and "load_secure" not in hurt
    assert {"emergency_location", "load_secure"} <= set(fine)


class KeepsCheckingIn(FakeEngine):
    """An engine that never leaves the check-in: the harness must fail it."""

    def reply_for(self, call_id: str, transcript: list[dict[str, object]]) -> dict[str, object]:
        said = [str(t["content"]).lower() for t in transcript]
        transcript = [
            t for t, text in zip(transcript, said, strict=True) if not ("tire" in text or "blowout" in text)
        ]
        return super().reply_for(call_id, transcript)


async def test_a_policy_that_misses_the_emergency_fails_the_emergency_check() -> None:
    async with fake_llm_server(KeepsCheckingIn()) as url:
        conversation = await run_conversation(url, ConversationCase("t", "blowout"), call_id="call_miss")
    verdict = judge(conversation, {"call_outcome": "In-Transit Update"})
    assert conversation.emergency_next is False
    assert not verdict.checks["emergency protocol in the very next response"]
    assert not verdict.checks["ends in a transfer"]
    assert not verdict.ok


def test_the_hang_up_is_due_after_three_non_answers_in_a_row_and_a_yes_to_a_closed_question_counts() -> None:
    def said(*turns: str) -> list[dict[str, str]]:
        return [{"role": "agent" if n % 2 == 0 else "user", "content": text} for n, text in enumerate(turns)]

    three = said("Hi, how's it going?", "Fine.", "Where are you?", "Busy.", "Which town?", "Later.", "Bye.")
    assert hang_up_turn(three) == 4
    closed = said(
        "Hi, how's it going?",
        "Dunno.",
        "Are you driving right now, yes or no?",
        "Yep.",
        "Where are you?",
        "Whatever.",
        "Which highway?",
        "Around.",
        "Which town?",
        "Nope.",
        "Bye.",
    )
    assert hang_up_turn(closed) == 6
    assert hang_up_turn(said("Hi?", "Fine.", "Where?", "On I-40 near Flagstaff.", "ETA?")) is None
