"""One keyset helper for every list: the row-value condition both ways, and a cursor that round-trips."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from app.core.keyset import InvalidCursor, Keyset, by_name, newest_first, oldest_first
from app.models import AgentConfig, Call, User


# Built in each test, not at import: a list's keyset is made where the list is defined, and a mutation run
# only sees what runs inside a test.
def newest() -> Keyset[datetime]:
    return newest_first(col(Call.created_at), col(Call.id))


def names() -> Keyset[str]:
    return by_name(col(AgentConfig.name), col(AgentConfig.id))


def oldest() -> Keyset[datetime]:
    return oldest_first(col(User.created_at), col(User.id))


def sql(condition: object) -> str:
    return str(condition.compile(dialect=postgresql.dialect()))  # type: ignore[attr-defined]


def test_resuming_is_one_row_value_comparison_in_the_lists_direction() -> None:
    key = uuid.uuid4()
    assert sql(newest().after((datetime.now(UTC), key))).startswith("(calls.created_at, calls.id) < (")
    assert sql(names().after(("a", key))).startswith(
        "(agent_configurations.name, agent_configurations.id) > ("
    )
    assert sql(oldest().after((datetime.now(UTC), key))).startswith("(users.created_at, users.id) > (")
    assert " OR " not in sql(newest().after((datetime.now(UTC), key)))
    assert [sql(column) for column in oldest().order_by()] == ["users.created_at", "users.id"]


@pytest.mark.parametrize("name", ["Dispatch", "with|bar", "", "ünï|cödé|"])
def test_a_name_cursor_round_trips_whatever_the_name_holds(name: str) -> None:
    row_id = uuid.uuid4()
    assert names().decode(names().encode(name, row_id)) == (name, row_id)


@pytest.mark.usefixtures("host_clock_not_on_utc")
def test_a_time_cursor_round_trips_in_utc_whatever_the_hosts_zone() -> None:
    row_id, moment = uuid.uuid4(), datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=timezone(timedelta(hours=-5)))
    for keyset in (newest(), oldest()):
        decoded, decoded_id = keyset.decode(keyset.encode(moment, row_id))
        assert (decoded, decoded.tzinfo, decoded_id) == (moment, UTC, row_id)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "", "bm8tYmFy", "fHt9"])
def test_anything_else_is_refused_as_a_cursor_this_api_did_not_return(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="cursor is not one this API returned"):
        newest().decode(cursor)
