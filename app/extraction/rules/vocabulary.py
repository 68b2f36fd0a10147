"""Word lists and reference tables shared by several of the rules: places, hour words, traffic, the past."""

from __future__ import annotations

US_STATES: dict[str, str] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
_STATE_ABBRS = set(US_STATES.values()) | {"DC"}

# Major freight cities, so "near Amarillo" can become "near Amarillo, TX". Not exhaustive on purpose:
# an unknown city is still reported, just without a state.
MAJOR_CITIES: dict[str, str] = {
    "Albuquerque": "NM", "Amarillo": "TX", "Atlanta": "GA", "Austin": "TX", "Bakersfield": "CA",
    "Baltimore": "MD", "Barstow": "CA", "Baton Rouge": "LA", "Birmingham": "AL", "Boise": "ID",
    "Boston": "MA", "Buffalo": "NY", "Charlotte": "NC", "Chattanooga": "TN", "Cheyenne": "WY",
    "Chicago": "IL", "Cincinnati": "OH", "Cleveland": "OH", "Columbus": "OH", "Dallas": "TX",
    "Denver": "CO", "Des Moines": "IA", "Detroit": "MI", "El Paso": "TX", "Flagstaff": "AZ",
    "Fort Worth": "TX", "Fresno": "CA", "Gallup": "NM", "Harrisburg": "PA", "Houston": "TX",
    "Indianapolis": "IN", "Jacksonville": "FL", "Kansas City": "MO", "Kingman": "AZ", "Knoxville": "TN",
    "Laredo": "TX", "Las Vegas": "NV", "Little Rock": "AR", "Los Angeles": "CA", "Louisville": "KY",
    "Lubbock": "TX", "Memphis": "TN", "Miami": "FL", "Milwaukee": "WI", "Minneapolis": "MN",
    "Nashville": "TN", "New Orleans": "LA", "Newark": "NJ", "Oakland": "CA", "Oklahoma City": "OK",
    "Omaha": "NE", "Orlando": "FL", "Philadelphia": "PA", "Phoenix": "AZ", "Pittsburgh": "PA",
    "Portland": "OR", "Raleigh": "NC", "Reno": "NV", "Richmond": "VA", "Sacramento": "CA",
    "Salt Lake City": "UT", "San Antonio": "TX", "San Diego": "CA", "Savannah": "GA", "Seattle": "WA",
    "Shreveport": "LA", "Spokane": "WA", "St. Louis": "MO", "Stockton": "CA", "Tampa": "FL",
    "Texarkana": "TX", "Toledo": "OH", "Tucson": "AZ", "Tulsa": "OK", "Wichita": "KS", "Yuma": "AZ",
}  # fmt: skip
# How drivers say some of them.
CITY_ALIASES: dict[str, str] = {"Vegas": "Las Vegas", "Saint Louis": "St. Louis", "Philly": "Philadelphia"}

_HOUR_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_HOUR_WORD_ALT = "|".join(_HOUR_WORDS)


# Road and traffic talk: both a sign that a bare "wreck" is someone else's and a cause of delay.
_TRAFFIC_TALK = (
    r"traffic|construction|road ?work|work zones?|congest\w*|backed up|backup|bumper to bumper|gridlock|"
    r"stop[- ]and[- ]go|parking lot|standstill|jam(?:med)?|lane closures?|closures?|(?:one|single) lane|"
    r"lanes? (?:are |were )?(?:closed|blocked)|detour|rush hour|slowdown|crawling|barely moving"
)


# Events that are over: not an emergency now, and not what is slowing the truck today.
_PAST_EVENT = r"yesterday|earlier|last (?:week|month|year|time|night)"
