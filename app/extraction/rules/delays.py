"""Check-in driver status and delay: running late or on time, and what is causing the delay."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.extraction.rules.statements import _first_unnegated, _negated, _stated_now, _yes_no
from app.extraction.rules.turns import Turn, _clauses
from app.extraction.rules.vocabulary import _PAST_EVENT, _TRAFFIC_TALK

# Events that are over are not what is slowing the truck today.
_PAST_EVENT_RE = re.compile(rf"\b(?:{_PAST_EVENT})\b", re.I)
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
