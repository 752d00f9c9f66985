"""Data versions: a counter per table, bumped by statement triggers, so every API worker can
notice a changed staff roster or a newly activated generation with one tiny query.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TRACKED = ("generations", "areas", "buildings", "staff", "facilities")


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.execute(
        "INSERT INTO data_versions (name) VALUES " + ", ".join(f"('{table}')" for table in TRACKED)
    )
    op.execute(
        """
        CREATE FUNCTION wangge_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_versions SET version = version + 1, changed_at = now()
            WHERE name = TG_TABLE_NAME;
            RETURN NULL;
        END $$
        """
    )
    for table in TRACKED:
        op.execute(
            f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION wangge_bump_data_version()"
        )


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
    op.execute("DROP FUNCTION wangge_bump_data_version()")
    op.drop_table("data_versions")
