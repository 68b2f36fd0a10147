"""Password hashing (pwdlib, argon2) and access tokens (PyJWT, HS256)."""

from datetime import UTC, datetime, timedelta

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
