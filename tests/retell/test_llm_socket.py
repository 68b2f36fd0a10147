"""Retell's side of the LLM WebSocket against a minimal fake engine: what it sends, and what it catches."""

import asyncio
import json

from app.retell.conversation import ConversationCase, run_conversation
from app.retell.llm_socket import RetellSocket
from tests.support.fake_llm_server import FakeEngine, fake_llm_server

CALL = {
    "call_id": "call_t1",
    "agent_id": "agent_sim",
    "call_type": "phone_call",
    "metadata": {"call_id": "ours"},
}


async def test_opening_sends_call_details_and_waits_for_the_begin_message() -> None:
    engine = FakeEngine()
    async with fake_llm_server(engine) as url:
        socket = RetellSocket(url, {**CALL, "retell_llm_dynamic_variables": {"driver_name": "Mike"}})
        greeting = await socket.connect()
        await socket.close()
    assert greeting is not None and greeting.response_id == 0 and greeting.content.startswith("Hi Mike")
    details = [m for m in engine.seen if m["interaction_type"] == "call_details"]
    assert details == [
        {
            "interaction_type": "call_details",
            "call": {**CALL, "retell_llm_dynamic_variables": {"driver_name": "Mike"}},
        }
    ]
    assert socket.violations == []


async def test_each_request_carries_the_whole_transcript_with_word_timings() -> None:
    engine = FakeEngine()
    async with fake_llm_server(engine) as url:
        record = await run_conversation(url, ConversationCase("t", "on_time"), call_id="call_t2")
    requests = [m for m in engine.seen if m["interaction_type"] == "response_required"]
    assert record.ending == "end_call", record.error
    assert [m["response_id"] for m in requests] == list(range(1, len(requests) + 1))
    last = requests[-1]["transcript"]
    assert len(last) == len(record.transcript) - 1  # all but the closing reply
    assert all(t["words"] and {"word", "start", "end"} <= set(t["words"][0]) for t in last)
    starts = [w["start"] for t in last for w in t["words"]]
    assert starts == sorted(starts)
    # update_only precedes each request, with the same transcript.
    kinds = [m["interaction_type"] for m in engine.seen if m["interaction_type"] != "ping_pong"]
    assert kinds[1:3] == ["update_only", "response_required"]
    assert record.violations == []


async def test_the_driver_answers_what_was_asked_from_its_facts() -> None:
    engine = FakeEngine()
    async with fake_llm_server(engine) as url:
        record = await run_conversation(url, ConversationCase("t", "traffic_delay"), call_id="call_t3")
    users = [t["content"] for t in record.transcript if t["role"] == "user"]
    facts = record.facts
    # Status (the greeting's open question), then location, ETA, delays: answered in the order asked.
    assert "behind" in users[0] and facts.town not in users[0]
    assert facts.town in users[1] and facts.eta not in users[1]
    assert facts.eta is not None and facts.eta in users[2]
    assert facts.delay_line is not None and facts.delay_line in users[3]


async def test_pings_are_sent_every_interval_and_their_echoes_timed() -> None:
    engine = FakeEngine()
    async with fake_llm_server(engine) as url:
        socket = RetellSocket(url, CALL, ping_interval=0.05)
        await socket.connect()
        await asyncio.sleep(0.3)
        await socket.close()
    assert len(socket.ping_rtts) >= 3
    assert socket.violations == []


async def test_a_ping_never_echoed_is_a_violation() -> None:
    engine = FakeEngine(echo_pings=False)
    async with fake_llm_server(engine) as url:
        socket = RetellSocket(url, CALL, ping_interval=0.05)
        await socket.connect()
        await asyncio.sleep(0.2)
        sent = [m for m in engine.seen if m["interaction_type"] == "ping_pong"]
        for stamp in list(socket._pings):  # age them past Retell's limit
            socket._pings[stamp] -= 10
        await socket.close()
    assert sent and any("not echoed" in v for v in socket.violations)


