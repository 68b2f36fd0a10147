"""Whether the driver reports an emergency, and which kind: accident, medical, breakdown or other."""

from __future__ import annotations

import re

from app.extraction.rules.statements import _first_unnegated
from app.extraction.rules.turns import Turn, _clauses, _user_turns
from app.extraction.rules.vocabulary import _PAST_EVENT, _TRAFFIC_TALK

# Parts of a truck that fail: "turbo just blew", "alternator died", "clutch went out".
_PARTS = (
    r"(?:turbo|(?:serpentine |fan )?belt|batter(?:y|ies)|alternator|starter|radiator|clutch|"
    r"def(?: system)?|air ?lines?|air ?bags?|suspension|(?:coolant |radiator |air )?hoses?|axle|"
    r"drive ?shaft|fuel pump|injectors?|(?:brake )?chambers?|(?:hub |wheel )?seals?|(?:head )?gaskets?|"
    r"(?:air )?compressor|water pump|u-?joints?|transmission|tranny|steering|brakes?|engine|motor|truck|rig|"
    r"tractor)"
)
# Linking words between a part and its failure: "my brakes are failing", "engine just died".
_LINK = r"(?:\s+(?:is|are|was|were|just|has|have|keeps?|kept|totally|completely|kinda|kind of|sort of))*\s+"

# Things a truck can run into. "I hit traffic", "hit the road" and "hit some rain" are not collisions, so a
# collision verb only counts with one of these (or the driver's own vehicle) as its object.
_STRUCK = (
    r"(?:(?:a|an|the|another|some|this|that)\s+)?(?:\w+\s+)?(?:car|truck|vehicle|suv|pickup|van|semi|bus|"
    r"motorcycle|bike|deer|cow|elk|moose|animal|guard ?rail|barrier|wall|pole|post|median|bridge|overpass|"
    r"curb|ditch|embankment|fence|sign|tree)s?"
    # "pulled into the truck stop", "went into the truck wash": places, not collisions.
    r"(?!\s+(?:stops?|wash|yard|lot|plaza|parking|dock|lane|bay|scales?)\b)"
)
# People only count after "hit": "ran into somebody" is usually a meeting.
_STRUCK_PERSON = r"(?:a |the |some )?(?:pedestrian|person|someone|somebody|guy|kid|man|woman)"
# The driver's own truck as the thing that was hit: "hit my trailer", "into the back of me".
_MY_RIG = (
    r"(?:me(?! in the)|us|my (?:truck|trailer|rig|cab|tractor|unit|reefer|bumper|mirror|door|side|front|back|"
    r"rear))"
)
_COLLISION_TARGET = rf"(?:the (?:back|side|rear|front|end) of )?(?:{_MY_RIG}|{_STRUCK})"

# Words that name a collision without saying whose it was: "there was a wreck" may be the driver's or the
# one they are stuck behind. See `_own_incident`.
_INCIDENT_RE = re.compile(
    r"\b(?:accident|crash(?:ed)?(?! (?:test|course|pad|diet|out|at|for the night))|collision|collided|"
    r"wreck(?:ed)?|fender[- ]bender|pile-?up)\b",
    re.I,
)
# The driver is in it: "I was in an accident", "we had a wreck", "my truck", "just had a crash".
_FIRST_PERSON_RE = re.compile(
    r"\b(?:I(?![- ]?\d)|I'm|I've|I'd|me|my|we|we're|we've|us|our)\b|\bhad (?:a|an)\b", re.I
)
# Someone else's collision, seen or waited behind: "stuck behind a wreck", "passed an accident".
_OTHER_PARTY_RE = re.compile(
    r"\b(?:behind (?:a|an|the|some|this|that)|in front of (?:me|us)|saw|see|seeing|passed|passing|"
    r"because of|due to|delay\w*|stuck|held up|cleared|clearing|detour\w*|rubbernecking|slowed|"
    r"held (?:me|us) up|made (?:me|us) late|cost (?:me|us))\b",
    re.I,
)
_THERE_IS_RE = re.compile(r"\bthere(?:'s| is| was| are)\b", re.I)
# An unattributed "wreck" in a turn full of road and traffic talk is the traffic, not an emergency.
_TRAFFIC_TALK_RE = re.compile(
    rf"\b(?:{_TRAFFIC_TALK}|closed (?:\w+ )?lanes?|sitting still|at a crawl|not moving|delay\w*|late|behind|"
    rf"bypass|reroute\w*|alternate route|go(?:ing)? around)\b",
    re.I,
)

