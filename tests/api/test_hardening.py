"""Issue 22 E, F, I, K over a real server: proxies, undeclared parameters, the budget of
expensive work, the Host header, security headers (and the pages under their policy in a
real Chromium)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

POINT = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
PROBLEM = "application/problem+json"
EVIL = "evil.example"


@pytest.fixture(scope="module")
def street(new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("hardening"))
    return url


@pytest.fixture(scope="module")
def live(street: str) -> Iterator[LiveServer]:
    """Default settings, but one expensive request per key."""
    with LiveServer(Settings(database_url=street, expensive_per_key=1)) as s:
        yield s


def incident(**kw: object) -> dict[str, object]:
    return {
        "category": "garbage",
        "description": "垃圾堆放",
        "source": "hotline",
        "lon": POINT["lon"],
        "lat": POINT["lat"],
        "reported_at": "2026-11-23T09:30:00+08:00",
        **kw,
    }


def problem(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["field"] == field
    return body


def last_client(http: httpx.Client, external_id: str) -> str:
    entries = http.get("/v1/audit", params={"action": "incident.create"}).json()["entries"]
    found = [e for e in entries if external_id in str(e)] or entries
    return str(found[0]["client"])


# --- E: X-Forwarded-For ---------------------------------------------------------------------------


def test_forwarded_for_is_ignored_by_default(live: LiveServer) -> None:
    with live.client() as http:
        made = http.post(
            "/v1/incidents",
            json=incident(external_id="xff-1"),
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert made.status_code == 201, made.text
        assert last_client(http, "xff-1") == "127.0.0.1"


def test_rotating_forwarded_for_does_not_escape_the_wrong_key_throttle(street: str) -> None:
    # a server of its own: the throttled address must not hold up the other tests' keys
    settings = Settings(database_url=street, failed_key_burst=3, failed_keys_per_second=0.01)
    wrong = "wg_AAAAAAAAAA_" + "B" * 43
    with LiveServer(settings) as throttled:
        statuses = [
            httpx.get(
                f"{throttled.url}/v1/assign",
                params=POINT,
                headers={"X-API-Key": wrong, "X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(6)
        ]
    assert statuses == [401, 401, 401, 429, 429, 429], statuses


def test_forwarded_for_is_believed_from_a_configured_proxy(street: str) -> None:
    settings = Settings(database_url=street, trusted_proxies=["127.0.0.1"])
    with LiveServer(settings) as proxied, proxied.client() as http:
        made = http.post(
            "/v1/incidents",
            json=incident(external_id="xff-2"),
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        assert made.status_code == 201, made.text
        assert last_client(http, "xff-2") == "203.0.113.7"


# --- 405: Allow names every method of the path, however many routes serve it -------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/incidents", "GET, POST"),
        ("DELETE", "/signin", "GET, POST"),
        ("PUT", "/open311/v2/requests.json", "GET, POST"),
        ("OPTIONS", "/v1/patrols", "GET, POST"),
        ("OPTIONS", "/v1/subscriptions", "GET, POST"),
        ("OPTIONS", "/v1/subscriptions/abc", "DELETE, GET, PATCH"),
        ("PUT", "/v1/photos/1", "DELETE, GET"),
        ("GET", "/v1/patrols/start", "POST"),
    ],
)
def test_method_not_allowed_lists_every_method_of_the_path(
    live: LiveServer, method: str, path: str, allow: str
) -> None:
    with live.client() as http:
        answer = http.request(method, path)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allow


# --- F: undeclared parameters, the page cache, the budget ---------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/assign",
        "/maps/overview",
        "/maps/coverage",
        "/v1/coverage",
        "/v1/incidents",
        "/v1/incidents/export.csv",
        "/v1/heatmap",
        "/v1/areas",
        "/open311/v2/requests.json",
        "/ogc/collections",
    ],
)
def test_unknown_parameters_are_refused(live: LiveServer, path: str) -> None:
    with live.client() as http:
        params = {**POINT, "bust": "7"} if path == "/v1/assign" else {"bust": "7"}
        answer = http.get(path, params=params)
        if path.startswith("/open311/"):  # Open311's own error format (issue 22 §4)
            assert answer.status_code == 422 and "bust" in answer.text, answer.text
            return
        body = problem(answer, 422, "bust")
        assert "bust" in body["detail"]


def test_the_page_cache_is_keyed_by_normalised_parameters(live: LiveServer) -> None:
    cache = live.server.config.app.state.map_pages
    with live.client() as http:
        first = http.get("/maps/overview?basemap=gcj02&generation=1")
        assert first.status_code == 200, first.text
        built = cache.built
        for query in ("generation=1&basemap=gcj02", "basemap=gcj02&generation=1"):
            assert http.get(f"/maps/overview?{query}").status_code == 200
        assert cache.built == built


def test_expensive_work_has_a_per_key_budget(live: LiveServer, street: str) -> None:
    """One key's exports blocked in the database hold its one slot: its next expensive
    request is refused at once (429), while another key's export and the first key's cheap
    requests are served."""
    other = create_api_key(street, role="official")
    engine = make_engine(street)
    answers: dict[str, httpx.Response] = {}

    def export(name: str, key: str) -> None:
        with live.client(key=key, timeout=60) as http:
            answers[name] = http.get("/v1/incidents/export.csv")

    try:
        with engine.connect() as locker:
            lock = locker.begin()
            locker.execute(text("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE"))
            first = threading.Thread(target=export, args=("first", live.key))
            first.start()
            _wait_for_waiters(engine, 1)
            with live.client() as http:
                refused = http.get("/v1/incidents/export.csv")
                problem(refused, 429, "rate_limit")
                assert refused.headers["retry-after"] == "1"
                assert problem(http.get("/maps/coverage"), 429, "rate_limit")
                assert http.get("/v1/assign", params=POINT).status_code == 200
            second = threading.Thread(target=export, args=("other", other))
            second.start()
            _wait_for_waiters(engine, 2)  # the other key got a slot of its own
            lock.rollback()
            first.join(timeout=60)
            second.join(timeout=60)
    finally:
        engine.dispose()
    assert answers["first"].status_code == 200 and answers["other"].status_code == 200
    with live.client() as http:  # the slot is given back
        assert http.get("/v1/incidents/export.csv").status_code == 200


def _wait_for_waiters(engine: Any, count: int) -> None:
    import time

    deadline = time.monotonic() + 30
    query = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'incidents' AND NOT l.granted"
    )
    while True:
        with engine.connect() as c:
            if c.execute(query).scalar_one() >= count:
                return
        assert time.monotonic() < deadline, f"{count} requests never reached the database"
        time.sleep(0.05)


# --- I: the Host header ------------------------------------------------------------------------


def test_the_host_header_is_never_reflected(live: LiveServer) -> None:
    with live.client() as http:
        headers = {"Host": EVIL}
        redirect = http.get("/ogc", headers=headers, follow_redirects=False)
        assert redirect.status_code in (301, 302, 307, 308), redirect.text
        assert EVIL not in redirect.headers["location"]
        for path in ("/ogc/", "/ogc/collections", "/v1/areas?limit=1", "/v1/incidents?limit=1"):
            answer = http.get(path, headers=headers)
            assert answer.status_code == 200, answer.text
            assert EVIL not in answer.text, path
            assert live.url in answer.text or path.startswith("/v1/areas"), path


def test_a_public_url_is_used_and_other_hosts_refused(street: str) -> None:
    public = "https://wangge.example.gov.cn"
    settings = Settings(database_url=street, public_url=public, allowed_hosts=["127.0.0.1"])
    with LiveServer(settings) as server, server.client() as http:
        problem(http.get("/ogc/", headers={"Host": EVIL}), 400, "Host")
        for host in ("wangge.example.gov.cn", "127.0.0.1"):
            landing = http.get("/ogc/", headers={"Host": host})
            assert landing.status_code == 200, landing.text
            hrefs = [link["href"] for link in landing.json()["links"]]
            assert all(h.startswith(public + "/") for h in hrefs if "://" in h), hrefs
            redirect = http.get("/ogc", headers={"Host": host}, follow_redirects=False)
            assert redirect.headers["location"].startswith(public + "/ogc/")


# --- K: security headers -----------------------------------------------------------------------

_NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


def test_security_headers_on_every_answer(live: LiveServer) -> None:
    with live.client() as http:
        for path in ("/v1/assign", "/signin", "/maps/overview", "/nowhere"):
            answer = http.get(path, params=POINT if path == "/v1/assign" else None)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["x-frame-options"] == "DENY", path
            assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        pages = [http.get("/maps/overview") for _ in range(2)]
        nonces = [_NONCE.search(p.headers["content-security-policy"]) for p in pages]
        assert nonces[0] and nonces[1] and nonces[0][1] != nonces[1][1]
        for page, nonce in zip(pages, nonces, strict=True):
            assert nonce is not None
            scripts = re.findall(r"<script[^>]*>", page.text)
            assert scripts and all(f'nonce="{nonce[1]}"' in s for s in scripts)
        policy = pages[0].headers["content-security-policy"]
        assert "https://tile.openstreetmap.org" in policy and "unsafe-eval" not in policy


@pytest.fixture
def browser_headers(live: LiveServer) -> dict[str, str]:
    return live.headers


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize(
    ("path", "drawn"),
    [
        ("/maps/overview", ".leaflet-container"),
        ("/maps/overview?basemap=gcj02", ".leaflet-container"),
        ("/maps/coverage", ".leaflet-container"),
        ("/maps/heat", ".leaflet-container"),
        ("/maps/", "body"),
        ("/signin", "form"),
        ("/ogc/collections/micro_grid/items?f=html", "svg path"),
    ],
)
def test_pages_load_under_their_policy_in_chromium(
    live: LiveServer, browser_page: Any, path: str, drawn: str, tmp_path: Path
) -> None:
    """No CSP violation (the fixture fails on any console error, and violations are
    collected too) and the page's scripts ran. Basemap tiles (outside the host) are answered
    by the test with a blank tile once the policy let them through."""
    page = browser_page
    tiles: list[str] = []

    def outside(route: Any) -> None:
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    page.route(re.compile(r"^https://"), outside)
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.__violations.push("
        "e.violatedDirective + ' ' + e.blockedURI));"
    )
    response = page.goto(live.url + path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.locator(drawn).count() >= 1
    assert page.evaluate("window.__violations") == []
    if path.startswith("/maps/") and path != "/maps/":
        assert page.evaluate("typeof window.L") == "object"  # the nonce'd scripts ran
        assert tiles, "the basemap tiles were never requested"


# --- §3: a GeoJSON file's crs member ---------------------------------------------------------


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
    ],
)
def test_buildings_accept_a_crs84_feature_collection(live: LiveServer, crs: object) -> None:
    """What QGIS and GDAL write: a FeatureCollection whose crs member names CRS84."""
    from tests.fixtures import rect

    building = {
        "type": "Feature",
        "id": "b",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": rect(X0 + 0.001, Y0 + 0.001, X0 + 0.0012, Y0 + 0.0012),
        },
    }
    body = {"type": "FeatureCollection", "crs": crs, "features": [building]}
    with live.client() as http:
        answer = http.post("/v1/assign/buildings", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["owner"]["code"] == "M1"
        wrong = {**body, "crs": {"type": "name", "properties": {"name": "urn:x:nothing"}}}
        problem(http.post("/v1/assign/buildings", json=wrong), 422, "crs")
