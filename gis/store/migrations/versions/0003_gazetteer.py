"""Geocoding: the standard-address gazetteer (标准地址), one point per address, with its
normalised text and parsed components; changes bump ``data_versions`` ('addresses') so every
API worker reloads its in-memory gazetteer.

Revision ID: 0003_gazetteer
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_gazetteer"
down_revision = "0002"
branch_labels = None
depends_on = None

COMPONENTS = ("district", "road", "lane", "number", "building", "unit", "room", "detail")


def upgrade() -> None:
    op.create_table(
        "addresses",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("code", sa.Text, nullable=False, unique=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("normalized", sa.Text, nullable=False),
        *(sa.Column(name, sa.Text) for name in COMPONENTS),
        sa.Column("building_code", sa.Text),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("addresses_geom_idx", "addresses", ["geom"], postgresql_using="gist")
    op.create_index("addresses_road_idx", "addresses", ["road"])
    op.execute("INSERT INTO data_versions (name) VALUES ('addresses')")
    op.execute(
        "CREATE TRIGGER addresses_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON addresses FOR EACH STATEMENT EXECUTE FUNCTION wangge_bump_data_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER addresses_data_version ON addresses")
    op.execute("DELETE FROM data_versions WHERE name = 'addresses'")
    op.drop_table("addresses")
