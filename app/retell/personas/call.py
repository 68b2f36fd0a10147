"""One call being scripted: the facts drawn for it, turn helpers, the ETA a driver gives and the close."""

from __future__ import annotations

import random
from collections.abc import Mapping

from app.retell.personas.lanes import _LANES, _spoken
from app.retell.personas.model import Persona, ScriptedCall, Turn

_OPENING_ASKS = (
    "Can you give me a quick status update?",
    "How's the run going so far?",
    "Where are you at right now?",
    "How are things going out there?",
    "Do you have a minute for a quick update?",
)
_NUMBER_WORDS = ("two", "three", "four", "five")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _eta(rng: random.Random, *, late: bool) -> str:
    if late:
        form = rng.randrange(3)
        if form == 0:
            return f"tomorrow around {rng.randint(6, 10)} AM"
        if form == 1:
            return f"late tonight, like {rng.randint(10, 11)} PM"
        return f"tomorrow morning around {rng.randint(5, 8)}:30"
    form = rng.randrange(4)
    if form == 0:
        return f"today around {rng.randint(1, 6)} PM"
    if form == 1:
        return f"tonight around {rng.randint(7, 10)}"
    if form == 2:
        return f"around {rng.randint(2, 5)}:30 this afternoon"
    return f"in about {rng.choice(_NUMBER_WORDS)} hours"


class _Call:
    """One call being scripted: the facts drawn for it and the turns said so far."""

    def __init__(
        self,
        persona: Persona,
        *,
        driver_name: str,
        load_number: str,
        context: Mapping[str, str],
        rng: random.Random,
    ) -> None:
        def given(key: str) -> str | None:
            value = context.get(key)
            return value.strip() if value and value.strip() else None

        self.persona = persona
        self.rng = rng
        self.first = driver_name.split()[0] if driver_name.split() else "there"
        self.load = load_number
        self.turns: list[Turn] = []

        # Prefer a corridor that really runs to the given receiver (or from the given pickup).
        destination, origin = given("destination"), given("origin")
        lane = rng.choice(
            [lane for lane in _LANES if destination in lane.destinations]
            or [lane for lane in _LANES if origin in lane.origins]
            or _LANES
        )
        index = rng.randrange(1, len(lane.towns))
        self.highway, self.direction = lane.highway, lane.direction
        self.town, self.state = lane.towns[index]
        self.previous_town = lane.towns[index - 1][0]
        self.lane = lane
        self.destination_full = destination or rng.choice(lane.destinations)
        self.origin_full = origin or rng.choice(lane.origins)
        self.destination = _spoken(self.destination_full)
        self.origin = _spoken(self.origin_full)
        self.gps = given("gps_location")
        self.mile_marker = rng.randint(12, 380)
        self.exit_number = rng.randint(20, 400)

    # -- turn helpers --------------------------------------------------------------------------------------

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def agent(self, *options: str) -> None:
        self.turns.append(Turn("agent", self.pick(*options)))

    def user(self, *options: str) -> None:
        self.turns.append(Turn("user", self.pick(*options)))

    def opening(self) -> None:
        greeting = f"Hi {self.first}, this is Dispatch with a check call on load {self.load}."
        self.agent(*(f"{greeting} {ask}" for ask in _OPENING_ASKS))

    def end(self, reason: str, summary: str, sentiment: str) -> ScriptedCall:
        return ScriptedCall(self.persona, tuple(self.turns), reason, summary, sentiment)

    # -- where the truck is (the GPS position when dispatch has one) ---------------------------------------

    def on_road(self) -> str:
        """What follows "I'm" when the driver says where they are."""
        if self.gps:
            return self.pick(f"near {self.gps}", f"right around {self.gps}")
        return self.pick(
            f"on {self.highway} {self.direction} near {self.town}",
            f"on {self.highway} {self.direction}, just past {self.town}",
            f"on {self.highway}, coming up on {self.town}",
        )

    @property
    def where(self) -> str:
        return self.gps or f"{self.highway} near {self.town}, {self.state}"

    def exact_spot(self) -> str:
        if self.gps:
            return self.pick(f"{self.gps}, I'm on the shoulder.", f"Right by {self.gps}.")
        return self.pick(
            f"{self.highway} {self.direction}, right around mile marker {self.mile_marker}.",
            f"Uh, let me look. {self.highway} {self.direction}, mile marker {self.mile_marker}, "
            f"a little past {self.town}.",
            f"{self.direction.capitalize()} side of {self.highway}, mile marker {self.mile_marker}, "
            f"just before exit {self.exit_number}.",
        )

    @property
    def exact_where(self) -> str:
        return self.gps or f"{self.highway} {self.direction}, mile marker {self.mile_marker}"


def _close(c: _Call, agent_lines: tuple[str, ...]) -> str:
    """The agent wraps up; half the time the driver says bye and hangs up first. Returns the hangup side."""
    c.agent(*agent_lines)
    if c.rng.random() < 0.5:
        c.user("You too, bye.", "Thanks, bye now.", "Alright, talk to you later.", "Yep. Bye.")
        return "user_hangup"
    return "agent_hangup"
