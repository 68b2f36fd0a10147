"""The webhook over HTTP: refused unless signed and identifiable, bounded, and kept when merely odd."""

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from tests.support import (
    count_rows,
    execute_sql,
    retell_event,
    sign,
    signed_delivery,
)
from tests.support.app import running_app
from tests.support.webhooks import FIXTURE, deliver, ended_body, get_call, trigger

INVALID = "the signature is invalid or older than five minutes"


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        pytest.param(ended_body(), {}, "the x-retell-signature header is missing", id="unsigned"),
        pytest.param(ended_body(), {"x-retell-signature": "garbage"}, None, id="malformed"),
        pytest.param(
            ended_body(),
            {"x-retell-signature": sign(ended_body(), "someone-elses-key")},
            INVALID,
            id="forged",
        ),
        pytest.param(
            ended_body(),
            {"x-retell-signature": sign(ended_body(), timestamp_ms=int(time.time() * 1000) - 6 * 60 * 1000)},
            INVALID,
            id="stale",
        ),
        pytest.param(ended_body(), {"x-retell-signature": sign(ended_body() + " ")}, INVALID, id="tampered"),
        pytest.param(
            b'{"event": "call_ended\xff"}',
            {"x-retell-signature": sign(ended_body())},
            INVALID,  # the HMAC is checked on the bytes first: they are not what was signed
            id="not-utf-8",
        ),
    ],
)
async def test_unverifiable_deliveries_get_401_saying_why_and_store_nothing(
    client: httpx.AsyncClient,
    clean_database: str,
    body: str | bytes,
    headers: dict[str, str],
    detail: str | None,
) -> None:
    response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidSignature"
    if detail is not None:
        assert response.json()["detail"] == detail
    assert await count_rows(clean_database, "webhook_events") == 0
    assert await count_rows(clean_database, "calls") == 0


async def test_without_a_key_webhooks_get_503_and_store_nothing(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    async with running_app(make_settings(retell_mode="live", retell_api_key=None)) as client:
        body, headers = signed_delivery(json.loads(ended_body()))
        response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 503
    assert response.json() == {
        "error": "WebhookKeyMissing",
        "detail": "RETELL_API_KEY is not set: webhooks cannot be verified, so none are accepted",
    }
    assert await count_rows(clean_database, "webhook_events") == 0
    assert await count_rows(clean_database, "calls") == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "JSON object"),
        ('{"event": "call_ended"}', "`call`"),
        ('{"event": "call_ended", "call": {"agent_id": "a"}}', "call_id"),
        ('{"call": {"call_id": "c"}}', "`event`"),
    ],
)
async def test_signed_but_malformed_deliveries_get_400(
    client: httpx.AsyncClient, clean_database: str, body: str, message: str
) -> None:
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidWebhookPayload"
    assert message in response.json()["detail"]
    assert await count_rows(clean_database, "webhook_events") == 0


@pytest.mark.parametrize(
    "change",
    [
        {"metadata": ["not", "an", "object"]},
        {"start_timestamp": "yesterday"},
        {"duration_ms": 10**15},
        {"end_timestamp": -5},
        {"transcript_object": ["just a string"]},
        {"disconnection_reason": "x" * 500},
        {"from_number": "sip:" + "driver" * 20 + "@carrier.example.com"},
    ],
)
async def test_a_malformed_optional_field_is_ignored_and_the_delivery_kept(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    clean_database: str,
    llm: respx.Route,
    change: dict[str, Any],
) -> None:
    call_id = await trigger(client, auth)
    response = await deliver(client, "call_ended", call_id, **change)
    assert response.status_code == 204
    assert await count_rows(clean_database, "webhook_events") == 1
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["transcript"] == FIXTURE["transcript"]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (
            {"event": "call_ended", "call": {"call_id": "c" * 121}},
            "`call.call_id` must be a string of at most 120 characters",
        ),
        (
            {"event": "call_ended", "call": {"call_id": ""}},
            "`call.call_id` must be a string of at most 120 characters",
        ),
        (
            {"event": "call_ended", "call": {"call_id": 42}},
            "`call.call_id` must be a string of at most 120 characters",
        ),
        ({"event": "e" * 61, "call": {"call_id": "c"}}, "`event` must be a name of at most 60 characters"),
        ({"event": "", "call": {"call_id": "c"}}, "`event` must be a name of at most 60 characters"),
        ({"event": "call_ended"}, "`call` is missing or not an object"),
        ({"event": "call_ended", "call": ["c"]}, "`call` is missing or not an object"),
        ([{"event": "call_ended"}], "the body must be a JSON object"),
    ],
    ids=[
        "long-call-id",
        "empty-call-id",
        "numeric-call-id",
        "long-event",
        "empty-event",
        "no-call",
        "call-not-an-object",
        "not-an-object",
    ],
)
async def test_a_delivery_that_cannot_be_identified_gets_400(
    client: httpx.AsyncClient, clean_database: str, payload: Any, detail: str
) -> None:
    body = json.dumps(payload)
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 400
    assert response.json() == {"error": "InvalidWebhookPayload", "detail": detail}
    assert await count_rows(clean_database, "webhook_events") == 0
    assert await count_rows(clean_database, "calls") == 0


