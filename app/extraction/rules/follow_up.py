"""Why a call needs a dispatcher's follow-up, read from how the agent ended it."""

from __future__ import annotations

import re

from app.extraction.rules.turns import Turn
from app.schemas.extraction import FollowUpReason

# The agent asking the driver to say it again: a noisy line.
_REPEAT_RE = re.compile(
    r"\b(?:repeat|say (?:that|it) again|one more time|didn't catch|breaking up|noisy|hard to hear|"
    r"can't (?:hear|make) you)\b",
    re.I,
)
# The agent giving up on the check-in: "I'll let you focus on the road", "call us back when you can".
_GAVE_UP_RE = re.compile(
    r"\b(?:let you (?:focus|go|get back)|call (?:us|dispatch) back|call you back|try (?:you )?again later)\b",
    re.I,
)
_WORD_RE = re.compile(r"[A-Za-z']+")


def _follow_up_reason(turns: list[Turn], *, pending_escalation: bool = False) -> FollowUpReason | None:
    """ "escalation_pending", "noisy_line", "uncooperative" or None, from the transcript.

    A call the agent closed after asking the driver to repeat twice is a noisy line; one it closed after
    two or more one- or two-word answers is an uncooperative driver.
    """
    if pending_escalation:
        return "escalation_pending"
    agent = [t.text for t in turns if t.role == "agent"]
    if len(agent) < 2 or not _GAVE_UP_RE.search(agent[-1]):
        return None
    if sum(bool(_REPEAT_RE.search(text)) for text in agent[1:]) >= 2:
        return "noisy_line"
    short = sum(1 for t in turns if t.role == "user" and len(_WORD_RE.findall(t.text)) <= 2)
    return "uncooperative" if short >= 2 else None
