"""Calls (the guide's test calls), their structured results, and every webhook delivery."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.models.base import IdMixin, StrEnumColumn, TimestampMixin, UTCDateTime, utcnow


class CallStatus(StrEnum):
    QUEUED = "queued"
    REGISTERED = "registered"
    ONGOING = "ongoing"
    ENDED = "ended"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    NOT_CONNECTED = "not_connected"


class Call(IdMixin, TimestampMixin, table=True):
    __tablename__ = "calls"
    # The list is newest first: each filter has an index that ends in (created_at, id), so a page is an
    # index range read whatever the table's size. The driver search is a substring match: a trigram GIN
    # index on PostgreSQL (a plain index elsewhere, where the newest-first scan does the work).
    __table_args__ = (
        sa.Index("ix_calls_created_at_id", "created_at", "id"),
        sa.Index("ix_calls_status_created_at_id", "status", "created_at", "id"),
        sa.Index("ix_calls_call_outcome_created_at_id", "call_outcome", "created_at", "id"),
        sa.Index("ix_calls_load_number_created_at_id", "load_number", "created_at", "id"),
        sa.Index("ix_calls_agent_config_id_created_at_id", "agent_config_id", "created_at", "id"),
        sa.Index("ix_calls_triggered_by_created_at_id", "triggered_by", "created_at", "id"),
        # The follow-up filters: few calls need one, so both indexes hold only those (partial indexes).
        # `follow_up=true` reads the first newest first; `follow_up_reason=x` reads the second.
        sa.Index(
            "ix_calls_follow_up_created_at_id",
            "created_at",
            "id",
            postgresql_where=sa.text("follow_up_reason IS NOT NULL"),
            sqlite_where=sa.text("follow_up_reason IS NOT NULL"),
        ),
        sa.Index(
            "ix_calls_follow_up_reason_created_at_id",
            "follow_up_reason",
            "created_at",
            "id",
            postgresql_where=sa.text("follow_up_reason IS NOT NULL"),
            sqlite_where=sa.text("follow_up_reason IS NOT NULL"),
        ),
        sa.Index(
            "ix_calls_driver_name_trgm",
            "driver_name",
            postgresql_using="gin",
            postgresql_ops={"driver_name": "gin_trgm_ops"},
            # No pending list: its periodic flush stalled concurrent webhook inserts for seconds.
            postgresql_with={"fastupdate": "off"},
        ),
    )

    agent_config_id: uuid.UUID | None = Field(
        default=None, foreign_key="agent_configurations.id", ondelete="SET NULL"
    )
    retell_call_id: str | None = Field(default=None, max_length=120, unique=True)
    # The user who triggered the call; null for calls started outside this backend.
    triggered_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    retell_agent_id: str | None = Field(default=None, max_length=120)
    status: CallStatus = Field(default=CallStatus.QUEUED, sa_type=StrEnumColumn(CallStatus, 20))
    call_type: str = Field(default="web", max_length=10)
    driver_name: str = Field(max_length=200)
    phone_number: str | None = Field(default=None, max_length=20)
    load_number: str = Field(max_length=60)
    context: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)

    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: int | None = None
    disconnection_reason: str | None = Field(default=None, max_length=80)
    transcript: str | None = Field(default=None, sa_type=sa.Text)
    transcript_turns: list[dict[str, Any]] | None = Field(default=None, sa_type=sa.JSON)
    recording_url: str | None = Field(default=None, sa_type=sa.Text)
    public_log_url: str | None = Field(default=None, sa_type=sa.Text)
    call_analysis: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)

    call_outcome: str | None = Field(default=None, max_length=40)
    # Copied from the result where `call_outcome` is (the engine's live one, then the extraction's), so
    # the list filters and the stats count them without reading any result JSON.
    follow_up_reason: str | None = Field(default=None, max_length=20)
    location_conflict: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Why the call is where it is: the Retell or LLM error, or "extraction not configured".
    status_detail: str | None = Field(default=None, sa_type=sa.Text)
    extraction_attempts: int = Field(default=0)
    # While `processing`: until when the extraction that claimed the call holds it. Its worker renews the
    # lease as it goes; once it lapses, any process may take the call over (see models/call_lifecycle).
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # The conversation engine (custom_llm configs): its resumable dialogue state, written before each reply
    # is sent, and the last response id it answered (0 is the greeting), so a reconnect resumes anywhere.
    dialogue_state: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    last_response_id: int | None = None
    # The result as far as the call has got, the same shape as `result` (which stays authoritative).
    live_result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    # What Retell measured on the call (`latency` of call_ended / call_analyzed: e2e, llm, rtt, ...).
    latency: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class CallResult(IdMixin, TimestampMixin, table=True):
    """The structured summary of one call, as the extractor returned it."""

    __tablename__ = "call_results"

    call_id: uuid.UUID = Field(foreign_key="calls.id", ondelete="CASCADE", unique=True)
    scenario: str = Field(max_length=20)
    call_outcome: str = Field(max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    extractor: str = Field(max_length=40)


class WebhookEvent(IdMixin, table=True):
    """One Retell delivery, stored before anything else happens; (call, event) is unique."""

    __tablename__ = "webhook_events"
    __table_args__ = (sa.UniqueConstraint("retell_call_id", "event", name="uq_webhook_events_call_event"),)

    retell_call_id: str = Field(max_length=120)
    event: str = Field(max_length=60)
    call_id: uuid.UUID | None = Field(default=None, foreign_key="calls.id", ondelete="SET NULL", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
