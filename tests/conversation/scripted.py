"""A scripted dialogue with the policy's contract, so the socket's tests exercise the protocol only.

Each driver turn gets "Question N." (N counts the questions asked, kept in the state), a driver who says
"blowout" is transferred to the dispatcher, one who says "bye" is hung up on, "boom" makes the policy fail.
"""

from collections.abc import Mapping
from typing import Any

from app.conversation.policy import CallFacts, DialogueState, DriverTurn, Event, Reply
from app.schemas.extraction import CheckInResult, EmergencyResult


class ScriptedPolicy:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def step(
        self,
        state: DialogueState,
        facts: CallFacts,
        event: Event,
        heard: Mapping[str, Any] | None = None,
    ) -> tuple[DialogueState, Reply]:
        self.events.append(event)
        said = next((u.content for u in reversed(event.transcript) if u.role == "user"), "")
        if "boom" in said:
            raise RuntimeError("the scripted policy fails on 'boom'")
        asked = int(state.slots.get("asked", 0))
        slots = {**state.slots, "asked": asked + 1}
        moved = state.model_copy(update={"turns_seen": len(event.transcript), "slots": slots})
        if "blowout" in said:
            moved = moved.model_copy(update={"mode": "emergency"})
            reply = Reply(
                content="Okay. I'm connecting you to a dispatcher now.",
                transfer_number=facts.dispatcher_transfer_number,
            )
            return moved, reply
        if "bye" in said:
            return moved, Reply(content="Thanks, drive safe.", end_call=True)
        if not isinstance(event, DriverTurn):
            return moved, Reply(content=f"Are you still there? Question {asked + 1}.")
        if "both" in said:
            return moved, Reply(content="Bye.", end_call=True, transfer_number="+13125550100")
        if "noisy" in said:
            return moved, Reply(content="I hear you.", interruption_sensitivity=0.3)
        if "quiet" in said:
            return moved, Reply(content="")
        return moved, Reply(content=f"Got it, {facts.driver_name}. Question {asked + 1}.")

    def live_result(self, state: DialogueState) -> CheckInResult | EmergencyResult | None:
        if state.mode == "emergency":
            return EmergencyResult(emergency_type="Breakdown")
        if state.slots.get("asked"):
            # Grows with every turn while the outcome stays the same.
            location = f"mile {state.slots['asked']}"
            return CheckInResult(
                call_outcome="In-Transit Update", driver_status="Driving", current_location=location
            )
        return None
