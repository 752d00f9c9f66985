"""Exporting one level of one generation to GeoJSON or GeoPackage.

Columns: ``code``, ``name``, ``parent_code`` and every attribute as its own column, so
``wangge import boundaries OUT --code-field code --name-field name --parent-field parent_code``
reads the file back unchanged. GeoJSON is written by wangge itself with full double precision
(shortest round-trip repr), so coordinates survive exactly; GeoPackage stores doubles natively.
Nested attribute values (lists, objects) go to GeoPackage as JSON text, declared with the
GeoPackage schema extension (``gpkg_data_columns`` MIME type ``application/json``), which the
reader honours, so they come back as lists and objects.
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
                **r.attributes,
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

    attribute_names: list[str] = []
    for r in rows:
        attribute_names.extend(k for k in r.attributes if k not in attribute_names)
    json_columns = sorted(
        {k for r in rows for k, v in r.attributes.items() if isinstance(v, list | dict)}
    )
    records = []
    for r in rows:
        record: dict[str, Any] = {"code": r.code, "name": r.name, "parent_code": r.parent_code}
        for key in attribute_names:
            value = r.attributes.get(key)
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
