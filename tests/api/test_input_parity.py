"""Inputs behave the same on SQLite and PostgreSQL: NUL characters refused, one reprocess per claim."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.support import ADMIN_EMAIL, count_rows, execute_sql
from tests.support.app import login, running_app

TRIGGER = {"driver_name": "Mike Johnson", "phone_number": "+13125550102", "load_number": "7891-B"}


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("driver_name", {**TRIGGER, "driver_name": "Mike\x00Johnson"}),
        ("load_number", {**TRIGGER, "load_number": "7891\x00B"}),
        ("context", {**TRIGGER, "context": {"origin": "Phoenix\x00, AZ"}}),
    ],
)
async def test_a_nul_character_in_a_trigger_is_a_422_and_nothing_is_stored(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, field: str, body: dict[str, Any]
) -> None:
    response = await client.post("/api/call/trigger", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
    assert [item["field"] for item in response.json()["detail"]] == [field]
    assert "NUL" in response.json()["detail"][0]["message"]
    assert await count_rows(clean_database, "calls") == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Night\x00shift", "general_prompt": "Check in."},
        {"name": "Night shift", "general_prompt": "Check\x00 in."},
        {"name": "Night shift", "general_prompt": "Check in.", "begin_message": "Hi\x00"},
        {"name": "Night shift", "general_prompt": "Check in.", "backchannel_words": ["ok", "y\x00"]},
    ],
)
async def test_a_nul_character_in_an_agent_config_is_a_422(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]
) -> None:
    created = await client.post("/api/agent-config", json=body, headers=auth)
    assert created.status_code == 422
    assert "NUL" in created.json()["detail"][0]["message"]
    names = [
        config["name"] for config in (await client.get("/api/agent-config", headers=auth)).json()["items"]
    ]
    assert "Night\x00shift" not in names and "Night shift" not in names


async def test_a_nul_character_in_an_agent_config_update_is_a_422(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    config = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]
    for body in ({"name": "x\x00"}, {"general_prompt": "\x00"}, {"voice_id": "a\x00b"}):
        response = await client.patch(f"/api/agent-config/{config['id']}", json=body, headers=auth)
        assert response.status_code == 422, body
    after = (await client.get(f"/api/agent-config/{config['id']}", headers=auth)).json()
    assert after == config


@pytest.mark.parametrize("parameter", ["driver", "load_number", "call_outcome", "cursor"])
async def test_a_nul_character_in_a_search_is_a_422_not_a_match_for_everything(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, parameter: str
) -> None:
    await execute_sql(
        clean_database,
        "INSERT INTO calls (id, status, call_type, driver_name, load_number, context, extraction_attempts,"
        " created_at, updated_at) VALUES ('0f5b3c6e9a1d4e2f8a7b6c5d4e3f2a1b', 'completed', 'web',"
        " 'Mike Johnson', '7891-B', '{}', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    response = await client.get("/api/call", params={parameter: "\x00"}, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == f"query.{parameter}"


async def test_a_nul_character_in_the_login_email_is_a_422_on_both_databases(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/auth/token", data={"username": f"{ADMIN_EMAIL}\x00", "password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "username"


async def test_ten_concurrent_reprocess_requests_get_exactly_one_202(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    # No extractor: the claimed call then stays `ended`, so however the requests interleave, only the
    # one that moved it there may answer 202.
    settings = make_settings(openai_api_key=None, extractor="openai")
    async with running_app(settings) as client:
        auth = await login(client)
        await execute_sql(
            clean_database,
            "INSERT INTO calls (id, status, call_type, driver_name, load_number, context, transcript,"
            " extraction_attempts, created_at, updated_at) VALUES ('0f5b3c6e9a1d4e2f8a7b6c5d4e3f2a1b',"
            " 'completed', 'web', 'Mike Johnson', '7891-B', '{}', 'User: on I-80', 1, CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP)",
        )
        call_id = "0f5b3c6e-9a1d-4e2f-8a7b-6c5d4e3f2a1b"
        responses = await asyncio.gather(
            *(client.post(f"/api/call/{call_id}/reprocess", headers=auth) for _ in range(10))
        )
        codes = sorted(response.status_code for response in responses)
        assert codes == [202] + [409] * 9
        assert {r.json()["error"] for r in responses if r.status_code == 409} == {"ExtractionRunning"}
        # Asked again later, while the claimed extraction is still pending: still a 409.
        again = await client.post(f"/api/call/{call_id}/reprocess", headers=auth)
        assert again.status_code == 409
