"""One patrol's track worked out from its fixes: cleaned, measured, fenced, and the buildings
it visited (read from and written to the database by ``gis.patrols.store``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, text

from gis.coverage.thresholds import Thresholds
from gis.patrols.clean import Cleaned, clean, totals
from gis.patrols.fixes import Fixes, from_epoch
from gis.patrols.visits import FootprintIndex, LocalMetres

_NEAR_BUILDINGS = text(
    """
    SELECT code, ST_AsBinary(geom) AS wkb FROM buildings
    WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
    ORDER BY code
    """
)
_MICRO_GRID = text(
    """
    SELECT code, ST_AsBinary(geom) AS wkb FROM areas
    WHERE level = :level AND valid @> (
        SELECT id FROM generations WHERE state = 'current')
      AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
    ORDER BY code
    """
)
_AREA = text(
    """
    SELECT ST_AsBinary(geom) FROM areas
    WHERE code = :code AND valid @> (SELECT id FROM generations WHERE state = 'current')
    """
)


@dataclass
class Worked:
    """What :func:`work_out` found for one patrol."""

    cleaned: Cleaned
    distance_m: float
    duration_s: float
    area_code: str | None
    geofence: list[dict[str, Any]]
    track: Any  # shapely MultiLineString (WGS-84) or None
    visits: list[dict[str, Any]] = field(default_factory=list)


def _bbox(fixes: Fixes, pad_m: float) -> dict[str, float]:
    lat = float(np.mean(fixes.lat))
    dlat = pad_m / 111_000.0 * 1.5
    dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
    return {
        "x0": float(fixes.lon.min()) - dlon,
        "y0": float(fixes.lat.min()) - dlat,
        "x1": float(fixes.lon.max()) + dlon,
        "y1": float(fixes.lat.max()) + dlat,
    }


def track_lines(cleaned: Cleaned) -> Any:
    """The cleaned track as a WGS-84 MultiLineString of its runs (runs of one fix left out);
    None when no run has two fixes."""
    f = cleaned.fixes
    starts = np.flatnonzero(cleaned.breaks)
    ends = np.append(starts[1:], len(f))
    lines = [
        shapely.linestrings(f.lon[a:b], f.lat[a:b])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
        if b - a >= 2
    ]
    return shapely.multilinestrings(lines) if lines else None


def geofence(cleaned: Cleaned, area: Any, *, code: str, limit_s: float) -> list[dict[str, Any]]:
    """Stretches of the track outside ``area`` (WGS-84 polygon of the member's micro-grid)
    lasting longer than ``limit_s``: from the first fix outside to the first fix back inside
    (or the last fix)."""
    f = cleaned.fixes
    if not len(f):
        return []
    outside = ~shapely.contains_xy(area, f.lon, f.lat)
    notes: list[dict[str, Any]] = []
    edges = np.diff(np.concatenate([[0], outside.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        until = f.t[b] if b < len(f) else f.t[b - 1]
        seconds = float(until - f.t[a])
        if seconds > limit_s:
            notes.append(
                {
                    "area_code": code,
                    "from": from_epoch(float(f.t[a])).isoformat(),
                    "to": from_epoch(float(until)).isoformat(),
                    "seconds": round(seconds, 1),
                    "fixes": int(b - a),
                }
            )
    return notes


def work_out(
    conn: Connection, fixes: Fixes, *, thresholds: Thresholds, area_code: str | None
) -> Worked:
    """Clean ``fixes``, measure the track, note geofence excursions from ``area_code`` (the
    member's micro-grid; None: the micro-grid holding most kept fixes) and find the buildings
    it visited."""
    cleaned = clean(fixes, thresholds)
    f = cleaned.fixes
    if not len(f):
        return Worked(cleaned, 0.0, 0.0, area_code, [], None)
    lon0 = float((f.lon.min() + f.lon.max()) / 2)
    lat0 = float((f.lat.min() + f.lat.max()) / 2)
    local = LocalMetres(lon0, lat0)
    x, y = local.points(f.lon, f.lat)
    distance_m, duration_s = totals(cleaned, x, y)
    box = _bbox(f, thresholds.patrol_visit_m)
    area: Any = None
    if area_code is None:
        grids = conn.execute(_MICRO_GRID, {**box, "level": thresholds.building_level}).all()
        if grids:
            polys = shapely.from_wkb([bytes(r.wkb) for r in grids])
            counts = [int(shapely.contains_xy(p, f.lon, f.lat).sum()) for p in polys]
            best = int(np.argmax(counts))
            if counts[best]:
                area_code, area = grids[best].code, polys[best]
    else:
        wkb = conn.execute(_AREA, {"code": area_code}).scalar()
        area = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
    fence = (
        geofence(cleaned, area, code=area_code, limit_s=thresholds.patrol_geofence_s)
        if area is not None and area_code is not None
        else []
    )
    worked = Worked(cleaned, distance_m, duration_s, area_code, fence, track_lines(cleaned))
    rows = conn.execute(_NEAR_BUILDINGS, box).all()
    if not rows:
        return worked
    metric = local.geometries(shapely.from_wkb([bytes(r.wkb) for r in rows]))
    index = FootprintIndex.build(metric, pad_m=thresholds.patrol_visit_m)
    i, j = cleaned.segments()
    found = index.query(
        x, y, i, j, np.zeros(len(i), dtype=np.int64),
        distance_m=thresholds.patrol_visit_m,
    )  # fmt: skip
    worked.visits = [
        {
            "building_code": rows[b].code,
            "visited_at": from_epoch(float(f.t[k])),
            "distance_m": round(float(d), 2),
        }
        for b, k, d in zip(
            found.building.tolist(), found.fix.tolist(), found.distance_m.tolist(), strict=True
        )
    ]
    worked.visits.sort(key=lambda v: v["building_code"])
    return worked
