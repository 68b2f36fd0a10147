"""One driver utterance understood: its slots, an emergency it reports, noise; and the LLM reader."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from app.extraction.rules.delays import _delay_facts, _delay_reason, _driver_status
from app.extraction.rules.emergency_fields import _injury_status, _load_secure, _safety_status
from app.extraction.rules.emergency_type import _detect_emergency
from app.extraction.rules.eta import _eta
from app.extraction.rules.locations import Location, _location_in
from app.extraction.rules.statements import _stated_now, _yes_no
from app.extraction.rules.turns import Turn, _clean
from app.extraction.rules.unloading import (
    _ARRIVED_RE,
    _pod_acknowledged,
    _unloading_status,
    _unloading_under_way,
)

CHECK_IN_SLOTS = (
    "driver_status",
    "current_location",
    "eta",
    "delay_reason",
    "unloading_status",
    "pod_reminder_acknowledged",
)
EMERGENCY_SLOTS = ("emergency_type", "safety_status", "injury_status", "emergency_location", "load_secure")
DRIVER_STATUSES = ("Driving", "Delayed", "Arrived", "Unloading")
EMERGENCY_TYPES = ("Accident", "Breakdown", "Medical", "Other")

# Retell writes "(unintelligible audio)" for speech it could not transcribe; other engines use brackets.
_NOISE_MARKER_RE = re.compile(
    r"\((?:[^)]*(?:unintelligible|inaudible|noise|static|garbled)[^)]*)\)|\[[^\]]*\]", re.I
)
_WORD_RE = re.compile(r"[A-Za-z']+|\d+")
_VOWEL_RE = re.compile(r"[aeiouy]", re.I)
_STUTTER_RE = re.compile(r"(.)\1\1")
# Words that carry no answer at all: "fine", "yep", "dunno", "busy".
_EMPTY_ANSWER_RE = re.compile(
    r"^(?:fine|good|ok(?:ay)?|alright|all right|yes|yeah|yep|yup|no|nope|nah|sure|dunno|i don't know|"
    r"don't know|idk|busy|whatever|road|driving|here|there|around|later|maybe|huh|what|hm+|uh+|um+)[.!?]*$",
    re.I,
)


@dataclass
class Understood:
    """What one driver utterance said, as far as rules can tell."""

    slots: dict[str, Any] = field(default_factory=dict)
    emergency: str | None = None  # "Accident", "Breakdown", "Medical" or "Other"
    noise: bool = False  # nothing usable came through: ask to repeat
    location: Location | None = None  # where the driver says they are, for the GPS comparison
    yes_no: bool | None = None  # a bare yes or no


def detect_emergency(text: str) -> str | None:
    """The emergency kind one driver utterance reports as happening to them now, else None."""
    found = _detect_emergency([Turn("user", _clean(text))])
    return found[0] if found else None


def _garbled(raw: str) -> bool:
    """Speech-to-text that came through as markers, fragments or letter soup rather than words."""
    if _NOISE_MARKER_RE.search(raw):
        left = _WORD_RE.findall(_NOISE_MARKER_RE.sub(" ", raw))
        return len(left) < 5 or raw.count("...") + raw.count("\u2026") >= 2
    words = _WORD_RE.findall(raw)
    if not words:
        return bool(raw.strip()) and not raw.strip(" .?!")  # "..." alone
    if raw.count("...") + raw.count("\u2026") >= 2 and len(words) <= 6:
        return True
    odd = sum(
        1
        for w in words
        if not w.isdigit()
        and (not _VOWEL_RE.search(w) or _STUTTER_RE.search(w.lower()) or len(w) > 16)
        and w.lower() not in ("i", "hmm", "mm", "shh", "tv", "pm", "am")
    )
    return len(words) >= 2 and odd / len(words) >= 0.4


def is_empty_answer(text: str) -> bool:
    """A one-word or empty answer that says nothing ("fine", "yep", "dunno")."""
    cleaned = _clean(text).strip()
    return not cleaned or bool(_EMPTY_ANSWER_RE.match(cleaned))


def understand(
    utterance: str, asked: str | None, *, arrived_before: bool = False, emergency: bool = False
) -> Understood:
    """Slots from one driver utterance, read with the offline extractor's rules.

    `asked` is the agent's question just before it (what a bare "yes" or "two hours" answers);
    `arrived_before` says the driver already told us they are at the receiver.
    """
    text = _clean(utterance)
    heard = Understood()
    if not text:
        heard.noise = bool(utterance.strip())  # only markers or dots came through
        return heard
    heard.emergency = detect_emergency(utterance)
    heard.noise = heard.emergency is None and _garbled(utterance)
    turns = [Turn("agent", asked)] if asked else []
    turns.append(Turn("user", text))
    heard.yes_no = _yes_no(text)
    location = _location_in(text)
    heard.location = location if location.found else None
    # "You're right" to the GPS question is read by the policy, which knows the GPS position in full.
    place = location.render() if location.found else None
    if emergency or heard.emergency:
        slots = heard.slots
        for name, value in (
            ("safety_status", _safety_status([text], turns)),
            ("injury_status", _injury_status([text], turns)),
            ("emergency_location", place),
            ("load_secure", _load_secure([text], turns)),
        ):
            if value is not None:
                slots[name] = value
        if heard.emergency:
            slots["emergency_type"] = heard.emergency
        if slots:
            heard.noise = False
        return heard
    at_receiver = _stated_now(_ARRIVED_RE, [text])
    unloading = _unloading_under_way(turns, at_receiver or arrived_before)
    arrived = at_receiver or unloading
    facts = _delay_facts(turns)
    values: dict[str, Any] = {
        "driver_status": _driver_status([text], arrived, unloading, facts),
        "current_location": place,
        "eta": None if arrived else _eta(turns),
        "delay_reason": None if arrived else _delay_reason(facts),
        "unloading_status": _unloading_status([text], arrived or arrived_before, unloading),
        "pod_reminder_acknowledged": _pod_acknowledged(turns) or None,
    }
    if values["unloading_status"] == "N/A":
        values["unloading_status"] = None  # "not arrived" is the default, not news
    heard.slots = {k: v for k, v in values.items() if v is not None}
    if heard.slots:
        heard.noise = False  # something came through after all: "[noise] I'm on I-40 near Amarillo"
    return heard


def _valid(name: str, value: Any) -> bool:
    if name == "driver_status":
        return value in DRIVER_STATUSES
    if name == "emergency_type":
        return value in EMERGENCY_TYPES
    if name in ("pod_reminder_acknowledged", "load_secure"):
        return isinstance(value, bool)
    return isinstance(value, str) and 0 < len(value) <= 200


def clean_heard(heard: Mapping[str, Any] | None) -> dict[str, Any]:
    """The slots of an LLM reading that fit the result's types; anything else is dropped."""
    if not heard:
        return {}
    known = set(CHECK_IN_SLOTS) | set(EMERGENCY_SLOTS)
    return {k: v for k, v in heard.items() if k in known and v is not None and _valid(k, v)}


