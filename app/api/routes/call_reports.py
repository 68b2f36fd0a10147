"""What a dashboard reads beside the call list: header counts, a CSV export, a call's webhook deliveries."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.dependencies import SessionDep, SessionMakerDep
from app.api.roles import DispatcherUser, ViewerUser
from app.core.errors import error_responses
from app.repositories.calls import CallFilters
from app.schemas.call_reports import (
    EXPORT_COLUMNS_DESCRIPTION,
    CallExportQuery,
    CallStats,
    CallStatsQuery,
    WebhookDeliveries,
    WebhookEventsQuery,
)
from app.services import call_reports

# Included before the calls router, so `/api/call/stats` is never read as a call id.
router = APIRouter(prefix="/api/call", tags=["calls"])


@router.get("/stats", responses=error_responses(401, 403, 422, 503))
async def call_stats(
    query: Annotated[CallStatsQuery, Query()], session: SessionDep, _user: ViewerUser
) -> CallStats:
    """Calls per status, outcome and follow-up reason, and location conflicts, created in a window
    (default: the last 30 days; at most 366)."""
    assert query.created_after is not None and query.created_before is not None
    return await call_reports.call_stats(
        session,
        created_after=query.created_after,
        created_before=query.created_before,
        agent_config_id=query.agent_config_id,
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": EXPORT_COLUMNS_DESCRIPTION,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 422, 503),
    },
)
async def export_calls(
    query: Annotated[CallExportQuery, Query()], session_maker: SessionMakerDep, _user: DispatcherUser
) -> StreamingResponse:
    """The filtered call list as CSV, streamed, newest first, one row per call with the flat result fields.

    Takes the list's filters over a window of `created_at` (default: the last 30 days; at most 366).
    """
    filters = CallFilters(**query.model_dump())
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        call_reports.export_csv(session_maker, filters=filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'},
    )


@router.get("/{call_id}/webhook-events", responses=error_responses(401, 403, 404, 422, 503))
async def list_webhook_events(
    call_id: uuid.UUID, query: Annotated[WebhookEventsQuery, Query()], session: SessionDep, _user: ViewerUser
) -> WebhookDeliveries:
    """The Retell deliveries received for a call, oldest first: event, time, size; payloads on request."""
    return await call_reports.webhook_deliveries(
        session, call_id=call_id, include_payload=query.include_payload
    )
