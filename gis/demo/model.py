"""Records the demo generator builds up: areas, buildings, staff, facilities, defects.

Geometries are in local metres (the street's transverse Mercator frame) until written out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import Point, Polygon

from gis.demo.geom import Areal


@dataclass
class Area:
    """One area of the hierarchy (street, community, grid, micro-grid, block, corridor)."""

    level: str
    code: str
    name: str
    parent: str | None
    geom: Areal
    theta: float = 0.0
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class Building:
    """A building footprint; ``frame`` is its rectangle in the ``theta`` frame, if it has one."""

    micro_grid: str
    order: int
    geom: Polygon
    theta: float
    frame: tuple[float, float, float, float] | None
    shape: str  # slab, tower, lshape, house
    units: int
    floors: int
    capacity: int
    row: int = 0
    code: str = ""
    name: str = ""
    address: str = ""
    households: int = 0
    residents: int = 0
    use: str = "residential"  # or commercial, public, ancillary
    house_no: int = 0  # number within its lane (弄), residential buildings only
    outside: bool = False  # planted outside every micro-grid (numbered with ``micro_grid``)


@dataclass(frozen=True)
class Staff:
    """A person responsible for an area or a building (exactly one of the two codes set)."""

    code: str
    name: str
    role: str
    phone: str
    area_code: str | None
    building_code: str | None


@dataclass(frozen=True)
class Facility:
    """A service facility of the 15-minute community life circle."""

    code: str
    kind: str
    name: str
    point: Point
    micro_grid: str


@dataclass
class Defect:
    """A deliberately planted coverage defect (the answer key for coverage checks)."""

    code: str
    kind: str
    description: str
    area_codes: list[str]
    building_codes: list[str]
    x: float
    y: float
    area_m2: float | None = None
    width_m: float | None = None
    length_m: float | None = None
    share: float | None = None
    staff_count: int | None = None
