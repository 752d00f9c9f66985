"""Maps benchmark: overview page size and render time in headless Chromium; z14 vector tile
time beside the same features as plain GeoJSON; H3 heatmap of 1,000,000 points beside a
per-point ``h3.latlng_to_cell`` loop. Serves the demo street (with its incident history) from
a throwaway database, through an admin API key made there (the page's requests send it too).
Prints figures and ratios; never asserts."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import h3
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import DEMO_DATA, ApiServer, api_server, throwaway_db

from gis.heat.cells import count_cells, points_to_cells
from gis.heat.service import heat_features
from tests.browser import CHROMIUM, CHROMIUM_ARGS

TILES = [(13716 + dx, 6692 + dy) for dx in range(3) for dy in range(3)]


def heat(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    lon = 121.40 + rng.normal(0, 0.05, n)
    lat = 31.25 + rng.normal(0, 0.05, n)
    t = time.perf_counter()
    counted = count_cells(points_to_cells(lon=lon, lat=lat, res=9))
    cells_only = time.perf_counter() - t
    t = time.perf_counter()
    features = heat_features(lon=lon, lat=lat, res=9)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    cells: dict[str, int] = {}
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        c = h3.latlng_to_cell(y, x, 9)
        cells[c] = cells.get(c, 0) + 1
    loop = time.perf_counter() - t
    same = len(cells) == len(counted.cells) and sum(cells.values()) == int(counted.counts.sum())
    print(
        f"H3 counts of {n:,} points res 9: vectorised {cells_only:.3f} s | per-point "
        f"h3.latlng_to_cell loop {loop:.3f} s | ratio {loop / cells_only:.1f}x | "
        f"same cells and counts: {'yes' if same else 'NO'}"
    )
    print(
        f"heatmap {n:,} points res 9: wangge {ours:.3f} s ({len(features)} hexes with Gi*) | "
        f"per-point h3.latlng_to_cell loop (counts only) {loop:.3f} s | ratio {loop / ours:.1f}x"
    )


def served(api: ApiServer) -> None:
    url = api.base
    with httpx.Client(base_url=url, headers=api.headers, timeout=60) as http:
        tile_ms, json_ms, tile_bytes, json_bytes = [], [], 0, 0
        for x, y in TILES:  # warm-up: first queries plan and cache, not measured
            http.get(f"/tiles/areas/14/{x}/{y}.pbf", params={"level": "micro_grid"})
            http.get(
                "/v1/areas",
                params={"level": "micro_grid", "bbox": ",".join(map(str, _bounds(14, x, y)))},
            )
        for _ in range(5):
            for x, y in TILES:
                t = time.perf_counter()
                r = http.get(f"/tiles/areas/14/{x}/{y}.pbf", params={"level": "micro_grid"})
                tile_ms.append((time.perf_counter() - t) * 1000)
                tile_bytes += len(r.content)
                w, s, e, n = _bounds(14, x, y)
                t = time.perf_counter()
                r = http.get(
                    "/v1/areas",
                    params={"level": "micro_grid", "limit": 1000, "bbox": f"{w},{s},{e},{n}"},
                )
                json_ms.append((time.perf_counter() - t) * 1000)
                json_bytes += len(r.content)
        p95 = statistics.quantiles(tile_ms, n=20)[-1]
        j95 = statistics.quantiles(json_ms, n=20)[-1]
        print(
            f"z14 micro-grid tiles: p95 {p95:.1f} ms, {tile_bytes // len(tile_ms)} B/tile | "
            f"same bbox as GeoJSON (/v1/areas): p95 {j95:.1f} ms, "
            f"{json_bytes // len(json_ms)} B | ratio {j95 / p95:.1f}x"
        )
    from playwright.sync_api import sync_playwright

    t = time.perf_counter()
    httpx.get(f"{url}/maps/overview", headers=api.headers, timeout=60)  # first build, cached
    first_build = time.perf_counter() - t
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        # every request of the page (tiles, heatmap, geocoder) sends the key too
        page = browser.new_page(
            viewport={"width": 1200, "height": 800}, extra_http_headers=api.headers
        )
        renders, built, size = [], [], 0
        for i in range(4):
            # from navigation start to our last overlay drawn; the offline basemap's failing
            # tile requests only delay the window's load event, which is not waited for
            response = page.goto(f"{url}/maps/overview", wait_until="commit")
            page.wait_for_selector("body[data-wg-ready='1']", timeout=60_000)
            if i:  # the first load warms caches
                renders.append(page.evaluate("wg.readyAt") / 1000)
                size = len(response.body()) if response else 0
            t = time.perf_counter()
            httpx.get(f"{url}/maps/overview", headers=api.headers, timeout=60)
            built.append(time.perf_counter() - t)
        browser.close()
    print(
        f"overview page: {size / 1e6:.2f} MB HTML; navigation to last overlay drawn in Chromium "
        f"median {statistics.median(renders):.2f} s, of which the server answers in "
        f"{statistics.median(built):.3f} s (cached; the first build took {first_build:.2f} s) "
        "(targets < 3 MB, < 2 s; basemap tiles offline)"
    )


def _bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    import math

    n = 2**z

    def lat(yy: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def demo_database(url: str) -> None:
    """The demo street and its incident history, as ``wangge demo load`` loads them."""
    from gis.demo_load import load_demo, load_demo_history
    from gis.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            load_demo(conn, DEMO_DATA)
        load_demo_history(engine)
    finally:
        engine.dispose()


if __name__ == "__main__":
    heat()
    with throwaway_db("maps") as db:
        demo_database(db)
        with api_server(db) as api:
            served(api)
