"""Offline fallback extractor: keyword and pattern rules that turn a call transcript into a CallExtraction."""

from app.extraction.rules.delays import DelayFacts
from app.extraction.rules.extractor import RulesExtractor, extract_with_rules
from app.extraction.rules.locations import Location
from app.extraction.rules.turns import Turn, parse_turns
from app.extraction.rules.vocabulary import CITY_ALIASES, MAJOR_CITIES, US_STATES

__all__ = [
    "CITY_ALIASES",
    "MAJOR_CITIES",
    "US_STATES",
    "DelayFacts",
    "Location",
    "RulesExtractor",
    "Turn",
    "extract_with_rules",
    "parse_turns",
]
