"""Items of an OGC collection: paging, bbox (in any served CRS), datetime, property filters
and output CRS. Areas go through :func:`gis.areas.query.area_conditions`, the same filter
``/v1/areas`` uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, func, literal

from gis.access import EVERYWHERE, Scope
from gis.areas.generations import resolve_generation
from gis.areas.query import BBox, area_conditions
from gis.errors import InvalidInput, NotFound
from gis.features.catalog import Collection, get_collection
from gis.features.cql import LANGS, parse_filter, parse_properties, parse_sortby, to_sql
from gis.features.crs import OutputCrs, output_crs, parse_crs_uri
from gis.features.source import FeaturePage, Source, page_features
from gis.features.tables import AREA_SOURCE
from gis.features.time import TimeFilter, generations_during, parse_datetime
from gis.limits import (
    MAX_BBOX_KM2,
    MAX_PAGE_SIZE,
    PAGE_SIZE_CEILING,
    check_bbox_area,
    check_page_size,
)
from gis.store.models import AREAS, INCIDENTS

MAX_LIMIT: Final = PAGE_SIZE_CEILING  # the route's bound; the configured one is checked
MAX_OFFSET: Final = 10_000_000
_JSON_TYPES: Final = {"integer": int, "number": float}


@dataclass(frozen=True)
class ItemsQuery:
    """What a client asked of ``/collections/{id}/items`` (raw text, validated by
    :func:`get_items`). ``filters`` maps property names to the value they must equal."""

    limit: int = 10
    offset: int = 0
    bbox: str | None = None
    bbox_crs: str | None = None
    datetime: str | None = None
    crs: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    max_limit: int = MAX_PAGE_SIZE
    max_bbox_km2: float = MAX_BBOX_KM2
    #: OGC API – Features Part 3 (issue 26): a CQL2 filter, its language, sortby, properties
    filter: str | None = None
    filter_lang: str | None = None
    sortby: str | None = None
    properties: str | None = None


@dataclass(frozen=True)
class ItemsPage:
    """A page of features, the collection it came from and the CRS of its coordinates."""

    collection: Collection
    page: FeaturePage
    crs: OutputCrs


def _envelope(text: str, crs: OutputCrs, max_km2: float = MAX_BBOX_KM2) -> Any:
    """An EPSG:4326 polygon for ``bbox`` given in ``crs`` (in that CRS's axis order); a box
    covering more than ``max_km2`` km² is refused."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            "expected four numbers: lower-left and upper-right corner (e.g. "
            "121.39,31.24,121.41,31.26 in CRS84)",
            field="bbox",
        )
    if crs.flip:
        values = [values[1], values[0], values[3], values[2]]
    if crs.srid == 4326:
        box = BBox.parse(",".join(str(v) for v in values), max_km2=max_km2)
        return func.ST_MakeEnvelope(box.west, box.south, box.east, box.north, 4326)
    x0, y0, x1, y1 = values
    if x0 > x1 or y0 > y1:
        raise InvalidInput("the lower corner must not exceed the upper corner", field="bbox")
    _check_projected_area(values, crs.srid, max_km2)
    # segmentized so that the curved edges of a projected box are followed closely
    projected = func.ST_MakeEnvelope(x0, y0, x1, y1, crs.srid)
    return func.ST_Transform(func.ST_Segmentize(projected, (x1 - x0) / 16 or 1), 4326)


def _check_projected_area(values: list[float], srid: int, max_km2: float) -> None:
    """Refuse a projected box whose WGS-84 bounds cover more than ``max_km2`` km²."""
    from pyproj import Transformer

    x0, y0, x1, y1 = values
    to_wgs84 = Transformer.from_crs(srid, 4326, always_xy=True)
    # edges sampled, since a projected box is curved in lon/lat
    xs = [x0 + (x1 - x0) * i / 8 for i in range(9)]
    ys = [y0 + (y1 - y0) * i / 8 for i in range(9)]
    ring_x = xs + [x1] * 9 + xs + [x0] * 9
    ring_y = [y0] * 9 + ys + [y1] * 9 + ys
    lons, lats = to_wgs84.transform(ring_x, ring_y)
    if not all(math.isfinite(v) for v in (*lons, *lats)):
        raise InvalidInput("the box is outside the CRS's area of use", field="bbox")
    check_bbox_area(
        west=max(min(lons), -180),
        south=max(min(lats), -90),
        east=min(max(lons), 180),
        north=min(max(lats), 90),
        max_km2=max_km2,
    )


def _equals(source: Source, filters: dict[str, str]) -> dict[str, Any]:
    """Column → typed value for each property filter; unknown or bad ones raise InvalidInput."""
    out: dict[str, Any] = {}
    queryable = [p.name for p in source.props if p.queryable]
    for name, raw in filters.items():
        prop = source.prop(name)
        if prop is None or not prop.queryable:
            raise InvalidInput(
                f"unknown parameter; the queryables are {', '.join(queryable)}", field=name
            )
        convert = _JSON_TYPES.get(prop.type, str)
        try:
            out[prop.source_column] = convert(raw)
        except ValueError:
            raise InvalidInput(f"expected {prop.type}, got {raw!r}", field=name) from None
    return out


def _generations(conn: Connection, when: TimeFilter | None) -> tuple[int, int] | None:
    if when is None:
        current = resolve_generation(conn)
        return current, current
    return generations_during(conn, when)


def _area_page(
    conn: Connection,
    collection: Collection,
    query: ItemsQuery,
    *,
    envelope: Any,
    crs: OutputCrs,
    scope: Scope = EVERYWHERE,
) -> FeaturePage:
    when = parse_datetime(query.datetime) if query.datetime else None
    span = _generations(conn, when)
    if span is None:  # before the first activation: nothing was valid
        return FeaturePage([], 0)
    conditions = area_conditions(
        generations=span,
        level=collection.level,
        envelope=envelope,
        equals=_equals(collection.source, query.filters),
        scope=scope,
    )
    conditions.extend(part3_conditions(collection.source, query))
    return _versioned_page(conn, conditions, query, crs=crs, versioned=span[0] != span[1])


def _versioned_page(
    conn: Connection,
    conditions: list[ColumnElement[bool]],
    query: ItemsQuery,
    *,
    crs: OutputCrs,
    versioned: bool,
) -> FeaturePage:
    """Area features with the generations each version is valid in; over several
    generations one code can have several versions, so ids become ``code@first``."""
    first = func.lower(AREAS.c.valid).label("generation_from")
    end = func.upper(AREAS.c.valid).label("generation_end")
    page, rows = page_features(
        conn,
        AREA_SOURCE,
        conditions,
        limit=query.limit,
        offset=query.offset,
        crs=crs,
        extra=(first, end),
        then_by=(func.lower(AREAS.c.valid),),
        sort_by=sort_order(AREA_SOURCE, query),
    )
    for feature, row in zip(page.features, rows, strict=True):
        feature["properties"]["generation_from"] = row.generation_from
        last = row.generation_end - 1 if row.generation_end is not None else None
        feature["properties"]["generation_to"] = last
        if versioned:
            feature["id"] = f"{feature['id']}@{row.generation_from}"
    return page


def _time_conditions(collection: Collection, text: str) -> list[ColumnElement[bool]]:
    if collection.time_column is None:
        raise InvalidInput(
            f"collection {collection.id!r} has no time dimension; datetime applies to the "
            "area collections (boundary history) and incidents",
            field="datetime",
        )
    when = parse_datetime(text)
    column = collection.source.table.c[collection.time_column]
    out: list[ColumnElement[bool]] = []
    if when.start is not None:
        out.append(column >= when.start)
    if when.end is not None:
        out.append(column <= when.end)
    return out


def check_page(limit: int, offset: int, *, max_limit: int = MAX_PAGE_SIZE) -> None:
    """Raise InvalidInput naming ``limit``/``offset`` when out of range."""
    check_page_size(limit, maximum=max_limit)
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET}", field="offset")


