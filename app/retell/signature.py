"""Retell's webhook signature: verify what arrives, sign what the simulator and tests send."""

from retell.lib import webhook_auth


def verify_retell_signature(body: str, key: str, signature: str) -> bool:
    """Retell's own verifier (HMAC-SHA256 over body + timestamp, five-minute window)."""
    return bool(webhook_auth.verify(body, key, signature))


def sign_retell_body(body: str, key: str, *, timestamp_ms: int | None = None) -> str:
    """The `x-retell-signature` value Retell would send for this body (the simulator and tests use it)."""
    return str(webhook_auth.symmetric["sign"](body, key, timestamp_ms))
