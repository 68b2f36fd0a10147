"""A request id on every request: taken from `X-Request-ID` when it is a sane token, else made; bound to
every log line of the request and echoed in the response. Pure ASGI: it costs a header lookup and a
context variable, nothing per message but the response's first.
"""

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
# An id a client or proxy sends is kept if it could not smuggle anything into a log line or a header.
_ACCEPTABLE = re.compile(rb"[A-Za-z0-9._-]{8,64}")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        raw = given if given is not None and _ACCEPTABLE.fullmatch(given) else uuid.uuid4().hex.encode()
        token = request_id.set(raw.decode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, raw)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
