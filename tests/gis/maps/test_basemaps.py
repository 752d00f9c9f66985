"""GCJ-02 basemaps shift overlays into GCJ-02 (400–600 m in Shanghai); WGS-84 ones don't."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from gis.errors import InvalidInput
from gis.maps.basemaps import Basemap, basemap

# micro-grid-sized squares across Shanghai's centre, outskirts and Chongming
PLACES = [(121.40, 31.25), (121.47, 31.23), (121.20, 30.90), (121.50, 31.62)]


@pytest.mark.parametrize(
    ("name", "low", "high"), [("gcj02", 400, 600), ("osm", 0, 0), ("tianditu", 0, 0)]
)
def test_overlay_shift_by_basemap(name: str, low: float, high: float) -> None:
    squares = np.array([shapely.box(x, y, x + 0.002, y + 0.002) for x, y in PLACES])
    moved = Basemap(name, "key").shift(squares)
    geod = Geod(ellps="WGS84")
    a = shapely.get_coordinates(squares)
    b = shapely.get_coordinates(moved)
    _, _, metres = geod.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert low <= metres.min() and metres.max() <= high + 0.02  # rounding to 1e-7°


def test_tianditu_needs_a_key_and_names_are_checked() -> None:
    with pytest.raises(InvalidInput) as e:
        basemap("tianditu", tianditu_key=None)
    assert e.value.field == "basemap"
    with pytest.raises(InvalidInput):
        basemap("bing", tianditu_key="k")


def test_tianditu_tiles_carry_the_key_and_osm_none() -> None:
    from gis.maps.page import Page

    html = Page("t", Basemap("tianditu", "SECRET-KEY")).render(static_url="/s")
    assert "tianditu.gov.cn/vec_w/wmts" in html and "tk=SECRET-KEY" in html
    assert "tk=" not in Page("t", Basemap("osm")).render(static_url="/s")
