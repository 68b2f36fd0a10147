"""Publish a call's change once, where it happens; subscribers on every process hear of it after commit.

The payload is small: the call's id, the status this transaction wrote, and a version (the row's
`updated_at` in microseconds) that orders a call's changes. Streams read the rest themselves.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg
from sqlalchemy import event, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.changes.broadcast import local_broadcaster
from app.core import dialect
from app.repositories import calls as call_repository

CHANNEL = "call_changes"
_PENDING = "call_changes.pending"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sql_notify(call_id: str, status: str, moment: str) -> str:
    """The one NOTIFY of a call's change, as SQL: the jobs' statements, `NotifyPublisher`, the ingest's
    session path and `announce_committed` (the ingest pool's, after its commit) embed it. PostgreSQL
    queues it inside the transaction and delivers it when it commits (never if it rolls back), in commit
    order, to the LISTEN connection of every process."""
    return (
        f"pg_notify('{CHANNEL}', json_build_object('id', {call_id}, 'status', {status}, "
        f"'version', (extract(epoch FROM {moment}) * 1000000)::bigint)::text)"
    )


_NOTIFY = text(f"SELECT {sql_notify('id', 'status', 'updated_at')} FROM calls WHERE id = :id")
# A change already committed, announced in a transaction of its own that does not wait for the disk:
# it holds nothing durable, and a NOTIFY committed inside the change's own transaction holds
# PostgreSQL's one notify lock across that commit's flush, which serialises every notifying commit
# (the webhook statement's concurrent rate fell to a half or a third, docs/BENCHMARKS.md).
# `set_config(..., true)` lasts for this statement's implicit transaction only.
_ANNOUNCE_COMMITTED = "SELECT set_config('synchronous_commit', 'off', true), " + sql_notify(
    "$1::uuid", "$2::text", "$3::timestamptz"
)


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


async def announce_committed(
    connection: asyncpg.Connection, call_id: uuid.UUID, status: str, moment: datetime
) -> None:
    """Announce a change its own (autocommit) statement committed at `moment`, on the connection it ran on.

    Atomic with nothing: if the process dies (or the connection drops) between the commit and this,
    the change is not announced. Open streams then show it at the call's next announced change, or
    when they reconnect (their first event is the current state); a dashboard never sees a state the
    database does not hold, only, for that window, an older one.
    """
    await connection.execute(_ANNOUNCE_COMMITTED, call_id, status, moment)


def version_of(moment: datetime) -> int:
    """A timestamp as the version number events carry (microseconds since the epoch)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)  # exact: no float rounding


def moment_of(version: int) -> datetime:
    return _EPOCH + timedelta(microseconds=version)


class Publisher(Protocol):
    """Announces that the session's transaction changed a call; subscribers hear of it once it commits."""

    async def publish(self, session: AsyncSession, call_id: uuid.UUID) -> None: ...


class NotifyPublisher:
    """PostgreSQL: NOTIFY in the transaction itself; every process's listener hears it at commit."""

    async def publish(self, session: AsyncSession, call_id: uuid.UUID) -> None:
        connection = await session.connection()  # this transaction's
        await connection.execute(_NOTIFY, {"id": call_id})


class LocalPublisher:
    """SQLite (one process): the process's in-process broadcaster hears it after commit."""

    async def publish(self, session: AsyncSession, call_id: uuid.UUID) -> None:
        broadcaster = local_broadcaster(session.sync_session.get_bind())
        if broadcaster is None:
            return  # no app serves streams from this engine (a script, a test without the app)
        row = await call_repository.status_and_updated_at(session, call_id)
        if row is None:
            return
        status, moment = row
        payload = json.dumps({"id": str(call_id), "status": status, "version": version_of(moment)})
        pending: list[str] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []
            event.listen(session.sync_session, "after_commit", _deliver)
            event.listen(session.sync_session, "after_rollback", _discard)
        pending.append(payload)


_NOTIFY_PUBLISHER, _LOCAL_PUBLISHER = NotifyPublisher(), LocalPublisher()


def publisher_for(session: AsyncSession) -> Publisher:
    return _NOTIFY_PUBLISHER if dialect.is_postgresql(session) else _LOCAL_PUBLISHER


async def publish_change(session: AsyncSession, call_id: uuid.UUID) -> None:
    """Announce that this transaction changed the call; subscribers hear of it once it commits."""
    await publisher_for(session).publish(session, call_id)


def _deliver(sync_session: Any) -> None:
    pending: list[str] = sync_session.info.get(_PENDING, [])
    broadcaster = local_broadcaster(sync_session.get_bind())
    for payload in pending:
        if broadcaster is not None:
            broadcaster.push(payload)
    pending.clear()


def _discard(sync_session: Any) -> None:
    sync_session.info.get(_PENDING, []).clear()
