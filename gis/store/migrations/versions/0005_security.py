"""API keys (hashed, revocable, scoped by area code) and the audit log.

Revision ID: 0005_security
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_security"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("scope", sa.Text),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "role IN ('official', 'field_worker', 'integration', 'admin')", name="api_key_role"
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("key_id", sa.Text),
        sa.Column("key_name", sa.Text),
        sa.Column("role", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("client", sa.Text, nullable=False, server_default=""),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("audit_log_at_idx", "audit_log", ["at"])
    op.execute("INSERT INTO data_versions (name) VALUES ('api_keys') ON CONFLICT DO NOTHING")
    op.execute(
        # not on last_used_at: that changes with use, and must not empty every worker's cache
        "CREATE TRIGGER api_keys_data_version AFTER INSERT OR DELETE OR TRUNCATE "
        "OR UPDATE OF role, scope, secret_hash, revoked_at "
        "ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION wangge_bump_data_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER api_keys_data_version ON api_keys")
    op.execute("DELETE FROM data_versions WHERE name = 'api_keys'")
    op.drop_table("audit_log")
    op.drop_table("api_keys")
