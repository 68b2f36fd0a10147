"""Choose the extractor from settings: the LLM when configured, else the offline rules."""

from loguru import logger

from app.config import Settings
from app.extraction import Extractor


def build_extractor(settings: Settings) -> Extractor | None:
    """None means extraction is not configured (EXTRACTOR=openai without OPENAI_API_KEY)."""
    if settings.effective_extractor == "rules":
        from app.extraction.rules import RulesExtractor

        return RulesExtractor()
    if not settings.openai_api_key:
        logger.warning("EXTRACTOR=openai but OPENAI_API_KEY is unset: calls will stay 'ended', not extracted")
        return None
    from app.extraction.llm import LLMExtractor

    return LLMExtractor(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout_seconds=settings.openai_timeout_seconds,
    )
