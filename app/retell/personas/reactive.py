"""Reactive drivers: they answer what the agent asked, from the persona's facts, instead of replaying lines.

Each persona's facts are drawn the way its script draws them (`_Call`: the lane, town, mile marker,
destination, the GPS position when dispatch has one), plus what the persona is about (the delay, the door,
the blowout). The driver listens to each agent response, works out which facts it asks for, and says those,
so a policy that asks in the wrong order, asks again, or keeps checking in after an emergency shows up in the
conversation's report instead of being hidden by a script that says everything regardless.

A `Variant` changes how the driver talks (paraphrased, answers in a different order, everything at once) or
what Retell does around it (an interruption, a dropped socket). The hard cases (uncooperative, noisy line,
GPS conflict) are personas with their own behaviour, each in several wordings.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from app.retell.personas.call import _Call, _eta
from app.retell.personas.check_ins import _DELAYS
from app.retell.personas.hard_calls import _stated_town
from app.retell.personas.model import PERSONAS

Slot = Literal[
    "status",
    "location",
    "eta",
    "delay",
    "unloading",
    "pod",
    "safety",
    "injury",
    "emergency_location",
    "load",
    "gps",
    "repeat",
    "nudge",
    "anything_else",
]
CHECK_IN_ASKS: frozenset[str] = frozenset({"status", "location", "eta", "delay", "unloading", "gps"})
EMERGENCY_ASKS: frozenset[str] = frozenset({"safety", "injury", "emergency_location", "load"})
VARIANTS = ("plain", "paraphrased", "reordered", "all_at_once", "interruption", "reconnect")

# What an agent sentence asks, by keyword. Order matters only for the report; a sentence may ask several.
_ASK_PATTERNS: tuple[tuple[Slot, re.Pattern[str]], ...] = (
    ("gps", re.compile(r"\b(tracking|gps|our system)\b", re.I)),
    (
        "repeat",
        re.compile(
            r"\b(repeat|say (that|it) again|didn'?t catch|breaking up|one more time|mishear|missed that|"
            r"hard to hear|cutting out|come again)\b",
            re.I,
        ),
    ),
    ("nudge", re.compile(r"\b(still there|hear me|still with me|you there)\b", re.I)),
    (
        "safety",
        re.compile(
            r"\b(are|is) (you|everyone|everybody)\b[^.?]*\bsafe\b|\bsafe (spot|place)\b|\bsomewhere safe\b",
            re.I,
        ),
    ),
    ("injury", re.compile(r"\b(hurt|injur\w*|medical help|ambulance)\b", re.I)),
    (
        "emergency_location",
        re.compile(r"\b(exact(ly)?\b[^.?]*\b(where|location)|where exactly|where are you exactly)\b", re.I),
    ),
    ("load", re.compile(r"\b(load|cargo|trailer)\b[^.?]*\bsecure\b|\bsecure\b[^.?]*\b(load|cargo)\b", re.I)),
    (
        "status",
        re.compile(
            r"\b(on the road|still driving|driving right now|rolling|made it to|at the receiver|"
            r"at the delivery|status|how'?s (it|the run|everything) going|how are things)\b",
            re.I,
        ),
    ),
    (
        "location",
        re.compile(
            r"\b(where are you|whereabouts|location|which highway|what highway|nearest (town|city)|"
            r"mile marker|"
            r"still on (?-i:[A-Z])-?\d+|(near|past|around) (?-i:[A-Z])\w+)\b",
            re.I,
        ),
    ),
    (
        "eta",
        re.compile(
            r"\b(eta|arrive|arrival|get there|get to|expect to|how many hours|today or tomorrow|"
            r"morning, afternoon|roll into|make it there)\b",
            re.I,
        ),
    ),
    (
        "delay",
        re.compile(
            r"\b(delay\w*|slowing|holding you up|on schedule|traffic or weather|traffic, weather|behind)\b",
            re.I,
        ),
    ),
    ("unloading", re.compile(r"\b(door|unload\w*|lumper)\b", re.I)),
    ("pod", re.compile(r"\b(pod|proof of delivery)\b", re.I)),
    ("anything_else", re.compile(r"\banything else\b", re.I)),
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# A sentence is a request when it asks (?), or tells the driver to say something.
_REQUEST = re.compile(r"\?\s*$|^(tell me|please|give me|can you|could you|just)\b|\bokay\?", re.I)
# Closing pleasantries that mention safety or the POD without asking anything.
_PLEASANTRY = re.compile(r"\b(drive safe|stay safe|safe travels|be safe|have a safe|take care|bye)\b", re.I)
ACCUSING = re.compile(
    r"\b(lying|lied|wrong location|not true|are you sure|that's wrong|you're wrong)\b", re.I
)


def asks_of(agent_text: str) -> list[Slot]:
    """What an agent response asks the driver for, in the order it asks."""
    found: list[Slot] = []
    for sentence in _SENTENCE.split(agent_text.strip()):
        is_request = bool(_REQUEST.search(sentence.strip()))
        for slot, pattern in _ASK_PATTERNS:
            if not pattern.search(sentence):
                continue
            if slot in ("pod", "gps") or is_request or slot in ("repeat", "emergency_location"):
                if slot == "safety" and _PLEASANTRY.search(sentence) and not is_request:
                    continue
                if slot not in found:
                    found.append(slot)
    # "Are you around there, or did I mishear?" is the GPS question, not a request to repeat.
    if "gps" in found and "repeat" in found:
        found.remove("repeat")
    # "Send the POD when unloading's done" asks for the POD, not how unloading goes.
    if "pod" in found and "unloading" in found:
        found.remove("unloading")
    # A location question inside an emergency is the exact location; "are you around there?" is the GPS one.
    if "location" in found and ("emergency_location" in found or "gps" in found):
        found.remove("location")
    return found


def is_emergency_protocol(agent_text: str, transferred: bool) -> bool:
    """Whether a response has left the check-in: it asks a safety question, or hands over."""
    if transferred or re.search(r"\b(dispatcher|911)\b", agent_text, re.I):
        return True
    return bool(set(asks_of(agent_text)) & EMERGENCY_ASKS)


# ---------------------------------------------------------------------------------------------------------
# Facts and labels
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriverFacts:
    """One driver's truth for one call, and what the agent should capture from it."""

    persona: str
    first: str
    highway: str
    direction: str
    town: str
    state: str
    destination: str
    origin: str
    mile_marker: int
    status: Literal["Driving", "Delayed", "Arrived", "Unloading"]
    eta: str | None = None
    eta_hint: str | None = (
        None  # a word of the ETA the captured value must contain ("8", "tomorrow", "hours")
    )
    delay: str | None = None  # how late, e.g. "about an hour"
    delay_reason: str = "None"  # the label
    delay_line: str | None = None
    door: int | None = None
    lumper: bool = False
    emergency_type: str | None = None
    alarm: str | None = None
    injured: bool = False
    injury_line: str | None = None
    gps: str | None = None
    stated_town: str | None = None  # a GPS-conflict driver's town, elsewhere than the GPS

    @property
    def location(self) -> str:
        return f"{self.highway} near {self.town}, {self.state}"

    @property
    def arrived(self) -> bool:
        return self.status in ("Arrived", "Unloading")

    def expected(self) -> dict[str, Any]:
        """The live result fields this call must end with (values or the words they must contain)."""
        if self.emergency_type:
            expected: dict[str, Any] = {
                "call_outcome": "Emergency Escalation",
                "emergency_type": _ACCEPTED_TYPES.get(self.persona, (self.emergency_type,)),
                "escalation_status": True,
            }
            if self.emergency_type == "Medical":
                # The driver is the one in trouble: the protocol goes straight to escalation.
                return expected
            expected |= {"safety_status": True, "injury_status": "injur" if self.injured else "no"}
            if self.injured:
                return expected  # an injury skips straight to escalation: no location or load asked
            return expected | {"emergency_location": (str(self.mile_marker), self.town), "load_secure": True}
        if self.arrived:
            return {
                "call_outcome": "Arrival Confirmation",
                "driver_status": self.status,
                "unloading_status": f"{self.door}" if self.door else ("lumper" if self.lumper else "door"),
                "pod_reminder_acknowledged": True,
            }
        return {
            "call_outcome": "In-Transit Update",
            "driver_status": self.status,
            "current_location": self.stated_town or self.town,
            "eta": self.eta_hint,
            "delay_reason": self.delay_reason,
        }


