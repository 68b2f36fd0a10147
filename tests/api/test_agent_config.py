"""Agent configurations: CRUD with validation, the seeded default, and sync to Retell."""

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
import respx

from app.config import Settings
from app.core.prompts import DEFAULT_AGENT_NAME
from tests.support import RETELL_API_KEY, RETELL_BASE_URL, execute_sql
from tests.support.app import login, running_app

NEW_CONFIG = {"name": "Night shift", "general_prompt": "You are Dispatch calling {{driver_name}}."}


async def create(client: httpx.AsyncClient, auth: dict[str, str], **fields: object) -> dict:
    response = await client.post("/api/agent-config", json={**NEW_CONFIG, **fields}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_default_configuration_is_seeded(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert [c["name"] for c in configs] == [DEFAULT_AGENT_NAME]
    seeded = configs[0]
    assert seeded["is_default"] is True
    prompt = seeded["general_prompt"]
    assert "{{driver_name}}" in prompt and "{{load_number}}" in prompt and "{{gps_location}}" in prompt
    assert "human dispatcher" in prompt and "blowout" in prompt and "proof of delivery" in prompt.lower()
    assert seeded["begin_message"].startswith(
        "Hi {{driver_name}}, this is Dispatch with a check call on load"
    )


async def test_seed_never_overwrites_later_edits(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    async with running_app(settings) as client:
        auth = await login(client)
        seeded = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]
        await client.patch(
            f"/api/agent-config/{seeded['id']}", json={"general_prompt": "edited"}, headers=auth
        )
    async with running_app(settings) as client:
        auth = await login(client)
        configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert [(c["name"], c["general_prompt"]) for c in configs] == [(DEFAULT_AGENT_NAME, "edited")]


async def test_seed_is_not_redone_when_the_seeded_configuration_was_renamed(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    async with running_app(settings) as client:
        auth = await login(client)
        seeded = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]
        await client.patch(f"/api/agent-config/{seeded['id']}", json={"name": "Our check-in"}, headers=auth)
    async with running_app(settings) as client:
        auth = await login(client)
        configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert [(c["id"], c["name"]) for c in configs] == [(seeded["id"], "Our check-in")]


async def test_create_fills_sensible_defaults(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = await create(client, auth)
    assert body["voice_id"]
    assert body["enable_backchannel"] is True
    assert 0 <= body["interruption_sensitivity"] <= 1
    assert body["natural_filler_words"] is True
    assert body["retell_agent_id"] is None and body["last_synced_at"] is None
    fetched = await client.get(f"/api/agent-config/{body['id']}", headers=auth)
    assert fetched.json() == body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backchannel_frequency", 1.5),
        ("interruption_sensitivity", -0.1),
        ("responsiveness", 2),
        ("voice_speed", 3),
        ("end_call_after_silence_ms", 500),
        ("max_call_duration_ms", 10),
        ("dispatcher_transfer_number", "not a number"),
        ("ambient_sound", "jungle"),
        ("name", ""),
    ],
)
async def test_out_of_range_values_get_422_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str], field: str, value: object
) -> None:
    response = await client.post("/api/agent-config", json={**NEW_CONFIG, field: value}, headers=auth)
    assert response.status_code == 422
    assert [item["field"] for item in response.json()["detail"]] == [field]


