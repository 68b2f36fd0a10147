"""What a password must be: 12 characters or more, and none of the 30,000 most common passwords.

The common passwords are the list zxcvbn ships (from published password leaks), compared without case;
zxcvbn's own score then refuses what is only a common word repeated or dressed up ("passwordpassword").
"""

from functools import cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn scores 0 (guessable in < 10^3 tries) to 4; 2 and up means at least 10^6 guesses offline-slow.
MIN_SCORE = 2
ZXCVBN_MAX_LENGTH = 72


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why this password is refused, in words, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.lower() in _common_passwords():
        return "is one of the most common passwords; choose another"
    # zxcvbn refuses more than 72 characters; a weak start scores low whatever follows it.
    if zxcvbn(password[:ZXCVBN_MAX_LENGTH])["score"] < MIN_SCORE:
        return "is too easy to guess (a common word, name or pattern); choose another"
    return None


def check_password(password: str) -> str:
    """A pydantic validator: the password, or a ValueError saying what is wrong with it."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(problem)
    return password
