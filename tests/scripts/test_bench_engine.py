"""The engine benchmark's client speaks Retell's side of the socket, and skips cleanly without the route."""

import asyncio
import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from scripts import bench_engine
from tests.support.app import free_port
from tests.support.standins import serve_in_thread

SECRET = "s3cret"


def fake_engine(received: list[dict[str, Any]], *, generation_s: float = 0.0) -> Starlette:
    """A minimal engine: config on connect, the begin message, two chunks per response, pings echoed."""

    async def socket(websocket: WebSocket) -> None:
        if websocket.path_params["secret"] != SECRET:
            await websocket.close(code=1008)  # refused at the handshake: 403
            return
        await websocket.accept()
        await websocket.send_json({"response_type": "config", "config": {"auto_reconnect": True}})

        async def respond(response_id: int) -> None:
            await websocket.send_json(
                {
                    "response_type": "response",
                    "response_id": response_id,
                    "content": "Okay, ",
                    "content_complete": False,
                }
            )
            await asyncio.sleep(generation_s)
            await websocket.send_json(
                {
                    "response_type": "response",
                    "response_id": response_id,
                    "content": "thanks.",
                    "content_complete": True,
                }
            )

        tasks = set()
        try:
            while True:
                message = json.loads(await websocket.receive_text())
                received.append(message)
                kind = message["interaction_type"]
                if kind == "ping_pong":
                    await websocket.send_json(
                        {"response_type": "ping_pong", "timestamp": message["timestamp"]}
                    )
                elif kind == "call_details":
                    await websocket.send_json(
                        {
                            "response_type": "response",
                            "response_id": 0,
                            "content": "Hi Mike.",
                            "content_complete": True,
                        }
                    )
                elif kind == "response_required":
                    task = asyncio.create_task(respond(message["response_id"]))  # the read loop never waits
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/llm-websocket/{secret}/{call_id}", socket)])


@pytest.fixture
def engine() -> Any:
    started = []

    def start(**kwargs: Any) -> tuple[str, list[dict[str, Any]]]:
        received: list[dict[str, Any]] = []
        port = free_port()
        started.append(serve_in_thread(fake_engine(received, **kwargs), port))  # type: ignore[arg-type]
        return f"ws://127.0.0.1:{port}/llm-websocket", received

    yield start
    for server in started:
        server.should_exit = True


async def test_each_request_carries_the_growing_transcript_with_word_timings_and_is_timed(
    engine: Any,
) -> None:
    base, received = engine()
    report = await bench_engine.first_chunk_phase(
        f"{base}/{SECRET}", calls=3, turns=8, think_s=0.0, ramp_s=0.0
    )

    assert report["errors"] == []
    # Per call: the agent's begin message, then user/agent turns up to 8 utterances: 4 requests each.
    assert report["requests"] == 12
    assert set(report["first_chunk_ms"]) == {"p50", "p95", "p99", "max"}
    assert 0 < report["first_chunk_ms"]["p50"] < 1000
    asked = [m for m in received if m["interaction_type"] == "response_required"]
    assert [len(m["transcript"]) for m in asked[:1]] == [2]
    assert max(len(m["transcript"]) for m in asked) == 8  # the whole transcript so far, up to `turns`
    assert sorted(m["response_id"] for m in asked) == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert all(
        m["transcript"][0] == {**m["transcript"][0], "role": "agent", "content": "Hi Mike."} for m in asked
    )
    turn = asked[-1]["transcript"][-1]
    assert turn["role"] == "user" and turn["words"] and {"word", "start", "end"} <= set(turn["words"][0])
    assert sum(m["interaction_type"] == "call_details" for m in received) == 3


async def test_pings_are_timed_while_the_calls_generate(engine: Any) -> None:
    base, received = engine(generation_s=0.3)
    report = await bench_engine.ping_phase(
        f"{base}/{SECRET}", calls=2, turns=6, think_s=0.0, every=0.1, ramp_s=0.0
    )

    assert report["errors"] == [] and report["failed_calls"] == 0
    # Three requests per call, each answered in 0.3 s: about 0.9 s of pinging every 100 ms, per call.
    assert report["pings"] >= 10
    assert report["ping_echo_ms"]["p99"] < 400
    assert sum(m["interaction_type"] == "ping_pong" for m in received) >= report["pings"]
    assert set(report["first_chunk_ms_meanwhile"]) == {"p50", "p95", "p99", "max"}


async def test_a_call_that_cannot_open_is_counted_not_fatal() -> None:
    report = await bench_engine.first_chunk_phase(
        "ws://127.0.0.1:9/llm-websocket/x", calls=1, turns=4, think_s=0.0, ramp_s=0.0
    )
    assert report["failed_calls"] == 1 and report["requests"] == 0
    assert report["errors"][0].startswith("opening: ")


async def test_the_client_keeps_asking_after_the_engine_ends_the_call_to_reach_long_transcripts() -> None:
    """The engine ends the call on its first answer here; the client still asks up to `turns` utterances."""
    received: list[dict[str, Any]] = []
    port = free_port()
    server = serve_in_thread(ending_engine(received), port)  # type: ignore[arg-type]
    try:
        report = await bench_engine.first_chunk_phase(
            f"ws://127.0.0.1:{port}/llm-websocket/{SECRET}", calls=1, turns=8, think_s=0.0, ramp_s=0.0
        )
    finally:
        server.should_exit = True
    assert report["requests"] == 4 and report["ended_early"] == 1
    assert report["requests_after_the_end"] == 3
    assert max(len(m["transcript"]) for m in received if "transcript" in m) == 8


def ending_engine(received: list[dict[str, Any]]) -> Starlette:
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                message = json.loads(await websocket.receive_text())
                received.append(message)
                if message["interaction_type"] in ("call_details", "response_required"):
                    rid = message.get("response_id", 0)
                    await websocket.send_json(
                        {"response_type": "response", "response_id": rid, "content": "Bye.",
                         "content_complete": True, **({"end_call": True} if rid else {})}
                    )  # fmt: skip
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/llm-websocket/{secret}/{call_id}", socket)])


async def test_a_refused_or_missing_route_is_reported_as_missing(engine: Any) -> None:
    base, _ = engine()
    with pytest.raises(bench_engine.RouteMissing, match="403"):
        await bench_engine.first_chunk_phase(f"{base}/wrong", calls=1, turns=4, think_s=0.0)
    with pytest.raises(bench_engine.RouteMissing):
        await bench_engine.first_chunk_phase(
            base.replace("llm-websocket", "nowhere") + "/x", calls=1, turns=4, think_s=0.0
        )


def test_the_app_without_the_route_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_engine, "route_missing_in_app", lambda: "no route in this app yet")
    report = bench_engine.run(ctx=None)  # type: ignore[arg-type]
    assert report == {"skipped": "no route in this app yet"}
    rendered = "\n".join(bench_engine.render({"engine": report}))
    assert "Skipped in this run: no route in this app yet" in rendered
    assert bench_engine.targets({"engine": report})[0][2] == "not measured"
