"""Retell's webhook signature as the simulator makes it and the webhook route checks it."""

import hashlib
import hmac
import time

from app.retell.signature import sign_retell_body, verify_retell_signature

BODY = '{"event":"call_ended","call":{"call_id":"c1"}}'
KEY = "key_0123456789"


def test_a_signature_is_hmac_sha256_of_body_and_timestamp_as_retell_sends_it() -> None:
    digest = hmac.new(KEY.encode(), (BODY + "1700000000000").encode(), hashlib.sha256).hexdigest()
    assert sign_retell_body(BODY, KEY, timestamp_ms=1_700_000_000_000) == f"v=1700000000000,d={digest}"


def test_an_unstamped_signature_is_stamped_now_and_verifies() -> None:
    signature = sign_retell_body(BODY, KEY)
    stamped = int(signature.split(",")[0].removeprefix("v="))
    assert abs(stamped - time.time() * 1000) < 60_000
    assert verify_retell_signature(BODY, KEY, signature) is True


def test_a_signature_older_than_five_minutes_is_refused() -> None:
    six_minutes_ago = int(time.time() * 1000) - 6 * 60 * 1000
    assert (
        verify_retell_signature(BODY, KEY, sign_retell_body(BODY, KEY, timestamp_ms=six_minutes_ago)) is False
    )
    four_minutes_ago = int(time.time() * 1000) - 4 * 60 * 1000
    assert (
        verify_retell_signature(BODY, KEY, sign_retell_body(BODY, KEY, timestamp_ms=four_minutes_ago)) is True
    )


def test_another_key_or_another_body_is_refused() -> None:
    signature = sign_retell_body(BODY, KEY)
    assert verify_retell_signature(BODY, "another-key", signature) is False
    assert verify_retell_signature(BODY + " ", KEY, signature) is False
