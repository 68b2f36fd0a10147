"""The user aggregate's queries (`users`): every ORM read and write of the table, named for its purpose.

Nothing here commits: the caller's session scope does. A change to `is_active` or `hashed_password`
bumps `token_version` in the database (a trigger), which is why writes read the row back.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import dialect, keyset
from app.models import Role, User
from app.repositories.base import insert_unless_taken

OLDEST_FIRST = keyset.oldest_first(col(User.created_at), col(User.id))


async def any_exists(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(User)))


async def insert_unless_email_taken(session: AsyncSession, user: User) -> bool:
    """Insert the user unless one has its email (the first of concurrent inserts wins); True if inserted."""
    return await insert_unless_taken(session, user, unique="email")


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_fresh(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user as the database has it now, replacing what the session had loaded."""
    return await session.get(User, user_id, populate_existing=True)


async def by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email.lower()))).first()


async def by_password_token_hash_for_update(session: AsyncSession, token_hash: str) -> User | None:
    """The user an invitation's token names, locked until the transaction ends (the token works once)."""
    query = select(User).where(col(User.password_token_hash) == token_hash).with_for_update()
    return (await session.exec(query)).first()


async def page_oldest_first(
    session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[User]:
    """Users by (created_at, id), after the key `after`; at most `limit`."""
    query = select(User).order_by(*OLDEST_FIRST.order_by()).limit(limit)
    if after is not None:
        query = query.where(OLDEST_FIRST.after(after))
    return list((await session.exec(query)).all())


async def insert(session: AsyncSession, user: User) -> None:
    """Insert the user, flushed in a savepoint: a refused insert (IntegrityError) undoes only itself."""
    session.add(user)
    async with session.begin_nested():
        await session.flush()


async def save(session: AsyncSession, user: User) -> None:
    """Write the loaded user's changes and read back what the database set (`token_version`)."""
    session.add(user)
    await session.flush()
    await session.refresh(user)


async def update_fields(session: AsyncSession, user_id: uuid.UUID, **values: object) -> bool:
    """Set columns of one user by id; False if no such user."""
    updated = await session.exec(update(User).where(col(User.id) == user_id).values(**values))
    return bool(updated.rowcount == 1)


async def delete_by_id(session: AsyncSession, user_id: uuid.UUID) -> bool:
    return bool((await session.exec(delete(User).where(col(User.id) == user_id))).rowcount == 1)


async def lock_active_admins(session: AsyncSession, *, leaving: uuid.UUID) -> Sequence[uuid.UUID]:
    """The active admins' ids, their rows locked in id order until the transaction ends.

    Of two admins demoting each other at once, the second waits, then sees the first's change; the
    order rules out a deadlock between them (PostgreSQL).
    """
    if dialect.is_sqlite(session):
        # SQLite ignores FOR UPDATE and reads outside a transaction: writing the row about to change
        # takes the database's write lock first, so a concurrent demotion waits and then reads this one's.
        await session.exec(update(User).where(col(User.id) == leaving).values(role=col(User.role)))
    admins = select(User.id).where(col(User.role) == Role.ADMIN, col(User.is_active)).order_by(col(User.id))
    return (await session.exec(admins.with_for_update())).all()
