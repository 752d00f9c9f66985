"""Recording patrols: start, append batches (idempotent by batch id), end, upload whole.

A patrol belongs to the caller (the API key's holder). Starting, ending and uploading are
audited in the same transaction as the change. Bad input is refused whole: nothing stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, func, insert, select, text, update

from gis.access import Principal, Scope
from gis.coverage.thresholds import Thresholds
from gis.errors import Conflict, InvalidInput, NotFound
from gis.patrols.fixes import Fixes, check_count, from_epoch
from gis.patrols.tables import PATROL_VISITS, PATROLS
from gis.patrols.track import Worked, work_out
from gis.security.audit import Entry

SOURCES = ("phone", "gpx", "json")

_OWN_MICRO_GRID = text(
    """
    SELECT code FROM areas
    WHERE code = :code AND level = :level
      AND valid @> (SELECT id FROM generations WHERE state = 'current')
    """
)
_INSERT_FIXES = text(
    """
    INSERT INTO patrol_fixes (patrol_id, t, lon, lat, accuracy_m, ele_m)
    SELECT :id, to_timestamp(f.t), f.lon, f.lat, nullif(f.acc, 'NaN'), nullif(f.ele, 'NaN')
    FROM unnest(CAST(:t AS float8[]), CAST(:lon AS float8[]), CAST(:lat AS float8[]),
                CAST(:acc AS float8[]), CAST(:ele AS float8[])) AS f(t, lon, lat, acc, ele)
    ON CONFLICT (patrol_id, t) DO NOTHING
    """
)
_READ_FIXES = text(
    """
    SELECT coalesce(array_agg(extract(epoch FROM t)::float8 ORDER BY t), '{}') AS ts,
        coalesce(array_agg(lon ORDER BY t), '{}') AS lon,
        coalesce(array_agg(lat ORDER BY t), '{}') AS lat,
        coalesce(array_agg(coalesce(accuracy_m, 'NaN') ORDER BY t), '{}') AS acc,
        coalesce(array_agg(coalesce(ele_m, 'NaN') ORDER BY t), '{}') AS ele
    FROM patrol_fixes WHERE patrol_id = :id
    """
)


def _own_micro_grid(conn: Connection, scope: Scope, level: str) -> str | None:
    """The member's micro-grid: her key's scope when that is an area of ``level``."""
    if scope.area is None:
        return None
    found: str | None = conn.execute(_OWN_MICRO_GRID, {"code": scope.area, "level": level}).scalar()
    return found


def start_patrol(
    conn: Connection,
    member: Principal,
    *,
    thresholds: Thresholds,
    scope: Scope,
    source: str = "phone",
    audit: Entry | None = None,
) -> dict[str, Any]:
    """A new open patrol of ``member``; answers its row."""
    if source not in SOURCES:
        raise InvalidInput(f"must be one of {', '.join(SOURCES)}", field="source")
    row = conn.execute(
        insert(PATROLS)
        .values(
            key_id=member.key_id,
            member=member.name,
            area_code=_own_micro_grid(conn, scope, thresholds.building_level),
            source=source,
            status="open",
            started_at=datetime.now(UTC),
        )
        .returning(PATROLS.c.id)
    ).scalar_one()
    if audit is not None:
        audit.write(conn, f"patrol:{row}", source=source)
    return summary(conn, int(row))


def _owned_row(conn: Connection, member: Principal, patrol_id: int) -> Any:
    """The patrol row, locked, if ``member`` recorded it; else NotFound (the same answer an
    unknown id gets)."""
    row = conn.execute(
        select(PATROLS).where(PATROLS.c.id == patrol_id).with_for_update()
    ).one_or_none()
    if row is None or row.key_id != member.key_id or row.member != member.name:
        raise NotFound(f"no patrol {patrol_id} of yours", field="id")
    return row


def append_fixes(
    conn: Connection,
    member: Principal,
    patrol_id: int,
    fixes: Fixes,
    *,
    batch_id: str,
    max_fixes: int,
) -> dict[str, Any]:
    """Store a batch of fixes on an open patrol of ``member``. A batch id already stored is
    answered as before and stores nothing (an offline resend); a fix for an instant already
    held is ignored. Conflict for an ended patrol, PayloadTooLarge beyond ``max_fixes``."""
    if not batch_id or len(batch_id) > 100:
        raise InvalidInput("a batch id of 1 to 100 characters is needed", field="batch_id")
    row = _owned_row(conn, member, patrol_id)
    if row.status != "open":
        raise Conflict(f"patrol {patrol_id} has ended; start a new one", field="id")
    fresh = conn.execute(
        text(
            "INSERT INTO patrol_batches (patrol_id, batch_id, fixes) VALUES (:id, :b, :n) "
            "ON CONFLICT DO NOTHING RETURNING batch_id"
        ),
        {"id": patrol_id, "b": batch_id, "n": len(fixes)},
    ).scalar()
    if fresh is None:
        return {**summary(conn, patrol_id), "batch_id": batch_id, "duplicate_batch": True}
    check_count(row.fixes_received + len(fixes), max_fixes, "points")
    _store_fixes(conn, patrol_id, fixes)
    conn.execute(
        update(PATROLS)
        .where(PATROLS.c.id == patrol_id)
        .values(fixes_received=PATROLS.c.fixes_received + len(fixes))
    )
    return {**summary(conn, patrol_id), "batch_id": batch_id, "duplicate_batch": False}


def _store_fixes(conn: Connection, patrol_id: int, fixes: Fixes) -> None:
    if not len(fixes):
        return
    conn.execute(
        _INSERT_FIXES,
        {
            "id": patrol_id,
            "t": fixes.t.tolist(),
            "lon": fixes.lon.tolist(),
            "lat": fixes.lat.tolist(),
            "acc": fixes.accuracy_m.tolist(),
            "ele": fixes.ele_m.tolist(),
        },
    )


def read_fixes(conn: Connection, patrol_id: int) -> Fixes:
    """The stored raw fixes of a patrol in time order (none after a purge)."""
    r = conn.execute(_READ_FIXES, {"id": patrol_id}).one()
    arr = np.asarray
    return Fixes(
        arr(r.ts, dtype=float),
        arr(r.lon, dtype=float),
        arr(r.lat, dtype=float),
        arr(r.acc, dtype=float),
        arr(r.ele, dtype=float),
    )


def _finish(conn: Connection, patrol_id: int, worked: Worked, *, received: int) -> None:
    f = worked.cleaned.fixes
    track = worked.track
    conn.execute(
        update(PATROLS)
        .where(PATROLS.c.id == patrol_id)
        .values(
            status="ended",
            started_at=from_epoch(float(f.t[0])) if len(f) else PATROLS.c.started_at,
            ended_at=from_epoch(float(f.t[-1])) if len(f) else datetime.now(UTC),
            fixes_received=received,
            fixes_kept=len(f),
            dropped={**worked.cleaned.dropped, **worked.cleaned.broken},
            distance_m=round(worked.distance_m, 1),
            duration_s=round(worked.duration_s, 1),
            geofence=worked.geofence,
            area_code=worked.area_code,
            track=None if track is None else func.ST_GeomFromWKB(shapely.to_wkb(track), 4326),
        )
    )
    conn.execute(PATROL_VISITS.delete().where(PATROL_VISITS.c.patrol_id == patrol_id))
    if worked.visits:
        conn.execute(insert(PATROL_VISITS), [{"patrol_id": patrol_id, **v} for v in worked.visits])


def end_patrol(
    conn: Connection,
    member: Principal,
    patrol_id: int,
    *,
    thresholds: Thresholds,
    audit: Entry | None = None,
) -> dict[str, Any]:
    """End an open patrol of ``member``: clean its fixes, measure, fence and find the
    buildings visited. Ending an ended patrol answers it again (idempotent)."""
    row = _owned_row(conn, member, patrol_id)
    if row.status == "open":
        worked = work_out(
            conn, read_fixes(conn, patrol_id), thresholds=thresholds, area_code=row.area_code
        )
        _finish(conn, patrol_id, worked, received=row.fixes_received)
        if audit is not None:
            audit.write(
                conn, f"patrol:{patrol_id}", fixes=len(worked.cleaned.fixes),
                visited=len(worked.visits),
            )  # fmt: skip
    return summary(conn, patrol_id, with_visits=True)


def upload_patrol(
    conn: Connection,
    member: Principal,
    fixes: Fixes,
    *,
    source: str,
    thresholds: Thresholds,
    scope: Scope,
    max_fixes: int,
    audit: Entry | None = None,
) -> dict[str, Any]:
    """A whole recorded patrol (GPX or JSON points) stored and ended in one transaction."""
    check_count(len(fixes), max_fixes, "points")
    if not len(fixes):
        raise InvalidInput("a patrol needs at least one fix", field="points")
    patrol_id = int(
        start_patrol(conn, member, thresholds=thresholds, scope=scope, source=source)["id"]
    )
    _store_fixes(conn, patrol_id, fixes)
    row = _owned_row(conn, member, patrol_id)
    worked = work_out(
        conn, read_fixes(conn, patrol_id), thresholds=thresholds, area_code=row.area_code
    )
    _finish(conn, patrol_id, worked, received=len(fixes))
    if audit is not None:
        audit.write(
            conn, f"patrol:{patrol_id}", source=source, fixes=len(fixes),
            visited=len(worked.visits),
        )  # fmt: skip
    return summary(conn, patrol_id, with_visits=True)


def summary(conn: Connection, patrol_id: int, *, with_visits: bool = False) -> dict[str, Any]:
    """A patrol's figures (no location data but the visited buildings when asked)."""
    row = conn.execute(select(PATROLS).where(PATROLS.c.id == patrol_id)).one_or_none()
    if row is None:
        raise NotFound(f"no patrol {patrol_id}", field="id")
    out = summary_of(row)
    if with_visits:
        out["visits"] = visits_of(conn, patrol_id)
    return out


def summary_of(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "member": row.member,
        "key_id": row.key_id,
        "area_code": row.area_code,
        "source": row.source,
        "status": row.status,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "fixes_received": int(row.fixes_received),
        "fixes_kept": int(row.fixes_kept),
        "dropped": dict(row.dropped),
        "distance_m": float(row.distance_m),
        "duration_s": float(row.duration_s),
        "geofence": list(row.geofence),
        "purged": row.purged_at is not None,
    }


def visits_of(conn: Connection, patrol_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            PATROL_VISITS.c.building_code, PATROL_VISITS.c.visited_at, PATROL_VISITS.c.distance_m
        )
        .where(PATROL_VISITS.c.patrol_id == patrol_id)
        .order_by(PATROL_VISITS.c.building_code)
    )
    return [dict(r._mapping) for r in rows]
