"""Team members for tests: a user of each role, created through the API and logged in."""

import httpx

MEMBER_PASSWORD = "tandem-lumber-orchard-42"


async def member(
    client: httpx.AsyncClient, admin: dict[str, str], role: str, email: str | None = None
) -> tuple[str, dict[str, str]]:
    """A new user with this role (created by the admin, with a password); its id and bearer header."""
    email = email or f"{role}-member@example.com"
    created = await client.post(
        "/api/users", json={"email": email, "role": role, "password": MEMBER_PASSWORD}, headers=admin
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], await login_as(client, email, MEMBER_PASSWORD)


async def login_as(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