async def test_missing_prompt_gets_422(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post("/api/agent-config", json={"name": "x"}, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "general_prompt"


async def test_duplicate_name_gets_409(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await create(client, auth)
    response = await client.post("/api/agent-config", json=NEW_CONFIG, headers=auth)
    assert response.status_code == 409
    assert response.json()["error"] == "AgentConfigNameTaken"
    assert "Night shift" in response.json()["detail"]
    other = await create(client, auth, name="Day shift")
    renamed = await client.patch(
        f"/api/agent-config/{other['id']}", json={"name": "Night shift"}, headers=auth
    )
    assert renamed.status_code == 409
    assert renamed.json()["error"] == "AgentConfigNameTaken"
    assert renamed.json()["detail"] == "an agent configuration named 'Night shift' already exists"
    names = [c["name"] for c in (await client.get("/api/agent-config", headers=auth)).json()["items"]]
    assert names == ["Day shift", "Dispatch check-in", "Night shift"]  # listed by name


async def test_patch_changes_only_what_is_sent(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = await create(client, auth, voice_speed=1.2)
    response = await client.patch(
        f"/api/agent-config/{body['id']}",
        json={"interruption_sensitivity": 0.3, "dispatcher_transfer_number": "(312) 555-0199"},
        headers=auth,
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["interruption_sensitivity"] == 0.3
    assert updated["dispatcher_transfer_number"] == "+13125550199"
    assert updated["voice_speed"] == 1.2
    assert updated["general_prompt"] == NEW_CONFIG["general_prompt"]
    bad = await client.patch(f"/api/agent-config/{body['id']}", json={"responsiveness": 9}, headers=auth)
    assert bad.status_code == 422
    assert [item["field"] for item in bad.json()["detail"]] == ["responsiveness"]
    stored = (await client.get(f"/api/agent-config/{body['id']}", headers=auth)).json()
    assert stored == updated


@pytest.mark.parametrize("field", ["voice_id", "enable_backchannel", "backchannel_frequency", "name"])
async def test_patching_a_required_field_to_null_is_422(
    client: httpx.AsyncClient, auth: dict[str, str], field: str
) -> None:
    body = await create(client, auth)
    response = await client.patch(f"/api/agent-config/{body['id']}", json={field: None}, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field
    cleared = await client.patch(
        f"/api/agent-config/{body['id']}", json={"ambient_sound": None}, headers=auth
    )
    assert cleared.status_code == 200


async def test_only_one_configuration_is_default(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    new = await create(client, auth, is_default=True)
    configs = (await client.get("/api/agent-config", headers=auth)).json()["items"]
    assert [c["id"] for c in configs if c["is_default"]] == [new["id"]]


async def test_concurrent_creates_and_updates_leave_exactly_one_default(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    others = [await create(client, auth, name=f"Existing {n}") for n in range(3)]
    creates = [
        client.post(
            "/api/agent-config", json={**NEW_CONFIG, "name": f"Racer {n}", "is_default": True}, headers=auth
        )
        for n in range(10)
    ]
    updates = [
        client.patch(f"/api/agent-config/{other['id']}", json={"is_default": True}, headers=auth)
        for other in others
    ]
    responses = await asyncio.gather(*creates, *updates)
    assert [r.status_code for r in responses] == [201] * 10 + [200] * 3, [r.text for r in responses]
    configs = (await client.get("/api/agent-config", params={"limit": 100}, headers=auth)).json()["items"]
    assert len([c for c in configs if c["is_default"]]) == 1, [c["name"] for c in configs if c["is_default"]]


async def test_delete_then_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = await create(client, auth)
    assert (await client.delete(f"/api/agent-config/{body['id']}", headers=auth)).status_code == 204
    missing = await client.get(f"/api/agent-config/{body['id']}", headers=auth)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "AgentConfigNotFound",
        "detail": f"agent configuration {body['id']} does not exist",
    }
    assert (await client.delete(f"/api/agent-config/{body['id']}", headers=auth)).status_code == 404


async def test_malformed_id_gets_422(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/agent-config/not-a-uuid", headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
    assert [item["field"] for item in response.json()["detail"]] == ["path.config_id"]


def mock_retell(router: respx.MockRouter) -> dict[str, respx.Route]:
    return {
        "create_llm": router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1", "version": 0}),
        "update_llm": router.patch("/update-retell-llm/llm_1").respond(200, json={"llm_id": "llm_1"}),
        "create_agent": router.post("/create-agent").respond(
            200, json={"agent_id": "agent_1", "response_engine": {"type": "retell-llm", "llm_id": "llm_1"}}
        ),
        "update_agent": router.patch("/update-agent/agent_1").respond(200, json={"agent_id": "agent_1"}),
    }


async def test_first_sync_creates_llm_and_agent_then_resync_updates_them(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    config = await create(
        client,
        auth,
        dispatcher_transfer_number="+13125550199",
        voice_id="11labs-Myra",
        backchannel_frequency=0.6,
        backchannel_words=["yeah", "mm-hmm"],
        interruption_sensitivity=0.5,
        responsiveness=0.8,
        natural_filler_words=False,
        voice_speed=1.1,
        voice_temperature=0.7,
        ambient_sound="static-noise",
        end_call_after_silence_ms=20000,
        max_call_duration_ms=300000,
    )
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        routes = mock_retell(router)
        response = await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)
        assert response.status_code == 200, response.text
        synced = response.json()
        assert (synced["retell_llm_id"], synced["retell_agent_id"]) == ("llm_1", "agent_1")
        assert synced["last_synced_at"] is not None

        llm_request = routes["create_llm"].calls.last.request
        assert llm_request.headers["authorization"] == f"Bearer {RETELL_API_KEY}"
        first_llm = json.loads(llm_request.content)
        assert first_llm == {
            "general_prompt": NEW_CONFIG["general_prompt"],
            "begin_message": config["begin_message"],
            "general_tools": [
                {
                    "type": "end_call",
                    "name": "end_call",
                    "description": "End the call politely once the check-in is complete, "
                    "or the driver cannot talk.",
                },
                {
                    "type": "transfer_call",
                    "name": "transfer_to_dispatcher",
                    "description": "Transfer the driver to a human dispatcher during an emergency, "
                    "after asking about safety, injuries, location and the load.",
                    "transfer_destination": {"type": "predefined", "number": "+13125550199"},
                    "transfer_option": {"type": "cold_transfer"},
                },
            ],
        }
        first_agent = json.loads(routes["create_agent"].calls.last.request.content)
        assert first_agent == {
            "agent_name": "Night shift",
            "response_engine": {"type": "retell-llm", "llm_id": "llm_1"},
            "voice_id": "11labs-Myra",
            "voice_speed": 1.1,
            "voice_temperature": 0.7,
            "enable_backchannel": True,
            "backchannel_frequency": 0.6,
            "backchannel_words": ["yeah", "mm-hmm"],
            "interruption_sensitivity": 0.5,
            "responsiveness": 0.8,
            "handbook_config": {"natural_filler_words": False},
            "ambient_sound": "static-noise",
            "end_call_after_silence_ms": 20000,
            "max_call_duration_ms": 300000,
            "webhook_url": "https://dispatch.example.com/webhook/retell",
        }
        assert not routes["update_llm"].called and not routes["update_agent"].called

        await client.patch(
            f"/api/agent-config/{config['id']}",
            json={"general_prompt": "New prompt", "dispatcher_transfer_number": None, "voice_speed": 0.9},
            headers=auth,
        )
        resynced = await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)
        assert resynced.status_code == 200
        assert routes["create_llm"].call_count == 1 and routes["create_agent"].call_count == 1
        # Without a dispatcher number the transfer tool is gone; everything else is sent again in full.
        assert json.loads(routes["update_llm"].calls.last.request.content) == {
            "general_prompt": "New prompt",
            "begin_message": config["begin_message"],
            "general_tools": [first_llm["general_tools"][0]],
        }
        assert json.loads(routes["update_agent"].calls.last.request.content) == {
            **first_agent,
            "voice_speed": 0.9,
        }


async def test_retell_error_becomes_502_with_its_message(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    config = await create(client, auth)
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/create-retell-llm").respond(400, json={"error_message": "voice_id is not valid"})
        response = await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)
    assert response.status_code == 502
    assert response.json() == {"error": "UpstreamError", "detail": "Retell: voice_id is not valid"}
    after = (await client.get(f"/api/agent-config/{config['id']}", headers=auth)).json()
    assert after["retell_llm_id"] is None and after["last_synced_at"] is None


async def test_retell_unreachable_is_retried_then_becomes_502(make_settings: Callable[..., Settings]) -> None:
    # One retry (RETELL_MAX_RETRIES) keeps the SDK's backoff sleep short while proving retries happen.
    async with running_app(make_settings(retell_max_retries=1)) as client:
        auth = await login(client)
        config = await create(client, auth)
        with respx.mock(base_url=RETELL_BASE_URL) as router:
            route = router.post("/create-retell-llm").mock(side_effect=httpx.ConnectError("refused"))
            response = await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)
    assert response.status_code == 502
    assert response.json() == {"error": "UpstreamError", "detail": "Retell: Connection error."}
    assert route.call_count == 2


async def test_sync_without_retell_key_is_409(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(retell_mode="live", retell_api_key=None)) as client:
        auth = await login(client)
        config = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]
        response = await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)
    assert response.status_code == 409
    assert response.json() == {
        "error": "Conflict",
        "detail": "RETELL_API_KEY is not set: Retell is not configured (or set RETELL_MODE=simulated)",
    }
    assert (config["retell_agent_id"], config["last_synced_at"]) == (None, None)


async def test_sync_in_simulated_mode_records_simulated_ids(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(retell_mode="simulated", retell_api_key=None)) as client:
        auth = await login(client)
        config = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]
        first = (await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)).json()
        second = (await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)).json()
    assert first["retell_agent_id"].startswith("agent_sim_")
    assert first["retell_llm_id"].startswith("llm_sim_")
    assert second["retell_agent_id"] == first["retell_agent_id"]


async def trigger_without_config(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
        router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
        router.post("/v3/create-web-call").respond(201, json={"call_id": "call_1", "access_token": "t"})
        response = await client.post(
            "/api/call/trigger",
            json={"driver_name": "Ana", "phone_number": "+13125550111", "load_number": "L-1"},
            headers=auth,
        )
    assert response.status_code == 201, response.text
    return str(response.json()["agent_config_id"])


async def test_a_call_without_a_configuration_uses_the_one_marked_default(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    newer = await create(client, auth)
    await client.patch(f"/api/agent-config/{newer['id']}", json={"is_default": True}, headers=auth)
    assert await trigger_without_config(client, auth) == newer["id"]


async def test_with_no_default_marked_a_call_uses_the_oldest_configuration(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    await execute_sql(clean_database, "DELETE FROM agent_configurations")
    made = [await create(client, auth, name=name) for name in ("A shift", "B shift", "C shift")]
    # Stored in the middle but created first (a restored backup, say): age decides, not storage or name
    # order, whichever way a database happens to scan.
    await execute_sql(
        clean_database,
        "UPDATE agent_configurations SET created_at = '2020-01-01 00:00:00' WHERE name = 'B shift'",
    )
    assert [config["is_default"] for config in made] == [False, False, False]
    assert await trigger_without_config(client, auth) == made[1]["id"]


async def test_a_call_when_no_configuration_exists_is_404_saying_to_create_one(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    await execute_sql(clean_database, "DELETE FROM agent_configurations")
    response = await client.post(
        "/api/call/trigger",
        json={"driver_name": "Ana", "phone_number": "+13125550111", "load_number": "L-1"},
        headers=auth,
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": "AgentConfigNotFound",
        "detail": "no agent configuration exists: create one first",
    }


async def test_the_response_engine_defaults_to_retells_llm_and_can_be_switched(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    config = await create(client, auth)
    assert config["response_engine"] == "retell_llm"
    patched = await client.patch(
        f"/api/agent-config/{config['id']}", json={"response_engine": "custom_llm"}, headers=auth
    )
    assert patched.json()["response_engine"] == "custom_llm"
    for bad in ("gpt", None):
        refused = await client.patch(
            f"/api/agent-config/{config['id']}", json={"response_engine": bad}, headers=auth
        )
        assert refused.status_code == 422
    created = await create(client, auth, name="Engine", response_engine="custom_llm")
    assert created["response_engine"] == "custom_llm"


async def test_syncing_a_custom_llm_config_points_retell_at_the_engines_websocket(
    client: httpx.AsyncClient, auth: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    config = await create(client, auth, response_engine="custom_llm")
    secret = make_settings().llm_websocket_secret
    with respx.mock(base_url=RETELL_BASE_URL, assert_all_called=False) as router:
        routes = mock_retell(router)
        response = await client.post(f"/api/agent-config/{config['id']}/sync", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["retell_agent_id"] == "agent_1" and response.json()["retell_llm_id"] is None
    assert not routes["create_llm"].called  # the prompt runs here, not in a Retell LLM
    sent = json.loads(routes["create_agent"].calls.last.request.content)
    assert sent["response_engine"] == {
        "type": "custom-llm",
        "llm_websocket_url": f"wss://dispatch.example.com/llm-websocket/{secret}",
    }


async def test_without_a_websocket_secret_a_custom_llm_config_is_refused_and_the_app_will_not_start(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    settings.llm_websocket_secret = None  # as in production with LLM_WEBSOCKET_SECRET unset
    async with running_app(settings) as client:
        auth = await login(client)
        refused = await client.post(
            "/api/agent-config", json={**NEW_CONFIG, "response_engine": "custom_llm"}, headers=auth
        )
        assert refused.status_code == 409
        assert refused.json()["error"] == "EngineNotConfigured"
        assert "LLM_WEBSOCKET_SECRET" in refused.json()["detail"]
        config = await create(client, auth)
        patched = await client.patch(
            f"/api/agent-config/{config['id']}", json={"response_engine": "custom_llm"}, headers=auth
        )
        assert patched.status_code == 409
    async with running_app(make_settings()) as client:  # with a secret: allowed
        await create(client, await login(client), name="Engine", response_engine="custom_llm")
    with pytest.raises(RuntimeError, match="LLM_WEBSOCKET_SECRET"):
        async with running_app(settings):
            pass


async def test_paging_through_configurations_shows_each_once_in_the_lists_order(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for name in ("Night|shift", "Day shift", "Ärger desk", "weekend", "Day shift 2"):
        await create(client, auth, name=name)
    everything = (await client.get("/api/agent-config", params={"limit": 100}, headers=auth)).json()
    assert everything["next_cursor"] is None
    paged: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/agent-config", params=params, headers=auth)).json()
        paged += [config["name"] for config in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == [config["name"] for config in everything["items"]]
    assert sorted(paged) == sorted(
        ["Night|shift", "Day shift", "Ärger desk", "weekend", "Day shift 2", DEFAULT_AGENT_NAME]
    )
