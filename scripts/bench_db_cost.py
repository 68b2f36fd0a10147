# ruff: noqa: E501  (Markdown table rows and prose are long lines)
"""Where the database's share of a delivery goes: the app's one-statement ingest taken apart.

One connection, deliveries one after another (no HTTP, no concurrency), so the backend's own CPU time
(/proc/<backend pid>/stat) over the loop is the statement's cost and nothing else's. Each variant runs
the same lifecycle mix on fresh calls, against the scratch database as the other phases left it (100k
calls after the reads phase):

- reference: the reference receiver's statement (`INSERT … ON CONFLICT DO NOTHING`, a primary key only);
- app: the app's statement exactly as the webhook runs it (the CTE from the ingest module, generic plan);
- app, no NOTIFY: the same with `pg_notify(…)` replaced by the text it would send;
- app, no trigram index: the same after `DROP INDEX ix_calls_driver_name_trgm` (recreated afterwards);
- app, no list indexes: after dropping every secondary index of `calls` (all recreated afterwards);
- delivery row only: the CTE's `INSERT INTO webhook_events` alone.

Each also gets `EXPLAIN (ANALYZE, BUFFERS, WAL)` on a sample, for the WAL bytes a delivery writes
(its commit flushes them; that is disk and the WAL writer, not this CPU).

    .venv/bin/python scripts/bench_db_cost.py DATABASE_URL   # a migrated scratch database
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python scripts/bench_db_cost.py`

from scripts.bench_harness import (
    Context,
    cpu_seconds_of,
    lifecycle_bodies,
    plain_url,
    progress,
    table,
)

try:  # the ingest module is being moved into a package of its own (issue 17)
    from app.services.webhooks import _parameters, _postgres_for
except ImportError:  # pragma: no cover - after the move
    from app.ingest.statements import _parameters, _postgres_for  # type: ignore[no-redef,unused-ignore]
from app.retell.webhook import parse_delivery

REFERENCE_TABLE = "bench_reference_events"
REFERENCE_INSERT = (
    f"INSERT INTO {REFERENCE_TABLE} (retell_call_id, event, payload) VALUES ($1, $2, $3::json) "
    "ON CONFLICT DO NOTHING"
)
TRIGRAM = "ix_calls_driver_name_trgm"
EXPLAINED = 30  # deliveries per variant run under EXPLAIN, for WAL bytes


def app_statement(kind: str, *, notify: bool = True) -> tuple[str, list[str]]:
    sql, order = _postgres_for(kind)
    if not notify:
        # The payload is still built, only not queued: what is left is the cost of the NOTIFY itself.
        sql = sql.replace("pg_notify('", "concat('")
        assert "pg_notify" not in sql
    return sql, order


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


def statement_runner(build: Callable[[str], tuple[str, list[str]]]) -> Runner:
    async def run(connection: asyncpg.Connection, event: str, body: bytes, explain: bool) -> dict[str, int]:
        kind, params = parameters(body)
        sql, order = build(kind)
        args = [params[name] for name in order]
        if not explain:
            await connection.fetch(sql, *args)
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


async def measure(connection: asyncpg.Connection, runner: Runner, calls: int) -> dict[str, Any]:
    pid = await connection.fetchval("SELECT pg_backend_pid()")
    for event, body in lifecycle_bodies(10):  # warm-up: plans, caches
        await runner(connection, event, body, False)
    bodies = lifecycle_bodies(calls)
    cpu_before, wall_before = cpu_seconds_of([pid]), time.perf_counter()
    for event, body in bodies:
        await runner(connection, event, body, False)
    cpu, wall = cpu_seconds_of([pid]) - cpu_before, time.perf_counter() - wall_before
    wal = [await runner(connection, event, body, True) for event, body in lifecycle_bodies(EXPLAINED // 3)]
    return {
        "deliveries": len(bodies),
        "backend_cpu_ms_per_delivery": round(cpu * 1000 / len(bodies), 3),
        "wall_ms_per_delivery": round(wall * 1000 / len(bodies), 3),
        "wal_bytes_per_delivery": round(sum(w["wal_bytes"] for w in wal) / len(wal)),
        "wal_records_per_delivery": round(sum(w["wal_records"] for w in wal) / len(wal), 1),
    }


async def secondary_indexes(connection: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'calls' AND indexname LIKE 'ix_%'"
    )
    return [(row["indexname"], row["indexdef"]) for row in rows]


async def without_indexes(
    connection: asyncpg.Connection, names: set[str], runner: Runner, calls: int
) -> dict[str, Any]:
    dropped = [(name, ddl) for name, ddl in await secondary_indexes(connection) if name in names]
    for name, _ in dropped:
        await connection.execute(f'DROP INDEX "{name}"')
    try:
        return await measure(connection, runner, calls)
    finally:
        for _, ddl in dropped:
            await connection.execute(ddl)


async def profile(url: str, calls: int) -> dict[str, Any]:
    connection = await asyncpg.connect(
        plain_url(url), server_settings={"plan_cache_mode": "force_generic_plan"}
    )
    try:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {REFERENCE_TABLE} (retell_call_id VARCHAR(120) NOT NULL, "
            "event VARCHAR(60) NOT NULL, payload JSON NOT NULL, PRIMARY KEY (retell_call_id, event))"
        )
        app = statement_runner(app_statement)
        list_indexes = {name for name, _ in await secondary_indexes(connection)}
        variants: dict[str, Any] = {
            "calls_in_database": await connection.fetchval("SELECT count(*) FROM calls")
        }
        steps: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
            ("reference", lambda: measure(connection, reference_runner, calls)),
            ("app", lambda: measure(connection, app, calls)),
            (
                "app, no NOTIFY",
                lambda: measure(
                    connection, statement_runner(lambda k: app_statement(k, notify=False)), calls
                ),
            ),
            ("app, no trigram index", lambda: without_indexes(connection, {TRIGRAM}, app, calls)),
            ("app, no list indexes", lambda: without_indexes(connection, list_indexes, app, calls)),
            ("delivery row only", lambda: measure(connection, statement_runner(stored_only), calls)),
        ]
        for name, step in steps:
            variants[name] = await step()
            progress(f"database cost, {name}: {variants[name]}")
        variants["list_indexes"] = sorted(list_indexes)
        return variants
    finally:
        await connection.close()


def run(ctx: Context) -> dict[str, Any]:
    progress("database cost per delivery, one connection, sequential")
    return asyncio.run(profile(ctx.url, ctx.args.db_cost_calls))


def render(report: dict[str, Any]) -> list[str]:
    cost = report["db_cost"]
    names = [name for name in cost if isinstance(cost[name], dict)]
    app_cpu = cost["app"]["backend_cpu_ms_per_delivery"]
    rows = [
        [
            name, cost[name]["backend_cpu_ms_per_delivery"],
            "" if name == "app" else f"{app_cpu - cost[name]['backend_cpu_ms_per_delivery']:+.3f}".replace("+", "−", 1).replace("−-", "+"),
            cost[name]["wall_ms_per_delivery"], cost[name]["wal_bytes_per_delivery"], cost[name]["wal_records_per_delivery"],
        ]
        for name in names
    ]  # fmt: skip
    return [
        "## Where the database's share goes",
        "",
        "`scripts/bench_db_cost.py`: each statement run directly on one connection, deliveries one after another",
        f"({cost['app']['deliveries']} per variant, the same lifecycle mix, fresh calls, {cost['calls_in_database']:,} calls",
        "already in the table), so the backend process's CPU time over the loop is that statement's cost alone.",
        "*app* is the webhook's statement exactly as it runs (built by the ingest module, generic plan); the other",
        "rows take one part away (the NOTIFY, the trigram index, every list index of `calls`) or keep only the",
        "delivery's own row. WAL is from `EXPLAIN (ANALYZE, WAL)` on a sample; each autocommit delivery flushes",
        "its WAL at commit (disk time and the WAL writer, not this CPU).",
        "",
        *table(
            [
                "statement",
                "backend CPU ms/delivery",
                "vs app",
                "wall ms/delivery",
                "WAL bytes/delivery",
                "WAL records/delivery",
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
