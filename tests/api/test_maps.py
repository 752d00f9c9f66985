"""Map pages, tiles and the heatmap over a real server on the demo street, the pages loaded in
headless Chromium (Debian's /usr/bin/chromium driven by Playwright; no internet: basemap tiles
fail as network errors, which are filtered — our own console errors and JS exceptions are not).
Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from pyproj import Geod

from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import ROOT, LiveServer
from tests.maps_fixtures import INCIDENTS, XSS, XSS_AREA, load_maps_street

# ``browser``: the session's one Chromium (tests/browser.py, via tests/api/conftest.py); a
# second sync_playwright in the same session fails inside the first one's asyncio loop
SHOTS = ROOT / "screenshots"


@pytest.fixture(scope="module")
def server(new_database: Callable[[], str]) -> Iterator[LiveServer]:
    url = new_database()
    engine = make_engine(url)
    load_maps_street(engine)
    engine.dispose()
    with LiveServer(Settings(database_url=url)) as live:
        yield live


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(timeout=60) as client:
        yield client


class Loaded:
    """A page of ``server`` loaded to the end of our script, with our own errors and any dialogs
    recorded. Every request of the page (tiles, heatmap, geocoder) sends the server's key."""

    def __init__(
        self, browser: Browser, server: LiveServer, path: str, width: int = 1200, height: int = 800
    ) -> None:
        url = server.url + path
        self.page: Page = browser.new_page(
            viewport={"width": width, "height": height}, extra_http_headers=server.headers
        )
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"exception: {e}"))
        self.page.on("console", self._console)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(url, wait_until="commit")
        try:
            self.page.wait_for_selector("body[data-wg-ready='1']", state="attached", timeout=90_000)
        except Exception as exc:  # say why the page never got ready
            raise AssertionError(f"{url} not ready: {self.errors}") from exc

    def _console(self, message: Any) -> None:
        # tile servers are unreachable without internet: those are network errors, not ours
        if message.type == "error" and "net::ERR_" not in message.text:
            self.errors.append(message.text)

    def layers(self) -> dict[str, Any]:
        layers: dict[str, Any] = self.page.evaluate("wg.layers")
        return layers

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


OPEN = sum(1 for i in INCIDENTS if i[3] not in ("resolved", "closed"))


def test_root_and_index_link_the_pages(http: httpx.Client) -> None:
    assert http.get("/").json()["maps"] == "/maps/"
    index = http.get("/maps/").text
    for page in ("overview", "heat", "coverage", "grid/"):
        assert f'href="{page}' in index


def test_overview_layers_counts_search_and_popup(browser: Browser, server: LiveServer) -> None:
    loaded = Loaded(browser, server, "/maps/overview")
    layers = loaded.layers()
    assert {k: v["count"] for k, v in layers.items()} == {
        "街道 street": 1,
        "居委 community": 14,
        "网格 grid": 41,
        "微网格 micro-grid": 306,
        "楼 buildings": 3172,
        "事件 open incidents": OPEN,
    }
    assert layers["楼 buildings"]["kind"] == "tiles"  # above the inline threshold
    assert loaded.page.locator(".leaflet-control-scale").count() == 1
    assert loaded.page.locator(".wg-legend").count() == 1
    box = loaded.page.locator(".wg-search input")
    box.fill("310107016007-G02")
    box.press("Enter")
    loaded.page.locator(".wg-hit").first.click()
    loaded.page.wait_for_selector(".leaflet-popup-content")
    assert "310107016007-G02" in loaded.page.locator(".leaflet-popup-content").inner_text()
    # an address is not an area: the box asks the geocoder
    box.fill("杏山路四十九弄一号")
    box.press("Enter")
    loaded.page.wait_for_selector(".wg-hit >> text=杏山路49弄1号")
    loaded.page.locator(".wg-hit").first.click()
    loaded.page.wait_for_function("wg.lastFound === 'B0001'")
    loaded.shot("overview")
    assert loaded.errors == []


