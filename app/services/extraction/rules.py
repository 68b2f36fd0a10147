"""Offline fallback extractor: keyword and pattern rules that turn a call transcript into a CallExtraction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.schemas.extraction import CallExtraction, CheckInResult, EmergencyResult

# ---------------------------------------------------------------------------
# Reference tables
# ---------------------------------------------------------------------------

US_STATES: dict[str, str] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
_STATE_ABBRS = set(US_STATES.values()) | {"DC"}

# Major freight cities, so "near Amarillo" can become "near Amarillo, TX". Not exhaustive on purpose:
# an unknown city is still reported, just without a state.
MAJOR_CITIES: dict[str, str] = {
    "Albuquerque": "NM", "Amarillo": "TX", "Atlanta": "GA", "Austin": "TX", "Bakersfield": "CA",
    "Baltimore": "MD", "Barstow": "CA", "Baton Rouge": "LA", "Birmingham": "AL", "Boise": "ID",
    "Boston": "MA", "Buffalo": "NY", "Charlotte": "NC", "Chattanooga": "TN", "Cheyenne": "WY",
    "Chicago": "IL", "Cincinnati": "OH", "Cleveland": "OH", "Columbus": "OH", "Dallas": "TX",
    "Denver": "CO", "Des Moines": "IA", "Detroit": "MI", "El Paso": "TX", "Flagstaff": "AZ",
    "Fort Worth": "TX", "Fresno": "CA", "Gallup": "NM", "Harrisburg": "PA", "Houston": "TX",
    "Indianapolis": "IN", "Jacksonville": "FL", "Kansas City": "MO", "Kingman": "AZ", "Knoxville": "TN",
    "Laredo": "TX", "Las Vegas": "NV", "Little Rock": "AR", "Los Angeles": "CA", "Louisville": "KY",
    "Lubbock": "TX", "Memphis": "TN", "Miami": "FL", "Milwaukee": "WI", "Minneapolis": "MN",
    "Nashville": "TN", "New Orleans": "LA", "Newark": "NJ", "Oakland": "CA", "Oklahoma City": "OK",
    "Omaha": "NE", "Orlando": "FL", "Philadelphia": "PA", "Phoenix": "AZ", "Pittsburgh": "PA",
    "Portland": "OR", "Raleigh": "NC", "Reno": "NV", "Richmond": "VA", "Sacramento": "CA",
    "Salt Lake City": "UT", "San Antonio": "TX", "San Diego": "CA", "Savannah": "GA", "Seattle": "WA",
    "Shreveport": "LA", "Spokane": "WA", "St. Louis": "MO", "Stockton": "CA", "Tampa": "FL",
    "Texarkana": "TX", "Toledo": "OH", "Tucson": "AZ", "Tulsa": "OK", "Wichita": "KS", "Yuma": "AZ",
}  # fmt: skip
# How drivers say some of them.
CITY_ALIASES: dict[str, str] = {"Vegas": "Las Vegas", "Saint Louis": "St. Louis", "Philly": "Philadelphia"}

_HOUR_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_HOUR_WORD_ALT = "|".join(_HOUR_WORDS)

# ---------------------------------------------------------------------------
# Transcript parsing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    role: str  # "agent" or "user"
    text: str


_ROLE_RE = re.compile(
    r"^\s*(?P<role>agent|assistant|dispatch(?:er)?|bot|user|driver|caller)\s*:\s*(?P<text>.*)$", re.I
)
_AGENT_ROLES = {"agent", "assistant", "dispatch", "dispatcher", "bot"}
# Speech-to-text leaves "[inaudible]", "[noise]" and trailing dots; they carry no meaning.
_NOISE_RE = re.compile(r"\[[^\]]*\]|\.{2,}|…")


def _clean(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(_NOISE_RE.sub(" ", text).split())


def parse_turns(transcript: str) -> list[Turn]:
    """Split a transcript into speaker turns; an unprefixed line continues the previous speaker."""
    turns: list[Turn] = []
    role = "user"  # a transcript with no prefixes at all is most likely the driver's words alone
    for raw in transcript.splitlines():
        match = _ROLE_RE.match(raw)
        if match:
            role = "agent" if match["role"].lower() in _AGENT_ROLES else "user"
            raw = match["text"]
        text = _clean(raw)
        if text:
            turns.append(Turn(role, text))
    return turns


def _user_turns(turns: list[Turn]) -> list[tuple[int, Turn]]:
    return [(i, t) for i, t in enumerate(turns) if t.role == "user"]


def _reply_to(turns: list[Turn], agent_index: int) -> Turn | None:
    """The driver's first turn after an agent turn, if the driver answered before the agent spoke again."""
    for turn in turns[agent_index + 1 :]:
        if turn.role == "user":
            return turn
        break
    return None


# A comma or "but" usually separates independent statements ("I'm okay, nobody's hurt"), so
# negation and context are judged per clause. "a.m." does not split: a split needs a following space.
_CLAUSE_SPLIT_RE = re.compile(r"[.!?;,](?:\s+|$)|\s+(?:but|though|although)\s+", re.I)


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_SPLIT_RE.split(text) if c and c.strip()]


def _clause_prefix(text: str, start: int) -> str:
    """The part of the clause that comes before position `start`."""
    return _CLAUSE_SPLIT_RE.split(text[:start])[-1]


# ---------------------------------------------------------------------------
# Negation, tense and yes/no answers
# ---------------------------------------------------------------------------

