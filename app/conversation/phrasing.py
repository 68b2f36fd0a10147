"""What the agent says: short templates with several wordings, never the same sentence twice in a call."""

from __future__ import annotations

import re

# Each key has several wordings; `pick` takes the first one, from a counter-chosen start, whose sentences
# were not said yet in this call. {name} is the driver's first name.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "ack": ("Got it.", "Thanks, {name}.", "Okay.", "Perfect.", "Understood.", "Great, thanks.", "Alright."),
    # Check-in questions.
    "ask.driver_status": (
        "Are you on the road right now, or already at the receiver?",
        "Quick one, {name}: still driving, or have you made it to the receiver?",
        "Are you rolling, or are you at the delivery already?",
    ),
    "ask.current_location": (
        "Where are you right now, {name}?",
        "What's your location at the moment?",
        "Whereabouts are you now?",
    ),
    "ask.eta": (
        "What's your ETA to the receiver?",
        "When do you expect to get there?",
        "What time do you think you'll arrive?",
    ),
    "ask.delay_reason": (
        "Anything slowing you down out there?",
        "Any delays on the way?",
        "Is anything holding you up?",
    ),
    "ask.delay_reason.late": (
        "What's holding you up?",
        "What's causing the delay?",
        "What's slowing you down?",
    ),
    "ask.unloading_status": (
        "Have they got you in a door yet?",
        "How's unloading going, are you in a door?",
        "Are they unloading you, or are you still waiting?",
    ),
    "ask.pod_reminder_acknowledged": (
        "Last thing: please send us a photo of the signed POD once you're done, okay?",
        "Before I let you go, can you send the signed proof of delivery when unloading's done?",
        "One more thing, {name}: snap a picture of the signed POD for us when you have it, alright?",
    ),
    # Narrower, closed follow-ups after a one-word answer.
    "reask.driver_status": (
        "Are you driving right now, yes or no?",
        "Are you at the receiver yet?",
        "Just so I log it right: on the road, or at the delivery?",
    ),
    "reask.current_location.gps": (
        "Are you still on {highway}, or past {city}?",
        "Are you somewhere near {city}?",
        "Would you say you're still around {city}?",
    ),
    "reask.current_location.highway": (
        "Are you still on {highway}?",
        "Which exit or mile marker on {highway} are you near?",
    ),
    "reask.current_location": (
        "Which highway are you on?",
        "What's the nearest town or mile marker?",
        "Just the nearest city is fine.",
    ),
    "reask.eta": (
        "Would you say you'll get there today or tomorrow?",
        "Roughly how many hours out are you?",
        "A rough time is fine: morning, afternoon or evening?",
    ),
    "reask.delay_reason": (
        "Any traffic or weather slowing you down, yes or no?",
        "Is it traffic, weather, or something with the truck?",
        "Are you on schedule, yes or no?",
    ),
    "reask.unloading_status": (
        "Are you in a door yet, yes or no?",
        "Are you waiting on a door or a lumper?",
        "What door number are you in?",
    ),
    "reask.pod_reminder_acknowledged": (
        "Can you send the signed POD photo when you have it?",
        "Will you be able to send us the POD?",
    ),
    # The GPS disagrees with what the driver said: asked once, without blaming anyone.
    "ask.gps": (
        "Our tracking shows you near {gps} — are you around there, or did I catch that wrong?",
        "I've got you on our tracking near {gps}. Are you around there, or did I mishear?",
    ),
    # Silence.
    "nudge": (
        "{name}, are you still there?",
        "Hello, can you hear me okay?",
        "Still with me, {name}?",
    ),
    # A line too noisy to understand.
    "repeat": (
        "Sorry {name}, you're breaking up. Could you say that again?",
        "I didn't catch that, the line's pretty noisy. Can you repeat it?",
        "Sorry, still hard to hear you. One more time?",
        "The connection's rough on my end. Could you say it again?",
    ),
    # Closings.
    "close": (
        "Thanks, {name}. That's all I needed, drive safe.",
        "Appreciate it, {name}. Have a safe one.",
        "That's everything, {name}. Thanks and take care.",
    ),
    "close.pod": (
        "Thanks, {name}. Don't forget the signed POD, and drive safe.",
        "Appreciate it, {name}. Remember to send the POD when you can. Take care.",
    ),
    "close.uncooperative": (
        "No problem, {name}, I'll let you focus on the road. Call us back when you get a chance.",
        "Okay {name}, I'll let you go for now. Please call dispatch back when you can.",
    ),
    "close.uncooperative.pod": (
        "No problem, {name}, I'll let you get back to it. Please send the signed POD and call us "
        "back when you can.",
        "Okay {name}, I'll let you go. Remember the POD, and call dispatch back when you get a chance.",
    ),
    "close.noisy": (
        "Sorry {name}, the line's too noisy. A dispatcher will call you back shortly. Bye for now.",
        "I can't make you out on this line, {name}. A dispatcher will call you back soon. Take care.",
    ),
    # Emergency.
    "emergency.open": (
        "I'm sorry to hear that, {name}.",
        "Okay {name}, let's take care of this first.",
        "Got it, {name}, forget the check-in for now.",
    ),
    "ask.safety_status": (
        "Are you somewhere safe right now?",
        "Is everyone safe where you are?",
        "First, are you in a safe spot?",
    ),
    "ask.injury_status": (
        "Is anyone hurt?",
        "Any injuries, to you or anyone else?",
        "Does anybody need medical help, is anyone injured?",
    ),
    "ask.emergency_location": (
        "Where exactly are you? Highway, direction and the nearest mile marker or exit.",
        "What's your exact location, the highway and mile marker or exit?",
        "Tell me exactly where you are: road, direction, nearest exit or mile marker.",
    ),
    "ask.load_secure": (
        "Is the load secure?",
        "How's the load, is it secure?",
        "Is your cargo still secure?",
    ),
    "transfer": (
        "I'm connecting you to a dispatcher now, {name}. Please stay on the line.",
        "I'm connecting you to a dispatcher now. Stay on the line, {name}.",
    ),
    "transfer.hurt": (
        "If anyone needs medical help, call 911 first. I'm connecting you to a dispatcher now, {name}.",
        "Call 911 if anyone is hurt. I'm connecting you to a dispatcher now, stay on the line.",
    ),
    "callback": (
        "I'm alerting dispatch now. A dispatcher will call you back right away, {name}. Stay safe.",
        "Dispatch is being notified. A dispatcher will call you back right away. Stay safe, {name}.",
    ),
    "callback.hurt": (
        "Call 911 first if anyone needs medical help. A dispatcher will call you back right away, {name}.",
        "If anyone is hurt, call 911 now. A dispatcher will call you back right away.",
    ),
    # Asked again after the transfer or hang-up was already issued.
    "after.transfer": ("You're being connected now.", "Hang on, connecting you.", "One moment, {name}."),
    "after.end": ("Take care, {name}.", "Bye for now.", "Thanks again."),
    "resume": ("Sorry, go ahead, {name}.", "I'm here, go ahead.", "Go ahead, I'm listening."),
}

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


def first_name(driver_name: str) -> str:
    return (driver_name.split() or ["there"])[0]


def sentences(text: str) -> list[str]:
    return [s.strip().lower() for s in _SENTENCE_RE.split(text) if s.strip()]


def pick(key: str, said: list[str], counter: int, *, optional: bool = False, **values: str) -> str | None:
    """A wording of `key` none of whose sentences were said in this call; records what it says in `said`.

    The start is chosen by `counter` (kept in the dialogue state), so wordings vary from call to call turn
    while a replayed call says exactly the same. When every wording was used, an optional part is left out
    and a required one gets a wording that adds the driver's name to tell it apart.
    """
    variants = TEMPLATES[key]
    for offset in range(len(variants)):
        text = variants[(counter + offset) % len(variants)].format(**values)
        parts = sentences(text)
        if not any(part in said for part in parts):
            said.extend(parts)
            return text
    if optional:
        return None
    for prefix in ("Sorry, one more time: ", "Just to check: ", "Bear with me: "):
        text = prefix + variants[counter % len(variants)].format(**values)
        parts = sentences(text)
        if not any(part in said for part in parts):
            said.extend(parts)
            return text
    return variants[counter % len(variants)].format(**values)
