"""Mapbox vector tiles (``ST_AsMVT``) of areas by level, buildings, facilities and incidents.

Tiles are in Web Mercator tile coordinates (z/x/y, XYZ scheme, 4096 extent, 64 buffer). The
ETag of a tile names the layer, the filters, the boundary generation and the data versions of
the tables it reads, so it changes exactly when the tile can: clients revalidate cheaply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
)

from gis.access import EVERYWHERE, Scope
from gis.errors import InvalidInput
from gis.labels import STATE_NAMES
from gis.levels import check_level
from gis.maps.sql import CLOSED_STATUSES, area_columns, building_columns
from gis.store.clauses import in_generation
from gis.store.models import AREAS, BUILDINGS, FACILITIES, INCIDENT_CATEGORIES, INCIDENTS
from gis.store.schema import data_version

LAYERS = ("areas", "buildings", "facilities", "incidents")
MAX_ZOOM = 22
EXTENT, BUFFER = 4096, 64

# Which tables each layer reads (for the ETag's data versions).
_TABLES = {
    "areas": ("generations", "areas", "staff", "incidents"),
    "buildings": ("buildings", "staff"),
    "facilities": ("facilities",),
    "incidents": ("incidents", "incident_categories"),  # category_name
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
    #: the zone of the incidents' local times (``WANGGE_INCIDENT_TIMEZONE``)
    timezone: str = "Asia/Shanghai"
    #: what the caller may see (their key's scope; its repr is part of the ETag)
    scope: Scope = EVERYWHERE

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


def _mvt(conn: Connection, layer: str, rows: Any) -> bytes:
    """``rows`` (one column ``geom`` in tile coordinates) encoded as an MVT layer."""
    sub = rows.subquery("rows")
    stmt = select(func.ST_AsMVT(sub.table_valued(), layer, literal_column(str(EXTENT)), "geom"))
    data = conn.execute(stmt.select_from(sub)).scalar_one()
    return bytes(data or b"")


def _envelope(req: TileRequest) -> Any:
    """The tile's envelope (Web Mercator ``m``, WGS-84 ``g``) as a one-row subquery."""
    m = func.ST_TileEnvelope(req.z, req.x, req.y)
    return select(m.label("m"), func.ST_Transform(m, 4326).label("g")).cte("env")


def _geom(column: Any, env: Any) -> Any:
    return func.ST_AsMVTGeom(
        func.ST_Transform(column, 3857),
        env.c.m,
        literal_column(str(EXTENT)),
        literal_column(str(BUFFER)),
        true(),
    ).label("geom")


def _local(at: Any, timezone: str) -> ColumnElement[Any]:
    return func.to_char(func.timezone(timezone, at), "YYYY-MM-DD HH24:MI")


def render_tile(conn: Connection, req: TileRequest) -> bytes:
    """The MVT bytes of ``req`` (possibly empty: a tile with no features)."""
    req.check()
    env = _envelope(req)
    rows: Any
    if req.layer == "areas":
        a = AREAS.alias("a")
        rows = select(*area_columns(a), _geom(a.c.geom, env)).where(
            in_generation(a, req.generation),
            a.c.geom.bool_op("&&")(env.c.g),
            req.scope.areas(a),
        )
        if req.level:
            rows = rows.where(a.c.level == req.level)
    elif req.layer == "buildings":
        b = BUILDINGS.alias("b")
        rows = select(*building_columns(b), _geom(b.c.geom, env)).where(
            b.c.geom.bool_op("&&")(env.c.g),
            req.scope.inside(b.c.geom, generation=req.generation),
        )
    elif req.layer == "facilities":
        f = FACILITIES.alias("f")
        rows = select(f.c.code, f.c.kind, f.c.name, _geom(f.c.geom, env)).where(
            f.c.geom.bool_op("&&")(env.c.g),
            req.scope.inside(f.c.geom, generation=req.generation),
        )
    else:
        i = INCIDENTS.alias("i")
        rows = select(
            i.c.id,
            i.c.category,
            i.c.status,
            cast(i.c.reported_at, Text).label("reported_at"),
            cast(i.c.due_at, Text).label("due_at"),
            # for people: names in Chinese, local times to the minute (as on the pages)
            select(INCIDENT_CATEGORIES.c.name)
            .where(INCIDENT_CATEGORIES.c.code == i.c.category)
            .scalar_subquery()
            .label("category_name"),
            case(STATE_NAMES, value=i.c.status, else_=i.c.status).label("status_name"),
            _local(i.c.reported_at, req.timezone).label("reported_local"),
            _local(i.c.due_at, req.timezone).label("due_local"),
            _geom(i.c.geom, env),
        ).where(i.c.geom.bool_op("&&")(env.c.g), req.scope.incidents(i))
        if req.status == "open":
            rows = rows.where(i.c.status.not_in(CLOSED_STATUSES))
        if req.category:
            rows = rows.where(i.c.category == req.category)
    return _mvt(conn, req.layer, rows)
