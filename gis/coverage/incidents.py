"""Incident checks (overdue incidents, low resolution rate) per micro-grid.

They read the ``incidents`` table of migration 0004 (``gis.incidents``); a database without
it, or whose table has other columns, gets no finding from them and a report saying they
were not run and why, never an error.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gis.coverage.context import Context, loads
from gis.coverage.model import Finding

# Columns read: status, due_at, resolved_at, closed_at and owner_code (the micro-grid the
# incident was assigned to when it came in, as gis.incidents.intake snapshots it).
_INCIDENTS = text(
    """
    SELECT i.owner_code, count(*) AS total,
        count(*) FILTER (
            WHERE i.resolved_at IS NULL AND i.closed_at IS NULL
              AND i.status NOT IN ('resolved', 'closed') AND i.due_at < now()
        ) AS overdue,
        count(*) FILTER (
            WHERE i.resolved_at IS NOT NULL OR i.closed_at IS NOT NULL
               OR i.status IN ('resolved', 'closed')
        ) AS resolved,
        ST_AsGeoJSON(m.geom, 7) AS gj
    FROM incidents i JOIN areas m ON m.code = i.owner_code AND m.id = ANY(:ids)
    GROUP BY i.owner_code, m.geom
    ORDER BY i.owner_code
    """
)


def incident_counts(ctx: Context, check: str) -> list[Any]:
    """Incident totals per micro-grid in scope, or [] (and ``check`` marked not run)."""
    if "incidents" not in ctx.cache:
        try:
            with ctx.conn.begin_nested():
                ctx.cache["incidents"] = list(ctx.conn.execute(_INCIDENTS, ctx.params))
        except DBAPIError as exc:
            ctx.cache["incidents"] = (
                "the incidents table lacks the expected columns (status, due_at, "
                f"resolved_at, closed_at, owner_code): {exc.orig}"
            )
    value = ctx.cache["incidents"]
    if isinstance(value, str):
        ctx.not_run[check] = value
        return []
    rows: list[Any] = value
    return rows


def check_overdue_incidents(ctx: Context) -> list[Finding]:
    """Micro-grids with open incidents past their due time."""
    return [
        Finding(
            "overdue_incidents",
            "warning",
            r.owner_code,
            [],
            None,
            int(r.overdue),
            "incidents",
            f"{r.owner_code} has {r.overdue} overdue incident(s) of {r.total}",
            loads(r.gj),
            {"total": int(r.total)},
        )
        for r in incident_counts(ctx, "overdue_incidents")
        if r.overdue
    ]


def check_resolution_rate(ctx: Context) -> list[Finding]:
    """Micro-grids with at least ``incident_min_count`` incidents whose resolved-or-closed
    share is below ``incident_resolution_rate_min``."""
    t = ctx.thresholds
    out: list[Finding] = []
    for r in incident_counts(ctx, "resolution_rate"):
        rate = float(r.resolved) / float(r.total)
        if r.total < t.incident_min_count or rate >= t.incident_resolution_rate_min:
            continue
        out.append(
            Finding(
                "resolution_rate",
                "warning",
                r.owner_code,
                [],
                None,
                round(rate, 3),
                "share",
                f"{r.owner_code} resolved {rate:.0%} of its {r.total} incidents "
                f"(target {t.incident_resolution_rate_min:.0%})",
                loads(r.gj),
                {"total": int(r.total), "resolved": int(r.resolved)},
            )
        )
    return out
