"""What the map pages draw, read from PostGIS as GeoJSON features in the basemap's datum."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, Connection, Text, cast, func, select, text, true
from sqlalchemy.sql.expression import FromClause

from gis.access import EVERYWHERE, Scope
from gis.labels import STATE_NAMES, local_time, name_of
from gis.maps.basemaps import Basemap, features_from_wkb
from gis.maps.sql import CLOSED_STATUSES, area_columns, building_columns
from gis.store.clauses import in_generation
from gis.store.models import AREAS, BUILDINGS, FACILITIES, INCIDENTS


@dataclass(frozen=True)
class View:
    """Where a page looks: the whole generation, or inside one area's polygon; and what the
    caller may see there (``access``, the caller's :class:`gis.access.Scope`)."""

    generation: int
    within: str | None = None  # an area code
    reach_m: float = 0.0  # also what lies this close to it (metres, on the ellipsoid)
    access: Scope = EVERYWHERE

    def areas(self, a: FromClause) -> ColumnElement[bool]:
        """Areas (rows of ``a``, an alias of ``areas``) this view shows."""
        return self._near(a) & self.access.areas(a)

    def incidents(self, i: FromClause) -> ColumnElement[bool]:
        """Incidents (rows of ``i``, an alias of ``incidents``) this view shows."""
        return self._near(i) & self.access.incidents(i)

    def inside(self, t: FromClause) -> ColumnElement[bool]:
        """Buildings or facilities (rows of ``t``) this view shows."""
        return self._near(t) & self.access.inside(t.c.geom, generation=self.generation)

    def _near(self, t: FromClause) -> ColumnElement[bool]:
        if self.within is None:
            return true()
        w = AREAS.alias("w")
        area = (
            select(w.c.geom)
            .where(w.c.code == self.within, in_generation(w, self.generation))
            .scalar_subquery()
        )
        geom: Any = t.c.geom
        if self.reach_m > 0:
            return func.ST_DWithin(cast(geom, _GEOGRAPHY), cast(area, _GEOGRAPHY), self.reach_m)
        return func.ST_Intersects(geom, area)


_GEOGRAPHY = Geography()


def _open(i: FromClause) -> ColumnElement[bool]:
    return i.c.status.not_in(CLOSED_STATUSES)


def count_areas(conn: Connection, scope: View, level: str) -> int:
    """How many areas of ``level`` the scope holds."""
    a = AREAS.alias("a")
    stmt = select(func.count()).select_from(a)
    stmt = stmt.where(in_generation(a, scope.generation), a.c.level == level, scope.areas(a))
    return int(conn.execute(stmt).scalar_one())


def areas(
    conn: Connection,
    scope: View,
    basemap: Basemap,
    *,
    level: str | None = None,
    code: str | None = None,
) -> list[dict[str, Any]]:
    """Areas of one level (or one area by code) with name, leader, households, open incidents."""
    a = AREAS.alias("a")
    stmt = select(*area_columns(a), func.ST_AsBinary(a.c.geom).label("wkb")).where(
        in_generation(a, scope.generation), scope.areas(a)
    )
    if level:
        stmt = stmt.where(a.c.level == level)
    if code:
        stmt = stmt.where(a.c.code == code)
    rows = conn.execute(stmt.order_by(a.c.code)).all()
    return features_from_wkb(rows, basemap)


def count_buildings(conn: Connection, scope: View) -> int:
    b = BUILDINGS.alias("b")
    stmt = select(func.count()).select_from(b).where(scope.inside(b))
    return int(conn.execute(stmt).scalar_one())


def buildings(conn: Connection, scope: View, basemap: Basemap) -> list[dict[str, Any]]:
    """Buildings with address, households and their team leader (null when none)."""
    b = BUILDINGS.alias("b")
    stmt = select(*building_columns(b), func.ST_AsBinary(b.c.geom).label("wkb"))
    stmt = stmt.where(scope.inside(b)).order_by(b.c.code)
    features = features_from_wkb(conn.execute(stmt).all(), basemap)
    for f in features:
        f["properties"]["has_leader"] = "yes" if f["properties"]["leader"] else "no"
    return features


def facilities(
    conn: Connection, scope: View, basemap: Basemap, *, radius_m: dict[str, float]
) -> list[dict[str, Any]]:
    """Facilities as points with ``service_radius_m`` by kind (from ``radius_m``)."""
    f_ = FACILITIES.alias("f")
    stmt = select(f_.c.code, f_.c.kind, f_.c.name, func.ST_AsBinary(f_.c.geom).label("wkb"))
    stmt = stmt.where(scope.inside(f_)).order_by(f_.c.code)
    features = features_from_wkb(conn.execute(stmt).all(), basemap)
    for f in features:
        f["properties"]["service_radius_m"] = radius_m.get(f["properties"]["kind"], 500.0)
    return features


def staff(conn: Connection, code: str) -> list[dict[str, Any]]:
    """Staff of an area and of the buildings inside it, leaders first."""
    rows = conn.execute(
        text(
            "SELECT s.name, s.role, s.phone, coalesce(s.area_code, s.building_code) AS at "
            "FROM staff s WHERE s.area_code = :code OR s.building_code IN ("
            "  SELECT b.code FROM buildings b, areas a WHERE a.code = :code "
            "  AND ST_Covers(a.geom, ST_PointOnSurface(b.geom))) "
            "ORDER BY (s.role <> 'micro_grid_leader'), (s.area_code IS NULL), s.role, s.code"
        ),
        {"code": code},
    ).all()
    return [dict(r._mapping) for r in rows]


def count_open_incidents(conn: Connection, scope: View) -> int:
    """How many located, open incidents the scope holds."""
    i = INCIDENTS.alias("i")
    stmt = select(func.count()).select_from(i)
    stmt = stmt.where(i.c.geom.is_not(None), _open(i), scope.incidents(i))
    return int(conn.execute(stmt).scalar_one())


def incidents(
    conn: Connection,
    scope: View,
    basemap: Basemap,
    *,
    open_only: bool = True,
    incident_id: Any = None,
    timezone: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Incidents (open ones by default) for people: category and state by their Chinese
    names, times in ``timezone`` to the minute, overdue, the owner's name, the ``marker``
    they are drawn by (``overdue`` or the state) and links to their incident and grid
    pages."""
    i = INCIDENTS.alias("i")
    late = i.c.due_at < func.coalesce(i.c.resolved_at, i.c.closed_at, func.now())
    stmt = select(
        cast(i.c.id, Text).label("id"),
        i.c.category,
        i.c.status,
        i.c.description,
        i.c.reported_at,
        i.c.due_at,
        i.c.owner_code,
        func.coalesce(i.c.owner_name, i.c.owner_code).label("owner_name"),
        late.label("overdue"),
        func.ST_AsBinary(i.c.geom).label("wkb"),
    ).where(i.c.geom.is_not(None), scope.incidents(i))
    if open_only:
        stmt = stmt.where(_open(i))
    if incident_id is not None:
        stmt = stmt.where(cast(i.c.id, Text) == str(incident_id))
    rows = conn.execute(stmt.order_by(i.c.reported_at.desc())).all()
    features = features_from_wkb(rows, basemap)
    names: dict[str, str] = dict(
        conn.execute(text("SELECT code, name FROM incident_categories")).all()
    )
    for f in features:
        p = f["properties"]
        p["category_name"] = names.get(p["category"], p["category"])
        p["status_name"] = name_of(STATE_NAMES, p["status"])
        p["reported_local"] = local_time(p.pop("reported_at"), timezone)
        p["due_local"] = local_time(p.pop("due_at"), timezone)
        p["overdue_text"] = "已超期" if p["overdue"] else ""
        p["marker"] = "overdue" if p["overdue"] else p["status"]
        p["incident_url"] = f"/maps/incident/{p['id']}"
        p["grid_url"] = f"/maps/grid/{p['owner_code']}" if p["owner_code"] else None
    return features
