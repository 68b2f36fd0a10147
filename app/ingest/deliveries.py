"""Retell webhook deliveries: store each once, then move its call forward, in as few round trips as possible.

PostgreSQL does it all in one statement: a data-modifying CTE inserts the delivery (unique on Retell call
id + event, so a replay changes nothing), then either creates the call it names or applies it to the call
it finds. SQLite, which has no data-modifying CTEs, uses three statements in the request's transaction.

The change is announced once committed. On the ingest pool that is a second, non-durable statement right
after the commit (`announce_committed`), not a NOTIFY inside it: PostgreSQL flushes notifying commits one
at a time, which cut the statement's concurrent rate to a half or a third. The price: a process that
dies between the two leaves the change unannounced, and open streams show it at the call's next change
or when they reconnect.

The statements are plain SQL built once per process, on first use; nothing is constructed per request.
Every decision that depends on the call's current state (does the status move forward? is there a
transcript yet?) is a CASE evaluated on the row as it is when the UPDATE locks it, so concurrent
deliveries never undo each other.
"""

import contextlib
import functools
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from loguru import logger
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.changes.publisher import announce_committed, publish_change, sql_notify
from app.core import dialect
from app.core.database import IngestPool, SessionMaker, session_scope
from app.models import CallStatus
from app.models import call_lifecycle as lifecycle
from app.models.call_lifecycle import Actor, Guard
from app.retell.webhook import Delivery, storable

# Retell's disconnection reasons for a dial that never reached anyone.
DIAL_FAILURES = {"dial_failed", "dial_no_answer", "dial_busy", "invalid_destination", "no_valid_payment"}
MAX_PHONE_LENGTH = 20  # calls.phone_number holds E.164
NO_TRANSCRIPT = "the call ended without a transcript: there is nothing to extract"
END_EVENTS = ("call_ended", "call_analyzed")
# A duration computed from a stored start must fit calls.duration_ms (INT): 24 days is below 2**31 ms.
MAX_COMPUTED_DURATION_DAYS = 24
# A race this statement cannot see (two first deliveries of one unknown call, a Retell id taken meanwhile)
# surfaces as a constraint error; the next attempt sees the winner's row.
ATTEMPTS = 3


@dataclass(frozen=True)
class DeliveryOutcome:
    call_id: uuid.UUID | None  # None for a duplicate, which changed nothing
    extract: bool  # this delivery ended the call with a transcript: schedule its extraction after the 204


# ---------------------------------------------------------------------------------------------------------
# SQL, built once per dialect
# ---------------------------------------------------------------------------------------------------------

_PG_TYPES = {
    "event_id": "uuid",
    "new_id": "uuid",
    "our_id": "uuid",
    "rid": "text",
    "event": "text",
    "payload": "json",
    "now": "timestamptz",
    "agent_id": "text",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "duration_ms": "integer",
    "disconnection_reason": "text",
    "transcript": "text",
    "transcript_turns": "json",
    "recording_url": "text",
    "public_log_url": "text",
    "call_analysis": "json",
    "latency": "json",
    "dial_failure": "boolean",
    "call_type": "text",
    "driver_name": "text",
    "load_number": "text",
    "phone_number": "text",
    "context": "json",
}
# The new call's own fields, beside the ones every delivery applies.
_APPLIED = (
    "agent_id",
    "started_at",
    "ended_at",
    "duration_ms",
    "disconnection_reason",
    "transcript",
    "transcript_turns",
    "recording_url",
    "public_log_url",
    "call_analysis",
    "latency",  # what Retell measured (e2e, llm, llm_websocket_network_rtt...); a later delivery replaces it
)
_COLUMN = {"agent_id": "retell_agent_id"}
_LARGE = {"transcript", "transcript_turns", "call_analysis"}
_JSON = {"transcript_turns", "call_analysis"}


_lit = lifecycle.sql_literal


