"""Password hashing (pwdlib, argon2), access tokens and read-only stream tokens (PyJWT, HS256)."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
_password_hash = PasswordHash.recommended()
# argon2's floor, for the test suite only (Settings refuses it elsewhere); verifying reads the cost from
# the hash itself, so the same verifier checks either kind.
_fast_password_hash = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


def hash_password(password: str, *, fast: bool = False) -> str:
    return (_fast_password_hash if fast else _password_hash).hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _password_hash.verify(password, password_hash)


@lru_cache(maxsize=1)
def dummy_password_hash() -> str:
    """A hash no password matches: checked for unknown emails, so they take as long as known ones."""
    return _password_hash.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class TokenClaims:
    """Whom a token names: the user's id and the token version it was issued under."""

    user_id: uuid.UUID
    version: int


def create_access_token(user_id: uuid.UUID, version: int, *, secret_key: str, expires_minutes: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "ver": version,
        "iat": now,
        "exp": now + timedelta(minutes=expires_minutes),
    }
    return jwt.encode(payload, secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret_key: str) -> TokenClaims | None:
    """The token's claims, or None when the token is malformed, forged, expired or of an older kind."""
    return _decode(token, key=secret_key, audience=None)


def _decode(token: str, *, key: str | bytes, audience: str | None) -> TokenClaims | None:
    """Whom a verified token names; None for anything malformed, forged, expired or of another kind."""
    required = ["sub", "exp", "ver", *(["aud"] if audience else [])]
    try:
        payload = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=audience, options={"require": required}
        )
        version = payload["ver"]
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        return TokenClaims(user_id=uuid.UUID(str(payload["sub"])), version=version)
    except (jwt.PyJWTError, ValueError):
        return None


# Stream tokens: read-only, short-lived, for the live streams only (EventSource sends no headers, so
# they travel in the query string). Their own audience and key keep the two kinds apart both ways.
STREAM_AUDIENCE = "stream"


def _stream_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"stream-token", hashlib.sha256).digest()


def create_stream_token(user_id: uuid.UUID, version: int, *, secret_key: str, expires_seconds: int) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "ver": version,
        "aud": STREAM_AUDIENCE,
        "scope": "read",
        "iat": now,
        "exp": now + timedelta(seconds=expires_seconds),
    }
    return jwt.encode(payload, _stream_key(secret_key), algorithm=ALGORITHM)


def decode_stream_token(token: str, *, secret_key: str) -> TokenClaims | None:
    """The stream token's claims, or None when it is malformed, forged, expired or another kind."""
    return _decode(token, key=_stream_key(secret_key), audience=STREAM_AUDIENCE)
