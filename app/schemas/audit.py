"""The audit log as admins read it."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_PAGE_SIZE = 100


class FieldChange(BaseModel):
    """One field's value before and after."""

    old: Any = Field(description="The value before (null when the object was created).")
    new: Any = Field(description="The value after (null when the object was deleted).")


class AuditEntryPublic(BaseModel):
    """One admin action: who, when, what, and the fields it changed."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The entry's id.")
    at: datetime = Field(description="When (UTC).")
    actor_id: uuid.UUID | None = Field(description="Who: the user's id (kept even if the user is deleted).")
    actor_email: str = Field(description="Who: the user's email at the time.")
    action: str = Field(
        description="What: `user.created`, `user.updated`, `config.created`, `config.updated`, "
        "`config.deleted`, `config.synced` or `dialing_policy.updated`."
    )
    target_type: str = Field(description="The kind of object: `user`, `agent_config` or `dialing_policy`.")
    target_id: str | None = Field(description="The object's id (null for the dialing policy).")
    changes: dict[str, FieldChange] = Field(description="Each changed field, old and new; secrets never.")


class AuditPage(BaseModel):
    """One page of the audit log, newest first."""

    items: list[AuditEntryPublic] = Field(description="At most `limit` entries.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
