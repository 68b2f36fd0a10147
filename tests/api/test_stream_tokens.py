"""Stream tokens: what the browser's EventSource may carry, and everything else refused."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, tzinfo

import httpx
import jwt
import pytest

from app.config import Settings
from app.core import security
from app.core.security import create_access_token, create_stream_token
from tests.support import execute_sql
from tests.support.app import login, running_app

SECRET = "test-secret-key-that-is-long-enough-0123456789"
MISSING_CALL = f"/api/call/{uuid.uuid4()}/events"


@pytest.fixture
async def app_client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings(secret_key=SECRET)) as client:
        yield client


async def test_a_stream_token_outlives_a_reconnect_and_needs_a_login(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.post("/api/auth/stream-token")).status_code == 401
    response = await app_client.post("/api/auth/stream-token", headers=await login(app_client))
    assert response.status_code == 200
    body = response.json()
    # EventSource reconnects with the same URL after a drop, an outage or STREAM_MAX_SECONDS (30 min):
    # the token must still be good then, or the browser gives up for good on the 401.
    assert body["expires_in"] == 4 * 3600
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 4 * 3600
    assert claims["aud"] == "stream" and claims["scope"] == "read"


async def test_the_stream_token_lifetime_is_a_setting(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(secret_key=SECRET, stream_token_seconds=90)) as client:
        body = (await client.post("/api/auth/stream-token", headers=await login(client))).json()
    assert body["expires_in"] == 90
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 90


async def test_a_reconnect_an_hour_after_the_token_was_issued_still_opens_the_stream(
    app_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconnect after the first stream's planned end (30 min) or a long outage: same URL, same token."""
    auth = await login(app_client)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)

    class AnHourAgo(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> "AnHourAgo":
            return cls.fromtimestamp(hour_ago.timestamp(), tz)

    monkeypatch.setattr(security, "datetime", AnHourAgo)  # the token is issued an hour ago ...
    token = (await app_client.post("/api/auth/stream-token", headers=auth)).json()["token"]
    monkeypatch.undo()  # ... and used now
    assert (await app_client.get(MISSING_CALL, params={"token": token})).status_code == 404


async def test_the_streams_accept_a_stream_token_in_the_query(app_client: httpx.AsyncClient) -> None:
    token = (await app_client.post("/api/auth/stream-token", headers=await login(app_client))).json()["token"]
    # A call that does not exist answers before any stream starts: the token itself was accepted.
    assert (await app_client.get(MISSING_CALL, params={"token": token})).status_code == 404


@pytest.mark.usefixtures("host_clock_not_on_utc")
async def test_a_stream_token_is_accepted_on_a_host_whose_clock_is_not_on_utc(
    app_client: httpx.AsyncClient,
) -> None:
    token = (await app_client.post("/api/auth/stream-token", headers=await login(app_client))).json()["token"]
    assert (await app_client.get(MISSING_CALL, params={"token": token})).status_code == 404


def forged_token(kind: str, user_id: uuid.UUID, version: int) -> str:
    """A token of the given kind for the real admin: everything right but the one thing that is wrong."""
    if kind == "expired":
        return create_stream_token(user_id, version, secret_key=SECRET, expires_seconds=-1)
    if kind == "forged":
        return create_stream_token(user_id, version, secret_key="another-key-" + SECRET, expires_seconds=60)
    if kind == "access-token":
        return create_access_token(user_id, version, secret_key=SECRET, expires_minutes=60)
    if kind == "signed-with-the-access-key":
        claims = {"sub": str(user_id), "ver": version, "aud": "stream", "exp": 4102444800}
        return jwt.encode(claims, SECRET, algorithm="HS256")
    if kind == "older-version":
        return create_stream_token(user_id, version - 1, secret_key=SECRET, expires_seconds=60)
    return "not-a-token"


@pytest.mark.parametrize(
    "kind", ["expired", "forged", "access-token", "garbage", "signed-with-the-access-key", "older-version"]
)
@pytest.mark.parametrize("path", ["/api/events", MISSING_CALL])
async def test_the_streams_refuse_anything_but_a_valid_stream_token(
    app_client: httpx.AsyncClient, kind: str, path: str
) -> None:
    me = (await app_client.get("/api/auth/me", headers=await login(app_client))).json()
    version = jwt.decode(
        (await app_client.post("/api/auth/stream-token", headers=await login(app_client))).json()["token"],
        options={"verify_signature": False},
    )["ver"]
    token = forged_token(kind, uuid.UUID(me["id"]), version)
    try:
        # Bounded: were the token accepted, the stream would open and this would never return.
        response = await asyncio.wait_for(app_client.get(path, params={"token": token}), timeout=10)
    except TimeoutError:
        raise AssertionError(f"a {kind} token opened the stream: no 401 within 10 s") from None
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_stream_token_opens_nothing_but_the_streams(app_client: httpx.AsyncClient) -> None:
    auth = await login(app_client)
    token = (await app_client.post("/api/auth/stream-token", headers=auth)).json()["token"]
    stream_bearer = {"Authorization": f"Bearer {token}"}
    assert (await app_client.get("/api/call", headers=stream_bearer)).status_code == 401
    assert (await app_client.get("/api/call", params={"token": token})).status_code == 401
    assert (await app_client.post("/api/auth/stream-token", headers=stream_bearer)).status_code == 401
    # The bearer header still works on the streams, as everywhere else.
    assert (await app_client.get(MISSING_CALL, headers=auth)).status_code == 404
    assert (await app_client.get(MISSING_CALL)).status_code == 401


async def test_the_api_docs_describe_both_streams(app_client: httpx.AsyncClient) -> None:
    schema = (await app_client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    one_call = schema["paths"]["/api/call/{call_id}/events"]["get"]["responses"]["200"]["content"]
    every_call = schema["paths"]["/api/events"]["get"]["responses"]["200"]["content"]
    assert set(one_call) == {"text/event-stream"} and set(every_call) == {"text/event-stream"}
    assert one_call["text/event-stream"]["schema"]["$ref"].endswith("/CallEvent")
    refs = {item["$ref"].rsplit("/", 1)[1] for item in components["CallEvent"]["oneOf"]}
    assert refs == {"CallStatusEvent", "CallEndEvent"}
    assert every_call["text/event-stream"]["schema"]["$ref"].endswith("/CallListEvent")
    assert components["CallStatusEvent"]["properties"]["event"]["const"] == "status"
    # `data:` is a line of JSON: text whose content is the payload schema (OpenAPI 3.2's way).
    end_data = components["CallEndEvent"]["properties"]["data"]
    assert end_data["type"] == "string" and end_data["contentMediaType"] == "application/json"
    assert end_data["contentSchema"]["$ref"].endswith("/CallLive")
    assert components["CallListEvent"]["properties"]["data"]["contentSchema"]["$ref"].endswith("/CallSummary")
    assert "transcript" not in components["CallLive"]["properties"]
    parameters = schema["paths"]["/api/events"]["get"]["parameters"]
    assert {p["name"] for p in parameters} >= {"token", "agent_config_id"}


GONE = "gone@example.com"


@pytest.mark.parametrize("kind", ["access", "stream"])
async def test_a_deactivated_user_is_refused_even_with_a_token_of_their_current_version(
    app_client: httpx.AsyncClient, clean_database: str, kind: str
) -> None:
    """Deactivation also bumps the version, but a token minted under the new one still names an inactive
    account: neither the API nor the streams may take it."""
    admin = await login(app_client)
    created = (
        await app_client.post("/api/users", json={"email": GONE, "role": "viewer"}, headers=admin)
    ).json()
    await app_client.patch(f"/api/users/{created['id']}", json={"is_active": False}, headers=admin)
    version = await execute_sql(clean_database, f"SELECT token_version FROM users WHERE email = '{GONE}'")
    user_id = uuid.UUID(created["id"])
    if kind == "access":
        token = create_access_token(user_id, version, secret_key=SECRET, expires_minutes=60)
        response = await app_client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    else:
        token = create_stream_token(user_id, version, secret_key=SECRET, expires_seconds=60)
        response = await asyncio.wait_for(app_client.get(MISSING_CALL, params={"token": token}), timeout=10)
    assert response.status_code == 401, response.text
