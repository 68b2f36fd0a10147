"""Structured call results: the exact field names and values the dashboard shows."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

CheckInOutcome = Literal["In-Transit Update", "Arrival Confirmation"]
DriverStatus = Literal["Driving", "Delayed", "Arrived", "Unloading"]
EmergencyType = Literal["Accident", "Breakdown", "Medical", "Other"]
Scenario = Literal["check_in", "emergency"]
FollowUpReason = Literal["uncooperative", "noisy_line", "escalation_pending"]


# The follow-up fields both results end with, defined once. Annotated rather than a base class: a base's
# fields would come first, and the fields' order is the CSV export's and the OpenAPI schema's.
FollowUpReasonField = Annotated[
    FollowUpReason | None,
    Field(
        description='Why a dispatcher must follow up: "uncooperative" (the agent ended the call after the '
        'driver kept giving no answers), "noisy_line" (the line was too noisy to understand), '
        '"escalation_pending" (an emergency no one could be transferred to: a dispatcher must call back). '
        "Null when no follow-up is needed.",
    ),
]
LocationConflictField = Annotated[
    bool,
    Field(
        description="True when the driver's stated location was clearly elsewhere than the GPS position "
        "(another city, state or highway) and the agent asked about it.",
    ),
]
GpsLocationField = Annotated[
    str | None,
    Field(
        description='The GPS position the driver\'s word was compared with, e.g. "I-10 near Tucson, AZ"; '
        "null when no conflict came up.",
    ),
]


class CallOutcome(StrEnum):
    """What a completed call came to: the result's `call_outcome`."""

    IN_TRANSIT_UPDATE = "In-Transit Update"
    ARRIVAL_CONFIRMATION = "Arrival Confirmation"
    EMERGENCY_ESCALATION = "Emergency Escalation"


class CheckInResult(BaseModel):
    """A routine driver check-in: where the truck is, when it arrives, what slows it down."""

    call_outcome: CheckInOutcome = Field(
        description='"Arrival Confirmation" when the driver is at the receiver, else "In-Transit Update".'
    )
    driver_status: DriverStatus | None = Field(
        default=None,
        description='"Driving" on schedule, "Delayed" when running late, "Arrived" at the receiver, '
        '"Unloading" once unloading has started. Null when the driver never said.',
    )
    current_location: str | None = Field(
        default=None,
        description='Where the driver says the truck is, e.g. "I-10 near Indio, CA". Null if not stated.',
    )
    eta: str | None = Field(
        default=None,
        description='Estimated arrival as said by the driver, e.g. "Tomorrow, 8:00 AM". Null if not stated '
        "or already arrived.",
    )
    delay_reason: str | None = Field(
        default=None,
        description='"Heavy Traffic", "Weather", "Mechanical", ... or "None" when the driver says there is '
        "no delay. Null when the subject never came up.",
    )
    unloading_status: str | None = Field(
        default=None,
        description='"In Door 42", "Waiting for Lumper", "Detention", "Waiting for Door"; '
        '"N/A" while in transit.',
    )
    pod_reminder_acknowledged: bool = Field(
        default=False,
        description="True only when the driver acknowledged the reminder to send the proof of delivery.",
    )
    follow_up_reason: FollowUpReasonField = None
    location_conflict: LocationConflictField = False
    gps_location: GpsLocationField = None


class EmergencyResult(BaseModel):
    """A driver reported an emergency: the check-in was dropped and a human took over."""

    call_outcome: Literal["Emergency Escalation"] = Field(
        default="Emergency Escalation", description='Always "Emergency Escalation".'
    )
    emergency_type: EmergencyType = Field(
        description='"Accident" (collision), "Breakdown" (blowout, engine, mechanical), "Medical", '
        'else "Other".'
    )
    safety_status: str | None = Field(
        default=None,
        description='What the driver said about safety, e.g. "Driver confirmed everyone is safe".',
    )
    injury_status: str | None = Field(
        default=None, description='e.g. "No injuries reported", "Driver reports a minor injury".'
    )
    emergency_location: str | None = Field(
        default=None, description='As precise as the driver said it, e.g. "I-15 North, Mile Marker 123".'
    )
    load_secure: bool | None = Field(default=None, description="Whether the driver said the load is secure.")
    escalation_status: str | None = Field(
        default=None,
        description='"Connected to Human Dispatcher" when the agent transferred the call; "Dispatcher will '
        'call back" when no transfer was possible and the escalation is pending.',
    )
    follow_up_reason: FollowUpReasonField = None
    location_conflict: LocationConflictField = False
    gps_location: GpsLocationField = None


class CallExtraction(BaseModel):
    """What the extractor returns for one transcript: exactly one of the two scenarios."""

    result: Annotated[CheckInResult | EmergencyResult, Field(discriminator="call_outcome")]

    @property
    def scenario(self) -> Scenario:
        return "emergency" if isinstance(self.result, EmergencyResult) else "check_in"

    def flat(self) -> dict[str, object]:
        """The fields as the dashboard shows them, plus `scenario`."""
        return {"scenario": self.scenario, **self.result.model_dump()}