# Order is priority: a blowout that ends in a collision is an accident; a crash with a bleeding driver is
# still an accident (the injury goes to injury_status). Bare collision nouns are in `_INCIDENT_RE`.
_EMERGENCY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Accident",
        re.compile(
            r"\b(?:rear[- ]ended|side-?swiped|t[- ]?boned|"
            r"(?:rolled|flipped|tipped|turned) (?:it|the truck|the rig|the trailer|over|on (?:its|my) side)|"
            r"(?:laid|layed|put|dumped) (?:it|her|(?:the|my) (?:whole )?(?:truck|rig|trailer|tractor)) "
            r"(?:over|down|on (?:its|her|the) side)|"
            r"(?:truck|rig|trailer|tractor|cab)(?:'s| is| was)?[^.!?,]{0,20}\bon (?:its|it's|her|the) side|"
            r"(?:truck|rig|trailer|tractor|I|we)(?:'s| is| was| just| got)* "
            r"(?:flipped|overturned|tipped over)|"
            r"(?:ran|went|slid|drove|veered|spun|skidded|rolled) (?:right )?off (?:the road|into)|spun out|"
            r"(?:truck|rig|trailer|tractor|cab)(?:'s| is| was| just)* (?:went|tipped|fell|blew|rolled) "
            r"over\b(?! (?:the|a) (?:bridge|overpass|pass|hill|scale)s?\b)|blew (?:me|us|the truck|"
            r"the trailer) over|"
            r"(?:went|slid|rolled) (?:over|off) (?:the|an|a) (?:embankment|edge|cliff|bank)|"
            r"(?:laying|lying) on (?:my|its|the|her) side|jack ?knif\w+|"
            r"in (?:a|the) ditch|(?:got|was|been|we were|I was) (?:hit|struck|clipped)|"
            rf"(?:hit|struck|clipped|rammed|smacked|bumped|rear-?ended|sideswiped) "
            rf"(?:{_COLLISION_TARGET}|{_STRUCK_PERSON}|him|her|them|it and)|"
            r"(?:slammed|plowed|smashed|crashed|rammed|ran|drove|swerved|backed|bumped|came|went|piled|slid|"
            r"skidded|spun|rolled|hit)"
            rf"(?: right| straight)? into {_COLLISION_TARGET})\b",
            re.I,
        ),
    ),
    (
        "Medical",
        re.compile(
            r"\b(?:chest (?:pains?|hurts|is tight|feels tight)|heart attack|can't breathe|cannot breathe|"
            r"trouble breathing|hard to breathe|short(?:ness)? of breath|dizzy|light-?headed|"
            r"passed out|passing out|pass out|faint(?:ed|ing)?|blacked out|blacking out|seizure|stroke|"
            r"diabetic|insulin|(?:blood )?sugar(?:'s| is)? (?:low|crashing|dropping)|low (?:blood )?sugar|"
            r"allergic reaction|not feeling (?:well|good|right)|"
            r"(?:feel(?:ing|s)?|got|getting) (?:really |very |so |pretty )?"
            r"(?:sick|ill|unwell|awful|terrible|horrible|faint|weak|woozy)|medical emergency|"
            r"throwing up|vomiting|nause\w+|numb(?:ness)?|tingl\w+|collapsed|unconscious|shaky|"
            r"sweating (?:bad|a lot|buckets|like crazy)|cold sweat|blurr\w+|"
            r"heart(?:'s| is) (?:racing|pounding)|"
            # Breathing, speech, sight, pain and bleeding, in the words drivers use for them.
            r"(?:not|can't|cannot|hard to|hurts to|trouble) (?:breathing|breathe|catch (?:my|his|"
            r"her) breath)|"
            r"gasping|(?:throat|tongue|face)(?:'s| is)? (?:swelling|swollen|closing)|stung|"
            r"(?:trouble|hard time) (?:talkin|speaking|seeing)\w*|words (?:are )?comin\w* out wrong|slurr\w+|"
            r"can't see (?:straight|right)|worst headache|headache,? worst|"
            r"(?:real |really |very |so )?bad (?:pain|headache)|pain in (?:my|his|her) (?:stomach|belly|side|"
            r"head)|"
            r"doubled over|(?:need|get me|call) (?:an? )?(?:ambulance|doctor|paramedics?|hospital|medic)|"
            r"(?:I'm|I am|he's|he is|she's|she is|we're) (?:\w+ )?(?:hurt|bleeding|injured|sick|"
            r"ill)\b(?! of)|"
            r"(?:bleeding|burned|burnt|blistered)(?: \w+)? (?:bad|badly|real bad|everywhere)|"
            r"won't stop bleeding|"
            r"(?:fingers?|hand|arm|leg|foot)(?: \w+)?(?:'s| is| are)? (?:smashed|crushed|broken|caught)|"
            r"something(?:'s| is) wrong with (?:my|his|her) (?:chest|heart|head|eyes?|breathing|arm)|"
            r"threw (?:my|his|her) back out|(?:got|is|was) (?:burned|burnt)|"
            # A symptom by the chest or heart: "my chest is hurting bad", "pain in my chest".
            r"(?:chest|heart)\b(?:\s+\w+){0,3}?\s+(?:hurt\w*|pain\w*|tight\w*|pressure|burning|heavy|"
            r"killing me|squeez\w+)|(?:pain|pressure|tightness|burning) in (?:my )?(?:chest|left arm|jaw))\b",
            re.I,
        ),
    ),
    (
        "Breakdown",
        re.compile(
            r"\b(?:blow ?out|blew (?:a|my|out (?:a|my|the)?|the) ?(?:\w+ )?tire|"
            r"tire (?:blew|exploded|went flat|came apart|came off|shredded|blew out)|flat tire|"
            r"(?:had|got|have|with) a flat|lost (?:a|my|the|one of (?:my|the)) (?:\w+ )?(?:tires?|wheels?)|"
            r"broke(?:n)? down|breakdown|break down|"
            rf"(?:engine|motor){_LINK}(?:died|quit|failed|failing|trouble|problems?|smoking|overheat\w*|"
            rf"won't start|blew|seized|cut out|shut (?:itself )?(?:off|down)|dead|gone)|"
            rf"brakes?{_LINK}(?:failed|failing|gone|out|went out|not working|locked up|smoking|fading|"
            r"gave out)|"
            r"brakes? (?:aren't|are not|isn't) working|lost (?:my |the )?brakes|"
            r"(?:lost|no) (?:all )?(?:power|air pressure|air)(?: at all)?|overheat(?:ing|ed)|won't start|"
            rf"(?:truck|rig|tractor){_LINK}(?:died|quit|stalled|broke|shut (?:itself )?(?:off|down)|dead)|"
            rf"transmission{_LINK}(?:went|failed|slipping)|steering{_LINK}(?:went out|failed|locked)|"
            rf"\b{_PARTS}(?:'s|'re| is| are| just| has| have| got| went| all)*\s+"
            r"(?:blew|blown|snapped|died|dead|shot|gone|broke|broken|failed|quit|locked up|seized|"
            r"going out|went out|out(?! (?:front|back|of|there|here))|messed up|knocking(?! out)|slipping|"
            r"loose|(?:running|runnin) hot)\b|"
            r"died on (?:me|us)|(?:busted|broken|blown|cracked|snapped) (?:\w+ )?{_PARTS}|(?:suspension|"
            r"trailer|bumper|muffler|something)(?:'s| is)? dragging|"
            r"something(?:'s| is) wrong with (?:the|my) (?:truck|engine|motor|brakes?|steering|rig|tractor)|"
            r"(?:tire|tyre) (?:blue|blew) out|blue out|"
            r"(?:smoke|steam)\b[^.!?,]{0,40}\b(?:engine|hood|stacks?|motor|compartment|brakes?|wheels?)|"
            r"(?:leaking|losing|lost|pouring out|all over)\b[^.!?,]{0,15}\b(?:antifreeze|coolant|oil|fuel|"
            r"diesel|"
            r"air|power|oil pressure)|(?:antifreeze|coolant|oil|radiator)(?:'s| is)? (?:pouring|leaking|"
            r"everywhere|all over)|low air|derate|limp mode|shut (?:me|us|it) down|"
            r"temp(?:erature)? gauge(?:'s| is)? (?:pegged|climbing|in the red|maxed)|"
            r"took out (?:my|the) (?:air ?lines?|brakes?|radiator|tires?|wheels?|steering|fuel tank|"
            r"lights))\b",
            re.I,
        ),
    ),
    (
        "Other",
        re.compile(
            r"\b(?:on fire|caught fire|catching fire|flames|fire in (?:the|my) (?:cab|engine|trailer|truck|"
            r"reefer|sleeper|brakes|tires?)|robbed|robbery|stolen|theft|break(?:ing)? into|trying to get in|"
            r"steal\w* (?:my|the|our) (?:truck|trailer|load|cargo|fuel|tractor|rig)|hijack\w*|broke into|"
            r"breaking into|got in(?:to)? (?:the|my) (?:trailer|truck|cab)|"
            r"cut (?:my|the) seal|attacked|assaulted|threaten\w*|gun|weapon|knife|kill (?:me|us)|"
            r"(?:following|followed|tailing|chasing) (?:me|us)|being followed|run (?:me|us) off the road|"
            r"(?:banging|pounding|beating) on (?:my|the) (?:door|doors|truck|window|cab)|climbing on (?:my|"
            r"the) (?:truck|hood|trailer|cab|roof)|"
            r"(?:fuel|diesel|chemical|hazmat|gas|propane) (?:leak|spill)\w*|(?:smell|smells) (?:like )?"
            r"(?:propane|gas|ammonia|chemicals?)|hissing|leak\w* from|fumes|"
            r"(?:load|cargo|freight|coils?|pallets?)(?:'s| is| has| have)? (?:shifted|shifting|sliding|"
            r"hanging off|coming loose|falling)|straps? (?:broke|snapped|came loose)|"
            r"fire (?:on both sides|all around|everywhere)|surrounded by (?:fire|flames|water)|trapped|"
            r"can't go (?:forward|anywhere)|stranded|snowed in|water(?:'s| is) (?:rising|coming in)|"
            r"flooded (?:underpass|road|lane)|(?:can't|cannot) get (?:any )?traction|(?:chains?|brakes?|"
            r"straps?) won't hold|"
            r"emergency)\b",
            re.I,
        ),
    ),
]

