"""Exporting one level of one generation to GeoJSON or GeoPackage.

Columns: ``code``, ``name``, ``parent_code`` and every attribute as its own column, so
``wangge import boundaries OUT --code-field code --name-field name --parent-field parent_code``
reads the file back unchanged. An attribute whose name would clash with those three columns
(a file imported with ``--code-field adcode`` that also had a ``code`` column) is written as
``attr_code``: the core fields win, and the reader turns ``attr_<field>`` back into the
attribute ``<field>`` (see :func:`escape_attribute`). GeoJSON is written by wangge itself with
full double precision (shortest round-trip repr), so coordinates survive exactly; GeoPackage
stores doubles natively. Nested attribute values (lists, objects) go to GeoPackage as JSON
text, declared with the GeoPackage schema extension (``gpkg_data_columns`` MIME type
``application/json``), which the reader honours, so they come back as lists and objects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection, func, select

from gis.errors import InvalidInput
from gis.levels import check_level
from gis.store.models import AREAS

FORMATS = ("geojson", "gpkg")
CORE_COLUMNS = ("code", "name", "parent_code")
ESCAPE = "attr_"


def escape_attribute(key: str, reserved: tuple[str, ...] = CORE_COLUMNS) -> str:
    """The column name for attribute ``key``: prefixed with ``attr_`` when it is (after any
    ``attr_`` prefixes of its own) one of the ``reserved`` core columns, so it never
    overwrites them; :func:`unescape_attribute` undoes it."""
    bare = key
    while bare.startswith(ESCAPE):
        bare = bare[len(ESCAPE) :]
    return ESCAPE + key if bare in reserved else key


def unescape_attribute(column: str, reserved: tuple[str, ...]) -> str:
    """The attribute name for a column written by :func:`escape_attribute`."""
    if column.startswith(ESCAPE) and escape_attribute(column[len(ESCAPE) :], reserved) == column:
        return column[len(ESCAPE) :]
    return column


def _escaped(attributes: dict[str, Any]) -> dict[str, Any]:
    return {escape_attribute(k): v for k, v in attributes.items()}


def _rows(conn: Connection, level: str, generation: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                AREAS.c.code,
                AREAS.c.name,
                AREAS.c.parent_code,
                AREAS.c.attributes,
                func.ST_AsBinary(AREAS.c.geom).label("wkb"),
            )
            .where(AREAS.c.level == level, AREAS.c.valid.contains(generation))
            .order_by(AREAS.c.code)
        )
    )


def export_areas(conn: Connection, *, level: str, generation: int, fmt: str, out: Path) -> int:
    """Write the ``level`` areas of ``generation`` to ``out``; return how many."""
    check_level(level)
    if fmt not in FORMATS:
        raise InvalidInput(
            f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format"
        )
    rows = _rows(conn, level, generation)
    if not rows:
        raise InvalidInput(f"no {level} areas in generation {generation}", field="level")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        _write_geojson(rows, out, name=f"{level}_g{generation}")
    else:
        _write_gpkg(rows, out, layer=level)
    return len(rows)


def _write_geojson(rows: list[Any], out: Path, *, name: str) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": r.code,
                "name": r.name,
                "parent_code": r.parent_code,
                **_escaped(r.attributes),
            },
            "geometry": shapely.geometry.mapping(shapely.from_wkb(bytes(r.wkb))),
        }
        for r in rows
    ]
    collection = {"type": "FeatureCollection", "name": name, "features": features}
    out.write_text(
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )


def _write_gpkg(rows: list[Any], out: Path, *, layer: str) -> None:
    from gis.vector import declare_json_columns

    attributes = [_escaped(r.attributes) for r in rows]
    attribute_names: list[str] = []
    for a in attributes:
        attribute_names.extend(k for k in a if k not in attribute_names)
    json_columns = sorted(
        {k for a in attributes for k, v in a.items() if isinstance(v, list | dict)}
    )
    records = []
    for r, a in zip(rows, attributes, strict=True):
        record: dict[str, Any] = {"code": r.code, "name": r.name, "parent_code": r.parent_code}
        for key in attribute_names:
            value = a.get(key)
            record[key] = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
            )
        records.append(record)
    frame = gpd.GeoDataFrame(
        records, geometry=[shapely.from_wkb(bytes(r.wkb)) for r in rows], crs="EPSG:4326"
    )
    if out.exists():
        out.unlink()
    frame.to_file(out, layer=layer, driver="GPKG", engine="pyogrio")
    declare_json_columns(out, layer, json_columns)
