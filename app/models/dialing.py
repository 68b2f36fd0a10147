"""The dialing policy an admin sets: which regions phone calls may go to (one row, or the default)."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class DialingPolicy(SQLModel, table=True):
    __tablename__ = "dialing_policy"

    id: int = Field(default=1, primary_key=True)
    allowed_regions: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
