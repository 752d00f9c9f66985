"""gis.assign.nearest: the segment tree behind AreaIndex.nearest, against shapely.

The reference is brute force in the same metric CRS: ``shapely.distance`` from the projected
point to every projected area, the smallest distance, ties to the smallest code. Distances
must be equal bit for bit (the kernel repeats GEOS's formula), not just close.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon

from gis.assign.engine import AreaIndex
from gis.assign.nearest import SegmentIndex
from tests.gis.assign.test_engine import X0, Y0, U, blobs, probe_points, sq, tilings


def brute(index: AreaIndex, x: np.ndarray, y: np.ndarray) -> tuple[list[int], list[float]]:
    """Nearest area index (ties: smallest) and distance per point, by brute force, using the
    index's own metric CRS; covered points get their owner at 0."""
    metric = index._metric_geoms  # the areas exactly as projected by the index
    owner = index.lookup(lon=x, lat=y).owner
    px, py = index._to_metric.transform(x, y)
    pts = shapely.points(np.asarray(px), np.asarray(py))
    idx: list[int] = []
    dist: list[float] = []
    for i, p in enumerate(pts):
        if owner[i] >= 0:
            idx.append(int(owner[i]))
            dist.append(0.0)
            continue
        plausible = abs(x[i]) <= 180 and abs(y[i]) <= 90  # else not a coordinate: no answer
        if not (plausible and np.isfinite(px[i]) and np.isfinite(py[i])):
            idx.append(-1)
            dist.append(math.nan)
            continue
        d = shapely.distance(metric, p)
        m = float(d.min())
        idx.append(int(np.flatnonzero(d == m)[0]))
        dist.append(m)
    return idx, dist


def check(
    codes: Sequence[str],
    geoms: Sequence[Polygon | MultiPolygon],
    x: np.ndarray,
    y: np.ndarray,
) -> None:
    index = AreaIndex.build(codes, geoms)
    want_idx, want_dist = brute(index, x, y)
    got_idx, got_dist = index.nearest(lon=x, lat=y)
    assert got_idx.tolist() == want_idx
    np.testing.assert_array_equal(got_dist, np.array(want_dist))
    # a limit equal to a real distance keeps that point (inclusive), drops the farther ones
    finite = [d for d in want_dist if d > 0 and math.isfinite(d)]
    if finite:
        limit = sorted(finite)[len(finite) // 2]
        lim_idx, lim_dist = index.nearest(lon=x, lat=y, max_distance_m=limit)
        for i, d in enumerate(want_dist):
            if math.isfinite(d) and d <= limit:
                assert (lim_idx[i], lim_dist[i]) == (want_idx[i], d)
            else:
                assert lim_idx[i] == -1 and math.isnan(lim_dist[i])


def outside_points(
    geoms: Sequence[Polygon | MultiPolygon], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Probe points plus points far around the data (up to 3 bbox widths away)."""
    x, y = probe_points(geoms, rng, n_random=100)
    x0, y0, x1, y1 = shapely.total_bounds(np.array(geoms, dtype=object))
    w, h = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    fx = rng.uniform(x0 - 3 * w, x1 + 3 * w, 60)
    fy = rng.uniform(y0 - 3 * h, y1 + 3 * h, 60)
    return np.concatenate([x, fx]), np.concatenate([y, fy])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiling=tilings(), seed=st.integers(0, 2**32 - 1))
def test_random_tilings_nearest_match_shapely(
    tiling: tuple[list[str], list[Polygon | MultiPolygon]], seed: int
) -> None:
    codes, geoms = tiling
    check(codes, geoms, *outside_points(geoms, np.random.default_rng(seed)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=blobs(), seed=st.integers(0, 2**32 - 1))
def test_random_blobs_nearest_match_shapely(
    shapes: tuple[list[str], list[Polygon | MultiPolygon]], seed: int
) -> None:
    codes, geoms = shapes
    check(codes, geoms, *outside_points(geoms, np.random.default_rng(seed)))


def test_ties_go_to_the_smallest_code() -> None:
    # four squares around a gap cross: a point on the gap's centre line is equally far from
    # two (or, at the centre, all four) squares; identical vertices give identical distances
    codes = ["d", "b", "c", "a"]
    geoms = [sq(0, 0), sq(2, 0), sq(0, 2), sq(2, 2)]
    x = np.array([X0 + 1.5 * U, X0 + 1.5 * U, X0 + 0.5 * U])
    y = np.array([Y0 + 1.5 * U, Y0 - 3 * U, Y0 + 1.5 * U])
    check(codes, geoms, x, y)
    index = AreaIndex.build(codes, geoms)
    got, _ = index.nearest(lon=x, lat=y)
    # centre: the four corners (1,1),(2,1),(1,2),(2,2) are not all equally far in metres,
    # but the shared-vertex ties that are exact must resolve to the smallest code
    assert [index.codes[i] for i in got][1] in ("b", "d")


def test_a_batch_answers_each_point_as_if_it_were_alone() -> None:
    # a query starts from the previous point's nearest segment: that must never change an
    # answer, ties included (the gap cross's centre lines are equidistant from two squares)
    codes = ["d", "b", "c", "a"]
    geoms = [sq(0, 0), sq(2, 0), sq(0, 2), sq(2, 2)]
    rng = np.random.default_rng(5)
    x, y = outside_points(geoms, rng)
    line = rng.integers(0, 4, 80) * U / 2
    x = np.concatenate([x, X0 + 1.5 * U + 0 * line, X0 - U + line])
    y = np.concatenate([y, Y0 - U + line, Y0 + 1.5 * U + 0 * line])
    perm = rng.permutation(x.shape[0])
    x, y = x[perm], y[perm]
    index = AreaIndex.build(codes, geoms)
    got_idx, got_dist = index.nearest(lon=x, lat=y)
    for i in range(x.shape[0]):
        one_idx, one_dist = index.nearest(lon=x[i : i + 1], lat=y[i : i + 1])
        assert (got_idx[i], got_dist[i]) == (one_idx[0], one_dist[0]) or (
            math.isnan(got_dist[i]) and math.isnan(one_dist[0]) and got_idx[i] == one_idx[0]
        )


def test_many_segments_and_far_points() -> None:
    # a 20,000-vertex circle and a far exclave: deep tree, points far from everything
    circle = shapely.buffer(shapely.Point(X0, Y0), 0.01, quad_segs=5000)
    far = sq(400, 300)
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(X0 - 0.03, X0 + 0.03, 150), [X0 + 200 * U, 170.0]])
    y = np.concatenate([rng.uniform(Y0 - 0.03, Y0 + 0.03, 150), [Y0 + 150 * U, -60.0]])
    check(["circle", "far"], [circle, far], x, y)


def test_segment_index_empty_query_and_size() -> None:
    seg = SegmentIndex.build(np.array([sq(0, 0)], dtype=object))
    idx, dist, flag = seg.query(np.empty(0), np.empty(0))
    assert idx.shape == dist.shape == flag.shape == (0,)
    idx, dist, flag = seg.query(np.array([math.nan, X0 + 5 * U]), np.array([0.0, Y0]))
    assert idx.tolist() == [-1, 0] and math.isnan(dist[0]) and dist[1] > 0
    assert not flag.any()
    assert seg.nbytes > 4 * 8 * 4
