"""CPU one webhook delivery costs inside the server process: the app called as ASGI, no HTTP client.

Used by `scripts/bench.py`; on its own (`python scripts/webhook_cpu.py DATABASE_URL [--profile]`) it prints
the figures, or a pyinstrument profile of the same loop.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.retell.signature import sign_retell_body  # noqa: E402
from tests.support.fixtures import RETELL_DIR, TRANSCRIPTS_DIR  # noqa: E402

EVENTS = ("call_started", "call_ended", "call_analyzed")


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
        _env_file=None,  # type: ignore[call-arg]
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


if __name__ == "__main__":
    main()
