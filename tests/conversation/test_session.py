"""The session's rules, on an in-memory socket and store: ordering, timing, cancellation, closing codes."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.conversation.session import FALLBACK_REPLY, ConversationSession
from tests.conversation.fakes import FakeSocket, FakeStore
from tests.conversation.scripted import ScriptedPolicy

DETAILS = {"interaction_type": "call_details", "call": {"call_id": "call_r1", "agent_id": "agent_1"}}


def turn(response_id: int, *said: str, kind: str = "response_required") -> dict[str, Any]:
    transcript = [{"role": "agent", "content": "Hi"}] + [{"role": "user", "content": text} for text in said]
    return {"interaction_type": kind, "response_id": response_id, "transcript": transcript}


@asynccontextmanager
async def session_on(
    store: FakeStore, policy: Any = None, socket: FakeSocket | None = None
) -> AsyncIterator[FakeSocket]:
    socket = socket or FakeSocket()
    session = ConversationSession(
        socket, retell_call_id="call_r1", store=store, policy=policy or ScriptedPolicy()
    )
    task = asyncio.create_task(session.run())
    try:
        yield socket
    finally:
        socket.push(None)
        await asyncio.wait_for(task, 5)


async def until_complete(socket: FakeSocket, response_id: int) -> list[dict[str, Any]]:
    """Every message up to and including `response_id`'s content_complete."""
    seen = []
    while True:
        message = await socket.next()
        seen.append(message)
        if message.get("response_id") == response_id and message.get("content_complete"):
            return seen


async def opened(socket: FakeSocket) -> dict[str, Any]:
    """Past the config and (when there is one) the greeting."""
    assert (await socket.next())["response_type"] == "config"
    socket.push(DETAILS)
    return await socket.next()


async def test_config_is_the_first_message_and_asks_for_reconnects_and_call_details() -> None:
    async with session_on(FakeStore()) as socket:
        assert await socket.next() == {
            "response_type": "config",
            "config": {"auto_reconnect": True, "call_details": True},
        }


async def test_call_details_get_the_begin_message_as_response_zero_with_variables_filled() -> None:
    store = FakeStore()
    async with session_on(store) as socket:
        greeting = await opened(socket)
    assert greeting == {
        "response_type": "response",
        "response_id": 0,
        "content": "Hi Mike, load 7891-B from Phoenix.",
        "content_complete": True,
    }
    assert store.saves[0][0] == 0  # stored as given before it was said


async def test_a_call_already_greeted_is_not_greeted_again() -> None:
    store = FakeStore()
    store.last_response_id = 3
    async with session_on(store) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(DETAILS)
        socket.push({"interaction_type": "ping_pong", "timestamp": 1})
        assert await socket.next() == {"response_type": "ping_pong", "timestamp": 1}
    assert store.saves == []


async def test_pings_are_echoed_at_once_while_a_response_is_being_generated() -> None:
    store = FakeStore(save_delay=1.0)
    async with session_on(store) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        await asyncio.sleep(0.05)
        socket.push({"interaction_type": "ping_pong", "timestamp": 1700000000000})
        started = asyncio.get_running_loop().time()
        echo = await socket.next()
        waited = asyncio.get_running_loop().time() - started
        assert echo == {"response_type": "ping_pong", "timestamp": 1700000000000}
        assert waited < 0.3
        reply = await until_complete(socket, 1)
        assert reply[-1]["content"] == "Question 1."


async def test_a_newer_request_cancels_the_older_and_nothing_is_sent_under_the_older_id() -> None:
    store = FakeStore(save_delay=0.2)
    async with session_on(store) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        await asyncio.sleep(0.05)
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
        await asyncio.sleep(0.3)
        messages += socket.drained()
    responses = [m for m in messages if m["response_type"] == "response"]
    assert [m["response_id"] for m in responses] == [2, 2]
    # The older turn was still decided and stored (it was under way), so the newer one asks the next question.
    assert responses[-1]["content"] == "Question 2."


async def test_chunks_still_queued_under_an_older_id_are_never_sent_after_a_newer_request() -> None:
    async with session_on(FakeStore(), socket=FakeSocket(send_delay=0.1)) as socket:
        await opened(socket)
        socket.push(turn(1, "I'm driving"))  # two chunks, each 0.1 s on the wire
        assert (await socket.next())["content"] == "Got it, Mike. "
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
    assert [m["response_id"] for m in messages] == [2, 2]


async def test_a_request_superseded_before_it_started_never_runs_the_policy() -> None:
    policy = ScriptedPolicy()
    async with session_on(FakeStore(open_delay=0.3), policy=policy) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
    assert [m["response_id"] for m in messages] == [2, 2]
    assert messages[-1]["content"] == "Question 1."
    assert len(policy.events) == 1


async def test_a_request_superseded_while_the_call_opens_does_not_cancel_the_opening() -> None:
    async with session_on(FakeStore(open_delay=0.3)) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        await asyncio.sleep(0.1)  # request 1 is waiting for the call to open
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
    assert messages[-1]["content"] == "Question 1."


