"""What a dashboard reads beside the call list: counts for its header, a CSV export, a call's deliveries."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.database import SessionMaker
from app.models import Call, CallResult, CallStatus, WebhookEvent
from app.schemas.call_reports import CallStats, OutcomeCount, StatusCounts, WebhookDeliveries, WebhookDelivery
from app.schemas.extraction import CallOutcome, CheckInResult, EmergencyResult
from app.services.calls import CallFilters, get_call

EXPORT_BATCH = 500
MAX_DELIVERIES = 200

CALL_COLUMNS = [
    "id",
    "created_at",
    "status",
    "driver_name",
    "phone_number",
    "load_number",
    "call_type",
    "agent_config_id",
    "started_at",
    "ended_at",
    "duration_ms",
    "disconnection_reason",
    "call_outcome",
]
# Every field of either result, flat, as the dashboard shows them; a check-in leaves the emergency ones empty.
RESULT_COLUMNS = ["scenario"] + [
    name for name in [*CheckInResult.model_fields, *EmergencyResult.model_fields] if name != "call_outcome"
]
EXPORT_COLUMNS = CALL_COLUMNS + list(dict.fromkeys(RESULT_COLUMNS))
# A cell a spreadsheet would run as a formula if it started with one of these (OWASP's list). Every text
# cell is checked, whatever its column: the webhook writes some (phone_number, disconnection_reason).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def call_stats(
    session: AsyncSession,
    *,
    created_after: datetime,
    created_before: datetime,
    agent_config_id: uuid.UUID | None,
) -> CallStats:
    """Counts by status and by outcome over one window, in one grouped query."""
    filters = CallFilters(
        created_after=created_after, created_before=created_before, agent_config_id=agent_config_id
    )
    query = (
        select(col(Call.status), col(Call.call_outcome), func.count())
        .where(*filters.conditions())
        .group_by(col(Call.status), col(Call.call_outcome))
    )
    by_status = dict.fromkeys(CallStatus, 0)
    by_outcome = dict.fromkeys(CallOutcome, 0)
    for status, outcome, count in (await session.exec(query)).all():
        by_status[CallStatus(status)] += count
        if outcome in by_outcome:
            by_outcome[CallOutcome(outcome)] += count
    return CallStats(
        created_after=created_after,
        created_before=created_before,
        total=sum(by_status.values()),
        by_status=StatusCounts(**{status.value: count for status, count in by_status.items()}),
        by_outcome=[OutcomeCount(call_outcome=outcome, count=count) for outcome, count in by_outcome.items()],
    )


async def export_csv(session_maker: SessionMaker, *, filters: CallFilters) -> AsyncIterator[str]:
    """The filtered list as CSV, newest first, read in keyset batches so memory stays flat.

    Each batch has its own short session: the request's session is closed once streaming starts.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    yield _drain(buffer)
    columns = [getattr(Call, name) for name in CALL_COLUMNS]
    base = (
        sa.select(*columns, col(CallResult.scenario), col(CallResult.data))
        .outerjoin(CallResult, col(CallResult.call_id) == col(Call.id))
        .where(*filters.conditions())
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .limit(EXPORT_BATCH)
    )
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = base
        if last is not None:
            query = query.where(
                sa.or_(
                    col(Call.created_at) < last[0],
                    sa.and_(col(Call.created_at) == last[0], col(Call.id) < last[1]),
                )
            )
        async with session_maker() as session:
            rows = (await session.exec(query)).all()  # type: ignore[call-overload]
        for row in rows:
            writer.writerow(_csv_row(row._mapping))
        yield _drain(buffer)
        if len(rows) < EXPORT_BATCH:
            return
        last = (rows[-1].created_at, rows[-1].id)


def _csv_row(row: Any) -> dict[str, object]:
    values: dict[str, object] = {name: row[name] for name in CALL_COLUMNS}
    if row["status"] == CallStatus.COMPLETED and row["scenario"] is not None:
        values.update({"scenario": row["scenario"], **(row["data"] or {})})
    cells: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, CallStatus):
            value = value.value
        elif isinstance(value, str) and value.startswith(FORMULA_START):
            value = "'" + value
        cells[name] = value
    return cells


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def webhook_deliveries(
    session: AsyncSession, *, call_id: uuid.UUID, include_payload: bool
) -> WebhookDeliveries:
    """The deliveries stored for a call, oldest first; the payloads (transcripts) only when asked for."""
    await get_call(session, call_id)  # 404 for an unknown call, not an empty list
    assert session.bind is not None
    payload = col(WebhookEvent.payload)
    size = (  # bytes of the stored JSON text; SQLite before 3.43 has no octet_length
        func.length(sa.cast(payload, sa.LargeBinary))
        if session.bind.dialect.name == "sqlite"
        else func.octet_length(sa.cast(payload, sa.Text))
    )
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
        .limit(MAX_DELIVERIES)
    )
    rows = (await session.exec(query)).all()  # type: ignore[call-overload]
    return WebhookDeliveries(
        items=[
            WebhookDelivery(
                id=row.id,
                event=row.event,
                retell_call_id=row.retell_call_id,
                received_at=row.received_at,
                payload_size=row.payload_size or 0,
                payload=row.payload if include_payload else None,
            )
            for row in rows
        ]
    )