LLM_READER_INSTRUCTIONS = """\
Read the truck driver's last utterance and return a JSON object with only the fields it states:
driver_status ("Driving", "Delayed", "Arrived", "Unloading"), current_location ("I-10 near Tucson, AZ"),
eta ("Today, 6:00 PM"), delay_reason ("Heavy Traffic", "Weather", "Mechanical", "None"),
unloading_status ("In Door 42", "Waiting for Lumper", "Detention", "Waiting for Door"),
pod_reminder_acknowledged (true/false), emergency_type ("Accident", "Breakdown", "Medical", "Other"),
safety_status, injury_status, emergency_location, load_secure (true/false).
Leave out anything the driver did not say. Reply with the JSON object only."""


async def hear_with_llm(
    client: Any, *, model: str, instructions: str, utterance: str, asked: str, budget_s: float
) -> dict[str, Any] | None:
    """Slots an OpenAI-compatible model reads from one utterance, or None when it is late or fails.

    `client` is an `openai.AsyncOpenAI`; the answer is streamed and its JSON content accumulated.
    The budget is hard: the dialogue never waits past it, and the
    emergency switch never waits on this at all (the caller decides it with rules first).
    """

    async def ask() -> dict[str, Any] | None:
        stream = await client.chat.completions.create(
            model=model,
            temperature=0,
            stream=True,
            response_format={"type": "json_object"},
            messages=[
                {"role": "system", "content": f"{instructions}\n\n{LLM_READER_INSTRUCTIONS}"},
                {"role": "user", "content": f"Agent asked: {asked}\nDriver said: {utterance}"},
            ],
        )
        parts: list[str] = []
        async with stream:  # closed (the connection released) even when the budget cancels it mid-way
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
        parsed = json.loads("".join(parts))
        return clean_heard(parsed) if isinstance(parsed, dict) else None

    try:
        return await asyncio.wait_for(ask(), timeout=budget_s)
    except TimeoutError:
        logger.info("llm reader late after {}s; rules only", budget_s)
    except Exception as exc:  # the reader is optional: any failure falls back to rules
        logger.info("llm reader failed ({}); rules only", type(exc).__name__)
    return None


@dataclass(frozen=True)
class LiveReader:
    """The conversation engine's LLM reader: one client for the process, its model, its hard budget."""

    client: Any  # openai.AsyncOpenAI, built once by the lifespan and closed on shutdown
    model: str
    budget_s: float

    async def hear(self, *, instructions: str, utterance: str, asked: str) -> dict[str, Any] | None:
        return await hear_with_llm(
            self.client,
            model=self.model,
            instructions=instructions,
            utterance=utterance,
            asked=asked,
            budget_s=self.budget_s,
        )

    async def aclose(self) -> None:
        await self.client.close()
