"""The database down for 10 s, stopped, or hung: bounded answers, and no call left behind.

Each test runs against a private PostgreSQL cluster it may stop and freeze (never the shared one).
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.faults.conftest import call_ended_delivery, call_state, deliver_call_ended, server_settings
from tests.support.app import login
from tests.support.private_postgres import PrivateCluster, can_run_private_postgres, migrated_cluster
from tests.support.slow_llm import SlowLLM

pytestmark = pytest.mark.skipif(
    not can_run_private_postgres(), reason="needs the PostgreSQL server binaries (initdb, pg_ctl)"
)

ROUTE_DEADLINE_SECONDS = 5.0
READY_DEADLINE_SECONDS = 2.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with migrated_cluster() as cluster:
        yield cluster


@dataclass
class Probe:
    method: str
    path: str
    expected: int  # what the route answers while the database is unavailable
    kwargs: dict[str, Any]


def every_route(auth: dict[str, str], config_id: str, call_id: str) -> list[Probe]:
    """One request per route, valid enough to reach the database."""
    _, webhook_body, webhook_headers = call_ended_delivery()
    config = {"name": "Fault test agent", "general_prompt": "Ask the driver for a status update."}
    call = {"driver_name": "Ana Lopez", "phone_number": "+13125550101", "load_number": "L-7"}
    probes = [
        Probe("GET", "/health", 200, {}),
        Probe("GET", "/health/ready", 503, {}),
        Probe("POST", "/api/auth/token", 503, {"data": {"username": "a@example.com", "password": "x"}}),
        Probe("GET", "/api/auth/me", 503, {"headers": auth}),
        Probe("GET", "/api/agent-config", 503, {"headers": auth}),
        Probe("POST", "/api/agent-config", 503, {"headers": auth, "json": config}),
        Probe("GET", f"/api/agent-config/{config_id}", 503, {"headers": auth}),
        Probe("PATCH", f"/api/agent-config/{config_id}", 503, {"headers": auth, "json": {"name": "x"}}),
        Probe("DELETE", f"/api/agent-config/{config_id}", 503, {"headers": auth}),
        Probe("POST", f"/api/agent-config/{config_id}/sync", 503, {"headers": auth}),
        Probe("POST", "/api/call/trigger", 503, {"headers": auth, "json": call}),
        Probe("GET", "/api/call", 503, {"headers": auth}),
        Probe("GET", f"/api/call/{call_id}", 503, {"headers": auth}),
        # EventSource gives up for good on any non-200: a stream says `retry:` and closes instead.
        Probe("GET", f"/api/call/{call_id}/events", 200, {"headers": auth}),
        Probe("GET", "/api/events", 200, {"headers": auth}),
        Probe("POST", f"/api/call/{call_id}/reprocess", 503, {"headers": auth}),
        Probe("POST", "/webhook/retell", 503, {"content": webhook_body, "headers": webhook_headers}),
        Probe("GET", "/docs", 200, {}),
        Probe("GET", "/openapi.json", 200, {}),
    ]
    return probes


def uncovered_routes(probes: list[Probe], settings: dict[str, Any]) -> list[Probe]:
    """Routes added since this list was written still get a request (any answer but a hang or a 500)."""
    from app.config import Settings

    paths = create_app(Settings(_env_file=None, **settings)).openapi()["paths"]  # type: ignore[call-arg]
    known = {(probe.method, _template(probe.path)) for probe in probes}
    extra = []
    for path, operations in paths.items():
        for method in operations:
            if (method.upper(), path) not in known:
                concrete = path.replace("{", "").replace("}", "")
                for name in ("call_id", "config_id", "id"):
                    concrete = concrete.replace(name, "00000000-0000-4000-8000-000000000000")
                extra.append(Probe(method.upper(), concrete, -1, {}))
    return extra


def _template(path: str) -> str:
    parts = path.split("/")
    names = {"agent-config": "{config_id}", "call": "{call_id}"}
    for index in range(1, len(parts)):
        if len(parts[index]) == 36 and parts[index - 1] in names:
            parts[index] = names[parts[index - 1]]
    return "/".join(parts)


async def _timed(client: httpx.AsyncClient, probe: Probe) -> tuple[Probe, httpx.Response, float]:
    started = time.monotonic()
    response = await client.request(probe.method, probe.path, **probe.kwargs)
    return probe, response, time.monotonic() - started


async def assert_bounded_answers(client: httpx.AsyncClient, probes: list[Probe]) -> float:
    """Every route at once (so they also queue for connections); returns the slowest answer's time."""
    answers = await asyncio.gather(*(_timed(client, probe) for probe in probes))
    problems = []
    for probe, response, seconds in answers:
        deadline = READY_DEADLINE_SECONDS if probe.path == "/health/ready" else ROUTE_DEADLINE_SECONDS
        expected_ok = response.status_code == probe.expected or (
            probe.expected == -1 and response.status_code < 500
        )
        if seconds > deadline or not expected_ok:
            problems.append(f"{probe.method} {probe.path}: {response.status_code} after {seconds:.1f} s")
        unexplained = (
            response.headers.get("retry-after") is None or "json" not in response.headers["content-type"]
        )
        if response.status_code == 503 and unexplained:
            problems.append(f"{probe.method} {probe.path}: 503 without Retry-After or JSON body")
        if (
            probe.path.endswith(("/events", "/api/events"))
            and probe.expected == 200
            and "\nretry: " not in "\n" + response.text
        ):
            problems.append(f"{probe.method} {probe.path}: no `retry:` to come back: {response.text[:200]!r}")
    assert not problems, problems
    return max(seconds for _, _, seconds in answers)


