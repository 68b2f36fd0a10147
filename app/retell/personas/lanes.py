"""Freight corridors the scripted trucks run on, and how a driver says a place name."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class _Lane:
    """A freight corridor: towns listed in the direction of travel, plus typical pickups and receivers."""

    highway: str
    direction: str
    towns: tuple[tuple[str, str], ...]
    origins: tuple[str, ...]
    destinations: tuple[str, ...]


_LANES = (
    _Lane(
        "I-10",
        "eastbound",
        (("Indio", "CA"), ("Blythe", "CA"), ("Quartzsite", "AZ"), ("Phoenix", "AZ"), ("Casa Grande", "AZ")),
        ("Ontario, CA", "Riverside, CA", "Long Beach, CA"),
        ("El Paso, TX", "San Antonio, TX", "Houston, TX"),
    ),
    _Lane(
        "I-40",
        "eastbound",
        (
            ("Kingman", "AZ"),
            ("Flagstaff", "AZ"),
            ("Gallup", "NM"),
            ("Albuquerque", "NM"),
            ("Tucumcari", "NM"),
        ),
        ("Barstow, CA", "Bakersfield, CA"),
        ("Oklahoma City, OK", "Little Rock, AR", "Memphis, TN"),
    ),
    _Lane(
        "I-80",
        "eastbound",
        (
            ("Rock Springs", "WY"),
            ("Laramie", "WY"),
            ("Cheyenne", "WY"),
            ("Sidney", "NE"),
            ("North Platte", "NE"),
        ),
        ("Salt Lake City, UT", "Reno, NV"),
        ("Omaha, NE", "Des Moines, IA", "Chicago, IL"),
    ),
    _Lane(
        "I-35",
        "northbound",
        (("San Antonio", "TX"), ("Austin", "TX"), ("Waco", "TX"), ("Ardmore", "OK"), ("Norman", "OK")),
        ("Laredo, TX", "McAllen, TX"),
        ("Wichita, KS", "Kansas City, MO"),
    ),
    _Lane(
        "I-75",
        "northbound",
        (("Valdosta", "GA"), ("Tifton", "GA"), ("Macon", "GA"), ("Chattanooga", "TN"), ("Knoxville", "TN")),
        ("Tampa, FL", "Lakeland, FL", "Ocala, FL"),
        ("Lexington, KY", "Cincinnati, OH", "Dayton, OH"),
    ),
    _Lane(
        "I-95",
        "northbound",
        (
            ("Florence", "SC"),
            ("Lumberton", "NC"),
            ("Fayetteville", "NC"),
            ("Rocky Mount", "NC"),
            ("Emporia", "VA"),
        ),
        ("Savannah, GA", "Jacksonville, FL"),
        ("Richmond, VA", "Baltimore, MD", "Philadelphia, PA"),
    ),
    _Lane(
        "I-70",
        "eastbound",
        (("Colby", "KS"), ("Hays", "KS"), ("Salina", "KS"), ("Topeka", "KS"), ("Columbia", "MO")),
        ("Denver, CO", "Aurora, CO"),
        ("St. Louis, MO", "Indianapolis, IN", "Columbus, OH"),
    ),
)


_CITY_STATE = re.compile(r"([^,]+), [A-Z]{2}")


def _spoken(place: str) -> str:
    """How a driver says a place: "Dallas" for "Dallas, TX", anything else as written."""
    match = _CITY_STATE.fullmatch(place)
    return match.group(1) if match else place
