"""The address gazetteer table: import discipline (validate all, all or nothing, dry run),
polygons as points, CSV with lon/lat, and the per-process cache noticing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import Connection, Engine, func, select, text

from gis.crs import wgs84_to_gcj02
from gis.errors import InvalidInput
from gis.geocode import GazetteerCache
from gis.geocode.store import import_addresses
from gis.store.db import make_engine
from gis.store.models import ADDRESSES
from gis.vector import FileRejected
from tests.gis.areas.test_import_errors import run
from tests.gis.areas.test_importer import write_geojson


def point(address: Any, x: float, y: float = 31.24, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"addr": address, "dist": "普陀区", **props},
        "geometry": {"type": "Point", "coordinates": [x, y]},
    }


def rows(conn: Connection) -> dict[str, Any]:
    return {r.code: r for r in conn.execute(select(ADDRESSES, func.ST_X(ADDRESSES.c.geom)))}


GOOD = [point("兰溪路99弄12号", 121.40), point("兰溪路99弄13号", 121.41)]


def test_import_points_with_components(conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", [*GOOD, point("杏山路49弄3号楼", 121.42)])
    report = import_addresses(conn, path, address_field="addr", district_field="dist")
    assert report.added == [
        "普陀区/兰溪路99弄12号",
        "普陀区/兰溪路99弄13号",
        "普陀区/杏山路49弄3号楼",
    ]
    stored = rows(conn)
    row = stored["普陀区/杏山路49弄3号楼"]
    assert (row.normalized, row.road, row.lane, row.building, row.district) == (
        "杏山路49弄3幢",
        "杏山路",
        "49",
        "3",
        "普陀区",
    )
    assert row.attributes == {}


def test_upsert_and_replace(conn: Connection, tmp_path: Path) -> None:
    first = write_geojson(tmp_path / "1.geojson", GOOD)
    import_addresses(conn, first, address_field="addr")
    moved = write_geojson(tmp_path / "2.geojson", [point("兰溪路99弄12号", 121.405)])
    report = import_addresses(conn, moved, address_field="addr")
    assert (report.changed, report.added, report.removed) == (["兰溪路99弄12号"], [], [])
    assert len(rows(conn)) == 2
    report = import_addresses(conn, moved, address_field="addr", replace=True)
    assert report.unchanged == ["兰溪路99弄12号"] and report.removed == ["兰溪路99弄13号"]
    assert list(rows(conn)) == ["兰溪路99弄12号"]


def test_polygons_are_stored_as_a_point_inside(conn: Connection, tmp_path: Path) -> None:
    ring = [
        [121.40, 31.24],
        [121.41, 31.24],
        [121.41, 31.241],
        [121.4005, 31.241],
        [121.4005, 31.2405],
        [121.40, 31.2405],
        [121.40, 31.24],
    ]  # an L shape
    feature = {
        "type": "Feature",
        "properties": {"code": "B1", "address": "兰溪路99弄12号", "bld": "B1"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path = write_geojson(tmp_path / "b.geojson", [feature])
    report = import_addresses(
        conn, path, address_field="address", code_field="code", building_field="bld"
    )
    assert report.polygons == 1
    row = conn.execute(select(ADDRESSES.c.building_code, func.ST_AsText(ADDRESSES.c.geom))).one()
    assert row[0] == "B1"
    assert shapely.Polygon(ring).contains(shapely.from_wkt(row[1]))


def test_csv_with_lon_lat_and_crs(conn: Connection, tmp_path: Path) -> None:
    gx, gy = wgs84_to_gcj02(lon=121.40, lat=31.24)
    path = tmp_path / "a.csv"
    path.write_text(f"id,address,x,y\nA1,兰溪路99弄12号,{float(gx)!r},{float(gy)!r}\n")
    import_addresses(
        conn,
        path,
        address_field="address",
        code_field="id",
        lon_field="x",
        lat_field="y",
        crs="gcj02",
    )
    ((x, y),) = conn.execute(select(func.ST_X(ADDRESSES.c.geom), func.ST_Y(ADDRESSES.c.geom)))
    assert x == pytest.approx(121.40, abs=1e-7) and y == pytest.approx(31.24, abs=1e-7)


def test_dry_run_writes_nothing(conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", GOOD)
    report = import_addresses(conn, path, address_field="addr", dry_run=True)
    assert len(report.added) == 2 and report.dry_run
    assert rows(conn) == {}


BAD = [
    (point(None, 121.40), "features[1], field 'addr': missing address"),
    (point("兰溪路99弄12号", 121.40), "duplicate code (first at features[0])"),
    ({**point("兰溪路1号", 0), "geometry": None}, "features[2]"),
    (
        {
            **point("兰溪路2号", 0),
            "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        },
        "LineString is neither a point nor a polygon",
    ),
    (point("兰溪路3号", 190.0), "outside lon -180..180"),
]


def test_a_bad_file_is_refused_whole(conn: Connection, tmp_path: Path) -> None:
    features = [GOOD[0], *(f for f, _ in BAD)]
    path = write_geojson(tmp_path / "bad.geojson", features)
    with pytest.raises(FileRejected) as caught:
        import_addresses(conn, path, address_field="addr")
    message = str(caught.value)
    assert "nothing was written" in message and str(path) in message
    for _, needle in BAD:
        assert needle in message, needle
    assert rows(conn) == {}


def test_a_missing_column_is_named(conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", GOOD)
    with pytest.raises(InvalidInput) as caught:
        import_addresses(conn, path, address_field="addr", district_field="区")
    assert caught.value.field == "--district-field" and "'区'" in caught.value.reason


def test_addresses_without_a_road_are_kept_with_a_warning(conn: Connection, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", [*GOOD, point("99号", 121.43)])
    report = import_addresses(conn, path, address_field="addr")
    assert len(report.added) == 3
    assert "features[2] '99号'" in report.warnings[0]


def _table_state(url: str) -> tuple[Any, ...]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return tuple(
                c.execute(
                    text(
                        "SELECT count(*), md5(coalesce(string_agg(a::text, '' ORDER BY code), ''))"
                        " FROM addresses a"
                    )
                ).one()
            )
    finally:
        engine.dispose()


def test_cli_import_all_or_nothing_and_dry_run(
    fresh_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = write_geojson(tmp_path / "good.geojson", GOOD)
    argv = ["import", "addresses", str(good), "--address-field", "addr", "--district-field", "dist"]
    assert run([*argv, "--dry-run"], monkeypatch) == 0
    assert "dry run: nothing was written" in capsys.readouterr().out
    assert _table_state(fresh_db)[0] == 0
    assert run(argv, monkeypatch) == 0
    assert "added 2" in capsys.readouterr().out
    before = _table_state(fresh_db)
    bad = write_geojson(tmp_path / "bad.geojson", [point("兰溪路1号", 121.4), point(None, 121.4)])
    assert run(["import", "addresses", str(bad), "--address-field", "addr"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "features[1], field 'addr': missing address" in err
    assert _table_state(fresh_db) == before


def test_cache_reloads_when_the_table_changes(new_database: Any, tmp_path: Path) -> None:
    engine: Engine = make_engine(new_database())
    try:
        cache = GazetteerCache(engine, check_seconds=0)
        assert cache.get().size == 0
        first = cache.get()
        assert cache.get() is first  # unchanged: the same object
        path = write_geojson(tmp_path / "a.geojson", GOOD)
        with engine.begin() as conn:
            import_addresses(conn, path, address_field="addr", district_field="dist")
        fresh = cache.get()
        assert fresh is not first and fresh.size == 2
        assert fresh.geocode("兰溪路九十九弄十二号").code == "普陀区/兰溪路99弄12号"
    finally:
        engine.dispose()


def test_geopackage_polygons_in_a_projected_crs(conn: Connection, tmp_path: Path) -> None:
    import geopandas as gpd

    square = shapely.box(121.40, 31.24, 121.401, 31.241)
    frame = gpd.GeoDataFrame(
        {"addr": ["兰溪路99弄12号"], "dist": ["普陀区"]}, geometry=[square], crs="EPSG:4326"
    ).to_crs("EPSG:32651")
    path = tmp_path / "a.gpkg"
    frame.to_file(path, layer="addresses", driver="GPKG")
    report = import_addresses(conn, path, address_field="addr", district_field="dist")
    assert report.added == ["普陀区/兰溪路99弄12号"] and report.polygons == 1
    (wkt,) = conn.execute(select(func.ST_AsText(ADDRESSES.c.geom))).one()
    assert shapely.from_wkt(wkt).within(square)
