"""A small, exactly known hierarchy at a real Shanghai location, loaded through the real
importers into a committed database (for service and HTTP tests).

Street S is a 0.02° square at (121.39, 31.24); grids G1 (west half) and G2 (east half); four
micro-grids in a 2×2 tiling (M1 south-west, M2 south-east, M3 north-west, M4 north-east), so
the centre of S is a vertex shared by all four. Staff: M1 has a leader and a member.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.registers import import_buildings, import_staff

X0, Y0, SIDE = 121.39, 31.24, 0.02
HALF = SIDE / 2


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def area_collection(path: Path, rows: list[tuple[str, str, str | None, Any]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": c, "name": n, "parent_code": p},
                        "geometry": {"type": "Polygon", "coordinates": g},
                    }
                    for c, n, p, g in rows
                ],
            },
            ensure_ascii=False,
        )
    )
    return path


def load_small_street(engine: Engine, folder: Path) -> None:
    """Import the hierarchy, staff and two buildings, and activate generation 1."""
    x1, y1, xm, ym = X0 + SIDE, Y0 + SIDE, X0 + HALF, Y0 + HALF
    files = [
        (
            "street",
            area_collection(folder / "s.geojson", [("S", "测试街道", None, rect(X0, Y0, x1, y1))]),
        ),
        (
            "grid",
            area_collection(
                folder / "g.geojson",
                [
                    ("G1", "第一网格", "S", rect(X0, Y0, xm, y1)),
                    ("G2", "第二网格", "S", rect(xm, Y0, x1, y1)),
                ],
            ),
        ),
        (
            "micro_grid",
            area_collection(
                folder / "m.geojson",
                [
                    ("M1", "西南微网格", "G1", rect(X0, Y0, xm, ym)),
                    ("M2", "东南微网格", "G2", rect(xm, Y0, x1, ym)),
                    ("M3", "西北微网格", "G1", rect(X0, ym, xm, y1)),
                    ("M4", "东北微网格", "G2", rect(xm, ym, x1, y1)),
                ],
            ),
        ),
    ]
    buildings = folder / "b.geojson"
    buildings.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "code": "B1",
                            "name": "1号楼",
                            "households": 60,
                            "residents": 150,
                            "address": "测试路1号",
                        },
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": rect(xm - 0.0006, Y0 + 0.002, xm + 0.0004, Y0 + 0.0025),
                        },
                    }
                ],
            }
        )
    )
    staff = folder / "staff.csv"
    staff.write_text(
        "code,name,role,phone,area_code,building_code\n"
        "P1,王芳,micro_grid_leader,13900000001,M1,\n"
        "P2,李强,full_time_member,13900000002,M1,\n"
        "P3,张伟,building_team_leader,13900000003,,B1\n"
    )
    with engine.begin() as conn:
        for level, path in files:
            import_areas(
                conn,
                read_area_file(
                    path, code_field="code", name_field="name", parent_field="parent_code"
                ),
                level=level,
            )
        from gis.areas.generations import activate

        activate(conn)
        import_buildings(conn, buildings)
        import_staff(conn, staff)


def redraw_micro_grids(folder: Path) -> Path:
    """A micro-grid file for generation 2: M1 takes the whole southern half (M2 is gone)."""
    import shapely

    path = folder / "m2.geojson"
    features = [
        {
            "type": "Feature",
            "properties": {"code": c, "name": c, "parent_code": p},
            "geometry": shapely.geometry.mapping(g),
        }
        for c, p, g in (
            ("M1", "G1", shapely.box(X0, Y0, X0 + 2 * HALF, Y0 + HALF)),
            ("M3", "G1", shapely.box(X0, Y0 + HALF, X0 + HALF, Y0 + 2 * HALF)),
            ("M4", "G2", shapely.box(X0 + HALF, Y0 + HALF, X0 + 2 * HALF, Y0 + 2 * HALF)),
        )
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def small_street_with_categories(url: str, folder: Path) -> None:
    """The small street and the default incident categories in the database at ``url``
    (what every incident HTTP test starts from)."""
    from gis.incidents.categories import DEFAULT_FILE, import_categories
    from gis.store.db import make_engine

    engine = make_engine(url)
    try:
        load_small_street(engine, folder)
        with engine.begin() as conn:
            import_categories(conn, DEFAULT_FILE)
    finally:
        engine.dispose()
