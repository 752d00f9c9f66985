"""The HTTP API over a real uvicorn server on loopback, against real PostGIS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer
from tests.fixtures import HALF, X0, Y0, load_small_street

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Api:
    url: str
    database_url: str
    headers: dict[str, str]  # the admin key (issue 16)


@pytest.fixture(scope="module")
def server(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    url = new_database()
    engine = make_engine(url)
    load_small_street(engine, tmp_path_factory.mktemp("api"))
    engine.dispose()
    settings = Settings(database_url=url, batch_max_points=1000, max_body_bytes=200_000)
    with LiveServer(settings) as live:
        yield Api(live.url, url, live.headers)


@pytest.fixture(scope="module")
def http(server: Api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["field"] == field and body["detail"]
    return body


def test_healthz(http: httpx.Client) -> None:
    body = http.get("/healthz").json()
    assert body["status"] == "ok" and body["generation"] == 1 and body["postgis"]


def test_docs_and_openapi(http: httpx.Client) -> None:
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/areas",
        "/v1/areas/{code}",
        "/v1/assign",
        "/v1/assign/batch",
        "/v1/assign/buildings",
        "/healthz",
    ):
        assert path in paths


def test_areas_pages_through_next_links(http: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/v1/areas?limit=2"
    pages = 0
    while url:
        response = http.get(url)
        assert response.headers["content-type"].startswith("application/geo+json")
        page = response.json()
        assert page["type"] == "FeatureCollection" and page["numberMatched"] == 7
        assert page["numberReturned"] == len(page["features"]) <= 2
        seen += [f["properties"]["code"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        pages += 1
    assert seen == sorted(["S", "G1", "G2", "M1", "M2", "M3", "M4"]) and pages == 4


def test_areas_filters(http: httpx.Client) -> None:
    def codes(query: str) -> list[str]:
        return [f["id"] for f in http.get(f"/v1/areas?{query}").json()["features"]]

    assert codes("level=micro_grid") == ["M1", "M2", "M3", "M4"]
    assert codes("parent=G2") == ["M2", "M4"]
    west, south = X0 + 0.001, Y0 + 0.001
    assert codes(f"level=micro_grid&bbox={west},{south},{west + 0.001},{south + 0.001}") == ["M1"]
    assert codes("level=micro_grid&generation=1") == ["M1", "M2", "M3", "M4"]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("level=parish", 422, "level"),
        ("limit=0", 422, "limit"),
        ("limit=5000", 422, "limit"),
        ("offset=-1", 422, "offset"),
        ("bbox=1,2,3", 422, "bbox"),
        ("bbox=10,10,5,5", 422, "bbox"),
        ("generation=99", 404, "generation"),
        ("generation=abc", 422, "generation"),
        ("as_of=1999-01-01T00:00:00Z", 404, "as_of"),
        ("as_of=yesterday", 422, "as_of"),
    ],
)
def test_areas_bad_input(http: httpx.Client, query: str, status: int, field: str) -> None:
    assert_problem(http.get(f"/v1/areas?{query}"), status, field)


def test_area_detail(http: httpx.Client) -> None:
    feature = http.get("/v1/areas/M1").json()
    props = feature["properties"]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "MultiPolygon"
    assert [c["code"] for c in props["chain"]] == ["S", "G1", "M1"]
    assert props["child_count"] == 0 and [s["code"] for s in props["staff"]] == ["P1", "P2"]
    assert http.get("/v1/areas/G1").json()["properties"]["child_count"] == 2
    assert_problem(http.get("/v1/areas/NOPE"), 404, "code")


def test_assign_point(http: httpx.Client) -> None:
    body = http.get("/v1/assign", params={"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}).json()
    assert body["owner"]["code"] == "M1" and body["generation"] == 1
    assert [c["code"] for c in body["chain"]] == ["S", "G1", "M1"]
    assert body["staff"][0]["role"] == "micro_grid_leader"
    vertex = http.get("/v1/assign", params={"lon": X0 + HALF, "lat": Y0 + HALF}).json()
    assert vertex["owner"]["code"] == "M1"
    assert [a["code"] for a in vertex["also_covered_by"]] == ["M2", "M3", "M4"]


def test_assign_gcj02_input(http: httpx.Client) -> None:
    from gis.crs import wgs84_to_gcj02

    # near the east edge: GCJ-02 is ~450 m east of WGS-84 here
    lon, lat = wgs84_to_gcj02(lon=X0 + 0.018, lat=Y0 + HALF * 1.5)
    body = http.get(
        "/v1/assign", params={"lon": float(lon), "lat": float(lat), "crs": "gcj02"}
    ).json()
    assert body["owner"]["code"] == "M4" and body["input"]["crs"] == "gcj02"
    # the same numbers read as WGS-84 land ~450 m east, outside the street
    assert (
        http.get("/v1/assign", params={"lon": float(lon), "lat": float(lat)}).json()["owner"]
        is None
    )


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"lat": 31.2}, 422, "lon"),
        ({"lon": "x", "lat": 31.2}, 422, "lon"),
        ({"lon": 121.4, "lat": 95}, 422, "lat"),
        ({"lon": "nan", "lat": 31.2}, 422, "lon"),
        ({"lon": 121.4, "lat": 31.2, "crs": "mars"}, 422, "crs"),
        ({"lon": 121.4, "lat": 31.2, "level": "parish"}, 422, "level"),
        ({"lon": 121.4, "lat": 31.2, "level": "block"}, 404, "level"),
        ({"lon": 121.4, "lat": 31.2, "accuracy_m": -3}, 422, "accuracy_m"),
        ({"lon": 121.4, "lat": 31.2, "generation": 7}, 404, "generation"),
    ],
)
def test_assign_bad_input(http: httpx.Client, params: dict, status: int, field: str) -> None:
    assert_problem(http.get("/v1/assign", params=params), status, field)


def test_batch_answers_in_order_with_per_item_errors(http: httpx.Client) -> None:
    points = [
        {"id": "a", "lon": X0 + HALF / 2, "lat": Y0 + HALF / 2},
        {"id": "b", "lon": "x", "lat": 31.2},
        {"id": "c", "lat": 31.2},
        {"id": "d", "lon": 121.4, "lat": 95},
        {"id": "e", "lon": X0 + HALF * 1.5, "lat": Y0 - 0.001},
        "not an object",
        {"id": "g", "lon": X0 + HALF * 1.5, "lat": Y0 + HALF * 1.5},
    ]
    body = http.post("/v1/assign/batch", json={"points": points}).json()
    results = body["results"]
    assert body["count"] == 7 and body["errors"] == 4 and body["generation"] == 1
    assert [r["id"] for r in results] == ["a", "b", "c", "d", "e", 5, "g"]
    assert results[0] == {"id": "a", "owner": "M1", "also_covered_by": [], "nearest": None}
    assert results[1]["error"] == "lon: not a number"
    assert results[2]["error"] == "lon: missing"
    assert results[3]["error"] == "lat: outside -90..90"
    assert results[4]["owner"] is None and results[4]["nearest"]["code"] == "M2"
    assert results[4]["nearest"]["distance_m"] == pytest.approx(110.9, abs=0.5)
    assert results[5]["error"] == "item: not a JSON object"
    assert results[6]["owner"] == "M4"
    # each area named in the results is described once, with its chain
    assert body["detail"] == "compact"
    assert body["areas"] == {
        "M1": {"name": "西南微网格", "level": "micro_grid", "chain": ["S", "G1", "M1"]},
        "M2": {"name": "东南微网格", "level": "micro_grid", "chain": ["S", "G2", "M2"]},
        "M4": {"name": "东北微网格", "level": "micro_grid", "chain": ["S", "G2", "M4"]},
    }


def test_batch_full_detail_repeats_the_single_point_shape(http: httpx.Client) -> None:
    point = {"lon": X0 + HALF, "lat": Y0 + HALF}
    body = http.post("/v1/assign/batch", json={"detail": "full", "points": [point]}).json()
    single = http.get("/v1/assign", params=point).json()
    result = body["results"][0]
    assert body["detail"] == "full" and "areas" not in body
    for key in ("owner", "chain", "also_covered_by", "nearest"):
        assert result[key] == single[key]
    assert result["id"] == 0  # no id given: the position


def test_batch_accepts_geojson(http: httpx.Client) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": 7,
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [X0 + HALF / 2, Y0 + HALF * 1.5]},
            },
            {
                "type": "Feature",
                "properties": {"id": "L"},
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            },
        ],
    }
    results = http.post("/v1/assign/batch", json=collection).json()["results"]
    assert results[0]["id"] == 7 and results[0]["owner"] == "M3"
    assert results[1]["id"] == "L" and results[1]["error"].startswith("geometry")


def test_batch_limits_and_bad_bodies(http: httpx.Client) -> None:
    many = {"points": [{"id": i, "lon": X0, "lat": Y0} for i in range(1001)]}
    assert_problem(http.post("/v1/assign/batch", json=many), 413, "points")
    huge = b'{"points": [' + b'{"lon": 121.4, "lat": 31.2},' * 10_000 + b"]}"
    assert_problem(
        http.post("/v1/assign/batch", content=huge, headers={"content-type": "application/json"}),
        413,
        "body",
    )
    assert_problem(http.post("/v1/assign/batch", content=b"{nope"), 422, "body")
    assert_problem(http.post("/v1/assign/batch", content=b""), 422, "body")
    assert_problem(http.post("/v1/assign/batch", json=[1, 2]), 422, "body")
    assert_problem(http.post("/v1/assign/batch", json={"points": []}), 422, "points")
    assert_problem(http.post("/v1/assign/batch", json={"points": [], "crs": 4}), 422, "points")
    assert_problem(
        http.post("/v1/assign/batch", json={"points": [{"lon": 1, "lat": 1}], "crs": "mars"}),
        422,
        "crs",
    )
    assert_problem(
        http.post("/v1/assign/batch", json={"points": [{"lon": 1, "lat": 1}], "level": "x"}),
        422,
        "level",
    )
    assert_problem(
        http.post("/v1/assign/batch", json={"points": [{"lon": 1, "lat": 1}], "detail": "x"}),
        422,
        "detail",
    )


def test_buildings_by_largest_share(http: httpx.Client) -> None:
    from tests.fixtures import rect

    xm = X0 + HALF
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "split",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": rect(xm - 0.0006, Y0 + 0.002, xm + 0.0004, Y0 + 0.0025),
                },
            },
            {
                "type": "Feature",
                "id": "inside",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": rect(X0 + 0.001, Y0 + 0.001, X0 + 0.0012, Y0 + 0.0012),
                },
            },
            {
                "type": "Feature",
                "id": "bad",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [X0, Y0]},
            },
        ],
    }
    results = http.post("/v1/assign/buildings", json=collection).json()["results"]
    split = results[0]
    assert split["owner"]["code"] == "M1" and split["split"] is True
    shares = {s["code"]: s["share"] for s in split["shares"]}
    assert shares == pytest.approx({"M1": 0.6, "M2": 0.4}, abs=1e-3)
    assert results[1]["owner"]["code"] == "M1" and results[1]["split"] is False
    assert results[2]["error"].startswith("geometry")


def test_unknown_route_is_a_problem(http: httpx.Client) -> None:
    response = http.get("/v2/nothing")
    assert response.status_code == 404 and response.headers["content-type"].startswith(PROBLEM)


def test_cli_assign_file_keeps_every_column(
    server: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv
    import sys

    from gis.cli import main

    source = tmp_path / "calls.csv"
    source.write_text(
        "ticket,lon,lat,note\n"
        f'T1,{X0 + HALF / 2},{Y0 + HALF / 2},"漏水, 3楼"\n'
        "T2,,31.2,missing lon\n"
        f"T3,{X0 + HALF * 1.5},{Y0 - 0.001},outside\n"
    )
    out = tmp_path / "out.csv"
    monkeypatch.setenv("WANGGE_DATABASE_URL", server.database_url)
    monkeypatch.setattr(sys, "argv", ["wangge", "assign", str(source), "--out", str(out)])
    main()
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["ticket"] for r in rows] == ["T1", "T2", "T3"]
    assert rows[0]["note"] == "漏水, 3楼" and rows[0]["owner_code"] == "M1"
    assert rows[1]["assign_error"] == "lon: missing" and rows[1]["owner_code"] == ""
    assert rows[2]["owner_code"] == "" and rows[2]["nearest_code"] == "M2"
    assert float(rows[2]["nearest_distance_m"]) == pytest.approx(110.9, abs=0.5)


def test_cli_assign_geojson_keeps_properties(
    server: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import sys

    from gis.cli import main
    from gis.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(lon=X0 + HALF * 1.5, lat=Y0 + HALF * 1.5)
    source = tmp_path / "reports.geojson"
    source.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"ticket": "R1", "kind": "积水"},
                        "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                    },
                    {
                        "type": "Feature",
                        "properties": {"ticket": "R2", "kind": "噪音"},
                        "geometry": None,
                    },
                ],
            },
            ensure_ascii=False,
        )
    )
    out = tmp_path / "out.geojson"
    monkeypatch.setenv("WANGGE_DATABASE_URL", server.database_url)
    monkeypatch.setattr(
        sys, "argv", ["wangge", "assign", str(source), "--out", str(out), "--crs", "gcj02"]
    )
    main()
    features = json.loads(out.read_text())["features"]
    assert [f["properties"]["ticket"] for f in features] == ["R1", "R2"]
    assert features[0]["properties"]["kind"] == "积水"
    assert features[0]["properties"]["owner_code"] == "M4"
    assert features[0]["geometry"]["coordinates"] == [float(lon), float(lat)]  # unchanged
    assert features[1]["properties"]["assign_error"] == "geometry: not a point"
