"""Dashboard login: OAuth2 password flow returning a bearer JWT, throttled per account and address."""

from typing import Annotated

from fastapi import APIRouter, Form, Request

from app.api.dependencies import CurrentUser, LoginThrottleDep, SessionDep, SettingsDep
from app.core.errors import Unauthorized, error_responses
from app.core.security import create_access_token, create_stream_token
from app.schemas.auth import LoginForm, StreamToken, Token, UserPublic
from app.services import users

router = APIRouter(prefix="/api/auth", tags=["auth"])

STREAM_TOKEN_SECONDS = 60


@router.post("/token", responses=error_responses(400, 401, 413, 422, 429, 503))
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
    assert settings.secret_key is not None
    token = create_access_token(
        user.id,
        user.token_version,
        secret_key=settings.secret_key,
        expires_minutes=settings.access_token_expire_minutes,
    )
    return Token(access_token=token)


@router.get("/me", responses=error_responses(401, 503))
async def me(user: CurrentUser) -> UserPublic:
    """The logged-in user."""
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/stream-token", responses=error_responses(401, 503))
async def stream_token(user: CurrentUser, settings: SettingsDep) -> StreamToken:
    """A 60-second, read-only token that only the live streams accept, as `?token=` (for EventSource)."""
    assert settings.secret_key is not None
    token = create_stream_token(
        user.id, user.token_version, secret_key=settings.secret_key, expires_seconds=STREAM_TOKEN_SECONDS
    )
    return StreamToken(token=token, expires_in=STREAM_TOKEN_SECONDS)
