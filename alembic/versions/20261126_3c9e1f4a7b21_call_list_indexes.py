"""call list indexes: each filter newest first, trigram driver search

Revision ID: 3c9e1f4a7b21
Revises: 77e3d6c30c64
Create Date: 2026-11-26 15:00:00.000000

Each list filter gets an index ending in (created_at, id), so a filtered page newest first is one index
range read at any table size; they replace the single-column ones. The driver search (`ILIKE '%x%'`) gets
a pg_trgm GIN index on PostgreSQL; other databases get a plain index on the name.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c9e1f4a7b21"
down_revision: str | None = "77e3d6c30c64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILTERS = ("status", "call_outcome", "load_number", "agent_config_id")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        for column in (*FILTERS, "driver_name"):
            batch_op.drop_index(f"ix_calls_{column}")
        for column in FILTERS:
            batch_op.create_index(f"ix_calls_{column}_created_at_id", [column, "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_calls_driver_name_trgm",
            ["driver_name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"driver_name": "gin_trgm_ops"},
            # No pending list: its periodic flush stalled concurrent webhook inserts for seconds.
            postgresql_with={"fastupdate": "off"},
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_driver_name_trgm")
        for column in FILTERS:
            batch_op.drop_index(f"ix_calls_{column}_created_at_id")
        for column in (*FILTERS, "driver_name"):
            batch_op.create_index(f"ix_calls_{column}", [column], unique=False)
    # pg_trgm stays: other objects may use it, and it costs nothing.
