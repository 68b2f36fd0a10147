"""The audit log: each admin action with who, when, what and the changed fields; never rewritten."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.core.database import create_engine, create_session_maker, session_scope
from app.services import users
from tests.support import ADMIN_EMAIL, RETELL_BASE_URL, execute_sql
from tests.support.accounts import member
from tests.support.app import login


async def entries(client: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/audit", params={"limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first, for reading


async def test_user_actions_are_recorded_with_their_diffs(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    admin_id = (await client.get("/api/auth/me", headers=admin)).json()["id"]
    user_id, _ = await member(client, admin, "viewer")
    await client.patch(f"/api/users/{user_id}", json={"role": "dispatcher", "full_name": None}, headers=admin)
    await client.patch(f"/api/users/{user_id}", json={"is_active": False}, headers=admin)
    await client.patch(
        f"/api/users/{user_id}", json={"is_active": False}, headers=admin
    )  # no change: no entry
    created, promoted, deactivated = await entries(client, admin)
    assert created["action"] == "user.created" and created["target_id"] == user_id
    assert (created["actor_id"], created["actor_email"]) == (admin_id, ADMIN_EMAIL)
    assert created["changes"] == {
        "email": {"old": None, "new": "viewer-member@example.com"},
        "role": {"old": None, "new": "viewer"},
        "is_active": {"old": None, "new": True},
        "invited": {"old": None, "new": False},
    }
    assert "password" not in str(created) and "hash" not in str(created)
    assert promoted["action"] == "user.updated" and promoted["changes"] == {
        "role": {"old": "viewer", "new": "dispatcher"}
    }
    assert deactivated["changes"] == {"is_active": {"old": True, "new": False}}
    assert created["at"] <= promoted["at"] <= deactivated["at"]


async def test_config_actions_and_the_dialing_policy_are_recorded(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    admin_id = (await client.get("/api/auth/me", headers=admin)).json()["id"]
    created = await client.post(
        "/api/agent-config", json={"name": "Nights", "general_prompt": "Hello"}, headers=admin
    )
    config_id = created.json()["id"]
    assert (created.json()["created_by"], created.json()["updated_by"]) == (admin_id, admin_id)
    await client.patch(f"/api/agent-config/{config_id}", json={"voice_speed": 1.2}, headers=admin)
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_9"})
        router.post("/create-agent").respond(200, json={"agent_id": "agent_9"})
        assert (await client.post(f"/api/agent-config/{config_id}/sync", headers=admin)).status_code == 200
    await client.put("/api/dialing-policy", json={"allowed_regions": ["US"]}, headers=admin)
    assert (await client.delete(f"/api/agent-config/{config_id}", headers=admin)).status_code == 204

    made, edited, synced, policy, deleted = await entries(client, admin)
    assert made["action"] == "config.created" and made["changes"]["name"] == {"old": None, "new": "Nights"}
    assert edited["action"] == "config.updated" and edited["changes"] == {
        "voice_speed": {"old": 1.0, "new": 1.2}
    }
    assert synced["action"] == "config.synced" and synced["changes"] == {
        "retell_llm_id": {"old": None, "new": "llm_9"},
        "retell_agent_id": {"old": None, "new": "agent_9"},
    }
    assert policy["action"] == "dialing_policy.updated" and policy["changes"] == {
        "allowed_regions": {"old": ["US", "CA"], "new": ["US"]}
    }
    assert deleted["action"] == "config.deleted" and deleted["changes"]["name"] == {
        "old": "Nights",
        "new": None,
    }
    assert {entry["target_id"] for entry in (made, edited, synced, deleted)} == {config_id}


async def test_who_changed_a_configuration_shows_in_its_detail_and_filters_the_list(
    client: httpx.AsyncClient,
) -> None:
    admin = await login(client)
    other_id, other = await member(client, admin, "admin", "second-admin@example.com")
    first = (
        await client.post("/api/agent-config", json={"name": "A", "general_prompt": "x"}, headers=admin)
    ).json()
    await client.post("/api/agent-config", json={"name": "B", "general_prompt": "x"}, headers=admin)
    await client.patch(f"/api/agent-config/{first['id']}", json={"general_prompt": "y"}, headers=other)
    detail = (await client.get(f"/api/agent-config/{first['id']}", headers=admin)).json()
    assert detail["updated_by"] == other_id and detail["created_by"] == first["created_by"] != other_id
    by_other = (await client.get("/api/agent-config", params={"updated_by": other_id}, headers=admin)).json()
    assert [item["name"] for item in by_other["items"]] == ["A"]
    created = (
        await client.get("/api/agent-config", params={"created_by": first["created_by"]}, headers=admin)
    ).json()
    assert [item["name"] for item in created["items"]] == ["A", "B"]


async def test_the_log_is_paged_newest_first(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    for n in range(3):
        await member(client, admin, "viewer", f"p{n}@example.com")
    first = (await client.get("/api/audit", params={"limit": 2}, headers=admin)).json()
    rest = (
        await client.get("/api/audit", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin)
    ).json()
    emails = [e["changes"]["email"]["new"] for e in first["items"] + rest["items"]]
    assert emails == ["p2@example.com", "p1@example.com", "p0@example.com"] and rest["next_cursor"] is None
    assert (await client.get("/api/audit", params={"cursor": "x"}, headers=admin)).status_code == 400


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"])
async def test_the_database_refuses_to_rewrite_the_log(
    client: httpx.AsyncClient, clean_database: str, statement: str
) -> None:
    admin = await login(client)
    await member(client, admin, "viewer")
    with pytest.raises(DBAPIError, match="append-only"):
        await execute_sql(clean_database, statement)
    assert len(await entries(client, admin)) == 1


async def test_deleting_a_user_keeps_the_entries_that_name_them(
    client: httpx.AsyncClient, make_settings: Callable[..., Settings]
) -> None:
    admin = await login(client)
    second_id, second = await member(client, admin, "admin", "second-admin@example.com")
    await member(client, second, "viewer")
    engine = create_engine(make_settings())
    async with session_scope(create_session_maker(engine)) as session:
        await users.delete_user(session, user_id=uuid.UUID(second_id))
    await engine.dispose()
    by_second = [entry for entry in await entries(client, admin) if entry["actor_id"] == second_id]
    assert [(e["action"], e["actor_email"]) for e in by_second] == [
        ("user.created", "second-admin@example.com")
    ]
