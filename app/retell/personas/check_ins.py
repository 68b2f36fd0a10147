"""Routine check-in scripts: on time, delayed by traffic or weather, unloading, waiting for a lumper."""

from __future__ import annotations

from app.retell.personas.call import _Call, _cap, _close, _eta
from app.retell.personas.model import ScriptedCall

_DELAYS = (
    "about an hour",
    "an hour and a half",
    "a couple of hours",
    "close to three hours",
    "about 45 minutes",
)


def _on_time(c: _Call) -> ScriptedCall:
    c.opening()
    c.user(
        f"Hey, yeah. I'm {c.on_road()}, rolling along.",
        f"Doing good. I'm {c.on_road()}.",
        f"Yep, all good here, I'm {c.on_road()}, making good time.",
        f"Yeah, this is {c.first}. Uh, I'm {c.on_road()}.",
    )
    c.agent(
        f"Good to hear, {c.first}. Anything slowing you down?",
        "Thanks. Any delays I should know about?",
        "Great. Any problems so far?",
    )
    c.user(
        f"Nope, it's been smooth since I left {c.origin}.",
        f"Not a thing. Clear roads all the way out of {c.origin}.",
        f"No delays. Picked up in {c.origin} on time and it's been easy since, knock on wood.",
    )
    eta = _eta(c.rng, late=False)
    c.agent(
        f"What's your ETA to {c.destination}?",
        f"And when do you expect to roll into {c.destination}?",
        f"When are you thinking you'll get to the receiver in {c.destination}?",
    )
    c.user(f"Should be there {eta}.", f"I'm figuring {eta}, maybe a bit sooner.", f"Uh, {eta}, give or take.")
    reason = _close(
        c,
        (
            f"Perfect, {eta}. Thanks {c.first}, drive safe.",
            f"Great, I'll note {eta}. Appreciate it, {c.first}, have a safe one.",
            f"Sounds good. Thanks for the update, {c.first}.",
        ),
    )
    summary = (
        f"{c.first} reported load {c.load} on schedule at {c.where} with no delays, "
        f"expecting to reach {c.destination_full} {eta}."
    )
    return c.end(reason, summary, "Positive")


def _traffic_delay(c: _Call) -> ScriptedCall:
    c.opening()
    c.user(
        f"Yeah, hey. I'm {c.on_road()}, but we're barely moving.",
        f"Still rolling, kind of. I'm {c.on_road()}.",
        f"Hey. I'm {c.on_road()}, sitting in it right now.",
    )
    c.agent(
        f"Thanks {c.first}. How's the drive going, any delays?",
        "Got it. Is anything holding you up?",
        "Okay. Are you running into any delays?",
    )
    delay = c.pick(*_DELAYS)
    c.user(
        f"Yeah, it's bad. They've got it down to one lane for construction around mile marker "
        f"{c.mile_marker}. I'm probably {delay} behind now.",
        f"Traffic's been stop and go for the last thirty miles, there was a wreck and then a work zone on "
        f"top of it. Figure I lost {delay}.",
        f"Honestly it's a parking lot. Rush hour traffic plus construction, I'm running {delay} late.",
        f"Construction. Lane closures everywhere, traffic backed up for miles. Looking at {delay} behind.",
    )
    eta = _eta(c.rng, late=True)
    c.agent(
        f"Understood. What's your new ETA to {c.destination}?",
        f"Sorry to hear it. What are you thinking for a new arrival time in {c.destination}?",
        f"Okay. So when do you expect to get to {c.destination} now?",
    )
    c.user(
        f"Gonna be {eta} now.",
        f"I'd say {eta}, if this clears up.",
        f"Uh, let me think. {_cap(eta)}, probably.",
    )
    if c.rng.random() < 0.5:
        c.agent(
            f"Got it, {eta}. I'll let the receiver know. Anything else going on?",
            f"Okay, I'll update the customer with {eta}. Anything else I should know?",
        )
        c.user("Nope, that's it.", "Nah, just the traffic.", "No, I'm good.")
    reason = _close(
        c,
        (
            f"Thanks {c.first}, drive safe and talk soon.",
            f"Alright {c.first}, hang in there. I'll update the ETA on our side.",
            f"Thanks for the heads up, {c.first}. Be safe out there.",
        ),
    )
    summary = (
        f"{c.first} reported load {c.load} delayed {delay} by traffic and construction at {c.where}, "
        f"with a new ETA to {c.destination_full} of {eta}."
    )
    return c.end(reason, summary, "Neutral")


_WEATHER = {
    "snow": (
        "Snow's really coming down, roads are slick and everybody's doing like 35.",
        "We got snow and ice out here, they just put chain controls up ahead.",
    ),
    "rain": (
        "Heavy rain, I can barely see the lines, so I slowed way down.",
        "A storm rolled through and it's pouring, water standing all over the road.",
    ),
    "wind": (
        "Wind's crazy, there's a high wind warning and the trailer keeps getting pushed around.",
        "Gusts are brutal today, I'm holding it at 50 so I don't get blown over.",
    ),
    "fog": (
        "Fog's so thick I can't see two trucks ahead of me, I'm crawling.",
        "Dense fog this morning, visibility's next to nothing.",
    ),
}


