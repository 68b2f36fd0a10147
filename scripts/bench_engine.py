# ruff: noqa: E501  (Markdown prose is long lines)
"""The conversation engine's speed over its WebSocket, as Retell drives it (issue 18, "Speed").

Many Retell-like clients at once, each a call on `/llm-websocket/{secret}/{call_id}`:

(a) first chunk, rules mode (no LLM configured): `--engine-calls` (50) call slots at once, each playing
    calls back to back. A call: `call_details`, the begin message (`response_id` 0), then a distracted
    driver (he puts off each question twice, then answers it) asking `response_required` turn after turn,
    every message carrying the whole transcript so far with word timings. The call ends where Retell's
    would: when the engine's final chunk carries `end_call` or `transfer_number` (then the slot dials its
    next call), or at `--engine-turns` (40) utterances. Only requests inside a call are counted: the
    engine closes a check-in within 12 agent turns, so no call it runs reaches 40 utterances (this driver
    takes it to its longest, 23); asking on after the hang-up, as this script once did, timed a path Retell
    never takes. Measured per request: from sending `response_required` to receiving its first `response`
    chunk, and to its `content_complete`; p50/p95 over `--engine-requests` (20) requests per slot.
(b) ping echo while a slow LLM generates: the app is started with its LLM reader pointed at a stand-in
    OpenAI-compatible server (`slow_llm`, its own process) that streams each answer over 3 s, and a budget
    (ENGINE_LLM_BUDGET_MS) above that, so every check-in turn waits the whole 3 s on it. The same 50 slots,
    each also sending `ping_pong` every `--engine-ping-every` s; measured: each echo's round trip.

Every wait is bounded: a request's chunks and a ping's echo (`wait_s`), a phase as a whole (a deadline
from its size; past it the calls still running are cancelled and counted, and the phase reports an error
instead of hanging).

    .venv/bin/python scripts/bench_engine.py --url ws://127.0.0.1:8000/llm-websocket/SECRET [--engine-calls 50]

On its own it measures (a) and, when the server has the LLM reader configured, (b) against that server
as it runs. Only 127.0.0.1 is contacted by `make bench`.
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
WAIT_S = 10.0  # the longest any one chunk, greeting or echo is waited for
SLOW_LLM_S = 3.0  # how long the stand-in LLM takes to stream an answer in (b)
LLM_BUDGET_MS = 4000  # the engine's budget in (b): above SLOW_LLM_S, so the whole 3 s is waited
# (b) is about the echo while turns wait on the LLM: a few turns per slot are enough, each 3 s long.
PING_PHASE_REQUESTS = 3

# A driver who answers every question, each after putting it off twice: the engine re-asks, narrower each
# time, so the call runs as long as the engine lets a check-in run. Nothing here is an emergency.
ANSWERS = {
    "status": "Yeah I'm driving, rolling along fine with the load",
    "location": "I'm on I-40 just past Amarillo, Texas heading east",
    "eta": "Should be there around four this afternoon",
    "delay": "Traffic was a little slow through the construction but nothing major, no real delays",
    "unloading": "I'm in door 42, they just started unloading",
    "pod": "Yeah, I'll get the POD signed and send a picture",
}
DODGES = [
    "Hang on a second, I'm merging here, there's a truck on my right",
    "Sorry, this guy just cut me off, give me a moment",
    "Hold on, let me turn the radio down real quick",
]
_TOPICS = (
    ("pod", ("pod", "paperwork")),
    ("unloading", ("unload", "door")),
    ("delay", ("delay", "holding", "problem", "slow")),
    ("eta", ("eta", "arrive", "get there", "when", "time")),
    ("location", ("where", "location", "mile", "highway", "near")),
    ("status", ("status", "how", "going", "driving")),
)


class RouteMissing(Exception):
    """The server refused the handshake as a missing route (or a wrong secret) would."""


class DistractedDriver:
    """Answers what the agent just asked (read from its words), the third time it is asked."""

    def __init__(self) -> None:
        self.asked: dict[str, int] = {}

    def reply_to(self, agent_said: str) -> str:
        text = agent_said.lower()
        topic = next((key for key, words in _TOPICS if any(w in text for w in words)), "status")
        self.asked[topic] = self.asked.get(topic, 0) + 1
        if self.asked[topic] <= 2:
            return DODGES[sum(self.asked.values()) % len(DODGES)]
        return ANSWERS[topic]


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
class SlotResult:
    """One call slot's calls, played back to back."""

    first_chunk_ms: list[float] = field(default_factory=list)
    complete_ms: list[float] = field(default_factory=list)
    ping_echo_ms: list[float] = field(default_factory=list)
    ping_timeouts: int = 0
    calls: int = 0
    ended_by_engine: int = 0  # calls whose final chunk carried end_call or transfer_number
    utterances: list[int] = field(default_factory=list)  # each call's longest transcript, in utterances
    transcript_bytes: int = 0
    error: str | None = None


