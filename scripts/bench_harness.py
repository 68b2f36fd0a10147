"""What every part of `make bench` shares: the scratch database, servers under uvicorn, a small load
generator, percentiles, CPU from /proc, the machine's description and the Markdown helpers.

The measuring modules (`bench_ingest`, `bench_reads`, `bench_cpu`, `bench_db_cost`, `bench_engine`) each
expose `run(ctx) -> dict` and `render(report) -> list[str]`; `bench.py` runs them and writes the document.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.retell.signature import sign_retell_body  # noqa: E402
from tests.support.fixtures import RETELL_DIR, TRANSCRIPTS_DIR  # noqa: E402

VENV_BIN = REPO_ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}
ADMIN_EMAIL = "bench@example.com"
CONNECTIONS = 64
APP_TARGET = ["app.main:create_app", "--factory"]
REFERENCE_TARGET = ["scripts.reference_receiver:app"]
EVENTS = ("call_started", "call_ended", "call_analyzed")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (no interpolation): a value that was actually measured."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.4999) - 1))]


def stats(values: list[float]) -> dict[str, float]:
    return {name: round(percentile(values, pct), 2) for name, pct in (("p50", 50), ("p95", 95), ("p99", 99))}


@dataclass
class Context:
    """One run: its scratch database, the environment servers start with, keys, where logs go."""

    url: str
    env: dict[str, str]
    key: str  # RETELL_API_KEY: what deliveries are signed with
    password: str  # the admin's, for the reads
    logs: Path
    args: Any


# -------------------------------------------------------------------------------------------------------
# Database
# -------------------------------------------------------------------------------------------------------


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def admin_url(url: str) -> str:
    return plain_url(url).rsplit("/", 1)[0] + "/test"


async def admin(url: str, statement: str) -> str:
    connection = await asyncpg.connect(admin_url(url))
    try:
        await connection.execute(statement)
        return str(await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """Create the database, migrate it to head, yield PostgreSQL's version; drop it afterwards."""
    name = url.rsplit("/", 1)[1]
    if not url.startswith("postgresql") or name in PROTECTED_DATABASES:
        raise SystemExit("make bench needs a scratch PostgreSQL database it may create and drop")
    asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    version = asyncio.run(admin(url, f'CREATE DATABASE "{name}"'))
    try:
        migration = subprocess.run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
        )
        if migration.returncode != 0:
            raise SystemExit(f"alembic upgrade head failed:\n{migration.stderr[-2000:]}")
        yield version
    finally:
        asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def backend_pids(url: str) -> list[int]:
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(admin_url(url))
    try:
        rows = await connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def backend_cpu_seconds(url: str) -> float:
    """CPU time of the PostgreSQL backends serving this database (a share of the same cores)."""
    return cpu_seconds_of(await backend_pids(url))


def cpu_seconds_of(pids: list[int]) -> float:
    """utime + stime of these processes, from /proc (a process gone meanwhile counts nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


# -------------------------------------------------------------------------------------------------------
# Servers
# -------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    workers: int

    def pids(self) -> list[int]:
        """The uvicorn process and, with workers, its children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        extra = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return [self.process.pid, *extra]

    def cpu_seconds(self) -> float:
        return cpu_seconds_of(self.pids())

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return round(total / 1024, 1)


@contextlib.contextmanager
def running(
    name: str, target: list[str], env: dict[str, str], workers: int, log: Path, probe: str | None = None
) -> Iterator[Server]:
    """uvicorn serving `target` on a free port of 127.0.0.1 until the block ends."""
    port = free_port()
    command = [str(VENV_BIN / "uvicorn"), *target, "--host", HOST, "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env={**env, "WEB_CONCURRENCY": str(workers)}, stdout=out, stderr=out
        )
    server = Server(name, process, port, workers)
    probe = probe or ("/health/ready" if target == APP_TARGET else "/docs")
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts workers slowly
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{port}{probe}", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise SystemExit(f"{name} did not start; see {log}")
        time.sleep(0.5 if workers == 1 else 2.0)  # every worker up
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# -------------------------------------------------------------------------------------------------------
# Deliveries and the load generator: a small keep-alive HTTP/1.1 client, so the client costs little CPU
# -------------------------------------------------------------------------------------------------------


def lifecycle_bodies(calls: int, *, run: str | None = None) -> list[tuple[str, bytes]]:
    """For each call Retell's three deliveries in order; `call_ended` carries a real transcript and turns."""
    run = run or secrets.token_hex(4)
    templates = {event: json.loads((RETELL_DIR / f"{event}.json").read_text()) for event in EVENTS}
    transcripts = [json.loads(path.read_text()) for path in sorted(TRANSCRIPTS_DIR.glob("*.json"))]
    bodies = []
    for index in range(calls):
        transcript = transcripts[index % len(transcripts)]
        for event in EVENTS:
            payload = copy.deepcopy(templates[event])
            call = payload["call"]
            call["call_id"] = f"call_bench_{run}_{index:06d}"
            call.pop("metadata", None)  # a call we did not start: found (or created) by Retell's id
            if event != "call_started":
                call["transcript"] = transcript["transcript"]
                call["transcript_object"] = transcript["transcript_object"]
                call["disconnection_reason"] = transcript["disconnection_reason"]
            bodies.append((event, json.dumps(payload).encode()))
    return bodies


@dataclass
class Load:
    sent: int = 0
    acknowledged: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0


def request_bytes(body: bytes, key: str) -> bytes:
    signature = sign_retell_body(body.decode(), key)
    head = (
        f"POST /webhook/retell HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-retell-signature: {signature}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def fire(port: int, requests: list[bytes], server: Server, url: str, rate: float | None = None) -> Load:
    """Send every request over CONNECTIONS keep-alive connections: as fast as answers come (closed loop),
    or paced at `rate` per second (open loop). Paced, request i is due at i / rate and its latency counts
    from then, so a request that waited for a free connection is not flattered (no coordinated omission).
    """
    load = Load(sent=len(requests))
    queue = iter(enumerate(requests))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for index, request in queue:
                started = time.perf_counter()
                if rate is not None:
                    due = began + index / rate
                    if due > started:
                        await asyncio.sleep(due - started)
                    started = due
                try:
                    writer.write(request)
                    status = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    load.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, port)
                    continue
                load.latencies_ms.append((time.perf_counter() - started) * 1000)
                load.statuses[status] = load.statuses.get(status, 0) + 1
                load.acknowledged += 200 <= status < 300
        finally:
            writer.close()

    database_before = await backend_cpu_seconds(url)
    connected = [worker() for _ in range(CONNECTIONS)]
    cpu_before, started = server.cpu_seconds(), time.perf_counter()
    began = started
    await asyncio.gather(*connected)
    load.elapsed_s = time.perf_counter() - started
    load.server_cpu_s = server.cpu_seconds() - cpu_before
    load.database_cpu_s = await backend_cpu_seconds(url) - database_before
    return load


# -------------------------------------------------------------------------------------------------------
# The machine and the document
# -------------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    return {
        "host": platform.node(),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit.stdout.strip(),
        "load_average_at_start": load_average(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"
