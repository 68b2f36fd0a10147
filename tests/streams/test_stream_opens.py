"""Streams opened together share their reads: a reconnect storm costs a few queries, not some per tab."""

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.support.app import login
from tests.support.sse import read_events

OFFLINE = {"retell_mode": None, "retell_api_key": None, "extractor": None, "openai_api_key": None}
OPENS = 100
# Opens that arrive while a read is under way wait for the next one, so a burst takes a few reads; how
# few depends on how the opens spread over time against how long a read takes (31 for 100 on a quiet
# machine, 2 on a loaded one). What never depends on timing: one read of a kind at a time.
MOST_READS_PER_KIND = OPENS // 2


class Statements:
    """Every statement any engine in this process sends meanwhile (the server runs in a thread here), and
    for each kind of read the most that were under way at once."""

    KINDS: ClassVar[dict[str, re.Pattern[str]]] = {
        # The snapshot's query: the calls changed most recently.
        "snapshot": re.compile(r"FROM calls\s+ORDER BY calls\.updated_at DESC"),
        "user": re.compile(r"FROM users\s+WHERE users\.id ="),
    }

    def __init__(self) -> None:
        self.sent: dict[str, list[str]] = {kind: [] for kind in self.KINDS}
        self.under_way = dict.fromkeys(self.KINDS, 0)
        self.most_at_once = dict.fromkeys(self.KINDS, 0)

    def _kind(self, statement: str) -> str | None:
        return next((kind for kind, pattern in self.KINDS.items() if pattern.search(statement)), None)

    def before(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if kind := self._kind(statement):
            self.sent[kind].append(statement)
            self.under_way[kind] += 1
            self.most_at_once[kind] = max(self.most_at_once[kind], self.under_way[kind])

    def after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if kind := self._kind(statement):
            self.under_way[kind] -= 1


@contextmanager
def statements() -> Iterator[Statements]:
    seen = Statements()
    event.listen(Engine, "before_cursor_execute", seen.before)
    event.listen(Engine, "after_cursor_execute", seen.after)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", seen.before)
        event.remove(Engine, "after_cursor_execute", seen.after)


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

        with statements() as seen:
            firsts = await asyncio.wait_for(
                asyncio.gather(*(open_and_read_the_snapshot() for _ in range(OPENS))), 60
            )
    assert firsts == [call_id] * OPENS
    snapshots, users = len(seen.sent["snapshot"]), len(seen.sent["user"])
    print(
        f"{OPENS} opens: {snapshots} snapshot reads, {users} user reads; at once at most {seen.most_at_once}"
    )
    # Never one read per open running side by side (the pool's connections, the storm's 503s).
    assert seen.most_at_once == {"snapshot": 1, "user": 1}, f"reads under way at once: {seen.most_at_once}"
    assert 1 <= snapshots <= MOST_READS_PER_KIND, f"{snapshots} snapshot reads for {OPENS} opens"
    assert 1 <= users <= MOST_READS_PER_KIND, f"{users} user reads for {OPENS} opens"
