"""A reconnect storm: every open dashboard tab opens `/api/events` at once (after a deploy, a network blip).

The server runs as a process of its own with the default pool (5 + 10 connections, 1 s wait), so the
storm competes for connections exactly as in production; the test is bounded in count and in time.
"""

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.models import CallStatus
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.seed import seed_call
from tests.support.server_process import REPO_ROOT, ServerProcess

OPENS = 1000
SEEDED_CALLS = 30
SNAPSHOT = 25  # what a fresh subscriber is sent first (call_events.SNAPSHOT_SIZE)
STORM_DEADLINE_SECONDS = 120.0


@pytest.fixture
def server(clean_database: str) -> Iterator[ServerProcess]:
    process = ServerProcess(
        environment="test",
        database_url=clean_database,
        secret_key="storm-test-secret-key-that-is-long-enough-0123",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        fast_password_hashing="true",
        retell_mode="simulated",
        extractor="rules",
        log_level="WARNING",
    )
    try:
        yield process.wait_until_up(timeout=180)
    finally:
        process.stop()


async def _rest_reads(
    client: httpx.AsyncClient, auth: dict[str, str], stop: asyncio.Event
) -> list[tuple[int, float]]:
    """A dashboard's REST reads, one after another, while the storm lasts: (status, seconds) each."""
    answers = []
    while not stop.is_set():
        started = time.monotonic()
        response = await client.get("/api/call", headers=auth)
        answers.append((response.status_code, time.monotonic() - started))
        await asyncio.sleep(0.05)
    return answers


async def test_a_thousand_simultaneous_stream_opens_all_get_200_and_the_current_state(
    server: ServerProcess, clean_database: str
) -> None:
    now = datetime.now(UTC)
    for index in range(SEEDED_CALLS):
        await seed_call(clean_database, created_at=now - timedelta(minutes=index), status=CallStatus.ENDED)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        login = await client.post(
            "/api/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        token = (await client.post("/api/auth/stream-token", headers=auth)).json()["token"]
        stop = asyncio.Event()
        reading = asyncio.create_task(_rest_reads(client, auth, stop))
        storm = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.stream_storm",
            "127.0.0.1",
            str(server.port),
            f"/api/events?token={token}",
            str(OPENS),
            str(SNAPSHOT),
            str(STORM_DEADLINE_SECONDS),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(storm.communicate(), STORM_DEADLINE_SECONDS + 30)
        finally:
            stop.set()
            if storm.returncode is None:
                storm.kill()
        reads = await asyncio.wait_for(reading, 30)
    assert storm.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    outcomes = report["outcomes"]
    rest = Counter(status for status, _ in reads)
    latencies = sorted(seconds for _, seconds in reads)
    p95 = latencies[int(len(latencies) * 0.95)]
    print(
        f"{OPENS} opens in {report['seconds']:.1f} s: {outcomes}; "
        f"REST reads meanwhile {dict(rest)}, p95 {p95:.2f} s, max {latencies[-1]:.2f} s"
    )
    assert outcomes == {"200": OPENS}, f"not every open got a 200 and its snapshot: {outcomes}"
    assert set(rest) == {200}, f"REST reads during the storm: {dict(rest)}"
    crashes = [line for line in server.output().splitlines() if "Traceback" in line or "ERROR" in line]
    assert not crashes, crashes
