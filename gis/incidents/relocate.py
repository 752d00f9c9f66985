"""Moving incidents: a corrected location (re-geocoded and re-assigned), open incidents
re-assigned after a boundary change, and duplicate links set or removed by officials.
Each change is an event that records both owners."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select, update

from gis.access import EVERYWHERE, Scope
from gis.assign.service import Assigner, locate
from gis.errors import Conflict, InvalidInput
from gis.incidents.intake import IntakeContext
from gis.incidents.lifecycle import OPEN_STATES, add_event, locked
from gis.incidents.locating import Placement, place_many
from gis.incidents.parse import clean_text, parse_incident
from gis.store.models import INCIDENTS


def relocate(
    conn: Connection,
    ctx: IntakeContext,
    incident_id: int,
    body: dict[str, Any],
    *,
    actor: str,
    note: str = "",
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Give the incident a new location (``lon``/``lat`` [+``crs``] or ``address``
    [+``district``]), re-assign it and record both owners. A reported incident that now has
    an owner becomes ``assigned``. The incident must be in the caller's ``scope`` (else not
    found), and so must its new place: one outside it — in an area outside the scope, or in
    no area at all — is refused. Returns ``{id, from, to, status}``."""
    actor, note = clean_text(actor, "actor", limit=100), clean_text(note, "note")
    if not actor:
        raise InvalidInput("name who makes the change", field="actor")
    row = locked(conn, incident_id, scope)
    if row.status == "closed":
        raise Conflict(f"incident {incident_id} is closed", field="id", current="closed")
    now = datetime.now(UTC)
    location = {k: body.get(k) for k in ("lon", "lat", "crs", "address", "district")}
    item = parse_incident(
        {"category": row.category, **location}, now=now, categories={row.category}
    )
    [place] = place_many(ctx.assigner, [item], ctx.resolver)
    if not scope.holds_chain(place.area_codes):  # it would leave the caller's own scope
        field = "address" if item.lon is None else "lon"
        raise InvalidInput(f"outside your scope ({scope.area})", field=field)
    before: dict[str, Any] = {"owner_code": row.owner_code, "generation": row.generation}
    if row.geom is not None:
        x, y = conn.execute(select(func.ST_X(row.geom), func.ST_Y(row.geom))).one()
        before.update(lon=x, lat=y)
    after: dict[str, Any] = {"owner_code": place.owner_code, "generation": place.generation}
    after.update(lon=place.lon, lat=place.lat)
    values = place.snapshot() | {
        "geom": None if place.lon is None else f"SRID=4326;POINT({place.lon!r} {place.lat!r})",
        "input_lon": item.lon,
        "input_lat": item.lat,
        "input_crs": item.crs if item.lon is not None else None,
        "address": item.address if item.address is not None else row.address,
        "district": item.district if item.district is not None else row.district,
        "geocode": place.geocode,
    }
    status = row.status
    if place.owner_code is not None and status == "reported":
        status = "assigned"
        values.update(status=status, assigned_at=row.assigned_at or now)
    conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(**values))
    add_event(
        conn,
        incident_id,
        kind="relocated",
        actor=actor,
        note=note or f"owner {row.owner_code} → {place.owner_code}",
        at=now,
        lon=place.lon,
        lat=place.lat,
        details={"from": before, "to": after},
    )
    if status != row.status:
        add_event(
            conn,
            incident_id,
            kind="transition",
            from_status=row.status,
            to_status=status,
            actor="system",
            note=f"assigned to {place.owner_code} after relocation",
            at=now,
        )
    return {"id": incident_id, "from": before, "to": after, "status": status}


@dataclass
class ReassignReport:
    """Open incidents re-assigned against a generation (or what would be, on a dry run)."""

    generation: int
    checked: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "checked": self.checked,
            "changed": len(self.changes),
            "changes": self.changes,
            "dry_run": self.dry_run,
        }


