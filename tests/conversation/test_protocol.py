"""Retell's socket messages: inbound read leniently, outbound written strictly."""

import json

import pytest
from pydantic import ValidationError

from app.conversation.protocol import (
    AgentSettings,
    CallDetails,
    ConfigMessage,
    MalformedMessage,
    PingPong,
    ReminderRequired,
    ResponseMessage,
    ResponseRequired,
    UpdateAgentMessage,
    UpdateOnly,
    parse_inbound,
)


def test_each_inbound_type_is_read_and_unknown_fields_are_ignored() -> None:
    transcript = [
        {"role": "agent", "content": "Hi", "words": [{"word": "Hi", "start": 0.1, "end": 0.3}]},
        {"role": "user", "content": "(unintelligible audio)", "words": []},
    ]
    ping = parse_inbound('{"interaction_type": "ping_pong", "timestamp": 1733230000000, "later": 1}')
    assert isinstance(ping, PingPong) and ping.timestamp == 1733230000000
    update = parse_inbound(
        json.dumps({"interaction_type": "update_only", "transcript": transcript, "turntaking": "user_turn"})
    )
    assert isinstance(update, UpdateOnly) and update.transcript[1].content == "(unintelligible audio)"
    request = parse_inbound(
        json.dumps(
            {
                "interaction_type": "response_required",
                "response_id": 7,
                "transcript": transcript,
                "timestamp": 9,
            }
        )
    )
    assert isinstance(request, ResponseRequired) and request.response_id == 7
    reminder = parse_inbound('{"interaction_type": "reminder_required", "response_id": 8, "transcript": []}')
    assert isinstance(reminder, ReminderRequired)
    call = {
        "call_id": "call_1",
        "agent_id": "agent_1",
        "call_type": "phone_call",
        "from_number": "+14155550100",
        "metadata": {"call_id": "6f1c8e1e-8f3b-4a53-9d0c-5a7e2b9c1d20"},
        "retell_llm_dynamic_variables": {"driver_name": "Mike"},
        "something_new": {"a": 1},
    }
    details = parse_inbound(json.dumps({"interaction_type": "call_details", "call": call}))
    assert isinstance(details, CallDetails)
    assert details.call.agent_id == "agent_1" and details.raw_call == call


def test_unknown_interaction_types_and_unusable_messages_are_skipped_not_fatal() -> None:
    assert parse_inbound('{"interaction_type": "tool_call_result", "x": 1}') is None
    assert parse_inbound('{"no_type": true}') is None
    assert parse_inbound('{"interaction_type": "response_required", "response_id": "seven"}') is None
    assert parse_inbound('{"interaction_type": "ping_pong"}') is None


@pytest.mark.parametrize("frame", ["{nope", "[1]", '"text"', "12", ""])
def test_a_frame_that_is_not_a_json_object_is_malformed(frame: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_inbound(frame)


def test_outbound_messages_always_carry_their_type_and_no_null_fields() -> None:
    assert json.loads(ConfigMessage().to_json()) == {
        "response_type": "config",
        "config": {"auto_reconnect": True, "call_details": True},
    }
    assert json.loads(ResponseMessage(response_id=0, content="", content_complete=True).to_json()) == {
        "response_type": "response",
        "response_id": 0,
        "content": "",
        "content_complete": True,
    }
    update = UpdateAgentMessage(agent_config=AgentSettings(interruption_sensitivity=0.4))
    assert json.loads(update.to_json()) == {
        "response_type": "update_agent",
        "agent_config": {"interruption_sensitivity": 0.4},
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"content_complete": "true"},
        {"end_call": "true"},
        {"response_id": "3"},
        {"transfer_number": 13125550100},
        {"response_type": "agent_interrupt"},
        {"extra": 1},
    ],
)
def test_outbound_fields_of_the_wrong_type_are_refused_before_they_are_sent(
    fields: dict[str, object],
) -> None:
    with pytest.raises(ValidationError):
        ResponseMessage.model_validate(
            {"response_id": 3, "content": "x", "content_complete": False, **fields}
        )
