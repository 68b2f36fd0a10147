"""Benchmark the live streams: what idle subscribers cost, and how fast one webhook reaches all of them.

Creates a fresh PostgreSQL database (dropped afterwards), migrates it, starts uvicorn with
WEB_CONCURRENCY=2 on a free 127.0.0.1 port, then:

1. idle: opens `--idle` subscribers on /api/events and measures the server's CPU (every worker) while
   nothing happens but the pings, against the same window with no subscriber;
2. fan-out: opens `--subscribers` subscribers, posts `--webhooks` signed `call_started` deliveries (each
   lands on whichever worker accepts it) and times, for every subscriber, the arrival of that call's
   event from the moment the webhook's 204 came back; counts every event that never arrived.

Subscribers are raw sockets in this process (its CPU is not the server's). Run from the repo root:

    .venv/bin/python scripts/bench_streams.py [--idle 500] [--subscribers 300] [--webhooks 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # runnable as `python scripts/bench_streams.py` from the repo root

from app.retell.signature import sign_retell_body  # noqa: E402
from scripts.bench_harness import HOST, cpu_seconds_of, free_port  # noqa: E402  (HOST: the only host contacted)
from tests.support.fixtures import RETELL_DIR  # noqa: E402

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ADMIN_EMAIL = "bench@example.com"
RETELL_KEY = "bench-retell-key-" + secrets.token_hex(8)


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"voice_agent_streams_bench_{os.getpid()}"
    plain = admin_url.replace("postgresql+asyncpg", "postgresql")

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(plain)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextlib.contextmanager
def running_server(database_url: str, workers: int, password: str) -> Iterator[tuple[str, int]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": str(workers),
        "SECRET_KEY": secrets.token_urlsafe(36),
        "RETELL_MODE": "simulated",
        "RETELL_API_KEY": RETELL_KEY,  # the key webhooks are signed with
        "EXTRACTOR": "rules",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": password,
        "LOG_LEVEL": "WARNING",
    }
    venv = REPO_ROOT / ".venv" / "bin"
    subprocess.run([str(venv / "alembic"), "upgrade", "head"], cwd=REPO_ROOT, env=env, check=True)
    port = free_port()
    command = [str(venv / "uvicorn"), "app.main:create_app", "--factory", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log"]
    log = tempfile.NamedTemporaryFile(prefix="bench-streams-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://{HOST}:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"the server exited; see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        time.sleep(1)  # every worker up, not just the first
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def server_pids(parent: int) -> list[int]:
    """uvicorn's supervisor, then its workers (multiprocessing's helper process is left out)."""
    children = [int(pid) for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    workers = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return [parent, *workers]


def sockets_of(pid: int) -> int:
    fd_dir = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


# ---------------------------------------------------------------------------
# Subscribers: raw sockets reading the event stream
# ---------------------------------------------------------------------------


class Subscriber:
    """One EventSource-like connection; remembers when each Retell call id first arrived."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.connected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, port: int, path: str) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"subscriber refused: {status!r}")
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            self.connected.set()
            while line := await reader.readline():
                if line.startswith(b"data: {"):
                    arrived = time.perf_counter()
                    retell_call_id = json.loads(line[6:]).get("retell_call_id")
                    if retell_call_id:
                        self.seen.setdefault(retell_call_id, arrived)
        finally:
            writer.close()


async def open_subscribers(count: int, port: int, path: str) -> list[Subscriber]:
    subscribers = [Subscriber() for _ in range(count)]
    # A room of dashboards connecting, not a connection storm: each batch is in before the next starts
    # (the server bounds its pool wait, so a storm of 500 at once would get 503s to retry on).
    for start in range(0, count, 25):
        batch = subscribers[start : start + 25]
        for subscriber in batch:
            subscriber.task = asyncio.create_task(subscriber.run(port, path))
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in batch)), 60)
    return subscribers


async def close_subscribers(subscribers: list[Subscriber]) -> None:
    for subscriber in subscribers:
        if subscriber.task is not None:
            subscriber.task.cancel()
    await asyncio.gather(*(s.task for s in subscribers if s.task), return_exceptions=True)
    await asyncio.sleep(1)


# ---------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------


async def stream_token(client: httpx.AsyncClient, password: str) -> str:
    login = await client.post("/api/auth/token", data={"username": ADMIN_EMAIL, "password": password})
    access = login.json()["access_token"]
    response = await client.post("/api/auth/stream-token", headers={"Authorization": f"Bearer {access}"})
    return str(response.json()["token"])


async def idle_phase(
    client: httpx.AsyncClient, port: int, pids: list[int], count: int, seconds: float, password: str
) -> dict[str, Any]:
    before = cpu_seconds_of(pids)
    await asyncio.sleep(seconds)
    baseline = (cpu_seconds_of(pids) - before) / seconds
    token = await stream_token(client, password)
    subscribers = await open_subscribers(count, port, f"/api/events?token={token}")
    await asyncio.sleep(2)  # connections settled, first events sent
    before = cpu_seconds_of(pids)
    await asyncio.sleep(seconds)
    loaded = (cpu_seconds_of(pids) - before) / seconds
    alive = sum(1 for s in subscribers if s.task is not None and not s.task.done())
    await close_subscribers(subscribers)
    return {
        "subscribers": count,
        "still_connected": alive,
        "window_s": seconds,
        "cpu_no_subscribers_pct": round(baseline * 100, 2),
        "cpu_with_subscribers_pct": round(loaded * 100, 2),
        "cpu_for_subscribers_pct": round((loaded - baseline) * 100, 2),
    }