class RetellClient:
    """One call as Retell drives it: a reader task dispatches every frame; requests wait on it."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.first_chunk: dict[int, asyncio.Future[float]] = {}
        self.complete: dict[int, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
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
                        done.set_result((arrived, message))
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
    ) -> tuple[float, float, dict[str, Any]]:
        """Send `response_required`; the first chunk's and the completion's latency (ms), the final chunk."""
        self.expect(response_id)
        sent = await self.send(
            {"interaction_type": "response_required", "response_id": response_id, "transcript": turns}
        )
        first = await bounded(
            self.first_chunk[response_id], wait_s, f"the first chunk of response {response_id}"
        )
        done, final = await bounded(
            self.complete[response_id], wait_s, f"the content_complete of response {response_id}"
        )
        return (first - sent) * 1000, (done - sent) * 1000, final

    async def ping(self, wait_s: float) -> float:
        stamp = int(time.time() * 1000) * 1000 + random.randrange(1000)  # unique per client
        self.pings[stamp] = asyncio.get_running_loop().create_future()
        sent = await self.send({"interaction_type": "ping_pong", "timestamp": stamp})
        try:
            return (await bounded(self.pings[stamp], wait_s, "a ping's echo") - sent) * 1000
        finally:
            del self.pings[stamp]

    async def close(self) -> None:
        self.reader.cancel()
        await asyncio.wait({self.reader}, timeout=2.0)
        # 1001 "going away": never 1000, which is "hang up" in Retell's protocol.
        with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
            await asyncio.wait_for(self.socket.close(code=1001), 3.0)


class NotAnswered(TimeoutError):
    """Something the engine owed did not arrive in time; the message says what."""


async def bounded(future: asyncio.Future[Any], wait_s: float, what: str) -> Any:
    """The future's result, or NotAnswered naming `what` after `wait_s`."""
    try:
        return await asyncio.wait_for(future, wait_s)
    except TimeoutError:
        raise NotAnswered(f"{what} did not arrive within {wait_s:g} s") from None


async def open_call(base: str, call_id: str, wait_s: float) -> RetellClient:
    try:
        socket = await connect(f"{base}/{call_id}", open_timeout=wait_s, close_timeout=2, max_size=2**22)
    except InvalidStatus as exc:
        if exc.response.status_code in (403, 404):
            raise RouteMissing(
                f"{base}/… answered {exc.response.status_code} to the WebSocket handshake"
            ) from exc
        raise
    client = RetellClient(socket)
    client.expect(0)
    await client.send(call_details(call_id))
    try:
        await bounded(client.complete[0], wait_s, "the begin message")
    except BaseException:
        await client.close()
        raise
    return client


async def pinger(
    client: RetellClient, every: float, wait_s: float, result: SlotResult, stop: asyncio.Event
) -> None:
    """A `ping_pong` every `every` s until `stop` is set (a flag, not a cancellation: Python 3.11's
    `wait_for` can swallow a cancel that lands as the echo arrives, which once left this loop running and
    the phase waiting on it for ever)."""
    while not stop.is_set():
        try:
            result.ping_echo_ms.append(await client.ping(wait_s))
        except NotAnswered:
            result.ping_timeouts += 1
        except (ConnectionError, ConnectionClosed):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def one_call(
    base: str,
    result: SlotResult,
    requests_left: int,
    max_utterances: int,
    think_s: float,
    wait_s: float,
    rng: random.Random,
    ping_every: float | None,
) -> int:
    """One call, from its opening to its end (the engine's hang-up or transfer, or the length cap).
    Returns the requests it made."""
    call_id = f"call_bench_engine_{secrets.token_hex(6)}"
    client = await open_call(base, call_id, wait_s)
    result.calls += 1
    stop = asyncio.Event()
    pinging = asyncio.create_task(pinger(client, ping_every, wait_s, result, stop)) if ping_every else None
    driver = DistractedDriver()
    spoken: list[tuple[str, str]] = [("agent", "".join(client.content.get(0, [])))]
    made = 0
    try:
        while made < requests_left and len(spoken) < max_utterances:
            spoken.append(("user", driver.reply_to(spoken[-1][1])))
            body = transcript(spoken)
            result.transcript_bytes = max(result.transcript_bytes, len(json.dumps(body)))
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))  # the driver speaking
            made += 1
            first, complete, final = await client.ask(made, body, wait_s)
            result.first_chunk_ms.append(first)
            result.complete_ms.append(complete)
            spoken.append(("agent", "".join(client.content.get(made, []))))
            if final.get("end_call") or final.get("transfer_number"):
                result.ended_by_engine += 1  # Retell hangs up (or transfers) here: the call is over
                break
    finally:
        result.utterances.append(len(spoken))
        stop.set()
        if pinging is not None:
            await asyncio.wait({pinging}, timeout=wait_s + 1)
            pinging.cancel()
        await client.close()
    return made


