"""Loguru set up once: one line per event, the request id bound, JSON on demand."""

import logging
import re
import sys
from typing import Any

from loguru import logger

from app.config import Settings
from app.core.request_id import request_id

_configured = False


# Stream tokens travel in the query string (EventSource cannot send headers): never in a log line.
_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s\"]*")


def redact_tokens(text: str) -> str:
    return _TOKEN_IN_URL.sub(r"\1[redacted]", text)


WEBHOOK_PATH = "/webhook/retell"


class AccessLogFilter(logging.Filter):
    """The access log's request lines, before any handler (ours or uvicorn's) formats them.

    - A stream token in the query string is redacted.
    - An acknowledged webhook delivery is left out: the app already logs one line for it, with the
      request id, the event, the call and its status. A refused one keeps its line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # uvicorn's: client, method, path, version, status
            path, status = args[2], args[4]
            if path == WEBHOOK_PATH and isinstance(status, int) and 200 <= status < 300:
                return False
        if "token=" not in str(args):  # most lines: nothing to redact
            return True
        if isinstance(args, tuple):
            record.args = tuple(redact_tokens(a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        return True


class _InterceptHandler(logging.Handler):
    """Route the standard library's records (uvicorn, sqlalchemy, alembic) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def _bind_request_id(record: Any) -> None:
    record["extra"].setdefault("request_id", request_id.get() or "-")


LINE_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "[{extra[request_id]}] <cyan>{name}</cyan> {message}"
)


def sink_options(settings: Settings) -> dict[str, Any]:
    """How each line is written. Tracebacks show local variables (loguru's `diagnose`) only in
    development: elsewhere a frame's locals can hold a request's headers, a token or a password."""
    options: dict[str, Any] = {
        "level": settings.log_level.upper(),
        "diagnose": settings.environment == "development",
        "backtrace": False,
    }
    if settings.log_json:
        return options | {"serialize": True}
    return options | {"format": LINE_FORMAT}


def configure_logging(settings: Settings) -> None:
    global _configured
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in access.filters):
        access.addFilter(AccessLogFilter())
    if _configured:
        return
    _configured = True
    logger.remove()
    logger.configure(patcher=_bind_request_id)
    logger.add(sys.stderr, **sink_options(settings))
    logging.basicConfig(handlers=[_InterceptHandler()], level=settings.log_level.upper(), force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "sqlalchemy.engine"):
        std = logging.getLogger(name)
        std.handlers = [_InterceptHandler()]
        std.propagate = False
    # httpx logs every request at INFO, full URLs included; keep that at DEBUG.
    logging.getLogger("httpx").setLevel(logging.WARNING)
