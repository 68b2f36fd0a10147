"""Retell's webhook signature: verify what arrives, sign what the simulator and tests send."""

import re

from retell.lib import webhook_auth

# `v=<ms timestamp>,d=<hex HMAC-SHA256>`. A timestamp has 13 digits today; 15 leaves room without letting
# a header of thousands of digits reach int(), which refuses them (and was a 500).
SIGNATURE_FORMAT = re.compile(r"v=\d{1,15},d=[0-9a-f]{64}")


def verify_retell_signature(body: str, key: str, signature: str) -> bool:
    """Retell's own verifier (HMAC-SHA256 over body + timestamp, five-minute window).

    A header that is not in Retell's format is simply not a valid signature.
    """
    if SIGNATURE_FORMAT.fullmatch(signature) is None:
        return False
    return bool(webhook_auth.verify(body, key, signature))


def sign_retell_body(body: str, key: str, *, timestamp_ms: int | None = None) -> str:
    """The `x-retell-signature` value Retell would send for this body (the simulator and tests use it)."""
    return str(webhook_auth.symmetric["sign"](body, key, timestamp_ms))
