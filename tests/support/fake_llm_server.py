"""A minimal custom-LLM WebSocket server, to test Retell's side of the socket without the engine.

It speaks the protocol (config, greeting on call_details, ping echoes, one streamed response per request,
a newer request cancelling the older) with a tiny fixed dialogue, and can misbehave on purpose.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

QUESTIONS = (
    "Where are you right now?",
    "What's your ETA to the receiver?",
    "Any delays on the way?",
)


@dataclass
class FakeEngine:
    """Behaviour switches and what it saw."""

    chunk_delay: float = 0.0
    echo_pings: bool = True
    greet_on_reconnect: bool = False
    end_and_transfer: bool = False
    speak_after_cancel: bool = False
    # Close with 1011 (an internal error) on this response id, once.
    fail_on_response: int | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    greeted: set[str] = field(default_factory=set)
    close_codes: list[int | None] = field(default_factory=list)
    progress: dict[str, int] = field(default_factory=dict)
    emergency: set[str] = field(default_factory=set)

    def reply_for(self, call_id: str, transcript: list[dict[str, Any]]) -> dict[str, Any]:
        said = " ".join(t["content"] for t in transcript if t["role"] == "user").lower()
        if "tire" in said or "blowout" in said:
            step = self.progress.get(f"{call_id}/e", 0)
            self.progress[f"{call_id}/e"] = step + 1
            if step == 0:
                return {"content": "Okay. Are you somewhere safe right now? Is anyone hurt?"}
            transfer = {
                "content": "I'm connecting you to a dispatcher now.",
                "transfer_number": "+13125550100",
            }
            if self.end_and_transfer:
                transfer["end_call"] = True
            return transfer
        step = self.progress.get(call_id, 0)
        self.progress[call_id] = step + 1
        if step < len(QUESTIONS):
            return {"content": f"Got it. {QUESTIONS[step]}"}
        return {"content": "Thanks. That's all I needed, drive safe.", "end_call": True}


async def _session(engine: FakeEngine, ws: ServerConnection) -> None:
    call_id = ws.request.path.rsplit("/", 1)[-1] if ws.request else "?"
    await ws.send(
        json.dumps({"response_type": "config", "config": {"auto_reconnect": True, "call_details": True}})
    )
    speaking: asyncio.Task[None] | None = None

    async def speak(response_id: int, reply: dict[str, Any]) -> None:
        words = reply["content"].split(". ")
        for index, part in enumerate(words):
            final = index == len(words) - 1
            message: dict[str, Any] = {
                "response_type": "response",
                "response_id": response_id,
                "content": part + ("" if final else ". "),
                "content_complete": final,
            }
            if final:
                for key in ("end_call", "transfer_number"):
                    if key in reply:
                        message[key] = reply[key]
                if "end_call" in reply or "transfer_number" in reply:
                    message["no_interruption_allowed"] = True
            await ws.send(json.dumps(message))
            if not final:
                await asyncio.sleep(engine.chunk_delay)

    try:
        async for frame in ws:
            message = json.loads(frame)
            engine.seen.append(message)
            kind = message.get("interaction_type")
            if kind == "ping_pong" and engine.echo_pings:
                await ws.send(json.dumps({"response_type": "ping_pong", "timestamp": message["timestamp"]}))
            elif kind == "call_details":
                if call_id not in engine.greeted or engine.greet_on_reconnect:
                    engine.greeted.add(call_id)
                    greeting = "Hi Mike, this is Dispatch with a check call. How's it going out there?"
                    await speak(0, {"content": greeting})
            elif kind in ("response_required", "reminder_required"):
                if message["response_id"] == engine.fail_on_response:
                    engine.fail_on_response = None
                    await ws.close(1011)
                    return
                if speaking is not None and not speaking.done() and not engine.speak_after_cancel:
                    speaking.cancel()
                reply = engine.reply_for(call_id, message.get("transcript", []))
                if kind == "reminder_required":
                    reply = {"content": "Mike, are you still there?"}
                speaking = asyncio.create_task(speak(message["response_id"], reply))
    except Exception:  # a dropped socket ends the session
        pass
    finally:
        engine.close_codes.append(ws.close_code)
        if speaking is not None:
            speaking.cancel()


@contextlib.asynccontextmanager
async def fake_llm_server(engine: FakeEngine) -> AsyncIterator[str]:
    """Serve `engine` on a free loopback port; yields the ws URL Retell is given (it appends the call id)."""
    async with serve(lambda ws: _session(engine, ws), "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/llm-websocket/test-secret"
