"""Hard conversations through the policy: one-word answers, silence, noise, a location the GPS disputes."""

import pytest

from app.conversation.dialogue import QUIET_SENSITIVITY
from app.conversation.phrasing import TEMPLATES, sentences
from app.schemas.extraction import CheckInResult, EmergencyResult
from tests.conversation.support import TRANSFER, Call, facts

GPS = "I-40 near Flagstaff, AZ"


def _is(reply_text: str, key: str, **values: str) -> bool:
    lowered = reply_text.lower()
    return any(w.format(name="Dave", **values).lower() in lowered for w in TEMPLATES[key])


def _no_sentence_twice(call: Call) -> None:
    said = [s for r in call.replies for s in sentences(r.content)]
    assert len(said) == len(set(said)), said


# --- Uncooperative --------------------------------------------------------------------------------------


def test_a_one_word_answer_gets_a_closed_follow_up_from_the_gps() -> None:
    call = Call(facts=facts(gps=GPS))
    call.driver("Driving.")
    reply = call.driver("Road.")
    assert _is(reply.content, "reask.current_location.gps", highway="I-40", city="Flagstaff")
    assert "I-40" in reply.content or "Flagstaff" in reply.content


def test_yes_to_the_gps_follow_up_takes_the_gps_position() -> None:
    call = Call(facts=facts(gps=GPS))
    call.driver("Driving.")
    call.driver("Road.")
    call.driver("Yep.")
    assert call.state.slots["current_location"] == GPS


def test_without_gps_the_follow_up_still_narrows_the_question() -> None:
    call = Call()
    call.driver("Driving.")
    assert _is(call.driver("Fine.").content, "reask.current_location")


def test_at_most_two_re_asks_per_slot_then_the_next_question() -> None:
    call = Call()
    call.driver("Driving.")
    call.driver("Dunno.")  # re-ask 1
    call.driver("Busy.")  # re-ask 2
    assert call.state.reasks == {"current_location": 2}
    # An answer to something else breaks the streak; the location is not asked a third time.
    reply = call.driver("Should be there around 5 pm.")
    assert "current_location" in call.state.skipped
    assert not _is(reply.content, "reask.current_location") and not _is(reply.content, "ask.current_location")
    _no_sentence_twice(call)


def test_three_non_answers_in_a_row_close_politely_on_that_turn_and_keep_what_was_learned() -> None:
    call = Call()
    call.driver("Driving.")
    assert not call.driver("Road.").end_call
    assert not call.driver("Busy.").end_call
    close = call.driver("Dunno.")
    assert close.end_call and close.transfer_number is None
    assert _is(close.content, "close.uncooperative")
    assert len(call.replies) == 4
    result = call.result
    assert isinstance(result, CheckInResult)
    assert result.driver_status == "Driving"
    assert result.follow_up_reason == "uncooperative"
    _no_sentence_twice(call)


def test_an_uncooperative_close_at_the_receiver_carries_the_pod_reminder() -> None:
    call = Call()
    call.driver("I'm at the receiver.")
    call.driver("Eh.")
    call.driver("Whatever.")
    close = call.driver("Dunno.")
    assert close.end_call
    assert _is(close.content, "close.uncooperative.pod")
    assert "POD" in close.content


def test_silence_gets_a_nudge_and_two_unanswered_reminders_end_the_call() -> None:
    call = Call()
    call.driver("Driving.")
    nudge = call.silence()
    assert _is(nudge.content, "nudge") and not nudge.end_call
    close = call.silence()
    assert close.end_call
    assert call.result is not None and call.result.follow_up_reason == "uncooperative"


def test_an_answer_between_reminders_resets_them() -> None:
    call = Call()
    call.silence()
    call.driver("Driving.")
    assert not call.silence().end_call


# Two non-answers, then an answer, for every question: the longest a check-in can be drawn out.
DRAWN_OUT = [
    *("Good.", "Fine.", "Driving."),
    *("Uh.", "Hmm.", "I-40."),
    *("Dunno.", "Soon.", "Tomorrow."),
    *("Eh.", "What.", "Yes.", "No."),
]


@pytest.mark.parametrize(
    "pattern",
    [
        DRAWN_OUT,
        ["Driving.", "Yeah.", "Fine.", "Near Amarillo.", "Later.", "Soon.", "Tomorrow.", "Yeah."] * 2,
        ["Hi.", "Ok.", "Sure."] * 5,
    ],
)
def test_no_check_in_runs_longer_than_twelve_agent_turns(pattern: list[str]) -> None:
    call = Call()
    for line in pattern:
        call.driver(line)
        if call.hangups:
            break
    assert call.hangups == 1
    spoken = 1 + call.replies.index(next(r for r in call.replies if r.end_call)) + 1  # the greeting first
    assert spoken <= 12
    _no_sentence_twice(call)