_NEGATION_RE = re.compile(
    r"\b(?:no|not|never|without|nothing|nobody|none|neither|nor|zero|no one|nowhere)\b|n't\b", re.I
)
# Statements about what will or might happen are not facts about now.
_FUTURE_RE = re.compile(
    r"\b(?:will|gonna|going to|should|about to|expect(?:ing)? to|plan(?:ning)? to|hope to|supposed to|"
    r"want to|need to|once|when|until|till|before|if|in case)\b|'ll\b",
    re.I,
)


def _negated(clause: str, start: int) -> bool:
    """True when one of the four words before `start` negates what follows ("no delays", "isn't hurt")."""
    window = " ".join(clause[:start].split()[-4:])
    return bool(_NEGATION_RE.search(window))


def _first_unnegated(pattern: re.Pattern[str], clause: str) -> re.Match[str] | None:
    for match in pattern.finditer(clause):
        if not _negated(clause, match.start()):
            return match
    return None


def _stated_now(pattern: re.Pattern[str], texts: list[str]) -> bool:
    """True when a clause states the pattern as a present fact: not negated, not future or hypothetical."""
    for text in texts:
        for clause in _clauses(text):
            match = _first_unnegated(pattern, clause)
            if match and not _FUTURE_RE.search(clause[: match.start()]):
                return True
    return False


_YES_RE = re.compile(
    r"^(?:yes|yeah|yep|yup|ya|yessir|sure|correct|affirmative|uh-huh|it is|they are|we are|i am|"
    r"ok(?:ay)?|will do|got it|sounds good|no problem|absolutely|of course|definitely|roger|copy|"
    r"10-4|ten[- ]four|for sure|you bet|understood|alright|all right|i will|i'll|already|done|can do)\b",
    re.I,
)
_NO_RE = re.compile(r"^(?:no\b(?!\s+problem)|nope|nah|negative|not really|i can't|can't|i won't|won't)", re.I)


def _yes_no(text: str) -> bool | None:
    text = re.sub(r"^(?:oh|uh|um|well|hey)\b[\s,]*", "", text, flags=re.I)
    if _NO_RE.match(text):
        return False
    if _YES_RE.match(text):
        return True
    return None


def _answer_to(turns: list[Turn], question: re.Pattern[str]) -> tuple[bool, str] | None:
    """(yes/no, question asked): the driver's latest bare yes/no to an agent question matching `question`.

    Only the last question counts, so "Are you safe? Is anyone hurt?" followed by "No" is read as an
    answer about injuries, not about safety.
    """
    answer: tuple[bool, str] | None = None
    for i, turn in enumerate(turns):
        if turn.role != "agent":
            continue
        questions = re.findall(r"[^.!?]*\?", turn.text)
        if not questions or not question.search(questions[-1]):
            continue
        reply = _reply_to(turns, i)
        verdict = _yes_no(reply.text) if reply else None
        if verdict is not None:
            answer = (verdict, questions[-1])
    return answer


# ---------------------------------------------------------------------------
# Emergencies
# ---------------------------------------------------------------------------

# Linking words between a part and its failure: "my brakes are failing", "engine just died".
_LINK = r"(?:\s+(?:is|are|was|were|just|has|have|keeps?|kept|totally|completely))*\s+"

# Order is priority: a blowout that ends in a collision is an accident; a crash with a bleeding driver is
# still an accident (the injury goes to injury_status).
_EMERGENCY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Accident",
        re.compile(
            r"\b(?:accident|crash(?:ed)?|collision|collided|wreck(?:ed)?|rear[- ]ended|side-?swiped|t-?boned|"
            r"fender[- ]bender|jackknif\w+|rolled (?:over|the truck)|flipped|overturned|"
            r"(?:ran|went|slid) off the road|in (?:a|the) ditch|(?:got|was|been|we were|I was) hit|"
            r"hit (?:me|us|my truck|my trailer)|"
            r"hit (?:a |an |the |another |some )?(?:car|truck|vehicle|deer|cow|animal|guard ?rail|barrier|"
            r"wall|pole|median|bridge|pedestrian|person|semi|sign|tree))\b",
            re.I,
        ),
    ),
    (
        "Medical",
        re.compile(
            r"\b(?:chest (?:pains?|hurts|is tight|feels tight)|heart attack|can't breathe|cannot breathe|"
            r"trouble breathing|hard to breathe|short(?:ness)? of breath|dizzy|light-?headed|"
            r"passed out|passing out|pass out|faint(?:ed|ing)?|blacked out|blacking out|seizure|stroke|"
            r"diabetic|insulin|allergic reaction|not feeling (?:well|good|right)|"
            r"(?:feel(?:ing|s)?|got|getting) (?:really |very |so )?(?:sick|ill|unwell)|medical emergency|"
            r"throwing up|vomiting|numb(?:ness)?|collapsed|unconscious)\b",
            re.I,
        ),
    ),
    (
        "Breakdown",
        re.compile(
            r"\b(?:blow ?out|blew (?:a|my|out (?:a|my|the)?|the) ?(?:\w+ )?tire|"
            r"tire (?:blew|exploded|went flat)|flat tire|broke(?:n)? down|breakdown|break down|"
            rf"engine{_LINK}(?:died|quit|failed|failing|trouble|problems?|smoking|overheat\w*|won't start|"
            rf"blew|seized|cut out)|"
            rf"brakes?{_LINK}(?:failed|failing|gone|out|went out|not working|locked up|smoking|fading|"
            r"gave out)|"
            r"brakes? (?:aren't|are not|isn't) working|lost (?:my |the )?brakes|"
            r"lost (?:all )?(?:power|air pressure)|overheat(?:ing|ed)|won't start|"
            rf"(?:truck|rig|tractor){_LINK}(?:died|quit|stalled|broke)|"
            rf"transmission{_LINK}(?:went|failed|slipping)|steering{_LINK}(?:went out|failed|locked))\b",
            re.I,
        ),
    ),
    (
        "Other",
        re.compile(
            r"\b(?:fire|flames|robbed|robbery|stolen|theft|hijack\w*|broke into|breaking into|"
            r"attacked|assaulted|threatened|gun|weapon|(?:fuel|diesel|chemical|hazmat) (?:leak|spill)\w*|"
            r"emergency)\b",
            re.I,
        ),
    ),
]

