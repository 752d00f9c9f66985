"""Serving on several hosts (issue 28): per-key rate-limit buckets shared by every API worker
and host, and each key's last write (reads that must see it go to the primary). Both UNLOGGED:
cheap to update, not replicated, emptied by a crash, which only forgets recent history.

Revision ID: 0018_serving
Revises: 0017_field
"""

from __future__ import annotations

from alembic import op

revision = "0018_serving"
down_revision = "0017_field"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE UNLOGGED TABLE rate_buckets ("
        " who text PRIMARY KEY,"
        " tokens double precision NOT NULL,"
        " at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE UNLOGGED TABLE key_writes ("
        " key_id text PRIMARY KEY,"
        " at timestamptz NOT NULL DEFAULT now())"
    )


def downgrade() -> None:
    op.execute("DROP TABLE key_writes")
    op.execute("DROP TABLE rate_buckets")
