"""The lifecycle table is what the code does: each writer, driven from every status, makes exactly its moves.

Every writer of a call's status (the trigger, the webhook's SQL, the extraction job, reprocessing) is run on
a call in each status (and in each guard's cases: a call the trigger gave up on, a held or lapsed lease);
the moves seen must be the table's rows for that writer, no more and no fewer.
"""

import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.core.database import SessionMaker, session_scope
from app.core.errors import AppError
from app.extraction.rules import extract_with_rules
from app.ingest.deliveries import record_delivery
from app.jobs.post_processing import Lease, _claim, _save
from app.models import Call, CallStatus
from app.models.call_lifecycle import (
    FINAL_STATUSES,
    STATUS_RANK,
    TRANSITIONS,
    Actor,
    creates,
    engine_may_write,
    has_lapsed,
    is_final,
    may,
    sources,
    sql_literal,
    sql_revived,
    sql_status_in,
    statuses_before,
)
from app.retell.webhook import parse_delivery
from app.services.calls import _mark_failed, _mark_registered, reset_for_reprocessing
from tests.support import retell_event
from tests.support.webhooks import FIXTURE

Move = tuple[CallStatus | None, CallStatus]
S = CallStatus
LONG_AGO = timedelta(minutes=5)


def table(actor: Actor) -> set[Move]:
    return {(t.source, t.target) for t in TRANSITIONS if t.actor == actor}


def assert_answers_match(actor: Actor, seen: set[Move]) -> None:
    """What the module answers about `actor` (`may`, `creates`) is what the writer was seen doing."""
    allowed = {
        (source, target)
        for source in [None, *CallStatus]
        for target in CallStatus
        if may(actor, source, target)
    }
    assert allowed == seen
    assert creates(actor) == {target for source, target in seen if source is None}


async def call_in(maker: SessionMaker, status: CallStatus, **fields: Any) -> uuid.UUID:
    async with session_scope(maker) as session:
        call = Call(driver_name="Test Driver", load_number="L-1", status=status, **fields)
        session.add(call)
        await session.flush()
        return call.id


async def status_of(maker: SessionMaker, call_id: uuid.UUID) -> CallStatus:
    async with session_scope(maker) as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return CallStatus(call.status)


# Each start: a status and what else the stored call holds (a call the trigger gave up on has no
# extraction attempts; one whose extraction failed has).
STARTS: list[tuple[CallStatus, dict[str, Any]]] = [(status, {}) for status in CallStatus] + [
    (S.FAILED, {"extraction_attempts": 1}),
]

# What Retell may tell us: each delivery a webhook writer acts on differently.
DELIVERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "started": ("call_started", {}),
    "ended with words": ("call_ended", {"transcript_fixture": FIXTURE}),
    "ended without words": ("call_ended", {"transcript": "", "transcript_object": []}),
    "dial failed": (
        "call_ended",
        {"transcript": "", "transcript_object": [], "disconnection_reason": "dial_busy"},
    ),
    "never started": ("call_ended", {"transcript": "", "transcript_object": [], "start_timestamp": None}),
    "analyzed with words": ("call_analyzed", {"transcript_fixture": FIXTURE}),
    "analyzed without words": ("call_analyzed", {"transcript": "", "transcript_object": []}),
}


async def test_the_webhook_makes_exactly_the_tables_moves(maker: SessionMaker) -> None:
    seen: set[Move] = set()
    for name, (event, overrides) in DELIVERIES.items():
        for number, (status, fields) in enumerate([(None, {}), *STARTS]):
            call_id = None if status is None else await call_in(maker, status, **fields)
            rid = f"call_{name.replace(' ', '_')}_{number}"
            payload = retell_event(
                event, retell_call_id=rid, our_call_id=None if call_id is None else str(call_id), **overrides
            )
            async with session_scope(maker) as session:
                outcome = await record_delivery(session, parse_delivery(payload))
            assert outcome.call_id is not None
            after = await status_of(maker, outcome.call_id)
            if after != status:
                seen.add((status, after))
    assert seen == table(Actor.WEBHOOK)
    assert_answers_match(Actor.WEBHOOK, seen)


