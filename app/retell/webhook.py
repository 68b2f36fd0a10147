"""A Retell webhook delivery: read it capped, verify its signature on the raw body, parse what we use.

`read_verified_delivery` does all of it before anything is stored; its errors are the webhook's 4xx.
"""

import json
import math
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.errors import AppError, BadRequest, ServiceUnavailable
from app.retell.signature import plausible_signature, verify_retell_signature
from app.schemas.call import TranscriptTurn

MAX_TIMESTAMP_MS = 253_402_300_799_000  # 9999-12-31: anything later is not a real call time
# 2000-01-01: an earlier "call time" (0, say) is a placeholder, and its duration would overflow the column.
MIN_TIMESTAMP_MS = 946_684_800_000
MAX_INT32 = 2**31 - 1
MAX_EVENT_LENGTH = 60
MAX_CALL_ID_LENGTH = 120
SIGNATURE_HEADER = "x-retell-signature"
# A two-hour call's transcript with word timings is a few MB; far beyond that is not Retell.
MAX_BODY_BYTES = 20_000_000


class InvalidSignature(AppError):
    status_code = 401


class WebhookKeyMissing(ServiceUnavailable):
    pass


def storable(value: Any) -> Any:
    """The same JSON value with only what PostgreSQL can hold.

    JSON allows NUL characters and lone surrogates ("\\u0000", "\\ud800") and numbers too large for
    a float (1e400); a transcript never needs them. Text is cleaned, such numbers become null.
    """
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        # Clean keys keep their place; a cleaned key never overwrites one that was already clean.
        cleaned = {key: storable(item) for key, item in value.items() if _storable_text(key) == key}
        for key, item in value.items():
            new_key = _storable_text(key)
            if new_key != key:
                while new_key in cleaned:
                    new_key += "~"
                cleaned[new_key] = storable(item)
        return cleaned
    return value


def _storable_text(text: str) -> str:
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class RetellCall(BaseModel):
    """Retell's `call` object; unknown fields are kept in the stored payload but not read."""

    model_config = ConfigDict(extra="ignore")

    call_id: str = Field(min_length=1, max_length=MAX_CALL_ID_LENGTH)
    agent_id: str | None = Field(default=None, max_length=120)
    call_type: str | None = Field(default=None, max_length=40)
    call_status: str | None = Field(default=None, max_length=40)
    direction: str | None = Field(default=None, max_length=20)
    from_number: str | None = Field(default=None, max_length=40)
    to_number: str | None = Field(default=None, max_length=40)
    metadata: dict[str, Any] | None = None
    retell_llm_dynamic_variables: dict[str, Any] | None = None
    start_timestamp: int | None = Field(default=None, ge=MIN_TIMESTAMP_MS, le=MAX_TIMESTAMP_MS)
    end_timestamp: int | None = Field(default=None, ge=MIN_TIMESTAMP_MS, le=MAX_TIMESTAMP_MS)
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_INT32)
    disconnection_reason: str | None = Field(default=None, max_length=80)
    transcript: str | None = None
    transcript_object: list[TranscriptTurn] | None = None
    recording_url: str | None = Field(default=None, max_length=4000)
    public_log_url: str | None = Field(default=None, max_length=4000)
    call_analysis: dict[str, Any] | None = None
    latency: dict[str, Any] | None = None


