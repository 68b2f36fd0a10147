"""Start-up seeding is safe when several workers start at once on an empty database."""

import asyncio
from collections.abc import Callable

from app.config import Settings
from app.core.database import create_engine, create_session_maker, session_scope
from app.services.agent_configs import seed_default_config
from app.services.users import ensure_first_admin
from tests.support import count_rows


async def test_workers_starting_together_seed_one_admin_and_one_configuration(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    engines = [create_engine(settings) for _ in range(4)]

    async def start_worker(index: int) -> None:
        async with session_scope(create_session_maker(engines[index])) as session:
            await ensure_first_admin(session, settings=settings)
            await seed_default_config(session)

    await asyncio.gather(*(start_worker(i) for i in range(len(engines))))
    for engine in engines:
        await engine.dispose()
    assert await count_rows(settings.database_url, "users") == 1
    assert await count_rows(settings.database_url, "agent_configurations") == 1
