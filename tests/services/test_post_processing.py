"""Exactly one extraction per call, even across server processes sharing one database."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select, update

from app.config import Settings
from app.core.database import create_engine, create_session_maker, session_scope
from app.models import Call, CallResult, CallStatus
from app.schemas.extraction import CallExtraction, CheckInResult
from app.services.calls import ExtractionRunning, reset_for_reprocessing
from app.services.post_processing import recover_pending, run_extraction
from tests.support import execute_sql


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


async def test_concurrent_workers_in_separate_processes_extract_once(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    # Each "process" has its own engine and connection pool, as separate uvicorn workers would.
    engines = [create_engine(settings) for _ in range(5)]
    makers = [create_session_maker(engine) for engine in engines]
    call_id = uuid.uuid4()
    async with session_scope(makers[0]) as session:
        session.add(
            Call(
                id=call_id,
                driver_name="Ana",
                load_number="L-1",
                status=CallStatus.ENDED.value,
                transcript="Agent: Where are you?\nUser: On I-80 near Reno, on schedule.\n",
            )
        )
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
    assert extractor.calls == 1
    status = await execute_sql(
        settings.database_url, f"SELECT status FROM calls WHERE id = '{_db_id(settings, call_id)}'"
    )
    assert status == "completed"
    assert await execute_sql(settings.database_url, "SELECT COUNT(*) FROM call_results") == 1


async def test_a_call_that_is_not_ended_is_left_alone(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    maker = create_session_maker(engine)
    call_id = uuid.uuid4()
    async with session_scope(maker) as session:
        session.add(Call(id=call_id, driver_name="Ana", load_number="L-1", status=CallStatus.ONGOING.value))
    extractor = FixedExtractor()
    await run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    await engine.dispose()
    assert extractor.calls == 0


def _db_id(settings: Settings, call_id: uuid.UUID) -> str:
    # SQLite stores UUIDs as 32 hex characters, PostgreSQL as native uuid.
    return call_id.hex if settings.is_sqlite else str(call_id)


async def test_restart_recovers_ended_and_stalled_calls(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    maker = create_session_maker(engine)
    transcript = "Agent: Where are you?\nUser: I-80 near Reno.\n"
    ended, stalled, fresh, done = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    async with session_scope(maker) as session:
        for call_id, status in (
            (ended, CallStatus.ENDED),
            (stalled, CallStatus.PROCESSING),
            (fresh, CallStatus.PROCESSING),
            (done, CallStatus.COMPLETED),
        ):
            session.add(
                Call(
                    id=call_id, driver_name="Ana", load_number="L", status=status.value, transcript=transcript
                )
            )
    # The stalled one was claimed an hour ago by a process that died.
    async with session_scope(maker) as session:
        await session.exec(update(Call).where(col(Call.id) == stalled).values(updated_at=long_ago))
    extractor = FixedExtractor()
    recovered = await recover_pending(
        session_maker=maker, extractor=extractor, settings=settings, stale_after=timedelta(minutes=10)
    )
    await engine.dispose()
    assert recovered == 2
    assert extractor.calls == 2
    for call_id, status in (
        (ended, "completed"),
        (stalled, "completed"),
        (fresh, "processing"),
        (done, "completed"),
    ):
        sql = f"SELECT status FROM calls WHERE id = '{_db_id(settings, call_id)}'"
        assert await execute_sql(settings.database_url, sql) == status


async def test_a_stalled_extraction_can_be_taken_over_and_its_late_result_is_dropped(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    maker = create_session_maker(engine)
    call_id = uuid.uuid4()
    async with session_scope(maker) as session:
        session.add(
            Call(
                id=call_id,
                driver_name="Ana",
                load_number="L",
                status=CallStatus.ENDED.value,
                transcript="User: hi",
            )
        )
    # A worker claims the call and hangs for a long time.
    stuck = asyncio.create_task(
        run_extraction(
            call_id, session_maker=maker, extractor=FixedExtractor("Delayed", 1.0), settings=settings
        )
    )
    await asyncio.sleep(0.3)
    async with session_scope(maker) as session:
        await session.exec(
            update(Call)
            .where(col(Call.id) == call_id)
            .values(updated_at=datetime.now(UTC) - timedelta(hours=1))
        )
    async with session_scope(maker) as session:
        assert (await reset_for_reprocessing(session, call_id=call_id)).status == "ended"
    await run_extraction(
        call_id, session_maker=maker, extractor=FixedExtractor("Driving", 0), settings=settings
    )
    await stuck
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        result = (await session.exec(select(CallResult).where(col(CallResult.call_id) == call_id))).one()
    await engine.dispose()
    assert call is not None and call.status == "completed"
    assert result.data["driver_status"] == "Driving"  # the stalled worker's late "Delayed" never landed


class FailingOnceExtractor:
    """Fails its first attempt, then waits for the test before answering."""

    name = "failing-once"

    def __init__(self) -> None:
        self.calls = 0
        self.first_attempt_started, self.first_may_fail = asyncio.Event(), asyncio.Event()
        self.second_attempt_started = asyncio.Event()
        self.release = asyncio.Event()

    async def extract(self, transcript: str) -> CallExtraction:
        self.calls += 1
        if self.calls == 1:
            self.first_attempt_started.set()
            await self.first_may_fail.wait()
            raise RuntimeError("LLM overloaded")
        self.second_attempt_started.set()
        await self.release.wait()
        return CallExtraction(result=CheckInResult(call_outcome="In-Transit Update", driver_status="Driving"))

    async def aclose(self) -> None:
        return None


async def test_a_slow_extraction_renews_its_claim_and_is_not_taken_over(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    maker = create_session_maker(engine)
    call_id = uuid.uuid4()
    async with session_scope(maker) as session:
        session.add(
            Call(
                id=call_id,
                driver_name="Ana",
                load_number="L",
                status=CallStatus.ENDED.value,
                transcript="User: hi",
            )
        )
    extractor = FailingOnceExtractor()
    task = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    )
    await asyncio.wait_for(extractor.first_attempt_started.wait(), timeout=10)
    # The first attempt is slow: by the time it fails, the claim looks an hour old.
    async with session_scope(maker) as session:
        await session.exec(
            update(Call)
            .where(col(Call.id) == call_id)
            .values(updated_at=datetime.now(UTC) - timedelta(hours=1))
        )
    extractor.first_may_fail.set()
    await asyncio.wait_for(extractor.second_attempt_started.wait(), timeout=10)
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        assert call is not None and call.status == "processing"
        assert call.updated_at > datetime.now(UTC) - timedelta(minutes=1)  # renewed before attempt 2
    async with session_scope(maker) as session:
        try:
            await reset_for_reprocessing(session, call_id=call_id)
        except ExtractionRunning:
            pass
        else:
            raise AssertionError("a live extraction was taken over")
    extractor.release.set()
    await task
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
    await engine.dispose()
    assert call is not None and call.status == "completed"
