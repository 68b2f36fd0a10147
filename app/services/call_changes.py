"""Publish a call's change once, where it happens; subscribers on every process hear of it after commit.

The payload is small: the call's id, the status this transaction wrote, and a version (the row's
`updated_at` in microseconds) that orders a call's changes. Streams read the rest themselves.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from loguru import logger
from sqlalchemy import event, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.broadcast import local_broadcaster
from app.models import Call

CHANNEL = "call_changes"
_PENDING = "call_changes.pending"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# PostgreSQL: the notification is queued inside the transaction and delivered when it commits
# (never if it rolls back), in commit order, to the LISTEN connection of every process.
_NOTIFY = text(
    "SELECT pg_notify(:channel, json_build_object("
    "'id', id, 'status', status, 'version', (extract(epoch FROM updated_at) * 1000000)::bigint)::text) "
    "FROM calls WHERE id = :id"
)


# A transaction that NOTIFYs holds a database-wide lock from its commit until the commit is on disk, so
# such commits run one at a time: inside each delivery's durable commit, ingest ran at one delivery per
# disk flush (docs/BENCHMARKS.md). The ingest pool's paths commit the change first, then announce it here
# in a transaction of its own that does not wait for the disk (it holds nothing durable).
_ANNOUNCE = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)"


async def announce_committed(connection: asyncpg.Connection, payload: str) -> None:
    """Announce an already committed change; a failure here loses the announcement, never the change."""
    try:
        await connection.execute(_ANNOUNCE, CHANNEL, payload)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        logger.warning("a committed call change was not announced ({})", type(exc).__name__)


@dataclass(frozen=True)
class Notice:
    """What a change announces: which call, the status it now has, and its version."""

    call_id: uuid.UUID
    status: str
    version: int

    @classmethod
    def parse(cls, payload: str) -> "Notice":
        data = json.loads(payload)
        return cls(call_id=uuid.UUID(data["id"]), status=data["status"], version=int(data["version"]))


def version_of(moment: datetime) -> int:
    """A timestamp as the version number events carry (microseconds since the epoch)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)  # exact: no float rounding


def moment_of(version: int) -> datetime:
    return _EPOCH + timedelta(microseconds=version)


async def publish_change(session: AsyncSession, call_id: uuid.UUID) -> None:
    """Announce that this transaction changed the call; subscribers hear of it once it commits."""
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        connection = await session.connection()  # this transaction's
        await connection.execute(_NOTIFY, {"channel": CHANNEL, "id": call_id})
        return
    broadcaster = local_broadcaster(session.sync_session.get_bind())
    if broadcaster is None:
        return  # no app serves streams from this engine (a script, a test without the app)
    row = (await session.exec(select(Call.status, Call.updated_at).where(col(Call.id) == call_id))).first()
    if row is None:
        return
    payload = json.dumps({"id": str(call_id), "status": str(row[0]), "version": version_of(row[1])})
    pending: list[str] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session.sync_session, "after_commit", _deliver)
        event.listen(session.sync_session, "after_rollback", _discard)
    pending.append(payload)


def _deliver(sync_session: Any) -> None:
    pending: list[str] = sync_session.info.get(_PENDING, [])
    broadcaster = local_broadcaster(sync_session.get_bind())
    for payload in pending:
        if broadcaster is not None:
            broadcaster.push(payload)
    pending.clear()


def _discard(sync_session: Any) -> None:
    sync_session.info.get(_PENDING, []).clear()
