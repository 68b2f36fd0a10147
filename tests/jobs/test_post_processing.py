"""Exactly one extraction per call, even across server processes sharing one database; and always one."""

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from loguru import logger
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select, update

from app.changes.broadcast import Broadcaster, Subscription
from app.config import Settings
from app.core.database import (
    SessionMaker,
    create_engine,
    create_ingest_pool,
    create_session_maker,
    session_scope,
)
from app.jobs.post_processing import (
    NOT_CONFIGURED,
    SWEEP_BATCH,
    ExtractionQueue,
    ExtractionSweeper,
    run_extraction,
)
from app.models import Call, CallResult, CallStatus
from app.schemas.extraction import CallExtraction, CheckInResult
from app.services.calls import ExtractionRunning, reset_for_reprocessing
from app.streams.call_events import CallChange, StreamReads, start_fan_out, stream_call
from tests.support.app import login, running_app
from tests.support.database import lapse_lease, table_held

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


class DownExtractor(FixedExtractor):
    """An LLM that is down: every attempt fails."""

    async def extract(self, transcript: str) -> CallExtraction:
        raise RuntimeError("LLM down")


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


async def hung_extraction(
    settings: Settings,
) -> tuple[AsyncEngine, SessionMaker, uuid.UUID, StuckExtractor, asyncio.Task[None]]:
    """An extraction on its own engine that has claimed an ended call and waits on the LLM until
    `extractor.release` is set: its engine, session maker, call id, extractor and task."""
    engine = create_engine(settings)
    maker = create_session_maker(engine)
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = StuckExtractor()
    task = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    )
    await asyncio.wait_for(extractor.started.wait(), timeout=10)  # claimed; the LLM is answering
    return engine, maker, call_id, extractor, task


async def add_call(maker: SessionMaker, status: CallStatus, transcript: str | None = TRANSCRIPT) -> uuid.UUID:
    call = Call(driver_name="Ana", load_number="L-1", status=status.value, transcript=transcript)
    async with session_scope(maker) as session:
        session.add(call)
    return call.id


async def load(maker: SessionMaker, call_id: uuid.UUID) -> tuple[Call, list[CallResult]]:
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        results = (await session.exec(select(CallResult).where(col(CallResult.call_id) == call_id))).all()
    assert call is not None
    return call, list(results)


@asynccontextmanager
async def fan_out_of(settings: Settings, maker: SessionMaker) -> AsyncIterator[Broadcaster[CallChange]]:
    """This process's fan-out of published changes, which the live streams follow."""
    fan_out = await start_fan_out(settings, maker.kw["bind"], maker)
    try:
        yield fan_out.broadcaster
    finally:
        await fan_out.aclose()


@asynccontextmanager
async def dashboard_feed(settings: Settings, maker: SessionMaker) -> AsyncIterator[Subscription[CallChange]]:
    """What this process's live streams are fed: each change published to the calls, as they send it."""
    async with fan_out_of(settings, maker) as broadcaster, broadcaster.subscribe() as feed:
        yield feed


async def next_change(feed: Subscription[CallChange]) -> CallChange:
    change = await asyncio.wait_for(feed.get(), timeout=5)
    assert change is not None, "the feed dropped its subscriber"
    return change


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


async def test_a_sweep_takes_ended_and_lapsed_calls_and_leaves_live_ones(
    settings: Settings, maker: SessionMaker
) -> None:
    ended = await add_call(maker, CallStatus.ENDED)
    lapsed = await add_call(maker, CallStatus.PROCESSING)
    live = await add_call(maker, CallStatus.PROCESSING)
    done = await add_call(maker, CallStatus.COMPLETED)
    no_transcript = await add_call(maker, CallStatus.ENDED, transcript=None)
    # Claimed without a lease (before leases existed): judged by the last update.
    unleased_recent = await add_call(maker, CallStatus.PROCESSING)
    unleased_old = await add_call(maker, CallStatus.PROCESSING)
    await lapse_lease(maker, lapsed)  # claimed by a process that died
    async with session_scope(maker) as session:
        soon = datetime.now(UTC) + timedelta(minutes=1)
        await session.exec(update(Call).where(col(Call.id) == live).values(lease_expires_at=soon))
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        await session.exec(
            update(Call)
            .where(col(Call.id) == unleased_old)
            .values(lease_expires_at=None, updated_at=long_ago)
        )
    extractor = FixedExtractor()
    sweeper = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings)
    assert await sweeper.sweep() == 3
    taken = (ended, lapsed, unleased_old)
    for _ in range(200):  # the sweep starts extractions in the background
        if [(await load(maker, call_id))[0].status for call_id in taken] == ["completed"] * 3:
            break
        await asyncio.sleep(0.05)
    await sweeper.aclose()
    assert extractor.calls == 3
    expected = {
        ended: "completed",
        lapsed: "completed",
        unleased_old: "completed",
        live: "processing",
        unleased_recent: "processing",
        done: "completed",
        no_transcript: "ended",
    }
    assert {call_id: (await load(maker, call_id))[0].status for call_id in expected} == expected
    assert (await load(maker, lapsed))[0].lease_expires_at is None


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
    await lapse_lease(maker, call_id)
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


