"""The password policy: long enough, not a published common password, not trivially guessable."""

import pytest

from app.core.password_policy import MIN_LENGTH, password_problem


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("a" * (MIN_LENGTH - 1), "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
        ("123qweasdzxc", "most common passwords"),
        ("QWERTY123456", "most common passwords"),  # compared without case
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("passwordpassword", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    found = password_problem(password)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "password",
    ["tandem-lumber-orchard-42", "correct-horse-battery", "Zq8!mK2#vR5p", "tandem-lumber-orchard-42 " * 5],
)
def test_long_uncommon_passwords_are_accepted(password: str) -> None:
    assert password_problem(password) is None
