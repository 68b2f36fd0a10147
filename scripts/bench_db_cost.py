# ruff: noqa: E501  (Markdown table rows and prose are long lines)
"""Where the database's share of a delivery goes: the app's one-statement ingest taken apart.

Each variant runs the same lifecycle mix on fresh calls, over asyncpg with no HTTP and no app, against
the scratch database as the other phases left it (100k calls after the reads phase), twice:

- sequential: one connection, deliveries one after another, so the backend's own CPU time
  (/proc/<backend pid>/stat) over the loop is the statement's cost and nothing else's, and its wall time
  is mostly the commit's flush to disk;
- concurrent: CONCURRENT connections at once (the app's ingest pool size), each taking a call's three
  deliveries in order: deliveries per second of the statement alone, i.e. how many commits can overlap.

The variants:
- reference: the reference receiver's statement (`INSERT … ON CONFLICT DO NOTHING`, a primary key only);
- app: the webhook's statement exactly as the app runs it on the ingest pool (`_postgres_for(kind,
  notify=False)`, generic plan: the one-statement CTE, committed on its own), then the change announced
  by `app.changes.publisher.announce_committed` on the same connection (`pg_notify` in a transaction of
  its own with `synchronous_commit` off: one more round trip);
- NOTIFY inside the commit: the same CTE with `pg_notify(…)` inside it, delivered at the statement's own
  durable commit (the ingest pool's statement before the change, and still the session path's);
- app, no NOTIFY at all: the payload built, never sent;
- app, no trigram index: after `DROP INDEX ix_calls_driver_name_trgm` (recreated afterwards);
- app, no list indexes: after dropping every secondary index of `calls` (all recreated afterwards);
- delivery row only: the CTE's `INSERT INTO webhook_events` alone.

Each also gets `EXPLAIN (ANALYZE, BUFFERS, WAL)` on a sample, for the WAL bytes a delivery writes.

    .venv/bin/python scripts/bench_db_cost.py DATABASE_URL   # a migrated scratch database; adds calls
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python scripts/bench_db_cost.py`

from app.changes.publisher import announce_committed
from app.ingest.deliveries import _parameters, _postgres_for
from app.retell.webhook import parse_delivery
from scripts.bench_harness import (
    Context,
    cpu_seconds_of,
    lifecycle_bodies,
    plain_url,
    progress,
    table,
)

REFERENCE_TABLE = "bench_reference_events"
REFERENCE_INSERT = (
    f"INSERT INTO {REFERENCE_TABLE} (retell_call_id, event, payload) VALUES ($1, $2, $3::json) "
    "ON CONFLICT DO NOTHING"
)
TRIGRAM = "ix_calls_driver_name_trgm"
EXPLAINED = 30  # deliveries per variant run under EXPLAIN, for WAL bytes
CONCURRENT = 10  # connections of the concurrent measure: the app's ingest pool size


APP = "app"
INSIDE_COMMIT = "NOTIFY inside the commit (the pool's statement before; the session path's)"
NO_NOTIFY = "app, no NOTIFY at all"


def app_statement(kind: str, *, notify: bool = False) -> tuple[str, list[str]]:
    """The webhook's statement: as the ingest pool runs it (announced after its commit), or with the
    NOTIFY inside it (`notify`), as the session path runs it."""
    return _postgres_for(kind, notify=notify)


def stored_only(kind: str) -> tuple[str, list[str]]:
    """The CTE's first INSERT on its own (the delivery row, its unique and call_id indexes)."""
    return (
        "INSERT INTO webhook_events (id, retell_call_id, event, call_id, payload, received_at) "
        "VALUES ($1::uuid, $2::text, $3::text, $4::uuid, $5::json, $6::timestamptz) "
        "ON CONFLICT (retell_call_id, event) DO NOTHING",
        ["event_id", "rid", "event", "our_id", "payload", "now"],  # our_id: None here, no call row
    )


Runner = Callable[[asyncpg.Connection, str, bytes, bool], Awaitable[dict[str, int]]]


def parameters(body: bytes) -> tuple[str, dict[str, Any]]:
    text = body.decode()
    delivery = parse_delivery(json.loads(text), text)
    return delivery.event, _parameters(delivery)


def statement_runner(
    build: Callable[[str], tuple[str, list[str]]], *, announce_after: bool = False
) -> Runner:
    async def run(connection: asyncpg.Connection, event: str, body: bytes, explain: bool) -> dict[str, int]:
        kind, params = parameters(body)
        sql, order = build(kind)
        args = [params[name] for name in order]
        if not explain:
            row = await connection.fetchrow(sql, *args)
            if announce_after and row is not None:
                await announce_committed(connection, row["id"], row["status"], params["now"])
            return {}
        return wal_of(await connection.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) {sql}", *args))

    return run


