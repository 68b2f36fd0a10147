"""The promises a reviewer broke on purpose and the suite missed: each test here fails when one breaks.

docs/TESTING.md lists which fault each test was seen to kill.
"""

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import respx

from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OPENAI_BASE_URL,
    RETELL_BASE_URL,
    count_rows,
    execute_sql,
    openai_tool_response,
    retell_event,
    sign,
    signed_delivery,
)
from tests.support.fixtures import RETELL_DIR
from tests.support.webhooks import FIXTURE

# Every event Retell sends that the shared fixtures hold, plus one the backend only stores.
RETELL_EVENTS = [*sorted(p.stem for p in RETELL_DIR.glob("*.json")), "transcript_updated"]


@pytest.fixture
def llm() -> Any:
    with respx.mock(assert_all_called=False) as router:
        yield router.post(f"{OPENAI_BASE_URL}/chat/completions").respond(
            200, json=openai_tool_response({"result": FIXTURE["expected"]})
        )


async def trigger(client: httpx.AsyncClient, auth: dict[str, str], retell_call_id: str = "call_abc") -> str:
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
        router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
        router.post("/v3/create-web-call").respond(201, json={"call_id": retell_call_id, "access_token": "t"})
        response = await client.post(
            "/api/call/trigger",
            json={"driver_name": "Mike Johnson", "phone_number": "+16195550188", "load_number": "7891-B"},
            headers=auth,
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def delivery(event: str, call_id: str | None, **overrides: Any) -> dict[str, Any]:
    fixture_event = event if (RETELL_DIR / f"{event}.json").exists() else "call_ended"
    payload = retell_event(
        fixture_event, retell_call_id="call_abc", our_call_id=call_id, transcript_fixture=FIXTURE, **overrides
    )
    payload["event"] = event
    return payload


async def deliver(client: httpx.AsyncClient, event: str, call_id: str | None, **overrides: Any) -> None:
    body, headers = signed_delivery(delivery(event, call_id, **overrides))
    response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 204, response.text


async def detail_of(client: httpx.AsyncClient, auth: dict[str, str], call_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/call/{call_id}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _refusals(body: str) -> dict[str, dict[str, str]]:
    six_minutes_ago = int(time.time() * 1000) - 6 * 60 * 1000
    return {
        "unsigned": {},
        "forged": {"x-retell-signature": sign(body, "someone-elses-key")},
        "stale": {"x-retell-signature": sign(body, timestamp_ms=six_minutes_ago)},
        "tampered": {"x-retell-signature": sign(body.replace("Mike Johnson", "Mallory"))},
    }


# --- Webhook signature: refused for every event type, before anything is stored ----------------------


@pytest.mark.parametrize("refusal", ["unsigned", "forged", "stale", "tampered"])
@pytest.mark.parametrize("event", RETELL_EVENTS)
async def test_forged_delivery_of_every_event_type_is_refused_and_stores_nothing(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    clean_database: str,
    llm: respx.Route,
    event: str,
    refusal: str,
) -> None:
    call_id = await trigger(client, auth)
    body = json.dumps(delivery(event, call_id, call_analysis={"call_summary": "forged summary"}))
    headers = {"content-type": "application/json", **_refusals(body)[refusal]}
    response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidSignature"
    assert await count_rows(clean_database, "webhook_events") == 0
    assert await count_rows(clean_database, "calls") == 1
    detail = await detail_of(client, auth, call_id)
    assert (detail["status"], detail["transcript"], detail["call_summary"]) == ("registered", None, None)
    assert llm.call_count == 0


@pytest.mark.parametrize("event", RETELL_EVENTS)
async def test_forged_delivery_for_a_call_we_never_placed_creates_nothing(
    client: httpx.AsyncClient, clean_database: str, event: str
) -> None:
    body = json.dumps(delivery(event, None))
    response = await client.post(
        "/webhook/retell", content=body, headers={"x-retell-signature": sign(body, "someone-elses-key")}
    )
    assert response.status_code == 401
    assert await count_rows(clean_database, "calls") == 0
    assert await count_rows(clean_database, "webhook_events") == 0


# --- Webhook ingest ---------------------------------------------------------------------------------


async def test_a_replayed_delivery_changes_nothing_even_when_its_body_differs(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    await deliver(client, "call_ended", call_id, recording_url="https://r.example/first.wav")
    first = await detail_of(client, auth, call_id)
    await deliver(
        client,
        "call_ended",
        call_id,
        recording_url="https://r.example/second.wav",
        transcript="Agent: Hi\nUser: Something else entirely.\n",
        disconnection_reason="dial_no_answer",
    )
    assert await count_rows(clean_database, "webhook_events") == 1
    assert await detail_of(client, auth, call_id) == first
    assert first["recording_url"] == "https://r.example/first.wav"
    assert llm.call_count == 1


async def test_a_call_whose_extraction_failed_is_not_revived_by_a_later_delivery(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    call_id = await trigger(client, auth)
    with respx.mock() as router:
        route = router.post(f"{OPENAI_BASE_URL}/chat/completions").respond(
            503, json={"error": {"message": "down"}}
        )
        await deliver(client, "call_ended", call_id)
        failed = await detail_of(client, auth, call_id)
        assert failed["status"] == "failed"
        assert failed["status_detail"].startswith("openai extraction failed after 3 attempt(s)")
        # Retell's analysis and a late start arrive after the extraction gave up: nothing moves.
        await deliver(client, "call_analyzed", call_id)
        await deliver(client, "call_started", call_id)
        assert route.call_count == 3
    after = await detail_of(client, auth, call_id)
    assert (after["status"], after["status_detail"]) == ("failed", failed["status_detail"])
    assert after["call_summary"] == load_json_summary()
    assert await count_rows(clean_database, "webhook_events") == 3


def load_json_summary() -> str:
    return str(
        json.loads((RETELL_DIR / "call_analyzed.json").read_text())["call"]["call_analysis"]["call_summary"]
    )


# --- Calls: list and detail -------------------------------------------------------------------------


async def test_calls_sharing_a_creation_time_are_each_listed_once_across_pages(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    ids = [await trigger(client, auth, retell_call_id=f"call_{n}") for n in range(5)]
    # Calls created in the same instant (a burst of triggers, or a coarse clock): only the id orders them.
    await execute_sql(clean_database, "UPDATE calls SET created_at = (SELECT MIN(created_at) FROM calls)")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/call", params=params, headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


async def test_a_call_being_reprocessed_shows_no_result_until_it_completes_again(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    call_id = await trigger(client, auth)
    answer = httpx.Response(200, json=openai_tool_response({"result": FIXTURE["expected"]}))
    llm_called, release = asyncio.Event(), asyncio.Event()

    async def slow_llm(request: httpx.Request) -> httpx.Response:
        llm_called.set()
        await release.wait()
        return answer

    with respx.mock() as router:
        route = router.post(f"{OPENAI_BASE_URL}/chat/completions")
        route.return_value = answer
        await deliver(client, "call_ended", call_id)
        completed = await detail_of(client, auth, call_id)
        assert completed["result"]["call_outcome"] == "In-Transit Update"
        route.side_effect = slow_llm
        reprocess = asyncio.create_task(client.post(f"/api/call/{call_id}/reprocess", headers=auth))
        await asyncio.wait_for(llm_called.wait(), timeout=10)
        during = await detail_of(client, auth, call_id)
        release.set()
        assert (await reprocess).status_code == 202
    assert (during["status"], during["call_outcome"], during["result"]) == ("processing", None, None)
    assert (await detail_of(client, auth, call_id))["result"] == completed["result"]


# --- Auth: an inactive user is locked out --------------------------------------------------------------


async def test_an_inactive_users_existing_token_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    assert (await client.get("/api/auth/me", headers=auth)).status_code == 200
    await execute_sql(clean_database, "UPDATE users SET is_active = false")
    response = await client.get("/api/auth/me", headers=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert (await client.get("/api/call", headers=auth)).status_code == 401


async def test_an_inactive_user_cannot_log_in(client: httpx.AsyncClient, clean_database: str) -> None:
    await execute_sql(clean_database, "UPDATE users SET is_active = false")
    response = await client.post(
        "/api/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert "access_token" not in response.json()


# --- Agent configurations --------------------------------------------------------------------------------

NEW_CONFIG = {"name": "Night shift", "general_prompt": "You are Dispatch calling {{driver_name}}."}


async def synced_config(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    config = (await client.post("/api/agent-config", json=NEW_CONFIG, headers=auth)).json()
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
        router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
        assert (await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)).status_code == 200
    return str(config["id"])


@pytest.mark.parametrize("deleted", ["agent", "llm"])
async def test_resync_recreates_what_was_deleted_on_retells_side(
    client: httpx.AsyncClient, auth: dict[str, str], deleted: str
) -> None:
    config_id = await synced_config(client, auth)
    gone = httpx.Response(404, json={"error_message": "not found"})
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        if deleted == "llm":
            update_llm = router.patch("/update-retell-llm/llm_1").mock(return_value=gone)
        else:
            update_llm = router.patch("/update-retell-llm/llm_1").respond(200, json={"llm_id": "llm_1"})
        create_llm = router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_2"})
        if deleted == "agent":
            router.patch("/update-agent/agent_1").mock(return_value=gone)
        else:
            router.patch("/update-agent/agent_1").respond(200, json={"agent_id": "agent_1"})
        create_agent = router.post("/create-agent").respond(200, json={"agent_id": "agent_2"})
        response = await client.post(f"/api/agent-config/{config_id}/sync", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert update_llm.call_count == 1
    if deleted == "llm":
        assert (create_llm.call_count, create_agent.call_count) == (1, 0)
        assert (body["retell_llm_id"], body["retell_agent_id"]) == ("llm_2", "agent_1")
    else:
        assert (create_llm.call_count, create_agent.call_count) == (0, 1)
        assert (body["retell_llm_id"], body["retell_agent_id"]) == ("llm_1", "agent_2")
        sent = json.loads(create_agent.calls.last.request.content)
        assert sent["response_engine"] == {"type": "retell-llm", "llm_id": "llm_1"}
    stored = (await client.get(f"/api/agent-config/{config_id}", headers=auth)).json()
    assert (stored["retell_llm_id"], stored["retell_agent_id"]) == (
        body["retell_llm_id"],
        body["retell_agent_id"],
    )


async def test_making_a_configuration_default_by_patch_clears_the_old_default(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    [seeded] = [c for c in configs if c["is_default"]]
    new = (await client.post("/api/agent-config", json=NEW_CONFIG, headers=auth)).json()
    assert new["is_default"] is False
    response = await client.patch(f"/api/agent-config/{new['id']}", json={"is_default": True}, headers=auth)
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert {c["id"]: c["is_default"] for c in configs} == {seeded["id"]: False, new["id"]: True}


async def test_marking_the_default_configuration_default_again_keeps_it_default(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    [seeded] = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    response = await client.patch(
        f"/api/agent-config/{seeded['id']}", json={"is_default": True}, headers=auth
    )
    assert response.status_code == 200
    [after] = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert after["is_default"] is True
