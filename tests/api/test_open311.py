"""The Open311 GeoReport v2 facade, read back with a real Open311 client (``georeport``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import requests
from georeport import GeoReport

from gis.settings import Settings
from tests.conftest import LiveServer
from tests.fixtures import small_street_with_categories


@pytest.fixture(scope="module")
def live(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("open311"))
    with LiveServer(Settings(database_url=url)) as server:
        yield server


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def client(live: LiveServer) -> Iterator[GeoReport]:
    """The real GeoReport client. It calls the module-level ``requests.get`` with no way to
    add headers (GeoReport v2 GETs carry no key; only POSTs have ``api_key``), so its module
    gets a ``requests.Session`` sending the API key instead."""
    import georeport.georeport

    with requests.Session() as session, pytest.MonkeyPatch.context() as patch:
        session.headers.update(live.headers)
        patch.setattr(georeport.georeport, "requests", session)
        yield GeoReport(f"{live.url}/open311/v2", api_key=live.key)


def post_form(http: httpx.Client, live: LiveServer, form: dict[str, str]) -> httpx.Response:
    """POST requests.json as a GeoReport v2 client does: the key also as the ``api_key`` field."""
    return http.post("/open311/v2/requests.json", data={**form, "api_key": live.key})


def test_services_and_definition(client: GeoReport) -> None:
    services = client.get_service_list()
    codes = {s["service_code"]: s for s in services}
    assert codes["garbage"]["service_name"] == "垃圾堆放" and codes["garbage"]["group"] == "市容所"
    assert client.get_service_definition("garbage") == {"service_code": "garbage", "attributes": []}


def test_post_then_read_back(http: httpx.Client, live: LiveServer, client: GeoReport) -> None:
    form = {
        "service_code": "water_leak",
        "lat": "31.2425",
        "long": "121.3925",
        "description": "楼道水管漏水",
        "first_name": "小明",
        "last_name": "陈",
        "phone": "13800000001",
    }
    posted = post_form(http, live, form)
    assert posted.status_code == 201, posted.text
    [answer] = posted.json()
    request_id = answer["service_request_id"]
    got = client.get_service_request(request_id)
    assert got["service_code"] == "water_leak" and got["status"] == "open"
    assert got["agency_responsible"] == "西南微网格 / 房管办"
    assert (got["lat"], got["long"]) == (31.2425, 121.3925)
    assert got["expected_datetime"] > got["requested_datetime"]
    listed = client.get_service_requests(service_code="water_leak", status="open")
    assert request_id in [r["service_request_id"] for r in listed]
    closed = client.get_service_requests(service_code="water_leak", status="closed")
    assert request_id not in [r["service_request_id"] for r in closed]


def test_post_by_address_is_kept_for_review(
    http: httpx.Client, live: LiveServer, client: GeoReport
) -> None:
    posted = post_form(http, live, {"service_code": "noise", "address_string": "某小区南门"})
    assert posted.status_code == 201
    [answer] = posted.json()
    assert "not resolved" in answer["service_notice"]
    got = client.get_service_request(answer["service_request_id"])
    assert got["address"] == "某小区南门" and got["lat"] is None


def test_open311_errors(http: httpx.Client, live: LiveServer, client: GeoReport) -> None:
    bad = post_form(http, live, {"service_code": "garbage", "lat": "1"})
    assert bad.status_code == 422  # the status wangge gives bad input everywhere
    [error] = bad.json()
    assert error["code"] == 422 and "lon" in error["description"]
    unknown = post_form(http, live, {"service_code": "zzz", "lat": "31.24", "long": "121.39"})
    assert unknown.status_code == 422 and "category" in unknown.json()[0]["description"]
    huge = http.get("/open311/v2/requests/99999999999999999999.json")
    assert huge.status_code == 404
    missing = http.get("/open311/v2/requests/999999.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    with pytest.raises(requests.HTTPError):
        client.get_service_definition("nope")
    xml = http.get("/open311/v2/services.xml")
    assert xml.status_code == 422  # json is the only format


def test_post_with_the_key_only_in_the_form(live: LiveServer) -> None:
    """GeoReport v2 clients send the key as the ``api_key`` form field, no header."""
    form = {"service_code": "garbage", "lat": "31.2425", "long": "121.3925"}
    with httpx.Client(base_url=live.url, timeout=30) as bare:
        posted = bare.post("/open311/v2/requests.json", data={**form, "api_key": live.key})
        assert posted.status_code == 201, posted.text
        wrong = bare.post("/open311/v2/requests.json", data={**form, "api_key": "wg_nope"})
        assert wrong.status_code == 401  # in the Open311 error format, as every error here
        [error] = wrong.json()
        assert error["code"] == 401 and error["description"].startswith("X-API-Key")
        missing = bare.post("/open311/v2/requests.json", data=form)
        assert missing.status_code == 401
        assert bare.get("/open311/v2/services.json").status_code == 401  # reads need the header