# Families of wording, beyond the phrasings above: a failing part with a failure verb or sign, a body part
# with an injury or symptom, a threat with the driver as its object. Each is an extra pattern of its kind; the
# base patterns come first in the list, so the order of kinds (the priority) is unchanged.
_BE = r"(?:'s|'re| is| are| was| were| just| has| have| got| keeps?| all| totally| completely| kinda)*"
_TIRE = r"(?:tires?|tyres?|drives?|steers?|treads?|recaps?|gators?|duals?)"
_WHEEL = r"(?:wheels?|hubs?|lug ?nuts?|lugs|studs|(?:wheel )?bearings?|rims?|wheel ends?)"
_FLUID = r"(?:fuel|diesel|oil|coolant|antifreeze|hydraulic fluid|trans(?:mission)? fluid|radiator)"
_SPILLING = (
    r"(?:dripp\w*|spray\w*|spew\w*|gush\w*|pour\w*|leak\w*|dump\w*|squirt\w*|pissing|running out|everywhere|"
    r"all over)"
)
_BODY = (
    r"(?:ankle|wrist|arm|leg|hip|back|neck|knee|shoulder|foot|feet|hand|fingers?|ribs?|head|collar ?bone|"
    r"elbow|face|eye|nose|jaw)"
)
_FAMILY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "Accident",
        re.compile(
            r"\b(?:took out (?:a|the|some|that) (?:\w+ )?(?:guard ?rail|sign|pole|fence|mailbox|barrier|car|"
            r"light|gate|canopy|pump)|wrecked (?:the|my) (?:truck|rig|trailer|tractor|unit)|"
            r"(?:ran|went|got pushed|slid) (?:off|into) the (?:shoulder|median|ditch)|"
            r"(?:got|was|been) (?:hit|rear[- ]ended|side-?swiped|t[- ]?boned) (?:by|from)|"
            r"(?:truck|rig|trailer|tractor|we|I)(?:'s| is| was| just| got)* (?:rolled|tipped) (?:over|on)|"
            r"(?:ran|went|slid|drove|veered|got pushed|ended up) off the (?:side of the )?(?:road|highway|"
            r"interstate|ramp|pavement)|(?:it's|it is|she's|we're|I'm|we are|truck's) (?:laying |lying )?on "
            r"(?:its|her|our|my|it's) side|(?:came|went|flew|crashed) (?:through|into) (?:my|the) "
            r"(?:windshield|window|cab|door)\b)",
            re.I,
        ),
    ),
    (
        "Medical",
        re.compile(
            rf"\b(?:(?:broke|busted|snapped|fractured|dislocated|cracked|crushed|smashed|gashed|sliced|cut|"
            rf"hurt|hit|banged|smacked|split) (?:open )?(?:my|his|her) (?:\w+ )?{_BODY}|"
            rf"{_BODY}(?:'s| is| are| was)? (?:\w+ )?(?:broke\w*|snapped|busted|crushed|bleeding|gashed|"
            r"dislocated|cut open|split open|bent wrong|sticking out|stuck|caught|pinned|trapped)|"
            r"(?:fell|fallen|slipped|tripped|came down) (?:off|down|out of|from|on) (?:the |my |a )?"
            r"(?:trailer|truck|cab|catwalk|ladder|steps?|stairs|dock|deck|tanker|ice|load)|"
            r"(?:can't|cannot|can not) (?:get up|stand(?: up)?|sit up|walk|feel my|move my)|"
            r"(?:gushing|pouring|spurting|losing (?:a lot of )?)blood|blood (?:everywhere|all over)|"
            r"bleeding (?:pretty |real |really |very |so )?(?:bad|badly|a lot|heavy)|"
            r"(?:cut|gash)\w*(?: \w+){0,3} (?:real |really |pretty |super )?deep|"
            r"(?:I'm|I am|he's|she's|feel|feeling|getting|all) (?:real |really |all |so |kinda )?"
            r"(?:confused|disoriented|out of it)(?! (?:about|by|on|with|which|what|where|why|how))|"
            r"don't know where (?:I am|I'm at)|"
            r"(?:face|mouth|smile|lip)\b[^.!?,]{0,25}\b(?:droop\w*|crooked|numb|sagging)|droopy|"
            r"(?:arm|leg|hand|side) (?:won't|can't|isn't|doesn't|ain't) (?:work\w*|move|moving)|"
            r"words (?:are )?(?:all )?(?:jumbled|mixed up|garbled|coming out (?:wrong|funny))|"
            r"seeing double|double vision|"
            r"(?:vision|eyes?)(?:'s| is| are| went) (?:\w+ )?(?:blurry|black|dark|gone)|heat ?stroke|"
            r"heat exhaustion|burning up|not doing (?:good|well|so good|too good)|"
            r"(?:co-?driver|partner|teammate|he|she|him|her)(?:'s| is)? (?:not responding|unresponsive|"
            r"not breathing|won't wake up|turning blue)|won't wake up|"
            r"threw out (?:my|his|her) back|asthma attack|"
            r"(?:trouble|hard time|struggling|hard|can't|cannot) (?:to )?(?:breath\w*|catch (?:my|his|her) "
            r"breath)|"
            rf"(?:gash|cut|wound|hole|puncture|gouge)\w* (?:in|on|across) (?:my|his|her) (?:\w+ )?{_BODY}|"
            rf"(?:twisted|sprained|wrenched|jammed|tore|torn|pulled|broke) (?:my|his|her) (?:\w+ )?{_BODY}|"
            r"can't put (?:any )?weight on|can't see (?:out|outta|outa)|panic attack|anaphyla\w*|allergic|"
            r"heart(?:'s| is)? (?:\w+ )?(?:beating out of|racing|pounding|skipping|fluttering|going crazy)|"
            r"(?:horrible|terrible|awful|sharp|severe|crushing|excruciating|killer|unbearable) "
            r"(?:pain|headache|cramps?)|"
            r"head(?:'s| is) (?:pounding|splitting|spinning)|(?:going|goin) (?:low|into shock)|"
            r"shaking all over|(?:my )?(?:legs?|arms?|feet|hands?) (?:went|are|is|feel) (?:numb|dead)|"
            r"(?:almost|nearly) (?:passed|blacked|fainted|pass|black))\b",
            re.I,
        ),
    ),
    (
        "Breakdown",
        re.compile(
            rf"\b(?:blew (?:out )?(?:a|my|the|one|both) (?:\w+ )?{_TIRE}|{_TIRE}{_BE}\s+(?:blew|blown|"
            rf"blowing|blow(?:ing)? out|shredd\w*|going (?:flat|down)|"
            r"went (?:flat|down)|losing air|lost air|flat|came (?:off|apart)|coming (?:off|apart)|"
            r"delaminat\w*|separat\w*|exploded|popped|smoking)|"
            r"(?:treads?|cap) (?:came|coming|peeled|flew) off|"
            rf"{_WHEEL}{_BE}\s+(?:came off|coming off|fell off|flew off|falling off|wobbl\w*|sheared|"
            r"snapped|shot|glowing|smok\w*|seized|locked(?: up)?|red hot|on fire hot|gone|"
            r"loose)|(?:lost|losing) (?:a|my|the) (?:\w+ )?(?:wheels?|hubs?)|"
            r"(?:no|lost (?:my |the |all )?|losing (?:my |the )?)(?:brakes|air pressure|air)\b|"
            r"(?:pedal|brake pedal)(?:'s| is)? (?:going |went )?(?:to|on) the floor|"
            r"(?:air ?(?:pressure|lines?|tanks?|bags?)|airlines?|glad ?hands?|air)\b"
            rf"{_BE}\s+(?:dropping|dropped|falling|leaking|popped\w*|blew|blown|broke|snapped|"
            r"came (?:off|apart|loose)|blew apart|low|gone|going down)|(?:can't|won't|cannot) (?:build|hold|"
            r"keep) (?:air|"
            r"pressure)|"
            rf"{_FLUID}(?: (?:tank|line|hose|pan|cooler|filter))?{_BE}\s+{_SPILLING}|"
            rf"(?:spray\w*|spew\w*|gush\w*|pour\w*|leak\w*|dump\w*|losing) (?:\w+ ){{0,2}}{_FLUID}|"
            r"(?:engine|motor|hood|stacks?|exhaust|turbo|brakes?|hubs?|wheels?|wheel wells?|tires?|trailer|"
            r"transmission|axle|dash)(?:'s| is| are)?[^.!?,]{0,20}\b(?:smok\w+|steam\w*|glow\w*|red hot)|"
            r"(?:smok\w+|steam\w*) (?:everywhere|pouring|billowing|coming)|"
            r"(?:check engine|engine|warning|stop engine|dash|abs|oil(?: pressure)?|temp|coolant|"
            r"(?:low )?air) lights?(?:'s| is| are)? "
            r"(?:came on|come on|flashing|blinking|lit|on)|lit up like a christmas tree|derat\w*|"
            r"(?:fault|error|engine|warning) codes?|"
            r"(?:temp\w*|gauge)(?:'s| is)? (?:climbing|spiking|pegged|through the roof|in the red|maxed)|"
            r"(?:it's|it is|she's|she is|engine's|motor's|truck's|it|she) (?:shutting|shut) (?:down|off)|"
            r"shut (?:off|down) on (?:me|us)|(?:cut|conked|crapped|petered|died) out|"
            r"(?<!a )(?<!the )stalled(?: out)?(?! (?:truck|car|vehicle|semi|rig|van|bus|pickup))|"
            r"won't (?:fire|turn over|crank|start|go (?:over|past|faster)|go into gear|stay running)|"
            r"(?:can't|cannot) get (?:it )?(?:in|into) gear|dead in the water|"
            r"(?:fifth wheel|kingpin|king pin|jaws|trailer|pin)\b[^.!?,]{0,25}\b(?:unlatched|unhooked|"
            r"popped out|came (?:loose|undone|off|out|unhooked|unlatched|apart)|released|let go)|"
            r"(?:came|popped|pulled|slipped) out of the fifth wheel|"
            r"(?:something|it)(?: under the hood)? (?:just )?(?:exploded|blew up)|(?:snapped|sheared)|"
            rf"{_TIRE}{_BE}\s+(?:went pop|popped|flopping|flapping)|"
            r"(?:shaking|vibrating|wobbling|shimmying) (?:real |really |so |super )?(?:bad|violently|"
            r"like crazy)|"
            r"(?:loud|horrible|terrible|awful|nasty|big) (?:\w+ )?(?:bang\w*|grind\w*|knock\w*|clunk\w*)|"
            rf"{_FLUID}(?: (?:tank|line|hose|pan|cooler|filter))?{_BE}\s+"
            r"(?:cracked|split|busted|broke|ruptured)|"
            r"(?:reefer|spring|hanger|leaf spring|shocks?|u-?bolts?|crossmember|frame|exhaust|dpf|mud ?flap|"
            r"landing gear|tandems?|slider)(?: \w+)?(?:'s| is| are| just| has| have)*\s+(?:broke|broken|"
            r"cracked|"
            r"snapped|quit|died|seized|gave out|let go|busted|dragging|fell off|came off)\b)",
            re.I,
        ),
    ),
    (
        "Other",
        re.compile(
            r"\b(?:(?:reefer|unit|trailer|truck|cab|engine|tires?|load|sleeper|cargo|brakes?)"
            r"(?:'s| is| are)? (?:\w+ )?(?:burning|in flames|ablaze|on fire)(?! hot)|"
            r"shoot\w*(?: at)? (?:me|us|the truck|my truck|the cab|at)|shots? fired|gunshots?|"
            r"(?:someone|somebody|some guy|a guy|guy|they|he|dude|man)\b[^.!?,]{0,20}\b(?:smashed|broke|"
            r"busted|shattered|kicked in) (?:my|the) (?:window|windshield|door|glass)|"
            r"(?:being|getting) (?:robbed|mugged|carjacked|jumped)|"
            r"(?:tornado|twister|funnel cloud)\b[^.!?,]{0,25}\b(?:coming (?:right )?(?:at|toward|for)|"
            r"head(?:ed|ing) (?:right )?(?:at|toward|for|my way|our way)|on the ground|touched down|"
            r"right (?:on|at|next to) (?:me|us))|in (?:its|the) path|"
            r"stuck in (?:a |the |this )?(?:blizzard|snow ?storm|white ?out|snow ?drift|drift|flood\w*)|"
            r"white ?out|zero visibility|can't see (?:nothing|anything|a thing)|"
            r"hazmat\b[^.!?]{0,40}\b(?:leak\w*|spill\w*)|smell\w* (?:of|like) (?:ammonia|chlorine|acid|"
            r"chemicals?)|(?:load|tanker|tank|drums?|totes?|containers?)(?:'s| is| are)? (?:\w+ )?"
            r"(?:leaking|spilling|venting)|"
            r"(?:load|cargo|freight|coils?|pallets?|steel|pipes?|lumber|logs?|product|machine)"
            r"(?:'s| is| are| has| have| just| all)*\s+(?:shifted|shifting|slid|sliding|broke loose|"
            r"came loose|busted through|went through|fell over|falling over|tipped|moved|came through)|"
            r"trailer(?:'s| is)? (?:\w+ )?(?:leaning|listing)|through the headboard|"
            r"(?:man|guy|someone|somebody|stranger|person|people|dude)(?:'s| is| are)? (?:\w+ )?"
            r"in (?:my|the) (?:sleeper|cab|truck|trailer)|"
            r"wind\w*(?:'s| is)? (?:pushing|blowing|rocking|tipping|lifting|shoving) (?:the |my )?"
            r"(?:trailer|truck|rig|tractor)|hail the size of|"
            r"water(?:'s| is)? (?:coming up|rising|up to|over the|coming in|getting deeper)|"
            r"(?:boxed|blocked|hemmed) (?:me|us) in|(?:yelling|screaming|cussing|shouting|"
            r"swinging) at (?:me|us)|"
            r"harass\w* (?:me|us)|(?:cornered|surrounded|punched|jumped|grabbed) (?:me|us)|mugged|"
            r"fire (?:under|in|on|inside|behind|coming (?:from|out of)) (?:the |my )?(?:\w+ )?(?:cab|engine|"
            r"trailer|truck|reefer|sleeper|brakes|tires?|wheels?|load|hood|axle|tractor|rig)|"
            r"siphon\w*|(?:stealing|taking|draining|cutting) (?:my|the|our) (?:fuel|diesel|load|cargo|"
            r"batteries|"
            r"catalytic|lock|seal)|"
            r"wind\w*(?:'s| is)?(?: about to| gonna| going to| trying to)? (?:tip|push|blow|flip|roll|"
            r"lift)\w* "
            r"(?:me|us|the trailer|my trailer|the truck|my truck|the rig)|"
            r"with (?:a |an )?(?:bat|crowbar|machete|tire iron|pipe|club|hammer|gun|knife)|"
            r"(?:it's|it is|everything's|everything is|she's) (?:\w+ )?(?:burning|in flames|ablaze))\b",
            re.I,
        ),
    ),
]
_EMERGENCY_PATTERNS += _FAMILY_PATTERNS
# Substrings at least one of which every match of a family pattern contains (lowercase). Checking them with
# `in` costs a few microseconds; the family patterns themselves are tried only on a turn that has one.
_FAMILY_GATES: list[tuple[str, ...]] = [
    # "@" marks the start of a word: "@hip" is not in "shipper", nor "@low" in "slow".
    tuple(word.strip().replace("@", " ") for word in words.split("|"))
    for words in (
        """took out|wreck|shoulder|median|ditch|hit|rear|side|bone|rolled|tipped|off the|through|into""",
        """ankle|wrist|arm|leg|@hip|back|neck|knee|shoulder|foot|feet|hand|finger|rib|head|collar|elbow|face|eye|
        nose|jaw|side|fell|fallen|slipped|tripped|came down|get up|stand|sit up|walk|blood|bleed|deep|
        confused|disoriented|out of it|know where|droop|crooked|numb|sagging|jumbled|mixed up|garbled|
        coming out|double|vision|heat|burning up|doing|respon|breathing|wake up|turning blue|threw out|
        asthma|panic|anaphyla|
        allergic|heart|pain|headache|cramp|@low|shock|shaking|pass|black|faint|breath|gash|cut|wound|hole|
        puncture|gouge|twisted|sprained|wrenched|jammed|tore|torn|pulled|weight|can't see""",
        """blew|tire|tyre|drive|steer|tread|recap|gator|dual|cap|wheel|hub|lug|stud|bearing|rim|brake|air|pedal|
        glad|pressure|fuel|diesel|oil|coolant|antifreeze|hydraulic|fluid|radiator|smok|steam|glow|red hot|
        engine|warning|dash|abs|christmas|derat|code|temp|gauge|shut|cut out|conked|crapped|petered|
        died out|stalled|won't|gear|
        dead in|unlatch|unhook|popped out|came|released|let go|fifth wheel|exploded|blew up|snapped|sheared|
        pop|flop|flap|shak|vibrat|wobbl|shimmy|bang|grind|knock|clunk|@line|broke|crack|split|quit|died|seiz|
        gave out|fell off|dragging""",
        """burning|flame|ablaze|on fire|shoot|shot|smashed|broke|busted|shattered|kicked in|robbed|mugged|
        carjacked|jumped|tornado|twister|funnel|path|stuck in|white|visibility|can't see|hazmat|smell|leaking|
        spilling|venting|shift|slid|loose|through|fell over|falling over|tipped|moved|leaning|listing|man|guy|
        someone|somebody|person|people|dude|wind|hail|water|boxed|blocked|hemmed|yelling|screaming|cussing|
        shouting|swinging|harass|cornered|surrounded|punched|grabbed|fire|siphon|stealing|taking|draining|
        cutting|with a|with an""",
    )
]
# Every pattern with its gate; the base patterns have none (an empty tuple).
_GATED_PATTERNS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    (kind, pattern, ()) for kind, pattern in _EMERGENCY_PATTERNS[: -len(_FAMILY_PATTERNS)]
] + [(kind, pattern, gate) for (kind, pattern), gate in zip(_FAMILY_PATTERNS, _FAMILY_GATES, strict=True)]

