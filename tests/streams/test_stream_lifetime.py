"""A live stream ends after STREAM_MAX_SECONDS and lets go of its subscription; EventSource reconnects."""

import asyncio
from collections.abc import AsyncGenerator

import anyio
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


async def test_a_client_leaving_while_the_first_read_runs_closes_the_stream_without_a_crash() -> None:
    """sse-starlette cancels the sending task when the client leaves, and anyio keeps cancelling it until
    it is gone: the stream must never be closed while it is still running somewhere else."""
    reading, released = asyncio.Event(), asyncio.Event()

    async def slow_first_read() -> AsyncGenerator[ServerSentEvent, None]:
        try:
            reading.set()
            await asyncio.sleep(10)  # the snapshot query
            yield ServerSentEvent(data="never")
        finally:
            try:
                await asyncio.sleep(0.05)  # giving the connection back takes a moment too
            finally:
                released.set()

    async def send_everything() -> None:
        async for _ in ending_after(slow_first_read(), 30):
            pass

    async with asyncio.timeout(5):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(send_everything)
            await reading.wait()
            task_group.cancel_scope.cancel()  # the client left
    assert released.is_set()
