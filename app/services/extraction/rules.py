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
    r"10-4|ten[- ]four|for sure|you bet|you got it|understood|alright|all right|i will|i'll|already|done|"
    r"can do|on it|i think so|i believe so|should be|looks like it)\b",
    re.I,
)
_NO_RE = re.compile(r"^(?:no\b(?!\s+problem)|nope|nah|negative|not really|i can't|can't|i won't|won't)", re.I)


# Hesitations at the start of what a driver says; they carry nothing worth quoting.
_FILLER_RE = re.compile(r"^(?:(?:oh|uh|um|er|well|hey|so|like)\b[\s,]*)+", re.I)


def _yes_no(text: str) -> bool | None:
    text = _FILLER_RE.sub("", text)
    if _NO_RE.match(text):
        return False
    if _YES_RE.match(text):
        return True
    return None


# Words too common to show which question a reply is answering.
_COMMON_WORDS = frozenset(
    {
        "about", "also", "anything", "been", "does", "doing", "from", "have", "just", "know", "like",
        "okay", "right", "that", "there", "they", "this", "what", "when", "where", "with", "yeah", "your",
        "you're",
    }
)  # fmt: skip


def _answered_question(questions: list[str], reply: str) -> str:
    """Which of an agent turn's questions a reply answers: the last, unless the reply echoes an earlier one.

    "Are you stopped somewhere safe? Are you hurt?" "Yeah, I'm stopped" answers the first question.
    """
    said = {w for w in re.findall(r"[a-z']{4,}", reply.lower()) if w not in _COMMON_WORDS}
    for asked in [questions[-1], *questions[:-1]]:
        if said & set(re.findall(r"[a-z']{4,}", asked.lower())):
            return asked
    return questions[-1]


def _denies_part_of(question: str, reply: str) -> bool:
    """A "yes" whose reply goes on to deny what the question asked: "Any injuries, did you hit anything?"
    "Yeah, I'm stopped, didn't hit nothing" (the yes was for another part of the question)."""
    asked = set(re.findall(r"[a-z']{3,}", question.lower())) - _COMMON_WORDS
    for clause in _clauses(reply)[1:]:
        if _NEGATION_RE.search(clause) and asked & set(re.findall(r"[a-z']{3,}", clause.lower())):
            return True
    return False


def _answer_to(
    turns: list[Turn], question: re.Pattern[str], ambiguous_with: re.Pattern[str] | None = None
) -> tuple[bool, str] | None:
    """(yes/no, question asked): the driver's latest bare yes/no to an agent question matching `question`.

    Without an echo (see `_answered_question`) only the last question counts, so "Are you safe? Is anyone
    hurt?" followed by "No" is read as an answer about injuries, not about safety. A question that also
    matches `ambiguous_with` ("Are you safe, and is anyone hurt?") cannot be answered by a bare yes or no,
    nor can a "yes" that the reply goes on to contradict (see `_denies_part_of`).
    """
    answer: tuple[bool, str] | None = None
    for i, turn in enumerate(turns):
        if turn.role != "agent":
            continue
        questions = re.findall(r"[^.!?]*\?", turn.text)
        reply = _reply_to(turns, i)
        if not questions or reply is None:
            continue
        asked = _answered_question(questions, reply.text)
        if not question.search(asked) or (ambiguous_with and ambiguous_with.search(asked)):
            continue
        verdict = _yes_no(reply.text)
        if verdict and _denies_part_of(asked, reply.text):
            continue
        if verdict is not None:
            answer = (verdict, asked)
    return answer


# ---------------------------------------------------------------------------
# Emergencies
# ---------------------------------------------------------------------------

# Linking words between a part and its failure: "my brakes are failing", "engine just died".
_LINK = r"(?:\s+(?:is|are|was|were|just|has|have|keeps?|kept|totally|completely|kinda|kind of|sort of))*\s+"

