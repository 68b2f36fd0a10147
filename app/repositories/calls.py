"""The call aggregate's queries: calls, their results and their deliveries (`calls`, `call_results`,
`webhook_events`).

Every ORM read and write of those tables is here, named for what it is for; the conditions on a call's
status come from `models/call_lifecycle.py`. Nothing here commits or announces: the caller's session
scope commits, and the caller publishes the change. The webhook's hand-built statements (`app/ingest`)
and the engine's turn statement stay beside their hot paths.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Row, bindparam, update
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import dialect, keyset
from app.models import Call, CallResult, CallStatus, WebhookEvent
from app.models.call_lifecycle import Actor, claimable, lease_held, reprocessable, sources
from app.schemas.call import CallSummary
from app.schemas.extraction import CallExtraction

# Only what a list row shows: transcripts, turns and analyses stay on disk.
SUMMARY_COLUMNS = tuple(col(getattr(Call, name)) for name in CallSummary.model_fields)
_CHANGED_COLUMNS = (*SUMMARY_COLUMNS, col(Call.updated_at))
NEWEST_FIRST = keyset.newest_first(col(Call.created_at), col(Call.id))


@dataclass(frozen=True)
class CallFilters:
    status: CallStatus | None = None
    call_outcome: str | None = None
    load_number: str | None = None
    driver: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    agent_config_id: uuid.UUID | None = None
    triggered_by: uuid.UUID | None = None
    follow_up: bool | None = None
    follow_up_reason: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses these filters stand for (list, export, stats), each index-served newest first."""
        conditions: list[ColumnElement[bool]] = []
        if self.status is not None:
            conditions.append(col(Call.status) == self.status.value)
        if self.call_outcome:
            conditions.append(col(Call.call_outcome) == self.call_outcome)
        if self.load_number:
            conditions.append(col(Call.load_number) == self.load_number)
        if self.driver:
            pattern = "%" + self.driver.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(col(Call.driver_name).ilike(pattern, escape="\\"))
        if self.created_after is not None:
            conditions.append(col(Call.created_at) >= self.created_after)
        if self.created_before is not None:
            conditions.append(col(Call.created_at) < self.created_before)
        if self.agent_config_id is not None:
            conditions.append(col(Call.agent_config_id) == self.agent_config_id)
        if self.triggered_by is not None:
            conditions.append(col(Call.triggered_by) == self.triggered_by)
        # Written as the partial follow-up indexes' own predicate, so the planner can use them.
        if self.follow_up_reason:
            conditions.append(col(Call.follow_up_reason) == self.follow_up_reason)
        elif self.follow_up is True:
            conditions.append(col(Call.follow_up_reason).is_not(None))
        if self.follow_up is False:
            conditions.append(col(Call.follow_up_reason).is_(None))
        return conditions


# ---------------------------------------------------------------------------------------------------------
# One call
# ---------------------------------------------------------------------------------------------------------


async def get(session: AsyncSession, call_id: uuid.UUID) -> Call | None:
    return await session.get(Call, call_id)


async def find_recorded(
    session: AsyncSession, our_id: uuid.UUID | None, retell_call_id: str
) -> uuid.UUID | None:
    """A call already recorded, matched as the webhook matches: ours from the metadata, else Retell's id."""
    if our_id is not None and (await session.get(Call, our_id)) is not None:
        return our_id
    query = select(Call.id).where(col(Call.retell_call_id) == retell_call_id)
    found: uuid.UUID | None = (await session.exec(query)).first()
    return found


async def reload(session: AsyncSession, call: Call) -> None:
    """Read the call's row again (after an update statement changed it behind the loaded object)."""
    await session.refresh(call)


async def status_and_updated_at(session: AsyncSession, call_id: uuid.UUID) -> tuple[str, datetime] | None:
    """What a change announces: the status this transaction wrote and its version's moment."""
    row = (await session.exec(select(Call.status, Call.updated_at).where(col(Call.id) == call_id))).first()
    return (str(row[0]), row[1]) if row is not None else None


_RESULT_OF_CALL = select(CallResult.scenario, CallResult.data).where(
    col(CallResult.call_id) == bindparam("call_id")
)


async def result_of(session: AsyncSession, call_id: uuid.UUID) -> tuple[str, Mapping[str, Any]] | None:
    """The call's stored result: its scenario and fields (a unique lookup)."""
    row = (await session.exec(_RESULT_OF_CALL, params={"call_id": call_id})).first()
    return (row[0], row[1]) if row is not None else None


# The call's own copy of its result's fields, cleared: what reprocessing and a failed extraction leave.
_NO_RESULT: dict[str, object] = {"call_outcome": None, "follow_up_reason": None, "location_conflict": False}


# ---------------------------------------------------------------------------------------------------------
# The trigger's writes
# ---------------------------------------------------------------------------------------------------------


