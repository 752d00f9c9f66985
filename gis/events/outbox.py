"""The outbox: one row per change, ids in commit order (migration 0019_events).

Incident changes reach the outbox through the trigger on ``incident_events`` (every path that
writes a timeline entry writes its event too); :func:`emit` writes the others (a boundary
generation activated, a coverage report run) and :func:`sweep_overdue` the moments an open
incident passes its due time. Every writer takes the sequencer lock (``wangge_events_lock``)
before it takes an id and holds it to commit, so ids become visible in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import Connection, insert, text

from gis.store.models import INCIDENT_EVENTS

#: every event type, in the order the docs list them
TYPES: Final[tuple[str, ...]] = (
    "incident.created",
    "incident.assigned",
    "incident.transition",
    "incident.relocated",
    "incident.duplicate_linked",
    "incident.overdue",
    "incident.photo_added",
    "generation.activated",
    "coverage.report",
)
#: the channel the outbox trigger notifies after each write (delivery wakes on it)
CHANNEL: Final = "wangge_events"


def emit(
    conn: Connection,
    type_: str,
    data: dict[str, Any],
    *,
    area_codes: list[str] | tuple[str, ...] = (),
    category: str | None = None,
    incident_id: int | None = None,
) -> int:
    """Write one event in the caller's transaction; its id. ``area_codes`` decides who sees
    it (a scoped key sees events whose codes include its scope; none: unscoped keys only).
    Call it last in a transaction: the sequencer lock it takes is held until commit."""
    conn.execute(text("SELECT wangge_events_lock()"))
    event_id = conn.execute(
        text(
            "INSERT INTO events (type, incident_id, category, area_codes, data) "
            "VALUES (:type, :incident, :category, :codes, CAST(:data AS jsonb)) RETURNING id"
        ),
        {
            "type": type_,
            "incident": incident_id,
            "category": category,
            "codes": list(area_codes),
            "data": orjson.dumps(data, default=_default).decode(),
        },
    ).scalar_one()
    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return int(event_id)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def photo_added(
    conn: Connection, incident_id: int, *, url: str, actor: str, note: str = ""
) -> None:
    """Record that a photo was added to the incident: a ``photo_added`` timeline entry, which
    the outbox trigger turns into an ``incident.photo_added`` event in the same transaction."""
    conn.execute(
        insert(INCIDENT_EVENTS).values(
            incident_id=incident_id,
            kind="photo_added",
            actor=actor,
            note=note,
            details={"url": url},
        )
    )


def generation_activated(conn: Connection, number: int) -> int:
    """The event of boundary generation ``number`` becoming current (unscoped keys see it)."""
    row = conn.execute(
        text("SELECT id, description, activated_at FROM generations WHERE id = :n"), {"n": number}
    ).one()
    data = {"id": row.id, "description": row.description, "activated_at": row.activated_at}
    return emit(conn, "generation.activated", data)


def coverage_report(conn: Connection, report: Any) -> int:
    """The event of a coverage report run (``report``: a CoverageReport): keys scoped to the
    report's area or above it see it (a whole-generation report: unscoped keys only)."""
    chain: list[str] = []
    if report.area is not None:
        chain = conn.execute(_CHAIN, {"code": report.area, "g": report.generation}).scalar_one()
    summary = report.summary
    data = {
        "id": report.area,
        "area": report.area,
        "generation": report.generation,
        "summary": {k: summary.get(k) for k in ("error", "warning", "info", "areas", "by_check")},
    }
    return emit(conn, "coverage.report", data, area_codes=chain or [])


_CHAIN = text(
    """
    WITH RECURSIVE up AS (
        SELECT code, parent_code, 1 AS depth FROM areas
        WHERE code = :code AND valid @> CAST(:g AS integer)
        UNION ALL
        SELECT a.code, a.parent_code, up.depth + 1 FROM areas a JOIN up
            ON a.code = up.parent_code AND a.valid @> CAST(:g AS integer)
        WHERE up.depth < 20
    )
    SELECT coalesce(array_agg(code ORDER BY depth DESC), '{}') FROM up
    """
)


SWEEP = text(
    """
    INSERT INTO events (type, incident_id, category, area_codes, data)
    SELECT 'incident.overdue', i.id, i.category, i.area_codes,
           wangge_incident_summary(i) || jsonb_build_object('change', jsonb_build_object(
               'kind', 'overdue', 'at', i.due_at))
    FROM incidents i
    WHERE i.status IN ('reported', 'assigned', 'in_progress', 'returned', 'reopened',
                       'suspended', 'extended')
      AND i.due_at > :since AND i.due_at <= :until
    ORDER BY i.due_at, i.id
    """
)


def sweep_overdue(conn: Connection) -> int:
    """Write an ``incident.overdue`` event for every open incident whose due time passed
    since the last sweep (in the caller's transaction, which the caller commits); how many.
    A sweep already running elsewhere makes this one a no-op (0)."""
    since = conn.execute(
        text("SELECT upto FROM event_sweeps WHERE name = 'overdue' FOR UPDATE SKIP LOCKED")
    ).scalar_one_or_none()
    if since is None:
        return 0
    until = conn.execute(text("SELECT now()")).scalar_one()
    conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
    conn.execute(text("SELECT wangge_events_lock()"))
    written = conn.execute(SWEEP, {"since": since, "until": until}).rowcount
    conn.execute(
        text("UPDATE event_sweeps SET upto = :until WHERE name = 'overdue'"), {"until": until}
    )
    if written:
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return int(written)
