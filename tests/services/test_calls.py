"""Reprocessing a call: which call it touches, and what a refused request is told."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, update

from app.core.database import SessionMaker, session_scope
from app.models import Call, CallStatus
from app.services.calls import ExtractionRunning, get_call, reset_for_reprocessing

TRANSCRIPT = "Agent: Where are you?\nUser: On I-80 near Reno, on schedule.\n"


async def add_call(maker: SessionMaker, status: CallStatus, **values: object) -> uuid.UUID:
    call = Call(driver_name="Ana", load_number="L-1", status=status.value, transcript=TRANSCRIPT, **values)
    async with session_scope(maker) as session:
        session.add(call)
    return call.id


async def status_of(maker: SessionMaker, call_id: uuid.UUID) -> str:
    async with session_scope(maker) as session:
        return (await get_call(session, call_id)).status


async def refusal(maker: SessionMaker, call_id: uuid.UUID) -> str:
    with pytest.raises(ExtractionRunning) as refused:
        async with session_scope(maker) as session:
            await reset_for_reprocessing(session, call_id=call_id)
    return refused.value.detail


async def test_reprocessing_one_call_leaves_every_other_call_as_it_was(maker: SessionMaker) -> None:
    chosen = await add_call(maker, CallStatus.COMPLETED, call_outcome="In-Transit Update")
    others = {
        await add_call(maker, CallStatus.COMPLETED, call_outcome="In-Transit Update"): "completed",
        await add_call(maker, CallStatus.FAILED): "failed",
        await add_call(maker, CallStatus.NOT_CONNECTED): "not_connected",
    }
    async with session_scope(maker) as session:
        assert (await reset_for_reprocessing(session, call_id=chosen)).status == "ended"
    assert {call_id: await status_of(maker, call_id) for call_id in others} == others


async def test_reprocessing_while_an_extraction_holds_its_lease_is_refused_saying_one_is_running(
    maker: SessionMaker,
) -> None:
    running = await add_call(
        maker, CallStatus.PROCESSING, lease_expires_at=datetime.now(UTC) + timedelta(minutes=1)
    )
    assert await refusal(maker, running) == "an extraction is already running for this call"
    assert await status_of(maker, running) == "processing"


async def test_reprocessing_a_call_already_waiting_for_its_extraction_is_refused_saying_so(
    maker: SessionMaker,
) -> None:
    waiting = await add_call(maker, CallStatus.ENDED)
    assert await refusal(maker, waiting) == "the call is already waiting for its extraction"


async def test_of_two_reprocess_requests_at_once_the_one_that_loses_is_told_the_other_just_started(
    maker: SessionMaker,
) -> None:
    call_id = await add_call(maker, CallStatus.COMPLETED, call_outcome="In-Transit Update")
    async with session_scope(maker) as late:
        # The losing request read the call as `completed` before the winner's claim committed.
        seen = await get_call(late, call_id)
        assert seen.status == "completed"
        await late.commit()
        async with session_scope(maker) as first:
            await reset_for_reprocessing(first, call_id=call_id)
        with pytest.raises(ExtractionRunning) as refused:
            await reset_for_reprocessing(late, call_id=call_id)
    assert refused.value.detail == "an extraction started for this call just now"
    assert await status_of(maker, call_id) == "ended"


async def test_reprocessing_a_call_an_unleased_worker_touched_a_moment_ago_is_refused_saying_one_is_running(
    maker: SessionMaker,
) -> None:
    # Claimed before leases existed (or set by hand): judged by its last update, a moment ago.
    running = await add_call(maker, CallStatus.PROCESSING, lease_expires_at=None)
    assert await refusal(maker, running) == "an extraction is already running for this call"
    assert await status_of(maker, running) == "processing"


@pytest.mark.parametrize("held_by", ["a lease", "an unleased worker"])
async def test_an_extraction_whose_hold_ends_at_this_very_instant_still_holds_the_call(
    maker: SessionMaker, monkeypatch: pytest.MonkeyPatch, held_by: str
) -> None:
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    monkeypatch.setattr("app.services.calls.utcnow", lambda: now)  # the clock, not the code under test
    if held_by == "a lease":
        running = await add_call(maker, CallStatus.PROCESSING, lease_expires_at=now)
    else:
        running = await add_call(maker, CallStatus.PROCESSING, lease_expires_at=None)
        async with session_scope(maker) as session:
            # The worker last touched the call exactly one grace period (a minute) ago.
            await session.exec(
                update(Call).where(col(Call.id) == running).values(updated_at=now - timedelta(minutes=1))
            )
    # A hold lapses only once it is past: the refusal says one is running, not that one just started.
    assert await refusal(maker, running) == "an extraction is already running for this call"
    assert await status_of(maker, running) == "processing"
