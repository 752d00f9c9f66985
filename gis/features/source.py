"""A feature source: a table, its id, its properties and geometry, read back as GeoJSON
features one page at a time. The one reader behind ``/v1/areas`` and the OGC collections."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, select

from gis.features.crs import OutputCrs, output_crs

DEGREE_DECIMALS = 7  # ~1 cm at the equator
METRE_DECIMALS = 3


@dataclass(frozen=True)
class Prop:
    """A feature property read from column ``column``; ``type`` is its JSON Schema type."""

    name: str
    type: str
    title: str
    column: str | None = None  # default: same as name
    decimals: int | None = None  # round numbers to this many decimals
    queryable: bool = True
    #: JSON Schema format; "date-time" properties take CQL2 time comparisons (issue 26)
    format: str | None = None
    # applied to the stored value before it is served (e.g. masking a phone number)
    serve: Callable[[Any], Any] | None = None

    @property
    def source_column(self) -> str:
        """The table column holding the property."""
        return self.column or self.name


@dataclass(frozen=True)
class Source:
    """A table served as features: ``id_column`` is the feature id, ``props`` the properties."""

    table: Table
    id_column: str
    props: tuple[Prop, ...]
    geometry_type: str  # GeoJSON type: "MultiPolygon" or "Point"
    geometry_column: str = "geom"

    def prop(self, name: str) -> Prop | None:
        """The property called ``name``, if any."""
        return next((p for p in self.props if p.name == name), None)

    @property
    def geom(self) -> Any:
        """The geometry column (EPSG:4326)."""
        return self.table.c[self.geometry_column]


@dataclass(frozen=True)
class FeaturePage:
    """One page of features and how many matched in all."""

    features: list[dict[str, Any]]
    number_matched: int


def _geometry_sql(source: Source, crs: OutputCrs) -> Any:
    geom = source.geom if crs.srid == 4326 else func.ST_Transform(source.geom, crs.srid)
    if crs.flip:
        geom = func.ST_FlipCoordinates(geom)
    decimals = DEGREE_DECIMALS if crs.geographic else METRE_DECIMALS
    # options 0: no "crs" member (RFC 7946 has none; Content-Crs names it)
    return func.ST_AsGeoJSON(geom, decimals, 0).label("geojson")


def feature_columns(
    source: Source, crs: OutputCrs | None = None, extra: tuple[Any, ...] = ()
) -> list[Any]:
    """The SELECT list: id, property columns, extra labelled columns and the geometry."""
    columns = {source.id_column, *(p.source_column for p in source.props)}
    return [
        *(source.table.c[c] for c in sorted(columns)),
        *extra,
        _geometry_sql(source, crs or output_crs(None)),
    ]


def to_feature(source: Source, row: Any) -> dict[str, Any]:
    """A GeoJSON feature from a row selected with :func:`feature_columns`."""
    mapping = row._mapping
    properties: dict[str, Any] = {}
    for p in source.props:
        value = mapping[p.source_column]
        if p.decimals is not None and value is not None:
            value = round(value, p.decimals)
        elif isinstance(value, datetime):
            value = value.isoformat()
        if p.serve is not None:
            value = p.serve(value)
        properties[p.name] = value
    return {
        "type": "Feature",
        "id": mapping[source.id_column],
        "geometry": json.loads(mapping["geojson"]) if mapping["geojson"] else None,
        "properties": properties,
    }


def page_features(
    conn: Connection,
    source: Source,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
    crs: OutputCrs | None = None,
    extra: tuple[Any, ...] = (),
    then_by: tuple[Any, ...] = (),
    sort_by: tuple[Any, ...] = (),
) -> tuple[FeaturePage, list[Any]]:
    """Features matching all ``conditions``, ordered ``sort_by`` (OGC ``sortby``) then by id,
    ``limit`` from ``offset``, with geometry in ``crs`` (default CRS84); ties on the id are
    ordered ``then_by``. Also returns the rows, for callers that selected ``extra`` columns."""
    where = and_(*conditions)
    table = source.table
    total = conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
    rows = conn.execute(
        select(*feature_columns(source, crs, extra))
        .where(where)
        .order_by(*sort_by, table.c[source.id_column], *then_by)
        .limit(limit)
        .offset(offset)
    ).all()
    return FeaturePage([to_feature(source, r) for r in rows], int(total)), list(rows)
