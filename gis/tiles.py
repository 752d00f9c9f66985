"""Mapbox vector tiles (``ST_AsMVT``) of areas by level, buildings, facilities and incidents.

Tiles are in Web Mercator tile coordinates (z/x/y, XYZ scheme, 4096 extent, 64 buffer). The
ETag of a tile names the layer, the filters, the boundary generation and the data versions of
the tables it reads, so it changes exactly when the tile can: clients revalidate cheaply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from gis.errors import InvalidInput, NotFound
from gis.labels import STATE_NAMES
from gis.levels import check_level
from gis.maps.sql import (
    CLOSED_STATUSES,
    SUBTREE_SQL,
    area_columns,
    building_columns,
    inside_boundary_sql,
)
from gis.store.schema import data_version, table_exists

LAYERS = ("areas", "buildings", "facilities", "incidents")
MAX_ZOOM = 22
EXTENT, BUFFER = 4096, 64

# Which tables each layer reads (for the ETag's data versions).
_TABLES = {
    "areas": ("generations", "areas", "staff", "incidents"),
    "buildings": ("buildings", "staff"),
    "facilities": ("facilities",),
    "incidents": ("incidents",),
}


@dataclass(frozen=True)
class TileRequest:
    """One tile of one layer with its filters."""

    layer: str
    z: int
    x: int
    y: int
    generation: int
    level: str | None = None
    status: str = "open"
    category: str | None = None
    #: an API key's scope: areas and incidents at or below this area only
    within: str | None = None
    #: the local time of the incidents' times for people (WANGGE_INCIDENT_TIMEZONE)
    timezone: str = "Asia/Shanghai"

    def check(self) -> None:
        """Raise InvalidInput naming the bad field (layer, z, x, y, level, status)."""
        if self.layer not in LAYERS:
            raise InvalidInput(f"unknown layer; expected one of {', '.join(LAYERS)}", field="layer")
        if not 0 <= self.z <= MAX_ZOOM:
            raise InvalidInput(f"z must be between 0 and {MAX_ZOOM}", field="z")
        for name, value in (("x", self.x), ("y", self.y)):
            if not 0 <= value < 2**self.z:
                raise InvalidInput(
                    f"{name} must be between 0 and {2**self.z - 1} at z{self.z}", field=name
                )
        if self.level is not None:
            check_level(self.level)
        if self.status not in ("open", "all"):
            raise InvalidInput("status must be 'open' or 'all'", field="status")


def tile_etag(conn: Connection, req: TileRequest) -> str:
    """The tile's entity tag (quoted), cheap: one small query on ``data_versions``."""
    req.check()
    versions = data_version(conn, *_TABLES[req.layer])
    key = f"{req!r}|{versions}"
    return '"' + hashlib.sha1(key.encode()).hexdigest()[:20] + '"'


_ENVELOPE = "ST_TileEnvelope(:z, :x, :y)"


def _mvt(conn: Connection, layer: str, select: str, params: dict[str, Any]) -> bytes:
    sql = (
        f"WITH env AS (SELECT {_ENVELOPE} AS m, ST_Transform({_ENVELOPE}, 4326) AS g), "
        f"rows AS ({select}) SELECT ST_AsMVT(rows, :layer, {EXTENT}, 'geom') FROM rows"
    )
    data = conn.execute(text(sql), {**params, "layer": layer}).scalar_one()
    return bytes(data or b"")


def _geom(column: str) -> str:
    return f"ST_AsMVTGeom(ST_Transform({column}, 3857), env.m, {EXTENT}, {BUFFER}, true) AS geom"


def _inside_scope(alias: str, req: TileRequest) -> str:
    """Buildings and facilities have no owner: a scoped key sees those inside its boundary."""
    return "" if req.within is None else f"AND {inside_boundary_sql(alias, 'within')}"


def render_tile(conn: Connection, req: TileRequest) -> bytes:
    """The MVT bytes of ``req`` (possibly empty: a tile with no features)."""
    req.check()
    params: dict[str, Any] = {"z": req.z, "x": req.x, "y": req.y, "generation": req.generation}
    params["within"] = req.within
    if req.layer == "areas":
        level = "AND a.level = :level" if req.level else ""
        if req.within is not None:
            level += f" AND a.code IN ({SUBTREE_SQL})"
        params["level"] = req.level
        with_incidents = table_exists(conn, "incidents")
        select = (
            f"SELECT {area_columns(with_incidents)}, {_geom('a.geom')} FROM areas a, env "
            f"WHERE a.valid @> CAST(:generation AS int) AND a.geom && env.g {level}"
        )
    elif req.layer == "buildings":
        select = (
            f"SELECT {building_columns()}, {_geom('b.geom')} FROM buildings b, env "
            f"WHERE b.geom && env.g {_inside_scope('b', req)}"
        )
    elif req.layer == "facilities":
        select = (
            f"SELECT f.code, f.kind, f.name, {_geom('f.geom')} FROM facilities f, env "
            f"WHERE f.geom && env.g {_inside_scope('f', req)}"
        )
    else:
        if not table_exists(conn, "incidents"):
            raise NotFound("no incidents yet: the incidents table does not exist", field="layer")
        status = "AND i.status NOT IN (:closed1, :closed2)" if req.status == "open" else ""
        category = "AND i.category = :category" if req.category else ""
        if req.within is not None:
            category += " AND i.area_codes @> ARRAY[CAST(:within AS text)]"
        params.update(closed1=CLOSED_STATUSES[0], closed2=CLOSED_STATUSES[1], category=req.category)
        # the names and local times people read (gis.labels), as the embedded layer has them
        states = ", ".join(f"(:s{i}, :n{i})" for i in range(len(STATE_NAMES)))
        for i, (code, name) in enumerate(STATE_NAMES.items()):
            params[f"s{i}"], params[f"n{i}"] = code, name
        params["tz"] = req.timezone
        local = "to_char(timezone(:tz, {}), 'YYYY-MM-DD HH24:MI')"
        late = "i.due_at < coalesce(i.resolved_at, i.closed_at, now())"
        select = (
            "SELECT i.id, i.category, i.status, i.reported_at::text AS reported_at, "
            "i.due_at::text AS due_at, coalesce(k.name, i.category) AS category_name, "
            "coalesce(sn.name, i.status) AS status_name, "
            f"{local.format('i.reported_at')} AS reported_local, "
            f"{local.format('i.due_at')} AS due_local, "
            f"CASE WHEN {late} THEN '已超期' ELSE '' END AS overdue_text, "
            f"CASE WHEN {late} THEN 'overdue' ELSE i.status END AS marker, "
            "coalesce(i.owner_name, i.owner_code) AS owner_name, "
            "'/maps/incident/' || i.id AS incident_url, "
            "'/maps/grid/' || i.owner_code AS grid_url, "
            f"{_geom('i.geom')} FROM incidents i "
            "LEFT JOIN incident_categories k ON k.code = i.category "
            f"LEFT JOIN (VALUES {states}) AS sn(code, name) ON sn.code = i.status, env "
            f"WHERE i.geom && env.g {status} {category}"
        )
    return _mvt(conn, req.layer, select, params)
