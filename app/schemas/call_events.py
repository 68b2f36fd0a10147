"""What the live streams send: each Server-Sent Event's name, id and JSON `data`."""

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel

from app.schemas.call import CallSummary


class CallLive(CallSummary):
    """A call as the live stream shows it: the whole detail except the transcript."""

    agent_config_id: uuid.UUID | None
    context: dict[str, str]
    disconnection_reason: str | None
    recording_url: str | None
    public_log_url: str | None
    call_summary: str | None
    status_detail: str | None
    result: dict[str, Any] | None = Field(
        description="The structured fields (flat) plus `scenario`, once the call is completed."
    )


class _Frame(BaseModel):
    id: str = Field(description="The change's version; the browser sends it back as `Last-Event-ID`.")


class CallStatusEvent(_Frame):
    """`event: status`: the call changed (each status it passes through, once, in order)."""

    event: Literal["status"]
    data: CallLive


class CallEndEvent(_Frame):
    """`event: end`: the call is final; `data` is its final state, with Retell's summary when it came."""

    event: Literal["end"]
    data: CallLive


class CallListEvent(_Frame):
    """`event: call`: one call changed; `data` is its row of the call list."""

    event: Literal["call"]
    data: CallSummary


class CallEvent(RootModel[Annotated[CallStatusEvent | CallEndEvent, Field(discriminator="event")]]):
    """One event of a call's stream: `status` or `end` (on the wire, `event:`/`id:`/`data:` lines)."""
