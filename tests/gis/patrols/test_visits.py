"""Visited buildings from the grid kernel equal an independent shapely computation: the
track's segments buffered by the visit distance, intersected with each footprint."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gis.patrols.clean import segments_of
from gis.patrols.visits import FootprintIndex
from tests.gis.patrols.synthetic import footprints, walk

D = 15.0
TOLERANCE_M = 0.5


def reference(
    polys: np.ndarray, x: np.ndarray, y: np.ndarray, breaks: np.ndarray, d: float
) -> tuple[set[int], set[int]]:
    """(visited, borderline): footprints meeting the buffered track, and those whose distance
    is within ±0.5 m of ``d`` (either answer is right for them)."""
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], len(x))
    parts = []
    for a, b in zip(starts, ends, strict=True):
        if b - a >= 2:
            parts.append(shapely.linestrings(x[a:b], y[a:b]))
        else:
            parts.append(shapely.points(x[a], y[a]))
    track = shapely.geometrycollections(parts)
    zone = shapely.buffer(track, d, quad_segs=32)
    hit = shapely.intersects(zone, polys)
    dist = shapely.distance(track, polys)
    return set(np.flatnonzero(hit).tolist()), set(
        np.flatnonzero(np.abs(dist - d) <= TOLERANCE_M).tolist()
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_visits_equal_shapely_buffer(seed: int) -> None:
    rng = np.random.default_rng(seed)
    polys = footprints(rng, 600, 1500.0)
    x, y = walk(rng, 1500, 1500.0)
    breaks = np.zeros(len(x), dtype=bool)
    breaks[0] = True
    breaks[rng.choice(np.arange(1, len(x)), 12, replace=False)] = True  # gaps, jumps
    breaks[700:702] = True  # a fix alone in its run: a point, not a segment
    index = FootprintIndex.build(polys, pad_m=D)
    i, j = segments_of(breaks)
    got = index.query(x, y, i, j, np.zeros(len(i), dtype=np.int64), distance_m=D)
    mine = set(got.building.tolist())
    want, borderline = reference(polys, x, y, breaks, D)
    assert len(want) > 30  # the walk really passes buildings
    assert mine - borderline == want - borderline
    assert len(mine) == len(got)  # one row per building for one patrol
    # the visit fix is, of the ends of the segments passing within D, the one nearest the
    # footprint; distance_m is its distance
    segs = shapely.linestrings(np.stack([np.c_[x[i], y[i]], np.c_[x[j], y[j]]], axis=1))
    fixes = shapely.points(x, y)
    for b, k, dist in list(zip(got.building, got.fix, got.distance_m, strict=True))[:80]:
        near = shapely.distance(segs, polys[b]) <= D
        ends = np.unique(np.concatenate([i[near], j[near]]))
        best = shapely.distance(fixes[ends], polys[b]).min()
        assert shapely.distance(fixes[k], polys[b]) == pytest.approx(best, abs=1e-6)
        assert dist == pytest.approx(best, abs=1e-6)


def test_several_patrols_are_kept_apart() -> None:
    rng = np.random.default_rng(9)
    polys = footprints(rng, 300, 800.0)
    index = FootprintIndex.build(polys, pad_m=D)
    xs, ys, owners, breaks = [], [], [], []
    for owner in range(4):
        x, y = walk(rng, 400, 800.0)
        xs.append(x)
        ys.append(y)
        owners.append(np.full(len(x), owner))
        b = np.zeros(len(x), dtype=bool)
        b[0] = True
        breaks.append(b)
    x, y = np.concatenate(xs), np.concatenate(ys)
    fix_owner = np.concatenate(owners)
    i, j = segments_of(np.concatenate(breaks))
    got = index.query(x, y, i, j, fix_owner[i], distance_m=D)
    for owner in range(4):
        sel = fix_owner == owner
        b = np.zeros(int(sel.sum()), dtype=bool)
        b[0] = True
        want, borderline = reference(polys, x[sel], y[sel], b, D)
        mine = set(got.building[got.owner == owner].tolist())
        assert mine - borderline == want - borderline


@pytest.mark.parametrize(
    ("walk_xy", "visited"),
    [
        ([(0, 0), (100, 0)], True),  # passes 10 m below the footprint
        ([(0, -6), (100, -6)], False),  # 16 m: too far
        ([(30, 30), (32, 31)], True),  # inside, far from every edge
        ([(-50, 20), (-50, 21)], False),
        ([(55, -40), (55, 80)], True),  # crosses it with no fix near it
        ([(55, 5)], True),  # a single fix 5 m away
    ],
)
def test_edge_cases(walk_xy: list[tuple[float, float]], visited: bool) -> None:
    big = shapely.box(10, 10, 110, 60)
    index = FootprintIndex.build(np.array([big], dtype=object), pad_m=D)
    x = np.array([p[0] for p in walk_xy], dtype=float)
    y = np.array([p[1] for p in walk_xy], dtype=float)
    breaks = np.zeros(len(x), dtype=bool)
    breaks[0] = True
    i, j = segments_of(breaks)
    got = index.query(x, y, i, j, np.zeros(len(i), dtype=np.int64), distance_m=D)
    assert (len(got) == 1) is visited
