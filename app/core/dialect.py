"""Where SQLite and PostgreSQL differ, decided here: which database a bind is, and how each spells a thing.

Every other module asks this one rather than reading a dialect's name itself.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

POSTGRESQL = "postgresql"
SQLITE = "sqlite"


def name_of(bind: Any) -> str:
    """The database behind a session, connection, engine or URL: "postgresql" or "sqlite"."""
    if isinstance(bind, str | URL):
        return make_url(bind).get_backend_name()
    dialect = getattr(bind, "dialect", None)
    if dialect is None:  # an (async) session: its engine's dialect
        dialect = bind.bind.dialect
    return str(dialect.name)


def is_postgresql(bind: Any) -> bool:
    return name_of(bind) == POSTGRESQL


def is_sqlite(bind: Any) -> bool:
    return name_of(bind) == SQLITE


def insert_for(bind: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING exists on both databases, under each dialect's own insert()."""
    return postgresql.insert if is_postgresql(bind) else sqlite.insert


def byte_length(bind: Any, column: Any) -> Any:
    """Bytes of a stored JSON value's text; SQLite before 3.43 has no octet_length."""
    if is_sqlite(bind):
        return sa.func.length(sa.cast(column, sa.LargeBinary))
    return sa.func.octet_length(sa.cast(column, sa.Text))


# ---------------------------------------------------------------------------------------------------------
# Hand-built SQL (the webhook's statements): the same meaning, each database's spelling
# ---------------------------------------------------------------------------------------------------------


def sql_milliseconds_between(later: str, earlier: str, *, postgres: bool, max_days: int) -> str:
    """`later - earlier` in whole milliseconds, or NULL if negative or `max_days` or longer."""
    if postgres:
        return (
            f"CASE WHEN {later} >= {earlier}"
            f" AND {later} - {earlier} < interval '{max_days} days'"
            f" THEN (EXTRACT(EPOCH FROM ({later} - {earlier})) * 1000)::integer END"
        )
    days = f"(julianday({later}) - julianday({earlier}))"
    return (
        f"CASE WHEN {later} >= {earlier} AND {days} < {max_days}"
        f" THEN CAST(round({days} * 86400000) AS INTEGER) END"
    )


def sql_next_version(previous: str, now: str, *, postgres: bool) -> str:
    """A changed row's `updated_at` (its version, what streams order a call's changes by): `now`, but always
    after the version it replaces. A statement that waited for the row behind another writer (an
    extraction saving) would otherwise stamp the earlier moment it started, and streams would skip the
    change as one they have already sent. SQLite has one writer at a time and takes `now` as it is."""
    if postgres:
        return f"GREATEST({now}, {previous} + interval '1 microsecond')"
    return now


def sql_comparable_json(stored: str, given: str, *, postgres: bool, is_json: bool) -> tuple[str, str]:
    """A stored value and a bound one, in forms `=` compares: PostgreSQL's json has no equality."""
    if is_json and postgres:
        return f"{stored}::text", f"CAST({given} AS TEXT)"
    return stored, given


def sql_is_not_null_returned(column: str, *, postgres: bool) -> str:
    """`column IS NOT NULL` in a RETURNING clause. SQLite (3.40 at least) answers it wrongly there on a table
    with NOT NULL columns and a table constraint (always "not null"); typeof() reads the value itself."""
    return f"{column} IS NOT NULL" if postgres else f"typeof({column}) <> 'null'"
