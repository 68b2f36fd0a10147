"""Who may call what: every operation in the OpenAPI document, against every role, no token, and a
deactivated user. The table below is the issue's role table; a route missing from it, or declaring no
role (or more than one), fails here."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api.roles import ROLE_CHECKS
from app.config import Settings
from app.main import app, create_app
from app.models import Role
from tests.support.accounts import member
from tests.support.app import login, running_app

PUBLIC = None
ADMIN, DISPATCHER, VIEWER = Role.ADMIN, Role.DISPATCHER, Role.VIEWER
# The table: admins everything (users, configs, the dialing policy, the audit log); dispatchers
# trigger and reprocess calls and export; viewers read calls, stats, streams and configurations.
EXPECTED: dict[str, Role | None] = {
    "POST /webhook/retell": PUBLIC,
    "GET /health": PUBLIC,
    "GET /health/ready": PUBLIC,
    "POST /api/auth/token": PUBLIC,
    "POST /api/auth/set-password": PUBLIC,
    "POST /api/auth/password": VIEWER,
    "GET /api/auth/me": VIEWER,
    "POST /api/auth/stream-token": VIEWER,
    "GET /api/users": ADMIN,
    "POST /api/users": ADMIN,
    "PATCH /api/users/{user_id}": ADMIN,
    "GET /api/audit": ADMIN,
    "GET /api/dialing-policy": VIEWER,
    "PUT /api/dialing-policy": ADMIN,
    "POST /api/agent-config": ADMIN,
    "GET /api/agent-config": VIEWER,
    "GET /api/agent-config/{config_id}": VIEWER,
    "PATCH /api/agent-config/{config_id}": ADMIN,
    "DELETE /api/agent-config/{config_id}": ADMIN,
    "POST /api/agent-config/{config_id}/sync": ADMIN,
    "GET /api/call/stats": VIEWER,
    "GET /api/call/export": DISPATCHER,
    "GET /api/call/{call_id}/webhook-events": VIEWER,
    "POST /api/call/trigger": DISPATCHER,
    "GET /api/call": VIEWER,
    "GET /api/call/{call_id}": VIEWER,
    "POST /api/call/{call_id}/reprocess": DISPATCHER,
    "GET /api/events": VIEWER,
    "GET /api/call/{call_id}/events": VIEWER,
}
SPEC = app.openapi()
OPERATIONS = [f"{method.upper()} {path}" for path, item in SPEC["paths"].items() for method in item]
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def routes(application: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every operation as "METHOD /path" with its route (FastAPI >= 0.16x keeps routers nested)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        pairs = [(r.path_format, r) for r in application.routes if isinstance(r, APIRoute)]
    else:
        pairs = [
            (str(c.path_format), c.original_route)
            for c in iter_route_contexts(application.routes)
            if isinstance(c.original_route, APIRoute)
        ]
    for path, route in pairs:
        for method in route.methods:
            yield f"{method} {path}", route


def declared_roles(route: APIRoute) -> list[Role | None]:
    """What a route declares: the role of each role dependency it has, or None for `@public`."""
    found: set[Any] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call in ROLE_CHECKS:
            found.add(dependant.call)
        pending.extend(dependant.dependencies)
    declared: list[Role | None] = [check.required_role for check in found]  # type: ignore[attr-defined]
    if getattr(route.endpoint, "public_route", False):
        declared.append(PUBLIC)
    return declared


def undeclared(application: FastAPI) -> list[str]:
    """Operations that do not declare exactly one role (or public)."""
    return [name for name, route in routes(application) if len(declared_roles(route)) != 1]


def test_the_table_names_every_operation_and_nothing_else() -> None:
    assert sorted(OPERATIONS) == sorted(EXPECTED)


def test_every_route_declares_the_role_the_table_gives_it() -> None:
    assert undeclared(app) == []
    declared = {name: declared_roles(route)[0] for name, route in routes(app)}
    assert declared == EXPECTED


def test_a_new_route_without_a_role_declaration_is_caught() -> None:
    extended = create_app(Settings(_env_file=None, environment="test"))  # type: ignore[call-arg]

    @extended.get("/api/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    assert undeclared(extended) == ["GET /api/forgotten"]
    assert "GET /api/forgotten" not in EXPECTED


def test_every_protected_operation_documents_401_and_403_as_error_bodies() -> None:
    for name, role in EXPECTED.items():
        method, path = name.split(" ", 1)
        responses = SPEC["paths"][path][method.lower()]["responses"]
        if role is PUBLIC:
            assert "403" not in responses, name
            continue
        for status in ("401", "403"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{name} {status}"


def request_for(name: str) -> tuple[str, str, dict[str, Any]]:
    method, path = name.split(" ", 1)
    for parameter in ("call_id", "config_id", "user_id"):
        path = path.replace("{" + parameter + "}", MISSING_ID)
    kwargs: dict[str, Any] = {}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["data" if path == "/api/auth/token" else "json"] = {}
    return method, path, kwargs


@pytest.fixture
async def identities(make_settings: Callable[..., Settings]) -> Any:
    """The app, and headers for an admin, a dispatcher, a viewer, nobody and a deactivated user."""
    async with running_app(make_settings(stream_max_seconds=0.2, retell_mode="simulated")) as client:
        admin = await login(client)
        _, dispatcher = await member(client, admin, "dispatcher")
        _, viewer = await member(client, admin, "viewer")
        gone_id, gone = await member(client, admin, "dispatcher", "gone@example.com")
        deactivated = await client.patch(f"/api/users/{gone_id}", json={"is_active": False}, headers=admin)
        assert deactivated.status_code == 200
        who = {ADMIN: admin, DISPATCHER: dispatcher, VIEWER: viewer, "nobody": {}, "deactivated": gone}
        yield client, who


async def test_every_operation_against_every_role(identities: Any) -> None:
    client, headers = identities
    failures = []
    for name in OPERATIONS:
        required = EXPECTED[name]
        method, path, kwargs = request_for(name)
        answers = {}
        for who, auth in headers.items():
            response = await client.request(method, path, headers=auth, **kwargs)
            answers[who] = response.status_code
            if response.status_code == 403:
                assert response.json()["error"] == "Forbidden", response.text
        if required is PUBLIC:
            ok = 403 not in answers.values() and len(set(answers.values())) == 1
        else:
            expected = {
                who: (401 if who in ("nobody", "deactivated") else 403 if not who.allows(required) else None)
                for who in headers
            }
            ok = all(
                answers[who] == status if status else answers[who] not in (401, 403)
                for who, status in expected.items()
            )
        if not ok:
            failures.append(f"{name} (needs {required}): {answers}")
    assert failures == []
