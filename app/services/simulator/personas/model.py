"""The personas, one reserved test number each, and the scripted call they produce."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Persona:
    key: str
    title: str
    phone_suffix: str
    description: str
    connects: bool = True


@dataclass(frozen=True)
class Turn:
    role: Literal["agent", "user"]
    content: str


@dataclass(frozen=True)
class ScriptedCall:
    persona: Persona
    turns: tuple[Turn, ...]
    disconnection_reason: str
    summary: str | None
    user_sentiment: str

    @property
    def transcript(self) -> str:
        """The transcript as Retell writes it: one "Agent: ..." or "User: ..." line per turn."""
        return "".join(
            f"{'Agent' if turn.role == 'agent' else 'User'}: {turn.content}\n" for turn in self.turns
        )


_PERSONA_LIST = (
    Persona("on_time", "On time", "0101", "In transit with no delays and a firm ETA."),
    Persona(
        "traffic_delay", "Delayed by traffic", "0102", "Stuck in traffic or construction and gives a new ETA."
    ),
    Persona(
        "weather_delay",
        "Delayed by weather",
        "0103",
        "Slowed by snow, rain, wind or fog and gives a new ETA.",
    ),
    Persona(
        "unloading_pod",
        "Unloading at the receiver",
        "0104",
        "Arrived, in a door and unloading; acknowledges the POD reminder.",
    ),
    Persona(
        "waiting_lumper",
        "Waiting for a lumper",
        "0105",
        "Arrived at the receiver but waiting on a lumper, sometimes close to detention.",
    ),
    Persona(
        "blowout",
        "Tire blowout",
        "0106",
        "Emergency mid check-in: a tire blowout, nobody hurt, load secure; transferred to a human.",
    ),
    Persona(
        "accident_injury",
        "Accident with injury",
        "0107",
        "Emergency mid check-in: a collision in which the driver is hurt; transferred to a human.",
    ),
    Persona(
        "medical",
        "Medical emergency",
        "0108",
        "Emergency mid check-in: chest pain and dizziness, driver pulls over; transferred to a human.",
    ),
    Persona(
        "uncooperative",
        "Uncooperative driver",
        "0109",
        "Answers in single words; the agent probes, then ends the call politely.",
    ),
    Persona(
        "noisy_line",
        "Noisy line",
        "0110",
        "A bad connection: the agent asks the driver to repeat before getting location and ETA.",
    ),
    Persona(
        "gps_conflict",
        "Location conflicts with GPS",
        "0111",
        "States a location that disagrees with GPS, then corrects it when the agent asks.",
    ),
    Persona("no_answer", "No answer", "0112", "The driver never picks up.", connects=False),
)

PERSONAS: dict[str, Persona] = {persona.key: persona for persona in _PERSONA_LIST}
DEFAULT_PERSONA: str = "on_time"

_BY_SUFFIX = {persona.phone_suffix: persona for persona in _PERSONA_LIST}
_RESERVED_NUMBER = re.compile(r"\+1[2-9]\d{2}555(01\d{2})")


def persona_for_phone(e164: str) -> Persona | None:
    """The persona reserved for a US test number +1 NPA 555-01xx, or None for any other number."""
    match = _RESERVED_NUMBER.fullmatch(re.sub(r"[\s().-]", "", e164))
    return _BY_SUFFIX.get(match.group(1)) if match else None
