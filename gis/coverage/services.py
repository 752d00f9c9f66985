"""Service reach: per facility kind with a radius, the share of each micro-grid's households
out of reach (straight line × detour factor), with the unserved buildings."""

from __future__ import annotations

from sqlalchemy import text

from gis.coverage.buildings import OWNED, owned
from gis.coverage.context import Context, loads
from gis.coverage.model import Finding

_REACH = text(
    f"""
    WITH own AS ({OWNED}),
    r AS (
        SELECT o.owner, o.code, o.households, o.geom, EXISTS (
            SELECT 1 FROM facilities f
            WHERE f.kind = :kind AND f.geom && ST_Expand(o.geom, :reach_deg)
              AND ST_DWithin(f.geom::geography, o.geom::geography, :reach_m)
        ) AS served
        FROM own o
        WHERE o.use = 'residential' AND o.households > 0 AND o.owner IN (
            SELECT code FROM areas WHERE id = ANY(:ids))
    )
    SELECT owner, sum(households) AS households,
        sum(households) FILTER (WHERE NOT served) AS unserved,
        array_agg(code ORDER BY code) FILTER (WHERE NOT served) AS codes,
        ST_AsGeoJSON(ST_Collect(geom) FILTER (WHERE NOT served), 7) AS gj
    FROM r GROUP BY owner
    HAVING sum(households) FILTER (WHERE NOT served) > 0
    ORDER BY owner
    """
)


def check_service_reach(ctx: Context) -> list[Finding]:
    """Micro-grids where the share of households farther than ``radius / detour`` from every
    facility of a kind exceeds ``service_max_unserved_share`` (one finding per kind)."""
    owned(ctx)
    t = ctx.thresholds
    out: list[Finding] = []
    for kind, radius in sorted(t.service_radius_m.items()):
        reach = radius / t.service_detour_factor
        params = {
            **ctx.params,
            "level": t.building_level,
            "kind": kind,
            "reach_m": reach,
            "reach_deg": reach / 90_000 + 1e-5,
        }
        for r in ctx.conn.execute(_REACH, params):
            share = float(r.unserved) / float(r.households)
            if share <= t.service_max_unserved_share:
                continue
            out.append(
                Finding(
                    "service_reach",
                    "warning",
                    r.owner,
                    [],
                    None,
                    round(share, 3),
                    "share",
                    f"{share:.0%} of the households of {r.owner} ({int(r.unserved)} of "
                    f"{int(r.households)}, {len(r.codes)} buildings) have no {kind} within "
                    f"{radius:.0f} m"
                    + (
                        f" (detour factor {t.service_detour_factor:g})"
                        if t.service_detour_factor != 1
                        else ""
                    ),
                    loads(r.gj),
                    {
                        "kind": kind,
                        "radius_m": radius,
                        "detour_factor": t.service_detour_factor,
                        "households": int(r.households),
                        "unserved_households": int(r.unserved),
                        "unserved_buildings": list(r.codes),
                    },
                )
            )
    return out
