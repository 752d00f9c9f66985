"""The demo gazetteer (`make demo` loads the buildings' addresses) and the `wangge geocode` /
`wangge reverse` commands on it."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from tests.conftest import DEMO_DATA
from tests.gis.test_demo_load import wangge


def test_demo_addresses_geocode_to_their_building(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    buildings = gpd.read_file(DEMO_DATA / "buildings.geojson")
    wangge(["demo", "load"], monkeypatch)
    assert f"addresses: {len(buildings)} added" in capsys.readouterr().out
    wangge(["demo", "load"], monkeypatch)
    assert f"addresses: 0 added, 0 changed, {len(buildings)} unchanged" in capsys.readouterr().out

    row = buildings.iloc[100]
    road, rest = row["address"].split("路", 1)
    messy = f"上海市普陀区{road}路 {rest.replace('号', '号楼')}门口"
    wangge(["geocode", messy, "不存在路1号"], monkeypatch)
    first, missing = json.loads(capsys.readouterr().out)
    assert first["standard_address"] == row["address"] and first["code"] == row["code"]
    assert not first["needs_review"]
    assert shapely.Point(first["lon"], first["lat"]).within(row.geometry)
    assert first["owner"]["level"] == "micro_grid" and len(first["owner"]["chain"]) == 4
    assert missing["needs_review"] and missing["match_level"] == "none"

    point = row.geometry.representative_point()
    wangge(["reverse", "--lon", str(point.x), "--lat", str(point.y)], monkeypatch)
    near = json.loads(capsys.readouterr().out)
    assert near["nearest"]["code"] == row["code"]
    assert near["nearest"]["distance_m"] < 0.01
    assert near["areas"]["owner"]["code"] == first["owner"]["code"]
