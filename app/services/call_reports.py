"""What a dashboard reads beside the call list: counts for its header, a CSV export, a call's deliveries."""

import csv
import io
import math
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, get_args

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.database import SessionMaker
from app.models import CallStatus
from app.repositories import calls as call_repository
from app.repositories.calls import CallFilters
from app.schemas.call_reports import (
    CallStats,
    FollowUpCount,
    LatencyFigure,
    OutcomeCount,
    StatusCounts,
    WebhookDeliveries,
    WebhookDelivery,
)
from app.schemas.extraction import CallOutcome, CheckInResult, EmergencyResult, FollowUpReason
from app.services.calls import get_call

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
    "triggered_by",
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
# What the detail shows for a field a stored result lacks (stored before the field existed): the same here.
RESULT_DEFAULTS = {
    scenario: {name: field.default for name, field in model.model_fields.items() if not field.is_required()}
    for scenario, model in (("check_in", CheckInResult), ("emergency", EmergencyResult))
}
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
    """Counts by status, outcome and follow-up reason, and location conflicts, over one window, in one
    grouped query."""
    filters = CallFilters(
        created_after=created_after, created_before=created_before, agent_config_id=agent_config_id
    )
    by_status = dict.fromkeys(CallStatus, 0)
    by_outcome = dict.fromkeys(CallOutcome, 0)
    by_follow_up: dict[str | None, int] = dict.fromkeys([*get_args(FollowUpReason), None], 0)
    location_conflicts = 0
    rows = await call_repository.counts_by_status_outcome_and_reason(session, filters=filters)
    for status, outcome, reason, count, conflicts in rows:
        by_status[CallStatus(status)] += count
        if outcome in by_outcome:
            by_outcome[CallOutcome(outcome)] += count
        by_follow_up[reason if reason in by_follow_up else None] += count
        location_conflicts += int(conflicts)
    latencies = await call_repository.latencies(session, filters=filters)
    return CallStats(
        created_after=created_after,
        created_before=created_before,
        total=sum(by_status.values()),
        by_status=StatusCounts(**{status.value: count for status, count in by_status.items()}),
        by_outcome=[OutcomeCount(call_outcome=outcome, count=count) for outcome, count in by_outcome.items()],
        by_follow_up_reason=[
            FollowUpCount(follow_up_reason=reason, count=count) for reason, count in by_follow_up.items()
        ],
        location_conflicts=location_conflicts,
        latency=latency_figures(latencies),
    )


def latency_figures(latencies: Sequence[dict[str, Any] | None]) -> list[LatencyFigure]:
    """Per measure: the median of the calls' medians and the 90th percentile of their p90s."""
    medians: dict[str, list[float]] = {}
    highs: dict[str, list[float]] = {}
    for latency in latencies:
        for metric, figures in (latency or {}).items():
            if not isinstance(figures, dict):
                continue
            p50, p90 = figures.get("p50"), figures.get("p90")
            if isinstance(p50, int | float) and isinstance(p90, int | float):
                medians.setdefault(metric, []).append(float(p50))
                highs.setdefault(metric, []).append(float(p90))
    return [
        LatencyFigure(
            metric=metric,
            calls=len(values),
            p50=_percentile(values, 50),
            p90=_percentile(highs[metric], 90),
        )
        for metric, values in sorted(medians.items())
    ]


def _percentile(values: list[float], percent: int) -> float:
    """Nearest-rank percentile: always one of the values, so a single call reports its own figure."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


async def export_csv(session_maker: SessionMaker, *, filters: CallFilters) -> AsyncIterator[str]:
    """The filtered list as CSV, newest first, read in keyset batches so memory stays flat.

    Each batch has its own short session: the request's session is closed once streaming starts.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    yield _drain(buffer)
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with session_maker() as session:
            rows = await call_repository.export_batch(
                session, call_columns=CALL_COLUMNS, filters=filters, after=last, limit=EXPORT_BATCH
            )
        for row in rows:
            writer.writerow(_csv_row(row._mapping))
        yield _drain(buffer)
        if len(rows) < EXPORT_BATCH:
            return
        last = (rows[-1].created_at, rows[-1].id)


def _csv_row(row: Any) -> dict[str, object]:
    values: dict[str, object] = {name: row[name] for name in CALL_COLUMNS}
    if row["status"] == CallStatus.COMPLETED and row["scenario"] is not None:
        defaults = RESULT_DEFAULTS.get(row["scenario"], {})
        values.update({"scenario": row["scenario"], **defaults, **(row["data"] or {})})
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
    rows = await call_repository.deliveries_of(
        session, call_id, include_payload=include_payload, limit=MAX_DELIVERIES
    )
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