def _weather_delay(c: _Call) -> ScriptedCall:
    c.opening()
    c.user(
        f"Hey. I'm {c.on_road()}, going slow.",
        f"Yeah, I'm {c.on_road()}. It's ugly out here.",
        f"Doing alright, I'm {c.on_road()}.",
    )
    c.agent(
        "Thanks. Any delays on your end?",
        f"Okay {c.first}. How are the roads, anything slowing you down?",
        "Got it. Is everything on schedule?",
    )
    kind = c.pick(*_WEATHER)
    delay = c.pick(*_DELAYS)
    c.user(
        *(f"{line} I'm {delay} behind." for line in _WEATHER[kind]),
        *(f"Not really on schedule, no. {line} Probably lost {delay}." for line in _WEATHER[kind]),
    )
    eta = _eta(c.rng, late=True)
    c.agent(
        f"Please don't push it in that. What's your updated ETA to {c.destination}?",
        f"Safety first, take your time. When do you think you'll make {c.destination}?",
        f"Understood, no rush in that weather. What's your new ETA to {c.destination}?",
    )
    c.user(
        f"If it keeps up like this, {eta}.",
        f"I'm saying {eta}. Might have to pull over if it gets worse though.",
        f"{_cap(eta)}, I think.",
    )
    reason = _close(
        c,
        (
            f"Got it, {eta}. I'll let the receiver know. Stay safe, {c.first}.",
            f"Okay, {eta}. Call us if you need to stop. Drive safe.",
            f"Thanks {c.first}. I'll update the ETA, and be careful out there.",
        ),
    )
    summary = (
        f"{c.first} reported load {c.load} delayed {delay} by {kind} at {c.where}, "
        f"with a new ETA to {c.destination_full} of {eta}."
    )
    return c.end(reason, summary, "Neutral")


def _unloading_pod(c: _Call) -> ScriptedCall:
    door = c.rng.randint(3, 64)
    c.opening()
    c.user(
        f"Hey! Yeah, I made it, I'm at the receiver in {c.destination}.",
        f"I'm here at the receiver in {c.destination}, checked in a little while ago.",
        f"Got to {c.destination} this morning, I'm at the dock now.",
    )
    c.agent(
        "Great. Have they started unloading you yet?",
        "Good news. Are you in a door yet?",
        f"Nice work, {c.first}. Did they get you into a door?",
    )
    c.user(
        f"Yep, door {door}, they started about {c.rng.choice(('ten', 'twenty', 'forty'))} minutes ago.",
        f"Yeah, they backed me into door {door}. Unloading now.",
        f"Door {door}. Forklift's been going for a bit, shouldn't be long.",
    )
    c.agent(
        "Perfect. Once you're empty, please get the signed POD and send us a photo of it.",
        "Sounds good. Don't forget to grab the signed proof of delivery and text us a picture of the POD.",
        "Great. Reminder: we need the signed POD, so snap a picture and send it over when you have it.",
    )
    c.user(
        "Will do, I'll send the POD soon as they sign it.",
        "Yep, I'll take a picture of the POD and send it right over.",
        "Got it, the POD goes out the minute I have it.",
    )
    c.agent(
        f"Thanks {c.first}. Anything else you need from us?",
        f"Appreciate it, {c.first}. Anything else on your end?",
    )
    c.user("Nope, all good. Bye.", "No, that's it. Talk later.", "Nah, I'm good. Thanks, bye.")
    summary = (
        f"{c.first} confirmed arrival at the receiver in {c.destination_full} for load {c.load}, "
        f"unloading in door {door}, and agreed to send the signed POD."
    )
    return c.end("user_hangup", summary, "Positive")


def _waiting_lumper(c: _Call) -> ScriptedCall:
    hour = c.rng.randint(6, 10)
    waited = c.pick("two", "almost three", "three")
    c.opening()
    c.user(
        f"I'm at the receiver in {c.destination}, checked in at {hour}, but I'm stuck waiting on a lumper.",
        f"Yeah, I'm here in {c.destination}. Been sitting a while, no lumper yet.",
        f"Made it to {c.destination}. Problem is they're waiting on the lumper crew.",
    )
    c.agent(
        "Thanks. Have they assigned you a door yet?",
        "Got it. Any word on when the lumper will get to you?",
        "Okay. Did they say how long the wait will be?",
    )
    c.user(
        "No door yet. They said the lumper's finishing another truck and I'm next, supposedly.",
        "Nope. Guy at the window said the lumpers are backed up, maybe another hour or two.",
        "They keep saying soon. Soon was an hour ago.",
    )
    detention = c.rng.random() < 0.5
    if detention:
        c.user(
            f"I've been here {waited} hours already, so we're getting into detention time.",
            f"And it's been {waited} hours now, I want to make sure detention gets paid on this.",
        )
        c.agent(
            "Understood. Make sure your in and out times are on the paperwork, and we'll file for detention "
            "once you're past the free time.",
            "Noted. I'll log your check-in time so we can go after detention. Get your times signed on the "
            "bill of lading.",
        )
        c.user("Yeah, will do.", "Okay, good.", "Alright, thanks.")
    c.agent(
        "When you're unloaded, please send us a photo of the signed POD.",
        "Once they're done, don't forget to send the signed POD.",
    )
    c.user("Yep, I know the drill.", "Will do.", "Yeah, I'll send it.")
    reason = _close(
        c,
        (
            f"Thanks {c.first}, let us know if it drags on much longer.",
            f"Alright {c.first}, call us if anything changes.",
        ),
    )
    extra = f", {waited} hours in and asking about detention" if detention else ""
    summary = (
        f"{c.first} is at the receiver in {c.destination_full} with load {c.load}, "
        f"waiting for a lumper{extra}."
    )
    return c.end(reason, summary, "Negative" if detention else "Neutral")
