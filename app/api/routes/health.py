"""Liveness and readiness probes."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy import text

from app import __version__
from app.api.dependencies import ContextDep
from app.schemas.health import Liveness, Readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def liveness() -> Liveness:
    """The process is up."""
    return Liveness(status="ok", version=__version__)


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database is unreachable"}},
)
async def readiness(context: ContextDep) -> Readiness | JSONResponse:
    """The database answers; also reports which Retell and extractor modes are in use."""
    body = Readiness(
        status="ok",
        database="ok",
        retell_mode=context.retell.mode,
        extractor=context.extractor.name if context.extractor else "not configured",
        version=__version__,
    )
    try:
        async with context.session_maker() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # any driver error means "not ready"; the probe must answer, not crash
        logger.warning("readiness check failed: {}", type(exc).__name__)
        down = body.model_copy(update={"status": "unavailable", "database": "unreachable"})
        return JSONResponse(down.model_dump(), status_code=503)
    return body
