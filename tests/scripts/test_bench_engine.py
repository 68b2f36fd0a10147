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
        f"{base}/{SECRET}", calls=3, requests=4, max_utterances=8, think_s=0.0, ramp_s=0.0
    )

    assert report["errors"] == [] and report["deadline"] is None
    # Per call: the agent's begin message, then user/agent turns up to 8 utterances: 4 requests each.
    assert report["requests"] == 12 and report["calls"] == 3
    assert set(report["first_chunk_ms"]) == {"p50", "p95", "p99", "max"}
    assert 0 < report["first_chunk_ms"]["p50"] <= report["complete_ms"]["p50"] < 1000
    asked = [m for m in received if m["interaction_type"] == "response_required"]
    assert [len(m["transcript"]) for m in asked[:1]] == [2]
    assert max(len(m["transcript"]) for m in asked) == 8  # the whole transcript so far, up to the cap
    assert sorted(m["response_id"] for m in asked) == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert all(
        m["transcript"][0] == {**m["transcript"][0], "role": "agent", "content": "Hi Mike."} for m in asked
    )
    turn = asked[-1]["transcript"][-1]
    assert turn["role"] == "user" and turn["words"] and {"word", "start", "end"} <= set(turn["words"][0])
    assert sum(m["interaction_type"] == "call_details" for m in received) == 3


def test_the_driver_puts_each_question_off_twice_then_answers_it() -> None:
    driver = bench_engine.DistractedDriver()
    said = [driver.reply_to("Where are you right now?") for _ in range(3)]
    assert said[0] in bench_engine.DODGES and said[1] in bench_engine.DODGES
    assert said[2] == bench_engine.ANSWERS["location"]
    assert driver.reply_to("When do you expect to get there?") in bench_engine.DODGES


async def test_pings_are_timed_while_the_calls_generate(engine: Any) -> None:
    base, received = engine(generation_s=0.3)
    report = await bench_engine.ping_phase(
        f"{base}/{SECRET}", calls=2, requests=3, max_utterances=40, think_s=0.0, every=0.1, ramp_s=0.0
    )

    assert report["errors"] == [] and report["failed_slots"] == 0 and report["ping_timeouts"] == 0
    # Three requests per call, each answered in 0.3 s: about 0.9 s of pinging every 100 ms, per call.
    assert report["pings"] >= 10
    assert report["ping_echo_ms"]["p99"] < 400
    assert sum(m["interaction_type"] == "ping_pong" for m in received) >= report["pings"]
    assert set(report["first_chunk_ms"]) == {"p50", "p95", "p99", "max"}


async def test_a_call_that_cannot_open_is_counted_not_fatal() -> None:
    report = await bench_engine.first_chunk_phase(
        "ws://127.0.0.1:9/llm-websocket/x", calls=1, requests=4, max_utterances=8, think_s=0.0, ramp_s=0.0
    )
    assert report["failed_slots"] == 1 and report["requests"] == 0
    assert "Connect" in report["errors"][0] or "Errno" in report["errors"][0]


async def test_a_call_the_engine_ends_is_over_and_the_slot_dials_the_next_one() -> None:
    """Retell hangs up after `end_call`: no request is made on a call after it, only on a new call."""
    received: list[dict[str, Any]] = []
    port = free_port()
    server = serve_in_thread(ending_engine(received), port)  # type: ignore[arg-type]
    try:
        report = await bench_engine.first_chunk_phase(
            f"ws://127.0.0.1:{port}/llm-websocket/{SECRET}",
            calls=1,
            requests=3,
            max_utterances=40,
            think_s=0.0,
            ramp_s=0.0,
        )
    finally:
        server.should_exit = True
    assert report["requests"] == 3 and report["calls"] == 3 and report["calls_ended_by_engine"] == 3
    asked = [m["_call"] for m in received if m["interaction_type"] == "response_required"]
    assert len(asked) == len(set(asked)) == 3  # one request per call: none after its hang-up


