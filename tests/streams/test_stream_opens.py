"""Streams opened together share their reads: a reconnect storm costs a few queries, not some per tab."""

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support.app import login
from tests.support.sse import read_events

OFFLINE = {"retell_mode": None, "retell_api_key": None, "extractor": None, "openai_api_key": None}
OPENS = 100
# Opens that arrive while a read is under way wait for the next one, so a burst takes a few reads.
MOST_READS_PER_KIND = 10


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement any engine in this process sends meanwhile (the server runs in a thread here)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def snapshot_reads(sent: list[str]) -> list[str]:
    """The snapshot's query: the calls changed most recently."""
    return [s for s in sent if re.search(r"FROM calls\s+ORDER BY calls\.updated_at DESC", s)]


def user_reads(sent: list[str]) -> list[str]:
    return [s for s in sent if re.search(r"FROM users\s+WHERE users\.id =", s)]


async def test_a_hundred_dashboards_opening_together_share_a_few_snapshot_and_user_reads(
    live_server: Callable[..., str],
) -> None:
    api = live_server(**OFFLINE, simulated_call_seconds=0.1)
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        auth = await login(client)
        body = {"driver_name": "Ana Ruiz", "phone_number": "+13125550102", "load_number": "L-77"}
        call_id = (await client.post("/api/call/trigger", headers=auth, json=body)).json()["id"]
        # Finished first, so no change is published (and read) while the streams open.
        deadline = asyncio.get_running_loop().time() + 30
        while (await client.get(f"/api/call/{call_id}", headers=auth)).json()["status"] != "completed":
            assert asyncio.get_running_loop().time() < deadline, "the simulated call did not complete in 30 s"
            await asyncio.sleep(0.1)
        token = (await client.post("/api/auth/stream-token", headers=auth)).json()["token"]

    limits = httpx.Limits(max_connections=OPENS)
    async with httpx.AsyncClient(base_url=api, timeout=30, limits=limits) as client:

        async def open_and_read_the_snapshot() -> str:
            async with client.stream("GET", f"/api/events?token={token}") as response:
                assert response.status_code == 200, await response.aread()
                async for received in read_events(response):
                    return str(received.data["id"])
            raise AssertionError("a stream closed before its snapshot")

        with statements() as sent:
            firsts = await asyncio.wait_for(
                asyncio.gather(*(open_and_read_the_snapshot() for _ in range(OPENS))), 60
            )
    assert firsts == [call_id] * OPENS
    snapshots, users = snapshot_reads(sent), user_reads(sent)
    print(f"{OPENS} opens: {len(snapshots)} snapshot reads, {len(users)} user reads, {len(sent)} statements")
    assert 1 <= len(snapshots) <= MOST_READS_PER_KIND, f"{len(snapshots)} snapshot reads for {OPENS} opens"
    assert 1 <= len(users) <= MOST_READS_PER_KIND, f"{len(users)} user reads for {OPENS} opens"
