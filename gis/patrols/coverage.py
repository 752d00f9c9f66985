"""Patrol coverage (巡查覆盖): which buildings and households of an area were visited in a
period, per micro-grid and per building; per member the distance walked and time on patrol.
:func:`patrol_figures` is the same per micro-grid, for the evaluation (考核) figures."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from gis.access import EVERYWHERE, Scope
from gis.coverage.buildings import owned
from gis.coverage.context import make_context
from gis.coverage.thresholds import Thresholds
from gis.errors import InvalidInput

_BUILDINGS = text(
    """
    WITH own AS (SELECT * FROM pg_temp.coverage_owned),
    v AS (
        SELECT building_code, count(DISTINCT patrol_id) AS visits, max(visited_at) AS last_visit
        FROM patrol_visits
        WHERE visited_at >= :start AND visited_at < :end
          AND building_code IN (SELECT code FROM own)
        GROUP BY building_code
    )
    SELECT o.code, o.owner, o.households, o.use, coalesce(v.visits, 0) AS visits, v.last_visit
    FROM own o LEFT JOIN v ON v.building_code = o.code
    ORDER BY o.code
    """
)
_GRIDS = text("SELECT code, name FROM areas WHERE id = ANY(:ids) AND level = :level ORDER BY code")
_MEMBERS = text(
    """
    SELECT member, count(*) AS patrols, sum(distance_m) AS distance_m,
        sum(duration_s) AS duration_s, sum(jsonb_array_length(geofence)) AS geofence_notes,
        array_agg(DISTINCT area_code) FILTER (WHERE area_code IS NOT NULL) AS areas
    FROM patrols
    WHERE status = 'ended' AND started_at >= :start AND started_at < :end
      AND (CAST(:all AS boolean) OR area_code = ANY(:codes))
    GROUP BY member
    ORDER BY member
    """
)


def period(
    start: datetime | None, end: datetime | None, *, window_days: float
) -> tuple[datetime, datetime]:
    """``[start, end)``: by default the last ``window_days`` up to now; a time without a zone
    is UTC."""
    start = start.replace(tzinfo=UTC) if start and start.tzinfo is None else start
    end = end.replace(tzinfo=UTC) if end and end.tzinfo is None else end
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=window_days)
    if start >= end:
        raise InvalidInput("`from` must be before `to`", field="from")
    return start, end


def patrol_coverage(
    conn: Connection,
    *,
    area: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    generation: int | None = None,
    thresholds: Thresholds,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Buildings and households visited in ``[start, end)`` (default the last
    ``patrol_window_days``) in ``area`` and below (default all), per micro-grid
    (``thresholds.building_level``) and per building, and per member the patrols, distance
    walked (m) and time on patrol (s). A building belongs to the micro-grid covering a point
    on its footprint, as in the coverage checks. As far as ``scope`` reaches (an area
    outside it is not found)."""
    start, end = period(start, end, window_days=thresholds.patrol_window_days)
    ctx = make_context(conn, area=area, generation=generation, thresholds=thresholds, scope=scope)
    owned(ctx)
    rows = conn.execute(_BUILDINGS, {"start": start, "end": end}).all()
    grids: dict[str, dict[str, Any]] = {
        r.code: {
            "code": r.code,
            "name": r.name,
            "buildings": 0,
            "buildings_visited": 0,
            "households": 0,
            "households_visited": 0,
        }
        for r in conn.execute(_GRIDS, {"ids": ctx.ids, "level": thresholds.building_level})
    }
    buildings = []
    for r in rows:
        visited = int(r.visits) > 0
        buildings.append(
            {
                "code": r.code,
                "micro_grid": r.owner,
                "residential": r.use == "residential",
                "households": int(r.households),
                "visited": visited,
                "last_visit": r.last_visit,
                "visits": int(r.visits),
            }
        )
        g = grids.get(r.owner) if r.owner is not None else None
        if g is not None:
            g["buildings"] += 1
            g["households"] += int(r.households)
            if visited:
                g["buildings_visited"] += 1
                g["households_visited"] += int(r.households)
    members = [
        {
            "member": m.member,
            "patrols": int(m.patrols),
            "distance_m": round(float(m.distance_m or 0), 1),
            "duration_s": round(float(m.duration_s or 0), 1),
            "geofence_notes": int(m.geofence_notes or 0),
            "micro_grids": sorted(m.areas or []),
        }
        for m in conn.execute(
            _MEMBERS,
            {"start": start, "end": end, "all": ctx.area is None, "codes": sorted(grids)},
        )
    ]
    return {
        "area": ctx.area,
        "generation": ctx.generation,
        "from": start,
        "to": end,
        "visit_m": thresholds.patrol_visit_m,
        "micro_grids": list(grids.values()),
        "buildings": buildings,
        "members": members,
    }


