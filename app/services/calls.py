"""Calls: trigger one through Retell, list them for the dashboard, read one in full."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from loguru import logger
from sqlalchemy import ColumnElement, bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.changes.publisher import publish_change
from app.config import Settings
from app.core import keyset
from app.core.database import SessionMaker, session_scope
from app.core.errors import Conflict, NotFound, UpstreamError
from app.models import AgentConfig, Call, CallResult, CallStatus
from app.models.base import utcnow
from app.models.call_lifecycle import Actor, has_lapsed, reprocessable, sources
from app.retell import CallRequest, RetellGateway
from app.schemas.call import CallDetail, CallPage, CallSummary, CallTrigger, CallTriggered
from app.services import agent_configs, dialing

MAX_PAGE_SIZE = 100
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
    session.add(call)
    await session.flush()
    return call, config


async def _mark_registered(session: AsyncSession, call_id: uuid.UUID, *, retell_call_id: str) -> Call:
    # Only forward: Retell's webhooks may already have moved the call on while we waited for its answer.
    await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(sources(Actor.TRIGGER, CallStatus.REGISTERED)))
        .values(status=CallStatus.REGISTERED.value)
    )
    await session.exec(update(Call).where(col(Call.id) == call_id).values(retell_call_id=retell_call_id))
    return await get_call(session, call_id)


async def _mark_failed(session: AsyncSession, call_id: uuid.UUID, detail: str) -> None:
    # Only a call nobody has heard of since: if Retell dialled anyway and its webhooks already moved
    # the call on (even to `completed`), they know better than our timeout.
    await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(sources(Actor.TRIGGER, CallStatus.FAILED)))
        .values(status=CallStatus.FAILED.value, status_detail=detail)
    )


async def get_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise CallNotFound(f"call {call_id} does not exist")
    return call


async def get_call_detail(session: AsyncSession, call_id: uuid.UUID) -> CallDetail:
    """The call and its result: two primary-key/unique lookups, whatever the history's size."""
    call = await get_call(session, call_id)
    result = (await session.exec(_RESULT_OF_CALL, params={"call_id": call.id})).first()
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


_RESULT_OF_CALL = select(CallResult.scenario, CallResult.data).where(
    col(CallResult.call_id) == bindparam("call_id")
)


@dataclass(frozen=True)
class CallFilters:
    status: CallStatus | None = None
    call_outcome: str | None = None
    load_number: str | None = None
    driver: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    agent_config_id: uuid.UUID | None = None
    triggered_by: uuid.UUID | None = None
    follow_up: bool | None = None
    follow_up_reason: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses these filters stand for (list, export, stats), each index-served newest first."""
        conditions: list[ColumnElement[bool]] = []
        if self.status is not None:
            conditions.append(col(Call.status) == self.status.value)
        if self.call_outcome:
            conditions.append(col(Call.call_outcome) == self.call_outcome)
        if self.load_number:
            conditions.append(col(Call.load_number) == self.load_number)
        if self.driver:
            pattern = "%" + self.driver.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(col(Call.driver_name).ilike(pattern, escape="\\"))
        if self.created_after is not None:
            conditions.append(col(Call.created_at) >= self.created_after)
        if self.created_before is not None:
            conditions.append(col(Call.created_at) < self.created_before)
        if self.agent_config_id is not None:
            conditions.append(col(Call.agent_config_id) == self.agent_config_id)
        if self.triggered_by is not None:
            conditions.append(col(Call.triggered_by) == self.triggered_by)
        # Written as the partial follow-up indexes' own predicate, so the planner can use them.
        if self.follow_up_reason:
            conditions.append(col(Call.follow_up_reason) == self.follow_up_reason)
        elif self.follow_up is True:
            conditions.append(col(Call.follow_up_reason).is_not(None))
        if self.follow_up is False:
            conditions.append(col(Call.follow_up_reason).is_(None))
        return conditions


# Only what a list row shows: transcripts, turns and analyses stay on disk.
SUMMARY_COLUMNS = tuple(col(getattr(Call, name)) for name in CallSummary.model_fields)
NEWEST_FIRST = keyset.newest_first(col(Call.created_at), col(Call.id))


async def list_calls(
    session: AsyncSession, *, filters: CallFilters, limit: int, cursor: str | None
) -> CallPage:
    """Newest first, keyset-paginated on (created_at, id) so pages stay stable while calls arrive."""
    conditions = filters.conditions()
    if cursor:
        conditions.append(NEWEST_FIRST.after(NEWEST_FIRST.decode(cursor)))
    query = select(*SUMMARY_COLUMNS).where(*conditions).order_by(*NEWEST_FIRST.order_by()).limit(limit + 1)
    rows = (await session.exec(query)).all()
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
    claimed = await session.exec(
        update(Call)
        .where(
            col(Call.id) == call.id,
            # Finished, or an extraction whose worker stopped renewing its lease: take it over at once
            # (the next claim bumps the claim number, so that worker's late writes are refused).
            reprocessable(utcnow()),
        )
        .values(
            status=CallStatus.ENDED.value,
            status_detail=None,
            call_outcome=None,
            follow_up_reason=None,
            location_conflict=False,
            lease_expires_at=None,
        )
    )
    if claimed.rowcount != 1:
        raise ExtractionRunning("an extraction started for this call just now")
    await publish_change(session, call.id)
    await session.refresh(call)
    return call
