"""Liveness and readiness probes."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy import text

from app.api.dependencies import ContextDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def liveness() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable"}})
async def readiness(context: ContextDep) -> JSONResponse:
    """The database answers; also reports which Retell and extractor modes are in use."""
    body: dict[str, str] = {
        "retell_mode": context.retell.mode,
        "extractor": context.extractor.name if context.extractor else "not configured",
    }
    try:
        async with context.session_maker() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # any driver error means "not ready"; the probe must answer, not crash
        logger.warning("readiness check failed: {}", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable", **body}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", **body})
