"""The configured limits over HTTP (issue 16): page size (one setting for every list, shown in
the OpenAPI document), bbox area, export rows, statement timeout. Each answer is
problem+json naming the parameter, the limit and its WANGGE_* setting."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import httpx
import pytest
from pyproj import CRS, Transformer
from sqlalchemy import text

from gis.limits import bbox_area_km2
from gis.settings import Settings
from gis.store.db import is_timeout, make_engine
from tests.conftest import LiveServer
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

PROBLEM = "application/problem+json"
PAGE = 100  # the smallest a deployment may set: the default page
BBOX_KM2 = 100.0
EXPORT_ROWS = 2
BATCH = 3
SMALL_BOX = f"{X0},{Y0},{X0 + 0.01},{Y0 + 0.01}"  # about 1 km²
BIG_BOX = f"{X0},{Y0},{X0 + 0.5},{Y0 + 0.5}"  # about 2,500 km²


@pytest.fixture(scope="module")
def api(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, str]]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("limits"))
    settings = Settings(
        database_url=url,
        max_page_size=PAGE,
        max_bbox_km2=BBOX_KM2,
        max_export_rows=EXPORT_ROWS,
        statement_timeout_s=1.0,
        batch_max_points=BATCH,
        incident_batch_max=BATCH,
        geocode_batch_max=BATCH,
    )
    with LiveServer(settings) as live, live.client(timeout=30) as http:
        for i in range(3):
            point = {"lon": X0 + HALF / 2 + i * 1e-4, "lat": Y0 + HALF / 2}
            created = http.post(
                "/v1/incidents", json={"category": "garbage", "source": "hotline", **point}
            )
            assert created.status_code == 201, created.text
        yield http, url


def problem(response: httpx.Response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["field"] == field and body["detail"]
    return body


LISTS = (
    "/v1/areas",
    "/v1/incidents",
    "/v1/incidents/review",
    "/ogc/collections/micro_grid/items",
)


@pytest.mark.parametrize("path", LISTS)
def test_page_size_is_one_setting_for_every_list(api: tuple[httpx.Client, str], path: str) -> None:
    http, _ = api
    assert http.get(path, params={"limit": PAGE}).status_code == 200
    body = problem(http.get(path, params={"limit": PAGE + 1}), 422, "limit")
    assert body["limit"] == PAGE and "WANGGE_MAX_PAGE_SIZE" in body["detail"]


def test_the_document_shows_the_configured_page_size(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    paths = http.get("/openapi.json").json()["paths"]
    maxima = {
        path: p["schema"]["maximum"]
        for path in LISTS
        for p in paths[path.replace("micro_grid", "{collectionId}")]["get"]["parameters"]
        if p["name"] == "limit"
    }
    assert maxima and set(maxima.values()) == {PAGE}, maxima


def test_open311_lists_at_most_the_page_size(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    assert len(http.get("/open311/v2/requests.json").json()) == 3  # all, under the limit
    # the limit caps the list (Open311 has no paging parameter)
    with httpx.Client(base_url=str(http.base_url), headers=http.headers) as client:
        many = client.get("/open311/v2/requests.json").json()
    assert len(many) <= PAGE


BBOX_ROUTES = (
    "/v1/areas",
    "/v1/incidents",
    "/v1/stats",
    "/v1/incidents/export.csv",
    "/v1/heatmap",
    "/ogc/collections/micro_grid/items",
)


@pytest.mark.parametrize("path", BBOX_ROUTES)
def test_a_bbox_over_the_area_limit_is_refused(api: tuple[httpx.Client, str], path: str) -> None:
    http, _ = api
    small = http.get(path, params={"bbox": SMALL_BOX})
    # (the heatmap of a street without households answers 404; the box itself is fine)
    assert small.status_code < 500 and small.json().get("field") != "bbox", small.text
    body = problem(http.get(path, params={"bbox": BIG_BOX}), 422, "bbox")
    assert body["limit"] == BBOX_KM2 and "WANGGE_MAX_BBOX_KM2" in body["detail"]


def test_a_projected_ogc_bbox_is_measured_too(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    crs = "http://www.opengis.net/def/crs/EPSG/0/4549"  # CGCS2000 / 3-degree GK CM 120E
    assert crs in http.get("/ogc/collections/micro_grid").json()["crs"]
    to_gk = Transformer.from_crs(4326, 4549, always_xy=True)
    north_first = CRS.from_epsg(4549).axis_info[0].direction == "north"

    def box(size_deg: float) -> str:
        (e0, e1), (n0, n1) = to_gk.transform([X0, X0 + size_deg], [Y0, Y0 + size_deg])
        corners = (n0, e0, n1, e1) if north_first else (e0, n0, e1, n1)
        return ",".join(f"{v:.1f}" for v in corners)

    items = "/ogc/collections/micro_grid/items"
    small = http.get(items, params={"bbox": box(0.01), "bbox-crs": crs})
    assert small.status_code == 200 and small.json()["numberMatched"] > 0, small.text
    big = http.get(items, params={"bbox": box(0.5), "bbox-crs": crs})
    assert "WANGGE_MAX_BBOX_KM2" in problem(big, 422, "bbox")["detail"]


def test_bbox_area_is_on_the_sphere() -> None:
    world = bbox_area_km2(west=-180, south=-90, east=180, north=90)
    assert world == pytest.approx(510_065_622, rel=1e-3)
    one_degree_at_31n = bbox_area_km2(west=121, south=31, east=122, north=32)
    degree_km = 6371.0088 * math.pi / 180
    assert one_degree_at_31n == pytest.approx(degree_km**2 * math.cos(math.radians(31.5)), rel=1e-3)


@pytest.mark.parametrize("suffix", ["csv", "geojson"])
def test_an_export_over_the_row_limit_is_refused_before_streaming(
    api: tuple[httpx.Client, str], suffix: str
) -> None:
    http, _ = api
    body = problem(http.get(f"/v1/incidents/export.{suffix}"), 413, "export")
    assert body["limit"] == EXPORT_ROWS and body["matched"] == 3
    assert "WANGGE_MAX_EXPORT_ROWS" in body["detail"] and "narrow" in body["detail"]
    narrowed = http.get(f"/v1/incidents/export.{suffix}", params={"status": "closed"})
    assert narrowed.status_code == 200


def test_a_query_over_the_statement_timeout_is_a_503(api: tuple[httpx.Client, str]) -> None:
    http, url = api
    engine = make_engine(url)
    try:
        with engine.begin() as blocker:
            # hold the table so that the next read waits past the 1 s statement timeout
            blocker.execute(text("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE"))
            response = http.get("/v1/incidents")
        body = problem(response, 503, "database")
        assert response.headers["retry-after"] and "WANGGE_STATEMENT_TIMEOUT_S" in body["detail"]
    finally:
        engine.dispose()
    assert http.get("/v1/incidents").status_code == 200


def test_the_engine_sets_the_statement_timeout(api: tuple[httpx.Client, str]) -> None:
    _, url = api
    engine = make_engine(url, statement_timeout_s=0.2)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "200ms"
            with pytest.raises(Exception) as caught:
                conn.execute(text("SELECT pg_sleep(2)"))
        assert is_timeout(caught.value)
    finally:
        engine.dispose()


def test_every_batch_names_its_size_setting(api: tuple[httpx.Client, str]) -> None:
    http, _ = api
    point = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
    square = [[[X0, Y0], [X0 + 1e-4, Y0], [X0 + 1e-4, Y0 + 1e-4], [X0, Y0]]]
    building = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square}}
    cases = [
        ("/v1/assign/batch", {"points": [point] * 4}, "points", "WANGGE_BATCH_MAX_POINTS"),
        (
            "/v1/assign/buildings",
            {"type": "FeatureCollection", "features": [building] * 4},
            "features",
            "WANGGE_BATCH_MAX_POINTS",
        ),
        (
            "/v1/incidents/batch",
            {"incidents": [{"category": "garbage", **point}] * 4},
            "incidents",
            "WANGGE_INCIDENT_BATCH_MAX",
        ),
        (
            "/v1/geocode/batch",
            {"addresses": ["兰溪路99弄12号"] * 4},
            "addresses",
            "WANGGE_GEOCODE_BATCH_MAX",
        ),
    ]
    for path, body, field, setting in cases:
        answer = problem(http.post(path, json=body), 413, field)
        assert answer["limit"] == BATCH and setting in answer["detail"], answer
