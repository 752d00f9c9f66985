"""Map pages as files (``wangge map``): self-contained, escaped, heat aggregated at scale;
tiles whose ETag follows the data."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gis.cli.app import app as wangge
from gis.heat.service import HeatQuery
from gis.incidents.categories import ensure_categories
from gis.maps import heat_page, pages
from gis.maps.basemaps import Basemap
from gis.maps.cache import PageCache
from gis.maps.page import MapOptions, js_json
from gis.store.db import make_engine
from gis.tiles import TileRequest, render_tile, tile_etag
from tests.fixtures import X0, Y0, load_small_street

HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def street(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    url = new_database()
    engine = make_engine(url)
    load_small_street(engine, tmp_path_factory.mktemp("maps"))
    with engine.begin() as conn:
        ensure_categories(conn)
        for i in range(40):
            conn.execute(
                text(
                    "INSERT INTO incidents (category, description, source, geom, "
                    "location_status, reported_at, status, due_at, owner_code) VALUES "
                    "('water_leak', :d, 'patrol', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
                    "'ok', now(), 'reported', now() + interval '1 day', 'M1')"
                ),
                {"d": HOSTILE, "lon": X0 + 0.001 + 0.0001 * i, "lat": Y0 + 0.001},
            )
    yield url, engine
    engine.dispose()


def opts(name: str = "osm") -> MapOptions:
    return MapOptions(Basemap(name), generation=1)


def test_js_json_cannot_close_the_script() -> None:
    embedded = js_json({"name": HOSTILE, "amp": "a&b"})
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert json.loads(embedded) == {"name": HOSTILE, "amp": "a&b"}


def test_file_pages_are_self_contained(street: tuple[str, Engine]) -> None:
    _, engine = street
    with engine.connect() as conn:
        html = pages.overview(conn, opts())
    assert HOSTILE not in html
    # every script and stylesheet is inside the file
    outside = set(re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)', html))
    assert outside == set()
    assert "wg.tiles(" not in html  # no server to serve tiles to a file


def test_heat_points_are_aggregated_above_the_limit(
    street: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, engine = street
    with engine.connect() as conn:
        one_by_one = heat_page._heat_points(conn, opts(), HeatQuery())
        monkeypatch.setattr(heat_page, "HEAT_MAX_POINTS", 10)
        aggregated = heat_page._heat_points(conn, opts(), HeatQuery())
    assert len(one_by_one) == 40 and all(p[2] == 1 for p in one_by_one)
    assert len(aggregated) < 40 and sum(p[2] for p in aggregated) == 40


def test_tile_etag_follows_the_data(street: tuple[str, Engine]) -> None:
    _, engine = street
    z, x, y = 14, 13716, 6693
    with engine.connect() as conn:
        req = TileRequest("incidents", z, x, y, 1, status="all")
        before, tile = tile_etag(conn, req), render_tile(conn, req)
        assert tile  # the incidents are in this tile
        # for people: the category and state in Chinese, the local time to the minute
        local = conn.execute(
            text("SELECT to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') "
                 "FROM incidents WHERE id = 1")
        ).scalar_one()  # fmt: skip
        for shown in ("漏水", "待派遣", local):
            assert shown.encode() in tile, shown
        conn.execute(text("UPDATE incidents SET status = 'assigned' WHERE id = 1"))
        assert tile_etag(conn, req) != before
        conn.rollback()
        assert tile_etag(conn, TileRequest("areas", z, x, y, 1)) != tile_etag(
            conn, TileRequest("areas", z, x, y, 1, level="grid")
        )


def test_wangge_map_writes_a_file(
    street: tuple[str, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = street
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    out = tmp_path / "grid.html"
    result = CliRunner().invoke(wangge, ["map", "grid", "--code", "M1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wg.done()" in out.read_text()
    bad = CliRunner().invoke(wangge, ["map", "grid", "--out", str(out)])
    assert bad.exit_code == 2


def test_page_cache_rebuilds_only_when_the_data_changes(street: tuple[str, Engine]) -> None:
    _, engine = street
    cache = PageCache(size=2)
    builds: list[int] = []

    def build() -> str:
        builds.append(1)
        return f"page {len(builds)}"

    with engine.connect() as conn:
        first = cache.page(conn, ("/maps/overview", ""), build)
        assert cache.page(conn, ("/maps/overview", ""), build) == first and len(builds) == 1
        assert cache.page(conn, ("/maps/overview", "basemap=gcj02"), build) != first
        conn.execute(text("UPDATE areas SET name = '改名' WHERE code = 'M1'"))
        assert cache.page(conn, ("/maps/overview", ""), build) == "page 3"
        conn.rollback()
    assert cache.built == 3 and len(cache._pages) == 2  # the oldest page was dropped
