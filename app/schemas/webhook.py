"""The parts of a Retell webhook delivery this backend reads, with the types and bounds it can store."""

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_TIMESTAMP_MS = 253_402_300_799_000  # 9999-12-31: anything later is not a real call time
MAX_INT32 = 2**31 - 1
MAX_EVENT_LENGTH = 60
MAX_CALL_ID_LENGTH = 120


def storable(value: Any) -> Any:
    """The same JSON value with only what PostgreSQL can hold.

    JSON allows NUL characters and lone surrogates ("\\u0000", "\\ud800") and numbers too large for
    a float (1e400); a transcript never needs them. Text is cleaned, such numbers become null.
    """
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        # Clean keys keep their place; a cleaned key never overwrites one that was already clean.
        cleaned = {key: storable(item) for key, item in value.items() if _storable_text(key) == key}
        for key, item in value.items():
            new_key = _storable_text(key)
            if new_key != key:
                while new_key in cleaned:
                    new_key += "~"
                cleaned[new_key] = storable(item)
        return cleaned
    return value


def _storable_text(text: str) -> str:
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class TranscriptTurn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(default="", max_length=40)
    content: str = ""


class RetellCall(BaseModel):
    """Retell's `call` object; unknown fields are kept in the stored payload but not read."""

    model_config = ConfigDict(extra="allow")

    call_id: str = Field(min_length=1, max_length=MAX_CALL_ID_LENGTH)
    agent_id: str | None = Field(default=None, max_length=120)
    call_type: str | None = Field(default=None, max_length=40)
    call_status: str | None = Field(default=None, max_length=40)
    direction: str | None = Field(default=None, max_length=20)
    from_number: str | None = Field(default=None, max_length=40)
    to_number: str | None = Field(default=None, max_length=40)
    metadata: dict[str, Any] | None = None
    retell_llm_dynamic_variables: dict[str, Any] | None = None
    start_timestamp: int | None = Field(default=None, ge=0, le=MAX_TIMESTAMP_MS)
    end_timestamp: int | None = Field(default=None, ge=0, le=MAX_TIMESTAMP_MS)
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_INT32)
    disconnection_reason: str | None = Field(default=None, max_length=80)
    transcript: str | None = None
    transcript_object: list[TranscriptTurn] | None = None
    recording_url: str | None = Field(default=None, max_length=4000)
    public_log_url: str | None = Field(default=None, max_length=4000)
    call_analysis: dict[str, Any] | None = None
