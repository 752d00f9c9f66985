"""The figures officials are judged on, computed in SQL in one scan: per group (category,
owning area or local day) and overall — counts, resolution rate, median and p90 time to
assignment and to resolution (seconds from the report), overdue and open counts.

Resolved means ``resolved_at`` is set (a reopened incident counts again only once
re-resolved); the rate is resolved / all matched. Duplicates count like any incident and are
also counted apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from gis.errors import InvalidInput
from gis.incidents.lifecycle import OPEN_STATES
from gis.incidents.query import Filters, overdue_expr, where
from gis.store.models import INCIDENTS

GROUPS = ("category", "area", "day")
C = INCIDENTS.c


def _seconds(later: Any) -> Any:
    return func.extract("epoch", later - C.reported_at)


def _pct(p: float, expr: Any) -> Any:
    return func.percentile_cont(p).within_group(expr)


def stats(
    conn: Connection,
    filters: Filters,
    *,
    group_by: str = "category",
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> dict[str, Any]:
    """``{group_by, total: {...}, groups: [{key, ...}]}``, groups ordered by key."""
    if group_by not in GROUPS:
        raise InvalidInput(f"must be one of {', '.join(GROUPS)}", field="group_by")
    now = now or datetime.now(UTC)
    key: ColumnElement[Any]
    if group_by == "category":
        key = C.category
    elif group_by == "area":
        key = C.owner_code
    else:
        key = func.to_char(func.timezone(timezone, C.reported_at), "YYYY-MM-DD")
    assign_s, resolve_s = _seconds(C.assigned_at), _seconds(C.resolved_at)
    grouped = func.grouping(key).label("is_total")
    q = (
        select(
            key.label("key"),
            grouped,
            func.count().label("n"),
            func.count(C.resolved_at).label("resolved"),
            func.count().filter(C.status.in_(OPEN_STATES)).label("open"),
            func.count().filter(overdue_expr(now)).label("overdue"),
            func.count(C.duplicate_of).label("duplicates"),
            func.count().filter(C.location_status == "needs_review").label("needs_review"),
            _pct(0.5, assign_s).label("assign_median_s"),
            _pct(0.9, assign_s).label("assign_p90_s"),
            _pct(0.5, resolve_s).label("resolve_median_s"),
            _pct(0.9, resolve_s).label("resolve_p90_s"),
        )
        .where(where(filters, now))
        .group_by(func.grouping_sets(tuple_(key), tuple_()))
    )
    groups: list[dict[str, Any]] = []
    total: dict[str, Any] = _empty()
    for r in conn.execute(q):
        figures = {
            "count": r.n,
            "resolved": r.resolved,
            "resolution_rate": round(r.resolved / r.n, 4) if r.n else None,
            "open": r.open,
            "overdue": r.overdue,
            "duplicates": r.duplicates,
            "needs_review": r.needs_review,
            "assign_median_s": _round(r.assign_median_s),
            "assign_p90_s": _round(r.assign_p90_s),
            "resolve_median_s": _round(r.resolve_median_s),
            "resolve_p90_s": _round(r.resolve_p90_s),
        }
        if r.is_total:
            total = figures
        else:
            groups.append({"key": r.key, **figures})
    groups.sort(key=lambda g: (g["key"] is None, g["key"] or ""))
    return {"group_by": group_by, "total": total, "groups": groups}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _empty() -> dict[str, Any]:
    return {
        "count": 0,
        "resolved": 0,
        "resolution_rate": None,
        "open": 0,
        "overdue": 0,
        "duplicates": 0,
        "needs_review": 0,
        "assign_median_s": None,
        "assign_p90_s": None,
        "resolve_median_s": None,
        "resolve_p90_s": None,
    }
