"""Team accounts: admins create, invite, change and deactivate users; users set and change passwords."""

import asyncio
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.core.errors import BadRequest, Conflict, NotFound
from app.core.security import hash_password, verify_password
from app.models import Role, User
from app.models.base import utcnow
from app.repositories import users as user_repository
from app.repositories.users import OLDEST_FIRST
from app.schemas.auth import UserPublic
from app.schemas.users import UserCreate, UserCreated, UserPage, UserUpdate
from app.services import audit

# Fields an admin changes, as the audit log shows them.
AUDITED_FIELDS = ("email", "role", "is_active", "full_name")


class UserNotFound(NotFound):
    pass


class EmailTaken(Conflict):
    pass


class LastAdmin(Conflict):
    pass


class InvalidSetPasswordToken(BadRequest):
    pass


class WrongPassword(BadRequest):
    pass


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def _token_hash(token: str) -> str:
    # The token is 256 random bits: a fast hash is enough, and lets it be looked up by its hash.
    return hashlib.sha256(token.encode()).hexdigest()


async def list_users(session: AsyncSession, *, limit: int, cursor: str | None) -> UserPage:
    """Oldest first, keyset-paginated on (created_at, id) like the other lists."""
    after = OLDEST_FIRST.decode(cursor) if cursor else None
    rows = await user_repository.page_oldest_first(session, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return UserPage(
        items=[_public(user) for user in page],
        next_cursor=OLDEST_FIRST.encode(page[-1].created_at, page[-1].id) if more else None,
    )


async def create_user(
    session: AsyncSession, *, data: UserCreate, actor: User, settings: Settings
) -> UserCreated:
    """A user with the given password, or an invitation: a one-time set-password token that expires."""
    token: str | None = None
    expires_at: datetime | None = None
    # Without a password the account cannot log in until the token is used: a random one nobody knows.
    password = data.password or secrets.token_urlsafe(32)
    hashed = await asyncio.to_thread(hash_password, password, fast=settings.fast_password_hashing)
    user = User(email=data.email.lower(), full_name=data.full_name, role=data.role, hashed_password=hashed)
    if data.password is None:
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + timedelta(hours=settings.invitation_expire_hours)
        user.password_token_hash, user.password_token_expires_at = _token_hash(token), expires_at
    try:
        await user_repository.insert(session, user)
    except IntegrityError:
        raise EmailTaken(f"a user with the email {user.email} already exists") from None
    after = {name: getattr(user, name) for name in AUDITED_FIELDS}
    await audit.record(
        session,
        actor=actor,
        action="user.created",
        target_type="user",
        target_id=user.id,
        changes=audit.diff({}, {**after, "invited": token is not None}),
    )
    logger.info("user {} created as {} by {}", user.email, user.role, actor.email)
    return UserCreated(
        **_public(user).model_dump(), set_password_token=token, set_password_expires_at=expires_at
    )


async def update_user(
    session: AsyncSession, *, user_id: uuid.UUID, data: UserUpdate, actor: User
) -> UserPublic:
    """Change role, activation or name; never leaves the team without an active admin (409)."""
    user = await user_repository.get(session, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} does not exist")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    before = {name: getattr(user, name) for name in AUDITED_FIELDS}
    stays_admin = changes.get("role", user.role) == Role.ADMIN and changes.get("is_active", user.is_active)
    if user.role == Role.ADMIN and user.is_active and not stays_admin:
        await _keep_an_active_admin(session, leaving=user.id)
    for name, value in changes.items():
        setattr(user, name, value)
    # The database bumps token_version when is_active changes: read back so the answer is current.
    await user_repository.save(session, user)
    after = {name: getattr(user, name) for name in AUDITED_FIELDS}
    delta = audit.diff(before, after)
    if delta:
        await audit.record(
            session, actor=actor, action="user.updated", target_type="user", target_id=user.id, changes=delta
        )
        logger.info("user {} changed by {}: {}", user.email, actor.email, ", ".join(delta))
    return _public(user)


async def _keep_an_active_admin(session: AsyncSession, *, leaving: uuid.UUID) -> None:
    active = await user_repository.lock_active_admins(session, leaving=leaving)
    if not [admin for admin in active if admin != leaving]:
        raise LastAdmin("the last active admin cannot be demoted or deactivated; make another admin first")


async def set_password_with_token(
    session: AsyncSession, *, token: str, new_password: str, settings: Settings
) -> User:
    """Use an invitation: the token works once, before it expires, for an active account."""
    user = await user_repository.by_password_token_hash_for_update(session, _token_hash(token))
    expires_at = user.password_token_expires_at if user is not None else None
    if user is None or expires_at is None or expires_at <= utcnow() or not user.is_active:
        raise InvalidSetPasswordToken("the set-password token is invalid, used or expired; ask an admin")
    user.hashed_password = await asyncio.to_thread(
        hash_password, new_password, fast=settings.fast_password_hashing
    )
    user.password_token_hash = user.password_token_expires_at = None
    await user_repository.save(session, user)  # reads back token_version, bumped by the database
    logger.info("user {} set a password with an invitation", user.email)
    return user


async def change_own_password(
    session: AsyncSession, *, user: User, current_password: str, new_password: str, settings: Settings
) -> User:
    """A new password for the user, who proves the current one; every older token stops working."""
    if not await asyncio.to_thread(verify_password, current_password, user.hashed_password):
        raise WrongPassword("the current password is wrong")
    if current_password == new_password:
        raise WrongPassword("the new password must differ from the current one")
    user.hashed_password = await asyncio.to_thread(
        hash_password, new_password, fast=settings.fast_password_hashing
    )
    user.password_token_hash = user.password_token_expires_at = None
    # Reads back token_version, bumped by the database: older tokens are revoked.
    await user_repository.save(session, user)
    logger.info("user {} changed their password", user.email)
    return user
