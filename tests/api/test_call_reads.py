"""Call reads that stay cheap as history grows (issue 8): what each read asks the database, and which
index answers each list filter. `make bench` times them at 1k and 100k calls; these pin why."""

import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.dependencies import AppContext
from app.config import Settings
from app.main import create_app
from tests.support import retell_event, signed_delivery
from tests.support.app import login
from tests.support.webhooks import FIXTURE


class App:
    def __init__(self, client: httpx.AsyncClient, context: AppContext, auth: dict[str, str]) -> None:
        self.client, self.context, self.auth = client, context, auth

    @property
    def engine(self) -> AsyncEngine:
        bind = self.context.session_maker.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        return bind

    @contextmanager
    def statements(self) -> Iterator[list[tuple[str, Any]]]:
        """Every statement the app sends through its session engine meanwhile, with its parameters."""
        sent: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            sent.append((statement, parameters))

        event.listen(self.engine.sync_engine, "before_cursor_execute", record)
        try:
            yield sent
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[App]:
    settings = make_settings(extractor="rules", db_ingest_pool_size=0)  # every statement through the session
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            auth = await login(client)
            body, headers = signed_delivery(
                retell_event(
                    "call_ended", retell_call_id="call_read", our_call_id=None, transcript_fixture=FIXTURE
                )
            )
            assert (await client.post("/webhook/retell", content=body, headers=headers)).status_code == 204
            yield App(client, manager._state["context"], auth)


def touching_calls(sent: list[tuple[str, Any]]) -> list[str]:
    return [statement for statement, _ in sent if re.search(r"\b(calls|call_results)\b", statement)]


async def test_a_calls_detail_is_read_in_at_most_two_queries(app: App) -> None:
    (listed,) = (await app.client.get("/api/call", headers=app.auth)).json()["items"]
    with app.statements() as sent:
        detail = await app.client.get(f"/api/call/{listed['id']}", headers=app.auth)
    assert detail.status_code == 200
    assert detail.json()["result"] is not None  # the call and its result
    assert len(touching_calls(sent)) <= 2, touching_calls(sent)


async def test_the_list_reads_only_the_lists_columns_never_transcripts(app: App) -> None:
    with app.statements() as sent:
        listed = await app.client.get("/api/call", headers=app.auth)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    (select,) = [s for s in touching_calls(sent) if s.lstrip().upper().startswith("SELECT")]
    columns = select.split(" FROM ", 1)[0]
    for heavy in ("transcript", "transcript_turns", "call_analysis", "context"):
        assert f"calls.{heavy}," not in columns + "," and f"calls.{heavy} " not in columns, heavy


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"status": "completed"}, "ix_calls_status_created_at_id"),
        ({"call_outcome": "In-Transit Update"}, "ix_calls_call_outcome_created_at_id"),
        ({"load_number": "7891-B"}, "ix_calls_load_number_created_at_id"),
        ({"follow_up": "true"}, "ix_calls_follow_up_created_at_id"),
        ({"follow_up_reason": "noisy_line"}, "ix_calls_follow_up_reason_created_at_id"),
        ({}, "ix_calls_created_at_id"),
    ],
    ids=["status", "outcome", "load-number", "follow-up", "follow-up-reason", "first-page"],
)
async def test_each_list_filter_is_answered_newest_first_by_its_own_index(
    app: App, params: dict[str, str], index: str
) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's; SQLite's are not what production runs")
    with app.statements() as sent:
        assert (await app.client.get("/api/call", params=params, headers=app.auth)).status_code == 200
    (statement, parameters) = next(
        (s, p) for s, p in sent if "FROM calls" in s and s.lstrip().startswith("SELECT")
    )
    url = str(app.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET enable_seqscan = off")  # a table this small would be read whole
        # Nor would it tell a bitmap read and a sort of its one row from a read of the index in order;
        # with thousands of calls needing a follow-up, only the ordered read stops after one page.
        await connection.execute("SET enable_bitmapscan = off")
        plan = "\n".join(row[0] for row in await connection.fetch("EXPLAIN " + statement, *parameters))
    finally:
        await connection.close()
    assert index in plan, plan
    assert "Sort" not in plan.split(index)[0], plan  # the index gives newest first: no sort above it
