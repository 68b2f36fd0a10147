"""Retell's webhook signature: verify what arrives, sign what the simulator and tests send."""

import hashlib
import hmac
import re
import time

from retell.lib import webhook_auth

# `v=<ms timestamp>,d=<hex HMAC-SHA256>`. A timestamp has 13 digits today; 15 leaves room without letting
# a header of thousands of digits reach int(), which refuses them (and was a 500).
SIGNATURE_FORMAT = re.compile(r"v=(\d{1,15}),d=[0-9a-f]{64}")
# Retell's verifier accepts a timestamp this far from now, either way (its FIVE_MINUTES).
WINDOW_MS = webhook_auth.FIVE_MINUTES


def plausible_signature(signature: str, *, now_ms: int | None = None) -> bool:
    """What can be checked without the body: Retell's format, and a timestamp inside the window.

    The webhook asks this before it reads a byte of the body, so a request that cannot be valid costs
    no memory; the HMAC over the body (`verify_retell_signature`) still decides.
    """
    match = SIGNATURE_FORMAT.fullmatch(signature)
    if match is None:
        return False
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return abs(now_ms - int(match.group(1))) <= WINDOW_MS


def verify_retell_signature(body: str | bytes | bytearray, key: str, signature: str) -> bool:
    """Retell's check (HMAC-SHA256 over body + timestamp, five-minute window), on the body as received.

    The same computation as Retell's own verifier (`retell.lib.webhook_auth`, which `sign_retell_body`
    uses), but over bytes: a body of megabytes is hashed where it lies, never copied or decoded first.
    A header that is not in Retell's format is simply not a valid signature.
    """
    match = SIGNATURE_FORMAT.fullmatch(signature)
    if match is None or not plausible_signature(signature):
        return False
    mac = hmac.new(key.encode(), digestmod=hashlib.sha256)
    mac.update(body.encode() if isinstance(body, str) else body)
    mac.update(match.group(1).encode())
    return hmac.compare_digest(mac.hexdigest(), signature.rsplit("=", 1)[1])


def sign_retell_body(body: str, key: str, *, timestamp_ms: int | None = None) -> str:
    """The `x-retell-signature` value Retell would send for this body (the simulator and tests use it)."""
    return str(webhook_auth.symmetric["sign"](body, key, timestamp_ms))
