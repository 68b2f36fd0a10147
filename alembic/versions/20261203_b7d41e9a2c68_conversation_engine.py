"""conversation engine: the response engine per config, dialogue state, live result and latency per call

Revision ID: b7d41e9a2c68
Revises: 3c9e1f4a7b21
Create Date: 2026-12-03 15:10:00.000000

`agent_configurations.response_engine` says who speaks for the agent: Retell's single-prompt LLM
("retell_llm", every existing row) or this backend's engine over the LLM WebSocket ("custom_llm").
On calls: the engine's resumable dialogue state and the last response id it answered (a reconnect on any
worker resumes from them), the result as far as the call has got (`live_result`), and Retell's measured
latency from the call's webhooks.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "b7d41e9a2c68"
down_revision: str | None = "3c9e1f4a7b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_configurations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("response_engine", sa.String(length=20), nullable=False, server_default="retell_llm")
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialogue_state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("last_response_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("live_result", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("latency", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        for column in ("latency", "live_result", "last_response_id", "dialogue_state"):
            batch_op.drop_column(column)
    with op.batch_alter_table("agent_configurations", schema=None) as batch_op:
        batch_op.drop_column("response_engine")
