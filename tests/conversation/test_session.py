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
        before_echo = []
        while (message := await socket.next())["response_type"] != "ping_pong":
            before_echo.append(message)
        waited = asyncio.get_running_loop().time() - started
        assert message == {"response_type": "ping_pong", "timestamp": 1700000000000}
        assert waited < 0.3
        assert not any(m.get("content_complete") for m in before_echo)  # the request was still open
        reply = before_echo + await until_complete(socket, 1)
        assert "".join(m["content"] for m in reply) == "Got it, Mike. Question 1."


async def test_a_newer_request_cancels_the_older_and_nothing_is_sent_under_the_older_id() -> None:
    store = FakeStore(save_delay=0.2)
    async with session_on(store) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        # Its words go out at once; its completion waits for the store (0.2 s), and a newer request comes.
        assert [(await socket.next())["response_id"] for _ in range(2)] == [1, 1]
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
        await asyncio.sleep(0.3)
        messages += socket.drained()
    responses = [m for m in messages if m["response_type"] == "response"]
    assert {m["response_id"] for m in responses} == {2}
    assert sum(1 for m in responses if m["content_complete"]) == 1
    # The older turn was still decided and stored (it was under way), so the newer one asks the next question.
    assert "".join(m["content"] for m in responses) == "Got it, Mike. Question 2."


async def test_chunks_still_queued_under_an_older_id_are_never_sent_after_a_newer_request() -> None:
    async with session_on(FakeStore(), socket=FakeSocket(send_delay=0.1)) as socket:
        await opened(socket)
        socket.push(turn(1, "I'm driving"))  # two chunks, each 0.1 s on the wire
        assert (await socket.next())["content"] == "Got it, Mike. "
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
    assert {m["response_id"] for m in messages} == {2}


async def test_a_request_superseded_before_it_started_never_runs_the_policy() -> None:
    policy = ScriptedPolicy()
    async with session_on(FakeStore(open_delay=0.3), policy=policy) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
    assert {m["response_id"] for m in messages} == {2}
    assert "".join(m["content"] for m in messages) == "Got it, Mike. Question 1."
    assert len(policy.events) == 1


async def test_a_request_superseded_while_the_call_opens_does_not_cancel_the_opening() -> None:
    async with session_on(FakeStore(open_delay=0.3)) as socket:
        assert (await socket.next())["response_type"] == "config"
        socket.push(turn(1, "I'm driving"))
        await asyncio.sleep(0.1)  # request 1 is waiting for the call to open
        socket.push(turn(2, "I'm driving", "near Tucson"))
        messages = await until_complete(socket, 2)
    assert "".join(m["content"] for m in messages) == "Got it, Mike. Question 1."


async def test_each_request_ends_with_exactly_one_content_complete_after_its_chunks() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "I'm driving"))
        chunks = await until_complete(socket, 1)
        await asyncio.sleep(0.1)
        chunks += socket.drained()
    # Sentence by sentence, then the one content_complete once the turn is stored.
    assert [c["content"] for c in chunks] == ["Got it, Mike. ", "Question 1.", ""]
    assert [c["content_complete"] for c in chunks] == [False, False, True]


async def next_or_fail(socket: FakeSocket, what: str, timeout: float = 2.0) -> dict[str, Any]:
    try:
        return await socket.next(timeout)
    except TimeoutError:
        raise AssertionError(f"{what} did not arrive within {timeout} s") from None


async def test_the_first_words_go_out_while_the_turns_store_is_still_blocked() -> None:
    gate = asyncio.Event()
    store = FakeStore(save_gate=gate)
    async with session_on(store) as socket:
        await opened(socket)
        socket.push(turn(1, "I'm driving"))
        first = await next_or_fail(socket, "the first chunk, with the store blocked")
        assert first == {
            "response_type": "response",
            "response_id": 1,
            "content": "Got it, Mike. ",
            "content_complete": False,
        }
        second = await next_or_fail(socket, "the second sentence, with the store blocked")
        assert second["content"] == "Question 1." and second["content_complete"] is False
        assert store.saving == [0, 1] and [rid for rid, _, _ in store.saves] == [0]  # still storing
        # The request stays open until the turn is stored: Retell asks nothing new in between.
        await asyncio.sleep(0.2)
        assert socket.drained() == []
        gate.set()
        final = await next_or_fail(socket, "the final chunk once the store went through")
    assert final == {"response_type": "response", "response_id": 1, "content": "", "content_complete": True}
    assert [rid for rid, _, _ in store.saves] == [0, 1]


async def test_a_transfer_goes_out_only_once_the_turn_that_issues_it_is_stored() -> None:
    gate = asyncio.Event()
    store = FakeStore(transfer="+13125550100", save_gate=gate)
    async with session_on(store) as socket:
        await opened(socket)
        socket.push(turn(1, "blowout"))
        words = [await next_or_fail(socket, f"sentence {n} of the transfer's words") for n in (1, 2)]
        assert "".join(m["content"] for m in words) == "Okay. I'm connecting you to a dispatcher now."
        assert not any("transfer_number" in m or m["content_complete"] for m in words)
        await asyncio.sleep(0.3)
        assert socket.drained() == [], "the transfer went out before its turn was stored"
        gate.set()
        final = await next_or_fail(socket, "the transfer's final chunk once stored")
    assert final["transfer_number"] == "+13125550100" and final["content_complete"] is True
    assert store.state.done == ["transfer"]


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
    assert [m["content_complete"] for m in reply] == [False, False, True]
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
    assert chunks == [
        {
            "response_type": "response",
            "response_id": 1,
            "content": "Thanks, drive safe.",
            "content_complete": False,
            "no_interruption_allowed": True,
        },
        {
            "response_type": "response",
            "response_id": 1,
            "content": "",
            "content_complete": True,
            "end_call": True,
            "no_interruption_allowed": True,
        },
    ]


async def test_a_transfer_rides_only_on_the_final_chunk_which_cannot_be_interrupted() -> None:
    async with session_on(FakeStore(transfer="+13125550100")) as socket:
        await opened(socket)
        socket.push(turn(1, "blowout"))
        *words, last = await until_complete(socket, 1)
    assert words == [
        {
            "response_type": "response",
            "response_id": 1,
            "content": content,
            "content_complete": False,
            "no_interruption_allowed": True,  # the words before a transfer are not cut short either
        }
        for content in ("Okay. ", "I'm connecting you to a dispatcher now.")
    ]
    assert last["transfer_number"] == "+13125550100" and last["content_complete"] is True
    assert last["no_interruption_allowed"] is True and "end_call" not in last


async def test_end_call_and_transfer_never_travel_together() -> None:
    async with session_on(FakeStore()) as socket:
        await opened(socket)
        socket.push(turn(1, "both"))
        *_, reply = await until_complete(socket, 1)
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
