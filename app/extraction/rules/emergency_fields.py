"""The details of a reported emergency: safety, injuries, the load, and how dispatch escalated it."""

from __future__ import annotations

import re

from app.extraction.rules.locations import _current_location
from app.extraction.rules.statements import (
    _FILLER_RE,
    _NEGATION_RE,
    _answer_to,
    _answered_question,
    _first_unnegated,
    _negated,
)
from app.extraction.rules.turns import Turn, _clauses, _reply_to, _user_turns
from app.schemas.extraction import EmergencyResult

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
