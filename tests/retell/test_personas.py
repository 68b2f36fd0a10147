"""Behaviour of the scripted driver personas the offline Retell simulator plays."""

import random
import re

import pytest

from app.retell.personas import (
    DEFAULT_PERSONA,
    PERSONAS,
    ScriptedCall,
    Turn,
    build_script,
    persona_for_phone,
)
from app.schemas.call import PersonaName

CONNECTING = [key for key, persona in PERSONAS.items() if persona.connects]
EMERGENCIES = ["blowout", "accident_injury", "medical"]
SEEDS = range(6)


def script(key: str, seed: int = 0, **context: str) -> ScriptedCall:
    return build_script(
        key, driver_name="Carlos Ramirez", load_number="5521-C", context=context, rng=random.Random(seed)
    )


def user_text(call: ScriptedCall) -> str:
    return " ".join(turn.content for turn in call.turns if turn.role == "user").lower()


def agent_lines(call: ScriptedCall) -> list[str]:
    return [turn.content for turn in call.turns if turn.role == "agent"]


def test_personas_are_the_twelve_reserved_lines_in_order() -> None:
    assert list(PERSONAS) == [
        "on_time",
        "traffic_delay",
        "weather_delay",
        "unloading_pod",
        "waiting_lumper",
        "blowout",
        "accident_injury",
        "medical",
        "uncooperative",
        "noisy_line",
        "gps_conflict",
        "no_answer",
    ]
    assert [p.phone_suffix for p in PERSONAS.values()] == [f"01{n:02d}" for n in range(1, 13)]
    assert len({p.phone_suffix for p in PERSONAS.values()}) == len(PERSONAS)
    assert DEFAULT_PERSONA == "on_time"
    assert [key for key, p in PERSONAS.items() if not p.connects] == ["no_answer"]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+13125550106", "blowout"),
        ("+14155550106", "blowout"),
        ("+13125550101", "on_time"),
        ("+12065550112", "no_answer"),
        ("+1 312 555 0110", "noisy_line"),
        ("+13125550188", None),
        ("+13125550100", None),
        ("+13125560106", None),
        ("+443125550106", None),
        ("+131255501060", None),
        ("", None),
    ],
)
def test_persona_for_phone_matches_reserved_555_01xx_lines_only(number: str, expected: str | None) -> None:
    persona = persona_for_phone(number)
    assert (persona.key if persona else None) == expected


@pytest.mark.parametrize("key", CONNECTING)
def test_agent_opens_with_first_name_and_load_number(key: str) -> None:
    for seed in SEEDS:
        call = script(key, seed)
        assert call.persona is PERSONAS[key]
        assert call.turns[0].role == "agent"
        assert call.turns[0].content.startswith(
            "Hi Carlos, this is Dispatch with a check call on load 5521-C."
        )
        assert "Ramirez" not in call.transcript
        assert not any("this is Dispatch" in turn.content for turn in call.turns[1:])
        assert call.summary and "Carlos" in call.summary
        assert call.user_sentiment in {"Positive", "Neutral", "Negative"}


@pytest.mark.parametrize("key", CONNECTING)
def test_context_destination_is_used(key: str) -> None:
    for seed in SEEDS:
        call = script(key, seed, origin="Fresno, CA", destination="Boise, ID")
        assert "Boise" in call.transcript
        if key not in EMERGENCIES and key != "uncooperative":
            assert "Boise, ID" in (call.summary or "")


def test_context_origin_is_used() -> None:
    assert all("Fresno" in script("on_time", seed, origin="Fresno, CA").transcript for seed in SEEDS)


def test_gps_conflict_quotes_context_gps_location_and_driver_corrects() -> None:
    for seed in SEEDS:
        call = script("gps_conflict", seed, gps_location="I-10 exit 256, Tucson, AZ")
        gps_turn = next(i for i, turn in enumerate(call.turns) if "GPS" in turn.content)
        assert call.turns[gps_turn].role == "agent"
        assert "I-10 exit 256, Tucson, AZ" in call.turns[gps_turn].content
        assert "double-check" in call.turns[gps_turn].content or "look" in call.turns[gps_turn].content
        stated = call.turns[1].content
        assert "Tucson" not in stated
        assert call.turns[gps_turn + 1].role == "user"


def test_gps_conflict_invents_a_gps_location_when_none_given() -> None:
    for seed in SEEDS:
        call = script("gps_conflict", seed)
        gps_line = next(turn.content for turn in call.turns if "GPS" in turn.content)
        assert re.search(r"I-\d+ .*, [A-Z]{2}", gps_line)


@pytest.mark.parametrize("key", CONNECTING)
def test_same_seed_gives_same_script(key: str) -> None:
    assert script(key, 7) == script(key, 7)
    assert script(key, 7, destination="Boise, ID") == script(key, 7, destination="Boise, ID")


@pytest.mark.parametrize("key", CONNECTING)
def test_different_seeds_vary_the_wording(key: str) -> None:
    assert len({script(key, seed).transcript for seed in range(4)}) >= 2


def test_transcript_is_retell_text_format() -> None:
    call = script("traffic_delay", 3)
    expected = "".join(f"{'Agent' if t.role == 'agent' else 'User'}: {t.content}\n" for t in call.turns)
    assert call.transcript == expected
    lines = call.transcript.split("\n")
    assert lines[-1] == ""
    assert all(re.fullmatch(r"(Agent|User): \S.*", line) for line in lines[:-1])
    assert lines[0].startswith("Agent: Hi Carlos") and lines[1].startswith("User: ")


