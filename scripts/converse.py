"""`make converse`: every persona in every variant, plus the hard cases, through the real LLM WebSocket.

Offline: the app runs in this process under uvicorn on a free loopback port, on a fresh SQLite file, in rules
mode, with a `custom_llm` default configuration that has a dispatcher number. Each simulated call connects
as Retell does and a reactive driver answers what the agent asks. For each conversation it prints the
turns, the fields captured live against the driver's facts, the turn the emergency was met, the transfer
or hang-up, and the flags; the totals go to docs/CONVERSATIONS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from loguru import logger
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alembic.config import Config  # noqa: E402

from alembic import command  # noqa: E402
from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Call  # noqa: E402
from app.retell.conversation import (  # noqa: E402
    CHECK_IN_TURN_LIMIT,
    Conversation,
    ConversationCase,
    Verdict,
    all_cases,
    judge,
    run_conversation,
)
from app.retell.factory import simulated_webhook_key  # noqa: E402
from app.retell.signature import sign_retell_body  # noqa: E402

ADMIN_EMAIL = "converse@example.com"
ADMIN_PASSWORD = "converse-harness-password-0123"
DISPATCHER = "+13125550100"
DOC = ROOT / "docs" / "CONVERSATIONS.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            command.upgrade(config, "head")
        except BaseException as exc:  # re-raised below, off alembic's own loop
            errors.append(exc)

    thread = threading.Thread(target=upgrade)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


class Server:
    """The app under uvicorn in a thread of this process."""

    def __init__(self, settings: Settings, port: int) -> None:
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="websockets"
        )
        self.server = uvicorn.Server(config)
        # Importing app.main configured logging at INFO already: the harness prints its own report.
        logger.remove()
        logger.add(sys.stderr, level=settings.log_level)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


async def prepare(base_url: str) -> None:
    """Log in and make a custom_llm configuration with a dispatcher number the default."""
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        login = await client.post(
            "/api/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        created = await client.post(
            "/api/agent-config",
            json={
                "name": "Engine check-in",
                "general_prompt": "You are Dispatch, checking in with a truck driver.",
                "response_engine": "custom_llm",
                "dispatcher_transfer_number": DISPATCHER,
                "is_default": True,
            },
        )
        created.raise_for_status()


async def live_results(database_url: str, call_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Call.retell_call_id, Call.live_result).where(Call.retell_call_id.in_(call_ids))  # type: ignore[union-attr,attr-defined]
            )
            return {str(row[0]): row[1] for row in rows}
    finally:
        await engine.dispose()


# How long the harness waits for post-call extraction of every conversation before reporting without it.
EXTRACTION_WAIT_SECONDS = 60.0
_DISCONNECTION = {
    "transfer": "call_transfer",
    "end_call": "agent_hangup",
    "max_turns": "max_duration_reached",
}


async def post_call_ended(settings: Settings, conversations: list[Conversation]) -> None:
    """The `call_ended` webhook Retell would send for each conversation: post-call extraction starts."""
    key = settings.retell_api_key or simulated_webhook_key(settings)
    async with httpx.AsyncClient(timeout=15) as client:
        for conversation in conversations:
            now_ms = int(time.time() * 1000)
            call = {
                "call_id": conversation.call_id,
                "call_status": "ended",
                "direction": "outbound",
                "start_timestamp": now_ms - int(conversation.seconds * 1000),
                "end_timestamp": now_ms,
                "disconnection_reason": _DISCONNECTION.get(conversation.ending, "agent_hangup"),
                "transcript": conversation.transcript_text,
                "transcript_object": conversation.transcript_object(),
            }
            body = json.dumps({"event": "call_ended", "call": call}, separators=(",", ":"))
            headers = {"content-type": "application/json", "x-retell-signature": sign_retell_body(body, key)}
            response = await client.post(settings.webhook_url, content=body, headers=headers)
            if response.status_code >= 300:
                logger.warning("call_ended for {} refused: {}", conversation.call_id, response.status_code)


_RESULTS = text(
    "SELECT calls.retell_call_id, call_results.scenario, call_results.call_outcome, call_results.data "
    "FROM calls JOIN call_results ON call_results.call_id = calls.id"
)


def _json(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return dict(loaded or {})


async def extracted_results(database_url: str, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Post-call extraction's result per call, waiting (bounded) until every call has one."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    deadline = time.monotonic() + EXTRACTION_WAIT_SECONDS
    found: dict[str, dict[str, Any]] = {}
    try:
        while True:
            async with engine.connect() as connection:
                rows = await connection.execute(_RESULTS)
                wanted = set(call_ids)
                found = {
                    str(r[0]): {**_json(r[3]), "scenario": r[1], "call_outcome": r[2]}
                    for r in rows
                    if r[0] in wanted
                }
            if len(found) >= len(call_ids) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


# One disagreement per field, as (live, post-call): printed to show what differs.
DISAGREEMENTS: dict[str, tuple[Any, Any]] = {}


def agreement(
    lives: dict[str, dict[str, Any] | None], results: dict[str, dict[str, Any]]
) -> dict[str, tuple[int, int]]:
    """Per field, (agree, compared) over conversations with both a live and a post-call result.

    `scenario` and `call_outcome` are compared on every such conversation; another field where either
    side has a value (a value against nothing is a disagreement).
    """
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for call_id, live in lives.items():
        result = results.get(call_id)
        if not live or not result:
            continue
        names = ["scenario", "call_outcome"]
        if live.get("scenario") == result.get("scenario"):
            names += sorted((set(live) | set(result)) - {"scenario", "call_outcome"})
        for name in names:
            mine, theirs = live.get(name), result.get(name)
            if name not in ("scenario", "call_outcome") and mine is None and theirs is None:
                continue
            counts[name][1] += 1
            counts[name][0] += int(mine == theirs)
            if mine != theirs and name not in DISAGREEMENTS:
                DISAGREEMENTS[name] = (mine, theirs)
    return {name: (agree, compared) for name, (agree, compared) in counts.items()}


async def run_all(ws_url: str, cases: list[ConversationCase], concurrency: int) -> list[Conversation]:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int, case: ConversationCase) -> Conversation:
        async with gate:
            return await run_conversation(ws_url, case, call_id=f"call_conv_{n:03d}_{secrets.token_hex(4)}")

    return list(await asyncio.gather(*(one(n, case) for n, case in enumerate(cases))))


# -- printing ---------------------------------------------------------------------------------------------


def describe(conversation: Conversation, verdict: Verdict, *, turns: bool) -> str:
    case = conversation.case
    mark = "ok  " if verdict.ok else "FAIL"
    lines = [
        f"[{mark}] {case.name}: {conversation.agent_turns} agent turns, {conversation.ending}"
        + (f" to {conversation.transfer_number}" if conversation.transfer_number else "")
        + f", {conversation.seconds:.2f} s"
    ]
    if turns or not verdict.ok:
        for turn in conversation.transcript:
            who = "agent " if turn["role"] == "agent" else "driver"
            lines.append(f"    {who}: {turn['content']}")
    if verdict.fields:
        lines.append(
            "    fields: " + ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in verdict.fields.items())
        )
        for name, ok in verdict.fields.items():
            if not ok:
                lines.append(
                    f"      {name}: live {verdict.live.get(name)!r}, facts {verdict.expected.get(name)!r}"
                )
    if conversation.alarm_reply is not None:
        turn = conversation.emergency_turn
        lines.append(
            f"    emergency: reported before agent turn {conversation.alarm_reply + 1}, "
            f"protocol from turn {'-' if turn is None else turn + 1}"
            f" ({'very next response' if conversation.emergency_next else 'NOT the next response'})"
        )
    flags = {k: v for k, v in verdict.flags.items() if v not in (None, False)}
    if conversation.error_reconnects:
        flags["reconnects after an abnormal close"] = conversation.error_reconnects
    lines.append(f"    flags: {flags or '-'}")
    failed = [name for name, ok in verdict.checks.items() if not ok]
    if failed:
        lines.append(f"    failed: {'; '.join(failed)}")
    for note in [*conversation.violations, *conversation.problems][:6]:
        lines.append(f"    ! {note}")
    if conversation.error:
        lines.append(f"    error: {conversation.error}")
    return "\n".join(lines)


def totals(results: list[tuple[Conversation, Verdict]]) -> dict[str, Any]:
    def pct(part: int, whole: int) -> str:
        return f"{100 * part / whole:.0f} % ({part}/{whole})" if whole else "-"

    regular = [(c, v) for c, v in results if c.case.behaviour is None]
    emergencies = [(c, v) for c, v in regular if c.facts.emergency_type]
    check_ins = [(c, v) for c, v in regular if not c.facts.emergency_type]
    negatives = [(c, v) for c, v in check_ins if c.case.hard_negative is not None]
    hard = [(c, v) for c, v in results if c.case.behaviour is not None]
    per_field: dict[str, list[bool]] = defaultdict(list)
    for _, verdict in regular:
        for name, ok in verdict.fields.items():
            per_field[name].append(ok)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for conversation, verdict in results:
        by_kind[conversation.case.kind].append(verdict.ok)
    longest = max((c.agent_turns for c, _ in check_ins), default=0)
    return {
        "conversations": len(results),
        "all fields captured live": pct(sum(all(v.fields.values()) for _, v in regular), len(regular)),
        "per field": {name: pct(sum(oks), len(oks)) for name, oks in sorted(per_field.items())},
        "emergency protocol in the very next response": pct(
            sum(c.emergency_next is True for c, _ in emergencies), len(emergencies)
        ),
        "emergencies ending in one transfer": pct(
            sum(c.ending == "transfer" for c, _ in emergencies), len(emergencies)
        ),
        "false emergencies on hard negatives": sum(c.emergency_turn is not None for c, _ in negatives),
        "hard negatives": len(negatives),
        "hard cases resolved as specified": pct(sum(all(v.checks.values()) for _, v in hard), len(hard)),
        "longest check-in (agent turns)": longest,
        "protocol violations": sum(len(c.violations) for c, _ in results),
        "reconnects after an abnormal close (as Retell retries)": sum(c.error_reconnects for c, _ in results),
        "conversations passing every check": pct(sum(v.ok for _, v in results), len(results)),
        "by kind": {kind: pct(sum(oks), len(oks)) for kind, oks in sorted(by_kind.items())},
        "first chunk p50 ms": _percentile([ms for c, _ in results for ms in c.first_chunk_ms], 50),
        "first chunk p95 ms": _percentile([ms for c, _ in results for ms in c.first_chunk_ms], 95),
    }


def _percentile(values: list[float], p: int) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]:.1f}"


def _share(text: str) -> float:
    """The percentage in "97 % (98/101)"; 100 when nothing of that kind ran."""
    return float(text.split(" %")[0]) if "%" in text else 100.0


def goals(summary: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (
            "every field captured live in >= 95 % of conversations",
            _share(summary["all fields captured live"]) >= 95,
        ),
        (
            "emergency protocol in the very next response in 100 %",
            _share(summary["emergency protocol in the very next response"]) == 100,
        ),
        ("zero false emergencies on hard negatives", summary["false emergencies on hard negatives"] == 0),
        (
            "hard cases resolved as specified in 100 %",
            _share(summary["hard cases resolved as specified"]) == 100,
        ),
        (
            f"no check-in longer than {CHECK_IN_TURN_LIMIT} agent turns",
            summary["longest check-in (agent turns)"] <= CHECK_IN_TURN_LIMIT,
        ),
    ]


def write_doc(
    summary: dict[str, Any],
    results: list[tuple[Conversation, Verdict]],
    seconds: float,
    agreed: dict[str, tuple[int, int]],
    both: int,
    extracted: int,
) -> None:
    lines = [
        "# Conversations",
        "",
        "`make converse` plays simulated calls through the real LLM WebSocket route, offline (rules mode,",
        "SQLite, the app under uvicorn in-process): every persona in every variant (plain, paraphrased,",
        "reordered answers, everything in the first answer, an interruption, a dropped socket that",
        "reconnects), emergencies reported at the first, a middle and the last answer, hard negatives (a",
        "wreck that only slows the driver down), and the hard cases (one-word answers, silence, a noisy",
        "line, GPS conflicts).",
        "The drivers answer what the agent asked, from their facts (`app/retell/personas/reactive.py`).",
        "",
        f"Last run: {len(results)} conversations in {seconds:.1f} s.",
        "",
        "## Goals",
        "",
        "| goal | met |",
        "|---|---|",
        *(f"| {goal} | {'yes' if met else '**no**'} |" for goal, met in goals(summary)),
        "",
        "## Totals",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for key, value in summary.items():
        if isinstance(value, dict):
            continue
        lines.append(f"| {key} | {value} |")
    lines += [
        "",
        "## Fields captured live (check-ins and emergencies)",
        "",
        "| field | captured |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in summary["per field"].items()]
    lines += [
        "",
        "## Live result against post-call extraction",
        "",
        "Post-call extraction stays the authoritative result. After each conversation the harness posts the",
        "`call_ended` webhook Retell would send (the transcript), waits (at most "
        f"{EXTRACTION_WAIT_SECONDS:.0f} s) for the",
        "extraction (rules here), and compares it with the engine's live result, field by field. The",
        "harness runs offline (no OPENAI_API_KEY), so the engine's LLM reader is off: both sides are rules.",
        f"Post-call results: {extracted} of {len(results)}; conversations with both: {both}.",
        "`scenario` and `call_outcome` are compared on every such conversation; another field where the",
        "scenarios match and either side has a value.",
        "",
        "| field | agree | compared | share | a disagreement (live / post-call) |",
        "|---|---|---|---|---|",
    ]
    for name, (agree, compared) in agreed.items():
        if compared:
            example = DISAGREEMENTS.get(name)
            shown = f"{example[0]!r} / {example[1]!r}".replace("|", "/") if example else ""
            lines.append(f"| {name} | {agree} | {compared} | {100 * agree / compared:.1f} % | {shown} |")
    lines += ["", "## By kind", "", "| kind | passing every check |", "|---|---|"]
    lines += [f"| {kind} | {value} |" for kind, value in summary["by kind"].items()]
    failing = [(c, v) for c, v in results if not v.ok]
    lines += ["", "## Conversations that failed a check", ""]
    if not failing:
        lines.append("None.")
    for conversation, verdict in failing:
        reasons = [name for name, ok in verdict.checks.items() if not ok]
        reasons += [f"{name} not captured" for name, ok in verdict.fields.items() if not ok]
        lines.append(f"- `{conversation.case.name}`: {'; '.join(reasons)}")
    DOC.write_text("\n".join(lines) + "\n")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    # SQLite takes one writer at a time: a few calls at once is what the harness's database sustains.
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--quiet", action="store_true", help="print the turns of failing conversations only")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/CONVERSATIONS.md")
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    cases = [case for case in all_cases() if args.only in case.name]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="converse-") as workdir:
        database_url = f"sqlite+aiosqlite:///{Path(workdir) / 'converse.db'}"
        migrate(database_url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="test",
            database_url=database_url,
            secret_key=secrets.token_urlsafe(32),
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            fast_password_hashing=True,
            retell_mode="simulated",
            extractor="rules",
            public_base_url=base_url,
            log_level="WARNING",
        )
        ws_url = settings.llm_websocket_url
        assert ws_url is not None
        with Server(settings, port):
            await prepare(base_url)
            conversations = await run_all(ws_url, cases, args.concurrency)
            lives = await live_results(database_url, [c.call_id for c in conversations])
            await post_call_ended(settings, conversations)
            extracted = await extracted_results(database_url, [c.call_id for c in conversations])
    agreed = agreement(lives, extracted)
    both = sum(1 for c in conversations if lives.get(c.call_id) and c.call_id in extracted)
    results = [(c, judge(c, lives.get(c.call_id))) for c in conversations]
    for conversation, verdict in results:
        print(describe(conversation, verdict, turns=not args.quiet))
    seconds = time.monotonic() - started
    summary = totals(results)
    print(f"\n{len(results)} conversations in {seconds:.1f} s")
    for key, value in summary.items():
        print(f"  {key}: {value}")
    print()
    for goal, met in goals(summary):
        print(f"  [{'met' if met else 'NOT MET'}] {goal}")
    print(f"\nLive result against post-call extraction ({both} conversations with both):")
    for name, (agree, compared) in agreed.items():
        example = DISAGREEMENTS.get(name)
        differs = f" (e.g. live {example[0]!r}, post-call {example[1]!r})" if example else ""
        print(f"  {name}: {agree}/{compared} agree{differs}")
    if not args.no_doc and not args.only:
        write_doc(summary, results, seconds, agreed, both, len(extracted))
        print(f"\nTotals written to {DOC.relative_to(ROOT)}")
    return 0 if all(met for _, met in goals(summary)) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
