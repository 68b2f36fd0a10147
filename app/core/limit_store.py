"""Where moving-window counts live, for the login throttle and the call-trigger limit.

RATE_LIMIT_STORAGE_URL's store (Redis) is shared by every worker and server; this process's own memory
is used while it is unset or does not answer within RATE_LIMIT_STORAGE_TIMEOUT_SECONDS. Each user of the
counts keeps them under its own key prefix.
"""

from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter as Limiter
from limits.storage import storage_from_string

from app.config import Settings


class LimitStores:
    """The shared limiter (None without RATE_LIMIT_STORAGE_URL) and the in-process fallback."""

    def __init__(self, settings: Settings, *, key_prefix: str) -> None:
        self.timeout = settings.rate_limit_storage_timeout_seconds
        self._local_storage = MemoryStorage()
        self.local = Limiter(self._local_storage)
        self.shared: Limiter | None = None
        url = settings.rate_limit_storage_url
        if url:
            storage = storage_from_string(
                url if url.startswith("async+") else f"async+{url}",
                wrap_exceptions=True,
                key_prefix=key_prefix,
                connect_timeout=self.timeout,
                stream_timeout=self.timeout,
            )
            assert isinstance(storage, Storage)
            self.shared = Limiter(storage)

    def close(self) -> None:
        """Stop the in-process store's expiry timer (it would outlive the event loop otherwise)."""
        timer = getattr(self._local_storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()