async def test_each_request_ends_with_exactly_one_content_complete_after_its_chunks() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "I'm driving"))
        chunks = await until_complete(socket, 1)
        await asyncio.sleep(0.1)
        chunks += socket.drained()
    assert [c["content"] for c in chunks] == ["Got it, Mike. ", "Question 1."]
    assert [c["content_complete"] for c in chunks] == [False, True]


async def test_an_empty_reply_still_completes_the_request() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "quiet"))
        assert await until_complete(socket, 1) == [
            {"response_type": "response", "response_id": 1, "content": "", "content_complete": True}
        ]


async def test_a_failed_generation_still_completes_the_request_and_stores_nothing() -> None:
    store = FakeStore()
    async with session_on(store) as socket:
        await opened(socket)
        socket.push(turn(1, "boom"))
        reply = await until_complete(socket, 1)
    assert "".join(m["content"] for m in reply) == FALLBACK_REPLY
    assert [m["content_complete"] for m in reply] == [False, True]
    assert [response_id for response_id, _, _ in store.saves] == [0]


async def test_a_reminder_is_answered_under_its_own_id() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(4, kind="reminder_required"))
        reply = await until_complete(socket, 4)
    assert "".join(m["content"] for m in reply) == "Are you still there? Question 1."


async def test_end_call_rides_only_on_the_final_chunk_which_cannot_be_interrupted() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "bye"))
        chunks = await until_complete(socket, 1)
    assert chunks[0] == {
        "response_type": "response",
        "response_id": 1,
        "content": "Thanks, drive safe.",
        "content_complete": True,
        "end_call": True,
        "no_interruption_allowed": True,
    }


async def test_a_transfer_rides_only_on_the_final_chunk_which_cannot_be_interrupted() -> None:
    async with session_on(FakeStore(transfer="+13125550100")) as socket:
        await opened(socket)
        socket.push(turn(1, "blowout"))
        first, last = await until_complete(socket, 1)
    assert first == {
        "response_type": "response",
        "response_id": 1,
        "content": "Okay. ",
        "content_complete": False,
    }
    assert last["transfer_number"] == "+13125550100"
    assert last["no_interruption_allowed"] is True and "end_call" not in last


async def test_end_call_and_transfer_never_travel_together() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "both"))
        (reply,) = await until_complete(socket, 1)
    assert reply["transfer_number"] == "+13125550100" and "end_call" not in reply


async def test_a_transfer_happens_once_per_call_even_when_asked_again() -> None:
    store = FakeStore(transfer="+13125550100")
    async with session_on(store) as socket:
        await opened(socket)
        socket.push(turn(1, "blowout"))
        first = await until_complete(socket, 1)
        socket.push(turn(2, "blowout", "blowout again"))
        second = await until_complete(socket, 2)
    assert first[-1]["transfer_number"] == "+13125550100"
    assert all("transfer_number" not in m and "no_interruption_allowed" not in m for m in second)
    assert store.state.done == ["transfer"]  # stored with the turn, before the reply was sent


async def test_a_noisy_line_lowers_interruption_sensitivity_with_update_agent() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "noisy"))
        messages = await until_complete(socket, 1)
    assert messages[0] == {"response_type": "update_agent", "agent_config": {"interruption_sensitivity": 0.3}}


async def test_a_binary_frame_closes_with_1003() -> None:
    store = FakeStore()
    async with session_on(store) as socket:
        socket.push(b"\x00\x01")
        for _ in range(50):
            if socket.closed_with is not None:
                break
            await asyncio.sleep(0.02)
    assert socket.closed_with == 1003


async def test_malformed_json_closes_with_1007() -> None:
    for frame in ("{not json", "[1, 2]", '"text"'):
        async with session_on(FakeStore()) as socket:
            socket.push(frame)
            for _ in range(50):
                if socket.closed_with is not None:
                    break
                await asyncio.sleep(0.02)
        assert socket.closed_with == 1007, frame


async def test_unknown_interaction_types_and_fields_are_ignored() -> None:
    async with session_on(FakeStore()) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push({"interaction_type": "tool_call_result", "x": 1})
        socket.push({"interaction_type": "ping_pong", "timestamp": 5, "extra": {"new": True}})
        assert await socket.next() == {"response_type": "ping_pong", "timestamp": 5}
    assert socket.closed_with is None


async def test_a_store_failure_closes_with_1011_never_1000() -> None:
    store = FakeStore(fail_saves=True)
    async with session_on(store) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(DETAILS)
        for _ in range(50):
            if socket.closed_with is not None:
                break
            await asyncio.sleep(0.02)
    assert socket.closed_with == 1011


async def test_the_session_never_closes_the_socket_itself_when_retell_hangs_up() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "bye"))
        await until_complete(socket, 1)
    assert socket.closed_with is None
