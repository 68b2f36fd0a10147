"""What the live streams send: each Server-Sent Event's name, id and JSON `data`."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.schemas.call import CallLive, CallSummary


def _data_as_json_text(schema: dict[str, Any]) -> None:
    """On the wire `data:` is a line of JSON text: say so the OpenAPI 3.2 way (what the event carries is
    the `contentSchema`), so schema-driven clients and checkers parse it before validating."""
    data = schema["properties"]["data"]
    payload = {"$ref": data.pop("$ref")}
    data.update(type="string", contentMediaType="application/json", contentSchema=payload)


class _Frame(BaseModel):
    model_config = ConfigDict(json_schema_extra=_data_as_json_text)

    id: str = Field(description="The change's version; the browser sends it back as `Last-Event-ID`.")


class CallStatusEvent(_Frame):
    """`event: status`: the call changed (each status it passes through, once, in order)."""

    event: Literal["status"] = Field(description="The SSE event name.")
    data: CallLive = Field(description="The call now, without its transcript.")


class CallEndEvent(_Frame):
    """`event: end`: the call is final; `data` is its final state, with Retell's summary when it came."""

    event: Literal["end"] = Field(description="The SSE event name: the stream ends after it.")
    data: CallLive = Field(description="The call's final state, without its transcript.")


class CallListEvent(_Frame):
    """`event: call`: one call changed; `data` is its row of the call list."""

    event: Literal["call"] = Field(description="The SSE event name.")
    data: CallSummary = Field(description="The call's row of the call list, as it is now.")


class CallEvent(RootModel[Annotated[CallStatusEvent | CallEndEvent, Field(discriminator="event")]]):
    """One event of a call's stream: `status` or `end` (on the wire, `event:`/`id:`/`data:` lines)."""