def get_items(
    conn: Connection, collection_id: str, query: ItemsQuery, *, scope: Scope = EVERYWHERE
) -> ItemsPage:
    """One page of ``collection_id``'s features for ``query``, ordered by id (only those in
    the caller's ``scope``: see :func:`scope_conditions`).

    Area collections answer for the current generation, or with ``datetime`` the
    generations current at that instant (or during that interval: then one code may come
    once per version, with id ``code@first_generation``). Raises NotFound for an unknown
    collection and InvalidInput naming the parameter for anything malformed.
    """
    check_page(query.limit, query.offset, max_limit=query.max_limit)
    collection = get_collection(conn, collection_id, extents=False)
    crs = _pick_crs(collection, query.crs, "crs")
    envelope = None
    if query.bbox is not None:
        envelope = _envelope(
            query.bbox, _pick_crs(collection, query.bbox_crs, "bbox-crs"), query.max_bbox_km2
        )
    elif query.bbox_crs is not None:
        _pick_crs(collection, query.bbox_crs, "bbox-crs")
    if collection.versioned:
        page = _area_page(conn, collection, query, envelope=envelope, crs=crs, scope=scope)
        return select_properties(ItemsPage(collection, page, crs), query.properties)
    source = collection.source
    conditions: list[ColumnElement[bool]] = [literal(True), scope_conditions(source, scope)]
    if envelope is not None:
        conditions.append(func.ST_Intersects(source.geom, envelope))
    if query.datetime is not None:
        conditions.extend(_time_conditions(collection, query.datetime))
    conditions.extend(source.table.c[c] == v for c, v in _equals(source, query.filters).items())
    conditions.extend(part3_conditions(source, query))
    page, _ = page_features(
        conn,
        source,
        conditions,
        limit=query.limit,
        offset=query.offset,
        crs=crs,
        sort_by=sort_order(source, query),
    )
    page = hide_links(conn, source, page, scope)
    return select_properties(ItemsPage(collection, page, crs), query.properties)


