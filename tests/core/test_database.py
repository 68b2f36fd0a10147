"""The unit-of-work rule: a session scope commits on success and rolls back on failure, on both databases."""

from collections.abc import Callable

import pytest
from sqlalchemy import text

from app.config import Settings
from app.core.database import create_engine, create_session_maker, session_scope
from app.models import Call, CallStatus
from tests.support import count_rows


def a_call() -> Call:
    return Call(driver_name="Ana Ortiz", load_number="L-1", phone_number="+13125550101")


async def test_a_scope_commits_what_its_block_wrote(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    async with session_scope(create_session_maker(engine)) as session:
        session.add(a_call())
    await engine.dispose()
    assert await count_rows(settings.database_url, "calls") == 1


async def test_a_scope_that_raises_keeps_nothing(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    with pytest.raises(RuntimeError):
        async with session_scope(create_session_maker(engine)) as session:
            session.add(a_call())
            await session.flush()  # written inside the transaction, then undone
            raise RuntimeError("the use case failed")
    await engine.dispose()
    assert await count_rows(settings.database_url, "calls") == 0


async def test_call_status_is_stored_as_its_value_and_read_back_as_the_enum(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    call = a_call()
    call.status = CallStatus.NOT_CONNECTED
    async with session_scope(create_session_maker(engine)) as session:
        session.add(call)
    async with create_session_maker(engine)() as session:
        raw = (await session.exec(text("SELECT status FROM calls"))).one()[0]  # type: ignore[call-overload]
        loaded = await session.get(Call, call.id)
    await engine.dispose()
    assert raw == "not_connected"
    assert loaded is not None
    assert loaded.status is CallStatus.NOT_CONNECTED
