"""Live status updates: a call's changes as Server-Sent Events, read from the database.

Polling the database (not an in-process bus) means every server process sees every change,
whichever process received the webhook.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from app.core.database import SessionMaker
from app.models import CallStatus
from app.schemas.call import CallDetail
from app.services import calls

FINAL_STATUSES = {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NOT_CONNECTED}
# Retell's analysis (the call summary) usually lands seconds after the result; wait this long for it.
SUMMARY_GRACE_SECONDS = 60.0


async def stream_call_events(
    call_id: uuid.UUID,
    *,
    session_maker: SessionMaker,
    is_disconnected: Callable[[], Awaitable[bool]],
    poll_seconds: float = 0.5,
    heartbeat_seconds: float = 15.0,
    max_seconds: float = 1800.0,
) -> AsyncIterator[str]:
    """Yield a `status` event whenever the call changes, then `end` once it is final."""
    last_seen: tuple[object, ...] | None = None
    elapsed = since_heartbeat = 0.0
    final_since: float | None = None
    while elapsed < max_seconds and not await is_disconnected():
        async with session_maker() as session:
            detail = await calls.get_call_detail(session, call_id)
        state = (detail.status, detail.status_detail, detail.call_outcome, detail.call_summary)
        if state != last_seen:
            last_seen, since_heartbeat = state, 0.0
            yield _event("status", _public(detail))
        elif since_heartbeat >= heartbeat_seconds:
            since_heartbeat = 0.0
            yield ": keep-alive\n\n"
        # `ended` with a note (no transcript, or no extractor configured) will not move on by itself.
        if detail.status in FINAL_STATUSES or (detail.status == CallStatus.ENDED and detail.status_detail):
            final_since = elapsed if final_since is None else final_since
            waiting_for_summary = detail.status == CallStatus.COMPLETED and detail.call_summary is None
            if not waiting_for_summary or elapsed - final_since >= SUMMARY_GRACE_SECONDS:
                break
        await asyncio.sleep(poll_seconds)
        elapsed += poll_seconds
        since_heartbeat += poll_seconds
    yield _event("end", {"id": str(call_id)})


def _public(detail: CallDetail) -> dict[str, object]:
    # The transcript can be long and the dashboard fetches it once; the stream carries the rest.
    return detail.model_dump(mode="json", exclude={"transcript", "transcript_turns"})


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"