async def store_queued(session: AsyncSession, call: Call) -> Call:
    """Insert a call just triggered (`queued`); flushed, so its id is known."""
    session.add(call)
    await session.flush()
    return call


async def mark_registered(session: AsyncSession, call_id: uuid.UUID, *, retell_call_id: str) -> None:
    # Only forward: Retell's webhooks may already have moved the call on while we waited for its answer.
    await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(sources(Actor.TRIGGER, CallStatus.REGISTERED)))
        .values(status=CallStatus.REGISTERED.value)
    )
    await session.exec(update(Call).where(col(Call.id) == call_id).values(retell_call_id=retell_call_id))


async def mark_failed(session: AsyncSession, call_id: uuid.UUID, *, detail: str) -> None:
    # Only a call nobody has heard of since: if Retell dialled anyway and its webhooks already moved
    # the call on (even to `completed`), they know better than our timeout.
    await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(sources(Actor.TRIGGER, CallStatus.FAILED)))
        .values(status=CallStatus.FAILED.value, status_detail=detail)
    )


async def reopen_for_extraction(session: AsyncSession, call_id: uuid.UUID, *, now: datetime) -> bool:
    """Put a finished call (or one whose extraction lease lapsed) back to `ended`; False if it was not."""
    # `ended` is the claim itself, so it is not a state to claim from: of concurrent requests only the
    # one whose update moves the call there gets a row back.
    claimed = await session.exec(
        update(Call)
        .where(
            col(Call.id) == call_id,
            # Finished, or an extraction whose worker stopped renewing its lease: take it over at once
            # (the next claim bumps the claim number, so that worker's late writes are refused).
            reprocessable(now),
        )
        .values(status=CallStatus.ENDED.value, status_detail=None, lease_expires_at=None, **_NO_RESULT)
    )
    return bool(claimed.rowcount == 1)


# ---------------------------------------------------------------------------------------------------------
# Lists and reports
# ---------------------------------------------------------------------------------------------------------


