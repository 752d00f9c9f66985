"""``/v1/coverage`` over a real uvicorn server on the demo street."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.schemas.coverage import CoverageReportModel
from gis.settings import Settings
from tests.api.test_http import assert_problem
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def http(demo_db: str) -> Iterator[httpx.Client]:
    settings = Settings(database_url=demo_db, coverage_thresholds={"gap_min_m2": 20})
    with LiveServer(settings) as live, live.client(timeout=120) as client:
        yield client


def test_report_as_json(http: httpx.Client) -> None:
    response = http.get("/v1/coverage")
    assert response.status_code == 200, response.text
    body = response.json()
    CoverageReportModel.model_validate(body)
    assert body["generation"] == 1 and body["area"] is None
    assert body["thresholds"]["gap_min_m2"] == 20  # the deployment's override is stated
    assert body["summary"]["error"] == 11
    gap = next(f for f in body["findings"] if f["check"] == "gap")
    assert gap["area_code"] == "310107016010-G01" and gap["geometry"]["type"] == "Polygon"


def test_area_and_checks_select(http: httpx.Client) -> None:
    body = http.get("/v1/coverage", params={"area": "310107016005", "checks": "spatial"}).json()
    assert body["area"] == "310107016005"
    assert [(f["check"], f["area_code"]) for f in body["findings"]] == [
        ("overlap", "310107016005-G03")
    ]


@pytest.mark.parametrize(
    "url", ["/v1/coverage.geojson?checks=buildings", "/v1/coverage?checks=buildings&f=geojson"]
)
def test_report_as_geojson(http: httpx.Client, url: str) -> None:
    response = http.get(url)
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    checks = sorted(f["properties"]["check"] for f in collection["features"])
    assert checks == ["building_outside", "building_split"]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in collection["features"])


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"checks": "gap,nonsense"}, 422, "checks"),
        ({"area": "nowhere"}, 404, "area"),
        ({"generation": 0}, 422, "generation"),
        ({"generation": 7}, 404, "generation"),
        ({"f": "kml"}, 422, "f"),
    ],
)
def test_bad_requests_are_problems(
    http: httpx.Client, params: dict, status: int, field: str
) -> None:
    assert_problem(http.get("/v1/coverage", params=params), status, field)
    if "f" not in params:
        assert_problem(http.get("/v1/coverage.geojson", params=params), status, field)


def test_openapi_documents_both_routes(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in ("/v1/coverage", "/v1/coverage.geojson"):
        responses = paths[path]["get"]["responses"]
        assert {"200", "404", "422", "503"} <= set(responses)
    assert "CoverageReportModel" in str(paths["/v1/coverage"]["get"]["responses"]["200"])
