"""Triggering a call: a dispatcher's, counted against their TRIGGER_LIMIT_PER_USER before any work."""

from typing import Annotated

from fastapi import Depends

from app.api.dependencies import TriggerLimitDep
from app.api.roles import DispatcherUser
from app.models import User


async def allow_trigger(user: DispatcherUser, limit: TriggerLimitDep) -> User:
    """The dispatcher, once their trigger is counted (429 with Retry-After past the limit)."""
    await limit.hit(user.id)
    return user


TriggerAllowed = Annotated[User, Depends(allow_trigger)]
