"""Table models; importing this package registers every table on SQLModel.metadata."""

from app.models.agent_config import AgentConfig
from app.models.call import Call, CallResult, CallStatus, WebhookEvent
from app.models.user import User

__all__ = ["AgentConfig", "Call", "CallResult", "CallStatus", "User", "WebhookEvent"]
