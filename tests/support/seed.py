"""Calls, results and deliveries written straight into a test database, with the times a test needs."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Call, CallResult, CallStatus, WebhookEvent

CHECK_IN = {
    "call_outcome": "In-Transit Update",
    "driver_status": "Delayed",
    "current_location": "I-10 near Indio, CA",
    "eta": "Tomorrow, 8:00 AM",
    "delay_reason": "Heavy Traffic",
    "unloading_status": "N/A",
    "pod_reminder_acknowledged": False,
}
EMERGENCY = {
    "call_outcome": "Emergency Escalation",
    "emergency_type": "Breakdown",
    "safety_status": "Driver confirmed everyone is safe",
    "injury_status": "No injuries reported",
    "emergency_location": "I-15 North, Mile Marker 123",
    "load_secure": True,
    "escalation_status": "Connected to Human Dispatcher",
}


async def seed_call(
    database_url: str,
    *,
    created_at: datetime,
    status: CallStatus = CallStatus.COMPLETED,
    result: dict[str, Any] | None = None,
    driver_name: str = "Mike Johnson",
    agent_config_id: uuid.UUID | None = None,
    deliveries: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    delivery_fields: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> uuid.UUID:
    """One call (and its result and deliveries), created at `created_at`; returns its id.

    `delivery_fields[i]` sets more of the i-th delivery's columns (its `received_at` or `id`, say)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    call = Call(
        created_at=created_at,
        status=status,
        driver_name=driver_name,
        phone_number="+13125550102",
        load_number="7891-B",
        agent_config_id=agent_config_id,
        retell_call_id=f"call_{uuid.uuid4().hex[:12]}",
        call_outcome=result["call_outcome"] if result else None,
        # Copied from the result as the extraction's save does.
        follow_up_reason=result.get("follow_up_reason") if result else None,
        location_conflict=bool(result and result.get("location_conflict")),
        transcript="Agent: Hi.\nUser: Hello." if status == CallStatus.COMPLETED else None,
    )
    async with AsyncSession(engine) as session:
        session.add(call)
        await session.flush()
        if result is not None:
            scenario = "emergency" if result["call_outcome"] == "Emergency Escalation" else "check_in"
            session.add(
                CallResult(
                    call_id=call.id,
                    scenario=scenario,
                    call_outcome=result["call_outcome"],
                    data=result,
                    extractor="rules",
                )
            )
        for number, (event, payload) in enumerate(deliveries):
            assert call.retell_call_id is not None
            fields = delivery_fields[number] if number < len(delivery_fields) else {}
            session.add(
                WebhookEvent(
                    retell_call_id=call.retell_call_id,
                    event=event,
                    call_id=call.id,
                    payload=payload,
                    **fields,
                )
            )
            await session.flush()  # stored in this order
        call_id = call.id
        await session.commit()
    await engine.dispose()
    return call_id
