"""Table models; importing this package registers every table on SQLModel.metadata."""

from app.models.agent_config import AgentConfig
from app.models.audit import AuditEntry
from app.models.call import Call, CallResult, CallStatus, WebhookEvent
from app.models.dialing import DialingPolicy
from app.models.user import Role, User

__all__ = [
    "AgentConfig",
    "AuditEntry",
    "Call",
    "CallResult",
    "CallStatus",
    "DialingPolicy",
    "Role",
    "User",
    "WebhookEvent",
]
