"""The engine's call store: each turn is stored with its live result and announced, on every path.

On PostgreSQL the route hands the store the ingest pool, and a turn is one statement on it (the update
and its NOTIFY); elsewhere (SQLite, or no pool) it goes through a session. Both must store the same thing.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.changes.publisher import CHANNEL
from app.config import Settings
from app.conversation import policy
from app.conversation.policy import DialogueState
from app.conversation.protocol import CallDetails, CallInfo
from app.core.database import IngestPool, SessionMaker, create_ingest_pool, session_scope
from app.models import AgentConfig, Call, CallStatus
from app.retell.webhook import METADATA_CALL_ID_KEYS
from app.schemas.extraction import CheckInResult
from app.services import agent_configs
from app.services.conversations import DatabaseCallStore
from tests.support.seed import seed_call

DRIVING = DialogueState(
    slots={"driver_status": "Driving", "current_location": "I-40 near Amarillo"}, turns_seen=3
)


@pytest.fixture(params=["session", "pool"])
async def store(
    request: pytest.FixtureRequest, settings: Settings, maker: SessionMaker
) -> AsyncIterator[tuple[DatabaseCallStore, IngestPool | None]]:
    pool = await create_ingest_pool(settings) if request.param == "pool" else None
    if request.param == "pool" and pool is None:
        pytest.skip("the ingest pool exists on PostgreSQL only")
    yield DatabaseCallStore(maker, settings, pool=pool), pool
    if pool is not None:
        await pool.close()


async def a_call(maker: SessionMaker, **fields: Any) -> uuid.UUID:
    async with maker() as session:
        call = Call(driver_name="Mike", load_number="L-1", phone_number="+13125550101", **fields)
        session.add(call)
        await session.commit()
        return call.id


async def stored(maker: SessionMaker, call_id: uuid.UUID) -> Call:
    async with maker() as session:
        call = await AsyncSession.get(session, Call, call_id, populate_existing=True)
        assert call is not None
        return call


async def test_a_turn_is_stored_with_its_live_result_and_announced(
    store: tuple[DatabaseCallStore, IngestPool | None], settings: Settings, maker: SessionMaker
) -> None:
    calls, _pool = store
    call_id = await a_call(maker, status=CallStatus.ONGOING)
    before = (await stored(maker, call_id)).updated_at
    heard: list[dict[str, Any]] = []
    listener = None
    if settings.database_url.startswith("postgresql"):
        listener = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
        await listener.add_listener(CHANNEL, lambda *args: heard.append(json.loads(args[-1])))

    live = policy.live_result(DRIVING)
    await calls.save_turn(call_id, state=DRIVING, response_id=3, live_result=live)

    call = await stored(maker, call_id)
    assert call.dialogue_state == DRIVING.model_dump(mode="json")
    assert call.last_response_id == 3
    assert call.live_result is not None and call.live_result["scenario"] == "check_in"
    assert call.live_result["current_location"] == "I-40 near Amarillo"
    assert call.call_outcome == "In-Transit Update"
    assert call.updated_at > before
    if listener is not None:
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
        await listener.close()
        assert heard == [{"id": str(call_id), "status": "ongoing", "version": heard[0]["version"]}]


async def test_a_late_turn_never_overwrites_the_outcome_post_call_extraction_owns(
    store: tuple[DatabaseCallStore, IngestPool | None], maker: SessionMaker
) -> None:
    calls, _ = store
    call_id = await a_call(maker, status=CallStatus.PROCESSING, call_outcome="Arrival Confirmation")

    await calls.save_turn(call_id, state=DRIVING, response_id=5, live_result=policy.live_result(DRIVING))

    call = await stored(maker, call_id)
    assert call.call_outcome == "Arrival Confirmation"  # extraction's, kept
    assert call.live_result is not None and call.live_result["call_outcome"] == "In-Transit Update"
    assert call.last_response_id == 5


async def test_a_turn_with_nothing_known_yet_stores_no_live_result(
    store: tuple[DatabaseCallStore, IngestPool | None], maker: SessionMaker
) -> None:
    calls, _ = store
    call_id = await a_call(maker, status=CallStatus.ONGOING)

    await calls.save_turn(call_id, state=DialogueState(), response_id=1, live_result=None)

    call = await stored(maker, call_id)
    assert call.live_result is None and call.call_outcome is None
    assert call.dialogue_state == DialogueState().model_dump(mode="json")


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
    store: tuple[DatabaseCallStore, IngestPool | None],
    maker: SessionMaker,
) -> None:
    call_id = await seed_call(
        clean_database, created_at=NOW - timedelta(minutes=1), status=CallStatus.ONGOING
    )
    store_, _pool = store
    await store_.save_turn(call_id, state=DialogueState(), response_id=3, live_result=NOISY_AND_ELSEWHERE)

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
    store: tuple[DatabaseCallStore, IngestPool | None],
    maker: SessionMaker,
) -> None:
    call_id = await seed_call(
        clean_database, created_at=NOW - timedelta(minutes=1), status=CallStatus.ONGOING
    )
    store_, _pool = store
    await store_.save_turn(call_id, state=DialogueState(), response_id=3, live_result=NOISY_AND_ELSEWHERE)
    await set_status(maker, call_id, CallStatus.PROCESSING)
    calm = CheckInResult(call_outcome="In-Transit Update")
    await store_.save_turn(call_id, state=DialogueState(), response_id=4, live_result=calm)

    listed = await client.get("/api/call", params={"follow_up": "true"}, headers=auth)
    assert [item["id"] for item in listed.json()["items"]] == [str(call_id)]
    assert (await client.get("/api/call/stats", headers=auth)).json()["location_conflicts"] == 1


def call_details(retell_call_id: str, our_id: uuid.UUID) -> CallDetails:
    metadata = {METADATA_CALL_ID_KEYS[0]: str(our_id)}
    raw = {"call_id": retell_call_id, "metadata": metadata}
    return CallDetails(
        interaction_type="call_details",
        call=CallInfo(call_id=retell_call_id, metadata=metadata),
        raw_call=raw,
    )


async def test_a_reconnecting_socket_finds_the_call_its_metadata_names_before_retells_id(
    settings: Settings, maker: SessionMaker
) -> None:
    # Retell reconnects the socket mid-call: the second open is a replay, and must find the same call.
    async with session_scope(maker) as session:
        await agent_configs.seed_default_config(session)
    store = DatabaseCallStore(maker, settings)
    # Retell's id is already held by another call, so ours never records it: only the metadata finds ours.
    await a_call(maker, status=CallStatus.ONGOING, retell_call_id="call_shared")
    ours = await a_call(maker, status=CallStatus.REGISTERED)
    first = await store.open("call_shared", call_details("call_shared", ours))
    again = await store.open("call_shared", call_details("call_shared", ours))
    assert (first.call_id, again.call_id) == (ours, ours)
    # Metadata naming no call here (placed by another deployment): Retell's id finds the call made for it.
    foreign = uuid.uuid4()
    first = await store.open("call_foreign", call_details("call_foreign", foreign))
    again = await store.open("call_foreign", call_details("call_foreign", foreign))
    assert again.call_id == first.call_id


async def test_a_call_stored_before_its_agent_was_synced_talks_with_that_agents_configuration(
    settings: Settings, maker: SessionMaker
) -> None:
    # A delivery stored the call (Retell's agent id, no configuration yet); the configuration was then
    # synced with that agent. The socket must speak with it, not with the default.
    async with session_scope(maker) as session:
        await agent_configs.seed_default_config(session)
        session.add(
            AgentConfig(name="Night shift", general_prompt="Night prompt", retell_agent_id="agent_night")
        )
    await a_call(maker, status=CallStatus.ONGOING, retell_call_id="call_night", retell_agent_id="agent_night")
    opened = await DatabaseCallStore(maker, settings).open("call_night", None)
    assert opened.instructions == "Night prompt"
