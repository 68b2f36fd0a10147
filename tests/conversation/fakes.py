"""An in-memory socket and call store, for the session's timing and ordering rules."""

import asyncio
import json
from typing import Any

from app.conversation.policy import CallFacts, DialogueState
from app.conversation.protocol import CallDetails
from app.conversation.session import OpenedCall
from app.schemas.extraction import CheckInResult, EmergencyResult


class FakeSocket:
    """Frames pushed by the test in, frames the session sends out (with the time each was sent)."""

    def __init__(self, send_delay: float = 0.0) -> None:
        self.send_delay = send_delay
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed_with: int | None = None

    def push(self, message: dict[str, Any] | str | bytes | None) -> None:
        self.inbox.put_nowait(json.dumps(message) if isinstance(message, dict) else message)

    async def receive(self) -> str | bytes | None:
        return await self.inbox.get()

    async def send(self, text: str) -> None:
        self.sent.put_nowait(json.loads(text))
        if self.send_delay:
            await asyncio.sleep(self.send_delay)  # a slow network: the next chunks wait in the writer's queue

    async def close(self, code: int) -> None:
        self.closed_with = code
        self.inbox.put_nowait(None)

    async def next(self, timeout: float = 2.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.sent.get(), timeout)

    def drained(self) -> list[dict[str, Any]]:
        items = []
        while not self.sent.empty():
            items.append(self.sent.get_nowait())
        return items


class FakeStore:
    """One call in memory: `save_delay` slows every save, `save_gate` holds them, `fail_saves` fails them."""

    def __init__(
        self,
        *,
        save_delay: float = 0.0,
        open_delay: float = 0.0,
        fail_saves: bool = False,
        transfer: str | None = None,
        save_gate: asyncio.Event | None = None,
    ) -> None:
        self.save_delay = save_delay
        # When given, every save (the greeting's aside) waits until the test sets it: a blocked database.
        self.save_gate = save_gate
        self.saving: list[int] = []  # response ids whose save has started
        self.open_delay = open_delay
        self.fail_saves = fail_saves
        self.state = DialogueState()
        self.last_response_id: int | None = None
        self.instructions = ""
        self.saves: list[tuple[int, DialogueState, Any]] = []
        self.facts = CallFacts(
            driver_name="Mike",
            load_number="7891-B",
            context={"origin": "Phoenix"},
            dispatcher_transfer_number=transfer,
        )

    async def open(self, retell_call_id: str, details: CallDetails | None) -> OpenedCall:
        if self.open_delay:
            await asyncio.sleep(self.open_delay)
        return OpenedCall(
            call_id="call-1",
            facts=self.facts,
            begin_message="Hi {{driver_name}}, load {{load_number}} from {{origin}}.",
            state=self.state,
            last_response_id=self.last_response_id,
            instructions=self.instructions,
        )

    async def save_turn(
        self,
        call_id: Any,
        *,
        state: DialogueState,
        response_id: int,
        live_result: CheckInResult | EmergencyResult | None,
    ) -> None:
        self.saving.append(response_id)
        if self.save_gate is not None and response_id != 0:
            await self.save_gate.wait()
        if self.save_delay:
            await asyncio.sleep(self.save_delay)
        if self.fail_saves:
            raise OSError("the database is gone")
        self.state, self.last_response_id = state, response_id
        self.saves.append((response_id, state, live_result))
