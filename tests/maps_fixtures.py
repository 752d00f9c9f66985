"""The demo street with a few incidents (one with a hostile description) and one area with a
hostile name, committed into a fresh database, for the map and browser tests."""

from __future__ import annotations

from sqlalchemy import Engine, text

from gis.demo_load import load_demo
from gis.incidents.categories import ensure_categories
from tests.conftest import DEMO_DATA

XSS = "<img src=x onerror=alert(1)>"
XSS_AREA = "310107016007-G02-M02"
#: Incidents as (lon, lat, category, status, description): a cluster in one micro-grid.
INCIDENTS = [
    (
        121.4015 + 0.0002 * (i % 5),
        31.2489 + 0.0002 * (i // 5),
        "water_leak",
        "assigned",
        XSS if i == 0 else f"漏水 {i}",
    )
    for i in range(20)
] + [(121.3950, 31.2550, "ebike_charging", "resolved", "已处理")]


def load_maps_street(engine: Engine) -> None:
    """Demo street + incidents + the hostile area name (committed)."""
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
        ensure_categories(conn)
        for lon, lat, category, status, description in INCIDENTS:
            conn.execute(
                text(
                    "INSERT INTO incidents (category, description, source, geom, "
                    "location_status, reported_at, status, due_at, owner_code) VALUES "
                    "(:c, :d, 'hotline', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'ok', "
                    "'2026-11-20T10:00:00+08', :s, '2026-11-21T10:00:00+08', :o)"
                ),
                {
                    "c": category,
                    "d": description,
                    "lon": lon,
                    "lat": lat,
                    "s": status,
                    "o": XSS_AREA,
                },
            )
        conn.execute(text("UPDATE areas SET name = :n WHERE code = :c"), {"n": XSS, "c": XSS_AREA})
