"""Calls: start a test call, list calls, read one with its structured result, re-run extraction."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, status

from app.api.dependencies import (
    RetellDep,
    SchedulerDep,
    SessionDep,
    SessionMakerDep,
    SettingsDep,
)
from app.api.roles import DispatcherUser, ViewerUser
from app.api.triggers import TriggerAllowed
from app.core.errors import error_responses
from app.repositories.calls import CallFilters
from app.schemas.call import CallDetail, CallPage, CallTrigger, CallTriggered
from app.schemas.call_reports import CallListQuery
from app.services import calls

router = APIRouter(prefix="/api/call", tags=["calls"])


@router.post(
    "/trigger",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 404, 409, 422, 429, 502, 503),
)
async def trigger_call(
    data: CallTrigger,
    session_maker: SessionMakerDep,
    retell: RetellDep,
    settings: SettingsDep,
    user: TriggerAllowed,
) -> CallTriggered:
    """Start a test call (web by default, or phone) with the chosen or the default agent configuration.

    A phone call must pass the dialing policy (422 saying why); each user may trigger
    TRIGGER_LIMIT_PER_USER calls per window (429 with `Retry-After`)."""
    return await calls.trigger_call(
        session_maker, data=data, retell=retell, settings=settings, triggered_by=user.id
    )


@router.get("", responses=error_responses(400, 401, 403, 422, 503))
async def list_calls(
    query: Annotated[CallListQuery, Query()], session: SessionDep, _user: ViewerUser
) -> CallPage:
    """Calls, newest first, with filters; follow `next_cursor` for older ones. Unknown parameters: 422."""
    filters = CallFilters(**query.model_dump(exclude={"limit", "cursor"}))
    return await calls.list_calls(session, filters=filters, limit=query.limit, cursor=query.cursor)


@router.get("/{call_id}", responses=error_responses(401, 403, 404, 422, 503))
async def get_call(call_id: uuid.UUID, session: SessionDep, _user: ViewerUser) -> CallDetail:
    """One call in full: status, times, transcript, Retell's summary and the structured `result`."""
    return await calls.get_call_detail(session, call_id)


@router.post(
    "/{call_id}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def reprocess_call(
    call_id: uuid.UUID,
    session: SessionDep,
    scheduler: SchedulerDep,
    background: BackgroundTasks,
    _user: DispatcherUser,
) -> CallDetail:
    """Run the extraction again on the stored transcript (409 while one is running)."""
    call = await calls.reset_for_reprocessing(session, call_id=call_id)
    scheduler.schedule(background.add_task, call.id)
    return await calls.get_call_detail(session, call.id)
