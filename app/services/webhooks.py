"""Retell webhook deliveries: store each once, then move its call forward."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import BadRequest
from app.models import AgentConfiguration, Call, CallStatus, WebhookEvent
from app.models.call import statuses_before

# Retell's disconnection reasons for a dial that never reached anyone.
DIAL_FAILURES = {"dial_failed", "dial_no_answer", "dial_busy", "invalid_destination", "no_valid_payment"}
METADATA_CALL_ID_KEYS = ("call_id", "test_call_id")


class InvalidWebhookPayload(BadRequest):
    pass


@dataclass(frozen=True)
class Delivery:
    event: str
    retell_call_id: str
    call: dict[str, Any]
    payload: dict[str, Any]


@dataclass(frozen=True)
class DeliveryOutcome:
    call_id: uuid.UUID | None
    duplicate: bool
    extract: bool


def parse_delivery(payload: object) -> Delivery:
    """Check the shape Retell sends: {"event": str, "call": {"call_id": str, ...}}."""
    if not isinstance(payload, dict):
        raise InvalidWebhookPayload("the body must be a JSON object")
    event, call = payload.get("event"), payload.get("call")
    if not isinstance(event, str) or not event:
        raise InvalidWebhookPayload("`event` is missing")
    if not isinstance(call, dict):
        raise InvalidWebhookPayload("`call` is missing or not an object")
    retell_call_id = call.get("call_id")
    if not isinstance(retell_call_id, str) or not retell_call_id:
        raise InvalidWebhookPayload("`call.call_id` is missing")
    return Delivery(event=event, retell_call_id=retell_call_id, call=call, payload=payload)


async def record_delivery(session: AsyncSession, delivery: Delivery) -> DeliveryOutcome:
    """Store the delivery (a replay changes nothing), then apply it to its call."""
    log = logger.bind(retell_call_id=delivery.retell_call_id)
    if not await _insert_event(session, delivery):
        log.info("duplicate {} for {} acknowledged", delivery.event, delivery.retell_call_id)
        return DeliveryOutcome(call_id=None, duplicate=True, extract=False)
    call = await _find_or_create_call(session, delivery)
    await session.exec(
        update(WebhookEvent)
        .where(
            col(WebhookEvent.retell_call_id) == delivery.retell_call_id,
            col(WebhookEvent.event) == delivery.event,
        )
        .values(call_id=call.id)
    )
    extract = await _apply(session, call, delivery)
    log.bind(call_id=str(call.id)).info("{} applied to call {}", delivery.event, call.id)
    return DeliveryOutcome(call_id=call.id, duplicate=False, extract=extract)


async def _insert_event(session: AsyncSession, delivery: Delivery) -> bool:
    """Insert unless (call, event) is already stored; True when this delivery is new."""
    values = {
        "id": uuid.uuid4(),
        "retell_call_id": delivery.retell_call_id,
        "event": delivery.event,
        "payload": delivery.payload,
        "received_at": datetime.now(UTC),
    }
    insert = _dialect_insert(session)
    statement = (
        insert(WebhookEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["retell_call_id", "event"])
    )
    result = await session.exec(statement)
    return result.rowcount == 1


async def _find_or_create_call(session: AsyncSession, delivery: Delivery) -> Call:
    """Our call id travels in Retell's metadata; else match Retell's id; else it's a call we did not start."""
    metadata = delivery.call.get("metadata")
    if isinstance(metadata, dict):
        for key in METADATA_CALL_ID_KEYS:
            call = await _call_by_our_id(session, metadata.get(key))
            if call is not None:
                if call.retell_call_id is None:
                    call.retell_call_id = delivery.retell_call_id
                return call
    found = (
        await session.exec(select(Call).where(col(Call.retell_call_id) == delivery.retell_call_id))
    ).first()
    if found is not None:
        return found
    return await _create_foreign_call(session, delivery)


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
            await session.exec(
                select(AgentConfiguration.id).where(col(AgentConfiguration.retell_agent_id) == agent_id)
            )
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
        "phone_number": phone if isinstance(phone, str) else None,
        "context": {k: str(v) for k, v in variables.items() if k not in ("driver_name", "load_number")},
        "created_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
        "extraction_attempts": 0,
    }
    insert = _dialect_insert(session)
    # Two first deliveries of one unknown call may race: the unique Retell id lets only one row in.
    await session.exec(
        insert(Call).values(**values).on_conflict_do_nothing(index_elements=["retell_call_id"])
    )
    call = (await session.exec(select(Call).where(col(Call.retell_call_id) == delivery.retell_call_id))).one()
    logger.info("created call {} for Retell call {} we did not start", call.id, delivery.retell_call_id)
    return call


async def _apply(session: AsyncSession, call: Call, delivery: Delivery) -> bool:
    """Copy what the event carries onto the call and advance its status; True when extraction is due."""
    data = delivery.call
    _copy_call_fields(call, data)
    if delivery.event == "call_analyzed" and isinstance(data.get("call_analysis"), dict):
        call.call_analysis = data["call_analysis"]
    session.add(call)
    await session.flush()

    if delivery.event == "call_started":
        await _advance(session, call.id, CallStatus.ONGOING)
        return False
    if delivery.event not in ("call_ended", "call_analyzed"):
        return False
    if _never_connected(call, data):
        await _advance(session, call.id, CallStatus.NOT_CONNECTED)
        return False
    if not call.transcript:
        if delivery.event == "call_ended":
            await _advance(session, call.id, CallStatus.ENDED)
        return False
    await _advance(session, call.id, CallStatus.ENDED)
    return True


def _never_connected(call: Call, data: dict[str, Any]) -> bool:
    """A failed dial, or a call that ended without ever starting or saying a word."""
    if data.get("disconnection_reason") in DIAL_FAILURES:
        return True
    return call.started_at is None and not call.transcript


def _copy_call_fields(call: Call, data: dict[str, Any]) -> None:
    """Fill in what this delivery knows; a later, thinner delivery never blanks earlier data."""
    if isinstance(data.get("agent_id"), str):
        call.retell_agent_id = data["agent_id"]
    if isinstance(data.get("start_timestamp"), int | float):
        call.started_at = _from_ms(data["start_timestamp"])
    if isinstance(data.get("end_timestamp"), int | float):
        call.ended_at = _from_ms(data["end_timestamp"])
    if isinstance(data.get("duration_ms"), int | float):
        call.duration_ms = int(data["duration_ms"])
    elif call.started_at and call.ended_at:
        call.duration_ms = int((call.ended_at - call.started_at).total_seconds() * 1000)
    for field, key in (
        ("disconnection_reason", "disconnection_reason"),
        ("transcript", "transcript"),
        ("recording_url", "recording_url"),
        ("public_log_url", "public_log_url"),
    ):
        if isinstance(data.get(key), str) and data[key]:
            setattr(call, field, data[key])
    turns = data.get("transcript_object")
    if isinstance(turns, list) and turns:
        call.transcript_turns = [
            {"role": str(turn.get("role", "")), "content": str(turn.get("content", ""))}
            for turn in turns
            if isinstance(turn, dict)
        ]


async def _advance(session: AsyncSession, call_id: uuid.UUID, status: CallStatus) -> None:
    """Move forward only: a late or replayed delivery never takes a call back."""
    await session.exec(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(statuses_before(status)))
        .values(status=status.value)
    )


def _dialect_insert(session: AsyncSession) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING exists on both databases, under each dialect's own insert()."""
    assert session.bind is not None
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


def _from_ms(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