async def summaries_page(
    session: AsyncSession,
    *,
    filters: CallFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """The list rows matching `filters`, newest first, after the key `after`; at most `limit`."""
    conditions = filters.conditions()
    if after is not None:
        conditions.append(NEWEST_FIRST.after(after))
    query = select(*SUMMARY_COLUMNS).where(*conditions).order_by(*NEWEST_FIRST.order_by()).limit(limit)
    return (await session.exec(query)).all()


async def recently_changed(
    session: AsyncSession,
    *,
    agent_config_id: uuid.UUID | None,
    changed_after: datetime | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """List rows (with `updated_at`) of the calls changed most recently, newest change first."""
    query = select(*_CHANGED_COLUMNS).order_by(col(Call.updated_at).desc()).limit(limit)
    if agent_config_id is not None:
        query = query.where(col(Call.agent_config_id) == agent_config_id)
    if changed_after is not None:
        query = query.where(col(Call.updated_at) > changed_after)
    return (await session.exec(query)).all()


async def counts_by_status_outcome_and_reason(
    session: AsyncSession, *, filters: CallFilters
) -> Sequence[Any]:
    """(status, call_outcome, follow_up_reason, calls, location conflicts) per group, in one grouped query."""
    conflict = sa.case((col(Call.location_conflict), 1), else_=0)
    query = (
        sa.select(
            col(Call.status),
            col(Call.call_outcome),
            col(Call.follow_up_reason),
            func.count(),
            func.coalesce(func.sum(conflict), 0),
        )
        .where(*filters.conditions())
        .group_by(col(Call.status), col(Call.call_outcome), col(Call.follow_up_reason))
    )
    return (await session.exec(query)).all()  # type: ignore[call-overload]


async def latencies(session: AsyncSession, *, filters: CallFilters) -> Sequence[dict[str, Any] | None]:
    """Retell's latency figures of every call matching `filters` that reported some."""
    query = select(col(Call.latency)).where(*filters.conditions(), col(Call.latency).is_not(None))
    return (await session.exec(query)).all()


async def export_batch(
    session: AsyncSession,
    *,
    call_columns: Sequence[str],
    filters: CallFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """The export's rows (the named call columns, the result's scenario and data), newest first, after
    `after`."""
    columns = [getattr(Call, name) for name in call_columns]
    query = (
        sa.select(*columns, col(CallResult.scenario), col(CallResult.data))
        .outerjoin(CallResult, col(CallResult.call_id) == col(Call.id))
        .where(*filters.conditions())
        .order_by(*NEWEST_FIRST.order_by())
        .limit(limit)
    )
    if after is not None:
        query = query.where(NEWEST_FIRST.after(after))
    return (await session.exec(query)).all()  # type: ignore[call-overload]


async def deliveries_of(
    session: AsyncSession, call_id: uuid.UUID, *, include_payload: bool, limit: int
) -> Sequence[Row[Any]]:
    """The deliveries stored for a call, oldest first, with each payload's size; payloads only if asked."""
    size = dialect.byte_length(session, col(WebhookEvent.payload))  # bytes of the stored JSON text
    columns = [
        col(WebhookEvent.id),
        col(WebhookEvent.event),
        col(WebhookEvent.retell_call_id),
        col(WebhookEvent.received_at),
        size.label("payload_size"),
    ]
    if include_payload:
        columns.append(col(WebhookEvent.payload))
    query = (
        sa.select(*columns)
        .where(col(WebhookEvent.call_id) == call_id)
        .order_by(col(WebhookEvent.received_at), col(WebhookEvent.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------------------
# The extraction job's writes: claim, lease, save (each only while the lease is the caller's)
# ---------------------------------------------------------------------------------------------------------


async def note_waiting_call(session: AsyncSession, call_id: uuid.UUID, *, detail: str) -> bool:
    """Say why an ended call waits (`status_detail`), if it is still `ended`; True if it was."""
    noted = await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status) == CallStatus.ENDED)
        .values(status_detail=detail)
    )
    return bool(noted.rowcount == 1)


async def note_waiting_calls(session: AsyncSession, *, detail: str) -> None:
    """Say why on every ended call with a transcript that says nothing yet."""
    await session.exec(
        update(Call)
        .where(
            col(Call.status) == CallStatus.ENDED,
            col(Call.transcript).is_not(None),
            col(Call.status_detail).is_(None),
        )
        .values(status_detail=detail)
    )


async def waiting_for_extraction(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[uuid.UUID]:
    """Calls an extraction may claim now (ended, or with a lapsed lease), longest waiting first."""
    query = select(Call.id).where(claimable(now)).order_by(col(Call.updated_at)).limit(limit)
    return (await session.exec(query)).all()


async def claim_for_extraction(
    session: AsyncSession, call_id: uuid.UUID, *, now: datetime, lease_until: datetime
) -> tuple[str, int] | None:
    """Compare-and-set the call to `processing` under a fresh lease: its transcript and the claim's number,
    or None if it is not claimable (exactly one concurrent claimant gets a row back)."""
    claimed = await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, claimable(now))
        .values(
            status=CallStatus.PROCESSING.value,
            status_detail=None,
            extraction_attempts=Call.extraction_attempts + 1,
            lease_expires_at=lease_until,
        )
        .returning(col(Call.transcript), col(Call.extraction_attempts))
    )
    row = claimed.one_or_none()
    return (row[0], row[1]) if row is not None else None


async def renew_lease(
    session: AsyncSession, call_id: uuid.UUID, claim_number: int, *, until: datetime
) -> bool:
    """Push the lease's expiry forward; False once another claim has taken the call over."""
    renewed = await session.exec(
        update(Call).where(*lease_held(call_id, claim_number)).values(lease_expires_at=until)
    )
    return bool(renewed.rowcount == 1)


async def release_lease(session: AsyncSession, call_id: uuid.UUID, claim_number: int) -> bool:
    """Hand the call back (`ended`, no lease) if the claim still holds it."""
    released = await session.exec(
        update(Call)
        .where(*lease_held(call_id, claim_number))
        .values(status=CallStatus.ENDED.value, lease_expires_at=None)
    )
    return bool(released.rowcount == 1)


async def save_completed(
    session: AsyncSession,
    call_id: uuid.UUID,
    claim_number: int,
    extraction: CallExtraction,
    *,
    extractor_name: str,
) -> bool:
    """`completed` with the result (replacing an earlier one), if the claim still holds the call."""
    done = await session.exec(
        update(Call)
        .where(*lease_held(call_id, claim_number))
        .values(
            status=CallStatus.COMPLETED.value,
            call_outcome=extraction.result.call_outcome,
            follow_up_reason=extraction.result.follow_up_reason,
            location_conflict=extraction.result.location_conflict,
            status_detail=None,
            lease_expires_at=None,
        )
    )
    if done.rowcount != 1:
        return False
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
    return True


async def save_failed(session: AsyncSession, call_id: uuid.UUID, claim_number: int, *, detail: str) -> bool:
    """`failed` with the error, the earlier result dropped, if the claim still holds the call."""
    done = await session.exec(
        update(Call)
        .where(*lease_held(call_id, claim_number))
        .values(status=CallStatus.FAILED.value, status_detail=detail, lease_expires_at=None, **_NO_RESULT)
    )
    if done.rowcount != 1:
        return False
    # A failed re-run must not leave the previous result looking current.
    await session.exec(delete(CallResult).where(col(CallResult.call_id) == call_id))
    return True