async def _known_ids(client: httpx.AsyncClient, url: str, auth: dict[str, str]) -> tuple[str, str]:
    config_id = (await client.get("/api/agent-config", headers=auth)).json()["items"][0]["id"]
    await deliver_call_ended(url)
    call_id = (await client.get("/api/call", headers=auth)).json()["items"][0]["id"]
    return config_id, call_id


async def _wait_until_ready(client: httpx.AsyncClient, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if (await client.get("/health/ready")).status_code == 200:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"not ready again within {within} s of the database coming back")


async def test_a_call_interrupted_by_a_10_s_database_outage_completes_once_it_is_back(
    cluster: PrivateCluster,
    slow_llm: tuple[SlowLLM, str],
    in_thread_server: Callable[[dict[str, Any]], str],
) -> None:
    llm, llm_root = slow_llm
    llm.delay = 2.0  # the LLM answers while the database is down
    # The default lease: the outage is shorter, so the worker keeps the call and retries its save.
    settings = server_settings(cluster.url, f"{llm_root}/app/v1", extraction_lease_seconds=30)
    url = await asyncio.to_thread(in_thread_server, settings)
    retell_call_id = await deliver_call_ended(url)
    assert await asyncio.to_thread(llm.first_arrived.wait, 15), "no extraction started"

    await asyncio.to_thread(cluster.stop)
    down_at = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        # Meanwhile Retell's deliveries and the dashboard get a quick 503 to retry, not a hang.
        _, body, headers = call_ended_delivery()
        started = time.monotonic()
        webhook = await client.post("/webhook/retell", content=body, headers=headers)
        assert (webhook.status_code, webhook.headers.get("retry-after")) == (503, "5")
        assert time.monotonic() - started < ROUTE_DEADLINE_SECONDS
        await asyncio.sleep(max(0.0, 10.0 - (time.monotonic() - down_at)))
        await asyncio.to_thread(cluster.start)
        back_at = time.monotonic()
        state: dict[str, Any] = {}
        while time.monotonic() - back_at < 60:
            state = await call_state(cluster.url, retell_call_id)
            if state["status"] == "completed":
                break
            await asyncio.sleep(0.2)
        completed_in = time.monotonic() - back_at
        ready_in = await _wait_until_ready(client, within=10)

    assert (state["status"], state["results"]) == ("completed", 1)
    assert llm.callers() == ["app"]  # the answer that arrived during the outage was kept, not asked again
    assert completed_in < 60
    print(
        f"10 s outage: completed {completed_in:.1f} s after the database came back; ready in {ready_in:.1f} s"
    )


async def test_with_postgresql_hung_every_route_answers_within_5_s(
    cluster: PrivateCluster, slow_llm: tuple[SlowLLM, str], in_thread_server: Callable[[dict[str, Any]], str]
) -> None:
    _, llm_root = slow_llm
    settings = server_settings(cluster.url, f"{llm_root}/app/v1")
    url = await asyncio.to_thread(in_thread_server, settings)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        auth = await login(client)
        config_id, call_id = await _known_ids(client, url, auth)
        probes = every_route(auth, config_id, call_id)
        probes += uncovered_routes(probes, settings)
        cluster.freeze()  # SIGSTOP: sockets stay open and nothing answers
        try:
            # First with the pool's connections hanging, then with every new connection hanging.
            slowest = [await assert_bounded_answers(client, probes) for _ in range(2)]
        finally:
            cluster.resume()
        ready_in = await _wait_until_ready(client, within=10)
        assert (await client.get("/api/call", headers=auth)).status_code == 200
    print(f"PostgreSQL hung: slowest answer {max(slowest):.1f} s; ready {ready_in:.1f} s after it resumed")


async def test_with_postgresql_stopped_every_route_answers_at_once_and_recovers(
    cluster: PrivateCluster, slow_llm: tuple[SlowLLM, str], in_thread_server: Callable[[dict[str, Any]], str]
) -> None:
    _, llm_root = slow_llm
    settings = server_settings(cluster.url, f"{llm_root}/app/v1")
    url = await asyncio.to_thread(in_thread_server, settings)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        auth = await login(client)
        config_id, call_id = await _known_ids(client, url, auth)
        probes = every_route(auth, config_id, call_id)
        probes += uncovered_routes(probes, settings)
        await asyncio.to_thread(cluster.stop)
        try:
            slowest = await assert_bounded_answers(client, probes)
        finally:
            await asyncio.to_thread(cluster.start)
        ready_in = await _wait_until_ready(client, within=10)
        assert (await client.get(f"/api/call/{call_id}", headers=auth)).status_code == 200
    print(f"PostgreSQL stopped: slowest answer {slowest:.1f} s; ready {ready_in:.1f} s after it restarted")