def test_hostile_names_and_descriptions_render_as_text(
    browser: Browser, server: LiveServer
) -> None:
    for url in (f"/maps/grid/{XSS_AREA}",):
        loaded = Loaded(browser, server, url)
        loaded.page.evaluate(
            "Object.values(wg.index).forEach(function(){});"
            "document.querySelectorAll('.leaflet-interactive').forEach(function(el){"
            "el.dispatchEvent(new MouseEvent('click', {bubbles: true}));});"
        )
        loaded.page.wait_for_selector(".leaflet-popup-content")
        popups = loaded.page.locator(".leaflet-popup-content")
        assert popups.locator("img").count() == 0
        assert loaded.page.locator("img[src='x']").count() == 0
        assert loaded.dialogs == [] and loaded.errors == []
    # the phone's incident page (issue 24) renders every text through its template's escaping
    page = browser.new_page(extra_http_headers=server.headers)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url + "/maps/incident/1", wait_until="load")
    assert (
        page.locator("img[src='x']").count() == 0 and page.locator("script:not([src])").count() == 1
    )
    page.close()
    assert dialogs == []
    html = httpx.get(f"{server.url}/maps/grid/{XSS_AREA}", headers=server.headers).text
    assert XSS not in html  # embedded data escapes '<' too


def test_xss_tooltip_text(browser: Browser, server: LiveServer) -> None:
    loaded = Loaded(browser, server, f"/maps/grid/{XSS_AREA}")
    text = loaded.page.evaluate(
        "(name) => { var d = document.createElement('div');"
        " d.innerHTML = wg.html({name: name}, [['name', '']]);"
        " return [d.textContent, d.querySelectorAll('img').length]; }",
        XSS,
    )
    assert text == [XSS, 0]


def test_grid_page_fits_a_phone(browser: Browser, server: LiveServer, http: httpx.Client) -> None:
    loaded = Loaded(browser, server, f"/maps/grid/{XSS_AREA}", width=390, height=844)
    layers = loaded.layers()
    assert layers["边界 boundary"]["count"] == 1
    inside = http.get("/v1/heatmap", params={"area": XSS_AREA}).json()["total"]
    assert 0 < inside <= OPEN  # the fixture's incidents are all open inside this grid
    assert layers["事件 open incidents"]["count"] == inside
    assert layers["楼 buildings"]["count"] > 0 and layers["设施 facilities"]["count"] > 0
    assert loaded.page.evaluate("document.documentElement.scrollWidth") <= 390
    assert loaded.page.locator(".wg-contacts .wg-person").count() > 0
    loaded.shot("grid-390px")
    assert loaded.errors == []


def test_heat_page_hexes_heat_and_hotspots(browser: Browser, server: LiveServer) -> None:
    loaded = Loaded(browser, server, "/maps/heat")
    layers = loaded.layers()
    assert layers["heat"]["count"] == len(INCIDENTS)
    assert layers["H3 incidents"]["count"] > 0
    assert "Gi*" in loaded.page.locator(".wg-legend:not(.wg-filters)").inner_text()
    loaded.shot("heat")
    assert loaded.errors == []
    # at res 10 the cluster's cell stands out: its hexagon is outlined in black
    fine = Loaded(browser, server, "/maps/heat?res=10")
    assert fine.page.locator("path.leaflet-interactive[stroke='#000000']").count() >= 1
    assert fine.errors == []


def test_coverage_and_incident_pages_load(browser: Browser, server: LiveServer) -> None:
    coverage = Loaded(browser, server, "/maps/coverage")
    assert coverage.layers()["findings"]["count"] > 0
    coverage.shot("coverage")
    assert coverage.errors == []
    page = browser.new_page(extra_http_headers=server.headers)  # issue 24's incident page
    answer = page.goto(server.url + "/maps/incident/1", wait_until="load")
    assert answer is not None and answer.status == 200
    page.wait_for_selector("#map .leaflet-interactive")  # the point is drawn
    page.screenshot(path=str(SHOTS / "incident.png"))
    page.close()


