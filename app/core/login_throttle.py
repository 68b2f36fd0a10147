"""Login throttling that stops password guessing, not the account's owner (the `limits` library).

Only failures count; a right password never uses up anything. Three moving windows of failures:

- per (account, address), LOGIN_LIMIT_PER_ACCOUNT: one address guessing one account is stopped, and
  the owner, from any other address, still logs in;
- per address, LOGIN_LIMIT_PER_ADDRESS: one address guessing many accounts is stopped;
- per account from every address, LOGIN_LIMIT_PER_ACCOUNT_ALL_ADDRESSES (slower): once it is full the
  account is under attack, and each address that has already failed on it is refused; an address
  with no failure on it (the owner from the office, from home) still has its password checked.

With RATE_LIMIT_STORAGE_URL (Redis) the counts are shared by every worker and server. A store that
does not answer within RATE_LIMIT_STORAGE_TIMEOUT_SECONDS is left alone for a while and each process
counts on its own meanwhile, so a frozen Redis costs a login at most that timeout, once.
"""

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter as Limiter
from limits.errors import StorageError
from loguru import logger

from app.config import Settings
from app.core.errors import AppError
from app.core.limit_store import LimitStores

# After the shared store failed to answer, it is tried again only after this long.
STORE_RETRY_SECONDS = 5.0
T = TypeVar("T")


class TooManyLoginAttempts(AppError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


@dataclass
class LoginAttempt:
    """What the password check found; set by the route inside `LoginThrottle.attempt`."""

    succeeded: bool | None = None


class LoginThrottle:
    """Counts failed logins in moving windows; unknown and known emails count alike."""

    def __init__(self, settings: Settings) -> None:
        self.per_pair = parse(settings.login_limit_per_account)
        self.per_address = parse(settings.login_limit_per_address)
        self.per_account = parse(settings.login_limit_per_account_all_addresses)
        self._stores = LimitStores(settings, key_prefix="dispatch-login")
        self._shared_down_until = 0.0
        # One password check at a time per (account, address) in a process, so a burst of parallel
        # guesses cannot all pass the check before the first failure is counted.
        self._turns: dict[tuple[str, str], _Turn] = {}

    @property
    def shared(self) -> bool:
        return self._stores.shared is not None

    @asynccontextmanager
    async def attempt(self, *, email: str, address: str) -> AsyncIterator[LoginAttempt]:
        """Refuse (TooManyLoginAttempts, 429) before the password is checked, or count what it found.

        If the block raises (the database is down) nothing is counted: that was no guess.
        """
        account = email.strip().lower()
        keys = _Keys(account, address)
        turn = self._turns.setdefault((account, address), _Turn())
        turn.holders += 1
        try:
            async with turn.lock:
                await self._refuse_if_full(keys)
                outcome = LoginAttempt()
                yield outcome
                if outcome.succeeded is False:
                    await self._count_failure(keys)
                elif outcome.succeeded:
                    # Its own earlier typos from here are forgiven; the address and account windows
                    # keep counting (an owner's success must not reset an attacker's count).
                    await self._use(Limiter.clear, self.per_pair, keys.pair)
        finally:
            turn.holders -= 1
            if turn.holders == 0:
                self._turns.pop((account, address), None)

    async def _refuse_if_full(self, keys: "_Keys") -> None:
        pair_ok, address_ok, account_ok, pair_stats = await asyncio.gather(
            self._use(Limiter.test, self.per_pair, keys.pair),
            self._use(Limiter.test, self.per_address, keys.address),
            self._use(Limiter.test, self.per_account, keys.account),
            self._use(Limiter.get_window_stats, self.per_pair, keys.pair),
        )
        refused: list[tuple[RateLimitItem, str]] = []
        if not pair_ok:
            refused.append((self.per_pair, keys.pair))
        if not address_ok:
            refused.append((self.per_address, keys.address))
        # Under attack: only addresses that never failed on this account get their password checked.
        if not account_ok and pair_stats.remaining < self.per_pair.amount:
            refused.append((self.per_account, keys.account))
        if refused:
            retry_after = 1
            for item, key in refused:
                stats = await self._use(Limiter.get_window_stats, item, key)
                retry_after = max(retry_after, math.ceil(stats.reset_time - time.time()))
            logger.info("login throttled for {} ({} s)", ", ".join(key for _, key in refused), retry_after)
            raise TooManyLoginAttempts(retry_after)

    async def _count_failure(self, keys: "_Keys") -> None:
        await asyncio.gather(
            self._use(Limiter.hit, self.per_pair, keys.pair),
            self._use(Limiter.hit, self.per_address, keys.address),
            self._use(Limiter.hit, self.per_account, keys.account),
        )

    async def _use(
        self, action: Callable[[Limiter, RateLimitItem, str], Awaitable[T]], item: RateLimitItem, key: str
    ) -> T:
        """The action on the shared store; on this process's own counts while that store is away."""
        if self._stores.shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                async with asyncio.timeout(self._stores.timeout):
                    result = await action(self._stores.shared, item, key)
            except (StorageError, OSError, TimeoutError) as exc:
                if self._shared_down_until == 0.0:
                    logger.error(
                        "rate limit store unreachable ({}): counting logins in-process", type(exc).__name__
                    )
                self._shared_down_until = time.monotonic() + STORE_RETRY_SECONDS
            else:
                if self._shared_down_until:
                    logger.info("rate limit store reachable again")
                self._shared_down_until = 0.0
                return result
        return await action(self._stores.local, item, key)

    def close(self) -> None:
        self._stores.close()


class _Turn:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holders = 0


@dataclass(frozen=True)
class _Keys:
    email: str
    ip: str

    @property
    def pair(self) -> str:
        return f"account-address:{self.email}|{self.ip}"

    @property
    def address(self) -> str:
        return f"address:{self.ip}"

    @property
    def account(self) -> str:
        return f"account:{self.email}"
