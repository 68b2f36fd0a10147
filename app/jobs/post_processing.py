"""Post-processing: turn an ended call's transcript into its structured result, exactly once, always.

Claiming a call takes a lease (`calls.lease_expires_at`) that the worker renews while it works, the
LLM call included. Every process runs a sweeper that takes over lapsed leases and ended calls nobody
claimed, so an extraction whose process died, or lost the database, is finished by whichever process
is alive within `EXTRACTION_LEASE_SECONDS + EXTRACTION_SWEEP_SECONDS`, with no restart.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from loguru import logger

from app.changes.publisher import publish_change, sql_notify
from app.config import Settings
from app.core import dialect
from app.core.database import IngestPool, SessionMaker, is_database_unavailable, session_scope
from app.extraction import Extractor
from app.models import CallStatus
from app.models.base import utcnow
from app.repositories import calls as call_repository
from app.schemas.extraction import CallExtraction

NOT_CONFIGURED = "extraction is not configured: set OPENAI_API_KEY, or EXTRACTOR=rules for offline extraction"
# Calls one sweep starts at most, per process; the next sweep (or another process) takes the rest.
SWEEP_BATCH = 20
# Saving a result during a database outage is retried with doubling pauses up to this long.
MAX_SAVE_PAUSE_SECONDS = 5.0
# On shutdown a worker hands its call back at once, if the database answers within this.
RELEASE_TIMEOUT_SECONDS = 2.0

T = TypeVar("T")
# Runs a job after the response is sent: `defer(job, *args, **kwargs)`.
Defer = Callable[..., None]


class ExtractionQueue:
    """Background work in its own lane: a bounded line in front of a fixed number of workers.

    At most EXTRACTION_WORKERS extractions run at once per process, and at most EXTRACTION_QUEUE_SIZE
    wait for a turn; a burst of ended calls (deliveries, reprocess requests, a sweep's batch) waits here
    instead of each starting an extraction that takes a connection. Nothing is lost when the line is
    full or the process dies: the call waits, `ended`, in the database, and the sweep (every process)
    submits it again. The workers use the session maker they are given: the app gives them a pool of
    their own, so the interactive routes keep theirs.
    """

    def __init__(
        self,
        *,
        session_maker: SessionMaker,
        extractor: Extractor | None,
        settings: Settings,
        ingest_pool: IngestPool | None = None,
    ) -> None:
        self.session_maker, self.extractor, self.settings = session_maker, extractor, settings
        self.ingest_pool = ingest_pool
        self._turns = asyncio.Semaphore(settings.extraction_workers)  # first come, first served
        self._waiting: set[uuid.UUID] = set()  # in line or being worked on: each call once
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0

    def __contains__(self, call_id: uuid.UUID) -> bool:
        return call_id in self._waiting

    def admit(self, call_id: uuid.UUID) -> bool:
        """Take the call into line; False if already in line, or if the line is full (left for the sweep)."""
        if call_id in self._waiting:
            return False
        if len(self._waiting) >= self.settings.extraction_workers + self.settings.extraction_queue_size:
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                logger.warning("extraction queue full: {} call(s) left for the sweep so far", self.refused)
            return False
        self._waiting.add(call_id)
        return True

    async def run(self, call_id: uuid.UUID) -> None:
        """Extract an admitted call when a worker's turn comes (never raises)."""
        try:
            async with self._turns:
                await run_extraction(
                    call_id,
                    session_maker=self.session_maker,
                    extractor=self.extractor,
                    settings=self.settings,
                    ingest_pool=self.ingest_pool,
                )
        finally:
            self._waiting.discard(call_id)

    def submit(self, call_id: uuid.UUID) -> bool:
        """Admit the call and run it in a task of this lane's own (the sweep); False if not admitted."""
        if not self.admit(call_id):
            return False
        task = asyncio.create_task(self.run(call_id), name=f"extraction-{call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def aclose_when_idle(self) -> None:
        """Wait until the lane's own tasks are done (tests, and a sweep that wants its batch finished)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop the lane's own tasks; each running one hands its call back on the way out."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(frozen=True)
class ExtractionScheduler:
    """Runs a call's extraction after the response is sent, in a session of its own (ids, not objects)."""

    session_maker: SessionMaker
    extractor: Extractor | None
    settings: Settings
    ingest_pool: IngestPool | None = None  # PostgreSQL: notes "not configured" in one cheap statement
    queue: ExtractionQueue | None = None  # the app's: bounded, a fixed number of workers

    def schedule(self, defer: Defer, call_id: uuid.UUID) -> None:
        """Hand the call's extraction to `defer` (the web framework's after-the-response tasks)."""
        if self.queue is not None:
            # After the response, in the request's own task, once a worker's turn comes.
            if self.queue.admit(call_id):
                defer(self.queue.run, call_id)
            return
        defer(
            run_extraction,
            call_id,
            session_maker=self.session_maker,
            extractor=self.extractor,
            settings=self.settings,
            ingest_pool=self.ingest_pool,
        )


async def run_extraction(
    call_id: uuid.UUID,
    *,
    session_maker: SessionMaker,
    extractor: Extractor | None,
    settings: Settings,
    ingest_pool: IngestPool | None = None,
) -> None:
    """Claim the call, extract with bounded retries while holding the lease, store the result.

    The claim is a compare-and-set in the database (`ended`, or `processing` with a lapsed lease, ->
    `processing` with a fresh lease and the next claim number), so however many deliveries, sweeps or
    processes ask for one call, one worker holds it at a time, and only the current holder may write.
    Never raises: a failure leaves the call for the sweep.
    """
    log = logger.bind(call_id=str(call_id))
    try:
        if extractor is None:
            if ingest_pool is not None:
                await _note_not_configured_on(ingest_pool, call_id)
            else:
                await _note_not_configured(session_maker, call_id)
            log.warning("call {} ended but {}", call_id, NOT_CONFIGURED)
            return
        claim = await _claim(session_maker, call_id, settings=settings)
        if claim is None:
            log.debug("call {} is not waiting for extraction; nothing to do", call_id)
            return
        transcript, claim_number = claim
        lease = Lease(session_maker, call_id, claim_number, settings)
        try:
            await lease.hold(_extract_and_save(lease, transcript, extractor=extractor, settings=settings))
        except asyncio.CancelledError:
            await lease.release()  # shutting down: hand the call back now rather than when the lease lapses
            raise
    except Exception as exc:
        if is_database_unavailable(exc):
            log.warning(
                "call {}: the database is unavailable ({}); the sweep retries", call_id, type(exc).__name__
            )
        else:
            log.opt(exception=exc).error("call {}: extraction crashed; the sweep retries", call_id)


# The same note in one statement on the ingest pool, announced as `publish_change` announces it. It
# moves `updated_at` on as the ORM's update does: the announced version must pass the last one a
# stream has shown, or the stream takes the note for a change it has already sent.
_NEXT_VERSION = dialect.sql_next_version("updated_at", "$3::timestamptz", postgres=True)
_NOTE_ON_POSTGRES = f"""
WITH noted AS (
    UPDATE calls SET status_detail = $2, updated_at = {_NEXT_VERSION}
    WHERE id = $1 AND status = '{CallStatus.ENDED}'
    RETURNING id, status, updated_at
)
SELECT {sql_notify("id", "status", "updated_at")} FROM noted"""


async def _note_not_configured_on(pool: IngestPool, call_id: uuid.UUID) -> None:
    async with pool.acquire() as connection:
        await connection.execute(_NOTE_ON_POSTGRES, call_id, NOT_CONFIGURED, utcnow())


async def _note_not_configured(session_maker: SessionMaker, call_id: uuid.UUID) -> None:
    async with session_scope(session_maker) as session:
        if await call_repository.note_waiting_call(session, call_id, detail=NOT_CONFIGURED):
            await publish_change(session, call_id)


async def _claim(
    session_maker: SessionMaker, call_id: uuid.UUID, *, settings: Settings
) -> tuple[str, int] | None:
    """Take the call for extraction: its transcript and this claim's number, or None if someone holds it."""
    now = utcnow()
    async with session_scope(session_maker) as session:
        lease_until = now + timedelta(seconds=settings.extraction_lease_seconds)
        claim = await call_repository.claim_for_extraction(session, call_id, now=now, lease_until=lease_until)
        # Exactly one claimant gets a row back; everyone else sees the call already taken.
        if claim is not None:
            await publish_change(session, call_id)
        return claim


@dataclass(frozen=True)
class Lease:
    """One worker's hold on one call: renewed while it works, and the condition of every write it makes."""

    session_maker: SessionMaker
    call_id: uuid.UUID
    claim_number: int
    settings: Settings

    async def renew(self) -> bool:
        """Push the expiry forward; False once another worker has taken the call over."""
        expires = utcnow() + timedelta(seconds=self.settings.extraction_lease_seconds)
        async with session_scope(self.session_maker) as session:
            return await call_repository.renew_lease(session, self.call_id, self.claim_number, until=expires)

    async def hold(self, work: Coroutine[Any, Any, T]) -> T | None:
        """Run `work` while renewing the lease; None, with `work` cancelled, if the call is taken over."""
        working = asyncio.ensure_future(work)
        renewing = asyncio.ensure_future(self._renew_until_lost())
        try:
            await asyncio.wait({working, renewing}, return_when=asyncio.FIRST_COMPLETED)
            if working.done():
                return working.result()
            logger.bind(call_id=str(self.call_id)).warning(
                "call {} was taken over while extracting; stopping", self.call_id
            )
            return None
        finally:
            for task in (working, renewing):
                task.cancel()
            await asyncio.gather(working, renewing, return_exceptions=True)

    async def _renew_until_lost(self) -> None:
        log = logger.bind(call_id=str(self.call_id))
        while True:
            await asyncio.sleep(self.settings.extraction_lease_seconds / 3)
            try:
                if not await self.renew():
                    return
            except Exception as exc:  # the database is away for a moment: keep working, renew next time
                log.warning("could not renew the lease on call {}: {}", self.call_id, type(exc).__name__)

    async def release(self) -> None:
        """Hand the call back (`ended`, no lease) so any process takes it at once; best effort."""
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS), session_scope(self.session_maker) as session:
                if await call_repository.release_lease(session, self.call_id, self.claim_number):
                    await publish_change(session, self.call_id)
        except Exception as exc:  # the lease lapses by itself and the sweep takes the call
            logger.bind(call_id=str(self.call_id)).warning("could not release call {}: {}", self.call_id, exc)


async def _extract_and_save(
    lease: Lease, transcript: str, *, extractor: Extractor, settings: Settings
) -> CallStatus | None:
    """The extraction's outcome, stored; the status written, or None if the call was taken over."""
    log = logger.bind(call_id=str(lease.call_id))
    extraction = await _extract_with_retries(
        lease.call_id, transcript, extractor=extractor, settings=settings
    )
    status = await _retry_while_database_unavailable(
        lambda: _save(lease, extraction, extractor_name=extractor.name),
        seconds=settings.extraction_save_retry_seconds,
        what=f"saving call {lease.call_id}'s result",
    )
    if status is None:
        log.warning("call {} was taken over while extracting; this result is dropped", lease.call_id)
    elif isinstance(extraction, CallExtraction):
        log.info("call {} completed: {}", lease.call_id, extraction.result.call_outcome)
    else:
        log.error("call {} extraction failed for good: {}", lease.call_id, extraction)
    return status


async def _extract_with_retries(
    call_id: uuid.UUID, transcript: str, *, extractor: Extractor, settings: Settings
) -> CallExtraction | str:
    """The extraction, or the last error's description once every attempt failed."""
    attempts = settings.extraction_max_attempts
    for attempt in range(1, attempts + 1):
        try:
            return await extractor.extract(transcript)
        except Exception as exc:  # any LLM, network or schema failure is retried the same way
            error = (
                f"{extractor.name} extraction failed after {attempt} attempt(s): {type(exc).__name__}: {exc}"
            )
            logger.bind(call_id=str(call_id)).warning(
                "extraction attempt {}/{} failed: {}", attempt, attempts, type(exc).__name__
            )
            if attempt == attempts:
                return error[:2000]
            await asyncio.sleep(settings.extraction_backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


async def _retry_while_database_unavailable(
    action: Callable[[], Awaitable[T]], *, seconds: float, what: str
) -> T:
    """Run `action`, again and again with doubling pauses while the database is unavailable, for `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pause = 0.25
    while True:
        try:
            return await action()
        except Exception as exc:
            if not is_database_unavailable(exc) or loop.time() + pause > deadline:
                raise
            logger.warning("{} failed ({}); retrying in {:.2f} s", what, type(exc).__name__, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_SAVE_PAUSE_SECONDS)


async def _save(lease: Lease, extraction: CallExtraction | str, *, extractor_name: str) -> CallStatus | None:
    """Write the outcome in one transaction, only while the lease is ours; the status written, or None."""
    async with session_scope(lease.session_maker) as session:
        if isinstance(extraction, CallExtraction):
            status = CallStatus.COMPLETED
            done = await call_repository.save_completed(
                session, lease.call_id, lease.claim_number, extraction, extractor_name=extractor_name
            )
        else:
            status = CallStatus.FAILED
            done = await call_repository.save_failed(
                session, lease.call_id, lease.claim_number, detail=extraction
            )
        if done:
            await publish_change(session, lease.call_id)
    return status if done else None


class ExtractionSweeper:
    """Every process runs one: it finishes what a dead or cut-off process left, with no restart.

    It sweeps at start-up and then every `EXTRACTION_SWEEP_SECONDS`, starting an extraction for each
    ended call nobody claimed and each `processing` call whose lease lapsed.
    """

    def __init__(
        self,
        *,
        session_maker: SessionMaker,
        extractor: Extractor | None,
        settings: Settings,
        queue: ExtractionQueue | None = None,
    ) -> None:
        self.session_maker, self.extractor, self.settings = session_maker, extractor, settings
        self.queue = queue  # the app's: found calls join the same bounded lane as deliveries
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def run_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # a database outage must not end the sweeping
                if is_database_unavailable(exc):
                    logger.warning(
                        "extraction sweep skipped: the database is unavailable ({})", type(exc).__name__
                    )
                else:
                    logger.opt(exception=exc).error("extraction sweep failed")
            await asyncio.sleep(self.settings.extraction_sweep_seconds)

    async def sweep(self) -> int:
        """Start an extraction for every call waiting with no live claim; returns how many it started."""
        if self.extractor is None:
            await self._note_not_configured()
            return 0
        async with session_scope(self.session_maker) as session:
            waiting = await call_repository.waiting_for_extraction(session, now=utcnow(), limit=SWEEP_BATCH)
        if self.queue is not None:
            queue = self.queue
            submitted = [call_id for call_id in waiting if call_id not in queue and queue.submit(call_id)]
            if submitted:
                logger.info("sweep: {} call(s) waiting for extraction with no live claim", len(submitted))
            return len(submitted)
        started = [call_id for call_id in waiting if call_id not in self._running]
        for call_id in started:
            task = asyncio.create_task(
                run_extraction(
                    call_id,
                    session_maker=self.session_maker,
                    extractor=self.extractor,
                    settings=self.settings,
                )
            )
            self._running[call_id] = task
            task.add_done_callback(self._forget(call_id))
        if started:
            logger.info(
                "sweep: {} call(s) waiting for extraction with no live claim; taking them", len(started)
            )
        return len(started)

    def _forget(self, call_id: uuid.UUID) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._running.pop(call_id, None)

        return forget

    async def _note_not_configured(self) -> None:
        # Calls ended while no extractor is configured say so; one configured later picks them up.
        async with session_scope(self.session_maker) as session:
            await call_repository.note_waiting_calls(session, detail=NOT_CONFIGURED)

    async def aclose(self) -> None:
        """Stop the extractions this sweeper started; each hands its call back on the way out."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
