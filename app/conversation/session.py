"""One Retell LLM WebSocket: the imperative shell around the pure dialogue policy.

Three kinds of task, so that nothing waits on what it need not:
- the reader takes each frame as it comes: pings are echoed at once, requests start their own task;
- one task per `response_required`/`reminder_required`, cancelled by a newer one: it runs the policy,
  queues the reply's words at once, stores the turn's state, and only then queues the final chunk
  (`content_complete`, and the transfer or hang-up if any): the driver hears the reply without waiting on
  the database, and no action goes out before it is stored;
- the writer sends what is queued, in order, and drops anything queued under a response id that is no
  longer the newest (Retell would drop it anyway, and an old id must never speak after a newer one).

Closing codes: 1000 means "hang up" to Retell, so the engine never uses it; Retell hangs up itself after an
`end_call`. A binary frame is 1003, a frame that is not a JSON object 1007, an internal error 1011
(Retell then reconnects, possibly to another worker, which resumes from the stored state).
"""

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from loguru import logger

from app.conversation import policy as policy_module
from app.conversation.policy import CallFacts, DialogueState, DriverTurn, Event, Reminder, Reply
from app.conversation.protocol import (
    AgentSettings,
    CallDetails,
    ConfigMessage,
    MalformedMessage,
    PingPong,
    PingPongMessage,
    ReminderRequired,
    ResponseMessage,
    ResponseRequired,
    UpdateAgentMessage,
    parse_inbound,
)
from app.conversation.understanding import detect_emergency
from app.schemas.extraction import CheckInResult, EmergencyResult

CLOSE_UNSUPPORTED_DATA = 1003  # a binary frame: the protocol is text only
CLOSE_INVALID_PAYLOAD = 1007  # a text frame that is not a JSON object
CLOSE_INTERNAL_ERROR = 1011
GREETING_RESPONSE_ID = 0
# Said when the policy fails on a turn: the request still ends, and the driver knows to speak again.
FALLBACK_REPLY = "Sorry, I didn't catch that. Could you say it again?"
# How long the writer may take to flush its last messages once the call is over.
FLUSH_SECONDS = 2.0
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class Socket(Protocol):
    """What the session needs of a WebSocket (the route adapts Starlette's)."""

    async def receive(self) -> str | bytes | None:
        """The next frame's text or bytes; None once the peer has closed."""
        ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int) -> None: ...


class Policy(Protocol):
    """The dialogue: `app.conversation.policy` itself, or a scripted stand-in in tests."""

    def step(
        self,
        state: DialogueState,
        facts: CallFacts,
        event: Event,
        heard: Mapping[str, Any] | None = None,
    ) -> tuple[DialogueState, Reply]: ...

    def live_result(self, state: DialogueState) -> CheckInResult | EmergencyResult | None: ...