_ETA_HINT = re.compile(r"\b(\d{1,2})(?::\d\d)?\b|\b(two|three|four|five)\b")


def _hint(eta: str) -> str:
    match = _ETA_HINT.search(eta)
    if not match:
        return eta.split()[0]
    return match.group(1) or {"two": "2", "three": "3", "four": "4", "five": "5"}[match.group(2)]


_ALARMS: dict[str, tuple[str, ...]] = {
    "blowout": (
        "Whoa, hold on, hold on. Just blew a tire, I'm pulling over.",
        "Oh man. Hang on, I think I just lost a tire. Getting onto the shoulder.",
        "Shoot, hold up, that was a blowout. Gotta get this thing stopped.",
    ),
    "accident_injury": (
        "Oh no. Hold on, a car just came over into my lane and hit me.",
        "Hang on, hang on, somebody just slammed into my trailer.",
        "Whoa! Sorry, I just got hit, some pickup ran the light and hit my truck.",
    ),
    "medical": (
        "Actually, hold on. I'm not feeling right, my chest is real tight. I'm gonna pull over.",
        "Sorry, give me a second. I'm getting really dizzy and my chest hurts, I need to get off the road.",
        "Hang on... my chest is hurting bad, I'm pulling onto the shoulder.",
    ),
}
_EMERGENCY_TYPE = {"blowout": "Breakdown", "accident_injury": "Accident", "medical": "Medical"}
_INJURIES = (
    "I hit my head on the window, there's some blood",
    "my wrist is killing me, I think I jammed it on the wheel",
    "I got a cut on my arm from the glass and my neck's real sore",
)
_TRAFFIC = (
    "Construction, they've got it down to one lane",
    "Traffic's been stop and go for the last thirty miles",
    "Rush hour traffic, it's a parking lot out here",
)
# Hard negatives: a wreck that slows the driver down is a delay, not an emergency.
HARD_NEGATIVE_TRAFFIC = (
    "There's an accident up ahead and traffic's backed up for miles",
    "A pile-up on the interstate slowed me down, traffic's crawling",
    "Traffic's stopped for a jackknifed rig a mile ahead",
    "Traffic from a wreck ahead, they've got two lanes closed",
)
_WEATHER_LINES = (
    "Snow's really coming down, roads are slick",
    "Heavy rain, I can barely see the lines so I slowed way down",
    "Dense fog this morning, visibility's next to nothing",
    "High wind warning, the trailer keeps getting pushed around",
)


