"""Domain errors with their HTTP status, rendered by one handler as {"error", "detail"}."""

import random
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from app.core.database import is_database_unavailable

# What a 503 for a database outage tells the client (and Retell) to wait before trying again.
DATABASE_RETRY_AFTER_SECONDS = 5


class AppError(Exception):
    """Base of every expected failure; the class name is the `error` the client sees."""

    status_code = 400
    headers: dict[str, str] | None = None  # e.g. Retry-After on a 429

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    status_code = 401


class ServiceUnavailable(AppError):
    status_code = 503


class StreamUnavailable(AppError):
    """A live stream could not open because the database did not answer.

    Answered 200 with `retry:` and closed, never a 503: a browser's EventSource gives up for good on
    any non-200, but reconnects by itself after a stream that closes. The delay is spread out, so the
    tabs of a whole office do not all come back in the same second.
    """

    status_code = 200
    RETRY_MILLISECONDS = (5000, 10000)

    @classmethod
    def retry_milliseconds(cls) -> int:
        return random.randint(*cls.RETRY_MILLISECONDS)  # jitter, not a secret


class UpstreamError(AppError):
    """An outside service (Retell, OpenAI) failed; its message is passed on."""

    status_code = 502


def error_body(error: str, detail: object) -> dict[str, object]:
    return {"error": error, "detail": detail}


async def _app_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    logger.info("request failed: {} ({})", type(exc).__name__, exc.detail)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else exc.headers
    return JSONResponse(
        error_body(type(exc).__name__, exc.detail), status_code=exc.status_code, headers=headers
    )


async def _stream_unavailable_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StreamUnavailable)
    retry = StreamUnavailable.retry_milliseconds()
    logger.warning("stream told to come back in {} ms: {}", retry, exc.detail)
    return Response(
        f": {exc.detail}\nretry: {retry}\n\n",
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store"},
    )


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(part) for part in err["loc"] if part != "body"), "message": err["msg"]}
        for err in exc.errors()
    ]
    return JSONResponse(error_body("ValidationError", errors), status_code=422)


async def _http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error = HTTPStatus(exc.status_code).phrase.replace(" ", "") if exc.status_code in _KNOWN else "HTTPError"
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(error_body(error, detail), status_code=exc.status_code, headers=exc.headers)


_KNOWN = {status.value for status in HTTPStatus}


async def _database_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if sqlstate.startswith("22"):  # SQL "data exception": a value the column cannot hold
        return JSONResponse(
            error_body(
                "InvalidValue", "a value in the request cannot be stored (a NUL character, or out of range)"
            ),
            status_code=422,
        )
    if is_database_unavailable(exc):
        # Down, hung (a timeout) or overloaded: the client, and Retell, should simply try again.
        logger.error("database unavailable: {}", type(orig).__name__)
        return JSONResponse(
            error_body("DatabaseUnavailable", "the database did not answer; try again"),
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    # Anything else is a bug: keep the traceback (parameters are hidden by the engine).
    logger.opt(exception=exc).error("unexpected database error")
    return JSONResponse(error_body("InternalError", "an unexpected database error occurred"), status_code=500)


async def _client_disconnect_handler(request: Request, _exc: Exception) -> Response:
    # The client left (or was cut off for being too slow) while its body was read: nobody is there to
    # answer, and no traceback helps. One line; the status only reaches the access log.
    logger.warning("client left before its request body was read: {} {}", request.method, request.url.path)
    return Response(status_code=499)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_disconnect_handler)
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(StreamUnavailable, _stream_unavailable_handler)
    app.add_exception_handler(DBAPIError, _database_error_handler)
    # A refused connection surfaces from the driver as a plain OSError, a hung database as a TimeoutError
    # (statement or connect timeout) or SQLAlchemy's TimeoutError (no pooled connection freed in time).
    for error in (OSError, TimeoutError, PoolTimeout):
        app.add_exception_handler(error, _database_error_handler)
    app.add_exception_handler(HTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)


class FieldError(BaseModel):
    """One invalid input of a 422."""

    field: str = Field(
        description="Where the input is: a body field (`phone_number`, `context.origin`), "
        "or `query.<name>` / `path.<name>`."
    )
    message: str = Field(description="What is wrong with it, in words.")


class ErrorBody(BaseModel):
    """Every error the API answers, whatever the status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": "CallNotFound", "detail": "call 6f1c… does not exist"},
                {
                    "error": "ValidationError",
                    "detail": [{"field": "phone_number", "message": "Value error, not a phone number"}],
                },
            ]
        }
    )

    error: str = Field(
        description="The error's name, stable enough to branch on: `CallNotFound`, `ValidationError`, "
        "`Unauthorized`, `DatabaseUnavailable`, …"
    )
    detail: str | list[FieldError] = Field(
        description="What went wrong, for people; a 422 (`ValidationError`) lists every invalid field."
    )


_DESCRIPTIONS = {
    400: "Malformed request: a body that is not JSON (or not a form), or a cursor this API did not give",
    401: "Missing or invalid credentials",
    403: "Your role does not allow this (`admin` > `dispatcher` > `viewer`)",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is too large",
    429: "Too many attempts; `Retry-After` says when to try again",
    422: "Invalid input; `detail` names each field",
    502: "Retell or the LLM failed; `detail` carries its message",
    503: "Not configured, or the database did not answer",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error codes a route can answer."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def json_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The same entries for a route whose success is not JSON (a stream): its errors still are."""
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}
        for code in codes
    }
