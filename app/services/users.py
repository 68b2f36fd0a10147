"""Dashboard users: the first admin at start-up, and password login."""

import asyncio

from loguru import logger
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import DEVELOPMENT_ADMIN_PASSWORD, Settings
from app.core.database import dialect_insert
from app.core.security import hash_password, verify_password
from app.models import User


async def ensure_first_admin(session: AsyncSession, *, settings: Settings) -> None:
    """Create the admin from ADMIN_EMAIL / ADMIN_PASSWORD when the users table is empty."""
    if await session.scalar(select(func.count()).select_from(User)):
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
    statement = (
        dialect_insert(session)(User)
        .values(User(email=settings.admin_email.lower(), hashed_password=hashed).model_dump())
        .on_conflict_do_nothing(index_elements=["email"])
    )
    if (await session.exec(statement)).rowcount == 1:
        logger.info("created the first admin user {}", settings.admin_email)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    user = await get_by_email(session, email=email)
    if user is None or not user.is_active:
        return None
    # argon2 is deliberately slow (~100 ms): verify in a thread so webhooks are not held up meanwhile.
    if not await asyncio.to_thread(verify_password, password, user.hashed_password):
        return None
    return user


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email.lower()))).first()
