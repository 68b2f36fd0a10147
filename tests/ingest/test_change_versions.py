"""A call's version (`updated_at`, what streams order its changes by) only ever moves forward.

Streams skip a change whose version is not newer than the last one they sent. A delivery that waited
for the call's row behind another writer (an extraction saving its result) used to stamp the time it
arrived, older than that writer's: the dashboard then never saw it (the call summary of `call_analyzed`
stayed missing until the stream's 60 s grace ran out).
"""

import asyncio
import json
from datetime import datetime

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.changes.publisher import CHANNEL, version_of
from tests.support.webhooks import deliver, trigger


async def test_a_delivery_that_waited_behind_another_writer_gets_a_newer_version(
    client: httpx.AsyncClient, auth: dict[str, str], clean_database: str
) -> None:
    if not clean_database.startswith("postgresql"):
        pytest.skip("row locks: SQLite has one writer at a time and no row to wait for")
    call_id = await trigger(client, auth)
    engine = create_async_engine(clean_database, poolclass=NullPool)
    listener = await asyncpg.connect(clean_database.replace("postgresql+asyncpg", "postgresql"))
    heard: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(json.loads(args[-1])))
    try:
        async with engine.connect() as other_writer:
            transaction = await other_writer.begin()
            # Another writer stamps the call a little later than now and holds the row meanwhile.
            held: datetime = (
                await other_writer.execute(
                    text(
                        "UPDATE calls SET updated_at = clock_timestamp() + interval '300 milliseconds' "
                        "WHERE id = :id RETURNING updated_at"
                    ),
                    {"id": call_id},
                )
            ).scalar_one()
            delivery = asyncio.create_task(deliver(client, "call_started", call_id))
            await asyncio.sleep(0.5)
            assert not delivery.done(), "the delivery did not wait for the row (nothing to test)"
            await transaction.commit()
            async with asyncio.timeout(30):
                response = await delivery
            assert response.status_code == 204, response.text
            stamped: datetime = (
                await other_writer.execute(
                    text("SELECT updated_at FROM calls WHERE id = :id"), {"id": call_id}
                )
            ).scalar_one()
        try:
            announced = await asyncio.wait_for(heard.get(), 10)
        except TimeoutError:
            raise AssertionError("the delivery's change was not announced within 10 s") from None
    finally:
        await listener.close()
        await engine.dispose()
    assert stamped > held, f"the delivery's version {stamped} is not newer than the change before it, {held}"
    # Streams order by the announced version: it is the one stored, not the moment the delivery arrived.
    assert announced["version"] == version_of(stamped), (announced, stamped)
