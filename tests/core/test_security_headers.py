"""Security headers on every response, /docs still able to load Swagger UI, and /docs switchable off."""

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from app.config import Settings
from tests.support.app import running_app

COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


def csp(response: httpx.Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/call", 401),  # refused before any route code: the headers are still there
        ("GET", "/api/no-such-route", 404),
        ("POST", "/webhook/retell", 401),
        ("GET", "/docs", 200),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, name
    assert csp(response)["frame-ancestors"] == ["'none'"]


async def test_api_answers_are_never_cached(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for path in ("/api/call", "/api/auth/me", "/api/agent-config"):
        response = await client.get(path, headers=auth)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store", path
        assert csp(response)["default-src"] == ["'none'"]
    refused = await client.post("/api/auth/token", data={"username": "x@example.com", "password": "wrong"})
    assert refused.headers["cache-control"] == "no-store"


async def test_the_docs_csp_allows_every_script_and_style_the_swagger_page_loads(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    policy = csp(page)
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', page.text)
    assert scripts and styles, page.text
    for url, directive in [*((u, "script-src") for u in scripts), *((u, "style-src") for u in styles)]:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        assert origin in policy[directive] or (not urlsplit(url).netloc and "'self'" in policy[directive]), (
            url
        )
    assert "<script>" in page.text and "'unsafe-inline'" in policy["script-src"]  # SwaggerUIBundle({...})
    assert policy["connect-src"] == ["'self'"]  # "Try it out" calls this API only


async def test_docs_and_schema_can_be_switched_off(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(docs_enabled=False)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/health")).status_code == 200
