"""Types shared by several API schemas."""

from typing import Annotated

import phonenumbers
from phonenumbers import shortnumberinfo
from pydantic import AfterValidator


def normalize_phone(value: str) -> str:
    """Parse a phone number (US by default) and return it in E.164, or raise a clear ValueError."""
    try:
        parsed = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    # Said in words, not left to fail as "not valid" by accident of parsing.
    if phonenumbers.connects_to_emergency_number(value, "US"):
        raise ValueError("an emergency number: never dialed by the agent")
    dialled_as_is = not value.strip().startswith("+")  # a short code is never dialled with a country code
    if (
        dialled_as_is
        and shortnumberinfo.is_possible_short_number(parsed)
        and not phonenumbers.is_valid_number(parsed)
    ):
        raise ValueError("a short code: only full phone numbers (E.164, e.g. +13125550101) are dialed")
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number (use E.164, e.g. +13125550101)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


E164Phone = Annotated[str, AfterValidator(normalize_phone)]