class SignedRequest(Protocol):
    """What the webhook reads of an HTTP request (the web framework's request object has both)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    def stream(self) -> AsyncIterator[bytes]: ...


class InvalidWebhookPayload(BadRequest):
    pass


METADATA_CALL_ID_KEYS = ("call_id", "test_call_id")
# Nesting a real delivery never comes near; deeper bodies go through `storable`, which refuses them.
FAST_PATH_MAX_BRACKETS = 256


@dataclass(frozen=True, slots=True)
class Delivery:
    event: str
    retell_call_id: str
    call: dict[str, Any]  # the fields this service reads, each valid and plausible (others dropped)
    payload_json: str  # the whole delivery, as stored: JSON text PostgreSQL's json accepts
    our_call_id: uuid.UUID | None = None  # our id, when Retell's metadata carries it


def parse_delivery(payload: object, body: str | None = None) -> Delivery:
    """Check what identifies a delivery; anything else malformed is ignored, never a reason to lose it.

    `body` is the JSON text `payload` came from: when it needs no cleaning it is stored as it came.
    """
    if not isinstance(payload, dict):
        raise InvalidWebhookPayload("the body must be a JSON object")
    clean: dict[str, Any]
    if body is not None and _needs_no_cleaning(body):
        clean, payload_json = payload, body
    else:
        clean = storable(payload)  # before any check, so what is checked is what is stored
        payload_json = json.dumps(clean)
    event, call = clean.get("event"), clean.get("call")
    if not isinstance(event, str) or not 0 < len(event) <= MAX_EVENT_LENGTH:
        raise InvalidWebhookPayload(f"`event` must be a name of at most {MAX_EVENT_LENGTH} characters")
    if not isinstance(call, dict):
        raise InvalidWebhookPayload("`call` is missing or not an object")
    retell_call_id = call.get("call_id")
    if not isinstance(retell_call_id, str) or not 0 < len(retell_call_id) <= MAX_CALL_ID_LENGTH:
        raise InvalidWebhookPayload(
            f"`call.call_id` must be a string of at most {MAX_CALL_ID_LENGTH} characters"
        )
    parsed, ignored = _readable_fields(call)
    fields = parsed.model_dump(exclude_unset=True)
    ignored += _implausible(fields)
    if ignored:
        logger.warning("{} for {}: ignored malformed field(s) {}", event, retell_call_id, ", ".join(ignored))
    return Delivery(
        event=event,
        retell_call_id=retell_call_id,
        call=fields,
        payload_json=payload_json,
        our_call_id=_our_call_id(fields.get("metadata")),
    )


def _needs_no_cleaning(body: str) -> bool:
    """True when the body cannot hold what PostgreSQL refuses (NUL, lone surrogates, NaN) nor nest deep.

    NUL and surrogates can only arrive as `\\u` escapes; these substring checks cost microseconds where
    walking the parsed payload costs tens of them.
    """
    return (
        "\\u" not in body
        and "NaN" not in body
        and "Infinity" not in body
        and body.count("[") + body.count("{") < FAST_PATH_MAX_BRACKETS
    )


def _implausible(fields: dict[str, Any]) -> list[str]:
    """Drop times that contradict each other; the stored payload keeps them as Retell sent them."""
    start, end = fields.get("start_timestamp"), fields.get("end_timestamp")
    if start is not None and end is not None and end < start:
        del fields["end_timestamp"]
        fields.pop("duration_ms", None)
        return ["end_timestamp (before start_timestamp)"]
    return []


def _our_call_id(metadata: object) -> uuid.UUID | None:
    if not isinstance(metadata, dict):
        return None
    for key in METADATA_CALL_ID_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and len(value) <= 40:
            try:
                return uuid.UUID(value)
            except ValueError:
                continue
    return None


def _readable_fields(call: dict[str, Any]) -> tuple[RetellCall, list[str]]:
    """The call object without the fields that fail validation (and the names of those dropped)."""
    ignored: list[str] = []
    # Each round drops at least one field, so this many rounds always suffice; bounded all the same.
    for _ in range(len(RetellCall.model_fields)):
        try:
            return RetellCall.model_validate(call), ignored
        except ValidationError as exc:
            bad = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
            ignored += bad
            call = {key: value for key, value in call.items() if key not in bad}
    return RetellCall.model_validate({"call_id": call["call_id"]}), ignored  # only `call_id` is sure


async def _read_body(request: SignedRequest) -> bytearray:
    """The body in one buffer, grown in place (Starlette's `body()` joins its chunks: twice the size)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    return body


async def read_verified_delivery(request: SignedRequest, *, key: str | None) -> Delivery:
    """The delivery in the request, or the 4xx/503 that says why it is refused; nothing is stored here."""
    if not key:
        raise WebhookKeyMissing(
            "RETELL_API_KEY is not set: webhooks cannot be verified, so none are accepted"
        )
    # Everything the header alone can refuse is refused before a byte of the body is read.
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing")
    if not plausible_signature(signature):
        logger.warning("refused a webhook whose signature is malformed or stale, without reading its body")
        raise InvalidSignature("the signature is invalid or older than five minutes")
    # Bounded while it is read: BodyLimitMiddleware caps /webhook/ at MAX_BODY_BYTES, and all bodies in
    # flight together at MAX_BODY_BYTES_IN_FLIGHT.
    raw = await _read_body(request)
    # Checked on the bytes as they came: a forged body is never decoded (nor copied) at all.
    if not verify_retell_signature(raw, key, signature):
        logger.warning("refused a webhook with an invalid or stale signature")
        raise InvalidSignature("the signature is invalid or older than five minutes")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidWebhookPayload("the body is not UTF-8 JSON") from None
    del raw
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidWebhookPayload(f"the body is not JSON: {exc.msg}") from None
    except (RecursionError, ValueError):
        raise InvalidWebhookPayload("the body is not JSON this service can read (nested too deep)") from None
    try:
        return parse_delivery(payload, body)
    except RecursionError:
        raise InvalidWebhookPayload("the body is nested too deep to be a Retell delivery") from None