# An accident "up ahead", a flat "yesterday", "if I break down": real words, but not the driver's emergency.
_NOT_THIS_DRIVER_RE = re.compile(
    r"\b(?:ahead|up the road|down the road|other side|opposite direction|on the news|yesterday|earlier|"
    r"last (?:week|month|year|time)|if|in case|hopefully|hope|avoid|worried|watch out|backed up|"
    r"traffic|slowing)\b",
    re.I,
)
# "Had a flat but it's fixed now": a resolved breakdown is a mechanical delay, not an emergency.
_RESOLVED_RE = re.compile(r"\b(?:fixed|repaired|changed (?:it|the tire)|back on the road|all set)\b", re.I)


def _detect_emergency(turns: list[Turn]) -> tuple[str, int] | None:
    """(emergency type, index of the first driver turn reporting it); only the driver's words count."""
    found: dict[str, int] = {}
    for index, turn in _user_turns(turns):
        for clause in _clauses(turn.text):
            for kind, pattern in _EMERGENCY_PATTERNS:
                match = _first_unnegated(pattern, clause)
                if match is None or kind in found or _NOT_THIS_DRIVER_RE.search(clause):
                    continue
                if kind == "Breakdown" and _RESOLVED_RE.search(turn.text):
                    continue
                found[kind] = index
    for kind, _ in _EMERGENCY_PATTERNS:
        if kind in found:
            return kind, min(found.values())
    return None


_SAFE_SELF_RE = re.compile(
    r"\b(?:I'm|I am)\s+(?:\w+\s+)?(?:ok(?:ay)?|fine|safe|alright|all right|good|unhurt)\b", re.I
)
_SAFE_ALL_RE = re.compile(
    r"\b(?:every(?:one|body)(?:'s| is)?|we're|we are|all of us are)\s+(?:\w+\s+)?"
    r"(?:ok(?:ay)?|fine|safe|alright|all right|good)\b",
    re.I,
)
_DANGER_RE = re.compile(
    r"\b(?:in danger|trapped|pinned|stuck in (?:the |a |my )?(?:lane|middle of the road|road)|"
    r"can't get (?:out|off)|not safe|unsafe)\b",
    re.I,
)
_INJURY_RE = re.compile(
    r"\b(?:hurt|hurts|injur\w*|bleeding|blood|broke (?:my|his|her) \w+|broken (?:arm|leg|bone|wrist|ribs?)|"
    r"concussion|unconscious|ambulance|hit (?:my|his|her) head|cut (?:my|his|her) \w+)\b",
    re.I,
)
_EVERYONE_RE = re.compile(r"\b(?:nobody|no one|no injuries|everyone|everybody|all of us|we)\b", re.I)
# "Everything okay?" is small talk; "Are you okay?" and "Is everyone safe?" ask about safety.
_SAFETY_QUESTION_RE = re.compile(
    r"\bsafe\b|"
    r"\b(?:are you|is everyone|is everybody|is anyone|are you guys)\s+(?:ok(?:ay)?|alright|all right)\b",
    re.I,
)
_INJURY_QUESTION_RE = re.compile(r"\b(?:hurt|injur\w*|bleeding|ambulance)\b", re.I)
_ALL_QUESTION_RE = re.compile(r"\b(?:everyone|everybody|anyone|anybody)\b", re.I)


def _safety_status(texts: list[str], turns: list[Turn]) -> str | None:
    danger = self_safe = all_safe = nobody_hurt = False
    for clause in (clause for text in texts for clause in _clauses(text)):
        danger = danger or _first_unnegated(_DANGER_RE, clause) is not None
        for pattern in (_SAFE_SELF_RE, _SAFE_ALL_RE):
            match = pattern.search(clause)
            if match is None:
                continue
            if _NEGATION_RE.search(match.group(0)) or _negated(clause, match.start()):
                danger = True  # "I'm not okay"
            elif pattern is _SAFE_ALL_RE:
                all_safe = True
            else:
                self_safe = True
        injury = _INJURY_RE.search(clause)
        nobody_hurt = nobody_hurt or bool(
            injury and _negated(clause, injury.start()) and _EVERYONE_RE.search(clause)
        )
    if danger:
        return "Driver reports they are not safe"
    # "I'm okay, nobody's hurt": the driver is safe and speaks for everyone on board.
    if all_safe or (self_safe and nobody_hurt):
        return "Driver confirmed everyone is safe"
    if self_safe:
        return "Driver confirmed they are safe"
    answer = _answer_to(turns, _SAFETY_QUESTION_RE)
    if answer is None:
        return None
    safe, question = answer
    if not safe:
        return "Driver reports they are not safe"
    return (
        "Driver confirmed everyone is safe"
        if _ALL_QUESTION_RE.search(question)
        else "Driver confirmed they are safe"
    )


