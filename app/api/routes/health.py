"""Liveness and readiness probes."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy import text

from app.api.dependencies import ContextDep
from app.core.database import SessionMaker

router = APIRouter(prefix="/health", tags=["health"])

# A probe must answer quickly whatever the database does (orchestrators give up after a few seconds).
READINESS_TIMEOUT_SECONDS = 1.5
# Checks still running after their probe answered: they end by the database timeouts, never hang.
_checks_in_flight: set[asyncio.Task[None]] = set()


@router.get("")
async def liveness() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable or not answering"}})
async def readiness(context: ContextDep) -> JSONResponse:
    """The database answers within 1.5 s; also reports which Retell and extractor modes are in use."""
    body: dict[str, str] = {
        "retell_mode": context.retell.mode,
        "extractor": context.extractor.name if context.extractor else "not configured",
    }
    check = asyncio.create_task(_select_one(context.session_maker))
    _checks_in_flight.add(check)
    check.add_done_callback(_forget)
    # shield: cutting the check short mid-query would cost more (a connection torn down) than letting
    # it finish by its own timeouts in the background.
    try:
        await asyncio.wait_for(asyncio.shield(check), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("readiness check: the database did not answer within {} s", READINESS_TIMEOUT_SECONDS)
        return _unavailable("timeout", body)
    except Exception as exc:  # any driver error means "not ready"; the probe must answer, not crash
        logger.warning("readiness check failed: {}", type(exc).__name__)
        return _unavailable("unreachable", body)
    return JSONResponse({"status": "ok", "database": "ok", **body})


async def _select_one(session_maker: SessionMaker) -> None:
    async with session_maker() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


def _forget(check: asyncio.Task[None]) -> None:
    _checks_in_flight.discard(check)
    if not check.cancelled():
        check.exception()  # retrieved: a late failure was already reported as "not ready"


def _unavailable(reason: str, body: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "database": reason, **body}, status_code=503, headers={"Retry-After": "5"}
    )
