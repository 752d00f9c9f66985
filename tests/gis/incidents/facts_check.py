"""Checks that the statistics facts (migration 0013) equal what the incidents say, for the
tests of every write path."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, text

from gis.incidents.facts import (
    DUPLICATE,
    NEEDS_REVIEW,
    OPEN,
    PACKED,
    PACKED_DAY,
    SOURCE_BITS,
    STATUS_BITS,
)
from gis.incidents.lifecycle import OPEN_STATES
from gis.incidents.query import Filters
from gis.incidents.stats import GROUPS, direct_stats, fact_stats
from gis.store.models import INCIDENT_SOURCES, INCIDENT_STATES

# every incident has one fact and the fact's columns say what the incident says
_MISMATCHED = """
SELECT count(*) FROM incidents i
FULL JOIN incident_facts f ON f.incident_id = i.id
LEFT JOIN incident_fact_cells c ON c.id = f.cell_id
WHERE i.id IS NULL OR f.incident_id IS NULL
   OR c.category IS DISTINCT FROM i.category
   OR c.owner_code IS DISTINCT FROM i.owner_code
   OR c.area_codes IS DISTINCT FROM i.area_codes
   OR f.status <> i.status OR f.reported_at <> i.reported_at
   OR f.needs_review <> (i.location_status = 'needs_review')
   OR f.duplicate <> (i.duplicate_of IS NOT NULL)
   OR EXISTS (
       SELECT 1 FROM unnest(CAST(:instants AS timestamptz[])) AS t
       WHERE (f.late_at < t) <> (i.due_at < coalesce(i.resolved_at, i.closed_at, t)))
"""
_ROWS = """
SELECT f.packed, f.packed_day, f.cell_id, i.status, i.source,
       i.duplicate_of IS NOT NULL AS duplicate,
       i.location_status = 'needs_review' AS needs_review,
       (extract(epoch FROM i.reported_at) * 1000000)::int8 AS us,
       date_part('epoch', i.assigned_at - i.reported_at) AS assign_s,
       date_part('epoch', i.resolved_at - i.reported_at) AS resolve_s
FROM incidents i JOIN incident_facts f ON f.incident_id = i.id
"""


def _same(a: float, b: float | None) -> bool:
    return (b is None and math.isnan(a)) or a == b


def assert_facts_current(conn: Connection, now: datetime | None = None) -> int:
    """Every incident's fact is current (columns, packed bytes bit for bit, lateness at
    several instants) and the stats read from the facts equal the direct scan of the
    incidents, for every group_by; returns the number of incidents."""
    now = now or datetime.now(UTC)
    instants = [now, now - timedelta(days=400), now + timedelta(days=400), datetime.now(UTC)]
    mismatched = conn.execute(text(_MISMATCHED), {"instants": instants}).scalar_one()
    assert mismatched == 0
    rows = conn.execute(text(_ROWS)).all()
    for r in rows:
        [fact] = np.frombuffer(r.packed, dtype=PACKED)
        assert int(fact["cell"]) == r.cell_id
        flags = int(fact["flags"])
        assert bool(flags & OPEN) == (r.status in OPEN_STATES), r.status
        assert bool(flags & DUPLICATE) == r.duplicate
        assert bool(flags & NEEDS_REVIEW) == r.needs_review
        assert INCIDENT_STATES[(flags >> STATUS_BITS[0]) & STATUS_BITS[1]] == r.status
        assert INCIDENT_SOURCES[(flags >> SOURCE_BITS[0]) & SOURCE_BITS[1]] == r.source
        [day] = np.frombuffer(r.packed_day, dtype=PACKED_DAY)
        assert r.packed_day[: PACKED.itemsize] == r.packed and int(day["us"]) == r.us
        assert _same(float(fact["assign"]), r.assign_s)
        assert _same(float(fact["resolve"]), r.resolve_s)
    for group_by in GROUPS:
        for filters in (Filters(), Filters(status=("closed", "assigned"), overdue=False)):
            kw = {"group_by": group_by, "timezone": "Asia/Shanghai", "now": now}
            assert fact_stats(conn, filters, **kw) == direct_stats(conn, filters, **kw)
    return len(rows)
