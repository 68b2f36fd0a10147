"""The app under uvicorn on free ports, with a scripted dialogue, for tests that speak Retell's socket."""

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection

from app.config import Settings
from app.main import create_app
from tests.conversation.scripted import ScriptedPolicy
from tests.support.app import free_port


class EngineServer:
    """One running app instance: its base URL and the LLM WebSocket address Retell would use."""

    def __init__(self, base_url: str, settings: Settings, policy: ScriptedPolicy) -> None:
        self.base_url = base_url
        self.settings = settings
        self.policy = policy

    def socket_url(self, retell_call_id: str, secret: str | None = None) -> str:
        secret = secret if secret is not None else self.settings.llm_websocket_secret
        return f"{self.base_url.replace('http', 'ws', 1)}/llm-websocket/{secret}/{retell_call_id}"


@pytest.fixture
def engine_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., EngineServer]]:
    """Start an app instance (call again for a second one on the same database)."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides: Any) -> EngineServer:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        # A scripted dialogue has no use for the LLM reader: no key, unless a test gives one.
        overrides.setdefault("openai_api_key", None)
        settings = make_settings(public_base_url=base_url, **overrides)
        policy = ScriptedPolicy()
        app = create_app(settings, conversation_policy=policy)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws="websockets"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        # Generous: on a loaded machine the first start on PostgreSQL (its LISTEN connection) takes seconds.
        for _ in range(2400):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.025)
        assert server.started, "the test server did not start"
        servers.append((server, thread))
        return EngineServer(base_url, settings, policy)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


async def receive(connection: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(connection.recv(), timeout)))


async def answer(connection: ClientConnection, response_id: int) -> list[dict[str, Any]]:
    """Every message until `response_id`'s content_complete (pings and others included)."""
    seen = []
    while True:
        message = await receive(connection)
        seen.append(message)
        if message.get("response_id") == response_id and message.get("content_complete"):
            return seen


def spoken(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"] for m in messages if m.get("response_type") == "response")
