"""The bench's reference receiver is the minimal receiver it claims to be: the app's signature check, one
autocommit INSERT per delivery (a replay changes nothing), no session state, 204.

And the database-cost phase measures the statement the webhook runs, with the NOTIFY where it says."""

import importlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from scripts import bench_db_cost
from tests.support import RETELL_API_KEY, execute_sql, retell_event, signed_delivery


@pytest.fixture
async def reference(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the bench and its reference run on PostgreSQL")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RETELL_API_KEY", RETELL_API_KEY)
    sys.modules.pop("scripts.reference_receiver", None)
    module: Any = importlib.import_module("scripts.reference_receiver")
    async with LifespanManager(module.app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    await execute_sql(database_url, f"DROP TABLE IF EXISTS {module.TABLE}")


async def test_each_signed_delivery_is_stored_once_and_a_bad_signature_is_refused(
    reference: httpx.AsyncClient, database_url: str
) -> None:
    body, headers = signed_delivery(retell_event("call_started", retell_call_id="call_ref", our_call_id=None))
    assert (await reference.post("/webhook/retell", content=body, headers=headers)).status_code == 204
    replay = await reference.post("/webhook/retell", content=body, headers=headers)
    assert replay.status_code == 204
    forged = {**headers, "x-retell-signature": headers["x-retell-signature"][:-4] + "0000"}
    other, _ = signed_delivery(retell_event("call_ended", retell_call_id="call_ref", our_call_id=None))
    assert (await reference.post("/webhook/retell", content=other, headers=forged)).status_code == 401
    stored = await execute_sql(
        database_url, "SELECT count(*) FROM bench_reference_events WHERE retell_call_id = 'call_ref'"
    )
    assert stored == 1


def test_the_cost_phase_runs_the_webhooks_statement_with_the_notify_where_it_says() -> None:
    for kind in ("call_started", "call_ended", "call_analyzed"):
        after, _ = bench_db_cost.app_statement(kind)  # the pool's: announced after its commit
        inside, _ = bench_db_cost.app_statement(kind, notify=True)
        assert "pg_notify" not in after and "pg_notify" in inside
        assert "INSERT INTO webhook_events" in after and "UPDATE calls SET" in after
