"""Difficult-call scripts: an uncooperative driver, a noisy line, and a location that conflicts with GPS."""

from __future__ import annotations

import re

from app.retell.personas.call import _Call, _cap, _close, _eta
from app.retell.personas.lanes import _LANES
from app.retell.personas.model import ScriptedCall

# The interstate in a GPS reading, so the wrong town the driver names is on the same road.
_HIGHWAY = re.compile(r"\b(I-\d+)\b")


def _uncooperative(c: _Call) -> ScriptedCall:
    c.opening()
    c.user("Driving.", "Fine.", "Rolling.", "Yeah.")
    c.agent(
        "Thanks. Where are you right now?",
        "Okay. What highway are you on?",
        "Got it. Can you tell me where you are?",
    )
    c.user("Road.", "Highway.", "Around.", "Somewhere.")
    c.agent(
        f"Could you give me the nearest city or a mile marker? And are you still on schedule for "
        f"{c.destination}?",
        f"Even a rough idea helps. Which city are you near, and when do you expect to reach {c.destination}?",
    )
    c.user("Busy.", "Dunno.", "Maybe.", "Later.")
    if c.rng.random() < 0.5:
        c.agent(
            "Just a ballpark ETA would help me update the customer.",
            "Is there anything slowing you down that I should know about?",
        )
        c.user("Nope.", "Can't.", "No.")
    c.agent(
        f"No problem, {c.first}. I'll let you focus on the road. Please call us back when you're stopped.",
        "Understood, I won't keep you. Give us a call when you have a minute. Thanks, bye for now.",
        f"Okay {c.first}, I'll try you again later. Drive safe.",
    )
    summary = (
        f"{c.first} gave only one-word answers about load {c.load} and shared no location or ETA, "
        "so the agent ended the call politely."
    )
    return c.end("agent_hangup", summary, "Negative")


def _noisy_line(c: _Call) -> ScriptedCall:
    garbled = (
        "[inaudible] ...on the ...[noise]",
        "Yeah... [static] ...about ...[inaudible]",
        "...near [inaudible] ...the ...[wind noise]",
        "[noise] ...hear me? ...[inaudible] ...exit",
    )
    c.opening()
    c.user(*garbled)
    repeats = c.rng.randint(1, 2)
    c.agent(
        f"Sorry {c.first}, you're breaking up. Could you repeat that?",
        f"Sorry {c.first}, it's pretty noisy on my end. Where did you say you are?",
        "I missed that, the line's bad. Could you say it again?",
    )
    if repeats == 2:
        c.user(*garbled)
        c.agent(
            "Still having trouble hearing you. One more time, what city are you near?",
            "Sorry, it's still cutting out. Can you tell me the highway and nearest town?",
        )
    c.user(
        f"Can you hear me now? Window was down. I'm {c.on_road()}.",
        f"Sorry about that, had the window open. I'm {c.on_road()}.",
        f"I said I'm {c.on_road()}.",
    )
    c.agent(
        f"Got it, {c.where}. Any delays?",
        f"That's much better, thanks. {c.where}. Everything on schedule?",
    )
    eta = _eta(c.rng, late=False)
    c.user(
        f"No delays, on schedule. I'll be in {c.destination} {eta}.",
        f"Nope, all good. Should hit {c.destination} {eta}.",
    )
    reason = _close(
        c,
        (
            f"Great, thanks {c.first}. Safe travels.",
            f"Perfect, {eta} it is. Thanks {c.first}.",
        ),
    )
    summary = (
        f"Over a noisy line, {c.first} reported load {c.load} on schedule at {c.where}, "
        f"arriving in {c.destination_full} {eta}."
    )
    return c.end(reason, summary, "Neutral")


def _stated_town(c: _Call) -> str:
    """The wrong place the driver names first: the town before the GPS position, or another one."""
    if not c.gps:
        return c.previous_town
    highway = _HIGHWAY.search(c.gps)
    lanes = [lane for lane in _LANES if highway and lane.highway == highway.group(1)] or [c.lane]
    towns = [town for lane in lanes for town, _ in lane.towns if town.lower() not in c.gps.lower()]
    return c.rng.choice(towns)


def _gps_conflict(c: _Call) -> ScriptedCall:
    stated = _stated_town(c)
    gps = c.gps or c.pick(
        f"{c.highway} {c.direction} near {c.town}, {c.state}",
        f"{c.highway} exit {c.exit_number}, {c.town}, {c.state}",
    )
    c.opening()
    c.user(
        f"I'm just outside {stated}, headed {c.direction.removesuffix('bound')} on {c.highway}.",
        f"Hey. I'm around {stated} right now.",
        f"Uh, I'm coming up on {stated}, everything's fine.",
    )
    c.agent(
        f"Thanks {c.first}. Our GPS is showing the truck at {gps}, though. Could you double-check for me?",
        f"Okay. I'm seeing {gps} on our GPS. Can you double-check where you are?",
        f"Hmm, the GPS tracking has you at {gps}. Mind taking a quick look?",
    )
    c.user(
        f"Oh, yeah, you're right, I'm already past {stated}. Sorry, {gps} is correct.",
        f"Huh, hang on... yeah, my mistake, I was thinking of where I fueled up. {gps}, that's right.",
        "Yeah, sorry, long day. The GPS is right, I'm where it says.",
    )
    eta = _eta(c.rng, late=False)
    c.agent(
        f"No problem at all. What's your ETA to {c.destination}?",
        f"Happens to everyone. And when do you expect to reach {c.destination}?",
    )
    c.user(f"Should be there {eta}.", f"{_cap(eta)}, roads are clear.")
    reason = _close(
        c,
        (
            f"Perfect, thanks {c.first}. Drive safe.",
            f"Got it, {eta}. Thanks for checking, {c.first}.",
        ),
    )
    summary = (
        f"{c.first} first said load {c.load} was near {stated}, then confirmed the GPS position at {gps}, "
        f"with an ETA to {c.destination_full} of {eta}."
    )
    return c.end(reason, summary, "Neutral")
