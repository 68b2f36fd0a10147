# ruff: noqa: E501  (Markdown table rows and prose are long lines)
"""Call reads at 1k and 100k calls: is each read flat as the history grows?

Seeds 1,000 calls in one scratch database and up to 100,000 in another (bulk COPY), starts an app server on
each, and times the first page, each filter, the driver search, a deep cursor page and the detail over HTTP,
asking both servers in turn so the shared machine's load falls on both alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from scripts.bench_harness import (
    ADMIN_EMAIL,
    APP_TARGET,
    HOST,
    Context,
    plain_url,
    progress,
    running,
    scratch_database,
    stats,
    table,
    verdict,
)
from tests.support.fixtures import TRANSCRIPTS_DIR

READ_SAMPLES = 200
SMALL = 1_000

FIRST = ["Mike", "Sarah", "Carlos", "Dana", "Luis", "Priya", "Tom", "Aisha", "Jorge", "Emily", "Raj", "Kim"]
LAST = [
    "Johnson", "Martinez", "Nguyen", "Okafor", "Schmidt", "Kowalski", "Haddad", "Fischer", "Romero",
    "Tanaka", "Brennan", "Delgado", "Ivanova", "Mensah", "Lindqvist", "Ortega", "Patel", "Whitfield",
    "Abernathy", "Castellano", "Drummond", "Eriksen", "Fontaine", "Galloway", "Hargrove", "Iglesias",
    "Jablonski", "Kettering", "Lockhart", "Montague", "Northcott", "Oyelaran", "Pemberton", "Quintero",
]  # fmt: skip
OUTCOMES = ["In-Transit Update", "Arrival Confirmation", "Emergency Escalation"]


async def seed_calls(url: str, count: int, offset: int) -> None:
    """`count` finished calls (with transcripts and results), spread over 90 days, by COPY."""
    transcripts = [json.loads(p.read_text())["transcript"] for p in sorted(TRANSCRIPTS_DIR.glob("*.json"))]
    connection = await asyncpg.connect(plain_url(url))
    try:
        config_id = await connection.fetchval(
            "SELECT id FROM agent_configurations ORDER BY created_at LIMIT 1"
        )
        rng = random.Random(offset)
        now = datetime.now(UTC)
        calls, results = [], []
        for index in range(offset, offset + count):
            call_id = uuid.uuid4()
            created = now - timedelta(seconds=rng.uniform(60, 90 * 86400))
            roll = rng.random()
            status = "completed" if roll < 0.8 else "not_connected" if roll < 0.9 else "failed"
            outcome = rng.choice(OUTCOMES) if status == "completed" else None
            transcript = transcripts[index % len(transcripts)] if status != "not_connected" else None
            calls.append(
                (
                    call_id, created, created, config_id, f"call_seed_{index:07d}", "agent_seed", status, "phone",
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}", "+13125550101", f"L-{index % 20000:05d}", "{}",
                    created, created + timedelta(minutes=2), 120_000, "agent_hangup", transcript, None, None,
                    None, None, outcome, None, 1 if status == "completed" else 0,
                )
            )  # fmt: skip
            if status == "completed":
                # A result as the extractor stores it: the scenario follows the outcome.
                emergency = outcome == "Emergency Escalation"
                fields = {"emergency_type": "Breakdown"} if emergency else {"driver_status": "Driving"}
                data = json.dumps({"call_outcome": outcome, **fields})
                scenario = "emergency" if emergency else "check_in"
                results.append((uuid.uuid4(), created, created, call_id, scenario, outcome, data, "rules"))
        columns = [
            "id", "created_at", "updated_at", "agent_config_id", "retell_call_id", "retell_agent_id", "status",
            "call_type", "driver_name", "phone_number", "load_number", "context", "started_at", "ended_at",
            "duration_ms", "disconnection_reason", "transcript", "transcript_turns", "recording_url",
            "public_log_url", "call_analysis", "call_outcome", "status_detail", "extraction_attempts",
        ]  # fmt: skip
        await connection.copy_records_to_table("calls", records=calls, columns=columns)
        await connection.copy_records_to_table(
            "call_results",
            records=results,
            columns=[
                "id",
                "created_at",
                "updated_at",
                "call_id",
                "scenario",
                "call_outcome",
                "data",
                "extractor",
            ],
        )
        await connection.execute("ANALYZE calls; ANALYZE call_results")
    finally:
        await connection.close()


async def count_calls(url: str) -> int:
    connection = await asyncpg.connect(plain_url(url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM calls"))
    finally:
        await connection.close()


async def read_targets(url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        total = await connection.fetchval("SELECT count(*) FROM calls")
        middle = await connection.fetchrow(
            "SELECT created_at, id FROM calls ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1", total // 2
        )
        ids = [
            str(row["id"])
            for row in await connection.fetch("SELECT id FROM calls ORDER BY random() LIMIT 500")
        ]
        loads = [
            row["load_number"] for row in await connection.fetch("SELECT load_number FROM calls LIMIT 200")
        ]
    finally:
        await connection.close()
    raw = f"{middle['created_at'].astimezone(UTC).isoformat()}|{middle['id']}"
    return {
        "total": total,
        "deep_cursor": base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="),
        "ids": ids,
        "loads": loads,
    }


def read_queries(targets: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Each read kind -> a function giving one (path, params) to request."""
    return {
        "first page": lambda: ("/api/call", {"limit": 25}),
        "status filter": lambda: ("/api/call", {"limit": 25, "status": "failed"}),
        "outcome filter": lambda: ("/api/call", {"limit": 25, "call_outcome": "Emergency Escalation"}),
        "load number filter": lambda: (
            "/api/call",
            {"limit": 25, "load_number": rng.choice(targets["loads"])},
        ),
        "driver search": lambda: ("/api/call", {"limit": 25, "driver": rng.choice(LAST)[:5].lower()}),
        "deep cursor page": lambda: ("/api/call", {"limit": 25, "cursor": targets["deep_cursor"]}),
        "detail": lambda: (f"/api/call/{rng.choice(targets['ids'])}", {}),
    }