def _injury_status(texts: list[str], turns: list[Turn]) -> str | None:
    injuries: list[str] = []
    denied = False
    for text in texts:
        for clause in _clauses(text):
            match = _INJURY_RE.search(clause)
            if match is None:
                continue
            if _negated(clause, match.start()):
                denied = True
            else:
                injuries.append(clause)
    if injuries:
        return "Injuries reported: " + "; ".join(injuries)
    if denied:
        return "No injuries reported"
    answer = _answer_to(turns, _INJURY_QUESTION_RE)
    if answer is None:
        return None
    return "Injuries reported" if answer[0] else "No injuries reported"


_LOAD_STATE_RE = re.compile(
    r"\b(?:load|cargo|freight|trailer|product)\b(?P<between>[^.!?;,]{0,25}?)\b(?P<state>secured?|fine|ok(?:ay)?|"
    r"good|intact|stable|tight|strapped down|shift(?:ed|ing)?|spill(?:ed)?|loose|damaged|tipped|flipped|"
    r"overturned|on its side|everywhere|leaking|moved|fell|dumped|all over)\b",
    re.I,
)
_LOAD_LOST_RE = re.compile(
    r"\b(?:lost|dropped) (?:the |my |some |part of the )?(?:load|cargo|freight)\b", re.I
)
_BAD_LOAD_STATES = re.compile(
    r"shift|spill|loose|damaged|tipped|flipped|overturned|on its side|everywhere|leaking|moved|fell|dumped|"
    r"all over",
    re.I,
)
_LOAD_QUESTION_RE = re.compile(r"\b(?:load|cargo|freight|trailer)\b", re.I)


def _load_secure(texts: list[str], turns: list[Turn]) -> bool | None:
    verdict: bool | None = None  # the driver's latest statement wins
    for text in texts:
        for match in _LOAD_STATE_RE.finditer(text):
            secure = not _BAD_LOAD_STATES.match(match["state"])
            # "the load didn't shift", "cargo is not secure"
            if _NEGATION_RE.search(match["between"]):
                secure = not secure
            verdict = secure
        if _LOAD_LOST_RE.search(text):
            verdict = False
    if verdict is None and (answer := _answer_to(turns, _LOAD_QUESTION_RE)):
        verdict = answer[0]
    return verdict


_ESCALATIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Connected to Human Dispatcher",
        re.compile(
            r"\b(?:connect|transfer|patch|put)\w*\s+(?:you\s+)?(?:through\s+|over\s+)?(?:to|with)\s+"
            r"(?:a\s+|an\s+|the\s+|our\s+)?(?:human|live|on-call|real)?\s*"
            r"(?:dispatcher|dispatch|person|agent|representative|operator|supervisor)",
            re.I,
        ),
    ),
    (
        "Dispatcher will call back",
        re.compile(r"\b(?:dispatcher|someone|dispatch)\b[^.?!]{0,40}\bcall you (?:right )?back\b", re.I),
    ),
    (
        "Dispatch notified",
        re.compile(r"\b(?:notif\w+|alert\w*|let)\s+(?:the\s+)?(?:dispatch\w*|safety team)", re.I),
    ),
]


def _escalation_status(turns: list[Turn]) -> str | None:
    agent_texts = [t.text for t in turns if t.role == "agent"]
    for status, pattern in _ESCALATIONS:
        for text in agent_texts:
            match = pattern.search(text)
            if match and not _negated(text, match.start()):
                return status
    return None


# ---------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------

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
_DIRECTION_AFTER_RE = re.compile(r"^\s*(north|south|east|west)(?:bound)?\b|^\s*(?-i:([NSEW])B?)\b", re.I)
_DIRECTION_BEFORE_RE = re.compile(r"\b(north|south|east|west)(?:bound)?\s+(?:on\s+)?(?:the\s+)?$", re.I)
_MARKER_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:mile\s*marker|mile\s*post|milepost|MM)\s*#?\s*(\d{1,4})\b", re.I), "Mile Marker {}"),
    (re.compile(r"\bexit\s*(?:number\s*|#\s*)?(\d{1,4}[A-Za-z]?)\b", re.I), "Exit {}"),
]
_PLACE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Receiver",
        re.compile(
            r"\b(?:receiver|consignee|receiving|customer(?:'s)? (?:dock|facility|warehouse)|DC)\b", re.I
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
    r"\b(?:made it|got|arrived|pulled|checked)\s+(?:in|into|to|at)\s+(?:the\s+)?$", re.I
)
_NEAR_CUE_RE = re.compile(
    r"\b(?:near|outside(?: of)?|past|passed|passing|by|around|close to|coming up on|approaching|after|"
    r"(?:north|south|east|west) of|miles (?:from|outside(?: of)?|past))\s+(?:the\s+)?$",
    re.I,
)
# Anywhere earlier in the clause ("headed to the receiver in Dallas"), except after arrival verbs.
_DESTINATION_CUE_RE = re.compile(
    r"(?<!made it )(?<!pulled )(?<!got )(?<!close )\b(?:to|into|toward|towards|for|get in|reach|deliver\w*|"
    r"bound for|ETA)\b",
    re.I,
)
_PAST_CUE_RE = re.compile(r"\b(?:since|from|left|leaving|out of|departed)\s+(?:the\s+)?$", re.I)
_IN_CUE_RE = re.compile(r"\b(?:in|at|inside|through)\s+(?:the\s+|a\s+|this\s+)?$", re.I)


