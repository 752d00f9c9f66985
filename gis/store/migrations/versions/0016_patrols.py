"""Patrols (issue 27): GPS tracks of grid members, their batches, raw fixes and the buildings
each patrol visited.

Raw fixes are personal location data and are purged after ``patrol_retention_days``; the
patrol row (totals, dropped counts, geofence notes) and its visits stay.

Revision ID: 0016_patrols
Revises: 0015_incident_submitter
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016_patrols"
down_revision = "0015_incident_submitter"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Text),
        sa.Column("member", sa.Text, nullable=False),
        sa.Column("area_code", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("fixes_received", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fixes_kept", sa.Integer, nullable=False, server_default="0"),
        sa.Column("dropped", JSONB, nullable=False, server_default="{}"),
        sa.Column("distance_m", sa.Float, nullable=False, server_default="0"),
        sa.Column("duration_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("geofence", JSONB, nullable=False, server_default="[]"),
        sa.Column("track", Geometry("MULTILINESTRING", srid=4326, spatial_index=False)),
        sa.Column("purged_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("source IN ('phone', 'gpx', 'json')", name="patrol_source"),
        sa.CheckConstraint("status IN ('open', 'ended')", name="patrol_status"),
    )
    op.create_index("patrols_key_id_idx", "patrols", ["key_id", "started_at"])
    op.create_index("patrols_area_code_idx", "patrols", ["area_code", "started_at"])
    op.create_index("patrols_ended_at_idx", "patrols", ["ended_at"])
    op.create_table(
        "patrol_batches",
        sa.Column(
            "patrol_id",
            sa.BigInteger,
            sa.ForeignKey("patrols.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("batch_id", sa.Text, primary_key=True),
        sa.Column("fixes", sa.Integer, nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "patrol_fixes",
        sa.Column(
            "patrol_id",
            sa.BigInteger,
            sa.ForeignKey("patrols.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("t", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("ele_m", sa.Float),
    )
    op.create_table(
        "patrol_visits",
        sa.Column(
            "patrol_id",
            sa.BigInteger,
            sa.ForeignKey("patrols.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("building_code", sa.Text, primary_key=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("distance_m", sa.Float, nullable=False),
    )
    op.create_index("patrol_visits_building_idx", "patrol_visits", ["building_code", "visited_at"])


def downgrade() -> None:
    op.drop_table("patrol_visits")
    op.drop_table("patrol_fixes")
    op.drop_table("patrol_batches")
    op.drop_table("patrols")
