"""Dashboard users: the first admin at start-up, password login, and what revokes their tokens."""

import asyncio
import uuid

from loguru import logger
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import DEVELOPMENT_ADMIN_PASSWORD, Settings
from app.core.errors import NotFound
from app.core.security import TokenClaims, dummy_password_hash, hash_password, verify_password
from app.models import Role, User
from app.repositories import users as user_repository


async def ensure_first_admin(session: AsyncSession, *, settings: Settings) -> None:
    """Create the admin from ADMIN_EMAIL / ADMIN_PASSWORD when the users table is empty."""
    if await user_repository.any_exists(session):
        return
    password = settings.admin_password
    if password is None:
        if settings.environment == "production":
            logger.warning("no users exist and ADMIN_PASSWORD is unset: nobody can log in")
            return
        password = DEVELOPMENT_ADMIN_PASSWORD
        logger.warning("ADMIN_PASSWORD unset: created {} with the development password", settings.admin_email)
    hashed = await asyncio.to_thread(hash_password, password, fast=settings.fast_password_hashing)
    # Several workers start at once on an empty database: the first insert wins, the others do nothing.
    admin = User(email=settings.admin_email.lower(), hashed_password=hashed, role=Role.ADMIN)
    if await user_repository.insert_unless_email_taken(session, admin):
        logger.info("created the first admin user {}", settings.admin_email)


class UserNotFound(NotFound):
    pass


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None; the same work whichever it is.

    An unknown email is checked against a dummy hash and an inactive account's password is checked
    too, so the answer takes as long (argon2, ~100 ms) and nobody learns which emails exist.
    """
    user = await get_by_email(session, email=email)
    hashed = user.hashed_password if user is not None else dummy_password_hash()
    # argon2 is deliberately slow: verify in a thread so webhooks are not held up meanwhile.
    matches = await asyncio.to_thread(verify_password, password, hashed)
    if user is None or not user.is_active or not matches:
        return None
    return user


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    return await user_repository.by_email(session, email)


async def get_by_token(session: AsyncSession, claims: TokenClaims) -> User | None:
    """The active user a token names, if the token was issued under the account's current version."""
    return still_holds(claims, await user_repository.get(session, claims.user_id))


def still_holds(claims: TokenClaims, user: User | None) -> User | None:
    """The user, if the token still names them: active, and issued under the account's current version
    (the one rule for access and stream tokens, however the user was read)."""
    if user is None or not user.is_active or user.token_version != claims.version:
        return None
    return user


# Each change below revokes every token issued before it: the database bumps `token_version`
# (a trigger on is_active and hashed_password), and a deleted user's id is never reused.


async def set_active(session: AsyncSession, *, user_id: uuid.UUID, active: bool) -> User:
    await _update(session, user_id, is_active=active)
    return await _reload(session, user_id)


async def change_password(session: AsyncSession, *, user_id: uuid.UUID, new_password: str) -> User:
    hashed = await asyncio.to_thread(hash_password, new_password)
    await _update(session, user_id, hashed_password=hashed)
    return await _reload(session, user_id)


async def delete_user(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    if not await user_repository.delete_by_id(session, user_id):
        raise UserNotFound(f"user {user_id} does not exist")


async def _update(session: AsyncSession, user_id: uuid.UUID, **values: object) -> None:
    if not await user_repository.update_fields(session, user_id, **values):
        raise UserNotFound(f"user {user_id} does not exist")


async def _reload(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await user_repository.get_fresh(session, user_id)
    assert user is not None
    return user