def test_gcj02_basemap_shifts_the_drawn_overlays(browser: Browser, server: LiveServer) -> None:
    gcj = Loaded(browser, server, "/maps/overview?basemap=gcj02")
    osm = Loaded(browser, server, "/maps/overview")
    assert gcj.layers()["楼 buildings"]["kind"] == "geojson"  # tiles are WGS-84 only
    geod = Geod(ellps="WGS84")
    for name in ("街道 street", "微网格 micro-grid"):
        (lat1, lon1), (lat2, lon2) = osm.layers()[name]["center"], gcj.layers()[name]["center"]
        metres = geod.inv(lon1, lat1, lon2, lat2)[2]
        assert 400 <= metres <= 600, (name, metres)
    gcj.shot("overview-gcj02")
    assert gcj.errors == osm.errors == []


def test_heatmap_endpoint(http: httpx.Client) -> None:
    body = http.get("/v1/heatmap", params={"res": 10}).json()
    assert body["total"] == len(INCIDENTS)
    assert sum(f["properties"]["count"] for f in body["features"]) == len(INCIDENTS)
    assert any(f["properties"]["hotspot"] for f in body["features"])
    assert body["hotspots"]["z_critical"] == 1.96
    only = http.get("/v1/heatmap", params={"category": "ebike_charging"}).json()
    assert only["total"] == 1
    rated = http.get("/v1/heatmap", params={"normalize": "households"}).json()
    assert any(f["properties"]["rate"] for f in rated["features"])
    window = http.get("/v1/heatmap", params={"from": "2026-11-21T00:00:00Z"}).json()
    assert window["total"] == 0
    local = http.get("/v1/heatmap", params={"from": "2026-11-20T09:59", "to": "2026-11-20"})
    assert local.json()["field"] == "from"  # 09:59 Shanghai is after midnight: empty range
    shanghai = http.get("/v1/heatmap", params={"from": "2026-11-20T10:00"}).json()
    assert shanghai["total"] == len(INCIDENTS)  # reported 10:00+08: on the boundary, counted
    assert http.get("/v1/heatmap", params={"to": "0.5"}).json()["field"] == "to"
    assert http.get("/v1/heatmap", params={"res": 16}).status_code == 422
    bad = http.get("/v1/heatmap", params={"normalize": "people"})
    assert bad.status_code == 422 and bad.json()["field"] == "normalize"
    assert http.get("/v1/heatmap", params={"area": "nope"}).json()["field"] == "area"


def test_tiles_etag_and_errors(http: httpx.Client) -> None:
    url = "/tiles/areas/14/13717/6693.pbf"
    first = http.get(url, params={"level": "micro_grid"})
    assert first.status_code == 200 and len(first.content) > 1000
    assert first.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    etag = first.headers["etag"]
    again = http.get(url, params={"level": "micro_grid"}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = http.get(url, params={"level": "grid"})
    assert other.headers["etag"] != etag
    assert http.get("/tiles/incidents/14/13717/6693.pbf").status_code == 200
    assert http.get("/tiles/buildings/14/13717/6693.pbf").content
    assert http.get("/tiles/roads/14/1/1.pbf").json()["field"] == "layer"
    assert http.get("/tiles/areas/3/9/1.pbf").json()["field"] == "x"
    assert http.get("/tiles/areas/23/0/0.pbf").json()["field"] == "z"


def test_a_person_signs_in_once_and_the_pages_work(browser: Browser, server: LiveServer) -> None:
    """No key in the browser: a map page sends her to the sign-in form; after signing in she is
    back on that page, and everything the page fetches itself is answered with the cookie."""
    context = browser.new_context()
    page = context.new_page()
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status in (401, 403) else None)
    try:
        page.goto(f"{server.url}/maps/overview")
        assert "/signin" in page.url
        refused.clear()  # the page itself, before signing in
        page.fill("#key", server.key)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-wg-ready='1']", state="attached", timeout=90_000)
        assert page.url == f"{server.url}/maps/overview"
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["wangge_session"]["httpOnly"] is True
        assert server.key not in cookies["wangge_session"]["value"]
        page.goto(f"{server.url}/maps/heat")
        page.wait_for_selector("body[data-wg-ready='1']", state="attached", timeout=90_000)
        assert refused == []
    finally:
        context.close()
