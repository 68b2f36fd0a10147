"""Retell's webhook: a verified delivery comes in, is recorded, and its extraction is scheduled."""

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from app.api.dependencies import AppContext
from app.api.roles import public
from app.core.errors import error_responses
from app.retell.webhook import read_verified_delivery

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhook/retell",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 413, 503),
)
@public  # Retell's signature is its credential, checked in the handler
async def retell_webhook(request: Request) -> Response:
    """Receive a signed Retell event (`call_started`, `call_ended`, `call_analyzed`, ...).

    The hot path takes only the request: FastAPI's dependency resolution costs more per delivery than the
    lookups it would do here (see docs/BENCHMARKS.md), so the process-wide context is read directly.
    """
    context: AppContext = request.state.context
    delivery = await read_verified_delivery(request, key=context.retell.webhook_key)
    outcome = await context.recorder.record(delivery)
    background = None
    if outcome.extract and outcome.call_id is not None:
        background = BackgroundTasks()
        context.scheduler.schedule(background, outcome.call_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT, background=background)
