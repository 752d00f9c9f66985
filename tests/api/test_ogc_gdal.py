"""GDAL's OAPIF driver (through pyogrio) reads every collection of the demo street from the
running server, the way QGIS and ogr2ogr do: completely through paging, with a bbox, with
``datetime`` selecting an older boundary generation, and in CGCS2000 and the local
projected CRS. Incidents too: located ones as points, unlocated ones with no geometry."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text

from tests.api.ogc_fixtures import LOCATED, PHONE, RENAMED, UNLOCATED, DemoServer, Gdal

# small pages so that every collection but the street needs several requests
PAGE = {"PAGE_SIZE": "100"}
BBOX = (121.39, 31.24, 121.41, 31.26)
COUNTS = {
    "street": "SELECT count(*) FROM areas WHERE level = 'street' AND valid @> 2",
    "community": "SELECT count(*) FROM areas WHERE level = 'community' AND valid @> 2",
    "grid": "SELECT count(*) FROM areas WHERE level = 'grid' AND valid @> 2",
    "micro_grid": "SELECT count(*) FROM areas WHERE level = 'micro_grid' AND valid @> 2",
    "block": "SELECT count(*) FROM areas WHERE level = 'block' AND valid @> 2",
    "corridor": "SELECT count(*) FROM areas WHERE level = 'corridor' AND valid @> 2",
    "buildings": "SELECT count(*) FROM buildings",
    "facilities": "SELECT count(*) FROM facilities",
}


def oapif(server: DemoServer, query: str = "") -> str:
    return f"OAPIF:{server.url}/ogc/{query}"


def count(server: DemoServer, sql: str, **params: object) -> int:
    with server.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_gdal_lists_every_collection(demo_server: DemoServer, gdal: Gdal) -> None:
    layers = {name: kind for name, kind in gdal.layers(oapif(demo_server))}
    assert set(layers) == {*COUNTS, "incidents"}
    assert layers["micro_grid"] == "MultiPolygon" and layers["facilities"] == "Point"
    assert layers["incidents"] == "Point"


@pytest.mark.parametrize("collection", list(COUNTS))
def test_gdal_reads_every_collection_completely(
    demo_server: DemoServer, gdal: Gdal, collection: str
) -> None:
    frame = gdal.read(oapif(demo_server), layer=collection, **PAGE)
    assert len(frame) == count(demo_server, COUNTS[collection]) > 0
    assert frame["code"].is_unique
    assert frame.crs.to_string() == "OGC:CRS84"
    assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any()


def test_gdal_reads_incidents_completely_unlocated_ones_without_geometry(
    demo_server: DemoServer, gdal: Gdal
) -> None:
    frame = gdal.read(oapif(demo_server), layer="incidents", **PAGE)
    total = count(demo_server, "SELECT count(*) FROM incidents")
    unlocated = count(demo_server, "SELECT count(*) FROM incidents WHERE geom IS NULL")
    assert (len(frame), total, unlocated) == (LOCATED + UNLOCATED, LOCATED + UNLOCATED, UNLOCATED)
    assert frame.crs.to_string() == "OGC:CRS84"
    located = frame[frame.geometry.notna()]
    assert len(located) == LOCATED and located.geometry.is_valid.all()
    assert set(located.geometry.geom_type) == {"Point"}
    assert set(frame.loc[frame.geometry.isna(), "location_status"]) == {"needs_review"}
    assert set(frame["reporter_phone"].dropna()) == {"138****5678"}
    assert PHONE not in frame.to_string()


def test_gdal_counts_match_generated_files(demo_server: DemoServer, gdal: Gdal) -> None:
    micro = gdal.read(oapif(demo_server), layer="micro_grid", **PAGE)
    buildings = gdal.read(oapif(demo_server), layer="buildings", **PAGE)
    assert (len(micro), len(buildings)) == (305, 3172)  # 306 shipped, one removed in gen 2


def test_gdal_bbox_filter_matches_postgis(demo_server: DemoServer, gdal: Gdal) -> None:
    frame = gdal.read(oapif(demo_server), layer="buildings", bbox=BBOX, **PAGE)
    expected = count(
        demo_server,
        "SELECT count(*) FROM buildings "
        "WHERE ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))",
        w=BBOX[0],
        s=BBOX[1],
        e=BBOX[2],
        n=BBOX[3],
    )
    assert 0 < len(frame) == expected < count(demo_server, COUNTS["buildings"])


def test_gdal_datetime_reads_the_older_generation(demo_server: DemoServer, gdal: Gdal) -> None:
    when = demo_server.between.isoformat().replace("+00:00", "Z")
    old = gdal.read(oapif(demo_server, f"?datetime={when}"), layer="micro_grid")
    now = gdal.read(oapif(demo_server), layer="micro_grid")
    assert (len(old), len(now)) == (306, 305)
    assert demo_server.removed_code in set(old["code"]) - set(now["code"])
    renamed = demo_server.renamed_code
    assert now.loc[now["code"] == renamed, "name"].item() == RENAMED
    assert old.loc[old["code"] == renamed, "name"].item() != RENAMED
    assert (old["generation_from"] == 1).all()


def test_gdal_reads_cgcs2000_and_the_local_projected_crs(
    demo_server: DemoServer, gdal: Gdal
) -> None:
    wgs = gdal.read(oapif(demo_server), layer="micro_grid")
    cgcs = gdal.read(oapif(demo_server), layer="micro_grid", CRS="EPSG:4490")
    gk = gdal.read(oapif(demo_server), layer="micro_grid", CRS="EPSG:4549")
    assert (cgcs.crs.to_epsg(), gk.crs.to_epsg()) == (4490, 4549)
    assert list(cgcs["code"]) == list(wgs["code"]) == list(gk["code"])
    # CGCS2000 and WGS-84 agree to centimetres: GDAL must have undone the lat/lon order
    a = shapely.get_coordinates(wgs.geometry.values)
    b = shapely.get_coordinates(cgcs.geometry.values)
    assert np.abs(a - b).max() < 1e-6
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    c = shapely.get_coordinates(gk.geometry.values)
    x, y = to_gk.transform(a[:, 0], a[:, 1])
    assert np.abs(c[:, 0] - x).max() < 0.01 and np.abs(c[:, 1] - y).max() < 0.01


def test_gdal_bbox_in_cgcs2000(demo_server: DemoServer, gdal: Gdal) -> None:
    wgs = gdal.read(oapif(demo_server), layer="micro_grid", bbox=BBOX)
    cgcs = gdal.read(oapif(demo_server), layer="micro_grid", CRS="EPSG:4490", bbox=BBOX)
    assert 0 < len(cgcs) == len(wgs) < 305
