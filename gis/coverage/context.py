"""What every check works on: the generation, the areas in scope, thresholds, metric CRS."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, select, text

from gis.access import EVERYWHERE, Scope
from gis.areas.generations import resolve_generation
from gis.coverage.thresholds import Thresholds
from gis.crs import metric_transformers
from gis.errors import NotFound
from gis.store.models import AREAS

_CENTRE = text(
    """
    SELECT ST_X(c), ST_Y(c) FROM (
        SELECT ST_Centroid(ST_Extent(geom)::geometry) AS c FROM areas WHERE id = ANY(:ids)
    ) x
    """
)


_NEVER_ANALYZED = text(
    """
    SELECT relname FROM pg_stat_user_tables
    WHERE relname IN ('areas', 'buildings', 'staff', 'facilities')
      AND last_analyze IS NULL AND last_autoanalyze IS NULL
    ORDER BY relname
    """
)
_ANALYZE = {
    "areas": text("ANALYZE areas"),
    "buildings": text("ANALYZE buildings"),
    "staff": text("ANALYZE staff"),
    "facilities": text("ANALYZE facilities"),
}


def _analyze_if_never(conn: Connection) -> None:
    """ANALYZE the tables the checks read when they never were (just loaded, autovacuum not
    yet round): without statistics the planner scans every micro-grid for every building
    (7 s instead of 0.3 s on the demo street)."""
    for name in conn.execute(_NEVER_ANALYZED).scalars():
        conn.execute(_ANALYZE[name])


@dataclass
class Context:
    """The inputs of one coverage run; ``cache`` lets checks share one expensive query."""

    conn: Connection
    generation: int
    area: str | None
    ids: list[int]
    thresholds: Thresholds
    to_metric: Transformer
    cache: dict[str, Any] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """Bound parameters every check query may use."""
        return {"g": self.generation, "ids": self.ids, "root": self.area}

    def ignore(self, what: str, count: int) -> None:
        """Count pieces too small to report (noise), so the summary can say so."""
        if count:
            self.ignored[what] = self.ignored.get(what, 0) + count


def make_context(
    conn: Connection,
    *,
    area: str | None,
    generation: int | None,
    thresholds: Thresholds,
    scope: Scope = EVERYWHERE,
) -> Context:
    """Resolve the generation and the areas to check: ``area`` (default: the caller's scope's
    area, else the whole generation) and everything below it, as far as ``scope`` reaches.

    Raises NotFound naming ``generation`` or ``area`` (an area outside ``scope`` is not found,
    by the same query as an unknown one).
    """
    # PostGIS functions are costed so high that PostgreSQL JIT-compiles every check query,
    # which costs more (~0.6 s each) than running it; local to this transaction.
    conn.execute(text("SET LOCAL jit = off"))
    _analyze_if_never(conn)
    number = resolve_generation(conn, generation=generation)
    area = area if area is not None else scope.area
    below = Scope(area).areas(AREAS)  # the asked-for subtree: the scope rule of areas
    query = select(AREAS.c.id).where(AREAS.c.valid.contains(number), below, scope.areas(AREAS))
    ids = [int(i) for i in conn.execute(query).scalars()]
    if area is not None and not ids:
        raise NotFound(f"no area with code {area!r} in generation {number}", field="area")
    centre: Any = conn.execute(_CENTRE, {"ids": ids}).one() if ids else (None, None)
    lon, lat = (121.40, 31.25) if centre[0] is None else (float(centre[0]), float(centre[1]))
    to_metric, _ = metric_transformers(lon=lon, lat=lat)
    return Context(conn, number, area, ids, thresholds, to_metric)


def to_metric(ctx: Context, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """WGS-84 geometries in the run's local transverse Mercator CRS (metres)."""
    return np.asarray(
        shapely.transform(geoms, ctx.to_metric.transform, interleaved=False), dtype=object
    )


#: Hairlines thinner than twice this (m) are shaved off before a piece's sides are measured.
_HAIR_M = 0.01


def sides_m(metric: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.float64], ...]:
    """Short and long side (m) of each geometry's minimum rotated rectangle.

    Hairline spikes (under 2 cm wide, from edges that are not noded alike on both sides)
    are removed first by a mitred opening, which keeps straight corners exact; a piece that
    is all hairline is measured as it is. A degenerate rectangle (a line or a point) has
    width 0 and its own length.
    """
    core = shapely.buffer(
        shapely.buffer(metric, -_HAIR_M, join_style="mitre"), _HAIR_M, join_style="mitre"
    )
    core = np.where(shapely.is_empty(core), metric, core)
    rect = shapely.minimum_rotated_rectangle(core)
    width = np.zeros(len(metric))
    length = np.asarray(shapely.length(rect), dtype=float)
    polys = np.flatnonzero((shapely.get_type_id(rect) == 3) & ~shapely.is_empty(rect))
    if len(polys):
        ring = shapely.get_exterior_ring(rect[polys])
        xy, index = shapely.get_coordinates(ring, return_index=True)
        start = np.searchsorted(index, np.arange(len(polys)))
        a = np.hypot(*(xy[start + 1] - xy[start]).T)
        b = np.hypot(*(xy[start + 2] - xy[start + 1]).T)
        width[polys] = np.minimum(a, b)
        length[polys] = np.maximum(a, b)
    return width, length


def geojson(geom: Any, decimals: int = 7) -> dict[str, Any] | None:
    """A shapely geometry as a GeoJSON dict with coordinates rounded to ``decimals``."""
    if geom is None or shapely.is_empty(geom):
        return None
    rounded = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    out: dict[str, Any] = json.loads(shapely.to_geojson(rounded))
    return out


def loads(value: str | None) -> dict[str, Any] | None:
    """A GeoJSON text from ``ST_AsGeoJSON`` as a dict (None stays None)."""
    return None if value is None else dict(json.loads(value))
