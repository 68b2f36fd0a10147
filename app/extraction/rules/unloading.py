"""Check-in at the receiver: arrival, unloading under way, lumper, detention, door, and the POD reminder."""

from __future__ import annotations

import re

from app.extraction.rules.statements import _answer_to, _negated, _stated_now, _yes_no
from app.extraction.rules.turns import Turn, _clauses, _reply_to
from app.extraction.rules.vocabulary import _HOUR_WORD_ALT, _HOUR_WORDS

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
    r"wait\w* to (?:get )?(?:in|back in|unload(?:ed)?|be unloaded)|"
    # "sit in the lot until a door opens up", "no doors open yet", "all the doors are full".
    r"(?:until|till|til|when|once|for) (?:a |the |my |one |some )?doors? "
    r"(?:opens?|frees?|clears?|comes? (?:open|free)|is (?:ready|open|free|available))|"
    r"doors? (?:to )?(?:open|free|clear)s? up|"
    r"no (?:open |free |empty )?doors?(?: (?:open|free|available|yet|right now))?|"
    r"(?:all )?(?:the )?doors (?:are )?(?:all )?(?:full|taken|busy|occupied|backed up))\b",
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