async def test_the_trigger_makes_exactly_the_tables_moves(maker: SessionMaker) -> None:
    seen: set[Move] = {(None, Call(driver_name="d", load_number="l").status)}
    for number, (status, fields) in enumerate(STARTS):
        registered = await call_in(maker, status, **fields)
        async with session_scope(maker) as session:
            await _mark_registered(session, registered, retell_call_id=f"call_{number}")
        failed = await call_in(maker, status, **fields)
        async with session_scope(maker) as session:
            await _mark_failed(session, failed, "Retell said no")
        for call_id in (registered, failed):
            if (after := await status_of(maker, call_id)) != status:
                seen.add((status, after))
    assert seen == table(Actor.TRIGGER)
    assert_answers_match(Actor.TRIGGER, seen)


def lease_cases() -> list[tuple[CallStatus, dict[str, Any]]]:
    now = datetime.now(UTC)
    held = {"extraction_attempts": 1, "lease_expires_at": now + timedelta(minutes=5)}
    lapsed = {"extraction_attempts": 1, "lease_expires_at": now - LONG_AGO}
    unleased_lapsed = {"extraction_attempts": 1, "updated_at": now - LONG_AGO}
    return [(status, {"extraction_attempts": 1}) for status in CallStatus if status != S.PROCESSING] + [
        (S.PROCESSING, held),
        (S.PROCESSING, lapsed),
        (S.PROCESSING, unleased_lapsed),
    ]


async def test_reprocessing_makes_exactly_the_tables_moves(maker: SessionMaker) -> None:
    seen: set[Move] = set()
    for status, fields in lease_cases():
        call_id = await call_in(maker, status, transcript="Agent: Hi.\nUser: Hi.", **fields)
        try:
            async with session_scope(maker) as session:
                await reset_for_reprocessing(session, call_id=call_id)
        except AppError:
            continue  # refused: the call stays as it was
        seen.add((status, await status_of(maker, call_id)))
    assert seen == table(Actor.REPROCESS)


async def test_the_extraction_makes_exactly_the_tables_moves(maker: SessionMaker, settings: Settings) -> None:
    transcript = FIXTURE["transcript"]
    extraction = extract_with_rules(transcript)
    seen: set[Move] = set()
    for status, fields in lease_cases():
        call_id = await call_in(maker, status, transcript=transcript, **fields)
        if await _claim(maker, call_id, settings=settings) is not None:
            seen.add((status, await status_of(maker, call_id)))
    for status, fields in lease_cases():
        attempts = fields["extraction_attempts"]
        # The writer holds claim 1; a call claimed since holds claim 2 and refuses it.
        for claim_number in (attempts, attempts + 1):
            writes: list[Callable[[Lease], Awaitable[object]]] = [
                lambda lease: _save(lease, extraction, extractor_name="rules"),
                lambda lease: _save(lease, "the LLM said no", extractor_name="rules"),
                lambda lease: lease.release(),
            ]
            for write in writes:
                call_id = await call_in(maker, status, transcript=transcript, **fields)
                await write(Lease(maker, call_id, claim_number, settings))
                if (after := await status_of(maker, call_id)) != status:
                    seen.add((status, after))
    assert seen == table(Actor.EXTRACTION)


def lease_states() -> dict[str, dict[str, Any]]:
    """A call's lease fields, by what they say of its worker (a call with no lease has 1 min of grace)."""
    now = datetime.now(UTC)
    return {
        "held": {"lease_expires_at": now + LONG_AGO},
        "held, quiet": {"lease_expires_at": now + LONG_AGO, "updated_at": now - LONG_AGO},
        "lapsed": {"lease_expires_at": now - LONG_AGO},
        "no lease, fresh": {},
        "no lease, quiet": {"updated_at": now - LONG_AGO},
    }


LAPSED = {"lapsed", "no lease, quiet"}


