"""H3 cells (vectorised) against h3's per-point function; Gi* against a hand computation."""

from __future__ import annotations

import h3
import numpy as np

from gis.heat.cells import count_cells, points_to_cells
from gis.heat.hotspots import gi_star, study_region
from gis.heat.service import heat_features


def test_vectorised_cells_equal_the_per_point_function() -> None:
    rng = np.random.default_rng(7)
    lon = 121.40 + rng.normal(0, 0.05, 2000)
    lat = 31.25 + rng.normal(0, 0.05, 2000)
    cells = points_to_cells(lon=lon, lat=lat, res=9)
    expected = [h3.str_to_int(h3.latlng_to_cell(y, x, 9)) for x, y in zip(lon, lat, strict=True)]
    assert cells.tolist() == expected


def test_gi_star_matches_the_formula_and_flags_a_cluster() -> None:
    centre = h3.latlng_to_cell(31.25, 121.40, 9)
    ring = [h3.str_to_int(c) for c in h3.grid_disk(centre, 3)]
    region = np.array(sorted(ring), dtype=np.uint64)
    values = np.zeros(len(region))
    values[np.searchsorted(region, h3.str_to_int(centre))] = 30.0
    z = gi_star(region, values)
    n, mean = len(region), values.mean()
    s = np.sqrt((values**2).mean() - mean**2)
    i = int(np.searchsorted(region, h3.str_to_int(centre)))
    w = 7.0
    expected = (30.0 - mean * w) / (s * np.sqrt((n * w - w * w) / (n - 1)))
    assert abs(z[i] - expected) < 1e-9 and z[i] > 1.96


def test_heat_features_count_every_point_and_outline_the_hotspot() -> None:
    rng = np.random.default_rng(3)
    lon = np.concatenate([121.40 + rng.normal(0, 0.02, 300), np.full(200, 121.41)])
    lat = np.concatenate([31.25 + rng.normal(0, 0.02, 300), np.full(200, 31.26)])
    features = heat_features(lon=lon, lat=lat, res=9)
    assert sum(f["properties"]["count"] for f in features) == 500
    hot = [f for f in features if f["properties"]["hotspot"]]
    assert h3.latlng_to_cell(31.26, 121.41, 9) in {f["id"] for f in hot}
    assert len(count_cells(points_to_cells(lon=lon, lat=lat, res=9)).cells) <= len(
        study_region(points_to_cells(lon=lon, lat=lat, res=9))
    )
