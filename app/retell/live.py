"""Live Retell over the official AsyncRetell SDK, with the payload builders for its LLM and agent."""

from typing import Any, Literal

import httpx
import retell
from loguru import logger
from retell import AsyncRetell

from app.core.errors import Conflict, UpstreamError
from app.models import AgentConfig
from app.retell.gateway import CallRequest, RetellAgentIds, StartedCall

RETELL_MAX_RETRIES = 2
CONNECT_TIMEOUT_SECONDS = 5.0


def build_llm_payload(config: AgentConfig) -> dict[str, Any]:
    """The Retell LLM: the prompt, the greeting, and the tools the prompt refers to."""
    tools: list[dict[str, Any]] = [
        {
            "type": "end_call",
            "name": "end_call",
            "description": "End the call politely once the check-in is complete, or the driver cannot talk.",
        }
    ]
    if config.dispatcher_transfer_number:
        tools.append(
            {
                "type": "transfer_call",
                "name": "transfer_to_dispatcher",
                "description": "Transfer the driver to a human dispatcher during an emergency, "
                "after asking about safety, injuries, location and the load.",
                "transfer_destination": {"type": "predefined", "number": config.dispatcher_transfer_number},
                "transfer_option": {"type": "cold_transfer"},
            }
        )
    return {
        "general_prompt": config.general_prompt,
        "begin_message": config.begin_message,
        "general_tools": tools,
    }


def build_response_engine(
    config: AgentConfig, *, llm_id: str | None, llm_websocket_url: str | None
) -> dict[str, Any]:
    """Who speaks for the agent: Retell's LLM, or this backend's engine over the LLM WebSocket."""
    if config.response_engine == "custom_llm":
        if not llm_websocket_url:
            raise Conflict("LLM_WEBSOCKET_SECRET is not set: a custom_llm agent needs the engine's WebSocket")
        # Retell appends `/{call_id}` itself.
        return {"type": "custom-llm", "llm_websocket_url": llm_websocket_url}
    return {"type": "retell-llm", "llm_id": llm_id}


def build_agent_payload(
    config: AgentConfig, *, llm_id: str | None, webhook_url: str, llm_websocket_url: str | None = None
) -> dict[str, Any]:
    """The Retell agent: voice, conversation feel, limits, and where webhooks go."""
    return {
        "agent_name": config.name,
        "response_engine": build_response_engine(config, llm_id=llm_id, llm_websocket_url=llm_websocket_url),
        "voice_id": config.voice_id,
        "voice_speed": config.voice_speed,
        "voice_temperature": config.voice_temperature,
        "enable_backchannel": config.enable_backchannel,
        "backchannel_frequency": config.backchannel_frequency,
        "backchannel_words": list(config.backchannel_words),
        "interruption_sensitivity": config.interruption_sensitivity,
        "responsiveness": config.responsiveness,
        "handbook_config": {"natural_filler_words": config.natural_filler_words},
        "ambient_sound": config.ambient_sound,
        "end_call_after_silence_ms": config.end_call_after_silence_ms,
        "max_call_duration_ms": config.max_call_duration_ms,
        "webhook_url": webhook_url,
    }


def _retell_message(exc: retell.APIError) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        for key in ("error_message", "message", "error"):
            if isinstance(body.get(key), str):
                return f"Retell: {body[key]}"
    return f"Retell: {exc.message}"


class LiveRetell:
    """Retell itself, through the official async SDK."""

    mode: Literal["live", "simulated"] = "live"

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout_seconds: float = 20.0,
        max_retries: int = RETELL_MAX_RETRIES,
    ) -> None:
        self._api_key = api_key
        self._client = (
            AsyncRetell(
                api_key=api_key,
                base_url=base_url,
                timeout=httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)),
                max_retries=max_retries,
            )
            if api_key
            else None
        )

    @property
    def webhook_key(self) -> str | None:
        return self._api_key

    def _require_client(self) -> AsyncRetell:
        if self._client is None:
            raise Conflict(
                "RETELL_API_KEY is not set: Retell is not configured (or set RETELL_MODE=simulated)"
            )
        return self._client

    async def sync_agent(
        self, config: AgentConfig, *, webhook_url: str, llm_websocket_url: str | None = None
    ) -> RetellAgentIds:
        client = self._require_client()
        try:
            # A custom_llm agent has no Retell LLM: the prompt runs here. The old LLM (if any) is left as is.
            llm_id = (
                None
                if config.response_engine == "custom_llm"
                else await self._upsert_llm(client, config.retell_llm_id, build_llm_payload(config))
            )
            agent_payload = build_agent_payload(
                config, llm_id=llm_id, webhook_url=webhook_url, llm_websocket_url=llm_websocket_url
            )
            agent_id = await self._upsert_agent(client, config.retell_agent_id, agent_payload)
        except retell.APIError as exc:
            logger.warning("Retell refused the agent sync for {}: {}", config.id, exc)
            raise UpstreamError(_retell_message(exc)) from exc
        return RetellAgentIds(llm_id=llm_id, agent_id=agent_id)

    @staticmethod
    async def _upsert_llm(client: AsyncRetell, llm_id: str | None, payload: dict[str, Any]) -> str:
        if llm_id:
            try:
                return (await client.llm.update(llm_id, **payload)).llm_id
            except retell.NotFoundError:
                logger.warning("Retell LLM {} no longer exists; creating a new one", llm_id)
        return (await client.llm.create(**payload)).llm_id

    @staticmethod
    async def _upsert_agent(client: AsyncRetell, agent_id: str | None, payload: dict[str, Any]) -> str:
        if agent_id:
            try:
                return (await client.agent.update(agent_id, **payload)).agent_id
            except retell.NotFoundError:
                logger.warning("Retell agent {} no longer exists; creating a new one", agent_id)
        return (await client.agent.create(**payload)).agent_id

    async def start_call(self, request: CallRequest) -> StartedCall:
        # Never retry placing a call: a timed-out request may still have dialled the driver, and a
        # retry would ring them twice. If Retell did place it, its webhooks revive the call.
        client = self._require_client().with_options(max_retries=0)
        try:
            if request.call_type == "web":
                web = await client.call.create_web_call(
                    agent_id=request.agent_id,
                    retell_llm_dynamic_variables=request.dynamic_variables,
                    metadata=request.metadata,
                )
                return StartedCall(retell_call_id=web.call_id, access_token=web.access_token)
            if not request.from_number or not request.to_number:
                raise Conflict("a phone call needs RETELL_FROM_NUMBER and the driver's number")
            phone = await client.call.create_phone_call(
                from_number=request.from_number,
                to_number=request.to_number,
                override_agent_id=request.agent_id,
                retell_llm_dynamic_variables=request.dynamic_variables,
                metadata=request.metadata,
            )
            return StartedCall(retell_call_id=phone.call_id)
        except retell.APIError as exc:
            raise UpstreamError(_retell_message(exc)) from exc

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
