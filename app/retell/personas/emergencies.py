"""Emergency scripts: a normal check-in the driver interrupts, then safety questions and a transfer."""

from __future__ import annotations

from app.retell.personas.call import _Call
from app.retell.personas.model import ScriptedCall


def _interrupted_start(c: _Call, alarms: tuple[str, ...]) -> None:
    c.opening()
    style = c.rng.randrange(3)
    if style == 0:
        c.user(
            f"Yeah, I'm {c.on_road()}, should be in {c.destination} in about",
            f"Hey. Going alright, headed to {c.destination}, I just passed",
        )
        c.user(*alarms)
    elif style == 1:
        c.user(f"Hey, I'm {c.on_road()}.", f"Doing okay. I'm {c.on_road()}.")
        c.agent(
            f"Thanks {c.first}. And what's your ETA to {c.destination}",
            f"Good. Are you still on track for {c.destination} by",
        )
        c.user(*alarms)
    else:
        c.user(*(f"I'm {c.on_road()}, heading to {c.destination}, and uh... {alarm}" for alarm in alarms))


def _transfer(c: _Call, why: str) -> None:
    c.agent(
        f"Okay. I'm connecting you to a human dispatcher now {why}. Please stay on the line.",
        f"Thank you, {c.first}. Stay on the line, I'm transferring you to a human dispatcher {why}.",
        f"Hang tight. I'm connecting you with a human dispatcher {why}, please don't hang up.",
    )


def _blowout(c: _Call) -> ScriptedCall:
    _interrupted_start(
        c,
        (
            "Whoa, hold on, hold on. Just blew a tire, I'm pulling over.",
            "Oh man. Hang on, I think I just lost a tire. Getting onto the shoulder.",
            "Shoot, hold up, that was a blowout. Gotta get this thing stopped.",
        ),
    )
    c.agent(
        f"Okay {c.first}, take your time. First, are you safe? Is anyone hurt?",
        f"Alright {c.first}, safety first. Are you safe, is anybody injured?",
        "Okay, get it stopped safely. Once you're off the road, is everyone safe? Any injuries?",
    )
    c.user(
        "I'm okay. Nobody's hurt, I got it onto the shoulder.",
        "Yeah, I'm fine, just shook up a little. No one got hurt.",
        "I'm good, no injuries. Stopped on the shoulder with my flashers on.",
    )
    c.agent(
        "Good. Can you tell me exactly where you are?",
        "Glad you're okay. What's your exact location, highway and mile marker if you can see one?",
        "Thank you. Where exactly are you right now, nearest mile marker or exit?",
    )
    c.user(c.exact_spot())
    tire = c.pick("the right rear trailer tire", "a steer tire", "one of the drive tires")
    c.agent(
        "Thanks. Is the load secure?",
        "Got it. How's the trailer, is the load still secure?",
        "Okay. Did anything shift back there, is the load secure?",
    )
    c.user(
        "Yeah, trailer's fine, load's secure.",
        "Load's good, seal's still on, nothing moved.",
        f"Yep, it was {tire}. Load is secure.",
    )
    _transfer(c, "so we can get a tire service out to you")
    summary = (
        f"During a check call on load {c.load}, {c.first} had a tire blowout at {c.exact_where}; "
        "no one was hurt, the load is secure, and the call was transferred to a human dispatcher."
    )
    return c.end("call_transfer", summary, "Negative")


def _accident_injury(c: _Call) -> ScriptedCall:
    _interrupted_start(
        c,
        (
            "Oh no. Hold on, a car just came over into my lane and hit me.",
            "Hang on, hang on, somebody just slammed into my trailer.",
            "Whoa! Sorry, I just got hit, some pickup ran the light.",
        ),
    )
    c.agent(
        f"Okay {c.first}, are you safe right now? Are you or anyone else hurt?",
        f"{c.first}, first thing, are you safe? Any injuries to you or the other driver?",
        "Alright, stay calm. Are you in a safe spot, and is anyone hurt?",
    )
    injury = c.pick(
        "I hit my head on the window, there's some blood",
        "my wrist is killing me, I think I jammed it on the wheel",
        "I got a cut on my arm from the glass and my neck's real sore",
    )
    c.user(
        f"I'm, uh... {injury}. The other guy's out of his car walking around.",
        f"Yeah, I'm hurt, {injury}. Other driver looks okay.",
    )
    c.agent(
        "If you need medical help, call 911 right away, that comes first. Do you need an ambulance?",
        "Please don't move around more than you have to. Has anyone called 911?",
    )
    c.user(
        "Cops are already on the way, I'll let the medics look at it.",
        "Somebody called 911 already, they're sending an ambulance.",
        "I called 911, they're coming.",
    )
    c.agent(
        "Good. Can you tell me exactly where you are?",
        "Okay. What's your exact location, so we can send help too?",
    )
    c.user(c.exact_spot())
    c.agent(
        "Thank you. Is the truck off the road, and is the load secure?",
        "Got it. Is the load secure, and is the trailer still upright?",
    )
    c.user(
        "Truck's on the shoulder. Trailer's upright, load looks secure from what I can see.",
        "I think so, doors are still shut and nothing spilled. Load should be secure.",
    )
    _transfer(c, "and they'll stay with you until help arrives")
    summary = (
        f"During a check call on load {c.load}, {c.first} was in a collision at {c.exact_where} and reported "
        "an injury; the load appears secure and the call was transferred to a human dispatcher."
    )
    return c.end("call_transfer", summary, "Negative")


def _medical(c: _Call) -> ScriptedCall:
    _interrupted_start(
        c,
        (
            "Actually, hold on. I'm not feeling right, my chest is real tight. I'm gonna pull over.",
            "Sorry, give me a second. I'm getting really dizzy, I need to get off the road.",
            "Hang on... my chest is hurting bad, I'm pulling onto the shoulder.",
        ),
    )
    c.agent(
        f"Okay {c.first}, your safety comes first. Are you stopped somewhere safe? Are you hurt?",
        f"{c.first}, take it easy and get stopped. Are you safe? Any injuries, did you hit anything?",
    )
    c.user(
        "I'm on the shoulder. Didn't hit anything. It's my chest, it's tight and my left arm's tingling.",
        "Yeah, I'm stopped, didn't hit nothing. I'm just dizzy, everything's kind of spinning.",
        "I'm pulled over. Not hurt, just... chest pain, and I'm sweating a lot.",
    )
    c.agent(
        "If the pain gets worse or you have trouble breathing, call 911 right away. "
        "Can you tell me exactly where you are so we can send help?",
        "Okay. We'll get medical help headed your way. What's your exact location?",
    )
    c.user(c.exact_spot())
    c.agent(
        "Thank you. Is the truck secure, brake set, and is the load secure?",
        "Got it. Is the parking brake set and the load secure?",
    )
    c.user(
        "Brake's set, flashers on. Load's fine.",
        "Yeah, brake's on. Load is secure.",
    )
    _transfer(c, "and we'll get medical help to you")
    summary = (
        f"During a check call on load {c.load}, {c.first} reported chest pain and dizziness and pulled "
        f"over at {c.exact_where}; the load is secure and the call was transferred to a human dispatcher."
    )
    return c.end("call_transfer", summary, "Negative")
