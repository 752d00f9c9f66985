"""Buildings, staff and facilities registers: upsert by code, validation before writing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.registers import import_buildings, import_facilities, import_staff
from gis.store.models import Building, Staff
from gis.vector import FileRejected
from tests.gis.areas.test_importer import feature, square, write_geojson


def building(code: str | None, x: float, **props: object) -> dict:
    values = {"households": 40, "residents": 100, "address": f"测试路{code}号", **props}
    return feature(code, square(x, 0, 0.001), **values)


def points(path: Path, rows: list[tuple[str | None, str, str, float]]) -> Path:
    return write_geojson(
        path,
        [
            {
                "type": "Feature",
                "properties": {"code": c, "kind": k, "name": n},
                "geometry": {"type": "Point", "coordinates": [x, 0.0005]},
            }
            for c, k, n, x in rows
        ],
    )


@pytest.fixture
def area(conn: Connection, tmp_path: Path) -> str:
    path = write_geojson(tmp_path / "m.geojson", [feature("M1", square(0, 0, 0.05))])
    import_areas(
        conn,
        read_area_file(path, code_field="code", name_field="name"),
        level="micro_grid",
        activate=True,
    )
    return "M1"


def test_buildings_upsert_by_code(conn: Connection, tmp_path: Path) -> None:
    first = write_geojson(tmp_path / "b1.geojson", [building("B1", 0), building("B2", 0.002)])
    report = import_buildings(conn, first)
    assert report.added == ["B1", "B2"]
    second = write_geojson(tmp_path / "b2.geojson", [building("B1", 0), building("B2", 0.003)])
    report = import_buildings(conn, second)
    assert (report.unchanged, report.changed, report.added) == (["B1"], ["B2"], [])
    row = conn.execute(
        select(Building.households, Building.address).where(Building.code == "B1")
    ).one()
    assert tuple(row) == (40, "测试路B1号")
    only_b1 = write_geojson(tmp_path / "b3.geojson", [building("B1", 0)])
    assert import_buildings(conn, only_b1, replace=True, dry_run=True).removed == ["B2"]
    assert conn.execute(select(Building.code).order_by(Building.code)).scalars().all() == [
        "B1",
        "B2",
    ]


def test_bad_buildings_rejected_whole(conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [building("B1", 0), building("B1", 0.002), building("B3", 0.004, households=-1)],
    )
    with pytest.raises(FileRejected) as err:
        import_buildings(conn, path)
    text = str(err.value)
    assert "features[0]" in text and "duplicate code" in text
    assert "features[2]" in text and "households" in text and "whole number" in text
    assert conn.execute(select(Building.code)).first() is None


def test_staff_roster_validated_against_areas_and_buildings(
    conn: Connection, tmp_path: Path, area: str
) -> None:
    import_buildings(conn, write_geojson(tmp_path / "b.geojson", [building("B1", 0)]))
    good = tmp_path / "staff.csv"
    good.write_text(
        "code,name,role,phone,area_code,building_code\n"
        "S1,王芳,micro_grid_leader,13900000001,M1,\n"
        "S2,李强,building_team_leader,13900000002,,B1\n"
    )
    assert import_staff(conn, good).added == ["S1", "S2"]
    phone = conn.execute(select(Staff.phone).where(Staff.code == "S1")).scalar_one()
    assert phone == "13900000001"  # read as text, leading digits kept
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,role,phone,area_code,building_code\n"
        "S3,张伟,mayor,1,M1,\n"
        "S4,赵敏,full_time_member,2,NOPE,\n"
        "S5,孙丽,full_time_member,3,M1,B1\n"
        "S6,周杰,building_team_leader,4,,B9\n"
    )
    with pytest.raises(FileRejected) as err:
        import_staff(conn, bad)
    problems = err.value.problems
    assert [str(p).split(":")[0] for p in problems] == [
        "features[0] (code 'S3'), field 'role'",
        "features[1] (code 'S4'), field 'area_code'",
        "features[2] (code 'S5'), field 'area_code'",
        "features[3] (code 'S6'), field 'building_code'",
    ]
    assert conn.execute(select(Staff.code).order_by(Staff.code)).scalars().all() == ["S1", "S2"]


def test_facilities_need_points_and_known_kinds(conn: Connection, tmp_path: Path) -> None:
    good = points(tmp_path / "f.geojson", [("F1", "clinic", "真如社区卫生服务中心", 0.001)])
    assert import_facilities(conn, good).added == ["F1"]
    bad = points(tmp_path / "g.geojson", [("F2", "casino", "x", 0.0)])
    with pytest.raises(FileRejected, match="unknown kind 'casino'"):
        import_facilities(conn, bad)
