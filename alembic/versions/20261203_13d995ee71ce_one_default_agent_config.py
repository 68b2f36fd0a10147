"""one default agent configuration: a partial unique index on is_default

Revision ID: 13d995ee71ce
Revises: 1559fd723e00
Create Date: 2026-12-03 15:40:00.000000

Concurrent creates with `is_default: true` each cleared the others' flag before any had committed,
leaving several defaults. The index admits one row with is_default true; the service retries the
loser of a race, so the latest request wins. Existing duplicates are resolved first: the newest
default stays.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "13d995ee71ce"
down_revision: str | None = "1559fd723e00"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_agent_configurations_one_default"


def upgrade() -> None:
    op.execute(
        "UPDATE agent_configurations SET is_default = false WHERE is_default AND id NOT IN ("
        " SELECT id FROM agent_configurations WHERE is_default ORDER BY created_at DESC, id DESC LIMIT 1)"
    )
    op.create_index(
        INDEX,
        "agent_configurations",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="agent_configurations")