class _Placeholders:
    """`:name` for SQLite; for asyncpg a marker `numbered` turns into `$n::type` once the SQL is whole."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def __call__(self, name: str) -> str:
        return f"<<{name}>>" if self.postgres else f":{name}"

    @staticmethod
    def numbered(sql: str) -> tuple[str, list[str]]:
        """Positional placeholders in order of first use, and the parameter names in that order."""
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}::{_PG_TYPES[name]}"

        return re.sub(r"<<(\w+)>>", number, sql), order


def _status_sets(event: str, p: _Placeholders, duration_from_row: str) -> str:
    """SET clauses of the UPDATE that applies `event` to an existing call (`calls.*` is the row as locked)."""
    status, detail = "calls.status", "calls.status_detail"
    revived = lifecycle.sql_revived()
    sets = [
        # The metadata's call wins; Retell's id is recorded on it unless another call already holds it.
        f"retell_call_id = CASE WHEN calls.retell_call_id IS NULL AND NOT EXISTS "
        f"(SELECT 1 FROM calls AS owner WHERE owner.retell_call_id = {p('rid')}) "
        f"THEN {p('rid')} ELSE calls.retell_call_id END",
        "updated_at = " + dialect.sql_next_version("calls.updated_at", p("now"), postgres=p.postgres),
    ]
    for name in _APPLIED:
        column = _COLUMN.get(name, name)
        if name == "duration_ms":
            sets.append(f"duration_ms = COALESCE({p('duration_ms')}, {duration_from_row}, calls.duration_ms)")
        elif name == "call_analysis" and event != "call_analyzed":
            continue
        elif name in _LARGE:
            # The same transcript again (`call_analyzed` after `call_ended`) keeps the stored value rather
            # than writing (and compressing) a copy of it.
            stored, given = dialect.sql_comparable_json(
                f"calls.{column}", p(name), postgres=p.postgres, is_json=name in _JSON
            )
            same = f"{p(name)} IS NULL OR {stored} = {given}"
            sets.append(f"{column} = CASE WHEN {same} THEN calls.{column} ELSE {p(name)} END")
        else:
            # A later, thinner delivery never blanks earlier data.
            sets.append(f"{column} = COALESCE({p(name)}, calls.{column})")
    if event == "call_started":
        sets.append(
            f"status = CASE WHEN {lifecycle.sql_webhook_moves(CallStatus.ONGOING)} "
            f"THEN {_lit(CallStatus.ONGOING)} ELSE {status} END"
        )
        sets.append(f"status_detail = CASE WHEN {revived} THEN NULL ELSE {detail} END")
    elif event in END_EVENTS:
        has_transcript = f"({p('transcript')} IS NOT NULL OR calls.transcript IS NOT NULL)"
        has_start = f"({p('started_at')} IS NOT NULL OR calls.started_at IS NOT NULL)"
        # A failed dial, or a call that ended without ever starting or saying a word.
        never_connected = f"({p('dial_failure')} OR (NOT {has_start} AND NOT {has_transcript}))"
        ended_without_words = event == "call_ended"
        to_ended = lifecycle.sql_webhook_moves(CallStatus.ENDED)
        spoken = lifecycle.sql_status_in(lifecycle.sources(Actor.WEBHOOK, CallStatus.ENDED, Guard.SPOKEN))
        sets.append(
            "status = CASE"
            f" WHEN {never_connected} THEN CASE WHEN {lifecycle.sql_webhook_moves(CallStatus.NOT_CONNECTED)}"
            f" THEN {_lit(CallStatus.NOT_CONNECTED)} ELSE {status} END"
            # Words were spoken after all: a thin early delivery must not pin the call as never connected.
            f" WHEN {has_transcript} THEN CASE WHEN {to_ended} OR {spoken}"
            f" THEN {_lit(CallStatus.ENDED)} ELSE {status} END"
            + (
                f" WHEN TRUE THEN CASE WHEN {to_ended} THEN {_lit(CallStatus.ENDED)} ELSE {status} END"
                if ended_without_words
                else ""
            )
            + f" ELSE {status} END"
        )
        sets.append(
            "status_detail = CASE"
            f" WHEN {never_connected} THEN CASE WHEN {revived} THEN NULL ELSE {detail} END"
            f" WHEN {has_transcript} THEN CASE WHEN {detail} = {_lit(NO_TRANSCRIPT)} OR {revived}"
            f" THEN NULL ELSE {detail} END"
            + (f" WHEN TRUE THEN {_lit(NO_TRANSCRIPT)}" if ended_without_words else "")
            + f" ELSE {detail} END"
        )
    return ",\n    ".join(sets)


def _new_call_values(event: str, p: _Placeholders) -> dict[str, str]:
    """Column -> SQL for a call first heard of in this delivery, with the delivery already applied."""
    dial_or_silent = f"({p('dial_failure')} OR ({p('started_at')} IS NULL AND {p('transcript')} IS NULL))"
    if event == "call_started":
        status, detail = _lit(CallStatus.ONGOING), "NULL"
    elif event in END_EVENTS:
        fallback = _lit(CallStatus.ENDED if event == "call_ended" else CallStatus.REGISTERED)
        status = (
            f"CASE WHEN {dial_or_silent} THEN {_lit(CallStatus.NOT_CONNECTED)}"
            f" WHEN {p('transcript')} IS NOT NULL THEN {_lit(CallStatus.ENDED)} ELSE {fallback} END"
        )
        detail = (
            f"CASE WHEN NOT {dial_or_silent} AND {p('transcript')} IS NULL THEN {_lit(NO_TRANSCRIPT)} END"
            if event == "call_ended"
            else "NULL"
        )
    else:
        status, detail = _lit(CallStatus.REGISTERED), "NULL"
    values = {
        "id": p("new_id"),
        "retell_call_id": p("rid"),
        "agent_config_id": (
            f"(SELECT id FROM agent_configurations WHERE retell_agent_id = {p('agent_id')} LIMIT 1)"
        ),
        "status": status,
        "status_detail": detail,
        "call_type": p("call_type"),
        "driver_name": p("driver_name"),
        "load_number": p("load_number"),
        "phone_number": p("phone_number"),
        "context": p("context"),
        "created_at": p("now"),
        "updated_at": p("now"),
        "extraction_attempts": "0",
    }
    for name in _APPLIED:
        if name == "call_analysis" and event != "call_analyzed":
            continue
        values[_COLUMN.get(name, name)] = p(name)
    return values


def _returned(*, postgres: bool) -> str:
    has_transcript = dialect.sql_is_not_null_returned("transcript", postgres=postgres)
    return f"id, status, {has_transcript} AS has_transcript, retell_call_id"


def _postgres_statement(event: str, *, notify: bool = True) -> tuple[str, list[str]]:
    """The one statement; with `notify` it also announces the change, delivered at its commit.

    The ingest pool's statement commits on its own and is announced right after (`announce_committed`):
    a NOTIFY inside a commit serialises it with every other notifying commit for its disk flush.
    """
    p = _Placeholders(postgres=True)
    from_row = dialect.sql_milliseconds_between(
        p("ended_at"), "calls.started_at", postgres=True, max_days=MAX_COMPUTED_DURATION_DAYS
    )
    new_call = _new_call_values(event, p)
    returned = _returned(postgres=True)
    announced = (
        f", {sql_notify('changed.id', 'changed.status', 'changed.version_at')} AS announced" if notify else ""
    )
    sql = f"""