async def one_slot(
    base: str,
    requests: int,
    max_utterances: int,
    think_s: float,
    wait_s: float,
    rng: random.Random,
    ping_every: float | None = None,
    ramp_s: float = 0.0,
) -> SlotResult:
    """Calls back to back until `requests` in-call requests were made (`ping_every`: each call pings too)."""
    result = SlotResult()
    await asyncio.sleep(rng.uniform(0, ramp_s))  # calls connect over a few seconds, not in one instant
    made = 0
    try:
        while made < requests:
            made_now = await one_call(
                base, result, requests - made, max_utterances, think_s, wait_s, rng, ping_every
            )
            if made_now == 0:  # a length cap below 2 utterances: no request fits in a call
                raise ValueError(f"no request fits in a call of at most {max_utterances} utterances")
            made += made_now
    except RouteMissing:
        raise
    except (ConnectionError, ConnectionClosed, TimeoutError, OSError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


async def run_slots(
    coroutines: list[Any], deadline_s: float, label: str
) -> tuple[list[SlotResult], str | None]:
    """Every slot's result; past `deadline_s` the slots still running are cancelled and reported."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    done, pending = await asyncio.wait(tasks, timeout=deadline_s)
    problem = None
    if pending:
        problem = f"{label}: {len(pending)} of {len(tasks)} call slots still running after {deadline_s:.0f} s, cancelled"
        progress(problem)
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=5.0)
    for task in done:
        if not task.cancelled() and isinstance(task.exception(), RouteMissing):
            raise task.exception()  # type: ignore[misc]
    results = []
    for task in tasks:
        if task in done and not task.cancelled() and task.exception() is None:
            results.append(task.result())
        else:
            error = "cancelled at the deadline" if task in pending else repr(task.exception())[:200]
            results.append(SlotResult(error=error))
    return results, problem


def phase_report(results: list[SlotResult], calls: int, problem: str | None) -> dict[str, Any]:
    return {
        "call_slots": calls,
        "calls": sum(r.calls for r in results),
        "requests": sum(len(r.first_chunk_ms) for r in results),
        "first_chunk_ms": summary([v for r in results for v in r.first_chunk_ms]),
        "complete_ms": summary([v for r in results for v in r.complete_ms]),
        "calls_ended_by_engine": sum(r.ended_by_engine for r in results),
        "utterances_per_call": summary([float(n) for r in results for n in r.utterances]),
        "largest_transcript_bytes": max((r.transcript_bytes for r in results), default=0),
        "errors": [r.error for r in results if r.error][:5],
        "failed_slots": sum(r.error is not None for r in results),
        "deadline": problem,
    }


async def first_chunk_phase(
    base: str,
    calls: int,
    requests: int,
    max_utterances: int,
    think_s: float,
    ramp_s: float = RAMP_S,
    wait_s: float = WAIT_S,
    deadline_s: float | None = None,
) -> dict[str, Any]:
    rng = random.Random(18)
    # Generous: each request waits its think time, plus a loaded machine's seconds, plus the ramp.
    deadline = deadline_s or ramp_s + requests * (think_s * 1.5 + 2.0) + 60
    results, problem = await run_slots(
        [one_slot(base, requests, max_utterances, think_s, wait_s, rng, ramp_s=ramp_s) for _ in range(calls)],
        deadline,
        "engine (a)",
    )
    return phase_report(results, calls, problem)


def run_ping_phase(base: str, args: argparse.Namespace) -> dict[str, Any]:
    """Phase (b) with the command line's sizes (`make bench` and this script's own main)."""
    return asyncio.run(
        ping_phase(
            base,
            args.engine_calls,
            PING_PHASE_REQUESTS,
            args.engine_turns,
            args.engine_think,
            args.engine_ping_every,
        )
    )


async def ping_phase(
    base: str,
    calls: int,
    requests: int,
    max_utterances: int,
    think_s: float,
    every: float,
    ramp_s: float = RAMP_S,
) -> dict[str, Any]:
    rng = random.Random(180)
    wait_s = WAIT_S + LLM_BUDGET_MS / 1000
    deadline = ramp_s + requests * (think_s * 1.5 + LLM_BUDGET_MS / 1000 + 3.0) + 60
    results, problem = await run_slots(
        [
            one_slot(base, requests, max_utterances, think_s, wait_s, rng, ping_every=every, ramp_s=ramp_s)
            for _ in range(calls)
        ],
        deadline,
        "engine (b)",
    )
    report = phase_report(results, calls, problem)
    echoes = [value for r in results for value in r.ping_echo_ms]
    report.update(
        {
            "ping_every_s": every,
            "pings": len(echoes),
            "ping_timeouts": sum(r.ping_timeouts for r in results),
            "ping_echo_ms": summary(echoes),
        }
    )
    return report


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        name: round(percentile(values, pct), 2)
        for name, pct in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    }


# -------------------------------------------------------------------------------------------------------
# The slow LLM of (b): an OpenAI-compatible chat completions server streaming each answer over SLOW_LLM_S
# -------------------------------------------------------------------------------------------------------


def slow_llm() -> Any:
    """`uvicorn scripts.bench_engine:slow_llm --factory`: every chat completion streams `{}` over 3 s."""
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    app = FastAPI(title="slow LLM stand-in")
    pieces = ["{", "}"]

    def chunk(delta: dict[str, Any], model: str) -> str:
        body = {
            "id": "chatcmpl-slow",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        return f"data: {json.dumps(body)}\n\n"

    @app.post("/v1/chat/completions")
    async def completions(body: dict[str, Any]) -> StreamingResponse:
        model = str(body.get("model", "standin"))

        async def stream() -> Any:
            yield chunk({"role": "assistant", "content": ""}, model)
            for piece in pieces:
                await asyncio.sleep(SLOW_LLM_S / len(pieces))
                yield chunk({"content": piece}, model)
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


# -------------------------------------------------------------------------------------------------------
# In `make bench`, and on its own
# -------------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine-calls", type=int, default=50, help="concurrent calls of the engine phase")
    parser.add_argument(
        "--engine-turns", type=int, default=40, help="most utterances a call's transcript may reach"
    )
    parser.add_argument(
        "--engine-requests", type=int, default=20, help="in-call requests per call slot in (a)"
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


def run(ctx: Context) -> dict[str, Any]:
    reason = route_missing_in_app()
    if reason is not None:
        progress(f"engine latency: skipped, {reason}")
        return {"skipped": reason}
    args = ctx.args
    secret = "bench-" + secrets.token_hex(12)
    report: dict[str, Any] = {}
    # The socket's secret is the setting Retell's llm_websocket_url carries.
    env = {**ctx.env, "LLM_WEBSOCKET_SECRET": secret, "LOG_LEVEL": "WARNING"}
    try:
        # (a) rules mode: no OpenAI key.
        with running("app", APP_TARGET, {**env, "OPENAI_API_KEY": ""}, 1, ctx.logs / "engine.log") as server:
            base = f"ws://{HOST}:{server.port}{ROUTE}/{secret}"
            progress(
                f"engine latency (a): {args.engine_calls} call slots x {args.engine_requests} in-call requests, "
                "rules mode"
            )
            cpu = server.cpu_seconds()
            report["first_chunk"] = asyncio.run(
                first_chunk_phase(
                    base, args.engine_calls, args.engine_requests, args.engine_turns, args.engine_think
                )
            )
            report["first_chunk"]["server_cpu_ms_per_request"] = round(
                (server.cpu_seconds() - cpu) * 1000 / max(1, report["first_chunk"]["requests"]), 3
            )
            progress(f"engine latency (a): {report['first_chunk']}")
        # (b) the LLM reader on a slow stand-in, in its own process.
        with running(
            "slow-llm",
            ["scripts.bench_engine:slow_llm", "--factory"],
            dict(ctx.env),
            1,
            ctx.logs / "slow_llm.log",
        ) as llm:
            llm_env = {
                **env,
                "OPENAI_API_KEY": "sk-bench-standin",
                "OPENAI_BASE_URL": f"http://{HOST}:{llm.port}/v1",
                "ENGINE_LLM_BUDGET_MS": str(LLM_BUDGET_MS),
            }
            with running("app", APP_TARGET, llm_env, 1, ctx.logs / "engine_llm.log") as server:
                base = f"ws://{HOST}:{server.port}{ROUTE}/{secret}"
                progress(
                    f"engine latency (b): {args.engine_calls} calls pinging every {args.engine_ping_every:g} s "
                    f"while the LLM reader waits {SLOW_LLM_S:g} s a turn"
                )
                report["ping"] = run_ping_phase(base, args)
                report["ping"]["slow_llm_s"] = SLOW_LLM_S
                report["ping"]["llm_budget_ms"] = LLM_BUDGET_MS
                progress(f"engine latency (b): {report['ping']}")
    except RouteMissing as exc:
        progress(f"engine latency: skipped, {exc}")
        return {"skipped": str(exc)}
    return report


def render(report: dict[str, Any]) -> list[str]:
    engine = report["engine"]
    lines = ["## Conversation engine: first chunk and ping echo", ""]
    if "skipped" in engine:
        return [*lines, f"*Skipped in this run: {engine['skipped']}.*", ""]
    first, ping = engine["first_chunk"], engine["ping"]

    def row(name: str, values: dict[str, float]) -> str:
        return f"| {name} | {values.get('p50')} | {values.get('p95')} | {values.get('p99')} | {values.get('max')} |"

    problems = (
        [p for p in (first.get("deadline"), ping.get("deadline")) if p] + first["errors"] + ping["errors"]
    )
    return [
        *lines,
        f"`scripts/bench_engine.py`, one worker. (a) rules mode: {first['call_slots']} call slots at once, each playing",
        f"calls back to back (a distracted driver who puts off each question twice): {first['calls']} calls,",
        f"{first['requests']} in-call requests, {first['calls_ended_by_engine']} calls ended by the engine; utterances per call",
        f"p50 {first['utterances_per_call'].get('p50')}, max {first['utterances_per_call'].get('max')} (largest message "
        f"{first['largest_transcript_bytes']:,} bytes). Server CPU {first.get('server_cpu_ms_per_request')} ms per request.",
        f"(b) the LLM reader on a stand-in that streams each answer over {ping['slow_llm_s']:g} s (budget "
        f"{ping['llm_budget_ms']} ms): {ping['call_slots']} calls pinging every {ping['ping_every_s'] * 1000:g} ms, "
        f"{ping['pings']} echoes, {ping['ping_timeouts']} unanswered.",
        "",
        "| measure | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- |",
        row("(a) first chunk after `response_required`", first["first_chunk_ms"]),
        row("(a) `content_complete` (after the turn is stored)", first["complete_ms"]),
        row("(b) ping echo while the LLM generates", ping["ping_echo_ms"]),
        row("(b) first chunk with the 3 s LLM", ping["first_chunk_ms"]),
        "",
        *([f"Problems (first five): {problems[:5]}", ""] if problems else []),
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
            f"ping echo p99 ≤ {PING_P99_MS:g} ms while a 3 s LLM generates (50 calls)",
            f"p99 {ping.get('p99')} ms",
            verdict(bool(ping) and ping["p99"] <= PING_P99_MS and not engine["ping"]["ping_timeouts"]),
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", required=True, help="ws://host:port/llm-websocket/SECRET (the call id is appended)"
    )
    parser.add_argument(
        "--phase",
        choices=("a", "b", "ab"),
        default="ab",
        help="(b) needs the server's LLM reader on a slow LLM",
    )
    add_arguments(parser)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    report: dict[str, Any] = {}
    try:
        if "a" in args.phase:
            report["first_chunk"] = asyncio.run(
                first_chunk_phase(
                    base, args.engine_calls, args.engine_requests, args.engine_turns, args.engine_think
                )
            )
        if "b" in args.phase:
            report["ping"] = run_ping_phase(base, args)
    except RouteMissing as exc:
        print(
            f"skipped: {exc}. The engine's route is not there (issue 18), or the secret is wrong.",
            file=sys.stderr,
        )
        raise SystemExit(0) from None
    print(json.dumps(report, indent=2))
    if any(part.get("deadline") for part in report.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
