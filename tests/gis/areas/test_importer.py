"""Boundary import on real PostGIS: real Shanghai files, generations, history, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import Connection, func, select

from gis.areas.export import export_areas
from gis.areas.generations import activate, current_generation, resolve_generation
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.store.models import Area, AreaPart
from tests.conftest import DEMO_DATA, reference
from tests.fixtures import area_collection, rect

AREAS = Area.__table__
GEOD = Geod(ellps="WGS84")


def square(x: float, y: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def feature(code: str | None, coords: Any, *, kind: str = "Polygon", **props: Any) -> dict:
    props.setdefault("parent_code", None)
    return {
        "type": "Feature",
        "properties": {"code": code, "name": f"name {code}", **props},
        "geometry": None if coords is None else {"type": kind, "coordinates": coords},
    }


def townships() -> Any:  # reference data
    return read_area_file(
        reference("shanghai_townships_wgs84.geojson"), code_field="id", name_field="name"
    )


@pytest.mark.reference_data
def test_townships_import_with_zero_errors(conn: Connection) -> None:
    source = townships()
    report = import_areas(conn, source, level="street", activate=True)
    assert len(report.added) == 252 and not report.changed and not report.removed
    assert report.activated and current_generation(conn) == report.generation
    # the file has no invalid geometry, so no repair is reported; the 26 unnamed are warned
    assert report.repairs == []
    assert len(report.warnings) == 1 and "26 feature(s)" in report.warnings[0]
    stored = conn.execute(select(func.count()).select_from(AREAS)).scalar_one()
    assert stored == 252
    parts = conn.execute(select(func.count()).select_from(AreaPart.__table__)).scalar_one()
    assert parts >= 252
    # parts cover exactly the area: union of parts equals the polygon (area to 1e-9 relative)
    row = conn.execute(
        select(
            func.ST_Area(AREAS.c.geom),
            select(func.ST_Area(func.ST_Union(AreaPart.geom)))
            .where(AreaPart.area_id == AREAS.c.id)
            .scalar_subquery(),
        ).where(AREAS.c.code == "sh_town_072")
    ).one()
    assert row[0] == pytest.approx(row[1], rel=1e-9)


def test_every_repair_is_reported(conn: Connection, tmp_path: Path) -> None:
    bowtie = [[[0, 0], [0.01, 0.01], [0.01, 0], [0, 0.01], [0, 0]]]
    path = write_geojson(
        tmp_path / "bad.geojson", [feature("A", square(0.02, 0)), feature("B", bowtie)]
    )
    source = read_area_file(path, code_field="code", name_field="name")
    assert [r.code for r in source.repairs] == ["B"]
    repair = source.repairs[0]
    assert "Self-intersection" in repair.problem and repair.feature == 1
    # both lobes are kept: area ~ half the bounding square, change is reported in m²
    assert source.features[1].area_m2 == pytest.approx(
        abs(GEOD.geometry_area_perimeter(shapely.box(0, 0, 0.01, 0.01))[0]) / 2, rel=1e-3
    )
    assert np.isfinite(repair.area_change_m2)
    report = import_areas(conn, source, level="grid")
    assert [str(r) for r in report.repairs] == [str(repair)]


@pytest.mark.reference_data
def test_gcj02_districts_match_wgs84_answer_key(conn: Connection) -> None:
    source = read_area_file(
        reference("shanghai_districts_datav_gcj02.geojson"),
        code_field="adcode",
        name_field="name",
        crs="gcj02",
    )
    import_areas(conn, source, level="district", activate=True)
    key = gpd.read_file(reference("shanghai_districts_wgs84.geojson")).set_index("adcode")
    rows = conn.execute(select(AREAS.c.code, func.ST_AsBinary(AREAS.c.geom))).all()
    assert len(rows) == 16
    worst = 0.0
    for code, wkb in rows:
        ours = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)))
        theirs = shapely.get_coordinates(key.loc[int(code)].geometry)
        assert ours.shape == theirs.shape
        _, _, dist = GEOD.inv(ours[:, 0], ours[:, 1], theirs[:, 0], theirs[:, 1])
        worst = max(worst, float(np.max(dist)))
    assert worst < 1.0, f"worst vertex {worst:.3f} m"


# one source in the repository (the demo street's communities, WGS-84) and one in the reference
# data (Shanghai's districts in GCJ-02)
ROUND_TRIP_SOURCES = {
    "demo": lambda: read_area_file(
        DEMO_DATA / "communities.geojson", code_field="code", name_field="name"
    ),
    "reference": lambda: read_area_file(
        reference("shanghai_districts_datav_gcj02.geojson"),
        code_field="adcode",
        name_field="name",
        crs="gcj02",
    ),
}


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
@pytest.mark.parametrize(
    "which", ["demo", pytest.param("reference", marks=pytest.mark.reference_data)]
)
def test_export_import_round_trip_is_lossless(
    conn: Connection, tmp_path: Path, fmt: str, which: str
) -> None:
    districts = ROUND_TRIP_SOURCES[which]()
    n = len(districts.features)
    first = import_areas(conn, districts, level="district", activate=True)
    out = tmp_path / f"districts.{fmt}"
    assert export_areas(conn, level="district", generation=first.generation, fmt=fmt, out=out) == n
    back = read_area_file(out, code_field="code", name_field="name", parent_field="parent_code")
    second = import_areas(conn, back, level="district", activate=True)
    assert second.generation == first.generation + 1
    assert sorted(second.unchanged) == sorted(first.added) and not second.changed
    original = {f.code: f for f in districts.features}
    for f in back.features:  # nested attributes (lists, objects) survive too
        assert f.attributes == original[f.code].attributes
        assert shapely.equals_exact(f.geom, original[f.code].geom, 0.0)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_export_keeps_core_fields_and_clashing_attributes(
    conn: Connection, tmp_path: Path, fmt: str
) -> None:
    """A file imported with --code-field adcode that also has code, name-like and
    parent_code columns: the export's core columns win, the attributes survive under
    attr_<name>, and importing the export reports every area unchanged with the same
    attributes."""
    source = tmp_path / "clash.geojson"
    area_collection(source, [("110", "甲", None, rect(121.0, 31.0, 121.1, 31.1))])
    data = json.loads(source.read_text())
    data["features"][0]["properties"] = {
        "adcode": "310101",
        "title": "黄浦区",
        "code": "not-the-code",
        "parent_code": "not-the-parent",
        "attr_name": "a literal attr_name column",
    }
    source.write_text(json.dumps(data, ensure_ascii=False))
    read = read_area_file(source, code_field="adcode", name_field="title")
    first = import_areas(conn, read, level="district", activate=True)
    out = tmp_path / f"clash.{fmt}"
    export_areas(conn, level="district", generation=first.generation, fmt=fmt, out=out)
    exported = gpd.read_file(out)
    assert exported.loc[0, "code"] == "310101" and exported.loc[0, "name"] == "黄浦区"
    assert exported.loc[0, "parent_code"] is None or pd.isna(exported.loc[0, "parent_code"])
    assert exported.loc[0, "attr_code"] == "not-the-code"
    assert exported.loc[0, "attr_parent_code"] == "not-the-parent"
    assert exported.loc[0, "attr_attr_name"] == "a literal attr_name column"
    back = read_area_file(out, code_field="code", name_field="name", parent_field="parent_code")
    assert back.features[0].attributes == read.features[0].attributes
    second = import_areas(conn, back, level="district", activate=True)
    assert second.unchanged == ["310101"] and not second.changed


def test_generations_carry_over_and_keep_history(conn: Connection, tmp_path: Path) -> None:
    v1 = write_geojson(
        tmp_path / "v1.geojson",
        [feature("A", square(0, 0)), feature("B", square(0.01, 0)), feature("C", square(0.02, 0))],
    )
    v2 = write_geojson(
        tmp_path / "v2.geojson",
        [
            feature("A", square(0, 0)),
            feature("B", square(0.01, 0, 0.02)),
            feature("D", square(0.05, 0)),
        ],
    )
    read = lambda p: read_area_file(p, code_field="code", name_field="name")  # noqa: E731
    g1 = import_areas(conn, read(v1), level="grid", activate=True).generation
    report = import_areas(conn, read(v2), level="grid")
    g2 = report.generation
    assert (report.unchanged, report.changed, report.added, report.removed) == (
        ["A"],
        ["B"],
        ["D"],
        ["C"],
    )
    # not yet active: readers still see g1 with its three areas
    assert current_generation(conn) == g1

    def codes(g: int) -> list[str]:
        return list(
            conn.execute(
                select(AREAS.c.code).where(AREAS.c.valid.contains(g)).order_by(AREAS.c.code)
            ).scalars()
        )

    assert codes(g1) == ["A", "B", "C"]
    assert codes(g2) == ["A", "B", "D"]
    activate(conn)
    assert current_generation(conn) == g2
    # A was carried over (one row), B has two versions, C ended with g1
    rows = conn.execute(
        select(AREAS.c.code, func.lower(AREAS.c.valid), func.upper(AREAS.c.valid)).order_by(
            AREAS.c.id
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("A", g1, None),
        ("B", g1, g2),
        ("C", g1, g2),
        ("B", g2, None),
        ("D", g2, None),
    ]
    # old generation still answers with the old geometry of B
    old_b = conn.execute(
        select(func.ST_Area(AREAS.c.geom)).where(AREAS.c.code == "B", AREAS.c.valid.contains(g1))
    ).scalar_one()
    assert old_b == pytest.approx(0.0001)
    assert resolve_generation(conn, generation=g1) == g1


def test_reimport_into_open_generation_replaces_first_attempt(
    conn: Connection, tmp_path: Path
) -> None:
    read = lambda p: read_area_file(p, code_field="code", name_field="name")  # noqa: E731
    base = write_geojson(
        tmp_path / "base.geojson", [feature("A", square(0, 0)), feature("B", square(0.01, 0))]
    )
    import_areas(conn, read(base), level="grid", activate=True)
    wrong = write_geojson(tmp_path / "wrong.geojson", [feature("A", square(0, 0, 0.005))])
    right = write_geojson(
        tmp_path / "right.geojson",
        [feature("A", square(0, 0)), feature("B", square(0.01, 0, 0.02))],
    )
    first = import_areas(conn, read(wrong), level="grid")
    second = import_areas(conn, read(right), level="grid")
    assert first.generation == second.generation
    assert second.unchanged == ["A"] and second.changed == ["B"] and not second.removed
    assert conn.execute(select(func.count()).select_from(AREAS)).scalar_one() == 3


def test_as_of_reads_the_generation_current_then(conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", [feature("A", square(0, 0))])
    g1 = import_areas(
        conn,
        read_area_file(path, code_field="code", name_field="name"),
        level="grid",
        activate=True,
    ).generation
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    assert resolve_generation(conn, as_of=now + timedelta(seconds=1)) == g1
    from gis.errors import NotFound

    with pytest.raises(NotFound) as err:
        resolve_generation(conn, as_of=now - timedelta(days=1))
    assert err.value.field == "as_of"


def test_hierarchy_parent_links(conn: Connection, tmp_path: Path) -> None:
    street = write_geojson(tmp_path / "s.geojson", [feature("S", square(0, 0, 0.1))])
    grids = write_geojson(
        tmp_path / "g.geojson",
        [
            feature("S-G1", square(0, 0, 0.05), parent_code="S"),
            feature("S-G2", square(0.05, 0, 0.05), parent_code="S"),
        ],
    )
    import_areas(conn, read_area_file(street, code_field="code", name_field="name"), level="street")
    report = import_areas(
        conn,
        read_area_file(grids, code_field="code", name_field="name", parent_field="parent_code"),
        level="grid",
        activate=True,
    )
    assert report.added == ["S-G1", "S-G2"]
    parents = dict(conn.execute(select(AREAS.c.code, AREAS.c.parent_code)).all())
    assert parents == {"S": None, "S-G1": "S", "S-G2": "S"}


ZIP_SOURCES = {
    "demo": lambda: gpd.read_file(DEMO_DATA / "communities.geojson").rename(columns={"code": "id"}),
    "reference": lambda: gpd.read_file(reference("shanghai_focus_streets_wgs84.geojson")),
}


@pytest.mark.parametrize(
    "which", ["demo", pytest.param("reference", marks=pytest.mark.reference_data)]
)
def test_zipped_shapefile_in_a_projected_crs(conn: Connection, tmp_path: Path, which: str) -> None:
    import zipfile

    towns = ZIP_SOURCES[which]()
    projected = towns[["id", "name", "geometry"]].to_crs("EPSG:32651")
    folder = tmp_path / "shp"
    folder.mkdir()
    projected.to_file(folder / "focus.shp", engine="pyogrio")
    archive = tmp_path / "focus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    source = read_area_file(archive, code_field="id", name_field="name")
    assert source.crs == "EPSG:32651" and len(source.features) == len(towns)
    report = import_areas(conn, source, level="street")
    assert sorted(report.added) == sorted(towns["id"])
    # back in WGS-84 within a millimetre of the original vertices (a shapefile may reverse a
    # ring's orientation: compared in normal form)
    original = dict(zip(towns["id"], towns.geometry, strict=True))
    for f in source.features:
        want = shapely.normalize(as_multi(original[f.code]))
        assert shapely.equals_exact(shapely.normalize(f.geom), want, tolerance=1e-8)


def as_multi(geom: shapely.Geometry) -> shapely.MultiPolygon:
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def test_removing_an_area_warns_about_its_children_and_staff(
    conn: Connection, tmp_path: Path
) -> None:
    read = lambda p, **kw: read_area_file(p, code_field="code", name_field="name", **kw)  # noqa: E731
    streets = write_geojson(
        tmp_path / "s.geojson", [feature("S1", square(0, 0)), feature("S2", square(0.01, 0))]
    )
    grids = write_geojson(
        tmp_path / "g.geojson",
        [
            feature("G1", square(0, 0, 0.005), parent_code="S1"),
            feature("G2", square(0.01, 0, 0.005), parent_code="S2"),
        ],
    )
    import_areas(conn, read(streets), level="street")
    import_areas(conn, read(grids, parent_field="parent_code"), level="grid", activate=True)
    roster = tmp_path / "staff.csv"
    roster.write_text(
        "code,name,role,phone,area_code,building_code\n"
        "P1,王芳,department_liaison,1,S2,\nP2,李强,department_liaison,2,S1,\n"
    )
    from gis.registers import import_staff

    import_staff(conn, roster)
    only_s1 = write_geojson(tmp_path / "s1.geojson", [feature("S1", square(0, 0))])
    report = import_areas(conn, read(only_s1), level="street", dry_run=True)
    assert report.removed == ["S2"]
    assert len(report.warnings) == 2
    assert "G2 (parent S2)" in report.warnings[0] and "G1" not in report.warnings[0]
    assert "P1 (S2)" in report.warnings[1] and "P2" not in report.warnings[1]
