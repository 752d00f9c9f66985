"""``/v1/geocode``, ``/v1/geocode/batch`` and ``/v1/reverse`` over a real uvicorn server:
the small street's boundaries plus a few standard addresses inside its micro-grids."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.schemas.geocode import BatchResponse, Geocoded, Reversed
from gis.geocode.store import import_addresses
from gis.settings import Settings
from gis.store.db import make_engine
from tests.api.test_http import assert_problem
from tests.conftest import LiveServer
from tests.fixtures import HALF, X0, Y0, load_small_street

# M1 is the south-west micro-grid of the small street, M4 the north-east one
SW = (X0 + HALF / 2, Y0 + HALF / 2)
NE = (X0 + 1.5 * HALF, Y0 + 1.5 * HALF)
ADDRESSES = [
    ("A1", "测试路1弄1号", *SW),
    ("A2", "测试路1弄2号", SW[0] + 0.0002, SW[1]),
    ("A3", "兰溪路99弄12号", *NE),
]


def _gazetteer_file(folder: Path) -> Path:
    path = folder / "addresses.geojson"
    features = [
        {
            "type": "Feature",
            "properties": {"code": c, "address": a, "district": "普陀区"},
            "geometry": {"type": "Point", "coordinates": [x, y]},
        }
        for c, a, x, y in ADDRESSES
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.fixture(scope="module")
def http(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    url = new_database()
    folder = tmp_path_factory.mktemp("geocode")
    engine = make_engine(url)
    load_small_street(engine, folder)
    with engine.begin() as conn:
        import_addresses(
            conn,
            _gazetteer_file(folder),
            address_field="address",
            code_field="code",
            district_field="district",
        )
    engine.dispose()
    with (
        LiveServer(Settings(database_url=url)) as live,
        live.client(timeout=30) as client,
    ):
        yield client


def test_geocode_with_owner(http: httpx.Client) -> None:
    response = http.get("/v1/geocode", params={"address": "上海市普陀区兰溪路九十九弄十二号门口"})
    assert response.status_code == 200
    body = Geocoded.model_validate(response.json())
    assert body.standard_address == "兰溪路99弄12号" and body.code == "A3"
    assert (body.lon, body.lat) == NE and not body.needs_review
    assert body.components.lane == "99" and body.normalized == "兰溪路99弄12号"
    assert body.owner is not None and body.owner.code == "M4"
    assert [a.code for a in body.owner.chain] == ["S", "G2", "M4"]
    assert body.owner.generation == 1


def test_geocode_needs_review_has_candidates_and_no_point(http: httpx.Client) -> None:
    body = Geocoded.model_validate(
        http.get("/v1/geocode", params={"address": "测试路1弄3号", "district": "普陀"}).json()
    )
    assert body.needs_review and body.lon is None and body.owner is None
    assert {c.code for c in body.candidates} == {"A1", "A2"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "address"),
        ({"address": ""}, "address"),
        ({"address": "x" * 501}, "address"),
        ({"address": "测试路1号", "district": "区" * 21}, "district"),
    ],
)
def test_geocode_bad_input(http: httpx.Client, params: dict[str, str], field: str) -> None:
    assert_problem(http.get("/v1/geocode", params=params), 422, field)


def test_batch_in_order_with_item_errors(http: httpx.Client) -> None:
    body = {
        "district": "普陀区",
        "addresses": [
            {"id": "x", "address": "测试路一弄二号"},
            "兰溪路99弄12号楼",
            {"id": "bad", "address": ""},
            {"id": "far", "address": "测试路1弄9号"},
            {"id": 7, "address": 12},
        ],
    }
    response = http.post("/v1/geocode/batch", json=body)
    assert response.status_code == 200
    batch = BatchResponse.model_validate(response.json())
    data = response.json()
    assert (batch.count, batch.matched, batch.needs_review, batch.errors) == (5, 2, 1, 2)
    results = data["results"]
    assert [r["id"] for r in results] == ["x", 1, "bad", "far", 7]
    assert results[0]["code"] == "A2" and results[0]["owner"]["code"] == "M1"
    assert results[1]["code"] == "A3" and results[1]["owner"]["code"] == "M4"
    assert results[2]["error"] == {
        "field": "addresses[2].address",
        "reason": results[2]["error"]["reason"],
    }
    assert results[3]["needs_review"] and results[3]["owner"] is None
    assert results[4]["error"]["field"] == "addresses[4].address"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"addresses": "测试路"}, 422, "addresses"),
        ([1, 2], 422, "body"),
        ({"addresses": ["测试路1号"] * 10_001}, 413, "addresses"),
        ({"addresses": [], "district": 5}, 422, "district"),
    ],
)
def test_batch_bad_envelope(http: httpx.Client, body: object, status: int, field: str) -> None:
    assert_problem(http.post("/v1/geocode/batch", json=body), status, field)


def test_batch_of_ten_thousand(http: httpx.Client) -> None:
    response = http.post("/v1/geocode/batch", json={"addresses": ["测试路1弄1号"] * 10_000})
    assert response.status_code == 200
    data = response.json()
    assert data["matched"] == 10_000 and data["results"][-1]["owner"]["code"] == "M1"


def test_reverse(http: httpx.Client) -> None:
    response = http.get("/v1/reverse", params={"lon": SW[0] + 0.0001, "lat": SW[1], "limit": 2})
    assert response.status_code == 200
    body = Reversed.model_validate(response.json())
    assert body.nearest is not None and body.nearest.code in ("A1", "A2")
    assert body.nearest.distance_m == pytest.approx(9.5, abs=0.5)
    assert len(body.addresses) == 2
    assert body.areas is not None and body.areas.owner is not None
    assert body.areas.owner.code == "M1"


def test_reverse_gcj02(http: httpx.Client) -> None:
    from gis.crs import wgs84_to_gcj02

    gx, gy = wgs84_to_gcj02(lon=NE[0], lat=NE[1])
    body = http.get(
        "/v1/reverse", params={"lon": float(gx), "lat": float(gy), "crs": "gcj02"}
    ).json()
    assert body["nearest"]["code"] == "A3" and body["nearest"]["distance_m"] < 0.01


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 200, "lat": 31}, "lon"),
        ({"lon": 121, "lat": 95}, "lat"),
        ({"lon": 121, "lat": 31, "limit": 0}, "limit"),
        ({"lon": 121, "lat": 31, "crs": "mars"}, "crs"),
    ],
)
def test_reverse_bad_input(http: httpx.Client, params: dict[str, object], field: str) -> None:
    assert_problem(http.get("/v1/reverse", params=params), 422, field)


def test_openapi_lists_the_routes_and_problems(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert "422" in paths["/v1/geocode"]["get"]["responses"]
    assert {"413", "422"} <= set(paths["/v1/geocode/batch"]["post"]["responses"])
    assert "/v1/reverse" in paths
