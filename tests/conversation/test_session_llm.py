"""The socket session with the LLM reader: rules first, a hard budget, never for an emergency, no key no LLM.

The real dialogue policy on an in-memory socket and store; the OpenAI-compatible server is mocked by respx.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx
from openai import AsyncOpenAI

from app.config import Settings
from app.conversation import policy
from app.conversation.reader import build_live_reader
from app.conversation.understanding import LiveReader, detect_emergency, understand
from app.main import create_app
from tests.conversation.fakes import FakeSocket, FakeStore
from tests.conversation.support import emergency_protocol
from tests.conversation.test_session import opened, turn, until_complete
from tests.conversation.test_understanding import streamed
from tests.support import OPENAI_BASE_URL

# Nothing in it a rule reads as a place; the model knows where "the usual stop past the river" is.
VAGUE = "Uh, I'm at the usual stop just past the big river, moving fine"
PLACE = "I-40 near Amarillo, TX"
EMERGENCY = "I just had an accident, my truck is in the ditch"


@pytest.fixture
async def reader() -> AsyncIterator[LiveReader]:
    client = AsyncOpenAI(api_key="sk-test", base_url=OPENAI_BASE_URL, max_retries=0)
    # The SDK imports its resources on first use; a worker has done that long before a call's first turn.
    with respx.mock(base_url=OPENAI_BASE_URL) as router:
        router.post("/chat/completions").mock(return_value=streamed("{}"))
        await client.chat.completions.create(model="warm-up", messages=[])
    reader = LiveReader(client=client, model="gpt-4o-mini", budget_s=0.4)
    yield reader
    await reader.aclose()


def spoken(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"] for m in messages if m.get("response_type") == "response")


async def one_turn(store: FakeStore, reader: LiveReader | None, said: str) -> tuple[str, float]:
    """The greeting, then one driver turn: what the agent said and how long the reply took."""
    from app.conversation.session import ConversationSession

    socket = FakeSocket()
    session = ConversationSession(socket, retell_call_id="call_r1", store=store, policy=policy, reader=reader)
    task = asyncio.create_task(session.run())
    try:
        await opened(socket)
        loop = asyncio.get_running_loop()
        started = loop.time()
        socket.push(turn(1, said))
        reply = spoken(await until_complete(socket, 1))
        return reply, loop.time() - started
    finally:
        socket.push(None)
        await asyncio.wait_for(task, 5)


def test_rules_alone_miss_the_place() -> None:
    assert "current_location" not in understand(VAGUE, "Can you give me a quick status update?").slots


async def test_an_llm_reading_within_budget_fills_a_slot_the_rules_miss(reader: LiveReader) -> None:
    store = FakeStore()
    with respx.mock(base_url=OPENAI_BASE_URL) as router:
        route = router.post("/chat/completions").mock(
            return_value=streamed(json.dumps({"current_location": PLACE, "driver_status": "Driving"}))
        )
        await one_turn(store, reader, VAGUE)
    assert route.call_count == 1
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream"] is True
    assert VAGUE in sent["messages"][1]["content"]
    live = store.saves[-1][2]
    assert live is not None and live.current_location == PLACE


async def test_the_llm_is_instructed_with_the_calls_general_prompt(reader: LiveReader) -> None:
    store = FakeStore()
    store.instructions = "You are Dispatch calling {{driver_name}} about load {{load_number}}."
    with respx.mock(base_url=OPENAI_BASE_URL) as router:
        route = router.post("/chat/completions").mock(return_value=streamed("{}"))
        await one_turn(store, reader, VAGUE)
    system = json.loads(route.calls.last.request.content)["messages"][0]["content"]
    assert system.startswith("You are Dispatch calling Mike about load 7891-B.")


async def test_a_slow_llm_is_not_waited_for_beyond_its_budget(reader: LiveReader) -> None:
    asked: list[httpx.Request] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        asked.append(request)  # respx records a call only once it is answered; this one never is
        await asyncio.sleep(3)
        return streamed(json.dumps({"current_location": PLACE}))

    store = FakeStore()
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=slow)
        reply, took = await one_turn(store, reader, VAGUE)
    assert len(asked) == 1
    assert reply  # the rules' reply
    assert took < reader.budget_s + 0.5
    live = store.saves[-1][2]
    assert live is None or live.current_location != PLACE


async def test_an_emergency_never_waits_on_the_llm(reader: LiveReader) -> None:
    store = FakeStore(transfer="+15550001111")
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as router:
        route = router.post("/chat/completions").mock(return_value=streamed("{}"))
        reply, _ = await one_turn(store, reader, EMERGENCY)
    assert not route.called
    assert emergency_protocol(reply)


async def test_without_a_reader_no_request_reaches_the_llm() -> None:
    store = FakeStore()
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as router:
        route = router.post("/chat/completions").mock(
            return_value=streamed(json.dumps({"current_location": PLACE}))
        )
        reply, _ = await one_turn(store, None, VAGUE)
    assert reply
    assert not route.called


def test_no_key_builds_no_reader(make_settings: Callable[..., Settings]) -> None:
    assert build_live_reader(make_settings(openai_api_key=None)) is None
    reader = build_live_reader(make_settings(engine_llm_budget_ms=650))
    assert reader is not None
    assert reader.budget_s == 0.65
    assert str(reader.client.base_url).rstrip("/") == OPENAI_BASE_URL


@pytest.mark.parametrize("key", [None, "sk-test"])
async def test_the_app_builds_its_reader_once_from_the_key(
    make_settings: Callable[..., Settings], key: str | None
) -> None:
    app = create_app(make_settings(openai_api_key=key))
    async with app.router.lifespan_context(app) as state:
        reader = state["context"].live_reader
        assert (reader is None) == (key is None)
    if reader is not None:
        assert reader.client.is_closed()


async def test_the_store_gives_the_session_the_configs_general_prompt(
    make_settings: Callable[..., Settings],
) -> None:
    from app.core.database import create_engine, create_session_maker, session_scope
    from app.services import agent_configs
    from app.services.conversations import DatabaseCallStore

    settings = make_settings()
    engine = create_engine(settings)
    try:
        maker = create_session_maker(engine)
        async with session_scope(maker) as session:
            await agent_configs.seed_default_config(session)
        async with session_scope(maker) as session:
            prompt = (await agent_configs.get_default_config(session)).general_prompt
        opened = await DatabaseCallStore(maker, settings).open("call_prompt", None)
        assert prompt and opened.instructions == prompt
    finally:
        await engine.dispose()


async def test_a_call_already_in_an_emergency_never_waits_on_the_llm(reader: LiveReader) -> None:
    store = FakeStore(transfer="+15550001111")
    store.state = store.state.model_copy(update={"mode": "emergency"})
    # Nothing in it the rules read as an emergency: only the call's mode keeps the LLM out.
    said = "I'm at the usual stop just past the big river"
    assert detect_emergency(said) is None
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as router:
        route = router.post("/chat/completions").mock(return_value=streamed("{}"))
        reply, _ = await one_turn(store, reader, said)
    assert reply
    assert not route.called
