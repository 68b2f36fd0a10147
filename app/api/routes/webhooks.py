"""Retell's webhook: a verified delivery comes in, is recorded, and its extraction is scheduled."""

from fastapi import APIRouter, BackgroundTasks, Response, status

from app.api.dependencies import ContextDep, VerifiedDelivery
from app.api.roles import public
from app.core.errors import error_responses

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhook/retell",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 413, 503),
)
@public  # Retell's signature is its credential, checked by the VerifiedDelivery dependency
async def retell_webhook(delivery: VerifiedDelivery, context: ContextDep) -> Response:
    """Receive a signed Retell event (`call_started`, `call_ended`, `call_analyzed`, ...).

    Every dependency on this path is `async def` (nothing runs in the thread pool) and the context is
    resolved once per request; measured in process, resolving them costs no more than reading the
    request by hand did (within 1 %, README "Architecture").
    """
    outcome = await context.recorder.record(delivery)
    background = None
    if outcome.extract and outcome.call_id is not None:
        background = BackgroundTasks()
        context.scheduler.schedule(background.add_task, outcome.call_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT, background=background)
