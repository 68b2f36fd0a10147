"""Benchmark the real server end to end: webhook ingest, replays, extraction, dashboard reads, rules.

Starts `alembic upgrade head` and uvicorn on a free 127.0.0.1 port against a fresh database (a temporary
SQLite file, or a PostgreSQL database it creates and drops), drives it with httpx, prints a Markdown
table and stops the server. Every phase has a fixed count and a time cap. Run from the repo root:

    .venv/bin/python scripts/bench.py [--calls 500] [--concurrency 20] [--json out.json]
    .venv/bin/python scripts/bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import platform
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # runnable as `python scripts/bench.py` from the repo root

from app.extraction.rules import extract_with_rules  # noqa: E402
from app.models import CallStatus  # noqa: E402
from app.retell.signature import sign_retell_body  # noqa: E402
from tests.support.fixtures import RETELL_DIR, TRANSCRIPTS_DIR  # noqa: E402

VENV_BIN = REPO_ROOT / ".venv" / "bin"
HOST = "127.0.0.1"  # the only host this script ever sends HTTP requests to
ADMIN_EMAIL = "bench@example.com"
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}

REQUEST_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 60.0
INGEST_CAP_S = 300.0
COMPLETION_CAP_S = 180.0
DUPLICATES_CAP_S = 120.0
READS_CAP_S = 120.0
EXTRACTOR_CAP_S = 60.0
POLL_INTERVAL_S = 0.2
PAGE_LIMIT = 100  # the API's maximum page size, used for counting
DASHBOARD_PAGE = 25


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------


@dataclass
class Phase:
    """Latencies (ms) and failures of one bounded HTTP phase."""

    name: str
    planned: int
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    by_label: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    attempts: int = 0
    elapsed_s: float = 0.0
    capped: bool = False
    accepted: list[int] = field(default_factory=list)  # steps whose every request succeeded
    server_cpu_s: float | None = None  # CPU time the server process used during the phase
    client_cpu_s: float | None = None  # and this script, which shares the machine

    def record(self, latency_ms: float, label: str) -> None:
        self.latencies_ms.append(latency_ms)
        self.by_label.setdefault(label, []).append(latency_ms)

    def fail(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(sample[:300])

    @property
    def ok(self) -> int:
        return self.attempts - sum(self.errors.values())

    def summary(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "attempts": self.attempts,
            "ok": self.ok,
            "errors": dict(self.errors),
            "error_samples": self.error_samples,
            "concurrency": self.concurrency,
            "elapsed_s": round(self.elapsed_s, 3),
            "capped": self.capped,
            "server_cpu_s": self.server_cpu_s,
            "client_cpu_s": self.client_cpu_s,
            "per_second": round(self.attempts / self.elapsed_s, 1) if self.elapsed_s else None,
            "latency_ms": quantiles(self.latencies_ms),
            "latency_ms_by_label": {label: quantiles(values) for label, values in self.by_label.items()},
        }


@dataclass
class Completion:
    expected: int
    completed: int
    since_first_webhook_s: float
    after_last_webhook_s: float
    capped: bool
    by_status: dict[str, int]

    @property
    def calls_per_s(self) -> float:
        return self.completed / self.since_first_webhook_s if self.since_first_webhook_s else 0.0


@dataclass
class Pagination:
    walked: int
    unique: int
    pages: int


@dataclass
class ServerLog:
    warnings: int = 0
    errors: int = 0
    tracebacks: int = 0
    top_messages: list[tuple[str, int]] = field(default_factory=list)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "mean": round(sum(values) / len(values), 2),
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2),
    }


# ---------------------------------------------------------------------------
# Fixtures and deliveries
# ---------------------------------------------------------------------------


def load_transcripts() -> list[dict[str, Any]]:
    paths = sorted(TRANSCRIPTS_DIR.glob("*.json"))
    if not paths:
        raise SystemExit(f"no transcript fixtures in {TRANSCRIPTS_DIR}")
    return [json.loads(path.read_text()) for path in paths]


def load_retell_event(event: str) -> dict[str, Any]:
    return json.loads((RETELL_DIR / f"{event}.json").read_text())


@dataclass(frozen=True)
class CallDeliveries:
    """The two JSON bodies Retell would send for one call we did not start."""

    started: str
    ended: str


def delivery_body(template: dict[str, Any], retell_call_id: str, transcript: dict[str, Any] | None) -> str:
    payload = copy.deepcopy(template)
    call = payload["call"]
    call["call_id"] = retell_call_id
    call.pop("metadata", None)  # not started by us: matched on Retell's call id only
    if transcript is not None:
        call["transcript"] = transcript["transcript"]
        call["transcript_object"] = transcript["transcript_object"]
        call["transcript_with_tool_calls"] = transcript["transcript_object"]
        call["disconnection_reason"] = transcript["disconnection_reason"]
        call["retell_llm_dynamic_variables"] = transcript["retell_llm_dynamic_variables"]
    return json.dumps(payload)


def plan_calls(count: int, transcripts: list[dict[str, Any]]) -> list[CallDeliveries]:
    started, ended = load_retell_event("call_started"), load_retell_event("call_ended")
    run = secrets.token_hex(4)
    plan = []
    for index in range(count):
        retell_call_id = f"call_bench_{run}_{index:06d}"
        transcript = transcripts[index % len(transcripts)]
        plan.append(
            CallDeliveries(
                started=delivery_body(started, retell_call_id, None),
                ended=delivery_body(ended, retell_call_id, transcript),
            )
        )
    return plan


# ---------------------------------------------------------------------------
# Database and server
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    url: str
    backend: str


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _postgres_admin(url: str, statement: str) -> str:
    """Run one statement on the server's `test` database; returns the server version."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    connection = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host or HOST,
        port=parsed.port or 5432,
        database="test",
    )
    try:
        await connection.execute(statement)
        version = str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
    return version.split()[0]


