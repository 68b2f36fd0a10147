"""Exactly one extraction per call, even across server processes sharing one database."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select, update

from app.config import Settings
from app.core.database import SessionMaker, create_engine, create_session_maker, session_scope
from app.models import Call, CallResult, CallStatus
from app.schemas.extraction import CallExtraction, CheckInResult
from app.services.calls import ExtractionRunning, reset_for_reprocessing
from app.services.post_processing import recover_pending, run_extraction

TRANSCRIPT = "Agent: Where are you?\nUser: On I-80 near Reno, on schedule.\n"


class FixedExtractor:
    """Stands in for the LLM (not the code under test): one answer after a delay, and a call count."""

    name = "fixed"

    def __init__(self, status: str = "Driving", delay: float = 0.05) -> None:
        self.status, self.delay, self.calls = status, delay, 0

    async def extract(self, transcript: str) -> CallExtraction:
        self.calls += 1
        await asyncio.sleep(self.delay)  # yields, so concurrent workers really overlap
        return CallExtraction(
            result=CheckInResult(call_outcome="In-Transit Update", driver_status=self.status)
        )

    async def aclose(self) -> None:
        return None


class FailingOnceExtractor(FixedExtractor):
    """Fails its first attempt, then waits for the test before answering."""

    def __init__(self) -> None:
        super().__init__(delay=0)
        self.first_attempt_started, self.first_may_fail = asyncio.Event(), asyncio.Event()
        self.second_attempt_started, self.release = asyncio.Event(), asyncio.Event()

    async def extract(self, transcript: str) -> CallExtraction:
        if self.calls == 0:
            self.calls += 1
            self.first_attempt_started.set()
            await self.first_may_fail.wait()
            raise RuntimeError("LLM overloaded")
        self.second_attempt_started.set()
        await self.release.wait()
        return await super().extract(transcript)


class StuckExtractor(FixedExtractor):
    """Answers "Delayed" only when the test lets it: a worker that hangs after claiming the call."""

    def __init__(self) -> None:
        super().__init__("Delayed", delay=0)
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def extract(self, transcript: str) -> CallExtraction:
        self.started.set()
        await self.release.wait()
        return await super().extract(transcript)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[SessionMaker]:
    """One server process's sessions."""
    engine = create_engine(settings)
    yield create_session_maker(engine)
    await engine.dispose()


async def add_call(maker: SessionMaker, status: CallStatus, transcript: str | None = TRANSCRIPT) -> uuid.UUID:
    call = Call(driver_name="Ana", load_number="L-1", status=status.value, transcript=transcript)
    async with session_scope(maker) as session:
        session.add(call)
    return call.id


async def age_claim(maker: SessionMaker, call_id: uuid.UUID) -> None:
    """Make the call look as if nothing had touched it for an hour."""
    async with session_scope(maker) as session:
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        await session.exec(update(Call).where(col(Call.id) == call_id).values(updated_at=long_ago))


async def load(maker: SessionMaker, call_id: uuid.UUID) -> tuple[Call, list[CallResult]]:
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        results = (await session.exec(select(CallResult).where(col(CallResult.call_id) == call_id))).all()
    assert call is not None
    return call, list(results)


async def test_concurrent_workers_in_separate_processes_extract_once(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    # Each "process" has its own engine and connection pool, as separate uvicorn workers would.
    engines = [create_engine(settings) for _ in range(5)]
    makers = [create_session_maker(engine) for engine in engines]
    extractor = FixedExtractor()
    await asyncio.gather(
        *(
            run_extraction(
                call_id, session_maker=makers[i % len(makers)], extractor=extractor, settings=settings
            )
            for i in range(20)
        )
    )
    for engine in engines:
        await engine.dispose()
    call, results = await load(maker, call_id)
    assert extractor.calls == 1
    assert call.status == "completed"
    assert len(results) == 1


async def test_a_call_that_is_not_ended_is_left_alone(settings: Settings, maker: SessionMaker) -> None:
    call_id = await add_call(maker, CallStatus.ONGOING, transcript=None)
    extractor = FixedExtractor()
    await run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    assert extractor.calls == 0
    assert (await load(maker, call_id))[0].status == "ongoing"


async def test_restart_recovers_ended_and_stalled_calls(settings: Settings, maker: SessionMaker) -> None:
    ended = await add_call(maker, CallStatus.ENDED)
    stalled = await add_call(maker, CallStatus.PROCESSING)
    fresh = await add_call(maker, CallStatus.PROCESSING)
    done = await add_call(maker, CallStatus.COMPLETED)
    await age_claim(maker, stalled)  # claimed an hour ago by a process that died
    extractor = FixedExtractor()
    recovered = await recover_pending(
        session_maker=maker, extractor=extractor, settings=settings, stale_after=timedelta(minutes=10)
    )
    assert recovered == 2
    assert extractor.calls == 2
    expected = {ended: "completed", stalled: "completed", fresh: "processing", done: "completed"}
    assert {call_id: (await load(maker, call_id))[0].status for call_id in expected} == expected


async def test_a_stalled_extraction_can_be_taken_over_and_its_late_result_is_dropped(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    # A worker claims the call and hangs for a long time.
    hanging = StuckExtractor()
    stuck = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=hanging, settings=settings)
    )
    await asyncio.wait_for(hanging.started.wait(), timeout=10)
    await age_claim(maker, call_id)
    async with session_scope(maker) as session:
        assert (await reset_for_reprocessing(session, call_id=call_id)).status == "ended"
    await run_extraction(
        call_id, session_maker=maker, extractor=FixedExtractor("Driving", 0), settings=settings
    )
    hanging.release.set()  # its answer arrives after the take-over finished
    await stuck
    call, results = await load(maker, call_id)
    assert call.status == "completed"
    assert [result.data["driver_status"] for result in results] == [
        "Driving"
    ]  # the late "Delayed" never landed


async def test_a_slow_extraction_renews_its_claim_and_is_not_taken_over(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = FailingOnceExtractor()
    task = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    )
    await asyncio.wait_for(extractor.first_attempt_started.wait(), timeout=10)
    await age_claim(maker, call_id)  # the first attempt is slow: by the time it fails, the claim looks old
    extractor.first_may_fail.set()
    await asyncio.wait_for(extractor.second_attempt_started.wait(), timeout=10)
    call, _ = await load(maker, call_id)
    assert call.status == "processing"
    assert call.updated_at > datetime.now(UTC) - timedelta(minutes=1)  # renewed before attempt 2
    with pytest.raises(ExtractionRunning):
        async with session_scope(maker) as session:
            await reset_for_reprocessing(session, call_id=call_id)
    extractor.release.set()
    await task
    assert (await load(maker, call_id))[0].status == "completed"
