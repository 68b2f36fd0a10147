"""Calls: start a test call, list calls, read one with its structured result, re-run extraction."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from fastapi.responses import StreamingResponse

from app.api.dependencies import (
    CurrentUser,
    RetellDep,
    SchedulerDep,
    SessionDep,
    SessionMakerDep,
    SettingsDep,
)
from app.core.errors import error_responses
from app.models import CallStatus
from app.schemas.call import CallDetail, CallPage, CallTrigger, CallTriggered
from app.services import call_events as call_events_service
from app.services import calls
from app.services.calls import MAX_PAGE_SIZE, CallFilters

router = APIRouter(prefix="/api/call", tags=["calls"])


@router.post("/trigger", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409, 422, 502))
async def trigger_call(
    data: CallTrigger,
    session_maker: SessionMakerDep,
    retell: RetellDep,
    settings: SettingsDep,
    _user: CurrentUser,
) -> CallTriggered:
    """Start a test call (web by default, or phone) with the chosen or the default agent configuration."""
    return await calls.trigger_call(session_maker, data=data, retell=retell, settings=settings)


@router.get("", responses=error_responses(400, 422))
async def list_calls(
    session: SessionDep,
    _user: CurrentUser,
    status: CallStatus | None = None,
    call_outcome: str | None = None,
    load_number: str | None = None,
    driver: Annotated[str | None, Query(max_length=200, description="Part of the driver's name")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> CallPage:
    """Calls, newest first, with filters; follow `next_cursor` for older ones."""
    filters = CallFilters(status=status, call_outcome=call_outcome, load_number=load_number, driver=driver)
    return await calls.list_calls(session, filters=filters, limit=limit, cursor=cursor)


@router.get("/{call_id}", responses=error_responses(404))
async def get_call(call_id: uuid.UUID, session: SessionDep, _user: CurrentUser) -> CallDetail:
    """One call in full: status, times, transcript, Retell's summary and the structured `result`."""
    return await calls.get_call_detail(session, call_id)


@router.get(
    "/{call_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **error_responses(404)},
)
async def call_events(
    call_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    session_maker: SessionMakerDep,
    settings: SettingsDep,
    _user: CurrentUser,
) -> StreamingResponse:
    """Live status updates as Server-Sent Events: a `status` event on every change, `end` when final."""
    await calls.get_call(session, call_id)  # 404 before the stream starts
    stream = call_events_service.stream_call_events(
        call_id,
        session_maker=session_maker,
        is_disconnected=request.is_disconnected,
        poll_seconds=settings.call_events_poll_seconds,
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post(
    "/{call_id}/reprocess", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(404, 409)
)
async def reprocess_call(
    call_id: uuid.UUID,
    session: SessionDep,
    scheduler: SchedulerDep,
    background: BackgroundTasks,
    _user: CurrentUser,
) -> CallDetail:
    """Run the extraction again on the stored transcript (409 while one is running)."""
    call = await calls.reset_for_reprocessing(session, call_id=call_id)
    scheduler.schedule(background, call.id)
    return await calls.get_call_detail(session, call.id)