def _position_cue(text: str, start: int) -> str:
    """How the driver relates to what is named at `start`: "in", "near", "none" or "elsewhere"."""
    before = _clause_prefix(text, start)
    if _FUTURE_RE.search(before) or _negated(before, len(before)):
        return "elsewhere"  # "I'll be in Oklahoma City tonight", "I'm not at the receiver yet"
    if _ARRIVAL_CUE_RE.search(before):
        return "in"
    if _NEAR_CUE_RE.search(before):
        return "near"
    if _DESTINATION_CUE_RE.search(before) or _PAST_CUE_RE.search(before):
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
_NAME_RE = re.compile(rf"\b{_NAME_TOKEN}(?:[ -]{_NAME_TOKEN}){{0,2}}")
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
    city: str | None = None  # "Indio, CA"
    relation: str = "in"  # "in" or "near" the city

    @property
    def found(self) -> bool:
        return any((self.place, self.highway, self.marker, self.city))

    def render(self) -> str | None:
        road = " ".join(p for p in (self.highway, self.direction) if p)
        core = ", ".join(p for p in (road, self.marker) if p)
        if self.place:
            core = f"{self.place} at {core}" if core else self.place
        if not self.city:
            return core or None
        if core:
            return f"{core} {self.relation} {self.city}"
        return self.city if self.relation == "in" else f"Near {self.city}"


def _city_in(text: str) -> tuple[str, str] | None:
    """The last city the driver says they are in or near, as ("Amarillo, TX", relation)."""
    found: tuple[str, str] | None = None
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
                found = (name, cue)
            continue
        # An unknown capitalised word needs strong evidence that it is a place.
        if not (state or known_state or cue == "near"):
            continue
        if cue == "none" and not state:
            continue
        abbr = state or known_state
        found = (f"{name}, {abbr}" if abbr else name, "near" if cue == "near" else "in")
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
        location.city, location.relation = city
    return location


def _direction_name(word: str) -> str:
    return {"n": "North", "s": "South", "e": "East", "w": "West"}[word[0].lower()]


def _current_location(turns: list[Turn]) -> str | None:
    """The latest location the driver gave: a later statement is usually a correction."""
    latest = Location()
    road: tuple[str | None, str | None] = (None, None)
    for _, turn in _user_turns(turns):
        location = _location_in(turn.text)
        if not location.found:
            continue
        # An exit or mile marker means nothing without its road; drivers rarely repeat the road.
        if location.marker and not location.highway:
            location.highway, location.direction = road
        if location.highway:
            road = (location.highway, location.direction)
        latest = location
    return latest.render()


# ---------------------------------------------------------------------------
# Check-in: status, delay, ETA, unloading, POD
# ---------------------------------------------------------------------------

_UNLOADING_RE = re.compile(
    r"\b(?:unloading|being unloaded|unloaded me|started (?:to )?unload\w*|"
    r"taking (?:the )?(?:freight|load|pallets) off)\b",
    re.I,
)
_ARRIVED_RE = re.compile(
    r"\b(?:arrived|I'm here|we're here|I am here|just got here|got here|pulled in|checked in|on site|"
    r"made it(?=\s*(?:$|here\b|in\b|to the (?:receiver|consignee|customer|dock)))|"
    r"at the (?:receiver|consignee|dock|customer|delivery|warehouse|facility|DC)|backed (?:in|into)|"
    r"in (?:a |the )?door|at door|door\s*#?\s*\d+|lumper|detention)\b",
    re.I,
)
_WAITING_TO_UNLOAD_RE = re.compile(r"\bwait\w*\s+(?:to|for|on)\b", re.I)
_LATE_RE = re.compile(
    r"\b(?:late|behind(?!\s+(?:me|us|the|a|my|him|her|them)\b)|delayed|held up|stuck|slowed (?:me |us )?down|"
    r"slow going|crawling|(?:won't|not going to|can't) make (?:it|the appointment|my appointment)|"
    r"miss (?:the|my) appointment)\b",
    re.I,
)
_ON_TIME_RE = re.compile(
    r"\b(?:no delays?|on schedule|on time|on track|ahead of schedule|making (?:good )?time)\b", re.I
)
# Generic "all good" counts as "no delay" only when it answers a question about delays.
_NOTHING_TO_REPORT_RE = re.compile(
    r"^(?:no(?:pe|thing)?|nah|none|not really|all good|(?:it's |everything's )?(?:fine|good|smooth)|"
    r"no (?:issues|problems))\b",
    re.I,
)
_DELAY_QUESTION_RE = re.compile(
    r"\b(?:delays?|late|behind|issues|problems|holding you up|slowing you down|"
    r"how'?s the (?:drive|trip|road)|how is the (?:drive|trip|road))\b",
    re.I,
)
# Opposite polarity: "Are you on schedule?" "Not really" means late.
_ON_SCHEDULE_QUESTION_RE = re.compile(r"\b(?:on schedule|on time|on track)\b", re.I)
# Conditions described as fine are a report of no delay, not a cause ("Weather's been fine").
_BENIGN_RE = re.compile(
    r"\b(?:weather|traffic|roads?|drive|driving|truck|everything|it)(?:'s| is| has been| have been| was| are|"
    r" been)?\s+(?:\w+\s+)?(?:fine|good|great|clear|light|smooth|okay|ok|nice|not bad|moving)\b",
    re.I,
)
_DELAY_CAUSES: list[tuple[str, re.Pattern[str]]] = [
    (
        "Heavy Traffic",
        re.compile(
            r"\b(?:traffic|construction|road ?work|congest\w*|backed up|backup|bumper to bumper|gridlock|"
            r"lane closures?|lanes? (?:are |were )?closed|road (?:is |was )?closed|closure|detour|rush hour|"
            r"(?:accident|wreck|crash) (?:up )?ahead)\b",
            re.I,
        ),
    ),
    (
        "Weather",
        re.compile(
            r"\b(?:weather|snow\w*|rain\w*|storms?|stormy|wind|winds|windy|fog\w*|ice|icy|hail|blizzard|"
            r"sleet|flood\w*|whiteout|visibility|tornado|hurricane|chain (?:up|law)|slick roads?)\b",
            re.I,
        ),
    ),
    (
        "Mechanical",
        re.compile(
            r"\b(?:mechanical|broke down|breakdown|flat tire|blow ?out|blew a tire|"
            r"tire (?:problem|issue|trouble)|"
            r"engine (?:trouble|problem|issue)s?|brake (?:problem|issue)s?|repairs?|mechanic|in the shop|"
            r"at the shop|maintenance|check engine|reefer (?:problem|issue|unit|broke|went out)|"
            r"truck (?:trouble|problems?|issues?))\b",
            re.I,
        ),
    ),
    (
        "Shipper Delay",
        re.compile(
            r"\b(?:(?:shipper|loading) (?:was |took |is )?(?:slow|late|forever)|late (?:load|loading|pickup)|"
            r"loaded late)\b",
            re.I,
        ),
    ),
    (
        "Hours of Service",
        re.compile(
            r"\b(?:hours of service|HOS|out of hours|ran out of (?:hours|clock)|(?:10|ten|34)[- ]hour)\b",
            re.I,
        ),
    ),
]


