"""Retell's webhook: a verified delivery comes in, is recorded, and its extraction is scheduled."""

from fastapi import APIRouter, BackgroundTasks, Response, status

from app.api.dependencies import SchedulerDep, SessionDep, VerifiedDelivery
from app.core.errors import error_responses
from app.services import webhooks

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhook/retell",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 413, 503),
)
async def retell_webhook(
    delivery: VerifiedDelivery, session: SessionDep, scheduler: SchedulerDep, background: BackgroundTasks
) -> Response:
    """Receive a signed Retell event (`call_started`, `call_ended`, `call_analyzed`, ...)."""
    outcome = await webhooks.record_delivery(session, delivery)
    if outcome.extract and outcome.call_id is not None:
        scheduler.schedule(background, outcome.call_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
