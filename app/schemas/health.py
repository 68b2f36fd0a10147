"""Liveness and readiness answers."""

from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    """The process is up."""

    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")
    version: str = Field(description="The API's version.")


class Readiness(BaseModel):
    """Whether the service can take requests, and which integrations it uses."""

    status: Literal["ok", "unavailable"] = Field(description="`ok` when the database answers.")
    database: Literal["ok", "unreachable", "timeout"] = Field(
        description="`ok`; `unreachable` when it refused or failed; `timeout` when it did not answer in time."
    )
    retell_mode: Literal["live", "simulated"] = Field(description="Retell for real, or the simulator.")
    extractor: str = Field(description="`openai`, `rules`, or `not configured`.")
    version: str = Field(description="The API's version.")