def ending_engine(received: list[dict[str, Any]]) -> Starlette:
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                message = json.loads(await websocket.receive_text())
                received.append({**message, "_call": websocket.path_params["call_id"]})
                if message["interaction_type"] in ("call_details", "response_required"):
                    rid = message.get("response_id", 0)
                    await websocket.send_json(
                        {"response_type": "response", "response_id": rid, "content": "Bye.",
                         "content_complete": True, **({"end_call": True} if rid else {})}
                    )  # fmt: skip
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/llm-websocket/{secret}/{call_id}", socket)])


def silent_engine() -> Starlette:
    """Greets, then never answers a request: the client must give up, not hang."""

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                message = json.loads(await websocket.receive_text())
                if message["interaction_type"] == "call_details":
                    await websocket.send_json(
                        {"response_type": "response", "response_id": 0, "content": "Hi.",
                         "content_complete": True}
                    )  # fmt: skip
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/llm-websocket/{secret}/{call_id}", socket)])


async def test_a_request_never_answered_ends_the_slot_with_what_did_not_arrive() -> None:
    port = free_port()
    server = serve_in_thread(silent_engine(), port)  # type: ignore[arg-type]
    try:
        report = await asyncio.wait_for(
            bench_engine.first_chunk_phase(
                f"ws://127.0.0.1:{port}/llm-websocket/{SECRET}",
                calls=2,
                requests=3,
                max_utterances=40,
                think_s=0.0,
                ramp_s=0.0,
                wait_s=0.3,
            ),
            10,
        )
    finally:
        server.should_exit = True
    assert report["failed_slots"] == 2 and report["requests"] == 0
    assert report["errors"][0] == "NotAnswered: the first chunk of response 1 did not arrive within 0.3 s"


async def test_a_slot_still_running_at_the_phase_deadline_is_cancelled_and_reported() -> None:
    async def stuck() -> bench_engine.SlotResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def quick() -> bench_engine.SlotResult:
        return bench_engine.SlotResult(first_chunk_ms=[1.0])

    results, problem = await asyncio.wait_for(bench_engine.run_slots([stuck(), quick()], 0.3, "phase"), 10)
    assert problem == "phase: 1 of 2 call slots still running after 0 s, cancelled"
    assert results[0].error == "cancelled at the deadline" and results[1].first_chunk_ms == [1.0]


async def test_the_pinger_stops_when_told_even_as_echoes_keep_arriving(engine: Any) -> None:
    base, _ = engine()
    client = await bench_engine.open_call(f"{base}/{SECRET}", "call_p1", 5.0)
    result, stop = bench_engine.SlotResult(), asyncio.Event()
    pinging = asyncio.create_task(bench_engine.pinger(client, 0.0, 5.0, result, stop))
    try:
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(pinging, 5)
    finally:
        await client.close()
    assert len(result.ping_echo_ms) > 5 and result.ping_timeouts == 0


async def test_a_refused_or_missing_route_is_reported_as_missing(engine: Any) -> None:
    base, _ = engine()
    with pytest.raises(bench_engine.RouteMissing, match="403"):
        await bench_engine.first_chunk_phase(
            f"{base}/wrong", calls=1, requests=2, max_utterances=8, think_s=0.0
        )
    with pytest.raises(bench_engine.RouteMissing):
        await bench_engine.first_chunk_phase(
            base.replace("llm-websocket", "nowhere") + "/x",
            calls=1,
            requests=2,
            max_utterances=8,
            think_s=0.0,
        )


def test_the_app_without_the_route_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_engine, "route_missing_in_app", lambda: "no route in this app yet")
    report = bench_engine.run(ctx=None)  # type: ignore[arg-type]
    assert report == {"skipped": "no route in this app yet"}
    rendered = "\n".join(bench_engine.render({"engine": report}))
    assert "Skipped in this run: no route in this app yet" in rendered
    assert bench_engine.targets({"engine": report})[0][2] == "not measured"
