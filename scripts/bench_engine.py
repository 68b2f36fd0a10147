# ruff: noqa: E501  (Markdown prose is long lines)
"""The conversation engine's speed over its WebSocket, as Retell drives it (issue 18, "Speed").

Many Retell-like clients at once, each a call on `/llm-websocket/{secret}/{call_id}`:

(a) first chunk: each client sends `call_details`, waits for the begin message (`response_id` 0), then
    asks `response_required` turn after turn, every message carrying the whole transcript so far with word
    timings, up to `--engine-turns` utterances (40: a long call). Measured per request: from sending
    `response_required` to receiving the first `response` chunk under its id; p50/p95 over every request
    of `--engine-calls` (50) concurrent calls on one worker, in rules mode (no LLM configured);
(b) ping echo: the same 50 calls again, each also sending `ping_pong` every 100 ms while its turns are
    generated; measured: each echo's round trip, p99. Issue 18 asks for it "while a slow LLM stand-in (3 s)
    generates", but the engine never calls an LLM on a turn: the session calls `policy.step` without
    `heard`, and `understanding.hear_with_llm` (the only LLM reader, under its budget) is called by nothing
    but its tests; phrasing is templates only. There is nothing an LLM stand-in could slow down, so (b)
    measures the echo while 50 calls generate in rules mode (the policy, the stored turn, the chunks), and
    the document says so.

The route is built by issue 18. Until it exists this part is skipped with a clear message: in `make bench`
when the app has no route under /llm-websocket, on its own when the handshake is refused with 403/404.

    .venv/bin/python scripts/bench_engine.py --url ws://127.0.0.1:8000/llm-websocket/SECRET [--calls 50]

On its own it measures (a) and (b) against that server as it runs. Only 127.0.0.1 is contacted by
`make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python scripts/bench_engine.py`

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from scripts.bench_harness import (
    APP_TARGET,
    HOST,
    Context,
    percentile,
    progress,
    running,
    verdict,
)

ROUTE = "/llm-websocket"
FIRST_CHUNK_P50_MS, FIRST_CHUNK_P95_MS, PING_P99_MS = 5.0, 20.0, 100.0
RAMP_S = 2.0  # the calls connect at random moments over this many seconds
LONG_TRANSCRIPT = 30  # utterances: the requests also reported on their own
# A driver's side of a long, ordinary check-in: nothing here is an emergency, so the engine keeps going.
DRIVER_LINES = [
    "Hey, yeah this is Mike, I'm driving right now",
    "I'm on I-40 just past Amarillo heading east",
    "Should be there around four this afternoon",
    "Traffic was a little slow through the construction but it's moving now",
    "No issues with the load, everything's strapped down fine",
    "Yeah I got the paperwork with me",
    "The weather's clear, roads are dry",
    "I stopped for fuel about an hour ago",
    "I'll call the receiver when I'm about thirty minutes out",
    "Sure, I'll get the POD signed and send a picture",
    "Nope, nothing else, thanks",
    "Okay, talk to you later",
]
AGENT_LINE = "Thanks, got it. Anything else I should know about the load or your ETA?"


class RouteMissing(Exception):
    """The server refused the handshake as a missing route (or a wrong secret) would."""


def words(text: str, start: float) -> tuple[list[dict[str, Any]], float]:
    """Word timings as Retell sends them: each word with its start and end, in seconds."""
    timed = []
    for word in text.split():
        end = start + 0.08 + 0.04 * len(word)
        timed.append({"word": word, "start": round(start, 3), "end": round(end, 3)})
        start = end + 0.05
    return timed, start


def transcript(utterances: list[tuple[str, str]]) -> list[dict[str, Any]]:
    clock, turns = 0.5, []
    for role, content in utterances:
        timed, clock = words(content, clock)
        turns.append({"role": role, "content": content, "words": timed})
        clock += 0.6
    return turns


def call_details(call_id: str) -> dict[str, Any]:
    return {
        "interaction_type": "call_details",
        "call": {
            "call_id": call_id,
            "agent_id": "agent_bench",
            "call_type": "phone_call",
            "direction": "outbound",
            "from_number": "+13125550100",
            "to_number": "+13125550101",
            "metadata": {},
            "retell_llm_dynamic_variables": {"driver_name": "Mike Johnson", "load_number": "L-00042"},
        },
    }


@dataclass
class CallResult:
    first_chunk_ms: list[float] = field(default_factory=list)
    ping_echo_ms: list[float] = field(default_factory=list)
    transcript_bytes: int = 0
    ended_after: int | None = None  # utterances when the engine ended or transferred the call
    after_end: int = 0  # requests answered after that
    long_first_chunk_ms: list[float] = field(default_factory=list)  # transcripts of LONG_TRANSCRIPT or more
    error: str | None = None


class RetellClient:
    """One call as Retell drives it: a reader task dispatches every frame; requests wait on it."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.first_chunk: dict[int, asyncio.Future[float]] = {}
        self.complete: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.content: dict[int, list[str]] = {}
        self.pings: dict[int, asyncio.Future[float]] = {}
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.socket:
                arrived = time.perf_counter()
                message = json.loads(frame)
                kind = message.get("response_type")
                if kind == "response":
                    rid = message.get("response_id")
                    first = self.first_chunk.get(rid)
                    if first is not None and not first.done():
                        first.set_result(arrived)
                    self.content.setdefault(rid, []).append(message.get("content") or "")
                    done = self.complete.get(rid)
                    if message.get("content_complete") and done is not None and not done.done():
                        done.set_result(message)
                elif kind == "ping_pong":
                    echo = self.pings.get(message.get("timestamp"))
                    if echo is not None and not echo.done():
                        echo.set_result(arrived)
        waiting: list[asyncio.Future[Any]] = [
            *self.first_chunk.values(),
            *self.complete.values(),
            *self.pings.values(),
        ]
        for future in waiting:
            if not future.done():
                future.set_exception(ConnectionError("the socket closed"))

    def expect(self, response_id: int) -> None:
        loop = asyncio.get_running_loop()
        self.first_chunk[response_id] = loop.create_future()
        self.complete[response_id] = loop.create_future()

    async def send(self, message: dict[str, Any]) -> float:
        await self.socket.send(json.dumps(message))
        return time.perf_counter()

    async def ask(
        self, response_id: int, turns: list[dict[str, Any]], wait_s: float
    ) -> tuple[float, dict[str, Any]]:
        """Send `response_required`; return the first chunk's latency (ms) and the final chunk."""
        self.expect(response_id)
        sent = await self.send(
            {"interaction_type": "response_required", "response_id": response_id, "transcript": turns}
        )
        first = await asyncio.wait_for(self.first_chunk[response_id], wait_s)
        final = await asyncio.wait_for(self.complete[response_id], wait_s)
        return (first - sent) * 1000, final

    async def ping(self, wait_s: float) -> float:
        stamp = int(time.time() * 1000) * 1000 + random.randrange(1000)  # unique per client
        self.pings[stamp] = asyncio.get_running_loop().create_future()
        sent = await self.send({"interaction_type": "ping_pong", "timestamp": stamp})
        try:
            return (await asyncio.wait_for(self.pings[stamp], wait_s) - sent) * 1000
        finally:
            del self.pings[stamp]

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await self.reader
        # 1001 "going away": never 1000, which is "hang up" in Retell's protocol.
        await self.socket.close(code=1001)


