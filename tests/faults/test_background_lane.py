"""A burst of background work never takes the interactive routes' connections.

2,000 `call_ended` deliveries for calls we never placed (each one a call to extract), or 600
reprocess requests from dispatchers (each one an extraction run again), arrive while a dashboard
reads the call list and people log in. Extraction waits in its own lane (a bounded queue, a fixed
number of workers on a pool of their own), so the reads and logins get no 503.
The server is a process of its own with the default pool (5 + 10 connections, 1 s wait); bounded
in count and in time, loopback only.
"""

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.faults.conftest import call_ended_delivery, call_state, deliver_call_ended, server_settings
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.server_process import ServerProcess
from tests.support.slow_llm import SlowLLM

Counted = TypeVar("Counted", bound=Counter[int | str])

DELIVERIES = int(os.environ.get("FAULT_DELIVERIES", "2000"))
CONCURRENT_DELIVERIES = 200
BURST_DEADLINE_SECONDS = 180.0
# Reprocess requests are interactive routes themselves (a dispatcher's clicks and scripts): each
# holds one of the routes' 15 connections while it runs. Ten at a time stay inside that pool, so a
# 503 here means the extractions they start took the routes' connections, which is what this tests.
# (50 at a time exhaust the pool on their own: measured on a loaded 2-core machine, 273 of 600 and
# 5 reads and logins got 503 with the lane intact.)
REPROCESSES = int(os.environ.get("FAULT_REPROCESSES", "600"))
CONCURRENT_REPROCESSES = int(os.environ.get("FAULT_CONCURRENT_REPROCESSES", "10"))


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


async def _seed_completed_calls(database_url: str, server_url: str, count: int) -> list[str]:
    """`count` completed calls with a transcript, each one reprocessable: one through the real
    webhook and extraction, the rest copied from it in one statement (new ids), to keep setup quick."""
    retell_call_id = await deliver_call_ended(server_url)
    deadline = time.monotonic() + 30
    while (await call_state(database_url, retell_call_id))["status"] != "completed":
        assert time.monotonic() < deadline, "the seed call was not extracted within 30 s"
        await asyncio.sleep(0.1)
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO calls SELECT (jsonb_populate_record(NULL::calls, to_jsonb(c)"
                    " || jsonb_build_object('id', gen_random_uuid(),"
                    " 'retell_call_id', c.retell_call_id || '_' || n))).*"
                    " FROM calls c, generate_series(2, :count) n WHERE c.retell_call_id = :id"
                ),
                {"count": count, "id": retell_call_id},
            )
            ids = (
                await connection.execute(text("SELECT id FROM calls WHERE status = 'completed'"))
            ).scalars()
            return [str(call_id) for call_id in ids]
    finally:
        await engine.dispose()


