"""Field benchmark (issue 24): "my work" for a grid with 500 open incidents on a 390×844
phone in headless Chromium (Debian's), signed in through the form as a field worker: bytes
transferred by the page and everything it loads (photos: none), and the time from navigation
to a usable list (the items in the DOM, the page script done, the map's clusters drawn).
Goal: < 300 kB, < 1 s on loopback. Prints figures; never asserts."""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import api_server, machine_line, throwaway_db

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

OPEN = 500
RUNS = 3
CATEGORIES = ("garbage", "road_damage", "water_leak", "illegal_parking", "noise")


def incidents(n: int) -> list[dict[str, object]]:
    """``n`` incidents inside micro-grid M1 of the small street (some stacked on one spot)."""
    rng = random.Random(24)
    items = []
    for i in range(n):
        stacked = i % 10 == 0  # every tenth at one address: stacked points to spread
        lon = X0 + HALF * 0.25 if stacked else X0 + rng.uniform(0.05, 0.45) * HALF
        lat = Y0 + HALF * 0.25 if stacked else Y0 + rng.uniform(0.05, 0.45) * HALF
        items.append(
            {
                "category": CATEGORIES[i % len(CATEGORIES)],
                "description": f"测试事件 {i}",
                "source": "hotline",
                "lon": lon,
                "lat": lat,
                "address": f"测试路{i % 90 + 1}号",
                "external_id": f"bench-field-{i}",
            }
        )
    return items


def main() -> None:
    from playwright.sync_api import sync_playwright

    from gis.security.keys import create_key
    from gis.store.db import make_engine

    print(machine_line())
    with throwaway_db("field") as url, tempfile.TemporaryDirectory() as folder:
        small_street_with_categories(url, Path(folder))
        engine = make_engine(url)
        with engine.begin() as conn:
            categories = {
                r[0] for r in conn.exec_driver_sql("SELECT code FROM incident_categories")
            }
            worker = create_key(conn, role="field_worker", scope="G1", name="王芳").key
        engine.dispose()
        with api_server(url, quiet=True) as api:
            body = [
                {
                    **item,
                    "category": item["category"] if item["category"] in categories else "garbage",
                }
                for item in incidents(OPEN)
            ]
            with httpx.Client(base_url=api.base, headers=api.headers, timeout=120) as http:
                stored = http.post("/v1/incidents/batch", json={"incidents": body}).json()
            print(f"stored {stored['created']} open incidents in micro-grid M1 (grid G1)")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
                sizes, times, lists, items = [], [], [], 0
                for _ in range(RUNS):
                    context = browser.new_context(viewport={"width": 390, "height": 844})
                    page = context.new_page()
                    page.goto(api.base + "/signin")
                    page.fill("#key", worker)
                    page.click("button[type=submit]")
                    page.wait_for_url("**/maps/work")
                    fresh = browser.new_context(
                        viewport={"width": 390, "height": 844},
                        storage_state=context.storage_state(),
                    )
                    context.close()
                    page = fresh.new_page()
                    transferred: list[int] = []

                    def count(request: object, into: list[int] = transferred) -> None:
                        s = request.sizes()  # type: ignore[attr-defined]
                        into.append(s["responseBodySize"] + s["responseHeadersSize"])

                    page.on("requestfinished", count)
                    start = time.perf_counter()
                    page.goto(api.base + "/maps/work", wait_until="commit")
                    page.wait_for_selector("li[data-incident-id]", state="attached")
                    lists.append(time.perf_counter() - start)
                    page.wait_for_selector(".marker-cluster, .leaflet-interactive")
                    times.append(time.perf_counter() - start)
                    page.wait_for_load_state("load")
                    sizes.append(sum(transferred))
                    items = page.locator("#list > li[data-incident-id]").count()
                    fresh.close()
                browser.close()
    print(
        f"my work, {OPEN} open incidents ({items} list items after folding duplicates), "
        f"390x844, cold cache:"
    )
    print(
        f"  transferred: {statistics.median(sizes) / 1000:.0f} kB (runs: "
        f"{', '.join(f'{s / 1000:.0f}' for s in sizes)}) | goal < 300 kB"
    )
    print(
        f"  navigation to the list in the DOM (server + HTML): "
        f"{statistics.median(lists) * 1000:.0f} ms median (runs: "
        f"{', '.join(f'{t * 1000:.0f}' for t in lists)})"
    )
    print(
        f"  navigation to usable list (items, script, clusters): "
        f"{statistics.median(times) * 1000:.0f} ms median (runs: "
        f"{', '.join(f'{t * 1000:.0f}' for t in times)}) | goal < 1000 ms"
    )


if __name__ == "__main__":
    main()