WITH found AS (
    SELECT id, status, transcript IS NOT NULL AS had_transcript FROM (
        SELECT id, status, transcript, 0 AS preference FROM calls WHERE id = {p("our_id")}
        UNION ALL
        SELECT id, status, transcript, 1 FROM calls WHERE retell_call_id = {p("rid")}
    ) AS candidates ORDER BY preference LIMIT 1
),
stored AS (
    INSERT INTO webhook_events (id, retell_call_id, event, call_id, payload, received_at)
    VALUES ({p("event_id")}, {p("rid")}, {p("event")}, COALESCE((SELECT id FROM found), {p("new_id")}),
            {p("payload")}, {p("now")})
    ON CONFLICT (retell_call_id, event) DO NOTHING
    RETURNING call_id
),
created AS (
    INSERT INTO calls ({", ".join(new_call)})
    SELECT {", ".join(new_call.values())} FROM stored WHERE NOT EXISTS (SELECT 1 FROM found)
    ON CONFLICT (retell_call_id) DO NOTHING
    RETURNING {returned}, TRUE AS created, NULL::varchar AS previous_status, FALSE AS had_transcript,
              updated_at AS version_at
),
applied AS (
    UPDATE calls SET
    {_status_sets(event, p, from_row)}
    FROM stored, found WHERE calls.id = stored.call_id
    RETURNING calls.id, calls.status, calls.transcript IS NOT NULL AS has_transcript, calls.retell_call_id,
              FALSE AS created, found.status AS previous_status, found.had_transcript,
              calls.updated_at AS version_at
)
SELECT changed.*{announced}
FROM (SELECT * FROM applied UNION ALL SELECT * FROM created) AS changed"""
    return _Placeholders.numbered(sql)


@dataclass(frozen=True)
class _SqliteStatements:
    store: str
    create: str
    link: str
    before: str
    apply: str


def _sqlite_statements(event: str) -> _SqliteStatements:
    p = _Placeholders(postgres=False)
    from_row = dialect.sql_milliseconds_between(
        p("ended_at"), "calls.started_at", postgres=False, max_days=MAX_COMPUTED_DURATION_DAYS
    )
    new_call = _new_call_values(event, p)
    return _SqliteStatements(
        store="""
