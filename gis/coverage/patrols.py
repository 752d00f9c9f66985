"""Patrol check: residential buildings no patrol visited within ``patrol_window_days``
(visits are written by ``gis.patrols`` when a patrol ends).

A database where no patrol was ever recorded (a street not using patrols yet) gets no
finding and a report saying the check was not run and why, rather than every residential
building at once."""

from __future__ import annotations

from sqlalchemy import text

from gis.coverage.buildings import owned
from gis.coverage.context import Context, loads
from gis.coverage.model import Finding

_ANY_PATROL = text("SELECT EXISTS (SELECT 1 FROM patrols)")
_UNPATROLLED = text(
    """
    WITH own AS (SELECT * FROM pg_temp.coverage_owned)
    SELECT o.code, o.owner, o.households, ST_AsGeoJSON(o.geom, 7) AS gj,
        (SELECT max(v.visited_at) FROM patrol_visits v WHERE v.building_code = o.code)
            AS last_visit,
        extract(epoch FROM now() - (
            SELECT max(v.visited_at) FROM patrol_visits v WHERE v.building_code = o.code
        )) / 86400.0 AS days
    FROM own o
    WHERE o.use = 'residential' AND NOT EXISTS (
        SELECT 1 FROM patrol_visits v
        WHERE v.building_code = o.code
          AND v.visited_at >= now() - make_interval(secs => :window_s))
    ORDER BY o.code
    """
)


def check_unpatrolled(ctx: Context) -> list[Finding]:
    """Residential buildings no patrol visited within ``patrol_window_days`` (never, or last
    visited longer ago); measure: days since the last visit (the window when never)."""
    if not ctx.conn.execute(_ANY_PATROL).scalar():
        ctx.not_run["unpatrolled"] = "no patrol has been recorded yet (/v1/patrols)"
        return []
    owned(ctx)
    window = ctx.thresholds.patrol_window_days
    out = []
    for r in ctx.conn.execute(_UNPATROLLED, {"window_s": window * 86400.0}):
        never = r.last_visit is None
        days = window if never else round(float(r.days), 1)
        out.append(
            Finding(
                "unpatrolled",
                "warning",
                r.owner,
                [],
                r.code,
                days,
                "days",
                f"building {r.code} ({r.households} households) "
                + (
                    f"was never visited by a patrol (window {window:g} days)"
                    if never
                    else f"was last visited by a patrol {days:g} days ago (window {window:g})"
                ),
                loads(r.gj),
                {
                    "last_visit": None if never else r.last_visit.isoformat(),
                    "never": never,
                    "households": int(r.households),
                },
            )
        )
    return out
