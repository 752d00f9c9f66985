"""The dashboard, the evaluation downloads, the fast exports and the offline docs over a real
server on the demo street with a few thousand incidents of the last 90 days; the pages in
Debian's Chromium at 1366×900 (screenshots kept in out/, git-ignored)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from gis.demo_load import load_demo
from gis.incidents.categories import ensure_categories
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import DEMO_DATA, ROOT, LiveServer, create_api_key
from tests.signin import sign_in

OUT = ROOT / "out"
ROWS = 3000

# every micro-grid with its chain; incidents of the last 90 days spread over them, with
# every kind of ending (closed in time, late, open, overdue) and every source
HISTORY = """
WITH RECURSIVE up AS (
    SELECT code AS leaf, code, parent_code, ARRAY[code] AS chain FROM areas
    WHERE level = 'micro_grid'
    UNION ALL
    SELECT up.leaf, a.code, a.parent_code, a.code || up.chain
    FROM up JOIN areas a ON a.code = up.parent_code
), chains AS (
    SELECT row_number() OVER (ORDER BY leaf) - 1 AS k, leaf, chain FROM up
    WHERE parent_code IS NULL
)
INSERT INTO incidents (category, description, source, geom, location_status, reported_at,
    status, due_at, owner_code, owner_name, area_codes, generation, assigned_at, resolved_at,
    closed_at)
SELECT (ARRAY['garbage','noise','water_leak','ebike_charging'])[1 + (g % 4)], '测试',
    (ARRAY['hotline','app','patrol','camera','other'])[1 + (g % 5)],
    ST_SetSRID(ST_MakePoint(121.40, 31.25), 4326), 'ok', t.at,
    CASE WHEN t.r < 0.7 THEN 'closed' WHEN t.r < 0.8 THEN 'resolved' ELSE 'assigned' END,
    t.at + interval '24 hours', c.leaf, c.leaf, c.chain, 1,
    t.at + (30 + (g % 17) * 60) * interval '1 second',
    CASE WHEN t.r < 0.8 THEN t.at + (1 + (g % 40)) * interval '1 hour' END,
    CASE WHEN t.r < 0.7 THEN t.at + interval '50 hours' END
FROM (SELECT g, now() - (g % 90) * interval '1 day' - (g % 23) * interval '1 hour' AS at,
             ((g * 7919) % 1000) / 1000.0 AS r
      FROM generate_series(1, :n) g) t
