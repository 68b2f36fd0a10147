"""Calls: trigger one through Retell, list them for the dashboard, read one in full."""

import uuid

from loguru import logger
from sqlmodel.ext.asyncio.session import AsyncSession

from app.changes.publisher import publish_change
from app.config import Settings
from app.core.database import SessionMaker, session_scope
from app.core.errors import Conflict, NotFound, UpstreamError
from app.models import AgentConfig, Call, CallStatus
from app.models.base import utcnow
from app.models.call_lifecycle import has_lapsed
from app.repositories import calls as call_repository
from app.repositories.calls import NEWEST_FIRST, CallFilters
from app.retell import CallRequest, RetellGateway
from app.schemas.call import CallDetail, CallPage, CallSummary, CallTrigger, CallTriggered
from app.services import agent_configs, dialing

# Prompt variables the seeded prompt refers to; Retell would read an unset one out loud as "{{origin}}".
DEFAULT_PROMPT_VARIABLES = {"origin": "unknown", "destination": "unknown", "gps_location": "unknown"}


class CallNotFound(NotFound):
    pass


class RetellNotConfigured(Conflict):
    pass


class ExtractionRunning(Conflict):
    pass


class NothingToExtract(Conflict):
    pass


async def trigger_call(
    session_maker: SessionMaker,
    *,
    data: CallTrigger,
    retell: RetellGateway,
    settings: Settings,
    triggered_by: uuid.UUID | None = None,
) -> CallTriggered:
    """Store the call, make sure its agent exists in Retell, then ask Retell to place it.

    Each step commits in its own scope: the call is durable as `queued` before Retell is asked (so a
    webhook racing the answer finds it), the Retell ids are kept even if placing the call fails, and
    a Retell failure leaves a `failed` call with the error instead of nothing.
    """
    if data.call_type == "phone" and retell.mode == "live" and not settings.retell_from_number:
        raise RetellNotConfigured(
            "RETELL_FROM_NUMBER is not set: phone calls need a Retell number to call from"
        )
    async with session_scope(session_maker) as session:
        if data.call_type == "phone":  # a web call dials nobody: the policy is about phone lines
            regions = await dialing.allowed_regions(session, settings=settings)
            dialing.check_dialable(data.phone_number, allowed_regions=regions)
        call, config = await _store_queued_call(session, data, triggered_by)
        await publish_change(session, call.id)
    log = logger.bind(call_id=str(call.id))
    try:
        if not config.retell_agent_id:
            async with session_scope(session_maker) as session:
                config = await agent_configs.sync_config(
                    session,
                    config_id=config.id,
                    retell=retell,
                    webhook_url=settings.webhook_url,
                    llm_websocket_url=settings.llm_websocket_url,
                )
        started = await retell.start_call(
            CallRequest(
                call_type=data.call_type,
                agent_id=config.retell_agent_id or "",
                to_number=data.phone_number,
                from_number=settings.retell_from_number,
                dynamic_variables={
                    **DEFAULT_PROMPT_VARIABLES,
                    **data.context,
                    "driver_name": data.driver_name,
                    "load_number": data.load_number,
                },
                metadata={"call_id": str(call.id)},
                persona=data.simulation.persona if data.simulation else None,
                llm_websocket_url=(
                    settings.llm_websocket_url if config.response_engine == "custom_llm" else None
                ),
            )
        )
    except (UpstreamError, Conflict) as exc:
        async with session_scope(session_maker) as session:
            await _mark_failed(session, call.id, exc.detail)
            await publish_change(session, call.id)
        log.warning("Retell refused call {}: {}", call.id, exc.detail)
        raise
    async with session_scope(session_maker) as session:
        call = await _mark_registered(session, call.id, retell_call_id=started.retell_call_id)
        await publish_change(session, call.id)
    log.info("call {} registered with Retell as {} ({})", call.id, started.retell_call_id, retell.mode)
    return CallTriggered(
        id=call.id,
        retell_call_id=call.retell_call_id,
        status=call.status,
        call_type=call.call_type,
        agent_config_id=call.agent_config_id,
        access_token=started.access_token,
        created_at=call.created_at,
    )


async def _store_queued_call(
    session: AsyncSession, data: CallTrigger, triggered_by: uuid.UUID | None
) -> tuple[Call, AgentConfig]:
    config = (
        await agent_configs.get_config(session, data.agent_config_id)
        if data.agent_config_id
        else await agent_configs.get_default_config(session)
    )
    call = Call(
        agent_config_id=config.id,
        call_type=data.call_type,
        driver_name=data.driver_name,
        phone_number=data.phone_number,
        load_number=data.load_number,
        context=data.context,
        triggered_by=triggered_by,
    )
    return await call_repository.store_queued(session, call), config


async def _mark_registered(session: AsyncSession, call_id: uuid.UUID, *, retell_call_id: str) -> Call:
    await call_repository.mark_registered(session, call_id, retell_call_id=retell_call_id)
    return await get_call(session, call_id)


async def _mark_failed(session: AsyncSession, call_id: uuid.UUID, detail: str) -> None:
    await call_repository.mark_failed(session, call_id, detail=detail)


async def get_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await call_repository.get(session, call_id)
    if call is None:
        raise CallNotFound(f"call {call_id} does not exist")
    return call


async def get_call_detail(session: AsyncSession, call_id: uuid.UUID) -> CallDetail:
    """The call and its result: two primary-key/unique lookups, whatever the history's size."""
    call = await get_call(session, call_id)
    result = await call_repository.result_of(session, call.id)
    analysis = call.call_analysis or {}
    summary = analysis.get("call_summary")
    return CallDetail.model_validate(
        {
            **call.model_dump(),
            "call_summary": summary if isinstance(summary, str) else None,
            "result": (
                {"scenario": result[0], **result[1]}
                if result is not None and call.status == CallStatus.COMPLETED
                else None
            ),
        }
    )


async def list_calls(
    session: AsyncSession, *, filters: CallFilters, limit: int, cursor: str | None
) -> CallPage:
    """Newest first, keyset-paginated on (created_at, id) so pages stay stable while calls arrive."""
    after = NEWEST_FIRST.decode(cursor) if cursor else None
    rows = await call_repository.summaries_page(session, filters=filters, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return CallPage(
        items=[CallSummary.model_validate(row, from_attributes=True) for row in page],
        next_cursor=NEWEST_FIRST.encode(page[-1].created_at, page[-1].id) if more else None,
    )


async def reset_for_reprocessing(session: AsyncSession, *, call_id: uuid.UUID) -> Call:
    """Put a call with a transcript back to `ended` so the extractor runs again."""
    call = await get_call(session, call_id)
    if call.status == CallStatus.PROCESSING and not has_lapsed(call, utcnow()):
        raise ExtractionRunning("an extraction is already running for this call")
    if not call.transcript:
        raise NothingToExtract(f"call is {call.status} and has no transcript to extract from")
    if call.status == CallStatus.ENDED:
        raise ExtractionRunning("the call is already waiting for its extraction")
    # `ended` is the claim itself, so it is not a state to claim from: of concurrent requests only the
    # one whose update moves the call there gets a row back; the rest find it `ended` and get a 409.
    if not await call_repository.reopen_for_extraction(session, call.id, now=utcnow()):
        raise ExtractionRunning("an extraction started for this call just now")
    await publish_change(session, call.id)
    await call_repository.reload(session, call)
    return call
