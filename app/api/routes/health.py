"""Liveness and readiness probes: readiness answers within a second or so whatever the database does."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy import text

from app import __version__
from app.api.dependencies import ContextDep
from app.api.roles import public
from app.core.database import SessionMaker
from app.schemas.health import Liveness, Readiness

router = APIRouter(prefix="/health", tags=["health"])

# A probe must answer quickly whatever the database does (orchestrators give up after a few seconds).
READINESS_TIMEOUT_SECONDS = 1.0
# Checks still running after their probe answered: they end by the database timeouts, never hang.
_checks_in_flight: set[asyncio.Task[None]] = set()


@router.get("")
@public
async def liveness() -> Liveness:
    """The process is up."""
    return Liveness(status="ok", version=__version__)


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database is unreachable or not answering"}},
)
@public
async def readiness(context: ContextDep) -> Readiness | JSONResponse:
    """The database answers within 1 s; also reports which Retell and extractor modes are in use."""
    body = Readiness(
        status="ok",
        database="ok",
        retell_mode=context.retell.mode,
        extractor=context.extractor.name if context.extractor else "not configured",
        version=__version__,
    )
    check = asyncio.create_task(_select_one(context.session_maker))
    _checks_in_flight.add(check)
    check.add_done_callback(_forget)
    try:
        # shield: cutting the check short mid-query would cost more (a connection torn down) than
        # letting it finish by its own timeouts in the background.
        await asyncio.wait_for(asyncio.shield(check), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("readiness check: the database did not answer within {} s", READINESS_TIMEOUT_SECONDS)
        return _unavailable("timeout", body)
    except Exception as exc:  # any driver error means "not ready"; the probe must answer, not crash
        logger.warning("readiness check failed: {}", type(exc).__name__)
        return _unavailable("unreachable", body)
    return body


async def _select_one(session_maker: SessionMaker) -> None:
    async with session_maker() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


def _forget(check: asyncio.Task[None]) -> None:
    _checks_in_flight.discard(check)
    if not check.cancelled():
        check.exception()  # retrieved: a check that failed after its probe answered is not an error


def _unavailable(reason: str, body: Readiness) -> JSONResponse:
    down = body.model_copy(update={"status": "unavailable", "database": reason})
    return JSONResponse(down.model_dump(), status_code=503, headers={"Retry-After": "5"})
