"""How many calls one user may trigger per window (TRIGGER_LIMIT_PER_USER), counted like logins.

The counts live where the login throttle's do (the `limits` library: RATE_LIMIT_STORAGE_URL's Redis,
shared by every worker, or this process while it is unset or unreachable), under their own prefix.
"""

import asyncio
import math
import time
import uuid

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter as Limiter
from limits.errors import StorageError
from loguru import logger

from app.config import Settings
from app.core.errors import AppError
from app.core.limit_store import LimitStores


class TooManyCallsTriggered(AppError):
    status_code = 429

    def __init__(self, retry_after: int, limit: str) -> None:
        super().__init__(f"at most {limit} calls per user; try again in {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


class TriggerLimit:
    """A moving window per user; a full window answers 429 with Retry-After."""

    def __init__(self, settings: Settings) -> None:
        self.item = parse(settings.trigger_limit_per_user)
        self.text = settings.trigger_limit_per_user
        self._stores = LimitStores(settings, key_prefix="dispatch-trigger")

    async def hit(self, user_id: uuid.UUID) -> None:
        """Count one trigger, or raise TooManyCallsTriggered once the user's window is full."""
        key = f"user:{user_id}"
        shared = self._stores.shared
        if shared is not None:
            try:
                async with asyncio.timeout(self._stores.timeout * 2):
                    return await self._hit(shared, key)
            except (StorageError, OSError, TimeoutError) as exc:
                # Never no limit: while the shared store is down, this process counts on its own.
                logger.error("rate limit store unreachable ({}): counting call triggers in-process", exc)
        await self._hit(self._stores.local, key)

    async def _hit(self, limiter: Limiter, key: str) -> None:
        if await limiter.hit(self.item, key):
            return
        stats = await limiter.get_window_stats(self.item, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        logger.info("call triggers throttled for {} ({} s)", key, retry_after)
        raise TooManyCallsTriggered(retry_after, self.text)

    def close(self) -> None:
        self._stores.close()
