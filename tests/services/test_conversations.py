"""The engine's store writes the live follow-up fields where the dashboard reads them, until extraction owns
the call: the detail's `live_result`, the list's `follow_up_reason` filter, the stats."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.config import Settings
from app.conversation.policy import DialogueState
from app.core.database import SessionMaker, session_scope
from app.models import Call, CallStatus
from app.schemas.extraction import CheckInResult
from app.services.conversations import DatabaseCallStore
from tests.support.seed import seed_call

NOW = datetime.now(UTC).replace(microsecond=0)
NOISY_AND_ELSEWHERE = CheckInResult(
    call_outcome="In-Transit Update",
    current_location="I-40 near Amarillo, TX",
    follow_up_reason="noisy_line",
    location_conflict=True,
    gps_location="I-10 near Tucson, AZ",
)


async def set_status(maker: SessionMaker, call_id: object, status: CallStatus) -> None:
    async with session_scope(maker) as session:
        await session.exec(update(Call).where(col(Call.id) == call_id).values(status=status.value))


async def test_a_live_turn_shows_the_follow_up_fields_in_the_detail_the_list_and_the_stats(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    clean_database: str,
    settings: Settings,
    maker: SessionMaker,
) -> None:
    call_id = await seed_call(
        clean_database, created_at=NOW - timedelta(minutes=1), status=CallStatus.ONGOING
    )
    store = DatabaseCallStore(maker, settings)
    await store.save_turn(call_id, state=DialogueState(), response_id=3, live_result=NOISY_AND_ELSEWHERE)

    detail = (await client.get(f"/api/call/{call_id}", headers=auth)).json()
    assert detail["result"] is None
    live = detail["live_result"]
    assert (live["scenario"], live["follow_up_reason"], live["location_conflict"], live["gps_location"]) == (
        "check_in",
        "noisy_line",
        True,
        "I-10 near Tucson, AZ",
    )
    assert detail["follow_up_reason"] == "noisy_line"
    listed = await client.get("/api/call", params={"follow_up_reason": "noisy_line"}, headers=auth)
    assert [item["id"] for item in listed.json()["items"]] == [str(call_id)]
    stats = (await client.get("/api/call/stats", headers=auth)).json()
    assert stats["location_conflicts"] == 1 and stats["by_follow_up_reason"][1]["count"] == 1


async def test_a_late_turn_never_overwrites_the_follow_up_fields_extraction_owns(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    clean_database: str,
    settings: Settings,
    maker: SessionMaker,
) -> None:
    call_id = await seed_call(
        clean_database, created_at=NOW - timedelta(minutes=1), status=CallStatus.ONGOING
    )
    store = DatabaseCallStore(maker, settings)
    await store.save_turn(call_id, state=DialogueState(), response_id=3, live_result=NOISY_AND_ELSEWHERE)
    await set_status(maker, call_id, CallStatus.PROCESSING)
    calm = CheckInResult(call_outcome="In-Transit Update")
    await store.save_turn(call_id, state=DialogueState(), response_id=4, live_result=calm)

    listed = await client.get("/api/call", params={"follow_up": "true"}, headers=auth)
    assert [item["id"] for item in listed.json()["items"]] == [str(call_id)]
    assert (await client.get("/api/call/stats", headers=auth)).json()["location_conflicts"] == 1
