"""Retell's webhook: verify the signature on the raw body, store the delivery, answer at once."""

import json

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from loguru import logger

from app.api.dependencies import ContextDep, SessionDep
from app.core.errors import AppError, ServiceUnavailable, error_responses
from app.services import webhooks
from app.services.retell import verify_retell_signature

router = APIRouter(tags=["webhooks"])
SIGNATURE_HEADER = "x-retell-signature"


# A two-hour call's transcript with word timings is a few MB; far beyond that is not Retell.
MAX_BODY_BYTES = 20_000_000


class InvalidSignature(AppError):
    status_code = 401


class PayloadTooLarge(AppError):
    status_code = 413


async def _read_capped(request: Request) -> bytes:
    """The raw body, refusing it as soon as it passes the cap (a chunked upload has no length header)."""
    too_large = PayloadTooLarge(f"a delivery may be at most {MAX_BODY_BYTES // 1_000_000} MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/webhook/retell",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 413, 503),
)
async def retell_webhook(
    request: Request, session: SessionDep, context: ContextDep, background: BackgroundTasks
) -> Response:
    """Receive a signed Retell event (`call_started`, `call_ended`, `call_analyzed`, ...)."""
    key = context.retell.webhook_key
    if not key:
        raise ServiceUnavailable(
            "RETELL_API_KEY is not set: webhooks cannot be verified, so none are accepted"
        )
    raw = await _read_capped(request)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("the body is not UTF-8, so it cannot carry a valid signature") from None
    if not verify_retell_signature(body, key, signature):
        logger.warning("refused a webhook with an invalid or stale signature")
        raise InvalidSignature("the signature is invalid or older than five minutes")
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise webhooks.InvalidWebhookPayload(f"the body is not JSON: {exc.msg}") from None
    except (RecursionError, ValueError):
        raise webhooks.InvalidWebhookPayload(
            "the body is not JSON this service can read (nested too deep)"
        ) from None
    try:
        delivery = webhooks.parse_delivery(payload)
    except RecursionError:
        raise webhooks.InvalidWebhookPayload("the body is nested too deep to be a Retell delivery") from None
    outcome = await webhooks.record_delivery(session, delivery)
    if outcome.extract and outcome.call_id is not None:
        context.schedule_extraction(background, outcome.call_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
