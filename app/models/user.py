"""Dashboard users (dispatchers and admins)."""

from sqlmodel import Field

from app.models.base import IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, table=True):
    __tablename__ = "users"

    email: str = Field(max_length=320, unique=True, index=True)
    hashed_password: str = Field(max_length=255)
    full_name: str | None = Field(default=None, max_length=200)
    is_active: bool = Field(default=True)
    # Tokens carry the version they were issued under; the database bumps it when the account is
    # deactivated, reactivated or given a new password (a trigger, so a change made in SQL counts too).
    token_version: int = Field(default=0)
