"""Login throttling: per account and per client address, 429 with Retry-After, shared through Redis."""

import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.main import create_app
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.app import free_port


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


REDIS_URL = "redis://127.0.0.1:6379/0"
needs_redis = pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")


@asynccontextmanager
async def app_from(settings: Settings, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """The app behind an in-process client whose requests come from `address`."""
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def from_address(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """Another client of the same app (the same process's counts) whose requests come from `address`."""
    app = client._transport.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://testserver"
    )


async def attempt(client: httpx.AsyncClient, email: str, password: str = "wrong") -> httpx.Response:
    return await client.post("/api/auth/token", data={"username": email, "password": password})


def unique_address() -> str:
    # Each test its own client address, so counts kept in Redis by earlier runs never interfere.
    return "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])


async def test_repeated_wrong_passwords_are_throttled_with_429_and_retry_after(
    make_settings: Callable[..., Settings],
) -> None:
    async with app_from(make_settings(login_limit_per_account="5 per 15 minutes")) as client:
        codes = [(await attempt(client, ADMIN_EMAIL)).status_code for _ in range(8)]
        assert codes == [401] * 5 + [429] * 3
        refused = await attempt(client, ADMIN_EMAIL, ADMIN_PASSWORD)  # even the right password, for now
        assert refused.status_code == 429
        assert refused.json()["error"] == "TooManyLoginAttempts"
        assert 800 < int(refused.headers["retry-after"]) <= 900
        # Another account from the same address is not locked out by it.
        assert (await attempt(client, "someone-else@example.com")).status_code == 401


async def test_unknown_emails_are_throttled_exactly_like_known_ones(
    make_settings: Callable[..., Settings],
) -> None:
    async with app_from(make_settings(login_limit_per_account="3 per minute")) as client:
        known = [(await attempt(client, ADMIN_EMAIL)).status_code for _ in range(4)]
        unknown = [(await attempt(client, "nobody@example.com")).status_code for _ in range(4)]
        assert known == unknown == [401, 401, 401, 429]


async def test_one_address_trying_many_accounts_is_throttled(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(login_limit_per_address="6 per minute")
    async with app_from(settings, address="192.0.2.7") as client:
        codes = [(await attempt(client, f"guess-{n}@example.com")).status_code for n in range(8)]
        assert codes == [401] * 6 + [429] * 2
    async with app_from(settings, address="192.0.2.8") as other:
        assert (await attempt(other, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


async def test_a_successful_login_clears_the_account_count(make_settings: Callable[..., Settings]) -> None:
    async with app_from(make_settings(login_limit_per_account="3 per minute")) as client:
        codes = []
        for password in ["wrong", "wrong", ADMIN_PASSWORD] * 3:
            codes.append((await attempt(client, ADMIN_EMAIL, password)).status_code)
        assert codes == [401, 401, 200] * 3  # a typo now and then never locks the dispatcher out


@needs_redis
async def test_with_redis_configured_every_worker_shares_the_counts(
    make_settings: Callable[..., Settings],
) -> None:
    # Two app instances stand for two worker processes: each has its own limiter objects.
    settings = make_settings(rate_limit_storage_url=REDIS_URL, login_limit_per_account="4 per minute")
    email, address = f"shared-{uuid.uuid4().hex[:8]}@example.com", unique_address()
    async with app_from(settings, address) as first, app_from(settings, address) as second:
        codes = [
            (await attempt(client, email)).status_code for client in (first, second, first, second, first)
        ]
        assert codes == [401, 401, 401, 401, 429]
        assert (await attempt(second, email)).status_code == 429


async def test_without_a_store_each_process_counts_on_its_own(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(login_limit_per_account="2 per minute")
    async with app_from(settings) as first, app_from(settings) as second:
        assert [(await attempt(first, ADMIN_EMAIL)).status_code for _ in range(3)] == [401, 401, 429]
        assert (await attempt(second, ADMIN_EMAIL)).status_code == 401


async def test_an_unreachable_store_still_throttles_in_process(
    make_settings: Callable[..., Settings],
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = make_settings(rate_limit_storage_url=dead, login_limit_per_account="2 per minute")
    async with app_from(settings) as client:
        assert [(await attempt(client, ADMIN_EMAIL)).status_code for _ in range(3)] == [401, 401, 429]
        assert (await attempt(client, "someone@example.com", "x")).status_code == 401


@pytest.mark.parametrize("value", ["banana", "10 per fortnight"])
def test_a_malformed_limit_is_refused_at_start(make_settings: Callable[..., Settings], value: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        make_settings(login_limit_per_account=value)


async def test_an_account_attacked_from_one_address_still_lets_its_owner_in_from_another(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(login_limit_per_account="5 per 15 minutes")
    async with app_from(settings, address="203.0.113.66") as attacker:
        codes = [(await attempt(attacker, ADMIN_EMAIL)).status_code for _ in range(7)]
        assert codes == [401] * 5 + [429] * 2
        # Locked out from there, even with the right password: the attacker learns nothing more.
        assert (await attempt(attacker, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 429
        async with from_address(attacker, "198.51.100.20") as owner:  # the same process: the same counts
            assert (await attempt(owner, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


async def test_correct_logins_never_use_up_the_address_budget(make_settings: Callable[..., Settings]) -> None:
    # One office behind one NAT: everyone logs in from the same address, all day.
    settings = make_settings(login_limit_per_address="3 per minute", login_limit_per_account="3 per minute")
    async with app_from(settings, address="192.0.2.50") as office:
        codes = [(await attempt(office, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code for _ in range(10)]
        assert codes == [200] * 10
        # Failures still count: three wrong ones fill the address's window.
        codes = [(await attempt(office, f"typo-{n}@example.com")).status_code for n in range(4)]
        assert codes == [401, 401, 401, 429]


async def test_an_account_guessed_from_many_addresses_refuses_them_but_not_a_new_address_with_the_password(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(login_limit_per_account_all_addresses="3 per hour")
    async with app_from(settings) as base:

        def client_from(address: str) -> httpx.AsyncClient:
            return from_address(base, address)

        for n in range(3):  # a distributed guesser fills the account's window
            async with client_from(f"203.0.113.{n}") as guesser:
                assert (await attempt(guesser, ADMIN_EMAIL)).status_code == 401
        async with client_from("203.0.113.0") as guesser:  # one that failed before: refused now
            assert (await attempt(guesser, ADMIN_EMAIL)).status_code == 429
        async with client_from("198.51.100.9") as owner:  # the owner, from an address with no failure
            assert (await attempt(owner, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200
        async with client_from("203.0.113.77") as newcomer:  # a new guesser gets one try, then no more
            assert [(await attempt(newcomer, ADMIN_EMAIL)).status_code for _ in range(2)] == [401, 429]
