"""What the access log keeps: one line per request, none for a delivery the app already logged, no tokens."""

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from loguru import logger

from app.config import Settings
from app.core.logging import AccessLogFilter, sink_options
from app.main import create_app


def access_record(path: str, status: int) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "POST", path, "1.1", status),
        None,
    )


def test_an_acknowledged_delivery_has_no_access_line_beside_the_apps_own() -> None:
    assert not AccessLogFilter().filter(access_record("/webhook/retell", 204))


@pytest.mark.parametrize("status", [400, 401, 413, 503])
def test_a_refused_delivery_keeps_its_access_line(status: int) -> None:
    assert AccessLogFilter().filter(access_record("/webhook/retell", status))


def test_other_routes_keep_their_access_lines() -> None:
    assert AccessLogFilter().filter(access_record("/api/call", 200))
    assert AccessLogFilter().filter(access_record("/webhook/retell/other", 204))


def test_a_stream_token_in_the_query_string_is_redacted() -> None:
    record = access_record("/api/events?token=eyJsecret&x=1", 200)
    assert AccessLogFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:50000 - "POST /api/events?token=[redacted]&x=1 HTTP/1.1" 200'


def _log_an_exception_with_a_header_in_scope(options: dict[str, Any]) -> str:
    lines: list[str] = []
    sink = logger.add(lines.append, **(options | {"format": "{message}"}))
    try:
        authorization = "Bearer eyJsecret-token-value"  # a frame local, as a request's headers are

        def handle() -> None:
            raise RuntimeError("failed with a header of this length:", len(authorization))

        try:
            handle()
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.remove(sink)
    return "".join(lines)


@pytest.mark.parametrize("environment", ["production", "test"])
def test_tracebacks_outside_development_show_no_local_values(environment: str) -> None:
    settings = Settings(_env_file=None, environment=environment, secret_key="s" * 40)  # type: ignore[call-arg]
    text = _log_an_exception_with_a_header_in_scope(sink_options(settings))
    assert "RuntimeError" in text and "request failed" in text
    assert "eyJsecret" not in text


def test_development_tracebacks_show_locals_so_the_check_above_can_fail() -> None:
    settings = Settings(_env_file=None, environment="development", secret_key="s" * 40)  # type: ignore[call-arg]
    assert "eyJsecret" in _log_an_exception_with_a_header_in_scope(sink_options(settings))


async def test_a_client_that_leaves_mid_body_is_one_warning_line(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings())
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG", format="{level} {message}")
    signature = f"v={int(time.time() * 1000)},d={'0' * 64}".encode()  # plausible: the body gets read
    messages = [{"type": "http.request", "body": b"{" * 1000, "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhook/retell",
        "raw_path": b"/webhook/retell",
        "query_string": b"",
        "headers": [(b"content-length", b"100000"), (b"x-retell-signature", signature)],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    try:
        async with LifespanManager(app) as manager:
            lines.clear()  # start-up lines are not the request's
            await manager.app(scope, receive, send)  # type: ignore[arg-type]
    finally:
        logger.remove(sink)
    request_lines = [line for line in lines if "shutdown" not in line.lower() and "stopp" not in line.lower()]
    assert len(request_lines) == 1, request_lines
    assert request_lines[0].startswith("WARNING client left before its request body was read")
    assert "Traceback" not in "".join(lines)
