"""The login throttle's own cost and counts, without the app: a frozen store must not slow logins."""

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from app.config import Settings
from app.core.login_throttle import LoginThrottle, TooManyLoginAttempts


@pytest.fixture
def frozen_redis() -> Iterator[str]:
    """A TCP server on loopback that accepts connections and never answers: a Redis stopped mid-flight."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    server.close()


async def failed_login(throttle: LoginThrottle, email: str) -> str:
    try:
        async with throttle.attempt(email=email, address="192.0.2.1") as attempt:
            attempt.succeeded = False
    except TooManyLoginAttempts:
        return "refused"
    return "failed"


async def test_a_frozen_store_costs_a_login_at_most_200_ms_and_still_throttles(
    make_settings: Callable[..., Settings], frozen_redis: str
) -> None:
    settings = make_settings(rate_limit_storage_url=frozen_redis, login_limit_per_account="2 per minute")
    throttle = LoginThrottle(settings)
    timings, outcomes = [], []
    try:
        for email in ["a@example.com"] * 3 + ["b@example.com"]:
            started = time.monotonic()
            outcomes.append(await failed_login(throttle, email))
            timings.append(time.monotonic() - started)
    finally:
        throttle.close()
    print("throttle with Redis frozen:", [f"{seconds * 1000:.0f} ms" for seconds in timings])
    assert outcomes == ["failed", "failed", "refused", "failed"]  # counted in-process meanwhile
    assert max(timings) < 0.2, timings
    assert sum(timings[1:]) < 0.05, timings  # the store is left alone after it failed to answer once
