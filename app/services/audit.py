"""The audit log of admin actions: recorded in the action's own transaction, read newest first."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import keyset
from app.models import AuditEntry, User
from app.schemas.audit import AuditEntryPublic, AuditPage

# Never written to the log, whatever changed: hashes and one-time tokens.
SECRET_FIELDS = frozenset({"hashed_password", "password", "password_token_hash", "password_token_expires_at"})
NEWEST_FIRST = keyset.newest_first(col(AuditEntry.at), col(AuditEntry.id))


def _plain(value: Any) -> Any:
    """A JSON value for the log: ids and times as text, enums as their value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field whose value differs, as {"old", "new"}; a field on one side only counts as a change."""
    changes = {}
    for name in dict.fromkeys([*before, *after]):
        if name in SECRET_FIELDS:
            continue
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            changes[name] = {"old": old, "new": new}
    return changes


async def record(
    session: AsyncSession,
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: uuid.UUID | None,
    changes: dict[str, dict[str, Any]],
) -> AuditEntry:
    """Add one entry; it commits, or rolls back, with the action it records."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_email=actor.email,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        changes=changes,
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(session: AsyncSession, *, limit: int, cursor: str | None) -> AuditPage:
    """Newest first, keyset-paginated on (at, id)."""
    query = select(AuditEntry).order_by(*NEWEST_FIRST.order_by()).limit(limit + 1)
    if cursor:
        query = query.where(NEWEST_FIRST.after(NEWEST_FIRST.decode(cursor)))
    rows = list((await session.exec(query)).all())
    page, more = rows[:limit], len(rows) > limit
    return AuditPage(
        items=[AuditEntryPublic.model_validate(entry) for entry in page],
        next_cursor=NEWEST_FIRST.encode(page[-1].at, page[-1].id) if more else None,
    )