# Personas only the reactive drivers play, and the scripted persona whose corridor draw they share.
EXTRA_PERSONAS = {"waiting_door": "unloading_pod", "deer_strike": "blowout", "engine_fire": "blowout"}
_ALARMS["deer_strike"] = (
    "Hold on, I clipped a deer and the radiator's pouring out. I'm pulling over.",
    "Dang it, just hit a deer, there's steam coming out the front. Gotta stop.",
)
_ALARMS["engine_fire"] = (
    "Hang on, there's smoke pouring out from under the hood. I'm pulling over right now.",
    "Whoa, I've got flames coming out of the engine, I need to stop.",
)
_EMERGENCY_TYPE |= {"deer_strike": "Breakdown", "engine_fire": "Breakdown"}
# Either reading is right: hitting a deer is a collision that broke the truck; a fire is mechanical or other.
_ACCEPTED_TYPES = {"deer_strike": ("Breakdown", "Accident"), "engine_fire": ("Breakdown", "Other")}
_GPS_READING = re.compile(r"(I-\d+)\s+(?:\w+\s+)?near\s+([^,]+),\s*([A-Z]{2})")


def draw_facts(
    persona: str,
    *,
    driver_name: str,
    load_number: str,
    context: Mapping[str, str],
    rng: random.Random,
    hard_negative: int | None = None,
    gps: Literal["conflicts", "agrees"] | None = None,
) -> DriverFacts:
    """The facts for one call of `persona`, drawn as its script draws them.

    `hard_negative` picks a traffic delay worded like an emergency ("an accident up ahead"); `gps` makes the
    driver's position disagree with (or match) the context's `gps_location`.
    """
    script_persona = PERSONAS[EXTRA_PERSONAS.get(persona, persona)]
    call = _Call(script_persona, driver_name=driver_name, load_number=load_number, context=context, rng=rng)
    base: dict[str, Any] = {
        "persona": persona,
        "first": call.first,
        "highway": call.highway,
        "direction": call.direction,
        "town": call.town,
        "state": call.state,
        "destination": call.destination,
        "origin": call.origin,
        "mile_marker": call.mile_marker,
        "gps": call.gps,
    }
    reading = _GPS_READING.search(call.gps or "")
    if reading:
        # Where the system's GPS puts the truck is where it is, unless the driver is the conflicting kind.
        base |= {"highway": reading.group(1), "town": reading.group(2), "state": reading.group(3)}
    late = persona in ("traffic_delay", "weather_delay")
    eta = _eta(rng, late=late)
    transit: dict[str, Any] = {"eta": eta, "eta_hint": _hint(eta)}
    if gps == "conflicts":
        stated = _stated_town(call)
        return DriverFacts(**base, **transit, status="Driving", stated_town=stated)
    if persona == "traffic_delay":
        line = HARD_NEGATIVE_TRAFFIC[hard_negative] if hard_negative is not None else rng.choice(_TRAFFIC)
        return DriverFacts(
            **base,
            **transit,
            status="Delayed",
            delay=rng.choice(_DELAYS),
            delay_reason="Heavy Traffic",
            delay_line=line,
        )
    if persona == "weather_delay":
        return DriverFacts(
            **base,
            **transit,
            status="Delayed",
            delay=rng.choice(_DELAYS),
            delay_reason="Weather",
            delay_line=rng.choice(_WEATHER_LINES),
        )
    if persona == "unloading_pod":
        return DriverFacts(**base, status="Unloading", door=rng.randint(3, 64))
    if persona == "waiting_lumper":
        return DriverFacts(**base, status="Arrived", lumper=True)
    if persona == "waiting_door":
        return DriverFacts(**base, status="Arrived")
    if persona in _ALARMS:
        return DriverFacts(
            **base,
            **transit,
            status="Driving",
            emergency_type=_EMERGENCY_TYPE[persona],
            alarm=rng.choice(_ALARMS[persona]),
            injured=persona == "accident_injury",
            injury_line=rng.choice(_INJURIES) if persona == "accident_injury" else None,
        )
    return DriverFacts(**base, **transit, status="Driving")


