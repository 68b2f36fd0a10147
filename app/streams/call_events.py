"""Live updates as Server-Sent Events: the current state first, then each published change.

No stream reads the database in a loop: each waits on its subscription to the process's one
fan-out (`app.changes.broadcast`), which resolves every published change once for all of them.
"""

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import TypeVar

from loguru import logger
from sqlalchemy.ext.asyncio import AsyncEngine

from app.changes.broadcast import Broadcaster, PostgresListener, register_local
from app.changes.publisher import CHANNEL, Notice, moment_of, version_of
from app.config import Settings
from app.core.database import SessionMaker, is_database_unavailable
from app.core.errors import StreamUnavailable
from app.core.security import TokenClaims
from app.core.single_flight import SharedReadFailed, SingleFlight
from app.models import CallStatus, User
from app.models import call_lifecycle as lifecycle
from app.repositories import calls as call_repository
from app.repositories import users as user_repository
from app.schemas.call import CallSummary
from app.schemas.call_events import CallLive
from app.schemas.call_reports import MAX_PAGE_SIZE
from app.services import calls, users

# Retell's analysis (the call summary) usually lands seconds after the result; `end` waits this long.
SUMMARY_GRACE_SECONDS = 60.0
# How long the browser waits before reconnecting a dropped stream.
RETRY_MILLISECONDS = 2000
# What a fresh /api/events subscriber gets first: the calls changed most recently.
SNAPSHOT_SIZE = 25
# On reconnect, calls changed since the last event seen, less this margin (commits may land out of
# timestamp order across processes); a call sent twice just replaces itself on the dashboard.
RESUME_MARGIN = timedelta(seconds=5)
REMEMBERED_CALLS = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class StreamEvent:
    """One Server-Sent Event, as the streams produce it; the route hands it to the web framework."""

    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    # A comment line (`: ...`): seen by no event listener, for people reading the raw stream.
    comment: str | None = None


E = TypeVar("E")


@dataclass(frozen=True)
class CallChange:
    """A call's state after one change, resolved once per process and shared by every subscriber."""

    call_id: uuid.UUID
    version: int
    agent_config_id: uuid.UUID | None
    live: CallLive
    live_json: str
    summary_json: str

    @classmethod
    def of(cls, live: CallLive, version: int) -> "CallChange":
        summary = CallSummary.model_validate(live.model_dump())
        return cls(
            call_id=live.id,
            version=version,
            agent_config_id=live.agent_config_id,
            live=live,
            live_json=live.model_dump_json(),
            summary_json=summary.model_dump_json(),
        )


@dataclass(frozen=True)
class CallRow:
    """A call's list row as the snapshot read it: what `/api/events` sends, serialised once."""

    call_id: uuid.UUID
    version: int
    summary_json: str


SnapshotKey = tuple[uuid.UUID | None, int | None]  # (agent config, resume from this second)


class StreamReads:
    """The reads a stream makes when it opens, each shared by the opens that arrive together.

    A reconnect storm (every tab after a deploy) then costs one snapshot query and one user lookup,
    on one pooled connection, however many streams open: the REST routes keep their connections.
    """

    def __init__(self, session_maker: SessionMaker) -> None:
        self._session_maker = session_maker
        self.snapshots: SingleFlight[SnapshotKey, list[CallRow]] = SingleFlight(self._read_snapshot)
        self.calls: SingleFlight[uuid.UUID, CallChange | None] = SingleFlight(self._read_call)
        self.users: SingleFlight[uuid.UUID, User | None] = SingleFlight(self._read_user)

    async def user_by_token(self, claims: TokenClaims) -> User | None:
        """The active user a token names, as `users.get_by_token` finds it (or StreamUnavailable)."""
        return users.still_holds(claims, await _unless_unavailable(self.users.get(claims.user_id)))

    async def call(self, call_id: uuid.UUID) -> CallChange:
        """The call's current state (CallNotFound; StreamUnavailable if the database is away)."""
        change = await _unless_unavailable(self.calls.get(call_id))
        if change is None:
            raise calls.CallNotFound(f"call {call_id} does not exist")
        return change

    async def snapshot(self, agent_config_id: uuid.UUID | None, since_version: int | None) -> list[CallRow]:
        """What a subscriber gets first (oldest first); StreamUnavailable if the database is away."""
        if since_version is not None:
            # Resume from the whole second: the reconnects of one storm then share one read (a row
            # sent twice just replaces itself on the dashboard).
            since_version -= since_version % 1_000_000
        return await _unless_unavailable(self.snapshots.get((agent_config_id, since_version)))

    async def aclose(self) -> None:
        for flight in (self.snapshots, self.calls, self.users):
            await flight.aclose()

    async def _read_user(self, user_id: uuid.UUID) -> User | None:
        async with self._session_maker() as session:
            return await user_repository.get(session, user_id)

    async def _read_call(self, call_id: uuid.UUID) -> CallChange | None:
        try:
            return await read_change(self._session_maker, call_id)
        except calls.CallNotFound:
            return None

    async def _read_snapshot(self, key: SnapshotKey) -> list[CallRow]:
        agent_config_id, since_version = key
        since, limit = None, SNAPSHOT_SIZE
        if since_version is not None:
            margin = RESUME_MARGIN // timedelta(microseconds=1)
            since, limit = moment_of(since_version - margin), MAX_PAGE_SIZE
        async with self._session_maker() as session:
            rows = await call_repository.recently_changed(
                session, agent_config_id=agent_config_id, changed_after=since, limit=limit
            )
        return [  # oldest first, as if they had just happened
            CallRow(
                call_id=row.id,
                version=version_of(row.updated_at),
                summary_json=CallSummary.model_validate(row, from_attributes=True).model_dump_json(),
            )
            for row in reversed(rows)
        ]


