"""The dialing policy as the API shows it and as an admin sets it."""

import uuid
from datetime import datetime

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator


class DialingPolicyPublic(BaseModel):
    """Which regions phone calls may go to; web calls are not dialed and are never refused."""

    allowed_regions: list[str] = Field(
        description="ISO 3166 region codes (as phonenumbers names them), e.g. `US`, `CA`."
    )
    updated_at: datetime | None = Field(description="When an admin last set it; null: the default.")
    updated_by: uuid.UUID | None = Field(description="Who last set it; null: the default.")


class DialingPolicyUpdate(BaseModel):
    """The regions phone calls may go to from now on."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"allowed_regions": ["US", "CA"]}]}
    )

    allowed_regions: list[str] = Field(
        max_length=50, description="ISO 3166 region codes, e.g. `US`, `CA`; empty refuses every phone call."
    )

    @field_validator("allowed_regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        regions = list(dict.fromkeys(region.strip().upper() for region in value))
        unknown = [region for region in regions if region not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"not region codes: {', '.join(unknown)}")
        return regions