async def test_a_slow_extraction_renews_its_lease_and_is_not_taken_over(
    make_settings: Callable[..., Settings], maker: SessionMaker
) -> None:
    settings = make_settings(extraction_lease_seconds=0.6)  # renewed every 0.2 s
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = FixedExtractor(delay=2.0)  # an LLM call three leases long
    task = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    )
    sweeper = ExtractionSweeper(session_maker=maker, extractor=FixedExtractor("Delayed"), settings=settings)
    for _ in range(6):
        await asyncio.sleep(0.25)
        call, _ = await load(maker, call_id)
        assert call.status == "processing"
        assert call.lease_expires_at is not None and call.lease_expires_at > datetime.now(UTC)
        assert await sweeper.sweep() == 0
        with pytest.raises(ExtractionRunning):
            async with session_scope(maker) as session:
                await reset_for_reprocessing(session, call_id=call_id)
    await task
    call, results = await load(maker, call_id)
    assert (call.status, extractor.calls, [r.data["driver_status"] for r in results]) == (
        "completed",
        1,
        ["Driving"],
    )


async def test_a_shut_down_worker_hands_its_call_back_at_once(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    task = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=FixedExtractor(delay=30), settings=settings)
    )
    await asyncio.sleep(0.3)
    assert (await load(maker, call_id))[0].status == "processing"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    call, _ = await load(maker, call_id)
    assert (call.status, call.lease_expires_at) == ("ended", None)  # any process's next sweep takes it


