"""Extractors turn a transcript into the structured result the dashboard shows."""

from typing import Protocol

from app.schemas.extraction import CallExtraction


class Extractor(Protocol):
    """The LLM extractor and the offline rules extractor both provide this."""

    name: str

    async def extract(self, transcript: str) -> CallExtraction: ...

    async def aclose(self) -> None: ...


__all__ = ["CallExtraction", "Extractor"]