@dataclass
class DelayFacts:
    cause: str | None  # first cause the driver named
    late: bool  # the driver said they are running late
    on_time: bool  # the driver said there is no delay


def _delay_facts(turns: list[Turn]) -> DelayFacts:
    cause: str | None = None
    late = on_time = False
    for index, turn in enumerate(turns):
        if turn.role != "user":
            continue
        for clause in _clauses(turn.text):
            on_time_match = _ON_TIME_RE.search(clause)
            if on_time_match and _negated(clause, on_time_match.start()):
                late = True  # "not on schedule"
            elif on_time_match:
                on_time = True
            late = late or _first_unnegated(_LATE_RE, clause) is not None
            if _BENIGN_RE.search(clause):
                on_time = True
                continue
            for name, pattern in _DELAY_CAUSES:
                match = pattern.search(clause)
                if match is None:
                    continue
                if _negated(clause, match.start()):
                    on_time = True  # "no traffic"
                elif cause is None:
                    cause = name
        previous = turns[index - 1] if index else None
        if previous is None or previous.role != "agent":
            continue
        if _ON_SCHEDULE_QUESTION_RE.search(previous.text) and (answer := _yes_no(turn.text)) is not None:
            on_time, late = (True, late) if answer else (on_time, True)
        elif _DELAY_QUESTION_RE.search(previous.text) and _NOTHING_TO_REPORT_RE.match(turn.text):
            on_time = True
    return DelayFacts(cause, late, on_time)


def _delay_reason(facts: DelayFacts) -> str | None:
    if facts.cause and (facts.late or not facts.on_time):
        return facts.cause
    if facts.on_time and not facts.late:
        return "None"
    return None


_MOVING_RE = re.compile(
    r"\b(?:driving|on the road|rolling|en route|on my way|on the way|heading|headed|trucking|cruising|"
    r"moving|in transit|on (?:I|US|Highway|Route|Interstate)[- ]?\d+)\b",
    re.I,
)


def _driver_status(user_texts: list[str], arrived: bool, unloading: bool, facts: DelayFacts) -> str | None:
    if unloading:
        return "Unloading"
    if arrived:
        return "Arrived"
    if facts.late or (facts.cause and not facts.on_time):
        return "Delayed"
    # The schema defines "Driving" as moving on schedule; "no delays" from a driver in transit says so.
    if facts.on_time or _stated_now(_MOVING_RE, user_texts):
        return "Driving"
    return None


_DETENTION_RE = re.compile(
    rf"\bdetention\b|\b(?:waiting|sitting|been here|stuck here)\b[^.!?]{{0,50}}?\b"
    rf"(?P<hours>\d+|{_HOUR_WORD_ALT}|a couple(?: of)?|a few|several)\s+hours\b",
    re.I,
)
_LUMPER_WAIT_RE = re.compile(
    r"\b(?:wait\w*|no|need|for the|on the)\s+(?:\w+\s+)?lumpers?\b|\blumpers?\b[^.!?]{0,20}"
    r"\b(?:isn't|is not|hasn't|not|yet|late|no-show)\b",
    re.I,
)
# "they said door 12 in an hour" is a promise, not a door.
_DOOR_RE = re.compile(
    r"\bdoor\s*(?:number\s*|no\.?\s*|#\s*)?(\d{1,3})\b(?!\s+(?:in an?|in \d+|later|soon|when|once)\b)", re.I
)
_DOOR_WAIT_RE = re.compile(
    r"\b(?:wait\w* (?:for|on) (?:a |the |my )?door|no door|don't have a door|"
    r"(?:haven't|didn't) (?:got|get|gotten) a door|door (?:isn't|is not|not) (?:ready|open)|"
    r"wait\w* to (?:get )?(?:in|back in|unload(?:ed)?|be unloaded))\b",
    re.I,
)


