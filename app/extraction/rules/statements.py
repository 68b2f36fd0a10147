"""What a driver's words assert: negation, present versus future, and yes/no answers to agent questions."""

from __future__ import annotations

import re

from app.extraction.rules.turns import Turn, _clauses, _reply_to

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