def call_started(retell_call_id: str) -> str:
    payload = copy.deepcopy(json.loads((RETELL_DIR / "call_started.json").read_text()))
    payload["call"]["call_id"] = retell_call_id
    payload["call"]["metadata"] = {}  # a call this backend has not seen: the webhook creates it
    payload["call"]["start_timestamp"] = int(time.time() * 1000)
    return json.dumps(payload)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def fan_out_phase(
    client: httpx.AsyncClient, port: int, pids: list[int], count: int, webhooks: int, password: str
) -> dict[str, Any]:
    token = await stream_token(client, password)
    sockets_before = {pid: sockets_of(pid) for pid in pids[1:]}
    subscribers = await open_subscribers(count, port, f"/api/events?token={token}")
    await asyncio.sleep(2)
    per_worker = [sockets_of(pid) - sockets_before[pid] for pid in pids[1:]]
    answered: dict[str, float] = {}
    statuses: list[int] = []
    for index in range(webhooks):
        retell_call_id = f"call_bench_{index}_{secrets.token_hex(4)}"
        body = call_started(retell_call_id)
        headers = {
            "content-type": "application/json",
            "x-retell-signature": sign_retell_body(body, RETELL_KEY),
        }
        # A fresh connection each time, so deliveries spread over the workers like Retell's do.
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as poster:
            response = await poster.post("/webhook/retell", content=body, headers=headers)
        answered[retell_call_id] = time.perf_counter()
        statuses.append(response.status_code)
        await asyncio.sleep(0.15)
    deadline = time.perf_counter() + 10
    # The bench's own wait for stragglers (the server under test never polls).
    while time.perf_counter() < deadline and any(len(s.seen) < len(answered) for s in subscribers):  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    latencies = [
        (s.seen[rid] - answered_at) * 1000
        for s in subscribers
        for rid, answered_at in answered.items()
        if rid in s.seen
    ]
    missed = sum(1 for s in subscribers for rid in answered if rid not in s.seen)
    await close_subscribers(subscribers)
    return {
        "subscribers": count,
        "subscriber_connections_per_worker": per_worker,
        "webhooks": webhooks,
        "webhook_204s": statuses.count(204),
        "deliveries_expected": count * webhooks,
        "missed": missed,
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


async def run(base_url: str, parent: int, args: argparse.Namespace, password: str) -> dict[str, Any]:
    pids = server_pids(parent)
    port = int(base_url.rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        idle = await idle_phase(client, port, pids, args.idle, args.idle_seconds, password)
        fan_out = await fan_out_phase(client, port, pids, args.subscribers, args.webhooks, password)
    return {"workers": len(pids) - 1, "idle": idle, "fan_out": fan_out}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--webhooks", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    password = secrets.token_urlsafe(16)
    try:
        with socket.create_connection((HOST, 5432), timeout=1):
            pass
    except OSError:
        print(
            "bench_streams: skipped, it needs PostgreSQL on 127.0.0.1:5432 (its workers share changes there)"
        )
        return
    with fresh_database(args.database_url) as url, running_server(url, args.workers, password) as (base, pid):
        result = asyncio.run(run(base, pid, args, password))
    idle, fan = result["idle"], result["fan_out"]
    print(f"\nlive streams, PostgreSQL, WEB_CONCURRENCY={result['workers']} ({os.cpu_count()} cores)\n")
    print("| measure | value | target |\n|---|---|---|")
    print(
        f"| CPU, no subscriber ({idle['window_s']:.0f} s) | {idle['cpu_no_subscribers_pct']}% of a core | |"
    )
    print(
        f"| CPU, {idle['subscribers']} idle subscribers | {idle['cpu_with_subscribers_pct']}% of a core "
        f"(+{idle['cpu_for_subscribers_pct']}%) | ≤ 5% |"
    )
    still, per_worker = (
        idle["still_connected"],
        " / ".join(map(str, fan["subscriber_connections_per_worker"])),
    )
    print(f"| subscribers still connected after the window | {still} / {idle['subscribers']} | all |")
    print(f"| fan-out subscribers per worker | {per_worker} | |")
    print(f"| webhooks answered 204 | {fan['webhook_204s']} / {fan['webhooks']} | all |")
    print(f"| events missed | {fan['missed']} of {fan['deliveries_expected']} | 0 |")
    latency = f"{fan['p50_ms']} / {fan['p95_ms']} / {fan['max_ms']} ms"
    print(f"| 204 → subscriber, p50 / p95 / max | {latency} | p95 ≤ 250 ms |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    ok = idle["cpu_with_subscribers_pct"] <= 5 and fan["missed"] == 0 and (fan["p95_ms"] or 1e9) <= 250
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
