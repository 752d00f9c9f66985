"""Reading incidents: filters shared by the list, the review queue, exports and stats; one
incident with its timeline. Output coordinates are WGS-84 ``lon, lat``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    literal,
    select,
    true,
)

from gis.access import EVERYWHERE, Scope
from gis.access.roles import mask_phone
from gis.areas.query import BBox
from gis.errors import InvalidInput, NotFound
from gis.incidents.parse import parse_time
from gis.limits import MAX_PAGE_SIZE, check_page_size
from gis.store.models import INCIDENT_EVENTS, INCIDENT_STATES, INCIDENTS

MAX_PAGE = MAX_PAGE_SIZE
C = INCIDENTS.c


@dataclass(frozen=True)
class Filters:
    """Which incidents: every given condition must hold (times are reported_at bounds,
    ``start`` inclusive, ``end`` exclusive; ``area`` includes its descendants)."""

    status: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    area: str | None = None
    bbox: BBox | None = None
    start: datetime | None = None
    end: datetime | None = None
    overdue: bool | None = None
    location_status: str | None = None
    duplicates: bool | None = None
    #: the caller's scope (never set from a query)
    scope: Scope = EVERYWHERE

    @classmethod
    def parse(
        cls,
        *,
        status: str | None = None,
        category: str | None = None,
        area: str | None = None,
        bbox: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        overdue: bool | None = None,
        location_status: str | None = None,
        duplicates: bool | None = None,
        max_bbox_km2: float | None = None,
        scope: Scope = EVERYWHERE,
    ) -> Filters:
        """Filters from query-string values (comma lists for status and category); a
        ``bbox`` over ``max_bbox_km2`` km² is refused."""
        states = tuple(s for s in (status or "").split(",") if s)
        for s in states:
            if s not in INCIDENT_STATES:
                raise InvalidInput(
                    f"unknown state {s!r}; states: {', '.join(INCIDENT_STATES)}", field="status"
                )
        if location_status not in (None, "ok", "needs_review"):
            raise InvalidInput("must be ok or needs_review", field="location_status")
        if isinstance(start, str):
            start = parse_time(start, "from")
        if isinstance(end, str):
            end = parse_time(end, "to")
        for name, value in (("from", start), ("to", end)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput("must include a time zone (e.g. +08:00 or Z)", field=name)
        if start and end and end <= start:
            raise InvalidInput("must be after from", field="to")
        return cls(
            status=states,
            category=tuple(c for c in (category or "").split(",") if c),
            area=area or None,
            bbox=BBox.parse(bbox, max_km2=max_bbox_km2) if bbox else None,
            start=start,
            end=end,
            overdue=overdue,
            location_status=location_status,
            duplicates=duplicates,
            scope=scope,
        )


def overdue_expr(now: datetime) -> ColumnElement[bool]:
    """Late: the due time passed before resolution (or closure, or now if still open)."""
    return C.due_at < func.coalesce(C.resolved_at, C.closed_at, literal(now))


def where(filters: Filters, now: datetime) -> ColumnElement[bool]:
    """The SQL condition for ``filters``."""
    conds: list[ColumnElement[bool]] = []
    if filters.status:
        conds.append(C.status.in_(filters.status))
    if filters.category:
        conds.append(C.category.in_(filters.category))
    conds.append(filters.scope.incidents(INCIDENTS))
    if filters.area:  # the same rule as a scope's: owned at or below the area
        conds.append(Scope(filters.area).incidents(INCIDENTS))
    if filters.bbox:
        b = filters.bbox
        conds.append(C.geom.op("&&")(func.ST_MakeEnvelope(b.west, b.south, b.east, b.north, 4326)))
    if filters.start:
        conds.append(C.reported_at >= filters.start)
    if filters.end:
        conds.append(C.reported_at < filters.end)
    if filters.overdue is not None:
        late = overdue_expr(now)
        conds.append(late if filters.overdue else ~late)
    if filters.location_status:
        conds.append(C.location_status == filters.location_status)
    if filters.duplicates is not None:
        link = filters.scope.incident_ref(C.duplicate_of)
        conds.append(link.is_not(None) if filters.duplicates else link.is_(None))
    return and_(true(), *conds)


def columns(now: datetime, scope: Scope = EVERYWHERE) -> list[Any]:
    """The columns every reading selects (geometry as lon/lat); ``duplicate_of`` only when
    that incident is in ``scope``."""
    return [
        *(c for c in INCIDENTS.c if c.name not in ("geom", "duplicate_of")),
        scope.incident_ref(C.duplicate_of).label("duplicate_of"),
        func.ST_X(C.geom).label("lon"),
        func.ST_Y(C.geom).label("lat"),
        overdue_expr(now).label("overdue"),
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def properties(r: Any, *, reveal_phones: bool = False) -> dict[str, Any]:
    """An incident row as JSON-ready properties; the reporter's phone masked (138****5678)
    unless ``reveal_phones``."""
    phone = r.reporter_phone if reveal_phones else mask_phone(r.reporter_phone)
    return {
        "id": r.id,
        "external_id": r.external_id,
        "category": r.category,
        "description": r.description,
        "source": r.source,
        "status": r.status,
        "location_status": r.location_status,
        "review_reason": r.review_reason,
        "address": r.address,
        "district": r.district,
        "input": {
            "lon": r.input_lon,
            "lat": r.input_lat,
            "crs": r.input_crs,
            "accuracy_m": r.accuracy_m,
        },
        "geocode": r.geocode,
        "reported_at": _iso(r.reported_at),
        "due_at": _iso(r.due_at),
        "overdue": bool(r.overdue),
        "created_at": _iso(r.created_at),
        "assigned_at": _iso(r.assigned_at),
        "resolved_at": _iso(r.resolved_at),
        "closed_at": _iso(r.closed_at),
        "duplicate_of": r.duplicate_of,
        "owner": {"code": r.owner_code, "name": r.owner_name} if r.owner_code else None,
        "chain": r.chain,
        "generation": r.generation,
        "staff": r.staff,
        "reporter": {"name": r.reporter_name, "phone": phone},
        "attachments": r.attachments,
    }


def feature(r: Any, *, reveal_phones: bool = False) -> dict[str, Any]:
    """An incident row as a GeoJSON Feature (geometry null while unlocated)."""
    geometry = {"type": "Point", "coordinates": [r.lon, r.lat]} if r.lon is not None else None
    props = properties(r, reveal_phones=reveal_phones)
    return {"type": "Feature", "id": r.id, "geometry": geometry, "properties": props}


@dataclass(frozen=True)
class IncidentPage:
    features: list[dict[str, Any]]
    number_matched: int


def list_incidents(
    conn: Connection,
    filters: Filters,
    *,
    limit: int = 100,
    offset: int = 0,
    oldest_first: bool = False,
    now: datetime | None = None,
    reveal_phones: bool = False,
    max_limit: int = MAX_PAGE,
) -> IncidentPage:
    """One page of incidents (newest report first, or oldest first for the review queue);
    ``limit`` at most ``max_limit`` (the configured page size)."""
    check_page_size(limit, maximum=max_limit)
    now = now or datetime.now(UTC)
    cond = where(filters, now)
    total = conn.execute(select(func.count()).select_from(INCIDENTS).where(cond)).scalar_one()
    order = (C.reported_at, C.id) if oldest_first else (C.reported_at.desc(), C.id.desc())
    rows = conn.execute(
        select(*columns(now, filters.scope))
        .where(cond)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return IncidentPage([feature(r, reveal_phones=reveal_phones) for r in rows], int(total))


def get_incident(
    conn: Connection,
    incident_id: int,
    *,
    now: datetime | None = None,
    reveal_phones: bool = False,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """One incident as a Feature, its ``timeline`` (oldest event first) in the properties;
    not found, by the same query, when it lies outside ``scope``. Other incidents it names
    (``duplicate_of``, links in the timeline) are shown only when they are in ``scope``."""
    now = now or datetime.now(UTC)
    row = conn.execute(
        select(*columns(now, scope)).where(C.id == incident_id, scope.incidents(INCIDENTS))
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    out = feature(row, reveal_phones=reveal_phones)
    E = INCIDENT_EVENTS.c
    events = conn.execute(
        select(
            E.kind,
            E.from_status,
            E.to_status,
            E.actor,
            E.note,
            E.at,
            E.details,
            func.ST_X(E.geom).label("lon"),
            func.ST_Y(E.geom).label("lat"),
            E.key_name,
        )
        .where(E.incident_id == incident_id)
        .order_by(E.at, E.id)
    )
    timeline = [timeline_entry(*e[:9], key_name=e[9]) for e in events]
    out["properties"]["timeline"] = visible_timeline(conn, timeline, scope)
    return out


def timeline_entry(
    kind: str,
    from_status: str | None,
    to_status: str | None,
    actor: str | None,
    note: str | None,
    at: datetime,
    details: Any,
    lon: float | None,
    lat: float | None,
    key_name: str | None = None,
) -> dict[str, Any]:
    """One event of an incident's timeline as JSON (the columns in this order); ``by`` is
    the holder of the API key that made it, when a key did."""
    return {
        "kind": kind,
        "from": from_status,
        "to": to_status,
        "actor": actor,
        "note": note,
        "at": _iso(at),
        "location": None if lon is None else {"lon": lon, "lat": lat},
        "details": details,
        "by": key_name,
    }


#: an incident id named in an event's note ("duplicate of incident 12", "unlinked from 12")
_NAMED = re.compile(r"\b(incident|from) (\d+)")
_LINKS = ("duplicate_of", "was")
_ANOTHER = {"incident": "another incident", "from": "from another incident"}


def visible_timeline(
    conn: Connection, timeline: list[dict[str, Any]], scope: Scope
) -> list[dict[str, Any]]:
    """``timeline`` as ``scope`` shows it: another incident outside the scope is named
    nowhere (its id becomes null in the details and "another incident" in the note), as if
    it did not exist."""
    if scope.everywhere:
        return timeline
    named: set[int] = set()
    for entry in timeline:
        details = entry["details"] if isinstance(entry["details"], dict) else {}
        named.update(v for k in _LINKS if isinstance(v := details.get(k), int))
        named.update(int(m.group(2)) for m in _NAMED.finditer(entry["note"] or ""))
    hidden = named - scope.visible_incidents(conn, named)
    if not hidden:
        return timeline
    out = []
    for entry in timeline:
        details = entry["details"]
        if isinstance(details, dict):
            details = {k: None if k in _LINKS and v in hidden else v for k, v in details.items()}
        note = _NAMED.sub(
            lambda m: _ANOTHER[m.group(1)] if int(m.group(2)) in hidden else m[0],
            entry["note"] or "",
        )
        out.append({**entry, "details": details, "note": note})
    return out


def stored(conn: Connection, incident_id: int, scope: Scope) -> dict[str, Any]:
    """The stored incident as ``scope`` sees it, or only that it is stored (its id) when it
    lies outside ``scope``."""
    try:
        return get_incident(conn, incident_id, scope=scope)
    except NotFound:
        external = conn.execute(
            select(INCIDENTS.c.external_id).where(INCIDENTS.c.id == incident_id)
        ).scalar_one()
        return already_stored(incident_id, external)


def already_stored(incident_id: int, external_id: str | None) -> dict[str, Any]:
    """The answer to a repeated ``external_id`` for a caller who may not read the incident
    stored under it: that it is stored, and its id — nothing of its content."""
    note = "already stored under this external_id; reading it needs incidents:read in its scope"
    return {
        "type": "Feature",
        "id": incident_id,
        "geometry": None,
        "properties": {"id": incident_id, "external_id": external_id, "note": note},
    }


def select_for_export(filters: Filters, now: datetime) -> Select[Any]:
    """The export query (ordered by id, so an export is reproducible)."""
    return select(*columns(now, filters.scope)).where(where(filters, now)).order_by(C.id)
