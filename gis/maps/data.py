"""What the map pages draw, read from PostGIS as GeoJSON features in the basemap's datum."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.sql.expression import FromClause

from gis.access import EVERYWHERE, Scope
from gis.access.scope import Kind
from gis.maps.basemaps import Basemap, features_from_wkb
from gis.maps.sql import CLOSED_STATUSES, area_columns, building_columns
from gis.store.models import AREAS, BUILDINGS, FACILITIES, INCIDENTS

#: The table each alias of the page queries stands for.
_ALIASES: dict[str, tuple[Kind, FromClause]] = {
    "a": ("areas", AREAS.alias("a")),
    "i": ("incidents", INCIDENTS.alias("i")),
    "b": ("inside", BUILDINGS.alias("b")),
    "f": ("inside", FACILITIES.alias("f")),
}


@dataclass(frozen=True)
class View:
    """Where a page looks: the whole generation, or inside one area's polygon; and what the
    caller may see there (``access``, the caller's :class:`gis.access.Scope`)."""

    generation: int
    within: str | None = None  # an area code
    reach_m: float = 0.0  # also what lies this close to it (metres, on the ellipsoid)
    access: Scope = EVERYWHERE

    def where(self, alias: str) -> str:
        """A condition on ``alias`` (bound parameters ``:within``, ``:generation`` and the
        scope's, see :meth:`params`); ``alias`` is ``a`` (areas), ``i`` (incidents), ``b`` or
        ``f``."""
        return f"{self._near(alias)} AND {self._access(alias)[0]}"

    def _access(self, alias: str) -> tuple[str, dict[str, Any]]:
        kind, table = _ALIASES[alias]
        return self.access.text(kind, table, generation=self.generation)

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
        out: dict[str, Any] = {
            "generation": self.generation,
            "within": self.within,
            "reach_m": self.reach_m,
        }
        for alias in _ALIASES:
            out.update(self._access(alias)[1])
        return out


def count_areas(conn: Connection, scope: View, level: str) -> int:
    """How many areas of ``level`` the scope holds."""
    sql = (
        "SELECT count(*) FROM areas a WHERE a.valid @> CAST(:generation AS int) "
        f"AND a.level = :level AND {scope.where('a')}"
    )
    return int(conn.execute(text(sql), {**scope.params(), "level": level}).scalar_one())


def areas(
    conn: Connection,
    scope: View,
    basemap: Basemap,
    *,
    level: str | None = None,
    code: str | None = None,
) -> list[dict[str, Any]]:
    """Areas of one level (or one area by code) with name, leader, households, open incidents."""
    level_sql = "AND a.level = :level" if level else ""
    code_sql = "AND a.code = :code" if code else ""
    sql = (
        f"SELECT {area_columns()}, ST_AsBinary(a.geom) AS wkb FROM areas a "
        f"WHERE a.valid @> CAST(:generation AS int) {level_sql} {code_sql} "
        f"AND {scope.where('a')} ORDER BY a.code"
    )
    rows = conn.execute(text(sql), {**scope.params(), "level": level, "code": code}).all()
    return features_from_wkb(rows, basemap)


def count_buildings(conn: Connection, scope: View) -> int:
    sql = f"SELECT count(*) FROM buildings b WHERE {scope.where('b')}"
    return int(conn.execute(text(sql), scope.params()).scalar_one())


def buildings(conn: Connection, scope: View, basemap: Basemap) -> list[dict[str, Any]]:
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
    conn: Connection, scope: View, basemap: Basemap, *, radius_m: dict[str, float]
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


def count_open_incidents(conn: Connection, scope: View) -> int:
    """How many located, open incidents the scope holds."""
    sql = (
        "SELECT count(*) FROM incidents i WHERE i.geom IS NOT NULL "
        f"AND i.status NOT IN (:closed1, :closed2) AND {scope.where('i')}"
    )
    params = {**scope.params(), "closed1": CLOSED_STATUSES[0], "closed2": CLOSED_STATUSES[1]}
    return int(conn.execute(text(sql), params).scalar_one())


def incidents(
    conn: Connection,
    scope: View,
    basemap: Basemap,
    *,
    open_only: bool = True,
    incident_id: Any = None,
) -> list[dict[str, Any]]:
    """Incidents (open ones by default) with category, status, description and times."""
    status = "AND i.status NOT IN (:closed1, :closed2)" if open_only else ""
    one = "AND i.id::text = :incident_id" if incident_id is not None else ""
    sql = (
        "SELECT i.id::text AS id, i.category, i.status, i.description, "
        "i.reported_at::text AS reported_at, i.due_at::text AS due_at, i.owner_code, "
        f"ST_AsBinary(i.geom) AS wkb FROM incidents i WHERE i.geom IS NOT NULL "
        f"AND {scope.where('i')} {status} {one} "
        "ORDER BY i.reported_at DESC"
    )
    params = {
        **scope.params(),
        "closed1": CLOSED_STATUSES[0],
        "closed2": CLOSED_STATUSES[1],
        "incident_id": None if incident_id is None else str(incident_id),
    }
    return features_from_wkb(conn.execute(text(sql), params).all(), basemap)
