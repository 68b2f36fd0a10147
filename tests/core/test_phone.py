"""Phone numbers as dispatchers type them become E.164; anything else is refused with a reason."""

import pytest

from app.core.phone import normalize_phone


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(312) 555-0102", "+13125550102"),
        ("312.555.0102", "+13125550102"),
        ("+1 312 555 0102", "+13125550102"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_common_formats_become_e164(typed: str, e164: str) -> None:
    assert normalize_phone(typed) == e164


@pytest.mark.parametrize(("typed", "reason"), [("call me", "not a phone number"), ("+1 000", "not a valid")])
def test_non_numbers_are_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_phone(typed)
