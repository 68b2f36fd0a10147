"""The personas, one reserved test number each, and the scripted call they produce."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.schemas.call import PersonaName


@dataclass(frozen=True)
class Persona:
    key: PersonaName
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
    Persona(PersonaName.ON_TIME, "On time", "0101", "In transit with no delays and a firm ETA."),
    Persona(
        PersonaName.TRAFFIC_DELAY,
        "Delayed by traffic",
        "0102",
        "Stuck in traffic or construction and gives a new ETA.",
    ),
    Persona(
        PersonaName.WEATHER_DELAY,
        "Delayed by weather",
        "0103",
        "Slowed by snow, rain, wind or fog and gives a new ETA.",
    ),
    Persona(
        PersonaName.UNLOADING_POD,
        "Unloading at the receiver",
        "0104",
        "Arrived, in a door and unloading; acknowledges the POD reminder.",
    ),
    Persona(
        PersonaName.WAITING_LUMPER,
        "Waiting for a lumper",
        "0105",
        "Arrived at the receiver but waiting on a lumper, sometimes close to detention.",
    ),
    Persona(
        PersonaName.BLOWOUT,
        "Tire blowout",
        "0106",
        "Emergency mid check-in: a tire blowout, nobody hurt, load secure; transferred to a human.",
    ),
    Persona(
        PersonaName.ACCIDENT_INJURY,
        "Accident with injury",
        "0107",
        "Emergency mid check-in: a collision in which the driver is hurt; transferred to a human.",
    ),
    Persona(
        PersonaName.MEDICAL,
        "Medical emergency",
        "0108",
        "Emergency mid check-in: chest pain and dizziness, driver pulls over; transferred to a human.",
    ),
    Persona(
        PersonaName.UNCOOPERATIVE,
        "Uncooperative driver",
        "0109",
        "Answers in single words; the agent probes, then ends the call politely.",
    ),
    Persona(
        PersonaName.NOISY_LINE,
        "Noisy line",
        "0110",
        "A bad connection: the agent asks the driver to repeat before getting location and ETA.",
    ),
    Persona(
        PersonaName.GPS_CONFLICT,
        "Location conflicts with GPS",
        "0111",
        "States a location that disagrees with GPS, then corrects it when the agent asks.",
    ),
    Persona(PersonaName.NO_ANSWER, "No answer", "0112", "The driver never picks up.", connects=False),
)

PERSONAS: dict[str, Persona] = {persona.key: persona for persona in _PERSONA_LIST}
DEFAULT_PERSONA: str = PersonaName.ON_TIME

_BY_SUFFIX = {persona.phone_suffix: persona for persona in _PERSONA_LIST}
_RESERVED_NUMBER = re.compile(r"\+1[2-9]\d{2}555(01\d{2})")


def persona_for_phone(e164: str) -> Persona | None:
    """The persona reserved for a US test number +1 NPA 555-01xx, or None for any other number."""
    match = _RESERVED_NUMBER.fullmatch(re.sub(r"[\s().-]", "", e164))
    return _BY_SUFFIX.get(match.group(1)) if match else None
