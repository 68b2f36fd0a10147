"""Login and current-user schemas."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    created_at: datetime


class StreamToken(BaseModel):
    """A short-lived, read-only token for the live streams: pass it as `?token=` (EventSource cannot
    send headers)."""

    token: str
    expires_in: int = Field(description="Seconds until it expires; a stream opened in time stays open.")
