"""Where the truck is: highways, directions, mile markers, exits, named places, cities and states."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.extraction.rules.statements import _FUTURE_RE, _negated
from app.extraction.rules.turns import Turn, _clause_prefix, _user_turns
from app.extraction.rules.vocabulary import _STATE_ABBRS, CITY_ALIASES, MAJOR_CITIES, US_STATES

_HIGHWAY_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "I 40" but not "I 5 minutes": a unit after the number means it was never a road.
    (
        re.compile(
            r"\b(?:I|[Ii]nterstate)(?:-|\s)?(\d{1,3})\b(?!\s*(?:hours?|hrs?|minutes?|mins?|miles?|more|o'clock))"
        ),
        "I-{}",
    ),
    (re.compile(r"\b(?:US|U\.S\.)(?:-|\s)?(?:(?:[Hh]ighway|[Hh]wy|[Rr]oute)\s*)?(\d{1,3})\b"), "US-{}"),
    (re.compile(r"\b(?:[Ss]tate [Rr]oute|SR)(?:-|\s)?(\d{1,4})\b"), "SR-{}"),
    (re.compile(r"\b(?:[Hh]ighway|[Hh]wy\.?)\s*(\d{1,4})\b"), "Highway {}"),
    (re.compile(r"\b(?:[Rr]oute|Rte\.?)\s*(\d{1,4})\b"), "Route {}"),
]
# "I-10 east" is a direction of travel; "US 83 south of Laredo" is where the truck is relative to a town.
_DIRECTION_AFTER_RE = re.compile(
    r"^\s*(north|south|east|west)(?:bound)?\b(?!\s+of\b)|^\s*(?-i:([NSEW])B?)\b", re.I
)
_DIRECTION_BEFORE_RE = re.compile(r"\b(north|south|east|west)(?:bound)?\s+(?:on\s+)?(?:the\s+)?$", re.I)
_MARKER_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:mile\s*marker|mile\s*post|milepost|MM)\s*#?\s*(\d{1,4})\b", re.I), "Mile Marker {}"),
    (re.compile(r"\bexit\s*(?:number\s*|#\s*)?(\d{1,4}[A-Za-z]?)\b", re.I), "Exit {}"),
]
_PLACE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Receiver",
        re.compile(
            r"\b(?:receiver|consignee|receiving|customer(?:'s)? (?:dock|facility|warehouse)|DC|"
            r"distribution cent(?:er|re)|warehouse)\b",
            re.I,
        ),
    ),
    ("Shipper", re.compile(r"\bshipper\b", re.I)),
    (
        "Truck stop",
        re.compile(r"\b(?:truck ?stop|travel (?:center|plaza))\b|\b(?:Pilot|Flying J|Love's|Petro|TA)\b"),
    ),
    ("Rest area", re.compile(r"\brest (?:area|stop)\b", re.I)),
    ("Weigh station", re.compile(r"\bweigh station\b", re.I)),
]

# What the words just before a place name say about it.
_ARRIVAL_CUE_RE = re.compile(
    r"\b(?:made it|got|arrived|pulled|checked)\s+(?:in|into|to|at)\s+(?:the\s+|a\s+|an\s+)?$", re.I
)
_NEAR_CUE_RE = re.compile(
    r"\b(?:near|outside(?: of)?|past|passed|passing|by|around|close to|coming up on|approaching|after|"
    r"(?:(?:north|south)-?(?:east|west)|north|south|east|west) of|"
    r"miles (?:from|outside(?: of)?|past))\s+(?:the\s+)?$",
    re.I,
)
# Anywhere earlier in the clause ("headed to the receiver in Dallas"), except after arrival verbs.
_DESTINATION_CUE_RE = re.compile(
    r"(?<!made it )(?<!pulled )(?<!got )(?<!close )\b(?:to|into|toward|towards|for|get in|reach|deliver\w*|"
    r"bound for|ETA)\b",
    re.I,
)
# "pulling onto the shoulder on I-25": heading for the shoulder is stopping where you are, not a destination.
_PULL_OVER_RE = re.compile(
    r"\b(?:on)?to (?:the |a )?(?:shoulder|side(?: of the road)?|breakdown lane|emergency lane|stop)\b", re.I
)
# "30 miles south of Nashville": how far and which way from the town, kept with it.
_DISTANCE_BEFORE_RE = re.compile(
    r"\b(?P<n>\d{1,3}|a few|a couple(?: of)?)\s+miles?\s+"
    r"(?P<dir>(?:north|south)(?:-?(?:east|west))?|east|west)\s+of\s+(?:the\s+)?$",
    re.I,
)
_PAST_CUE_RE = re.compile(r"\b(?:since|from|left|leaving|out of|departed)\s+(?:the\s+)?$", re.I)
# A business name may sit between the cue and the place: "at the Kroger DC".
_IN_CUE_RE = re.compile(
    r"\b(?:in|at|inside|through)\s+(?:the\s+|a\s+|this\s+)?(?-i:[A-Z][\w'&-]*\s+)?$", re.I
)


def _position_cue(text: str, start: int) -> str:
    """How the driver relates to what is named at `start`: "in", "near", "none" or "elsewhere"."""
    before = _clause_prefix(text, start)
    if _FUTURE_RE.search(before) or _negated(before, len(before)):
        return "elsewhere"  # "I'll be in Oklahoma City tonight", "I'm not at the receiver yet"
    if _ARRIVAL_CUE_RE.search(before):
        return "in"
    if _NEAR_CUE_RE.search(before):
        return "near"
    if _DESTINATION_CUE_RE.search(_PULL_OVER_RE.sub(" ", before)) or _PAST_CUE_RE.search(before):
        return "elsewhere"
    if _IN_CUE_RE.search(before):
        return "in"
    return "none"


# Capitalised words that follow "near"/"in" without being places.
_NOT_A_NAME = (
    "I|Near|Outside|Past|Passed|Just|In|At|By|Around|On|The|A|An|Exit|Mile|Marker|Highway|Hwy|Route|"
    "Interstate|US|Today|Tonight|Tomorrow|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    "Yeah|Yes|No|Oh|Okay|So|And|But|Um|Uh|Hey|Hi|Well|About|North|South|East|West|Door|Dock|Pilot|"
    "Petro|Love's|Flying|Walmart|Receiver|Shipper|Dispatch|Traffic|Weather|God|Lord"
)
_NAME_TOKEN = rf"(?:St\.|Ft\.|(?!(?:{_NOT_A_NAME})\b)[A-Z][a-z]+)"
# A compass word starts a name only when another capitalised word follows: "North Platte", not "North on".
_NAME_RE = re.compile(
    rf"\b(?:(?:North|South|East|West)\s+(?=[A-Z][a-z]))?{_NAME_TOKEN}(?:[ -]{_NAME_TOKEN}){{0,2}}"
)
# Two streets meeting: "the corner of Main and 5th", "at I-40 and Grand".
_STREET = (
    r"(?:(?:I|US|SR)-?\d{1,3}|(?:Route|Highway|Hwy)\s+\d{1,4}|\d{1,3}(?:st|nd|rd|th)|"
    rf"(?!(?:{_NOT_A_NAME}|We|My)\b)[A-Z][a-z]+)"
    r"(?:\s+(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Parkway|Pkwy)\b\.?)?"
)
_INTERSECTION_RE = re.compile(
    rf"\b(?:(?:the\s+)?(?:corner|intersection) of|at)\s+(?:the\s+)?"
    rf"(?P<a>{_STREET})\s+(?:and|&)\s+(?P<b>{_STREET})"
)
_STATE_ALT = "|".join(sorted(US_STATES, key=len, reverse=True)) + "|" + "|".join(sorted(_STATE_ABBRS))
_STATE_AFTER_RE = re.compile(rf"^,?\s+({_STATE_ALT})\b")


def _state_abbr(name: str) -> str | None:
    return name if name in _STATE_ABBRS else US_STATES.get(name)


@dataclass
class Location:
    place: str | None = None  # "Receiver", "Truck stop", ...
    highway: str | None = None  # "I-10"
    direction: str | None = None  # "North"
    marker: str | None = None  # "Mile Marker 123", "Exit 256"
    intersection: str | None = None  # "Main and 5th"
    distance: str | None = None  # "30 miles south of" the city
    city: str | None = None  # "Indio, CA"
    relation: str = "in"  # "in" or "near" the city

    @property
    def found(self) -> bool:
        return any((self.place, self.highway, self.marker, self.city, self.intersection))

    def render(self) -> str | None:
        road = self.intersection or " ".join(p for p in (self.highway, self.direction) if p)
        core = ", ".join(p for p in (road, self.marker) if p)
        if self.place:
            core = f"{self.place} at {core}" if core else self.place
        if not self.city:
            return core or None
        if self.distance:
            return f"{core + ', ' if core else ''}{self.distance} {self.city}"
        if core and self.intersection and self.relation == "in":
            return f"{core}, {self.city}"
        if core:
            return f"{core} {self.relation} {self.city}"
        return self.city if self.relation == "in" else f"Near {self.city}"


def _city_in(text: str) -> tuple[str, str, str | None] | None:
    """The last city the driver says they are in or near, as ("Amarillo, TX", relation, distance)."""
    found: tuple[str, str, str | None] | None = None
    for match in _NAME_RE.finditer(text):
        words = match.group(0).split()
        state = None
        following = _STATE_AFTER_RE.match(text[match.end() :])
        if following:
            state = _state_abbr(following.group(1))
        else:
            # "Amarillo Texas": the name ran into the state.
            for size in (2, 1):
                if len(words) > size and " ".join(words[-size:]) in US_STATES:
                    state = US_STATES[" ".join(words[-size:])]
                    words = words[:-size]
                    break
        name = CITY_ALIASES.get(" ".join(words), " ".join(words))
        known_state = MAJOR_CITIES.get(name)
        cue = _position_cue(text, match.start())
        if cue == "elsewhere":
            continue
        if name in US_STATES and not state:
            # A state alone ("somewhere in Texas") is still a location.
            if cue != "none":
                found = (name, cue, None)
            continue
        # An unknown capitalised word needs strong evidence that it is a place.
        if not (state or known_state or cue == "near"):
            continue
        if cue == "none" and not state:
            continue
        abbr = state or known_state
        distance = _DISTANCE_BEFORE_RE.search(text[max(0, match.start() - 40) : match.start()])
        found = (
            f"{name}, {abbr}" if abbr else name,
            "near" if cue == "near" else "in",
            f"{distance['n'].lower()} miles {distance['dir'].lower()} of" if distance else None,
        )
    return found


def _location_in(text: str) -> Location:
    """Everything one driver turn says about where the truck is now."""
    location = Location()
    taken: list[tuple[int, int]] = []
    for pattern, template in _HIGHWAY_PATTERNS:
        for match in pattern.finditer(text):
            if (
                any(s <= match.start() < e for s, e in taken)
                or _position_cue(text, match.start()) == "elsewhere"
            ):
                continue
            taken.append(match.span())
            location.highway = template.format(match.group(1))
            after = _DIRECTION_AFTER_RE.match(text[match.end() :])
            before = _DIRECTION_BEFORE_RE.search(text[max(0, match.start() - 30) : match.start()])
            direction = (after and (after.group(1) or after.group(2))) or (before and before.group(1))
            location.direction = _direction_name(direction) if direction else None
    for pattern, template in _MARKER_PATTERNS:
        for match in pattern.finditer(text):
            if _position_cue(text, match.start()) != "elsewhere":
                location.marker = template.format(match.group(1).upper())
    for place, pattern in _PLACE_PATTERNS:
        for match in pattern.finditer(text):
            if _position_cue(text, match.start()) in ("in", "near"):
                location.place = place
    city = _city_in(text)
    if city:
        location.city, location.relation, location.distance = city
    for match in _INTERSECTION_RE.finditer(text):
        if _position_cue(text, match.start()) != "elsewhere":
            location.intersection = f"{_street_name(match['a'])} and {_street_name(match['b'])}"
    return location


def _street_name(street: str) -> str:
    """A street as said, with a highway spelt the way the rest of the location spells it ("I-40")."""
    for pattern, template in _HIGHWAY_PATTERNS:
        if match := pattern.fullmatch(street):
            return template.format(match.group(1))
    return street


def _direction_name(word: str) -> str:
    return {"n": "North", "s": "South", "e": "East", "w": "West"}[word[0].lower()]


# Dispatch reading out its tracking: "Our GPS is showing the truck at ...", "tracking has you near ...".
_TRACKING_RE = re.compile(r"\b(?:GPS|tracking|tracker|ELD|shows you|showing you|has you|have you at)\b", re.I)
# The driver accepting that reading without restating it: "The GPS is right, I'm where it says".
_CONFIRMS_TRACKING_RE = re.compile(
    r"\b(?:you're right|you are right|(?:the )?(?:GPS|tracking|tracker|it|that)(?:'s| is) (?:right|correct)|"
    r"I'm where it says|that's where I am)\b",
    re.I,
)


def _stated_locations(turns: list[Turn]) -> list[Location]:
    """Each location the driver gave or accepted, in call order."""
    sources: list[str] = []
    for index, turn in _user_turns(turns):
        previous = turns[index - 1] if index else None
        if (
            previous is not None
            and previous.role == "agent"
            and _TRACKING_RE.search(previous.text)
            and _CONFIRMS_TRACKING_RE.search(turn.text)
        ):
            sources.append(previous.text)
        sources.append(turn.text)
    return [location for location in map(_location_in, sources) if location.found]


def _current_location(turns: list[Turn]) -> str | None:
    """The latest location the driver gave or confirmed: a later statement is usually a correction."""
    latest = Location()
    road: tuple[str | None, str | None] = (None, None)
    for location in _stated_locations(turns):
        # An exit or mile marker means nothing without its road; drivers rarely repeat the road.
        if location.marker and not location.highway:
            location.highway, location.direction = road
        if location.highway:
            road = (location.highway, location.direction)
        latest = location
    return latest.render()
