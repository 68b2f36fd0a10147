"""Scripted driver personas that the offline Retell simulator plays, one reserved test number each."""

from app.retell.personas.build import build_script
from app.retell.personas.model import (
    DEFAULT_PERSONA,
    PERSONAS,
    Persona,
    ScriptedCall,
    Turn,
    persona_for_phone,
)

__all__ = [
    "DEFAULT_PERSONA",
    "PERSONAS",
    "Persona",
    "ScriptedCall",
    "Turn",
    "build_script",
    "persona_for_phone",
]
