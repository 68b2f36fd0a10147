"""Login and the bearer token every /api route requires."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from app.config import Settings
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, execute_sql
from tests.support.app import login, running_app

PROTECTED = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/agent-config"),
    ("POST", "/api/agent-config"),
    ("GET", "/api/agent-config/00000000-0000-0000-0000-000000000000"),
    ("PATCH", "/api/agent-config/00000000-0000-0000-0000-000000000000"),
    ("DELETE", "/api/agent-config/00000000-0000-0000-0000-000000000000"),
    ("POST", "/api/agent-config/00000000-0000-0000-0000-000000000000/sync"),
    ("POST", "/api/call/trigger"),
    ("GET", "/api/call"),
    ("GET", "/api/call/00000000-0000-0000-0000-000000000000"),
    ("GET", "/api/call/00000000-0000-0000-0000-000000000000/events"),
    ("POST", "/api/call/00000000-0000-0000-0000-000000000000/reprocess"),
]


async def test_login_returns_a_bearer_token_for_the_first_admin(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == ADMIN_EMAIL
    assert "hashed_password" not in me.json()


async def test_email_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/token", data={"username": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == ADMIN_EMAIL


@pytest.mark.parametrize(
    "form", [{"username": ADMIN_EMAIL, "password": "wrong"}, {"username": "nobody@x.test", "password": "x"}]
)
async def test_wrong_credentials_get_401(client: httpx.AsyncClient, form: dict[str, str]) -> None:
    response = await client.post("/api/auth/token", data=form)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "Unauthorized"


async def test_login_without_password_is_a_clear_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/token", data={"username": ADMIN_EMAIL})
    assert response.status_code == 422
    assert any(item["field"] == "password" for item in response.json()["detail"])


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_api_routes_require_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_forged_and_expired_tokens_get_401(client: httpx.AsyncClient) -> None:
    forged = jwt.encode({"sub": ADMIN_EMAIL, "exp": datetime.now(UTC) + timedelta(hours=1)}, "other-key" * 5)
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "invalid or expired" in response.json()["detail"]


async def test_expired_token_gets_401(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert settings.secret_key is not None
    expired = jwt.encode(
        {"sub": ADMIN_EMAIL, "exp": datetime.now(UTC) - timedelta(minutes=1)}, settings.secret_key, "HS256"
    )
    async with running_app(settings) as client:
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert (await client.get("/api/auth/me", headers=await login(client))).status_code == 200


async def test_admin_is_created_once_and_keeps_its_password(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    async with running_app(make_settings()) as client:
        await login(client)
    # A restart with another ADMIN_PASSWORD must not reset the existing admin.
    async with running_app(make_settings(admin_password="a-different-password")) as client:
        await login(client)
        response = await client.post(
            "/api/auth/token", data={"username": ADMIN_EMAIL, "password": "a-different-password"}
        )
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
    assert await execute_sql(clean_database, "SELECT COUNT(*) FROM users") == 1


async def test_outside_tests_the_admin_password_is_hashed_at_full_argon2_cost(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    async with running_app(make_settings(fast_password_hashing=False)) as client:
        await login(client)
    stored = await execute_sql(clean_database, "SELECT hashed_password FROM users")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_in_the_test_suite_the_admin_password_is_hashed_at_argon2s_floor_cost(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    # FAST_PASSWORD_HASHING is what keeps the suite quick (docs/TESTING.md); the login still checks it.
    async with running_app(make_settings(fast_password_hashing=True)) as client:
        await login(client)
    stored = await execute_sql(clean_database, "SELECT hashed_password FROM users")
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")


@pytest.mark.usefixtures("host_clock_not_on_utc")
async def test_an_access_token_lasts_the_configured_minutes_from_when_it_was_issued(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(access_token_expire_minutes=15)) as client:
        before = datetime.now(UTC).timestamp()
        token = (await login(client))["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert before - 1 <= claims["iat"] <= datetime.now(UTC).timestamp() + 1
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_a_signed_token_whose_version_is_a_boolean_is_refused(
    make_settings: Callable[..., Settings],
) -> None:
    # `False == 0` in Python: a boolean must not pass for the version a fresh account's tokens carry.
    settings = make_settings()
    assert settings.secret_key is not None
    async with running_app(settings) as client:
        me = (await client.get("/api/auth/me", headers=await login(client))).json()
        claims = {"sub": me["id"], "ver": False, "exp": datetime.now(UTC) + timedelta(hours=1)}
        token = jwt.encode(claims, settings.secret_key, "HS256")
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"


async def test_openapi_declares_the_password_flow_for_the_authorize_button(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/token"
    assert (await client.get("/docs")).status_code == 200
