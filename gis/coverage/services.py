"""Service reach: per facility kind with a radius, the share of each micro-grid's households
out of reach (straight line × detour factor), with the unserved buildings.

Distances are measured in the run's local metric CRS with an STRtree ``dwithin`` query from
each residential footprint to the facility points (vectorised shapely).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text

from gis.coverage.buildings import owned
from gis.coverage.context import Context, geojson, to_metric
from gis.coverage.model import Finding

_HOMES = text(
    """
    WITH own AS (SELECT * FROM pg_temp.coverage_owned)
    SELECT o.owner, o.code, o.households, ST_AsBinary(o.geom) AS wkb FROM own o
    WHERE o.use = 'residential' AND o.households > 0
      AND o.owner IN (SELECT code FROM areas WHERE id = ANY(:ids))
    ORDER BY o.owner, o.code
    """
)
_FACILITIES = text("SELECT kind, ST_AsBinary(geom) AS wkb FROM facilities ORDER BY code")


def _served(ctx: Context, homes: Any, kind: str, reach_m: float) -> Any:
    """Boolean per home: some facility of ``kind`` within ``reach_m`` metres of it."""
    rows = [r for r in ctx.cache["facilities"] if r.kind == kind]
    served = np.zeros(len(homes), dtype=bool)
    if rows and len(homes):
        points = to_metric(ctx, np.asarray(shapely.from_wkb([r.wkb for r in rows]), object))
        hit, _ = shapely.STRtree(points).query(homes, predicate="dwithin", distance=reach_m)
        served[hit] = True
    return served


def check_service_reach(ctx: Context) -> list[Finding]:
    """Micro-grids where the share of households farther than ``radius / detour`` from every
    facility of a kind exceeds ``service_max_unserved_share`` (one finding per kind)."""
    owned(ctx)
    t = ctx.thresholds
    rows = list(ctx.conn.execute(_HOMES, {**ctx.params, "level": t.building_level}))
    ctx.cache["facilities"] = list(ctx.conn.execute(_FACILITIES))
    wgs84 = np.asarray(shapely.from_wkb([r.wkb for r in rows]), dtype=object)
    homes = to_metric(ctx, wgs84)
    out: list[Finding] = []
    for kind, radius in sorted(t.service_radius_m.items()):
        served = _served(ctx, homes, kind, radius / t.service_detour_factor)
        total: dict[str, int] = defaultdict(int)
        missing: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            total[r.owner] += int(r.households)
            if not served[i]:
                missing[r.owner].append(i)
        for owner, idx in missing.items():
            unserved = sum(int(rows[i].households) for i in idx)
            share = unserved / total[owner]
            if share <= t.service_max_unserved_share:
                continue
            detour = t.service_detour_factor
            out.append(
                Finding(
                    "service_reach",
                    "warning",
                    owner,
                    [],
                    None,
                    round(share, 3),
                    "share",
                    f"{share:.0%} of the households of {owner} ({unserved} of {total[owner]}, "
                    f"{len(idx)} buildings) have no {kind} within {radius:.0f} m"
                    + (f" (detour factor {detour:g})" if detour != 1 else ""),
                    geojson(shapely.multipolygons(shapely.get_parts(wgs84[idx]))),
                    {
                        "kind": kind,
                        "radius_m": radius,
                        "detour_factor": detour,
                        "households": total[owner],
                        "unserved_households": unserved,
                        "unserved_buildings": [rows[i].code for i in idx],
                    },
                )
            )
    return sorted(out, key=lambda f: (f.area_code or "", f.details["kind"]))
