"""`make demo`: with `make run` going, place one simulated call per persona and print the results.

It uses only the public API, the way the dashboard does: log in, trigger, poll, read.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import DEVELOPMENT_ADMIN_PASSWORD, get_settings
from app.retell.personas import PERSONAS

FINAL = {"completed", "not_connected", "failed"}
DRIVERS = ["Mike Johnson", "Sarah Lee", "Carlos Ramirez", "Linda Park", "Tom Becker", "Dave Miller"]
CONTEXT = {"origin": "Phoenix, AZ", "destination": "Dallas, TX"}


def key_fields(result: dict[str, Any] | None) -> str:
    if not result:
        return ""
    if result["scenario"] == "emergency":
        names = ["emergency_type", "injury_status", "emergency_location", "load_secure", "escalation_status"]
    else:
        names = ["driver_status", "current_location", "eta", "delay_reason", "unloading_status"]
    return "; ".join(f"{name}={result[name]}" for name in names if result.get(name) not in (None, "N/A"))


async def run_persona(client: httpx.AsyncClient, persona: str, n: int, wait_seconds: float) -> dict[str, Any]:
    response = await client.post(
        "/api/call/trigger",
        json={
            "driver_name": DRIVERS[n % len(DRIVERS)],
            "phone_number": f"+1312555{PERSONAS[persona].phone_suffix}",
            "load_number": f"DEMO-{1000 + n}",
            "context": CONTEXT,
            "simulation": {"persona": persona},
        },
    )
    response.raise_for_status()
    call_id = response.json()["id"]
    deadline = time.monotonic() + wait_seconds
    while True:
        detail = (await client.get(f"/api/call/{call_id}")).json()
        if detail["status"] in FINAL or time.monotonic() > deadline:
            return {"persona": persona, **detail}
        await asyncio.sleep(0.5)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ("persona", "status", "call outcome", "key fields")
    lines = [
        (r["persona"], r["status"], r.get("call_outcome") or "-", key_fields(r.get("result"))) for r in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(3)]
    rule = (*("-" * w for w in widths), "-" * 10)
    for row in [header, rule, *lines]:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + str(row[3]))


async def main() -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", default=f"http://localhost:{settings.port}")
    parser.add_argument("--email", default=settings.admin_email)
    parser.add_argument("--password", default=settings.admin_password or DEVELOPMENT_ADMIN_PASSWORD)
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for each call")
    args = parser.parse_args()

    async with httpx.AsyncClient(base_url=args.base_url, timeout=15) as client:
        try:
            ready = (await client.get("/health/ready")).json()
        except httpx.HTTPError:
            print(
                f"No server at {args.base_url}: start it with `make run` in another terminal.",
                file=sys.stderr,
            )
            return 1
        if ready.get("retell_mode") != "simulated":
            print("The server uses live Retell: the demo only runs against the simulator.", file=sys.stderr)
            return 1
        login = await client.post("/api/auth/token", data={"username": args.email, "password": args.password})
        if login.status_code != 200:
            print("Login failed: pass --email/--password (ADMIN_EMAIL / ADMIN_PASSWORD).", file=sys.stderr)
            return 1
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        print(
            f"Placing {len(PERSONAS)} simulated calls on {args.base_url}, extractor {ready['extractor']}...\n"
        )
        started = time.monotonic()
        rows = await asyncio.gather(
            *(run_persona(client, persona, n, args.timeout) for n, persona in enumerate(PERSONAS))
        )
    print_table(list(rows))
    print(
        f"\n{len(rows)} calls in {time.monotonic() - started:.1f}s. Read any of them at {args.base_url}/docs."
    )
    return 0 if all(row["status"] in FINAL for row in rows) else 2


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
