"""Shapes shared by several endpoints: areas as named in answers, staff, GeoJSON geometry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from gis.levels import LEVELS, STAFF_ROLES

LevelName = Literal["district", "street", "community", "grid", "micro_grid", "block", "corridor"]
assert LevelName.__args__ == LEVELS  # type: ignore[attr-defined]

StaffRole = Literal[
    "micro_grid_leader",
    "full_time_member",
    "part_time_member",
    "building_team_leader",
    "department_liaison",
]
assert StaffRole.__args__ == STAFF_ROLES  # type: ignore[attr-defined]

#: Largest generation number (the database stores it as a 32-bit integer).
MAX_GENERATION = 2_147_483_647
#: Largest list offset: far beyond any real layer, small enough for the database.
MAX_OFFSET = 10_000_000

GenerationParam = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_GENERATION,
        description=f"Boundary generation to read (1..{MAX_GENERATION}; default: current).",
    ),
]


class AreaRef(BaseModel):
    """An area as named in answers."""

    code: str
    name: str | None
    level: LevelName


class StaffMember(BaseModel):
    """A person responsible for an area or building."""

    code: str
    name: str
    role: StaffRole
    phone: str


class Geometry(BaseModel):
    """A GeoJSON geometry (RFC 7946), WGS-84 lon/lat."""

    type: Literal["Point", "MultiPoint", "LineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(description="Nested lon/lat positions.")
