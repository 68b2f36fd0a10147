"""What the access log keeps: one line per request, none for a delivery the app already logged, no tokens."""

import logging

import pytest

from app.core.logging import AccessLogFilter


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
