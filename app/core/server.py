"""uvicorn's httptools protocol with the three bounds it lacks: connections, header size, read time.

uvicorn as it ships (0.30 to 0.55) caps none of them: httptools buffers a header line of any length,
a connection that sends a byte every few seconds is never cut, and `--limit-concurrency` answers 503
per request but still accepts (and reads from) every connection. `python -m app.serve` runs this
protocol; `fastapi run` and a bare `uvicorn app.main:app` do not (development only).

- More than `MAX_CONNECTIONS` open connections in this process: a new one is closed at once.
- A request line plus headers over `MAX_REQUEST_HEADER_BYTES`: 431 and the connection is closed.
- A request (line, headers and body) not received whole within `REQUEST_READ_TIMEOUT_SECONDS` of its
  first byte, or of the connection opening: the connection is closed; a route still reading its body
  sees the client leave. Once a request is whole, the timer stops: long responses (the live streams)
  are not cut, and keep-alive idling is uvicorn's `--timeout-keep-alive`.
"""

import asyncio
import time

from loguru import logger
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import get_settings

# At most one log line per kind of refusal in this many seconds, with the count since the last one:
# a flood of refused connections is a few lines, not one per connection.
LOG_EVERY_SECONDS = 10.0


class _Throttled:
    def __init__(self, message: str) -> None:
        self.message = message
        self.count = 0
        self.last = 0.0

    def __call__(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_SECONDS:
            logger.warning("{} ({} since the last line)", self.message, self.count)
            self.count, self.last = 0, now


_too_many = _Throttled("refused a connection: MAX_CONNECTIONS reached in this process")
_headers_too_large = _Throttled("refused a request whose headers exceed MAX_REQUEST_HEADER_BYTES (431)")
_too_slow = _Throttled("closed a connection whose request was not whole within REQUEST_READ_TIMEOUT_SECONDS")

_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b'connection: close\r\ncontent-length: 92\r\n\r\n{"error": "HeadersTooLarge", '
    b'"detail": "the request line and headers are too large to be read"}'
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        settings = get_settings()
        self.max_connections = settings.max_connections
        self.max_header_bytes = settings.max_request_header_bytes
        self.read_timeout = settings.request_read_timeout_seconds
        self.read_deadline: asyncio.TimerHandle | None = None
        self.reading_headers = False
        self.header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # `connections` holds this process's open connections (the server's shared set).
        if len(self.connections) >= self.max_connections:
            _too_many()
            self.transport = transport
            transport.abort()
            return
        super().connection_made(transport)
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        if self.flow is None:  # refused in connection_made: uvicorn never knew it
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.flow is None:
            return
        super().data_received(data)
        if self.reading_headers and not self.transport.is_closing():
            self.header_bytes += len(data)
            if self.header_bytes > self.max_header_bytes:
                _headers_too_large()
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()

    # httptools' callbacks: a request begins, its headers end, its body ends.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_headers = True
        self.header_bytes = 0
        if self.read_deadline is None:
            self._arm_read_deadline()

    def on_headers_complete(self) -> None:
        self.reading_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm_read_deadline()
        super().on_message_complete()

    def _arm_read_deadline(self) -> None:
        self._disarm_read_deadline()
        self.read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm_read_deadline(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def _read_timed_out(self) -> None:
        self.read_deadline = None
        if not self.transport.is_closing():
            _too_slow()
            self.transport.close()
