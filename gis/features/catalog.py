"""The OGC collections: one per area level present in the current generation, buildings,
facilities and incidents. Data-driven: a collection is a
:class:`Collection` naming its :class:`~gis.features.source.Source` and fixed filter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, func, select

from gis.areas.generations import current_generation
from gis.errors import NotFound
from gis.features.crs import OutputCrs, supported_crs
from gis.features.source import Source
from gis.features.tables import (
    AREA_SOURCE,
    BUILDING_SOURCE,
    FACILITY_SOURCE,
    INCIDENT_SOURCE,
)
from gis.levels import LEVELS
from gis.store.models import AREAS, GENERATIONS

# Where the demo street lies; the local projected CRS of an empty database is chosen here.
_DEFAULT_CENTRE: Final = (121.40, 31.25)

_LEVEL_TITLES: Final = {
    "district": "Districts (区)",
    "street": "Streets (街道)",
    "community": "Communities (居委)",
    "grid": "Grids (网格)",
    "micro_grid": "Micro-grids (微网格)",
    "block": "Blocks (责任块)",
    "corridor": "Corridors (楼道)",
}

# The registers: no history, always listed (empty until imported).
_REGISTERS: Final = (
    (
        "buildings",
        "Buildings",
        "Building footprints with address, households and residents.",
        BUILDING_SOURCE,
    ),
    (
        "facilities",
        "Service facilities",
        "Clinics, schools, elderly care and other facilities (points).",
        FACILITY_SOURCE,
    ),
)


@dataclass(frozen=True)
class Collection:
    """One OGC collection: its id, title, source table and how it is filtered.

    ``level`` is set for area collections (which are versioned by generation);
    ``time_column`` names the column ``datetime`` filters for other temporal collections.
    """

    id: str
    title: str
    description: str
    source: Source
    level: str | None = None
    time_column: str | None = None
    extent: tuple[float, float, float, float] | None = None
    time_extent: tuple[datetime | None, datetime | None] | None = None
    crs: list[OutputCrs] = field(default_factory=list)

    @property
    def versioned(self) -> bool:
        """True for area collections: ``datetime`` picks boundary generations."""
        return self.level is not None

    @property
    def temporal(self) -> bool:
        """True when ``datetime`` means something for this collection."""
        return self.versioned or self.time_column is not None


_WORLD: Final = (-180.0, -90.0, 180.0, 90.0)


def _bbox(conn: Connection, source: Source, *where: Any) -> tuple[float, float, float, float]:
    extent = select(func.ST_Extent(source.geom).label("e")).where(*where).subquery()
    row = conn.execute(
        select(
            func.ST_XMin(extent.c.e),
            func.ST_YMin(extent.c.e),
            func.ST_XMax(extent.c.e),
            func.ST_YMax(extent.c.e),
        )
    ).one()
    if row[0] is None:
        return _WORLD
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _generation_span(conn: Connection) -> tuple[datetime | None, datetime | None]:
    first = conn.execute(select(func.min(GENERATIONS.c.activated_at))).scalar_one()
    return (first, None)


def list_collections(conn: Connection, *, extents: bool = True) -> list[Collection]:
    """Every collection served now, areas largest level first, with CRSs and (unless
    ``extents`` is False, which saves a query per collection) spatial and time extents."""
    current = current_generation(conn)
    levels: set[str] = set()
    if current is not None:
        levels = set(
            conn.execute(
                select(AREAS.c.level).where(AREAS.c.valid.contains(current)).distinct()
            ).scalars()
        )
    whole = _bbox(conn, AREA_SOURCE, AREAS.c.valid.contains(current or 0))
    centre = (
        ((whole[0] + whole[2]) / 2, (whole[1] + whole[3]) / 2)
        if whole != _WORLD
        else _DEFAULT_CENTRE
    )
    crs = supported_crs(lon=centre[0], lat=centre[1])
    span = _generation_span(conn) if extents else None

    def bbox(source: Source, *where: Any) -> tuple[float, float, float, float] | None:
        return _bbox(conn, source, *where) if extents else None

    out = [
        Collection(
            id=level,
            title=_LEVEL_TITLES[level],
            description=f"Boundaries of level {level}; datetime reads the boundary history.",
            source=AREA_SOURCE,
            level=level,
            extent=bbox(AREA_SOURCE, AREAS.c.level == level, AREAS.c.valid.contains(current or 0)),
            time_extent=span,
            crs=crs,
        )
        for level in LEVELS
        if level in levels
    ]
    out.extend(
        Collection(id=cid, title=title, description=about, source=src, extent=bbox(src), crs=crs)
        for cid, title, about, src in _REGISTERS
    )
    table = INCIDENT_SOURCE.table
    first, last = (
        conn.execute(select(func.min(table.c.reported_at), func.max(table.c.reported_at))).one()
        if extents
        else (None, None)
    )
    out.append(
        Collection(
            id="incidents",
            title="Incidents",
            description=(
                "Reported incidents with category, status and owning micro-grid; the "
                "reporter's phone is masked; incidents not yet located have a null geometry."
            ),
            source=INCIDENT_SOURCE,
            time_column="reported_at",
            extent=bbox(INCIDENT_SOURCE),
            time_extent=(first, last),
            crs=crs,
        )
    )
    return out


def get_collection(conn: Connection, collection_id: str, *, extents: bool = True) -> Collection:
    """The collection called ``collection_id``; NotFound naming ``collectionId`` otherwise."""
    for collection in list_collections(conn, extents=extents):
        if collection.id == collection_id:
            return collection
    raise NotFound(f"no collection {collection_id!r}", field="collectionId")


def queryables(collection: Collection) -> dict[str, Any]:
    """The properties usable as ``name=value`` filters on the items, as JSON Schema
    properties (geometry included, as OGC API – Features Part 3 lists it)."""
    props: dict[str, Any] = {
        p.name: {"type": p.type, "title": p.title, **({"format": p.format} if p.format else {})}
        for p in collection.source.props
        if p.queryable or p.format == "date-time"  # time properties: in CQL2 filters only
    }
    props["geometry"] = {
        "$ref": f"https://geojson.org/schema/{collection.source.geometry_type}.json"
    }
    return props
