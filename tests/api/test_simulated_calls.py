"""Offline mode over real HTTP: the simulated Retell posts signed webhooks to the running server."""

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.extraction.factory import build_extractor
from app.extraction.llm import LLMExtractor
from app.extraction.rules import RulesExtractor
from app.models.call import CallStatus
from app.models.call_lifecycle import STATUS_RANK
from app.retell.factory import build_retell_gateway
from app.retell.live import LiveRetell
from app.retell.personas import PERSONAS
from app.retell.simulated import SimulatedRetell
from tests.support import RETELL_BASE_URL, count_rows, execute_sql, wait_until_final
from tests.support.app import login, running_app

OFFLINE = {"retell_mode": None, "retell_api_key": None, "extractor": None, "openai_api_key": None}
# What every run of each persona must show on the dashboard, whatever the wording.
EXPECTED: dict[str, dict[str, Any]] = {
    "on_time": {"call_outcome": "In-Transit Update"},
    "traffic_delay": {"call_outcome": "In-Transit Update", "delay_reason": "Heavy Traffic"},
    "weather_delay": {"call_outcome": "In-Transit Update", "delay_reason": "Weather"},
    "unloading_pod": {"call_outcome": "Arrival Confirmation", "pod_reminder_acknowledged": True},
    "waiting_lumper": {"call_outcome": "Arrival Confirmation"},
    "blowout": {"call_outcome": "Emergency Escalation", "emergency_type": "Breakdown"},
    "accident_injury": {"call_outcome": "Emergency Escalation", "emergency_type": "Accident"},
    "medical": {"call_outcome": "Emergency Escalation", "emergency_type": "Medical"},
    "uncooperative": {"call_outcome": "In-Transit Update"},
    "noisy_line": {"call_outcome": "In-Transit Update"},
    "gps_conflict": {"call_outcome": "In-Transit Update"},
}


async def test_every_persona_plays_end_to_end_over_real_http(
    live_server: Callable[..., str], clean_database: str
) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.3)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await login(client)
        triggered = {}
        for persona in PERSONAS:
            response = await client.post(
                "/api/call/trigger",
                json={
                    "driver_name": "Maria Gonzalez",
                    "phone_number": "+13125550188",
                    "load_number": "L-2040",
                    "context": {"origin": "Phoenix, AZ", "destination": "Dallas, TX"},
                    "simulation": {"persona": persona},
                },
                headers=auth,
            )
            assert response.status_code == 201, response.text
            body = response.json()
            # With sub-second pacing the simulator's first webhook can beat the trigger's answer.
            assert STATUS_RANK[CallStatus(body["status"])] >= STATUS_RANK[CallStatus.REGISTERED]
            assert body["retell_call_id"].startswith("call_sim_")
            assert body["access_token"]
            triggered[persona] = body["id"]
        results = {persona: await wait_until_final(client, auth, cid) for persona, cid in triggered.items()}

    assert results["no_answer"]["status"] == "not_connected"
    assert results["no_answer"]["transcript"] is None
    for persona, expected in EXPECTED.items():
        detail = results[persona]
        assert detail["status"] == "completed", (persona, detail["status_detail"])
        assert "Maria" in detail["transcript"] and "L-2040" in detail["transcript"]
        assert detail["call_summary"]
        assert detail["started_at"] and detail["ended_at"] and detail["duration_ms"] is not None
        for field, value in expected.items():
            assert detail["result"][field] == value, (persona, field, detail["transcript"])
    # Every delivery went through the signed webhook route and was stored: 3 per connected call,
    # 1 for the unanswered one.
    assert await count_rows(clean_database, "webhook_events") == 3 * len(EXPECTED) + 1


async def test_reserved_phone_numbers_choose_the_persona(live_server: Callable[..., str]) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.2)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await login(client)
        ids = {}
        for number in ("(415) 555-0112", "+1 312 555 0106"):
            response = await client.post(
                "/api/call/trigger",
                json={
                    "driver_name": "Tom Becker",
                    "phone_number": number,
                    "load_number": "8812-E",
                    "call_type": "phone",
                },
                headers=auth,
            )
            assert response.status_code == 201, response.text
            ids[number] = response.json()["id"]
        no_answer = await wait_until_final(client, auth, ids["(415) 555-0112"])
        blowout = await wait_until_final(client, auth, ids["+1 312 555 0106"])
    assert no_answer["status"] == "not_connected"
    assert blowout["result"]["call_outcome"] == "Emergency Escalation"
    assert blowout["call_type"] == "phone"


async def test_forged_delivery_to_a_simulated_server_is_refused(live_server: Callable[..., str]) -> None:
    base_url = live_server(**OFFLINE)
    async with httpx.AsyncClient(base_url=base_url) as client:
        # Signed with a key that is not the simulator's per-process key.
        from tests.support import signed_delivery

        body, headers = signed_delivery({"event": "call_started", "call": {"call_id": "call_x"}}, key="guess")
        response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 401


