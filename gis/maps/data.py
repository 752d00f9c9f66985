"""What the map pages draw, read from PostGIS as GeoJSON features in the basemap's datum."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from gis.labels import STATE_NAMES, local_time, name_of
from gis.maps.basemaps import Basemap, features_from_wkb
from gis.maps.sql import (
    CLOSED_STATUSES,
    area_columns,
    building_columns,
    inside_boundary_sql,
    subtree_sql,
)
from gis.store.schema import table_exists


@dataclass(frozen=True)
class Scope:
    """Where a page looks: the whole generation, or inside one area's polygon."""

    generation: int
    within: str | None = None  # an area code
    reach_m: float = 0.0  # also what lies this close to it (metres, on the ellipsoid)
    #: an API key's scope (an area code), by the hierarchy: areas at or below it, incidents
    #: owned there; buildings and facilities (no owner) inside its boundary
    key_scope: str | None = None

    def where(self, alias: str) -> str:
        """A condition on ``alias`` (bound parameters ``:within``, ``:generation``,
        ``:key_scope``); ``alias`` is ``a`` (areas), ``i`` (incidents), ``b`` or ``f``."""
        if self.key_scope is None:
            return self._near(alias)
        return f"{self._near(alias)} AND {self._key_condition(alias)}"

    def _key_condition(self, alias: str) -> str:
        if alias == "a":
            return f"a.code IN ({subtree_sql('key_scope')})"
        if alias == "i":
            return "i.area_codes @> ARRAY[CAST(:key_scope AS text)]"
        return inside_boundary_sql(alias, "key_scope")

    def _near(self, alias: str) -> str:
        if self.within is None:
            return "TRUE"
        area = (
            "(SELECT w.geom FROM areas w WHERE w.code = :within "
            "AND w.valid @> CAST(:generation AS int))"
        )
        if self.reach_m > 0:
            return f"ST_DWithin({alias}.geom::geography, {area}::geography, :reach_m)"
        return f"ST_Intersects({alias}.geom, {area})"

    def params(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "within": self.within,
            "reach_m": self.reach_m,
            "key_scope": self.key_scope,
        }


def has_incidents(conn: Connection) -> bool:
    """Whether incidents exist as a table yet (another feature adds it)."""
    return table_exists(conn, "incidents")


def count_areas(conn: Connection, scope: Scope, level: str) -> int:
    """How many areas of ``level`` the scope holds."""
    sql = (
        "SELECT count(*) FROM areas a WHERE a.valid @> CAST(:generation AS int) "
        f"AND a.level = :level AND {scope.where('a')}"
    )
    return int(conn.execute(text(sql), {**scope.params(), "level": level}).scalar_one())


def areas(
    conn: Connection,
    scope: Scope,
    basemap: Basemap,
    *,
    level: str | None = None,
    code: str | None = None,
) -> list[dict[str, Any]]:
    """Areas of one level (or one area by code) with name, leader, households, open incidents."""
    level_sql = "AND a.level = :level" if level else ""
    code_sql = "AND a.code = :code" if code else ""
    sql = (
        f"SELECT {area_columns(has_incidents(conn))}, ST_AsBinary(a.geom) AS wkb FROM areas a "
        f"WHERE a.valid @> CAST(:generation AS int) {level_sql} {code_sql} "
        f"AND {scope.where('a')} ORDER BY a.code"
    )
    rows = conn.execute(text(sql), {**scope.params(), "level": level, "code": code}).all()
    return features_from_wkb(rows, basemap)


def count_buildings(conn: Connection, scope: Scope) -> int:
    sql = f"SELECT count(*) FROM buildings b WHERE {scope.where('b')}"
    return int(conn.execute(text(sql), scope.params()).scalar_one())


def buildings(conn: Connection, scope: Scope, basemap: Basemap) -> list[dict[str, Any]]:
    """Buildings with address, households and their team leader (null when none)."""
    sql = (
        f"SELECT {building_columns()}, ST_AsBinary(b.geom) AS wkb FROM buildings b "
        f"WHERE {scope.where('b')} ORDER BY b.code"
    )
    features = features_from_wkb(conn.execute(text(sql), scope.params()).all(), basemap)
    for f in features:
        f["properties"]["has_leader"] = "yes" if f["properties"]["leader"] else "no"
    return features


def facilities(
    conn: Connection, scope: Scope, basemap: Basemap, *, radius_m: dict[str, float]
) -> list[dict[str, Any]]:
    """Facilities as points with ``service_radius_m`` by kind (from ``radius_m``)."""
    sql = (
        "SELECT f.code, f.kind, f.name, ST_AsBinary(f.geom) AS wkb FROM facilities f "
        f"WHERE {scope.where('f')} ORDER BY f.code"
    )
    features = features_from_wkb(conn.execute(text(sql), scope.params()).all(), basemap)
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


def count_open_incidents(conn: Connection, scope: Scope) -> int:
    """How many located, open incidents the scope holds (0 without an incidents table)."""
    if not has_incidents(conn):
        return 0
    sql = (
        "SELECT count(*) FROM incidents i WHERE i.geom IS NOT NULL "
        f"AND i.status NOT IN (:closed1, :closed2) AND {scope.where('i')}"
    )
    params = {**scope.params(), "closed1": CLOSED_STATUSES[0], "closed2": CLOSED_STATUSES[1]}
    return int(conn.execute(text(sql), params).scalar_one())


def incidents(
    conn: Connection,
    scope: Scope,
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
    if not has_incidents(conn):
        return []
    status = "AND i.status NOT IN (:closed1, :closed2)" if open_only else ""
    one = "AND i.id::text = :incident_id" if incident_id is not None else ""
    sql = (
        "SELECT i.id::text AS id, i.category, coalesce(k.name, i.category) AS category_name, "
        "i.status, i.description, i.reported_at, i.due_at, i.owner_code, "
        "coalesce(i.owner_name, i.owner_code) AS owner_name, "
        "i.due_at < coalesce(i.resolved_at, i.closed_at, now()) AS overdue, "
        "ST_AsBinary(i.geom) AS wkb FROM incidents i "
        "LEFT JOIN incident_categories k ON k.code = i.category WHERE i.geom IS NOT NULL "
        f"AND {scope.where('i')} {status} {one} "
        "ORDER BY i.reported_at DESC"
    )
    params = {
        **scope.params(),
        "closed1": CLOSED_STATUSES[0],
        "closed2": CLOSED_STATUSES[1],
        "incident_id": None if incident_id is None else str(incident_id),
    }
    features = features_from_wkb(conn.execute(text(sql), params).all(), basemap)
    for f in features:
        p = f["properties"]
        p["status_name"] = name_of(STATE_NAMES, p["status"])
        p["reported_local"] = local_time(p.pop("reported_at"), timezone)
        p["due_local"] = local_time(p.pop("due_at"), timezone)
        p["overdue_text"] = "已超期" if p["overdue"] else ""
        p["marker"] = "overdue" if p["overdue"] else p["status"]
        p["incident_url"] = f"/maps/incident/{p['id']}"
        p["grid_url"] = f"/maps/grid/{p['owner_code']}" if p["owner_code"] else None
    return features