async def test_a_result_that_cannot_be_saved_at_first_is_retried_not_dropped(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    # Statements give up after 0.2 s, so a locked table is, to the worker, a database that is away.
    settings = make_settings(db_statement_timeout_seconds=0.2, extraction_lease_seconds=30)
    engine = create_engine(settings)
    maker = create_session_maker(engine)
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = FixedExtractor(delay=0.5)
    logged: list[str] = []  # what an operator reads while the database is away
    sink = logger.add(lambda message: logged.append(message.record["message"]), level="WARNING")
    task = asyncio.create_task(
        run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    )
    await asyncio.sleep(0.2)  # claimed; the LLM is answering
    async with table_held(clean_database, "calls"):
        await asyncio.sleep(2.0)  # the answer arrives and its first saves fail
        assert not task.done()
    back = time.monotonic()
    await asyncio.wait_for(task, timeout=15)
    saved_after = time.monotonic() - back
    call, results = await load(maker, call_id)
    await engine.dispose()
    assert (call.status, extractor.calls, len(results)) == ("completed", 1, 1)
    logger.remove(sink)
    # Retried after 0.25, 0.5 and 1 s: the result lands within about a second of the database's return,
    # and the database is not hammered meanwhile.
    assert saved_after < 1.6, saved_after
    pauses = [line.rsplit("retrying in ", 1)[1] for line in logged if "retrying in" in line]
    assert pauses[:2] == ["0.25 s", "0.50 s"], logged


async def test_a_call_ended_with_no_extractor_configured_says_so_on_the_dashboard_stream(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    async with dashboard_feed(settings, maker) as feed:
        await run_extraction(call_id, session_maker=maker, extractor=None, settings=settings)
        change = await next_change(feed)
    assert (change.call_id, change.live.status, change.live.status_detail) == (
        call_id,
        "ended",
        NOT_CONFIGURED,
    )


async def test_a_dashboard_following_an_ended_call_sees_the_not_configured_note_and_its_stream_ends(
    settings: Settings, maker: SessionMaker
) -> None:
    # As the app does it: on PostgreSQL the note is one statement on the ingest pool, on SQLite a session.
    ingest_pool = await create_ingest_pool(settings)
    call_id = await add_call(maker, CallStatus.ENDED)
    async with fan_out_of(settings, maker) as broadcaster:
        stream = stream_call(call_id, broadcaster=broadcaster, reads=StreamReads(maker))
        opened = await anext(stream)  # the call's page is open while its extraction is scheduled
        await run_extraction(
            call_id, session_maker=maker, extractor=None, settings=settings, ingest_pool=ingest_pool
        )
        events = [await asyncio.wait_for(anext(stream), timeout=5) for _ in range(2)]
        await stream.aclose()
    if ingest_pool is not None:
        await ingest_pool.close()
    assert (opened.event, opened.data and '"status_detail":null' in opened.data) == ("status", True)
    assert [event.event for event in events] == ["status", "end"]
    assert all(f'"status_detail":"{NOT_CONFIGURED}"' in str(event.data) for event in events)


async def test_with_no_extractor_configured_only_the_ended_call_asked_about_is_noted(
    settings: Settings, maker: SessionMaker
) -> None:
    asked = await add_call(maker, CallStatus.ENDED)
    other = await add_call(maker, CallStatus.ENDED)  # its own delivery notes it, when it comes
    # Another process, with an extractor, is working on this one; a late duplicate delivery lands here.
    held = await add_call(maker, CallStatus.PROCESSING)
    for call_id in (asked, held):
        await run_extraction(call_id, session_maker=maker, extractor=None, settings=settings)
    noted = {call_id: (await load(maker, call_id))[0].status_detail for call_id in (asked, other, held)}
    assert noted == {asked: NOT_CONFIGURED, other: None, held: None}


async def test_a_call_handed_back_on_shut_down_shows_as_ended_on_the_dashboard_stream(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = StuckExtractor()
    async with dashboard_feed(settings, maker) as feed:
        task = asyncio.create_task(
            run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
        )
        await asyncio.wait_for(extractor.started.wait(), timeout=10)
        claimed = await next_change(feed)
        task.cancel()  # the process shuts down mid-extraction
        await asyncio.gather(task, return_exceptions=True)
        handed_back = await next_change(feed)
    assert [(c.call_id, c.live.status) for c in (claimed, handed_back)] == [
        (call_id, "processing"),
        (call_id, "ended"),
    ]


async def test_a_call_reprocessed_after_a_sweep_finished_it_is_taken_by_that_sweeper_again(
    settings: Settings, maker: SessionMaker
) -> None:
    # The reprocess request's own extraction was lost (its process died before it ran): the sweep,
    # in a process whose sweeper extracted this call before, is what finishes the call.
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = FixedExtractor(delay=0)
    sweeper = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings)
    async with dashboard_feed(settings, maker) as feed:
        assert await sweeper.sweep() == 1
        while (await next_change(feed)).live.status != "completed":
            pass
        async with session_scope(maker) as session:
            await reset_for_reprocessing(session, call_id=call_id)
        for _ in range(50):  # the finished extraction leaves the sweeper's books once its task is done
            if await sweeper.sweep() == 1:
                break
            await asyncio.sleep(0)
        else:
            raise AssertionError("no later sweep took the reprocessed call")
        while (await next_change(feed)).live.status != "completed":
            pass
    await sweeper.aclose()
    call, results = await load(maker, call_id)
    assert (call.status, extractor.calls, len(results)) == ("completed", 2, 1)


async def test_a_sweep_with_no_extractor_notes_each_call_waiting_for_one_and_nothing_else(
    settings: Settings, maker: SessionMaker
) -> None:
    waiting = await add_call(maker, CallStatus.ENDED)
    nothing_to_extract = await add_call(maker, CallStatus.ENDED, transcript=None)
    completed = await add_call(maker, CallStatus.COMPLETED)
    held = await add_call(maker, CallStatus.PROCESSING)
    explained = await add_call(maker, CallStatus.ENDED)
    async with session_scope(maker) as session:
        await session.exec(
            update(Call).where(col(Call.id) == explained).values(status_detail="Retell: transfer failed")
        )
    sweeper = ExtractionSweeper(session_maker=maker, extractor=None, settings=settings)
    assert await sweeper.sweep() == 0
    noted = {call_id: (await load(maker, call_id))[0] for call_id in (waiting, explained)}
    assert await sweeper.sweep() == 0  # the next sweep finds nothing new to say
    details = {
        call_id: (await load(maker, call_id))[0].status_detail
        for call_id in (waiting, nothing_to_extract, completed, held, explained)
    }
    assert details == {
        waiting: NOT_CONFIGURED,
        nothing_to_extract: None,
        completed: None,
        held: None,
        explained: "Retell: transfer failed",
    }
    # Nor does it touch the calls again: their last change (the dashboard's order and version) stays.
    assert {c: (await load(maker, c))[0].updated_at for c in noted} == {
        c: call.updated_at for c, call in noted.items()
    }
    assert {c: (await load(maker, c))[0].status for c in (waiting, completed, held)} == {
        waiting: "ended",
        completed: "completed",
        held: "processing",
    }


async def test_a_worker_shutting_down_while_the_database_hangs_gives_up_handing_back_within_two_seconds(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    if clean_database.startswith("sqlite"):
        # aiosqlite runs a statement to the end of SQLite's busy timeout in its own thread: cancelling the
        # wait does not stop it, so there the hand-back is bounded by DB_STATEMENT_TIMEOUT_SECONDS instead.
        pytest.skip("a statement waiting on SQLite's lock cannot be cut short")
    # Statements would wait 30 s for the lock: only the hand-back's own bound ends the wait sooner.
    settings = make_settings(db_statement_timeout_seconds=30)
    engine, maker, call_id, _, task = await hung_extraction(settings)
    async with table_held(clean_database, "calls"):
        started = time.monotonic()
        task.cancel()  # shutting down while the database does not answer
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout=8)
        waited = time.monotonic() - started
    call, _ = await load(maker, call_id)
    await engine.dispose()
    assert waited < 4.0, waited  # the process's shutdown is not held up
    assert call.status == "processing"  # not handed back: its lease lapses and a sweep takes it


async def test_a_sweep_leaves_calls_finished_long_ago_and_live_leases_whatever_their_last_update(
    settings: Settings, maker: SessionMaker
) -> None:
    completed, failed = await add_call(maker, CallStatus.COMPLETED), await add_call(maker, CallStatus.FAILED)
    # A worker with a ten-minute lease (EXTRACTION_LEASE_SECONDS=600) renews it every 200 s.
    long_lease = await add_call(maker, CallStatus.PROCESSING)
    hour_ago, two_minutes_ago = (
        datetime.now(UTC) - timedelta(hours=1),
        datetime.now(UTC) - timedelta(minutes=2),
    )
    async with session_scope(maker) as session:
        for call_id in (completed, failed):
            await session.exec(
                update(Call).where(col(Call.id) == call_id).values(lease_expires_at=None, updated_at=hour_ago)
            )
        await session.exec(
            update(Call)
            .where(col(Call.id) == long_lease)
            .values(lease_expires_at=datetime.now(UTC) + timedelta(minutes=5), updated_at=two_minutes_ago)
        )
    extractor = FixedExtractor()
    sweeper = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings)
    assert await sweeper.sweep() == 0
    statuses = {
        call_id: (await load(maker, call_id))[0].status for call_id in (completed, failed, long_lease)
    }
    assert statuses == {completed: "completed", failed: "failed", long_lease: "processing"}
    assert extractor.calls == 0


@pytest.mark.parametrize("held_by", ["a lease", "an unleased worker"])
async def test_a_sweep_leaves_a_call_whose_hold_ends_at_this_very_instant(
    settings: Settings, maker: SessionMaker, monkeypatch: pytest.MonkeyPatch, held_by: str
) -> None:
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    monkeypatch.setattr("app.jobs.post_processing.utcnow", lambda: now)  # the clock only
    call_id = await add_call(maker, CallStatus.PROCESSING)
    held = (
        {"lease_expires_at": now}
        if held_by == "a lease"
        else {"lease_expires_at": None, "updated_at": now - timedelta(minutes=1)}
    )
    async with session_scope(maker) as session:
        await session.exec(update(Call).where(col(Call.id) == call_id).values(**held))
    sweeper = ExtractionSweeper(session_maker=maker, extractor=FixedExtractor(), settings=settings)
    assert await sweeper.sweep() == 0  # a hold lapses only once it is past
    assert (await load(maker, call_id))[0].status == "processing"


async def test_a_call_noted_not_configured_loses_the_note_as_soon_as_an_extractor_takes_it(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    unconfigured = ExtractionSweeper(session_maker=maker, extractor=None, settings=settings)
    await unconfigured.sweep()
    assert (await load(maker, call_id))[0].status_detail == NOT_CONFIGURED
    # The process restarts with an OpenAI key: its first sweep takes the call.
    extractor = StuckExtractor()
    configured = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings)
    async with dashboard_feed(settings, maker) as feed:
        assert await configured.sweep() == 1
        processing = await next_change(feed)
        extractor.release.set()
        completed = await next_change(feed)
    await configured.aclose()
    assert [(c.live.status, c.live.status_detail) for c in (processing, completed)] == [
        ("processing", None),
        ("completed", None),
    ]


async def test_a_failing_llm_is_retried_after_doubling_pauses_and_its_error_is_kept_to_2000_characters(
    make_settings: Callable[..., Settings], maker: SessionMaker
) -> None:
    settings = make_settings(extraction_backoff_seconds=0.3, extraction_max_attempts=3)
    loop = asyncio.get_running_loop()
    asked_at: list[float] = []

    class OverloadedExtractor(FixedExtractor):
        async def extract(self, transcript: str) -> CallExtraction:
            asked_at.append(loop.time())
            raise RuntimeError("model overloaded: " + "x" * 3000)

    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = OverloadedExtractor()
    extractor.name = "openai"
    await run_extraction(call_id, session_maker=maker, extractor=extractor, settings=settings)
    call, results = await load(maker, call_id)
    pauses = [later - earlier for earlier, later in itertools.pairwise(asked_at)]
    assert len(asked_at) == 3
    assert 0.3 <= pauses[0] < 0.55 and 0.6 <= pauses[1] < 0.85, pauses  # 0.3 s, then twice that
    assert (call.status, results) == ("failed", [])
    expected = "openai extraction failed after 3 attempt(s): RuntimeError: model overloaded: " + "x" * 3000
    assert call.status_detail == expected[:2000]


async def test_a_sweep_starts_at_most_twenty_calls_those_waiting_longest_first(
    settings: Settings, maker: SessionMaker
) -> None:
    # Stored in the order their ids sort, each waiting longer than the one before: neither the order
    # rows were written nor the order of their ids is the order they have been waiting in.
    ids = sorted(uuid.uuid4() for _ in range(SWEEP_BATCH + 1))
    start = datetime.now(UTC) - timedelta(hours=1)
    async with session_scope(maker) as session:
        for age, call_id in enumerate(ids):
            session.add(
                Call(
                    id=call_id,
                    driver_name="Ana",
                    load_number="L-1",
                    status=CallStatus.ENDED,
                    transcript=TRANSCRIPT,
                    updated_at=start - timedelta(seconds=age),
                )
            )
    extractor = FixedExtractor(delay=0)
    sweeper = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings)
    async with dashboard_feed(settings, maker) as feed:
        assert await sweeper.sweep() == SWEEP_BATCH  # the rest wait for the next sweep
        completed: set[uuid.UUID] = set()
        while len(completed) < SWEEP_BATCH:
            change = await next_change(feed)
            if change.live.status == "completed":
                completed.add(change.call_id)
    await sweeper.aclose()
    assert completed == set(ids[1:])
    assert (await load(maker, ids[0]))[0].status == "ended"
    assert extractor.calls == SWEEP_BATCH


