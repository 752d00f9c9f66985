"""Reading patrols: lists of summaries and one patrol with its track, scoped by
:mod:`gis.patrols.access` (another person's track read is audited in the same transaction)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from gis.access import Principal, Scope
from gis.errors import InvalidInput, NotFound
from gis.patrols.access import is_own, may_read, own, visible
from gis.patrols.store import read_fixes, summary_of, visits_of
from gis.patrols.tables import PATROLS
from gis.security.audit import Entry


def list_patrols(
    conn: Connection,
    member: Principal,
    scope: Scope,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    mine: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Summaries (no track) of the patrols ``member`` may read, newest first, with the total."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("must be 1..1000", field="limit")
    conditions: list[ColumnElement[bool]] = [own(member) if mine else visible(member, scope)]
    if start is not None:
        conditions.append(PATROLS.c.started_at >= start)
    if end is not None:
        conditions.append(PATROLS.c.started_at < end)
    total = conn.execute(select(func.count()).select_from(PATROLS).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(PATROLS)
        .where(*conditions)
        .order_by(PATROLS.c.started_at.desc().nulls_last(), PATROLS.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [summary_of(r) for r in rows], int(total)


def get_patrol(
    conn: Connection,
    member: Principal,
    scope: Scope,
    patrol_id: int,
    *,
    with_fixes: bool = False,
    audit: Entry | None = None,
) -> dict[str, Any]:
    """One patrol with its cleaned track (GeoJSON, WGS-84), its visits and, when asked, its
    raw fixes. NotFound for a patrol the caller may not read (as for an unknown id); reading
    another person's patrol writes ``audit``."""
    row = conn.execute(
        select(PATROLS, func.ST_AsGeoJSON(PATROLS.c.track, 7).label("gj")).where(
            PATROLS.c.id == patrol_id
        )
    ).one_or_none()
    if row is None or not may_read(conn, member, scope, row):
        raise NotFound(f"no patrol {patrol_id}", field="id")
    if audit is not None and not is_own(member, row):
        audit.write(conn, f"patrol:{patrol_id}", member=row.member, fixes=with_fixes)
    out = summary_of(row)
    out["track"] = json.loads(row.gj) if row.gj else None
    out["visits"] = visits_of(conn, patrol_id)
    if with_fixes:
        f = read_fixes(conn, patrol_id)
        out["fixes"] = [
            {"t": t, "lon": x, "lat": y}
            for t, x, y in zip(f.t.tolist(), f.lon.tolist(), f.lat.tolist(), strict=True)
        ]
    return out
