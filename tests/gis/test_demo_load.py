"""`wangge demo load` into a fresh database, then the demo street served over HTTP: what
`make demo` does, checked against the files and the planted-defect answer key."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator

import geopandas as gpd
import httpx
import numpy as np
import pytest
import shapely

from gis.cli import main
from gis.settings import Settings
from tests.conftest import DEMO_DATA, LiveServer

DEFECTS = {d["code"]: d for d in json.loads((DEMO_DATA / "defects.json").read_text())}


def wangge(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["wangge", *argv])
    main()


@pytest.fixture(scope="module")
def demo_api(new_database: Callable[[], str]) -> Iterator[httpx.Client]:
    url = new_database()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANGGE_DATABASE_URL", url)
        wangge(["demo", "load"], mp)
    with LiveServer(Settings(database_url=url)) as live, live.client(timeout=60) as client:
        yield client


def test_demo_load_is_idempotent(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wangge(["demo", "load"], monkeypatch)
    first = capsys.readouterr().out
    assert "generation 1 activated" in first
    micro = gpd.read_file(DEMO_DATA / "micro_grids.geojson")
    assert f"micro_grid: {len(micro)}" in first
    wangge(["demo", "load"], monkeypatch)
    second = capsys.readouterr().out
    assert "already loaded (generation 1)" in second
    assert "0 added, 0 changed" in second


def test_demo_served_assigns_buildings_to_their_micro_grid(demo_api: httpx.Client) -> None:
    micro = gpd.read_file(DEMO_DATA / "micro_grids.geojson")
    buildings = gpd.read_file(DEMO_DATA / "buildings.geojson")
    points = buildings.geometry.representative_point()
    tree = shapely.STRtree(micro.geometry.values)
    pairs = tree.query(points.values, predicate="covered_by")
    expected: dict[int, str] = {}
    for p, a in zip(*pairs, strict=True):
        code = micro["code"].iloc[a]
        expected[p] = min(expected.get(p, code), code)
    body = {
        "points": [
            {"id": str(c), "lon": pt.x, "lat": pt.y}
            for c, pt in zip(buildings["code"], points, strict=True)
        ]
    }
    answer = demo_api.post("/v1/assign/batch", json=body).json()
    assert answer["level"] == "micro_grid" and answer["count"] == len(buildings)
    owners = [r["owner"] for r in answer["results"]]
    assert owners == [expected.get(i) for i in range(len(buildings))]
    outside = DEFECTS["D-OUTSIDE-1"]["building_codes"][0]
    index = int(np.flatnonzero(buildings["code"] == outside)[0])
    assert owners[index] is None and answer["results"][index]["nearest"]["distance_m"] > 0


def test_demo_defects_visible_through_the_api(demo_api: httpx.Client) -> None:
    overlap = DEFECTS["D-OVERLAP-1"]
    result = demo_api.get(
        "/v1/assign", params={"lon": overlap["lon"], "lat": overlap["lat"]}
    ).json()
    claimed = sorted([result["owner"]["code"]] + [a["code"] for a in result["also_covered_by"]])
    assert claimed == sorted(overlap["area_codes"])
    assert result["chain"][0]["level"] == "street" and len(result["chain"]) == 4
    unstaffed = DEFECTS["D-UNSTAFFED-1"]
    result = demo_api.get(
        "/v1/assign", params={"lon": unstaffed["lon"], "lat": unstaffed["lat"]}
    ).json()
    assert result["owner"]["code"] == unstaffed["area_codes"][0] and result["staff"] == []
    split = DEFECTS["D-SPLIT-1"]
    feature = next(
        f
        for f in json.loads((DEMO_DATA / "buildings.geojson").read_text())["features"]
        if f["properties"]["code"] == split["building_codes"][0]
    )
    shares = demo_api.post(
        "/v1/assign/buildings", json={"type": "FeatureCollection", "features": [feature]}
    ).json()["results"][0]
    assert shares["split"] is True
    assert [round(s["share"], 1) for s in shares["shares"]] == [0.6, 0.4]
    assert {s["code"] for s in shares["shares"]} == set(split["area_codes"])