# Things a truck can run into. "I hit traffic", "hit the road" and "hit some rain" are not collisions, so a
# collision verb only counts with one of these (or the driver's own vehicle) as its object.
_STRUCK = (
    r"(?:(?:a|an|the|another|some|this|that)\s+)?(?:\w+\s+)?(?:car|truck|vehicle|suv|pickup|van|semi|bus|"
    r"motorcycle|bike|deer|cow|elk|moose|animal|guard ?rail|barrier|wall|pole|post|median|bridge|overpass|"
    r"curb|ditch|embankment|fence|sign|tree)s?"
    # "pulled into the truck stop", "went into the truck wash": places, not collisions.
    r"(?!\s+(?:stops?|wash|yard|lot|plaza|parking|dock|lane|bay|scales?)\b)"
)
# People only count after "hit": "ran into somebody" is usually a meeting.
_STRUCK_PERSON = r"(?:a |the |some )?(?:pedestrian|person|someone|somebody|guy|kid|man|woman)"
# The driver's own truck as the thing that was hit: "hit my trailer", "into the back of me".
_MY_RIG = (
    r"(?:me|us|my (?:truck|trailer|rig|cab|tractor|unit|reefer|bumper|mirror|door|side|front|back|rear))"
)
_COLLISION_TARGET = rf"(?:the (?:back|side|rear|front|end) of )?(?:{_MY_RIG}|{_STRUCK})"

# Words that name a collision without saying whose it was: "there was a wreck" may be the driver's or the
# one they are stuck behind. See `_own_incident`.
_INCIDENT_RE = re.compile(
    r"\b(?:accident|crash(?:ed)?|collision|collided|wreck(?:ed)?|fender[- ]bender|pile-?up)\b", re.I
)
# The driver is in it: "I was in an accident", "we had a wreck", "my truck", "just had a crash".
_FIRST_PERSON_RE = re.compile(r"\b(?:I|I'm|I've|I'd|me|my|we|we're|we've|us|our)\b|\bhad (?:a|an)\b", re.I)
# Someone else's collision, seen or waited behind: "stuck behind a wreck", "passed an accident".
_OTHER_PARTY_RE = re.compile(
    r"\b(?:behind (?:a|an|the|some|this|that)|in front of (?:me|us)|saw|see|seeing|passed|passing|"
    r"because of|due to|delay\w*|stuck|held up|cleared|clearing|detour\w*|rubbernecking)\b",
    re.I,
)
# Road and traffic talk: an unattributed "wreck" in a turn like this is the traffic, not an emergency.
_TRAFFIC_TALK = (
    r"traffic|construction|road ?work|work zones?|congest\w*|backed up|backup|bumper to bumper|gridlock|"
    r"stop[- ]and[- ]go|parking lot|standstill|jam(?:med)?|lane closures?|closures?|(?:one|single) lane|"
    r"lanes? (?:are |were )?(?:closed|blocked)|detour|rush hour|slowdown|crawling|barely moving"
)
_TRAFFIC_TALK_RE = re.compile(rf"\b(?:{_TRAFFIC_TALK}|delay\w*|late|behind)\b", re.I)