# An accident "up ahead", a truck that broke down "in front of" the driver, a flat "yesterday", "if I break
# down": real words, but not the driver's emergency.
_NOT_THIS_DRIVER_RE = re.compile(
    rf"\b(?:ahead|up the road|down the road|other side|opposite direction|news|{_PAST_EVENT}|ago|"
    r"if|in case|hopefully|hope|avoid|worried|watch out|close (?:one|call)|missed (?:me|it|"
    r"him)|last (?:trip|load|run|haul|winter|summer|spring|fall|\w+day)|the other day|a while back|"
    r"one time|used to|radio|forecast|detour\w*|closed (?:for|because|due)|"
    r"(?:because of|due to) (?:a|an|the|some) (?:\w+ ){0,2}(?:wreck|accident|crash|spill|fire|pile-?up|"
    r"breakdown|collision|rollover|disabled|stalled)|"
    r"report|invoice|cleanup|controlled burn|on fire today|heard about|glad I missed)\b",
    re.I,
)
# "Almost hit a deer" is a near miss; "almost passed out" is still a driver who needs help.
_NEAR_MISS_RE = re.compile(r"\b(?:almost|nearly)\b", re.I)
# Slang, not a collision: "my cab's a wreck", "I'm a wreck today".
_WRECK_SLANG_RE = re.compile(
    r"(?:'s|'m| is| am| was| looks like| feel like) (?:a|such a) "
    r"(?:total |complete |absolute |hot |nervous )?(?:wreck|mess)\b",
    re.I,
)
# Someone else's trouble, unless the driver is the subject of it: "traffic stopped short and I rear-ended a
# minivan" is the driver's; "a car broke down in the left lane" is not.
_SOMEONE_ELSE_RE = re.compile(
    r"\b(?:backed up|traffic|slowing|saw|seen|passed|passing|behind (?:a|an|the|some|this|that)|"
    r"in front of (?:me|us)|somebody|someone|guy|cars?|(?:a|an|some|this|that|another) (?:\w+ )?(?:truck|car|"
    r"semi|rig|vehicle|van|pickup|bus|driver|trucker)s?|"
    r"(?:other|another|that) truck|trucks|folks|people|buddy|up by|lightning|wind|hail|storm|tornado)\b",
    re.I,
)
# The driver as the subject just before what happened: "I just slid", "we're", "my truck".
_DRIVER_SUBJECT_RE = re.compile(r"\b(?:I|I'm|I've|we|we're|my)\b[^,]{0,30}$", re.I)
# The driver as what was hit or threatened: "backed into me", "pulled a knife on me".
_DRIVER_OBJECT_RE = re.compile(r"\b(?:me|us|my)\b", re.I)
# "Got hit", "was rear-ended" with nobody else before it: the driver is the one it happened to.
_PASSIVE_RE = re.compile(r"(?:got|was|been|we were|I was|I got) ", re.I)
# Whose trouble it is matters for collisions and breakdowns; a weapon, a threat or a sick co-driver is the
# driver's emergency whoever is the subject.
_SUBJECT_MATTERS = ("Accident", "Breakdown")
# "Had a flat but it's fixed now": a resolved breakdown is a mechanical delay, not an emergency.
_RESOLVED_RE = re.compile(
    r"\b(?:fixed|repaired|replaced|swapped|patched|changed (?:it|the tire)|"
    r"back (?:on the road|rolling|moving|driving|underway)|all set|good to go|up and running)\b",
    re.I,
)