INSERT INTO webhook_events (id, retell_call_id, event, call_id, payload, received_at)
VALUES (:event_id, :rid, :event, COALESCE((SELECT id FROM calls WHERE id = :our_id),
        (SELECT id FROM calls WHERE retell_call_id = :rid)), :payload, :now)
ON CONFLICT (retell_call_id, event) DO NOTHING
RETURNING call_id""",
        create=f"""
INSERT INTO calls ({", ".join(new_call)}) VALUES ({", ".join(new_call.values())})
ON CONFLICT (retell_call_id) DO NOTHING
RETURNING {_returned(postgres=False)}""",
        link="UPDATE webhook_events SET call_id = :new_id WHERE id = :event_id",
        before="SELECT status, transcript IS NOT NULL FROM calls WHERE id = :call_id",
        apply=f"""
UPDATE calls SET
    {_status_sets(event, p, from_row)}
WHERE calls.id = :call_id
RETURNING {_returned(postgres=False)}""",
    )


_KINDS = frozenset(("call_started", "call_ended", "call_analyzed"))
# Built on a process's first delivery of each kind rather than at import, so that the code building them
# runs inside a test (where a mutation run can see it); the test suite clears these caches before each test.
_postgres_for = functools.cache(_postgres_statement)
_sqlite_for = functools.cache(_sqlite_statements)


def _kind(delivery: Delivery) -> str:
    return delivery.event if delivery.event in _KINDS else "other"


# ---------------------------------------------------------------------------------------------------------
# Recording a delivery
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRecorder:
    """How the webhook records a delivery in this process: the ingest pool on PostgreSQL, else a session."""

    session_maker: SessionMaker
    pool: IngestPool | None = None

    async def record(self, delivery: Delivery) -> DeliveryOutcome:
        if self.pool is not None:
            return await record_delivery_pooled(self.pool, delivery)
        async with session_scope(self.session_maker) as session:
            return await record_delivery(session, delivery)


async def record_delivery_pooled(pool: IngestPool, delivery: Delivery) -> DeliveryOutcome:
    """PostgreSQL's hot path: one statement, its own transaction, on a connection of the ingest pool."""
    kind = _kind(delivery)
    params = _parameters(delivery)

    async def on_a_pooled_connection() -> Any:
        async with pool.acquire() as raw:
            row = await _with_retries(
                lambda params: _record_on_postgres(raw, kind, params, savepoint=False, notify=False), params
            )
            if row is not None:  # committed: announced now, before the 204 and on the same connection
                await _announce(raw, row)
            return row

    try:
        row = await on_a_pooled_connection()
    except OperationalError:
        # No pre-ping: a connection that died while idle (a database restart) fails here once and is
        # discarded. Trying again on a fresh one is safe: a replay of a stored delivery changes nothing.
        row = await on_a_pooled_connection()
    return _outcome(row, delivery)


