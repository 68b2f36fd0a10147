"""A call's lifecycle, in one place: its statuses' order, which are final, who may move it where, its lease.

Every writer of `calls.status` builds its condition from here: the trigger (`services/calls.py`), the
webhook's SQL (`ingest/deliveries.py`), the extraction job (`jobs/post_processing.py`), reprocessing
(`services/calls.py`) and, once it lands, the conversation engine. The streams ask here whether a call is
final. A rule changed here changes for all of them.

    queued -> registered -> ongoing -> ended -> processing -> completed | failed
                                   \\-> not_connected
"""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from app.models.call import Call, CallStatus

# How far along a call is. The trigger and Retell's webhooks only ever move a call forward: a late or
# replayed `call_started` must not pull an ended call back to `ongoing`.
STATUS_RANK: dict[CallStatus, int] = {
    CallStatus.QUEUED: 0,
    CallStatus.REGISTERED: 1,
    CallStatus.ONGOING: 2,
    CallStatus.ENDED: 3,
    CallStatus.NOT_CONNECTED: 3,
    CallStatus.PROCESSING: 4,
    CallStatus.COMPLETED: 5,
    CallStatus.FAILED: 5,
}

# Nothing more happens to a call in these by itself; only reprocessing takes one back to `ended`.
FINAL_STATUSES = frozenset((CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NOT_CONNECTED))

# A `processing` call with no lease at all (claimed before leases existed, or set by hand) is judged
# by its last update instead.
UNLEASED_GRACE = timedelta(minutes=1)


class Actor(enum.StrEnum):
    """Who writes a call's status."""

    TRIGGER = "trigger"  # POST /api/calls: stores the call, asks Retell to place it
    WEBHOOK = "webhook"  # Retell's deliveries
    EXTRACTION = "extraction"  # the post-processing job: claim, save, hand back
    REPROCESS = "reprocess"  # POST /api/calls/{id}/reprocess
    ENGINE = "engine"  # the conversation engine (planned): live fields while the call is ongoing


class Guard(enum.StrEnum):
    """A condition beyond the status itself."""

    REVIVED = "revived"  # the trigger gave up on the call (no extraction ever ran) but Retell placed it
    SPOKEN = "spoken"  # the delivery or the stored call has a transcript: words were spoken after all
    LEASE_LAPSED = "lease lapsed"  # the worker holding the call stopped renewing its lease
    LEASE_HELD = "lease held"  # the writer holds the current claim on the call


@dataclass(frozen=True)
class Transition:
    actor: Actor
    source: CallStatus | None  # None: the actor creates the call in `target`
    target: CallStatus
    guard: Guard | None = None


_S = CallStatus
_Moves = tuple[Actor, tuple[CallStatus | None, ...], CallStatus, Guard | None]
# Every status change any writer makes, a row per (actor, sources, target, guard); each source is one
# transition. `tests/models/test_call_lifecycle.py` drives each writer from every status and checks that
# what it does is exactly this table. Plain data expanded at import (no function of ours builds it).
_MOVES: tuple[_Moves, ...] = (
    (Actor.TRIGGER, (None,), _S.QUEUED, None),
    (Actor.TRIGGER, (_S.QUEUED,), _S.REGISTERED, None),
    # Only a call nobody has heard of since: if Retell dialled anyway, its webhooks know better.
    (Actor.TRIGGER, (_S.QUEUED,), _S.FAILED, None),
    # A delivery for a call this backend did not start (placed from Retell's dashboard, say) creates it.
    (Actor.WEBHOOK, (None,), _S.REGISTERED, None),
    (Actor.WEBHOOK, (None, _S.QUEUED, _S.REGISTERED), _S.ONGOING, None),
    (Actor.WEBHOOK, (_S.FAILED,), _S.ONGOING, Guard.REVIVED),
    (Actor.WEBHOOK, (None, _S.QUEUED, _S.REGISTERED, _S.ONGOING), _S.ENDED, None),
    (Actor.WEBHOOK, (_S.FAILED,), _S.ENDED, Guard.REVIVED),
    # A thin early delivery must not pin the call as never connected once words turn up.
    (Actor.WEBHOOK, (_S.NOT_CONNECTED,), _S.ENDED, Guard.SPOKEN),
    (Actor.WEBHOOK, (None, _S.QUEUED, _S.REGISTERED, _S.ONGOING), _S.NOT_CONNECTED, None),
    (Actor.WEBHOOK, (_S.FAILED,), _S.NOT_CONNECTED, Guard.REVIVED),
    # The claim: `ended` is waiting for its extraction; a lapsed lease is taken over.
    (Actor.EXTRACTION, (_S.ENDED,), _S.PROCESSING, None),
    (Actor.EXTRACTION, (_S.PROCESSING,), _S.PROCESSING, Guard.LEASE_LAPSED),
    (Actor.EXTRACTION, (_S.PROCESSING,), _S.COMPLETED, Guard.LEASE_HELD),
    (Actor.EXTRACTION, (_S.PROCESSING,), _S.FAILED, Guard.LEASE_HELD),
    # Shutting down: hand the call back at once rather than when the lease lapses.
    (Actor.EXTRACTION, (_S.PROCESSING,), _S.ENDED, Guard.LEASE_HELD),
    # `ended` is the claim itself, so it is not a state to reprocess from.
    (Actor.REPROCESS, tuple(sorted(FINAL_STATUSES)), _S.ENDED, None),
    (Actor.REPROCESS, (_S.PROCESSING,), _S.ENDED, Guard.LEASE_LAPSED),
    # The engine moves no status (the webhooks do): it writes the call's live fields while it is ongoing.
)
TRANSITIONS: tuple[Transition, ...] = tuple(
    Transition(actor, source, target, guard) for actor, sources, target, guard in _MOVES for source in sources
)

