"""Scripting a call for a persona key: the entry point the simulator gateway uses."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from app.retell.personas.call import _Call
from app.retell.personas.check_ins import (
    _on_time,
    _traffic_delay,
    _unloading_pod,
    _waiting_lumper,
    _weather_delay,
)
from app.retell.personas.emergencies import _accident_injury, _blowout, _medical
from app.retell.personas.hard_calls import _gps_conflict, _noisy_line, _uncooperative
from app.retell.personas.model import PERSONAS, ScriptedCall

_SCRIPTS: dict[str, Callable[[_Call], ScriptedCall]] = {
    "on_time": _on_time,
    "traffic_delay": _traffic_delay,
    "weather_delay": _weather_delay,
    "unloading_pod": _unloading_pod,
    "waiting_lumper": _waiting_lumper,
    "blowout": _blowout,
    "accident_injury": _accident_injury,
    "medical": _medical,
    "uncooperative": _uncooperative,
    "noisy_line": _noisy_line,
    "gps_conflict": _gps_conflict,
}


def build_script(
    persona_key: str,
    *,
    driver_name: str,
    load_number: str,
    context: Mapping[str, str],
    rng: random.Random,
) -> ScriptedCall:
    """Script one call for a persona; the same rng state gives the same call. Unknown keys raise KeyError."""
    persona = PERSONAS[persona_key]
    if not persona.connects:
        return ScriptedCall(persona, (), "dial_no_answer", None, "Neutral")
    call = _Call(persona, driver_name=driver_name, load_number=load_number, context=context, rng=rng)
    return _SCRIPTS[persona_key](call)
