"""team accounts: roles, invitations, who triggered or changed what, the audit log, the dialing policy

Revision ID: 1559fd723e00
Revises: b7d41e9a2c68
Create Date: 2026-12-03 15:03:59.833269

Every user existing before roles could do everything; the oldest one (the ADMIN_EMAIL bootstrap) becomes
`admin`, any other `dispatcher`. A row inserted by hand in SQL later gets the least role, `viewer`.
The audit log is append-only: the database refuses to change or delete its rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "1559fd723e00"
down_revision: str | None = "b7d41e9a2c68"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""
SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER audit_log_no_{verb} BEFORE {verb.upper()} ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END
"""
    for verb in ("update", "delete")
]

# Revision 77e3d6c30c64's trigger, as it was (migrations never import each other).
USERS_REVOKE_TOKENS_SQLITE = """
CREATE TRIGGER users_revoke_tokens AFTER UPDATE OF is_active, hashed_password ON users
FOR EACH ROW WHEN NEW.is_active IS NOT OLD.is_active OR NEW.hashed_password IS NOT OLD.hashed_password
BEGIN
    UPDATE users SET token_version = OLD.token_version + 1 WHERE id = NEW.id;
END
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)

    op.create_table(
        "dialing_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("allowed_regions", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_dialing_policy_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialing_policy")),
    )
    with op.batch_alter_table("agent_configurations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("updated_by", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_agent_configurations_updated_by_users"),
            "users",
            ["updated_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_agent_configurations_created_by_users"),
            "users",
            ["created_by"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triggered_by", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_calls_triggered_by_created_at_id", ["triggered_by", "created_at", "id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_calls_triggered_by_users"), "users", ["triggered_by"], ["id"], ondelete="SET NULL"
        )

    # Plain ADD COLUMN and CREATE INDEX: no table copy on SQLite, which would drop users' trigger.
    op.add_column("users", sa.Column("role", sa.String(length=20), nullable=False, server_default="viewer"))
    op.add_column(
        "users", sa.Column("password_token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
    )
    op.add_column("users", sa.Column("password_token_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_users_password_token_hash", "users", ["password_token_hash"], unique=True)
    op.execute("UPDATE users SET role = 'dispatcher'")
    op.execute(
        "UPDATE users SET role = 'admin' WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_index("ix_users_password_token_hash", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_token_expires_at")
        batch_op.drop_column("password_token_hash")
        batch_op.drop_column("role")
    if op.get_bind().dialect.name == "sqlite":
        # The batch copied the table, and SQLite drops a table's triggers with it: put revision 77e3's back.
        op.execute(USERS_REVOKE_TOKENS_SQLITE)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calls_triggered_by_users"), type_="foreignkey")
        batch_op.drop_index("ix_calls_triggered_by_created_at_id")
        batch_op.drop_column("triggered_by")

    with op.batch_alter_table("agent_configurations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_agent_configurations_created_by_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_agent_configurations_updated_by_users"), type_="foreignkey")
        batch_op.drop_column("updated_by")
        batch_op.drop_column("created_by")

    op.drop_table("dialing_policy")
    op.drop_index("ix_audit_log_at_id", table_name="audit_log")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
