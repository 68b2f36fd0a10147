"""Shared pieces of the fault tests: settings for a server under test, a Retell delivery, the call's state."""

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, RETELL_API_KEY, retell_event, signed_delivery
from tests.support.app import free_port, servers_in_threads
from tests.support.slow_llm import SlowLLM
from tests.support.webhooks import FIXTURE

# Short windows, so a fault test finishes in seconds; the README's defaults give the same guarantees
# scaled up (lease 30 s + sweep 15 s: a stranded call is finished within a minute).
LEASE_SECONDS = 2.0
SWEEP_SECONDS = 0.5


def server_settings(database_url: str, llm_base_url: str, **overrides: Any) -> dict[str, Any]:
    """A server with live Retell webhooks (signed with the test key) and the LLM extractor."""
    return {
        "environment": "test",
        "database_url": database_url,
        "secret_key": "fault-test-secret-key-that-is-long-enough-0123",
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "retell_mode": "live",
        "retell_api_key": RETELL_API_KEY,
        "retell_base_url": "http://127.0.0.1:9",  # never called: calls arrive by webhook
        "extractor": "openai",
        "openai_api_key": "sk-fault-test",
        "openai_base_url": llm_base_url,
        "extraction_backoff_seconds": 0,
        "extraction_lease_seconds": LEASE_SECONDS,
        "extraction_sweep_seconds": SWEEP_SECONDS,
        **overrides,
    }


@pytest.fixture
def in_thread_server() -> Iterator[Callable[[dict[str, Any]], str]]:
    """Serve the app under uvicorn in this process (a process of its own from any subprocess server)."""

    def settings_for(settings: dict[str, Any]) -> Callable[[str], Settings]:
        return lambda url: Settings(_env_file=None, public_base_url=url, **settings)  # type: ignore[call-arg]

    with servers_in_threads() as start:
        yield lambda settings: start(settings_for(settings))


@pytest.fixture
def slow_llm() -> Iterator[tuple[SlowLLM, str]]:
    """The stand-in LLM and its root URL (append `/<caller>/v1`)."""
    llm = SlowLLM(labels=FIXTURE["expected"])
    port = free_port()
    server = llm.serve(port)
    yield llm, f"http://127.0.0.1:{port}"
    llm.released.set()
    server.should_exit = True


def call_ended_delivery() -> tuple[str, str, dict[str, str]]:
    """A signed `call_ended` for a call Retell placed: its Retell id, body and headers."""
    retell_call_id = f"call_fault_{secrets.token_hex(6)}"
    payload = retell_event(
        "call_ended", retell_call_id=retell_call_id, our_call_id=None, transcript_fixture=FIXTURE
    )
    body, headers = signed_delivery(payload)
    return retell_call_id, body, headers


async def deliver_call_ended(base_url: str) -> str:
    retell_call_id, body, headers = call_ended_delivery()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{base_url}/webhook/retell", content=body, headers=headers)
    assert response.status_code == 204, response.text
    return retell_call_id


async def call_state(database_url: str, retell_call_id: str) -> dict[str, Any]:
    """The call as the database holds it, read on a connection of its own."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        text(
                            "SELECT c.status, c.extraction_attempts, c.status_detail,"
                            " (SELECT COUNT(*) FROM call_results r WHERE r.call_id = c.id) AS results"
                            " FROM calls c WHERE c.retell_call_id = :id"
                        ),
                        {"id": retell_call_id},
                    )
                )
                .mappings()
                .one()
            )
    finally:
        await engine.dispose()
    return dict(row)
