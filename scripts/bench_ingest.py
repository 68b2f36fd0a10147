# ruff: noqa: E501  (Markdown table rows and prose are long lines)
"""Webhook ingest over HTTP, the app against the reference receiver (`scripts/reference_receiver.py`).

The lifecycle mix (`call_started`, `call_ended` with a transcript and its turns, `call_analyzed`, for each
call) at 64 connections, alternately against the reference and the app, each under uvicorn, one worker
then WEB_CONCURRENCY=2 (closed loop: capacity), then offered at a steady rate to one worker (open loop:
latency). Every acknowledged delivery is counted in the database afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg

from scripts.bench_harness import (
    APP_TARGET,
    CONNECTIONS,
    REFERENCE_TARGET,
    Context,
    Server,
    fire,
    lifecycle_bodies,
    plain_url,
    progress,
    request_bytes,
    running,
    stats,
    table,
    verdict,
)

REFERENCE_TABLE = "bench_reference_events"
APP_TABLE = "webhook_events"


async def count_stored(url: str, table_name: str, run: str) -> int:
    connection = await asyncpg.connect(plain_url(url))
    try:
        pattern = f"call_bench_{run}_%"
        return int(
            await connection.fetchval(
                f"SELECT count(*) FROM {table_name} WHERE retell_call_id LIKE $1", pattern
            )
        )
    finally:
        await connection.close()


def ingest(
    server: Server, url: str, key: str, calls: int, table_name: str, rate: float | None = None
) -> dict[str, Any]:
    run = secrets.token_hex(4)
    requests = [request_bytes(body, key) for _, body in lifecycle_bodies(calls, run=run)]
    load = asyncio.run(fire(server.port, requests, server, url, rate))
    stored = asyncio.run(count_stored(url, table_name, run))
    result: dict[str, Any] = {
        "deliveries": load.sent,
        "per_second": round(load.sent / load.elapsed_s, 1),
        "latency_ms": stats(load.latencies_ms),
        "non_2xx": load.sent - load.acknowledged,
        "statuses": load.statuses,
        "transport_errors": load.errors,
        "acknowledged": load.acknowledged,
        "stored": stored,
        "server_cpu_ms_per_delivery": round(load.server_cpu_s * 1000 / load.sent, 3),
        "database_cpu_ms_per_delivery": round(load.database_cpu_s * 1000 / load.sent, 3),
        "server_rss_mb": server.rss_mb(),
    }
    paced = f" paced at {rate:g}/s" if rate else ""
    progress(
        f"{server.name} x{server.workers}{paced}: {result['per_second']}/s, p50 {result['latency_ms']['p50']} ms, "
        f"p99 {result['latency_ms']['p99']} ms, non-2xx {result['non_2xx']}, stored {stored}/{load.acknowledged}, "
        f"server CPU {result['server_cpu_ms_per_delivery']} ms, DB CPU {result['database_cpu_ms_per_delivery']} ms"
    )
    return result


def run_closed(ctx: Context, workers: int) -> list[dict[str, Any]]:
    rounds = []
    for number in range(ctx.args.rounds):
        with running("reference", REFERENCE_TARGET, ctx.env, workers, ctx.logs / "reference.log") as server:
            reference = ingest(server, ctx.url, ctx.key, ctx.args.calls, REFERENCE_TABLE)
        with running("app", APP_TARGET, ctx.env, workers, ctx.logs / "app.log") as server:
            ours = ingest(server, ctx.url, ctx.key, ctx.args.calls, APP_TABLE)
        rounds.append(
            {
                "round": number + 1,
                "reference": reference,
                "app": ours,
                "ratio": round(ours["per_second"] / reference["per_second"], 2),
            }
        )
    return rounds


def run_paced(ctx: Context) -> dict[str, Any]:
    """Latency under a steady offered load, one worker: the reference, then the app, at the same rate."""
    result: dict[str, Any] = {"rate": ctx.args.paced_rate}
    for name, target, table_name in (
        ("reference", REFERENCE_TARGET, REFERENCE_TABLE),
        ("app", APP_TARGET, APP_TABLE),
    ):
        with running(name, target, ctx.env, 1, ctx.logs / f"{name}.log") as server:
            result[name] = ingest(
                server, ctx.url, ctx.key, ctx.args.calls, table_name, rate=ctx.args.paced_rate
            )
    return result


def run(ctx: Context) -> dict[str, Any]:
    return {
        "calls_per_phase": ctx.args.calls,
        "connections": CONNECTIONS,
        "closed": {workers: run_closed(ctx, int(workers)) for workers in ctx.args.workers.split(",")},
        "paced": run_paced(ctx),
    }


# -------------------------------------------------------------------------------------------------------
# The document
# -------------------------------------------------------------------------------------------------------


def render(report: dict[str, Any]) -> list[str]:
    ingest_report = report["ingest"]
    rows = []
    for workers, rounds in ingest_report["closed"].items():
        for r in rounds:
            for name in ("reference", "app"):
                s = r[name]
                rows.append(
                    [
                        workers, r["round"], name, s["per_second"], s["latency_ms"]["p50"], s["latency_ms"]["p99"],
                        s["non_2xx"], f"{s['stored']} / {s['acknowledged']}", s["server_cpu_ms_per_delivery"],
                        s["database_cpu_ms_per_delivery"], s["server_rss_mb"],
                        f"**{r['ratio']}×**" if name == "app" else "",
                    ]
                )  # fmt: skip
    lines = [
        "## Webhook ingest",
        "",
        f"The lifecycle mix: for each of {ingest_report['calls_per_phase']:,} calls Retell's `call_started`, `call_ended` (a",
        "real ~3 KB transcript and its turns with word timings) and `call_analyzed`, signed as Retell signs them, at",
        f"{ingest_report['connections']} keep-alive connections, from a small asyncio HTTP/1.1 client on the same machine.",
        "The calls are unknown to the app, so each first delivery also creates the call.",
        "",
        "The **reference** (`scripts/reference_receiver.py`) is the strongest minimal receiver on the same stack:",
        "FastAPI under the same uvicorn, the raw body, the app's own signature check (`verify_retell_signature`),",
        "`json.loads` for the call id and event, then **one autocommit `INSERT … ON CONFLICT DO NOTHING`** on a raw",
        "asyncpg pool (10 connections, like the app's ingest pool; no pre-ping, no reset query, no ORM, no explicit",
        "transaction), the payload stored as `json` in a table whose only index is its primary key, 204. It does",
        "not create or update a call, apply status rules, keep the call list's indexes or announce the change.",
        "Both log one line a request at their defaults (the reference uvicorn's access line, the app its own).",
        "Extraction is not configured in the app (the production extractor is an LLM over HTTP; the ended call",
        "gets a single UPDATE noting it). *stored* counts the rows in the database after the phase: every",
        "acknowledged delivery must be there.",
        "",
        *table(
            [
                "workers",
                "round",
                "server",
                "deliveries/s",
                "p50 ms",
                "p99 ms",
                "non-2xx",
                "stored / acknowledged",
                "server CPU ms/delivery",
                "database CPU ms/delivery",
                "RSS MB",
                "ratio to reference",
            ],
            rows,
        ),
        "",
        "*Server CPU ms/delivery* is the server processes' CPU time (from `/proc`) over the phase divided by the",
        "deliveries, so it includes uvicorn's HTTP parsing and the log line. *Database CPU* is the same for the",
        "PostgreSQL backends connected to the scratch database (approximate: a backend that closed during the",
        "phase is missed; WAL writer and checkpointer are not counted). All run on the same two cores as this client.",
        "",
        "### Latency under a steady load",
        "",
        *render_paced(ingest_report["paced"]),
    ]
    return lines


def render_paced(paced: dict[str, Any]) -> list[str]:
    rows = [
        [
            name, f"{paced['rate']:g}", paced[name]["per_second"], paced[name]["latency_ms"]["p50"],
            paced[name]["latency_ms"]["p95"], paced[name]["latency_ms"]["p99"], paced[name]["non_2xx"],
            f"{paced[name]['stored']} / {paced[name]['acknowledged']}", paced[name]["database_cpu_ms_per_delivery"],
        ]
        for name in ("reference", "app")
    ]  # fmt: skip
    return [
        "The closed loop above measures capacity: every connection sends its next delivery the moment the",
        "last is answered, so requests always queue and latency is mostly that queue (Little's law: the mean",
        f"is {CONNECTIONS} / throughput). Here the same mix is *offered* at a steady {paced['rate']:g} deliveries/s over",
        f"the same {CONNECTIONS} connections, one worker, reference then app. Each delivery's latency counts from",
        "when it was due, so one that waited for a free connection is not flattered.",
        "",
        *table(
            [
                "server",
                "offered /s",
                "achieved /s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "non-2xx",
                "stored / acknowledged",
                "database CPU ms/delivery",
            ],
            rows,
        ),
        "",
    ]


def targets(report: dict[str, Any]) -> list[list[str]]:
    one = report["ingest"]["closed"]["1"]
    paced = report["ingest"]["paced"]
    worst_ratio = min(r["ratio"] for r in one)
    worst_p99 = max(r["app"]["latency_ms"]["p99"] for r in one)
    reference_p99 = max(r["reference"]["latency_ms"]["p99"] for r in one)
    paced_p99 = paced["app"]["latency_ms"]["p99"]
    phases = [*(r["app"] for r in one), paced["app"]]
    non_2xx = sum(phase["non_2xx"] for phase in phases)
    lost = sum(phase["acknowledged"] - phase["stored"] for phase in phases)
    ratios = ", ".join(f"{r['ratio']}×" for r in one)
    database = ", ".join(
        f"{r['app']['database_cpu_ms_per_delivery']} / {r['reference']['database_cpu_ms_per_delivery']}"
        for r in one
    )
    return [
        [
            "≥ 0.6× the honest reference's deliveries/s (one worker)",
            f"{ratios} (each round)",
            verdict(worst_ratio >= 0.6),
        ],
        [
            f"p99 ≤ 100 ms at {CONNECTIONS} connections, offered {paced['rate']:g}/s (one worker)",
            f"{paced_p99} ms (reference {paced['reference']['latency_ms']['p99']} ms)",
            verdict(paced_p99 <= 100),
        ],
        [
            f"p99 ≤ 100 ms at {CONNECTIONS} connections, saturated (closed loop, one worker)",
            f"worst round {worst_p99} ms (reference up to {reference_p99} ms)",
            verdict(worst_p99 <= 100),
        ],
        ["database CPU ms per delivery, app / reference (closed loop, one worker)", database, "stated"],
        [
            "zero non-2xx, every acknowledged delivery stored (every one-worker phase)",
            f"{non_2xx} non-2xx, {lost} missing",
            verdict(non_2xx == 0 and lost == 0),
        ],
    ]
