"""Scripted driver personas that the offline Retell simulator plays, one reserved test number each."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class _Lane:
    """A freight corridor: towns listed in the direction of travel, plus typical pickups and receivers."""

    highway: str
    direction: str
    towns: tuple[tuple[str, str], ...]
    origins: tuple[str, ...]
    destinations: tuple[str, ...]


_LANES = (
    _Lane(
        "I-10",
        "eastbound",
        (("Indio", "CA"), ("Blythe", "CA"), ("Quartzsite", "AZ"), ("Phoenix", "AZ"), ("Casa Grande", "AZ")),
        ("Ontario, CA", "Riverside, CA", "Long Beach, CA"),
        ("El Paso, TX", "San Antonio, TX", "Houston, TX"),
    ),
    _Lane(
        "I-40",
        "eastbound",
        (
            ("Kingman", "AZ"),
            ("Flagstaff", "AZ"),
            ("Gallup", "NM"),
            ("Albuquerque", "NM"),
            ("Tucumcari", "NM"),
        ),
        ("Barstow, CA", "Bakersfield, CA"),
        ("Oklahoma City, OK", "Little Rock, AR", "Memphis, TN"),
    ),
    _Lane(
        "I-80",
        "eastbound",
        (
            ("Rock Springs", "WY"),
            ("Laramie", "WY"),
            ("Cheyenne", "WY"),
            ("Sidney", "NE"),
            ("North Platte", "NE"),
        ),
        ("Salt Lake City, UT", "Reno, NV"),
        ("Omaha, NE", "Des Moines, IA", "Chicago, IL"),
    ),
    _Lane(
        "I-35",
        "northbound",
        (("San Antonio", "TX"), ("Austin", "TX"), ("Waco", "TX"), ("Ardmore", "OK"), ("Norman", "OK")),
        ("Laredo, TX", "McAllen, TX"),
        ("Wichita, KS", "Kansas City, MO"),
    ),
    _Lane(
        "I-75",
        "northbound",
        (("Valdosta", "GA"), ("Tifton", "GA"), ("Macon", "GA"), ("Chattanooga", "TN"), ("Knoxville", "TN")),
        ("Tampa, FL", "Lakeland, FL", "Ocala, FL"),
        ("Lexington, KY", "Cincinnati, OH", "Dayton, OH"),
    ),
    _Lane(
        "I-95",
        "northbound",
        (
            ("Florence", "SC"),
            ("Lumberton", "NC"),
            ("Fayetteville", "NC"),
            ("Rocky Mount", "NC"),
            ("Emporia", "VA"),
        ),
        ("Savannah, GA", "Jacksonville, FL"),
        ("Richmond, VA", "Baltimore, MD", "Philadelphia, PA"),
    ),
    _Lane(
        "I-70",
        "eastbound",
        (("Colby", "KS"), ("Hays", "KS"), ("Salina", "KS"), ("Topeka", "KS"), ("Columbia", "MO")),
        ("Denver, CO", "Aurora, CO"),
        ("St. Louis, MO", "Indianapolis, IN", "Columbus, OH"),
    ),
)

_OPENING_ASKS = (
    "Can you give me a quick status update?",
    "How's the run going so far?",
    "Where are you at right now?",
    "How are things going out there?",
    "Do you have a minute for a quick update?",
)
_DELAYS = (
    "about an hour",
    "an hour and a half",
    "a couple of hours",
    "close to three hours",
    "about 45 minutes",
)
_NUMBER_WORDS = ("two", "three", "four", "five")
_CITY_STATE = re.compile(r"([^,]+), [A-Z]{2}")
_HIGHWAY = re.compile(r"\b(I-\d+)\b")


def _spoken(place: str) -> str:
    """How a driver says a place: "Dallas" for "Dallas, TX", anything else as written."""
    match = _CITY_STATE.fullmatch(place)
    return match.group(1) if match else place


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


# -- routine check-ins -------------------------------------------------------------------------------------


def _close(c: _Call, agent_lines: tuple[str, ...]) -> str:
    """The agent wraps up; half the time the driver says bye and hangs up first. Returns the hangup side."""
    c.agent(*agent_lines)
    if c.rng.random() < 0.5:
        c.user("You too, bye.", "Thanks, bye now.", "Alright, talk to you later.", "Yep. Bye.")
        return "user_hangup"
    return "agent_hangup"


def _on_time(c: _Call) -> ScriptedCall:
    c.opening()
    c.user(
        f"Hey, yeah. I'm {c.on_road()}, rolling along.",
        f"Doing good. I'm {c.on_road()}.",
        f"Yep, all good here, I'm {c.on_road()}, making good time.",
        f"Yeah, this is {c.first}. Uh, I'm {c.on_road()}.",
    )
    c.agent(
        f"Good to hear, {c.first}. Anything slowing you down?",
        "Thanks. Any delays I should know about?",
        "Great. Any problems so far?",
    )
    c.user(
        f"Nope, it's been smooth since I left {c.origin}.",
        f"Not a thing. Clear roads all the way out of {c.origin}.",
        f"No delays. Picked up in {c.origin} on time and it's been easy since, knock on wood.",
    )
    eta = _eta(c.rng, late=False)
    c.agent(
        f"What's your ETA to {c.destination}?",
        f"And when do you expect to roll into {c.destination}?",
        f"When are you thinking you'll get to the receiver in {c.destination}?",
    )
    c.user(f"Should be there {eta}.", f"I'm figuring {eta}, maybe a bit sooner.", f"Uh, {eta}, give or take.")
    reason = _close(
        c,
        (
            f"Perfect, {eta}. Thanks {c.first}, drive safe.",
            f"Great, I'll note {eta}. Appreciate it, {c.first}, have a safe one.",
            f"Sounds good. Thanks for the update, {c.first}.",
        ),
    )
    summary = (
        f"{c.first} reported load {c.load} on schedule at {c.where} with no delays, "
        f"expecting to reach {c.destination_full} {eta}."
    )
    return c.end(reason, summary, "Positive")


def _traffic_delay(c: _Call) -> ScriptedCall:
    c.opening()
    c.user(
        f"Yeah, hey. I'm {c.on_road()}, but we're barely moving.",
        f"Still rolling, kind of. I'm {c.on_road()}.",
        f"Hey. I'm {c.on_road()}, sitting in it right now.",
    )
    c.agent(
        f"Thanks {c.first}. How's the drive going, any delays?",
        "Got it. Is anything holding you up?",
        "Okay. Are you running into any delays?",
    )
    delay = c.pick(*_DELAYS)
    c.user(
        f"Yeah, it's bad. They've got it down to one lane for construction around mile marker "
        f"{c.mile_marker}. I'm probably {delay} behind now.",
        f"Traffic's been stop and go for the last thirty miles, there was a wreck and then a work zone on "
        f"top of it. Figure I lost {delay}.",
        f"Honestly it's a parking lot. Rush hour traffic plus construction, I'm running {delay} late.",
        f"Construction. Lane closures everywhere, traffic backed up for miles. Looking at {delay} behind.",
    )
    eta = _eta(c.rng, late=True)
    c.agent(
        f"Understood. What's your new ETA to {c.destination}?",
        f"Sorry to hear it. What are you thinking for a new arrival time in {c.destination}?",
        f"Okay. So when do you expect to get to {c.destination} now?",
    )
    c.user(
        f"Gonna be {eta} now.",
        f"I'd say {eta}, if this clears up.",
        f"Uh, let me think. {_cap(eta)}, probably.",
    )
    if c.rng.random() < 0.5:
        c.agent(
            f"Got it, {eta}. I'll let the receiver know. Anything else going on?",
            f"Okay, I'll update the customer with {eta}. Anything else I should know?",
        )
        c.user("Nope, that's it.", "Nah, just the traffic.", "No, I'm good.")
    reason = _close(
        c,
        (
            f"Thanks {c.first}, drive safe and talk soon.",
            f"Alright {c.first}, hang in there. I'll update the ETA on our side.",
            f"Thanks for the heads up, {c.first}. Be safe out there.",
        ),
    )
    summary = (
        f"{c.first} reported load {c.load} delayed {delay} by traffic and construction at {c.where}, "
        f"with a new ETA to {c.destination_full} of {eta}."
    )
    return c.end(reason, summary, "Neutral")


_WEATHER = {
    "snow": (
        "Snow's really coming down, roads are slick and everybody's doing like 35.",
        "We got snow and ice out here, they just put chain controls up ahead.",
    ),
    "rain": (
        "Heavy rain, I can barely see the lines, so I slowed way down.",
        "A storm rolled through and it's pouring, water standing all over the road.",
    ),
    "wind": (
        "Wind's crazy, there's a high wind warning and the trailer keeps getting pushed around.",
        "Gusts are brutal today, I'm holding it at 50 so I don't get blown over.",
    ),
    "fog": (
        "Fog's so thick I can't see two trucks ahead of me, I'm crawling.",
        "Dense fog this morning, visibility's next to nothing.",
    ),
}


def _weather_delay(c: _Call) -> ScriptedCall:
    c.opening()
    c.user(
        f"Hey. I'm {c.on_road()}, going slow.",
        f"Yeah, I'm {c.on_road()}. It's ugly out here.",
        f"Doing alright, I'm {c.on_road()}.",
    )
    c.agent(
        "Thanks. Any delays on your end?",
        f"Okay {c.first}. How are the roads, anything slowing you down?",
        "Got it. Is everything on schedule?",
    )
    kind = c.pick(*_WEATHER)
    delay = c.pick(*_DELAYS)
    c.user(
        *(f"{line} I'm {delay} behind." for line in _WEATHER[kind]),
        *(f"Not really on schedule, no. {line} Probably lost {delay}." for line in _WEATHER[kind]),
    )
    eta = _eta(c.rng, late=True)
    c.agent(
        f"Please don't push it in that. What's your updated ETA to {c.destination}?",
        f"Safety first, take your time. When do you think you'll make {c.destination}?",
        f"Understood, no rush in that weather. What's your new ETA to {c.destination}?",
    )
    c.user(
        f"If it keeps up like this, {eta}.",
        f"I'm saying {eta}. Might have to pull over if it gets worse though.",
        f"{_cap(eta)}, I think.",
    )
    reason = _close(
        c,
        (
            f"Got it, {eta}. I'll let the receiver know. Stay safe, {c.first}.",
            f"Okay, {eta}. Call us if you need to stop. Drive safe.",
            f"Thanks {c.first}. I'll update the ETA, and be careful out there.",
        ),
    )
    summary = (
        f"{c.first} reported load {c.load} delayed {delay} by {kind} at {c.where}, "
        f"with a new ETA to {c.destination_full} of {eta}."
    )
    return c.end(reason, summary, "Neutral")


def _unloading_pod(c: _Call) -> ScriptedCall:
    door = c.rng.randint(3, 64)
    c.opening()
    c.user(
        f"Hey! Yeah, I made it, I'm at the receiver in {c.destination}.",
        f"I'm here at the receiver in {c.destination}, checked in a little while ago.",
        f"Got to {c.destination} this morning, I'm at the dock now.",
    )
    c.agent(
        "Great. Have they started unloading you yet?",
        "Good news. Are you in a door yet?",
        f"Nice work, {c.first}. Did they get you into a door?",
    )
    c.user(
        f"Yep, door {door}, they started about {c.rng.choice(('ten', 'twenty', 'forty'))} minutes ago.",
        f"Yeah, they backed me into door {door}. Unloading now.",
        f"Door {door}. Forklift's been going for a bit, shouldn't be long.",
    )
    c.agent(
        "Perfect. Once you're empty, please get the signed POD and send us a photo of it.",
        "Sounds good. Don't forget to grab the signed proof of delivery and text us a picture of the POD.",
        "Great. Reminder: we need the signed POD, so snap a picture and send it over when you have it.",
    )
    c.user(
        "Will do, I'll send the POD soon as they sign it.",
        "Yep, I'll take a picture of the POD and send it right over.",
        "Got it, the POD goes out the minute I have it.",
    )
    c.agent(
        f"Thanks {c.first}. Anything else you need from us?",
        f"Appreciate it, {c.first}. Anything else on your end?",
    )
    c.user("Nope, all good. Bye.", "No, that's it. Talk later.", "Nah, I'm good. Thanks, bye.")
    summary = (
        f"{c.first} confirmed arrival at the receiver in {c.destination_full} for load {c.load}, "
        f"unloading in door {door}, and agreed to send the signed POD."
    )
    return c.end("user_hangup", summary, "Positive")


def _waiting_lumper(c: _Call) -> ScriptedCall:
    hour = c.rng.randint(6, 10)
    waited = c.pick("two", "almost three", "three")
    c.opening()
    c.user(
        f"I'm at the receiver in {c.destination}, checked in at {hour}, but I'm stuck waiting on a lumper.",
        f"Yeah, I'm here in {c.destination}. Been sitting a while, no lumper yet.",
        f"Made it to {c.destination}. Problem is they're waiting on the lumper crew.",
    )
    c.agent(
        "Thanks. Have they assigned you a door yet?",
        "Got it. Any word on when the lumper will get to you?",
        "Okay. Did they say how long the wait will be?",
    )
    c.user(
        "No door yet. They said the lumper's finishing another truck and I'm next, supposedly.",
        "Nope. Guy at the window said the lumpers are backed up, maybe another hour or two.",
        "They keep saying soon. Soon was an hour ago.",
    )
    detention = c.rng.random() < 0.5
    if detention:
        c.user(
            f"I've been here {waited} hours already, so we're getting into detention time.",
            f"And it's been {waited} hours now, I want to make sure detention gets paid on this.",
        )
        c.agent(
            "Understood. Make sure your in and out times are on the paperwork, and we'll file for detention "
            "once you're past the free time.",
            "Noted. I'll log your check-in time so we can go after detention. Get your times signed on the "
            "bill of lading.",
        )
        c.user("Yeah, will do.", "Okay, good.", "Alright, thanks.")
    c.agent(
        "When you're unloaded, please send us a photo of the signed POD.",
        "Once they're done, don't forget to send the signed POD.",
    )
    c.user("Yep, I know the drill.", "Will do.", "Yeah, I'll send it.")
    reason = _close(
        c,
        (
            f"Thanks {c.first}, let us know if it drags on much longer.",
            f"Alright {c.first}, call us if anything changes.",
        ),
    )
    extra = f", {waited} hours in and asking about detention" if detention else ""
    summary = (
        f"{c.first} is at the receiver in {c.destination_full} with load {c.load}, "
        f"waiting for a lumper{extra}."
    )
    return c.end(reason, summary, "Negative" if detention else "Neutral")


# -- emergencies: a normal check-in the driver interrupts, then safety questions and a transfer --------------


def _interrupted_start(c: _Call, alarms: tuple[str, ...]) -> None:
    c.opening()
    style = c.rng.randrange(3)
    if style == 0:
        c.user(
            f"Yeah, I'm {c.on_road()}, should be in {c.destination} in about",
            f"Hey. Going alright, headed to {c.destination}, I just passed",
        )
        c.user(*alarms)
    elif style == 1:
        c.user(f"Hey, I'm {c.on_road()}.", f"Doing okay. I'm {c.on_road()}.")
        c.agent(
            f"Thanks {c.first}. And what's your ETA to {c.destination}",
            f"Good. Are you still on track for {c.destination} by",
        )
        c.user(*alarms)
    else:
        c.user(*(f"I'm {c.on_road()}, heading to {c.destination}, and uh... {alarm}" for alarm in alarms))


def _transfer(c: _Call, why: str) -> None:
    c.agent(
        f"Okay. I'm connecting you to a human dispatcher now {why}. Please stay on the line.",
        f"Thank you, {c.first}. Stay on the line, I'm transferring you to a human dispatcher {why}.",
        f"Hang tight. I'm connecting you with a human dispatcher {why}, please don't hang up.",
    )


def _blowout(c: _Call) -> ScriptedCall:
    _interrupted_start(
        c,
        (
            "Whoa, hold on, hold on. Just blew a tire, I'm pulling over.",
            "Oh man. Hang on, I think I just lost a tire. Getting onto the shoulder.",
            "Shoot, hold up, that was a blowout. Gotta get this thing stopped.",
        ),
    )
    c.agent(
        f"Okay {c.first}, take your time. First, are you safe? Is anyone hurt?",
        f"Alright {c.first}, safety first. Are you safe, is anybody injured?",
        "Okay, get it stopped safely. Once you're off the road, is everyone safe? Any injuries?",
    )
    c.user(
        "I'm okay. Nobody's hurt, I got it onto the shoulder.",
        "Yeah, I'm fine, just shook up a little. No one got hurt.",
        "I'm good, no injuries. Stopped on the shoulder with my flashers on.",
    )
    c.agent(
        "Good. Can you tell me exactly where you are?",
        "Glad you're okay. What's your exact location, highway and mile marker if you can see one?",
        "Thank you. Where exactly are you right now, nearest mile marker or exit?",
    )
    c.user(c.exact_spot())
    tire = c.pick("the right rear trailer tire", "a steer tire", "one of the drive tires")
    c.agent(
        "Thanks. Is the load secure?",
        "Got it. How's the trailer, is the load still secure?",
        "Okay. Did anything shift back there, is the load secure?",
    )
    c.user(
        "Yeah, trailer's fine, load's secure.",
        "Load's good, seal's still on, nothing moved.",
        f"Yep, it was {tire}. Load is secure.",
    )
    _transfer(c, "so we can get a tire service out to you")
    summary = (
        f"During a check call on load {c.load}, {c.first} had a tire blowout at {c.exact_where}; "
        "no one was hurt, the load is secure, and the call was transferred to a human dispatcher."
    )
    return c.end("call_transfer", summary, "Negative")


def _accident_injury(c: _Call) -> ScriptedCall:
    _interrupted_start(
        c,
        (
            "Oh no. Hold on, a car just came over into my lane and hit me.",
            "Hang on, hang on, somebody just slammed into my trailer.",
            "Whoa! Sorry, I just got hit, some pickup ran the light.",
        ),
    )
    c.agent(
        f"Okay {c.first}, are you safe right now? Are you or anyone else hurt?",
        f"{c.first}, first thing, are you safe? Any injuries to you or the other driver?",
        "Alright, stay calm. Are you in a safe spot, and is anyone hurt?",
    )
    injury = c.pick(
        "I hit my head on the window, there's some blood",
        "my wrist is killing me, I think I jammed it on the wheel",
        "I got a cut on my arm from the glass and my neck's real sore",
    )
    c.user(
        f"I'm, uh... {injury}. The other guy's out of his car walking around.",
        f"Yeah, I'm hurt, {injury}. Other driver looks okay.",
    )
    c.agent(
        "If you need medical help, call 911 right away, that comes first. Do you need an ambulance?",
        "Please don't move around more than you have to. Has anyone called 911?",
    )
    c.user(
        "Cops are already on the way, I'll let the medics look at it.",
        "Somebody called 911 already, they're sending an ambulance.",
        "I called 911, they're coming.",
    )
    c.agent(
        "Good. Can you tell me exactly where you are?",
        "Okay. What's your exact location, so we can send help too?",
    )
    c.user(c.exact_spot())
    c.agent(
        "Thank you. Is the truck off the road, and is the load secure?",
        "Got it. Is the load secure, and is the trailer still upright?",
    )
    c.user(
        "Truck's on the shoulder. Trailer's upright, load looks secure from what I can see.",
        "I think so, doors are still shut and nothing spilled. Load should be secure.",
    )
    _transfer(c, "and they'll stay with you until help arrives")
    summary = (
        f"During a check call on load {c.load}, {c.first} was in a collision at {c.exact_where} and reported "
        "an injury; the load appears secure and the call was transferred to a human dispatcher."
    )
    return c.end("call_transfer", summary, "Negative")


def _medical(c: _Call) -> ScriptedCall:
    _interrupted_start(
        c,
        (
            "Actually, hold on. I'm not feeling right, my chest is real tight. I'm gonna pull over.",
            "Sorry, give me a second. I'm getting really dizzy, I need to get off the road.",
            "Hang on... my chest is hurting bad, I'm pulling onto the shoulder.",
        ),
    )
    c.agent(
        f"Okay {c.first}, your safety comes first. Are you stopped somewhere safe? Are you hurt?",
        f"{c.first}, take it easy and get stopped. Are you safe? Any injuries, did you hit anything?",
    )
    c.user(
        "I'm on the shoulder. Didn't hit anything. It's my chest, it's tight and my left arm's tingling.",
        "Yeah, I'm stopped, didn't hit nothing. I'm just dizzy, everything's kind of spinning.",
        "I'm pulled over. Not hurt, just... chest pain, and I'm sweating a lot.",
    )
    c.agent(
        "If the pain gets worse or you have trouble breathing, call 911 right away. "
        "Can you tell me exactly where you are so we can send help?",
        "Okay. We'll get medical help headed your way. What's your exact location?",
    )
    c.user(c.exact_spot())
    c.agent(
        "Thank you. Is the truck secure, brake set, and is the load secure?",
        "Got it. Is the parking brake set and the load secure?",
    )
    c.user(
        "Brake's set, flashers on. Load's fine.",
        "Yeah, brake's on. Load is secure.",
    )
    _transfer(c, "and we'll get medical help to you")
    summary = (
        f"During a check call on load {c.load}, {c.first} reported chest pain and dizziness and pulled "
        f"over at {c.exact_where}; the load is secure and the call was transferred to a human dispatcher."
    )
    return c.end("call_transfer", summary, "Negative")


# -- difficult calls ---------------------------------------------------------------------------------------


def _uncooperative(c: _Call) -> ScriptedCall:
    c.opening()
    c.user("Driving.", "Fine.", "Rolling.", "Yeah.")
    c.agent(
        "Thanks. Where are you right now?",
        "Okay. What highway are you on?",
        "Got it. Can you tell me where you are?",
    )
    c.user("Road.", "Highway.", "Around.", "Somewhere.")
    c.agent(
        f"Could you give me the nearest city or a mile marker? And are you still on schedule for "
        f"{c.destination}?",
        f"Even a rough idea helps. Which city are you near, and when do you expect to reach {c.destination}?",
    )
    c.user("Busy.", "Dunno.", "Maybe.", "Later.")
    if c.rng.random() < 0.5:
        c.agent(
            "Just a ballpark ETA would help me update the customer.",
            "Is there anything slowing you down that I should know about?",
        )
        c.user("Nope.", "Can't.", "No.")
    c.agent(
        f"No problem, {c.first}. I'll let you focus on the road. Please call us back when you're stopped.",
        "Understood, I won't keep you. Give us a call when you have a minute. Thanks, bye for now.",
        f"Okay {c.first}, I'll try you again later. Drive safe.",
    )
    summary = (
        f"{c.first} gave only one-word answers about load {c.load} and shared no location or ETA, "
        "so the agent ended the call politely."
    )
    return c.end("agent_hangup", summary, "Negative")


def _noisy_line(c: _Call) -> ScriptedCall:
    garbled = (
        "[inaudible] ...on the ...[noise]",
        "Yeah... [static] ...about ...[inaudible]",
        "...near [inaudible] ...the ...[wind noise]",
        "[noise] ...hear me? ...[inaudible] ...exit",
    )
    c.opening()
    c.user(*garbled)
    repeats = c.rng.randint(1, 2)
    c.agent(
        f"Sorry {c.first}, you're breaking up. Could you repeat that?",
        f"Sorry {c.first}, it's pretty noisy on my end. Where did you say you are?",
        "I missed that, the line's bad. Could you say it again?",
    )
    if repeats == 2:
        c.user(*garbled)
        c.agent(
            "Still having trouble hearing you. One more time, what city are you near?",
            "Sorry, it's still cutting out. Can you tell me the highway and nearest town?",
        )
    c.user(
        f"Can you hear me now? Window was down. I'm {c.on_road()}.",
        f"Sorry about that, had the window open. I'm {c.on_road()}.",
        f"I said I'm {c.on_road()}.",
    )
    c.agent(
        f"Got it, {c.where}. Any delays?",
        f"That's much better, thanks. {c.where}. Everything on schedule?",
    )
    eta = _eta(c.rng, late=False)
    c.user(
        f"No delays, on schedule. I'll be in {c.destination} {eta}.",
        f"Nope, all good. Should hit {c.destination} {eta}.",
    )
    reason = _close(
        c,
        (
            f"Great, thanks {c.first}. Safe travels.",
            f"Perfect, {eta} it is. Thanks {c.first}.",
        ),
    )
    summary = (
        f"Over a noisy line, {c.first} reported load {c.load} on schedule at {c.where}, "
        f"arriving in {c.destination_full} {eta}."
    )
    return c.end(reason, summary, "Neutral")


def _stated_town(c: _Call) -> str:
    """The wrong place the driver names first: the town before the GPS position, or another one."""
    if not c.gps:
        return c.previous_town
    highway = _HIGHWAY.search(c.gps)
    lanes = [lane for lane in _LANES if highway and lane.highway == highway.group(1)] or [c.lane]
    towns = [town for lane in lanes for town, _ in lane.towns if town.lower() not in c.gps.lower()]
    return c.rng.choice(towns)


def _gps_conflict(c: _Call) -> ScriptedCall:
    stated = _stated_town(c)
    gps = c.gps or c.pick(
        f"{c.highway} {c.direction} near {c.town}, {c.state}",
        f"{c.highway} exit {c.exit_number}, {c.town}, {c.state}",
    )
    c.opening()
    c.user(
        f"I'm just outside {stated}, headed {c.direction.removesuffix('bound')} on {c.highway}.",
        f"Hey. I'm around {stated} right now.",
        f"Uh, I'm coming up on {stated}, everything's fine.",
    )
    c.agent(
        f"Thanks {c.first}. Our GPS is showing the truck at {gps}, though. Could you double-check for me?",
        f"Okay. I'm seeing {gps} on our GPS. Can you double-check where you are?",
        f"Hmm, the GPS tracking has you at {gps}. Mind taking a quick look?",
    )
    c.user(
        f"Oh, yeah, you're right, I'm already past {stated}. Sorry, {gps} is correct.",
        f"Huh, hang on... yeah, my mistake, I was thinking of where I fueled up. {gps}, that's right.",
        "Yeah, sorry, long day. The GPS is right, I'm where it says.",
    )
    eta = _eta(c.rng, late=False)
    c.agent(
        f"No problem at all. What's your ETA to {c.destination}?",
        f"Happens to everyone. And when do you expect to reach {c.destination}?",
    )
    c.user(f"Should be there {eta}.", f"{_cap(eta)}, roads are clear.")
    reason = _close(
        c,
        (
            f"Perfect, thanks {c.first}. Drive safe.",
            f"Got it, {eta}. Thanks for checking, {c.first}.",
        ),
    )
    summary = (
        f"{c.first} first said load {c.load} was near {stated}, then confirmed the GPS position at {gps}, "
        f"with an ETA to {c.destination_full} of {eta}."
    )
    return c.end(reason, summary, "Neutral")


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
