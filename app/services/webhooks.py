"""Retell webhook deliveries: store each once, then move its call forward."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from sqlalchemy import and_, case, null
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.database import dialect_insert
from app.models import AgentConfig, Call, CallStatus, WebhookEvent
from app.models.call import statuses_before
from app.retell.webhook import Delivery
from app.services.call_changes import publish_change

# Retell's disconnection reasons for a dial that never reached anyone.
DIAL_FAILURES = {"dial_failed", "dial_no_answer", "dial_busy", "invalid_destination", "no_valid_payment"}
METADATA_CALL_ID_KEYS = ("call_id", "test_call_id")
MAX_PHONE_LENGTH = 20  # calls.phone_number holds E.164
NO_TRANSCRIPT = "the call ended without a transcript: there is nothing to extract"


@dataclass(frozen=True)
class DeliveryOutcome:
    call_id: uuid.UUID | None
    duplicate: bool
    extract: bool


async def record_delivery(session: AsyncSession, delivery: Delivery) -> DeliveryOutcome:
    """Store the delivery (a replay changes nothing), then apply it to its call."""
    log = logger.bind(retell_call_id=delivery.retell_call_id)
    call = await _find_call(session, delivery)
    if not await _insert_event(session, delivery, call_id=call.id if call else None):
        log.info("duplicate {} for {} acknowledged", delivery.event, delivery.retell_call_id)
        return DeliveryOutcome(call_id=None, duplicate=True, extract=False)
    if call is None:
        call = await _create_foreign_call(session, delivery)
        await session.exec(
            update(WebhookEvent)
            .where(
                col(WebhookEvent.retell_call_id) == delivery.retell_call_id,
                col(WebhookEvent.event) == delivery.event,
            )
            .values(call_id=call.id)
        )
    extract = await _apply(session, call, delivery)
    await publish_change(session, call.id)
    log.bind(call_id=str(call.id)).info("{} applied to call {}", delivery.event, call.id)
    return DeliveryOutcome(call_id=call.id, duplicate=False, extract=extract)


async def _insert_event(session: AsyncSession, delivery: Delivery, *, call_id: uuid.UUID | None) -> bool:
    """Insert unless (call, event) is already stored; True when this delivery is new."""
    statement = (
        dialect_insert(session)(WebhookEvent)
        .values(
            id=uuid.uuid4(),
            retell_call_id=delivery.retell_call_id,
            event=delivery.event,
            call_id=call_id,
            payload=delivery.payload,
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["retell_call_id", "event"])
    )
    result = await session.exec(statement)
    return result.rowcount == 1


async def _find_call(session: AsyncSession, delivery: Delivery) -> Call | None:
    """Our call id travels in Retell's metadata; else match Retell's own call id."""
    metadata = delivery.call.get("metadata")
    if isinstance(metadata, dict):
        for key in METADATA_CALL_ID_KEYS:
            call = await _call_by_our_id(session, metadata.get(key))
            if call is not None:
                return call
    query = select(Call).where(col(Call.retell_call_id) == delivery.retell_call_id)
    return (await session.exec(query)).first()


async def _call_by_our_id(session: AsyncSession, value: object) -> Call | None:
    if not isinstance(value, str):
        return None
    try:
        call_id = uuid.UUID(value)
    except ValueError:
        return None
    return await session.get(Call, call_id)


async def _create_foreign_call(session: AsyncSession, delivery: Delivery) -> Call:
    """A call started outside this backend (Retell's dashboard, say): keep it all the same."""
    data = delivery.call
    variables = data.get("retell_llm_dynamic_variables") or {}
    if not isinstance(variables, dict):
        variables = {}
    agent_id = data.get("agent_id") if isinstance(data.get("agent_id"), str) else None
    config_id = None
    if agent_id:
        config_id = (
            await session.exec(select(AgentConfig.id).where(col(AgentConfig.retell_agent_id) == agent_id))
        ).first()
    inbound = data.get("direction") == "inbound"
    phone = data.get("from_number") if inbound else data.get("to_number")
    values = {
        "id": uuid.uuid4(),
        "retell_call_id": delivery.retell_call_id,
        "retell_agent_id": agent_id,
        "agent_config_id": config_id,
        "status": CallStatus.REGISTERED.value,
        "call_type": "web" if data.get("call_type") == "web_call" else "phone",
        "driver_name": str(variables.get("driver_name") or "Unknown driver")[:200],
        "load_number": str(variables.get("load_number") or "unknown")[:60],
        # A SIP URI or other non-phone address does not fit the column, and the call is kept without it.
        "phone_number": phone if isinstance(phone, str) and len(phone) <= MAX_PHONE_LENGTH else None,
        "context": {k: str(v) for k, v in variables.items() if k not in ("driver_name", "load_number")},
        "created_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
        "extraction_attempts": 0,
    }
    insert = dialect_insert(session)
    # Two first deliveries of one unknown call may race: the unique Retell id lets only one row in.
    await session.exec(
        insert(Call).values(**values).on_conflict_do_nothing(index_elements=["retell_call_id"])
    )
    call = (await session.exec(select(Call).where(col(Call.retell_call_id) == delivery.retell_call_id))).one()
    logger.info("created call {} for Retell call {} we did not start", call.id, delivery.retell_call_id)
    return call


async def _apply(session: AsyncSession, call: Call, delivery: Delivery) -> bool:
    """Copy what the event carries onto the call and advance its status, in one UPDATE.

    Returns True when the call now has a transcript to extract.
    """
    data = delivery.call
    values = _call_fields(data, call)
    if call.retell_call_id is None:
        values["retell_call_id"] = delivery.retell_call_id
    if delivery.event == "call_analyzed" and isinstance(data.get("call_analysis"), dict):
        values["call_analysis"] = data["call_analysis"]
    has_transcript = bool(values.get("transcript") or call.transcript)
    target = _target_status(delivery.event, data, call, values, has_transcript)
    if target is not None:
        values |= _status_change(target, has_transcript=has_transcript)
    if values:
        await session.exec(update(Call).where(col(Call.id) == call.id).values(**values))
    return target == CallStatus.ENDED and has_transcript


def _status_change(target: CallStatus, *, has_transcript: bool) -> dict[str, Any]:
    """`status` and `status_detail` as CASE expressions, judged on the row as it is at UPDATE time.

    Another delivery for the same call may have moved it since it was read; deciding in SQL keeps
    concurrent deliveries from undoing each other.
    """
    status, transcript, detail = col(Call.status), col(Call.transcript), col(Call.status_detail)
    # Retell placed the call although the trigger gave up on it (a timeout, say): follow Retell.
    # No extraction ever ran on such a call, which tells it from one whose extraction failed.
    revived = and_(status == CallStatus.FAILED, col(Call.extraction_attempts) == 0)
    # Move forward only: a late or replayed delivery never takes a call back.
    moves = [(status.in_(statuses_before(target)), target.value), (revived, target.value)]
    notes: list[tuple[Any, Any]] = []
    if target == CallStatus.ENDED and has_transcript:
        # Words were spoken after all: a thin early delivery must not pin the call as never connected.
        moves.append((status == CallStatus.NOT_CONNECTED, target.value))
        notes.append((detail == NO_TRANSCRIPT, null()))
    if target == CallStatus.ENDED and not has_transcript:
        notes.append((transcript.is_(None), NO_TRANSCRIPT))
    notes.append((revived, null()))
    return {"status": case(*moves, else_=status), "status_detail": case(*notes, else_=detail)}


def _target_status(
    event: str, data: dict[str, Any], call: Call, values: dict[str, Any], has_transcript: bool
) -> CallStatus | None:
    if event == "call_started":
        return CallStatus.ONGOING
    if event not in ("call_ended", "call_analyzed"):
        return None
    started = values.get("started_at") or call.started_at
    # A failed dial, or a call that ended without ever starting or saying a word.
    if data.get("disconnection_reason") in DIAL_FAILURES or (started is None and not has_transcript):
        return CallStatus.NOT_CONNECTED
    if has_transcript or event == "call_ended":
        return CallStatus.ENDED
    return None


def _call_fields(data: dict[str, Any], call: Call) -> dict[str, Any]:
    """The columns this delivery knows; a later, thinner delivery never blanks earlier data."""
    values: dict[str, Any] = {}
    if isinstance(data.get("agent_id"), str):
        values["retell_agent_id"] = data["agent_id"]
    if isinstance(data.get("start_timestamp"), int | float):
        values["started_at"] = _from_ms(data["start_timestamp"])
    if isinstance(data.get("end_timestamp"), int | float):
        values["ended_at"] = _from_ms(data["end_timestamp"])
    started, ended = values.get("started_at") or call.started_at, values.get("ended_at") or call.ended_at
    if isinstance(data.get("duration_ms"), int | float):
        values["duration_ms"] = int(data["duration_ms"])
    elif started and ended and "ended_at" in values:
        values["duration_ms"] = int((ended - started).total_seconds() * 1000)
    for key in ("disconnection_reason", "transcript", "recording_url", "public_log_url"):
        if isinstance(data.get(key), str) and data[key]:
            values[key] = data[key]
    turns = data.get("transcript_object")
    if isinstance(turns, list) and turns:
        values["transcript_turns"] = [
            {"role": str(turn.get("role", "")), "content": str(turn.get("content", ""))}
            for turn in turns
            if isinstance(turn, dict)
        ]
    return values


def _from_ms(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
