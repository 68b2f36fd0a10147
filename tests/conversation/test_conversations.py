"""`make converse`'s checks on a fixed subset: reactive drivers talk to the real route and the real policy."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Call
from app.retell.conversation import ConversationCase, all_cases, judge, run_conversation
from tests.support import wait_until_final
from tests.support.app import login

SECRET = "converse-test-llm-websocket-secret-0123456789"
DISPATCHER = "+13125550100"
OFFLINE = {"retell_mode": "simulated", "retell_api_key": None, "extractor": "rules", "openai_api_key": None}
# One of each kind the harness runs; each must pass every check of its kind.
SUBSET = (
    "on_time/plain",
    "traffic_delay/all_at_once",
    "weather_delay/paraphrased",
    "unloading_pod/reordered",
    "waiting_lumper/interruption",
    "on_time/reconnect",
    "blowout/alarm_first_answer",
    "blowout/reconnect",
    "accident_injury/interruption",
    "medical/plain",
    "hard_negative/1/plain",
    "hard_negative/3/plain",
    "uncooperative/silent/1",
    "noisy_line/persistent/1",
    "noisy_line/emergency/1",
    "gps_conflict/stands_by/1",
    "gps_conflict/corrects/2",
    "gps_conflict/agrees/1",
)
CASES = {case.name: case for case in all_cases()}


async def engine_app(live_server: Callable[..., str]) -> tuple[str, str]:
    """A running app whose default configuration is a custom_llm one with a dispatcher; (base, ws) URLs."""
    base_url = live_server(**OFFLINE, llm_websocket_secret=SECRET, simulated_call_seconds=0.2)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        created = await client.post(
            "/api/agent-config",
            json={
                "name": "Engine check-in",
                "general_prompt": "You are Dispatch.",
                "response_engine": "custom_llm",
                "dispatcher_transfer_number": DISPATCHER,
                "is_default": True,
            },
            headers=await login(client),
        )
        assert created.status_code == 201, created.text
    return base_url, f"{base_url.replace('http', 'ws', 1)}/llm-websocket/{SECRET}"


async def live_result(database_url: str, retell_call_id: str) -> dict[str, Any] | None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with AsyncSession(engine) as session:
        call = (await session.exec(select(Call).where(col(Call.retell_call_id) == retell_call_id))).one()
    await engine.dispose()
    return call.live_result


@pytest.mark.parametrize("name", SUBSET)
async def test_a_conversation_through_the_route_meets_the_goals_of_its_kind(
    name: str, live_server: Callable[..., str], clean_database: str
) -> None:
    _, ws_url = await engine_app(live_server)
    call_id = f"call_test_{name.replace('/', '_')}"
    conversation = await run_conversation(ws_url, CASES[name], call_id=call_id)
    verdict = judge(conversation, await live_result(clean_database, call_id))
    failed = [check for check, ok in verdict.checks.items() if not ok]
    missing = {field: verdict.live.get(field) for field, ok in verdict.fields.items() if not ok}
    assert not failed and not missing, (failed, missing, conversation.transcript_text, conversation.problems)


async def test_an_emergency_is_met_in_the_very_next_response_at_every_point_of_the_check_in(
    live_server: Callable[..., str], clean_database: str
) -> None:
    _, ws_url = await engine_app(live_server)
    for alarm_at in (0, 1, 2, -1):
        case = ConversationCase(f"blowout/{alarm_at}", "blowout", alarm_at=alarm_at, seed=alarm_at)
        conversation = await run_conversation(ws_url, case, call_id=f"call_alarm_{alarm_at + 1}")
        assert conversation.emergency_next is True, conversation.transcript_text
        assert conversation.ending == "transfer" and conversation.transfer_number == DISPATCHER
        assert conversation.violations == []


async def test_simulated_retell_drives_a_custom_llm_call_through_the_route_then_posts_its_transcript(
    live_server: Callable[..., str], clean_database: str
) -> None:
    base_url, _ = await engine_app(live_server)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        auth = await login(client)
        triggered = await client.post(
            "/api/call/trigger",
            json={
                "driver_name": "Maria Gonzalez",
                "phone_number": "+13125550106",
                "load_number": "L-2040",
                "context": {"origin": "Phoenix, AZ", "destination": "Dallas, TX"},
                "simulation": {"persona": "blowout"},
            },
            headers=auth,
        )
        assert triggered.status_code == 201, triggered.text
        detail = await wait_until_final(client, auth, triggered.json()["id"])
    # The transcript the webhooks carried is the conversation the engine had: its own questions are in it.
    transcript = detail["transcript"] or ""
    assert "Hi Maria" in transcript and "I'm connecting you to a dispatcher now" in transcript
    assert detail["disconnection_reason"] == "call_transfer"
    assert detail["result"]["call_outcome"] == "Emergency Escalation"
    assert detail["live_result"]["call_outcome"] == "Emergency Escalation"
    assert detail["live_result"]["emergency_type"] == "Breakdown"
