"""A simulated Retell: answers like Retell, then plays a call and posts signed webhooks over HTTP.

A `retell_llm` agent's call is a scripted persona. A `custom_llm` agent's call is a conversation with this
backend's engine over the real LLM WebSocket, a reactive driver answering what the agent asks; its webhooks
carry the transcript that conversation produced.
"""

import asyncio
import json
import random
import secrets
import time
from typing import Any, Literal

import httpx
from loguru import logger

from app.models import AgentConfig
from app.retell.conversation import Conversation, ConversationCase, case_for_persona, run_conversation
from app.retell.gateway import CallRequest, RetellAgentIds, StartedCall
from app.retell.personas import DEFAULT_PERSONA, ScriptedCall, build_script, persona_for_phone
from app.retell.signature import sign_retell_body

DELIVERY_ATTEMPTS = 4
# The conversations kept for a look afterwards (the harness, tests): the most recent ones.
KEPT_CONVERSATIONS = 200
_DISCONNECTION = {
    "transfer": "call_transfer",
    "end_call": "agent_hangup",
    "max_turns": "max_duration_reached",
}
SIMULATED_FROM_NUMBER = "+14155550100"


class SimulatedRetell:
    """Same interface as `LiveRetell`; the routes cannot tell them apart."""

    mode: Literal["live", "simulated"] = "simulated"

    def __init__(
        self,
        *,
        webhook_url: str,
        api_key: str,
        call_seconds: float,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        # The webhook route verifies with this same key: deliveries are checked exactly as Retell's are.
        self._key = api_key
        self._webhook_url = webhook_url
        self._call_seconds = call_seconds
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()
        self.conversations: dict[str, Conversation] = {}

    @property
    def webhook_key(self) -> str:
        return self._key

    async def sync_agent(
        self, config: AgentConfig, *, webhook_url: str, llm_websocket_url: str | None = None
    ) -> RetellAgentIds:
        def keep_or_new(current: str | None, prefix: str) -> str:
            return current if current and current.startswith(prefix) else f"{prefix}{secrets.token_hex(10)}"

        return RetellAgentIds(
            llm_id=keep_or_new(config.retell_llm_id, "llm_sim_"),
            agent_id=keep_or_new(config.retell_agent_id, "agent_sim_"),
        )

    async def start_call(self, request: CallRequest) -> StartedCall:
        retell_call_id = f"call_sim_{secrets.token_hex(12)}"
        persona = request.persona
        if persona is None:
            found = persona_for_phone(request.to_number or "")
            persona = found.key if found else DEFAULT_PERSONA
        variables = request.dynamic_variables
        script = build_script(
            persona,
            driver_name=variables.get("driver_name", "there"),
            load_number=variables.get("load_number", ""),
            context={k: v for k, v in variables.items() if v and v != "unknown"},
            rng=random.Random(retell_call_id),
        )
        if request.llm_websocket_url and script.persona.connects:
            case = case_for_persona(
                persona,
                driver_name=variables.get("driver_name", "there"),
                load_number=variables.get("load_number", ""),
                context={k: v for k, v in variables.items() if v and v != "unknown"},
                seed=retell_call_id,
            )
            task = asyncio.create_task(self._converse(retell_call_id, request, case))
        else:
            task = asyncio.create_task(self._play(retell_call_id, request, script))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        logger.info("simulated Retell call {} placed with persona {}", retell_call_id, persona)
        token = f"sim_web_{secrets.token_urlsafe(24)}" if request.call_type == "web" else None
        return StartedCall(retell_call_id=retell_call_id, access_token=token)

    async def _play(self, retell_call_id: str, request: CallRequest, script: ScriptedCall) -> None:
        base = _call_object(retell_call_id, request)
        step = self._call_seconds / 3
        try:
            await asyncio.sleep(step)
            if not script.persona.connects:
                await self._deliver("call_ended", {**base, "call_status": "error", **_ending(script, None)})
                return
            started_ms = int(time.time() * 1000)
            await self._deliver(
                "call_started", {**base, "call_status": "ongoing", "start_timestamp": started_ms}
            )
            await asyncio.sleep(step)
            ended = {
                **base,
                "call_status": "ended",
                "start_timestamp": started_ms,
                **_ending(script, started_ms),
            }
            await self._deliver("call_ended", ended)
            await asyncio.sleep(step)
            analysis: dict[str, Any] = {
                "call_summary": script.summary,
                "user_sentiment": script.user_sentiment,
                "call_successful": script.disconnection_reason != "agent_hangup" or len(script.turns) > 6,
                "in_voicemail": False,
                "custom_analysis_data": {},
            }
            await self._deliver("call_analyzed", {**ended, "call_analysis": analysis})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a background player must log, never die silently
            logger.error("simulated call {} stopped: {}: {}", retell_call_id, type(exc).__name__, exc)

    async def _converse(self, retell_call_id: str, request: CallRequest, case: ConversationCase) -> None:
        """A custom_llm call: the driver talks to the engine over its WebSocket, then the usual webhooks."""
        assert request.llm_websocket_url is not None
        base = _call_object(retell_call_id, request)
        step = self._call_seconds / 3
        try:
            await asyncio.sleep(step)
            started_ms = int(time.time() * 1000)
            await self._deliver(
                "call_started", {**base, "call_status": "ongoing", "start_timestamp": started_ms}
            )
            conversation = await run_conversation(
                request.llm_websocket_url, case, call_id=retell_call_id, call=base
            )
            self._keep(retell_call_id, conversation)
            if conversation.error:
                logger.warning(
                    "simulated call {} lost its LLM WebSocket: {}", retell_call_id, conversation.error
                )
            now_ms = int(time.time() * 1000)
            ended = {
                **base,
                "call_status": "ended",
                "start_timestamp": started_ms,
                "end_timestamp": now_ms,
                "duration_ms": now_ms - started_ms,
                "disconnection_reason": _DISCONNECTION.get(
                    conversation.ending, "error_llm_websocket_lost_connection"
                ),
                "transcript": conversation.transcript_text,
                "transcript_object": conversation.transcript_object(),
                "recording_url": None,
                "public_log_url": None,
            }
            if conversation.transfer_number:
                ended["transfer_destination"] = conversation.transfer_number
            await self._deliver("call_ended", ended)
            await asyncio.sleep(step)
            analysis: dict[str, Any] = {
                "call_summary": f"Simulated {case.persona} call through the conversation engine "
                f"({conversation.agent_turns} agent turns, {conversation.ending}).",
                "user_sentiment": "Negative" if conversation.facts.emergency_type else "Neutral",
                "call_successful": conversation.ending in ("transfer", "end_call"),
                "in_voicemail": False,
                "custom_analysis_data": {},
            }
            await self._deliver("call_analyzed", {**ended, "call_analysis": analysis})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a background player must log, never die silently
            logger.error("simulated call {} stopped: {}: {}", retell_call_id, type(exc).__name__, exc)

    def _keep(self, retell_call_id: str, conversation: Conversation) -> None:
        self.conversations[retell_call_id] = conversation
        while len(self.conversations) > KEPT_CONVERSATIONS:
            del self.conversations[next(iter(self.conversations))]

    async def _deliver(self, event: str, call: dict[str, Any]) -> None:
        """POST one signed delivery, retrying like Retell does when the backend is slow or failing."""
        body = json.dumps({"event": event, "call": call}, separators=(",", ":"))
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            headers = {
                "content-type": "application/json",
                "x-retell-signature": sign_retell_body(body, self._key),
            }
            try:
                response = await self._http.post(self._webhook_url, content=body, headers=headers)
                if response.status_code < 500:
                    if response.status_code >= 400:
                        logger.error("webhook refused simulated {}: {}", event, response.status_code)
                    return
            except httpx.HTTPError as exc:
                logger.warning(
                    "simulated {} delivery attempt {} failed: {}", event, attempt, type(exc).__name__
                )
            await asyncio.sleep(0.2 * 2**attempt)
        logger.error("gave up delivering simulated {} for {}", event, call.get("call_id"))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()


def _call_object(retell_call_id: str, request: CallRequest) -> dict[str, Any]:
    return {
        "call_type": "web_call" if request.call_type == "web" else "phone_call",
        "call_id": retell_call_id,
        "agent_id": request.agent_id,
        "direction": "outbound",
        "from_number": request.from_number or SIMULATED_FROM_NUMBER,
        "to_number": request.to_number,
        "metadata": request.metadata,
        "retell_llm_dynamic_variables": request.dynamic_variables,
    }


def _ending(script: ScriptedCall, started_ms: int | None) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    ending: dict[str, Any] = {"end_timestamp": now_ms, "disconnection_reason": script.disconnection_reason}
    if started_ms is not None:
        ending |= {
            "duration_ms": now_ms - started_ms,
            "transcript": script.transcript,
            "transcript_object": [{"role": t.role, "content": t.content, "words": []} for t in script.turns],
            "recording_url": None,
            "public_log_url": None,
        }
    return ending
