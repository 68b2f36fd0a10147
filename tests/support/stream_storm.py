"""Open many `/api/events` streams at once from a process of its own; print what each got, as JSON.

Raw sockets, not httpx: a thousand clients parsing events in the test's own process would starve it,
and the REST timings the test takes meanwhile would measure the client, not the server.
Usage: python -m tests.support.stream_storm HOST PORT PATH OPENS EVENTS DEADLINE_SECONDS
"""

import asyncio
import json
import sys
from collections import Counter


async def open_one(host: str, port: int, path: str, events: int) -> str:
    """`200`, `200-short` (closed before `events` call events), another status, or the error's name."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return type(exc).__name__
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.split()
        status = parts[1].decode() if len(parts) > 1 else "no-answer"
        if status != "200":
            return status
        received = 0
        while received < events:
            line = await reader.readline()
            if not line:
                return "200-short"
            if line.startswith(b"event: call"):
                received += 1
        return "200"
    except OSError as exc:
        return type(exc).__name__
    finally:
        writer.close()


async def main(host: str, port: int, path: str, opens: int, events: int, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(deadline):
        outcomes = await asyncio.gather(*(open_one(host, port, path, events) for _ in range(opens)))
    print(json.dumps({"outcomes": Counter(outcomes), "seconds": loop.time() - started}))


if __name__ == "__main__":
    host, port, path, opens, events, deadline = sys.argv[1:]
    asyncio.run(main(host, int(port), path, int(opens), int(events), float(deadline)))
