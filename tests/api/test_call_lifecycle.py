"""The core flow for each shared fixture: trigger -> signed webhooks -> extraction -> GET the result."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tests.support import (
    OPENAI_BASE_URL,
    RETELL_BASE_URL,
    TRANSCRIPT_FIXTURES,
    expected_result,
    load_transcript_fixture,
    openai_tool_response,
    retell_event,
    signed_delivery,
)


def mock_retell_for_calls(router: respx.MockRouter, retell_call_id: str) -> dict[str, respx.Route]:
    return {
        "create_llm": router.post(f"{RETELL_BASE_URL}/create-retell-llm").respond(
            200, json={"llm_id": "llm_9"}
        ),
        "create_agent": router.post(f"{RETELL_BASE_URL}/create-agent").respond(
            200, json={"agent_id": "agent_9"}
        ),
        "web": router.post(f"{RETELL_BASE_URL}/v3/create-web-call").respond(
            201,
            json={
                "call_id": retell_call_id,
                "access_token": "web-token-123",
                "expires_at": 0,
                "ice_servers": [],
                "transport": "gateway",
            },
        ),
        "phone": router.post(f"{RETELL_BASE_URL}/v2/create-phone-call").respond(
            201, json={"call_id": retell_call_id, "call_type": "phone_call", "agent_id": "agent_9"}
        ),
    }


async def post_event(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    body, headers = signed_delivery(payload)
    return await client.post("/webhook/retell", content=body, headers=headers)


@pytest.mark.parametrize("fixture_path", TRANSCRIPT_FIXTURES, ids=lambda p: Path(p).stem)
async def test_fixture_call_goes_from_trigger_to_completed(
    client: httpx.AsyncClient, auth: dict[str, str], fixture_path: Path
) -> None:
    fixture = load_transcript_fixture(fixture_path)
    variables = fixture["retell_llm_dynamic_variables"]
    retell_call_id = f"call_{fixture['name']}"
    with respx.mock(assert_all_called=False) as router:
        retell = mock_retell_for_calls(router, retell_call_id)
        llm = router.post(f"{OPENAI_BASE_URL}/chat/completions").respond(
            200, json=openai_tool_response({"result": fixture["expected"]})
        )

        triggered = await client.post(
            "/api/call/trigger",
            json={
                "driver_name": variables["driver_name"],
                "phone_number": "(619) 555-0188",
                "load_number": variables["load_number"],
                "context": {"destination": "El Paso, TX"},
            },
            headers=auth,
        )
        assert triggered.status_code == 201, triggered.text
        call = triggered.json()
        assert call["status"] == "registered"
        assert call["retell_call_id"] == retell_call_id
        assert call["access_token"] == "web-token-123"
        sent = json.loads(retell["web"].calls.last.request.content)
        assert sent["agent_id"] == "agent_9"
        assert sent["metadata"] == {"call_id": call["id"]}
        assert sent["retell_llm_dynamic_variables"]["driver_name"] == variables["driver_name"]
        assert sent["retell_llm_dynamic_variables"]["load_number"] == variables["load_number"]
        assert sent["retell_llm_dynamic_variables"]["destination"] == "El Paso, TX"

        started = await post_event(
            client, retell_event("call_started", retell_call_id=retell_call_id, our_call_id=call["id"])
        )
        assert started.status_code == 204
        ongoing = (await client.get(f"/api/call/{call['id']}", headers=auth)).json()
        assert ongoing["status"] == "ongoing"

        for event in ("call_ended", "call_analyzed"):
            delivery = retell_event(
                event, retell_call_id=retell_call_id, our_call_id=call["id"], transcript_fixture=fixture
            )
            assert (await post_event(client, delivery)).status_code == 204

        assert llm.call_count == 1
        request = json.loads(llm.calls.last.request.content)
        assert request["model"] == "gpt-4o-mini"
        assert fixture["transcript"].strip() in request["messages"][-1]["content"]
        assert "Emergency Escalation" in request["messages"][0]["content"]
        schema = json.dumps(request["tools"])
        for field in expected_result(fixture):
            assert field in schema

    detail = (await client.get(f"/api/call/{call['id']}", headers=auth)).json()
    assert detail["status"] == "completed"
    expected_scenario = (
        "emergency" if fixture["expected"]["call_outcome"] == "Emergency Escalation" else "check_in"
    )
    assert detail["result"] == {"scenario": expected_scenario, **expected_result(fixture)}
    assert detail["call_outcome"] == fixture["expected"]["call_outcome"]
    assert detail["transcript"] == fixture["transcript"]
    assert [turn["content"] for turn in detail["transcript_turns"]] == [
        turn["content"] for turn in fixture["transcript_object"]
    ]
    assert detail["disconnection_reason"] == fixture["disconnection_reason"]
    assert detail["call_summary"]
    assert detail["recording_url"].endswith("recording.wav")
    assert detail["duration_ms"] == 121333
    assert detail["started_at"] and detail["ended_at"]
    assert detail["phone_number"] == "+16195550188"
