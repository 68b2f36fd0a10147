"""Whether the driver reports an emergency, and which kind: accident, medical, breakdown or other."""

from __future__ import annotations

import re

from app.extraction.rules.statements import _first_unnegated
from app.extraction.rules.turns import Turn, _clauses, _user_turns
from app.extraction.rules.vocabulary import _PAST_EVENT, _TRAFFIC_TALK

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
# An unattributed "wreck" in a turn full of road and traffic talk is the traffic, not an emergency.
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
