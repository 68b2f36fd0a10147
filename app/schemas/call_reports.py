"""What the dashboard asks of the call list (filters, a date window) and the reports it gets back."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.text import NulFreeStr
from app.models import CallStatus
from app.schemas.examples import with_examples
from app.schemas.extraction import CallOutcome, FollowUpReason

MAX_PAGE_SIZE = 100
# Reports read every call in their window: a window this long is the most one request may scan.
MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 30


def _as_utc(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC; one that cannot be expressed in UTC is refused (422)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date is out of range") from None


class CreatedRange(BaseModel):
    """A window on `created_at`: from `created_after` (inclusive) to `created_before` (exclusive)."""

    model_config = ConfigDict(extra="forbid")

    created_after: datetime | None = Field(
        default=None, description="Only calls created at or after this time (ISO 8601; UTC if no zone)."
    )
    created_before: datetime | None = Field(
        default=None, description="Only calls created before this time (ISO 8601; UTC if no zone)."
    )
    agent_config_id: uuid.UUID | None = Field(
        default=None, description="Only calls placed with this agent configuration."
    )

    @field_validator("created_after", "created_before")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.created_after and self.created_before and self.created_after >= self.created_before:
            raise ValueError("created_after must be earlier than created_before")
        return self


class CallFilterQuery(CreatedRange):
    """Filters of the call list; any other query parameter is refused (422)."""

    status: CallStatus | None = Field(default=None, description="Only calls in this status.")
    call_outcome: CallOutcome | None = Field(default=None, description="Only calls with this outcome.")
    load_number: NulFreeStr | None = Field(
        default=None, max_length=60, description="Only calls about this load."
    )
    driver: NulFreeStr | None = Field(default=None, max_length=200, description="Part of the driver's name.")
    triggered_by: uuid.UUID | None = Field(default=None, description="Only calls this user triggered.")
    follow_up: bool | None = Field(
        default=None,
        description="`true`: only calls a dispatcher must follow up (any `follow_up_reason`); `false`: only "
        "calls that need none.",
    )
    follow_up_reason: FollowUpReason | None = Field(
        default=None, description="Only calls that need a follow-up for this reason."
    )

    @model_validator(mode="after")
    def _consistent_follow_up(self) -> Self:
        if self.follow_up is False and self.follow_up_reason is not None:
            raise ValueError("follow_up=false and a follow_up_reason select nothing; drop one")
        return self


class CallListQuery(CallFilterQuery):
    """The call list: filters and paging."""

    limit: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE, description="How many calls per page.")
    cursor: NulFreeStr | None = Field(
        default=None, max_length=200, description="`next_cursor` of the previous page."
    )


class ReportWindow(CreatedRange):
    """A bounded window: by default the last 30 days; at most 366 days."""

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        before = self.created_before or datetime.now(UTC)
        try:
            after = self.created_after or before - timedelta(days=DEFAULT_REPORT_DAYS)
        except OverflowError:  # `created_before=0001-01-02`: the default window would start before year 1
            raise ValueError("date is out of range") from None
        if after >= before:
            raise ValueError("created_after must be earlier than created_before")
        if before - after > timedelta(days=MAX_REPORT_DAYS):
            raise ValueError(f"the date range is longer than {MAX_REPORT_DAYS} days; narrow it")
        self.created_after, self.created_before = after, before
        return self


class CallStatsQuery(ReportWindow):
    """Counts over a window of at most 366 days (by default the last 30); other parameters are refused."""


class CallExportQuery(ReportWindow, CallFilterQuery):
    """The call list's filters over a window of at most 366 days (by default the last 30)."""


class StatusCounts(BaseModel):
    """How many calls are in each status."""

    queued: int = Field(description="Stored, not yet accepted by Retell.")
    registered: int = Field(description="Accepted by Retell, not yet answered.")
    ongoing: int = Field(description="In progress.")
    ended: int = Field(description="Ended, waiting for extraction.")
    processing: int = Field(description="Being extracted.")
    completed: int = Field(description="Done, with a result.")
    failed: int = Field(description="Refused by Retell, or extraction failed for good.")
    not_connected: int = Field(description="The driver never picked up.")


class OutcomeCount(BaseModel):
    """How many completed calls came to one outcome."""

    call_outcome: CallOutcome = Field(description="The outcome.")
    count: int = Field(description="Calls with that outcome.")


