"""The conversation engine's calls: find or create the call behind a socket, store each turn, announce it.

A socket for a call never seen here is recorded as a delivery of the webhook's own upsert
(`services/webhooks.record_delivery`, event `llm_websocket_opened`): whether the socket or a webhook comes
first, they meet one row, matched the webhook's way (our id from the metadata, else Retell's call id).
Every wait on the database is bounded: the engine's pool and statement timeouts, and an overall deadline.
"""

import asyncio
import contextlib
import json
import uuid
from typing import Any

import asyncpg
from loguru import logger
from sqlalchemy import Boolean, bindparam, case, update
from sqlmodel import col

from app.changes.publisher import publish_change, sql_notify
from app.config import Settings
from app.conversation.policy import CallFacts, DialogueState
from app.conversation.protocol import CallDetails
from app.conversation.session import OpenedCall
from app.core import dialect
from app.core.database import IngestPool, SessionMaker, session_scope
from app.ingest.deliveries import record_delivery
from app.models import AgentConfig, Call
from app.models import call_lifecycle as lifecycle
from app.models.base import utcnow
from app.repositories import agent_configs as config_repository
from app.repositories import calls as call_repository
from app.retell.webhook import parse_delivery
from app.schemas.extraction import CheckInResult, EmergencyResult
from app.services import agent_configs

SOCKET_EVENT = "llm_websocket_opened"
_EXTRACTION_OWNS = col(Call.status).in_(lifecycle.EXTRACTION_OWNS_OUTCOME)

_SAVE_TURN = (
    update(Call)
    .where(col(Call.id) == bindparam("call_id"))
    .values(
        dialogue_state=bindparam("dialogue_state"),
        last_response_id=bindparam("last_response_id"),
        live_result=bindparam("live_result"),
        call_outcome=case((_EXTRACTION_OWNS, col(Call.call_outcome)), else_=bindparam("live_outcome")),
        follow_up_reason=case(
            (_EXTRACTION_OWNS, col(Call.follow_up_reason)), else_=bindparam("live_follow_up_reason")
        ),
        location_conflict=case(
            (_EXTRACTION_OWNS, col(Call.location_conflict)),
            else_=bindparam("live_location_conflict", type_=Boolean()),
        ),
        updated_at=bindparam("now"),
    )
)

# PostgreSQL with the ingest pool: the same update and its announcement in one autocommit statement on a
# raw connection. Profiled under 50 concurrent calls (docs/BENCHMARKS.md), the session path spent more
# than half the engine's CPU around the update: SQLAlchemy's checkout (a pre-ping round trip, and new
# connections past the pool's size), BEGIN, the NOTIFY as a second statement, COMMIT.
_OWNED_BY_EXTRACTION_SQL = lifecycle.sql_status_in(lifecycle.EXTRACTION_OWNS_OUTCOME, column="status")
_SAVE_TURN_PG = f"""
WITH saved AS (
    UPDATE calls SET dialogue_state = $2::json, last_response_id = $3::integer, live_result = $4::json,
        call_outcome = CASE WHEN {_OWNED_BY_EXTRACTION_SQL} THEN call_outcome ELSE $5::text END,
        follow_up_reason = CASE WHEN {_OWNED_BY_EXTRACTION_SQL} THEN follow_up_reason ELSE $7::text END,
        location_conflict = CASE WHEN {_OWNED_BY_EXTRACTION_SQL} THEN location_conflict ELSE $8::boolean END,
        updated_at = {dialect.sql_next_version("updated_at", "$6::timestamptz", postgres=True)}
    WHERE id = $1::uuid
    RETURNING id, status, updated_at
)
SELECT {sql_notify("saved.id", "saved.status", "saved.updated_at")} FROM saved"""


def live_result_json(result: CheckInResult | EmergencyResult | None) -> dict[str, Any] | None:
    """The live result as `result` is shown: its fields plus `scenario`."""
    if result is None:
        return None
    scenario = "emergency" if isinstance(result, EmergencyResult) else "check_in"
    return {"scenario": scenario, **result.model_dump(mode="json")}


