"""The dashboard's data for one area and period: headline figures beside the previous
period's, the trend per category, the ranking of the child areas one level down and of the
departments (with their evaluation index), each row with its drill-down and map links.

Everything comes from ``gis.incidents.stats`` (the facts: fast for a whole street) and
``gis.dashboard.evaluation``; names come from the areas, the categories and ``gis.labels``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, func, select

from gis.access import EVERYWHERE, Scope
from gis.coverage.thresholds import Thresholds
from gis.dashboard.evaluation import Weights, evaluate
from gis.errors import InvalidInput, NotFound
from gis.incidents.facts import count_overdue_open
from gis.incidents.query import Filters
from gis.incidents.stats import previous_period, stats, trend
from gis.labels import LEVEL_NAMES, SOURCE_NAMES, local_time, name_of
from gis.levels import LEVELS
from gis.store.models import AREAS, INCIDENT_CATEGORIES

#: the periods a dashboard offers: the last N days up to now, and the trend bucket of each
PERIODS: dict[str, tuple[int, str]] = {
    "7d": (7, "day"),
    "30d": (30, "day"),
    "90d": (90, "week"),
    "365d": (365, "month"),
}
PERIOD_NAMES = {"7d": "近7天", "30d": "近30天", "90d": "近90天", "365d": "近一年"}
#: the headline figures, in order, with their names
HEADLINE = (
    ("count", "上报"),
    ("resolved", "办结"),
    ("resolution_rate", "结案率"),
    ("on_time_rate", "按期结案率"),
    ("assign_median_s", "派遣用时中位数"),
    ("resolve_median_s", "办结用时中位数"),
    ("overdue_now", "当前超期"),
    ("needs_review", "待核实位置"),
)


@dataclass(frozen=True)
class View:
    """What the dashboard shows: an area (None: everything the caller sees), a period, and
    filters on category and source."""

    area: str | None = None
    period: str = "30d"
    category: tuple[str, ...] = ()
    source: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        area: str | None = None,
        period: str | None = None,
        category: str | None = None,
        source: str | None = None,
    ) -> View:
        """A view from query-string values (comma lists for category and source)."""
        period = period or "30d"
        if period not in PERIODS:
            raise InvalidInput(f"must be one of {', '.join(PERIODS)}", field="period")
        base = Filters.parse(category=category, source=source)
        return cls(area=area or None, period=period, category=base.category, source=base.source)

    def query(self, **changes: str | None) -> str:
        """The dashboard's query string for this view with ``changes`` (None drops a key)."""
        params: dict[str, str | None] = {
            "area": self.area,
            "period": self.period,
            "category": ",".join(self.category) or None,
            "source": ",".join(self.source) or None,
        }
        params.update(changes)
        return urlencode({k: v for k, v in params.items() if v})


def _area(conn: Connection, code: str) -> Any:
    A = AREAS.c
    row = conn.execute(
        select(A.code, A.name, A.level, A.parent_code).where(A.code == code).order_by(A.id.desc())
    ).first()
    if row is None:
        raise NotFound(f"no area {code}", field="area")
    return row


def child_level(conn: Connection, area: str | None) -> str | None:
    """The level of ``area``'s children (levels may be skipped); with no area, the
    topmost level that has areas; None below the last level."""
    A = AREAS.c
    if area is None:
        levels = set(conn.execute(select(A.level).distinct()).scalars())
    else:
        levels = set(
            conn.execute(select(A.level).where(A.parent_code == area).distinct()).scalars()
        )
    present = [lv for lv in LEVELS if lv in levels]
    return present[0] if present else None


def _map_link(level: str, code: str) -> str:
    if level == "micro_grid":
        return f"/maps/grid/{code}"
    return "/maps/overview?" + urlencode({"area": code})


