"""Login throttling per account and per client address (the `limits` library; Redis or in-process)."""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter as Limiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from loguru import logger

from app.config import Settings
from app.core.errors import AppError

# A login must not wait long on the shared store: past this it counts in this process instead.
STORE_TIMEOUT_SECONDS = 1.0
T = TypeVar("T")


class TooManyLoginAttempts(AppError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login attempts; try again in {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


class LoginThrottle:
    """Counts every login attempt in a moving window, per account and per client address.

    With RATE_LIMIT_STORAGE_URL (Redis) the counts are shared by every worker and server; without
    it, or while the store is unreachable, each process counts on its own. Unknown and known emails
    count alike, so a 429 tells nothing about which accounts exist.
    """

    def __init__(self, settings: Settings) -> None:
        self.per_account = parse(settings.login_limit_per_account)
        self.per_address = parse(settings.login_limit_per_address)
        self._local_storage = MemoryStorage()
        self._local = Limiter(self._local_storage)
        self._shared: Limiter | None = None
        self._shared_down = False
        url = settings.rate_limit_storage_url
        if url:
            storage = storage_from_string(
                url if url.startswith("async+") else f"async+{url}",
                wrap_exceptions=True,
                key_prefix="dispatch-login",
                connect_timeout=STORE_TIMEOUT_SECONDS,
                stream_timeout=STORE_TIMEOUT_SECONDS,
            )
            assert isinstance(storage, Storage)
            self._shared = Limiter(storage)

    @property
    def shared(self) -> bool:
        return self._shared is not None

    async def attempt(self, *, email: str, address: str) -> None:
        """Count one attempt, or raise TooManyLoginAttempts (429) once either window is full."""
        limits: list[tuple[RateLimitItem, str]] = [
            (self.per_account, f"account:{email.strip().lower()}"),
            (self.per_address, f"address:{address}"),
        ]
        refused = [(item, key) for item, key in limits if not await self._use(Limiter.hit, item, key)]
        if refused:
            retry_after = 1
            for item, key in refused:
                stats = await self._use(Limiter.get_window_stats, item, key)
                retry_after = max(retry_after, math.ceil(stats.reset_time - time.time()))
            logger.info("login throttled for {} ({} s)", ", ".join(key for _, key in refused), retry_after)
            raise TooManyLoginAttempts(retry_after)

    async def succeeded(self, *, email: str) -> None:
        """A right password clears the account's count; the address keeps its own."""
        key = f"account:{email.strip().lower()}"
        await self._use(Limiter.clear, self.per_account, key)

    async def _use(
        self, action: Callable[[Limiter, RateLimitItem, str], Awaitable[T]], item: RateLimitItem, key: str
    ) -> T:
        """The action on the shared store; on this process's own counts while that store is down."""
        if self._shared is not None:
            try:
                async with asyncio.timeout(STORE_TIMEOUT_SECONDS * 2):
                    result = await action(self._shared, item, key)
            except (StorageError, OSError, TimeoutError) as exc:
                if not self._shared_down:
                    logger.error("rate limit store unreachable ({}): counting logins in-process", exc)
                self._shared_down = True
            else:
                if self._shared_down:
                    logger.info("rate limit store reachable again")
                self._shared_down = False
                return result
        return await action(self._local, item, key)

    def close(self) -> None:
        timer = getattr(self._local_storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()
