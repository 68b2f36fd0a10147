"""Tokens name a user by id and version: deactivation, deletion and a new password revoke them."""

import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.core.database import create_engine, create_session_maker, session_scope
from app.services import users
from tests.support import ADMIN_EMAIL, execute_sql
from tests.support.app import login, running_app


@asynccontextmanager
async def service_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A committed unit of work on the test database, as an admin tool would use the service."""
    engine = create_engine(settings)
    async with session_scope(create_session_maker(engine)) as session:
        yield session
    await engine.dispose()


async def me(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    return (await client.get("/api/auth/me", headers=auth)).status_code


async def admin_id(client: httpx.AsyncClient, auth: dict[str, str]) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/auth/me", headers=auth)).json()["id"])


async def test_deactivating_and_reactivating_a_user_revokes_the_old_token(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    async with running_app(settings) as client:
        old = await login(client)
        user_id = await admin_id(client, old)
        async with service_session(settings) as session:
            await users.set_active(session, user_id=user_id, active=False)
        assert await me(client, old) == 401
        async with service_session(settings) as session:
            await users.set_active(session, user_id=user_id, active=True)
        assert await me(client, old) == 401  # back in, but the token from before stays dead
        assert await me(client, await login(client)) == 200


async def test_a_new_password_revokes_tokens_issued_before_it(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    async with running_app(settings) as client:
        old = await login(client)
        async with service_session(settings) as session:
            await users.change_password(
                session, user_id=await admin_id(client, old), new_password="a-new-long-password"
            )
        assert await me(client, old) == 401
        fresh = await client.post(
            "/api/auth/token", data={"username": ADMIN_EMAIL, "password": "a-new-long-password"}
        )
        assert fresh.status_code == 200
        assert await me(client, {"Authorization": f"Bearer {fresh.json()['access_token']}"}) == 200


async def test_a_user_deleted_and_recreated_with_the_same_email_does_not_accept_old_tokens(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    settings = make_settings()
    async with running_app(settings) as client:
        old = await login(client)
        async with service_session(settings) as session:
            await users.delete_user(session, user_id=await admin_id(client, old))
        assert await me(client, old) == 401
    async with running_app(settings) as client:
        old = await login(client)
        await execute_sql(clean_database, "DELETE FROM users")  # by hand, as an operator would
    # The next start finds no user and creates the admin again, same email, same password.
    async with running_app(settings) as client:
        assert await me(client, old) == 401
        assert await me(client, await login(client)) == 200


async def test_an_account_changed_by_hand_in_sql_is_revoked_too(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    async with running_app(make_settings()) as client:
        old = await login(client)
        true, false = ("true", "false") if clean_database.startswith("postgresql") else ("1", "0")
        await execute_sql(clean_database, f"UPDATE users SET is_active = {false}")
        await execute_sql(clean_database, f"UPDATE users SET is_active = {true}")
        assert await me(client, old) == 401
        unchanged = await login(client)
        await execute_sql(clean_database, "UPDATE users SET full_name = 'Dana Dispatcher'")
        assert await me(client, unchanged) == 200  # other edits leave tokens alone


async def test_a_token_that_names_the_user_by_email_is_refused(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    assert settings.secret_key is not None
    old_style = jwt.encode(
        {"sub": ADMIN_EMAIL, "exp": datetime.now(UTC) + timedelta(hours=1)}, settings.secret_key, "HS256"
    )
    async with running_app(settings) as client:
        assert await me(client, {"Authorization": f"Bearer {old_style}"}) == 401


async def test_unknown_and_known_emails_take_the_same_time(make_settings: Callable[..., Settings]) -> None:
    # Real argon2 cost for the admin's hash, as in production (a test-only cheap hash would hide the leak).
    async with running_app(make_settings(fast_password_hashing=False)) as client:

        async def median_login_seconds(emails: list[str]) -> float:
            timings = []
            for email in emails:
                started = time.perf_counter()
                response = await client.post("/api/auth/token", data={"username": email, "password": "wrong"})
                timings.append(time.perf_counter() - started)
                assert response.status_code == 401
            return statistics.median(timings)

        await median_login_seconds(["warm-up@example.com"])
        known = await median_login_seconds([ADMIN_EMAIL] * 5)
        unknown = await median_login_seconds([f"nobody-{n}@example.com" for n in range(5)])
        # Before: 2 to 5 ms for an unknown email against 100 to 300 ms for a known one (argon2).
        assert 1 / 3 < unknown / known < 3, (unknown, known)
        assert (await login(client))["Authorization"]  # the known account really exists
