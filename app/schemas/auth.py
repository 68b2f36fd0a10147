"""Login and current-user schemas."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.text import NulFreeStr
from app.models.user import Role


class LoginForm(BaseModel):
    """The OAuth2 password form (what Swagger's **Authorize** sends); the example is the development admin."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "admin@example.com", "password": "admin"}]}
    )

    username: NulFreeStr = Field(
        max_length=320, description="The user's email.", examples=["admin@example.com"]
    )
    password: str = Field(max_length=1024, description="The user's password.", examples=["admin"])
    grant_type: Literal["password"] | None = Field(
        default=None, description="OAuth2 clients send `password`; may be left out."
    )
    scope: str = Field(default="", max_length=1024, description="Unused; OAuth2 clients may send it.")


class Token(BaseModel):
    """A bearer token: send it as `Authorization: Bearer <access_token>`."""

    access_token: str = Field(description="The JWT to send on every `/api` request.")
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`.")


class UserPublic(BaseModel):
    """A dashboard user."""

    id: uuid.UUID = Field(description="The user's id.")
    email: str = Field(description="The login email.")
    full_name: str | None = Field(description="The name shown in the dashboard.")
    is_active: bool = Field(description="Inactive users cannot log in.")
    role: Role = Field(description="`admin`, `dispatcher` or `viewer`: what the user may do.")
    created_at: datetime = Field(description="When the user was created (UTC).")


class StreamToken(BaseModel):
    """A read-only token for the live streams: pass it as `?token=` (EventSource cannot send headers).

    EventSource reconnects with the same URL, so the token lasts hours (STREAM_TOKEN_SECONDS), not
    seconds; it opens nothing but the streams and is revoked with the user's other tokens."""

    token: str = Field(description="The stream token; valid only on the stream routes.")
    expires_in: int = Field(
        description=(
            "Seconds until it expires (STREAM_TOKEN_SECONDS). A stream opened in time stays open; "
            "reconnects after it expires get a 401, so reopen with a fresh token."
        )
    )
