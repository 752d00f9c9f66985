"""Reading areas back: paged listing with filters, one area with its chain and staff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, text

from gis.access import EVERYWHERE, Scope
from gis.errors import InvalidInput, NotFound
from gis.features.source import feature_columns, page_features, to_feature
from gis.features.tables import AREA_SOURCE
from gis.levels import check_level
from gis.limits import MAX_PAGE_SIZE, check_bbox_area, check_page_size
from gis.store.models import AREAS, STAFF

MAX_PAGE = MAX_PAGE_SIZE


@dataclass(frozen=True)
class BBox:
    """A lon/lat box (WGS-84 degrees)."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, text: str, *, field: str = "bbox", max_km2: float | None = None) -> BBox:
        """Parse ``west,south,east,north``; raise InvalidInput naming ``field`` if malformed
        or (given ``max_km2``) covering more than ``max_km2`` km²."""
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise InvalidInput("expected four numbers west,south,east,north", field=field) from None
        if len(values) != 4:
            raise InvalidInput("expected four numbers west,south,east,north", field=field)
        west, south, east, north = values
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise InvalidInput(
                "need -180 ≤ west ≤ east ≤ 180 and -90 ≤ south ≤ north ≤ 90", field=field
            )
        if max_km2 is not None:
            check_bbox_area(
                west=west, south=south, east=east, north=north, max_km2=max_km2, field=field
            )
        return cls(west, south, east, north)


@dataclass(frozen=True)
class AreaPage:
    """One page of areas as GeoJSON features, with the total number matched."""

    features: list[dict[str, Any]]
    number_matched: int
    generation: int


def area_conditions(
    *,
    generations: tuple[int, int],
    level: str | None = None,
    parent: str | None = None,
    envelope: Any = None,
    equals: dict[str, Any] | None = None,
    scope: Scope = EVERYWHERE,
) -> list[ColumnElement[bool]]:
    """WHERE conditions for areas valid in any of ``generations`` (first, last; inclusive),
    of ``level``, children of ``parent``, intersecting ``envelope`` (an EPSG:4326 geometry
    expression), whose columns equal ``equals``, and that lie in the caller's ``scope``."""
    first, last = generations
    if level is not None:
        check_level(level)
    conditions: list[ColumnElement[bool]] = [
        AREAS.c.valid.contains(first)
        if first == last
        else AREAS.c.valid.overlaps(func.int4range(first, last + 1))
    ]
    if level is not None:
        conditions.append(AREAS.c.level == level)
    if parent is not None:
        conditions.append(AREAS.c.parent_code == parent)
    if envelope is not None:
        conditions.append(func.ST_Intersects(AREAS.c.geom, envelope))
    conditions.extend(AREAS.c[name] == value for name, value in (equals or {}).items())
    conditions.append(scope.areas(AREAS))
    return conditions


def list_areas(
    conn: Connection,
    *,
    generation: int,
    level: str | None = None,
    parent: str | None = None,
    bbox: BBox | None = None,
    limit: int = 100,
    offset: int = 0,
    scope: Scope = EVERYWHERE,
    max_limit: int = MAX_PAGE,
) -> AreaPage:
    """Areas of ``generation`` ordered by code, filtered by level, parent and bbox; ``limit``
    at most ``max_limit`` (the configured page size)."""
    check_page_size(limit, maximum=max_limit)
    if offset < 0:
        raise InvalidInput("offset must be ≥ 0", field="offset")
    envelope = (
        func.ST_MakeEnvelope(bbox.west, bbox.south, bbox.east, bbox.north, 4326)
        if bbox is not None
        else None
    )
    conditions = area_conditions(
        generations=(generation, generation),
        level=level,
        parent=parent,
        envelope=envelope,
        scope=scope,
    )
    page, _ = page_features(conn, AREA_SOURCE, conditions, limit=limit, offset=offset)
    return AreaPage(page.features, page.number_matched, generation)


def staff_for(conn: Connection, codes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Staff attached to each of ``codes`` (area codes), grouped by code."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in codes}
    if not codes:
        return out
    rows = conn.execute(
        select(STAFF.c.code, STAFF.c.name, STAFF.c.role, STAFF.c.phone, STAFF.c.area_code)
        .where(STAFF.c.area_code.in_(codes))
        .order_by(STAFF.c.code)
    )
    for r in rows:
        out[r.area_code].append({"code": r.code, "name": r.name, "role": r.role, "phone": r.phone})
    return out


_CHAIN = text(
    """
    WITH RECURSIVE up(code, name, level, parent_code, depth) AS (
        SELECT code, name, level, parent_code, 0 FROM areas
        WHERE code = :code AND valid @> CAST(:generation AS int)
        UNION ALL
        SELECT a.code, a.name, a.level, a.parent_code, up.depth + 1 FROM areas a
        JOIN up ON a.code = up.parent_code AND a.valid @> CAST(:generation AS int)
        WHERE up.depth < 16  -- levels are strictly ordered: a longer chain is a cycle
    )
    SELECT code, name, level FROM up ORDER BY depth DESC
    """
)


def ancestor_chain(conn: Connection, code: str, *, generation: int) -> list[dict[str, str]]:
    """The area and its ancestors, largest first: ``[{code, name, level}, …]`` (one query)."""
    rows = conn.execute(_CHAIN, {"code": code, "generation": generation})
    return [{"code": r.code, "name": r.name, "level": r.level} for r in rows]


def get_area(
    conn: Connection, code: str, *, generation: int, scope: Scope = EVERYWHERE
) -> dict[str, Any]:
    """One area as a GeoJSON feature with ``chain``, ``child_count`` and ``staff``; an area
    outside ``scope`` is not found by the very query that finds none (out of scope is absent)."""
    row = conn.execute(
        select(*feature_columns(AREA_SOURCE)).where(
            AREAS.c.code == code, AREAS.c.valid.contains(generation), scope.areas(AREAS)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no area with code {code!r} in generation {generation}", field="code")
    children = conn.execute(
        select(func.count())
        .select_from(AREAS)
        .where(AREAS.c.parent_code == code, AREAS.c.valid.contains(generation))
    ).scalar_one()
    feature = to_feature(AREA_SOURCE, row)
    feature["properties"].update(
        chain=ancestor_chain(conn, code, generation=generation),
        child_count=int(children),
        staff=staff_for(conn, [code])[code],
        generation=generation,
    )
    return feature
