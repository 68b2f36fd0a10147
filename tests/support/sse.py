"""A small Server-Sent Events reader for tests: the events of a streamed httpx response."""

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    name: str
    id: str | None
    data: Any


async def read_events(
    response: httpx.Response, on_first_line: Callable[[], None] = lambda: None
) -> AsyncIterator[Event]:
    """Each event as the browser's EventSource would dispatch it (comments and `retry:` skipped).

    `on_first_line` runs when the server first writes to the stream (it has subscribed by then).
    """
    name, event_id, data = "message", None, []
    first = True
    async for line in response.aiter_lines():
        if first:
            first = False
            on_first_line()
        if line == "":
            if data:
                yield Event(name, event_id, json.loads("\n".join(data)))
            name, data = "message", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "id":
            event_id = value
        elif field == "data":
            data.append(value)
