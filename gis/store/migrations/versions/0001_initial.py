"""Initial schema: generations, versioned areas with subdivided parts, buildings, staff,
facilities.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import INT4RANGE, JSONB, ExcludeConstraint

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LEVELS = ("district", "street", "community", "grid", "micro_grid", "block", "corridor")
ROLES = (
    "micro_grid_leader",
    "full_time_member",
    "part_time_member",
    "building_team_leader",
    "department_liaison",
)
KINDS = (
    "elderly_care",
    "clinic",
    "school",
    "kindergarten",
    "community_centre",
    "market",
    "police",
    "fire_station",
    "park",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _gist(table: str, column: str = "geom") -> None:
    op.create_index(f"{table}_{column}_idx", table, [column], postgresql_using="gist")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("state IN ('open', 'current', 'retired')", name="generation_state"),
    )
    op.create_index(
        "one_current_generation",
        "generations",
        ["state"],
        unique=True,
        postgresql_where=sa.text("state = 'current'"),
    )
    op.create_index(
        "one_open_generation",
        "generations",
        ["state"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("parent_code", sa.Text),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("valid", INT4RANGE, nullable=False),
        sa.CheckConstraint(_one_of("level", LEVELS), name="area_level"),
        sa.CheckConstraint("NOT isempty(valid)", name="area_valid_not_empty"),
        ExcludeConstraint(
            ("code", "="), ("valid", "&&"), name="area_code_unique_per_generation", using="gist"
        ),
    )
    op.create_index("areas_level_idx", "areas", ["level"])
    _gist("areas")
    op.create_table(
        "area_parts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "area_id", sa.BigInteger, sa.ForeignKey("areas.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_area_parts_area_id", "area_parts", ["area_id"])
    _gist("area_parts")
    op.create_table(
        "buildings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("address", sa.Text, nullable=False, server_default=""),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("residents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("households >= 0", name="building_households"),
        sa.CheckConstraint("residents >= 0", name="building_residents"),
    )
    _gist("buildings")
    op.create_table(
        "staff",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False, server_default=""),
        sa.Column("area_code", sa.Text),
        sa.Column("building_code", sa.Text, sa.ForeignKey("buildings.code", ondelete="RESTRICT")),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint(_one_of("role", ROLES), name="staff_role"),
        sa.CheckConstraint("num_nonnulls(area_code, building_code) = 1", name="staff_one_target"),
    )
    op.create_index("staff_area_code_idx", "staff", ["area_code"])
    op.create_index("staff_building_code_idx", "staff", ["building_code"])
    op.create_table(
        "facilities",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint(_one_of("kind", KINDS), name="facility_kind"),
    )
    _gist("facilities")


def downgrade() -> None:
    for table in ("facilities", "staff", "buildings", "area_parts", "areas", "generations"):
        op.drop_table(table)