def part3_conditions(source: Source, query: ItemsQuery) -> list[ColumnElement[bool]]:
    """The CQL2 ``filter`` of ``query`` as a condition (none without one)."""
    if query.filter is None:
        if query.filter_lang is not None and query.filter_lang not in LANGS:
            raise InvalidInput(f"must be one of {', '.join(LANGS)}", field="filter-lang")
        return []
    return [to_sql(parse_filter(query.filter, query.filter_lang), source)]


def sort_order(source: Source, query: ItemsQuery) -> tuple[Any, ...]:
    """``sortby`` as ORDER BY terms (before the id, which breaks ties)."""
    if query.sortby is None:
        return ()
    return tuple(c.desc() if desc else c.asc() for c, desc in parse_sortby(query.sortby, source))


def select_properties(page: ItemsPage, properties: str | None) -> ItemsPage:
    """Only the ``properties`` asked for in every feature (all without the parameter)."""
    if properties is None:
        return page
    wanted = parse_properties(properties, page.collection.source)
    for feature in page.page.features:
        feature["properties"] = {k: v for k, v in feature["properties"].items() if k in wanted}
    return page


def hide_links(conn: Connection, source: Source, page: FeaturePage, scope: Scope) -> FeaturePage:
    """Incidents name another incident (``duplicate_of``) only when it is in ``scope``."""
    if source.table is not INCIDENTS or scope.everywhere:
        return page
    shown = scope.visible_incidents(
        conn, (f["properties"].get("duplicate_of") for f in page.features)
    )
    for f in page.features:
        if f["properties"].get("duplicate_of") not in shown:
            f["properties"]["duplicate_of"] = None
    return page


def scope_conditions(source: Source, scope: Scope) -> ColumnElement[bool]:
    """What ``scope`` shows of a non-area source: its rule for incidents, or for buildings
    and facilities (inside its current boundary)."""
    if source.table is INCIDENTS:
        return scope.incidents(INCIDENTS)
    return scope.inside(source.geom)


def _pick_crs(collection: Collection, text: str | None, field: str) -> OutputCrs:
    return output_crs(None) if text is None else parse_crs_uri(text, collection.crs, field=field)


def get_item(
    conn: Connection,
    collection_id: str,
    feature_id: str,
    *,
    crs: str | None = None,
    datetime: str | None = None,
    scope: Scope = EVERYWHERE,
) -> ItemsPage:
    """One feature by id (areas: ``code`` in the current or ``datetime``'s generation, or
    ``code@N`` for the version valid in generation N); NotFound naming ``featureId``, also
    for a feature outside the caller's ``scope`` (by the same query)."""
    collection = get_collection(conn, collection_id, extents=False)
    out = _pick_crs(collection, crs, "crs")
    source = collection.source
    if collection.versioned:
        code, _, version = feature_id.partition("@")
        if version:
            if not version.isdigit():
                raise NotFound(f"no feature {feature_id!r}", field="featureId")
            query = ItemsQuery(limit=1, datetime=None, filters={"code": code})
            span = (int(version), int(version))
        else:
            query = ItemsQuery(limit=1, datetime=datetime, filters={"code": code})
            when = parse_datetime(datetime) if datetime else None
            found = _generations(conn, when)
            if found is None:  # no generation then: no such feature then
                raise NotFound(f"no feature {feature_id!r} at {datetime}", field="featureId")
            if found[0] != found[1]:
                raise InvalidInput("give an instant (or use the id code@N)", field="datetime")
            span = found
        conditions = area_conditions(
            generations=span, level=collection.level, equals={"code": code}, scope=scope
        )
        page = _versioned_page(conn, conditions, query, crs=out, versioned=bool(version))
    else:
        id_column = source.table.c[source.id_column]
        value: Any = feature_id
        if isinstance(id_column.type.python_type, type) and id_column.type.python_type is int:
            if not feature_id.isdigit():
                raise NotFound(f"no feature {feature_id!r}", field="featureId")
            value = int(feature_id)
        conditions = [id_column == value, scope_conditions(source, scope)]
        page, _ = page_features(conn, source, conditions, limit=1, offset=0, crs=out)
        page = hide_links(conn, source, page, scope)
    if not page.features:
        raise NotFound(
            f"no feature {feature_id!r} in collection {collection_id!r}", field="featureId"
        )
    return ItemsPage(collection, page, out)
