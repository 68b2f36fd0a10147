"""Dashboard users (admins, dispatchers and viewers)."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field

from app.models.base import IdMixin, StrEnumColumn, TimestampMixin, UTCDateTime


class Role(StrEnum):
    """What a user may do; each role may do everything the ones below it may."""

    VIEWER = "viewer"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: "Role") -> bool:
        return self.rank >= needed.rank


class User(IdMixin, TimestampMixin, table=True):
    __tablename__ = "users"

    email: str = Field(max_length=320, unique=True, index=True)
    hashed_password: str = Field(max_length=255)
    full_name: str | None = Field(default=None, max_length=200)
    is_active: bool = Field(default=True)
    # Read with the user on every request: a change takes effect on the next one.
    role: Role = Field(
        default=Role.VIEWER, sa_type=StrEnumColumn(Role, 20), sa_column_kwargs={"server_default": "viewer"}
    )
    # Tokens carry the version they were issued under; the database bumps it when the account is
    # deactivated, reactivated or given a new password (a trigger, so a change made in SQL counts too).
    token_version: int = Field(default=0)
    # An invitation: the SHA-256 of a one-time set-password token, and when it stops working.
    password_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    password_token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
