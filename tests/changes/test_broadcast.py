"""The fan-out: one resolve per change, bounded queues, a stalled subscriber dropped alone."""

import asyncio

from app.changes.broadcast import Broadcaster


async def test_a_subscriber_that_stops_reading_is_dropped_and_the_others_get_everything() -> None:
    resolved: list[str] = []

    async def resolve(payload: str) -> str:
        resolved.append(payload)
        return payload

    broadcaster: Broadcaster[str] = Broadcaster(resolve, queue_size=4)
    broadcaster.start()
    try:
        async with broadcaster.subscribe() as stalled, broadcaster.subscribe() as reader:
            received: list[str] = []

            async def read() -> None:
                while (message := await reader.get()) is not None:
                    received.append(message)
                    if len(received) == 10:
                        return

            reading = asyncio.create_task(read())
            for n in range(10):
                broadcaster.push(str(n))
                await asyncio.sleep(0)  # the reader keeps up; the stalled one never reads
            await asyncio.wait_for(reading, 5)
            assert received == [str(n) for n in range(10)]
            assert resolved == received  # resolved once per change, however many subscribers
            # The stalled subscriber was dropped: its queue freed, and it is told to reconnect.
            assert stalled.dropped and await stalled.get() is None
            assert broadcaster.subscriber_count == 1
    finally:
        await broadcaster.aclose()


async def test_a_subscriber_gets_only_what_it_wants_and_nothing_is_resolved_for_nobody() -> None:
    resolved: list[str] = []

    async def resolve(payload: str) -> str:
        resolved.append(payload)
        return payload

    broadcaster: Broadcaster[str] = Broadcaster(resolve)
    broadcaster.start()
    try:
        broadcaster.push("before anyone listens")
        async with broadcaster.subscribe(lambda message: message.startswith("a")) as subscription:
            broadcaster.push("b-1")
            broadcaster.push("a-1")
            assert await asyncio.wait_for(subscription.get(), 5) == "a-1"
        assert "before anyone listens" not in resolved
    finally:
        await broadcaster.aclose()