JOIN chains c ON c.k = t.g % (SELECT count(*) FROM chains)
"""


#: cells a spreadsheet would run as formulas
HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


class Site:
    def __init__(
        self, server: LiveServer, community: str, community_name: str, key: str, url: str
    ) -> None:
        self.url = url
        self.server = server
        self.community = community
        self.community_name = community_name
        self.official_key = key


@pytest.fixture(scope="module")
def site(new_database: Callable[[], str]) -> Iterator[Site]:
    url = new_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
        ensure_categories(conn)
        conn.execute(text(HISTORY), {"n": ROWS})
        for i, hostile in enumerate(HOSTILE, start=1):
            conn.execute(
                text("UPDATE incidents SET description = :d WHERE id = :i"), {"d": hostile, "i": i}
            )
        community, name = conn.execute(
            text(
                "SELECT c.code, c.name FROM areas c JOIN areas g ON g.parent_code = c.code "
                "WHERE c.level = 'community' GROUP BY c.code, c.name "
                "ORDER BY count(*) DESC, c.code LIMIT 1"
            )
        ).one()
    engine.dispose()
    key = create_api_key(url, role="official", scope=community)
    with LiveServer(Settings(database_url=url)) as live:
        yield Site(live, community, name, key, url)


@pytest.fixture(scope="module")
def http(site: Site) -> Iterator[httpx.Client]:
    with site.server.client(timeout=120) as client:
        yield client


class Watched:
    """A browser context at 1366×900 recording page errors, console errors and every
    request's host."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 900})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.page.on("pageerror", lambda e: self.errors.append(f"exception: {e}"))
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("request", self._request)
        self.local = urlparse(server.url).netloc

    def _request(self, request: Any) -> None:
        # data: and blob: URLs (ReDoc's worker) are not requests to a host
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss"):
            self.hosts.add(url.netloc)

    def _console(self, message: Any) -> None:
        # a failed resource is recorded by its URL (``_response``), not by this message
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def _response(self, response: Any) -> None:
        # the sign-in form (another engineer's page) has no icon link: its /favicon.ico 404
        if response.status >= 400 and urlparse(response.url).path != "/favicon.ico":
            self.errors.append(f"{response.status} {response.url}")

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready='1']", state="attached", timeout=120_000)

    def shot(self, name: str) -> None:
        OUT.mkdir(exist_ok=True)
        self.page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def ranking(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.evaluate(
        """() => Array.from(document.querySelectorAll('#ranking tbody tr[data-key]')).map(
            tr => ({key: tr.dataset.key, name: tr.children[1].textContent,
                    index: tr.children[8].dataset.v === "" ? null
                        : parseFloat(tr.children[8].dataset.v),
                    drill: tr.querySelector('a.drill').getAttribute('href'),
                    map: tr.querySelector('a.map').getAttribute('href')}))"""
    )
    return rows


def test_official_signs_in_sees_the_dashboard_and_drills_down(browser: Browser, site: Site) -> None:
    w = Watched(browser, site.server)
    try:
        w.page.goto(f"{site.server.url}/dashboard")
        assert "/signin" in w.page.url
        w.page.fill("#key", site.official_key)
        w.page.click("button[type=submit]")
        w.ready()
        assert urlparse(w.page.url).path == "/dashboard"
        # the headline, the chart and the ranking of the community's grids
        cards = w.page.locator(".card .value").all_text_contents()
        assert len(cards) == 8 and cards[0] != "–" and int(cards[0]) > 0
        assert "上期" in w.page.locator(".card[data-key=count] .prev").text_content()
        assert int(w.page.get_attribute("#trend", "data-drawn") or 0) > 0
        assert w.page.locator("#trend canvas").count() >= 1
        rows = ranking(w.page)
        assert rows, "the community's grids are ranked"
        assert all(r["key"].startswith(site.community) for r in rows)
        ranked = [r["index"] for r in rows if r["index"] is not None]
        assert ranked and ranked == sorted(ranked, reverse=True)
        assert site.community_name in w.page.locator("#crumbs").text_content()
        assert "综合指标值" in w.page.locator("#formula").text_content()
        assert w.page.locator("#departments tbody tr[data-key]").count() >= 1
        # sortable: by name, ascending
        w.page.click("#ranking th[data-sort=count]")
        counts = w.page.evaluate(
            "() => Array.from(document.querySelectorAll('#ranking tbody tr[data-key]'))"
            ".map(tr => parseInt(tr.children[2].textContent))"
        )
        assert counts == sorted(counts)
        w.shot("dashboard-community")
        # drill down one level: the first grid, whose micro-grids are ranked with map links
        first = rows[0]
        w.page.click(f"#ranking tr[data-key='{first['key']}'] a.drill")
        w.ready()
        assert f"area={first['key']}" in w.page.url
        assert first["name"] in w.page.locator("#crumbs").text_content()
        below = ranking(w.page)
        assert below and all(r["map"] == f"/maps/grid/{r['key']}" for r in below)
        w.shot("dashboard-grid")
        # signing out ends the session: the dashboard asks to sign in again
        w.page.click(".signout button")
        w.page.wait_for_url(lambda url: "/signin" in url, timeout=60_000)
        w.page.goto(f"{site.server.url}/dashboard")
        assert "/signin" in w.page.url
        assert w.errors == []
        assert w.hosts == {w.local}, f"requests left the host: {w.hosts}"
    finally:
        w.context.close()


def test_an_official_lands_on_the_dashboard(site: Site) -> None:
    with httpx.Client(base_url=site.server.url, timeout=60) as browser:
        signed = sign_in(browser, site.official_key)
        assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
        page = browser.get("/dashboard", headers={"accept": "text/html"})
        assert page.status_code == 200 and 'name="csrf_token" value="' in page.text
        assert 'value=""' not in page.text.split('name="csrf_token"')[1][:12]


def test_the_scope_bounds_the_dashboard(site: Site) -> None:
    with site.server.client(key=site.official_key, timeout=120) as http:
        mine = http.get("/v1/dashboard").json()
        assert mine["area"]["code"] == site.community
        other = http.get("/v1/dashboard", params={"area": "no-such-area"})
        assert other.status_code == 404
        total = http.get("/v1/stats", params={"from": mine["period"]["from"]}).json()
        assert total["total"]["count"] >= mine["headline"][0]["value"]


def test_evaluation_downloads_carry_period_and_formula(http: httpx.Client) -> None:
    params = {"by": "grid", "from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"}
    answer = http.get("/v1/evaluation", params=params).json()
    assert answer["rows"] and answer["formula"].startswith("综合指标值")
    sheet = list(csv.reader(io.StringIO(http.get("/v1/evaluation.csv", params=params).text)))
    assert sheet[0][0].lstrip("\ufeff") == "考核对象" and sheet[0][1] == "网格"
    assert sheet[1][0] == "统计周期" and sheet[1][1].startswith("2026-01-01 00:00")
    assert sheet[2] == ["计算公式", answer["formula"]]
    assert len(sheet) == 5 + len(answer["rows"])
    assert [r[1] for r in sheet[5:]] == [r["key"] for r in answer["rows"]]
    book = http.get("/v1/evaluation.xlsx", params=params)
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(book.content)) as z:
        shared = z.read("xl/sharedStrings.xml").decode()
    assert "计算公式" in shared and "综合指标值" in shared