async def _reprocess_all(url: str, call_ids: list[str]) -> Counter[int | str]:
    turns = asyncio.Semaphore(CONCURRENT_REPROCESSES)
    limits = httpx.Limits(max_connections=CONCURRENT_REPROCESSES)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        token = (await client.post("/api/auth/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        async def one(call_id: str) -> int | str:
            async with turns:
                try:
                    response = await client.post(f"/api/call/{call_id}/reprocess", headers=auth)
                except httpx.HTTPError as exc:
                    return type(exc).__name__
                return response.status_code

        return Counter(await asyncio.gather(*(one(call_id) for call_id in call_ids)))


async def _interactive(url: str, stop: asyncio.Event) -> tuple[Counter[str], list[float]]:
    """A dashboard reading the list and people logging in, one request after another, until `stop`."""
    outcomes: Counter[str] = Counter()
    timings: list[float] = []
    form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    # A connection per request: a kept-alive one can be closed by the server's idle timeout just as
    # the next request goes out, which would be the client's race, not a refusal.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=fresh) as client:
        first = await client.post("/api/auth/token", data=form)
        assert first.status_code == 200, f"the dashboard's first login got {first.status_code}: {first.text}"
        auth = {"Authorization": f"Bearer {first.json()['access_token']}"}
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
    await _alongside_interactive_traffic(server.url, _deliver_all(server.url), f"{DELIVERIES} deliveries")


async def test_600_reprocess_requests_leave_rest_reads_and_logins_without_a_503(
    server: ServerProcess, clean_database: str
) -> None:
    call_ids = await _seed_completed_calls(clean_database, server.url, REPROCESSES)
    assert len(call_ids) == REPROCESSES
    reprocessed = await _alongside_interactive_traffic(
        server.url, _reprocess_all(server.url, call_ids), f"{REPROCESSES} reprocess requests"
    )
    # Each request was taken: its call waits in line, or in the database for the sweep, never refused.
    assert reprocessed == Counter({202: REPROCESSES}), f"reprocess requests not all accepted: {reprocessed}"


# More workers than the routes' whole pool (5 + 10), each stuck in its save: only a pool of their own
# leaves the routes a connection. A long statement timeout keeps them stuck rather than retrying.
STUCK_WORKERS = 16
ROUTES_POOL = 5 + 10  # DB_POOL_SIZE + DB_MAX_OVERFLOW, the defaults the server runs with


async def _workers_waiting_on_the_lock(database_url: str, count: int, within: float) -> int:
    engine = create_async_engine(database_url, poolclass=NullPool)
    waiting = 0
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with engine.connect() as connection:
                waiting = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                ).scalar_one()
            if waiting >= count:
                return waiting
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    raise AssertionError(
        f"only {waiting} extractions, not {count}, got stuck in their save within {within} s"
    )


async def test_extractions_stuck_in_the_database_leave_the_routes_their_connections(
    clean_database: str, slow_llm: tuple[SlowLLM, str]
) -> None:
    if not clean_database.startswith("postgresql"):
        pytest.skip("the extraction lane has a pool of its own only on PostgreSQL")
    _, llm_root = slow_llm
    settings = server_settings(
        clean_database,
        f"{llm_root}/app/v1",
        extraction_workers=STUCK_WORKERS,
        extraction_lease_seconds=60,  # no renewals, no takeovers while they are stuck
        db_statement_timeout_seconds=30,
    )
    server = ServerProcess(**settings, log_level="WARNING").wait_until_up(timeout=180)
    blocker = create_async_engine(clean_database, poolclass=NullPool)
    try:
        async with blocker.connect() as lock:
            # Every save deletes and inserts the call's result: held here, each worker waits in it,
            # holding its connection. Reads of the results are not blocked (EXCLUSIVE allows them).
            await lock.execute(text("BEGIN"))
            await lock.execute(text("LOCK TABLE call_results IN EXCLUSIVE MODE"))
            ids = await asyncio.gather(*(deliver_call_ended(server.url) for _ in range(STUCK_WORKERS)))
            # As many as the routes' whole pool (with one shared pool, all it has) are waiting.
            stuck = await _workers_waiting_on_the_lock(clean_database, ROUTES_POOL, within=30)
            stop = asyncio.Event()
            interactive = asyncio.create_task(_interactive(server.url, stop))
            await asyncio.sleep(5)
            stop.set()
            outcomes, _ = await asyncio.wait_for(interactive, 60)
            await lock.execute(text("ROLLBACK"))
        deadline = time.monotonic() + 30
        while (states := [(await call_state(clean_database, i))["status"] for i in ids]) != [
            "completed"
        ] * len(ids):
            assert time.monotonic() < deadline, f"not all completed once the lock was gone: {Counter(states)}"
            await asyncio.sleep(0.2)
    finally:
        await blocker.dispose()
        server.stop()
    print(f"{stuck} extractions stuck in their save; interactive meanwhile {dict(outcomes)}")
    refused = {key: count for key, count in outcomes.items() if key not in ("read 200", "login 200")}
    assert not refused, f"interactive requests refused while the extractions held connections: {refused}"


async def _alongside_interactive_traffic(url: str, burst: Awaitable[Counted], what: str) -> Counted:
    """Run `burst` while a dashboard reads and logs in; fail if any of those got anything but a 200."""
    stop = asyncio.Event()
    interactive = asyncio.create_task(_interactive(url, stop))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    try:
        outcome = await asyncio.wait_for(burst, BURST_DEADLINE_SECONDS)
        await asyncio.sleep(3)  # the extractions the burst started are still running
    finally:
        stop.set()
    took = time.monotonic() - started
    outcomes, timings = await asyncio.wait_for(interactive, 60)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    print(
        f"{what} in {took:.1f} s: {dict(outcome)}; "
        f"interactive meanwhile {dict(outcomes)}, p95 {p95:.2f} s, max {timings[-1]:.2f} s"
    )
    refused = {key: count for key, count in outcomes.items() if key not in ("read 200", "login 200")}
    assert not refused, f"interactive requests refused during {what}: {refused}"
    return outcome
