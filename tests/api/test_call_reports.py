"""What a dashboard reads beside the list: date and configuration filters, counts, CSV, deliveries."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.models import CallStatus
from app.services import call_reports
from tests.support.seed import CHECK_IN, EMERGENCY, seed_call
from tests.support.webhooks import deliver

NOW = datetime.now(UTC).replace(microsecond=0)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def default_config_id(client: httpx.AsyncClient, auth: dict[str, str]) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/agent-config", headers=auth)).json()["items"][0]["id"])


async def test_list_filters_by_creation_window_and_configuration(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    config = await default_config_id(client, auth)
    old = await seed_call(clean_database, created_at=NOW - timedelta(days=10), result=CHECK_IN)
    mid = await seed_call(clean_database, created_at=NOW - timedelta(days=5), agent_config_id=config)
    new = await seed_call(clean_database, created_at=NOW - timedelta(hours=1), result=EMERGENCY)

    after = (NOW - timedelta(days=6)).isoformat()
    assert ids(await client.get("/api/call", params={"created_after": after}, headers=auth)) == [
        str(new),
        str(mid),
    ]
    before = (NOW - timedelta(days=5)).isoformat()  # exclusive: the call made at that instant is out
    assert ids(await client.get("/api/call", params={"created_before": before}, headers=auth)) == [str(old)]
    window = {"created_after": (NOW - timedelta(days=11)).isoformat(), "created_before": after}
    assert ids(await client.get("/api/call", params=window, headers=auth)) == [str(old)]
    by_config = {"agent_config_id": str(config)}
    assert ids(await client.get("/api/call", params=by_config, headers=auth)) == [str(mid)]
    # A time without a zone is UTC.
    naive = (NOW - timedelta(days=6)).replace(tzinfo=None).isoformat()
    assert len(ids(await client.get("/api/call", params={"created_after": naive}, headers=auth))) == 2


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/call", {"colour": "red"}, "query.colour"),
        ("/api/call", {"created_after": "yesterday"}, "query.created_after"),
        ("/api/call", {"created_after": "2026-13-01"}, "query.created_after"),
        ("/api/call", {"created_after": "0001-01-01T00:00:00+05:00"}, "query.created_after"),
        ("/api/call", {"created_after": "2026-02-01", "created_before": "2026-01-01"}, "query"),
        ("/api/call", {"agent_config_id": "not-a-uuid"}, "query.agent_config_id"),
        ("/api/call", {"call_outcome": "Lunch"}, "query.call_outcome"),
        ("/api/call/stats", {"status": "completed"}, "query.status"),
        ("/api/call/stats", {"created_after": "2020-01-01", "created_before": "2026-01-01"}, "query"),
        ("/api/call/stats", {"created_after": "9999-12-31T23:59:59-05:00"}, "query.created_after"),
        # The default 30-day window would begin before year 1: refused, not an OverflowError (500).
        ("/api/call/stats", {"created_before": "0001-01-02"}, "query"),
        ("/api/call/export", {"created_before": "0001-01-02"}, "query"),
        ("/api/call/export", {"format": "xlsx"}, "query.format"),
        ("/api/call/export", {"created_after": "2020-01-01"}, "query"),  # to now: years
        ("/api/agent-config", {"sort": "name"}, "query.sort"),
        ("/api/agent-config", {"limit": 1000}, "query.limit"),
    ],
)
async def test_bad_dates_unknown_parameters_and_huge_ranges_are_422(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(path, params=params, headers=auth)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    assert field in [item["field"] for item in body["detail"]]


async def test_webhook_events_unknown_parameter_is_422(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.get(f"/api/call/{uuid.uuid4()}/webhook-events", params={"x": 1}, headers=auth)
    assert response.status_code == 422


async def test_stats_count_by_status_and_outcome_over_the_window(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    config = await default_config_id(client, auth)
    await seed_call(clean_database, created_at=NOW - timedelta(days=40), result=CHECK_IN)  # outside 30 days
    await seed_call(
        clean_database, created_at=NOW - timedelta(days=3), result=CHECK_IN, agent_config_id=config
    )
    await seed_call(clean_database, created_at=NOW - timedelta(days=2), result=CHECK_IN)
    await seed_call(clean_database, created_at=NOW - timedelta(days=1), result=EMERGENCY)
    await seed_call(clean_database, created_at=NOW - timedelta(hours=2), status=CallStatus.NOT_CONNECTED)
    # No outcome and no follow-up either, like the call above: still counted under its own status.
    await seed_call(clean_database, created_at=NOW - timedelta(hours=1), status=CallStatus.FAILED)

    response = await client.get("/api/call/stats", headers=auth)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["total"] == 5
    assert stats["by_status"] == {
        "queued": 0,
        "registered": 0,
        "ongoing": 0,
        "ended": 0,
        "processing": 0,
        "completed": 3,
        "failed": 1,
        "not_connected": 1,
    }
    assert stats["by_outcome"] == [
        {"call_outcome": "In-Transit Update", "count": 2},
        {"call_outcome": "Arrival Confirmation", "count": 0},
        {"call_outcome": "Emergency Escalation", "count": 1},
    ]
    window = datetime.fromisoformat(stats["created_before"]) - datetime.fromisoformat(stats["created_after"])
    assert window == timedelta(days=30)

    wide = {"created_after": (NOW - timedelta(days=60)).isoformat()}
    assert (await client.get("/api/call/stats", params=wide, headers=auth)).json()["total"] == 6
    narrow = {"created_after": (NOW - timedelta(days=60)).isoformat(), "agent_config_id": str(config)}
    assert (await client.get("/api/call/stats", params=narrow, headers=auth)).json()["total"] == 1


async def test_stats_is_not_read_as_a_call_id(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    assert (await client.get("/api/call/stats", headers=auth)).json()["total"] == 0
    assert (await client.get("/api/call/export", headers=auth)).status_code == 200


async def test_export_streams_one_csv_row_per_call_with_flat_result_fields(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    check_in = await seed_call(clean_database, created_at=NOW - timedelta(days=2), result=CHECK_IN)
    emergency = await seed_call(
        clean_database, created_at=NOW - timedelta(days=1), result=EMERGENCY, driver_name="=HYPERLINK(1)"
    )
    await seed_call(clean_database, created_at=NOW - timedelta(days=45), result=CHECK_IN)  # outside window
    response = await client.get("/api/call/export", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="calls-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [str(emergency), str(check_in)]
    first, second = rows
    assert first["scenario"] == "emergency" and first["emergency_type"] == "Breakdown"
    assert first["load_secure"] == "True" and first["driver_status"] == ""
    assert first["driver_name"] == "'=HYPERLINK(1)"  # a spreadsheet must not run it
    assert second["scenario"] == "check_in" and second["eta"] == "Tomorrow, 8:00 AM"
    assert second["call_outcome"] == "In-Transit Update" and second["emergency_type"] == ""

    filtered = await client.get(
        "/api/call/export", params={"call_outcome": "In-Transit Update"}, headers=auth
    )
    assert [row["id"] for row in csv.DictReader(io.StringIO(filtered.text))] == [str(check_in)]


async def test_export_reads_past_one_batch(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setattr(call_reports, "EXPORT_BATCH", 2)
    made = [await seed_call(clean_database, created_at=NOW - timedelta(hours=n)) for n in range(1, 6)]
    response = await client.get("/api/call/export", headers=auth)
    assert [row["id"] for row in csv.DictReader(io.StringIO(response.text))] == [str(i) for i in made]


async def test_webhook_events_list_deliveries_with_payloads_on_request(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    started = {"event": "call_started", "call": {"call_id": "c1"}}
    ended = {"event": "call_ended", "call": {"call_id": "c1", "transcript": "Agent: Hi ñ"}}
    call_id = await seed_call(
        clean_database, created_at=NOW, deliveries=[("call_started", started), ("call_ended", ended)]
    )
    other = await seed_call(clean_database, created_at=NOW, deliveries=[("call_started", started)])
    response = await client.get(f"/api/call/{call_id}/webhook-events", headers=auth)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["event"] for item in items] == ["call_started", "call_ended"]
    assert all(item["payload"] is None for item in items)
    # Sizes are bytes of the stored JSON: the longer delivery is the larger, and non-ASCII counts twice.
    assert 40 < items[0]["payload_size"] < items[1]["payload_size"]
    with_payloads = await client.get(
        f"/api/call/{call_id}/webhook-events", params={"include_payload": "true"}, headers=auth
    )
    assert [item["payload"] for item in with_payloads.json()["items"]] == [started, ended]
    assert len((await client.get(f"/api/call/{other}/webhook-events", headers=auth)).json()["items"]) == 1
    missing = await client.get(f"/api/call/{uuid.uuid4()}/webhook-events", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"] == "CallNotFound"


async def test_deliveries_come_oldest_received_first_ties_by_id_and_at_most_the_cap(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    clean_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stored in another order than they were received (a backfill, a slow worker): the list follows
    # `received_at`, and two received in the same instant always come in the same order (by id).
    first, second = uuid.UUID(int=1), uuid.UUID(int=2)
    events = ["call_analyzed", "call_ended", "call_started", "transcript_updated"]
    call_id = await seed_call(
        clean_database,
        created_at=NOW,
        deliveries=[(event, {"event": event}) for event in events],
        delivery_fields=[
            {"received_at": NOW + timedelta(seconds=3)},
            {"received_at": NOW + timedelta(seconds=2), "id": second},
            {"received_at": NOW},
            {"received_at": NOW + timedelta(seconds=2), "id": first},
        ],
    )
    response = await client.get(f"/api/call/{call_id}/webhook-events", headers=auth)
    assert [item["event"] for item in response.json()["items"]] == [
        "call_started",
        "transcript_updated",
        "call_ended",
        "call_analyzed",
    ]
    # A call with more deliveries than the cap shows its oldest, never an unbounded list.
    monkeypatch.setattr(call_reports, "MAX_DELIVERIES", 2)
    capped = await client.get(f"/api/call/{call_id}/webhook-events", headers=auth)
    assert [item["event"] for item in capped.json()["items"]] == ["call_started", "transcript_updated"]


async def test_agent_configs_are_paged_like_calls(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        created = await client.post(
            "/api/agent-config", json={"name": name, "general_prompt": "p"}, headers=auth
        )
        assert created.status_code == 201
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/agent-config", params=params, headers=auth)).json()
        names += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["Alpha", "Bravo", "Charlie", "Delta", "Dispatch check-in"] and pages == 3
    bad = await client.get("/api/agent-config", params={"cursor": "bm90LWpzb24"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidCursor"


@pytest.mark.parametrize(
    "path", ["/api/call/stats", "/api/call/export", f"/api/call/{uuid.uuid4()}/webhook-events"]
)
async def test_dashboard_reads_need_a_login(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401 and response.json()["error"] == "Unauthorized"


async def test_stats_show_retells_measured_latency_kept_from_the_webhooks(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, llm: object
) -> None:
    def measured(p50: float, p90: float) -> dict[str, float]:
        return {"p50": p50, "p90": p90, "p95": p90, "p99": p90, "max": p90, "min": p50, "num": 4}

    figures = [(400.0, 900.0, 40.0, 80.0), (500.0, 1000.0, 50.0, 90.0), (600.0, 1200.0, 60.0, 150.0)]
    for number, (llm_p50, llm_p90, rtt_p50, rtt_p90) in enumerate(figures):
        latency = {"llm": measured(llm_p50, llm_p90), "llm_websocket_network_rtt": measured(rtt_p50, rtt_p90)}
        # call_ended first, then call_analyzed: both carry it, the later one is kept.
        stale = {"llm": measured(1.0, 1.0)}
        for event, sent in (("call_ended", stale), ("call_analyzed", latency)):
            response = await deliver(client, event, None, retell_call_id=f"call_lat_{number}", latency=sent)
            assert response.status_code == 204, response.text
    await deliver(client, "call_started", None, retell_call_id="call_no_latency", latency=None)

    stats = (await client.get("/api/call/stats", headers=auth)).json()
    assert stats["latency"] == [
        {"metric": "llm", "calls": 3, "p50": 500.0, "p90": 1200.0},
        {"metric": "llm_websocket_network_rtt", "calls": 3, "p50": 50.0, "p90": 150.0},
    ]
    # Until its call_analyzed arrives, a call counts with the figures its call_ended carried.
    ended_only = {"llm": measured(700.0, 1300.0)}
    for event, sent in (("call_started", None), ("call_ended", ended_only)):
        await deliver(client, event, None, retell_call_id="call_lat_ended_only", latency=sent)
    llm = (await client.get("/api/call/stats", headers=auth)).json()["latency"][0]
    assert (llm["metric"], llm["calls"], llm["p90"]) == ("llm", 4, 1300.0), llm
    # A call whose first delivery is its call_ended (the socket and call_started never reached us) keeps
    # that delivery's figures too: 700/1300 again, so the figures above stay as they are.
    await deliver(client, "call_ended", None, retell_call_id="call_lat_first_ended", latency=ended_only)
    llm = (await client.get("/api/call/stats", headers=auth)).json()["latency"][0]
    assert (llm["calls"], llm["p90"]) == (5, 1300.0), llm
    # A later delivery that measured nothing (an empty latency) never blanks what an earlier one carried.
    await deliver(client, "call_analyzed", None, retell_call_id="call_lat_ended_only", latency={})
    kept = (await client.get("/api/call/stats", headers=auth)).json()["latency"][0]
    assert (kept["calls"], kept["p90"]) == (5, 1300.0), kept
    # The window applies to the latency figures as to the counts: these calls are all newer than it.
    earlier = {"created_before": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    before = (await client.get("/api/call/stats", params=earlier, headers=auth)).json()
    assert (before["total"], before["latency"]) == (0, []), before


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_no_csv_cell_starts_a_formula_whatever_its_column(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str, start: str
) -> None:
    payload = f'{start}HYPERLINK("http://evil.example")'
    short = f"{start}1+1"  # call_type and phone_number hold 10 and 20 characters
    call_id = await seed_call(
        clean_database,
        created_at=NOW - timedelta(days=1),
        result={**CHECK_IN, "eta": payload, "current_location": payload, "gps_location": payload},
        driver_name=payload,
    )
    # Columns the webhook writes, which no form validates: set as a delivery could leave them.
    engine = create_async_engine(clean_database, poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE calls SET phone_number = :short, disconnection_reason = :v, call_type = :short"
                " WHERE id = :id"
            ),
            {
                "v": payload,
                "short": short,
                "id": call_id.hex if clean_database.startswith("sqlite") else call_id,
            },
        )
    await engine.dispose()
    response = await client.get("/api/call/export", headers=auth)
    assert response.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    for column in (
        "driver_name",
        "disconnection_reason",
        "eta",
        "current_location",
        "gps_location",
    ):
        assert row[column] == "'" + payload, column
    assert row["call_type"] == row["phone_number"] == "'" + short
    assert not [name for name, cell in row.items() if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]


UNCOOPERATIVE = {**CHECK_IN, "follow_up_reason": "uncooperative"}
NOISY = {**CHECK_IN, "follow_up_reason": "noisy_line"}
CONFLICT = {**CHECK_IN, "location_conflict": True, "gps_location": "I-10 near Tucson, AZ"}
PENDING = {
    **EMERGENCY,
    "follow_up_reason": "escalation_pending",
    "escalation_status": "Dispatcher will call back",
}


async def test_the_follow_up_filter_picks_out_the_calls_a_dispatcher_must_call_back(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    uncooperative = await seed_call(clean_database, created_at=NOW - timedelta(hours=4), result=UNCOOPERATIVE)
    fine = await seed_call(clean_database, created_at=NOW - timedelta(hours=3), result=CONFLICT)
    noisy = await seed_call(clean_database, created_at=NOW - timedelta(hours=2), result=NOISY)
    pending = await seed_call(clean_database, created_at=NOW - timedelta(hours=1), result=PENDING)

    def listed(**params: str) -> Any:
        return client.get("/api/call", params=params, headers=auth)

    assert ids(await listed(follow_up="true")) == [str(pending), str(noisy), str(uncooperative)]
    assert ids(await listed(follow_up="false")) == [str(fine)]
    assert ids(await listed(follow_up_reason="noisy_line")) == [str(noisy)]
    assert ids(await listed(follow_up="true", follow_up_reason="escalation_pending")) == [str(pending)]
    page = (await listed(follow_up="true", limit="2")).json()
    assert [item["follow_up_reason"] for item in page["items"]] == ["escalation_pending", "noisy_line"]
    rest = await listed(follow_up="true", cursor=page["next_cursor"])
    assert ids(rest) == [str(uncooperative)]
    for bad in ({"follow_up_reason": "grumpy"}, {"follow_up": "false", "follow_up_reason": "noisy_line"}):
        assert (await listed(**bad)).status_code == 422, bad
    exported = await client.get("/api/call/export", params={"follow_up": "true"}, headers=auth)
    assert [row["id"] for row in csv.DictReader(io.StringIO(exported.text))] == [
        str(pending),
        str(noisy),
        str(uncooperative),
    ]


async def test_stats_count_every_follow_up_reason_and_the_location_conflicts_over_the_window(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    config = await default_config_id(client, auth)
    await seed_call(clean_database, created_at=NOW - timedelta(days=40), result=NOISY)  # outside 30 days
    await seed_call(clean_database, created_at=NOW - timedelta(days=40), result=CONFLICT)  # outside too
    await seed_call(clean_database, created_at=NOW - timedelta(days=3), result=UNCOOPERATIVE)
    await seed_call(clean_database, created_at=NOW - timedelta(days=2), result=UNCOOPERATIVE)
    await seed_call(
        clean_database, created_at=NOW - timedelta(days=2), result=CONFLICT, agent_config_id=config
    )
    await seed_call(
        clean_database,
        created_at=NOW - timedelta(days=1),
        result={**PENDING, "location_conflict": True, "gps_location": "I-15 near Barstow, CA"},
    )
    await seed_call(clean_database, created_at=NOW - timedelta(hours=2), status=CallStatus.NOT_CONNECTED)

    stats = (await client.get("/api/call/stats", headers=auth)).json()
    assert stats["by_follow_up_reason"] == [
        {"follow_up_reason": "uncooperative", "count": 2},
        {"follow_up_reason": "noisy_line", "count": 0},
        {"follow_up_reason": "escalation_pending", "count": 1},
        {"follow_up_reason": None, "count": 2},
    ]
    assert sum(entry["count"] for entry in stats["by_follow_up_reason"]) == stats["total"] == 5
    assert stats["location_conflicts"] == 2

    wide = {"created_after": (NOW - timedelta(days=60)).isoformat()}
    stats = (await client.get("/api/call/stats", params=wide, headers=auth)).json()
    assert stats["by_follow_up_reason"][1] == {"follow_up_reason": "noisy_line", "count": 1}
    assert stats["location_conflicts"] == 3
    narrow = {**wide, "agent_config_id": str(config)}
    stats = (await client.get("/api/call/stats", params=narrow, headers=auth)).json()
    assert stats["location_conflicts"] == 1 and stats["by_follow_up_reason"][3]["count"] == 1


async def test_export_has_the_follow_up_columns_of_either_scenario(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    conflict = await seed_call(clean_database, created_at=NOW - timedelta(hours=2), result=CONFLICT)
    pending = await seed_call(clean_database, created_at=NOW - timedelta(hours=1), result=PENDING)
    plain = await seed_call(clean_database, created_at=NOW - timedelta(hours=3), result=CHECK_IN)
    response = await client.get("/api/call/export", headers=auth)
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames is not None
    assert {"follow_up_reason", "location_conflict", "gps_location"} <= set(reader.fieldnames)
    rows = {row["id"]: row for row in reader}
    follow_up = {
        call: (row["follow_up_reason"], row["location_conflict"], row["gps_location"])
        for call, row in rows.items()
    }
    assert follow_up == {
        str(pending): ("escalation_pending", "False", ""),
        str(conflict): ("", "True", "I-10 near Tucson, AZ"),
        # Results stored before the fields existed read as the detail shows them: no follow-up, no conflict.
        str(plain): ("", "False", ""),
    }


# The export's columns in the order spreadsheets and scripts read them by position: the call's fields,
# then the result's, check-in first (the follow-up fields close it), then the emergency's own.
EXPORT_HEADER = (
    "id,created_at,status,driver_name,phone_number,load_number,call_type,agent_config_id,triggered_by,"
    "started_at,ended_at,duration_ms,disconnection_reason,call_outcome,scenario,driver_status,"
    "current_location,eta,delay_reason,unloading_status,pod_reminder_acknowledged,follow_up_reason,"
    "location_conflict,gps_location,emergency_type,safety_status,injury_status,emergency_location,"
    "load_secure,escalation_status"
)


async def test_export_columns_keep_their_order(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    response = await client.get("/api/call/export", headers=auth)
    assert response.status_code == 200, response.text
    assert response.text.splitlines()[0] == EXPORT_HEADER