def dashboard(
    conn: Connection,
    view: View,
    *,
    weights: Weights,
    scope: Scope = EVERYWHERE,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The dashboard's JSON for ``view`` within ``scope`` (the caller's area; an area outside
    it is not found); with ``thresholds`` the ranking carries the patrol figures."""
    now = now or datetime.now(UTC)
    within = scope.area
    area = view.area or within
    crumbs: list[dict[str, str]] = []
    current: dict[str, Any] = {"code": None, "name": "全部辖区", "level": None}
    if area is not None:
        row = _area(conn, area)
        chain = _chain(conn, row)
        if within is not None and within not in [r.code for r in chain]:
            raise NotFound(f"no area {area}", field="area")
        current = {"code": row.code, "name": row.name or row.code, "level": row.level}
        inside = False
        for r in chain:
            inside = inside or within is None or r.code == within
            if inside:
                crumbs.append(
                    {
                        "code": r.code,
                        "name": r.name or r.code,
                        "href": "?" + view.query(area=r.code),
                    }
                )
    days, bucket = PERIODS[view.period]
    filters = Filters(
        category=view.category,
        source=view.source,
        area=area,
        scope=scope,
        start=now - timedelta(days=days),
        end=now,
    )
    before = previous_period(filters)
    before_figures = stats(conn, before, group_by="category", timezone=timezone, now=now)
    # "overdue now" is a state of today, not of the period: every open late incident
    overdue_now = count_overdue_open(conn, replace(filters, start=None, end=None), now)
    departments = evaluate(
        conn, filters, subject="department", weights=weights, timezone=timezone, now=now
    )
    # the period's totals: the departments' evaluation read them already
    headline = _headline(departments["total"], before_figures["total"], overdue_now)
    level = child_level(conn, area)
    ranking: dict[str, Any] = {
        "level": level,
        "level_name": name_of(LEVEL_NAMES, level),
        "rows": [],
    }
    if level is not None:
        ev = evaluate(
            conn,
            filters,
            subject=level,
            weights=weights,
            timezone=timezone,
            now=now,
            thresholds=thresholds,
        )
        rows = ev["rows"]
        if area is not None:
            kids = _children(conn, area)
            rows = [r for r in rows if r["key"] in kids]
            # the children without incidents in the period are listed too, unranked
            seen = {r["key"] for r in rows}
            for code, name in sorted(kids.items()):
                if code not in seen:
                    rows.append(_empty_row(code, name))
        for r in rows:
            r["drill"] = "/dashboard?" + view.query(area=r["key"])
            r["map"] = _map_link(level, r["key"])
        ranking["rows"] = rows
    category_names = _category_names(conn)
    dept_categories = _department_categories(conn)
    for r in departments["rows"]:
        r["drill"] = "/dashboard?" + view.query(
            category=",".join(dept_categories.get(r["key"], []))
        )
    series = trend(conn, filters, bucket=bucket, timezone=timezone, now=now)
    series["category_names"] = [name_of(category_names, c) for c in series["categories"]]
    return {
        "area": current,
        "breadcrumbs": crumbs,
        "view": {
            "period": view.period,
            "period_name": PERIOD_NAMES[view.period],
            "category": list(view.category),
            "source": list(view.source),
        },
        "period": {
            "from": filters.start.isoformat() if filters.start else None,
            "to": now.isoformat(),
            "from_local": local_time(filters.start, timezone),
            "to_local": local_time(now, timezone),
        },
        "previous": {
            "from": before.start.isoformat() if before.start else None,
            "to": before.end.isoformat() if before.end else None,
            "from_local": local_time(before.start, timezone),
            "to_local": local_time(before.end, timezone),
        },
        "headline": headline,
        "trend": series,
        "ranking": ranking,
        "departments": departments["rows"],
        "formula": departments["formula"],
        "weights": departments["weights"],
        "filters": {
            "categories": [{"code": c, "name": n} for c, n in category_names.items()],
            "sources": [{"code": c, "name": n} for c, n in SOURCE_NAMES.items()],
            "periods": [{"code": c, "name": n} for c, n in PERIOD_NAMES.items()],
        },
    }


def _headline(
    now: dict[str, Any], before: dict[str, Any], overdue_now: int
) -> list[dict[str, Any]]:
    out = []
    for key, name in HEADLINE:
        if key == "overdue_now":
            out.append({"key": key, "name": name, "value": overdue_now, "previous": None})
        else:
            out.append({"key": key, "name": name, "value": now[key], "previous": before[key]})
    return out


def _chain(conn: Connection, row: Any) -> list[Any]:
    """``row`` and its ancestors, largest first."""
    chain = [row]
    while chain[0].parent_code is not None and len(chain) <= len(LEVELS):
        chain.insert(0, _area(conn, chain[0].parent_code))
    return chain


def _children(conn: Connection, code: str) -> dict[str, str]:
    """The child areas of ``code``: code -> name."""
    A = AREAS.c
    rows = conn.execute(
        select(A.code, func.max(A.name)).where(A.parent_code == code).group_by(A.code)
    )
    return {c: n or c for c, n in rows}


def _empty_row(code: str, name: str) -> dict[str, Any]:
    """A ranking row of an area without incidents in the period (no index, no rank)."""
    return {
        "key": code,
        "name": name,
        "count": 0,
        "resolved": 0,
        "on_time": 0,
        "overdue": 0,
        "assign_median_s": None,
        "resolution_rate": None,
        "on_time_rate": None,
        "assignment_score": None,
        "overdue_rate": None,
        "index": None,
        "rank": None,
    }


def _category_names(conn: Connection) -> dict[str, str]:
    K = INCIDENT_CATEGORIES.c
    return dict(conn.execute(select(K.code, K.name).order_by(K.code)).all())


def _department_categories(conn: Connection) -> dict[str, list[str]]:
    K = INCIDENT_CATEGORIES.c
    out: dict[str, list[str]] = {}
    for code, dept in conn.execute(select(K.code, func.nullif(K.department, "")).order_by(K.code)):
        if dept:
            out.setdefault(dept, []).append(code)
    return out
