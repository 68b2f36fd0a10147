"""A call driven through `step` turn by turn, as the socket would, without a socket."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.conversation.phrasing import TEMPLATES
from app.conversation.policy import (
    CallFacts,
    DialogueState,
    DriverTurn,
    Reminder,
    Reply,
    Utterance,
    live_result,
    step,
)
from app.schemas.extraction import CheckInResult, EmergencyResult

GREETING = "Hi Dave, this is Dispatch with a check call on load L-1. Can you give me a quick status update?"
TRANSFER = "+15550001111"


def facts(*, gps: str | None = None, transfer: str | None = TRANSFER) -> CallFacts:
    context = {"gps_location": gps} if gps else {}
    return CallFacts(
        driver_name="Dave Miller", load_number="L-1", context=context, dispatcher_transfer_number=transfer
    )


@dataclass
class Call:
    facts: CallFacts = field(default_factory=facts)
    state: DialogueState = field(default_factory=DialogueState)
    transcript: list[Utterance] = field(default_factory=lambda: [Utterance(role="agent", content=GREETING)])
    replies: list[Reply] = field(default_factory=list)

    def driver(self, text: str, heard: dict | None = None) -> Reply:
        self.transcript.append(Utterance(role="user", content=text))
        return self._step(DriverTurn(transcript=list(self.transcript)), heard)

    def silence(self) -> Reply:
        return self._step(Reminder(transcript=list(self.transcript)))

    def again(self) -> Reply:
        """Retell asks again with the same transcript (a reconnect, or a discarded response)."""
        return self._step(DriverTurn(transcript=list(self.transcript)), None, speak=False)

    def _step(self, event: DriverTurn | Reminder, heard: dict | None = None, speak: bool = True) -> Reply:
        # The state goes through JSON, as it does when the socket stores it between turns.
        state = DialogueState.model_validate_json(self.state.model_dump_json())
        self.state, reply = step(state, self.facts, event, heard)
        self.replies.append(reply)
        if speak and reply.content:
            self.transcript.append(Utterance(role="agent", content=reply.content))
        return reply

    @property
    def result(self) -> CheckInResult | EmergencyResult | None:
        return live_result(self.state)

    @property
    def transfers(self) -> int:
        return sum(1 for r in self.replies if r.transfer_number)

    @property
    def hangups(self) -> int:
        return sum(1 for r in self.replies if r.end_call)


EMERGENCY_KEYS = (
    "ask.safety_status",
    "ask.injury_status",
    "ask.emergency_location",
    "ask.load_secure",
    "transfer",
    "transfer.hurt",
    "callback",
    "callback.hurt",
)


def _wordings(keys: tuple[str, ...]) -> list[str]:
    return [w.format(name="Dave").lower() for key in keys for w in TEMPLATES[key]]


def emergency_protocol(text: str) -> bool:
    """The reply asks an emergency question or escalates, in one of the protocol's wordings."""
    lowered = text.lower()
    return any(wording in lowered or lowered.endswith(wording) for wording in _wordings(EMERGENCY_KEYS))
