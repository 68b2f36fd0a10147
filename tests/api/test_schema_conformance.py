"""Every route, fuzzed against its own OpenAPI schema: no 5xx, and every answer is one the schema declares.

Schemathesis generates valid and invalid requests from `/openapi.json` and checks each response: the
status is documented, the body matches its declared schema, the content type and headers are right,
invalid input is refused with a 4xx and valid input is not, and a protected route refuses a request
without the bearer token. Each route is fuzzed with an admin's, a dispatcher's and a viewer's token (a refused
role is a documented 403), on SQLite and PostgreSQL, against the real app over real HTTP.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.main import app
from tests.support.accounts import member
from tests.support.app import login
from tests.support.seed import CHECK_IN, EMERGENCY, seed_call

# Bounded so the whole run (every route, each role, both databases) stays within a few minutes.
EXAMPLES = 20
# Left out: "a schema-valid request is accepted". A schema cannot say what a phone number, a cursor or a
# date range accepts, so valid-looking input is rightly refused with a documented 4xx; every other check runs.
EXCLUDED_CHECKS = [positive_data_acceptance]
SCHEMA = schemathesis.openapi.from_dict(app.openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
OFFLINE = {"retell_mode": "simulated", "extractor": "rules", "simulated_call_seconds": 0.2}


@pytest.fixture
async def seeded_server(live_server: Callable[..., str], clean_database: str) -> dict[str, Any]:
    """A running app holding a completed call (with deliveries) and an emergency; a token per role."""
    # Streams end after a moment, so each fuzzed stream request gets its whole answer to check.
    base_url = live_server(**OFFLINE, stream_max_seconds=0.5)
    now = datetime.now(UTC)
    deliveries = [("call_started", {"event": "call_started"}), ("call_ended", {"event": "call_ended"})]
    call_id = await seed_call(
        clean_database, created_at=now - timedelta(hours=1), result=CHECK_IN, deliveries=deliveries
    )
    await seed_call(clean_database, created_at=now - timedelta(hours=2), result=EMERGENCY)
    async with httpx.AsyncClient(base_url=base_url) as client:
        admin = await login(client)
        config_id = (await client.get("/api/agent-config", headers=admin)).json()["items"][0]["id"]
        _, dispatcher = await member(client, admin, "dispatcher")
        viewer_id, viewer = await member(client, admin, "viewer")
    return {
        "base_url": base_url,
        "headers": {"admin": admin, "dispatcher": dispatcher, "viewer": viewer},
        "ids": {"call_id": call_id, "config_id": config_id, "user_id": viewer_id},
    }


def strategy(operation: APIOperation, ids: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid and invalid requests; for routes on one call or configuration, also ones on a real one."""
    strategies = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    path_names = {parameter.name for parameter in operation.path_parameters}
    if path_names:
        known = {name: str(ids[name]) for name in path_names}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    return st.one_of(strategies)


@pytest.mark.parametrize("role", ["admin", "dispatcher", "viewer"])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_responses_match_the_declared_schema(
    operation: APIOperation, role: str, seeded_server: dict[str, Any]
) -> None:
    @given(case=strategy(operation, seeded_server["ids"]))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=seeded_server["base_url"],
            headers=seeded_server["headers"][role],
            excluded_checks=EXCLUDED_CHECKS,
            timeout=30,
        )

    check()


def test_every_route_is_fuzzed() -> None:
    labels = {operation.label for operation in OPERATIONS}
    routes = {f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items() for method in item}
    assert labels == routes and len(labels) >= 29
