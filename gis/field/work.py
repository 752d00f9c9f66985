""" "My work": the open incidents a signed-in person is responsible for, as her phone shows
them — her grid's name, counts, and a list sorted by due time with Chinese names, the time
left, the address, and duplicates folded under their original."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from gis.access import Scope
from gis.incidents.lifecycle import OPEN_STATES
from gis.labels import STATE_NAMES, duration_zh, local_time, name_of
from gis.store.models import INCIDENTS

#: the most incidents one list shows (an unscoped key sees the soonest due)
MAX_ITEMS = 2000
#: "due soon": less than this left
SOON = timedelta(hours=4)


@dataclass
class WorkItem:
    """One incident of the list, ready for a page."""

    id: int
    category: str
    category_name: str
    status: str
    status_name: str
    description: str
    address: str
    due: str
    left: str
    urgency: str  # "late", "soon" or ""
    overdue: bool
    lon: float | None
    lat: float | None
    duplicate_of: int | None
    duplicates: list[WorkItem] = field(default_factory=list)


@dataclass
class Work:
    """Her page: where (the scope's name), the counts and the list."""

    scope_name: str
    open_count: int
    overdue_count: int
    due_today: int
    items: list[WorkItem]
    categories: list[tuple[str, str]]
    statuses: list[tuple[str, str]]


def scope_name(conn: Connection, scope: str | None) -> str:
    """The name of area ``scope`` (its newest row); "全部辖区" for an unscoped key."""
    if scope is None:
        return "全部辖区"
    name = conn.execute(
        text(
            "SELECT name FROM areas WHERE code = :c ORDER BY upper(valid) DESC NULLS FIRST LIMIT 1"
        ),
        {"c": scope},
    ).scalar_one_or_none()
    return str(name) if name else scope


_ITEMS = """
    SELECT i.id, i.category, coalesce(c.name, i.category) AS category_name, i.status,
           i.description, coalesce(i.address, '') AS address, i.due_at, i.duplicate_of,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat
    FROM incidents i LEFT JOIN incident_categories c ON c.code = i.category
    WHERE i.status = ANY(:open) AND {in_scope}
    ORDER BY i.due_at, i.id
    LIMIT :limit
    """


def my_work(
    conn: Connection,
    *,
    scope: Scope,
    timezone: str,
    now: datetime | None = None,
    limit: int = MAX_ITEMS,
) -> Work:
    """The open incidents in ``scope`` (owned at or below its area), soonest due first; a
    duplicate whose original is in the list is folded under it."""
    now = now or datetime.now(UTC)
    zone = ZoneInfo(timezone)
    day_end = (now.astimezone(zone) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    in_scope, params = scope.text("incidents", INCIDENTS.alias("i"))
    rows = conn.execute(
        text(_ITEMS.format(in_scope=in_scope)),
        {**params, "open": list(OPEN_STATES), "limit": limit},
    )
    items: list[WorkItem] = []
    overdue = today = 0
    for r in rows:
        left_s = (r.due_at - now).total_seconds()
        late = left_s < 0
        overdue += late
        today += not late and r.due_at < day_end
        items.append(
            WorkItem(
                id=r.id,
                category=r.category,
                category_name=r.category_name,
                status=r.status,
                status_name=name_of(STATE_NAMES, r.status),
                description=r.description or "",
                address=r.address,
                due=local_time(r.due_at, timezone),
                left=f"超时{duration_zh(left_s)}" if late else f"剩余{duration_zh(left_s)}",
                urgency="late" if late else ("soon" if left_s < SOON.total_seconds() else ""),
                overdue=late,
                lon=r.lon,
                lat=r.lat,
                duplicate_of=r.duplicate_of,
            )
        )
    by_id = {i.id: i for i in items}
    top: list[WorkItem] = []
    for item in items:
        original = by_id.get(item.duplicate_of) if item.duplicate_of else None
        if original is not None and original.duplicate_of is None:
            original.duplicates.append(item)
        else:
            top.append(item)
    categories = sorted({(i.category, i.category_name) for i in items}, key=lambda c: c[1])
    statuses = [(s, STATE_NAMES[s]) for s in OPEN_STATES if any(i.status == s for i in items)]
    return Work(
        scope_name=scope_name(conn, scope.area),
        open_count=len(items),
        overdue_count=overdue,
        due_today=today,
        items=top,
        categories=categories,
        statuses=statuses,
    )
