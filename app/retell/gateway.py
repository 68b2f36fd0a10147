"""What the app needs from Retell: one protocol, and the request and answer types both sides share."""

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from app.models import AgentConfig


@dataclass(frozen=True)
class RetellAgentIds:
    llm_id: str | None  # None for a custom_llm agent, which has no Retell LLM
    agent_id: str


@dataclass(frozen=True)
class CallRequest:
    """Everything Retell needs to place one call."""

    call_type: Literal["web", "phone"]
    agent_id: str
    to_number: str | None
    from_number: str | None
    dynamic_variables: dict[str, str]
    metadata: dict[str, str]
    persona: str | None = None  # only the simulator reads it
    # A custom_llm agent's engine (Retell appends `/{call_id}`); only the simulator reads it from here, Retell
    # itself has it from the agent.
    llm_websocket_url: str | None = None


@dataclass(frozen=True)
class StartedCall:
    retell_call_id: str
    access_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RetellGateway(Protocol):
    """What the routes need from Retell; live and simulated Retell both provide it."""

    mode: Literal["live", "simulated"]

    @property
    def webhook_key(self) -> str | None:
        """The key Retell signs webhooks with (its API key), or None when none is configured."""
        ...

    async def sync_agent(
        self, config: AgentConfig, *, webhook_url: str, llm_websocket_url: str | None = None
    ) -> RetellAgentIds:
        """Create or update the agent; a `custom_llm` config points Retell at `llm_websocket_url`."""
        ...

    async def start_call(self, request: CallRequest) -> StartedCall: ...

    async def aclose(self) -> None: ...
