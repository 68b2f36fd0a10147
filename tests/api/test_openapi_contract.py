"""The OpenAPI document a generated client is built from: errors as on the wire, typed, named, documented."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from app.api.dependencies import get_current_user, get_session
from app.config import Settings
from app.core.errors import ErrorBody
from app.main import app
from app.schemas.call import CallDetail, CallPage
from app.schemas.call_reports import CallStats
from tests.support import RETELL_BASE_URL
from tests.support.app import login, running_app

SPEC = app.openapi()
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def api_routes() -> list[tuple[str, APIRoute]]:
    """Every operation with its full path (FastAPI >= 0.16x keeps included routers as they are)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies each route into the app with its full path
        return [(route.path_format, route) for route in app.routes if isinstance(route, APIRoute)]
    return [
        (str(context.path_format), context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


ROUTES = api_routes()


def operation(path: str, route: APIRoute) -> dict[str, Any]:
    method = next(iter(route.methods)).lower()
    return dict(SPEC["paths"][path][method])


def depends_on(route: APIRoute, call: Callable[..., Any]) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is call:
            return True
        pending.extend(dependant.dependencies)
    return False


def error_schema(op: dict[str, Any], status: str) -> Any:
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_fastapis_default_validation_error_is_gone() -> None:
    schemas = SPEC["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "HTTPValidationError" not in str(SPEC)


def test_error_body_types_detail_as_text_or_field_list() -> None:
    detail = SPEC["components"]["schemas"]["ErrorBody"]["properties"]["detail"]
    assert detail["anyOf"] == [
        {"type": "string"},
        {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
    ]
    assert set(SPEC["components"]["schemas"]["FieldError"]["required"]) == {"field", "message"}


def test_every_route_is_checked() -> None:
    assert len(ROUTES) == sum(len(item) for item in SPEC["paths"].values()) >= 19


@pytest.mark.parametrize(("path", "route"), ROUTES, ids=[route.name for _, route in ROUTES])
def test_every_error_a_route_can_answer_is_declared_as_an_error_body(path: str, route: APIRoute) -> None:
    op = operation(path, route)
    expected = set()
    if depends_on(route, get_current_user):
        expected.add("401")
    if get_flat_params(route.dependant) or route.body_field:
        expected.add("422")
    if depends_on(route, get_session):
        expected.add("503")
    assert expected <= set(op["responses"]), f"{path}: missing {expected - set(op['responses'])}"
    for status in op["responses"]:
        if int(status) >= 400 and route.name != "readiness":
            assert error_schema(op, status) == ERROR_REF, f"{path} {status}"


def test_operation_ids_read_as_tag_and_function() -> None:
    ids = [op["operationId"] for item in SPEC["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert "calls-list_calls" in ids and "agent_configs-get_agent_config" in ids
    for item in SPEC["paths"].values():
        for op in item.values():
            (tag,) = op["tags"]
            assert " " not in tag and op["operationId"].startswith(f"{tag}-")


def test_responses_are_typed() -> None:
    schemas = SPEC["components"]["schemas"]
    summary = schemas["CallSummary"]["properties"]
    assert summary["status"] == {
        "$ref": "#/components/schemas/CallStatus",
        "description": summary["status"]["description"],
    }
    assert {"$ref": "#/components/schemas/CallOutcome"} in summary["call_outcome"]["anyOf"]
    result = schemas["CallDetail"]["properties"]["result"]["anyOf"][0]
    assert result["discriminator"]["propertyName"] == "scenario"
    assert set(result["discriminator"]["mapping"]) == {"check_in", "emergency"}
    assert "eta" in schemas["CheckInCallResult"]["required"]
    assert schemas["SimulationOptions"]["properties"]["persona"]["$ref"].endswith("/PersonaName")
    ready = SPEC["paths"]["/health/ready"]["get"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Readiness")
    assert "version" in schemas["Liveness"]["required"]


def test_every_public_field_is_described() -> None:
    undocumented = [
        f"{name}.{field}"
        for name, schema in SPEC["components"]["schemas"].items()
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert undocumented == []


def test_call_detail_list_and_stats_carry_valid_examples() -> None:
    schemas = SPEC["components"]["schemas"]
    CallDetail.model_validate(schemas["CallDetail"]["examples"][0])
    CallPage.model_validate(schemas["CallPage"]["examples"][0])
    CallStats.model_validate(schemas["CallStats"]["examples"][0])
    for example in schemas["ErrorBody"]["examples"]:
        ErrorBody.model_validate(example)


def request_example(path: str, method: str) -> tuple[str, dict[str, Any]]:
    body = SPEC["paths"][path][method]["requestBody"]["content"]
    media_type, content = next(iter(body.items()))
    ref = content["schema"]["$ref"].rsplit("/", 1)[1]
    return media_type, SPEC["components"]["schemas"][ref]["examples"][0]


def test_every_request_body_has_an_example() -> None:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if "requestBody" in op:
                assert request_example(path, method)[1], f"{method} {path}"


async def test_swaggers_try_it_out_examples_succeed(make_settings: Callable[..., Settings]) -> None:
    """What Swagger fills in when a developer presses "Try it out" is accepted as it is."""
    settings = make_settings(admin_email="admin@example.com", admin_password="admin")
    async with running_app(settings) as client:
        _, form = request_example("/api/auth/token", "post")
        assert (await client.post("/api/auth/token", data=form)).status_code == 200
        auth = await login_as(client, form)
        _, create = request_example("/api/agent-config", "post")
        created = await client.post("/api/agent-config", json=create, headers=auth)
        assert created.status_code == 201, created.text
        _, patch = request_example("/api/agent-config/{config_id}", "patch")
        patched = await client.patch(f"/api/agent-config/{created.json()['id']}", json=patch, headers=auth)
        assert patched.status_code == 200, patched.text
        _, trigger = request_example("/api/call/trigger", "post")
        with respx.mock(base_url=RETELL_BASE_URL) as router:
            router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
            router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
            router.post("/v3/create-web-call").respond(201, json={"call_id": "c1", "access_token": "t"})
            triggered = await client.post("/api/call/trigger", json=trigger, headers=auth)
        assert triggered.status_code == 201, triggered.text


async def login_as(client: httpx.AsyncClient, form: dict[str, str]) -> dict[str, str]:
    token = (await client.post("/api/auth/token", data=form)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_a_422_on_the_wire_is_the_documented_error_body(client: httpx.AsyncClient) -> None:
    auth = await login(client)
    response = await client.get("/api/call", params={"limit": 0, "colour": "red"}, headers=auth)
    assert response.status_code == 422
    body = ErrorBody.model_validate(response.json())
    assert body.error == "ValidationError" and isinstance(body.detail, list)
    assert {item.field for item in body.detail} == {"query.limit", "query.colour"}
    unauthorized = ErrorBody.model_validate((await client.get("/api/call")).json())
    assert unauthorized.error == "Unauthorized" and isinstance(unauthorized.detail, str)
