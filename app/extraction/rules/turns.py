"""Transcript parsing: speaker turns, the driver's replies, and the clauses a turn is judged by."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    role: str  # "agent" or "user"
    text: str


_ROLE_RE = re.compile(
    r"^\s*(?P<role>agent|assistant|dispatch(?:er)?|bot|user|driver|caller)\s*:\s*(?P<text>.*)$", re.I
)
MAX_TURN_CHARS = 2_000
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
        # Some patterns look back over a turn, so an absurdly long one would cost quadratic time;
        # no spoken turn comes near this.
        text = _clean(raw[:MAX_TURN_CHARS])
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
