"""The heatmap: incidents counted per H3 cell, optionally per 1,000 households, with Gi*
hotspots, as a GeoJSON FeatureCollection (WGS-84).

Incidents come from the ``incidents`` table (queries as SQLAlchemy Core expressions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, Executable, FromClause, func, select

from gis.access import EVERYWHERE, Scope
from gis.areas.query import BBox
from gis.errors import InvalidInput, NotFound
from gis.heat.cells import cell_ids, cell_polygons, check_resolution, count_cells, points_to_cells
from gis.heat.hotspots import gi_star, study_region, z_critical
from gis.store.clauses import in_generation
from gis.store.models import AREAS, BUILDINGS, INCIDENTS

#: Most cells one answer may carry (a city at res 9 with its rings stays below it).
MAX_CELLS = 100_000
NORMALIZE = ("households",)


def parse_instant(text: str | None, *, field: str, timezone: str) -> datetime | None:
    """An ISO 8601 date or date-time; without an offset it is read in ``timezone`` (IANA).

    None stays None; anything else that is not ISO 8601 raises InvalidInput naming ``field``.
    """
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            "expected an ISO 8601 date or date-time, e.g. 2026-11-01T08:00:00+08:00", field=field
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value


@dataclass(frozen=True)
class HeatQuery:
    """What to aggregate: resolution, where (bbox or area code), when, which categories."""

    res: int = 9
    bbox: BBox | None = None
    area: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    categories: tuple[str, ...] = ()
    normalize: str | None = None
    confidence: int = 95

    def check(self) -> None:
        """Raise InvalidInput naming the field of the first bad parameter."""
        check_resolution(self.res)
        z_critical(self.confidence)
        if self.bbox is not None and self.area is not None:
            raise InvalidInput("give bbox or area, not both", field="area")
        if self.normalize is not None and self.normalize not in NORMALIZE:
            raise InvalidInput("normalize must be 'households'", field="normalize")
        if self.start and self.end and self.start >= self.end:
            raise InvalidInput("from must be before to", field="from")


def heat_features(
    *,
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    res: int,
    confidence: int = 95,
    households: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]
    | None = None,
) -> list[dict[str, Any]]:
    """Hex features (count, optional households and rate per 1,000, Gi* z, hotspot flag).

    ``households`` is ``(lon, lat, households)`` of buildings (their centroids). Cells are the
    points' cells and their 1-ring; a cell with no households has ``rate`` null.
    """
    if len(lon) > 0 and not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InvalidInput("coordinates must be finite", field="lon")
    counted = count_cells(points_to_cells(lon=lon, lat=lat, res=res))
    region = study_region(counted.cells)
    if len(region) > MAX_CELLS:
        raise InvalidInput(
            f"{len(region)} cells exceed the limit of {MAX_CELLS}; use a coarser res or a "
            "smaller bbox",
            field="res",
        )
    counts = np.zeros(len(region), dtype=np.float64)
    counts[np.searchsorted(region, counted.cells)] = counted.counts
    rates: npt.NDArray[np.float64] | None = None
    homes: npt.NDArray[np.float64] | None = None
    values = counts
    if households is not None:
        b_lon, b_lat, b_households = households
        b_cells = points_to_cells(lon=b_lon, lat=b_lat, res=res)
        pos = np.minimum(np.searchsorted(region, b_cells), max(len(region) - 1, 0))
        inside = region[pos] == b_cells if len(region) else np.zeros(0, dtype=bool)
        homes_in_cell: npt.NDArray[np.float64] = np.bincount(
            pos[inside], weights=b_households[inside].astype(np.float64), minlength=len(region)
        ).astype(np.float64)
        homes = homes_in_cell
        rates = np.full(len(region), np.nan)
        np.divide(counts * 1000.0, homes_in_cell, out=rates, where=homes_in_cell > 0)
        values = np.nan_to_num(rates)
    z = gi_star(region, values)
    hot = (z > z_critical(confidence)).tolist()
    columns: dict[str, list[Any]] = {"count": counts.astype(np.int64).tolist()}
    if homes is not None and rates is not None:
        columns["households"] = homes.astype(np.int64).tolist()
        columns["rate"] = [None if np.isnan(r) else r for r in np.round(rates, 3).tolist()]
    columns["gi_z"] = np.round(z, 3).tolist()
    names = list(columns)
    ids = cell_ids(region)
    return [
        {
            "type": "Feature",
            "id": cell,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {
                "cell": cell,
                **{name: columns[name][i] for name in names},
                "hotspot": hot[i],
            },
        }
        for i, (cell, ring) in enumerate(zip(ids, cell_polygons(region), strict=True))
    ]


def _where(table: FromClause, query: HeatQuery, generation: int) -> list[ColumnElement[bool]]:
    """Conditions on ``table`` (geometry column ``geom``): inside the bbox and the area."""
    geom: Any = table.c.geom
    conditions: list[ColumnElement[bool]] = []
    if query.bbox is not None:
        b = query.bbox
        envelope = func.ST_MakeEnvelope(b.west, b.south, b.east, b.north, 4326)
        conditions.append(geom.bool_op("&&")(envelope))
    if query.area is not None:
        conditions.append(func.ST_Covers(_area_geom(query.area, generation), geom))
    return conditions


def _area_geom(code: str, generation: int) -> Any:
    """The geometry of area ``code`` in ``generation``, as a scalar subquery."""
    return (
        select(AREAS.c.geom)
        .where(AREAS.c.code == code, in_generation(AREAS, generation))
        .scalar_subquery()
    )


def _coords(conn: Connection, stmt: Executable) -> list[npt.NDArray[Any]]:
    row = conn.execute(stmt).one()
    return [np.asarray(col if col is not None else [], dtype=np.float64) for col in row]


def incident_coords(
    conn: Connection, query: HeatQuery, *, generation: int, scope: Scope = EVERYWHERE
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lon and lat arrays of the incidents ``query`` selects among those in ``scope`` (owned
    below it: never by where they lie)."""
    t = INCIDENTS
    where = [scope.incidents(t), *_where(t, query, generation), t.c.geom.is_not(None)]
    if query.start is not None:
        where.append(t.c.reported_at >= query.start)
    if query.end is not None:
        where.append(t.c.reported_at < query.end)
    if query.categories:
        where.append(t.c.category.in_(list(query.categories)))
    stmt = select(func.array_agg(func.ST_X(t.c.geom)), func.array_agg(func.ST_Y(t.c.geom)))
    lon, lat = _coords(conn, stmt.where(*where))
    return lon, lat


