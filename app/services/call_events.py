"""Live updates as Server-Sent Events: the current state first, then each published change.

No stream reads the database in a loop: each waits on its subscription to the process's one
fan-out (`app.core.broadcast`), which resolves every published change once for all of them.
"""

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sse_starlette import ServerSentEvent

from app.config import Settings
from app.core.broadcast import Broadcaster, PostgresListener, register_local
from app.core.database import SessionMaker
from app.models import Call, CallStatus
from app.schemas.call import CallSummary
from app.schemas.call_events import CallLive
from app.services import calls
from app.services.call_changes import CHANNEL, Notice, moment_of, version_of

FINAL_STATUSES = {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NOT_CONNECTED}
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
        update={"status": notice.status, "status_detail": None, "call_outcome": None, "result": None}
    )
    return CallChange.of(passed, notice.version)


def is_final(live: CallLive) -> bool:
    # `ended` with a note (no transcript, no extractor configured) will not move on by itself.
    return live.status in FINAL_STATUSES or (live.status == CallStatus.ENDED and bool(live.status_detail))


def _status_key(live: CallLive) -> tuple[object, ...]:
    return (live.status, live.status_detail, live.call_outcome)


async def stream_call(
    call_id: uuid.UUID,
    *,
    broadcaster: Broadcaster[CallChange],
    session_maker: SessionMaker,
    summary_grace: float = SUMMARY_GRACE_SECONDS,
) -> AsyncGenerator[ServerSentEvent, None]:
    """`status` now, then on every status change; `end` (the final state) once the call is final."""
    async with broadcaster.subscribe(lambda change: change.call_id == call_id) as subscription:
        # Subscribed before reading: a change committed meanwhile is queued, never lost.
        current = await read_change(session_maker, call_id)
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
                    change = await asyncio.wait_for(subscription.get(), remaining)
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


async def ending_after(
    stream: AsyncGenerator[ServerSentEvent, None], seconds: float
) -> AsyncGenerator[ServerSentEvent, None]:
    """The stream, closed after `seconds`: connections do not live forever (proxies, deploys, load
    balancing), and the browser's EventSource reconnects with `Last-Event-ID` to the current state."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while (remaining := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(anext(stream), remaining)
            except (StopAsyncIteration, TimeoutError):
                return
            yield event
    finally:
        await stream.aclose()


async def stream_calls(
    *,
    broadcaster: Broadcaster[CallChange],
    session_maker: SessionMaker,
    agent_config_id: uuid.UUID | None = None,
    last_event_id: str | None = None,
) -> AsyncGenerator[ServerSentEvent, None]:
    """`call` with the list row of every call that changes, in order per call; the current state first.

    First: the most recently changed calls, or on reconnect every call changed since `Last-Event-ID`.
    """
    wanted: Callable[[CallChange], bool] = (
        (lambda change: change.agent_config_id == agent_config_id)
        if agent_config_id is not None
        else (lambda _change: True)
    )
    async with broadcaster.subscribe(wanted) as subscription:
        yield ServerSentEvent(retry=RETRY_MILLISECONDS)
        sent: OrderedDict[uuid.UUID, int] = OrderedDict()
        for recent in await _recent_changes(session_maker, agent_config_id, _resume_from(last_event_id)):
            sent[recent.call_id] = recent.version
            yield _event("call", recent)
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


async def _recent_changes(
    session_maker: SessionMaker, agent_config_id: uuid.UUID | None, since_version: int | None
) -> list[CallChange]:
    query = select(Call.id).order_by(col(Call.updated_at).desc()).limit(SNAPSHOT_SIZE)
    if agent_config_id is not None:
        query = query.where(col(Call.agent_config_id) == agent_config_id)
    if since_version is not None:
        margin = RESUME_MARGIN // timedelta(microseconds=1)
        since = moment_of(since_version - margin)
        query = query.where(col(Call.updated_at) > since).limit(calls.MAX_PAGE_SIZE)
    async with session_maker() as session:
        ids = list((await session.exec(query)).all())
    changes = []
    for call_id in reversed(ids):  # oldest first, as if they had just happened
        try:
            changes.append(await read_change(session_maker, call_id))
        except calls.CallNotFound:
            continue
    return changes


def _event(name: str, change: CallChange, *, retry: int | None = None) -> ServerSentEvent:
    data = change.summary_json if name == "call" else change.live_json
    return ServerSentEvent(data=data, event=name, id=str(change.version), retry=retry)
