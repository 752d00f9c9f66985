"""Join the three branches (gazetteer, security, stats facts) into one line of history.

Every migration after this one has exactly one parent, in number order.

Revision ID: 0014_one_line
Revises: 0003_gazetteer, 0005_security, 0013_stats_facts
"""

from __future__ import annotations

revision = "0014_one_line"
down_revision = ("0003_gazetteer", "0005_security", "0013_stats_facts")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the merge only records that all three branches are applied."""


def downgrade() -> None:
    """Nothing to undo."""
