"""The engine's LLM reader from settings: the same key, server and model as extraction, else none."""

import httpx
from openai import AsyncOpenAI

from app.config import Settings
from app.conversation.understanding import LiveReader
from app.extraction.llm import CONNECT_TIMEOUT_SECONDS


def build_live_reader(settings: Settings) -> LiveReader | None:
    """None without OPENAI_API_KEY: the whole engine then runs on rules and templates."""
    if not settings.openai_api_key:
        return None
    budget_s = settings.engine_llm_budget_ms / 1000
    client = AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        # The turn's budget is the real bound; the client's own is a backstop.
        timeout=httpx.Timeout(max(budget_s, 1.0), connect=min(CONNECT_TIMEOUT_SECONDS, max(budget_s, 1.0))),
        max_retries=0,  # a retry could never land within the turn's budget
    )
    return LiveReader(client=client, model=settings.openai_model, budget_s=budget_s)
