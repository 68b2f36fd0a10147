"""Live updates for the dashboard: Server-Sent Events that the browser's EventSource can follow."""

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.dependencies import BroadcasterDep, SettingsDep, StreamReadsDep
from app.api.roles import StreamViewer
from app.config import Settings
from app.core.errors import json_error_responses
from app.models import Role, User
from app.schemas.call_events import CallEvent, CallListEvent
from app.services import stream_access
from app.streams import call_events

router = APIRouter(tags=["live_updates"])


class EventStream(EventSourceResponse):
    """sse-starlette's response, with its media type on the class so the API docs show it."""

    media_type = "text/event-stream"


async def _as_sse(
    stream: AsyncGenerator[call_events.StreamEvent, None],
) -> AsyncGenerator[ServerSentEvent, None]:
    try:
        async for item in stream:
            yield ServerSentEvent(
                data=item.data, event=item.event, id=item.id, retry=item.retry, comment=item.comment
            )
    finally:
        await stream.aclose()  # the stream's subscription ends with the response


# Comment pings keep proxies from closing a quiet stream; a stalled client is cut after this long.
PING_SECONDS = 15
SEND_TIMEOUT_SECONDS = 30
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _event_stream(stream: AsyncGenerator[call_events.StreamEvent, None]) -> EventStream:
    return EventStream(
        _as_sse(stream), ping=PING_SECONDS, send_timeout=SEND_TIMEOUT_SECONDS, headers=STREAM_HEADERS
    )


# Each documented item is one event object (`event`, `id`, `data`), not the plain string FastAPI
# assumes for a non-JSON response class.
EVENT_ITEM = {"responses": {"200": {"content": {"text/event-stream": {"schema": {"type": "object"}}}}}}


def _stream_doc(model: Any, events: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "model": model,
            "description": f"A `text/event-stream` of {events}. The schema is one event: its `event:` "
            "name, its `id:` (sent back as `Last-Event-ID` on reconnect) and its JSON `data:`. "
            "Comment lines (`: ping`) keep the connection open.",
        },
        # Refusals come before the stream starts, as JSON, not as events.
        **json_error_responses(*errors),
    }


@router.get(
    "/api/events",
    response_class=EventStream,
    responses=_stream_doc(CallListEvent, "`call` events", 401, 403, 422),
    openapi_extra=EVENT_ITEM,
)
async def all_call_events(
    broadcaster: BroadcasterDep,
    reads: StreamReadsDep,
    settings: SettingsDep,
    user: StreamViewer,
    agent_config_id: Annotated[uuid.UUID | None, Query(description="Only its calls")] = None,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> EventStream:
    """Every call's changes: the recent calls first (on reconnect: those changed since), then each change."""
    stream = call_events.stream_calls(
        broadcaster=broadcaster,
        reads=reads,
        agent_config_id=agent_config_id,
        last_event_id=last_event_id,
    )
    stream = _while_permitted(stream, user, reads, settings)
    stream = call_events.ending_after(stream, settings.stream_max_seconds)
    return EventStream(
        _as_sse(stream), ping=PING_SECONDS, send_timeout=SEND_TIMEOUT_SECONDS, headers=STREAM_HEADERS
    )


@router.get(
    "/api/call/{call_id}/events",
    response_class=EventStream,
    responses=_stream_doc(CallEvent, "`status` events, then one `end`", 401, 403, 404, 422),
    openapi_extra=EVENT_ITEM,
)
async def call_status_events(
    call_id: uuid.UUID,
    broadcaster: BroadcasterDep,
    reads: StreamReadsDep,
    settings: SettingsDep,
    user: StreamViewer,
) -> EventStream:
    """One call live: its current `status`, each status it passes through, then `end` with its final state."""
    await reads.call(call_id)  # 404 before the stream starts
    stream = call_events.stream_call(call_id, broadcaster=broadcaster, reads=reads)
    stream = _while_permitted(stream, user, reads, settings)
    stream = call_events.ending_after(stream, settings.stream_max_seconds)
    return EventStream(
        _as_sse(stream), ping=PING_SECONDS, send_timeout=SEND_TIMEOUT_SECONDS, headers=STREAM_HEADERS
    )


def _while_permitted(
    stream: AsyncGenerator[call_events.StreamEvent, None],
    user: User,
    reads: call_events.StreamReads,
    settings: Settings,
) -> AsyncGenerator[call_events.StreamEvent, None]:
    """Ends within STREAM_RECHECK_SECONDS once the user is deactivated, demoted or logged out everywhere."""
    return stream_access.while_permitted(
        stream,
        lookup=reads.user_by_token,
        user_id=user.id,
        token_version=user.token_version,
        role=Role.VIEWER,
        interval=settings.stream_recheck_seconds,
    )
