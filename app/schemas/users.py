"""Users as admins manage them, invitations, and password changes."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from app.core.password_policy import MAX_LENGTH, check_password
from app.core.text import NulFreeStr
from app.models import Role
from app.schemas.auth import UserPublic

NewPassword = Annotated[str, AfterValidator(check_password)]
MAX_PAGE_SIZE = 100


class UserCreate(BaseModel):
    """A new user: with a password, or without one to get a one-time set-password token to send them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "dana@example.com", "role": "dispatcher", "full_name": "Dana Reyes"}]
        },
    )

    email: EmailStr = Field(max_length=320, description="The login email (compared without case).")
    role: Role = Field(description="`admin`, `dispatcher` or `viewer`.")
    full_name: NulFreeStr | None = Field(default=None, max_length=200, description="The name shown.")
    password: NewPassword | None = Field(
        default=None,
        max_length=MAX_LENGTH,
        description="An initial password (12+ characters, not a common one); leave out to invite.",
    )


class UserUpdate(BaseModel):
    """Change some of a user's fields; the others keep their values."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "viewer"}]})

    role: Role | None = Field(default=None, description="The new role.")
    is_active: bool | None = Field(default=None, description="False logs the user out and keeps them out.")
    full_name: NulFreeStr | None = Field(default=None, max_length=200, description="The name shown.")


class UserCreated(UserPublic):
    """The user created; for an invitation, the token to send them (shown once, never stored)."""

    set_password_token: str | None = Field(
        description="Invitations only: give it to the user for `POST /api/auth/set-password`."
    )
    set_password_expires_at: datetime | None = Field(description="When the token stops working (UTC).")


class UserPage(BaseModel):
    """One page of users, oldest first."""

    items: list[UserPublic] = Field(description="At most `limit` users.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SetPassword(BaseModel):
    """An invited user's first password, with the one-time token an admin gave them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"token": "Zr3…", "new_password": "tandem-lumber-orchard-42"}]},
    )

    token: str = Field(min_length=1, max_length=200, description="The set-password token.")
    new_password: NewPassword = Field(
        max_length=MAX_LENGTH, description="12+ characters, not a common password."
    )


class PasswordChange(BaseModel):
    """A new password for yourself; every token issued before stops working."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "correct-horse-battery", "new_password": "tandem-lumber-orchard-42"}
            ]
        },
    )

    current_password: str = Field(max_length=1024, description="Your password now.")
    new_password: NewPassword = Field(
        max_length=MAX_LENGTH, description="12+ characters, not a common password."
    )