class DatabaseCallStore:
    """The session's `CallStore` on the app's database."""

    def __init__(
        self, session_maker: SessionMaker, settings: Settings, pool: IngestPool | None = None
    ) -> None:
        self._session_maker = session_maker
        self._pool = pool  # PostgreSQL's raw pool (the webhook's): each turn is one statement on it
        # Pool wait, then at most a few statements each bounded by the statement timeout.
        self._deadline = settings.db_pool_timeout_seconds + 3 * settings.db_statement_timeout_seconds

    async def open(self, retell_call_id: str, details: CallDetails | None) -> OpenedCall:
        async with asyncio.timeout(self._deadline), session_scope(self._session_maker) as session:
            raw = dict(details.raw_call) if details is not None else {}
            raw["call_id"] = retell_call_id  # the path names the call Retell is connecting for
            delivery = parse_delivery({"event": SOCKET_EVENT, "call": raw})
            outcome = await record_delivery(session, delivery)
            call_id = outcome.call_id or await _call_of(session, delivery.our_call_id, retell_call_id)
            call = await call_repository.get(session, call_id) if call_id is not None else None
            if call is None:
                raise LookupError(f"no call for Retell call {retell_call_id}")
            config = await _config_of(session, call)
            if call.agent_config_id is None:
                call.agent_config_id = config.id
                session.add(call)
            state = DialogueState.model_validate(call.dialogue_state or {})
            return OpenedCall(
                call_id=call.id,
                facts=CallFacts(
                    driver_name=call.driver_name,
                    load_number=call.load_number,
                    context=dict(call.context or {}),
                    dispatcher_transfer_number=config.dispatcher_transfer_number,
                ),
                begin_message=config.begin_message,
                instructions=config.general_prompt,
                state=state,
                last_response_id=call.last_response_id,
            )

    async def save_turn(
        self,
        call_id: Any,
        *,
        state: DialogueState,
        response_id: int,
        live_result: CheckInResult | EmergencyResult | None,
    ) -> None:
        """The turn's state, the response id and the live result, in one statement; then announced."""
        if self._pool is not None:
            await self._save_turn_pooled(call_id, state, response_id, live_result)
            return
        async with asyncio.timeout(self._deadline), session_scope(self._session_maker) as session:
            connection = await session.connection()
            await connection.execute(
                _SAVE_TURN,
                {
                    "call_id": call_id,
                    "dialogue_state": state.model_dump(mode="json"),
                    "last_response_id": response_id,
                    "live_result": live_result_json(live_result),
                    "live_outcome": live_result.call_outcome if live_result else None,
                    "live_follow_up_reason": live_result.follow_up_reason if live_result else None,
                    "live_location_conflict": bool(live_result and live_result.location_conflict),
                    "now": utcnow(),
                },
            )
            await publish_change(session, call_id)

    async def _save_turn_pooled(
        self,
        call_id: Any,
        state: DialogueState,
        response_id: int,
        live_result: CheckInResult | EmergencyResult | None,
    ) -> None:
        assert self._pool is not None
        live = live_result_json(live_result)
        args = (
            call_id,
            json.dumps(state.model_dump(mode="json")),
            response_id,
            None if live is None else json.dumps(live),
            live_result.call_outcome if live_result is not None else None,
            utcnow(),
            live_result.follow_up_reason if live_result is not None else None,
            bool(live_result and live_result.location_conflict),
        )
        async with asyncio.timeout(self._deadline), self._pool.acquire() as raw:
            try:
                await raw.execute(_SAVE_TURN_PG, *args)
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError):
                # Mid-protocol or dead: never handed out again (the pool opens a fresh one).
                with contextlib.suppress(asyncpg.InterfaceError):
                    if not raw.is_closed():
                        raw.terminate()
                raise


async def _call_of(session: Any, our_id: uuid.UUID | None, retell_call_id: str) -> uuid.UUID | None:
    """A call already recorded (a reconnect): ours named in the metadata first, else Retell's id."""
    return await call_repository.find_recorded(session, our_id, retell_call_id)


async def _config_of(session: Any, call: Call) -> AgentConfig:
    """The call's configuration (the upsert matched Retell's agent id), else the default one."""
    if call.agent_config_id is not None:
        config = await config_repository.get(session, call.agent_config_id)
        if config is not None:
            return config
    if call.retell_agent_id:
        config = await config_repository.by_retell_agent_id(session, call.retell_agent_id)
        if config is not None:
            return config
    logger.info("call {} names no known agent configuration: using the default", call.id)
    return await agent_configs.get_default_config(session)