def _unloading_status(user_texts: list[str], arrived: bool) -> str | None:
    if not arrived:
        return "N/A"
    joined = " ".join(user_texts)
    detention = _DETENTION_RE.search(joined)
    if detention and (detention["hours"] is None or _hours(detention["hours"]) >= 2):
        return "Detention"  # receivers usually start paying detention after two hours
    if _LUMPER_WAIT_RE.search(joined):
        return "Waiting for Lumper"
    doors = _DOOR_RE.findall(joined)
    if doors:
        return f"In Door {doors[-1]}"
    if _DOOR_WAIT_RE.search(joined):
        return "Waiting for Door"
    return None


def _hours(word: str) -> int:
    word = word.lower()
    if word.isdigit():
        return int(word)
    return _HOUR_WORDS.get(word, 2 if word.startswith("a couple") else 3)


_POD_RE = re.compile(
    r"\b(?:POD|proof of delivery|delivery receipt|BOL|bill of lading|signed (?:paperwork|bills?))\b", re.I
)
_DRIVER_SENDS_POD_RE = re.compile(
    r"\b(?:send|snap|take|upload|email|text|scan|get)\w*\b[^.!?]{0,30}"
    r"\b(?:POD|proof of delivery|paperwork|BOL|bills?|photo|picture|pic)\b",
    re.I,
)


def _pod_acknowledged(turns: list[Turn]) -> bool:
    for i, turn in enumerate(turns):
        if turn.role == "agent" and _POD_RE.search(turn.text):
            reply = _reply_to(turns, i)
            if reply and _yes_no(reply.text):
                return True
        sends = _DRIVER_SENDS_POD_RE.search(turn.text) if turn.role == "user" else None
        if sends and not _negated(turn.text, sends.start()):
            return True
    return False


# ---------------------------------------------------------------------------
# ETA
# ---------------------------------------------------------------------------

_CLOCK_RE = re.compile(r"\b(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<mer>[ap])\.?\s?m\b\.?", re.I)
_HH_MM_RE = re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})\b(?!\s*[ap]\.?\s?m\b)", re.I)
_CUED_HOUR_RE = re.compile(
    rf"\b(?:around|about|by|at|before|like|roughly|maybe|say)\s+(?P<h>\d{{1,2}}|{_HOUR_WORD_ALT})"
    rf"(?::(?P<m>\d{{2}})|\s+(?P<half>thirty)|\s+o'?clock)?\b"
    r"(?!\s*(?:hours?|hrs?|minutes?|mins?|miles?|percent|%|pallets?|more|or so hours|ago|[ap]\.?\s?m\b))",
    re.I,
)
_NOON_RE = re.compile(r"\b(noon|midday|midnight)\b", re.I)
_DAY_RE = re.compile(
    r"\b(?P<day>today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"(?:\s+(?P<part>morning|afternoon|evening|night))?|\bthis (?P<this>morning|afternoon|evening)\b|"
    r"\bin the (?P<inthe>morning|afternoon|evening)\b",
    re.I,
)
_PAST_TIME_RE = re.compile(
    r"\b(?:left|departed|started|since|loaded|picked up|got (?:here|there|in))\b", re.I
)
_DURATION_RE = re.compile(
    rf"\bin\s+(?:(?P<about>about|around|roughly|like|maybe|approximately|another)\s+)?"
    rf"(?P<n>\d+|an?|a couple(?: of)?|a few|{_HOUR_WORD_ALT}|half an?)\s+"
    r"(?P<unit>hours?|hrs?|minutes?|mins?)\b|"
    rf"\b(?:(?P<about2>about|around|roughly|maybe)\s+)?(?P<n2>\d+|{_HOUR_WORD_ALT})\s+(?P<unit2>hours?|minutes?)"
    r"\s+(?:out|away)\b",
    re.I,
)
_ETA_QUESTION_RE = re.compile(r"\b(?:ETA|arriv\w*|get there|when|how long|time of arrival)\b", re.I)
_BARE_DURATION_RE = re.compile(
    rf"^(?:(?P<about>about|around|roughly|maybe|probably)\s+)?(?P<n>\d+|{_HOUR_WORD_ALT})\s+"
    r"(?P<unit>hours?|minutes?)\b(?!\s*(?:behind|late|ago))",
    re.I,
)


def _hour_value(raw: str) -> int:
    return int(raw) if raw.isdigit() else _HOUR_WORDS[raw.lower()]


