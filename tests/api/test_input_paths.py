"""One path from input coordinates to WGS-84: a projected EPSG:32651 (UTM 51N) point is
accepted by GET, batch, buildings and the CLI alike, and judged as the lon/lat it becomes;
`as_of` and `accuracy_m` over HTTP; bounded accuracy and shares never shown as 0."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pyproj import Transformer

from gis.assign.service import share_value
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer
from tests.fixtures import HALF, X0, Y0, load_small_street

UTM = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
PROBLEM = "application/problem+json"


def utm(lon: float, lat: float) -> tuple[float, float]:
    x, y = UTM.transform(lon, lat)
    return float(x), float(y)


@pytest.fixture(scope="module")
def api(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, str]]:
    url = new_database()
    engine = make_engine(url)
    load_small_street(engine, tmp_path_factory.mktemp("paths"))
    engine.dispose()
    with (
        LiveServer(Settings(database_url=url)) as live,
        live.client(timeout=30) as client,
    ):
        yield client, url


M4 = (X0 + HALF * 1.5, Y0 + HALF * 1.5)


def test_get_accepts_projected_input(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    x, y = utm(*M4)
    body = http.get("/v1/assign", params={"lon": x, "lat": y, "crs": "EPSG:32651"}).json()
    assert body["owner"]["code"] == "M4" and body["input"]["crs"] == "EPSG:32651"


def test_batch_accepts_projected_input_and_checks_after_conversion(
    api: tuple[httpx.Client, str],
) -> None:
    http, _ = api
    x, y = utm(*M4)
    body = {
        "crs": "EPSG:32651",
        "points": [
            {"id": "ok", "lon": x, "lat": y},
            {"id": "degrees", "lon": M4[0], "lat": M4[1]},  # degrees read as metres
            {"id": "nan", "lon": "NaN", "lat": y},
        ],
    }
    results = http.post("/v1/assign/batch", json=body).json()["results"]
    assert results[0]["owner"] == "M4"
    # degrees read as metres: a real place near the equator, outside the street
    assert results[1]["owner"] is None and "error" not in results[1]
    assert results[2]["error"] == "lon: not a number"
    far = http.post(
        "/v1/assign/batch", json={"crs": "EPSG:32651", "points": [{"lon": 9e9, "lat": 9e9}]}
    ).json()["results"][0]
    assert far["error"].startswith("lon:") and "EPSG:32651" in far["error"]


def test_buildings_accept_projected_input(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    corners = [
        utm(M4[0] + dx, M4[1] + dy) for dx, dy in ((0, 0), (4e-4, 0), (4e-4, 3e-4), (0, 3e-4))
    ]
    ring = [[*c] for c in [*corners, corners[0]]]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    metres_as_degrees = {"type": "Polygon", "coordinates": [ring]}
    answer = http.post(
        "/v1/assign/buildings",
        json={
            "type": "FeatureCollection",
            "crs": "EPSG:32651",
            "features": [{"type": "Feature", "id": "b", "geometry": polygon, "properties": {}}],
        },
    ).json()["results"][0]
    assert answer["owner"]["code"] == "M4" and answer["split"] is False
    wrong = http.post(
        "/v1/assign/buildings",
        json={
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": metres_as_degrees, "properties": {}}],
        },
    ).json()["results"][0]
    assert wrong["error"].startswith("geometry: coordinates outside lon")


def test_cli_accepts_projected_input(
    api: tuple[httpx.Client, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gis.cli import main

    _, url = api
    x, y = utm(*M4)
    source = tmp_path / "calls.csv"
    source.write_text(f"ticket,x,y\nT1,{x},{y}\nT2,1e12,1e12\n")
    out = tmp_path / "out.csv"
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "wangge",
            "assign",
            str(source),
            "--out",
            str(out),
            "--lon-col",
            "x",
            "--lat-col",
            "y",
            "--crs",
            "EPSG:32651",
        ],
    )
    main()
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["owner_code"] == "M4" and rows[0]["assign_error"] == ""
    assert rows[1]["owner_code"] == "" and rows[1]["assign_error"].startswith("lon:")


def test_as_of_and_accuracy_over_http(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    before = http.get(
        "/v1/assign", params={"lon": M4[0], "lat": M4[1], "as_of": "2000-01-01T00:00:00Z"}
    )
    assert before.status_code == 404 and before.headers["content-type"].startswith(PROBLEM)
    assert before.json()["field"] == "as_of"
    now = http.get(
        "/v1/assign", params={"lon": M4[0], "lat": M4[1], "as_of": "2100-01-01T00:00:00Z"}
    ).json()
    assert now["owner"]["code"] == "M4" and now["generation"] == 1
    border = {"lon": X0 + HALF + 5 / 95_300, "lat": Y0 + HALF * 1.5, "accuracy_m": 30}
    ambiguous = http.get("/v1/assign", params=border).json()
    assert ambiguous["ambiguous"] is True
    assert {c["code"] for c in ambiguous["candidates"]} == {"M3", "M4"}
    assert all(c["share"] > 0 for c in ambiguous["candidates"])


@pytest.mark.parametrize("value", ["1000000000", "0", "-1", "10000.5", "nan"])
def test_accuracy_is_bounded(api: tuple[httpx.Client, str], value: str) -> None:
    http, _ = api
    response = http.get("/v1/assign", params={"lon": M4[0], "lat": M4[1], "accuracy_m": value})
    assert response.status_code == 422 and response.json()["field"] == "accuracy_m"


def test_largest_accuracy_never_shows_a_share_as_zero(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    body = http.get("/v1/assign", params={"lon": M4[0], "lat": M4[1], "accuracy_m": 10_000}).json()
    assert body["ambiguous"] is True
    assert all(0 < c["share"] < 1 for c in body["candidates"])


@pytest.mark.parametrize(
    ("share", "shown"),
    [
        (0.5, 0.5),
        (0.123456, 0.1235),
        (3.2e-6, 3.2e-6),
        (0.0, 0.0),
        (1.0, 1.0),
        (0.9999991, 0.9999991),
    ],
)
def test_share_value(share: float, shown: float) -> None:
    assert share_value(share) == pytest.approx(shown, rel=1e-9, abs=1e-12)
