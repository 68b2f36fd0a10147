"""The dialing policy on its own: which E.164 numbers a phone call may go to, and why not."""

import re

import pytest

from app.services.dialing import NumberNotDialable, check_dialable

NORTH_AMERICA = ["US", "CA"]


@pytest.mark.parametrize("number", ["+13125550101", "+16135550123", "+18005551234"])
def test_ordinary_and_toll_free_north_american_numbers_are_dialable(number: str) -> None:
    check_dialable(number, allowed_regions=NORTH_AMERICA)


@pytest.mark.parametrize(
    ("number", "regions", "why"),
    [
        ("+19002001234", NORTH_AMERICA, "premium-rate"),
        ("+33884012345", ["FR"], "shared-cost"),
        ("+445512345678", ["GB"], "universal access number"),
        ("+49177991234567", ["DE"], "voicemail"),
        ("+18765551234", NORTH_AMERICA, "region JM"),
        ("+13125550101", [], "outside the dialing policy's regions (none)"),
        ("911", NORTH_AMERICA, "emergency"),
        ("+1911", NORTH_AMERICA, "not a valid number"),
        ("611", NORTH_AMERICA, "short code"),
    ],
)
def test_refused_numbers_say_why(number: str, regions: list[str], why: str) -> None:
    with pytest.raises(NumberNotDialable, match=re.escape(why)) as refused:
        check_dialable(number, allowed_regions=regions)
    assert refused.value.status_code == 422