async def _unless_unavailable(read: Awaitable[T]) -> T:
    try:
        return await read
    except SharedReadFailed as exc:
        cause = exc.__cause__
        if cause is not None and is_database_unavailable(cause):
            raise StreamUnavailable(f"the database did not answer ({type(cause).__name__})") from None
        raise


@dataclass(frozen=True)
class FanOut:
    """The process's broadcaster and, on PostgreSQL, its one LISTEN connection."""

    broadcaster: Broadcaster[CallChange]
    listener: PostgresListener | None

    async def aclose(self) -> None:
        if self.listener is not None:
            await self.listener.aclose()
        await self.broadcaster.aclose()


async def start_fan_out(settings: Settings, engine: AsyncEngine, session_maker: SessionMaker) -> FanOut:
    """Listen for published changes: LISTEN on PostgreSQL, after local commits on SQLite."""
    broadcaster: Broadcaster[CallChange] = Broadcaster(partial(resolve_change, session_maker=session_maker))
    broadcaster.start()
    if settings.is_sqlite:
        register_local(engine.sync_engine, broadcaster)
        return FanOut(broadcaster, None)
    listener = PostgresListener(settings.database_url, CHANNEL, broadcaster)
    try:
        await listener.start()
    except BaseException:
        await broadcaster.aclose()
        raise
    return FanOut(broadcaster, listener)


async def read_change(session_maker: SessionMaker, call_id: uuid.UUID) -> CallChange:
    """The call's current state (raises CallNotFound)."""
    async with session_maker() as session:
        detail = await calls.get_call_detail(session, call_id)
        call = await calls.get_call(session, call_id)  # already loaded: no second query
        version = version_of(call.updated_at)
    live = CallLive.model_validate(detail.model_dump(exclude={"transcript", "transcript_turns"}))
    return CallChange.of(live, version)


async def resolve_change(payload: str, *, session_maker: SessionMaker) -> CallChange | None:
    """Turn a published notice into the state subscribers are sent (run once per change per process).

    The row may have moved on since the notice was sent (extraction takes milliseconds): then the
    status the notice announced is still delivered, with the fields of later stages left out.
    """
    notice = Notice.parse(payload)
    try:
        current = await read_change(session_maker, notice.call_id)
    except calls.CallNotFound:
        return None
    # The change is the one the notice announced: its version orders it, whatever the read saw.
    if current.live.status == notice.status:
        return replace(current, version=notice.version)
    passed = current.live.model_copy(
        update={
            "status": CallStatus(notice.status),  # the enum, as validation would have made it
            "status_detail": None,
            "call_outcome": None,
            "follow_up_reason": None,
            "result": None,
        }
    )
    return CallChange.of(passed, notice.version)


def is_final(live: CallLive) -> bool:
    # `ended` with a note (no transcript, no extractor configured) will not move on by itself.
    return lifecycle.is_final(live.status, live.status_detail)


def _status_key(live: CallLive) -> tuple[object, ...]:
    return (live.status, live.status_detail, live.call_outcome, live.live_result)