# Where the engine may write what it hears while the call runs.
ENGINE_WRITES_WHILE = frozenset((CallStatus.ONGOING,))
# Once post-call extraction has started it owns a call's outcome (and the follow-up columns beside it): a
# late engine turn never overwrites its result.
EXTRACTION_OWNS_OUTCOME = [CallStatus.PROCESSING.value, CallStatus.COMPLETED.value, CallStatus.FAILED.value]


def sources(actor: Actor, target: CallStatus, guard: Guard | None = None) -> list[str]:
    """The statuses `actor` moves a stored call from to `target` under `guard` (None: no condition)."""
    return [
        t.source.value
        for t in TRANSITIONS
        if t.actor == actor and t.target == target and t.guard == guard and t.source is not None
    ]


def creates(actor: Actor) -> frozenset[CallStatus]:
    """The statuses `actor` may create a call in."""
    return frozenset(t.target for t in TRANSITIONS if t.actor == actor and t.source is None)


def may(actor: Actor, source: CallStatus | None, target: CallStatus) -> bool:
    """Whether `actor` ever moves a call from `source` to `target` (under some guard)."""
    return any(t.actor == actor and t.source == source and t.target == target for t in TRANSITIONS)


def statuses_before(status: CallStatus) -> list[str]:
    return [s.value for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]


def is_final(status: CallStatus, status_detail: str | None) -> bool:
    """Nothing more will happen to the call: a final status, or `ended` with a reason it stops there."""
    return status in FINAL_STATUSES or (status == CallStatus.ENDED and bool(status_detail))


def engine_may_write(status: CallStatus) -> bool:
    return status in ENGINE_WRITES_WHILE


# ---------------------------------------------------------------------------------------------------------
# The lease: the condition of every write the extraction makes
# ---------------------------------------------------------------------------------------------------------


def lease_lapsed(now: datetime) -> ColumnElement[bool]:
    """A `processing` call whose worker stopped renewing its lease: the process died or lost the database."""
    lease = col(Call.lease_expires_at)
    return and_(
        col(Call.status) == CallStatus.PROCESSING,
        or_(lease < now, and_(lease.is_(None), col(Call.updated_at) < now - UNLEASED_GRACE)),
    )


def has_lapsed(call: Call, now: datetime) -> bool:
    """`lease_lapsed`, for a call already loaded."""
    if call.status != CallStatus.PROCESSING:
        return False
    if call.lease_expires_at is None:
        return call.updated_at < now - UNLEASED_GRACE
    return call.lease_expires_at < now


def claimable(now: datetime) -> ColumnElement[bool]:
    """Waiting for an extraction and held by no live worker."""
    return and_(
        col(Call.transcript).is_not(None),
        or_(col(Call.status).in_(sources(Actor.EXTRACTION, CallStatus.PROCESSING)), lease_lapsed(now)),
    )


def lease_held(call_id: object, claim_number: int) -> tuple[ColumnElement[bool], ...]:
    """The holder of claim `claim_number` still holds the call: a takeover bumps the number, so a worker
    that lost its lease can never write again."""
    return (
        col(Call.id) == call_id,
        col(Call.status) == CallStatus.PROCESSING,
        col(Call.extraction_attempts) == claim_number,
    )


def reprocessable(now: datetime) -> ColumnElement[bool]:
    """A call reprocessing may put back to `ended`: finished, or held by a worker whose lease lapsed."""
    return or_(col(Call.status).in_(sources(Actor.REPROCESS, CallStatus.ENDED)), lease_lapsed(now))


# ---------------------------------------------------------------------------------------------------------
# The same rules as SQL text, for the webhook's hand-built statements (`calls.*` is the row as locked)
# ---------------------------------------------------------------------------------------------------------


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_status_in(statuses: list[str], column: str = "calls.status") -> str:
    if not statuses:
        return "FALSE"
    return f"({column} IN (" + ", ".join(sql_literal(status) for status in statuses) + "))"


def sql_revived(table: str = "calls") -> str:
    """Retell placed the call although the trigger gave up on it (a timeout, say): follow Retell.
    No extraction ever ran on such a call, which tells it from one whose extraction failed."""
    return f"({table}.status = {sql_literal(CallStatus.FAILED)} AND {table}.extraction_attempts = 0)"


def sql_webhook_moves(target: CallStatus) -> str:
    """The webhook may move the stored call to `target`: a status before it, or a revived call."""
    return f"{sql_status_in(sources(Actor.WEBHOOK, target))} OR {sql_revived()}"
