"""Taking incidents in: validate, locate, assign, snapshot who is responsible, link
duplicates, compute the SLA due time, and store everything with its first events.

One function serves a single request, a 10,000-item batch and a replay: per-item errors in
input order, one vectorised assignment, one duplicate query, one multi-row insert. The same
``external_id`` twice (a retry, or two racing requests) yields the existing incident: the
unique constraint decides, so no retry can create a second incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, column, func, select, table, text, update
from sqlalchemy.dialects.postgresql import insert

from gis.access import EVERYWHERE, Scope
from gis.assign.service import Assigner
from gis.errors import InvalidInput, PayloadTooLarge
from gis.incidents.categories import CategoryCache, load_categories
from gis.incidents.duplicates import find_duplicates
from gis.incidents.locating import Placement, Resolver, no_geocoder, place_many
from gis.incidents.parse import IncidentIn, parse_incident
from gis.incidents.worktime import WorkCalendar
from gis.store.models import INCIDENT_EVENTS, INCIDENTS

ASSIGN_AT = ("intake", "reported")
SMALL = 50  # up to this many rows, plain INSERTs beat the COPY set-up


@dataclass
class Taken:
    """What happened to one submitted item."""

    index: int
    id: int | None = None
    created: bool = False
    error: dict[str, str] | None = None
    status: str | None = None
    location_status: str | None = None
    owner_code: str | None = None
    duplicate_of: int | None = None
    due_at: datetime | None = None
    external_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"index": self.index, "error": self.error}
        out: dict[str, Any] = {
            "index": self.index,
            "id": self.id,
            "created": self.created,
            "external_id": self.external_id,
        }
        if self.created:
            out.update(
                status=self.status,
                location_status=self.location_status,
                owner_code=self.owner_code,
                duplicate_of=self.duplicate_of,
                due_at=self.due_at.isoformat() if self.due_at else None,
            )
        return out


@dataclass
class IntakeContext:
    """What intake needs besides the connection: the per-process assigner and geocoder,
    the working calendar; all long-lived and shared by requests."""

    assigner: Assigner
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    resolver: Resolver = no_geocoder
    max_batch: int = 10_000
    #: categories for the one-statement path of single requests (:mod:`gis.incidents.single`)
    categories: CategoryCache = field(default_factory=CategoryCache)


def _ewkt(lon: float | None, lat: float | None) -> str | None:
    return None if lon is None or lat is None else f"SRID=4326;POINT({lon!r} {lat!r})"


def intake(
    conn: Connection,
    ctx: IntakeContext,
    bodies: Sequence[Any],
    *,
    actor: str = "intake",
    now: datetime | None = None,
    assign_at: str = "intake",
    scope: Scope = EVERYWHERE,
    submitted_by: str | None = None,
) -> list[Taken]:
    """Store every valid body (in the caller's transaction); one :class:`Taken` per body in
    input order. ``assign_at="reported"`` stamps assignment at the report time (replays of
    historical streams); the default is the time of intake. An incident located outside the
    caller's ``scope`` (in an area outside it, or outside every area) is refused (its item
    gets ``error``); one that cannot be located yet is stored for review as usual. Each stored
    incident remembers ``submitted_by`` (the submitting key's id); an answer names a
    ``duplicate_of`` only when that incident is in ``scope``."""
    if len(bodies) > ctx.max_batch:
        raise PayloadTooLarge(
            f"{len(bodies)} incidents; at most {ctx.max_batch} per batch "
            "(WANGGE_INCIDENT_BATCH_MAX)",
            field="incidents",
            limit=ctx.max_batch,
        )
    if assign_at not in ASSIGN_AT:
        raise InvalidInput(f"must be one of {', '.join(ASSIGN_AT)}", field="assign_at")
    now = now or datetime.now(UTC)
    cats = load_categories(conn)
    taken = [Taken(i) for i in range(len(bodies))]
    items: list[IncidentIn | None] = [None] * len(bodies)
    for i, body in enumerate(bodies):
        try:
            items[i] = parse_incident(body, now=now, categories=set(cats))
        except InvalidInput as exc:
            taken[i].error = {"field": exc.field or "item", "reason": exc.reason}
    # the same external_id: earlier in this batch, or already stored
    first_of: dict[str, int] = {}
    repeat_of: dict[int, int] = {}
    for i, item in enumerate(items):
        if item is not None and item.external_id is not None:
            if item.external_id in first_of:
                repeat_of[i] = first_of[item.external_id]
            else:
                first_of[item.external_id] = i
    stored = _existing(conn, list(first_of))
    for ext, i in first_of.items():
        if ext in stored:
            repeat_of[i] = -1
    new = [i for i, item in enumerate(items) if item is not None and i not in repeat_of]
    new_items: list[IncidentIn] = [items[i] for i in new]  # type: ignore[misc]
    places = place_many(ctx.assigner, new_items, ctx.resolver)
    if scope.area is not None:
        outside = {
            k
            for k, p in enumerate(places)
            if (p.owner_code is not None or p.lon is not None)
            and not scope.holds_chain(p.area_codes)
        }
        for k in outside:
            field = "address" if new_items[k].lon is None else "lon"
            reason = f"outside your scope ({scope.area})"
            taken[new[k]].error = {"field": field, "reason": reason}
        keep = [k for k in range(len(new)) if k not in outside]
        new, new_items, places = (
            [new[k] for k in keep],
            [new_items[k] for k in keep],
            [places[k] for k in keep],
        )
    ids = _allocate_ids(conn, len(new))
    dups = find_duplicates(conn, new_items, places, ids, cats)
    rows, events = [], []
    for k, i in enumerate(new):
        item, place, cat = new_items[k], places[k], cats[new_items[k].category]
        owned = place.owner_code is not None
        assigned_at = (now if assign_at == "intake" else item.reported_at) if owned else None
        due = ctx.calendar.due(item.reported_at, cat.sla_hours, cat.clock)
        row = incident_row(ids[k], item, place, due, dups[k], assigned_at, now)
        rows.append(row | {"submitted_by": submitted_by})
        events.extend(first_events(ids[k], item, place, dups[k], assigned_at, actor))
        t = taken[i]
        t.id, t.created, t.status = ids[k], True, "assigned" if owned else "reported"
        t.location_status, t.owner_code = place.location_status, place.owner_code
        t.duplicate_of, t.due_at, t.external_id = dups[k], due, item.external_id
    inserted = _insert(conn, rows)
    lost = [r for r in rows if r["id"] not in inserted]
    if lost:  # a concurrent request stored the same external_id first: answer with it
        winners = _existing(conn, [r["external_id"] for r in lost])
        remap = {r["id"]: winners[r["external_id"]] for r in lost}
        for t in taken:
            if t.id in remap:
                t.id, t.created = remap[t.id], False
            if t.duplicate_of in remap:
                t.duplicate_of = remap[t.duplicate_of]
        conn.execute(
            update(INCIDENTS)
            .where(INCIDENTS.c.duplicate_of == bindparam("old"))
            .values(duplicate_of=bindparam("new")),
            [{"old": o, "new": n} for o, n in remap.items()],
        )
        events = [e for e in events if e["incident_id"] not in remap]
    if len(events) > SMALL:
        _copy(conn, "incident_events", _EVENT_COLUMNS, events)
    elif events:
        conn.execute(insert(INCIDENT_EVENTS), events)
    for i, j in sorted(repeat_of.items()):
        item = items[i]
        assert item is not None and item.external_id is not None
        t = taken[i]
        t.external_id = item.external_id
        t.id = stored[item.external_id] if j < 0 else taken[j].id
    shown = scope.visible_incidents(conn, [t.duplicate_of for t in taken])
    for t in taken:
        if t.duplicate_of not in shown:
            t.duplicate_of = None
    return taken


def _existing(conn: Connection, external_ids: list[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    # one array parameter: an IN list of 10,000 binds costs more to build than to run
    rows = conn.execute(
        text("SELECT external_id, id FROM incidents WHERE external_id = ANY(:ids)"),
        {"ids": external_ids},
    )
    return {r.external_id: int(r.id) for r in rows}


def _allocate_ids(conn: Connection, n: int) -> list[int]:
    """Ids for n new incidents, taken from the table's sequence before inserting (so a batch
    can link duplicates to its own earlier items)."""
    if n == 0:
        return []
    seq = func.pg_get_serial_sequence("incidents", "id")
    return [
        int(v)
        for v in conn.execute(
            select(func.nextval(seq)).select_from(func.generate_series(1, n))
        ).scalars()
    ]


def incident_row(
    ident: int,
    item: IncidentIn,
    place: Placement,
    due: datetime,
    duplicate_of: int | None,
    assigned_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """The ``incidents`` row of one new incident (JSON columns as Python values, geometry as
    EWKT)."""
    return {
        "id": ident,
        "external_id": item.external_id,
        "category": item.category,
        "description": item.description,
        "source": item.source,
        "geom": _ewkt(place.lon, place.lat),
        "input_lon": item.lon,
        "input_lat": item.lat,
        "input_crs": item.crs if item.lon is not None else None,
        "accuracy_m": item.accuracy_m,
        "address": item.address,
        "district": item.district,
        "geocode": place.geocode,
        "reported_at": item.reported_at,
        "reporter_name": item.reporter_name,
        "reporter_phone": item.reporter_phone,
        "attachments": item.attachments,
        "status": "assigned" if assigned_at is not None else "reported",
        "due_at": due,
        "duplicate_of": duplicate_of,
        **place.snapshot(),
        "created_at": now,
        "assigned_at": assigned_at,
        "submitted_by": None,
    }


def first_events(
    ident: int,
    item: IncidentIn,
    place: Placement,
    duplicate_of: int | None,
    assigned_at: datetime | None,
    actor: str,
) -> list[dict[str, Any]]:
    """The first events of a new incident: reported, linked as a duplicate, assigned."""
    geom = _ewkt(place.lon, place.lat)
    note = "" if place.review_reason is None else f"needs review: {place.review_reason}"
    events = [_event(ident, "reported", None, "reported", actor, note, item.reported_at, geom, {})]
    if duplicate_of is not None:
        events.append(
            _event(
                ident,
                "duplicate_linked",
                None,
                None,
                "system",
                f"duplicate of incident {duplicate_of}",
                item.reported_at,
                None,
                {"duplicate_of": duplicate_of},
            )
        )
    if assigned_at is not None:
        events.append(
            _event(
                ident,
                "transition",
                "reported",
                "assigned",
                "system",
                f"assigned to {place.owner_code} {place.owner_name or ''}".strip(),
                assigned_at,
                None,
                {"owner_code": place.owner_code, "generation": place.generation},
            )
        )
    return events


def _event(
    incident_id: int,
    kind: str,
    from_status: str | None,
    to_status: str | None,
    actor: str,
    note: str,
    at: datetime,
    geom: str | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "kind": kind,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "note": note,
        "at": at,
        "geom": geom,
        "details": details,
    }


#: columns of ``incidents`` written by intake, in COPY order
COLUMNS = (
    "id",
    "external_id",
    "category",
    "description",
    "source",
    "geom",
    "input_lon",
    "input_lat",
    "input_crs",
    "accuracy_m",
    "address",
    "district",
    "geocode",
    "location_status",
    "review_reason",
    "reported_at",
    "reporter_name",
    "reporter_phone",
    "attachments",
    "status",
    "due_at",
    "duplicate_of",
    "owner_code",
    "owner_name",
    "area_codes",
    "chain",
    "generation",
    "staff",
    "created_at",
    "assigned_at",
    "submitted_by",
)
JSON_COLUMNS = {"geocode", "attachments", "chain", "staff", "details"}
_EVENT_COLUMNS = (
    "incident_id",
    "kind",
    "from_status",
    "to_status",
    "actor",
    "note",
    "at",
    "geom",
    "details",
)


def _copy(
    conn: Connection, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """COPY rows into ``table`` on the connection's own transaction (JSON columns as text,
    geometry as EWKT): an order of magnitude faster than multi-row INSERTs for big batches."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    orjson.dumps(row[c]).decode()
                    if c in JSON_COLUMNS and row[c] is not None
                    else row[c]
                    for c in columns
                ]
            )


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> set[int]:
    """Insert rows (ids given) through a session-local staging table; the ids actually
    inserted (an external_id already stored by a concurrent request is skipped by the
    unique constraint, which is what makes retries safe)."""
    if not rows:
        return set()
    if len(rows) <= SMALL:
        stmt = (
            insert(INCIDENTS)
            .on_conflict_do_nothing(index_elements=["external_id"])
            .returning(INCIDENTS.c.id)
        )
        return {int(v) for v in conn.execute(stmt, rows).scalars()}
    conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS incidents_incoming "
            "(LIKE incidents) ON COMMIT DELETE ROWS"
        )
    )
    conn.execute(text("DELETE FROM incidents_incoming"))  # an earlier batch of this transaction
    _copy(conn, "incidents_incoming", COLUMNS, rows)
    incoming = table("incidents_incoming", *(column(name) for name in COLUMNS))
    stmt = (
        insert(INCIDENTS)
        .from_select(list(COLUMNS), select(*(incoming.c[name] for name in COLUMNS)))
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(INCIDENTS.c.id)
    )
    inserted = conn.execute(stmt).scalars()
    return {int(v) for v in inserted}
