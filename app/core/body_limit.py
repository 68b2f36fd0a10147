"""Request bodies bounded while they are read: each one (413), and all of them at once (503).

Pure ASGI, so nothing is buffered here: the route reads the body, this counts what it reads.
"""

import asyncio
import json
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_body


class BodyTooLarge(HTTPException):
    """Raised into the app when the body passes the cap; FastAPI lets an HTTPException through unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body may be at most {_readable(limit)}")


class BodyBudgetExhausted(HTTPException):
    """Raised into the app when no room frees up in time for its body; the 503 is already sent."""

    def __init__(self) -> None:
        super().__init__(status_code=503, detail="too many request bodies are being read: retry shortly")


class BodyBudget:
    """Bytes of request bodies being read at once in this process; a reader waits for room, boundedly.

    One event loop only (the process's), so no lock: checks and updates never interleave with an await.
    """

    def __init__(self, total: int, *, wait_seconds: float) -> None:
        self.total = total
        self.free = total
        self.wait_seconds = wait_seconds
        self._released = asyncio.Event()

    async def acquire(self, size: int) -> bool:
        size = min(size, self.total)
        deadline = time.monotonic() + self.wait_seconds
        while self.free < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            released = self._released
            try:
                await asyncio.wait_for(released.wait(), remaining)
            except TimeoutError:
                return False
        self.free -= size
        return True

    def release(self, size: int) -> None:
        if size:
            self.free = min(self.total, self.free + size)
            self._released.set()
            self._released = asyncio.Event()


class BodyLimitMiddleware:
    """Answer 413 (JSON) for a body over the cap, without reading more of it than the cap.

    A declared `Content-Length` over the cap is refused before the app runs at all; a chunked or
    understated body is counted as it is received and refused as soon as it passes the cap.
    Pure ASGI, so nothing is buffered here. `overrides` maps a path prefix to its own cap.

    With a `budget`, the bytes being read are also bounded across all requests: a declared body
    reserves its length before its first byte is read (a chunked one, chunk by chunk), and gives it
    back when its request ends. No room within the budget's wait: 503 with Retry-After.
    A response that starts before its request's body was read says `connection: close`: what the
    client still sends is never read, and the connection is not reused.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        overrides: dict[str, int] | None = None,
        budget: BodyBudget | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}
        self.budget = budget

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(send, limit)
            return

        budget = self.budget
        has_body = bool(declared) or _header(scope, b"transfer-encoding") is not None
        received = 0
        reserved = 0
        body_complete = not has_body
        response_started = False
        refused = False

        async def refuse_for_budget() -> None:
            nonlocal refused
            if not response_started and not refused:
                refused = True
                await _send_busy(send)
            raise BodyBudgetExhausted

        async def capped_receive() -> Message:
            nonlocal received, refused, reserved, body_complete
            if budget is not None and declared and not reserved:
                if not await budget.acquire(declared):
                    await refuse_for_budget()
                reserved = declared
            message = await receive()
            if message["type"] == "http.request":
                chunk = len(message.get("body", b""))
                received += chunk
                if not message.get("more_body", False):
                    body_complete = True
                if received > limit:
                    if not response_started and not refused:
                        refused = True
                        await _send_too_large(send, limit)
                    raise BodyTooLarge(limit)
                if budget is not None and received > reserved:  # chunked, or more than declared
                    extra = received - reserved
                    if not await budget.acquire(extra):
                        await refuse_for_budget()
                    reserved += extra
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # the 413 is already on the wire; whatever the app answers after it is dropped
            if message["type"] == "http.response.start":
                response_started = True
                if not body_complete:
                    # The body is left unread: the connection cannot be reused, say so.
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except (BodyTooLarge, BodyBudgetExhausted):
            if not refused:
                raise
        finally:
            if budget is not None:
                budget.release(reserved)


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps(error_body("PayloadTooLarge", BodyTooLarge(limit).detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            # The rest of the body is never read: tell the client this connection is done.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Seconds a client should wait before sending its body again when the budget is full.
RETRY_AFTER_SECONDS = 2


async def _send_busy(send: Send) -> None:
    body = json.dumps(error_body("ServiceUnavailable", BodyBudgetExhausted().detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _readable(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000} MB"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000} kB"
    return f"{size} bytes"
