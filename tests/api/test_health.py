"""Liveness, readiness, request ids and CORS."""

from collections.abc import Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app import __version__
from app.config import Settings
from app.core.database import create_engine, create_session_maker
from app.main import create_app
from tests.support.app import running_app


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_readiness_reports_database_and_modes(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "retell_mode": "live",
        "extractor": "openai",
        "version": __version__,
    }


async def test_readiness_is_503_when_the_database_is_unreachable(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        # Simulate an outage: the running app's sessions now point at a port where nothing listens.
        context = manager._state["context"]
        dead = create_engine(make_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none"))
        context.session_maker = create_session_maker(dead)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/health/ready")
            assert (await client.get("/health")).status_code == 200
        await dead.dispose()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "retell_mode": "live",
        "extractor": "openai",
        "version": __version__,
    }


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert len(response.headers["x-request-id"]) >= 16
    echoed = await client.get("/health", headers={"X-Request-ID": "0f8fad5bd9cb469fa16570867728950e"})
    assert echoed.headers["x-request-id"] == "0f8fad5bd9cb469fa16570867728950e"


async def test_cors_allows_the_dashboard_origin(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(cors_origins="http://localhost:5173")) as client:
        response = await client.options(
            "/api/call",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
        )
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        other = await client.options(
            "/api/call", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_a_database_outage_on_an_api_route_is_a_503(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with LifespanManager(app) as manager:
        dead = create_engine(make_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none"))
        manager._state["context"].session_maker = create_session_maker(dead)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/api/auth/token", data={"username": "a@b.c", "password": "x"})
        await dead.dispose()
    assert response.status_code == 503
    assert response.json()["error"] == "DatabaseUnavailable"


@pytest.mark.parametrize("sent", ["has spaces in it", "x" * 65, "short", "new\\nline-0123456789"])
async def test_a_request_id_that_could_smuggle_text_into_logs_is_replaced(
    client: httpx.AsyncClient, sent: str
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": sent})
    replaced = response.headers["x-request-id"]
    assert replaced != sent
    assert len(replaced) == 32 and int(replaced, 16) >= 0  # a fresh uuid4, as hex
