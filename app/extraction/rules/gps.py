"""The system's GPS against the driver's word: when two locations are clearly different places."""

from __future__ import annotations

import functools
import re

from app.extraction.rules.locations import _TRACKING_RE, Location, _location_in
from app.extraction.rules.turns import Turn
from app.extraction.rules.vocabulary import US_STATES

_STATE_SUFFIX_RE = re.compile(r",\s*([A-Z]{2})$")


def _city_and_state(location: Location) -> tuple[str | None, str | None]:
    """("Tucson", "AZ") from "Tucson, AZ"; (None, "TX") from a state named alone."""
    if not location.city:
        return None, None
    if location.city in US_STATES:
        return None, US_STATES[location.city]
    suffix = _STATE_SUFFIX_RE.search(location.city)
    if suffix:
        return location.city[: suffix.start()].strip(), suffix.group(1)
    return location.city, None


def locations_disagree(stated: Location, gps: Location) -> bool:
    """True when the driver's location is clearly elsewhere: another highway, city or state.

    Only what both sides name is compared, so "I-10 mile marker 250" agrees with "I-10 near Tucson, AZ",
    and "Tucson, Arizona" with "near Tucson".
    """
    if stated.highway and gps.highway and stated.highway != gps.highway:
        return True
    stated_city, stated_state = _city_and_state(stated)
    gps_city, gps_state = _city_and_state(gps)
    if stated_state and gps_state and stated_state != gps_state:
        return True
    return bool(stated_city and gps_city and stated_city.lower() != gps_city.lower())


@functools.lru_cache(maxsize=256)
def parse_location(text: str) -> Location:
    """A GPS position parsed once per process (the same string comes with every turn); do not mutate it."""
    return _location_in(text)


def gps_short_name(gps: str) -> str:
    """How the agent names the GPS position in a question: the city alone ("Tucson"), else as given."""
    city, _ = _city_and_state(_location_in(gps))
    return city or gps


def _gps_check(turns: list[Turn]) -> tuple[str | None, bool]:
    """(GPS position the agent read out, whether the driver had said somewhere clearly else before it)."""
    stated: Location | None = None
    for turn in turns:
        if turn.role == "user":
            location = _location_in(turn.text)
            if location.found:
                stated = location
            continue
        if not _TRACKING_RE.search(turn.text):
            continue
        gps = _location_in(turn.text)
        if gps.found:
            return gps.render(), stated is not None and locations_disagree(stated, gps)
    return None, False
