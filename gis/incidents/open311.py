"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over wangge incidents:
categories are services, incidents are service requests. JSON only.

Mapping: ``service_code`` = category code, ``service_request_id`` = incident id, ``status``
``open`` until resolved (then ``closed``), ``expected_datetime`` = the SLA due time,
``agency_responsible`` = the owning micro-grid and the category's department.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from gis.access import EVERYWHERE, Scope
from gis.errors import InvalidInput, NotFound
from gis.field.photos import first_photos
from gis.incidents.categories import load_categories
from gis.incidents.parse import parse_time
from gis.incidents.query import Filters, columns, where
from gis.limits import MAX_PAGE_SIZE
from gis.store.models import EVENTS, INCIDENTS

MAX_REQUESTS = MAX_PAGE_SIZE
MAX_ID = 2**63
DEFAULT_DAYS = 90
MAX_PAGES = 100_000


def services(conn: Connection) -> list[dict[str, Any]]:
    """GET services: one realtime service per category (no extra attributes)."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.description,
            "metadata": False,
            "type": "realtime",
            "keywords": c.code.replace("_", ","),
            "group": c.department,
        }
        for c in load_categories(conn).values()
    ]


def service_definition(conn: Connection, code: str) -> dict[str, Any]:
    """GET service definition: wangge services have no extra attributes."""
    if code not in load_categories(conn):
        raise NotFound(f"no service {code!r}", field="service_code")
    return {"service_code": code, "attributes": []}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def as_request(r: Any, departments: dict[str, str], *, extensions: bool = False) -> dict[str, Any]:
    """One incident row as an Open311 service request (``extensions``: with the detailed
    state and responsibility in ``extended_attributes``)."""
    closed = r.status in ("resolved", "closed")
    updated = max(t for t in (r.reported_at, r.assigned_at, r.resolved_at, r.closed_at) if t)
    agency = " / ".join(x for x in (r.owner_name or r.owner_code, departments.get(r.category)) if x)
    out: dict[str, Any] = {
        "service_request_id": str(r.id),
        "status": "closed" if closed else "open",
        "status_notes": r.status,
        "service_name": departments.get(f"name:{r.category}", r.category),
        "service_code": r.category,
        "description": r.description,
        "agency_responsible": agency,
        "service_notice": "needs location review" if r.location_status == "needs_review" else "",
        "requested_datetime": _iso(r.reported_at),
        "updated_datetime": _iso(updated),
        "expected_datetime": _iso(r.due_at),
        "address": r.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": r.lat,
        "long": r.lon,
        "media_url": (r.attachments or [""])[0],
    }
    if extensions:
        out["extended_attributes"] = {
            "detailed_status": r.status,
            "owner_code": r.owner_code,
            "owner_name": r.owner_name,
            "area_codes": list(r.area_codes or []),
            "duplicate_of": None if r.duplicate_of is None else str(r.duplicate_of),
            "location_status": r.location_status,
            "assigned_datetime": _iso(r.assigned_at),
            "resolved_datetime": _iso(r.resolved_at),
            "closed_datetime": _iso(r.closed_at),
            "overdue": bool(r.overdue),
        }
    return out


def _departments(conn: Connection) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in load_categories(conn).values():
        out[c.code] = c.department
        out[f"name:{c.code}"] = c.name
    return out


def get_requests(
    conn: Connection,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    scope: Scope = EVERYWHERE,
    max_requests: int = MAX_REQUESTS,
    updated_after: str | None = None,
    page: int = 1,
    page_size: int | None = None,
    extensions: bool = False,
) -> list[dict[str, Any]]:
    """GET requests: by ids (overrides everything else), else by codes, date range (default
    the last 90 days, none with ``updated_after`` alone), ``updated_after`` (changed since:
    any event after that time) and status, newest first, ``page`` by ``page`` of
    ``page_size`` (default and at most ``max_requests``, the configured page size); only
    those in the caller's ``scope``."""
    now = datetime.now(UTC)
    size = max_requests if page_size is None else page_size
    if not 1 <= size <= max_requests:
        raise InvalidInput(f"must be between 1 and {max_requests}", field="page_size")
    if not 1 <= page <= MAX_PAGES:
        raise InvalidInput(f"must be between 1 and {MAX_PAGES}", field="page")
    query = select(*columns(now, scope)).where(where(Filters(scope=scope), now))
    if service_request_id:
        try:
            ids = [int(x) for x in service_request_id.split(",")]
            if not all(0 < i < MAX_ID for i in ids):
                raise ValueError
        except ValueError:
            raise InvalidInput(
                "must be comma-separated numbers", field="service_request_id"
            ) from None
        query = query.where(INCIDENTS.c.id.in_(ids))
    else:
        if service_code:
            query = query.where(INCIDENTS.c.category.in_(service_code.split(",")))
        if updated_after is not None:
            since = parse_time(updated_after, "updated_after")
            query = query.where(
                INCIDENTS.c.id.in_(select(EVENTS.c.incident_id).where(EVENTS.c.at > since))
            )
        if updated_after is None or start_date or end_date:
            end = parse_time(end_date, "end_date", default=now)
            start = parse_time(start_date, "start_date", default=end - timedelta(days=DEFAULT_DAYS))
            query = query.where(INCIDENTS.c.reported_at >= start, INCIDENTS.c.reported_at <= end)
        if status:
            wanted = set(status.split(","))
            if not wanted <= {"open", "closed"}:
                raise InvalidInput("must be open, closed or both", field="status")
            if wanted == {"open"}:
                query = query.where(INCIDENTS.c.status.not_in(("resolved", "closed")))
            elif wanted == {"closed"}:
                query = query.where(INCIDENTS.c.status.in_(("resolved", "closed")))
    rows = conn.execute(
        query.order_by(INCIDENTS.c.reported_at.desc(), INCIDENTS.c.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    departments = _departments(conn)
    answers = [as_request(r, departments, extensions=extensions) for r in rows]
    photos = first_photos(conn, [int(a["service_request_id"]) for a in answers])
    for a in answers:  # issue 24: a stored photo is the request's media
        if int(a["service_request_id"]) in photos:
            a["media_url"] = f"/v1/photos/{photos[int(a['service_request_id'])]}"
    return answers


def get_request(
    conn: Connection, request_id: str, *, scope: Scope = EVERYWHERE, extensions: bool = False
) -> list[dict[str, Any]]:
    """GET one request (a one-item list, as the spec has it); one outside ``scope`` is not
    found, by the same query as an unknown one."""
    if not request_id.isdigit() or not 0 < int(request_id) < MAX_ID:
        raise NotFound(f"no service request {request_id!r}", field="service_request_id")
    found = get_requests(conn, service_request_id=request_id, scope=scope, extensions=extensions)
    if not found:
        raise NotFound(f"no service request {request_id}", field="service_request_id")
    return found


def incident_body(form: dict[str, str]) -> dict[str, Any]:
    """A POST requests form as a wangge incident body (lat/long or address_string)."""
    if not form.get("service_code"):
        raise InvalidInput("is required", field="service_code")
    body: dict[str, Any] = {
        "category": form["service_code"],
        "description": form.get("description", ""),
        "source": "app",
    }
    if form.get("lat") or form.get("long"):
        body["lat"], body["lon"] = form.get("lat"), form.get("long")
    if form.get("address_string"):
        body["address"] = form["address_string"]
    if "lat" not in body and "address" not in body:
        raise InvalidInput("give lat/long or address_string", field="address_string")
    name = " ".join(x for x in (form.get("last_name"), form.get("first_name")) if x)
    if name or form.get("phone"):
        body["reporter"] = {"name": name or None, "phone": form.get("phone") or None}
    if form.get("media_url"):
        body["attachments"] = [form["media_url"]]
    if form.get("device_id") and form.get("account_id"):
        body["external_id"] = f"open311:{form['account_id']}:{form['device_id']}"
    return body


def created(taken_id: int, notice: str) -> list[dict[str, Any]]:
    """The POST answer: a one-item list with the new request's id."""
    return [{"service_request_id": str(taken_id), "service_notice": notice, "account_id": None}]


def get_updates(
    conn: Connection,
    *,
    start_date: str | None = None,
    end_date: str | None = None,
    scope: Scope = EVERYWHERE,
    max_updates: int = MAX_REQUESTS,
) -> list[dict[str, Any]]:
    """GET servicerequestupdates (FixMyStreet's extension): every change of a request
    between ``start_date`` and ``end_date`` (default: the last day), oldest first, from the
    outbox, so ``update_id`` (the event id) grows in commit order; at most
    ``max_updates``."""
    now = datetime.now(UTC)
    end = parse_time(end_date, "end_date", default=now)
    start = parse_time(start_date, "start_date", default=end - timedelta(days=1))
    if start > end:
        raise InvalidInput("must not be after end_date", field="start_date")
    e = EVENTS.c
    query = select(e.id, e.type, e.at, e.incident_id, e.data).where(
        e.incident_id.is_not(None), e.at >= start, e.at <= end
    )
    if not scope.everywhere:  # the incident's stored owner (and submitter) decide
        query = query.where(e.incident_id.in_(select(INCIDENTS.c.id).where(scope.incidents())))
    rows = conn.execute(query.order_by(e.id).limit(max_updates))
    return [as_update(r) for r in rows]


def as_update(r: Any) -> dict[str, Any]:
    """One outbox event of an incident as an Open311 request update."""
    data = r.data
    change = data.get("change") or {}
    details = change.get("details") or {}
    state = data.get("status")
    note = change.get("note") or ""
    if r.type == "incident.overdue":
        note = note or "overdue"
    return {
        "update_id": str(r.id),
        "service_request_id": str(r.incident_id),
        "status": "closed" if state in ("resolved", "closed") else "open",
        "updated_datetime": _iso(r.at),
        "description": note or r.type.removeprefix("incident."),
        "media_url": details.get("url", "") if isinstance(details, dict) else "",
        "detailed_status": state,
        "event": r.type,
    }
