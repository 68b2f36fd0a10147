"""A burst of background work never takes the interactive routes' connections.

2,000 `call_ended` deliveries for calls we never placed (each one a call to extract) arrive while a
dashboard reads the call list and people log in. Extraction waits in its own lane (a bounded queue,
a fixed number of workers on a pool of their own), so the reads and logins get no 503.
The server is a process of its own with the default pool (5 + 10 connections, 1 s wait); bounded
in count and in time, loopback only.
"""

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.conftest import call_ended_delivery, server_settings
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.server_process import ServerProcess
from tests.support.slow_llm import SlowLLM

DELIVERIES = int(os.environ.get("FAULT_DELIVERIES", "2000"))
CONCURRENT_DELIVERIES = 200
BURST_DEADLINE_SECONDS = 180.0


@pytest.fixture
def server(clean_database: str, slow_llm: tuple[SlowLLM, str]) -> Iterator[ServerProcess]:
    if not clean_database.startswith("postgresql"):
        pytest.skip("measured on PostgreSQL: SQLite's one writer serialises the deliveries themselves")
    llm, llm_root = slow_llm
    llm.delay = 0.5  # each extraction holds its lease while the LLM thinks
    process = ServerProcess(**server_settings(clean_database, f"{llm_root}/app/v1"), log_level="WARNING")
    try:
        yield process.wait_until_up(timeout=180)
    finally:
        process.stop()


async def _deliver_all(url: str) -> Counter[int | str]:
    turns = asyncio.Semaphore(CONCURRENT_DELIVERIES)
    limits = httpx.Limits(max_connections=CONCURRENT_DELIVERIES)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one() -> int | str:
            _, body, headers = call_ended_delivery()
            async with turns:
                try:
                    response = await client.post("/webhook/retell", content=body, headers=headers)
                except httpx.HTTPError as exc:
                    return type(exc).__name__
                return response.status_code

        return Counter(await asyncio.gather(*(one() for _ in range(DELIVERIES))))


async def _interactive(url: str, stop: asyncio.Event) -> tuple[Counter[str], list[float]]:
    """A dashboard reading the list and people logging in, one request after another, until `stop`."""
    outcomes: Counter[str] = Counter()
    timings: list[float] = []
    form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    # A connection per request: a kept-alive one can be closed by the server's idle timeout just as
    # the next request goes out, which would be the client's race, not a refusal.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=fresh) as client:
        token = (await client.post("/api/auth/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        while not stop.is_set():
            for name, request in (
                ("read", client.get("/api/call", headers=auth)),
                ("read", client.get("/api/agent-config", headers=auth)),
                ("login", client.post("/api/auth/token", data=form)),
            ):
                started = time.monotonic()
                try:
                    outcome = str((await request).status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                timings.append(time.monotonic() - started)
                outcomes[f"{name} {outcome}"] += 1
    return outcomes, timings


async def test_2000_unknown_call_deliveries_leave_rest_reads_and_logins_without_a_503(
    server: ServerProcess,
) -> None:
    stop = asyncio.Event()
    interactive = asyncio.create_task(_interactive(server.url, stop))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    try:
        deliveries = await asyncio.wait_for(_deliver_all(server.url), BURST_DEADLINE_SECONDS)
        await asyncio.sleep(3)  # the extractions the burst started are still running
    finally:
        stop.set()
    took = time.monotonic() - started
    outcomes, timings = await asyncio.wait_for(interactive, 60)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    print(
        f"{DELIVERIES} deliveries in {took:.1f} s: {dict(deliveries)}; "
        f"interactive meanwhile {dict(outcomes)}, p95 {p95:.2f} s, max {timings[-1]:.2f} s"
    )
    refused = {key: count for key, count in outcomes.items() if key not in ("read 200", "login 200")}
    assert not refused, f"interactive requests refused during the burst: {refused}"