def heatmap(
    conn: Connection, query: HeatQuery, *, generation: int, scope: Scope = EVERYWHERE
) -> dict[str, Any]:
    """The heatmap FeatureCollection for ``query`` against boundary ``generation``, of the
    incidents in the caller's ``scope`` (households: of the buildings inside it). An ``area``
    outside ``scope`` is not found, by the same query as an unknown one."""
    query.check()
    if query.area is not None:
        found = conn.execute(
            select(AREAS.c.geom).where(
                AREAS.c.code == query.area, in_generation(AREAS, generation), scope.areas(AREAS)
            )
        ).one_or_none()
        if found is None:
            raise NotFound(
                f"no area with code {query.area!r} in generation {generation}", field="area"
            )
    threshold = z_critical(query.confidence)
    answer: dict[str, Any] = {
        "type": "FeatureCollection",
        "res": query.res,
        "generation": generation,
        "normalize": query.normalize,
        "hotspots": {
            "method": "Getis-Ord Gi* over H3 1-rings (binary weights, cell included)",
            "confidence": query.confidence,
            "z_critical": threshold,
            "rule": f"hotspot when Gi* z > {threshold} ({query.confidence} %, two-sided)",
        },
    }
    lon, lat = incident_coords(conn, query, generation=generation, scope=scope)
    households = None
    if query.normalize == "households":
        t = BUILDINGS
        centre = func.ST_PointOnSurface(t.c.geom)
        where = _where(t, HeatQuery(bbox=query.bbox, area=query.area), generation)
        stmt = select(
            func.array_agg(func.ST_X(centre)),
            func.array_agg(func.ST_Y(centre)),
            func.array_agg(t.c.households),
        ).where(t.c.households > 0, scope.inside(t.c.geom, generation=generation), *where)
        b_lon, b_lat, b_hh = _coords(conn, stmt)
        households = (b_lon, b_lat, b_hh.astype(np.int64))
    answer["total"] = len(lon)
    answer["features"] = heat_features(
        lon=lon, lat=lat, res=query.res, confidence=query.confidence, households=households
    )
    return answer
