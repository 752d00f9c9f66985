"""Incidents: categories (user data), incidents with a responsibility snapshot, and each
incident's timeline of events. Changes bump ``data_versions`` like the tables of 0002.

Revision ID: 0004_incidents
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0004_incidents"
down_revision = "0002"
branch_labels = None
depends_on = None

SOURCES = ("hotline", "app", "patrol", "camera", "other")
STATES = (
    "reported",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "reopened",
    "suspended",
    "extended",
)
TRACKED = ("incident_categories", "incidents")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str, **kw: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "incident_categories",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("sla_hours", sa.Float, nullable=False),
        sa.Column("clock", sa.Text, nullable=False),
        sa.Column("duplicate_radius_m", sa.Float, nullable=False),
        sa.Column("duplicate_window_hours", sa.Float, nullable=False),
        sa.Column("department", sa.Text, nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("clock IN ('working', 'calendar')", name="incident_category_clock"),
        sa.CheckConstraint("sla_hours > 0", name="incident_category_sla"),
        sa.CheckConstraint("duplicate_radius_m >= 0", name="incident_category_radius"),
        sa.CheckConstraint("duplicate_window_hours >= 0", name="incident_category_window"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("external_id", sa.Text, unique=True),
        sa.Column(
            "category",
            sa.Text,
            sa.ForeignKey("incident_categories.code", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("input_lon", sa.Float),
        sa.Column("input_lat", sa.Float),
        sa.Column("input_crs", sa.Text),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("address", sa.Text),
        sa.Column("district", sa.Text),
        sa.Column("geocode", JSONB),
        sa.Column("location_status", sa.Text, nullable=False),
        sa.Column("review_reason", sa.Text),
        _ts("reported_at", nullable=False),
        sa.Column("reporter_name", sa.Text),
        sa.Column("reporter_phone", sa.Text),
        sa.Column("attachments", JSONB, nullable=False, server_default="[]"),
        sa.Column("status", sa.Text, nullable=False),
        _ts("due_at", nullable=False),
        sa.Column(
            "duplicate_of",
            sa.BigInteger,
            sa.ForeignKey(
                "incidents.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"
            ),
        ),
        sa.Column("owner_code", sa.Text),
        sa.Column("owner_name", sa.Text),
        sa.Column("area_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("chain", JSONB, nullable=False, server_default="[]"),
        sa.Column("generation", sa.Integer),
        sa.Column("staff", JSONB, nullable=False, server_default="[]"),
        _ts("created_at", nullable=False, server_default=sa.func.now()),
        _ts("assigned_at"),
        _ts("resolved_at"),
        _ts("closed_at"),
        sa.CheckConstraint(_one_of("source", SOURCES), name="incident_source"),
        sa.CheckConstraint(_one_of("status", STATES), name="incident_status"),
        sa.CheckConstraint(
            "location_status IN ('ok', 'needs_review')", name="incident_location_status"
        ),
    )
    op.create_index("incidents_geom_idx", "incidents", ["geom"], postgresql_using="gist")
    op.create_index("incidents_area_codes_idx", "incidents", ["area_codes"], postgresql_using="gin")
    op.create_index("incidents_reported_at_idx", "incidents", ["reported_at"])
    op.create_index("incidents_status_idx", "incidents", ["status"])
    op.create_index("incidents_category_idx", "incidents", ["category", "reported_at"])
    op.create_index("ix_incidents_duplicate_of", "incidents", ["duplicate_of"])
    op.create_index("ix_incidents_owner_code", "incidents", ["owner_code"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text),
        sa.Column("actor", sa.Text, nullable=False, server_default="system"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        _ts("at", nullable=False, server_default=sa.func.now()),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("details", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id"])
    op.execute(
        "INSERT INTO data_versions (name) VALUES "
        + ", ".join(f"('{table}')" for table in TRACKED)
        + " ON CONFLICT DO NOTHING"
    )
    for table in TRACKED:
        op.execute(
            f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION wangge_bump_data_version()"
        )


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
    op.execute("DELETE FROM data_versions WHERE name IN ('incident_categories', 'incidents')")
    op.drop_table("incident_events")
    op.drop_table("incidents")
    op.drop_table("incident_categories")
