"""Dashboard login: OAuth2 password flow returning a bearer JWT."""

from typing import Annotated

from fastapi import APIRouter, Form

from app.api.dependencies import CurrentUser, SessionDep, SettingsDep
from app.core.errors import Unauthorized, error_responses
from app.core.security import create_access_token
from app.schemas.auth import LoginForm, Token, UserPublic
from app.services import users

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token", responses=error_responses(400, 401, 422, 503))
async def login(form: Annotated[LoginForm, Form()], session: SessionDep, settings: SettingsDep) -> Token:
    """Exchange an email (as `username`) and password for a bearer token."""
    user = await users.authenticate(session, email=form.username, password=form.password)
    if user is None:
        raise Unauthorized("wrong email or password")
    assert settings.secret_key is not None
    token = create_access_token(
        user.email, secret_key=settings.secret_key, expires_minutes=settings.access_token_expire_minutes
    )
    return Token(access_token=token)


@router.get("/me", responses=error_responses(401, 503))
async def me(user: CurrentUser) -> UserPublic:
    """The logged-in user."""
    return UserPublic.model_validate(user, from_attributes=True)
