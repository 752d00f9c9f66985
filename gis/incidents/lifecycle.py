"""The incident lifecycle: legal transitions, their side effects and timeline events.

reported → assigned → in_progress → resolved → closed, plus ``returned`` (回退: back to
dispatch, to be assigned again), ``reopened`` (a resolved incident taken up again),
``suspended`` (挂账: parked, resumed later) and ``extended`` (work goes on under an SLA
extension that needs a reason). An illegal step raises Conflict naming the current state and
the allowed ones. Every step is an event: who, when, note, optional location.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update

from gis.access import EVERYWHERE, Scope
from gis.errors import Conflict, InvalidInput, NotFound
from gis.incidents.categories import load_categories
from gis.incidents.parse import clean_text
from gis.incidents.worktime import WorkCalendar
from gis.store.models import INCIDENT_EVENTS, INCIDENT_STATES, INCIDENTS

_WORKING = ("resolved", "returned", "suspended", "extended")

#: from state -> states it may move to
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "reported": ("assigned", "suspended", "closed"),
    "assigned": ("in_progress", "returned", "suspended", "extended"),
    "in_progress": _WORKING,
    "extended": _WORKING,
    "reopened": _WORKING,
    "returned": ("assigned", "suspended", "closed"),
    "suspended": ("assigned", "in_progress", "closed"),
    "resolved": ("closed", "reopened"),
    "closed": (),
}
OPEN_STATES: Final[tuple[str, ...]] = tuple(
    s for s in INCIDENT_STATES if s not in ("resolved", "closed")
)
MAX_EXTENSION_HOURS = 24 * 365


def allowed(state: str) -> tuple[str, ...]:
    """States reachable from ``state`` in one step."""
    return TRANSITIONS[state]


def locked(conn: Connection, incident_id: int, scope: Scope = EVERYWHERE) -> Any:
    """The incident's row, locked until the transaction ends (NotFound if absent or outside
    ``scope``: one query, one answer)."""
    row = conn.execute(
        select(INCIDENTS)
        .where(INCIDENTS.c.id == incident_id, scope.incidents(INCIDENTS))
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return row


def transition(
    conn: Connection,
    incident_id: int,
    *,
    to: str,
    actor: str,
    note: str = "",
    hours: float | None = None,
    lon: float | None = None,
    lat: float | None = None,
    at: datetime | None = None,
    calendar: WorkCalendar | None = None,
    key: tuple[str | None, str | None] = (None, None),
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Move the incident to ``to`` (row locked, so concurrent steps serialise) and record
    the event; returns ``{id, from, to, at, due_at}``. Not found outside ``scope``.

    ``extended`` needs ``note`` (the reason) and adds ``hours`` (default: the category's SLA)
    to the due time on the category's clock. ``assigned`` needs a located, owned incident.
    ``key`` (id, name) is the API key that made the step, stored beside the actor.
    """
    if to not in INCIDENT_STATES:
        raise InvalidInput(
            f"unknown state {to!r}; states: {', '.join(INCIDENT_STATES)}", field="to"
        )
    actor, note = clean_text(actor, "actor", limit=100), clean_text(note, "note")
    if not actor:
        raise InvalidInput("name who makes the change", field="actor")
    if (lon is None) != (lat is None):
        raise InvalidInput("give both lon and lat, or neither", field="lon")
    at = at or datetime.now(UTC)
    row = locked(conn, incident_id, scope)
    if to not in TRANSITIONS[row.status]:
        allowed_now = TRANSITIONS[row.status]
        raise Conflict(
            f"incident {incident_id} is {row.status}; it cannot become {to}. Allowed from "
            f"{row.status}: {', '.join(allowed_now) or 'nothing (final state)'}",
            field="to",
            current=row.status,
            allowed=list(allowed_now),
        )
    values: dict[str, Any] = {"status": to}
    details: dict[str, Any] = {}
    if to == "assigned":
        if row.owner_code is None:
            raise Conflict(
                f"incident {incident_id} has no owner ({row.review_reason or 'not located'}); "
                "fix its location first (POST /v1/incidents/{id}/location)",
                field="to",
                current=row.status,
                allowed=list(TRANSITIONS[row.status]),
            )
        if row.assigned_at is None:
            values["assigned_at"] = at
    elif to == "resolved":
        values["resolved_at"] = at
    elif to == "closed":
        values["closed_at"] = at
    elif to == "reopened":
        values["resolved_at"] = None
    elif to == "extended":
        if not note.strip():
            raise InvalidInput("an SLA extension needs a reason", field="note")
        category = load_categories(conn)[row.category]
        extra = category.sla_hours if hours is None else hours
        if not 0 < extra <= MAX_EXTENSION_HOURS:
            raise InvalidInput(f"must be in (0, {MAX_EXTENSION_HOURS}]", field="hours")
        new_due = (calendar or WorkCalendar()).due(row.due_at, extra, category.clock)
        values["due_at"] = new_due
        details = {
            "hours": extra,
            "due_before": row.due_at.isoformat(),
            "due_after": new_due.isoformat(),
        }
    if hours is not None and to != "extended":
        raise InvalidInput("only an extension takes hours", field="hours")
    conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(**values))
    add_event(
        conn,
        incident_id,
        kind="transition",
        from_status=row.status,
        to_status=to,
        actor=actor,
        note=note,
        at=at,
        lon=lon,
        lat=lat,
        details=details,
        key=key,
    )
    due = values.get("due_at", row.due_at)
    return {"id": incident_id, "from": row.status, "to": to, "at": at, "due_at": due}


def add_event(
    conn: Connection,
    incident_id: int,
    *,
    kind: str,
    actor: str,
    note: str = "",
    at: datetime | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    details: dict[str, Any] | None = None,
    key: tuple[str | None, str | None] = (None, None),
) -> None:
    """Append one event to the incident's timeline (``key``: id and name of the API key
    that made it, if any)."""
    conn.execute(
        insert(INCIDENT_EVENTS).values(
            incident_id=incident_id,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            note=note,
            at=at or datetime.now(UTC),
            geom=None if lon is None else f"SRID=4326;POINT({lon!r} {lat!r})",
            details=details or {},
            key_id=key[0],
            key_name=key[1],
        )
    )