#: every area of a generation with its parent, to sum micro-grids up to a level
_TREE = text("SELECT code, parent_code, level FROM areas WHERE valid @> CAST(:generation AS int)")
#: the patrol figures that add up from micro-grids to the areas above them
_SUMMED = (
    *("buildings", "buildings_visited", "households", "households_visited"),
    *("patrols", "distance_m", "duration_s"),
)


def _with_shares(figures: dict[str, Any]) -> dict[str, Any]:
    b, h = figures["buildings"], figures["households"]
    return {
        **figures,
        "visited_share": round(figures["buildings_visited"] / b, 4) if b else None,
        "households_visited_share": round(figures["households_visited"] / h, 4) if h else None,
    }


def patrol_figures(
    conn: Connection,
    *,
    area: str | None,
    start: datetime | None,
    end: datetime | None,
    thresholds: Thresholds,
    scope: Scope = EVERYWHERE,
    level: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Patrol figures for the evaluation (考核), per micro-grid or, with ``level``, summed up
    to the areas of that level (each micro-grid counts for its ancestor there): buildings and
    households, how many were visited in ``[start, end)`` and their shares (0–1; None with
    nothing to visit), and the patrols, distance (m) and time (s) of members whose patrols
    belong there."""
    answer = patrol_coverage(
        conn, area=area, start=start, end=end, thresholds=thresholds, scope=scope
    )
    start, end = answer["from"], answer["to"]
    walked: dict[str, dict[str, float]] = defaultdict(
        lambda: {"patrols": 0, "distance_m": 0.0, "duration_s": 0.0}
    )
    rows = conn.execute(
        text(
            """
            SELECT area_code, count(*) AS n, sum(distance_m) AS m, sum(duration_s) AS s
            FROM patrols WHERE status = 'ended' AND started_at >= :start AND started_at < :end
              AND area_code = ANY(:codes)
            GROUP BY area_code
            """
        ),
        {"start": start, "end": end, "codes": [g["code"] for g in answer["micro_grids"]]},
    )
    for r in rows:
        walked[r.area_code] = {
            "patrols": int(r.n),
            "distance_m": round(float(r.m or 0), 1),
            "duration_s": round(float(r.s or 0), 1),
        }
    grids = {
        g["code"]: {
            **g,
            **walked.get(g["code"], {"patrols": 0, "distance_m": 0.0, "duration_s": 0.0}),
        }
        for g in answer["micro_grids"]
    }
    if level is None or level == thresholds.building_level:
        return {code: _with_shares(g) for code, g in grids.items()}
    parents = {
        r.code: (r.parent_code, r.level)
        for r in conn.execute(_TREE, {"generation": answer["generation"]})
    }
    sums: dict[str, dict[str, Any]] = {}
    for code, g in grids.items():
        up: str | None = code
        while up is not None and parents.get(up, (None, None))[1] != level:
            up = parents.get(up, (None, None))[0]  # walking up the chain, never down
        if up is None:
            continue
        total = sums.setdefault(up, {"code": up, **dict.fromkeys(_SUMMED, 0)})
        for name in _SUMMED:
            total[name] += g[name]
    return {code: _with_shares(total) for code, total in sums.items()}
