"""The webhook never 500s and never refuses a delivery it can identify (issue 11, findings 4 and 5).

Odd numbers are left out of the call but kept in the stored payload; a malformed signature header is a
401; a delivery whose metadata and Retell id name two different calls is applied to the metadata's call.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from loguru import logger

from app.config import Settings
from tests.support import (
    RETELL_BASE_URL,
    count_rows,
    execute_sql,
    load_retell_fixture,
    retell_event,
    sign,
    signed_delivery,
)
from tests.support.app import login, running_app
from tests.support.webhooks import FIXTURE

START_MS = 1_764_140_400_123  # 2025-11-26, a real call time
RECORDING_URL = load_retell_fixture("call_ended")["call"]["recording_url"]
DAY_MS = 86_400_000


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the offline rules extractor, so no LLM needs mocking."""
    async with running_app(make_settings(extractor="rules")) as client:
        yield client


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client)


async def deliver(
    client: httpx.AsyncClient,
    event: str,
    retell_call_id: str,
    *,
    our_call_id: str | None = None,
    drop: tuple[str, ...] = (),
    **changes: Any,
) -> httpx.Response:
    payload = retell_event(
        event, retell_call_id=retell_call_id, our_call_id=our_call_id, transcript_fixture=FIXTURE, **changes
    )
    for key in drop:
        payload["call"].pop(key, None)
    body, headers = signed_delivery(payload)
    return await client.post("/webhook/retell", content=body, headers=headers)


