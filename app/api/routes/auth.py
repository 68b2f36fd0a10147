"""Dashboard login (OAuth2 password flow, a bearer JWT, throttled), invitations and password changes."""

from typing import Annotated

from fastapi import APIRouter, Form, Request

from app.api.dependencies import LoginThrottleDep, SessionDep, SettingsDep
from app.api.roles import ViewerUser, public
from app.config import Settings
from app.core.errors import Unauthorized, error_responses
from app.core.security import create_access_token, create_stream_token
from app.models import User
from app.schemas.auth import LoginForm, StreamToken, Token, UserPublic
from app.schemas.users import PasswordChange, SetPassword
from app.services import accounts, users

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token", responses=error_responses(400, 401, 413, 422, 429, 503))
@public
async def login(
    form: Annotated[LoginForm, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: LoginThrottleDep,
) -> Token:
    """Exchange an email (as `username`) and password for a bearer token (429 after repeated failures)."""
    address = request.client.host if request.client else "unknown"
    async with throttle.attempt(email=form.username, address=address) as attempt:
        user = await users.authenticate(session, email=form.username, password=form.password)
        attempt.succeeded = user is not None
    if user is None:
        raise Unauthorized("wrong email or password")
    return _token_for(user, settings)


def _token_for(user: User, settings: Settings) -> Token:
    assert settings.secret_key is not None
    token = create_access_token(
        user.id,
        user.token_version,
        secret_key=settings.secret_key,
        expires_minutes=settings.access_token_expire_minutes,
    )
    return Token(access_token=token)


@router.post("/set-password", responses=error_responses(400, 413, 422, 503))
@public
async def set_password(data: SetPassword, session: SessionDep, settings: SettingsDep) -> Token:
    """An invited user sets their first password with the one-time token an admin gave them; logs them in."""
    user = await accounts.set_password_with_token(
        session, token=data.token, new_password=data.new_password, settings=settings
    )
    return _token_for(user, settings)


@router.post("/password", responses=error_responses(400, 401, 403, 413, 422, 503))
async def change_password(
    data: PasswordChange, session: SessionDep, settings: SettingsDep, user: ViewerUser
) -> Token:
    """Change your own password, giving the current one: every token issued before stops working, this
    answer carries a new one."""
    user = await accounts.change_own_password(
        session,
        user=user,
        current_password=data.current_password,
        new_password=data.new_password,
        settings=settings,
    )
    return _token_for(user, settings)


@router.get("/me", responses=error_responses(401, 403, 503))
async def me(user: ViewerUser) -> UserPublic:
    """The logged-in user."""
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/stream-token", responses=error_responses(401, 403, 503))
async def stream_token(user: ViewerUser, settings: SettingsDep) -> StreamToken:
    """A read-only token that only the live streams accept, as `?token=` (for EventSource).

    It lasts STREAM_TOKEN_SECONDS (4 h by default), so EventSource's own reconnects, which reuse the URL,
    still get in after an outage or a stream's planned end; deactivation and a password change revoke it.
    """
    assert settings.secret_key is not None
    seconds = settings.stream_token_seconds
    token = create_stream_token(
        user.id, user.token_version, secret_key=settings.secret_key, expires_seconds=seconds
    )
    return StreamToken(token=token, expires_in=seconds)
