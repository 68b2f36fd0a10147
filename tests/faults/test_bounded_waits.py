"""A statement stuck behind a lock is cut off within the statement timeout: a 503 to retry, not a hang."""

import asyncio
import time
from collections.abc import Callable

from app.config import Settings
from tests.faults.conftest import call_ended_delivery
from tests.support import count_rows
from tests.support.app import running_app
from tests.support.database import table_held


async def test_a_delivery_stuck_behind_a_lock_is_a_quick_503_and_its_retry_is_stored(
    make_settings: Callable[..., Settings], clean_database: str
) -> None:
    settings = make_settings(db_statement_timeout_seconds=0.5, extractor="rules")
    _, body, headers = call_ended_delivery()
    async with running_app(settings) as client:
        async with table_held(clean_database, "webhook_events"):
            started = time.monotonic()
            refused = await client.post("/webhook/retell", content=body, headers=headers)
            waited = time.monotonic() - started
        retried = await client.post("/webhook/retell", content=body, headers=headers)  # Retell tries again
        await asyncio.sleep(0.2)

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "DatabaseUnavailable"
    assert refused.headers["retry-after"] == "5"
    assert waited < 3.0, waited
    assert retried.status_code == 204
    assert await count_rows(clean_database, "webhook_events") == 1
