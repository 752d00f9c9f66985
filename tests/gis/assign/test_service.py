"""gis.assign.service on real PostGIS: indexes from the store, generations, the PostGIS path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from gis.areas.generations import activate
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.assign.service import Assigner, assign_point
from gis.errors import InvalidInput, NotFound
from gis.store.db import make_engine
from tests.conftest import reference
from tests.fixtures import HALF, X0, Y0, load_small_street, redraw_micro_grids


@pytest.fixture(scope="module")
def small(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    engine = make_engine(new_database())
    load_small_street(engine, tmp_path_factory.mktemp("small"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def towns(new_database: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(new_database())
    source = read_area_file(
        reference("shanghai_townships_wgs84.geojson"), code_field="id", name_field="name"
    )
    with engine.begin() as conn:
        import_areas(conn, source, level="street", activate=True)
    yield engine
    engine.dispose()


def test_owner_chain_staff_and_generation(small: Engine) -> None:
    result = assign_point(Assigner(small), lon=X0 + HALF / 2, lat=Y0 + HALF / 2)
    assert result["owner"] == {"code": "M1", "name": "西南微网格", "level": "micro_grid"}
    assert [c["code"] for c in result["chain"]] == ["S", "G1", "M1"]
    assert [s["code"] for s in result["staff"]] == ["P1", "P2"]
    assert result["generation"] == 1 and result["level"] == "micro_grid"
    assert result["also_covered_by"] == [] and result["nearest"] is None
    assert "note" not in result


def test_shared_vertex_goes_to_smallest_code(small: Engine) -> None:
    result = assign_point(Assigner(small), lon=X0 + HALF, lat=Y0 + HALF)
    assert result["owner"]["code"] == "M1"
    assert [a["code"] for a in result["also_covered_by"]] == ["M2", "M3", "M4"]


def test_outside_gets_nearest_in_metres(small: Engine) -> None:
    # 0.001° of latitude south of the street: ~110.9 m at this latitude
    result = assign_point(Assigner(small), lon=X0 + HALF / 2, lat=Y0 - 0.001)
    assert result["owner"] is None and result["chain"] == []
    assert result["nearest"]["code"] == "M1"
    assert result["nearest"]["distance_m"] == pytest.approx(110.9, abs=0.5)
    limited = assign_point(Assigner(small), lon=X0 + HALF / 2, lat=Y0 - 0.001, max_distance_m=50)
    assert limited["nearest"] is None


def test_accuracy_circle_marks_ambiguity(small: Engine) -> None:
    # 10 m west of the M1/M2 border: the owner is M1 but a 30 m circle reaches M2
    lon = X0 + HALF - 10 / 95_300
    result = assign_point(Assigner(small), lon=lon, lat=Y0 + HALF / 2, accuracy_m=30)
    assert result["owner"]["code"] == "M1" and result["ambiguous"] is True
    shares = {c["code"]: c["share"] for c in result["candidates"]}
    assert set(shares) == {"M1", "M2"} and shares["M1"] > shares["M2"] > 0.1
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    calm = assign_point(Assigner(small), lon=X0 + HALF / 2, lat=Y0 + HALF / 2, accuracy_m=30)
    assert calm["ambiguous"] is False and "candidates" not in calm


@pytest.mark.reference_data
def test_level_choice_and_fallback(small: Engine, towns: Engine) -> None:
    grid = assign_point(Assigner(small), lon=X0 + HALF / 2, lat=Y0 + HALF / 2, level="grid")
    assert grid["owner"]["code"] == "G1" and grid["chain"][-1]["code"] == "G1"
    with pytest.raises(NotFound) as err:
        assign_point(Assigner(small), lon=X0, lat=Y0, level="block")
    assert err.value.field == "level"
    with pytest.raises(InvalidInput):
        assign_point(Assigner(small), lon=X0, lat=Y0, level="village")
    street = assign_point(Assigner(towns), lon=121.40, lat=31.25)
    assert street["level"] == "street" and "deepest level present" in street["note"]


@pytest.mark.parametrize(
    ("lon", "lat", "field"),
    [
        (float("nan"), 31.2, "lon"),
        (121.4, float("inf"), "lat"),
        (181.0, 31.2, "lon"),
        (121.4, -91.0, "lat"),
    ],
)
def test_bad_coordinates_name_the_field(small: Engine, lon: float, lat: float, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        assign_point(Assigner(small), lon=lon, lat=lat)
    assert err.value.field == field


def test_new_generation_is_noticed_and_old_one_still_answers(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    engine = make_engine(new_database())
    load_small_street(engine, tmp_path)
    assigner = Assigner(engine, check_seconds=0.0)
    point = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF / 2}
    assert assign_point(assigner, **point)["owner"]["code"] == "M2"
    moved = redraw_micro_grids(tmp_path)  # M1 now takes the whole southern half
    with engine.begin() as conn:
        report = import_areas(
            conn,
            read_area_file(moved, code_field="code", name_field="name", parent_field="parent_code"),
            level="micro_grid",
        )
        assert report.removed == ["M2"] and report.changed == ["M1", "M3", "M4"]
    # imported but not active: still generation 1
    assert assign_point(assigner, **point)["owner"]["code"] == "M2"
    with engine.begin() as conn:
        activate(conn)
    now = assign_point(assigner, **point)
    assert (now["owner"]["code"], now["generation"]) == ("M1", 2)
    then = assign_point(assigner, **point, generation=1)
    assert (then["owner"]["code"], then["generation"]) == ("M2", 1)
    engine.dispose()


def postgis_owners(
    engine: Engine, lon: np.ndarray, lat: np.ndarray, *, level: str, generation: int
) -> list[list[str]]:
    """Covering codes per point by ST_Covers on area_parts, computed in the database."""
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TEMP TABLE pts (i int, geom geometry(Point, 4326)) ON COMMIT DROP")
        )
        conn.execute(
            text(
                "INSERT INTO pts SELECT i - 1, ST_SetSRID(ST_MakePoint(x, y), 4326) "
                "FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) "
                "WITH ORDINALITY AS t(x, y, i)"
            ),
            {"x": lon.tolist(), "y": lat.tolist()},
        )
        conn.execute(text("CREATE INDEX ON pts USING gist (geom)"))
        conn.execute(text("ANALYZE pts"))
        rows = conn.execute(
            text(
                "SELECT p.i, array_agg(DISTINCT a.code ORDER BY a.code) FROM pts p "
                "JOIN area_parts ap ON ST_Covers(ap.geom, p.geom) "
                "JOIN areas a ON a.id = ap.area_id AND a.level = :level "
                "AND a.valid @> CAST(:g AS int) GROUP BY p.i"
            ),
            {"level": level, "g": generation},
        )
        found = {i: list(codes) for i, codes in rows}
    return [found.get(i, []) for i in range(len(lon))]


@pytest.mark.reference_data
def test_postgis_path_agrees_with_index_on_real_addresses(towns: Engine) -> None:
    import geopandas as gpd

    points = gpd.read_file(reference("shanghai_covid2022_case_addresses_wgs84.geojson"))
    assert len(points) == 26_105
    lon, lat = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    assigner = Assigner(towns)
    level_index = assigner.index(generation=assigner.current_generation(), level="street")
    lookup = level_index.index.lookup(lon=lon, lat=lat)
    ours = [
        [level_index.refs[j].code for j in lookup.covering(i).tolist()] for i in range(len(lon))
    ]
    theirs = postgis_owners(towns, lon, lat, level="street", generation=1)
    mismatches = [i for i in range(len(lon)) if ours[i] != theirs[i]]
    assert [(i, ours[i], theirs[i]) for i in mismatches] == []
    assert sum(1 for c in ours if c) > 26_000  # nearly every address lies in some township


def test_roster_change_is_noticed_without_a_new_generation(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    engine = make_engine(new_database())
    load_small_street(engine, tmp_path)
    assigner = Assigner(engine, check_seconds=0.0)
    point = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
    assert [s["code"] for s in assign_point(assigner, **point)["staff"]] == ["P1", "P2"]
    roster = tmp_path / "more.csv"
    roster.write_text(
        "code,name,role,phone,area_code,building_code\nP9,赵敏,part_time_member,1,M1,\n"
    )
    from gis.registers import import_staff

    with engine.begin() as conn:
        import_staff(conn, roster)
    assert [s["code"] for s in assign_point(assigner, **point)["staff"]] == ["P1", "P2", "P9"]
    engine.dispose()


def test_postgis_path_agrees_with_index_on_the_demo_street(
    new_database: Callable[[], str],
) -> None:
    """Random points over the street, points within a metre of micro-grid edges, and the
    planted overlap: ST_Covers on area_parts gives the same covering sets as the index."""
    from gis.demo_load import load_demo
    from tests.conftest import DEMO_DATA

    engine = make_engine(new_database())
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
    assigner = Assigner(engine)
    level_index = assigner.index(generation=1)
    geoms = level_index.index.geometries
    rng = np.random.default_rng(11)
    b = level_index.index.bounds
    coords = shapely.get_coordinates(geoms)
    pick = rng.integers(0, len(coords), 5_000)
    lon = np.concatenate(
        [rng.uniform(b[0], b[2], 20_000), coords[pick, 0] + rng.normal(0, 1e-5, pick.size)]
    )
    lat = np.concatenate(
        [rng.uniform(b[1], b[3], 20_000), coords[pick, 1] + rng.normal(0, 1e-5, pick.size)]
    )
    lookup = level_index.index.lookup(lon=lon, lat=lat)
    ours = [
        [level_index.refs[j].code for j in lookup.covering(i).tolist()] for i in range(len(lon))
    ]
    theirs = postgis_owners(engine, lon, lat, level="micro_grid", generation=1)
    assert [(i, ours[i], theirs[i]) for i in range(len(lon)) if ours[i] != theirs[i]] == []
    assert any(len(c) > 1 for c in ours)  # shared edges and the overlap were exercised
    engine.dispose()
