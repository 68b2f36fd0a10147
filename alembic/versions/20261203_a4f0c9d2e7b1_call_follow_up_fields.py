"""call follow-up fields: follow_up_reason and location_conflict on calls, with the follow-up indexes

Revision ID: a4f0c9d2e7b1
Revises: 13d995ee71ce
Create Date: 2026-12-03 16:30:00.000000

The result's `follow_up_reason` and `location_conflict` are copied onto the call where `call_outcome` is,
so the list filters on them and the stats count them from columns, never from result JSON. Few calls
need a follow-up: both indexes are partial (only those calls) and end in (created_at, id) like the others.
Existing results are copied over: a completed call's result, else the engine's live one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4f0c9d2e7b1"
down_revision: str | None = "13d995ee71ce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEEDS_FOLLOW_UP = sa.text("follow_up_reason IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("location_conflict", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_calls_follow_up_created_at_id",
            ["created_at", "id"],
            unique=False,
            postgresql_where=NEEDS_FOLLOW_UP,
            sqlite_where=NEEDS_FOLLOW_UP,
        )
        batch_op.create_index(
            "ix_calls_follow_up_reason_created_at_id",
            ["follow_up_reason", "created_at", "id"],
            unique=False,
            postgresql_where=NEEDS_FOLLOW_UP,
            sqlite_where=NEEDS_FOLLOW_UP,
        )
    _backfill()


def _backfill() -> None:
    """The fields of each call's current result: the stored one once completed, else the live one."""
    bind = op.get_bind()
    calls = sa.table(
        "calls",
        sa.column("id"),
        sa.column("status", sa.String),
        sa.column("live_result", sa.JSON),
        sa.column("follow_up_reason", sa.String),
        sa.column("location_conflict", sa.Boolean),
    )
    results = sa.table("call_results", sa.column("call_id"), sa.column("data", sa.JSON))
    stored = dict(bind.execute(sa.select(results.c.call_id, results.c.data)).all())
    rows = bind.execute(sa.select(calls.c.id, calls.c.status, calls.c.live_result)).all()
    for call_id, status, live in rows:
        result = stored.get(call_id) if status == "completed" else live
        if not isinstance(result, dict):
            continue
        reason, conflict = result.get("follow_up_reason"), result.get("location_conflict") is True
        if reason is None and not conflict:
            continue
        bind.execute(
            sa.update(calls)
            .where(calls.c.id == call_id)
            .values(follow_up_reason=reason, location_conflict=conflict)
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_follow_up_reason_created_at_id")
        batch_op.drop_index("ix_calls_follow_up_created_at_id")
        batch_op.drop_column("location_conflict")
        batch_op.drop_column("follow_up_reason")
