"""Helpers to run the app in a test: in process behind httpx, logged in, on a free port, under uvicorn."""

import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
import uvicorn
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.main import create_app
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, behind an in-process HTTP client."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def servers_in_threads() -> Iterator[Callable[[Callable[[str], Settings]], str]]:
    """Start the real app under uvicorn on a free port, in a thread of this process (real HTTP).

    Yields `start(settings_for)`: `settings_for(base_url)` gives the server's settings; `start` returns
    the base URL once the server accepts connections. Every server started is stopped on the way out.
    """
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(settings_for: Callable[[str], Settings]) -> str:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            create_app(settings_for(base_url)), host="127.0.0.1", port=port, log_config=None, lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "the test server did not start"
        servers.append((server, thread))
        return base_url

    try:
        yield start
    finally:
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=15)
