"""The promises a reviewer broke on purpose and the suite missed (services): each test fails when one breaks.

docs/TESTING.md lists which fault each test was seen to kill.
"""

import asyncio
import uuid

import pytest
from sqlmodel import col, select

from app.config import Settings
from app.core.database import SessionMaker, session_scope
from app.extraction.rules import extract_with_rules
from app.jobs.post_processing import run_extraction
from app.models import Call, CallResult, CallStatus
from app.schemas.extraction import CallExtraction, CheckInResult, EmergencyResult
from app.services.calls import reset_for_reprocessing
from tests.support.database import lapse_lease

TRANSCRIPT = "Agent: Where are you?\nUser: On I-80 near Reno, on schedule.\n"


class GatedExtractor:
    """Stands in for the LLM: answers `status` only when the test opens the gate."""

    name = "gated"

    def __init__(self, status: str) -> None:
        self.status, self.started, self.gate = status, asyncio.Event(), asyncio.Event()

    async def extract(self, transcript: str) -> CallExtraction:
        self.started.set()
        await self.gate.wait()
        return CallExtraction(
            result=CheckInResult(call_outcome="In-Transit Update", driver_status=self.status)
        )

    async def aclose(self) -> None:
        return None


async def add_ended_call(maker: SessionMaker) -> uuid.UUID:
    call = Call(driver_name="Ana", load_number="L-1", status=CallStatus.ENDED.value, transcript=TRANSCRIPT)
    async with session_scope(maker) as session:
        session.add(call)
    return call.id


async def test_a_taken_over_extractions_late_result_is_refused_while_the_new_one_runs(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_ended_call(maker)
    stalled, fresh = GatedExtractor("Delayed"), GatedExtractor("Driving")
    first = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=stalled, settings=settings)
    )
    await asyncio.wait_for(stalled.started.wait(), timeout=10)
    await lapse_lease(maker, call_id)  # the first worker looks dead: a reprocess takes the call over
    async with session_scope(maker) as session:
        await reset_for_reprocessing(session, call_id=call_id)
    second = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=fresh, settings=settings)
    )
    await asyncio.wait_for(fresh.started.wait(), timeout=10)
    stalled.gate.set()  # the old worker answers while the new claim still holds the call
    await first
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        assert call is not None
        assert (call.status, call.extraction_attempts) == ("processing", 2)
        assert (await session.exec(select(CallResult))).all() == []
    fresh.gate.set()
    await second
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        results = (await session.exec(select(CallResult).where(col(CallResult.call_id) == call_id))).all()
    assert call is not None and call.status == "completed"
    assert [result.data["driver_status"] for result in results] == ["Driving"]


# --- The rules extractor: thresholds and labels the dashboard shows ------------------------------------


def _unloading_status(wait: str) -> str | None:
    result = extract_with_rules(
        "Agent: Hi Ana, any update on load 5?\n"
        f"User: I'm at the receiver in Atlanta, been sitting here {wait} now.\n"
        "Agent: Please send the proof of delivery when you're done.\n"
        "User: Will do.\n"
    ).result
    assert isinstance(result, CheckInResult)
    return result.unloading_status


@pytest.mark.parametrize(
    ("wait", "status"),
    [("1 hours", None), ("one hours", None), ("2 hours", "Detention"), ("two hours", "Detention")],
)
def test_detention_starts_at_two_hours_of_waiting(wait: str, status: str | None) -> None:
    assert _unloading_status(wait) == status


def test_an_agent_who_alerts_dispatch_is_reported_as_dispatch_notified() -> None:
    result = extract_with_rules(
        "Agent: Hi Ana, how is load 5 coming along?\n"
        "User: I just had a blowout on I-40 near Flagstaff, I'm on the shoulder.\n"
        "Agent: Are you safe? Is anyone hurt?\n"
        "User: I'm fine, nobody's hurt, the load is secure.\n"
        "Agent: Okay, I've notified dispatch and they'll work on getting roadside assistance to you.\n"
    ).result
    assert isinstance(result, EmergencyResult)
    assert result.escalation_status == "Dispatch notified"