def reassign_open(
    conn: Connection,
    assigner: Assigner,
    *,
    generation: int,
    actor: str = "reassign",
    dry_run: bool = False,
) -> ReassignReport:
    """Recompute the owner of every open, located incident against ``generation``; update
    the snapshot of those whose owner changed (one event each, naming both owners)."""
    level_index = assigner.index(generation=assigner.resolve(generation=generation))
    rows = conn.execute(
        select(
            INCIDENTS.c.id,
            INCIDENTS.c.owner_code,
            INCIDENTS.c.generation,
            INCIDENTS.c.status,
            func.ST_X(INCIDENTS.c.geom).label("x"),
            func.ST_Y(INCIDENTS.c.geom).label("y"),
        )
        .where(INCIDENTS.c.status.in_(OPEN_STATES), INCIDENTS.c.geom.is_not(None))
        .order_by(INCIDENTS.c.id)
        .with_for_update()
    ).all()
    report = ReassignReport(generation, len(rows), dry_run=dry_run)
    if not rows:
        return report
    found = locate(
        level_index,
        lon=np.array([r.x for r in rows]),
        lat=np.array([r.y for r in rows]),
        errors=[None] * len(rows),
    )
    now = datetime.now(UTC)
    for k, r in enumerate(rows):
        owner = found.owner[k]
        code = level_index.refs[owner].code if owner >= 0 else None
        if code == r.owner_code:
            continue
        report.changes.append(
            {"id": r.id, "from": r.owner_code, "to": code, "from_generation": r.generation}
        )
        if dry_run:
            continue
        place = Placement(lon=r.x, lat=r.y, generation=generation)
        if owner >= 0:
            ref = level_index.refs[owner]
            place.owner_code, place.owner_name = ref.code, ref.name
            place.chain = level_index.chain_json[owner]
            place.area_codes = [c["code"] for c in place.chain]
            place.staff = assigner.staff(ref.code)
            place.location_status = "ok"
        else:
            place.review_reason = f"outside every {level_index.level} of generation {generation}"
        values = place.snapshot()
        if code is not None and r.status == "reported":
            values.update(status="assigned", assigned_at=now)
        conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == r.id).values(**values))
        add_event(
            conn,
            r.id,
            kind="reassigned",
            actor=actor,
            note=f"generation {generation}: owner {r.owner_code} → {code}",
            at=now,
            details={
                "from": {"owner_code": r.owner_code, "generation": r.generation},
                "to": {"owner_code": code, "generation": generation},
            },
        )
    return report


def link_duplicate(
    conn: Connection,
    incident_id: int,
    *,
    of: int | None,
    actor: str,
    note: str = "",
    close: bool = False,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Mark the incident a duplicate of ``of`` (merge: with ``close``, also close it), or
    unlink it (``of`` None). Returns ``{id, duplicate_of, status}``. Every incident the link
    touches must be in the caller's ``scope``: this one and ``of`` (else not found, exactly
    as an unknown id: the scope is in the query that looks them up), the root ``of`` points
    at and the incidents re-pointed from this one (else a conflict, naming none of them)."""
    actor, note = clean_text(actor, "actor", limit=100), clean_text(note, "note")
    if not actor:
        raise InvalidInput("name who makes the change", field="actor")
    row = locked(conn, incident_id, scope)
    if of is not None:
        if of == incident_id:
            raise InvalidInput("an incident cannot duplicate itself", field="of")
        target = conn.execute(
            select(INCIDENTS.c.id, INCIDENTS.c.duplicate_of).where(
                INCIDENTS.c.id == of, scope.incidents(INCIDENTS)
            )
        ).one_or_none()
        if target is None:
            raise InvalidInput(f"no incident {of}", field="of")
        touched = {target.duplicate_of or of} | set(
            conn.execute(
                select(INCIDENTS.c.id).where(INCIDENTS.c.duplicate_of == incident_id)
            ).scalars()
        )
        if scope.visible_incidents(conn, touched) != touched:
            raise Conflict(
                "the link would touch incidents outside your scope (the one this duplicates, "
                "or duplicates of this one); someone whose key covers them must link it",
                field="of",
            )
        of = target.duplicate_of or of  # link to the root, never build chains
        if of == incident_id:
            raise Conflict(f"incident {target.id} is a duplicate of {incident_id}", field="of")
    now = datetime.now(UTC)
    conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(duplicate_of=of))
    if of is not None:
        conn.execute(
            update(INCIDENTS).where(INCIDENTS.c.duplicate_of == incident_id).values(duplicate_of=of)
        )
    add_event(
        conn,
        incident_id,
        kind="duplicate_linked" if of is not None else "duplicate_unlinked",
        actor=actor,
        note=note or (f"duplicate of incident {of}" if of else f"unlinked from {row.duplicate_of}"),
        at=now,
        details={"duplicate_of": of, "was": row.duplicate_of},
    )
    status = row.status
    if close and of is not None and status != "closed":
        # a merge closes the duplicate from whatever step it is at: its work is the other's
        status = "closed"
        conn.execute(
            update(INCIDENTS)
            .where(INCIDENTS.c.id == incident_id)
            .values(status="closed", closed_at=now)
        )
        add_event(
            conn,
            incident_id,
            kind="transition",
            from_status=row.status,
            to_status="closed",
            actor=actor,
            note=f"merged into incident {of}",
            at=now,
            details={"duplicate_of": of},
        )
    return {"id": incident_id, "duplicate_of": of, "status": status}
