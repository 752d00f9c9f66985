"""``GET /v1/assign``'s fast lane (issue 28): its answers are the route's, byte for byte, and
it keeps the per-key rate limit; whatever it is not certain of goes to the route."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from api import fastlane
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import HALF, SIDE, X0, Y0, load_small_street


@pytest.fixture(scope="module")
def street(new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = new_database()
    engine = make_engine(url)
    load_small_street(engine, tmp_path_factory.mktemp("fastlane"))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def live(street: str) -> Iterator[LiveServer]:
    # check_seconds long enough that no poll falls due between two requests of a pair
    with LiveServer(Settings(database_url=street, index_check_seconds=60)) as server:
        with server.client() as http:  # the key verified once: later requests find it cached
            http.get("/v1/me").raise_for_status()
        yield server


QUERIES = [
    {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2},
    {"lon": X0 + HALF, "lat": Y0 + HALF},  # the vertex four micro-grids share
    {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2, "level": "grid"},
    {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2, "generation": 1},
    {"lon": X0 + SIDE + 0.01, "lat": Y0 + HALF},  # outside: the nearest area
    {"lon": X0 + SIDE + 0.01, "lat": Y0 + HALF, "max_distance_m": 50},
    {"lon": f"{X0 + HALF / 2:.6e}", "lat": Y0 + HALF / 2},
    {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2, "crs": "gcj02"},
]


def both(live: LiveServer, key: str, params: dict) -> tuple[httpx.Response, httpx.Response]:
    """The same request answered by the lane (X-API-Key) and by the route (Bearer), once
    the route has loaded what it needs (another level's index: the lane never builds)."""
    bearer = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=live.url, timeout=30) as http:
        http.get("/v1/assign", params=params, headers=bearer)
        before = fastlane.answered
        lane = http.get("/v1/assign", params=params, headers={"X-API-Key": key})
        assert fastlane.answered == before + 1, "the lane did not answer"
        route = http.get("/v1/assign", params=params, headers=bearer)
        assert fastlane.answered == before + 1, "the lane answered a Bearer request"
    return lane, route


@pytest.mark.parametrize("params", QUERIES)
def test_the_lane_answers_what_the_route_answers(live: LiveServer, params: dict) -> None:
    lane, route = both(live, live.key, params)
    assert lane.status_code == route.status_code == 200
    assert lane.content == route.content
    assert lane.headers["content-type"] == route.headers["content-type"]


def test_a_scoped_key_sees_its_scope_only_in_the_lane_too(live: LiveServer, street: str) -> None:
    key = create_api_key(street, role="official", scope="G1")
    east = {"lon": X0 + 1.5 * HALF, "lat": Y0 + HALF / 2}  # M2, in G2
    with httpx.Client(base_url=live.url, timeout=30) as http:
        http.get("/v1/me", headers={"X-API-Key": key}).raise_for_status()  # verified once
    lane, route = both(live, key, east)
    assert lane.content == route.content
    assert lane.json()["owner"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"lon": "nan", "lat": Y0},
        {"lon": "1e999", "lat": Y0},
        {"lon": X0, "lat": Y0, "accuracy_m": 30},
        {"lon": X0, "lat": Y0, "crs": "EPSG:4326"},
        {"lon": X0, "lat": Y0, "level": "parish"},
        {"lon": X0, "lat": Y0, "generation": 0},
        {"lon": X0, "lat": Y0, "max_distance_m": -1},
        {"lon": X0, "lat": Y0, "extra": 1},
        {"lon": X0},
    ],
)
def test_anything_unusual_goes_to_the_route(live: LiveServer, params: dict) -> None:
    before = fastlane.answered
    with live.client() as http:
        http.get("/v1/assign", params=params)
    assert fastlane.answered == before


def test_the_lane_keeps_the_rate_limit(street: str) -> None:
    settings = Settings(
        database_url=street,
        rate_limit_per_second=0.01,
        rate_limit_burst=3,
        index_check_seconds=60,  # no poll falls due mid-test, however busy the box
    )
    with LiveServer(settings) as server, server.client() as http:
        http.get("/v1/me").raise_for_status()  # the key verified (and charged once)
        params = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
        before = fastlane.answered
        statuses = [http.get("/v1/assign", params=params).status_code for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        assert fastlane.answered == before + 2
        limited = http.get("/v1/assign", params=params)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
