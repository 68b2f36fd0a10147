"""Retell's side of the custom-LLM WebSocket, as SimulatedRetell and the conversation harness speak it.

It connects to `<llm_websocket_url>/{call_id}` as Retell does: reads the optional `config`, sends
`call_details`, waits for the begin message (`response_id` 0), then asks for responses with the whole
transcript so far, pings every couple of seconds and checks each echo. Whatever the server does that Retell
would drop or punish (a chunk under an old id, an action on a non-final chunk, `end_call` with a transfer, a
field of the wrong type, a close with 1000 that is not a hang-up) is recorded in `violations`, never raised:
a conversation report shows them all. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

RequestKind = Literal["response_required", "reminder_required"]
# Retell expects each ping echoed within about 5 s before it reconnects.
PING_ECHO_LIMIT_SECONDS = 5.0


class SocketClosed(Exception):
    """The server closed the socket (or it dropped) while we waited for something."""


class SocketTimeout(Exception):
    """The server did not answer in time."""


@dataclass
class AgentReply:
    """One response the server streamed under one `response_id`, put together."""

    response_id: int
    content: str = ""
    chunks: int = 0
    complete: bool = False
    end_call: bool = False
    transfer_number: str | None = None
    no_interruption_allowed: bool = False
    first_chunk_seconds: float | None = None

    @property
    def ends_call(self) -> bool:
        return self.end_call or self.transfer_number is not None


@dataclass
class _Pending:
    reply: AgentReply
    asked_at: float
    done: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)


def words_of(content: str, start: float) -> tuple[list[dict[str, Any]], float]:
    """Word timings as Retell sends them (`[{word, start, end}]`, seconds), about 3 words a second."""
    words: list[dict[str, Any]] = []
    clock = start
    for word in content.split():
        words.append({"word": word, "start": round(clock, 3), "end": round(clock + 0.28, 3)})
        clock += 0.33
    return words, clock + 0.4


class RetellSocket:
    """One call's LLM WebSocket, from Retell's end. Reconnects to the same call id on demand."""

    def __init__(
        self,
        base_url: str,
        call: dict[str, Any],
        *,
        timeout: float = 10.0,
        ping_interval: float = 2.0,
        open_timeout: float = 7.0,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/{call['call_id']}"
        self.call = call
        self.timeout = timeout
        self.ping_interval = ping_interval
        self.open_timeout = open_timeout
        self.violations: list[str] = []
        self.ping_rtts: list[float] = []
        self.update_agent: list[dict[str, Any]] = []
        self.agent_interrupts: list[dict[str, Any]] = []
        self.greetings = 0
        self.stale_chunks = 0
        self.connections = 0
        self.close_code: int | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._config: asyncio.Event = asyncio.Event()
        self._config_body: dict[str, Any] = {}
        self._pending: dict[int, _Pending] = {}
        self._completed: set[int] = set()
        self._newest_id = 0
        self._pings: dict[int, float] = {}
        self._closed = asyncio.Event()

    # -- opening ---------------------------------------------------------------------------------------

    async def connect(self, *, expect_greeting: bool = True) -> AgentReply | None:
        """Open (or reopen) the socket and start the call; the begin message, or None on a resumed call."""
        self._closed = asyncio.Event()
        self._config = asyncio.Event()
        try:
            self._ws = await asyncio.wait_for(connect(self.url, open_timeout=None), self.open_timeout)
        except TimeoutError as exc:
            raise SocketTimeout(f"opening {self._redacted()} took over {self.open_timeout} s") from exc
        self.connections += 1
        greeting = _Pending(AgentReply(response_id=0), time.perf_counter())
        if expect_greeting:
            self._pending[0] = greeting
        else:
            self._pending.pop(0, None)
            self._completed.discard(0)
        self._reader = asyncio.create_task(self._read())
        self._pinger = asyncio.create_task(self._ping())
        # `config` is optional; without it Retell sends no call_details. Wait for it a short while.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._config.wait(), min(self.timeout, 2.0))
        if not self._config.is_set():
            self.violations.append("no config message on connect")
        if self._config_body.get("call_details", False):
            await self._send({"interaction_type": "call_details", "call": self.call})
        if not expect_greeting:
            return None
        await self._wait(greeting, "the begin message")
        return greeting.reply

    # -- turns -----------------------------------------------------------------------------------------

    async def update_only(self, transcript: list[dict[str, Any]]) -> None:
        await self._send(
            {"interaction_type": "update_only", "transcript": transcript, "turntaking": "user_turn"}
        )

    def ask(self, transcript: list[dict[str, Any]], kind: RequestKind = "response_required") -> int:
        """Send a request without waiting (the caller may interrupt it); its response id."""
        self._newest_id += 1
        response_id = self._newest_id
        self._pending[response_id] = _Pending(AgentReply(response_id=response_id), time.perf_counter())
        task = asyncio.ensure_future(
            self._send({"interaction_type": kind, "response_id": response_id, "transcript": transcript})
        )
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        return response_id

    async def request(
        self, transcript: list[dict[str, Any]], kind: RequestKind = "response_required"
    ) -> AgentReply:
        """Ask for a response with the whole transcript and wait for its `content_complete`."""
        await self.update_only(transcript)
        response_id = self.ask(transcript, kind)
        return await self.wait_reply(response_id)

    async def wait_reply(self, response_id: int) -> AgentReply:
        pending = self._pending[response_id]
        await self._wait(pending, f"response {response_id}")
        return pending.reply

    async def first_chunk(self, response_id: int, wait_seconds: float) -> AgentReply:
        """The response so far, once its first chunk came (or after `wait_seconds`)."""
        pending = self._pending[response_id]
        if pending.reply.chunks == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pending.started.wait(), wait_seconds)
        return pending.reply

    # -- ending ----------------------------------------------------------------------------------------

    async def drop(self) -> None:
        """Lose the connection abruptly (no close frame): the server sees 1006, as when signal drops."""
        await self._stop_tasks()
        if self._ws is not None:
            self._ws.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.wait_closed(), 2)
        self._ws = None

    async def close(self, code: int = 1000) -> None:
        """Hang up: Retell closes with 1000 when the call ends."""
        self._check_pings(final=True)
        await self._stop_tasks()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code), 2)
        self._ws = None

    async def _stop_tasks(self) -> None:
        for task in (self._pinger, self._reader):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._pinger, self._reader) if t is not None), return_exceptions=True
        )
        self._pinger = self._reader = None

    # -- plumbing --------------------------------------------------------------------------------------

    def _redacted(self) -> str:
        # The URL carries the secret: log only its last part.
        return f".../{self.call['call_id']}"

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise SocketClosed("not connected")
        try:
            await asyncio.wait_for(self._ws.send(json.dumps(message)), self.timeout)
        except ConnectionClosed as exc:
            raise SocketClosed(f"closed with {exc.rcvd.code if exc.rcvd else 1006}") from exc

    async def _wait(self, pending: _Pending, what: str) -> None:
        waiter = asyncio.create_task(pending.done.wait())
        closed = asyncio.create_task(self._closed.wait())
        try:
            await asyncio.wait({waiter, closed}, timeout=self.timeout, return_when="FIRST_COMPLETED")
        finally:
            waiter.cancel()
            closed.cancel()
        if pending.done.is_set():
            return
        if self._closed.is_set():
            raise SocketClosed(f"closed with {self.close_code} while waiting for {what}")
        self.violations.append(f"no {what} within {self.timeout} s")
        raise SocketTimeout(f"no {what} within {self.timeout} s")

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            self._check_pings(final=False)
            stamp = int(time.time() * 1000)
            while stamp in self._pings:
                stamp += 1
            self._pings[stamp] = time.perf_counter()
            with contextlib.suppress(SocketClosed):
                await self._send({"interaction_type": "ping_pong", "timestamp": stamp})

    def _check_pings(self, *, final: bool) -> None:
        now = time.perf_counter()
        for stamp, sent in list(self._pings.items()):
            if now - sent > PING_ECHO_LIMIT_SECONDS:
                self.violations.append(f"ping {stamp} not echoed within {PING_ECHO_LIMIT_SECONDS:.0f} s")
                del self._pings[stamp]

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if isinstance(frame, bytes):
                    self.violations.append("binary frame from the server")
                    continue
                self._handle(frame)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is not None and self._ws.close_code is not None:
                self.close_code = self._ws.close_code
            self._closed.set()

    def _handle(self, frame: str) -> None:
        try:
            message = json.loads(frame)
        except json.JSONDecodeError:
            self.violations.append("a frame that is not JSON")
            return
        kind = message.get("response_type") if isinstance(message, dict) else None
        if kind == "config":
            config = message.get("config")
            if not isinstance(config, dict) or not all(isinstance(v, bool) for v in config.values()):
                self.violations.append(f"config of the wrong shape: {message!r}")
                config = {}
            self._config_body = config
            self._config.set()
        elif kind == "ping_pong":
            sent = self._pings.pop(message.get("timestamp"), None)
            if sent is None:
                self.violations.append("ping_pong echo of a timestamp never sent")
            else:
                self.ping_rtts.append(time.perf_counter() - sent)
        elif kind == "response":
            self._chunk(message)
        elif kind == "update_agent":
            self.update_agent.append(message.get("agent_config") or {})
        elif kind == "agent_interrupt":
            self.agent_interrupts.append(message)
        elif kind in ("metadata", "tool_call_invocation", "tool_call_result"):
            pass
        else:
            self.violations.append(f"message without a known response_type: {str(kind)[:40]}")

    def _chunk(self, message: dict[str, Any]) -> None:
        response_id = message.get("response_id")
        content = message.get("content")
        complete = message.get("content_complete")
        if not isinstance(response_id, int) or not isinstance(content, str) or not isinstance(complete, bool):
            self.violations.append(f"response chunk with a field of the wrong type: {str(message)[:120]}")
            return
        for name, kind in (("end_call", bool), ("no_interruption_allowed", bool), ("transfer_number", str)):
            if name in message and not isinstance(message[name], kind):
                self.violations.append(f"response {response_id}: {name} of the wrong type")
        if response_id == 0 and 0 not in self._pending:
            # A greeting on a resumed call, or a second one: Retell would say it again.
            self.greetings += 1
            self.violations.append("begin message sent again on a resumed call")
            return
        if response_id != 0 and response_id != self._newest_id:
            newer = self._pending.get(self._newest_id)
            if newer is not None and newer.reply.chunks > 0:
                # The server had already answered the newer request: it still spoke under the old id.
                self.violations.append(
                    f"content under response {response_id} after response {self._newest_id}"
                )
            else:
                self.stale_chunks += 1  # in flight when the newer request went out; Retell drops it
            return
        if response_id in self._completed:
            self.violations.append(f"content under response {response_id} after its content_complete")
            return
        pending = self._pending.get(response_id)
        if pending is None:
            self.violations.append(f"content under response {response_id}, which was never asked for")
            return
        reply = pending.reply
        if reply.chunks == 0:
            reply.first_chunk_seconds = time.perf_counter() - pending.asked_at
        reply.chunks += 1
        pending.started.set()
        reply.content += content
        end_call = message.get("end_call") is True
        transfer = message.get("transfer_number")
        if (end_call or transfer) and not complete:
            self.violations.append(f"response {response_id}: an action on a chunk that is not the last")
        if end_call and transfer:
            self.violations.append(f"response {response_id}: end_call and transfer_number together")
        if (end_call or transfer) and message.get("no_interruption_allowed") is not True:
            self.violations.append(f"response {response_id}: an action without no_interruption_allowed")
        reply.end_call = reply.end_call or end_call
        if isinstance(transfer, str) and transfer:
            reply.transfer_number = transfer
        reply.no_interruption_allowed = (
            reply.no_interruption_allowed or message.get("no_interruption_allowed") is True
        )
        if complete:
            reply.complete = True
            self._completed.add(response_id)
            if response_id == 0:
                self.greetings += 1
            pending.done.set()


async def closed_quietly(socket: RetellSocket) -> None:
    """Close, logging rather than raising: used in `finally` blocks."""
    try:
        await socket.close()
    except Exception as exc:
        logger.debug("closing the LLM socket failed: {}", type(exc).__name__)
