"""The production extractor: instructor over AsyncOpenAI chat completions (any OpenAI-compatible server)."""

import httpx
import instructor
from openai import AsyncOpenAI

from app.schemas.extraction import CallExtraction

# Reaching the server at all should be quick; the answer itself may take up to OPENAI_TIMEOUT_SECONDS.
CONNECT_TIMEOUT_SECONDS = 5.0

SYSTEM_PROMPT = """\
You read the transcript of a phone call between Dispatch's voice agent ("Agent") and a truck driver ("User")
and fill in the structured summary a freight dispatcher reads on their dashboard.

Decide the scenario first:
- Emergency: the driver reported an accident, a breakdown (a blowout, engine or brake failure), a medical
  problem, or another danger at any point, even if the call started as a routine check-in. Use an
  emergency result with call_outcome "Emergency Escalation" and emergency_type "Accident", "Breakdown",
  "Medical" or "Other". Fill safety_status, injury_status, emergency_location (highway, direction,
  mile marker or exit, as precise as stated), load_secure and escalation_status ("Connected to Human
  Dispatcher" when the agent transferred or said it is connecting the driver to a human dispatcher).
- Otherwise a check-in. call_outcome is "Arrival Confirmation" when the driver is at the receiver,
  else "In-Transit Update". driver_status: "Driving", "Delayed" (running late), "Arrived" or
  "Unloading". current_location as "Highway near City, ST". eta as "Today, 6:00 PM" or
  "Tomorrow, 8:00 AM". delay_reason: "Heavy Traffic", "Weather", "Mechanical", ... or "None" when the
  driver says there is no delay. unloading_status: "In Door 42", "Waiting for Lumper", "Detention",
  or "N/A" while in transit. pod_reminder_acknowledged is true only if the driver acknowledged the
  reminder to send the proof of delivery.

For either scenario: follow_up_reason is "uncooperative" when the agent ended the call because the driver
  kept giving no answers, "noisy_line" when it ended it because it could not understand the driver,
  "escalation_pending" when an emergency could not be transferred and a dispatcher must call back, else null.
  gps_location is the GPS position the agent read out to the driver (null if none); location_conflict is
  true when the driver's stated location was clearly elsewhere than that GPS position.

Only use what the driver actually said. When the driver did not say something, leave it null:
never guess a location, time or cause. When the driver corrects themselves, use the corrected value.
"""


class LLMExtractor:
    """Asks the model for a `CallExtraction`; instructor validates the reply against the schema."""

    name = "openai"

    def __init__(self, *, api_key: str, base_url: str | None, model: str, timeout_seconds: float) -> None:
        # Retries are the caller's (bounded, with backoff, and recorded on the call), not the SDK's.
        self._openai = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)),
            max_retries=0,
        )
        self._client = instructor.from_openai(self._openai, mode=instructor.Mode.TOOLS)
        self.model = model

    async def extract(self, transcript: str) -> CallExtraction:
        return await self._client.chat.completions.create(
            model=self.model,
            response_model=CallExtraction,
            max_retries=1,  # one more try when the reply does not fit the schema
            temperature=0,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Transcript:\n\n{transcript}"},
            ],
        )

    async def aclose(self) -> None:
        await self._openai.close()
