"""An OpenAI-compatible stand-in that answers slowly, or not until told: the LLM "in flight" on demand.

Each server process under test gets its own base URL (`/<name>/v1`), so the test knows whose
request is in flight.
"""

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from tests.support.standins import serve_in_thread, tool_call_completion


@dataclass
class SlowLLM:
    """`hold_first`: the first request waits until `release` (or the test ends); `delay` for every one."""

    labels: dict[str, Any]
    delay: float = 0.0
    hold_first: bool = False
    requests: list[tuple[str, float]] = field(default_factory=list)  # (caller, time received)
    first_arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def app(self) -> FastAPI:
        app = FastAPI(title="slow LLM stand-in")

        @app.post("/{caller}/v1/chat/completions")
        async def chat(caller: str, request: Request) -> dict[str, Any]:
            body = dict(await request.json())
            first = not self.requests
            self.requests.append((caller, time.monotonic()))
            self.first_arrived.set()
            if first and self.hold_first:
                while not self.released.is_set():
                    await asyncio.sleep(0.05)
            await asyncio.sleep(self.delay)
            tool = body["tools"][0]["function"]["name"]
            return tool_call_completion(tool, {"result": self.labels}, model=body["model"])

        return app

    def serve(self, port: int) -> Any:
        return serve_in_thread(self.app(), port)

    def callers(self) -> list[str]:
        return [caller for caller, _ in self.requests]
