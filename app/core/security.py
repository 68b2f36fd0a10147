"""Password hashing (pwdlib, argon2) and access tokens (PyJWT, HS256)."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"
_password_hash = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _password_hash.verify(password, password_hash)


def create_access_token(subject: str, *, secret_key: str, expires_minutes: int) -> str:
    now = datetime.now(UTC)
    payload = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=expires_minutes)}
    return jwt.encode(payload, secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret_key: str) -> str | None:
    """The token's subject, or None when the token is malformed, forged or expired."""
    try:
        payload = jwt.decode(token, secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
    subject = payload.get("sub")
    return subject if isinstance(subject, str) else None


# Stream tokens: read-only, short-lived, for the live streams only (EventSource sends no headers, so
# they travel in the query string). Their own audience and key keep the two kinds apart both ways.
STREAM_AUDIENCE = "stream"


def _stream_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"stream-token", hashlib.sha256).digest()


def create_stream_token(subject: str, *, secret_key: str, expires_seconds: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": subject,
        "aud": STREAM_AUDIENCE,
        "scope": "read",
        "iat": now,
        "exp": now + timedelta(seconds=expires_seconds),
    }
    return jwt.encode(payload, _stream_key(secret_key), algorithm=ALGORITHM)


def decode_stream_token(token: str, *, secret_key: str) -> str | None:
    """The stream token's subject, or None when it is malformed, forged, expired or another kind."""
    try:
        payload = jwt.decode(
            token,
            _stream_key(secret_key),
            algorithms=[ALGORITHM],
            audience=STREAM_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    subject = payload.get("sub")
    return subject if isinstance(subject, str) else None