async def test_a_sweeper_closed_on_shut_down_hands_back_the_calls_it_was_extracting(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)
    extractor = StuckExtractor()
    sweeper = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings)
    assert await sweeper.sweep() == 1
    await asyncio.wait_for(extractor.started.wait(), timeout=10)
    await sweeper.aclose()  # the process shuts down
    call, results = await load(maker, call_id)
    assert (call.status, call.lease_expires_at, results) == ("ended", None, [])  # any process takes it now


async def test_the_running_app_keeps_sweeping_and_finishes_a_call_a_dead_process_left_after_start_up(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(extractor="rules", extraction_sweep_seconds=0.2)
    async with running_app(settings) as client:
        auth = await login(client)
        engine = create_engine(settings)
        maker = create_session_maker(engine)
        # Well after start-up's first sweep, a process dies holding this call.
        call_id = await add_call(maker, CallStatus.PROCESSING)
        await lapse_lease(maker, call_id)
        await engine.dispose()
        for _ in range(100):
            detail = (await client.get(f"/api/call/{call_id}", headers=auth)).json()
            if detail["status"] == "completed":
                break
            await asyncio.sleep(0.1)  # the dashboard polls the same way
    assert detail["status"] == "completed"
    assert detail["result"]["call_outcome"] == "In-Transit Update"


async def test_a_call_whose_worker_froze_right_after_claiming_it_is_taken_over_once_the_lease_lapses(
    make_settings: Callable[..., Settings], maker: SessionMaker
) -> None:
    settings = make_settings(extraction_lease_seconds=0.5)
    call_id = await add_call(maker, CallStatus.ENDED)
    claimed, thaw = threading.Event(), threading.Event()

    class FreezingExtractor(FixedExtractor):
        async def extract(self, transcript: str) -> CallExtraction:
            claimed.set()
            thaw.wait(30)  # the whole process stops: no lease renewal either
            return await super().extract(transcript)

    def frozen_process() -> None:
        async def work() -> None:
            engine = create_engine(settings)
            extractor = FreezingExtractor("Delayed", delay=0)
            await run_extraction(
                call_id, session_maker=create_session_maker(engine), extractor=extractor, settings=settings
            )
            await engine.dispose()

        asyncio.run(work())

    process = threading.Thread(target=frozen_process)
    process.start()
    try:
        assert await asyncio.to_thread(claimed.wait, 10)
        await asyncio.sleep(settings.extraction_lease_seconds + 0.1)  # the lease runs out
        sweeper = ExtractionSweeper(session_maker=maker, extractor=FixedExtractor(delay=0), settings=settings)
        async with dashboard_feed(settings, maker) as feed:
            assert await sweeper.sweep() == 1
            while (await next_change(feed)).live.status != "completed":
                pass
        await sweeper.aclose()
    finally:
        thaw.set()
        await asyncio.to_thread(process.join, 30)
    call, results = await load(maker, call_id)
    assert (call.status, [r.data["driver_status"] for r in results]) == ("completed", ["Driving"])


async def test_a_reprocessed_call_whose_extraction_fails_loses_its_old_result_and_other_calls_keep_theirs(
    settings: Settings, maker: SessionMaker
) -> None:
    reprocessed, other = await add_call(maker, CallStatus.ENDED), await add_call(maker, CallStatus.ENDED)
    for call_id in (reprocessed, other):
        await run_extraction(
            call_id, session_maker=maker, extractor=FixedExtractor(delay=0), settings=settings
        )
    async with session_scope(maker) as session:
        await reset_for_reprocessing(session, call_id=reprocessed)

    await run_extraction(reprocessed, session_maker=maker, extractor=DownExtractor(), settings=settings)
    (failed, failed_results), (kept, kept_results) = await load(maker, reprocessed), await load(maker, other)
    assert (failed.status, failed.call_outcome, failed_results) == ("failed", None, [])
    assert (kept.status, kept.call_outcome) == ("completed", "In-Transit Update")
    assert [result.data["driver_status"] for result in kept_results] == ["Driving"]


async def test_reprocessing_a_failed_call_clears_the_reason_it_failed(
    settings: Settings, maker: SessionMaker
) -> None:
    # The dashboard shows `status_detail` beside the status: once the call waits for its extraction
    # again, the old failure's reason would read as if the new attempt had failed too.
    call_id = await add_call(maker, CallStatus.ENDED)

    await run_extraction(call_id, session_maker=maker, extractor=DownExtractor(), settings=settings)
    failed, _ = await load(maker, call_id)
    assert failed.status == "failed" and failed.status_detail, failed.status_detail
    async with session_scope(maker) as session:
        await reset_for_reprocessing(session, call_id=call_id)
    waiting, _ = await load(maker, call_id)
    assert (waiting.status, waiting.status_detail) == ("ended", None)


async def test_an_extraction_that_fails_shows_failed_and_why_on_the_dashboard_stream(
    settings: Settings, maker: SessionMaker
) -> None:
    call_id = await add_call(maker, CallStatus.ENDED)

    async with dashboard_feed(settings, maker) as feed:
        await run_extraction(call_id, session_maker=maker, extractor=DownExtractor(), settings=settings)
        processing, failed = await next_change(feed), await next_change(feed)
    assert (processing.live.status, failed.call_id, failed.live.status) == ("processing", call_id, "failed")
    assert failed.live.status_detail and "LLM down" in failed.live.status_detail, failed.live.status_detail


async def test_an_extraction_that_fails_drops_the_outcome_the_engine_guessed_during_the_call(
    settings: Settings, maker: SessionMaker
) -> None:
    # The engine writes a live outcome while the call runs; only a finished extraction may keep one. A
    # failed call showing the live guess would read as an extracted result on the dashboard and in CSV.
    call_id = await add_call(maker, CallStatus.ENDED)
    async with session_scope(maker) as session:
        await session.exec(
            update(Call)
            .where(col(Call.id) == call_id)
            .values(
                call_outcome="Emergency Escalation",
                follow_up_reason="escalation_pending",
                location_conflict=True,
            )
        )

    await run_extraction(call_id, session_maker=maker, extractor=DownExtractor(), settings=settings)
    call, _ = await load(maker, call_id)
    assert (call.status, call.call_outcome, call.follow_up_reason, call.location_conflict) == (
        "failed",
        None,
        None,
        False,
    )


async def test_a_worker_stops_retrying_a_save_once_the_database_has_been_away_for_the_retry_window(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    # Statements give up after 0.2 s (a locked table is a database that is away); saves are retried
    # for one second, well inside the outage; the call is then left to its lease and the sweep.
    settings = make_settings(
        db_statement_timeout_seconds=0.2, extraction_save_retry_seconds=1.0, extraction_lease_seconds=30
    )
    engine, maker, call_id, extractor, task = await hung_extraction(settings)
    async with table_held(clean_database, "calls"):
        extractor.release.set()  # the answer arrives while the database is away
        await asyncio.wait_for(asyncio.shield(task), timeout=2.5)  # it gives up inside the outage
    call, results = await load(maker, call_id)
    await engine.dispose()
    assert (call.status, results) == ("processing", [])  # not failed: a sweep finishes it after the lease


async def status_of(maker: SessionMaker, call_id: uuid.UUID) -> CallStatus:
    async with maker() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return CallStatus(call.status)


class CountingExtractor(FixedExtractor):
    """Records how many extractions ran at the same time."""

    def __init__(self) -> None:
        super().__init__(delay=0.1)
        self.running = self.most = 0

    async def extract(self, transcript: str) -> CallExtraction:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            return await super().extract(transcript)
        finally:
            self.running -= 1


async def test_a_burst_runs_on_a_fixed_number_of_workers_and_what_does_not_fit_waits_for_the_sweep(
    make_settings: Callable[..., Settings], maker: SessionMaker
) -> None:
    settings = make_settings(extraction_workers=2, extraction_queue_size=3)
    extractor = CountingExtractor()
    lane = ExtractionQueue(session_maker=maker, extractor=extractor, settings=settings)
    call_ids = [await add_call(maker, CallStatus.ENDED) for _ in range(8)]
    admitted = [lane.submit(call_id) for call_id in call_ids]
    assert admitted == [True] * 5 + [False] * 3  # 2 at work + 3 in line; the rest stay `ended`
    assert not lane.submit(call_ids[0])  # already in line: once
    await asyncio.wait_for(lane.aclose_when_idle(), 10)
    assert extractor.most == 2
    statuses = [await status_of(maker, call_id) for call_id in call_ids]
    assert statuses == [CallStatus.COMPLETED] * 5 + [CallStatus.ENDED] * 3
    # The sweep finds what did not fit and puts it through the same lane.
    sweeper = ExtractionSweeper(session_maker=maker, extractor=extractor, settings=settings, queue=lane)
    assert await sweeper.sweep() == 3
    await asyncio.wait_for(lane.aclose_when_idle(), 10)
    assert [await status_of(maker, call_id) for call_id in call_ids] == [CallStatus.COMPLETED] * 8
