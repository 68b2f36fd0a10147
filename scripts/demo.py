"""`make demo`: with `make run` going, place one simulated call per persona and print the results.

Then two calls through the conversation engine (a `custom_llm` configuration, so the simulated Retell talks
to this backend's LLM WebSocket): a check-in, and an emergency that ends in its transfer to the dispatcher.
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
ENGINE_CONFIG = "Demo: conversation engine"
DEMO_DISPATCHER = "+13125550100"
ENGINE_PERSONAS = ("on_time", "blowout")


def key_fields(result: dict[str, Any] | None) -> str:
    if not result:
        return ""
    if result["scenario"] == "emergency":
        names = ["emergency_type", "injury_status", "emergency_location", "load_secure", "escalation_status"]
    else:
        names = ["driver_status", "current_location", "eta", "delay_reason", "unloading_status"]
    return "; ".join(f"{name}={result[name]}" for name in names if result.get(name) not in (None, "N/A"))


async def run_persona(
    client: httpx.AsyncClient, persona: str, n: int, wait_seconds: float, config_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "driver_name": DRIVERS[n % len(DRIVERS)],
        "phone_number": f"+1312555{PERSONAS[persona].phone_suffix}",
        "load_number": f"DEMO-{1000 + n}",
        "context": CONTEXT,
        "simulation": {"persona": persona},
    }
    if config_id:
        body["agent_config_id"] = config_id
    response = await client.post("/api/call/trigger", json=body)
    response.raise_for_status()
    call_id = response.json()["id"]
    deadline = time.monotonic() + wait_seconds
    while True:
        detail = (await client.get(f"/api/call/{call_id}")).json()
        if (detail["status"] in FINAL and detail.get("result")) or time.monotonic() > deadline:
            return {"persona": persona, **detail}
        await asyncio.sleep(0.5)


async def engine_config(client: httpx.AsyncClient) -> str:
    """The demo's custom_llm configuration (created once), with a dispatcher number to transfer to."""
    items = (await client.get("/api/agent-config", params={"limit": 100})).json()["items"]
    for config in items:
        if config["name"] == ENGINE_CONFIG:
            return str(config["id"])
    created = await client.post(
        "/api/agent-config",
        json={
            "name": ENGINE_CONFIG,
            "general_prompt": "You are Dispatch, checking in with a truck driver about their load.",
            "response_engine": "custom_llm",
            "dispatcher_transfer_number": DEMO_DISPATCHER,
        },
    )
    created.raise_for_status()
    return str(created.json()["id"])


def print_conversation(row: dict[str, Any]) -> None:
    print(f"\n{row['persona']} through the engine ({row['status']}, {row.get('disconnection_reason')}):")
    for line in (row.get("transcript") or "").splitlines():
        print(f"  {line}")
    if row.get("disconnection_reason") == "call_transfer":
        print(f"  -> the engine transferred the call to the dispatcher at {DEMO_DISPATCHER}")
    live = row.get("live_result") or {}
    if live.get("call_outcome"):
        print(f"  live result during the call: {live['call_outcome']}; {key_fields(live)}")


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
        config_id = await engine_config(client)
        engine_rows = await asyncio.gather(
            *(
                run_persona(client, persona, len(PERSONAS) + n, args.timeout, config_id)
                for n, persona in enumerate(ENGINE_PERSONAS)
            )
        )
    print_table(list(rows))
    print(f"\nThrough the conversation engine (configuration {ENGINE_CONFIG!r}, custom_llm):\n")
    print_table([{**row, "persona": f"{row['persona']} (engine)"} for row in engine_rows])
    for row in engine_rows:
        print_conversation(row)
    every = [*rows, *engine_rows]
    print(
        f"\n{len(every)} calls in {time.monotonic() - started:.1f}s. "
        f"Read any of them at {args.base_url}/docs."
    )
    transferred = any(row.get("disconnection_reason") == "call_transfer" for row in engine_rows)
    return 0 if all(row["status"] in FINAL for row in every) and transferred else 2


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
