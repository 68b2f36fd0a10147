# ruff: noqa: E501  (Markdown prose is long lines)
"""CPU one webhook delivery costs inside the server process: the app called as ASGI, no HTTP client.

Used by `scripts/bench.py`; on its own (`python scripts/bench_cpu.py DATABASE_URL [--profile]`) it prints
the figures, or a pyinstrument profile of the same loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python scripts/bench_cpu.py`

from app.config import Settings
from app.main import create_app
from app.retell.signature import sign_retell_body
from scripts.bench_harness import EVENTS, REPO_ROOT, Context, lifecycle_bodies, progress, table, verdict


class _NoExtraction:
    def schedule(self, background: Any, call_id: Any) -> None:
        return None


class AsgiPoster:
    """POSTs a signed body straight into the ASGI app and returns the status."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key

    async def post(self, body: bytes) -> int:
        signature = sign_retell_body(body.decode(), self.key)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/webhook/retell",
            "raw_path": b"/webhook/retell",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-retell-signature", signature.encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


async def measure(
    database_url: str,
    *,
    calls: int = 300,
    profile: bool = False,
    log_level: str = "INFO",
    background: bool = False,
) -> dict[str, Any]:
    """CPU ms per delivery for the lifecycle mix (and per event), sequential, after a warm-up."""
    from asgi_lifespan import LifespanManager

    key = "cpu_" + secrets.token_hex(16)
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(36),
        retell_mode="live",
        retell_api_key=key,
        # Extraction not configured: a scheduled background task only notes that on the call.
        extractor="openai",
        openai_api_key=None,
        log_level=log_level,
        admin_email="cpu@example.com",
        admin_password=secrets.token_urlsafe(18),
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        poster = AsgiPoster(manager.app, key)
        if not background:
            # The delivery alone: the background task it schedules after the 204 is not run.
            manager._state["context"].scheduler = _NoExtraction()
        for _, body in lifecycle_bodies(20):  # warm-up: statement caches, pools
            assert await poster.post(body) == 204
        bodies = lifecycle_bodies(calls)
        per_event: dict[str, float] = dict.fromkeys(EVENTS, 0.0)
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled")
            profiler.start()
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        for event, body in bodies:
            before = time.process_time()
            status = await poster.post(body)
            per_event[event] += time.process_time() - before
            if status != 204:
                raise SystemExit(f"{event} answered {status}")
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    return {
        "deliveries": len(bodies),
        "cpu_ms_per_delivery": round(cpu * 1000 / len(bodies), 3),
        "wall_ms_per_delivery": round(wall * 1000 / len(bodies), 3),
        "cpu_ms_by_event": {event: round(total * 1000 / calls, 3) for event, total in per_event.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--background", action="store_true", help="also run the task scheduled after the 204")
    args = parser.parse_args()
    result = asyncio.run(
        measure(args.database_url, calls=args.calls, profile=args.profile, background=args.background)
    )
    print(json.dumps(result, indent=2))


def run(ctx: Context) -> dict[str, Any]:
    """Both variants, each in a fresh process (so one's caches and garbage do not weigh on the other)."""
    progress("CPU per delivery, in-process")
    report = {}
    for variant, extra in (("delivery", []), ("with_background", ["--background"])):
        with (ctx.logs / "in_process.log").open("ab") as log:
            measured = subprocess.run(
                [
                    sys.executable,
                    str(REPO_ROOT / "scripts" / "bench_cpu.py"),
                    ctx.url,
                    "--calls",
                    "300",
                    *extra,
                ],
                cwd=REPO_ROOT,
                env=ctx.env,
                stdout=subprocess.PIPE,
                stderr=log,
                check=True,
            )
        report[variant] = json.loads(measured.stdout)
    progress(f"in-process: {report['delivery']}")
    return report


def render(report: dict[str, Any]) -> list[str]:
    cpu = report["cpu"]
    rows = []
    for label, variant in (("the delivery", "delivery"), ("with the background task", "with_background")):
        figures = cpu[variant]
        by_event = figures["cpu_ms_by_event"]
        rows.append(
            [
                label, f"**{figures['cpu_ms_per_delivery']} ms**", f"{by_event['call_started']} ms",
                f"{by_event['call_ended']} ms", f"{by_event['call_analyzed']} ms", figures["wall_ms_per_delivery"],
            ]
        )  # fmt: skip
    return [
        "## CPU per delivery, in-process",
        "",
        f"`scripts/bench_cpu.py`: the app called directly as ASGI (no HTTP, no client), {cpu['delivery']['deliveries']} deliveries",
        "of the same mix one after another after a warm-up, against the 100k-call database, logging at `INFO` (one",
        "line per delivery). `time.process_time()` of the process over the loop divided by the deliveries. The",
        "first row is the delivery alone (what the 204 waits for); the second also runs the background task the",
        "first `call_ended` schedules after the 204 (with extraction not configured it only notes that on the call;",
        "that task belongs to post-processing, not to the webhook).",
        "",
        *table(["what", "mix", "call_started", "call_ended", "call_analyzed", "wall ms/delivery"], rows),
        "",
    ]


def targets(report: dict[str, Any]) -> list[list[str]]:
    cpu = report["cpu"]["delivery"]["cpu_ms_per_delivery"]
    return [["≤ 1.5 ms CPU per delivery (in-process)", f"{cpu} ms", verdict(cpu <= 1.5)]]


if __name__ == "__main__":
    main()
