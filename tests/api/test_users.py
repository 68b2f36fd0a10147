"""Team accounts through the API: invitations, the last admin, the password policy, password changes."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest

from app.models.base import utcnow
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, execute_sql
from tests.support.accounts import MEMBER_PASSWORD, login_as, member
from tests.support.app import login

NEW_PASSWORD = "quartz-meadow-lantern-77"


async def test_an_invited_user_sets_a_password_once_and_logs_in(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    invited = await client.post(
        "/api/users",
        json={"email": "Dana@Example.com", "role": "dispatcher", "full_name": "Dana"},
        headers=admin,
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["email"] == "dana@example.com" and body["role"] == "dispatcher" and body["is_active"]
    token = body["set_password_token"]
    assert len(token) >= 40 and body["set_password_expires_at"] is not None
    # Before the token is used nobody can log in, whatever they guess.
    refused = await client.post("/api/auth/token", data={"username": "dana@example.com", "password": token})
    assert refused.status_code == 401

    weak = await client.post("/api/auth/set-password", json={"token": token, "new_password": "password1234"})
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["field"] == "new_password"

    done = await client.post("/api/auth/set-password", json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"})
    assert me.json()["email"] == "dana@example.com" and me.json()["role"] == "dispatcher"
    await login_as(client, "dana@example.com", NEW_PASSWORD)

    again = await client.post(
        "/api/auth/set-password", json={"token": token, "new_password": "another-" + NEW_PASSWORD}
    )
    assert again.status_code == 400 and again.json()["error"] == "InvalidSetPasswordToken"
    await login_as(client, "dana@example.com", NEW_PASSWORD)  # the second use changed nothing


async def test_an_expired_invitation_is_refused(client: httpx.AsyncClient, clean_database: str) -> None:
    admin = await login(client)
    token = (
        await client.post("/api/users", json={"email": "late@example.com", "role": "viewer"}, headers=admin)
    ).json()["set_password_token"]
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    await execute_sql(
        clean_database,
        f"UPDATE users SET password_token_expires_at = '{past}' WHERE email = 'late@example.com'",
    )
    response = await client.post(
        "/api/auth/set-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400 and response.json()["error"] == "InvalidSetPasswordToken"


async def test_an_invitation_of_a_deactivated_user_is_refused(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    created = (
        await client.post("/api/users", json={"email": "x@example.com", "role": "viewer"}, headers=admin)
    ).json()
    await client.patch(f"/api/users/{created['id']}", json={"is_active": False}, headers=admin)
    response = await client.post(
        "/api/auth/set-password", json={"token": created["set_password_token"], "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pw-1", "at least 12 characters"),
        ("qwerty123456", "most common passwords"),  # in the published list, 12 characters long
        ("1q2w3e4r5t6y", "most common passwords"),
        ("passwordpassword", "too easy to guess"),
    ],
)
async def test_weak_passwords_are_refused_saying_why(
    client: httpx.AsyncClient, password: str, why: str
) -> None:
    admin = await login(client)
    response = await client.post(
        "/api/users", json={"email": "w@example.com", "role": "viewer", "password": password}, headers=admin
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "password" and why in problem["message"]


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    me = (await client.get("/api/auth/me", headers=admin)).json()
    for change in ({"role": "dispatcher"}, {"is_active": False}, {"role": "viewer", "is_active": False}):
        response = await client.patch(f"/api/users/{me['id']}", json=change, headers=admin)
        assert response.status_code == 409 and response.json()["error"] == "LastAdmin", change
    assert (await client.get("/api/auth/me", headers=admin)).json()["role"] == "admin"

    # With a second active admin, either may step down; then the other is the last one again.
    second_id, second = await member(client, admin, "admin")
    demoted = await client.patch(f"/api/users/{me['id']}", json={"role": "dispatcher"}, headers=second)
    assert demoted.status_code == 200 and demoted.json()["role"] == "dispatcher"
    assert (
        await client.patch(f"/api/users/{second_id}", json={"is_active": False}, headers=second)
    ).status_code == 409
    # An inactive admin does not count as one.
    third_id, _ = await member(client, second, "admin", "third@example.com")
    await client.patch(f"/api/users/{third_id}", json={"is_active": False}, headers=second)
    assert (
        await client.patch(f"/api/users/{second_id}", json={"role": "viewer"}, headers=second)
    ).status_code == 409


async def test_users_created_in_the_same_instant_are_each_listed_once_page_by_page(
    client: httpx.AsyncClient, clean_database: str
) -> None:
    # An import, or invitations sent in one batch, can share `created_at`: the id breaks the tie, so a
    # page boundary between them neither repeats nor skips anyone.
    admin = await login(client)
    for n in range(3):
        await member(client, admin, "viewer", f"same{n}@example.com")
    await execute_sql(clean_database, "UPDATE users SET created_at = (SELECT MIN(created_at) FROM users)")
    seen: list[str] = []
    cursor = None
    for _ in range(10):  # bounded: four users, one a page
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/users", params=params, headers=admin)).json()
        seen += [user["id"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (
        seen == sorted(seen, key=lambda user_id: uuid.UUID(user_id).hex) and len(set(seen)) == len(seen) == 4
    )


async def test_a_role_change_takes_effect_on_the_next_request(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    user_id, dispatcher = await member(client, admin, "dispatcher")
    assert (await client.get("/api/call/export", headers=dispatcher)).status_code == 200
    await client.patch(f"/api/users/{user_id}", json={"role": "viewer"}, headers=admin)
    refused = await client.get("/api/call/export", headers=dispatcher)
    assert refused.status_code == 403 and "dispatcher" in refused.json()["detail"]
    assert (await client.get("/api/call", headers=dispatcher)).status_code == 200  # same token, still valid


async def test_users_are_listed_in_pages_and_patched(client: httpx.AsyncClient) -> None:
    admin = await login(client)
    for n in range(3):
        await member(client, admin, "viewer", f"v{n}@example.com")
    first = (await client.get("/api/users", params={"limit": 2}, headers=admin)).json()
    second = (
        await client.get("/api/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin)
    ).json()
    emails = [u["email"] for u in first["items"] + second["items"]]
    assert emails == [ADMIN_EMAIL, "v0@example.com", "v1@example.com", "v2@example.com"]
    assert second["next_cursor"] is None
    assert all("hashed_password" not in u and "password_token_hash" not in u for u in first["items"])
    bad = await client.get("/api/users", params={"cursor": "nonsense"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidCursor"

    target = first["items"][1]["id"]
    patched = await client.patch(
        f"/api/users/{target}", json={"full_name": "Val", "role": "dispatcher"}, headers=admin
    )
    assert patched.status_code == 200
    assert (patched.json()["full_name"], patched.json()["role"]) == ("Val", "dispatcher")
    taken = await client.post("/api/users", json={"email": "V0@example.com", "role": "viewer"}, headers=admin)
    assert taken.status_code == 409 and taken.json()["error"] == "EmailTaken"
    missing = await client.patch("/api/users/00000000-0000-4000-8000-000000000000", json={}, headers=admin)
    assert missing.status_code == 404


async def test_a_deactivated_user_is_out_at_once_and_back_only_by_logging_in(
    client: httpx.AsyncClient,
) -> None:
    admin = await login(client)
    user_id, viewer = await member(client, admin, "viewer")
    await client.patch(f"/api/users/{user_id}", json={"is_active": False}, headers=admin)
    assert (await client.get("/api/call", headers=viewer)).status_code == 401
    login_again = {"username": "viewer-member@example.com", "password": MEMBER_PASSWORD}
    assert (await client.post("/api/auth/token", data=login_again)).status_code == 401
    await client.patch(f"/api/users/{user_id}", json={"is_active": True}, headers=admin)
    assert (await client.get("/api/call", headers=viewer)).status_code == 401  # old token stays revoked
    await login_as(client, login_again["username"], MEMBER_PASSWORD)


async def test_changing_your_password_revokes_your_other_tokens(client: httpx.AsyncClient) -> None:
    one, two = await login(client), await login(client)
    wrong = await client.post(
        "/api/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=one,
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "WrongPassword"
    weak = await client.post(
        "/api/auth/password",
        json={"current_password": ADMIN_PASSWORD, "new_password": "123qweasdzxc"},
        headers=one,
    )
    assert weak.status_code == 422
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
        headers=one,
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get("/api/auth/me", headers=one)).status_code == 401
    assert (await client.get("/api/auth/me", headers=two)).status_code == 401
    assert (await client.get("/api/auth/me", headers=fresh)).status_code == 200
    await login_as(client, ADMIN_EMAIL, NEW_PASSWORD)


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(client: httpx.AsyncClient) -> None:
    first = await login(client)
    first_id = (await client.get("/api/auth/me", headers=first)).json()["id"]
    second_id, second = await member(client, first, "admin")
    answers = await asyncio.gather(
        client.patch(f"/api/users/{second_id}", json={"role": "viewer"}, headers=first),
        client.patch(f"/api/users/{first_id}", json={"role": "viewer"}, headers=second),
    )
    assert sorted(a.status_code for a in answers)[0] == 200  # one of them goes through
    assert [a.status_code for a in answers].count(200) == 1, [a.text for a in answers]
    listed = (
        await client.get("/api/users", headers=first if answers[1].status_code != 200 else second)
    ).json()
    assert [u["role"] for u in listed["items"] if u["is_active"]].count("admin") == 1