# --- Noisy line -----------------------------------------------------------------------------------------


def test_unintelligible_audio_is_asked_again_twice_in_varied_words_then_a_call_back() -> None:
    call = Call()
    first = call.driver("(unintelligible audio)")
    second = call.driver("[noise] ...the ...forty")
    third = call.driver("(unintelligible audio)")
    assert _is(first.content, "repeat") and _is(second.content, "repeat")
    assert first.content != second.content
    assert not first.end_call and not second.end_call
    assert third.end_call and _is(third.content, "close.noisy")
    assert call.result is not None and call.result.follow_up_reason == "noisy_line"


def test_the_line_is_made_less_sensitive_to_interruptions_once() -> None:
    call = Call()
    first = call.driver("(unintelligible audio)")
    second = call.driver("kshh frrt pzzt")
    assert first.interruption_sensitivity == QUIET_SENSITIVITY
    assert second.interruption_sensitivity is None


def test_a_clear_answer_resets_the_repeat_count() -> None:
    call = Call()
    call.driver("(unintelligible audio)")
    call.driver("(unintelligible audio)")
    call.driver("I'm driving.")
    call.driver("(unintelligible audio)")
    assert not call.driver("(unintelligible audio)").end_call


def test_a_noisy_line_in_an_emergency_ends_in_the_transfer() -> None:
    call = Call()
    call.driver("My truck's on fire!")
    call.driver("(unintelligible audio)")
    call.driver("(unintelligible audio)")
    reply = call.driver("(unintelligible audio)")
    assert reply.transfer_number == TRANSFER and not reply.end_call
    assert isinstance(call.result, EmergencyResult)


def test_noise_around_an_answer_is_not_noise() -> None:
    call = Call()
    reply = call.driver("[noise] I'm on I-40 near Amarillo [inaudible]")
    assert not _is(reply.content, "repeat")
    assert call.state.slots["current_location"] == "I-40 near Amarillo, TX"


def test_an_emergency_in_noise_still_switches() -> None:
    call = Call()
    reply = call.driver("[noise] ... blew a tire ... [inaudible]")
    assert call.state.mode == "emergency"
    assert not _is(reply.content, "repeat")


# --- Conflicting location -------------------------------------------------------------------------------


def test_a_location_elsewhere_than_the_gps_is_asked_about_once_without_accusing() -> None:
    call = Call(facts=facts(gps="I-10 near Tucson, AZ"))
    reply = call.driver("Driving, just outside Phoenix.")
    assert _is(reply.content, "ask.gps", gps="Tucson")
    assert "Tucson" in reply.content
    after = call.driver("No, I'm in Phoenix, your tracking's behind.")
    assert not _is(after.content, "ask.gps", gps="Tucson")
    # A second stated location elsewhere is not questioned again.
    call.driver("Actually I'm on I-17 north of Phoenix now.")
    asked = [r for r in call.replies if "tracking" in r.content.lower()]
    assert len(asked) == 1
    result = call.result
    assert isinstance(result, CheckInResult)
    assert result.location_conflict is True
    assert result.gps_location == "I-10 near Tucson, AZ"
    assert result.current_location and "Phoenix" in result.current_location


def test_a_driver_who_agrees_with_the_tracking_takes_the_gps_position() -> None:
    call = Call(facts=facts(gps="I-10 near Tucson, AZ"))
    call.driver("I'm near Phoenix.")
    call.driver("Oh yeah, you're right.")
    assert call.state.slots["current_location"] == "I-10 near Tucson, AZ"
    assert call.state.slots["location_conflict"] is True


@pytest.mark.parametrize(
    "said",
    [
        "I'm on I-40 near Flagstaff.",
        "Driving, on I 40 at mile marker 195.",
        "I'm just outside Flagstaff, Arizona.",
        "Near Flagstaff AZ.",
        "Interstate 40, exit 201.",
        "Somewhere in Arizona on I-40.",
    ],
)
def test_the_gps_is_never_questioned_when_the_locations_agree(said: str) -> None:
    call = Call(facts=facts(gps=GPS))
    reply = call.driver(said)
    assert "tracking" not in reply.content.lower()
    assert "location_conflict" not in call.state.slots


@pytest.mark.parametrize(
    "said", ["I'm on I-10 near Phoenix.", "Driving through Texas.", "Near Albuquerque on I-40.", "On I-17."]
)
def test_another_highway_city_or_state_is_a_conflict(said: str) -> None:
    call = Call(facts=facts(gps=GPS))
    assert "tracking" in call.driver(said).content.lower()