def test_csv_export_by_copy_equals_the_incidents(http: httpx.Client) -> None:
    text = http.get("/v1/incidents/export.csv").text
    assert text.startswith("\ufeffid,external_id,category")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    features = http.get("/v1/incidents/export.geojson").json()["features"]
    assert len(rows) == len(features) == ROWS
    for row, feature in zip(rows, features, strict=True):
        p = feature["properties"]
        assert int(row["id"]) == feature["id"] and row["category"] == p["category"]
        assert row["owner_name"] == p["owner"]["name"]
        assert row["overdue"] == str(p["overdue"])
        assert float(row["lon"]) == feature["geometry"]["coordinates"][0]
        at = datetime.fromisoformat(row["reported_at"])
        assert at == datetime.fromisoformat(p["reported_at"]) and at.utcoffset() == timedelta(0)
    for i, hostile in enumerate(HOSTILE):
        assert rows[i]["description"] == "'" + hostile
    book = http.get("/v1/incidents/export.xlsx", params={"category": "noise"})
    with zipfile.ZipFile(io.BytesIO(book.content)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert xml.count("<row ") == 1 + sum(1 for r in rows if r["category"] == "noise")


def test_docs_work_offline(browser: Browser, site: Site) -> None:
    w = Watched(browser, site.server)
    try:
        w.page.goto(f"{site.server.url}/docs")
        w.page.wait_for_selector(".swagger-ui .info .title", timeout=120_000)
        w.page.goto(f"{site.server.url}/redoc")
        w.page.wait_for_selector("[role=navigation], .menu-content", timeout=120_000)
        assert w.hosts == {w.local}, f"requests left the host: {w.hosts}"
        assert w.errors == []
    finally:
        w.context.close()


def test_maps_index_lists_every_micro_grid_by_name(site: Site, http: httpx.Client) -> None:
    page = http.get("/maps/").text
    grids = http.get("/v1/areas", params={"level": "micro_grid", "limit": 1000}).json()
    names = [f["properties"]["name"] for f in grids["features"]]
    assert len(names) > 300 and page.count('<li data-text="') == len(names)
    assert all(f">{n}</a>" in page for n in names[:20])
    assert "/signout" in page and 'href="/dashboard"' in page
    with site.server.client(key=site.official_key) as official:
        mine = official.get("/maps/").text
        assert 0 < mine.count('<li data-text="') < len(names)
    with site.server.client(key=create_api_key(site.url, role="field_worker")) as fw:
        theirs = fw.get("/maps/").text
        assert 'href="/dashboard"' not in theirs and 'href="work"' in theirs


def test_tianditu_without_a_key_answers_a_helpful_page(http: httpx.Client) -> None:
    page = http.get("/maps/overview?basemap=tianditu", headers={"accept": "text/html"})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "WANGGE_TIANDITU_KEY" in page.text and "basemap=osm" in page.text


def test_coverage_findings_panel_filters_and_zooms(browser: Browser, site: Site) -> None:
    w = Watched(browser, site.server)
    try:
        w.context.set_extra_http_headers(site.server.headers)
        w.page.goto(f"{site.server.url}/maps/coverage", wait_until="commit")
        w.page.wait_for_selector("body[data-wg-ready='1']", state="attached", timeout=120_000)
        panel = w.page.locator(".wg-findings")
        summary = panel.locator(".wg-findings-summary").text_content() or ""
        assert "错误" in summary and "警告" in summary
        total = w.page.evaluate("wg.findingsShown")
        errors = w.page.locator(".wg-finding.wg-error").count()
        assert total > errors > 0
        halos = w.page.evaluate("wg.layers['错误位置 error halos'].count")
        assert halos == errors
        w.page.select_option(".wg-filter-severity", "error")
        assert w.page.evaluate("wg.findingsShown") == errors
        text = panel.text_content() or ""
        assert "sliver" not in text and "gap" not in text  # names, not codes
        first = w.page.locator(".wg-finding.wg-error").first
        check = w.page.evaluate(
            "() => document.querySelector('.wg-finding.wg-error b').textContent"
        )
        first.click()
        assert w.page.evaluate("wg.zoomedTo") and check
        w.shot("coverage-errors")
        assert w.errors == []
    finally:
        w.context.close()


def test_overview_markers_link_to_incident_and_grid(browser: Browser, site: Site) -> None:
    w = Watched(browser, site.server)
    try:
        w.context.set_extra_http_headers(site.server.headers)
        w.page.goto(f"{site.server.url}/maps/overview", wait_until="commit")
        w.page.wait_for_selector("body[data-wg-ready='1']", state="attached", timeout=120_000)
        legend = w.page.locator(".wg-legend").first.text_content() or ""
        assert "事件：已超期" in legend
        assert w.page.locator(".wg-account form[action='/signout']").count() == 1
        popup, links = w.page.evaluate(
            "() => { var d = document.createElement('div');"
            " d.innerHTML = wg.objects['事件 open incidents'].getLayers()[0].getPopup()"
            ".getContent();"
            " return [d.textContent, Array.from(d.querySelectorAll('a'))"
            ".map(a => a.getAttribute('href'))]; }"
        )
        assert links[0].startswith("/maps/incident/") and links[1].startswith("/maps/grid/")
        assert "查看事件详情" in popup and "状态" in popup
        assert "garbage" not in popup and "+00" not in popup  # names and local time
        assert w.page.locator(".marker-cluster").count() > 0
        w.shot("overview")
        assert w.errors == []
    finally:
        w.context.close()