async def reference_runner(
    connection: asyncpg.Connection, event: str, body: bytes, explain: bool
) -> dict[str, int]:
    payload = json.loads(body)
    args = (payload["call"]["call_id"], payload["event"], body.decode())
    if not explain:
        await connection.execute(REFERENCE_INSERT, *args)
        return {}
    return wal_of(
        await connection.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) {REFERENCE_INSERT}", *args)
    )


def wal_of(plan_json: str | list[Any]) -> dict[str, int]:
    plan = (json.loads(plan_json) if isinstance(plan_json, str) else plan_json)[0]["Plan"]
    return {"wal_bytes": int(plan.get("WAL Bytes", 0)), "wal_records": int(plan.get("WAL Records", 0))}


async def measure(connection: asyncpg.Connection, pool: Pool, runner: Runner, calls: int) -> dict[str, Any]:
    """Sequential on one connection (the backend's CPU per delivery), then CONCURRENT connections at once
    (deliveries per second of the statement alone: what commits can overlap)."""
    pid = await connection.fetchval("SELECT pg_backend_pid()")
    for event, body in lifecycle_bodies(10):  # warm-up: plans, caches
        await runner(connection, event, body, False)
    bodies = lifecycle_bodies(calls)
    cpu_before, wall_before = cpu_seconds_of([pid]), time.perf_counter()
    for event, body in bodies:
        await runner(connection, event, body, False)
    cpu, wall = cpu_seconds_of([pid]) - cpu_before, time.perf_counter() - wall_before
    wal = [await runner(connection, event, body, True) for event, body in lifecycle_bodies(EXPLAINED // 3)]
    concurrent = await measure_concurrent(pool, runner, calls)
    return {
        "deliveries": len(bodies),
        "backend_cpu_ms_per_delivery": round(cpu * 1000 / len(bodies), 3),
        "wall_ms_per_delivery": round(wall * 1000 / len(bodies), 3),
        "wal_bytes_per_delivery": round(sum(w["wal_bytes"] for w in wal) / len(wal)),
        "wal_records_per_delivery": round(sum(w["wal_records"] for w in wal) / len(wal), 1),
        **concurrent,
    }


@dataclass
class Pool:
    """CONCURRENT plain connections, and their backends' pids (whose CPU is counted)."""

    connections: list[asyncpg.Connection]
    pids: list[int]


async def measure_concurrent(pool: Pool, runner: Runner, calls: int) -> dict[str, Any]:
    bodies = lifecycle_bodies(calls)
    lifecycles = iter([bodies[index : index + 3] for index in range(0, len(bodies), 3)])

    async def worker(connection: asyncpg.Connection) -> None:
        for lifecycle in lifecycles:  # a call's deliveries in order, calls side by side
            for event, body in lifecycle:
                await runner(connection, event, body, False)

    cpu_before, started = cpu_seconds_of(pool.pids), time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in pool.connections))
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds_of(pool.pids) - cpu_before
    return {
        "concurrent_per_second": round(len(bodies) / elapsed, 1),
        "concurrent_backend_cpu_ms_per_delivery": round(cpu * 1000 / len(bodies), 3),
    }


async def secondary_indexes(connection: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'calls' AND indexname LIKE 'ix_%'"
    )
    return [(row["indexname"], row["indexdef"]) for row in rows]


async def without_indexes(
    connection: asyncpg.Connection, pool: Pool, names: set[str], runner: Runner, calls: int
) -> dict[str, Any]:
    dropped = [(name, ddl) for name, ddl in await secondary_indexes(connection) if name in names]
    for name, _ in dropped:
        await connection.execute(f'DROP INDEX "{name}"')
    try:
        return await measure(connection, pool, runner, calls)
    finally:
        for _, ddl in dropped:
            await connection.execute(ddl)


