"""An open stream closes within seconds once its user is deactivated or logged out everywhere."""

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.core.database import create_engine
from app.models import Role
from app.services import stream_access
from tests.support.accounts import MEMBER_PASSWORD, member
from tests.support.app import login

RECHECK = 0.2
# Generous for a loaded machine; the stream itself would stay open for STREAM_MAX_SECONDS (30 here).
CLOSES_WITHIN = 5.0
OFFLINE = {
    "retell_mode": "simulated",
    "extractor": "rules",
    "stream_max_seconds": 30,
    "simulated_call_seconds": 30,
}


async def open_until_closed(
    client: httpx.AsyncClient, url: str, opened: asyncio.Event, **kwargs: Any
) -> float:
    """Follow the stream to its end; the time it ended at."""
    async with client.stream("GET", url, **kwargs) as response:
        assert response.status_code == 200
        async for _ in response.aiter_lines():
            opened.set()
    return time.monotonic()


@pytest.mark.parametrize("revocation", ["deactivated", "password_changed"])
@pytest.mark.parametrize("stream", ["/api/events", "/api/call/{call_id}/events"])
async def test_an_open_stream_closes_soon_after_its_user_loses_access(
    live_server: Callable[..., str], revocation: str, stream: str
) -> None:
    base_url = live_server(**OFFLINE, stream_recheck_seconds=RECHECK)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        admin = await login(client)
        user_id, viewer = await member(client, admin, "viewer")
        call = await client.post(
            "/api/call/trigger",
            json={
                "driver_name": "A",
                "phone_number": "+13125550101",
                "load_number": "L",
                "simulation": {"persona": "no_answer"},
            },
            headers=admin,
        )
        token = (await client.post("/api/auth/stream-token", headers=viewer)).json()["token"]
        url = stream.format(call_id=call.json()["id"])
        opened = asyncio.Event()
        following = asyncio.create_task(open_until_closed(client, url, opened, params={"token": token}))
        await asyncio.wait_for(opened.wait(), 10)
        await asyncio.sleep(RECHECK * 3)
        assert not following.done()  # still permitted: the checks so far let it stay open
        if revocation == "deactivated":
            changed = await client.patch(f"/api/users/{user_id}", json={"is_active": False}, headers=admin)
        else:
            changed = await client.post(
                "/api/auth/password",
                json={"current_password": MEMBER_PASSWORD, "new_password": "fresh-granite-harbor-91"},
                headers=viewer,
            )
        assert changed.status_code == 200
        revoked_at = time.monotonic()
        closed_at = await asyncio.wait_for(following, CLOSES_WITHIN)
    assert closed_at - revoked_at < CLOSES_WITHIN


async def test_a_busy_stream_is_checked_on_time_too(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events arriving faster than the interval never postpone the check."""
    settings = make_settings()
    engine = create_engine(settings)
    checks: list[float] = []

    async def busy() -> AsyncGenerator[int, None]:
        n = 0
        while True:
            await asyncio.sleep(0.01)
            n += 1
            yield n

    async def permitted_twice(*_args: Any, **_kwargs: Any) -> bool:
        checks.append(time.monotonic())
        return len(checks) < 3

    monkeypatch.setattr(stream_access, "still_permitted", permitted_twice)
    try:
        started = time.monotonic()
        stream = stream_access.while_permitted(
            busy(),
            lookup=lambda _claims: asyncio.sleep(0, None),
            user_id=uuid.uuid4(),
            token_version=0,
            role=Role.VIEWER,
            interval=0.1,
        )
        events = [event async for event in stream]
    finally:
        await engine.dispose()
    assert len(checks) == 3 and events  # ended by the third check, mid-flow
    assert time.monotonic() - started < 1.0