async def test_an_emergency_ends_in_the_transfer_and_the_next_reply_is_the_protocol() -> None:
    engine = FakeEngine()
    async with fake_llm_server(engine) as url:
        record = await run_conversation(url, ConversationCase("t", "blowout", alarm_at=1), call_id="call_t4")
    assert record.ending == "transfer" and record.transfer_number == "+13125550100"
    assert record.emergency_next is True and record.alarm_reply == 2
    assert record.violations == []


async def test_end_call_with_a_transfer_is_caught() -> None:
    engine = FakeEngine(end_and_transfer=True)
    async with fake_llm_server(engine) as url:
        record = await run_conversation(url, ConversationCase("t", "blowout", alarm_at=0), call_id="call_t5")
    assert any("end_call and transfer_number together" in v for v in record.violations)


async def test_a_dropped_socket_reconnects_to_the_same_call_without_a_second_greeting() -> None:
    engine = FakeEngine()
    async with fake_llm_server(engine) as url:
        record = await run_conversation(
            url, ConversationCase("t", "on_time", variant="reconnect"), call_id="call_t6"
        )
    assert record.connections == 2 and record.greetings == 1
    assert record.ending == "end_call" and record.violations == []
    assert engine.close_codes[0] == 1006  # the server saw an abnormal close, as when signal drops
    assert sum(m["interaction_type"] == "call_details" for m in engine.seen) == 2


async def test_a_second_greeting_after_a_reconnect_is_caught() -> None:
    engine = FakeEngine(greet_on_reconnect=True)
    async with fake_llm_server(engine) as url:
        record = await run_conversation(
            url, ConversationCase("t", "on_time", variant="reconnect"), call_id="call_t7"
        )
        await asyncio.sleep(0.05)
    assert any("begin message sent again" in v for v in record.violations)


async def test_an_interruption_asks_again_while_the_response_streams() -> None:
    engine = FakeEngine(chunk_delay=0.2)
    async with fake_llm_server(engine) as url:
        record = await run_conversation(
            url, ConversationCase("t", "on_time", variant="interruption"), call_id="call_t8"
        )
    requests = [m for m in engine.seen if m["interaction_type"] == "response_required"]
    # Two requests back to back: the second sent before the first's content_complete came.
    ids = [m["response_id"] for m in requests]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    interrupted = requests[2]["transcript"][-3:]  # the driver cut in on its second answer
    assert [t["role"] for t in interrupted] == ["user", "agent", "user"]
    assert interrupted[1]["content"] == "Got it. "  # what the agent said before the driver cut in
    assert record.ending == "end_call" and record.violations == []


async def test_content_under_an_old_id_after_a_newer_reply_started_is_caught() -> None:
    engine = FakeEngine(chunk_delay=0.3, speak_after_cancel=True)
    async with fake_llm_server(engine) as url:
        record = await run_conversation(
            url, ConversationCase("t", "on_time", variant="interruption"), call_id="call_t9"
        )
    assert any("after response" in v for v in record.violations), record.violations


def test_requests_are_json_text_frames() -> None:
    # The driver never sends binary: a guard on how it encodes.
    assert json.loads(json.dumps({"interaction_type": "ping_pong", "timestamp": 1}))["timestamp"] == 1


async def test_after_an_internal_error_close_it_reconnects_and_asks_again_as_retell_does() -> None:
    engine = FakeEngine(fail_on_response=2)
    async with fake_llm_server(engine) as url:
        record = await run_conversation(url, ConversationCase("t", "on_time"), call_id="call_t10")
    assert engine.close_codes[0] == 1011
    assert record.error_reconnects == 1 and record.connections == 2 and record.greetings == 1
    assert record.ending == "end_call" and record.error is None
    asked = [m["response_id"] for m in engine.seen if m["interaction_type"] == "response_required"]
    assert asked.count(2) == 1 and asked[-1] > 2  # id 2 was lost with the socket; the next request goes on
