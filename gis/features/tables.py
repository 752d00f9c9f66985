"""The tables wangge serves as features, described once (``/v1/areas`` and OGC read these).

Incidents are built on another branch: their table is described here as a lightweight
Core table so the collection appears as soon as the table exists (see ``catalog``).
"""

from __future__ import annotations

from typing import Final

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Text

from gis.features.source import Prop, Source
from gis.store.models import AREAS, BUILDINGS, FACILITIES

AREA_SOURCE: Final = Source(
    table=AREAS,
    id_column="code",
    geometry_type="MultiPolygon",
    props=(
        Prop("code", "string", "Area code (stable across generations)"),
        Prop("name", "string", "Name"),
        Prop("level", "string", "Level of the grid hierarchy", queryable=False),
        Prop("parent_code", "string", "Code of the parent area"),
        Prop("area_m2", "number", "Area in square metres (ellipsoidal)", decimals=1),
        Prop("attributes", "object", "Other attributes from the imported file", queryable=False),
    ),
)

BUILDING_SOURCE: Final = Source(
    table=BUILDINGS,
    id_column="code",
    geometry_type="MultiPolygon",
    props=(
        Prop("code", "string", "Building code"),
        Prop("name", "string", "Name"),
        Prop("address", "string", "Standard address"),
        Prop("households", "integer", "Households"),
        Prop("residents", "integer", "Residents"),
        Prop("attributes", "object", "Other attributes", queryable=False),
    ),
)

FACILITY_SOURCE: Final = Source(
    table=FACILITIES,
    id_column="code",
    geometry_type="Point",
    props=(
        Prop("code", "string", "Facility code"),
        Prop("kind", "string", "Kind (clinic, school, elderly_care…)"),
        Prop("name", "string", "Name"),
        Prop("attributes", "object", "Other attributes", queryable=False),
    ),
)

INCIDENTS: Final = Table(
    "incidents",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("category", Text),
    Column("status", Text),
    Column("reported_at", DateTime(timezone=True)),
    Column("owner_code", Text),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
)

INCIDENT_SOURCE: Final = Source(
    table=INCIDENTS,
    id_column="id",
    geometry_type="Point",
    props=(
        Prop("category", "string", "Category"),
        Prop("status", "string", "Status (reported, assigned, in_progress, resolved, closed)"),
        Prop("reported_at", "string", "When it was reported (RFC 3339)", queryable=False),
        Prop("owner_code", "string", "Code of the owning micro-grid"),
    ),
)
