"""Duplicate detection: an incident is linked (``duplicate_of``) to the nearest open,
non-duplicate incident of the same category within the category's radius (metres) and
window (hours, either side of ``reported_at``); it is never dropped.

Candidates are read once per batch (one indexed query), then matched in memory through a
hash grid whose cells are one radius wide, so a 10,000-item batch costs milliseconds.
Distances use a local equirectangular projection: within 0.1 % of geodesic metres at the
radii categories use (tens of metres).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from gis.incidents.categories import Category
from gis.incidents.locating import Placement
from gis.incidents.parse import IncidentIn
from gis.store.models import INCIDENTS

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0
CLOSED = ("resolved", "closed")


@dataclass(frozen=True)
class _Entry:
    id: int
    x: float
    y: float
    at: datetime


def _candidates(
    conn: Connection,
    cats: dict[str, Category],
    pts: list[tuple[int, str, float, float, datetime]],
) -> list[tuple[int, str, float, float, datetime]]:
    """Open root incidents near the batch, in time and space (one query)."""
    if not pts:
        return []
    window = timedelta(hours=max(cats[c].duplicate_window_hours for _, c, *_ in pts))
    radius = max(cats[c].duplicate_radius_m for _, c, *_ in pts)
    lat_pad = radius / M_PER_DEG_LAT
    lats = [p[3] for p in pts]
    lon_pad = radius / (M_PER_DEG_LON_EQ * math.cos(math.radians(max(map(abs, lats)))))
    times = [p[4] for p in pts]
    rows = conn.execute(
        select(
            INCIDENTS.c.id,
            INCIDENTS.c.category,
            func.ST_X(INCIDENTS.c.geom),
            func.ST_Y(INCIDENTS.c.geom),
            INCIDENTS.c.reported_at,
        ).where(
            and_(
                INCIDENTS.c.status.not_in(CLOSED),
                INCIDENTS.c.duplicate_of.is_(None),
                INCIDENTS.c.category.in_(sorted({p[1] for p in pts})),
                INCIDENTS.c.reported_at.between(min(times) - window, max(times) + window),
                INCIDENTS.c.geom.op("&&")(
                    func.ST_MakeEnvelope(
                        min(p[2] for p in pts) - lon_pad,
                        min(lats) - lat_pad,
                        max(p[2] for p in pts) + lon_pad,
                        max(lats) + lat_pad,
                        4326,
                    )
                ),
            )
        )
    ).all()
    return [(int(r[0]), r[1], float(r[2]), float(r[3]), r[4]) for r in rows]


def find_duplicates(
    conn: Connection,
    items: Sequence[IncidentIn],
    places: Sequence[Placement],
    ids: Sequence[int],
    cats: dict[str, Category],
    *,
    skip: set[int] | None = None,
) -> list[int | None]:
    """For each item (input order) the id it duplicates, or None. ``ids`` are the ids the
    items will get, so later items of a batch can link to earlier ones; indexes in ``skip``
    are not considered (bad or already stored items)."""
    skip = skip or set()
    pts = [
        (i, items[i].category, places[i].lon, places[i].lat, items[i].reported_at)
        for i in range(len(items))
        if i not in skip
        and places[i].lon is not None
        and cats[items[i].category].duplicate_radius_m > 0
        and cats[items[i].category].duplicate_window_hours > 0
    ]
    out: list[int | None] = [None] * len(items)
    if not pts:
        return out
    typed = [
        (i, c, float(x), float(y), t) for i, c, x, y, t in pts if x is not None and y is not None
    ]
    cos0 = math.cos(math.radians(sum(p[3] for p in typed) / len(typed)))
    grids: dict[str, dict[tuple[int, int], list[_Entry]]] = {}

    def key(cat: str, x: float, y: float) -> tuple[int, int]:
        r = cats[cat].duplicate_radius_m
        return (math.floor(x / r), math.floor(y / r))

    def add(cat: str, entry: _Entry) -> None:
        grids.setdefault(cat, {}).setdefault(key(cat, entry.x, entry.y), []).append(entry)

    for cid, cat, lon, lat, at in _candidates(conn, cats, typed):
        add(cat, _Entry(cid, lon * cos0 * M_PER_DEG_LON_EQ, lat * M_PER_DEG_LAT, at))
    for i, cat, lon, lat, at in typed:
        category = cats[cat]
        x, y = lon * cos0 * M_PER_DEG_LON_EQ, lat * M_PER_DEG_LAT
        window = timedelta(hours=category.duplicate_window_hours)
        r2 = category.duplicate_radius_m**2
        kx, ky = key(cat, x, y)
        best: tuple[float, int] | None = None
        grid = grids.get(cat, {})
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for entry in grid.get((kx + dx, ky + dy), ()):
                    d2 = (entry.x - x) ** 2 + (entry.y - y) ** 2
                    if d2 <= r2 and abs(entry.at - at) <= window:
                        cand = (d2, entry.id)
                        if best is None or cand < best:
                            best = cand
        if best is not None:
            out[i] = best[1]
        else:
            add(cat, _Entry(ids[i], x, y, at))
    return out


#: The incident one new incident duplicates, as SQL (the rule of :func:`find_duplicates` for a
#: single item, with the same arithmetic: equirectangular metres at the item's latitude, both
#: window ends inclusive, nearest first, then the smallest id); its parameters come from
#: :func:`nearest_params`. No row when the category does not link duplicates.
NEAREST_SQL = f"""
SELECT id FROM (
    SELECT id, (ST_X(geom) * %(dup_kx)s * {M_PER_DEG_LON_EQ!r}::float8 - %(dup_x)s) ^ 2
        + (ST_Y(geom) * {M_PER_DEG_LAT!r}::float8 - %(dup_y)s) ^ 2 AS d2
    FROM incidents
    WHERE %(dup_check)s AND category = %(category)s AND duplicate_of IS NULL
      AND status NOT IN ({", ".join(f"'{s}'" for s in CLOSED)})
      AND reported_at BETWEEN %(dup_from)s AND %(dup_to)s
      AND geom && ST_MakeEnvelope(%(dup_west)s, %(dup_south)s, %(dup_east)s, %(dup_north)s, 4326)
) near WHERE d2 <= %(dup_r2)s ORDER BY d2, id LIMIT 1
"""


def nearest_params(item: IncidentIn, place: Placement, category: Category) -> dict[str, Any]:
    """The parameters of :data:`NEAREST_SQL` for one item located at ``place`` (WGS-84)."""
    lon, lat = place.lon, place.lat
    radius, hours = category.duplicate_radius_m, category.duplicate_window_hours
    if lon is None or lat is None or radius <= 0 or hours <= 0:
        lon = lat = radius = hours = 0.0
        check = False
    else:
        check = True
    cos0 = math.cos(math.radians(lat))
    window = timedelta(hours=hours)
    lat_pad = radius / M_PER_DEG_LAT
    lon_pad = radius / (M_PER_DEG_LON_EQ * math.cos(math.radians(abs(lat))))
    return {
        "dup_check": check,
        "dup_from": item.reported_at - window,
        "dup_to": item.reported_at + window,
        "dup_west": lon - lon_pad,
        "dup_south": lat - lat_pad,
        "dup_east": lon + lon_pad,
        "dup_north": lat + lat_pad,
        "dup_kx": cos0,
        "dup_x": lon * cos0 * M_PER_DEG_LON_EQ,
        "dup_y": lat * M_PER_DEG_LAT,
        "dup_r2": radius**2,
    }