# Order is priority: a blowout that ends in a collision is an accident; a crash with a bleeding driver is
# still an accident (the injury goes to injury_status). Bare collision nouns are in `_INCIDENT_RE`.
_EMERGENCY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Accident",
        re.compile(
            r"\b(?:rear[- ]ended|side-?swiped|t-?boned|jackknif\w+|"
            r"(?:rolled|flipped|tipped|turned) (?:it|the truck|the rig|the trailer|over|on (?:its|my) side)|"
            r"(?:laid|layed|put|dumped) (?:it|her|(?:the|my) (?:whole )?(?:truck|rig|trailer|tractor)) "
            r"(?:over|down|on (?:its|her|the) side)|"
            r"(?:truck|rig|trailer|tractor|cab)(?:'s| is| was)?[^.!?,]{0,20}\bon (?:its|it's|her|the) side|"
            r"(?:truck|rig|trailer|tractor|I|we)(?:'s| is| was| just| got)* "
            r"(?:flipped|overturned|tipped over)|"
            r"(?:ran|went|slid|drove|veered) (?:right )?off the road|spun out|"
            r"in (?:a|the) ditch|(?:got|was|been|we were|I was) (?:hit|struck|clipped)|"
            rf"(?:hit|struck|clipped|rammed|smacked|bumped) (?:{_COLLISION_TARGET}|{_STRUCK_PERSON})|"
            r"(?:slammed|plowed|smashed|crashed|rammed|ran|drove|swerved|backed|bumped|came|went|piled)"
            rf"(?: right| straight)? into {_COLLISION_TARGET})\b",
            re.I,
        ),
    ),
    (
        "Medical",
        re.compile(
            r"\b(?:chest (?:pains?|hurts|is tight|feels tight)|heart attack|can't breathe|cannot breathe|"
            r"trouble breathing|hard to breathe|short(?:ness)? of breath|dizzy|light-?headed|"
            r"passed out|passing out|pass out|faint(?:ed|ing)?|blacked out|blacking out|seizure|stroke|"
            r"diabetic|insulin|(?:blood )?sugar(?:'s| is)? (?:low|crashing|dropping)|low (?:blood )?sugar|"
            r"allergic reaction|not feeling (?:well|good|right)|"
            r"(?:feel(?:ing|s)?|got|getting) (?:really |very |so |pretty )?"
            r"(?:sick|ill|unwell|awful|terrible|horrible|faint|weak|woozy)|medical emergency|"
            r"throwing up|vomiting|nause\w+|numb(?:ness)?|tingl\w+|collapsed|unconscious|shaky|"
            r"sweating (?:bad|a lot|buckets|like crazy)|cold sweat|blurr\w+|"
            r"heart(?:'s| is) (?:racing|pounding)|"
            # A symptom by the chest or heart: "my chest is hurting bad", "pain in my chest".
            r"(?:chest|heart)\b(?:\s+\w+){0,3}?\s+(?:hurt\w*|pain\w*|tight\w*|pressure|burning|heavy|"
            r"killing me|squeez\w+)|(?:pain|pressure|tightness|burning) in (?:my )?(?:chest|left arm|jaw))\b",
            re.I,
        ),
    ),
    (
        "Breakdown",
        re.compile(
            r"\b(?:blow ?out|blew (?:a|my|out (?:a|my|the)?|the) ?(?:\w+ )?tire|"
            r"tire (?:blew|exploded|went flat|came apart|came off|shredded|blew out)|flat tire|"
            r"(?:had|got|have|with) a flat|lost (?:a|my|the|one of (?:my|the)) (?:\w+ )?(?:tires?|wheels?)|"
            r"broke(?:n)? down|breakdown|break down|"
            rf"(?:engine|motor){_LINK}(?:died|quit|failed|failing|trouble|problems?|smoking|overheat\w*|"
            rf"won't start|blew|seized|cut out|shut (?:itself )?(?:off|down)|dead|gone)|"
            rf"brakes?{_LINK}(?:failed|failing|gone|out|went out|not working|locked up|smoking|fading|"
            r"gave out)|"
            r"brakes? (?:aren't|are not|isn't) working|lost (?:my |the )?brakes|"
            r"(?:lost|no) (?:all )?(?:power|air pressure|air)(?: at all)?|overheat(?:ing|ed)|won't start|"
            rf"(?:truck|rig|tractor){_LINK}(?:died|quit|stalled|broke|shut (?:itself )?(?:off|down)|dead)|"
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

# Events that are over: not an emergency now, and not what is slowing the truck today.
_PAST_EVENT = r"yesterday|earlier|last (?:week|month|year|time|night)"
_PAST_EVENT_RE = re.compile(rf"\b(?:{_PAST_EVENT})\b", re.I)
# An accident "up ahead", a truck that broke down "in front of" the driver, a flat "yesterday", "if I break
# down": real words, but not the driver's emergency.
_NOT_THIS_DRIVER_RE = re.compile(
    rf"\b(?:ahead|up the road|down the road|other side|opposite direction|on the news|{_PAST_EVENT}|"
    r"if|in case|hopefully|hope|avoid|worried|watch out|backed up|traffic|slowing|"
    r"behind (?:a|an|the|some|this|that)|in front of (?:me|us))\b",
    re.I,
)
# "Had a flat but it's fixed now": a resolved breakdown is a mechanical delay, not an emergency.
_RESOLVED_RE = re.compile(
    r"\b(?:fixed|repaired|replaced|swapped|patched|changed (?:it|the tire)|"
    r"back (?:on the road|rolling|moving|driving|underway)|all set|good to go|up and running)\b",
    re.I,
)


def _own_incident(clause: str, turn_text: str) -> bool:
    """A bare "accident" or "wreck" is the driver's own unless something says they are only stuck behind it.

    "I was in a wreck" and "we had an accident" are the driver's; "passed a wreck" is not; "there was a wreck"
    counts only when the rest of the turn is not about traffic ("there was a wreck, then a work zone").
    """
    if _first_unnegated(_INCIDENT_RE, clause) is None or _OTHER_PARTY_RE.search(clause):
        return False
    return bool(_FIRST_PERSON_RE.search(clause)) or not _TRAFFIC_TALK_RE.search(turn_text)


def _emergencies_in(clause: str, turn_text: str) -> list[str]:
    """The emergency kinds a driver's clause reports as happening to them now."""
    if _NOT_THIS_DRIVER_RE.search(clause):
        return []
    kinds = [kind for kind, pattern in _EMERGENCY_PATTERNS if _first_unnegated(pattern, clause)]
    if "Accident" not in kinds and _own_incident(clause, turn_text):
        kinds.append("Accident")
    if "Breakdown" in kinds and _RESOLVED_RE.search(turn_text):
        kinds.remove("Breakdown")
    return kinds


def _detect_emergency(turns: list[Turn]) -> tuple[str, int] | None:
    """(emergency type, index of the first driver turn reporting it); only the driver's words count."""
    found: dict[str, int] = {}
    for index, turn in _user_turns(turns):
        for clause in _clauses(turn.text):
            for kind in _emergencies_in(clause, turn.text):
                found.setdefault(kind, index)
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
# Body parts an injury is usually told through: "my back's messed up", "my wrist is killing me".
_BODY_PART = r"(?:head|neck|back|arm|wrist|hand|leg|knee|ankle|foot|shoulder|ribs?|face|hip|elbow|fingers?)"
_INJURY_RE = re.compile(
    r"\b(?:hurt|hurts|injur\w*|bleeding|blood|broke (?:my|his|her) \w+|broken (?:arm|leg|bone|wrist|ribs?)|"
    r"concussion|unconscious|ambulance|hit (?:my|his|her) head|cut (?:my|his|her) \w+|whiplash|banged up|"
    rf"(?:jammed|sprained|twisted|banged|bruised|busted|smacked|cut) (?:my|his|her) {_BODY_PART}|"
    rf"(?:a|some) (?:cut|gash|bruise|bump)s? on (?:my|his|her) {_BODY_PART}|"
    rf"(?:my|his|her) {_BODY_PART}(?:'s|'re| is| are)?(?:\s+\w+){{0,2}}?\s+(?:hurts?|hurting|sore|"
    r"killing (?:me|him|her)|messed up|busted|broken|bleeding|bruised|sprained|swollen|jammed|twisted))\b",
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
    answer = _answer_to(turns, _SAFETY_QUESTION_RE, ambiguous_with=_INJURY_QUESTION_RE)
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
                injuries.append(_FILLER_RE.sub("", clause))
    if injuries:
        return "Injuries reported: " + "; ".join(injuries)
    if denied:
        return "No injuries reported"
    answer = _answer_to(turns, _INJURY_QUESTION_RE, ambiguous_with=_SAFETY_QUESTION_RE)
    if answer is None:
        return None
    return "Injuries reported" if answer[0] else "No injuries reported"


_LOAD_STATES = (
    r"secured?|fine|ok(?:ay)?|good|intact|stable|tight|strapped down|blocked and braced|"
    r"shift(?:ed|ing)?|spill(?:ed)?|loose|damaged|tipped|flipped|overturned|on its side|everywhere|leaking|"
    r"moved|fell|dumped|all over"
)
_LOAD_STATE_RE = re.compile(
    r"\b(?:load|cargo|freight|trailer|product|pallets?|skids?|boxes)\b(?P<between>[^.!?;,]{0,25}?)"
    rf"\b(?P<state>{_LOAD_STATES})\b",
    re.I,
)
# In a reply to "Is the load secure?" the load need not be named: "I'd say it's not secure".
_BARE_LOAD_STATE_RE = re.compile(rf"\b(?P<state>{_LOAD_STATES})\b", re.I)
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
    if verdict is None:
        verdict = _load_state_in_replies(turns)
    if verdict is None and (answer := _answer_to(turns, _LOAD_QUESTION_RE)):
        verdict = answer[0]
    return verdict


def _load_state_in_replies(turns: list[Turn]) -> bool | None:
    """What the driver's replies to load questions say about the load without naming it."""
    verdict: bool | None = None
    for i, turn in enumerate(turns):
        questions = re.findall(r"[^.!?]*\?", turn.text) if turn.role == "agent" else []
        reply = _reply_to(turns, i) if questions else None
        if reply is None or not _LOAD_QUESTION_RE.search(_answered_question(questions, reply.text)):
            continue
        for clause in _clauses(reply.text):
            match = _BARE_LOAD_STATE_RE.search(clause)
            if match:
                secure = not _BAD_LOAD_STATES.match(match["state"])
                verdict = not secure if _negated(clause, match.start()) else secure
    return verdict


_ESCALATIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Connected to Human Dispatcher",
        re.compile(
            r"\b(?:connect|transfer|patch|put)\w*\s+(?:you\s+)?(?:through\s+|over\s+)?(?:to|with)\s+"
            r"(?:a\s+|an\s+|the\s+|our\s+)?(?:human|live|on-call|real)?\s*"
            r"(?:dispatcher|dispatch|person|agent|representative|operator|supervisor)|"
            # "I'm getting a live dispatcher on the line for you"
            r"\b(?:get|getting|bring|bringing|hand\w*|loop\w*)\b[^.?!]{0,20}\b(?:human|live|on-call|real)\s+"
            r"(?:dispatcher|person|agent|operator)",
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
    r"(?:north|south|east|west) of|miles (?:from|outside(?: of)?|past))\s+(?:the\s+)?$",
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


# ---------------------------------------------------------------------------
# Check-in: status, delay, ETA, unloading, POD
# ---------------------------------------------------------------------------

# Unloading under way, in the words drivers use for it: the verb, freight coming off, or the forklift at work.
# "unloading crew" is a lumper, not an activity.
_UNLOADING_RE = re.compile(
    r"\b(?:unloading(?! crew)|being unloaded|unloaded me|started (?:to )?unload\w*|"
    r"(?:taking|pulling|getting|bringing|rolling|unloading) (?:the |my |some |all the |all my )?"
    r"(?:freight|load|pallets?|product|boxes|cases|cargo|skids?) (?:off|out)|"
    r"forklifts?|pallet jacks?|"
    r"(?:they're|they are|crew's|crew is|lumpers? (?:is|are)) (?:working on|emptying|going through) "
    r"(?:it|me|my (?:truck|trailer|load)|the (?:truck|trailer|load))|half(?:way)? (?:empty|unloaded))\b",
    re.I,
)
# At the receiver, "they started twenty minutes ago" can only mean the unloading.
_THEY_STARTED_RE = re.compile(
    r"\bthey(?:'ve| have)? (?:just |already )?(?:started|began|begun|got started)\b|"
    # "they're knocking it out now", "they're tearing into it"
    r"\bthey(?:'re| are) (?:knocking|tearing into|emptying|breaking down|going through|pulling|taking) "
    r"(?:it|me|us|(?:the|my) (?:truck|trailer|load|freight))\b",
    re.I,
)
# "Have they started unloading you yet?" answered "Yep" says unloading is under way.
_UNLOADING_QUESTION_RE = re.compile(
    r"\b(?:start\w* (?:to )?unload\w*|begun unload\w*|(?:are|is) (?:they|someone|the lumper) "
    r"(?:unloading|working)|unloading you)\b",
    re.I,
)
_ARRIVED_RE = re.compile(
    r"\b(?:arrived|I'm here|we're here|I am here|just got here|got here|pulled in|checked in|on site|"
    r"made it(?=\s*(?:$|here\b|in\b|to the (?:receiver|consignee|customer|dock)))|"
    r"at the (?:\w+ )?(?:receiver|consignee|dock|customer|delivery|warehouse|facility|DC|"
    r"distribution cent(?:er|re))|in (?:the|their) yard|backed (?:in|into)|"
    r"in (?:a |the )?door|at door|door\s*#?\s*\d+|lumper|detention)\b",
    re.I,
)
_WAITING_TO_UNLOAD_RE = re.compile(r"\bwait\w*\s+(?:to|for|on)\b", re.I)
_LATE_RE = re.compile(
    r"\b(?:late|behind(?!\s+(?:me|us|the|a|my|him|her|them)\b)|delayed|held up|stuck|slowed (?:me |us )?down|"
    r"slow going|crawling|barely moving|not moving|stop[- ]and[- ]go|standstill|"
    r"(?:won't|not going to|can't) make (?:it|the appointment|my appointment)|miss (?:the|my) appointment|"
    # Time given up to the delay: "lost a couple of hours", "figure I lost 45 minutes".
    r"lost (?:\w+ ){0,3}(?:hours?|minutes?|mins?|time))\b",
    re.I,
)
_ON_TIME_RE = re.compile(
    r"\b(?:no delays?|on schedule|on time|on track|ahead of schedule|making (?:good )?time|"
    r"(?:smooth|clear|plain) sailing|no (?:hold-?ups|issues|problems))\b",
    re.I,
)
# A cause that went away is no cause: "the snow held off", "traffic cleared up", "the rain let up".
_CLEARED_RE = re.compile(
    r"\b(?:held off|hold off|cleared(?: up| out)?|let up|died down|blew over|lifted|moving again|"
    r"opened (?:back )?up|went away)\b",
    re.I,
)
# Generic "all good" counts as "no delay" only when it answers a question about delays.
_NOTHING_TO_REPORT_RE = re.compile(
    r"^(?:no(?:pe|thing)?|nah|none|not really|not a thing|not at all|nada|all good|"
    r"(?:it's |everything's )?(?:fine|good|smooth)|"
    r"no (?:issues|problems))\b",
    re.I,
)
_DELAY_QUESTION_RE = re.compile(
    r"\b(?:delays?|late|behind|issues|problems|holding you up|slowing you down|"
    r"how'?s the (?:drive|trip|road)|how is the (?:drive|trip|road))\b",
    re.I,
)
# "All good" after a "no" to "Are you on schedule?" means nothing is wrong, not that the driver is late.
_ALL_GOOD_RE = re.compile(
    r"\b(?:all good|all fine|(?:everything|it|we)(?:'s| is| are|'re) (?:good|fine|smooth))\b", re.I
)
# Clauses about waiting at the receiver; their "backed up" or "slow" is about the dock, not the road.
_RECEIVER_WAIT_RE = re.compile(r"\b(?:lumpers?|unload(?:ing)? crew|dock crew|doors?|dock)\b", re.I)
# Opposite polarity: "Are you on schedule?" "Not really" means late.
_ON_SCHEDULE_QUESTION_RE = re.compile(r"\b(?:on schedule|on time|on track)\b", re.I)
# Conditions described as fine are a report of no delay, not a cause ("Weather's been fine").
_BENIGN_RE = re.compile(
    r"\b(?:weather|traffic|roads?|drive|driving|truck|everything|it)(?:'s| is| has been| have been| was| are|"
    r" been)?\s+(?:\w+\s+)?(?:fine|good|great|clear|light|smooth|okay|ok|nice|not bad|moving)\b|"
    r"\b(?:clear|open|dry|empty|light) (?:roads?|highways?|skies|traffic)\b",
    re.I,
)
_DELAY_CAUSES: list[tuple[str, re.Pattern[str]]] = [
    (
        "Heavy Traffic",
        re.compile(
            # By the time delays are read the call is not an emergency, so any collision named is
            # someone else's: a reason for traffic.
            rf"\b(?:{_TRAFFIC_TALK}|road ?closed|closed (?:down|off)|"
            r"accidents?|wrecks?|crash(?:es)?|collisions?|pile-?ups?|rollovers?|"
            r"(?:flipped|rolled over|overturned|jackknifed|stalled|broke down|broken down|disabled)"
            r"\b[^.!?,]{0,20}\b(?:ahead|up the road|in front of (?:me|us))|"
            r"behind (?:a|an|the|some) (?:\w+ ){0,2}?(?:truck|car|semi|vehicle|bus|trailer)s?|"
            r"(?:road|highway|interstate|freeway|bridge|ramp|lanes?)\b[^.!?,]{0,20}\b"
            r"(?:closed|shut down|shut|blocked))\b",
            re.I,
        ),
    ),
    (
        "Weather",
        re.compile(
            r"\b(?:weather|snow\w*|rain\w*|storms?|stormy|thunder\w*|lightning|wind|winds|windy|gust\w*|"
            r"fog\w*|ice|icy|black ice|freezing|hail\w*|blizzard|sleet|flood\w*|whiteout|visibility|"
            r"tornado|hurricane|pouring|downpour|dust ?storm|chain (?:up|law|controls?)|slick|slippery)\b",
            re.I,
        ),
    ),
    (
        "Mechanical",
        re.compile(
            r"\b(?:mechanical|broke down|breakdown|flat tire|(?:had|got|with) a flat|blow ?out|blew a tire|"
            r"lost a tire|tire (?:problem|issue|trouble|shop|service)|road ?service|"
            r"roadside (?:assistance|service)|"
            r"tow(?:ed| truck)|"
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
        said_late = said_on_time = False
        for clause in _clauses(turn.text):
            on_time_match = _ON_TIME_RE.search(clause)
            if on_time_match and _negated(clause, on_time_match.start()):
                said_late = True  # "not on schedule"
            elif on_time_match:
                said_on_time = True
            said_late = said_late or _first_unnegated(_LATE_RE, clause) is not None
            if _BENIGN_RE.search(clause):
                said_on_time = True
                continue
            if _RECEIVER_WAIT_RE.search(clause) or _PAST_EVENT_RE.search(clause):
                continue  # "the lumpers are backed up", "had a wreck last week": not what slows the truck now
            for name, pattern in _DELAY_CAUSES:
                match = pattern.search(clause)
                if match is None:
                    continue
                if _negated(clause, match.start()) or _CLEARED_RE.search(clause, match.end()):
                    said_on_time = True  # "no traffic", "the snow held off"
                elif cause is None:
                    cause = name
        late, on_time = late or said_late, on_time or said_on_time
        previous = turns[index - 1] if index else None
        if previous is None or previous.role != "agent" or said_late or said_on_time:
            continue  # a reply that says it outright needs no yes/no reading ("No delays, on schedule")
        if _ON_SCHEDULE_QUESTION_RE.search(previous.text) and (answer := _yes_no(turn.text)) is not None:
            # "Everything on schedule?" "Nope, all good": the driver heard "any problems?".
            answer = answer or bool(_ALL_GOOD_RE.search(turn.text))
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
    # The hours must be time already spent: "been sitting here", "going on three hours".
    r"\bdetention\b|"
    r"\b(?:waiting|waited|sitting|sat|stuck here|going on|coming up on|"
    rf"been (?:here|there|sitting|waiting|parked|stuck|in (?:the|their) yard|at (?:the|this) \w+))\b"
    rf"[^.!?]{{0,50}}?\b"
    rf"(?P<hours>\d+|{_HOUR_WORD_ALT}|a couple(?: of)?|a few|several)\s+hours\b",
    re.I,
)
# Whoever unloads the trailer for the receiver.
# "lumper fee" and "lumper receipt" are paperwork, not a person.
_LUMPER_RE = re.compile(
    r"\b(?:lumpers?|lumper (?:crew|service)|unload(?:ing)? crew|dock crew)\b"
    r"(?!\s+(?:fees?|receipts?|charges?|costs?|payments?|tickets?)\b)",
    re.I,
)
# Said in the same clause as the lumper, these mean the driver is still waiting for one: "no lumper yet",
# "stuck waiting on a lumper", "the lumpers are backed up", "the lumper's finishing another truck".
_LUMPER_WAIT_CUE_RE = re.compile(
    r"\b(?:wait\w*|no|not|yet|need\w*|backed up|busy|late|behind|finishing|next|soon|still|short|"
    r"supposed to|when|where|call(?:ed)? (?:for|in))\b|n't\b",
    re.I,
)
# "they said door 12 in an hour" is a promise, not a door.
_DOOR_RE = re.compile(
    r"\bdoor\s*(?:number\s*|no\.?\s*|#\s*)?(\d{1,3})\b(?!\s+(?:in an?|in \d+|later|soon|when|once)\b)", re.I
)
_DOOR_WAIT_RE = re.compile(
    r"\b(?:wait\w* (?:for|on) (?:a |the |my )?door|no door|don't have a door|"
    r"(?:haven't|hasn't|didn't|won't) (?:\w+ )?(?:got|get|gotten|given|give|assigned|assign) (?:me |us )?"
    r"a door|door (?:isn't|is not|not) (?:ready|open)|"
    r"wait\w* to (?:get )?(?:in|back in|unload(?:ed)?|be unloaded))\b",
    re.I,
)


def _waiting_for_lumper(user_texts: list[str]) -> bool:
    return any(
        _LUMPER_RE.search(clause) and _LUMPER_WAIT_CUE_RE.search(clause)
        for text in user_texts
        for clause in _clauses(text)
    )


def _unloading_status(user_texts: list[str], arrived: bool, unloading: bool) -> str | None:
    if not arrived:
        return "N/A"
    joined = " ".join(user_texts)
    # The missing lumper is what holds the truck, even once the wait runs into detention; once unloading is
    # under way the lumper has come.
    if not unloading and _waiting_for_lumper(user_texts):
        return "Waiting for Lumper"
    detention = _DETENTION_RE.search(joined)
    if detention and (detention["hours"] is None or _hours(detention["hours"]) >= 2):
        return "Detention"  # receivers usually start paying detention after two hours
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


def _unloading_under_way(turns: list[Turn], arrived: bool) -> bool:
    """The driver says the receiver is unloading the truck now (not waiting to, not will)."""
    user_texts = [t.text for t in turns if t.role == "user"]
    clauses = [c for text in user_texts for c in _clauses(text) if not _WAITING_TO_UNLOAD_RE.search(c)]
    if any(_stated_now(_UNLOADING_RE, [clause]) for clause in clauses):
        return True
    if arrived and any(_stated_now(_THEY_STARTED_RE, [clause]) for clause in clauses):
        return True
    answer = _answer_to(turns, _UNLOADING_QUESTION_RE)
    return bool(answer and answer[0])


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
