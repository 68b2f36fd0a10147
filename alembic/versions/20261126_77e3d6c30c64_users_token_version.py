"""users.token_version: tokens are revoked by deactivation, reactivation and password changes

Revision ID: 77e3d6c30c64
Revises: 5c1e7a2b9d40
Create Date: 2026-11-26 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '77e3d6c30c64'
down_revision: str | None = '5c1e7a2b9d40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The database bumps the version itself, so an account changed by hand in SQL is revoked too.
POSTGRES_FUNCTION = """
CREATE FUNCTION users_revoke_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.is_active IS DISTINCT FROM OLD.is_active
       OR NEW.hashed_password IS DISTINCT FROM OLD.hashed_password THEN
        NEW.token_version := OLD.token_version + 1;
    END IF;
    RETURN NEW;
END $$
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER users_revoke_tokens BEFORE UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION users_revoke_tokens()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER users_revoke_tokens AFTER UPDATE OF is_active, hashed_password ON users
FOR EACH ROW WHEN NEW.is_active IS NOT OLD.is_active OR NEW.hashed_password IS NOT OLD.hashed_password
BEGIN
    UPDATE users SET token_version = OLD.token_version + 1 WHERE id = NEW.id;
END
"""


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS users_revoke_tokens' + (' ON users' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS users_revoke_tokens()')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