async def record_delivery(session: AsyncSession, delivery: Delivery) -> DeliveryOutcome:
    """Store the delivery (a replay changes nothing), then apply it to its call (created if unknown).

    In the session's transaction: SQLite's path, and PostgreSQL's behind a transaction pooler.
    """
    kind = _kind(delivery)
    connection = await session.connection()
    postgres = dialect.is_postgresql(connection)

    async def attempt(params: dict[str, Any]) -> Any:
        if not postgres:
            return await _record_on_sqlite(connection, kind, params)
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        # A transaction pooler (DB_NULL_POOL) may move a statement outside a transaction to another backend;
        # inside a transaction a savepoint keeps a retry possible after a conflict.
        savepoint = raw.is_in_transaction() or isinstance(connection.engine.pool, NullPool)
        return await _record_on_postgres(
            raw, kind, params, savepoint=savepoint, invalidate=connection.invalidate
        )

    outcome = _outcome(await _with_retries(attempt, _parameters(delivery)), delivery)
    if not postgres and outcome.call_id is not None:
        # PostgreSQL announces it in the statement itself here (pg_notify, delivered at the session's commit).
        await publish_change(session, outcome.call_id)
    return outcome


async def _with_retries(attempt: Callable[[dict[str, Any]], Awaitable[Any]], params: dict[str, Any]) -> Any:
    for number in range(1, ATTEMPTS + 1):
        try:
            return await attempt(params)
        except IntegrityError:
            if number == ATTEMPTS:
                raise
            params["new_id"] = uuid.uuid4()


def _outcome(row: Any, delivery: Delivery) -> DeliveryOutcome:
    if row is None:
        logger.info("duplicate {} for {} acknowledged", delivery.event, delivery.retell_call_id)
        return DeliveryOutcome(call_id=None, extract=False)
    call_id, status, has_transcript, retell_call_id, created, previous_status, had_transcript = tuple(row)[:7]
    call_id = call_id if isinstance(call_id, uuid.UUID) else uuid.UUID(call_id)
    if retell_call_id != delivery.retell_call_id:
        # Retell's id names another call (or this call knows another id): the metadata's call wins.
        logger.warning(
            "{} names call {} in its metadata but Retell call {}, which is not that call's; applied to {}",
            delivery.event,
            call_id,
            delivery.retell_call_id,
            call_id,
        )
    # One line per delivery, formatted only if INFO is on.
    logger.info(
        "{} applied to call {} ({}){}",
        delivery.event,
        call_id,
        status,
        f", created for Retell call {delivery.retell_call_id} we did not start" if created else "",
    )
    return DeliveryOutcome(
        call_id=call_id,
        # The delivery that first ended the call with a transcript schedules its extraction; a later one
        # (`call_analyzed` after `call_ended`) does not, unless deliveries raced (the claim then decides).
        extract=delivery.event in END_EVENTS
        and status == CallStatus.ENDED
        and bool(has_transcript)
        and not (previous_status == CallStatus.ENDED and had_transcript),
    )


# The connection is gone or unusable (dropped by the server, or its protocol state lost with it); a
# statement timeout is not among them: the connection still works and a retry would double the wait.
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    OSError,
)