async def time_reads(
    servers: dict[str, int], password: str, targets: dict[str, dict[str, Any]]
) -> dict[str, dict[str, dict[str, float]]]:
    """Each read kind against every server in turn, request by request, so load on the shared machine
    falls on both sizes alike."""
    clients, headers, queries = {}, {}, {}
    latencies: dict[str, dict[str, list[float]]] = {size: {} for size in servers}
    async with contextlib.AsyncExitStack() as stack:
        for size, port in servers.items():
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30)
            )
            login = await client.post("/api/auth/token", data={"username": ADMIN_EMAIL, "password": password})
            clients[size] = client
            headers[size] = {"Authorization": f"Bearer {login.json()['access_token']}"}
            queries[size] = read_queries(targets[size], random.Random(7))
        for name in queries[next(iter(servers))]:
            for attempt in range(READ_SAMPLES + 10):
                for size in servers:
                    path, params = queries[size][name]()
                    started = time.perf_counter()
                    response = await clients[size].get(path, params=params, headers=headers[size])
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
                    if attempt >= 10:  # warm-up first
                        latencies[size].setdefault(name, []).append(elapsed)
    return {
        size: {name: stats(values) for name, values in kinds.items()} for size, kinds in latencies.items()
    }


def run(ctx: Context) -> dict[str, Any]:
    url, env, large, password, logs = ctx.url, ctx.env, ctx.args.large, ctx.password, ctx.logs
    progress("reads: seeding calls")
    reads: dict[str, Any] = {"large": large}
    small_url = url + "_1k"
    with scratch_database(small_url):
        started = time.perf_counter()
        asyncio.run(seed_calls(small_url, SMALL, 0))
        reads[str(SMALL)] = {"seed_s": round(time.perf_counter() - started, 1)}
        started = time.perf_counter()
        asyncio.run(seed_calls(url, large, 0))
        reads[str(large)] = {"seed_s": round(time.perf_counter() - started, 1)}
        progress(f"seeded {SMALL} and {large} calls; timing reads against both, interleaved")
        small_env = {**env, "DATABASE_URL": small_url}
        with (
            running("app", APP_TARGET, small_env, 1, logs / "app_1k.log") as small_server,
            running("app", APP_TARGET, env, 1, logs / "app.log") as large_server,
        ):
            targets = {
                str(SMALL): asyncio.run(read_targets(small_url)),
                str(large): asyncio.run(read_targets(url)),
            }
            timed = asyncio.run(
                time_reads({str(SMALL): small_server.port, str(large): large_server.port}, password, targets)
            )
            for size, latency in timed.items():
                reads[size]["latency_ms"] = latency
            reads["rss_mb_after"] = large_server.rss_mb()
    return reads


def render(report: dict[str, Any]) -> list[str]:
    reads = report["reads"]
    large_size = str(reads["large"])
    small, large = reads[str(SMALL)]["latency_ms"], reads[large_size]["latency_ms"]
    rows = [
        [
            name, small[name]["p50"], small[name]["p95"], large[name]["p50"], large[name]["p95"],
            f"{large[name]['p50'] / small[name]['p50']:.2f}×",
        ]
        for name in small
    ]  # fmt: skip
    return [
        "## Call reads at 1k and 100k calls",
        "",
        "Two app servers (one worker each), one on a database of 1,000 calls and one on 100,000; for each read",
        f"kind the client asks them in turn, one request at a time, {READ_SAMPLES} timed requests each after 10",
        "warm-up ones, so the shared machine's load falls on both alike; client-side latency in ms. The calls are",
        "seeded by `COPY` (80 % completed with a transcript",
        "and a result, 10 % not connected, 10 % failed; 12 × 34 driver names; created over 90 days), then",
        "`ANALYZE`. *driver search* asks for five letters of a surname (about 3 % of calls match); *status* is",
        "`failed` (10 %), *outcome* `Emergency Escalation` (about 27 %), *load number* an existing one; the *deep*",
        "*cursor page* starts in the middle of the history; *detail* is a random call.",
        "",
        *table(["read", "p50 at 1k", "p95 at 1k", "p50 at 100k", "p95 at 100k", "p50 100k / 1k"], rows),
        "",
        f"Seeding took {reads[str(SMALL)]['seed_s']} s for 1k and {reads[large_size]['seed_s']} s"
        f" for 100k. The 100k server's RSS after the reads: {reads['rss_mb_after']} MB.",
        "",
    ]


def targets(report: dict[str, Any]) -> list[list[str]]:
    reads = report["reads"]
    small, large = reads[str(SMALL)]["latency_ms"], reads[str(reads["large"])]["latency_ms"]
    growth = {name: large[name]["p50"] / small[name]["p50"] for name in small}
    worst = max(growth, key=lambda name: growth[name])
    return [
        [
            "reads: p50 at 100k ≤ 1.5× p50 at 1k",
            f"worst: {worst} {growth[worst]:.2f}×",
            verdict(growth[worst] <= 1.5),
        ]
    ]
