"""The 252 real Shanghai townships imported as one level (street) under one synthetic parent
(district ``SH``: their union with its holes filled), for tests and bench/coverage.py."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import Connection

from gis.areas.generations import activate
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file

PARENT = "SH"


def outline(geoms: object) -> shapely.Geometry:
    """The union of ``geoms`` with every hole filled: the land the parent answers for."""
    union = shapely.union_all(shapely.make_valid(geoms))
    parts = shapely.get_parts(union)
    return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts)))


def write_levels(towns_file: Path, folder: Path) -> list[tuple[str, Path]]:
    """The parent and the townships as two GeoJSON files in ``folder``, in import order."""
    towns = gpd.read_file(towns_file)
    towns["parent_code"] = PARENT
    parent = gpd.GeoDataFrame(
        {"code": [PARENT], "name": ["上海市"], "parent_code": [None]},
        geometry=[outline(towns.geometry.values)],
        crs="EPSG:4326",
    )
    folder.mkdir(parents=True, exist_ok=True)
    parent_path = folder / "sh.geojson"
    parent_path.write_text(parent.to_json(), encoding="utf-8")
    towns_path = folder / "towns.geojson"
    data = json.loads(towns[["id", "name", "parent_code", "geometry"]].to_json())
    towns_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return [("district", parent_path), ("street", towns_path)]


def load_townships(conn: Connection, towns_file: Path, folder: Path) -> None:
    """Import the parent and the townships as one activated generation."""
    for level, path in write_levels(towns_file, folder):
        code = "code" if level == "district" else "id"
        source = read_area_file(
            path, code_field=code, name_field="name", parent_field="parent_code"
        )
        import_areas(conn, source, level=level, description="townships")
    activate(conn)
