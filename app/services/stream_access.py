"""An open stream stays open only while its user may still read it.

A stream is authorised once, when it opens; a deactivation, a demotion or a password change (which
revokes every token) must still end it. Each stream re-reads its user by primary key every
STREAM_RECHECK_SECONDS (off the event path, through the streams' shared reads: a thousand streams
re-checking one user at the same moment cost one query, not a pooled connection each), and ends when the
user is gone, inactive, re-versioned or below the stream's role. The browser's EventSource then
reconnects and gets the 401 or 403 that ends it for good. A check the database cannot answer is tried
again at the next interval: nothing new reaches the stream meanwhile either.
"""

import asyncio
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar

from loguru import logger

from app.core.security import TokenClaims
from app.models import Role, User

T = TypeVar("T")
UserLookup = Callable[[TokenClaims], Awaitable[User | None]]


async def still_permitted(lookup: UserLookup, *, claims: TokenClaims, role: Role) -> bool:
    """Whether the user the stream was opened for is still active, on the same token version, in role."""
    user = await lookup(claims)
    return user is not None and user.role.allows(role)


async def while_permitted(
    stream: AsyncGenerator[T, None],
    *,
    lookup: UserLookup,
    user_id: uuid.UUID,
    token_version: int,
    role: Role,
    interval: float,
) -> AsyncGenerator[T, None]:
    """The stream's events until its user may no longer read it (checked every `interval` seconds)."""
    claims = TokenClaims(user_id=user_id, version=token_version)
    # The next event is awaited in a task that survives each check: cancelling it would end the stream.
    pending: asyncio.Future[T] | None = None
    loop = asyncio.get_running_loop()
    next_check = loop.time() + interval
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(stream))
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, next_check - loop.time()))
            # On time whether the stream is quiet or busy: a steady flow of events never skips a check.
            if loop.time() >= next_check:
                try:
                    permitted = await still_permitted(lookup, claims=claims, role=role)
                except Exception as exc:  # the database is away or busy: ask again next interval
                    logger.warning("stream access not re-checked ({}); trying again", type(exc).__name__)
                    permitted = True
                if not permitted:
                    logger.info("stream closed: user {} may no longer read it", user_id)
                    return
                next_check = loop.time() + interval
            if not done:
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield event
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await stream.aclose()
