"""The audit log: one row per admin action, never changed or deleted (the database refuses both)."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.models.base import IdMixin, UTCDateTime, utcnow


class AuditEntry(IdMixin, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at_id", "at", "id"),)

    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Who: the id and the email as they were. No foreign key: deleting a user must not rewrite the log
    # (ON DELETE SET NULL would be an UPDATE, which the log refuses), and the entry must still say who.
    actor_id: uuid.UUID | None = Field(default=None)
    actor_email: str = Field(max_length=320)
    # What: `user.created`, `config.updated`, `dialing_policy.updated`, …, and on which object.
    action: str = Field(max_length=60)
    target_type: str = Field(max_length=40)
    target_id: str | None = Field(default=None, max_length=64)
    # The changed fields, each as {"old": …, "new": …}.
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
