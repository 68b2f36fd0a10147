"""The driver's arrival estimate: clock times, days and parts of the day, and durations."""

from __future__ import annotations

import re

from app.extraction.rules.turns import Turn, _clause_prefix
from app.extraction.rules.vocabulary import _HOUR_WORD_ALT, _HOUR_WORDS

_CLOCK_RE = re.compile(r"\b(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<mer>[ap])\.?\s?m\b\.?", re.I)
_HH_MM_RE = re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})\b(?!\s*[ap]\.?\s?m\b)", re.I)
_CUED_HOUR_RE = re.compile(
    rf"\b(?:around|about|by|at|before|like|roughly|maybe|say)\s+(?P<h>\d{{1,2}}|{_HOUR_WORD_ALT})"
    rf"(?::(?P<m>\d{{2}})|\s+(?P<half>thirty)|\s+o'?clock)?\b"
    r"(?!\s*(?:hours?|hrs?|minutes?|mins?|miles?|percent|%|pallets?|more|or so hours|ago|[ap]\.?\s?m\b))",
    re.I,
)
# "half past six", "quarter to nine": the hour is named after the minutes.
_PAST_TO_RE = re.compile(
    rf"\b(?P<q>half|(?:a\s+)?quarter)\s+(?P<rel>past|after|to|till|til|of)\s+(?P<h>\d{{1,2}}|{_HOUR_WORD_ALT})\b"
    r"(?!\s*(?:hours?|hrs?|minutes?|mins?|miles?))",
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
    for match in _PAST_TO_RE.finditer(text):
        hour, rel = _hour_value(match["h"]), match["rel"].lower()
        if rel in ("past", "after"):
            candidates.append((match.start(), hour, 30 if match["q"].lower() == "half" else 15, None))
        elif not match["q"].lower().startswith("half"):  # "half to six" is not said
            candidates.append((match.start(), hour - 1 or 12, 45, None))
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
