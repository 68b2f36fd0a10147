"""What a dashboard hears of a delivery on PostgreSQL, where the ingest pool announces a change after
its commit: the change as soon as it is stored, and, when that announcement is lost, the call's state
at its next change (or when the stream reconnects), never a delivery lost with it."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from loguru import logger

from app.api.dependencies import AppContext
from app.changes.publisher import CHANNEL
from app.config import Settings
from app.core.database import SessionMaker, session_scope
from app.ingest import deliveries
from app.main import create_app
from app.retell.webhook import parse_delivery
from app.streams.call_events import CallChange
from tests.support import execute_sql, retell_event, signed_delivery
from tests.support.webhooks import FIXTURE

HEARD_WITHIN = 10.0  # seconds: a notice normally arrives in milliseconds
SILENCE = 1.0  # seconds listened to for an announcement that must not come


@asynccontextmanager
async def app_on_the_ingest_pool(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, AppContext]]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the ingest pool, and its announcement after the commit, exist on PostgreSQL only")
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        context: AppContext = manager._state["context"]
        assert context.recorder.pool is not None
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, context


async def deliver(client: httpx.AsyncClient, event: str, retell_call_id: str) -> None:
    payload = retell_event(event, retell_call_id=retell_call_id, our_call_id=None, transcript_fixture=FIXTURE)
    body, headers = signed_delivery(payload)
    response = await client.post("/webhook/retell", content=body, headers=headers)
    assert response.status_code == 204, response.text


async def next_change(feed: Any, what: str) -> CallChange:
    try:
        change = await asyncio.wait_for(feed.get(), HEARD_WITHIN)
    except TimeoutError:
        raise AssertionError(f"no announcement of {what} within {HEARD_WITHIN} s") from None
    assert change is not None, f"the subscriber was dropped while waiting for {what}"
    return change  # type: ignore[no-any-return]


async def stored_status(database_url: str, retell_call_id: str) -> Any:
    return await execute_sql(
        database_url, f"SELECT status FROM calls WHERE retell_call_id = '{retell_call_id}'"
    )


async def test_a_stored_change_is_announced_with_the_status_it_wrote(
    make_settings: Callable[..., Settings],
) -> None:
    async with (
        app_on_the_ingest_pool(make_settings(extractor="rules")) as (client, context),
        context.broadcaster.subscribe() as feed,
    ):
        await deliver(client, "call_started", "call_heard")
        change = await next_change(feed, "call_started")
        assert change.live.status == "ongoing"
        stored = await execute_sql(
            context.settings.database_url, "SELECT id FROM calls WHERE retell_call_id = 'call_heard'"
        )
        assert change.call_id == uuid.UUID(str(stored))


async def test_a_lost_announcement_loses_no_delivery_and_the_next_change_shows_the_current_state(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process's connection drops between the commit and the announcement: Retell still gets its 204
    (the delivery is stored; a retry would be a duplicate), nobody hears of that change, and the call's
    next change brings every open stream to the current state."""
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(str(message)), level="WARNING")

    async def connection_lost(*_args: object) -> None:
        raise ConnectionResetError("the connection dropped after the commit")

    try:
        async with app_on_the_ingest_pool(make_settings(extractor="rules")) as (client, context):
            url = context.settings.database_url
            async with context.broadcaster.subscribe() as feed:
                with monkeypatch.context() as patched:
                    patched.setattr(deliveries, "announce_committed", connection_lost)
                    await deliver(client, "call_started", "call_unheard")
                assert await stored_status(url, "call_unheard") == "ongoing"
                assert any("could not be announced" in line for line in warnings), warnings
                # Nothing is heard of that change (the announcement is what was lost).
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(feed.get(), SILENCE)

                # The next delivery (on a fresh connection: the dropped one was cut) is heard, with the
                # call as it now stands.
                await deliver(client, "call_ended", "call_unheard")
                change = await next_change(feed, "call_ended after a lost announcement")
                assert change.live.status == "ended"
    finally:
        logger.remove(sink)


async def test_a_delivery_recorded_through_a_session_on_postgresql_is_announced_at_its_commit(
    settings: Settings, maker: SessionMaker
) -> None:
    # The session path (the engine's socket opening a call, or a transaction pooler with DB_NULL_POOL)
    # announces inside its one statement: pg_notify, delivered when that statement's transaction commits.
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite announces through the in-process broadcaster, tested with the webhook")
    heard: list[str] = []
    listener = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
        delivery = parse_delivery(
            retell_event("call_started", retell_call_id="call_session", our_call_id=None)
        )
        async with session_scope(maker) as session:
            outcome = await deliveries.record_delivery(session, delivery)
        for _ in range(int(HEARD_WITHIN / 0.05)):  # bounded
            if heard:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()
    assert len(heard) == 1 and str(outcome.call_id) in heard[0] and '"ongoing"' in heard[0], heard
