"""Building checks: inside no micro-grid, split across micro-grids, address naming another
community than the one the building lies in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from gis.coverage.context import Context, loads
from gis.coverage.model import Finding
from gis.levels import LEVELS

_SHARES = text(
    """
    WITH sh AS (
        SELECT o.id, m.code,
            ST_Area(ST_Intersection(o.geom, m.geom)::geography) AS part_m2
        FROM pg_temp.coverage_owned o JOIN areas m ON m.geom && o.geom AND m.level = :level
            AND m.valid @> CAST(:g AS int) AND ST_Intersects(m.geom, o.geom)
        WHERE NOT o.covered
    )
    SELECT o.code, ST_Area(o.geom::geography) AS area_m2, ST_AsGeoJSON(o.geom, 7) AS gj,
        array_remove(array_agg(sh.code ORDER BY sh.part_m2 DESC, sh.code), NULL) AS codes,
        array_remove(array_agg(sh.part_m2 ORDER BY sh.part_m2 DESC, sh.code), NULL) AS parts
    FROM pg_temp.coverage_owned o LEFT JOIN sh ON sh.id = o.id
    WHERE NOT o.covered
    GROUP BY o.id, o.code, o.geom
    ORDER BY o.code
    """
)

_AROUND = text(
    """
    SELECT b.code,
        (SELECT a.code FROM areas a
         WHERE a.valid @> CAST(:g AS int)
           AND array_position(CAST(:levels AS text[]), a.level) < :depth
           AND ST_Covers(a.geom, ST_PointOnSurface(b.geom))
         ORDER BY array_position(CAST(:levels AS text[]), a.level) DESC, a.code LIMIT 1
        ) AS parent,
        ARRAY(
            SELECT m.code FROM areas m
            WHERE m.level = :level AND m.valid @> CAST(:g AS int)
              AND m.geom && ST_Expand(b.geom, :near_deg)
              AND ST_DWithin(m.geom::geography, b.geom::geography, :near_m)
            ORDER BY ST_Distance(m.geom::geography, b.geom::geography), m.code
        ) AS near
    FROM buildings b WHERE b.code = ANY(:codes)
    """
)

# (b: the buildings in scope, as in _OWNED: all, or those meeting the asked-for area)
_ADDRESSES = text(
    """
    WITH b AS (
        SELECT * FROM buildings b
        WHERE CAST(:root AS text) IS NULL OR ST_Intersects(b.geom, (
            SELECT geom FROM areas WHERE code = :root AND valid @> CAST(:g AS int)))
    ),
    own AS (
        SELECT b.code, b.address, substring(b.address FROM '^(.*?[0-9]+弄)') AS lane, b.geom,
            (SELECT a.code FROM areas a
             WHERE a.level = :level AND a.valid @> CAST(:g AS int)
               AND ST_Covers(a.geom, ST_PointOnSurface(b.geom))
             ORDER BY a.code LIMIT 1) AS area
        FROM b
    ),
    votes AS (
        SELECT lane, area, count(*) AS n FROM own
        WHERE lane IS NOT NULL AND area IS NOT NULL GROUP BY lane, area
    ),
    home AS (SELECT DISTINCT ON (lane) lane, area, n FROM votes ORDER BY lane, n DESC, area)
    SELECT o.code, o.address, o.lane, o.area, h.area AS lane_area, h.n,
        ST_AsGeoJSON(o.geom, 7) AS gj
    FROM own o JOIN home h ON h.lane = o.lane
    WHERE o.area IS NOT NULL AND o.area <> h.area
    ORDER BY o.code
    """
)


def building_shares(ctx: Context) -> list[Any]:
    """Each building in scope not wholly inside one area of ``building_level``, with the
    areas it meets, largest part first (geodesic m²), cached for the run."""
    if "shares" not in ctx.cache:
        owned(ctx)
        params = {**ctx.params, "level": ctx.thresholds.building_level}
        ctx.cache["shares"] = list(ctx.conn.execute(_SHARES, params))
    rows: list[Any] = ctx.cache["shares"]
    return rows


def _shares(row: Any) -> dict[str, float]:
    total = float(row.area_m2) or 1.0
    return {c: round(float(p) / total, 4) for c, p in zip(row.codes, row.parts, strict=True)}


def check_building_outside(ctx: Context) -> list[Finding]:
    """Buildings with at least ``building_min_share`` of their footprint in no area of
    ``building_level``; the finding names the area above that holds it and the nearby
    ``building_level`` areas (nearest first)."""
    t = ctx.thresholds
    outside = {
        r.code: r
        for r in building_shares(ctx)
        if 1 - sum(_shares(r).values()) >= t.building_min_share
    }
    if not outside:
        return []
    around = ctx.conn.execute(
        _AROUND,
        {
            "g": ctx.generation,
            "codes": list(outside),
            "levels": list(LEVELS),
            "depth": LEVELS.index(t.building_level) + 1,
            "level": t.building_level,
            "near_m": t.outside_near_m,
            "near_deg": t.outside_near_m / 90_000 + 1e-5,
        },
    )
    out: list[Finding] = []
    for a in around:
        row = outside[a.code]
        inside = min(1.0, sum(_shares(row).values()))
        near = list(a.near)
        where = (
            f"next to {', '.join(near)}"
            if near
            else f"no {t.building_level} within {t.outside_near_m:.0f} m"
        )
        out.append(
            Finding(
                "building_outside",
                "error",
                a.parent,
                near,
                row.code,
                round(inside, 3),
                "share",
                f"building {row.code} ({float(row.area_m2):.0f} m²) has {1 - inside:.0%} of its "
                f"footprint in no {t.building_level} ({where})",
                loads(row.gj),
                {"area_m2": round(float(row.area_m2), 1), "shares": _shares(row)},
            )
        )
    return sorted(out, key=lambda f: f.building_code or "")


def check_building_split(ctx: Context) -> list[Finding]:
    """Buildings with at least ``building_min_share`` of their footprint in each of two or
    more areas of ``building_level``; the largest share owns it (``area_code``)."""
    t = ctx.thresholds
    out: list[Finding] = []
    for row in building_shares(ctx):
        shares = _shares(row)
        parts = [c for c, s in shares.items() if s >= t.building_min_share]
        if len(parts) < 2:
            continue
        listed = ", ".join(f"{c} {shares[c]:.0%}" for c in parts)
        out.append(
            Finding(
                "building_split",
                "error",
                parts[0],
                parts[1:],
                row.code,
                shares[parts[0]],
                "share",
                f"building {row.code} is split across {t.building_level} areas: {listed}; "
                "move the boundary or the register entry so one area holds it",
                loads(row.gj),
                {"area_m2": round(float(row.area_m2), 1), "shares": shares},
            )
        )
    return out


def check_address_area(ctx: Context) -> list[Finding]:
    """Buildings whose address lane (…弄) belongs to another ``address_level`` area than the
    one they lie in (the lane belongs to the area holding most of its buildings)."""
    level = ctx.thresholds.address_level
    rows = ctx.conn.execute(_ADDRESSES, {**ctx.params, "level": level})
    return [
        Finding(
            "address_area",
            "warning",
            r.area,
            [r.lane_area],
            r.code,
            1,
            "buildings",
            f"building {r.code} at {r.address} lies in {level} {r.area}, but {r.n} buildings of "
            f"{r.lane} lie in {r.lane_area}: correct the address or the boundary",
            loads(r.gj),
            {"address": r.address, "lane": r.lane},
        )
        for r in rows
    ]


_OWNED = text(
    """
    CREATE TEMPORARY TABLE coverage_owned ON COMMIT DROP AS
    SELECT b.id, b.code, b.address, b.households, b.geom, o.code AS owner,
        coalesce(o.covered, false) AS covered,
        coalesce(b.attributes->>'use',
                 CASE WHEN b.households > 0 THEN 'residential' END) AS use
    FROM (  -- the buildings in scope: all, or those meeting the asked-for area
        SELECT * FROM buildings b
        WHERE CAST(:root AS text) IS NULL OR ST_Intersects(b.geom, (
            SELECT geom FROM areas WHERE code = :root AND valid @> CAST(:g AS int)))
    ) b
    LEFT JOIN LATERAL (
        SELECT m.code, ST_CoveredBy(b.geom, m.geom) AS covered FROM areas m
        WHERE m.level = :level AND m.valid @> CAST(:g AS int)
          AND ST_Covers(m.geom, ST_PointOnSurface(b.geom))
        ORDER BY m.code LIMIT 1
    ) o ON true
    """
)

#: Buildings in scope with their owner (the ``building_level`` area covering a point on the
#: footprint; the smallest code when several do, as in assignment), whether that area covers
#: the whole footprint, and their use. A temporary table, built once per run by owned(); the
#: checks read it as ``WITH own AS (SELECT * FROM pg_temp.coverage_owned)``, written out in
#: each constant query (no SQL is assembled at run time: tests/test_sql_style.py).
OWNED = "SELECT * FROM pg_temp.coverage_owned"


def owned(ctx: Context) -> None:
    """Build the run's ``coverage_owned`` table (dropped at the end of the transaction)."""
    if "owned" not in ctx.cache:
        ctx.conn.execute(text("DROP TABLE IF EXISTS pg_temp.coverage_owned"))
        ctx.conn.execute(_OWNED, {**ctx.params, "level": ctx.thresholds.building_level})
        ctx.conn.execute(text("ANALYZE pg_temp.coverage_owned"))
        ctx.cache["owned"] = True
