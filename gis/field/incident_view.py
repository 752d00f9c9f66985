"""The incident page's content: everything a grid member needs about one incident, in
Chinese, in local time, with the steps her role may take now and the open incidents nearby
that it may duplicate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from gis.access import Scope
from gis.access.roles import Principal
from gis.field.actions import steps_for
from gis.field.photos import photo_list
from gis.field.work import scope_name
from gis.incidents.categories import load_categories
from gis.incidents.lifecycle import OPEN_STATES
from gis.incidents.query import get_incident
from gis.labels import (
    ACTION_NAMES,
    SOURCE_NAMES,
    STAFF_ROLE_NAMES,
    STATE_NAMES,
    duration_zh,
    local_time,
    name_of,
)
from gis.store.models import INCIDENTS

#: how far "nearby" reaches when linking a duplicate, metres
NEARBY_M = 300.0
EVENT_NAMES = {
    "reported": "上报",
    "transition": "状态变更",
    "relocated": "位置更正",
    "reassigned": "重新派遣",
    "duplicate_linked": "关联重复事件",
    "duplicate_unlinked": "取消重复关联",
}


def incident_view(
    conn: Connection,
    principal: Principal,
    scope: Scope,
    incident_id: int,
    *,
    timezone: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The page's data (NotFound outside ``scope``, as for the API)."""
    now = now or datetime.now(UTC)
    found = get_incident(
        conn, incident_id, reveal_phones=principal.sees_phones, scope=scope, now=now
    )
    p = found["properties"]
    categories = load_categories(conn)
    category = categories.get(p["category"])
    due = datetime.fromisoformat(p["due_at"])
    left = (due - now).total_seconds()
    is_open = p["status"] in OPEN_STATES
    timeline = [
        {
            "at": local_time(e["at"], timezone),
            "what": _event_text(e),
            "actor": e["actor"],
            "by": e.get("by"),
            "note": e["note"],
        }
        for e in p["timeline"]
    ]
    reporter = p.get("reporter") or {}
    staff = [
        {**s, "role_name": name_of(STAFF_ROLE_NAMES, s.get("role"))} for s in p.get("staff") or []
    ]
    lonlat = found["geometry"]["coordinates"] if found["geometry"] else None
    return {
        "id": incident_id,
        "status": p["status"],
        "status_name": name_of(STATE_NAMES, p["status"]),
        "category_name": category.name if category else p["category"],
        "description": p["description"],
        "source_name": name_of(SOURCE_NAMES, p["source"]),
        "address": p["address"] or "",
        "needs_review": p["location_status"] == "needs_review",
        "reporter_name": reporter.get("name") or "",
        "reporter_phone": reporter.get("phone") or "",
        "reporter_tel": principal.sees_phones and bool(reporter.get("phone")),
        "owner_name": (p["owner"] or {}).get("name") or "",
        "staff": staff,
        "reported": local_time(p["reported_at"], timezone),
        "due": local_time(p["due_at"], timezone),
        "left": (f"超时{duration_zh(left)}" if left < 0 else f"剩余{duration_zh(left)}")
        if is_open
        else "",
        "late": is_open and left < 0,
        "lonlat": lonlat,
        "timeline": timeline,
        "photos": photo_list(conn, incident_id),
        "steps": [(s, ACTION_NAMES[s]) for s in steps_for(principal, p["status"])],
        "may_update": principal.can("incidents:update"),
        "duplicate_of": p["duplicate_of"],
        "nearby": nearby_open(conn, incident_id, scope, timezone)
        if principal.can("incidents:update") and lonlat and is_open
        else [],
        "scope_name": scope_name(conn, scope.area),
    }


def _event_text(event: dict[str, Any]) -> str:
    if event["kind"] == "transition" and event["to"]:
        return f"{name_of(ACTION_NAMES, event['to'])} → {name_of(STATE_NAMES, event['to'])}"
    if event["to"] and event["kind"] == "reported":
        return f"上报 → {name_of(STATE_NAMES, event['to'])}"
    kind: str = event["kind"]
    return EVENT_NAMES.get(kind, kind)


def nearby_open(
    conn: Connection, incident_id: int, scope: Scope, timezone: str
) -> list[dict[str, Any]]:
    """Open incidents within ``NEARBY_M`` metres of this one, in scope, not already its
    duplicates: the candidates to link it to (nearest first, at most 10)."""
    in_scope, params = scope.text("incidents", INCIDENTS.alias("o"))
    rows = conn.execute(
        text(
            f"""
            SELECT o.id, coalesce(c.name, o.category) AS category_name, o.reported_at,
                   round(ST_Distance(o.geom::geography, i.geom::geography)) AS distance_m
            FROM incidents i
            JOIN incidents o ON o.id <> i.id AND o.geom IS NOT NULL
              AND ST_DWithin(o.geom::geography, i.geom::geography, :reach)
            LEFT JOIN incident_categories c ON c.code = o.category
            WHERE i.id = :id AND o.status = ANY(:open) AND o.duplicate_of IS NULL
              AND {in_scope}
              AND (i.duplicate_of IS NULL OR i.duplicate_of <> o.id)
            ORDER BY distance_m, o.id LIMIT 10
            """
        ),
        {**params, "id": incident_id, "reach": NEARBY_M, "open": list(OPEN_STATES)},
    )
    return [
        {
            "id": r.id,
            "category_name": r.category_name,
            "reported": local_time(r.reported_at, timezone),
            "distance_m": int(r.distance_m),
        }
        for r in rows
    ]