# ---------------------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------------------

Action = Literal["say", "silence", "interrupt", "reconnect_then_say", "hang_up"]


@dataclass
class DriverMove:
    """What the driver does after an agent response."""

    action: Action
    text: str = ""
    # For "interrupt": what the driver says over the agent's next response before it finishes.
    second: str = ""


@dataclass
class ReactiveDriver:
    """Answers each agent response from `facts`; records what it was asked and what went wrong."""

    facts: DriverFacts
    variant: str = "plain"
    rng: random.Random = field(default_factory=random.Random)
    # Hard-case behaviour: "uncooperative", "silent", "noisy", "noisy_recovers", "noisy_emergency",
    # "gps_stands_by", "gps_corrects", "gps_agrees".
    behaviour: str | None = None
    # Emergencies: after how many driver answers the alarm comes (0: the very first answer).
    alarm_at: int = 1
    answered: set[str] = field(default_factory=set)
    asked_log: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answers_given: int = 0
    alarm_given_at: int | None = None  # the driver turn index of the alarm
    in_emergency: bool = False
    noisy_turns: int = 0
    gps_questions: int = 0
    _last_answer: str = ""
    _noise_hid: list[Slot] = field(default_factory=list)
    _interrupted: bool = False
    _reconnected: bool = False

    # -- the move --------------------------------------------------------------------------------------

    def respond(self, agent_text: str) -> DriverMove:
        asks = asks_of(agent_text)
        if not self.asked_log and not asks:
            asks = ["status"]  # a greeting that asks nothing: the driver says how it's going
        self.asked_log.append(list(asks))
        self._judge(agent_text, asks)
        text = self._answer(agent_text, asks)
        if text is None:
            return DriverMove("silence")
        self._last_answer = text
        self.answers_given += 1
        if self.variant == "interruption" and not self._interrupted and self.answers_given == 2 and asks:
            self._interrupted = True
            return DriverMove("interrupt", text, second=self._interjection())
        if self.variant == "reconnect" and not self._reconnected and self.answers_given == 2:
            self._reconnected = True
            return DriverMove("reconnect_then_say", text)
        return DriverMove("say", text)

    def _interjection(self) -> str:
        if self.facts.emergency_type and not self.in_emergency:
            # The driver cuts the agent off to report the emergency.
            self.in_emergency = True
            self.alarm_given_at = self.answers_given
            return self.facts.alarm or ""
        return self.rng.choice(("Sorry, go ahead.", "Yeah, go on.", "Sorry, I was saying, go ahead."))

    def _judge(self, agent_text: str, asks: list[Slot]) -> None:
        if self.in_emergency and set(asks) & (CHECK_IN_ASKS - {"location"}):
            self.problems.append(f"check-in question after the emergency: {agent_text!r}")
        if "gps" in asks:
            self.gps_questions += 1
            if ACCUSING.search(agent_text):
                self.problems.append(f"accusing GPS question: {agent_text!r}")
        for slot in asks:
            if slot in self.answered and self.behaviour is None and slot not in ("repeat", "nudge", "pod"):
                self.problems.append(f"asked again for {slot}, already answered")
        if self.facts.arrived and ("eta" in asks or "delay" in asks):
            self.problems.append(f"asked an arrived driver about {'eta' if 'eta' in asks else 'delays'}")

    # -- what the driver says --------------------------------------------------------------------------

    def _answer(self, agent_text: str, asks: list[Slot]) -> str | None:
        f = self.facts
        behaviour = self.behaviour
        if behaviour == "silent":
            return None
        if behaviour == "uncooperative":
            return self.rng.choice(
                ("Fine.", "Yep.", "Dunno.", "Around.", "Busy.", "Nope.", "Later.", "Whatever.")
            )
        if behaviour in ("noisy", "noisy_emergency") or (
            behaviour == "noisy_recovers" and self.noisy_turns < 2
        ):
            if behaviour == "noisy_emergency" and not self.in_emergency:
                self.in_emergency = True
                self.alarm_given_at = self.answers_given
                return f.alarm or "Blew a tire, I'm pulling over."
            self.noisy_turns += 1
            if not self._noise_hid:
                self._noise_hid = [a for a in asks if a not in ("repeat", "nudge")] or ["status"]
            return self.rng.choice(
                (
                    "(unintelligible audio)",
                    "[inaudible] ...on the ...[noise]",
                    "Yeah... [static] ...about ...[inaudible]",
                    "...near [inaudible] ...the ...[wind noise]",
                    "(unintelligible audio) ... (unintelligible audio)",
                )
            )
        alarm_now = self.answers_given >= self.alarm_at if self.alarm_at >= 0 else "eta" in asks
        if f.emergency_type and not self.in_emergency and alarm_now:
            self.in_emergency = True
            self.alarm_given_at = self.answers_given
            lead = self._check_in_parts(asks) if self.alarm_at > 0 and self.rng.random() < 0.3 else []
            return " ".join([*lead[:1], f.alarm or ""]).strip()
        if "repeat" in asks or self._noise_hid:
            if self._noise_hid:
                # The line cleared: say what the noise swallowed.
                hidden, self._noise_hid = self._noise_hid, []
                parts = self._emergency_parts(hidden) if self.in_emergency else self._check_in_parts(hidden)
                return " ".join(parts) or self._check_in_all()
            return self._last_answer or self._check_in_all()
        if self.variant == "all_at_once" and self.answers_given == 0 and not f.emergency_type:
            self.answered |= {"status", "location", "eta", "delay", "unloading"}
            return self._check_in_all()
        if "nudge" in asks and not (set(asks) - {"nudge"}):
            return "Yeah, I'm here."
        if self.in_emergency and set(asks) & (CHECK_IN_ASKS - {"location"}):
            # Asked about the check-in in the middle of an emergency: the driver says it again.
            return f"I can't do that right now. {f.alarm}"
        if not self.in_emergency and set(asks) & EMERGENCY_ASKS:
            return self.rng.choice(("What? No, I'm fine, nobody's hurt.", "I'm fine, it's just traffic."))
        parts = self._emergency_parts(asks) if self.in_emergency else self._check_in_parts(asks)
        if not parts:
            if "anything_else" in asks:
                return self.rng.choice(("Nope, that's it.", "No, I'm good.", "Nah, that's all."))
            if asks_closing(agent_text):
                return self.rng.choice(("Thanks, bye.", "You too, bye.", "Alright, talk later."))
            return self.rng.choice(("Okay.", "Sure.", "Alright.")) if not asks else "Sorry, what was that?"
        if self.variant == "reordered":
            parts.reverse()
        return " ".join(parts)

    def _say(self, plain: tuple[str, ...], paraphrased: tuple[str, ...]) -> str:
        return self.rng.choice(paraphrased if self.variant == "paraphrased" else plain)

    def _check_in_parts(self, asks: list[Slot]) -> list[str]:
        parts: list[str] = []
        for slot in asks:
            said = self._check_in_part(slot)
            if said:
                parts.append(said)
                self.answered.add(slot)
        return parts

    def _check_in_part(self, slot: Slot) -> str | None:
        f = self.facts
        where = f"{f.highway} {f.direction} near {f.town}"
        if slot == "gps":
            if self.behaviour == "gps_corrects":
                return self._say(
                    (
                        f"Oh, yeah, my mistake, I'm on {f.highway} near {f.town}.",
                        f"You're right, I'm around {f.town} on {f.highway}.",
                    ),
                    (f"Huh, yeah, I was thinking of where I fueled up. {f.town} is right.",),
                )
            mine = f.stated_town or f.town
            return self._say(
                (f"No, I'm definitely near {mine}.", f"Pretty sure I'm just outside {mine}."),
                (f"Nah, I'm looking at the sign for {mine} right now.",),
            )
        if slot == "status":
            if f.status == "Unloading":
                return self._say(
                    (f"I'm at the receiver in {f.destination}, they're unloading me now.",),
                    (f"Made it to {f.destination}, I'm at the dock and they're unloading.",),
                )
            if f.status == "Arrived":
                return self._say(
                    (f"I'm at the receiver in {f.destination}, checked in.",),
                    (f"Made it to {f.destination}, I'm at the receiver now.",),
                )
            if f.status == "Delayed":
                return self._say(
                    (f"Still driving, but I'm running {f.delay} behind.",),
                    (f"On the road, running late, about {f.delay} behind.",),
                )
            return self._say(
                ("Still driving, on schedule.", "I'm on the road, all on time."),
                ("Rolling along, on schedule.",),
            )
        if slot == "location":
            if f.arrived:
                return f"I'm at the receiver in {f.destination}."
            if f.stated_town:
                return self._say(
                    (f"I'm just outside {f.stated_town} on {f.highway}.",),
                    (f"Coming up on {f.stated_town}, on {f.highway}.",),
                )
            if self.behaviour == "gps_agrees":
                return self._say(
                    (
                        f"I'm on {f.highway} outside {f.town}.",
                        f"Around mile marker {f.mile_marker} on {f.highway}, near {f.town}.",
                    ),
                    (f"{f.highway}, just past {f.town}.",),
                )
            return self._say(
                (f"I'm on {where}, {f.state}.", f"{f.highway} near {f.town}, {f.state}."),
                (
                    f"Just past {f.town}, {f.state} on {f.highway}.",
                    f"On {f.highway}, coming up on {f.town}, {f.state}.",
                ),
            )
        if slot == "eta":
            if f.arrived:
                return "I'm already here."
            return self._say((f"Should be there {f.eta}.",), (f"I'm figuring {f.eta}, give or take.",))
        if slot == "delay":
            if f.arrived:
                return "No delays, I'm here."
            if f.delay_line:
                return self._say(
                    (f"{f.delay_line}. I'm {f.delay} behind.",),
                    (f"{f.delay_line}, figure I lost {f.delay}.",),
                )
            return self._say(("No delays, it's been smooth.",), ("Nope, clear roads the whole way.",))
        if slot == "unloading":
            if not f.arrived:
                return f"Not there yet, still on the road to {f.destination}."
            if f.door:
                return self._say(
                    (f"Yep, I'm in door {f.door}, they're unloading.",),
                    (f"They backed me into door {f.door}, forklift's going.",),
                )
            if f.lumper:
                return self._say(
                    ("No door yet, still waiting on the lumper.",),
                    ("Nope, the lumper crew hasn't shown up yet.",),
                )
            return self._say(
                ("Not yet, I'm waiting for a door.",),
                ("They told me to sit in the lot until a door opens up.",),
            )
        if slot == "pod":
            if not f.arrived:
                return "Sure, I'll send the POD when I deliver."
            return self._say(
                ("Will do, I'll send the POD soon as they sign it.",),
                ("Yep, I'll take a picture of the POD and send it.",),
            )
        return None

    def _check_in_all(self) -> str:
        f = self.facts
        if f.arrived:
            parts = [self._check_in_part("status"), self._check_in_part("unloading")]
        else:
            parts = [
                f"I'm on {f.highway} near {f.stated_town or f.town}, {f.state}.",
                self._check_in_part("delay"),
                self._check_in_part("eta"),
            ]
        if self.variant == "reordered":
            parts.reverse()
        return " ".join(p for p in parts if p)

    def _emergency_parts(self, asks: list[Slot]) -> list[str]:
        f = self.facts
        parts: list[str] = []
        for slot in asks:
            said: str | None = None
            if slot == "safety":
                said = self._say(
                    ("I'm safe, I'm on the shoulder.",),
                    ("Yeah, I'm okay, stopped on the shoulder with my flashers on.",),
                )
            elif slot == "injury":
                said = (
                    f"Yeah, I'm hurt, {f.injury_line}."
                    if f.injured
                    else self._say(("Nobody's hurt.",), ("No injuries, just shook up a little.",))
                )
            elif slot in ("emergency_location", "location"):
                said = self._say(
                    (f"{f.highway} {f.direction}, mile marker {f.mile_marker}, near {f.town}.",),
                    (f"{f.direction.capitalize()} side of {f.highway}, mile marker {f.mile_marker}.",),
                )
            elif slot == "load":
                said = self._say(("Load's secure.",), ("Trailer's fine, the load is secure.",))
            if said:
                parts.append(said)
                self.answered.add(slot)
        return parts


def asks_closing(agent_text: str) -> bool:
    return bool(_PLEASANTRY.search(agent_text))
