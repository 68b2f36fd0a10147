"""Dashboard users as an admin tool sees them: the first admin, and changes to an account."""

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import DEVELOPMENT_ADMIN_PASSWORD, Settings
from app.core.database import SessionMaker, create_engine, create_session_maker, session_scope
from app.services import users
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, count_rows

FULL_COST_ARGON2 = "$argon2id$v=19$m=65536,t=3,p=4$"


async def start_up(settings: Settings) -> None:
    """What the app's start-up does for users, on its own engine."""
    engine = create_engine(settings)
    async with session_scope(create_session_maker(engine)) as session:
        await users.ensure_first_admin(session, settings=settings)
    await engine.dispose()


async def test_in_production_without_admin_password_nobody_is_created(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        environment="production", admin_password=None, fast_password_hashing=False, secret_key="s" * 48
    )
    await start_up(settings)
    assert await count_rows(settings.database_url, "users") == 0


async def test_in_development_without_admin_password_the_admin_logs_in_with_the_development_password(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(environment="development", admin_password=None, fast_password_hashing=False)
    await start_up(settings)
    engine = create_engine(settings)
    async with session_scope(create_session_maker(engine)) as session:
        admin = await users.authenticate(session, email=ADMIN_EMAIL, password=DEVELOPMENT_ADMIN_PASSWORD)
    await engine.dispose()
    assert admin is not None and admin.email == ADMIN_EMAIL


async def test_a_restart_with_another_admin_email_adds_no_second_admin(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    await start_up(settings)
    await start_up(make_settings(admin_email="someone-else@example.com"))
    assert await count_rows(settings.database_url, "users") == 1


async def test_an_admin_email_given_in_capitals_is_stored_in_lower_case(
    make_settings: Callable[..., Settings], maker: SessionMaker
) -> None:
    await start_up(make_settings(admin_email=ADMIN_EMAIL.upper()))
    async with session_scope(maker) as session:
        admin = await users.authenticate(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    assert admin is not None and admin.email == ADMIN_EMAIL


async def test_a_changed_password_is_hashed_at_full_argon2_cost(
    settings: Settings, maker: SessionMaker
) -> None:
    await start_up(settings)
    async with session_scope(maker) as session:
        admin = await users.get_by_email(session, email=ADMIN_EMAIL)
        assert admin is not None
        changed = await users.change_password(session, user_id=admin.id, new_password="a-new-long-password")
    assert changed.hashed_password.startswith(FULL_COST_ARGON2)
    async with session_scope(maker) as session:
        assert await users.authenticate(session, email=ADMIN_EMAIL, password="a-new-long-password")
        assert await users.authenticate(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD) is None


async def test_the_user_returned_by_a_change_shows_the_change_and_its_new_token_version(
    settings: Settings, maker: SessionMaker
) -> None:
    await start_up(settings)
    async with session_scope(maker) as session:
        # Loaded first, as a caller that looked the user up would have it in the session already.
        admin = await users.get_by_email(session, email=ADMIN_EMAIL)
        assert admin is not None
        version = admin.token_version
        deactivated = await users.set_active(session, user_id=admin.id, active=False)
        assert (deactivated.is_active, deactivated.token_version) == (False, version + 1)
        reactivated = await users.set_active(session, user_id=admin.id, active=True)
        assert (reactivated.is_active, reactivated.token_version) == (True, version + 2)


ACCOUNT_CHANGES: dict[str, Callable[[AsyncSession, uuid.UUID], Awaitable[object]]] = {
    "deactivate": lambda session, user_id: users.set_active(session, user_id=user_id, active=False),
    "new password": lambda session, user_id: users.change_password(
        session, user_id=user_id, new_password="a-new-long-password"
    ),
    "delete": lambda session, user_id: users.delete_user(session, user_id=user_id),
}


@pytest.mark.parametrize("change", ACCOUNT_CHANGES)
async def test_changing_a_user_who_does_not_exist_is_user_not_found_and_touches_nobody(
    settings: Settings, maker: SessionMaker, change: str
) -> None:
    await start_up(settings)
    missing = uuid.uuid4()
    async with session_scope(maker) as session:
        with pytest.raises(users.UserNotFound) as refused:
            await ACCOUNT_CHANGES[change](session, missing)
    assert refused.value.detail == f"user {missing} does not exist"
    async with session_scope(maker) as session:
        assert await users.authenticate(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
