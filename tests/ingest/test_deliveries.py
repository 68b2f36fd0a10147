"""What deliveries do to a call: applied once, in order, forward only, extracted exactly once."""

import asyncio
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
import respx

from app.config import Settings
from tests.support import (
    OPENAI_BASE_URL,
    count_rows,
    execute_sql,
    openai_tool_response,
    retell_event,
    signed_delivery,
)
from tests.support.app import login, running_app
from tests.support.webhooks import FIXTURE, deliver, get_call, place_call, trigger


async def test_a_transcript_before_call_ended_does_not_strand_a_call_the_trigger_gave_up_on(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    await place_call(client, auth, httpx.ReadTimeout("slow"))
    call_id = (await client.get("/api/call", headers=auth)).json()["items"][0]["id"]
    update = retell_event(
        "call_ended", retell_call_id="call_abc", our_call_id=call_id, transcript_fixture=FIXTURE
    )
    update["event"] = "transcript_updated"  # carries the transcript but sets no status
    body, headers = signed_delivery(update)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    await deliver(client, "call_ended", call_id)
    assert (await get_call(client, auth, call_id))["status"] == "completed"
    assert llm.call_count == 1


async def test_a_call_the_trigger_gave_up_on_follows_retell_when_it_did_happen(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    response, place = await place_call(client, auth, httpx.ReadTimeout("slow"))
    assert response.status_code == 502
    assert response.json()["error"] == "UpstreamError"
    assert place.call_count == 1  # a timed-out placement is never retried: it may have dialled already
    call_id = (await client.get("/api/call", headers=auth)).json()["items"][0]["id"]
    assert (await get_call(client, auth, call_id))["status"] == "failed"
    # Retell did place it: its webhooks carry our id in the metadata.
    await deliver(client, "call_started", call_id)
    await deliver(client, "call_ended", call_id)
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["retell_call_id"] == "call_abc"
    assert detail["status_detail"] is None


async def test_a_thin_early_delivery_does_not_pin_a_call_as_never_connected(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    thin = retell_event("call_analyzed", retell_call_id="call_abc", our_call_id=call_id)
    for key in ("transcript", "transcript_object", "transcript_with_tool_calls", "start_timestamp"):
        thin["call"].pop(key)
    body, headers = signed_delivery(thin)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    assert (await get_call(client, auth, call_id))["status"] == "not_connected"
    await deliver(client, "call_ended", call_id)
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["result"] is not None


async def test_a_connected_call_without_words_ends_with_a_note(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    payload = retell_event("call_ended", retell_call_id="call_abc", our_call_id=call_id)
    for key in ("transcript", "transcript_object", "transcript_with_tool_calls"):
        payload["call"].pop(key)
    body, headers = signed_delivery(payload)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "ended"
    assert "without a transcript" in detail["status_detail"]
    assert llm.call_count == 0


async def test_nul_characters_are_dropped_not_fatal(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    response = await deliver(
        client, "call_ended", call_id, transcript="Agent: Hi\x00 there\nUser: Driving.\n"
    )
    assert response.status_code == 204
    detail = await get_call(client, auth, call_id)
    assert detail["transcript"] == "Agent: Hi there\nUser: Driving.\n"


async def test_duplicate_call_ended_is_processed_once(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    assert (await deliver(client, "call_ended", call_id)).status_code == 204
    assert (await deliver(client, "call_ended", call_id)).status_code == 204
    assert llm.call_count == 1
    assert await count_rows(clean_database, "webhook_events") == 1
    assert await count_rows(clean_database, "call_results") == 1
    assert (await get_call(client, auth, call_id))["status"] == "completed"


async def test_twenty_concurrent_copies_of_call_ended_run_one_extraction(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    responses = await asyncio.gather(*(deliver(client, "call_ended", call_id) for _ in range(20)))
    assert [r.status_code for r in responses] == [204] * 20
    assert llm.call_count == 1
    assert await count_rows(clean_database, "webhook_events") == 1
    assert await count_rows(clean_database, "call_results") == 1
    assert (await get_call(client, auth, call_id))["status"] == "completed"


async def test_call_analyzed_before_call_ended(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    assert (await deliver(client, "call_analyzed", call_id)).status_code == 204
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["call_summary"].startswith("The driver reported")
    assert (await deliver(client, "call_ended", call_id)).status_code == 204
    assert (await deliver(client, "call_started", call_id)).status_code == 204
    assert llm.call_count == 1
    after = await get_call(client, auth, call_id)
    assert after["status"] == "completed"
    assert after["call_summary"] == detail["call_summary"]


async def test_a_failed_dial_ends_not_connected_without_llm_work(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    payload = retell_event("call_ended", retell_call_id="call_abc", our_call_id=call_id)
    for key in (
        "transcript",
        "transcript_object",
        "transcript_with_tool_calls",
        "start_timestamp",
        "duration_ms",
    ):
        payload["call"].pop(key)
    payload["call"]["disconnection_reason"] = "dial_no_answer"
    body, headers = signed_delivery(payload)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "not_connected"
    assert detail["disconnection_reason"] == "dial_no_answer"
    assert detail["result"] is None
    assert llm.call_count == 0


async def test_a_never_connected_calls_own_stream_sends_its_state_then_end(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    # Without `end` the dashboard would show a spinner until the stream's 30-minute limit.
    call_id = await trigger(client, auth)
    payload = retell_event("call_ended", retell_call_id="call_abc", our_call_id=call_id)
    for key in (
        "transcript",
        "transcript_object",
        "transcript_with_tool_calls",
        "start_timestamp",
        "duration_ms",
    ):
        payload["call"].pop(key)
    payload["call"]["disconnection_reason"] = "dial_no_answer"
    body, headers = signed_delivery(payload)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    try:
        # The in-process client returns once the stream ends: only `end` ends it.
        stream = await asyncio.wait_for(client.get(f"/api/call/{call_id}/events", headers=auth), timeout=10)
    except TimeoutError:
        raise AssertionError("the not_connected call's stream sent no `end` within 10 s") from None
    names = [line.removeprefix("event: ") for line in stream.text.splitlines() if line.startswith("event: ")]
    assert names == ["status", "end"], stream.text
    final = json.loads([line for line in stream.text.splitlines() if line.startswith("data: ")][-1][6:])
    assert final["status"] == "not_connected"


async def test_llm_failure_is_retried_then_succeeds(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    call_id = await trigger(client, auth)
    with respx.mock() as router:
        route = router.post(f"{OPENAI_BASE_URL}/chat/completions")
        route.side_effect = [
            httpx.Response(500, json={"error": {"message": "overloaded"}}),
            httpx.Response(200, json=openai_tool_response({"result": FIXTURE["expected"]})),
        ]
        assert (await deliver(client, "call_ended", call_id)).status_code == 204
    assert route.call_count == 2
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["result"]["eta"] == FIXTURE["expected"]["eta"]


async def test_llm_failing_every_attempt_fails_the_call_and_keeps_the_transcript(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    call_id = await trigger(client, auth)
    with respx.mock() as router:
        route = router.post(f"{OPENAI_BASE_URL}/chat/completions").respond(
            503, json={"error": {"message": "down"}}
        )
        assert (await deliver(client, "call_ended", call_id)).status_code == 204
    assert route.call_count == 3  # EXTRACTION_MAX_ATTEMPTS
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "failed"
    assert "3 attempt" in detail["status_detail"]
    assert detail["transcript"] == FIXTURE["transcript"]
    assert detail["result"] is None

    with respx.mock() as router:
        router.post(f"{OPENAI_BASE_URL}/chat/completions").respond(
            200, json=openai_tool_response({"result": FIXTURE["expected"]})
        )
        response = await client.post(f"/api/call/{call_id}/reprocess", headers=auth)
        assert response.status_code == 202
        # The answer is the call as the reprocess left it: back to `ended`, the old error gone.
        assert (response.json()["status"], response.json()["status_detail"]) == ("ended", None)
        assert response.json()["result"] is None
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["status_detail"] is None
    assert detail["result"]["call_outcome"] == "In-Transit Update"


async def test_a_trigger_timing_out_after_the_call_completed_does_not_fail_it(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    async def slow_placement(request: httpx.Request) -> httpx.Response:
        # Retell dials and the whole call plays out before our request to it times out.
        call_id = json.loads(request.content)["metadata"]["call_id"]
        for event in ("call_started", "call_ended"):
            assert (await deliver(client, event, call_id)).status_code == 204
        raise httpx.ReadTimeout("too slow")

    response, _ = await place_call(client, auth, slow_placement)
    assert response.status_code == 502
    call_id = (await client.get("/api/call", headers=auth)).json()["items"][0]["id"]
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["result"]["call_outcome"] == "In-Transit Update"


async def test_a_failed_reprocess_does_not_leave_the_old_result_looking_current(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    await deliver(client, "call_ended", call_id)
    assert (await get_call(client, auth, call_id))["status"] == "completed"
    llm.respond(500, json={"error": {"message": "down"}})
    assert (await client.post(f"/api/call/{call_id}/reprocess", headers=auth)).status_code == 202
    detail = await get_call(client, auth, call_id)
    assert (detail["status"], detail["call_outcome"], detail["result"]) == ("failed", None, None)
    listed = await client.get("/api/call", params={"call_outcome": "In-Transit Update"}, headers=auth)
    assert listed.json()["items"] == []


async def test_a_not_connected_call_with_a_transcript_can_be_reprocessed(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    await execute_sql(
        clean_database, "UPDATE calls SET status = 'not_connected', transcript = 'User: I-80 near Reno'"
    )
    response = await client.post(f"/api/call/{call_id}/reprocess", headers=auth)
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["result"]) == ("ended", None)
    detail = await get_call(client, auth, call_id)
    assert detail["status"] == "completed"
    assert detail["result"]["call_outcome"] == "In-Transit Update"


async def test_reprocess_is_refused_while_running_or_without_transcript(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    call_id = await trigger(client, auth)
    response = await client.post(f"/api/call/{call_id}/reprocess", headers=auth)
    assert response.status_code == 409
    assert response.json()["error"] == "NothingToExtract"
    assert "no transcript" in response.json()["detail"]
    # Another worker is extracting this call right now.
    await execute_sql(
        clean_database,
        "UPDATE calls SET status = 'processing', transcript = 'Agent: hi' WHERE id IS NOT NULL",
    )
    response = await client.post(f"/api/call/{call_id}/reprocess", headers=auth)
    assert response.status_code == 409
    assert response.json()["error"] == "ExtractionRunning"
    missing = await client.post("/api/call/00000000-0000-0000-0000-000000000000/reprocess", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"] == "CallNotFound"


async def test_a_call_we_did_not_start_is_created_from_the_payload(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    for event in ("call_started", "call_ended", "call_analyzed"):
        response = await deliver(client, event, None, retell_call_id="call_from_retell_dashboard")
        assert response.status_code == 204
    page = (await client.get("/api/call", headers=auth)).json()
    assert len(page["items"]) == 1
    item = page["items"][0]
    assert item["retell_call_id"] == "call_from_retell_dashboard"
    assert item["driver_name"] == "Mike Johnson"
    assert item["load_number"] == "7891-B"
    assert item["phone_number"] == "+16195550188"
    assert item["status"] == "completed"
    assert llm.call_count == 1


async def test_out_of_order_call_started_never_moves_a_call_back(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth)
    await deliver(client, "call_ended", call_id)
    await deliver(client, "call_started", call_id)
    assert (await get_call(client, auth, call_id))["status"] == "completed"


async def test_other_events_are_stored_and_acknowledged(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    call_id = await trigger(client, auth)
    payload = retell_event("call_started", retell_call_id="call_abc", our_call_id=call_id)
    payload["event"] = "transcript_updated"
    body, headers = signed_delivery(payload)
    response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 204
    assert await count_rows(clean_database, "webhook_events") == 1
    assert await execute_sql(clean_database, "SELECT event FROM webhook_events") == "transcript_updated"
    assert (await get_call(client, auth, call_id))["status"] == "registered"


async def test_without_openai_key_the_call_stays_ended_with_a_note(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(extractor="openai", openai_api_key=None)) as client:
        auth = await login(client)
        call_id = await trigger(client, auth)
        assert (await deliver(client, "call_ended", call_id)).status_code == 204
        detail = await get_call(client, auth, call_id)
    assert detail["status"] == "ended"
    assert "not configured" in detail["status_detail"]
    assert detail["transcript"] == FIXTURE["transcript"]


async def test_without_openai_key_a_call_that_ended_without_words_still_says_there_is_nothing_to_extract(
    make_settings: Callable[..., Settings],
) -> None:
    """Only a call with a transcript is waiting for an extraction; the not-configured note is not put on
    one that has nothing to extract."""
    async with running_app(make_settings(extractor="openai", openai_api_key=None)) as client:
        auth = await login(client)
        call_id = await trigger(client, auth)
        assert (await deliver(client, "call_started", call_id)).status_code == 204
        ended = await deliver(client, "call_ended", call_id, transcript=None, transcript_object=None)
        assert ended.status_code == 204
        detail = await get_call(client, auth, call_id)
    assert (detail["status"], detail["status_detail"]) == (
        "ended",
        "the call ended without a transcript: there is nothing to extract",
    )


async def test_retells_own_duration_is_kept_as_sent(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    """Retell's duration_ms is what it billed and measured; the timestamps only fill in when it is absent."""
    call_id = await trigger(client, auth)
    start = 1_764_140_400_000
    ended = await deliver(
        client, "call_ended", call_id, start_timestamp=start, end_timestamp=start + 90_000, duration_ms=87_250
    )
    assert ended.status_code == 204
    assert (await get_call(client, auth, call_id))["duration_ms"] == 87_250


async def test_fixture_metadata_key_test_call_id_is_understood(
    client: httpx.AsyncClient, auth: dict[str, str], llm: respx.Route
) -> None:
    call_id = await trigger(client, auth, retell_call_id="call_other")
    payload = retell_event(
        "call_ended", retell_call_id="call_unrelated_id", our_call_id=None, transcript_fixture=FIXTURE
    )
    payload["call"]["metadata"] = {"test_call_id": call_id}
    body, headers = signed_delivery(payload)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    assert (await get_call(client, auth, call_id))["status"] == "completed"


@pytest.mark.parametrize(
    ("metadata", "ours"),
    [
        ({"call_id": "not-a-uuid", "test_call_id": "{id}"}, True),  # a bad call_id does not hide test_call_id
        ({"call_id": "urn:{id}"}, True),  # 40 characters, a form uuid reads
        ({"call_id": "urn:uuid:{hex}"}, False),  # 41 characters: longer than any id we send, not read
    ],
    ids=["falls-back-to-test-call-id", "40-characters", "41-characters"],
)
async def test_the_metadata_names_our_call_by_either_key_in_any_form_up_to_40_characters(
    client: httpx.AsyncClient, auth: dict[str, str], metadata: dict[str, str], ours: bool
) -> None:
    call_id = await trigger(client, auth, retell_call_id="call_ours")
    payload = retell_event("call_started", retell_call_id="call_elsewhere", our_call_id=None)
    hex_id = uuid.UUID(call_id).hex
    payload["call"]["metadata"] = {
        key: value.format(id=call_id, hex=hex_id) for key, value in metadata.items()
    }
    body, headers = signed_delivery(payload)
    assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    assert (await get_call(client, auth, call_id))["status"] == ("ongoing" if ours else "registered")
    listed = (await client.get("/api/call", headers=auth)).json()["items"]
    assert len(listed) == (1 if ours else 2)
