"""Hierarchy and register checks: orphaned areas, staff answering for what no longer exists."""

from __future__ import annotations

from sqlalchemy import text

from gis.coverage.context import Context, loads
from gis.coverage.model import Finding

_ORPHANS = text(
    """
    SELECT a.code, a.level, a.parent_code, ST_AsGeoJSON(a.geom, 7) AS gj
    FROM areas a
    WHERE a.id = ANY(:ids) AND a.parent_code IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM areas p WHERE p.code = a.parent_code AND p.valid @> CAST(:g AS int))
    ORDER BY a.code
    """
)

# A staff row is in scope when no area is asked for, or when the area it answers for (as
# last drawn) or its building lies inside the asked-for area.
_DANGLING = text(
    """
    WITH root AS (
        SELECT geom FROM areas WHERE code = :root AND valid @> CAST(:g AS int)
    ),
    last AS (
        SELECT DISTINCT ON (code) code, geom FROM areas
        ORDER BY code, upper(valid) DESC NULLS FIRST
    )
    SELECT s.code, s.name, s.role, s.area_code, s.building_code,
        ST_AsGeoJSON(l.geom, 7) AS gj
    FROM staff s LEFT JOIN last l ON l.code = s.area_code
    WHERE (
        (s.area_code IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM areas a WHERE a.code = s.area_code AND a.valid @> CAST(:g AS int)))
        OR (s.building_code IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM buildings b WHERE b.code = s.building_code))
    ) AND (
        CAST(:root AS text) IS NULL
        OR EXISTS (SELECT 1 FROM root WHERE ST_Intersects(root.geom, l.geom))
    )
    ORDER BY s.code
    """
)


def check_orphans(ctx: Context) -> list[Finding]:
    """Areas whose parent is not an area of this generation (left behind by an import)."""
    return [
        Finding(
            "orphan",
            "error",
            r.code,
            [r.parent_code],
            None,
            1,
            "areas",
            f"{r.level} {r.code} names parent {r.parent_code}, which is not an area of "
            f"generation {ctx.generation}: re-import it under a current parent",
            loads(r.gj),
            {"level": r.level},
        )
        for r in ctx.conn.execute(_ORPHANS, ctx.params)
    ]


def check_staff_dangling(ctx: Context) -> list[Finding]:
    """Staff who answer for an area not in this generation or a building not registered."""
    out: list[Finding] = []
    for r in ctx.conn.execute(_DANGLING, ctx.params):
        target = r.area_code or r.building_code
        out.append(
            Finding(
                "staff_dangling",
                "error",
                r.area_code,
                [],
                r.building_code,
                1,
                "staff",
                f"{r.role} {r.name} ({r.code}) answers for {target}, which no longer exists "
                f"in generation {ctx.generation}: reassign or remove the staff row",
                loads(r.gj),
                {"staff_code": r.code, "role": r.role},
            )
        )
    return out
