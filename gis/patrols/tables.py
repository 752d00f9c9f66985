"""The patrol tables of migration 0020 as SQLAlchemy Core tables (on the one ``Base``
metadata, so Alembic sees them beside the other models)."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from gis.store.models import Base

PATROLS = Table(
    "patrols",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("key_id", Text),
    Column("member", Text, nullable=False),
    Column("area_code", Text),
    Column("source", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("fixes_received", Integer, nullable=False, server_default="0"),
    Column("fixes_kept", Integer, nullable=False, server_default="0"),
    Column("dropped", JSONB, nullable=False, server_default="{}"),
    Column("distance_m", Float, nullable=False, server_default="0"),
    Column("duration_s", Float, nullable=False, server_default="0"),
    Column("geofence", JSONB, nullable=False, server_default="[]"),
    Column("track", Geometry("MULTILINESTRING", srid=4326, spatial_index=False)),
    Column("purged_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

PATROL_BATCHES = Table(
    "patrol_batches",
    Base.metadata,
    Column("patrol_id", BigInteger, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True),
    Column("batch_id", Text, primary_key=True),
    Column("fixes", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

PATROL_FIXES = Table(
    "patrol_fixes",
    Base.metadata,
    Column("patrol_id", BigInteger, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True),
    Column("t", DateTime(timezone=True), primary_key=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("accuracy_m", Float),
    Column("ele_m", Float),
)

PATROL_VISITS = Table(
    "patrol_visits",
    Base.metadata,
    Column("patrol_id", BigInteger, ForeignKey("patrols.id", ondelete="CASCADE"), primary_key=True),
    Column("building_code", Text, primary_key=True),
    Column("visited_at", DateTime(timezone=True), nullable=False),
    Column("distance_m", Float, nullable=False),
)
