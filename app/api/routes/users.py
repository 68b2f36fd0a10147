"""Team accounts (admins only): list, create or invite, and change users."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.dependencies import SessionDep, SettingsDep
from app.api.roles import AdminUser
from app.core.errors import error_responses
from app.schemas.agent_config import PageQuery
from app.schemas.auth import UserPublic
from app.schemas.users import UserCreate, UserCreated, UserPage, UserUpdate
from app.services import accounts

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("", responses=error_responses(400, 401, 403, 422, 503))
async def list_users(page: Annotated[PageQuery, Query()], session: SessionDep, _admin: AdminUser) -> UserPage:
    """Users, oldest first; follow `next_cursor` for the next page."""
    return await accounts.list_users(session, limit=page.limit, cursor=page.cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 401, 403, 409, 422, 503))
async def create_user(
    data: UserCreate, session: SessionDep, settings: SettingsDep, admin: AdminUser
) -> UserCreated:
    """Create a user with a password, or leave it out to get a one-time set-password token that expires."""
    return await accounts.create_user(session, data=data, actor=admin, settings=settings)


@router.patch("/{user_id}", responses=error_responses(400, 401, 403, 404, 409, 422, 503))
async def update_user(
    user_id: uuid.UUID, data: UserUpdate, session: SessionDep, admin: AdminUser
) -> UserPublic:
    """Change a user's role, `is_active` or name (409 for the last active admin's role or activation)."""
    return await accounts.update_user(session, user_id=user_id, data=data, actor=admin)