@contextlib.contextmanager
def bench_database(url: str | None, tmp: Path) -> Iterator[Database]:
    """A fresh SQLite file under tmp, or a PostgreSQL database created now and dropped afterwards."""
    if url is None:
        yield Database(
            f"sqlite+aiosqlite:///{tmp / 'bench.db'}", f"SQLite {sqlite3.sqlite_version} (file, WAL)"
        )
        return
    if not url.startswith("postgresql"):
        yield Database(url, url.split(":", 1)[0])
        return
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to create and drop the database {name!r}: name a scratch database")
    drop = f"DROP DATABASE IF EXISTS {_quote_identifier(name)} WITH (FORCE)"
    asyncio.run(_postgres_admin(url, drop))
    version = asyncio.run(_postgres_admin(url, f"CREATE DATABASE {_quote_identifier(name)}"))
    try:
        yield Database(url, f"PostgreSQL {version} (asyncpg)")
    finally:
        asyncio.run(_postgres_admin(url, drop))


@dataclass
class Server:
    base_url: str
    retell_key: str
    admin_password: str
    pid: int = 0
    log: ServerLog = field(default_factory=ServerLog)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, server: Server) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "RETELL_MODE": "live",
        "RETELL_API_KEY": server.retell_key,
        "EXTRACTOR": "rules",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": server.admin_password,
        "SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
    }


def wait_ready(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"the server was not ready after {READY_TIMEOUT_S:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


LOG_LINE_RE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\s+\[[^\]]*\]\s+\S+\s+(.*)$")
VOLATILE_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|call_bench_\w+|\d+(\.\d+)?")


def scan_log(path: Path) -> ServerLog:
    """Count the server's warnings, errors and tracebacks; group messages with ids and numbers masked."""
    result, messages = ServerLog(), Counter[str]()
    for line in path.read_text(errors="replace").splitlines():
        result.tracebacks += line.startswith("Traceback")
        match = LOG_LINE_RE.search(line)
        if match is None:
            continue
        level, message = match.groups()
        result.warnings += level == "WARNING"
        result.errors += level != "WARNING"
        messages[f"{level} {VOLATILE_RE.sub('#', message)[:160]}"] += 1
    result.top_messages = messages.most_common(5)
    return result