def test_modes_follow_the_keys(make_settings: Callable[..., Settings]) -> None:
    offline = make_settings(**OFFLINE)
    assert isinstance(build_retell_gateway(offline), SimulatedRetell)
    assert isinstance(build_extractor(offline), RulesExtractor)
    online = make_settings(retell_mode=None, extractor=None)
    assert isinstance(build_retell_gateway(online), LiveRetell)
    assert isinstance(build_extractor(online), LLMExtractor)
    forced = make_settings(retell_mode="simulated", extractor="rules")
    assert isinstance(build_retell_gateway(forced), SimulatedRetell)
    assert isinstance(build_extractor(forced), RulesExtractor)
    assert build_extractor(make_settings(extractor="openai", openai_api_key=None)) is None


async def test_a_live_mode_trigger_never_touches_the_simulator(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    async with running_app(make_settings(retell_mode=None, simulated_call_seconds=0)) as client:
        auth = await login(client)
        with respx.mock(base_url=RETELL_BASE_URL) as router:
            router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_live"})
            router.post("/create-agent").respond(200, json={"agent_id": "agent_live"})
            web = router.post("/v3/create-web-call").respond(
                201, json={"call_id": "call_live", "access_token": "t"}
            )
            response = await client.post(
                "/api/call/trigger",
                json={
                    "driver_name": "Ana",
                    "phone_number": "+13125550106",  # a persona number: must not matter in live mode
                    "load_number": "L",
                    "simulation": {"persona": "blowout"},
                },
                headers=auth,
            )
            await asyncio.sleep(0.2)
        assert web.called
    assert response.json()["retell_call_id"] == "call_live"
    assert await count_rows(clean_database, "webhook_events") == 0
    assert await execute_sql(clean_database, "SELECT status FROM calls") == "registered"


@pytest.mark.parametrize("persona", ["on_time", "no_answer"])
async def test_simulated_sync_and_trigger_need_no_keys(
    make_settings: Callable[..., Settings], persona: str
) -> None:
    async with running_app(make_settings(**OFFLINE, simulated_call_seconds=60)) as client:
        auth = await login(client)
        response = await client.post(
            "/api/call/trigger",
            json={
                "driver_name": "Ana",
                "phone_number": "+13125550100",
                "load_number": "L",
                "simulation": {"persona": persona},
            },
            headers=auth,
        )
        assert response.status_code == 201
        config = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]
        assert config["retell_agent_id"].startswith("agent_sim_")


async def test_live_status_updates_stream_until_the_call_is_final(live_server: Callable[..., str]) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.3)
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        auth = await login(client)
        response = await client.post(
            "/api/call/trigger",
            json={"driver_name": "Ana", "phone_number": "+13125550102", "load_number": "L-9"},
            headers=auth,
        )
        call_id = response.json()["id"]
        events: list[tuple[str, dict[str, Any]]] = []
        try:
            async with asyncio.timeout(30):  # pings would keep an unended stream open for ever
                async with client.stream("GET", f"/api/call/{call_id}/events", headers=auth) as stream:
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    name = None
                    async for line in stream.aiter_lines():
                        if line.startswith("event: "):
                            name = line.removeprefix("event: ")
                        elif line.startswith("data: ") and name:
                            events.append((name, json.loads(line.removeprefix("data: "))))
        except TimeoutError:
            raise AssertionError(f"the call's stream sent no `end` within 30 s; got {events}") from None
        missing = await client.get(f"/api/call/{uuid.uuid4()}/events", headers=auth)
    assert missing.status_code == 404
    name, final = events[-1]
    assert name == "end" and final["id"] == call_id
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses[-1] == "completed"
    assert [STATUS_RANK[CallStatus(s)] for s in statuses] == sorted(
        STATUS_RANK[CallStatus(s)] for s in statuses
    )
    assert len(statuses) >= 2  # it saw the call move, not just its end state
    assert final["result"]["delay_reason"] == "Heavy Traffic"
    assert final["call_summary"]
    assert "transcript" not in final


def test_workers_of_one_deployment_share_the_simulated_signing_key(
    make_settings: Callable[..., Settings],
) -> None:
    # Each uvicorn worker builds its own gateway; a delivery signed by one must verify on another.
    first = build_retell_gateway(make_settings(**OFFLINE, secret_key="a" * 48))
    second = build_retell_gateway(make_settings(**OFFLINE, secret_key="a" * 48))
    other = build_retell_gateway(make_settings(**OFFLINE, secret_key="b" * 48))
    assert first.webhook_key == second.webhook_key != other.webhook_key
    assert first.webhook_key != "a" * 48  # derived, never the JWT key itself
    keyed = build_retell_gateway(make_settings(retell_mode="simulated", retell_api_key="key_live"))
    assert keyed.webhook_key == "key_live"