async def test_a_call_is_claimed_only_when_ended_with_words_or_its_processing_lease_lapsed(
    maker: SessionMaker, settings: Settings
) -> None:
    # Case by case, not as a set of moves: two lapsed cases make the same move, so a broken one of them
    # would hide behind the other. Every status meets every lease state, as leftovers of old runs do.
    wrong: list[tuple[CallStatus, str, bool | None, bool]] = []
    for status in CallStatus:
        for state, fields in lease_states().items():
            for transcript in (FIXTURE["transcript"], None):
                call_id = await call_in(maker, status, transcript=transcript, extraction_attempts=1, **fields)
                async with session_scope(maker) as session:
                    call = await session.get(Call, call_id)
                    assert call is not None
                    lapsed = has_lapsed(call, datetime.now(UTC))
                expected_lapse = status == S.PROCESSING and state in LAPSED
                claimed = await _claim(maker, call_id, settings=settings) is not None
                expected_claim = transcript is not None and (status == S.ENDED or expected_lapse)
                if (lapsed, claimed) != (expected_lapse, expected_claim):
                    wrong.append((status, state, transcript and "words", claimed))
    assert wrong == []


def test_the_webhook_and_the_trigger_only_ever_move_a_call_forward() -> None:
    for t in TRANSITIONS:
        if t.actor in (Actor.WEBHOOK, Actor.TRIGGER) and t.source is not None and t.guard is None:
            assert STATUS_RANK[t.target] > STATUS_RANK[t.source], t
    assert sources(Actor.WEBHOOK, S.ONGOING) == statuses_before(S.ONGOING)
    assert sources(Actor.WEBHOOK, S.ENDED) == statuses_before(S.ENDED)
    assert sources(Actor.TRIGGER, S.REGISTERED) == statuses_before(S.REGISTERED)


@pytest.mark.parametrize(
    ("status", "detail", "final"),
    [
        *[(status, None, status in (S.COMPLETED, S.FAILED, S.NOT_CONNECTED)) for status in CallStatus],
        (S.ENDED, "the call ended without a transcript", True),
        (S.PROCESSING, "a note", False),
    ],
)
def test_a_call_is_final_when_nothing_more_happens_to_it_by_itself(
    status: CallStatus, detail: str | None, final: bool
) -> None:
    assert is_final(status, detail) is final
    assert (status in FINAL_STATUSES) is (status in (S.COMPLETED, S.FAILED, S.NOT_CONNECTED))


def test_the_engine_moves_no_status_and_writes_only_while_the_call_is_ongoing() -> None:
    assert table(Actor.ENGINE) == set()
    assert creates(Actor.ENGINE) == frozenset()
    assert [status for status in CallStatus if engine_may_write(status)] == [S.ONGOING]
    assert not any(may(Actor.ENGINE, source, target) for source in CallStatus for target in CallStatus)


def matching(condition: str, rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The rows of a `calls` table (status, extraction_attempts) that an SQL condition selects, in SQLite."""
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE stored (status TEXT, extraction_attempts INTEGER)")
        db.executemany("INSERT INTO stored VALUES (?, ?)", rows)
        query = f"SELECT status, extraction_attempts FROM stored AS calls WHERE {condition} ORDER BY rowid"
        return db.execute(query).fetchall()


def test_the_rules_as_sql_text_select_the_calls_the_rules_name() -> None:
    rows = [(status.value, 0) for status in CallStatus] + [(S.FAILED.value, 1)]
    assert matching(sql_status_in([S.ENDED.value, S.FAILED.value]), rows) == [
        (S.ENDED.value, 0),
        (S.FAILED.value, 0),
        (S.FAILED.value, 1),
    ]
    assert matching(sql_status_in([]), rows) == []
    # A call the trigger gave up on (no extraction ever ran), not one whose extraction failed.
    assert matching(sql_revived(), rows) == [(S.FAILED.value, 0)]


def test_a_text_with_a_quote_is_one_sql_literal() -> None:
    text = "the driver's 'load'"
    with sqlite3.connect(":memory:") as db:
        assert db.execute("SELECT " + sql_literal(text)).fetchone() == (text,)
