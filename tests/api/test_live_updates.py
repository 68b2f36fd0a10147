"""Live updates over real HTTP: what a dashboard following the two streams sees."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
import respx
from loguru import logger

from tests.conftest import POSTGRES_URL
from tests.support import RETELL_BASE_URL
from tests.support.app import login
from tests.support.sse import Event, read_events

OFFLINE = {"retell_mode": None, "retell_api_key": None, "extractor": None, "openai_api_key": None}
FULL_LIFE = ["queued", "registered", "ongoing", "ended", "processing", "completed"]
TRIGGER = {"driver_name": "Ana Ruiz", "phone_number": "+13125550102", "load_number": "L-77"}


async def stream_token(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    response = await client.post("/api/auth/stream-token", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 4 * 3600
    return str(response.json()["token"])


async def collect(
    client: httpx.AsyncClient,
    url: str,
    *,
    until: Callable[[list[Event]], bool],
    ready: asyncio.Event | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 20,
) -> list[Event]:
    """Follow a stream until `until(events)` holds; `ready` is set once the server has subscribed it."""
    events: list[Event] = []

    async def follow() -> None:
        async with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            async for event in read_events(response, on_first_line=ready.set if ready else lambda: None):
                events.append(event)
                if until(events):
                    return

    await asyncio.wait_for(follow(), timeout)
    return events


def call_completed(call_id: str) -> Callable[[list[Event]], bool]:
    return lambda events: any(e.data["id"] == call_id and e.data["status"] == "completed" for e in events)


async def dashboard_while_triggering(
    watcher: httpx.AsyncClient, token: str, trigger: Callable[[], Awaitable[str]]
) -> tuple[str, "asyncio.Task[list[Event]]"]:
    """Subscribe `/api/events` first, then place a call; the call's id, and the dashboard's events
    (collected until that call is completed)."""
    listening = asyncio.Event()
    box: dict[str, str] = {}
    everything = asyncio.create_task(
        collect(
            watcher,
            f"/api/events?token={token}",
            until=lambda events: "id" in box and call_completed(box["id"])(events),
            ready=listening,
        )
    )
    await listening.wait()
    box["id"] = await trigger()
    return box["id"], everything


def statuses_of(events: list[Event], call_id: str) -> list[str]:
    """The statuses one call went through on the list stream, repeats of one status folded."""
    seen: list[str] = []
    for event in events:
        if event.name == "call" and event.data["id"] == call_id and event.data["status"] not in seen[-1:]:
            seen.append(event.data["status"])
    return seen


async def test_every_status_of_a_simulated_call_arrives_once_in_order(
    live_server: Callable[..., str],
) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.9)
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        auth = await login(client)
        token = await stream_token(client, auth)

        async def trigger() -> str:
            return str((await client.post("/api/call/trigger", json=TRIGGER, headers=auth)).json()["id"])

        call_id, everything = await dashboard_while_triggering(client, token, trigger)
        one = await collect(
            client,
            f"/api/call/{call_id}/events?token={token}",
            until=lambda events: events[-1].name == "end",
        )
        listed = await everything

    # The call's own stream: where it stood when we connected, then each later status exactly once.
    statuses = [e.data["status"] for e in one if e.name == "status"]
    assert statuses == FULL_LIFE[FULL_LIFE.index(statuses[0]) :]
    assert statuses[0] in ("queued", "registered", "ongoing")  # how soon the stream opened
    assert all(e.id for e in one)
    final = one[-1].data
    assert final["status"] == "completed" and final["result"]["delay_reason"] == "Heavy Traffic"
    assert "transcript" not in final and "transcript_turns" not in final
    # The dashboard's stream saw the same call pass through every status, in order.
    assert statuses_of(listed, call_id) == FULL_LIFE
    row = next(e.data for e in reversed(listed) if e.data["id"] == call_id)
    assert row["call_outcome"] == "In-Transit Update" and row["driver_name"] == "Ana Ruiz"
    assert "result" not in row  # the list item, not the detail


async def test_reconnecting_with_last_event_id_gets_the_current_state_first(
    live_server: Callable[..., str],
) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.3)
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        auth = await login(client)
        token = await stream_token(client, auth)
        first = (await client.post("/api/call/trigger", json=TRIGGER, headers=auth)).json()["id"]
        seen = await collect(client, f"/api/events?token={token}", until=call_completed(first))
        last_id = seen[-1].id
        assert last_id is not None
        # While the dashboard is away, another call runs from start to finish.
        second = (await client.post("/api/call/trigger", json=TRIGGER, headers=auth)).json()["id"]
        for _ in range(100):
            if (await client.get(f"/api/call/{second}", headers=auth)).json()["status"] == "completed":
                break
            await asyncio.sleep(0.1)
        resumed = await collect(
            client,
            f"/api/events?token={token}",
            headers={"Last-Event-ID": last_id},
            until=lambda events: any(e.data["id"] == second for e in events),
        )
        # The call's own stream, reconnecting after the call finished: its state now, then `end`.
        again = await collect(
            client,
            f"/api/call/{second}/events?token={token}",
            headers={"Last-Event-ID": "1"},
            until=lambda events: events[-1].name == "end",
        )
    # Nothing happened after the reconnect: what arrived is the state the call reached meanwhile.
    assert resumed[-1].data["id"] == second and resumed[-1].data["status"] == "completed"
    assert int(resumed[-1].id or 0) > int(last_id)
    assert [(e.name, e.data["status"]) for e in again] == [("status", "completed"), ("end", "completed")]


@pytest.mark.parametrize("last_id", ["1e20", "99999999999999999999", "-5", "9" * 400])
async def test_a_last_event_id_this_service_never_sent_is_ignored_not_a_500(
    live_server: Callable[..., str], last_id: str
) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.3)
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        auth = await login(client)
        token = await stream_token(client, auth)
        call_id = (await client.post("/api/call/trigger", json=TRIGGER, headers=auth)).json()["id"]
        # The stream starts from the current state, as it would with no Last-Event-ID at all.
        seen = await collect(
            client,
            f"/api/events?token={token}",
            headers={"Last-Event-ID": last_id},
            until=lambda events: any(e.data["id"] == call_id for e in events),
        )
    assert seen[-1].data["id"] == call_id


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs PostgreSQL")
async def test_a_change_through_one_instance_reaches_a_subscriber_of_another(
    live_server: Callable[..., str], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("processes share changes through PostgreSQL; SQLite serves one process")
    watcher_url = live_server(**OFFLINE)
    worker_url = live_server(**OFFLINE, simulated_call_seconds=0.3)
    async with (
        httpx.AsyncClient(base_url=watcher_url, timeout=20) as watcher,
        httpx.AsyncClient(base_url=worker_url, timeout=20) as worker,
    ):
        token = await stream_token(watcher, await login(watcher))
        auth = await login(worker)

        async def trigger() -> str:
            # The trigger, every webhook and the extraction all happen on the other instance.
            return str((await worker.post("/api/call/trigger", json=TRIGGER, headers=auth)).json()["id"])

        call_id, everything = await dashboard_while_triggering(watcher, token, trigger)
        one = await collect(
            watcher,
            f"/api/call/{call_id}/events?token={token}",
            until=lambda events: events[-1].name == "end",
        )
        listed = await everything
    assert statuses_of(listed, call_id) == FULL_LIFE
    assert one[-1].data["result"]["delay_reason"] == "Heavy Traffic"


class _Lines(logging.Handler):
    """Whatever handler the access log ends up with (uvicorn's own, or ours into loguru), its lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_the_stream_token_never_appears_in_the_access_log(
    live_server: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url = live_server(**OFFLINE)  # first: the app's logging set-up replaces loguru's sinks
    # Other servers started in this process (uvicorn's dictConfig) may have set the access logger's
    # handler and level; read what reaches it, whichever handler formats it.
    access_logger = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access_logger, "disabled", False)
    previous_level = access_logger.level
    access_logger.setLevel(logging.INFO)
    captured = _Lines()
    access_logger.addHandler(captured)
    app_lines: list[str] = []
    sink = logger.add(lambda message: app_lines.append(str(message)), level="INFO")
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
            auth = await login(client)
            token = await stream_token(client, auth)
            missing = await client.get(f"/api/call/{uuid.uuid4()}/events", params={"token": token})
            async with client.stream("GET", "/api/events", params={"token": token}) as stream:
                assert stream.status_code == 200
    finally:
        logger.remove(sink)
        access_logger.removeHandler(captured)
        access_logger.setLevel(previous_level)
    assert missing.status_code == 404
    access = [line for line in captured.lines if "/events?token=" in line]
    assert len(access) == 2, "the access log shows both stream requests"
    assert all("token=[redacted]" in line for line in access)
    assert not any(token in line for line in captured.lines + app_lines)


