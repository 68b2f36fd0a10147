"""extraction lease: calls.lease_expires_at, renewed while an extraction runs

Revision ID: 5c1e7a2b9d40
Revises: 86e09a0abeb6
Create Date: 2026-11-26 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5c1e7a2b9d40'
down_revision: str | None = '86e09a0abeb6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: a call `processing` without a lease (claimed before this migration) counts as lapsed
    # a minute after its last update, so a sweep after the upgrade finishes it.
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