async def profile(url: str, calls: int) -> dict[str, Any]:
    settings = {"plan_cache_mode": "force_generic_plan"}  # as the ingest pool's connections
    connection = await asyncpg.connect(plain_url(url), server_settings=settings)
    connections = [await asyncpg.connect(plain_url(url), server_settings=settings) for _ in range(CONCURRENT)]
    pool = Pool(connections, [await c.fetchval("SELECT pg_backend_pid()") for c in connections])
    try:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {REFERENCE_TABLE} (retell_call_id VARCHAR(120) NOT NULL, "
            "event VARCHAR(60) NOT NULL, payload JSON NOT NULL, PRIMARY KEY (retell_call_id, event))"
        )
        app = statement_runner(app_statement, announce_after=True)
        list_indexes = {name for name, _ in await secondary_indexes(connection)}
        variants: dict[str, Any] = {
            "calls_in_database": await connection.fetchval("SELECT count(*) FROM calls"),
            "concurrent_connections": CONCURRENT,
        }
        steps: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
            ("reference", lambda: measure(connection, pool, reference_runner, calls)),
            (APP, lambda: measure(connection, pool, app, calls)),
            (
                INSIDE_COMMIT,
                lambda: measure(
                    connection, pool, statement_runner(lambda k: app_statement(k, notify=True)), calls
                ),
            ),
            (NO_NOTIFY, lambda: measure(connection, pool, statement_runner(app_statement), calls)),
            ("app, no trigram index", lambda: without_indexes(connection, pool, {TRIGRAM}, app, calls)),
            ("app, no list indexes", lambda: without_indexes(connection, pool, list_indexes, app, calls)),
            ("delivery row only", lambda: measure(connection, pool, statement_runner(stored_only), calls)),
        ]
        for name, step in steps:
            variants[name] = await step()
            progress(f"database cost, {name}: {variants[name]}")
        variants["list_indexes"] = sorted(list_indexes)
        return variants
    finally:
        for each in [connection, *connections]:
            await each.close()


def run(ctx: Context) -> dict[str, Any]:
    progress("database cost per delivery: the statements alone, sequential then concurrent")
    return asyncio.run(profile(ctx.url, ctx.args.db_cost_calls))


def render(report: dict[str, Any]) -> list[str]:
    cost = report["db_cost"]
    names = [name for name in cost if isinstance(cost[name], dict)]
    app_cpu = cost["app"]["backend_cpu_ms_per_delivery"]

    def versus(name: str) -> str:
        return "" if name == "app" else f"{cost[name]['backend_cpu_ms_per_delivery'] - app_cpu:+.3f}"

    rows = [
        [
            name, cost[name]["backend_cpu_ms_per_delivery"], versus(name), cost[name]["wall_ms_per_delivery"],
            cost[name]["wal_bytes_per_delivery"], cost[name]["wal_records_per_delivery"],
            cost[name]["concurrent_per_second"], cost[name]["concurrent_backend_cpu_ms_per_delivery"],
        ]
        for name in names
    ]  # fmt: skip
    return [
        "## Where the database's share goes",
        "",
        "`scripts/bench_db_cost.py`: each statement run directly over asyncpg (no HTTP, no app), the same lifecycle",
        f"mix on fresh calls ({cost['app']['deliveries']} deliveries per variant, {cost['calls_in_database']:,} calls already in",
        "the table). *Sequential*: one connection, one delivery after another, so the backend process's CPU time",
        "over the loop is that statement's cost alone, and its wall time is mostly the commit's flush to disk.",
        f"*Concurrent*: {cost['concurrent_connections']} connections at once, each taking a call's three deliveries in order: how",
        "many commits can overlap (group commit). *app* is the webhook's work exactly as the app does it on the",
        "ingest pool: the one-statement CTE (built by `app.ingest.deliveries`, generic plan) committed on its own,",
        "then `announce_committed` (`pg_notify` in a transaction of its own with `synchronous_commit` off) on the",
        "same connection. *NOTIFY inside the commit* is the same CTE with `pg_notify` inside it, delivered at its",
        "durable commit (the pool's statement before; the session path's still). The other rows take a part away (the NOTIFY,",
        "the trigram index, every list index of `calls`), or keep only the delivery's own row. WAL bytes are from",
        "`EXPLAIN (ANALYZE, WAL)` on a sample (the data statement only).",
        "",
        *table(
            [
                "statement",
                "sequential: backend CPU ms/delivery",
                "vs app",
                "sequential: wall ms/delivery",
                "WAL bytes/delivery",
                "WAL records/delivery",
                "concurrent: deliveries/s",
                "concurrent: backend CPU ms/delivery",
            ],
            rows,
        ),
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("database_url", help="a migrated scratch database (calls are added to it)")
    parser.add_argument("--calls", type=int, default=300, help="calls per variant (three deliveries each)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(profile(args.database_url, args.calls)), indent=2))


if __name__ == "__main__":
    main()
