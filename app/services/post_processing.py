"""Post-processing: turn an ended call's transcript into its structured result, exactly once."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import BackgroundTasks
from loguru import logger
from sqlalchemy import or_
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.core.database import SessionMaker, session_scope
from app.extraction import Extractor
from app.models import Call, CallResult, CallStatus
from app.models.base import utcnow
from app.schemas.extraction import CallExtraction
from app.services.call_changes import publish_change

NOT_CONFIGURED = "extraction is not configured: set OPENAI_API_KEY, or EXTRACTOR=rules for offline extraction"


@dataclass(frozen=True)
class ExtractionScheduler:
    """Runs a call's extraction after the response is sent, in a session of its own (ids, not objects)."""

    session_maker: SessionMaker
    extractor: Extractor | None
    settings: Settings

    def schedule(self, background: BackgroundTasks, call_id: uuid.UUID) -> None:
        background.add_task(
            run_extraction,
            call_id,
            session_maker=self.session_maker,
            extractor=self.extractor,
            settings=self.settings,
        )


async def run_extraction(
    call_id: uuid.UUID, *, session_maker: SessionMaker, extractor: Extractor | None, settings: Settings
) -> None:
    """Background task: claim the call, extract with bounded retries, store the result.

    The claim is a compare-and-set on the status (`ended` -> `processing`) in the database, so however
    many deliveries, retries or server processes schedule this for one call, only one runs it.
    """
    log = logger.bind(call_id=str(call_id))
    if extractor is None:
        async with session_scope(session_maker) as session:
            await session.exec(
                update(Call)
                .where(col(Call.id) == call_id, col(Call.status) == CallStatus.ENDED)
                .values(status_detail=NOT_CONFIGURED)
            )
            await publish_change(session, call_id)
        log.warning("call {} ended but {}", call_id, NOT_CONFIGURED)
        return
    claim = await _claim(session_maker, call_id)
    if claim is None:
        log.debug("call {} is not waiting for extraction; nothing to do", call_id)
        return
    transcript, claim_number = claim
    # Write only while this claim still holds: a reprocess may have taken over a claim thought dead.
    still_ours = (
        col(Call.id) == call_id,
        col(Call.status) == CallStatus.PROCESSING,
        col(Call.extraction_attempts) == claim_number,
    )

    async def renew_claim() -> bool:
        """Touch the claim before each attempt, so a slow but live extraction never looks stalled."""
        async with session_scope(session_maker) as session:
            touched = await session.exec(update(Call).where(*still_ours).values(updated_at=utcnow()))
        return touched.rowcount == 1

    extraction = await _extract_with_retries(
        call_id, transcript, extractor=extractor, settings=settings, renew_claim=renew_claim
    )
    if extraction is None:
        log.warning("call {} was taken over while extracting; stopping", call_id)
        return
    async with session_scope(session_maker) as session:
        if isinstance(extraction, CallExtraction):
            outcome = extraction.result.call_outcome
            done = await session.exec(
                update(Call)
                .where(*still_ours)
                .values(status=CallStatus.COMPLETED.value, call_outcome=outcome, status_detail=None)
            )
            if done.rowcount == 1:
                await _store_result(session, call_id, extraction, extractor_name=extractor.name)
                log.info("call {} completed: {}", call_id, outcome)
        else:
            done = await session.exec(
                update(Call)
                .where(*still_ours)
                .values(status=CallStatus.FAILED.value, status_detail=extraction, call_outcome=None)
            )
            if done.rowcount == 1:
                # A failed re-run must not leave the previous result looking current.
                await session.exec(delete(CallResult).where(col(CallResult.call_id) == call_id))
                log.error("call {} extraction failed for good: {}", call_id, extraction)
        await publish_change(session, call_id)  # unchanged if taken over: subscribers skip it
        if done.rowcount != 1:
            log.warning("call {} was taken over while extracting; this result is dropped", call_id)


async def _claim(session_maker: SessionMaker, call_id: uuid.UUID) -> tuple[str, int] | None:
    """Take the call for extraction: its transcript and this claim's attempt number, or None if taken."""
    async with session_scope(session_maker) as session:
        claimed = await session.exec(
            update(Call)
            .where(
                col(Call.id) == call_id,
                col(Call.status) == CallStatus.ENDED,
                col(Call.transcript).is_not(None),
            )
            .values(
                status=CallStatus.PROCESSING.value,
                status_detail=None,
                extraction_attempts=Call.extraction_attempts + 1,
            )
            .returning(col(Call.transcript), col(Call.extraction_attempts))
        )
        # Exactly one claimant gets a row back; everyone else sees the call already taken.
        row = claimed.one_or_none()
        if row is not None:
            await publish_change(session, call_id)
        return (row[0], row[1]) if row is not None else None


async def _extract_with_retries(
    call_id: uuid.UUID,
    transcript: str,
    *,
    extractor: Extractor,
    settings: Settings,
    renew_claim: Callable[[], Awaitable[bool]],
) -> CallExtraction | str | None:
    """The extraction; the last error's description once every attempt failed; None if taken over."""
    attempts = settings.extraction_max_attempts
    for attempt in range(1, attempts + 1):
        if not await renew_claim():
            return None
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


async def _store_result(
    session: AsyncSession, call_id: uuid.UUID, extraction: CallExtraction, *, extractor_name: str
) -> None:
    # A reprocessed call replaces its earlier result.
    await session.exec(delete(CallResult).where(col(CallResult.call_id) == call_id))
    session.add(
        CallResult(
            call_id=call_id,
            scenario=extraction.scenario,
            call_outcome=extraction.result.call_outcome,
            data=extraction.result.model_dump(),
            extractor=extractor_name,
        )
    )
    await session.flush()


async def recover_pending(
    *, session_maker: SessionMaker, extractor: Extractor | None, settings: Settings, stale_after: timedelta
) -> int:
    """At start-up, finish what a stopped process left: ended calls never extracted, stalled extractions.

    Background tasks live in the process that scheduled them; without this sweep a restart between
    a webhook's 204 and its extraction would leave the call `ended` forever.
    """
    async with session_scope(session_maker) as session:
        await session.exec(
            update(Call)
            .where(col(Call.status) == CallStatus.PROCESSING, col(Call.updated_at) < utcnow() - stale_after)
            .values(status=CallStatus.ENDED.value)
        )
        pending = list(
            (
                await session.exec(
                    select(Call.id).where(
                        col(Call.status) == CallStatus.ENDED,
                        col(Call.transcript).is_not(None),
                        # Calls left waiting for an extractor are picked up once one is configured.
                        or_(col(Call.status_detail).is_(None), col(Call.status_detail) == NOT_CONFIGURED)
                        if extractor is not None
                        else col(Call.status_detail).is_(None),
                    )
                )
            ).all()
        )
    for call_id in pending:
        await run_extraction(call_id, session_maker=session_maker, extractor=extractor, settings=settings)
    if pending:
        logger.info("recovered {} call(s) waiting for extraction", len(pending))
    return len(pending)
