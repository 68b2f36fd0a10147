"""One utterance understood: rules slots and noise, and the optional LLM reader under its hard budget."""

import asyncio
import json

import httpx
import pytest
import respx
from openai import AsyncOpenAI

from app.conversation.understanding import detect_emergency, hear_with_llm, is_empty_answer, understand
from app.schemas.extraction import CallExtraction
from tests.support import OPENAI_BASE_URL


def _chunk(delta: dict) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }


def streamed(content: str, pieces: int = 3) -> httpx.Response:
    """An OpenAI-compatible streaming answer (server-sent events) whose content arrives in pieces."""
    size = max(1, -(-len(content) // pieces))
    deltas = [{"role": "assistant", "content": ""}]
    deltas += [{"content": content[i : i + size]} for i in range(0, len(content), size)]
    events = [f"data: {json.dumps(_chunk(delta))}\n\n" for delta in deltas] + ["data: [DONE]\n\n"]
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(events).encode()
    )


@pytest.fixture
async def client():
    openai = AsyncOpenAI(api_key="sk-test", base_url=OPENAI_BASE_URL, max_retries=0)
    # The SDK imports its resources on first use; a worker has done that long before a call's first turn.
    with respx.mock(base_url=OPENAI_BASE_URL) as router:
        router.post("/chat/completions").mock(return_value=streamed("{}"))
        await openai.chat.completions.create(model="warm-up", messages=[])
    yield openai
    await openai.close()


async def _hear(client: AsyncOpenAI, budget_s: float = 5.0) -> dict | None:
    return await hear_with_llm(
        client,
        model="gpt-4o-mini",
        instructions="You are Dispatch calling Dave.",
        utterance="Near Amarillo, maybe six tonight",
        asked="Where are you?",
        budget_s=budget_s,
    )


async def test_the_llm_reader_returns_the_slots_that_fit_the_result(client: AsyncOpenAI) -> None:
    reading = {
        "current_location": "Near Amarillo, TX",
        "eta": "Today, 6:00 PM",
        "driver_status": "Flying",
        "x": 1,
    }
    with respx.mock(base_url=OPENAI_BASE_URL) as router:
        route = router.post("/chat/completions").mock(return_value=streamed(json.dumps(reading)))
        heard = await _hear(client)
    assert heard == {"current_location": "Near Amarillo, TX", "eta": "Today, 6:00 PM"}
    sent = json.loads(route.calls.last.request.content)
    assert sent["model"] == "gpt-4o-mini"
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["stream"] is True
    assert sent["messages"][0]["content"].startswith("You are Dispatch calling Dave.")
    assert "Near Amarillo, maybe six tonight" in sent["messages"][1]["content"]
    assert "Where are you?" in sent["messages"][1]["content"]


async def test_a_late_llm_reader_gives_none_within_its_budget(client: AsyncOpenAI) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return streamed('{"eta": "Today, 6:00 PM"}')

    # A good answer, two seconds late: the reader gives up at its budget instead of waiting for it.
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=slow)
        started = asyncio.get_running_loop().time()
        heard = await _hear(client, budget_s=0.3)
        waited = asyncio.get_running_loop().time() - started
    assert heard is None
    assert waited < 1.5


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, json={"error": {"message": "down"}}),
        streamed("not json"),
    ],
)
async def test_a_failing_llm_reader_gives_none(client: AsyncOpenAI, response: httpx.Response) -> None:
    with respx.mock(base_url=OPENAI_BASE_URL) as router:
        router.post("/chat/completions").mock(return_value=response)
        assert await _hear(client) is None


def test_the_extraction_schema_carries_the_follow_up_fields() -> None:
    schema = json.dumps(CallExtraction.model_json_schema())
    for field in ("follow_up_reason", "location_conflict", "gps_location"):
        assert field in schema


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I clipped a deer and the radiator's pouring out", "Breakdown"),
        ("traffic's stopped for a jackknifed rig a mile ahead", None),
        ("my co-driver's not breathing right", "Medical"),
        ("a car broke down in the left lane", None),
        ("somebody backed into me at the fuel island", "Accident"),
    ],
)
def test_detect_emergency_reads_whose_trouble_it_is(text: str, kind: str | None) -> None:
    assert detect_emergency(text) == kind


@pytest.mark.parametrize(
    "text", ["(unintelligible audio)", "[noise] ...the ...forty", "kshh frrt pzzt", "..."]
)
def test_garbled_speech_is_noise(text: str) -> None:
    assert understand(text, "Where are you?").noise


@pytest.mark.parametrize("text", ["I'm on I-40 near Amarillo", "Yep", "Driving.", "around 6 pm"])
def test_plain_speech_is_not_noise(text: str) -> None:
    assert not understand(text, "Where are you?").noise


@pytest.mark.parametrize(
    ("text", "empty"), [("Fine.", True), ("yep", True), ("Dunno", True), ("On I-40", False)]
)
def test_one_word_answers_that_say_nothing(text: str, empty: bool) -> None:
    assert is_empty_answer(text) is empty


def test_a_bare_duration_answers_the_eta_question() -> None:
    assert understand("about 3 hours", "What's your ETA?").slots["eta"] == "In about 3 hours"


@pytest.mark.parametrize(
    "text",
    [
        "They told me to sit in the lot until a door opens up",
        "no doors open yet",
        "all the doors are full so I'm parked",
        "gotta wait till a door frees up",
    ],
)
def test_a_wait_for_a_free_door_in_many_words_is_waiting_for_door(text: str) -> None:
    heard = understand(text, "Have they given you a door yet?", arrived_before=True)
    assert heard.slots["unloading_status"] == "Waiting for Door"


def test_smoke_pouring_out_from_under_the_hood_is_a_breakdown() -> None:
    assert detect_emergency("smoke pouring out from under the hood, I'm pulling over") == "Breakdown"