async def only_call(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    items = (await client.get("/api/call", headers=auth)).json()["items"]
    assert len(items) == 1
    return dict((await client.get(f"/api/call/{items[0]['id']}", headers=auth)).json())


async def stored_call_field(database_url: str, event: str, field: str) -> Any:
    payload = await execute_sql(database_url, f"SELECT payload FROM webhook_events WHERE event = '{event}'")
    return (json.loads(payload) if isinstance(payload, str) else payload)["call"][field]


async def test_a_start_timestamp_of_zero_is_left_out_and_the_transcript_kept(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    # Before: the duration computed from 0 overflowed PostgreSQL's INT column: a 422, the transcript lost.
    response = await deliver(client, "call_ended", "call_zero", start_timestamp=0, drop=("duration_ms",))
    assert response.status_code == 204
    call = await only_call(client, auth)
    assert call["transcript"] == FIXTURE["transcript"]
    assert call["started_at"] is None
    assert call["ended_at"] is not None
    assert call["duration_ms"] is None
    assert await stored_call_field(clean_database, "call_ended", "start_timestamp") == 0


async def test_an_end_before_the_start_never_makes_a_negative_duration(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    response = await deliver(
        client,
        "call_ended",
        "call_backwards",
        start_timestamp=START_MS,
        end_timestamp=START_MS - 60_000,
        drop=("duration_ms",),
    )
    assert response.status_code == 204
    call = await only_call(client, auth)
    assert call["duration_ms"] is None
    assert call["ended_at"] is None
    assert call["started_at"] is not None
    assert call["transcript"] == FIXTURE["transcript"]
    assert await stored_call_field(clean_database, "call_ended", "end_timestamp") == START_MS - 60_000


@pytest.mark.parametrize(
    ("end_offset_ms", "duration_ms"),
    [(90_000, 90_000), (30 * DAY_MS, None), (-5_000, None)],
    ids=["plausible", "overflowing", "negative"],
)
async def test_a_duration_computed_from_the_stored_start_is_kept_only_when_it_fits(
    client: httpx.AsyncClient, auth: dict[str, str], end_offset_ms: int, duration_ms: int | None
) -> None:
    assert (await deliver(client, "call_started", "call_split", start_timestamp=START_MS)).status_code == 204
    response = await deliver(
        client,
        "call_ended",
        "call_split",
        end_timestamp=START_MS + end_offset_ms,
        drop=("start_timestamp", "duration_ms"),
    )
    assert response.status_code == 204
    call = await only_call(client, auth)
    assert call["duration_ms"] == duration_ms
    assert call["transcript"] == FIXTURE["transcript"]


@pytest.mark.parametrize(
    "signature",
    [
        "v=" + "9" * 5000 + ",d=" + "a" * 64,
        "v=" + "1" * 20 + ",d=" + "a" * 64,
        "v=\u0661\u0662\u0663,d=" + "a" * 64,  # Arabic-Indic digits: `\d` in Python, not a timestamp
        "v=1764140400123,d=" + "A" * 64,
        "v=1764140400123,d=" + "a" * 64 + "," * 3,
        "v=,d=",
        "garbage",
    ],
    ids=["5000-digits", "20-digits", "unicode-digits", "uppercase-hex", "trailing", "empty", "garbage"],
)
async def test_a_malformed_signature_header_is_a_401(
    client: httpx.AsyncClient, clean_database: str, signature: str
) -> None:
    body = json.dumps(retell_event("call_started", retell_call_id="call_sig", our_call_id=None))
    response = await client.post(
        "/webhook/retell", content=body, headers={"x-retell-signature": signature.encode()}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "InvalidSignature"
    assert await count_rows(clean_database, "webhook_events") == 0
    assert await count_rows(clean_database, "calls") == 0


async def test_the_signature_still_holds_after_the_format_check(client: httpx.AsyncClient) -> None:
    body = json.dumps(retell_event("call_started", retell_call_id="call_sig", our_call_id=None))
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 204


async def test_metadata_and_retell_id_naming_two_calls_apply_to_the_metadata_call(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    # Our call X: the trigger failed, so it has no Retell id yet.
    with respx.mock(base_url=RETELL_BASE_URL) as router:
        router.post("/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
        router.post("/create-agent").respond(200, json={"agent_id": "agent_1"})
        router.post("/v3/create-web-call").respond(500, json={"error": "down"})
        response = await client.post(
            "/api/call/trigger",
            json={"driver_name": "Mike Johnson", "phone_number": "+16195550188", "load_number": "7891-B"},
            headers=auth,
        )
    assert response.status_code == 502
    ours = (await client.get("/api/call", headers=auth)).json()["items"][0]["id"]
    # Call Y: started from Retell's dashboard, and it holds the Retell id the next delivery carries.
    assert (await deliver(client, "call_started", "call_shared")).status_code == 204
    other = next(
        item["id"]
        for item in (await client.get("/api/call", headers=auth)).json()["items"]
        if item["retell_call_id"] == "call_shared"
    )
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(str(message)), level="WARNING")
    try:
        # Before: X took Y's Retell id, a unique violation, a 500 that Retell would retry forever.
        response = await deliver(client, "call_ended", "call_shared", our_call_id=ours)
    finally:
        logger.remove(sink)
    assert response.status_code == 204
    assert await count_rows(clean_database, "webhook_events") == 2
    stored_for = await execute_sql(
        clean_database, "SELECT call_id FROM webhook_events WHERE event = 'call_ended'"
    )
    assert str(stored_for).replace("-", "") == ours.replace("-", "")
    mine = (await client.get(f"/api/call/{ours}", headers=auth)).json()
    assert mine["transcript"] == FIXTURE["transcript"]
    assert mine["status"] in ("ended", "processing", "completed")
    assert mine["retell_call_id"] is None
    theirs = (await client.get(f"/api/call/{other}", headers=auth)).json()
    assert theirs["status"] == "ongoing"
    assert theirs["transcript"] is None
    assert any("call_shared" in line and ours in line for line in warnings)


async def test_a_transcript_arriving_after_a_wordless_call_ended_is_still_extracted(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    # Only the delivery that first ends a call with a transcript schedules its extraction; a call that
    # ended without words has not been scheduled, so the later transcript must be.
    drop = ("transcript", "transcript_object", "transcript_with_tool_calls")
    assert (await deliver(client, "call_ended", "call_late_words", drop=drop)).status_code == 204
    assert (await only_call(client, auth))["status"] == "ended"
    assert (await deliver(client, "call_analyzed", "call_late_words")).status_code == 204
    for _ in range(200):
        call = await only_call(client, auth)
        if call["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert call["status"] == "completed"
    assert call["result"]["call_outcome"] == FIXTURE["expected"]["call_outcome"]


async def test_concurrent_first_deliveries_of_an_unknown_call_create_it_once(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    # Each races to create the call; the losers' statement fails on the foreign key and is retried,
    # finding the winner's call. Every delivery is stored and linked to that one call.
    events = ["call_started", "call_ended", "call_analyzed"] + [f"transcript_updated_{n}" for n in range(9)]

    async def send(event: str) -> httpx.Response:
        template = event if event.startswith("call_") else "call_started"
        payload = retell_event(
            template, retell_call_id="call_racing", our_call_id=None, transcript_fixture=FIXTURE
        )
        payload["event"] = event
        body, headers = signed_delivery(payload)
        return await client.post("/webhook/retell", content=body, headers=headers)

    responses = await asyncio.gather(*(send(event) for event in events))
    assert [response.status_code for response in responses] == [204] * len(events)
    assert await count_rows(clean_database, "calls") == 1
    assert await count_rows(clean_database, "webhook_events") == len(events)
    linked = await execute_sql(
        clean_database, "SELECT COUNT(DISTINCT call_id) FROM webhook_events WHERE call_id IS NOT NULL"
    )
    assert linked == 1
    call = await only_call(client, auth)
    assert call["transcript"] == FIXTURE["transcript"]
    assert call["status"] in ("ended", "processing", "completed")


async def test_call_times_are_stored_as_the_instants_retell_sent_on_a_host_not_set_to_utc(
    host_clock_not_on_utc: None, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await deliver(
        client, "call_ended", "call_local_clock", start_timestamp=START_MS, end_timestamp=START_MS + 90_000
    )
    assert response.status_code == 204
    call = await only_call(client, auth)
    # 2025-11-26 07:00:00.123 UTC, whatever the server's own zone.
    assert datetime.fromisoformat(call["started_at"]) == datetime.fromtimestamp(START_MS / 1000, UTC)
    assert datetime.fromisoformat(call["ended_at"]) == datetime.fromtimestamp((START_MS + 90_000) / 1000, UTC)


async def test_retells_analysis_with_a_number_json_cannot_hold_keeps_the_rest_of_it(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    payload = retell_event(
        "call_analyzed", retell_call_id="call_inf", our_call_id=None, transcript_fixture=FIXTURE
    )
    payload["call"]["call_analysis"] = {
        "call_summary": "Driver is on time.",
        "custom_analysis_data": {"miles": 0},
    }
    body = json.dumps(payload).replace('"miles": 0', '"miles": 1e400')  # too large for a float: read as inf
    response = await client.post("/webhook/retell", content=body, headers={"x-retell-signature": sign(body)})
    assert response.status_code == 204
    call = await only_call(client, auth)
    assert call["call_summary"] == "Driver is on time."
    stored = await execute_sql(clean_database, "SELECT CAST(call_analysis AS TEXT) FROM calls")
    assert json.loads(stored) == {
        "call_summary": "Driver is on time.",
        "custom_analysis_data": {"miles": None},
    }


async def test_only_call_analyzed_sets_retells_analysis_whatever_order_the_deliveries_come_in(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Retell's analysis is final only in `call_analyzed`. A `call_ended` that carries one of its own
    shows nothing before it, and arriving after it (deliveries out of order) does not replace it."""
    final = {"call_summary": "Driver confirmed arrival at the receiver.", "user_sentiment": "Positive"}
    stale = {"call_summary": "not final yet"}

    assert (await deliver(client, "call_ended", "call_in_order", call_analysis=stale)).status_code == 204
    (listed,) = (await client.get("/api/call", headers=auth)).json()["items"]
    assert (await client.get(f"/api/call/{listed['id']}", headers=auth)).json()["call_summary"] is None
    assert (await deliver(client, "call_analyzed", "call_in_order", call_analysis=final)).status_code == 204
    detail = (await client.get(f"/api/call/{listed['id']}", headers=auth)).json()
    assert detail["call_summary"] == final["call_summary"]

    assert (await deliver(client, "call_analyzed", "call_reversed", call_analysis=final)).status_code == 204
    assert (await deliver(client, "call_ended", "call_reversed", call_analysis=stale)).status_code == 204
    items = (await client.get("/api/call", headers=auth)).json()["items"]
    reversed_id = next(item["id"] for item in items if item["id"] != listed["id"])
    detail = (await client.get(f"/api/call/{reversed_id}", headers=auth)).json()
    assert detail["call_summary"] == final["call_summary"]


async def test_an_analysis_without_a_transcript_arriving_before_call_ended_does_not_end_the_call(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Only `call_ended` says a call is over. An early `call_analyzed` with no transcript (deliveries out
    of order) leaves a started call ongoing, and a call first heard of that way merely registered."""
    assert (await deliver(client, "call_started", "call_early_analysis")).status_code == 204
    early = await deliver(
        client, "call_analyzed", "call_early_analysis", drop=("transcript", "transcript_object")
    )
    assert early.status_code == 204
    started = await only_call(client, auth)
    assert (started["status"], started["status_detail"]) == ("ongoing", None)

    first = await deliver(
        client, "call_analyzed", "call_heard_late", drop=("transcript", "transcript_object")
    )
    assert first.status_code == 204
    items = (await client.get("/api/call", headers=auth)).json()["items"]
    heard_id = next(item["id"] for item in items if item["id"] != started["id"])
    heard = (await client.get(f"/api/call/{heard_id}", headers=auth)).json()
    assert (heard["status"], heard["status_detail"]) == ("registered", None)


async def test_a_call_first_heard_of_ending_without_a_transcript_says_so(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """A call started outside this backend whose first delivery is a `call_ended` with a start but no
    words: ended, and the dashboard is told there is nothing to extract."""
    ended = await deliver(
        client, "call_ended", "call_silent_unknown", drop=("transcript", "transcript_object")
    )
    assert ended.status_code == 204
    call = await only_call(client, auth)
    assert (call["status"], call["status_detail"]) == (
        "ended",
        "the call ended without a transcript: there is nothing to extract",
    )


async def _detail_of_the_only_call_with(
    client: httpx.AsyncClient, auth: dict[str, str], retell_id: str
) -> Any:
    items = (await client.get("/api/call", params={"limit": 100}, headers=auth)).json()["items"]
    (listed,) = [item for item in items if item["retell_call_id"] == retell_id]
    return (await client.get(f"/api/call/{listed['id']}", headers=auth)).json()


@pytest.mark.parametrize(
    ("span_ms", "duration_ms"),
    [(90_123, 90_123), (0, 0), (2**31 - 1, 2**31 - 1), (2**31, None)],
    ids=["call", "zero", "longest-that-fits", "too-long-for-the-column"],
)
async def test_without_retells_duration_one_delivery_s_timestamps_give_it_when_it_fits(
    client: httpx.AsyncClient, auth: dict[str, str], span_ms: int, duration_ms: int | None
) -> None:
    response = await deliver(
        client,
        "call_ended",
        "call_span",
        start_timestamp=START_MS,
        end_timestamp=START_MS + span_ms,
        drop=("duration_ms",),
    )
    assert response.status_code == 204
    assert (await _detail_of_the_only_call_with(client, auth, "call_span"))["duration_ms"] == duration_ms


async def test_a_call_started_outside_this_backend_shows_what_retell_said_about_it(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    """A call placed from Retell's dashboard (not through our trigger) is created from its first delivery:
    the driver, load and context from its dynamic variables, the driver's number, its configuration."""
    default_config = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]["id"]
    await execute_sql(clean_database, "UPDATE agent_configurations SET retell_agent_id = 'agent_dash'")
    variables = {"driver_name": "Ana Ruiz", "load_number": "LD-88", "origin": "Phoenix, AZ", "stops": 3}
    response = await deliver(
        client,
        "call_ended",
        "call_dash",
        agent_id="agent_dash",
        call_type="web_call",
        direction="outbound",
        to_number="+14155550199",
        retell_llm_dynamic_variables=variables,
    )
    assert response.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_dash")
    assert (call["driver_name"], call["load_number"]) == ("Ana Ruiz", "LD-88")
    assert call["context"] == {"origin": "Phoenix, AZ", "stops": "3"}
    assert (call["call_type"], call["phone_number"]) == ("web", "+14155550199")
    assert call["agent_config_id"] == default_config
    turns = [{"role": turn["role"], "content": turn["content"]} for turn in FIXTURE["transcript_object"]]
    assert call["transcript_turns"] == turns
    assert call["recording_url"] == RECORDING_URL
    assert call["public_log_url"] == load_retell_fixture("call_ended")["call"]["public_log_url"]
    assert call["disconnection_reason"] == FIXTURE["disconnection_reason"]


async def test_an_inbound_call_started_outside_this_backend_keeps_the_callers_number(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await deliver(
        client,
        "call_started",
        "call_inbound",
        call_type="phone_call",
        direction="inbound",
        from_number="+16195550123",
        to_number="+14155550100",
        retell_llm_dynamic_variables={},
    )
    assert response.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_inbound")
    assert (call["call_type"], call["phone_number"]) == ("phone", "+16195550123")
    assert (call["driver_name"], call["load_number"], call["context"]) == ("Unknown driver", "unknown", {})


@pytest.mark.parametrize(
    ("number", "kept"),
    [("+" + "1" * 19, True), ("+" + "1" * 20, False)],
    ids=["20-characters", "21-characters"],
)
async def test_a_driver_number_longer_than_e164_allows_is_left_out_and_the_call_kept(
    client: httpx.AsyncClient, auth: dict[str, str], number: str, kept: bool
) -> None:
    assert (await deliver(client, "call_started", "call_number", to_number=number)).status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_number")
    assert call["phone_number"] == (number if kept else None)


async def test_names_longer_than_their_columns_are_cut_to_fit_and_the_call_kept(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    variables = {"driver_name": "D" * 250, "load_number": "L" * 80}
    response = await deliver(client, "call_started", "call_long", retell_llm_dynamic_variables=variables)
    assert response.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_long")
    assert (call["driver_name"], call["load_number"]) == ("D" * 200, "L" * 60)


async def test_a_later_delivery_without_turns_keeps_the_transcript_turns(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert (await deliver(client, "call_ended", "call_turns")).status_code == 204
    thin = await deliver(client, "call_analyzed", "call_turns", drop=("transcript_object",))
    assert thin.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_turns")
    assert [turn["content"] for turn in call["transcript_turns"]] == [
        turn["content"] for turn in FIXTURE["transcript_object"]
    ]


@pytest.mark.parametrize("reason", ["dial_no_answer", "dial_busy", "dial_failed"])
async def test_a_dial_that_never_reached_the_driver_is_not_connected_even_with_a_start_time(
    client: httpx.AsyncClient, auth: dict[str, str], reason: str
) -> None:
    response = await deliver(
        client,
        "call_ended",
        "call_dial",
        disconnection_reason=reason,
        start_timestamp=START_MS,
        drop=("transcript", "transcript_object"),
    )
    assert response.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_dial")
    assert (call["status"], call["disconnection_reason"]) == ("not_connected", reason)


async def test_a_later_delivery_with_empty_texts_never_blanks_what_an_earlier_one_said(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert (await deliver(client, "call_ended", "call_blank")).status_code == 204
    empty = {"recording_url": "", "public_log_url": "", "disconnection_reason": "", "transcript": ""}
    assert (await deliver(client, "call_analyzed", "call_blank", **empty)).status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_blank")
    assert call["recording_url"] == RECORDING_URL
    assert call["disconnection_reason"] == FIXTURE["disconnection_reason"]
    assert call["transcript"] == FIXTURE["transcript"]


async def test_an_end_before_the_start_drops_retells_duration_with_it(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Times that contradict each other say nothing reliable about the call's length either."""
    response = await deliver(
        client,
        "call_ended",
        "call_contradicting",
        start_timestamp=START_MS,
        end_timestamp=START_MS - 1,
        duration_ms=60_000,
    )
    assert response.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_contradicting")
    assert (call["ended_at"], call["duration_ms"]) == (None, None)


async def test_a_call_across_a_daylight_saving_change_on_a_host_not_set_to_utc_lasts_what_it_lasted(
    monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Clocks in New York went back at 06:00 UTC on 2025-11-02: a call from 05:30 to 06:30 UTC reads
    01:30 to 01:30 on the host's wall clock, and still lasted an hour."""
    monkeypatch.setenv("TZ", "EST5EDT,M3.2.0,M11.1.0")
    time.tzset()
    try:
        start = 1_762_061_400_000  # 2025-11-02 05:30 UTC
        response = await deliver(
            client,
            "call_ended",
            "call_dst",
            start_timestamp=start,
            end_timestamp=start + 3_600_000,
            drop=("duration_ms",),
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert response.status_code == 204
    call = await _detail_of_the_only_call_with(client, auth, "call_dst")
    assert call["duration_ms"] == 3_600_000
    assert datetime.fromisoformat(call["started_at"]) == datetime.fromtimestamp(start / 1000, UTC)
