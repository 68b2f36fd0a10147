"""The FastAPI application: factory, lifespan, middleware and routers; `app` for uvicorn and `fastapi`."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from loguru import logger

from app import __version__
from app.api.dependencies import AppContext
from app.api.routes import (
    agent_config,
    audit,
    auth,
    call_reports,
    calls,
    dialing_policy,
    events,
    health,
    llm_websocket,
    users,
    webhooks,
)
from app.changes.broadcast import register_local
from app.config import Settings, get_settings
from app.conversation import policy as policy_module
from app.conversation.reader import build_live_reader
from app.conversation.session import Policy
from app.core.body_limit import BodyBudget, BodyLimitMiddleware
from app.core.database import (
    create_background_engine,
    create_engine,
    create_ingest_pool,
    create_session_maker,
    session_scope,
)
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging
from app.core.login_throttle import LoginThrottle
from app.core.migrations import upgrade_to_head
from app.core.request_id import RequestIdMiddleware
from app.core.security_headers import SecurityHeadersMiddleware
from app.extraction.factory import build_extractor
from app.ingest import deliveries
from app.jobs import post_processing
from app.retell.factory import build_retell_gateway
from app.retell.webhook import MAX_BODY_BYTES as WEBHOOK_MAX_BODY_BYTES
from app.services import agent_configs
from app.services import users as users_service
from app.services.trigger_limit import TriggerLimit
from app.streams import call_events

DESCRIPTION = """\
Backend of the dispatch voice agent: configure the agent, start test calls to drivers,
take Retell's signed webhooks, and read each call's structured summary beside its transcript.

Log in with **Authorize** (email and password) to try the `/api` routes.
Every error is an `ErrorBody`: `{"error": "CallNotFound", "detail": "..."}`, and for a 422
`detail` lists each invalid field as `{"field", "message"}`.
"""


def operation_id(route: APIRoute) -> str:
    """`calls-list_calls`: what generated clients name their methods after."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(
    settings: Settings | None = None, *, conversation_policy: Policy | ModuleType = policy_module
) -> FastAPI:
    """The app; `conversation_policy` is the dialogue the LLM WebSocket runs (tests inject a scripted one)."""
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if settings.secret_key_from_file:
            logger.info(
                "SECRET_KEY is not set: using the development key kept in {}", settings.dev_secret_key_file
            )
        if settings.environment == "development":
            # A fresh clone serves at once with `uvicorn app.main:app` or `fastapi dev`; production
            # migrates as a deploy step (the Docker image runs `alembic upgrade head` first).
            await upgrade_to_head(settings.database_url)
        engine = create_engine(settings)
        session_maker = create_session_maker(engine)
        ingest_pool = await create_ingest_pool(settings)
        async with session_scope(session_maker) as session:
            await users_service.ensure_first_admin(session, settings=settings)
            await agent_configs.seed_default_config(session)
            if settings.llm_websocket_url is None and await agent_configs.has_custom_llm_config(session):
                await engine.dispose()
                raise RuntimeError(
                    "refusing to start: a custom_llm agent configuration exists but LLM_WEBSOCKET_SECRET is "
                    "not set, so Retell could not reach the conversation engine"
                )
        fan_out = await call_events.start_fan_out(settings, engine, session_maker)
        stream_reads = call_events.StreamReads(session_maker)
        retell = build_retell_gateway(settings)
        extractor = build_extractor(settings)
        live_reader = build_live_reader(settings)
        logger.info(
            "started: database {}, Retell {}, extractor {}, engine reader {}",
            engine.url.get_backend_name(),
            retell.mode,
            extractor.name if extractor else "not configured",
            f"llm ({settings.engine_llm_budget_ms} ms budget)" if live_reader else "rules",
        )
        # Extraction runs in its own lane: a bounded queue, a fixed number of workers, a pool of their own.
        background_engine = create_background_engine(settings, engine)
        background_maker = session_maker
        if background_engine is not engine:
            background_maker = create_session_maker(background_engine)
            if settings.is_sqlite:  # SQLite announces changes after local commits, on either engine
                register_local(background_engine.sync_engine, fan_out.broadcaster)
        extraction_queue = post_processing.ExtractionQueue(
            session_maker=background_maker, extractor=extractor, settings=settings, ingest_pool=ingest_pool
        )
        # Every process sweeps for calls a dead or cut-off process left mid-extraction: no restart needed.
        sweeper = post_processing.ExtractionSweeper(
            session_maker=background_maker, extractor=extractor, settings=settings, queue=extraction_queue
        )
        login_throttle = LoginThrottle(settings)
        trigger_limit = TriggerLimit(settings)
        sweeping = asyncio.create_task(sweeper.run_forever())
        # What start-up built lives as long as the process: leave it out of the collector's full passes,
        # which otherwise re-scan it and pause every request in flight for tens of milliseconds.
        gc.freeze()
        try:
            scheduler = post_processing.ExtractionScheduler(
                background_maker, extractor, settings, ingest_pool, extraction_queue
            )
            yield {
                "context": AppContext(
                    settings,
                    session_maker,
                    retell,
                    extractor,
                    scheduler,
                    login_throttle,
                    fan_out.broadcaster,
                    deliveries.DeliveryRecorder(session_maker, ingest_pool),
                    trigger_limit,
                    stream_reads,
                    conversation_policy,
                    live_reader,
                )
            }
        finally:
            await fan_out.aclose()
            await stream_reads.aclose()
            login_throttle.close()
            trigger_limit.close()
            sweeping.cancel()
            await asyncio.gather(sweeping, return_exceptions=True)
            await sweeper.aclose()
            await extraction_queue.aclose()
            await retell.aclose()
            if extractor is not None:
                await extractor.aclose()
            if live_reader is not None:
                await live_reader.aclose()
            if ingest_pool is not None:
                await ingest_pool.close()
            if background_engine is not engine:
                await background_engine.dispose()
            await engine.dispose()

    app = FastAPI(
        title="Dispatch Voice Agent API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # Off in production when the schema must not be public (DOCS_ENABLED=false): both are 404s.
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    # Innermost of the four: a 413 or 503 still gets CORS headers, a request id and security headers.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        overrides={"/webhook/": WEBHOOK_MAX_BODY_BYTES},  # a long call's transcript runs to megabytes
        budget=BodyBudget(settings.max_body_bytes_in_flight, wait_seconds=settings.body_budget_wait_seconds),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID"],
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    # The webhook first: routes are matched in order, and it is the route hit most.
    # call_reports before calls: `/api/call/stats` must not be read as `/api/call/{call_id}`.
    for module in (
        webhooks,
        llm_websocket,
        health,
        auth,
        users,
        audit,
        dialing_policy,
        agent_config,
        call_reports,
        calls,
        events,
    ):
        app.include_router(module.router)
    return app


# `uvicorn app.main:app`, `fastapi run`, `fastapi dev`: settings from the environment. Tests call create_app.
app = create_app()