async def test_a_reprocessed_call_goes_through_its_statuses_again_on_the_dashboard_stream(
    live_server: Callable[..., str],
) -> None:
    base_url = live_server(**OFFLINE, simulated_call_seconds=0.3)
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        auth = await login(client)
        token = await stream_token(client, auth)
        call_id = (await client.post("/api/call/trigger", json=TRIGGER, headers=auth)).json()["id"]
        await collect(client, f"/api/events?token={token}", until=call_completed(call_id))
        shown = asyncio.Event()

        def rerun_done(events: list[Event]) -> bool:
            shown.set()  # the call's current state has arrived: now change it
            return statuses_of(events, call_id)[1:] == ["ended", "processing", "completed"]

        again = asyncio.create_task(collect(client, f"/api/events?token={token}", until=rerun_done))
        await asyncio.wait_for(shown.wait(), 10)
        assert (await client.post(f"/api/call/{call_id}/reprocess", headers=auth)).status_code == 202
        events = await again
    assert statuses_of(events, call_id) == ["completed", "ended", "processing", "completed"]


async def test_a_call_retell_refuses_shows_as_failed_on_the_dashboard_stream(
    live_server: Callable[..., str],
) -> None:
    base_url = live_server()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(f"{RETELL_BASE_URL}/create-retell-llm").respond(200, json={"llm_id": "llm_1"})
        router.post(f"{RETELL_BASE_URL}/create-agent").respond(200, json={"agent_id": "agent_1"})
        router.post(f"{RETELL_BASE_URL}/v3/create-web-call").respond(
            402, json={"error_message": "Insufficient balance"}
        )
        async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
            auth = await login(client)
            token = await stream_token(client, auth)
            listening = asyncio.Event()
            watching = asyncio.create_task(
                collect(
                    client,
                    f"/api/events?token={token}",
                    until=lambda events: any(
                        e.data["status"] == "failed" for e in events if e.name == "call"
                    ),
                    ready=listening,
                    timeout=10,
                )
            )
            await listening.wait()
            assert (await client.post("/api/call/trigger", json=TRIGGER, headers=auth)).status_code == 502
            events = await watching
    [call_id] = {e.data["id"] for e in events if e.name == "call"}
    assert statuses_of(events, call_id) == ["queued", "failed"]
