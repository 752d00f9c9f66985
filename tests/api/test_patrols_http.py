"""``/v1/patrols`` against a real server on the demo street: GPX and JSON uploads, the phone's
start/batches/end, bad input refused with nothing stored, privacy and audit, coverage."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from gis.crs import metric_transformers, wgs84_to_gcj02
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import DEMO_DATA, LiveServer, create_api_key
from tests.gis.patrols.gpx_files import WALK_GPX, gpx

GPX = {"Content-Type": "application/gpx+xml"}


@dataclass
class Street:
    url: str
    engine: Engine
    server: LiveServer
    alice: str  # field worker of the micro-grid the walk is in
    bob: str  # field worker of another micro-grid
    official: str  # official of the walk's community
    outsider: str  # official of another community
    grid: str

    def client(self, key: str | None = None) -> httpx.Client:
        return self.server.client(key=key)

    def count(self, sql: str) -> int:
        with self.engine.connect() as c:
            return int(c.execute(text(sql)).scalar_one())


@pytest.fixture(scope="module")
def street(new_database: Callable[[], str]) -> Iterator[Street]:
    from gis.demo_load import load_demo

    url = new_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
    with engine.connect() as c:
        grid = c.execute(
            text(
                "SELECT m.code FROM areas m JOIN buildings b "
                "ON ST_Covers(m.geom, ST_PointOnSurface(b.geom)) "
                "WHERE b.code = 'B0001' AND m.level = 'micro_grid'"
            )
        ).scalar_one()
        community = grid.split("-")[0]  # micro-grid codes extend their community's
        other = c.execute(
            text(
                "SELECT code FROM areas WHERE level = 'micro_grid' AND code <> :g "
                "ORDER BY code LIMIT 1"
            ),
            {"g": grid},
        ).scalar_one()
        far = c.execute(
            text(
                "SELECT code FROM areas WHERE level = 'community' AND code <> :c "
                "ORDER BY code LIMIT 1"
            ),
            {"c": community},
        ).scalar_one()
    settings = Settings(database_url=url, max_body_bytes=160 * 1024 * 1024)
    try:
        with LiveServer(settings) as live:
            yield Street(
                url,
                engine,
                live,
                create_api_key(url, "field_worker", grid),
                create_api_key(url, "field_worker", other),
                create_api_key(url, "official", community),
                create_api_key(url, "official", far),
                grid,
            )
    finally:
        engine.dispose()


def reference_visits(engine: Engine, lon: np.ndarray, lat: np.ndarray, d: float) -> dict:
    """Independent answer: the track line in a local metric CRS (PROJ), buffered by ``d``
    metres, against every footprint; {code: distance_m}."""
    to_metric, _ = metric_transformers(lon=float(lon.mean()), lat=float(lat.mean()))
    with engine.connect() as c:
        rows = c.execute(text("SELECT code, ST_AsBinary(geom) FROM buildings")).all()
    polys = shapely.transform(
        shapely.from_wkb([bytes(r[1]) for r in rows]), to_metric.transform, interleaved=False
    )
    x, y = to_metric.transform(lon, lat)
    line = shapely.linestrings(x, y)
    zone = shapely.buffer(line, d, quad_segs=32)
    dist = shapely.distance(line, polys)
    return {
        r[0]: float(dist[k])
        for k, r in enumerate(rows)
        if shapely.intersects(zone, polys[k]) or abs(dist[k] - d) <= 0.5
    }


def test_gpx_upload_of_a_real_file(street: Street) -> None:
    with street.client(street.alice) as http:
        answer = http.post("/v1/patrols", content=WALK_GPX.read_bytes(), headers=GPX)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["id"] > 0 and body["source"] == "gpx" and body["status"] == "ended"
    assert body["fixes_received"] == body["fixes_kept"] == 48
    assert body["area_code"] == street.grid
    assert 100 < body["distance_m"] < 1000 and body["duration_s"] == 47 * 5 + 180
    # visited buildings equal the buffered track (±0.5 m of 15 m may go either way)
    raw = WALK_GPX.read_text()
    pts = [
        (float(p.split('lon="')[1].split('"')[0]), float(p.split('lat="')[1].split('"')[0]))
        for p in raw.split("<trkpt ")[1:]
    ]
    lon = np.array([p[0] for p in pts])
    lat = np.array([p[1] for p in pts])
    want = reference_visits(street.engine, lon, lat, 15.0)
    got = {v["building_code"] for v in body["visits"]}
    sure = {c for c, d in want.items() if d < 14.5}
    assert {"B0001", "B0002", "B0003"} <= got
    assert sure <= got <= set(want)
    t0 = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    for v in body["visits"]:
        at = datetime.fromisoformat(v["visited_at"])
        assert t0 <= at <= t0 + timedelta(seconds=47 * 5 + 180)
    with street.engine.connect() as c:
        entry = c.execute(
            text("SELECT action, target FROM audit_log WHERE action = 'patrol.upload' "
                 "AND target = :t"),
            {"t": f"patrol:{body['id']}"},
        ).all()  # fmt: skip
    assert len(entry) == 1


TWO_MILLION = (
    b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
    + b'<trkpt lat="31.25" lon="121.4"><time>2026-12-01T08:00:00Z</time></trkpt>' * 2_000_000
    + b"</trkseg></trk></gpx>"
)


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("not XML", b"GPS log 2026-12-01 lat=31.2 lon=121.4", 422, "gpx"),
        ("no times", gpx([(121.4033, 31.2583, None), (121.4032, 31.2584, None)]), 422,
         "gpx.trkpt[0].time"),
        ("latitude out of range", gpx([(121.4, 31.25, "2026-12-01T08:00:00Z"),
                                       (121.4, 95.0, "2026-12-01T08:00:05Z")]), 422,
         "gpx.trkpt[1].lat"),
        ("longitude out of range", gpx([(-200.0, 31.25, "2026-12-01T08:00:00Z")]), 422,
         "gpx.trkpt[0].lon"),
        ("2M points", TWO_MILLION, 413, "gpx.trkpt"),
    ],
)  # fmt: skip
def test_bad_gpx_is_refused_and_nothing_stored(
    street: Street, name: str, body: bytes, status: int, field: str
) -> None:
    before = [street.count(f"SELECT count(*) FROM {t}") for t in ("patrols", "patrol_fixes")]
    with street.client(street.alice) as http:
        answer = http.post("/v1/patrols", content=body, headers=GPX)
    assert answer.status_code == status, (name, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["field"] == field, problem
    assert problem["detail"]
    after = [street.count(f"SELECT count(*) FROM {t}") for t in ("patrols", "patrol_fixes")]
    assert after == before


def test_json_points_in_gcj02(street: Street) -> None:
    lon = np.linspace(121.40334, 121.40238, 20)
    lat = np.linspace(31.25831, 31.25849, 20)
    glon, glat = wgs84_to_gcj02(lon=lon, lat=lat)
    t0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    points = [
        {"lon": float(x), "lat": float(y), "t": (t0 + timedelta(seconds=5 * k)).isoformat(),
         "accuracy_m": 8.0}
        for k, (x, y) in enumerate(zip(glon, glat, strict=True))
    ]  # fmt: skip
    points[5]["accuracy_m"] = 80.0  # dropped: worse than 30 m
    points[9]["lon"] += 0.01  # a spike ~950 m away and back: dropped
    with street.client(street.alice) as http:
        answer = http.post("/v1/patrols", json={"crs": "gcj02", "points": points})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["fixes_received"] == 20 and body["fixes_kept"] == 18
        assert body["dropped"]["accuracy"] == 1 and body["dropped"]["speed"] == 1
        detail = http.get(f"/v1/patrols/{body['id']}", params={"fixes": "true"}).json()
    stored = detail["fixes"]
    assert abs(stored[0]["lon"] - lon[0]) < 1e-7 and abs(stored[0]["lat"] - lat[0]) < 1e-7
    assert detail["track"]["type"] == "MultiLineString"


def test_phone_start_batches_end_idempotent(street: Street) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    lon = np.linspace(121.40334, 121.40278, 30)
    lat = np.linspace(31.25831, 31.25852, 30)
    pts = [
        {"lon": float(x), "lat": float(y), "t": (t0 + timedelta(seconds=4 * k)).isoformat(),
         "accuracy_m": 5.0}
        for k, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]  # fmt: skip
    with street.client(street.alice) as http:
        started = http.post("/v1/patrols/start")
        assert started.status_code == 201, started.text
        pid = started.json()["id"]
        first = http.post(f"/v1/patrols/{pid}/fixes", json={"batch_id": "b1", "points": pts[:15]})
        assert first.status_code == 200 and first.json()["duplicate_batch"] is False
        again = http.post(f"/v1/patrols/{pid}/fixes", json={"batch_id": "b1", "points": pts[:15]})
        assert again.json()["duplicate_batch"] is True
        http.post(f"/v1/patrols/{pid}/fixes", json={"batch_id": "b2", "points": pts[15:]})
        assert street.count(f"SELECT count(*) FROM patrol_fixes WHERE patrol_id = {pid}") == 30
        ended = http.post(f"/v1/patrols/{pid}/end")
        assert ended.status_code == 200
        body = ended.json()
        assert body["status"] == "ended" and body["fixes_kept"] == 30
        assert {"B0001", "B0003"} <= {v["building_code"] for v in body["visits"]}
        late = http.post(f"/v1/patrols/{pid}/fixes", json={"batch_id": "b3", "points": pts[:1]})
        assert late.status_code == 409 and late.json()["field"] == "id"
    with street.client(street.bob) as http:  # not bob's patrol: as if it did not exist
        assert http.post(f"/v1/patrols/{pid}/end").status_code == 404
    with street.engine.connect() as c:
        actions = c.execute(
            text("SELECT action FROM audit_log WHERE target = :t ORDER BY id"),
            {"t": f"patrol:{pid}"},
        ).scalars().all()  # fmt: skip
    assert actions == ["patrol.start", "patrol.end"]


def test_privacy_and_audit_of_reads(street: Street) -> None:
    with street.client(street.alice) as http:
        pid = http.post("/v1/patrols", content=WALK_GPX.read_bytes(), headers=GPX).json()["id"]
        assert http.get(f"/v1/patrols/{pid}").status_code == 200
    reads = "SELECT count(*) FROM audit_log WHERE action = 'patrol.read' AND target = 'patrol:%d'"
    assert street.count(reads % pid) == 0  # her own: not audited
    with street.client(street.bob) as http:
        assert http.get(f"/v1/patrols/{pid}").status_code == 404
        assert pid not in [p["id"] for p in http.get("/v1/patrols").json()["items"]]
    with street.client(street.outsider) as http:
        assert http.get(f"/v1/patrols/{pid}").status_code == 404
    with street.client(street.official) as http:
        seen = http.get(f"/v1/patrols/{pid}")
        assert seen.status_code == 200 and seen.json()["track"] is not None
        assert pid in [p["id"] for p in http.get("/v1/patrols").json()["items"]]
    with street.client() as http:  # admin
        assert http.get(f"/v1/patrols/{pid}").status_code == 200
    assert street.count(reads % pid) == 2


def test_coverage(street: Street) -> None:
    with street.client(street.alice) as http:
        http.post("/v1/patrols", content=WALK_GPX.read_bytes(), headers=GPX)
    with street.client(street.official) as http:
        answer = http.get(
            "/v1/patrols/coverage",
            params={"from": "2026-11-30T00:00:00Z", "to": "2026-12-03T00:00:00Z"},
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    grids = {g["code"]: g for g in body["micro_grids"]}
    mine = grids[street.grid]
    assert 0 < mine["buildings_visited"] < mine["buildings"]
    assert 0 < mine["households_visited"] <= mine["households"]
    buildings = {b["code"]: b for b in body["buildings"]}
    assert buildings["B0001"]["visited"] and buildings["B0001"]["visits"] >= 1
    assert buildings["B0001"]["last_visit"].startswith("2026-12-0")
    assert any(m["distance_m"] > 0 and m["duration_s"] > 0 for m in body["members"])
    json.dumps(body)


PHONE = {"width": 390, "height": 844}


def test_phone_page_start_walk_offline_end(street: Street, browser: Any) -> None:
    """The patrol page on a 390x844 phone with a mocked geolocation, signed in through the
    sign-in form (the session cookie; writes carry the page's anti-CSRF token), reached from
    her work page: start, walk past B0001 (part of it offline: the batch waits in
    IndexedDB), end; the patrol is stored once with its fixes and the page lists the visited
    buildings."""
    errors: list[str] = []
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        locale="zh-CN",
        geolocation={"longitude": 121.40334, "latitude": 31.25831, "accuracy": 5},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    try:
        page.goto(street.server.url + "/signin")
        page.fill("#key", street.alice)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/maps/work$"))
        page.click("a[href='/patrol']")
        page.wait_for_url(re.compile(r".*/patrol$"))
        assert page.locator("h1").inner_text() == "巡查"
        assert page.get_attribute("meta[name=csrf-token]", "content")
        assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
        before = street.count("SELECT count(*) FROM patrols")
        page.click("#start")
        page.wait_for_selector("#end:not([disabled])")
        # walk west along the row B0001 -> B0002, ~2.4 m a second (8.6 km/h)
        lon = np.linspace(121.40334, 121.40250, 36)
        lat = np.linspace(31.25831, 31.25847, 36)
        for k, (x, y) in enumerate(zip(lon, lat, strict=True)):
            if k == 12:
                context.set_offline(True)
            if k == 26:
                context.set_offline(False)
            context.set_geolocation({"longitude": float(x), "latitude": float(y), "accuracy": 6})
            page.wait_for_timeout(1000)
            if k == 24:  # a batch of 10 was cut while offline: it waits in the queue
                assert int(page.inner_text("#queued")) >= 10
        page.click("#end")
        page.wait_for_selector("#result:not([hidden])", timeout=30_000)
        visited = page.locator("#visits .building").all_inner_texts()
        assert "B0001" in visited and "B0002" in visited
        assert "公里" in page.inner_text("#summary")
        assert page.inner_text("#queued") == "0"
    finally:
        context.close()
    assert not errors, errors
    with street.engine.connect() as c:
        row = c.execute(
            text(
                "SELECT id, fixes_received, fixes_kept, status FROM patrols "
                "ORDER BY id DESC LIMIT 1"
            )
        ).one()
        batches = c.execute(
            text("SELECT count(*), sum(fixes) FROM patrol_batches WHERE patrol_id = :p"),
            {"p": row.id},
        ).one()
        stored = c.execute(
            text("SELECT count(*) FROM patrol_visits WHERE patrol_id = :p"), {"p": row.id}
        ).scalar_one()
    assert street.count("SELECT count(*) FROM patrols") == before + 1
    assert row.status == "ended" and row.fixes_received >= 30
    assert batches[1] == row.fixes_received  # every batch stored once
    assert stored == len(visited)


def test_patrol_map_draws_tracks_and_unvisited_buildings(street: Street) -> None:
    with street.client(street.alice) as http:
        pid = http.post("/v1/patrols", content=WALK_GPX.read_bytes(), headers=GPX).json()["id"]
    window = {"from": "2026-11-30T00:00:00Z", "to": "2026-12-03T00:00:00Z"}
    audited = (
        "SELECT count(*) FROM audit_log WHERE action = 'patrol.read' AND target = 'patrols map'"
    )
    before = street.count(audited)
    with street.client(street.official) as http:
        page = http.get("/maps/patrols", params=window)
    assert page.status_code == 200, page.text
    assert "巡查轨迹" in page.text and "未走访楼栋" in page.text
    assert "test field_worker" in page.text  # alice's track, drawn for her official
    assert street.count(audited) == before + 1
    with street.engine.connect() as c:
        detail = c.execute(
            text(
                "SELECT detail FROM audit_log WHERE target = 'patrols map' ORDER BY id DESC LIMIT 1"
            )
        ).scalar_one()
    assert pid in detail["patrols"]
    with street.client(street.bob) as http:  # his own map: no one else's track
        other = http.get("/maps/patrols", params=window)
    assert other.status_code == 200 and "test field_worker" not in other.text
    assert street.count(audited) == before + 1