def _clock_in(text: str) -> tuple[int, int, str | None] | None:
    """(hour, minute, "AM"/"PM"/None) of the last arrival time said in the text."""
    found: tuple[int, int, str | None] | None = None
    candidates: list[tuple[int, int, int, str | None]] = []
    for match in _CLOCK_RE.finditer(text):
        candidates.append((match.start(), int(match["h"]), int(match["m"] or 0), match["mer"].upper() + "M"))
    for match in _HH_MM_RE.finditer(text):
        candidates.append((match.start(), int(match["h"]), int(match["m"]), None))
    for match in _CUED_HOUR_RE.finditer(text):
        minute = int(match["m"]) if match["m"] else (30 if match["half"] else 0)
        candidates.append((match.start(), _hour_value(match["h"]), minute, None))
    for match in _NOON_RE.finditer(text):
        candidates.append((match.start(), 12, 0, "AM" if match.group(1).lower() == "midnight" else "PM"))
    for start, hour, minute, meridiem in sorted(candidates):
        if _PAST_TIME_RE.search(_clause_prefix(text, start)) or minute > 59:
            continue
        if meridiem is None and hour > 12:  # 24-hour clock
            if hour > 23:
                continue
            hour, meridiem = (hour - 12, "PM") if hour > 12 else (hour, None)
        if 1 <= hour <= 12:
            found = (hour, minute, meridiem)
    return found


def _day_in(text: str) -> tuple[str | None, str | None]:
    """(day label, part of day) from words like "tomorrow morning" or "tonight"."""
    day = part = None
    for match in _DAY_RE.finditer(text):
        if match["day"]:
            word = match["day"].lower()
            day = "Today" if word in ("today", "tonight") else word.capitalize()
            part = "night" if word == "tonight" else (match["part"] or part)
        else:
            part = (match["this"] or match["inthe"]).lower()
            if match["this"]:
                day = "Today"
    return day, part


def _duration_in(text: str, answers_eta_question: bool) -> str | None:
    match = _DURATION_RE.search(text)
    if match:
        about = match["about"] or match["about2"]
        amount, unit = (match["n"], match["unit"]) if match["n"] else (match["n2"], match["unit2"])
    elif answers_eta_question and (match := _BARE_DURATION_RE.match(text)):
        about, amount, unit = match["about"], match["n"], match["unit"]
    else:
        return None
    amount = amount.lower()
    if amount.startswith("half"):
        return "In about 30 minutes"
    number = {"a": 1, "an": 1, "a few": 3}.get(amount)
    if number is None:
        number = 2 if amount.startswith("a couple") else _hour_value(amount)
    unit = "hour" if unit.lower().startswith("h") else "minute"
    approx = "about " if about and about.lower() != "another" else ""
    return f"In {approx}{number} {unit}{'s' if number != 1 else ''}"


def _eta(turns: list[Turn]) -> str | None:
    """The driver's latest arrival estimate, e.g. "Tomorrow, 8:00 AM"."""
    eta: str | None = None
    for index, turn in enumerate(turns):
        if turn.role != "user":
            continue
        clock = _clock_in(turn.text)
        day, part = _day_in(turn.text)
        if clock:
            hour, minute, meridiem = clock
            if meridiem is None and part:
                meridiem = "AM" if part == "morning" else "PM"
            time = f"{hour}:{minute:02d}" + (f" {meridiem}" if meridiem else "")
            eta = f"{day or 'Today'}, {time}"
            continue
        if day:
            eta = "Tonight" if (day, part) == ("Today", "night") else f"{day} {part}" if part else day
            continue
        previous = turns[index - 1] if index else None
        asked = bool(previous and previous.role == "agent" and _ETA_QUESTION_RE.search(previous.text))
        eta = _duration_in(turn.text, asked) or eta
    return eta


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _extract_emergency(turns: list[Turn], kind: str, trigger: int) -> EmergencyResult:
    # Safety, injuries and the load are judged from what the driver said once the emergency began.
    after = [t.text for i, t in _user_turns(turns) if i >= trigger]
    return EmergencyResult(
        emergency_type=kind,
        safety_status=_safety_status(after, turns),
        injury_status=_injury_status(after, turns),
        emergency_location=_current_location(turns),
        load_secure=_load_secure(after, turns),
        escalation_status=_escalation_status(turns),
    )


def _extract_check_in(turns: list[Turn]) -> CheckInResult:
    user_texts = [t.text for t in turns if t.role == "user"]
    unloading = any(
        _stated_now(_UNLOADING_RE, [clause])
        for text in user_texts
        for clause in _clauses(text)
        if not _WAITING_TO_UNLOAD_RE.search(clause)
    )
    arrived = unloading or _stated_now(_ARRIVED_RE, user_texts)
    facts = _delay_facts(turns)
    return CheckInResult(
        call_outcome="Arrival Confirmation" if arrived else "In-Transit Update",
        driver_status=_driver_status(user_texts, arrived, unloading, facts),
        current_location=_current_location(turns),
        eta=None if arrived else _eta(turns),
        delay_reason=_delay_reason(facts),
        unloading_status=_unloading_status(user_texts, arrived),
        pod_reminder_acknowledged=_pod_acknowledged(turns),
    )


def extract_with_rules(transcript: str) -> CallExtraction:
    """Extract the structured call result from a transcript with keyword rules only (no network)."""
    turns = parse_turns(transcript)
    emergency = _detect_emergency(turns)
    if emergency:
        return CallExtraction(result=_extract_emergency(turns, *emergency))
    return CallExtraction(result=_extract_check_in(turns))


class RulesExtractor:
    """Extractor interface over `extract_with_rules`, used when the LLM is unavailable."""

    name = "rules"

    async def extract(self, transcript: str) -> CallExtraction:
        return extract_with_rules(transcript)

    async def aclose(self) -> None:
        """Nothing to release; present so the app can close any extractor the same way."""
