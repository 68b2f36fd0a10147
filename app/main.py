"""The FastAPI application: factory, lifespan, middleware and routers."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from loguru import logger

from app.api.dependencies import AppContext
from app.api.routes import agent_config, auth, calls, events, health, webhooks
from app.config import Settings, get_settings
from app.core.database import create_engine, create_session_maker, session_scope
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging
from app.extraction.factory import build_extractor
from app.retell.factory import build_retell_gateway
from app.services import agent_configs, call_events, post_processing, users
from app.services.calls import STALE_EXTRACTION

DESCRIPTION = """\
Backend of the dispatch voice agent: configure the agent, start test calls to drivers,
take Retell's signed webhooks, and read each call's structured summary beside its transcript.

Log in with **Authorize** (email and password) to try the `/api` routes.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if settings.secret_key_generated:
            logger.warning(
                "SECRET_KEY is not set: using a random key, so logins end when the server restarts"
            )
        engine = create_engine(settings)
        session_maker = create_session_maker(engine)
        async with session_scope(session_maker) as session:
            await users.ensure_first_admin(session, settings=settings)
            await agent_configs.seed_default_config(session)
        fan_out = await call_events.start_fan_out(settings, engine, session_maker)
        retell = build_retell_gateway(settings)
        extractor = build_extractor(settings)
        logger.info(
            "started: database {}, Retell {}, extractor {}",
            engine.url.get_backend_name(),
            retell.mode,
            extractor.name if extractor else "not configured",
        )
        recovery = asyncio.create_task(
            post_processing.recover_pending(
                session_maker=session_maker,
                extractor=extractor,
                settings=settings,
                stale_after=STALE_EXTRACTION,
            )
        )
        try:
            scheduler = post_processing.ExtractionScheduler(session_maker, extractor, settings)
            context = AppContext(settings, session_maker, retell, extractor, scheduler, fan_out.broadcaster)
            yield {"context": context}
        finally:
            await fan_out.aclose()
            recovery.cancel()
            await asyncio.gather(recovery, return_exceptions=True)
            await retell.aclose()
            if extractor is not None:
                await extractor.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Dispatch Voice Agent API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID"],
    )
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    install_error_handlers(app)
    for module in (health, auth, agent_config, calls, events, webhooks):
        app.include_router(module.router)
    return app
