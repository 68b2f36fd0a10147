"""Test helpers: shared fixtures on disk, Retell-style signing, webhook payloads."""

import asyncio
import copy
import json
import time
from pathlib import Path
from typing import Any

from retell.lib import webhook_auth
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.support.fixtures import RETELL_DIR, TRANSCRIPTS_DIR
from tests.support.standins import tool_call_completion

TRANSCRIPT_FIXTURES = sorted(TRANSCRIPTS_DIR.glob("*.json"))
RETELL_API_KEY = "test-retell-key-0123456789abcdef"
RETELL_BASE_URL = "https://retell.test"
OPENAI_BASE_URL = "https://openai.test/v1"
ADMIN_EMAIL = "dispatcher@example.com"
ADMIN_PASSWORD = "correct-horse-battery"


def load_transcript_fixture(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


# Result fields added after the shared fixtures were labelled (which are read-only): their defaults, which
# a fixture's call gets since nothing in it asks for a follow-up or contradicts a GPS position.
NEW_RESULT_FIELD_DEFAULTS: dict[str, Any] = {
    "follow_up_reason": None,
    "gps_location": None,
    "location_conflict": False,
}


def expected_result(fixture: dict[str, Any]) -> dict[str, Any]:
    """A fixture's labelled `expected`, completed with the defaults of the fields it predates."""
    return NEW_RESULT_FIELD_DEFAULTS | fixture["expected"]


def load_retell_fixture(event: str) -> dict[str, Any]:
    return json.loads((RETELL_DIR / f"{event}.json").read_text())


def sign(body: str, key: str = RETELL_API_KEY, *, timestamp_ms: int | None = None) -> str:
    """Exactly what Retell puts in `x-retell-signature`, from the SDK's own helper."""
    return webhook_auth.symmetric["sign"](body, key, timestamp_ms or int(time.time() * 1000))


def signed_delivery(payload: dict[str, Any], key: str = RETELL_API_KEY) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    return body, {"content-type": "application/json", "x-retell-signature": sign(body, key)}


def retell_event(
    event: str,
    *,
    retell_call_id: str,
    our_call_id: str | None,
    transcript_fixture: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A delivery shaped like the shared Retell fixtures, for one of our calls and one transcript."""
    payload = copy.deepcopy(load_retell_fixture(event))
    call = payload["call"]
    call["call_id"] = retell_call_id
    call["metadata"] = {"call_id": our_call_id} if our_call_id else {}
    if transcript_fixture is not None and event != "call_started":
        call["transcript"] = transcript_fixture["transcript"]
        call["transcript_object"] = transcript_fixture["transcript_object"]
        call["transcript_with_tool_calls"] = transcript_fixture["transcript_object"]
        call["disconnection_reason"] = transcript_fixture["disconnection_reason"]
        call["retell_llm_dynamic_variables"] = transcript_fixture["retell_llm_dynamic_variables"]
    call.update(overrides)
    return payload


def openai_tool_response(arguments: dict[str, Any], *, model: str = "gpt-4o-mini") -> dict[str, Any]:
    """A chat completion calling instructor's `CallExtraction` tool with these arguments."""
    return tool_call_completion("CallExtraction", arguments, model=model)


FINAL_STATUSES = {"completed", "not_connected", "failed"}


async def wait_until_final(client: Any, auth: dict[str, str], call_id: str) -> dict[str, Any]:
    """Poll like the dashboard does until the call is final and Retell's analysis (if any) is in."""
    for _ in range(300):
        detail = (await client.get(f"/api/call/{call_id}", headers=auth)).json()
        if detail["status"] == "not_connected" or (
            detail["status"] in FINAL_STATUSES and detail["call_summary"]
        ):
            return dict(detail)
        await asyncio.sleep(0.05)
    raise AssertionError(f"call {call_id} never finished: {detail['status']}")


async def execute_sql(database_url: str, sql: str) -> Any:
    """Run one statement on a connection of its own (what another process would see or do)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    async with engine.begin() as connection:
        result = await connection.execute(text(sql))
        value = result.scalar_one() if result.returns_rows else None
    await engine.dispose()
    return value


async def count_rows(database_url: str, table: str) -> int:
    return int(await execute_sql(database_url, f"SELECT COUNT(*) FROM {table}"))
