"""The rules extractor: decides emergency or check-in and assembles the CallExtraction."""

from __future__ import annotations

import asyncio

from app.extraction.rules.delays import _delay_facts, _delay_reason, _driver_status
from app.extraction.rules.emergency_fields import _extract_emergency
from app.extraction.rules.emergency_type import _detect_emergency
from app.extraction.rules.eta import _eta
from app.extraction.rules.follow_up import _follow_up_reason
from app.extraction.rules.gps import _gps_check
from app.extraction.rules.locations import _current_location
from app.extraction.rules.statements import _stated_now
from app.extraction.rules.turns import Turn, parse_turns
from app.extraction.rules.unloading import (
    _ARRIVED_RE,
    _pod_acknowledged,
    _unloading_status,
    _unloading_under_way,
)
from app.schemas.extraction import CallExtraction, CheckInResult, EmergencyResult


def _extract_check_in(turns: list[Turn]) -> CheckInResult:
    user_texts = [t.text for t in turns if t.role == "user"]
    at_receiver = _stated_now(_ARRIVED_RE, user_texts)
    unloading = _unloading_under_way(turns, at_receiver)
    arrived = unloading or at_receiver
    facts = _delay_facts(turns)
    return CheckInResult(
        call_outcome="Arrival Confirmation" if arrived else "In-Transit Update",
        driver_status=_driver_status(user_texts, arrived, unloading, facts),
        current_location=_current_location(turns),
        eta=None if arrived else _eta(turns),
        delay_reason=_delay_reason(facts),
        unloading_status=_unloading_status(user_texts, arrived, unloading),
        pod_reminder_acknowledged=_pod_acknowledged(turns),
    )


def extract_with_rules(transcript: str) -> CallExtraction:
    """Extract the structured call result from a transcript with keyword rules only (no network)."""
    turns = parse_turns(transcript)
    emergency = _detect_emergency(turns)
    result = _extract_emergency(turns, *emergency) if emergency else _extract_check_in(turns)
    pending = isinstance(result, EmergencyResult) and result.escalation_status == "Dispatcher will call back"
    result.follow_up_reason = _follow_up_reason(turns, pending_escalation=pending)
    result.gps_location, result.location_conflict = _gps_check(turns)
    return CallExtraction(result=result)


class RulesExtractor:
    """Extractor interface over `extract_with_rules`, used when the LLM is unavailable."""

    name = "rules"

    async def extract(self, transcript: str) -> CallExtraction:
        # Regular expressions over a whole call are CPU work: keep them off the event loop.
        return await asyncio.to_thread(extract_with_rules, transcript)

    async def aclose(self) -> None:
        """Nothing to release; present so the app can close any extractor the same way."""