def _own_incident(clause: str, turn_text: str) -> bool:
    """A bare "accident" or "wreck" is the driver's own unless something says they are only stuck behind it.

    "I was in a wreck" and "we had an accident" are the driver's; "passed a wreck" is not; "there was a wreck"
    counts only when the rest of the turn is not about traffic ("there was a wreck, then a work zone").
    """
    if _first_unnegated(_INCIDENT_RE, clause) is None or _OTHER_PARTY_RE.search(clause):
        return False
    if _WRECK_SLANG_RE.search(clause):
        return False
    if _THERE_IS_RE.search(clause) and not _FIRST_PERSON_RE.search(clause):
        return False  # "there's a wreck on 285": a report of the road
    return bool(_FIRST_PERSON_RE.search(clause)) or not _TRAFFIC_TALK_RE.search(turn_text)


def _happens_to_driver(clause: str, match: re.Match[str]) -> bool:
    """False when the clause puts someone else's trouble before the match and not the driver."""
    before = clause[: match.start()]
    if _PASSIVE_RE.match(match.group(0)) and not _SOMEONE_ELSE_RE.search(before):
        return True  # "got hit by a car merging": the driver is the one hit
    # The match may start with the vehicle itself: "some truck broke down".
    head = before + match.group(0).split(" ")[0]
    others = list(_SOMEONE_ELSE_RE.finditer(head))
    other = others[-1] if others else _SOMEONE_ELSE_RE.search(clause, match.end())
    subject = _DRIVER_SUBJECT_RE.search(before)
    # "I saw a guy hit a deer": the other party comes after the driver, so it is the subject of what happened.
    if other is None or (subject and not (others and others[-1].start() > subject.start())):
        return True
    return bool(_DRIVER_OBJECT_RE.search(clause, match.start(), match.end() + 8))