def test_transcript_of_hand_built_call() -> None:
    call = ScriptedCall(
        PERSONAS["on_time"], (Turn("agent", "Hi."), Turn("user", "Hey.")), "agent_hangup", None, "Neutral"
    )
    assert call.transcript == "Agent: Hi.\nUser: Hey.\n"


@pytest.mark.parametrize("key", EMERGENCIES)
def test_emergency_asks_safety_location_load_then_transfers_to_human(key: str) -> None:
    for seed in SEEDS:
        call = script(key, seed)
        agent = [line.lower() for line in agent_lines(call)]
        assert call.disconnection_reason == "call_transfer"
        assert call.user_sentiment == "Negative"
        assert call.turns[-1].role == "agent"
        assert "human dispatcher" in agent[-1]
        safety = next(i for i, line in enumerate(agent) if "safe" in line and i > 0)
        assert "hurt" in agent[safety] or "injur" in agent[safety]
        location = next(i for i, line in enumerate(agent) if "exact" in line)
        load = next(i for i, line in enumerate(agent) if "load" in line and "secure" in line)
        assert 0 < safety < location < load < len(agent) - 1
        assert "human dispatcher" in (call.summary or "")


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("blowout", ("tire", "blowout", "blew")),
        ("accident_injury", ("hit", "slammed")),
        ("medical", ("chest", "dizzy")),
    ],
)
def test_emergency_starts_as_check_in_and_driver_interrupts(key: str, words: tuple[str, ...]) -> None:
    for seed in SEEDS:
        call = script(key, seed)
        first_user = next(i for i, turn in enumerate(call.turns) if turn.role == "user")
        assert not any(word in call.turns[0].content.lower() for word in words)
        alarm = next(i for i, turn in enumerate(call.turns) if any(w in turn.content.lower() for w in words))
        assert call.turns[alarm].role == "user"
        assert first_user <= alarm <= first_user + 2


def test_blowout_nobody_hurt_and_load_secure() -> None:
    for seed in SEEDS:
        text = user_text(script("blowout", seed))
        assert "hurt" in text or "injur" in text
        assert "secure" in text or "nothing moved" in text


def test_accident_driver_reports_an_injury() -> None:
    for seed in SEEDS:
        assert re.search(r"head|wrist|cut|hurt", user_text(script("accident_injury", seed)))


def test_traffic_delay_names_traffic_or_construction_and_a_new_eta() -> None:
    for seed in SEEDS:
        call = script("traffic_delay", seed)
        assert "traffic" in user_text(call) or "construction" in user_text(call)
        assert any(
            "ETA" in line or "arrival" in line or "when do you expect" in line for line in agent_lines(call)
        )
        assert re.search(r"\d+( AM| PM|:30)", call.transcript)


def test_weather_delay_names_the_weather() -> None:
    for seed in SEEDS:
        assert re.search(r"snow|rain|pouring|storm|wind|gust|fog", user_text(script("weather_delay", seed)))


def test_unloading_pod_has_door_and_pod_acknowledged() -> None:
    for seed in SEEDS:
        call = script("unloading_pod", seed)
        assert re.search(r"[Dd]oor \d+", call.transcript)
        reminder = next(
            i for i, turn in enumerate(call.turns) if turn.role == "agent" and "POD" in turn.content
        )
        reply = call.turns[reminder + 1]
        assert reply.role == "user" and "POD" in reply.content


def test_waiting_lumper_mentions_lumper() -> None:
    for seed in SEEDS:
        assert "lumper" in user_text(script("waiting_lumper", seed))


def test_uncooperative_driver_answers_in_single_words_and_agent_ends_politely() -> None:
    for seed in SEEDS:
        call = script("uncooperative", seed)
        users = [turn.content for turn in call.turns if turn.role == "user"]
        assert len(users) >= 3
        assert all(len(content.split()) == 1 for content in users)
        assert call.turns[-1].role == "agent"
        assert call.disconnection_reason == "agent_hangup"


def test_noisy_line_asks_to_repeat_at_most_twice_then_gets_location_and_eta() -> None:
    repeats_seen = set()
    for seed in range(12):
        call = script("noisy_line", seed)
        garbled = [turn for turn in call.turns if turn.role == "user" and "[" in turn.content]
        assert 1 <= len(garbled) <= 2
        repeats_seen.add(len(garbled))
        clear = [turn.content for turn in call.turns if turn.role == "user" and "[" not in turn.content]
        assert re.search(r"I-\d+", clear[0])
        assert re.search(r"hours|[AP]M|:30|tonight around \d+", " ".join(clear[1:]))
    assert repeats_seen == {1, 2}


def test_no_answer_never_connects() -> None:
    call = script("no_answer")
    assert call.turns == ()
    assert call.transcript == ""
    assert call.disconnection_reason == "dial_no_answer"
    assert call.summary is None


def test_unknown_persona_is_rejected() -> None:
    with pytest.raises(KeyError):
        script("pirate")


def test_every_persona_name_the_api_accepts_has_a_script() -> None:
    assert set(PERSONAS) == set(PersonaName)
