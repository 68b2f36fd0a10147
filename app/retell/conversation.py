"""One simulated call over the LLM WebSocket: a reactive driver talking to the engine, as Retell relays it.

`plan_case` describes a call (persona, variant, hard-case behaviour, context); `run_conversation` plays it
against `<llm_websocket_url>/{call_id}` and returns what happened turn by turn; `judge` compares the live
result the engine stored with the driver's facts and with what the hard cases require.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from app.retell.llm_socket import (
    AgentReply,
    RequestKind,
    RetellSocket,
    SocketClosed,
    SocketTimeout,
    closed_quietly,
    words_of,
)
from app.retell.personas.reactive import (
    HARD_NEGATIVE_TRAFFIC,
    VARIANTS,
    DriverFacts,
    ReactiveDriver,
    asks_of,
    draw_facts,
    is_emergency_protocol,
)

MAX_AGENT_TURNS = 24
# Retell reconnects a few times after an abnormal close (an internal error is 1011), then gives up.
RECONNECT_ATTEMPTS = 2
RECONNECT_PAUSE_SECONDS = 0.5
CHECK_IN_TURN_LIMIT = 12
GPS_CONTEXTS = (
    ("I-10 near Tucson, AZ", "I-10"),
    ("I-40 near Flagstaff, AZ", "I-40"),
    ("I-80 near Cheyenne, WY", "I-80"),
    ("I-35 near Waco, TX", "I-35"),
)


@dataclass(frozen=True)
class ConversationCase:
    """One call to simulate."""

    name: str
    persona: str
    variant: str = "plain"
    behaviour: str | None = None
    alarm_at: int = 1  # the driver answer (0 = first) that reports the emergency; -1: the one about the ETA
    hard_negative: int | None = None  # which emergency-sounding traffic delay (HARD_NEGATIVE_TRAFFIC)
    context: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    driver_name: str = "Mike Johnson"
    load_number: str = "SIM-1001"

    @property
    def kind(self) -> str:
        if self.behaviour:
            return self.behaviour.split("_")[0]
        if self.hard_negative is not None:
            return "hard_negative"
        return self.variant

    def driver(self) -> ReactiveDriver:
        rng = random.Random(f"{self.name}/{self.seed}")
        facts = draw_facts(
            self.persona,
            driver_name=self.driver_name,
            load_number=self.load_number,
            context=dict(self.context),
            rng=rng,
            hard_negative=self.hard_negative,
            gps=(
                "conflicts"
                if self.behaviour in ("gps_stands_by", "gps_corrects")
                else "agrees"
                if self.behaviour == "gps_agrees"
                else None
            ),
        )
        return ReactiveDriver(
            facts, variant=self.variant, rng=rng, behaviour=self.behaviour, alarm_at=self.alarm_at
        )


@dataclass
class Conversation:
    """What happened on one simulated call."""

    case: ConversationCase
    call_id: str
    facts: DriverFacts
    transcript: list[dict[str, Any]] = field(default_factory=list)
    agent_turns: int = 0
    ending: str = "none"  # transfer, end_call, max_turns, error
    transfer_number: str | None = None
    alarm_reply: int | None = None  # the agent turn that answered the emergency report
    emergency_next: bool | None = None  # that reply left the check-in
    emergency_turn: int | None = None  # the first agent turn in the emergency protocol
    reminders: int = 0
    repeat_requests_in_a_row: int = 0
    gps_questions: int = 0
    asks: list[list[str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_chunk_ms: list[float] = field(default_factory=list)
    greetings: int = 0
    connections: int = 0
    error_reconnects: int = 0  # reconnects after the engine closed abnormally (e.g. 1011)
    update_agent: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def transcript_text(self) -> str:
        return "".join(
            f"{'Agent' if t['role'] == 'agent' else 'User'}: {t['content']}\n" for t in self.transcript
        )

    def transcript_object(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self.transcript]


async def run_conversation(
    llm_websocket_url: str,
    case: ConversationCase,
    *,
    call_id: str,
    call: dict[str, Any] | None = None,
    wait_seconds: float = 10.0,
    ping_interval: float = 2.0,
) -> Conversation:
    """Play `case` on `<llm_websocket_url>/{call_id}` until the agent hangs up, transfers, or it runs long."""
    driver = case.driver()
    started = time.perf_counter()
    variables = {
        "driver_name": case.driver_name,
        "load_number": case.load_number,
        **dict(case.context),
    }
    call_object = call or {
        "call_id": call_id,
        "agent_id": "agent_sim",
        "call_type": "phone_call",
        "direction": "outbound",
        "metadata": {},
        "retell_llm_dynamic_variables": variables,
    }
    record = Conversation(case=case, call_id=call_id, facts=driver.facts)
    socket = RetellSocket(llm_websocket_url, call_object, timeout=wait_seconds, ping_interval=ping_interval)
    clock = 0.0

    def add(role: str, content: str) -> None:
        nonlocal clock
        if not content:
            return
        if record.transcript and record.transcript[-1]["role"] == role == "user":
            # The driver kept talking with the agent silent: one utterance, as Retell transcribes it.
            last = record.transcript[-1]
            content = f"{last['content']} {content}"
            record.transcript.pop()
        words, clock = words_of(content, clock)
        record.transcript.append({"role": role, "content": content, "words": words})

    async def ask(kind: RequestKind = "response_required") -> AgentReply:
        """A request as Retell retries it: after an abnormal close, reconnect (auto_reconnect), ask again."""
        for attempt in range(RECONNECT_ATTEMPTS + 1):
            try:
                return await socket.request(record.transcript, kind)
            except SocketClosed:
                if socket.close_code == 1000 or attempt == RECONNECT_ATTEMPTS:
                    raise
                record.error_reconnects += 1
                await socket.drop()
                await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
                await socket.connect(expect_greeting=socket.greetings == 0)
        raise AssertionError("unreachable")

    async def open_call() -> AgentReply:
        for attempt in range(RECONNECT_ATTEMPTS + 1):
            try:
                reply = await socket.connect()
                assert reply is not None
                return reply
            except SocketClosed:
                if attempt == RECONNECT_ATTEMPTS:
                    raise
                record.error_reconnects += 1
                await socket.drop()
                await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
        raise AssertionError("unreachable")

    def took(reply: AgentReply) -> None:
        if reply.first_chunk_seconds is not None:
            record.first_chunk_ms.append(reply.first_chunk_seconds * 1000)

    try:
        reply = await open_call()
        took(reply)
        add("agent", reply.content)
        record.agent_turns = 1
        repeats = 0
        while not reply.ends_call:
            if record.agent_turns >= MAX_AGENT_TURNS:
                record.ending = "max_turns"
                break
            alarm_before = driver.alarm_given_at
            move = driver.respond(reply.content)
            if move.action == "silence":
                record.reminders += 1
                reply = await ask("reminder_required")
            elif move.action == "interrupt" and move.second:
                add("user", move.text)
                await socket.update_only(record.transcript)
                first = socket.ask(record.transcript)
                partial = await socket.first_chunk(first, wait_seconds)
                # The driver talks over the agent: Retell keeps what was said so far, then asks again.
                add("agent", partial.content)
                add("user", move.second)
                reply = await ask()
            else:
                if move.action == "reconnect_then_say":
                    await socket.drop()
                    await socket.connect(expect_greeting=False)
                add("user", move.text)
                reply = await ask()
            took(reply)
            add("agent", reply.content)
            record.agent_turns += 1
            transferred = reply.transfer_number is not None
            if alarm_before is None and driver.alarm_given_at is not None:
                record.alarm_reply = record.agent_turns - 1
                record.emergency_next = is_emergency_protocol(reply.content, transferred)
            protocol = is_emergency_protocol(reply.content, transferred)
            if record.emergency_turn is None and protocol and (driver.in_emergency or transferred):
                record.emergency_turn = record.agent_turns - 1
            repeats = repeats + 1 if "repeat" in asks_of(reply.content) else 0
            record.repeat_requests_in_a_row = max(record.repeat_requests_in_a_row, repeats)
        if reply.ends_call:
            record.ending = "transfer" if reply.transfer_number else "end_call"
            record.transfer_number = reply.transfer_number
    except (SocketClosed, SocketTimeout) as exc:
        record.ending = "error"
        record.error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a harness must report a broken call, not stop the run
        record.ending = "error"
        record.error = f"{type(exc).__name__}: {exc}"
        logger.opt(exception=exc).warning("simulated conversation {} failed", call_id)
    finally:
        await closed_quietly(socket)
    record.violations = list(socket.violations)
    record.problems = list(driver.problems) + _repeated_sentences(record.transcript)
    record.asks = driver.asked_log
    record.gps_questions = driver.gps_questions
    record.greetings = socket.greetings
    record.connections = socket.connections
    record.update_agent = socket.update_agent
    record.seconds = time.perf_counter() - started
    return record


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _repeated_sentences(transcript: list[dict[str, Any]]) -> list[str]:
    said = Counter(
        sentence.strip().lower()
        for turn in transcript
        if turn["role"] == "agent"
        for sentence in _SENTENCE.split(turn["content"])
        if len(sentence.split()) > 2
    )
    return [f"agent said {sentence!r} {n} times" for sentence, n in said.items() if n > 1]


# ---------------------------------------------------------------------------------------------------------
# Judging a conversation against the facts and the hard-case rules
# ---------------------------------------------------------------------------------------------------------


_CLOSED_QUESTION = re.compile(r"\byes or no\b|^(are|is|do|did|can|will|would|have|has)\b", re.I)
_YES_NO = re.compile(r"^(yes|yeah|yep|yup|no|nope|nah)[.!]?$", re.I)


def hang_up_turn(transcript: list[dict[str, Any]]) -> int | None:
    """The agent turn (1-based) that must close an uncooperative call: the one after 3 non-answers in a row.

    A one-word reply is a non-answer, except a yes or no to a closed question ("Are you driving, yes or no?").
    """
    in_a_row, agent_turns, question = 0, 0, ""
    for turn in transcript:
        if turn["role"] == "agent":
            agent_turns += 1
            asked = [part for part in _SENTENCE.split(turn["content"].strip()) if part.endswith("?")]
            question = asked[-1] if asked else ""
            if in_a_row >= 3:
                return agent_turns
            continue
        said = turn["content"].strip()
        answered = len(said.split()) > 1 or (_YES_NO.match(said) and _CLOSED_QUESTION.search(question))
        in_a_row = 0 if answered else in_a_row + 1
    return agent_turns + 1 if in_a_row >= 3 else None


@dataclass
class Verdict:
    fields: dict[str, bool]  # field -> captured live as the facts say
    checks: dict[str, bool]  # rule -> held
    flags: dict[str, Any]
    live: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.fields.values()) and all(self.checks.values())


def _field_ok(name: str, expected: Any, live: dict[str, Any]) -> bool:
    value = live.get(name)
    if value is None:
        return False
    if expected is True and name in ("safety_status", "escalation_status"):
        return bool(value)
    if isinstance(expected, bool):
        return value is expected
    if isinstance(expected, tuple):  # any of these is right
        return any(str(option).lower() in str(value).lower() for option in expected)
    if name in ("driver_status", "delay_reason", "emergency_type", "call_outcome"):
        return str(value).lower() == str(expected).lower()
    if name == "injury_status":
        text = str(value).lower()
        return ("no " in f"{text} " or text.startswith("no")) if expected == "no" else "injur" in text
    return str(expected).lower() in str(value).lower()


def judge(conversation: Conversation, live: dict[str, Any] | None) -> Verdict:
    """What the engine got right on this call: fields captured live, and the rules of its kind."""
    case, facts = conversation.case, conversation.facts
    live = live or {}
    checks: dict[str, bool] = {"no protocol violations": not conversation.violations}
    checks["finished"] = conversation.ending in ("transfer", "end_call")
    fields: dict[str, bool] = {}
    behaviour = case.behaviour
    if behaviour is None:
        fields = {name: _field_ok(name, value, live) for name, value in facts.expected().items()}
        checks["driver saw no policy mistakes"] = not conversation.problems
        if facts.emergency_type:
            checks["emergency protocol in the very next response"] = conversation.emergency_next is True
            checks["ends in a transfer"] = conversation.ending == "transfer"
        else:
            checks["no false emergency"] = (
                conversation.emergency_turn is None and conversation.ending == "end_call"
            )
            checks[f"at most {CHECK_IN_TURN_LIMIT} agent turns"] = (
                conversation.agent_turns <= CHECK_IN_TURN_LIMIT
            )
        if case.variant == "reconnect":
            checks["resumed without a second greeting"] = (
                conversation.greetings == 1 and conversation.connections == 2 + conversation.error_reconnects
            )
    elif behaviour == "uncooperative":
        per_slot = Counter(
            slot for asks in conversation.asks for slot in asks if slot not in ("nudge", "repeat")
        )
        checks["at most 2 re-asks per slot"] = all(n <= 3 for n in per_slot.values())
        checks["hangs up after 3 non-answers in a row"] = conversation.ending == "end_call" and (
            conversation.agent_turns == hang_up_turn(conversation.transcript)
        )
        checks["follow_up_reason uncooperative"] = live.get("follow_up_reason") == "uncooperative"
    elif behaviour == "silent":
        checks["hangs up after 2 unanswered reminders"] = (
            conversation.ending == "end_call" and 2 <= conversation.reminders <= 3
        )
        checks["follow_up_reason uncooperative"] = live.get("follow_up_reason") == "uncooperative"
    elif behaviour == "noisy":
        checks["asks to repeat at most 2 times"] = conversation.repeat_requests_in_a_row == 2
        checks["then ends, dispatcher calls back"] = conversation.ending == "end_call"
        checks["follow_up_reason noisy_line"] = live.get("follow_up_reason") == "noisy_line"
    elif behaviour == "noisy_recovers":
        checks["asks to repeat at most 2 times"] = conversation.repeat_requests_in_a_row == 2
        checks["completes the check-in"] = conversation.ending == "end_call" and live.get("eta") is not None
    elif behaviour == "noisy_emergency":
        checks["emergency protocol in the very next response"] = conversation.emergency_next is True
        checks["asks to repeat at most 2 times"] = conversation.repeat_requests_in_a_row <= 2
        checks["then transfers"] = conversation.ending == "transfer"
    elif behaviour in ("gps_stands_by", "gps_corrects"):
        checks["one non-accusing GPS question"] = conversation.gps_questions == 1 and not any(
            "accusing" in p for p in conversation.problems
        )
        checks["location_conflict recorded"] = live.get("location_conflict") is True and bool(
            live.get("gps_location")
        )
        fields = {
            "current_location": live.get("current_location") is not None,
            "eta": live.get("eta") is not None,
        }
    elif behaviour == "gps_agrees":
        checks["no GPS question"] = conversation.gps_questions == 0
        checks["no location_conflict"] = not live.get("location_conflict")
        fields = {"current_location": live.get("current_location") is not None}
    flags = {
        "follow_up_reason": live.get("follow_up_reason"),
        "location_conflict": live.get("location_conflict"),
        "gps_location": live.get("gps_location"),
    }
    expected = facts.expected() if behaviour is None else {}
    return Verdict(fields=fields, checks=checks, flags=flags, live=live, expected=expected)


# ---------------------------------------------------------------------------------------------------------
# The harness's catalogue
# ---------------------------------------------------------------------------------------------------------

CHECK_IN_PERSONAS = (
    "on_time",
    "traffic_delay",
    "weather_delay",
    "unloading_pod",
    "waiting_lumper",
    "waiting_door",
)
EMERGENCY_PERSONAS = ("blowout", "accident_injury", "medical", "deer_strike", "engine_fire")
ROUTE_CONTEXT = (("origin", "Phoenix, AZ"), ("destination", "Dallas, TX"))
DRIVERS = ("Mike Johnson", "Sarah Lee", "Carlos Ramirez", "Linda Park", "Tom Becker", "Dave Miller")


def _context(gps: str | None = None) -> tuple[tuple[str, str], ...]:
    return (*ROUTE_CONTEXT, ("gps_location", gps)) if gps else ROUTE_CONTEXT


# The scripted personas' hard cases, as reactive behaviours.
_PERSONA_BEHAVIOUR = {
    "uncooperative": "uncooperative",
    "noisy_line": "noisy_recovers",
    "gps_conflict": "gps_stands_by",
}


def case_for_persona(
    persona: str, *, driver_name: str, load_number: str, context: dict[str, str], seed: str
) -> ConversationCase:
    """A simulated `persona` call's conversation with the engine (SimulatedRetell's custom_llm calls)."""
    return ConversationCase(
        name=f"{persona}/simulated",
        persona=persona,
        behaviour=_PERSONA_BEHAVIOUR.get(persona),
        context=tuple(sorted(context.items())),
        seed=sum(seed.encode()),
        driver_name=driver_name,
        load_number=load_number,
    )


def all_cases() -> list[ConversationCase]:
    """Every persona in every variant, emergencies at every point of the check-in, and the hard cases."""
    cases: list[ConversationCase] = []

    def add(name: str, persona: str, **kwargs: Any) -> None:
        n = len(cases)
        cases.append(
            ConversationCase(
                name,
                persona,
                driver_name=DRIVERS[n % len(DRIVERS)],
                load_number=f"SIM-{1000 + n}",
                seed=n,
                **{"context": _context(), **kwargs},
            )
        )

    for persona in (*CHECK_IN_PERSONAS, *EMERGENCY_PERSONAS):
        for variant in VARIANTS:
            # An interrupting emergency driver cuts the agent off with the emergency itself.
            alarm_at = 2 if variant == "interruption" else 1
            add(f"{persona}/{variant}", persona, variant=variant, alarm_at=alarm_at)
    for persona in EMERGENCY_PERSONAS:
        # -1: when asked for the ETA, the last check-in question.
        for alarm_at, when in ((0, "first"), (2, "mid"), (-1, "last")):
            add(f"{persona}/alarm_{when}_answer", persona, alarm_at=alarm_at)
    for index in range(len(HARD_NEGATIVE_TRAFFIC)):
        for variant in ("plain", "paraphrased"):
            add(f"hard_negative/{index + 1}/{variant}", "traffic_delay", hard_negative=index, variant=variant)
    for n in range(4):
        add(f"uncooperative/one_word/{n + 1}", "uncooperative", behaviour="uncooperative")
    for n in range(2):
        add(f"uncooperative/silent/{n + 1}", "uncooperative", behaviour="silent")
    for n in range(3):
        add(f"noisy_line/persistent/{n + 1}", "noisy_line", behaviour="noisy")
        add(f"noisy_line/recovers/{n + 1}", "noisy_line", behaviour="noisy_recovers")
    for n in range(2):
        add(f"noisy_line/emergency/{n + 1}", "blowout", behaviour="noisy_emergency")
    for n, (gps, _) in enumerate(GPS_CONTEXTS):
        context = _context(gps)
        add(f"gps_conflict/stands_by/{n + 1}", "gps_conflict", behaviour="gps_stands_by", context=context)
        add(f"gps_conflict/corrects/{n + 1}", "gps_conflict", behaviour="gps_corrects", context=context)
        add(f"gps_conflict/agrees/{n + 1}", "on_time", behaviour="gps_agrees", context=context)
    return cases
