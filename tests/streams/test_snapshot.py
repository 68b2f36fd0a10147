"""What a dashboard's stream opens with: the calls changed last, bounded whatever the table holds."""

from datetime import UTC, datetime, timedelta

from app.core.database import SessionMaker, session_scope
from app.models import AgentConfig
from app.streams.call_events import SNAPSHOT_SIZE, StreamReads
from tests.support.seed import seed_call

NOW = datetime.now(UTC)


async def test_a_fresh_subscriber_gets_the_twenty_five_calls_changed_last_oldest_first(
    maker: SessionMaker, clean_database: str
) -> None:
    # The snapshot a dashboard opens with is bounded, whatever the table holds: the latest changes only.
    made = [
        await seed_call(clean_database, created_at=NOW - timedelta(minutes=n))
        for n in range(SNAPSHOT_SIZE + 5)
    ]
    reads = StreamReads(maker)
    try:
        rows = await reads.snapshot(None, None)
    finally:
        await reads.aclose()
    # Seeded one after another, so the last seeded changed last; the snapshot ends with it.
    assert [row.call_id for row in rows] == made[-SNAPSHOT_SIZE:]


async def test_a_stream_for_one_configuration_opens_with_that_configurations_calls_only(
    maker: SessionMaker, clean_database: str
) -> None:
    async with session_scope(maker) as session:
        night = AgentConfig(name="Night shift", general_prompt="p")
        session.add(night)
    ours = await seed_call(clean_database, created_at=NOW, agent_config_id=night.id)
    await seed_call(clean_database, created_at=NOW)  # another configuration's (none)
    reads = StreamReads(maker)
    try:
        rows = await reads.snapshot(night.id, None)
    finally:
        await reads.aclose()
    assert [row.call_id for row in rows] == [ours]