async def test_deeply_nested_or_oversized_bodies_are_4xx(
    client: httpx.AsyncClient, clean_database: str
) -> None:
    nested = '{"event": "call_ended", "call": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = await client.post(
        "/webhook/retell", content=nested, headers={"x-retell-signature": sign(nested)}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "InvalidWebhookPayload",
        "detail": "the body is not JSON this service can read (nested too deep)",
    }
    huge = '{"event": "call_ended", "call": {"call_id": "c", "transcript": "' + "a" * 21_000_000 + '"}}'
    response = await client.post("/webhook/retell", content=huge, headers={"x-retell-signature": "v=1,d=0"})
    assert response.status_code == 413
    assert response.json() == {"error": "PayloadTooLarge", "detail": "the request body may be at most 20 MB"}
    assert await count_rows(clean_database, "webhook_events") == 0


async def test_a_chunked_oversized_upload_is_cut_off(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(25):
            yield b"a" * 1_000_000

    # Well-formed and current, so only the body can refuse it: the cap cuts it while it is read.
    plausible = f"v={int(time.time() * 1000)},d={'0' * 64}"
    response = await client.post(
        "/webhook/retell", content=chunks(), headers={"x-retell-signature": plausible}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(("call_id", "status"), [("\x00", 400), ("abc\x00", 204)])
async def test_nul_in_the_call_id_is_handled_before_validation(
    client: httpx.AsyncClient, clean_database: str, call_id: str, status: int
) -> None:
    body = json.dumps({"event": "call_started", "call": {"call_id": call_id}})  # NUL travels as an escape
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == status  # a call id of only NUL is no id at all
    stored = await execute_sql(clean_database, "SELECT MAX(retell_call_id) FROM webhook_events")
    assert stored == (None if status == 400 else "abc")


async def test_lone_surrogates_and_long_addresses_still_store_the_event(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, llm: respx.Route
) -> None:
    payload = retell_event(
        "call_ended", retell_call_id="call_sip", our_call_id=None, transcript_fixture=FIXTURE
    )
    payload["call"]["to_number"] = "sip:driver-7781@trunk.carrier.example.com"
    body = json.dumps(payload).replace("Traffic's been pretty heavy", "Traffic\\ud800 pretty heavy")
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 204
    assert await count_rows(clean_database, "webhook_events") == 1
    item = (await client.get("/api/call", headers=auth)).json()["items"][0]
    assert item["phone_number"] is None
    assert item["status"] == "completed"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            '{"event": "call_started", "call": {"call_id": "c3"}, "call\\u0000": 1}', id="dirty-key"
        ),
        pytest.param('{"event": "call_started", "call": {"call_id": "c3", "duration_ms": 1e400}}', id="inf"),
        pytest.param(
            '{"event": "call_started", "call": {"call_id": "c3", "metadata": {"x": NaN}}}', id="nan"
        ),
        pytest.param(
            '{"event": "call_started", "call": {"call_id": "c3", "metadata": {"x": -Infinity}}}',
            id="infinity",
        ),
    ],
)
async def test_odd_but_identifiable_deliveries_are_stored(
    client: httpx.AsyncClient, clean_database: str, body: str
) -> None:
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 204
    assert await count_rows(clean_database, "webhook_events") == 1
    # Stored as standard JSON, which PostgreSQL's json accepts: no NUL, no NaN, no Infinity.
    stored = await execute_sql(clean_database, "SELECT CAST(payload AS TEXT) FROM webhook_events")
    assert "\\u0000" not in stored
    json.loads(stored, parse_constant=lambda name: pytest.fail(f"{name} stored in the payload"))


@pytest.mark.parametrize(
    ("event", "call_id"),
    [("e", "c"), ("e" * 60, "c" * 120)],
    ids=["shortest", "longest"],
)
async def test_the_shortest_and_longest_event_and_call_id_are_accepted(
    client: httpx.AsyncClient, clean_database: str, event: str, call_id: str
) -> None:
    body = json.dumps({"event": event, "call": {"call_id": call_id}})
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 204
    assert await execute_sql(clean_database, "SELECT event || ' ' || retell_call_id FROM webhook_events") == (
        f"{event} {call_id}"
    )


async def test_a_key_with_nul_is_stored_cleaned_beside_the_clean_key_it_would_collide_with(
    client: httpx.AsyncClient, clean_database: str
) -> None:
    # Retell's JSON may carry NUL in keys too; PostgreSQL's json cannot hold it. The cleaned key must not
    # overwrite the clean one, and what it holds is cleaned as well.
    metadata = '{"tool": "a", "to\\u0000ol": {"x\\u0000": ["b\\u0000"]}, "to\\u0000ol\\u0000": 2}'
    body = '{"event": "call_started", "call": {"call_id": "c4", "metadata": ' + metadata + "}}"
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 204
    stored = json.loads(await execute_sql(clean_database, "SELECT CAST(payload AS TEXT) FROM webhook_events"))
    assert stored["call"]["metadata"] == {"tool": "a", "tool~": {"x": ["b"]}, "tool~~": 2}


@pytest.mark.parametrize(
    "nested", ["[" * 600 + "]" * 600, '{"a": ' * 600 + "1" + "}" * 600], ids=["arrays", "objects"]
)
async def test_a_delivery_nested_too_deep_for_cleaning_is_a_400(
    client: httpx.AsyncClient, clean_database: str, nested: str
) -> None:
    body = '{"event": "call_started", "call": {"call_id": "c", "metadata": ' + nested + "}}"
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 400
    assert response.json() == {
        "error": "InvalidWebhookPayload",
        "detail": "the body is nested too deep to be a Retell delivery",
    }
    assert await count_rows(clean_database, "webhook_events") == 0