async def _record_on_postgres(
    raw: asyncpg.Connection,
    kind: str,
    params: dict[str, Any],
    *,
    savepoint: bool,
    notify: bool = True,
    invalidate: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """One round trip on the driver's own connection, with asyncpg's cached prepared statement.

    Outside a transaction the single statement is its own: atomic, and committed when it returns.
    """
    sql, order = _postgres_for(kind, notify=notify)
    args = [params[name] for name in order]
    try:
        if savepoint:
            async with raw.transaction():
                return await raw.fetchrow(sql, *args)
        return await raw.fetchrow(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(sql, None, exc) from exc
    except TimeoutError:
        # Mid-protocol with a server that may never answer: cut it now rather than wait to close it politely.
        _cut(raw)
        raise
    except _CONNECTION_LOST as exc:
        # A lost connection is never handed out again: its pool (or SQLAlchemy's) replaces it.
        if invalidate is None:
            _cut(raw)
        else:
            await invalidate()
        raise OperationalError(sql, None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(sql, None, exc) from exc


async def _record_on_sqlite(connection: Any, kind: str, params: dict[str, Any]) -> Any:
    statements = _sqlite_for(kind)
    values = {name: _sqlite_value(value) for name, value in params.items()}
    stored = (await connection.exec_driver_sql(statements.store, values)).first()
    if stored is None:
        return None
    call_id = stored[0]
    if call_id is None:
        # SQLite holds the write lock since the INSERT above, so no other delivery can create it meanwhile.
        created = (await connection.exec_driver_sql(statements.create, values)).one()
        await connection.exec_driver_sql(statements.link, values)
        return (*created, True, None, False)
    before = (await connection.exec_driver_sql(statements.before, {"call_id": call_id})).one()
    applied = (await connection.exec_driver_sql(statements.apply, {**values, "call_id": call_id})).one()
    return (*applied, False, *before)


async def _announce(raw: asyncpg.Connection, row: Any) -> None:
    """Announce a committed change, with the version the statement stored. It is stored whatever happens
    here: a failure is logged, never the delivery's (a retry would be a duplicate, which changes and
    announces nothing)."""
    call_id, status, moment = row[0], row[1], row["version_at"]
    try:
        await announce_committed(raw, call_id, status, moment)
    except (TimeoutError, *_CONNECTION_LOST, asyncpg.PostgresError) as exc:
        if not isinstance(exc, asyncpg.PostgresError):
            _cut(raw)
        # Open streams show this change at the call's next one, or when they reconnect.
        logger.warning("call {} is {} but its change could not be announced: {}", call_id, status, repr(exc))


def _cut(raw: asyncpg.Connection) -> None:
    """Close a connection at once. A pooled one the driver saw die is already back in its pool, closed."""
    with contextlib.suppress(asyncpg.InterfaceError):
        if not raw.is_closed():
            raw.terminate()


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy would store in SQLite: UUIDs as 32 hex digits, UTC times as ISO text."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _parameters(delivery: Delivery) -> dict[str, Any]:
    """Every bound value of the statements, from the delivery alone."""
    data = delivery.call
    started, ended = _from_ms(data.get("start_timestamp")), _from_ms(data.get("end_timestamp"))
    duration = data.get("duration_ms")
    if duration is None and started is not None and ended is not None:
        computed = int((ended - started).total_seconds() * 1000)
        duration = computed if 0 <= computed < 2**31 else None
    turns = data.get("transcript_object")
    variables = data.get("retell_llm_dynamic_variables") or {}
    inbound = data.get("direction") == "inbound"
    phone = data.get("from_number") if inbound else data.get("to_number")
    analysis = data.get("call_analysis")
    latency = data.get("latency")
    return {
        "event_id": uuid.uuid4(),
        "new_id": uuid.uuid4(),
        "our_id": delivery.our_call_id,
        "rid": delivery.retell_call_id,
        "event": delivery.event,
        "payload": delivery.payload_json,
        "now": datetime.now(UTC),
        "agent_id": data.get("agent_id"),
        "started_at": started,
        "ended_at": ended,
        "duration_ms": duration,
        "disconnection_reason": _text(data.get("disconnection_reason")),
        "transcript": _text(data.get("transcript")),
        "transcript_turns": json.dumps(turns) if turns else None,
        "recording_url": _text(data.get("recording_url")),
        "public_log_url": _text(data.get("public_log_url")),
        "call_analysis": _json(analysis) if isinstance(analysis, dict) else None,
        "latency": _json(latency) if isinstance(latency, dict) and latency else None,
        "dial_failure": data.get("disconnection_reason") in DIAL_FAILURES,
        # Only used when the call is new (started outside this backend, from Retell's dashboard, say).
        "call_type": "web" if data.get("call_type") == "web_call" else "phone",
        "driver_name": str(variables.get("driver_name") or "Unknown driver")[:200],
        "load_number": str(variables.get("load_number") or "unknown")[:60],
        # A SIP URI or other non-phone address does not fit the column, and the call is kept without it.
        "phone_number": phone if isinstance(phone, str) and len(phone) <= MAX_PHONE_LENGTH else None,
        "context": json.dumps(
            {k: str(v) for k, v in variables.items() if k not in ("driver_name", "load_number")}
        ),
    }


def _json(value: Any) -> str:
    """JSON text PostgreSQL accepts: a number too large for a float (read as inf) becomes null."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(storable(value))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_ms(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp / 1000, tz=UTC)
