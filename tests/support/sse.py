"""A small Server-Sent Events reader for tests: the events of a streamed httpx response."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    name: str
    id: str | None
    data: Any


async def read_events(response: httpx.Response) -> AsyncIterator[Event]:
    """Each event as the browser's EventSource would dispatch it (comments and `retry:` skipped)."""
    name, event_id, data = "message", None, []
    async for line in response.aiter_lines():
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
