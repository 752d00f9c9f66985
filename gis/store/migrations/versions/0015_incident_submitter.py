"""Incidents remember which API key submitted them (an integration key reads back its own).

Revision ID: 0015_incident_submitter
Revises: 0014_one_line
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_incident_submitter"
down_revision = "0014_one_line"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("submitted_by", sa.Text))
    op.create_index("ix_incidents_submitted_by", "incidents", ["submitted_by"])


def downgrade() -> None:
    op.drop_index("ix_incidents_submitted_by", table_name="incidents")
    op.drop_column("incidents", "submitted_by")
