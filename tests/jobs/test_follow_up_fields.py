"""Post-call extraction writes the result's follow-up fields onto the call beside `call_outcome`, so the
detail, the list filter and the stats agree; reprocessing and a failed extraction clear them with it."""

import uuid

import httpx

from app.config import Settings
from app.core.database import SessionMaker, session_scope
from app.extraction.rules import RulesExtractor
from app.jobs.post_processing import run_extraction
from app.models import Call, CallStatus
from app.schemas.extraction import CallExtraction
from app.services.calls import reset_for_reprocessing
from tests.support import TRANSCRIPT_FIXTURES, load_transcript_fixture


def transcript(name: str) -> str:
    text = load_transcript_fixture(next(p for p in TRANSCRIPT_FIXTURES if p.stem == name))["transcript"]
    assert isinstance(text, str)
    return text


async def ended_call(maker: SessionMaker, text: str) -> uuid.UUID:
    call = Call(driver_name="Ana", load_number="L-1", status=CallStatus.ENDED.value, transcript=text)
    async with session_scope(maker) as session:
        session.add(call)
    return call.id


async def stored(maker: SessionMaker, call_id: uuid.UUID) -> tuple[str | None, bool]:
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call.follow_up_reason, call.location_conflict


class DownExtractor(RulesExtractor):
    async def extract(self, transcript: str) -> CallExtraction:
        raise RuntimeError("LLM down")


async def test_extraction_sets_the_follow_up_fields_the_detail_list_and_stats_show(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings, maker: SessionMaker
) -> None:
    uncooperative = await ended_call(maker, transcript("uncooperative_driver"))
    conflict = await ended_call(maker, transcript("conflicting_location"))
    for call_id in (uncooperative, conflict):
        await run_extraction(call_id, session_maker=maker, extractor=RulesExtractor(), settings=settings)
    assert await stored(maker, uncooperative) == ("uncooperative", False)
    assert await stored(maker, conflict) == (None, True)

    result = (await client.get(f"/api/call/{uncooperative}", headers=auth)).json()["result"]
    assert (result["follow_up_reason"], result["location_conflict"], result["gps_location"]) == (
        "uncooperative",
        False,
        None,
    )
    result = (await client.get(f"/api/call/{conflict}", headers=auth)).json()["result"]
    assert (result["follow_up_reason"], result["location_conflict"]) == (None, True)
    assert result["gps_location"] == "I-10, Exit 256 near Tucson, AZ"
    listed = (await client.get("/api/call", params={"follow_up": "true"}, headers=auth)).json()["items"]
    assert [(item["id"], item["follow_up_reason"]) for item in listed] == [
        (str(uncooperative), "uncooperative")
    ]
    stats = (await client.get("/api/call/stats", headers=auth)).json()
    assert stats["by_follow_up_reason"][0] == {"follow_up_reason": "uncooperative", "count": 1}
    assert stats["location_conflicts"] == 1


async def test_reprocessing_and_a_failed_extraction_clear_the_follow_up_fields_with_the_outcome(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await ended_call(maker, transcript("uncooperative_driver"))
    await run_extraction(call_id, session_maker=maker, extractor=RulesExtractor(), settings=settings)
    async with session_scope(maker) as session:
        await reset_for_reprocessing(session, call_id=call_id)
    assert await stored(maker, call_id) == (None, False)  # waiting again: no stale follow-up listed

    await run_extraction(call_id, session_maker=maker, extractor=RulesExtractor(), settings=settings)
    async with session_scope(maker) as session:
        await reset_for_reprocessing(session, call_id=call_id)
    await run_extraction(call_id, session_maker=maker, extractor=DownExtractor(), settings=settings)
    assert await stored(maker, call_id) == (None, False)
