"""Fixtures for service tests: the settings of one test, and one server process's sessions."""

from collections.abc import AsyncIterator, Callable

import pytest

from app.config import Settings
from app.core.database import SessionMaker, create_engine, create_session_maker


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[SessionMaker]:
    """One server process's sessions."""
    engine = create_engine(settings)
    yield create_session_maker(engine)
    await engine.dispose()
