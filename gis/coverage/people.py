"""People checks: micro-grids without a leader or a full-time member, residential buildings
without a team leader, too many households per grid member."""

from __future__ import annotations

from sqlalchemy import text

from gis.coverage.buildings import owned
from gis.coverage.context import Context, loads
from gis.coverage.model import Finding

_MISSING_ROLE = text(
    """
    WITH own AS (SELECT * FROM pg_temp.coverage_owned),
    hh AS (SELECT owner, sum(households) AS households FROM own GROUP BY owner)
    SELECT m.code, m.name, coalesce(hh.households, 0) AS households,
        count(s.code) AS staff, ST_AsGeoJSON(m.geom, 7) AS gj
    FROM areas m
    LEFT JOIN hh ON hh.owner = m.code
    LEFT JOIN staff s ON s.area_code = m.code
    WHERE m.id = ANY(:ids) AND m.level = :level
    GROUP BY m.id, hh.households
    HAVING count(s.code) FILTER (WHERE s.role = :role) = 0
    ORDER BY m.code
    """
)

_NO_BUILDING_LEADER = text(
    """
    WITH own AS (SELECT * FROM pg_temp.coverage_owned)
    SELECT o.code, o.address, o.households, o.owner, ST_AsGeoJSON(o.geom, 7) AS gj
    FROM own o
    WHERE o.use = 'residential' AND NOT EXISTS (
        SELECT 1 FROM staff s WHERE s.building_code = o.code AND s.role = 'building_team_leader')
    ORDER BY o.code
    """
)

_LOAD = text(
    """
    WITH own AS (SELECT * FROM pg_temp.coverage_owned),
    hh AS (SELECT owner, sum(households) AS households FROM own GROUP BY owner)
    SELECT m.code, hh.households,
        count(s.code) FILTER (WHERE s.role IN ('full_time_member', 'part_time_member'))
            AS members,
        ST_AsGeoJSON(m.geom, 7) AS gj
    FROM areas m
    JOIN hh ON hh.owner = m.code
    LEFT JOIN staff s ON s.area_code = m.code
    WHERE m.id = ANY(:ids) AND m.level = :level
    GROUP BY m.id, hh.households
    ORDER BY m.code
    """
)


def _missing_role(ctx: Context, check: str, role: str, label: str) -> list[Finding]:
    owned(ctx)
    params = {**ctx.params, "level": ctx.thresholds.building_level, "role": role}
    return [
        Finding(
            check,
            "error",
            r.code,
            [],
            None,
            int(r.staff),
            "staff",
            f"{r.code} ({r.name}, {int(r.households)} households) has no {label}"
            + (" and nobody attached at all" if r.staff == 0 else f" ({r.staff} staff attached)"),
            loads(r.gj),
            {"households": int(r.households), "role": role},
        )
        for r in ctx.conn.execute(_MISSING_ROLE, params)
    ]


def check_no_leader(ctx: Context) -> list[Finding]:
    """Micro-grids (``building_level`` areas) without a ``micro_grid_leader``."""
    return _missing_role(ctx, "no_leader", "micro_grid_leader", "micro-grid leader")


def check_no_full_time_member(ctx: Context) -> list[Finding]:
    """Micro-grids (``building_level`` areas) without a ``full_time_member``."""
    return _missing_role(ctx, "no_full_time_member", "full_time_member", "full-time grid member")


def check_no_building_leader(ctx: Context) -> list[Finding]:
    """Residential buildings that no ``building_team_leader`` answers for."""
    owned(ctx)
    params = {**ctx.params, "level": ctx.thresholds.building_level}
    return [
        Finding(
            "no_building_leader",
            "error",
            r.owner,
            [],
            r.code,
            0,
            "staff",
            f"residential building {r.code} ({r.address}, {int(r.households)} households) has "
            "no building team leader",
            loads(r.gj),
            {"households": int(r.households), "address": r.address},
        )
        for r in ctx.conn.execute(_NO_BUILDING_LEADER, params)
    ]


def check_households_per_member(ctx: Context) -> list[Finding]:
    """Micro-grids with more than ``households_per_member_max`` households per grid member
    (full- and part-time); micro-grids with no member are left to the staffing checks."""
    owned(ctx)
    limit = ctx.thresholds.households_per_member_max
    params = {**ctx.params, "level": ctx.thresholds.building_level}
    out: list[Finding] = []
    for r in ctx.conn.execute(_LOAD, params):
        if not r.members or r.households / r.members <= limit:
            continue
        ratio = float(r.households) / r.members
        out.append(
            Finding(
                "households_per_member",
                "warning",
                r.code,
                [],
                None,
                round(ratio, 1),
                "households/member",
                f"{r.code}: {int(r.households)} households for {r.members} grid member(s), "
                f"{ratio:.0f} each (limit {limit:.0f})",
                loads(r.gj),
                {"households": int(r.households), "members": int(r.members)},
            )
        )
    return out