async def open_call(base: str, call_id: str, wait_s: float) -> RetellClient:
    try:
        socket = await connect(f"{base}/{call_id}", open_timeout=wait_s, max_size=2**22)
    except InvalidStatus as exc:
        if exc.response.status_code in (403, 404):
            raise RouteMissing(
                f"{base}/… answered {exc.response.status_code} to the WebSocket handshake"
            ) from exc
        raise
    client = RetellClient(socket)
    client.expect(0)
    await client.send(call_details(call_id))
    await asyncio.wait_for(client.complete[0], wait_s)  # the begin message
    return client


async def one_call(
    base: str,
    turns: int,
    think_s: float,
    wait_s: float,
    rng: random.Random,
    ping_every: float | None = None,
    ramp_s: float = 0.0,
) -> CallResult:
    """(a): a call of `turns` utterances; every `response_required` carries the transcript so far.
    (b) with `ping_every`: the same, and a `ping_pong` every `ping_every` seconds while the call runs."""
    result = CallResult()
    call_id = f"call_bench_engine_{secrets.token_hex(6)}"
    await asyncio.sleep(rng.uniform(0, ramp_s))  # calls connect over a few seconds, not in one instant
    try:
        client = await open_call(base, call_id, wait_s)
    except (ConnectionError, ConnectionClosed, TimeoutError, OSError) as exc:
        result.error = f"opening: {type(exc).__name__}: {exc}"
        return result
    pinging = asyncio.create_task(pinger(client, ping_every, wait_s, result)) if ping_every else None
    begin = "".join(client.content.get(0, [])) or AGENT_LINE
    spoken: list[tuple[str, str]] = [("agent", begin)]
    try:
        response_id = 0
        while len(spoken) < turns:
            spoken.append(("user", DRIVER_LINES[(len(spoken) // 2) % len(DRIVER_LINES)]))
            response_id += 1
            body = transcript(spoken)
            result.transcript_bytes = max(result.transcript_bytes, len(json.dumps(body)))
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))  # the driver speaking
            latency, final = await client.ask(response_id, body, wait_s)
            result.first_chunk_ms.append(latency)
            if len(spoken) >= LONG_TRANSCRIPT:
                result.long_first_chunk_ms.append(latency)
            if result.ended_after is not None:
                result.after_end += 1
            elif final.get("end_call") or final.get("transfer_number"):
                # Retell would hang up here. The policy closes a check-in within MAX_AGENT_TURNS (12), so
                # no call it runs reaches 40 utterances; the client keeps asking to reach them (the engine
                # answers each, its dialogue on the after-the-end path, with the same parsing and store).
                result.ended_after = len(spoken)
            spoken.append(("agent", "".join(client.content.get(response_id, [])) or AGENT_LINE))
    except (ConnectionError, ConnectionClosed, TimeoutError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if pinging is not None:
            pinging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinging
        await client.close()
    return result


async def pinger(client: RetellClient, every: float, wait_s: float, result: CallResult) -> None:
    with contextlib.suppress(ConnectionError, ConnectionClosed):
        while True:
            result.ping_echo_ms.append(await client.ping(wait_s))
            await asyncio.sleep(every)


async def first_chunk_phase(
    base: str, calls: int, turns: int, think_s: float, ramp_s: float = RAMP_S
) -> dict[str, Any]:
    rng = random.Random(18)
    results = await asyncio.gather(
        *(one_call(base, turns, think_s, 10.0, rng, ramp_s=ramp_s) for _ in range(calls))
    )
    latencies = [value for r in results for value in r.first_chunk_ms]
    return {
        "calls": calls,
        "utterances_per_call": turns,
        "requests": len(latencies),
        "first_chunk_ms": summary(latencies),
        "largest_transcript_bytes": max(r.transcript_bytes for r in results),
        f"first_chunk_ms_at_{LONG_TRANSCRIPT}_utterances_or_more": summary(
            [value for r in results for value in r.long_first_chunk_ms]
        ),
        "ended_early": sum(r.ended_after is not None for r in results),
        "ended_after_utterances": summary([float(r.ended_after) for r in results if r.ended_after]),
        "requests_after_the_end": sum(r.after_end for r in results),
        "errors": [r.error for r in results if r.error][:5],
        "failed_calls": sum(r.error is not None for r in results),
    }


async def ping_phase(
    base: str, calls: int, turns: int, think_s: float, every: float, ramp_s: float = RAMP_S
) -> dict[str, Any]:
    rng = random.Random(180)
    results = await asyncio.gather(
        *(one_call(base, turns, think_s, 10.0, rng, ping_every=every, ramp_s=ramp_s) for _ in range(calls))
    )
    echoes = [value for r in results for value in r.ping_echo_ms]
    return {
        "calls": calls,
        "utterances_per_call": turns,
        "ping_every_s": every,
        "pings": len(echoes),
        "ping_echo_ms": summary(echoes),
        "first_chunk_ms_meanwhile": summary([value for r in results for value in r.first_chunk_ms]),
        "errors": [r.error for r in results if r.error][:5],
        "failed_calls": sum(r.error is not None for r in results),
    }


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        name: round(percentile(values, pct), 2)
        for name, pct in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    }


# -------------------------------------------------------------------------------------------------------
# In `make bench`, and on its own
# -------------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine-calls", type=int, default=50, help="concurrent calls of the engine phase")
    parser.add_argument(
        "--engine-turns", type=int, default=40, help="utterances per engine call (transcript length)"
    )
    parser.add_argument("--engine-think", type=float, default=0.3, help="mean seconds between a call's turns")
    parser.add_argument(
        "--engine-ping-every", type=float, default=0.1, help="seconds between a call's pings in (b)"
    )


def route_missing_in_app() -> str | None:
    """Why (a) and (b) cannot run against this checkout's app, or None when they can."""
    from app.main import create_app

    def paths(routes: list[Any]) -> list[str]:
        """Every route's path, through included routers (FastAPI wraps them) and mounts."""
        found: list[str] = []
        for route in routes:
            found.append(getattr(route, "path", "") or "")
            inner = getattr(route, "original_router", None) or getattr(route, "app", None)
            found += paths(list(getattr(inner, "routes", []) or []))
        return found

    if not any(path.startswith(ROUTE) for path in paths(list(create_app().routes))):
        return f"no {ROUTE}/{{secret}}/{{call_id}} route in this app yet (issue 18 builds it)"
    return None


NO_LLM = (
    "the engine never calls an LLM on a turn (the session calls `policy.step` without `heard`; "
    "`hear_with_llm` is called only by its tests; phrasing is templates), so no slow LLM stand-in can "
    "be put under it: (b) is the echo while the calls generate in rules mode"
)


def run(ctx: Context) -> dict[str, Any]:
    reason = route_missing_in_app()
    if reason is not None:
        progress(f"engine latency: skipped, {reason}")
        return {"skipped": reason}
    args = ctx.args
    secret = "bench-" + secrets.token_hex(12)
    report: dict[str, Any] = {}
    # Rules mode: no OpenAI key. The socket's secret is the setting Retell's llm_websocket_url carries.
    env = {**ctx.env, "LLM_WEBSOCKET_SECRET": secret, "OPENAI_API_KEY": "", "LOG_LEVEL": "WARNING"}
    try:
        with running("app", APP_TARGET, env, 1, ctx.logs / "engine.log") as server:
            base = f"ws://{HOST}:{server.port}{ROUTE}/{secret}"
            progress(
                f"engine latency (a): {args.engine_calls} calls x {args.engine_turns} utterances, rules mode"
            )
            cpu = server.cpu_seconds()
            report["first_chunk"] = asyncio.run(
                first_chunk_phase(base, args.engine_calls, args.engine_turns, args.engine_think)
            )
            report["first_chunk"]["server_cpu_ms_per_request"] = round(
                (server.cpu_seconds() - cpu) * 1000 / max(1, report["first_chunk"]["requests"]), 3
            )
            progress(f"engine latency (a): {report['first_chunk']}")
            progress(
                f"engine latency (b): {args.engine_calls} calls pinging every {args.engine_ping_every:g} s"
            )
            report["ping"] = asyncio.run(
                ping_phase(
                    base, args.engine_calls, args.engine_turns, args.engine_think, args.engine_ping_every
                )
            )
            report["ping"]["why_no_slow_llm"] = NO_LLM
            progress(f"engine latency (b): {report['ping']}")
    except RouteMissing as exc:
        progress(f"engine latency: skipped, {exc}")
        return {"skipped": str(exc)}
    return report


def render(report: dict[str, Any]) -> list[str]:
    engine = report["engine"]
    lines = ["## Conversation engine: first chunk and ping echo", ""]
    if "skipped" in engine:
        return [
            *lines,
            f"*Skipped in this run: {engine['skipped']}.* `scripts/bench_engine.py` is ready for it: 50 Retell-like",
            "WebSocket clients on one worker, each sending `response_required` with the whole transcript so far",
            "(up to 40 utterances with word timings), timing from sending it to the first `response` chunk",
            "(targets p50 ≤ 5 ms, p95 ≤ 20 ms, rules mode), then the same calls pinging every 100 ms while their",
            "turns are generated (target ping echo p99 ≤ 100 ms). It measures client-side, so the figures include",
            "the loopback and the client's own share of the two cores.",
            "",
        ]
    first, ping = engine["first_chunk"], engine["ping"]
    meanwhile = ping.get("first_chunk_ms_meanwhile", {})
    return [
        *lines,
        f"`scripts/bench_engine.py`, one worker, rules mode. (a) {first['calls']} concurrent calls, each asking",
        f"`response_required` with the whole transcript so far, up to {first['utterances_per_call']} utterances with word",
        f"timings (largest message {first['largest_transcript_bytes']:,} bytes): {first['requests']} requests, timed from",
        "sending to the first `response` chunk (client-side, so the loopback and the client's own share of the",
        f"cores are included: an upper bound of the engine's overhead). {first['ended_early']} calls were ended early by the",
        f"engine (it closed the check-in). The server's CPU per request: {first.get('server_cpu_ms_per_request')} ms.",
        f"(b) the same {ping['calls']} calls again, each also sending `ping_pong` every {ping['ping_every_s'] * 1000:g} ms while",
        f"its turns are generated: {ping['pings']} echoes. Issue 18 asks for the echo while a slow LLM stand-in (3 s)",
        "generates, but " + ping.get("why_no_slow_llm", "the engine never calls an LLM on a turn") + ".",
        "",
        "| measure | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- |",
        f"| (a) first chunk after `response_required` | {first['first_chunk_ms'].get('p50')} | {first['first_chunk_ms'].get('p95')} | {first['first_chunk_ms'].get('p99')} | {first['first_chunk_ms'].get('max')} |",
        f"| (b) ping echo while {ping['calls']} calls generate | {ping['ping_echo_ms'].get('p50')} | {ping['ping_echo_ms'].get('p95')} | {ping['ping_echo_ms'].get('p99')} | {ping['ping_echo_ms'].get('max')} |",
        f"| (b) first chunk meanwhile (with the pings) | {meanwhile.get('p50')} | {meanwhile.get('p95')} | {meanwhile.get('p99')} | {meanwhile.get('max')} |",
        "",
        *(
            [f"Errors (first five): {first['errors'] + ping['errors']}", ""]
            if first["errors"] or ping["errors"]
            else []
        ),
    ]


def targets(report: dict[str, Any]) -> list[list[str]]:
    engine = report["engine"]
    if "skipped" in engine:
        return [
            [
                "engine: first chunk p50 ≤ 5 ms, p95 ≤ 20 ms; ping echo p99 ≤ 100 ms",
                "skipped (no route yet)",
                "not measured",
            ]
        ]
    first, ping = engine["first_chunk"]["first_chunk_ms"], engine["ping"]["ping_echo_ms"]
    return [
        [
            f"engine first chunk p50 ≤ {FIRST_CHUNK_P50_MS:g} ms, p95 ≤ {FIRST_CHUNK_P95_MS:g} ms (50 calls, one worker)",
            f"p50 {first.get('p50')} ms, p95 {first.get('p95')} ms",
            verdict(
                bool(first) and first["p50"] <= FIRST_CHUNK_P50_MS and first["p95"] <= FIRST_CHUNK_P95_MS
            ),
        ],
        [
            f"ping echo p99 ≤ {PING_P99_MS:g} ms while calls generate (no LLM on a turn: see above)",
            f"p99 {ping.get('p99')} ms",
            verdict(bool(ping) and ping["p99"] <= PING_P99_MS),
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", required=True, help="ws://host:port/llm-websocket/SECRET (the call id is appended)"
    )
    add_arguments(parser)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    try:
        report["first_chunk"] = asyncio.run(
            first_chunk_phase(args.url.rstrip("/"), args.engine_calls, args.engine_turns, args.engine_think)
        )
        report["ping"] = asyncio.run(
            ping_phase(
                args.url.rstrip("/"),
                args.engine_calls,
                args.engine_turns,
                args.engine_think,
                args.engine_ping_every,
            )
        )
    except RouteMissing as exc:
        print(
            f"skipped: {exc}. The engine's route is not there (issue 18), or the secret is wrong.",
            file=sys.stderr,
        )
        raise SystemExit(0) from None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