class FollowUpCount(BaseModel):
    """How many calls need a follow-up for one reason (null: no follow-up needed)."""

    # OpenAPI output drops nulls from examples: the reason defaults to null and stays required.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    follow_up_reason: FollowUpReason | None = Field(
        default=None, description="The reason; null for calls that need none."
    )
    count: int = Field(description="Calls with that reason.")


class LatencyFigure(BaseModel):
    """One of Retell's latency measures over the window's calls, in milliseconds."""

    metric: str = Field(description="Retell's name: `e2e`, `llm`, `llm_websocket_network_rtt`, …")
    calls: int = Field(description="Calls in the window that reported it.")
    p50: float = Field(description="Median over those calls of each call's own median.")
    p90: float = Field(description="90th percentile over those calls of each call's own p90.")


class CallStats(BaseModel):
    """Counts for the dashboard's header over one window of `created_at`."""

    model_config = with_examples(
        {
            "created_after": "2026-10-27T00:00:00Z",
            "created_before": "2026-11-26T00:00:00Z",
            "total": 42,
            "by_status": {
                "queued": 0,
                "registered": 1,
                "ongoing": 1,
                "ended": 0,
                "processing": 0,
                "completed": 36,
                "failed": 1,
                "not_connected": 3,
            },
            "by_outcome": [
                {"call_outcome": "In-Transit Update", "count": 25},
                {"call_outcome": "Arrival Confirmation", "count": 8},
                {"call_outcome": "Emergency Escalation", "count": 3},
            ],
            "by_follow_up_reason": [
                {"follow_up_reason": "uncooperative", "count": 2},
                {"follow_up_reason": "noisy_line", "count": 1},
                {"follow_up_reason": "escalation_pending", "count": 1},
                {"follow_up_reason": None, "count": 38},
            ],
            "location_conflicts": 4,
        }
    )

    created_after: datetime = Field(description="Start of the window (inclusive, UTC).")
    created_before: datetime = Field(description="End of the window (exclusive, UTC).")
    total: int = Field(description="Calls created in the window.")
    by_status: StatusCounts = Field(description="Calls per status.")
    by_outcome: list[OutcomeCount] = Field(description="Calls per outcome, every outcome listed.")
    by_follow_up_reason: list[FollowUpCount] = Field(
        description="Calls per `follow_up_reason`, every reason listed, and last the calls that need no "
        "follow-up (`follow_up_reason: null`); the counts add up to `total`."
    )
    location_conflicts: int = Field(
        description="Calls where the driver's stated location was clearly elsewhere than the GPS position "
        "(`location_conflict: true`)."
    )
    latency: list[LatencyFigure] = Field(
        default_factory=list,
        description="How fast the agent answered on real calls, as Retell measured it (`latency` of "
        "call_ended/call_analyzed); one entry per measure any call reported.",
    )


class WebhookEventsQuery(BaseModel):
    """Whether to include each delivery's payload; other parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    include_payload: bool = Field(default=False, description="Also return each delivery's JSON payload.")


class WebhookDelivery(BaseModel):
    """One Retell delivery received for a call."""

    id: uuid.UUID = Field(description="The delivery's id.")
    event: str = Field(description="Retell's event: `call_started`, `call_ended`, `call_analyzed`, …")
    retell_call_id: str = Field(description="Retell's call id in the delivery.")
    received_at: datetime = Field(description="When it was received (UTC).")
    payload_size: int = Field(description="Size of the stored JSON payload, in bytes.")
    payload: dict[str, Any] | None = Field(
        description="The delivery as Retell sent it; null unless `include_payload=true`."
    )


class WebhookDeliveries(BaseModel):
    """The deliveries received for one call, oldest first."""

    items: list[WebhookDelivery] = Field(description="Every delivery stored for the call.")


EXPORT_COLUMNS_DESCRIPTION = (
    "CSV with a header row; one row per call: id, created_at, status, driver_name, phone_number, "
    "load_number, call_type, agent_config_id, triggered_by (the user's id), started_at, ended_at, "
    "duration_ms, disconnection_reason, "
    "call_outcome, scenario, then every result field, follow_up_reason, location_conflict and "
    "gps_location included (empty when the call has no result or the other scenario). "
    "Free text starting with = + - @ is prefixed with ' so spreadsheets do not run it."
)
