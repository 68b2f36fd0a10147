"""Dependency aliases: every route reads what it needs from its signature."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.changes.broadcast import Broadcaster
from app.config import Settings
from app.conversation import policy as policy_module
from app.conversation.session import Policy
from app.conversation.understanding import LiveReader
from app.core.database import SessionMaker, session_scope
from app.core.errors import Unauthorized
from app.core.login_throttle import LoginThrottle
from app.core.security import TokenClaims, decode_access_token, decode_stream_token
from app.extraction import Extractor
from app.ingest.deliveries import DeliveryRecorder
from app.jobs.post_processing import ExtractionScheduler
from app.models import User
from app.retell import RetellGateway
from app.retell.webhook import Delivery, read_verified_delivery
from app.services import users
from app.services.trigger_limit import TriggerLimit
from app.streams.call_events import CallChange, StreamReads


@dataclass
class AppContext:
    """Process-wide resources built once by the lifespan and closed on shutdown.

    The getters below are `async def` on purpose: FastAPI runs a plain `def` dependency in the thread
    pool, which costs more than the lookup itself on every request.
    """

    settings: Settings
    session_maker: SessionMaker
    retell: RetellGateway
    extractor: Extractor | None
    scheduler: ExtractionScheduler
    login_throttle: LoginThrottle
    broadcaster: Broadcaster[CallChange]
    recorder: DeliveryRecorder
    trigger_limit: TriggerLimit
    stream_reads: StreamReads
    # The dialogue the LLM WebSocket runs: the real policy, or a scripted one a test injects.
    conversation_policy: Policy | ModuleType = policy_module
    # The engine's LLM reader when OPENAI_API_KEY is set; None runs every turn on rules alone.
    live_reader: LiveReader | None = None


async def get_context(request: Request) -> AppContext:
    context: AppContext = request.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_settings_dep(context: ContextDep) -> Settings:
    return context.settings


async def get_retell(context: ContextDep) -> RetellGateway:
    return context.retell


async def get_session_maker(context: ContextDep) -> SessionMaker:
    return context.session_maker


async def get_scheduler(context: ContextDep) -> ExtractionScheduler:
    return context.scheduler


async def get_login_throttle(context: ContextDep) -> LoginThrottle:
    return context.login_throttle


async def get_trigger_limit(context: ContextDep) -> TriggerLimit:
    return context.trigger_limit


async def get_broadcaster(context: ContextDep) -> Broadcaster[CallChange]:
    return context.broadcaster


async def get_stream_reads(context: ContextDep) -> StreamReads:
    return context.stream_reads


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed after the handler and before the response is sent."""
    async with session_scope(context.session_maker) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RetellDep = Annotated[RetellGateway, Depends(get_retell)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SessionMakerDep = Annotated[SessionMaker, Depends(get_session_maker)]
SchedulerDep = Annotated[ExtractionScheduler, Depends(get_scheduler)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
TriggerLimitDep = Annotated[TriggerLimit, Depends(get_trigger_limit)]
BroadcasterDep = Annotated[Broadcaster[CallChange], Depends(get_broadcaster)]
StreamReadsDep = Annotated[StreamReads, Depends(get_stream_reads)]


async def read_delivery(request: Request, context: ContextDep) -> Delivery:
    """A Retell delivery read capped and verified on its raw body; refused before anything is stored."""
    return await read_verified_delivery(request, key=context.retell.webhook_key)


VerifiedDelivery = Annotated[Delivery, Depends(read_delivery)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token")


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], session: SessionDep, settings: SettingsDep
) -> User:
    assert settings.secret_key is not None
    claims = decode_access_token(token, secret_key=settings.secret_key)
    return await _user_of(session, claims, refusal="the access token is invalid or expired; log in again")


async def _user_of(session: AsyncSession, claims: TokenClaims | None, *, refusal: str) -> User:
    """The active user a valid token names, or 401 with `refusal`. A token for a deleted, deactivated or
    re-passworded account names an id or version that is gone, so both kinds of token are revoked alike."""
    user = await users.get_by_token(session, claims) if claims else None
    if user is None:
        raise Unauthorized(refusal)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


optional_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def get_stream_user(
    reads: StreamReadsDep,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(optional_bearer)],
    token: Annotated[
        str | None,
        Query(description="A stream token from `POST /api/auth/stream-token` (EventSource sends no headers)"),
    ] = None,
) -> User:
    """The live streams take a stream token in the query string, or the usual bearer header.

    The user is looked up through the streams' shared reads: a thousand tabs reconnecting at once
    cost one query, not a pooled connection each; a database that does not answer is a 200 that
    tells EventSource to come back (StreamUnavailable), never a 503 that would make it give up.
    """
    assert settings.secret_key is not None
    claims: TokenClaims | None
    if token is None:
        if bearer is None:
            raise Unauthorized("send a stream token as ?token=, or an Authorization: Bearer header")
        claims = decode_access_token(bearer, secret_key=settings.secret_key)
        refusal = "the access token is invalid or expired; log in again"
    else:
        # Only a stream token is accepted here: an access token never belongs in a URL.
        claims = decode_stream_token(token, secret_key=settings.secret_key)
        refusal = "the stream token is invalid or expired; get a new one at /api/auth/stream-token"
    # Revoked like access tokens: the id and version must still name an active user.
    user = await reads.user_by_token(claims) if claims else None
    if user is None:
        raise Unauthorized(refusal)
    return user


StreamUser = Annotated[User, Depends(get_stream_user)]