def _emergencies_in(
    clause: str, turn_text: str, patterns: list[tuple[str, re.Pattern[str]]] = _EMERGENCY_PATTERNS
) -> list[str]:
    """The emergency kinds a driver's clause reports as happening to them now.

    `patterns` may be narrowed to those that match somewhere in the turn: a clause is part of the turn.
    """
    if _NOT_THIS_DRIVER_RE.search(clause):
        return []
    near_miss = bool(_NEAR_MISS_RE.search(clause))
    kinds = []
    for kind, pattern in patterns:
        if kind in kinds or (near_miss and kind != "Medical"):
            continue
        match = _first_unnegated(pattern, clause)
        if match and (kind not in _SUBJECT_MATTERS or _happens_to_driver(clause, match)):
            kinds.append(kind)
    if near_miss:
        return kinds
    if "Accident" not in kinds and _own_incident(clause, turn_text):
        kinds.append("Accident")
    if "Breakdown" in kinds and _RESOLVED_RE.search(turn_text):
        kinds.remove("Breakdown")
    return kinds


# Hitting an animal that only damaged the truck ("clipped a deer and the radiator's pouring out") leaves a
# broken-down truck, not a collision scene: a breakdown when one is reported with it.
_ANIMAL_STRIKE_RE = re.compile(
    r"\b(?:hit|struck|clipped|smacked|bumped)\s+(?:a|an|the|some)?\s*"
    r"(?:deer|cow|elk|moose|animal|hog|coyote|dog)s?\b",
    re.I,
)
_SCENE_RE = re.compile(r"\b(?:spun|rolled|flipped|ditch|off the road|over|jack ?knif|into)\b", re.I)


def _detect_emergency(turns: list[Turn]) -> tuple[str, int] | None:
    """(emergency type, index of the first driver turn reporting it); only the driver's words count."""
    found: dict[str, int] = {}
    for index, turn in _user_turns(turns):
        # Most turns match no pattern at all: one search over the whole turn spares one per clause.
        lowered = " " + turn.text.lower()
        live = [
            (kind, pattern)
            for kind, pattern, gate in _GATED_PATTERNS
            if (not gate or any(word in lowered for word in gate)) and pattern.search(turn.text)
        ]
        kinds = {kind for clause in _clauses(turn.text) for kind in _emergencies_in(clause, turn.text, live)}
        animal_only = _ANIMAL_STRIKE_RE.search(turn.text) and not _SCENE_RE.search(
            _ANIMAL_STRIKE_RE.sub(" ", turn.text)
        )
        if {"Accident", "Breakdown"} <= kinds and animal_only:
            kinds.discard("Accident")
        for kind in sorted(kinds):
            found.setdefault(kind, index)
    for kind, _ in _EMERGENCY_PATTERNS:
        if kind in found:
            return kind, min(found.values())
    return None
