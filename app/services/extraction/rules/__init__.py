"""Offline fallback extractor: keyword and pattern rules that turn a call transcript into a CallExtraction."""

from app.services.extraction.rules.delays import DelayFacts
from app.services.extraction.rules.extractor import RulesExtractor, extract_with_rules
from app.services.extraction.rules.locations import Location
from app.services.extraction.rules.turns import Turn, parse_turns
from app.services.extraction.rules.vocabulary import CITY_ALIASES, MAJOR_CITIES, US_STATES

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
