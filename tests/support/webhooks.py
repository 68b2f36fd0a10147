"""Webhook test helpers: place a call with Retell mocked, deliver signed events, read the call back."""

import json
from typing import Any

import httpx
import respx

from tests.support import (
    RETELL_BASE_URL,
    TRANSCRIPT_FIXTURES,
    load_transcript_fixture,
    retell_event,
    signed_delivery,
)

FIXTURE = load_transcript_fixture(
    next(p for p in TRANSCRIPT_FIXTURES if p.stem == "checkin_in_transit_traffic")
)


async def place_call(
    client: httpx.AsyncClient, auth: dict[str, str], placement: Any
) -> tuple[httpx.Response, respx.Route]:
    """Trigger a call while Retell's create-web-call answers with `placement` (a response or side effect)."""
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
        router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
        route = router.post("/v3/create-web-call")
        if isinstance(placement, httpx.Response):
            route.return_value = placement
        else:
            route.side_effect = placement
        response = await client.post(
            "/api/call/trigger",
            json={"driver_name": "Mike Johnson", "phone_number": "+16195550188", "load_number": "7891-B"},
            headers=auth,
        )
    return response, route


async def trigger(client: httpx.AsyncClient, auth: dict[str, str], retell_call_id: str = "call_abc") -> str:
    placed = httpx.Response(201, json={"call_id": retell_call_id, "access_token": "t"})
    response, _ = await place_call(client, auth, placed)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def deliver(
    client: httpx.AsyncClient, event: str, call_id: str | None, **overrides: Any
) -> httpx.Response:
    payload = retell_event(
        event,
        retell_call_id=overrides.pop("retell_call_id", "call_abc"),
        our_call_id=call_id,
        transcript_fixture=FIXTURE,
        **overrides,
    )
    body, headers = signed_delivery(payload)
    return await client.post("/webhook/retell", content=body, headers=headers)


async def get_call(client: httpx.AsyncClient, auth: dict[str, str], call_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/call/{call_id}", headers=auth)
    assert response.status_code == 200
    return dict(response.json())


def ended_body() -> str:
    return json.dumps(
        retell_event("call_ended", retell_call_id="call_x", our_call_id=None, transcript_fixture=FIXTURE)
    )