@contextlib.contextmanager
def running_server(database: Database, tmp: Path) -> Iterator[Server]:
    """Migrate, start uvicorn, wait for readiness; always stop it and scan its log."""
    port = free_port()
    server = Server(f"http://{HOST}:{port}", "bench_" + secrets.token_hex(16), secrets.token_urlsafe(18))
    env = server_env(database.url, server)
    migration = subprocess.run(
        [str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    if migration.returncode != 0:
        raise SystemExit(f"alembic upgrade head failed:\n{migration.stderr[-3000:]}")
    log_path = tmp / "server.log"
    command = [
        str(VENV_BIN / "uvicorn"),
        "app.main:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.pid = process.pid
    try:
        wait_ready(process, server.base_url)
        yield server
    except BaseException:
        progress(f"the run failed; the server log ends with:\n{tail(log_path)}")
        raise
    finally:
        stop(process)
        server.log = scan_log(log_path)


# ---------------------------------------------------------------------------
# HTTP phases
# ---------------------------------------------------------------------------


async def send(
    client: httpx.AsyncClient, phase: Phase, method: str, url: str, *, expect: int, label: str = "", **kw: Any
) -> httpx.Response | None:
    """One timed request; anything but `expect` (or a transport error) is counted as an error."""
    phase.attempts += 1
    start = time.perf_counter()
    try:
        response = await client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        phase.fail(type(exc).__name__, f"{method} {url} {label}: {exc!r}")
        return None
    phase.record((time.perf_counter() - start) * 1000, label)
    if response.status_code != expect:
        phase.fail(f"HTTP {response.status_code}", f"{method} {url} {label}: {response.text}")
        return None
    return response


Step = Callable[[int], Awaitable[None]]


def cpu_seconds(pid: int) -> tuple[float | None, float]:
    """CPU time (user + system) of the server process, all threads (None off Linux), and of this one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None, time.process_time()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / os.sysconf("SC_CLK_TCK"), time.process_time()


async def with_cpu(server: Server, phase_run: Awaitable[Phase]) -> Phase:
    """Run a phase and note the CPU time the server and this script spent on it."""
    server_before, client_before = cpu_seconds(server.pid)
    phase = await phase_run
    server_after, client_after = cpu_seconds(server.pid)
    if server_before is not None and server_after is not None:
        phase.server_cpu_s = round(server_after - server_before, 3)
    phase.client_cpu_s = round(client_after - client_before, 3)
    return phase


async def run_bounded(phase: Phase, steps: int, cap_s: float, make_step: Callable[[], Step]) -> None:
    """`steps` steps over `phase.concurrency` workers, each with a step of its own; stop at the cap."""
    indexes = iter(range(steps))
    deadline = time.perf_counter() + cap_s

    async def worker() -> None:
        step = make_step()
        for index in indexes:
            if time.perf_counter() > deadline:
                phase.capped = True
                return
            await step(index)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(phase.concurrency)))
    phase.elapsed_s = time.perf_counter() - start


async def post_webhook(client: httpx.AsyncClient, phase: Phase, key: str, body: str, label: str) -> bool:
    # Signed at send time, as Retell does: the signature carries a timestamp checked within five minutes.
    headers = {"content-type": "application/json", "x-retell-signature": sign_retell_body(body, key)}
    response = await send(
        client, phase, "POST", "/webhook/retell", expect=204, label=label, content=body, headers=headers
    )
    return response is not None


async def bench_ingest(
    client: httpx.AsyncClient, key: str, plan: list[CallDeliveries], concurrency: int
) -> Phase:
    phase = Phase("webhook ingest", 2 * len(plan), concurrency)  # two deliveries per call

    async def deliver(index: int) -> None:
        started = await post_webhook(client, phase, key, plan[index].started, "call_started")
        if await post_webhook(client, phase, key, plan[index].ended, "call_ended") and started:
            phase.accepted.append(index)

    await run_bounded(phase, len(plan), INGEST_CAP_S, lambda: deliver)
    return phase


async def bench_duplicates(
    client: httpx.AsyncClient, key: str, ended: list[str], count: int, concurrency: int
) -> Phase:
    """Replay `count` call_ended deliveries the server already accepted, cycling through them."""
    phase = Phase("duplicate call_ended", count, concurrency)

    async def replay(index: int) -> None:
        await post_webhook(client, phase, key, ended[index % len(ended)], "call_ended")

    await run_bounded(phase, count if ended else 0, DUPLICATES_CAP_S, lambda: replay)
    return phase


async def login(client: httpx.AsyncClient, server: Server) -> dict[str, str]:
    response = await client.post(
        "/api/auth/token", data={"username": ADMIN_EMAIL, "password": server.admin_password}
    )
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def walk_calls(
    client: httpx.AsyncClient, auth: dict[str, str], status: str | None = None
) -> tuple[list[str], int]:
    """Every call id (optionally of one status), following `next_cursor`; and the number of pages."""
    ids: list[str] = []
    params: dict[str, str | int] = {"limit": PAGE_LIMIT, **({"status": status} if status else {})}
    pages = 0
    while True:
        response = await client.get("/api/call", params=params, headers=auth)
        response.raise_for_status()
        page = response.json()
        pages += 1
        ids += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            return ids, pages
        params["cursor"] = page["next_cursor"]


async def wait_for_completion(
    client: httpx.AsyncClient, auth: dict[str, str], expected: int, first_s: float, last_s: float
) -> Completion:
    """Poll the list filtered by status=completed until every call is there (or the cap)."""
    deadline = time.perf_counter() + COMPLETION_CAP_S
    while True:
        completed = len((await walk_calls(client, auth, CallStatus.COMPLETED.value))[0])
        now = time.perf_counter()
        if completed >= expected or now > deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)
    by_status = {}
    for status in CallStatus:
        count = len((await walk_calls(client, auth, status.value))[0])
        if count:
            by_status[status.value] = count
    return Completion(
        expected=expected,
        completed=completed,
        since_first_webhook_s=now - first_s,
        after_last_webhook_s=max(0.0, now - last_s),
        capped=completed < expected,
        by_status=by_status,
    )


async def bench_list_reads(
    client: httpx.AsyncClient, auth: dict[str, str], count: int, concurrency: int
) -> Phase:
    phase = Phase(f"GET /api/call?limit={DASHBOARD_PAGE} + cursor pages", count, concurrency)

    def make_step() -> Step:
        cursor: str | None = None  # each worker reads the list from the top, page after page

        async def step(_index: int) -> None:
            nonlocal cursor
            params = {"limit": DASHBOARD_PAGE, **({"cursor": cursor} if cursor else {})}
            response = await send(client, phase, "GET", "/api/call", expect=200, params=params, headers=auth)
            cursor = response.json()["next_cursor"] if response is not None else None

        return step

    await run_bounded(phase, count, READS_CAP_S, make_step)
    return phase


async def bench_detail_reads(
    client: httpx.AsyncClient, auth: dict[str, str], ids: list[str], count: int, concurrency: int
) -> Phase:
    phase = Phase("GET /api/call/{id}", count, concurrency)

    async def step(index: int) -> None:
        await send(client, phase, "GET", f"/api/call/{ids[index % len(ids)]}", expect=200, headers=auth)

    await run_bounded(phase, count if ids else 0, READS_CAP_S, lambda: step)
    return phase


@dataclass
class HttpResults:
    ingest: Phase
    completion: Completion
    duplicates: Phase
    pagination: Pagination
    list_reads: Phase
    detail_reads: Phase


async def run_http_phases(server: Server, options: argparse.Namespace) -> HttpResults:
    plan = plan_calls(options.calls, load_transcripts())
    width = max(options.concurrency, options.read_concurrency)
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    async with httpx.AsyncClient(
        base_url=server.base_url, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as client:
        auth = await login(client, server)
        progress(f"ingest: {options.calls} calls x 2 deliveries at concurrency {options.concurrency}")
        first = time.perf_counter()
        ingest = await with_cpu(server, bench_ingest(client, server.retell_key, plan, options.concurrency))
        last = first + ingest.elapsed_s
        completion = await wait_for_completion(client, auth, len(ingest.accepted), first, last)
        progress(f"duplicates: {options.duplicates} replayed call_ended deliveries")
        accepted = [plan[index].ended for index in sorted(ingest.accepted)]
        duplicates = await with_cpu(
            server,
            bench_duplicates(client, server.retell_key, accepted, options.duplicates, options.concurrency),
        )
        ids, pages = await walk_calls(client, auth)
        pagination = Pagination(walked=len(ids), unique=len(set(ids)), pages=pages)
        progress(f"dashboard reads: {options.reads} list pages and {options.reads} details")
        list_reads = await with_cpu(
            server, bench_list_reads(client, auth, options.reads, options.read_concurrency)
        )
        detail_reads = await with_cpu(
            server, bench_detail_reads(client, auth, ids, options.reads, options.read_concurrency)
        )
    return HttpResults(ingest, completion, duplicates, pagination, list_reads, detail_reads)


# ---------------------------------------------------------------------------
# In-process extractor
# ---------------------------------------------------------------------------


def bench_extractor(repetitions: int) -> dict[str, Any]:
    """Microseconds per `extract_with_rules` call over every fixture, `repetitions` times each."""
    transcripts = [fixture["transcript"] for fixture in load_transcripts()]
    for transcript in transcripts:  # warm-up: compiled patterns, imports
        extract_with_rules(transcript)
    samples: list[float] = []
    deadline = time.perf_counter() + EXTRACTOR_CAP_S
    for _ in range(repetitions):
        if time.perf_counter() > deadline:
            break
        for transcript in transcripts:
            start = time.perf_counter_ns()
            extract_with_rules(transcript)
            samples.append((time.perf_counter_ns() - start) / 1000)
    return {"transcripts": len(transcripts), "runs": len(samples), "microseconds": quantiles(samples)}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def ms_triple(phase: Phase, label: str | None = None, keys: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    stats = quantiles(phase.by_label.get(label, []) if label else phase.latencies_ms)
    return " / ".join(f"{stats[key]:.1f}" for key in keys) + " ms" if stats else "n/a"


def outcome(phase: Phase) -> str:
    if not phase.attempts:
        return f"skipped: 0/{phase.planned} sent (nothing to send)"
    capped = f", capped at {phase.attempts}/{phase.planned}" if phase.capped else ""
    errors = ", ".join(f"{kind}: {n}" for kind, n in phase.errors.items()) or "none"
    return f"{phase.ok}/{phase.planned} ok; errors: {errors}{capped}"


def cpu_use(phase: Phase) -> str:
    if phase.server_cpu_s is None or not phase.attempts or not phase.elapsed_s:
        return "n/a"
    per_request = phase.server_cpu_s / phase.attempts * 1000
    server_core = phase.server_cpu_s / phase.elapsed_s * 100
    client_core = (phase.client_cpu_s or 0.0) / phase.elapsed_s * 100
    return (
        f"{per_request:.1f} ms/request; server {server_core:.0f}%, bench client {client_core:.0f}% of a core"
    )


Row = tuple[str, str]


def http_rows(r: HttpResults) -> list[Row]:
    ingest, dup, lists, details = r.ingest, r.duplicates, r.list_reads, r.detail_reads
    rate = ingest.attempts / ingest.elapsed_s if ingest.elapsed_s else 0.0
    page = f"GET /api/call?limit={DASHBOARD_PAGE} + cursor pages"
    return [
        ("webhook ingest: throughput", f"{rate:.1f} deliveries/s ({ingest.elapsed_s:.1f} s)"),
        ("webhook ingest: p50 / p95 / p99", ms_triple(ingest)),
        ("webhook ingest: call_started p50 / p95 / p99", ms_triple(ingest, "call_started")),
        ("webhook ingest: call_ended p50 / p95 / p99", ms_triple(ingest, "call_ended")),
        ("webhook ingest: 204s", outcome(ingest)),
        ("webhook ingest: CPU", cpu_use(ingest)),
        ("duplicate call_ended: p50 / p95", ms_triple(dup, keys=("p50", "p95"))),
        ("duplicate call_ended: 204s", outcome(dup)),
        ("duplicate call_ended: CPU", cpu_use(dup)),
        *completion_rows(r.completion),
        (
            "list walk, limit=100",
            f"{r.pagination.walked} ids, {r.pagination.unique} unique, {r.pagination.pages} pages",
        ),
        (f"{page}: p50 / p95", ms_triple(lists, keys=("p50", "p95"))),
        (f"{page}: 200s", outcome(lists)),
        (f"{page}: CPU", cpu_use(lists)),
        ("GET /api/call/{id}: p50 / p95", ms_triple(details, keys=("p50", "p95"))),
        ("GET /api/call/{id}: 200s", outcome(details)),
        ("GET /api/call/{id}: CPU", cpu_use(details)),
    ]


def completion_rows(completion: Completion) -> list[Row]:
    capped = " - CAPPED" if completion.capped else ""
    return [
        (
            "extraction: all calls completed",
            f"{completion.completed}/{completion.expected} after {completion.since_first_webhook_s:.1f} s "
            f"({completion.after_last_webhook_s:.1f} s after the last webhook){capped}",
        ),
        ("extraction: throughput", f"{completion.calls_per_s:.1f} calls/s"),
        ("calls by status", ", ".join(f"{s} {n}" for s, n in completion.by_status.items()) or "none"),
    ]


def render(results: HttpResults, extractor: dict[str, Any], machine: dict[str, str], log: ServerLog) -> str:
    us = extractor["microseconds"]
    rows = [
        *http_rows(results),
        (
            "rules extractor in-process: mean / p95",
            f"{us['mean']:.0f} / {us['p95']:.0f} µs ({extractor['runs']} runs)" if us else "n/a",
        ),
        (
            "server log, WARNING and above",
            f"{log.warnings} warnings, {log.errors} errors, {log.tracebacks} tracebacks",
        ),
    ]
    lines = ["| machine | |", "| --- | --- |", *(f"| {key} | {value} |" for key, value in machine.items())]
    lines += ["", "| measure | result |", "| --- | --- |", *(f"| {name} | {value} |" for name, value in rows)]
    if log.top_messages:
        lines += ["", "Server log, most frequent messages:", ""]
        lines += [f"- {count} × `{message}`" for message, count in log.top_messages]
    return "\n".join(lines)


def machine_info(database: Database, options: argparse.Namespace) -> dict[str, str]:
    return {
        "date": date.today().isoformat(),
        "nproc": str(len(os.sched_getaffinity(0))),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "database": database.backend,
        "calls / concurrency": f"{options.calls} / {options.concurrency}",
    }


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=500, help="distinct calls, two deliveries each")
    parser.add_argument("--concurrency", type=int, default=20, help="webhook requests in flight")
    parser.add_argument("--duplicates", type=int, default=500, help="call_ended deliveries replayed")
    parser.add_argument("--reads", type=int, default=300, help="requests per dashboard read phase")
    parser.add_argument("--read-concurrency", type=int, default=10)
    parser.add_argument("--extractor-repetitions", type=int, default=200)
    parser.add_argument(
        "--database-url",
        help="default: a fresh SQLite file; a postgresql+asyncpg URL names a database this script "
        "creates (connecting to the `test` database) and drops",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    options = parser.parse_args()
    if min(options.calls, options.concurrency, options.reads, options.read_concurrency) < 1:
        parser.error("counts and concurrencies must be at least 1")
    return options


def main() -> int:
    options = parse_args()
    progress(f"rules extractor in-process: {options.extractor_repetitions} repetitions")
    extractor = bench_extractor(options.extractor_repetitions)
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        bench_database(options.database_url, Path(tmp)) as database,
    ):
        with running_server(database, Path(tmp)) as server:
            results = asyncio.run(run_http_phases(server, options))
        machine = machine_info(database, options)
    print(render(results, extractor, machine, server.log))
    if options.json:
        document = {
            "machine": machine,
            "ingest": results.ingest.summary(),
            "completion": {
                **asdict(results.completion),
                "calls_per_s": round(results.completion.calls_per_s, 2),
            },
            "duplicates": results.duplicates.summary(),
            "pagination": asdict(results.pagination),
            "list_reads": results.list_reads.summary(),
            "detail_reads": results.detail_reads.summary(),
            "extractor": extractor,
            "server_log": asdict(server.log),
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n")
    phases = (results.ingest, results.duplicates, results.list_reads, results.detail_reads)
    incomplete = results.completion.capped or any(phase.errors or phase.capped for phase in phases)
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