async def stream_call(
    call_id: uuid.UUID,
    *,
    broadcaster: Broadcaster[CallChange],
    reads: StreamReads,
    summary_grace: float = SUMMARY_GRACE_SECONDS,
) -> AsyncGenerator[StreamEvent, None]:
    """`status` now, then on every status change; `end` (the final state) once the call is final."""
    async with broadcaster.subscribe(lambda change: change.call_id == call_id) as subscription:
        # Subscribed before reading: a change committed meanwhile is queued, never lost.
        try:
            current = await reads.call(call_id)
        except StreamUnavailable as exc:
            yield _come_back_later(exc)
            return
        yield _event("status", current, retry=RETRY_MILLISECONDS)
        sent_key, version = _status_key(current.live), current.version
        loop = asyncio.get_running_loop()
        # A call that became final long ago does not wait for its summary again.
        age = max(0.0, time.time() - current.version / 1_000_000)
        final_at = loop.time() - age if is_final(current.live) else None
        while True:
            if final_at is not None:
                waiting_for_summary = (
                    current.live.status == CallStatus.COMPLETED and current.live.call_summary is None
                )
                remaining = summary_grace - (loop.time() - final_at)
                if not waiting_for_summary or remaining <= 0:
                    yield _event("end", current)
                    return
                try:
                    async with asyncio.timeout(remaining):  # in this task: nothing else runs the generator
                        change = await subscription.get()
                except TimeoutError:
                    continue
            else:
                change = await subscription.get()
            if change is None:
                return  # dropped for falling behind: the browser reconnects to the current state
            if change.version <= version:
                continue  # already shown (read with the current state)
            current, version = change, change.version
            if _status_key(change.live) != sent_key:
                sent_key = _status_key(change.live)
                yield _event("status", change)
            final = is_final(change.live)
            final_at = (final_at or loop.time()) if final else None


async def ending_after(stream: AsyncGenerator[E, None], seconds: float) -> AsyncGenerator[E, None]:
    """The stream, closed after `seconds`: connections do not live forever (proxies, deploys, load
    balancing), and the browser's EventSource reconnects with `Last-Event-ID` to the current state.

    The inner stream only ever runs in the task that iterates this one: the deadline cancels the
    `anext()` in place (no helper task, as `asyncio.wait_for` would start), so when a client leaves
    mid-read, closing the stream never finds it still running in another task.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(stream)
            except (StopAsyncIteration, TimeoutError):
                return
            yield event
    finally:
        await stream.aclose()


async def stream_calls(
    *,
    broadcaster: Broadcaster[CallChange],
    reads: StreamReads,
    agent_config_id: uuid.UUID | None = None,
    last_event_id: str | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """`call` with the list row of every call that changes, in order per call; the current state first.

    First: the most recently changed calls, or on reconnect every call changed since `Last-Event-ID`.
    """
    wanted: Callable[[CallChange], bool] = (
        (lambda change: change.agent_config_id == agent_config_id)
        if agent_config_id is not None
        else (lambda _change: True)
    )
    async with broadcaster.subscribe(wanted) as subscription:
        yield StreamEvent(retry=RETRY_MILLISECONDS)
        sent: OrderedDict[uuid.UUID, int] = OrderedDict()
        try:
            # Subscribed before reading (and the read starts after this open): nothing is lost between.
            recent = await reads.snapshot(agent_config_id, _resume_from(last_event_id))
        except StreamUnavailable as exc:
            yield _come_back_later(exc)
            return
        for row in recent:
            sent[row.call_id] = row.version
            yield _event("call", row)
        while True:
            change = await subscription.get()
            if change is None:
                return  # dropped for falling behind: the browser reconnects and catches up
            if sent.get(change.call_id, -1) >= change.version:
                continue
            sent[change.call_id] = change.version
            sent.move_to_end(change.call_id)
            if len(sent) > REMEMBERED_CALLS:
                sent.popitem(last=False)
            yield _event("call", change)


# Event ids are versions (microseconds since 1970): anything past year 9999 is not one of ours.
_LARGEST_VERSION = 253_402_300_800 * 1_000_000


def _resume_from(last_event_id: str | None) -> int | None:
    """The version to resume after, or None (start from the current state) for an id this service
    never sent: not digits (`1e20`, `-5`), or a moment no date can hold (`99999999999999999999`)."""
    if (
        not last_event_id
        or len(last_event_id) > 20
        or not (last_event_id.isascii() and last_event_id.isdigit())
    ):
        return None
    version = int(last_event_id)
    try:
        moment_of(version - RESUME_MARGIN // timedelta(microseconds=1))
    except (OverflowError, ValueError, OSError):
        return None
    return version


def _come_back_later(exc: StreamUnavailable) -> StreamEvent:
    retry = StreamUnavailable.retry_milliseconds()
    logger.warning("stream told to come back in {} ms: {}", retry, exc.detail)
    return StreamEvent(comment=exc.detail, retry=retry)


def _event(name: str, change: CallChange | CallRow, *, retry: int | None = None) -> StreamEvent:
    if isinstance(change, CallRow):
        data = change.summary_json
    else:
        data = change.summary_json if name == "call" else change.live_json
    return StreamEvent(data=data, event=name, id=str(change.version), retry=retry)