class Reader(Protocol):
    """The LLM reader (`understanding.LiveReader`): slots from one utterance within its own hard budget."""

    async def hear(self, *, instructions: str, utterance: str, asked: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class OpenedCall:
    """Our call behind a Retell call id, with what the dialogue needs to start or resume."""

    call_id: Any  # our id (uuid.UUID); opaque here
    facts: CallFacts
    begin_message: str
    state: DialogueState
    last_response_id: int | None  # None until the greeting was sent
    instructions: str = ""  # the agent configuration's general_prompt: the LLM reader's instructions


class CallStore(Protocol):
    """Where calls and their dialogue state live (services/conversations.py; every wait bounded)."""

    async def open(self, retell_call_id: str, details: CallDetails | None) -> OpenedCall: ...

    async def save_turn(
        self,
        call_id: Any,
        *,
        state: DialogueState,
        response_id: int,
        live_result: CheckInResult | EmergencyResult | None,
    ) -> None: ...


class _Close:
    def __init__(self, code: int) -> None:
        self.code = code


def fill_variables(template: str, values: Mapping[str, str]) -> str:
    """`{{name}}` replaced by its value; an unknown name is left as written (and logged)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        logger.warning("begin message refers to {{{{{}}}}}, which the call does not define", name)
        return match.group(0)

    return _VARIABLE.sub(value, template)


def _values(opened: OpenedCall) -> dict[str, str]:
    facts = opened.facts
    return {**facts.context, "driver_name": facts.driver_name, "load_number": facts.load_number}


def greeting_for(opened: OpenedCall) -> str:
    return fill_variables(opened.begin_message, _values(opened))


def newest_exchange(transcript: list[Any]) -> tuple[str, str]:
    """What the driver said since the agent last spoke, and what the agent said just before it."""
    said: list[str] = []
    for index in range(len(transcript) - 1, -1, -1):
        utterance = transcript[index]
        if utterance.role == "agent":
            return " ".join(reversed(said)).strip(), utterance.content
        said.append(utterance.content)
    return " ".join(reversed(said)).strip(), ""


def chunks_of(content: str) -> list[str]:
    """The reply sentence by sentence: Retell starts speaking as soon as it has the first one."""
    parts = [part for part in _SENTENCE_END.split(content.strip()) if part]
    return [part + ("" if index == len(parts) - 1 else " ") for index, part in enumerate(parts)] or [""]


class ConversationSession:
    """One call's socket, from Retell's connect to its close."""

    def __init__(
        self,
        socket: Socket,
        *,
        retell_call_id: str,
        store: CallStore,
        policy: Policy | ModuleType = policy_module,
        reader: Reader | None = None,
    ) -> None:
        self._socket = socket
        self._retell_call_id = retell_call_id
        self._store = store
        self._policy: Policy = policy
        self._reader = reader
        self._outbox: asyncio.Queue[tuple[int | None, str] | _Close | None] = asyncio.Queue()
        self._opening: asyncio.Task[OpenedCall] | None = None
        self._responding: asyncio.Task[None] | None = None
        self._newest_id: int | None = None  # the response id Retell asked for most recently
        self._turn_lock = asyncio.Lock()
        self._state: DialogueState | None = None
        self._finished = asyncio.Event()
        self._log = logger.bind(retell_call_id=retell_call_id)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read())
        self._queue(None, ConfigMessage().to_json())
        try:
            await self._finished.wait()
        finally:
            for task in (reader, self._opening, self._responding):
                if task is not None:
                    task.cancel()
            await asyncio.gather(
                *(t for t in (reader, self._opening, self._responding) if t is not None),
                return_exceptions=True,
            )
            self._outbox.put_nowait(None)  # the writer stops once it has sent what is queued
            try:
                await asyncio.wait_for(writer, FLUSH_SECONDS)
            except (TimeoutError, asyncio.CancelledError, Exception):
                writer.cancel()

    def _close(self, code: int) -> None:
        self._outbox.put_nowait(_Close(code))

    def _queue(self, response_id: int | None, text: str) -> None:
        self._outbox.put_nowait((response_id, text))

    async def _write(self) -> None:
        try:
            while (item := await self._outbox.get()) is not None:
                if isinstance(item, _Close):
                    await self._socket.close(item.code)
                    return
                response_id, text = item
                if response_id is not None and response_id != self._newest_id:
                    continue  # superseded while queued: never speak under an old id
                await self._socket.send(text)
        except Exception as exc:
            self._log.info(
                "LLM WebSocket for {}: stopped writing ({})", self._retell_call_id, type(exc).__name__
            )
        finally:
            self._finished.set()

    async def _read(self) -> None:
        try:
            while True:
                frame = await self._socket.receive()
                if frame is None:
                    self._log.info("LLM WebSocket for {} closed by Retell", self._retell_call_id)
                    return
                if isinstance(frame, bytes):
                    self._log.warning("LLM WebSocket for {}: binary frame, closing", self._retell_call_id)
                    self._close(CLOSE_UNSUPPORTED_DATA)
                    return
                try:
                    message = parse_inbound(frame)
                except MalformedMessage as exc:
                    self._log.warning("LLM WebSocket for {}: {}, closing", self._retell_call_id, exc)
                    self._close(CLOSE_INVALID_PAYLOAD)
                    return
                self._dispatch(message)
        except Exception:
            self._log.exception("LLM WebSocket for {}: reader failed", self._retell_call_id)
            self._close(CLOSE_INTERNAL_ERROR)
        finally:
            # Peer gone, or a close queued: either way the session ends (the writer still sends the close).
            self._finished.set()

    def _dispatch(self, message: object) -> None:
        if isinstance(message, PingPong):
            self._queue(None, PingPongMessage(timestamp=message.timestamp).to_json())
        elif isinstance(message, CallDetails):
            self._open(message)
        elif isinstance(message, ResponseRequired | ReminderRequired):
            self._newest_id = message.response_id
            if self._responding is not None:
                self._responding.cancel()  # its generation stops; its queued chunks are dropped
            self._responding = asyncio.create_task(self._respond(message))
        # update_only: every request carries the whole transcript, so there is nothing to keep.

    # -- opening ---------------------------------------------------------------------------------------

    def _open(self, details: CallDetails | None) -> asyncio.Task[OpenedCall]:
        if self._opening is None:
            self._opening = asyncio.create_task(self._open_and_greet(details))
            self._opening.add_done_callback(self._fail_if_unopened)
        return self._opening

    def _fail_if_unopened(self, task: asyncio.Task[OpenedCall]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.opt(exception=task.exception()).error(
                "LLM WebSocket for {}: could not open the call", self._retell_call_id
            )
            self._close(CLOSE_INTERNAL_ERROR)

    async def _open_and_greet(self, details: CallDetails | None) -> OpenedCall:
        opened = await self._store.open(self._retell_call_id, details)
        async with self._turn_lock:
            if self._state is None:
                self._state = opened.state
            if opened.last_response_id is None and self._newest_id is None:
                # Stored before it is said: a reconnect (on any worker) never greets twice.
                await self._store.save_turn(
                    opened.call_id, state=self._state, response_id=GREETING_RESPONSE_ID, live_result=None
                )
                self._newest_id = GREETING_RESPONSE_ID
                greeting = ResponseMessage(
                    response_id=GREETING_RESPONSE_ID, content=greeting_for(opened), content_complete=True
                )
                self._queue(GREETING_RESPONSE_ID, greeting.to_json())
                self._log.info(
                    "LLM WebSocket for {}: greeted (call {})", self._retell_call_id, opened.call_id
                )
            else:
                self._log.info(
                    "LLM WebSocket for {}: call {} resumed (last response {}), no greeting",
                    self._retell_call_id,
                    opened.call_id,
                    opened.last_response_id,
                )
        return opened

    # -- responses -------------------------------------------------------------------------------------

    async def _respond(self, request: ResponseRequired | ReminderRequired) -> None:
        received = time.perf_counter()
        try:
            # Shielded: a newer request cancels this task, never the opening that every request shares.
            opened = await asyncio.shield(self._open(None))
        except asyncio.CancelledError:
            raise
        except Exception:
            return
        # Not shielded: a newer request cancels the wait on the LLM along with this task.
        heard = await self._hear(opened, request)
        try:
            # Shielded: once decided, the turn is stored and remembered even if a newer request arrives.
            reply = await asyncio.shield(self._decide(opened, request, heard))
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("LLM WebSocket for {}: could not store the turn", self._retell_call_id)
            # The final chunk never goes out: Retell reconnects and the turn is decided again from what
            # was stored; an action that was not stored was never issued.
            self._close(CLOSE_INTERNAL_ERROR)
            return
        if request.response_id != self._newest_id:
            return
        self._queue(request.response_id, final_chunk(request.response_id, reply))
        self._log.debug(
            "response {} complete in {:.1f} ms", request.response_id, (time.perf_counter() - received) * 1000
        )

    async def _hear(
        self, opened: OpenedCall, request: ResponseRequired | ReminderRequired
    ) -> dict[str, Any] | None:
        """The LLM reader's slots for the newest utterance, within its budget; None means rules only.

        Rules decide the emergency switch first: an utterance they read as an emergency, or a call already
        in one, never waits on the LLM.
        """
        if self._reader is None or not isinstance(request, ResponseRequired):
            return None
        said, asked = newest_exchange(request.transcript)
        state = self._state or opened.state
        if not said or state.mode != "check_in" or detect_emergency(said) is not None:
            return None
        instructions = _VARIABLE.sub(
            lambda m: _values(opened).get(m.group(1), m.group(0)), opened.instructions
        )
        started = time.perf_counter()
        heard = await self._reader.hear(instructions=instructions, utterance=said, asked=asked)
        self._log.debug(
            "response {}: llm reader gave {} slot(s) in {:.0f} ms",
            request.response_id,
            len(heard) if heard is not None else "no",
            (time.perf_counter() - started) * 1000,
        )
        return heard

    async def _decide(
        self,
        opened: OpenedCall,
        request: ResponseRequired | ReminderRequired,
        heard: Mapping[str, Any] | None = None,
    ) -> Reply:
        """The policy's reply: its words queued at once, then the turn stored; the caller ends the request.

        Under the turn lock, so turns are decided and stored in order, each from the state before it.
        """
        async with self._turn_lock:
            prior = self._state or opened.state
            event: Event = (
                DriverTurn(transcript=request.transcript)
                if isinstance(request, ResponseRequired)
                else Reminder(transcript=request.transcript)
            )
            try:
                state, reply = self._policy.step(prior, opened.facts, event, heard)
            except Exception:
                self._log.exception("LLM WebSocket for {}: the policy failed", self._retell_call_id)
                reply = Reply(content=FALLBACK_REPLY)
                self._send_words(request.response_id, reply)
                return reply  # nothing stored: nothing was decided
            state, reply = once_per_call(prior, state, reply)
            try:
                live = self._policy.live_result(state)
            except Exception:
                self._log.exception("LLM WebSocket for {}: live_result failed", self._retell_call_id)
                live = None
            # The words go out before the turn is stored: they are not a side effect, and the store (a
            # database round trip) would otherwise hold back the first sentence. The action waits for it.
            self._send_words(request.response_id, reply)
            await self._store.save_turn(
                opened.call_id, state=state, response_id=request.response_id, live_result=live
            )
            self._state = state
            return reply

    def _send_words(self, response_id: int, reply: Reply) -> None:
        """The reply's settings change and its words, sentence by sentence, none of them complete."""
        if response_id != self._newest_id:
            return  # superseded: the writer would drop them anyway
        if reply.interruption_sensitivity is not None:
            settings = AgentSettings(interruption_sensitivity=reply.interruption_sensitivity)
            self._queue(response_id, UpdateAgentMessage(agent_config=settings).to_json())
        if not reply.content.strip():
            return
        acting = reply.end_call or reply.transfer_number is not None
        for part in chunks_of(reply.content):
            message = ResponseMessage(
                response_id=response_id,
                content=part,
                content_complete=False,
                # The action runs after the content is spoken; an interruption must not drop it.
                no_interruption_allowed=True if acting else None,
            )
            self._queue(response_id, message.to_json())


def final_chunk(response_id: int, reply: Reply) -> str:
    """The request's one `content_complete`, empty (the words went out before), carrying the action if any."""
    acting = reply.end_call or reply.transfer_number is not None
    return ResponseMessage(
        response_id=response_id,
        content="",
        content_complete=True,
        no_interruption_allowed=True if acting else None,
        end_call=True if reply.end_call else None,
        transfer_number=reply.transfer_number,
    ).to_json()


def once_per_call(prior: DialogueState, state: DialogueState, reply: Reply) -> tuple[DialogueState, Reply]:
    """Each side effect at most once per call, and never two in one reply.

    Retell may ask again after discarding a response: an action already issued (recorded in `done`, which
    is stored before the chunk carrying the action is sent) is not issued again. A transfer wins over a
    hang-up.
    """
    end_call, transfer = reply.end_call, reply.transfer_number
    if transfer is not None and end_call:
        logger.warning("the policy asked for a transfer and a hang-up together: transferring only")
        end_call = False
    if transfer is not None and "transfer" in prior.done:
        transfer = None
    if end_call and "end_call" in prior.done:
        end_call = False
    done = list(state.done)
    for action, issued in (("transfer", transfer is not None), ("end_call", end_call)):
        if issued and action not in done:
            done.append(action)
    if done != state.done:
        state = state.model_copy(update={"done": done})
    if (end_call, transfer) != (reply.end_call, reply.transfer_number):
        reply = reply.model_copy(update={"end_call": end_call, "transfer_number": transfer})
    return state, reply
