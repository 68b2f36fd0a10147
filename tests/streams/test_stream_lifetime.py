"""A live stream ends after STREAM_MAX_SECONDS and lets go of its subscription; EventSource reconnects."""

import asyncio
from collections.abc import AsyncGenerator

from sse_starlette import ServerSentEvent

from app.streams.call_events import ending_after


async def test_a_quiet_stream_ends_on_time_and_releases_what_it_held() -> None:
    released = asyncio.Event()

    async def forever() -> AsyncGenerator[ServerSentEvent, None]:
        try:
            yield ServerSentEvent(data="first", event="status")
            await asyncio.Event().wait()  # nothing more ever happens
            yield ServerSentEvent(data="never")
        finally:
            released.set()  # the subscription's `async with` exits here

    loop = asyncio.get_running_loop()
    started = loop.time()
    events = [event async for event in ending_after(forever(), 0.2)]
    assert [event.data for event in events] == ["first"]
    assert 0.2 <= loop.time() - started < 2
    assert released.is_set()


async def test_a_stream_that_finishes_first_is_passed_through_whole() -> None:
    async def two() -> AsyncGenerator[ServerSentEvent, None]:
        yield ServerSentEvent(data="status", event="status")
        yield ServerSentEvent(data="end", event="end")

    assert [event.event for event in [e async for e in ending_after(two(), 5)]] == ["status", "end"]
